"""Every hall endpoint for every kind of caller: anonymous → 401, a signed-in user lacking the
grant → 403, a user outside the section (another organization) → 404, the right user → 2xx."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from tenderhall.accounts.models import Role, User
from tenderhall.opening import services
from tests.factories import UserFactory
from tests.notices.conftest import DEADLINE
from tests.opening.conftest import API, Hall, api_client, sign_in_body


def _open(h: Hall) -> None:
    services.decryption_window_open(acting_user=h.host, section=h.section)


def _backup(h: Hall) -> None:
    _open(h)
    services.backup_request(acting_user=h.host, section=h.section, bid=h.bidders[0].bid)


def _closed(h: Hall) -> None:
    _open(h)
    for b in h.bidders:
        services.bid_unlock(acting_user=b.user, section=h.section, file_key=b.file_key)
    services.decryption_window_close(acting_user=h.host, section=h.section)


def _read(h: Hall) -> None:
    _closed(h)
    services.opening_read_out(acting_user=h.host, section=h.section)


def _suspended(h: Hall) -> None:
    services.opening_suspend(acting_user=h.host, section=h.section, reason="故障")


def _nothing(h: Hall) -> None:
    return None


def _key(h: Hall) -> dict[str, Any]:
    return {"file_key": base64.b64encode(h.bidders[0].file_key).decode()}


def _share(h: Hall) -> dict[str, Any]:
    _, index, share = next(s for s in h.shares() if s[0] == h.world.staff)
    return {"share_index": index, "share": base64.b64encode(share).decode()}


def _bid(h: Hall) -> int:
    assert h.bidders[0].bid is not None
    return h.bidders[0].bid.pk


def _sign_in_body(h: Hall) -> dict[str, Any]:
    return sign_in_body(h.bidders[0], h.section)


# who: "host" (agent), "bidder" (bidder 0), "custodian" (staff), "watcher" (supervisor)
# (method, path, prepare, body, right, wrong, status)
ROUTES: list[
    tuple[str, str, Callable[[Hall], None], Callable[[Hall], dict[str, Any]] | None, str, str | None, int]
] = [
    ("post", "/sections/{section_id}/hall/challenge", _nothing, None, "bidder", "host", 201),
    ("post", "/sections/{section_id}/hall/sign-in", _nothing, _sign_in_body, "bidder", "host", 201),
    ("get", "/sections/{section_id}/hall", _nothing, None, "watcher", None, 200),
    ("get", "/sections/{section_id}/hall/events", _nothing, None, "bidder", None, 200),
    (
        "post",
        "/sections/{section_id}/hall/decryption/open",
        _nothing,
        lambda h: {"minutes": 30},
        "host",
        "bidder",
        200,
    ),
    ("post", "/sections/{section_id}/hall/unlock", _open, _key, "bidder", "host", 200),
    ("post", "/sections/{section_id}/hall/backup/{bid_id}", _open, None, "host", "bidder", 200),
    ("post", "/sections/{section_id}/hall/shares", _backup, _share, "custodian", "bidder", 200),
    ("post", "/sections/{section_id}/hall/decryption/close", _open, None, "host", "bidder", 200),
    ("post", "/sections/{section_id}/hall/read-out", _closed, None, "host", "bidder", 200),
    ("get", "/sections/{section_id}/hall/table", _read, None, "bidder", None, 200),
    (
        "post",
        "/sections/{section_id}/hall/fail",
        _nothing,
        lambda h: {"reason": "不足"},
        "host",
        "bidder",
        200,
    ),
    (
        "post",
        "/sections/{section_id}/hall/suspend",
        _nothing,
        lambda h: {"reason": "故障"},
        "host",
        "bidder",
        200,
    ),
    (
        "post",
        "/sections/{section_id}/hall/resume",
        _suspended,
        lambda h: {"reason": "恢复"},
        "host",
        "bidder",
        200,
    ),
    (
        "post",
        "/sections/{section_id}/hall/postpone",
        _nothing,
        lambda h: {"reason": "推迟", "new_time": (DEADLINE + dt.timedelta(hours=1)).isoformat()},
        "host",
        "bidder",
        200,
    ),
    ("get", "/sections/{section_id}/bid/header", _nothing, None, "bidder", "host", 200),
]


def _user(h: Hall, who: str) -> User:
    return {
        "host": h.host,
        "bidder": h.bidders[0].user,
        "custodian": h.world.staff,
        "watcher": h.world.supervisor,
    }[who]


def _call(
    h: Hall, user: User | None, method: str, path: str, body: Callable[[Hall], dict[str, Any]] | None
) -> Any:
    url = API + path.format(section_id=h.section.pk, bid_id=_bid(h))
    client = api_client(user)
    if method == "get":
        return client.get(url)
    return client.post(url, json.dumps(body(h) if body else {}), content_type="application/json")


@pytest.mark.parametrize(
    ("method", "path", "prepare", "body", "right", "wrong", "status"),
    ROUTES,
    ids=[r[1] + " " + r[0] for r in ROUTES],
)
def test_route_permissions(
    make_hall: Callable[..., Hall],
    method: str,
    path: str,
    prepare: Callable[[Hall], None],
    body: Callable[[Hall], dict[str, Any]] | None,
    right: str,
    wrong: str | None,
    status: int,
):
    # "fail" needs too few bids; everything else a normal hall of three
    h = make_hall(2 if path.endswith("/fail") else 3)
    prepare(h)
    assert _call(h, None, method, path, body).status_code == 401
    if wrong is not None:
        response = _call(h, _user(h, wrong), method, path, body)
        assert response.status_code == 403, response.content
    outsider = h.world.rival_agent if right in ("host", "custodian") else UserFactory(role=Role.BIDDER)
    response = _call(h, outsider, method, path, body)
    assert response.status_code == 404, response.content
    response = _call(h, _user(h, right), method, path, body)
    assert response.status_code == status, response.content


# The hall's pages (app-relative routes; tests/opening/test_pages.py checks every form action in
# detail): anonymous → login, outside the section → 404, the hall's watchers → 200.
PAGES = ["", "sections/<int:pk>/", "sections/<int:pk>/<slug:action>/"]


@pytest.mark.parametrize("route", PAGES)
def test_page_permissions(hall: Hall, route: str) -> None:
    from django.urls import reverse

    from tests.notices.conftest import client_for

    url = "/opening/" + route.replace("<int:pk>", str(hall.section.pk)).replace("<slug:action>", "challenge")
    post = route.endswith("<slug:action>/")
    call = (lambda c: c.post(url)) if post else (lambda c: c.get(url))
    response = call(client_for(None))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    if route:
        assert call(client_for(UserFactory(role=Role.BIDDER))).status_code == 404
        assert call(client_for(hall.world.rival_agent)).status_code == 404
    if post:
        assert call(client_for(hall.host)).status_code == 403  # the host does not sign in
        response = call(client_for(hall.bidders[0].user))
        assert response.status_code == 302 and response["Location"] == reverse(
            "opening:hall", args=[hall.section.pk]
        )
    else:
        for user in (hall.host, hall.bidders[0].user, hall.world.supervisor):
            assert call(client_for(user)).status_code == 200
