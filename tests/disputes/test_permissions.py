"""Every disputes endpoint and page, for every kind of caller.

Another bidder never sees an objection nor who raised it (404); before the bid deadline the
project's agent and tenderer see the text but not the objector; supervisors read and answer
nothing; anonymous callers get 401 (API) or the sign-in page. The completeness tests fail when a
disputes route appears that is not listed here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver

from tenderhall.accounts.models import User
from tenderhall.accounts.services import api_token_issue
from tenderhall.api import api as ninja_api
from tenderhall.disputes.models import Objection, ObjectionStatus
from tests.disputes.conftest import OBJECTOR_NAME, TEXT, World

pytestmark = pytest.mark.django_db

API = "/api/v1"
ROUTES = [
    ("GET", "/objections"),
    ("GET", "/objections/{objection_id}"),
    ("POST", "/objections/{objection_id}/answer"),
]


def test_every_disputes_api_route_is_classified() -> None:
    schema = ninja_api.get_openapi_schema()
    ours = {
        (method.upper(), path.removeprefix(API))
        for path, ops in schema["paths"].items()
        if path.removeprefix(API).startswith("/objections")
        for method in ops
    }
    assert ours == set(ROUTES)


@pytest.fixture
def objection(world: World) -> Objection:
    return world.raise_objection()


def call(user: User | None, method: str, path: str, objection: Objection) -> Any:
    headers = {}
    if user is not None:
        raw, _ = api_token_issue(user=user)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    body = json.dumps({"answer": "答复"}) if method == "POST" else None
    client = Client(raise_request_exception=False)
    return getattr(client, method.lower())(
        API + path.format(objection_id=objection.pk), data=body, content_type="application/json", **headers
    )


def secrets(world: World) -> list[str]:
    return [OBJECTOR_NAME, world.bidder.organization.uscc]  # type: ignore[union-attr]


# Expected status per caller, for (list, one, answer); None in the list column = an empty list.
EXPECTED: dict[str, tuple[int, int, int]] = {
    "agent": (200, 200, 200),
    "tenderer": (200, 200, 200),
    "other_agent": (200, 404, 404),
    "bidder": (200, 200, 403),
    "other_bidder": (200, 404, 403),
    "staff": (200, 200, 403),
    "supervisor": (200, 200, 403),
    "auditor": (200, 200, 403),
}


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_anonymous_gets_401(world: World, objection: Objection, route: tuple[str, str]) -> None:
    assert call(None, *route, objection).status_code == 401


@pytest.mark.parametrize("who", sorted(EXPECTED))
@pytest.mark.parametrize("n", range(3), ids=[f"{m} {p}" for m, p in ROUTES])
def test_each_caller_gets_exactly_its_share(world: World, objection: Objection, who: str, n: int) -> None:
    user = getattr(world, who)
    response = call(user, *ROUTES[n], objection)
    assert response.status_code == EXPECTED[who][n], response.content
    text = response.content.decode()
    if who in ("other_agent", "other_bidder"):
        assert TEXT not in text and "异议" not in text.replace("异议不存在", "")
        if n == 0:
            assert response.json() == []
    if who != "bidder":
        for secret in secrets(world):
            assert secret not in text  # before the deadline only the objector's organization knows
    if response.status_code != 200 or n != 2:
        assert Objection.objects.get().status == ObjectionStatus.RAISED


def test_the_parties_read_the_text_before_the_deadline(world: World, objection: Objection) -> None:
    for who in (world.agent, world.tenderer):
        body = call(who, "GET", "/objections/{objection_id}", objection).json()
        assert body["text"] == TEXT and body["objector"] is None


# ---- pages --------------------------------------------------------------------------------------

PAGES = ["", "<int:pk>/"]


def test_every_disputes_page_is_classified() -> None:
    [disputes] = [
        e for e in get_resolver().url_patterns if isinstance(e, URLResolver) and str(e.pattern) == "disputes/"
    ]
    assert sorted(str(p.pattern) for p in disputes.url_patterns) == sorted(PAGES)


def fetch(user: User | None, objection: Objection, route: str, method: str = "GET") -> Any:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    url = "/disputes/" + route.replace("<int:pk>", str(objection.pk))
    return client.get(url) if method == "GET" else client.post(url, {"answer": "答复"})


@pytest.mark.parametrize(("route", "method"), [("", "GET"), ("<int:pk>/", "GET"), ("<int:pk>/", "POST")])
def test_anonymous_pages_go_to_sign_in(world: World, objection: Objection, route: str, method: str) -> None:
    response = fetch(None, objection, route, method)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("who", ["other_bidder", "other_agent"])
def test_others_never_see_the_objection_or_its_objector(world: World, objection: Objection, who: str) -> None:
    user = getattr(world, who)
    page = fetch(user, objection, "").content.decode()
    assert 'data-testid="objection-row"' not in page and TEXT not in page
    for secret in secrets(world):
        assert secret not in page
    assert fetch(user, objection, "<int:pk>/").status_code == 404
    assert fetch(user, objection, "<int:pk>/", "POST").status_code in (403, 404)
    assert Objection.objects.get().status == ObjectionStatus.RAISED


@pytest.mark.parametrize("who", ["bidder", "staff", "supervisor", "auditor"])
def test_readers_open_the_pages_but_post_no_answer(world: World, objection: Objection, who: str) -> None:
    user = getattr(world, who)
    assert fetch(user, objection, "").status_code == 200
    page = fetch(user, objection, "<int:pk>/")
    assert page.status_code == 200 and 'data-testid="objection-answer-form"' not in page.content.decode()
    assert fetch(user, objection, "<int:pk>/", "POST").status_code == 403
    assert Objection.objects.get().status == ObjectionStatus.RAISED


@pytest.mark.parametrize("who", ["agent", "tenderer"])
def test_the_parties_see_the_text_not_the_objector_and_may_answer(
    world: World, objection: Objection, who: str
) -> None:
    user = getattr(world, who)
    page = fetch(user, objection, "<int:pk>/").content.decode()
    assert TEXT in page and 'data-testid="objection-answer-form"' in page
    for secret in secrets(world):
        assert secret not in page
    assert fetch(user, objection, "<int:pk>/", "POST").status_code == 302
