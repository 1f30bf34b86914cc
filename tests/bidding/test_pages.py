"""The bidder's pages: my sections (status, receipt, withdraw), a section's bid page with the tool
commands, the receipt download, withdrawal by page. No page takes a bid file."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from tenderhall.bidding.models import Bid, BidStatus
from tenderhall.core import clock
from tenderhall.core.crypto import age
from tests.bidding.conftest import DEADLINE, Api
from tests.bidding.factories import opening_recipient, sealed_bid
from tests.notices.conftest import World, client_for


def tagged(html: str, name: str) -> list[str]:
    """The opening tags carrying data-testid=name."""
    return re.findall(rf"<[^>]*data-testid=\"{name}\"[^>]*>", html)


def test_my_sections_lists_what_the_organization_obtained(ready: World):
    html = client_for(ready.bidder).get("/bids/").content.decode()
    assert tagged(html, "my-sections")
    assert ready.section.code in html and ready.sections[1].code not in html
    assert '<span class="small" data-testid="countdown">21 d 23 h 30 min left</span>' in html
    assert tagged(html, "bid-status")[0].count('data-status="none"') == 1
    assert f'href="/notices/sections/{ready.section.pk}/"' in html
    assert f'href="/bids/sections/{ready.section.pk}/"' in html
    assert not tagged(html, "withdraw-bid") and not tagged(html, "bid-receipt")


def test_my_sections_when_nothing_was_obtained(announced: World):
    html = client_for(announced.bidder).get("/bids/").content.decode()
    assert "has not obtained tender documents for any section yet" in html
    assert not tagged(html, "bid-status")


def test_an_upload_in_progress_shows_its_percentage(ready: World):
    api = Api(ready.bidder)
    upload_id = api.create(ready.section.pk, 1000).json()["upload_id"]
    api.put(upload_id, 0, b"x" * 250)
    html = client_for(ready.bidder).get("/bids/").content.decode()
    assert 'data-status="uploading"' in html and "25%" in html


def test_a_submitted_bid_shows_hash_receipt_and_withdraw(ready: World):
    data = sealed_bid(ready.section)
    Api(ready.bidder).submit(ready.section.pk, data)
    bid = Bid.objects.get()
    for url in ("/bids/", f"/bids/sections/{ready.section.pk}/"):
        html = client_for(ready.bidder).get(url).content.decode()
        assert 'data-status="submitted"' in html
        assert bid.ciphertext_sha256 in html
        assert "2026-03-02 10:00:00" in html  # Beijing time
        assert tagged(html, "bid-receipt") and f"#{bid.log_index}" in html
        assert f'href="/bids/{bid.pk}/receipt.json"' in html
        assert tagged(html, "withdraw-bid")


def test_the_receipt_downloads_as_the_json_the_tool_verifies(ready: World):
    receipt = Api(ready.bidder).submit(ready.section.pk, sealed_bid(ready.section)).json()
    bid = Bid.objects.get()
    response = client_for(ready.bidder).get(f"/bids/{bid.pk}/receipt.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content) == receipt


def test_the_bid_page_gives_the_exact_tool_commands_and_the_opening_key(ready: World):
    sid = ready.section.pk
    html = client_for(ready.bidder).get(f"/bids/sections/{sid}/").content.decode()
    commands = re.search(r'<pre data-testid="bid-commands">(.*?)</pre>', html, re.S)
    assert commands is not None
    assert commands.group(1).splitlines() == [
        f"tenderhall-bid make --section {sid} --summary summary.json DIR -o bid.zip",
        f"tenderhall-bid seal --section {sid} bid.zip -o bid.age",
        f"tenderhall-bid submit --section {sid} bid.age",
        "tenderhall-bid receipt verify receipt.json",
    ]
    recipient = opening_recipient(ready.section)
    assert str(recipient) in html and age.opening_key_id(recipient) in html
    assert 'type="file"' not in html and "multipart" not in html


def test_the_bid_page_of_a_section_not_obtained_says_so(ready: World):
    html = client_for(ready.bidder).get(f"/bids/sections/{ready.sections[1].pk}/").content.decode()
    assert f'href="/notices/sections/{ready.sections[1].pk}/"' in html
    assert 'data-status="none"' in html


def test_withdraw_by_page_needs_the_confirmation(ready: World):
    Api(ready.bidder).submit(ready.section.pk, sealed_bid(ready.section))
    client = client_for(ready.bidder)
    url = f"/bids/sections/{ready.section.pk}/withdraw/"
    assert client.post(url, {}).status_code == 422
    assert Bid.objects.get().status == BidStatus.SUBMITTED
    response = client.post(url, {"confirm": "on", "next": "list"})
    assert response.status_code == 302 and response["Location"] == "/bids/"
    assert Bid.objects.get().status == BidStatus.WITHDRAWN
    html = client.get("/bids/").content.decode()
    assert 'data-status="withdrawn"' in html and not tagged(html, "withdraw-bid")


def test_no_withdrawal_after_the_deadline(ready: World):
    Api(ready.bidder).submit(ready.section.pk, sealed_bid(ready.section))
    clock.set_now(DEADLINE)
    client = client_for(ready.bidder)
    html = client.get(f"/bids/sections/{ready.section.pk}/").content.decode()
    assert not tagged(html, "withdraw-bid")
    assert "The bid deadline has passed." in html
    response = client.post(f"/bids/sections/{ready.section.pk}/withdraw/", {"confirm": "on"})
    assert response.status_code == 409
    assert "法 Art 29" in response.content.decode()
    assert Bid.objects.get().status == BidStatus.SUBMITTED


def test_a_page_never_takes_a_file(ready: World, bid_dirs: dict):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(ready.bidder)
    client.post(
        f"/bids/sections/{ready.section.pk}/withdraw/",
        {"confirm": "on", "file": SimpleUploadedFile("bid.age", b"age-encryption.org/v1\n")},
    )
    assert not Bid.objects.exists()
    assert not bid_dirs["uploads"].exists() or not any(bid_dirs["uploads"].iterdir())


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Iterator[None]:
    """These tests read the English pages (zh-Hans is the default)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def test_countdown_text():
    from tenderhall.bidding.selectors import countdown_text

    now = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    assert (
        countdown_text(now + dt.timedelta(days=2, hours=3, minutes=4, seconds=5), now) == "2 d 3 h 4 min left"
    )
    assert countdown_text(now + dt.timedelta(minutes=90), now) == "1 h 30 min left"
    assert countdown_text(now + dt.timedelta(seconds=30), now) == "less than a minute left"
    assert countdown_text(now, now) == "The bid deadline has passed."
    assert countdown_text(None, now) == ""
