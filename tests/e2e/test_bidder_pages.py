"""A bidder submits a sealed bid with the bidder tool (`tenderhall-bid submit`, in-process, over
HTTP to the live server), then signs in with real chromium: "My bids" shows the bid submitted with
the ciphertext's SHA-256 and the receipt; the bid page shows the tool commands; the bidder
withdraws and the page says so."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tenderhall.accounts.services import api_token_issue
from tenderhall.bidding.models import Bid, BidStatus
from tenderhall.client import cli
from tenderhall.core import keys
from tenderhall.notices import services as notices_services
from tests.bidding.factories import sealed_bid
from tests.factories import PASSWORD
from tests.notices.conftest import World, announced, t0, world  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(browser: Any, live_server: Any, username: str) -> Any:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=password-login] button[type=submit]")
    page.wait_for_selector("[data-testid=who]")
    return page


def test_a_bid_sent_by_the_tool_shows_on_the_bidders_pages_and_is_withdrawn(
    announced: World,  # noqa: F811
    live_server: Any,
    browser: Any,
    tmp_path: Path,
    settings: Any,
    capsys: Any,
) -> None:
    settings.TENDERHALL_UPLOAD_DIR = tmp_path / "uploads"
    settings.MEDIA_ROOT = tmp_path / "files"
    w = announced
    notices_services.document_obtain(acting_user=w.bidder, section=w.section)

    # 1. The tool sends the sealed bid (resumable upload in small chunks) and checks the receipt.
    bid_file = tmp_path / "bid.age"
    bid_file.write_bytes(sealed_bid(w.section, 3 * 1024 * 1024 + 99))
    token, _ = api_token_issue(user=w.bidder)
    profile = tmp_path / "profile.json"
    profile.write_text(
        json.dumps({"server": live_server.url, "token": token, "platform_key_pem": keys.public_key_pem()}),
        encoding="utf-8",
    )
    code = cli.main(
        [
            "--profile",
            str(profile),
            "submit",
            "--section",
            str(w.section.pk),
            "--chunk-mib",
            "1",
            str(bid_file),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "receipt OK" in out
    digest = hashlib.sha256(bid_file.read_bytes()).hexdigest()
    receipt = json.loads((tmp_path / "bid.age.receipt.json").read_text(encoding="utf-8"))
    assert receipt["ciphertext_sha256"] == digest

    # 2. The bidder sees it on "My bids": submitted, the ciphertext hash, the receipt.
    page = sign_in(browser, live_server, w.bidder.username)
    page.goto(f"{live_server.url}/bids/")
    row = page.locator("[data-testid=my-sections] tbody tr").first
    assert row.locator("[data-testid=bid-status]").get_attribute("data-status") == "submitted"
    assert row.locator("[data-testid=ciphertext-sha256]").inner_text().strip() == digest
    receipt_line = row.locator("[data-testid=bid-receipt]")
    assert f"#{receipt['log']['index']}" in receipt_line.inner_text()
    with page.expect_download() as download:
        receipt_line.locator("a").click()
    assert json.loads(Path(download.value.path()).read_text(encoding="utf-8")) == receipt

    # 3. The section's bid page gives the tool's commands and the opening key.
    page.click(f"text={w.section.code}")
    page.wait_for_selector("[data-testid=bid-commands]")
    commands = page.locator("[data-testid=bid-commands]").inner_text()
    assert f"tenderhall-bid submit --section {w.section.pk} bid.age" in commands
    assert page.locator("[data-testid=opening-recipient]").inner_text().startswith("age1")

    # 4. Withdraw (before the deadline): confirm, click, and the page says withdrawn.
    page.check("[data-testid=withdraw-confirm]")
    page.click("[data-testid=withdraw-bid]")
    page.wait_for_selector("[data-testid=bid-status][data-status=withdrawn]")
    assert page.locator("[data-testid=withdraw-bid]").count() == 0
    assert Bid.objects.get().status == BidStatus.WITHDRAWN
