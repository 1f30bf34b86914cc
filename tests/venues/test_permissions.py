"""Every venues endpoint and page, for every kind of caller.

Bidders have no business with venues (403 everywhere); supervisors and auditors read everything
and change nothing (403 on writes); an agent reaches another organization's booking nowhere (404)
and never learns who holds a slot; anonymous callers get 401 (API) or the sign-in page.
The completeness tests fail when a venues route appears that is not listed here.
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
from tenderhall.core.models import LogEvent
from tenderhall.venues.models import Booking, BookingStatus, Room
from tests.venues.conftest import World, at

pytestmark = pytest.mark.django_db

API = "/api/v1"

READ = "read"  # every venue role reads (staff, supervisor, auditor, agent, tenderer); bidder 403
STAFF_WRITE = "staff_write"  # staff only; everybody else 403
REQUEST = "request"  # agents and tenderers; everybody else 403
BOOKING_READ = "booking_read"  # one booking: another organization's is 404 to an agent
DECIDE = "decide"  # staff of the room's centre; 403 for the rest
BOOKING_WRITE = (
    "booking_write"  # the requester's organization or staff; other agents 404, read-only roles 403
)

API_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/rooms"): READ,
    ("POST", "/rooms"): STAFF_WRITE,
    ("PATCH", "/rooms/{room_id}"): STAFF_WRITE,
    ("POST", "/rooms/{room_id}/seats"): STAFF_WRITE,
    ("GET", "/bookings"): READ,
    ("POST", "/bookings"): REQUEST,
    ("GET", "/bookings/{booking_id}"): BOOKING_READ,
    ("POST", "/bookings/{booking_id}/confirm"): DECIDE,
    ("POST", "/bookings/{booking_id}/reject"): DECIDE,
    ("POST", "/bookings/{booking_id}/change"): BOOKING_WRITE,
    ("POST", "/bookings/{booking_id}/extend"): BOOKING_WRITE,
    ("POST", "/bookings/{booking_id}/cancel"): BOOKING_WRITE,
    ("GET", "/venues/calendar"): READ,
}

OURS = ("/rooms", "/bookings", "/venues")


def test_every_venues_api_route_is_classified() -> None:
    schema = ninja_api.get_openapi_schema()
    ours = {
        (method.upper(), path.removeprefix(API))
        for path, ops in schema["paths"].items()
        if path.removeprefix(API).startswith(OURS)
        for method in ops
    }
    assert ours == set(API_ROUTES)


def body_for(world: World, method: str, path: str) -> dict[str, Any] | None:
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/rooms"): {"name": "新开标室", "kind": "opening"},
        ("PATCH", "/rooms/{room_id}"): {"location": "八楼"},
        ("POST", "/rooms/{room_id}/seats"): {"count": 2},
        ("POST", "/bookings"): {
            "room_id": world.opening.pk,
            "purpose": "opening",
            "starts_at": at(3, 9).isoformat(),
            "ends_at": at(3, 10).isoformat(),
        },
        ("POST", "/bookings/{booking_id}/reject"): {"reason": "检修"},
        ("POST", "/bookings/{booking_id}/change"): {"starts_at": at(1, 8).isoformat()},
        ("POST", "/bookings/{booking_id}/extend"): {"ends_at": at(1, 13).isoformat()},
        ("POST", "/bookings/{booking_id}/cancel"): {"reason": "停电"},
    }
    return bodies.get((method, path))


@pytest.fixture
def booking(world: World) -> Booking:
    """The agent's request, for the agent's project."""
    return world.book(section=world.section)


def call(world: World, booking: Booking, user: User | None, method: str, path: str) -> Any:
    url = API + path.format(room_id=world.opening.pk, booking_id=booking.pk)
    headers = {}
    if user is not None:
        raw, _ = api_token_issue(user=user)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    body = body_for(world, method, path)
    client = Client(raise_request_exception=False)
    return getattr(client, method.lower())(
        url, data=json.dumps(body) if body is not None else None, content_type="application/json", **headers
    )


ROUTES = sorted(API_ROUTES)
route_ids = [f"{m} {p}" for m, p in ROUTES]


@pytest.mark.parametrize("route", ROUTES, ids=route_ids)
def test_anonymous_gets_401(world: World, booking: Booking, route: tuple[str, str]) -> None:
    assert call(world, booking, None, *route).status_code == 401


@pytest.mark.parametrize("route", ROUTES, ids=route_ids)
def test_a_bidder_has_no_access_to_venues(world: World, booking: Booking, route: tuple[str, str]) -> None:
    response = call(world, booking, world.bidder, *route)
    assert response.status_code == 403, response.content
    assert response.json()["permission"].startswith("venues:")


@pytest.mark.parametrize("who", ["supervisor", "auditor"])
@pytest.mark.parametrize("route", ROUTES, ids=route_ids)
def test_supervisors_and_auditors_read_everything_and_change_nothing(
    world: World, booking: Booking, route: tuple[str, str], who: str
) -> None:
    before = (
        list(Booking.objects.values()),
        list(Room.objects.values()),
        LogEvent.objects.filter(action__startswith="venues.").count(),
    )
    response = call(world, booking, getattr(world, who), *route)
    if route[0] == "GET":
        assert response.status_code == 200, response.content
        assert world.agent.username in response.content.decode() or route[1] in ("/rooms", "/venues/calendar")
    else:
        assert response.status_code == 403, response.content
    assert (
        list(Booking.objects.values()),
        list(Room.objects.values()),
        LogEvent.objects.filter(action__startswith="venues.").count(),
    ) == before


EXPECTED_FOR_OTHER_AGENT = {
    READ: 200,
    STAFF_WRITE: 403,
    REQUEST: 201,
    BOOKING_READ: 404,
    DECIDE: 403,
    BOOKING_WRITE: 404,
}


@pytest.mark.parametrize("route", ROUTES, ids=route_ids)
def test_another_agent_reaches_nothing_of_the_booking(
    world: World, booking: Booking, route: tuple[str, str]
) -> None:
    response = call(world, booking, world.other_agent, *route)
    assert response.status_code == EXPECTED_FOR_OTHER_AGENT[API_ROUTES[route]], response.content
    text = response.content.decode()
    for secret in (
        world.agent.username,
        world.agent.organization.name,
        world.section.code,
        str(world.section),
    ):
        assert secret not in text
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED and booking.starts_at == at(1, 9)


EXPECTED_FOR_STAFF = {
    READ: 200,
    STAFF_WRITE: 200,
    REQUEST: 403,
    BOOKING_READ: 200,
    DECIDE: 200,
    BOOKING_WRITE: 200,
}


@pytest.mark.parametrize("route", ROUTES, ids=route_ids)
def test_staff_reach_every_route_but_the_request(
    world: World, booking: Booking, route: tuple[str, str]
) -> None:
    expected = EXPECTED_FOR_STAFF[API_ROUTES[route]]
    if route in (("POST", "/rooms"), ("POST", "/rooms/{room_id}/seats")):
        expected = 201
    response = call(world, booking, world.staff, *route)
    assert response.status_code == expected, response.content


@pytest.mark.parametrize("route", ROUTES, ids=route_ids)
def test_the_requesting_agent(world: World, booking: Booking, route: tuple[str, str]) -> None:
    expected = {READ: 200, STAFF_WRITE: 403, REQUEST: 201, BOOKING_READ: 200, DECIDE: 403, BOOKING_WRITE: 200}
    response = call(world, booking, world.agent, *route)
    assert response.status_code == expected[API_ROUTES[route]], response.content


def test_staff_of_another_centre_decide_and_write_nothing_here(world: World, booking: Booking) -> None:
    for route in [r for r, cls in API_ROUTES.items() if cls in (DECIDE, BOOKING_WRITE)]:
        response = call(world, booking, world.other_staff, *route)
        assert response.status_code == 403 and response.json()["code"] == "room_other_centre", route
    response = call(world, booking, world.other_staff, "PATCH", "/rooms/{room_id}")
    assert response.status_code == 403


# ---- pages --------------------------------------------------------------------------------------

PAGES = {
    "": ("GET", "POST"),
    "bookings/": ("GET",),
    "bookings/<int:pk>/": ("GET", "POST"),
    "rooms/": ("GET", "POST"),
    "rooms/<int:pk>/": ("GET", "POST"),
}


def test_every_venues_page_is_classified() -> None:
    [venues] = [
        e for e in get_resolver().url_patterns if isinstance(e, URLResolver) and str(e.pattern) == "venues/"
    ]
    assert sorted(str(p.pattern) for p in venues.url_patterns) == sorted(PAGES)


def page_url(world: World, booking: Booking, route: str) -> str:
    return "/venues/" + route.replace(
        "<int:pk>", str(booking.pk if route.startswith("bookings") else world.opening.pk)
    )


def page_data(route: str) -> dict[str, Any]:
    return {
        "": {
            "room": "1",
            "purpose": "opening",
            "starts_at": "2026-03-05T09:00",
            "ends_at": "2026-03-05T10:00",
            "seats_needed": 0,
        },
        "bookings/<int:pk>/": {"action": "cancel", "cancel-reason": "x"},
        "rooms/": {"name": "新室", "kind": "opening"},
        "rooms/<int:pk>/": {"action": "seats", "count": 1, "label_prefix": "A"},
    }[route]


PAGE_CASES = [(route, method) for route, methods in PAGES.items() for method in methods]
page_ids = [f"{m} /venues/{r}" for r, m in PAGE_CASES]


def fetch(world: World, booking: Booking, user: User | None, route: str, method: str) -> Any:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    url = page_url(world, booking, route)
    return client.get(url) if method == "GET" else client.post(url, page_data(route))


@pytest.mark.parametrize(("route", "method"), PAGE_CASES, ids=page_ids)
def test_anonymous_pages_go_to_sign_in(world: World, booking: Booking, route: str, method: str) -> None:
    response = fetch(world, booking, None, route, method)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize(("route", "method"), PAGE_CASES, ids=page_ids)
def test_a_bidder_gets_403_pages(world: World, booking: Booking, route: str, method: str) -> None:
    response = fetch(world, booking, world.bidder, route, method)
    assert response.status_code == 403
    assert 'data-testid="error-message"' in response.content.decode()


@pytest.mark.parametrize(("route", "method"), PAGE_CASES, ids=page_ids)
def test_a_supervisor_reads_the_pages_and_posts_nothing(
    world: World, booking: Booking, route: str, method: str
) -> None:
    before = (
        list(Booking.objects.values()),
        list(Room.objects.values()),
        LogEvent.objects.filter(action__startswith="venues.").count(),
    )
    response = fetch(world, booking, world.supervisor, route, method)
    assert response.status_code == (200 if method == "GET" else 403)
    assert (
        list(Booking.objects.values()),
        list(Room.objects.values()),
        LogEvent.objects.filter(action__startswith="venues.").count(),
    ) == before


def test_another_agent_gets_a_404_for_the_booking_page_and_sees_no_holder(
    world: World, booking: Booking
) -> None:
    for method in ("GET", "POST"):
        assert fetch(world, booking, world.other_agent, "bookings/<int:pk>/", method).status_code == 404
    for route in ("", "bookings/", "rooms/", "rooms/<int:pk>/"):
        page = fetch(world, booking, world.other_agent, route, "GET").content.decode()
        for secret in (world.agent.organization.name, world.section.code, world.agent.username):
            assert secret not in page, route
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED


def test_agents_post_no_room_changes(world: World, booking: Booking) -> None:
    for route in ("rooms/", "rooms/<int:pk>/"):
        assert fetch(world, booking, world.agent, route, "POST").status_code == 403
    assert world.opening.seats.count() == 10


@pytest.mark.parametrize(("route", "method"), [c for c in PAGE_CASES if c[1] == "GET"], ids=lambda c: str(c))
def test_the_right_users_open_every_page(world: World, booking: Booking, route: str, method: str) -> None:
    for who in (world.staff, world.agent, world.tenderer, world.auditor):
        assert fetch(world, booking, who, route, method).status_code == 200, (who, route)
