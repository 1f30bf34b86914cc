"""The audit browser pages and the log head page; the API's problem+json for the same refusals."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.core import transparency
from tenderhall.core.context import RequestContext, bind_request_context
from tenderhall.core.models import LogEvent
from tenderhall.core.transparency import EventSpec, log_append, log_append_many

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def events(staff: User) -> list[LogEvent]:
    with bind_request_context(RequestContext(source_ip="192.0.2.44", user_agent="pytest")):
        first = log_append(action="test.section.published", actor=staff, data={"section": "JS-2026-001"})
    batch = log_append_many([EventSpec(action="test.bid.received", data={"n": n}) for n in range(4)])
    last = log_append(action="test.section.opened", actor=staff, data={"bids": 4})
    return [first, *batch, last]


def by_testid(page: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>(.*?)</', page, re.S)
    assert match, f"no element with data-testid={name}"
    return html.unescape(match.group(1))


@pytest.mark.parametrize("path", ["/audit/", "/audit/events/0/"])
def test_anonymous_is_sent_to_sign_in(client: Client, events: list[LogEvent], path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert f"next={path}" in response["Location"]


@pytest.mark.parametrize("path", ["/audit/", "/audit/events/0/"])
def test_bidder_gets_a_403_page_with_the_bilingual_message(
    client: Client, bidder: User, events: list[LogEvent], path: str
) -> None:
    client.force_login(bidder)
    response = client.get(path)
    assert response.status_code == 403
    page = response.content.decode()
    assert "permission_denied" in page
    assert "无权执行此操作" in by_testid(page, "error-message")
    assert "You are not allowed to do this" in page
    assert "test.section.published" not in page


@pytest.mark.parametrize("role", ["staff", "supervisor", "auditor"])
def test_audit_roles_browse_the_log(
    client: Client, events: list[LogEvent], role: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(role))
    response = client.get("/audit/")
    assert response.status_code == 200
    page = response.content.decode()
    for event in events:
        assert event.action in page
        assert f'href="/audit/events/{event.index}/"' in page
    assert "192.0.2.44" in page


def test_audit_list_filters(client: Client, supervisor: User, events: list[LogEvent]) -> None:
    client.force_login(supervisor)
    page = client.get("/audit/", {"action": "test.bid"}).content.decode()
    assert "test.bid.received" in page
    assert "test.section.published" not in page
    page = client.get("/audit/", {"actor": "staff"}).content.decode()
    assert "test.section.opened" in page and "test.bid.received" not in page


@pytest.mark.parametrize("role", ["staff", "supervisor", "auditor"])
def test_event_page_shows_the_payload_and_a_verified_proof(
    client: Client, events: list[LogEvent], role: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(role))
    for event in (events[0], events[3], events[-1]):
        response = client.get(f"/audit/events/{event.index}/", **EN)
        assert response.status_code == 200
        page = response.content.decode()
        assert "✓" in by_testid(page, "server-proof")
        assert "proof verified" in by_testid(page, "server-proof")
        assert "✓" in by_testid(page, "server-signature")
        assert by_testid(page, "leaf-hash") == event.leaf_hash
        assert json.loads(by_testid(page, "payload")) == json.loads(event.payload)
        # The data the browser re-checks is the same proof the API hands out.
        data = json.loads(re.search(r'id="proof-data"[^>]*>(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
        assert data["payload"] == event.payload
        assert data["proof"] == transparency.inclusion_proof_for(event.leaf_hash)


def test_event_page_says_so_when_the_stored_payload_was_altered(
    client: Client, staff: User, events: list[LogEvent]
) -> None:
    LogEvent.objects.filter(index=0).update(payload=events[0].payload.replace("JS-2026-001", "JS-2026-999"))
    client.force_login(staff)
    page = client.get("/audit/events/0/", **EN).content.decode()
    assert "✗" in by_testid(page, "server-proof")
    assert "JS-2026-999" in by_testid(page, "payload")


def test_unknown_event_is_a_404_page(client: Client, staff: User, events: list[LogEvent]) -> None:
    client.force_login(staff)
    response = client.get("/audit/events/999/")
    assert response.status_code == 404
    assert "not_found" in response.content.decode()


def test_log_head_page_is_public(client: Client, events: list[LogEvent]) -> None:
    response = client.get("/log/")
    assert response.status_code == 200
    page = response.content.decode()
    sth = transparency.latest_sth()
    assert sth is not None
    assert by_testid(page, "tree-size") == str(len(events)) == str(sth.tree_size)
    assert sth.root_hash in page
    assert sth.signature in page
    assert "BEGIN PUBLIC KEY" in page


def test_log_head_page_of_an_empty_log(client: Client) -> None:
    response = client.get("/log/")
    assert response.status_code == 200
    assert 'data-testid="tree-size"' not in response.content.decode()


def test_events_api_refuses_a_bidder_with_403_problem_json(
    client: Client, bidder: User, events: list[LogEvent]
) -> None:
    client.force_login(bidder)
    for path in ("/api/v1/log/events", "/api/v1/log/events/0"):
        response = client.get(path)
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "permission_denied"
        assert problem["permission"] == "core:audit:view"
        assert problem["message_zh"] and problem["message_en"]
        assert problem["instance"] == path


def test_events_api_asks_anonymous_to_sign_in_with_401_problem_json(
    client: Client, events: list[LogEvent]
) -> None:
    response = client.get("/api/v1/log/events")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "not_authenticated"
    assert problem["message_zh"] == "请先登录"
    assert problem["message_en"] == "Sign in first"


def test_events_api_for_an_auditor(client: Client, auditor: User, events: list[LogEvent]) -> None:
    client.force_login(auditor)
    body = client.get("/api/v1/log/events", {"limit": 3}).json()
    assert [e["index"] for e in body] == [5, 4, 3]
    assert body[0]["payload"]["action"] == "test.section.opened"
    older = client.get("/api/v1/log/events", {"before": 2}).json()
    assert [e["index"] for e in older] == [1, 0]
    one = client.get("/api/v1/log/events/0").json()
    assert one["payload"] == json.loads(events[0].payload)
    assert client.get("/api/v1/log/events/99").status_code == 404
