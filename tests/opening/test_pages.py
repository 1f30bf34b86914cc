"""The hall page and its form endpoints: what each viewer sees, and every endpoint for every kind
of caller (anonymous → login redirect, lacking the grant → 403, outside the section → 404, the
right user → done and back to the hall)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from tenderhall.accounts.models import Role, User
from tenderhall.opening import services
from tenderhall.opening.models import Decryption, DecryptionStatus, OpeningStatus
from tests.factories import UserFactory
from tests.notices.conftest import DEADLINE, client_for
from tests.opening.conftest import Hall, sign_in_body

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Iterator[None]:
    """These tests read the English pages (zh-Hans is the default)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def hall_url(h: Hall) -> str:
    return reverse("opening:hall", args=[h.section.pk])


def action_url(h: Hall, action: str) -> str:
    return reverse("opening:action", args=[h.section.pk, action])


def test_the_host_sees_the_controls_and_the_bidders(hall: Hall) -> None:
    page = client_for(hall.host).get(hall_url(hall)).content.decode()
    for testid in (
        "open-window",
        "close-window",
        "read-out",
        "hall-status",
        "hall-connection",
        "objection-list",
    ):
        assert f'data-testid="{testid}"' in page, testid
    assert page.count('data-testid="bidder-row"') == 3
    assert 'data-testid="unlock-form"' not in page and "opening/hall.js" in page


def test_a_bidder_sees_sign_in_unlock_and_the_command(hall: Hall) -> None:
    page = client_for(hall.bidders[0].user).get(hall_url(hall)).content.decode()
    assert 'data-testid="get-challenge"' in page and 'data-testid="unlock-form"' in page
    assert f"tenderhall-bid sign-in --section {hall.section.pk}" in page
    assert f"tenderhall-bid unlock --section {hall.section.pk} -i identity.txt" in page
    assert 'data-testid="open-window"' not in page


def test_another_bidders_failure_reason_is_not_on_a_bidders_page(decrypting: Hall) -> None:
    h = decrypting
    services.bid_unlock(acting_user=h.bidders[0].user, section=h.section, file_key=b"\0" * 16)
    reason = Decryption.objects.get(bid=h.bidders[0].bid).reason_zh
    assert reason
    assert reason not in client_for(h.bidders[1].user).get(hall_url(h)).content.decode()
    assert reason in client_for(h.bidders[0].user).get(hall_url(h)).content.decode()
    assert reason in client_for(h.host).get(hall_url(h)).content.decode()


def test_observers_watch_without_controls(hall: Hall) -> None:
    for user in (hall.world.supervisor, hall.world.staff):
        page = client_for(user).get(hall_url(hall)).content.decode()
        assert 'data-testid="bidder-row"' in page
        assert 'data-testid="open-window"' not in page and 'data-testid="unlock-form"' not in page


def test_the_whole_opening_through_the_page(hall: Hall) -> None:
    host = client_for(hall.host)
    assert host.post(action_url(hall, "open-window"), {"minutes": 30}).status_code == 302
    for b in hall.bidders:
        client = client_for(b.user)
        client.post(action_url(hall, "unlock"), {"token": base64.b64encode(b.file_key).decode()})
    assert all(d.status == DecryptionStatus.DECRYPTED for d in Decryption.objects.all())
    host.post(action_url(hall, "close-window"))
    host.post(action_url(hall, "read-out"))
    page = client_for(hall.bidders[1].user).get(hall_url(hall)).content.decode()
    assert 'data-testid="opening-table"' in page and "11800000.00" in page and "11801000.00" in page


def test_a_refused_transition_is_a_message_not_an_error(hall: Hall) -> None:
    response = client_for(hall.host).post(action_url(hall, "read-out"), follow=True)
    assert response.status_code == 200
    assert "opening_wrong_state" not in response.content.decode()
    assert "不能唱标" in response.content.decode()
    response = client_for(hall.bidders[0].user).post(
        action_url(hall, "unlock"), {"token": "not base64!"}, follow=True
    )
    assert response.status_code == 200 and "not base64" in response.content.decode()


def _open(h: Hall) -> None:
    services.decryption_window_open(acting_user=h.host, section=h.section)


def _closed(h: Hall) -> None:
    _open(h)
    for b in h.bidders:
        services.bid_unlock(acting_user=b.user, section=h.section, file_key=b.file_key)
    services.decryption_window_close(acting_user=h.host, section=h.section)


def _objections(h: Hall) -> None:
    _open(h)
    services.hall_objection_window_open(acting_user=h.host, section=h.section)


def _objection(h: Hall) -> None:
    _objections(h)
    services.hall_objection_raise(acting_user=h.bidders[0].user, section=h.section, text="异议")


def _read_out(h: Hall) -> None:
    _closed(h)
    services.opening_read_out(acting_user=h.host, section=h.section)


def _nothing(h: Hall) -> None:
    return None


def _suspended(h: Hall) -> None:
    services.opening_suspend(acting_user=h.host, section=h.section, reason="故障")


def _objection_id(h: Hall) -> dict[str, Any]:
    from tenderhall.disputes.models import Objection

    return {"objection": Objection.objects.get(section=h.section).pk, "answer": "答复"}


# (action, prepare, data, right, wrong, check)
ACTIONS: list[tuple[str, Callable[[Hall], None], Callable[[Hall], dict[str, Any]], str, str | None]] = [
    ("challenge", _nothing, lambda h: {}, "bidder", "host"),
    ("sign-in", _nothing, lambda h: sign_in_body(h.bidders[0], h.section), "bidder", "host"),
    ("open-window", _nothing, lambda h: {"minutes": 30}, "host", "bidder"),
    ("close-window", _open, lambda h: {}, "host", "bidder"),
    ("read-out", _closed, lambda h: {}, "host", "bidder"),
    ("fail", _nothing, lambda h: {"reason": "不足三家"}, "host", "bidder"),
    ("suspend", _nothing, lambda h: {"reason": "故障"}, "host", "bidder"),
    ("resume", _suspended, lambda h: {"reason": "恢复"}, "host", "bidder"),
    (
        "postpone",
        _nothing,
        lambda h: {
            "reason": "推迟",
            "new_time": (DEADLINE + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        },
        "host",
        "bidder",
    ),
    ("backup", _open, lambda h: {"bid": h.bidders[0].bid.pk}, "host", "bidder"),  # type: ignore[union-attr]
    (
        "unlock",
        _open,
        lambda h: {"token": base64.b64encode(h.bidders[0].file_key).decode()},
        "bidder",
        "host",
    ),
    ("objections-open", _open, lambda h: {"minutes": 10}, "host", "bidder"),
    ("objections-close", _objections, lambda h: {}, "host", "bidder"),
    ("raise-objection", _objections, lambda h: {"text": "开标异议"}, "bidder", "host"),
    ("answer-objection", _objection, _objection_id, "host", "bidder"),
    ("record-generate", _read_out, lambda h: {}, "host", "bidder"),
    ("witness", _nothing, lambda h: {"text": "开标过程正常", "abnormal": ""}, "staff", "host"),
]


def _user(h: Hall, who: str) -> User:
    return {
        "host": h.host,
        "bidder": h.bidders[0].user,
        "watcher": h.world.supervisor,
        "staff": h.world.staff,
    }[who]


def _done(h: Hall, action: str) -> bool:
    from tenderhall.disputes.models import Objection
    from tenderhall.opening.models import (
        HallChallenge,
        HallSignIn,
        OpeningRecord,
        OpeningSession,
        WitnessRecord,
    )

    session = OpeningSession.objects.get(section=h.section)
    d0 = Decryption.objects.get(bid=h.bidders[0].bid)
    return {
        "challenge": lambda: HallChallenge.objects.filter(user=h.bidders[0].user, used_at=None).exists(),
        "sign-in": lambda: HallSignIn.objects.filter(user=h.bidders[0].user).exists(),
        "open-window": lambda: session.status == OpeningStatus.DECRYPTING,
        "close-window": lambda: session.status == OpeningStatus.DECRYPTED,
        "read-out": lambda: session.status == OpeningStatus.READ_OUT,
        "fail": lambda: session.status == OpeningStatus.FAILED,
        "suspend": lambda: session.status == OpeningStatus.SUSPENDED,
        "resume": lambda: session.status == OpeningStatus.WAITING,
        "postpone": lambda: (
            h.section.__class__.objects.get(pk=h.section.pk).opening_at == DEADLINE + dt.timedelta(hours=2)
        ),
        "backup": lambda: d0.backup_requested_at is not None,
        "unlock": lambda: d0.status == DecryptionStatus.DECRYPTED,
        "objections-open": lambda: services.hall_objection_window(h.section) is not None,
        "objections-close": lambda: services.hall_objection_window(h.section) is None,
        "raise-objection": lambda: Objection.objects.filter(section=h.section, text="开标异议").exists(),
        "answer-objection": lambda: Objection.objects.get(section=h.section).answer == "答复",
        "record-generate": lambda: OpeningRecord.objects.filter(section=h.section).exists(),
        "witness": lambda: WitnessRecord.objects.filter(section=h.section, text="开标过程正常").exists(),
    }[action]()


@pytest.mark.parametrize(
    ("action", "prepare", "data", "right", "wrong"), ACTIONS, ids=[a[0] for a in ACTIONS]
)
def test_action_permissions(
    make_hall: Callable[..., Hall],
    action: str,
    prepare: Callable[[Hall], None],
    data: Callable[[Hall], dict[str, Any]],
    right: str,
    wrong: str | None,
) -> None:
    h = make_hall(2 if action == "fail" else 3)
    prepare(h)
    url = action_url(h, action)
    response = client_for(None).post(url, data(h))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    if wrong is not None:
        assert client_for(_user(h, wrong)).post(url, data(h)).status_code == 403
    outsider = h.world.rival_agent if right == "host" else UserFactory(role=Role.BIDDER)
    assert client_for(outsider).post(url, data(h)).status_code == 404
    response = client_for(_user(h, right)).post(url, data(h))
    assert response.status_code == 302 and response["Location"] == hall_url(h)
    assert _done(h, action)


def test_hall_page_permissions(hall: Hall) -> None:
    url = hall_url(hall)
    response = client_for(None).get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client_for(UserFactory(role=Role.BIDDER)).get(url).status_code == 404
    assert client_for(hall.world.rival_agent).get(url).status_code == 404
    for user in (hall.host, hall.bidders[0].user, hall.world.supervisor, hall.world.staff):
        assert client_for(user).get(url).status_code == 200
    assert client_for(hall.host).get(url.replace("/sections/", "/sections/9")).status_code == 404
    assert client_for(hall.host).post(action_url(hall, "nonsense")).status_code == 404
    assert client_for(hall.host).get(action_url(hall, "read-out")).status_code == 405


def test_the_list_of_halls_shows_what_each_may_watch(hall: Hall) -> None:
    url = reverse("opening:halls")
    response = client_for(None).get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    marker = f'data-section="{hall.section.pk}"'
    for user in (hall.host, hall.bidders[0].user, hall.world.supervisor):
        response = client_for(user).get(url)
        assert response.status_code == 200 and marker in response.content.decode()
        assert reverse("opening:halls") in response.content.decode()  # the menu entry
    for user in (UserFactory(role=Role.BIDDER), hall.world.rival_agent):
        assert marker not in client_for(user).get(url).content.decode()
