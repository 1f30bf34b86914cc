"""The venues API over HTTP: rooms, bookings and their transitions, the calendar; problem+json refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.accounts.services import api_token_issue
from tenderhall.core.errors import PROBLEM_CONTENT_TYPE
from tenderhall.venues.models import Booking, BookingStatus, Room
from tests.venues.conftest import World, at

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def api() -> Client:
    return Client(raise_request_exception=False)


def as_user(user: User) -> dict[str, str]:
    raw, _ = api_token_issue(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def call(api: Client, method: str, path: str, user: User | None, body: Any = None) -> Any:
    headers = as_user(user) if user is not None else {}
    data = json.dumps(body) if body is not None else None
    return getattr(api, method.lower())(path, data=data, content_type="application/json", **headers)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == code, body
    assert body["message_zh"] and body["message_en"]
    return body


def booking_body(world: World, **overrides: Any) -> dict[str, Any]:
    body = {
        "room_id": world.opening.pk,
        "purpose": "opening",
        "starts_at": at(1, 9).isoformat(),
        "ends_at": at(1, 12).isoformat(),
        "seats_needed": 4,
        "section_id": world.section.pk,
        "note": "",
    }
    return body | overrides


def test_staff_create_a_room_add_seats_and_mark_remote(api: Client, world: World) -> None:
    response = call(
        api,
        "POST",
        f"{API}/rooms",
        world.staff,
        {"name": "远程评标室", "kind": "evaluation", "location": "六楼"},
    )
    assert response.status_code == 201, response.content
    room = response.json()
    assert room["centre_id"] == world.centre.pk and room["seat_count"] == 0 and room["is_active"]
    response = call(
        api, "POST", f"{API}/rooms/{room['id']}/seats", world.staff, {"count": 3, "remote_evaluation": False}
    )
    assert response.status_code == 201
    assert [s["label"] for s in response.json()["seats"]] == ["A01", "A02", "A03"]
    response = call(
        api, "PATCH", f"{API}/rooms/{room['id']}", world.staff, {"remote_seats": ["A02"], "location": "七楼"}
    )
    assert response.status_code == 200
    assert response.json()["remote_seat_count"] == 1 and response.json()["location"] == "七楼"
    response = call(api, "PATCH", f"{API}/rooms/{room['id']}", world.staff, {"is_active": False})
    assert response.json()["is_active"] is False and response.json()["name"] == "远程评标室"


def test_room_refusals_are_problems(api: Client, world: World) -> None:
    problem(
        call(api, "POST", f"{API}/rooms", world.staff, {"name": "第一开标室", "kind": "opening"}),
        409,
        "room_name_taken",
    )
    problem(
        call(api, "POST", f"{API}/rooms", world.staff, {"name": "x", "kind": "gym"}), 422, "room_kind_invalid"
    )
    problem(call(api, "POST", f"{API}/rooms", world.staff, {"name": "x"}), 422, "request_invalid")
    problem(
        call(api, "PATCH", f"{API}/rooms/{world.other_centre_room.pk}", world.staff, {"name": "y"}),
        403,
        "room_other_centre",
    )
    problem(call(api, "GET", f"{API}/rooms?kind=gym", world.agent), 422, "room_kind_invalid")


def test_rooms_list_for_an_agent_is_read_only_and_active(api: Client, world: World) -> None:
    call(api, "PATCH", f"{API}/rooms/{world.clarification.pk}", world.staff, {"is_active": False})
    rooms = call(api, "GET", f"{API}/rooms", world.agent).json()
    assert world.clarification.pk not in {r["id"] for r in rooms}
    assert {r["seat_count"] for r in rooms if r["id"] == world.opening.pk} == {10}


def test_a_request_then_confirm(api: Client, world: World) -> None:
    response = call(api, "POST", f"{API}/bookings", world.agent, booking_body(world))
    assert response.status_code == 201, response.content
    booking = response.json()
    assert booking["status"] == "requested" and booking["section_code"] == world.section.code
    assert booking["organization"] == world.agent.organization.name
    assert booking["starts_at"].startswith("2026-03-03T01:00:00")
    response = call(api, "POST", f"{API}/bookings/{booking['id']}/confirm", world.staff)
    assert response.status_code == 200 and response.json()["status"] == "confirmed"
    assert response.json()["decided_by"] == "staff"
    assert call(api, "GET", f"{API}/bookings/{booking['id']}", world.agent).json()["status"] == "confirmed"


def test_a_conflict_names_the_time_and_nobody(api: Client, world: World) -> None:
    call(api, "POST", f"{API}/bookings", world.agent, booking_body(world))
    body = problem(
        call(
            api,
            "POST",
            f"{API}/bookings",
            world.other_agent,
            booking_body(world, section_id=None, starts_at=at(1, 11).isoformat()),
        ),
        409,
        "booking_conflict",
    )
    assert body["conflict"] == {
        "starts_at": "2026-03-03T01:00:00+00:00",
        "ends_at": "2026-03-03T04:00:00+00:00",
    }
    text = json.dumps(body, ensure_ascii=False)
    for secret in (world.agent.username, world.agent.organization.name, world.section.code):
        assert secret not in text


def test_request_refusals(api: Client, world: World) -> None:
    naive = booking_body(world, starts_at="2026-03-03T09:00:00", ends_at="2026-03-03T12:00:00")
    problem(call(api, "POST", f"{API}/bookings", world.agent, naive), 422, "booking_time_naive")
    problem(
        call(api, "POST", f"{API}/bookings", world.agent, booking_body(world, starts_at="tomorrow")),
        422,
        "request_invalid",
    )
    problem(
        call(api, "POST", f"{API}/bookings", world.agent, booking_body(world, room_id=world.evaluation.pk)),
        422,
        "booking_room_kind_mismatch",
    )
    problem(
        call(api, "POST", f"{API}/bookings", world.agent, booking_body(world, seats_needed=11)),
        422,
        "booking_too_many_seats",
    )
    problem(
        call(
            api,
            "POST",
            f"{API}/bookings",
            world.agent,
            booking_body(world, section_id=world.other_section.pk),
        ),
        404,
        "not_found",
    )
    problem(
        call(api, "POST", f"{API}/bookings", world.agent, booking_body(world, room_id=999999)),
        404,
        "not_found",
    )
    assert not Booking.objects.exists()


def test_reject_change_extend_cancel(api: Client, world: World) -> None:
    first = call(api, "POST", f"{API}/bookings", world.agent, booking_body(world)).json()
    problem(
        call(api, "POST", f"{API}/bookings/{first['id']}/reject", world.staff, {}),
        422,
        "booking_reason_required",
    )
    rejected = call(
        api, "POST", f"{API}/bookings/{first['id']}/reject", world.staff, {"reason": "检修"}
    ).json()
    assert rejected["status"] == "rejected" and rejected["decision_reason"] == "检修"

    second = call(api, "POST", f"{API}/bookings", world.agent, booking_body(world)).json()
    changed = call(
        api,
        "POST",
        f"{API}/bookings/{second['id']}/change",
        world.agent,
        {"starts_at": at(2, 9).isoformat(), "ends_at": at(2, 11).isoformat()},
    ).json()
    assert changed["starts_at"].startswith("2026-03-04T01:00:00") and changed["status"] == "requested"
    extended = call(
        api, "POST", f"{API}/bookings/{second['id']}/extend", world.agent, {"ends_at": at(2, 12).isoformat()}
    ).json()
    assert extended["ends_at"].startswith("2026-03-04T04:00:00")
    problem(
        call(
            api,
            "POST",
            f"{API}/bookings/{second['id']}/extend",
            world.agent,
            {"ends_at": at(2, 11).isoformat()},
        ),
        422,
        "booking_extend_not_later",
    )
    cancelled = call(api, "POST", f"{API}/bookings/{second['id']}/cancel", world.agent, {}).json()
    assert cancelled["status"] == "cancelled"
    problem(
        call(api, "POST", f"{API}/bookings/{second['id']}/cancel", world.agent, {}),
        409,
        "booking_not_cancellable",
    )


def test_the_list_holds_own_in_full_and_others_as_occupied(api: Client, world: World) -> None:
    mine = call(api, "POST", f"{API}/bookings", world.agent, booking_body(world)).json()
    theirs = booking_body(
        world,
        section_id=world.other_section.pk,
        starts_at=at(2, 9).isoformat(),
        ends_at=at(2, 10).isoformat(),
    )
    call(api, "POST", f"{API}/bookings", world.other_agent, theirs)
    response = call(api, "GET", f"{API}/bookings", world.agent)
    body = response.json()
    assert [b["id"] for b in body["bookings"]] == [mine["id"]]
    assert body["occupied"] == [
        {"room_id": world.opening.pk, "starts_at": "2026-03-04T01:00:00Z", "ends_at": "2026-03-04T02:00:00Z"}
    ]
    text = response.content.decode()
    for secret in (world.other_agent.username, world.other_agent.organization.name, world.other_section.code):
        assert secret not in text
    staff_view = call(api, "GET", f"{API}/bookings", world.staff).json()
    assert len(staff_view["bookings"]) == 2 and staff_view["occupied"] == []
    only_wednesday = call(
        api, "GET", f"{API}/bookings?date_from=2026-03-04&date_to=2026-03-04", world.staff
    ).json()
    assert [b["starts_at"][:10] for b in only_wednesday["bookings"]] == ["2026-03-04"]
    requested = call(api, "GET", f"{API}/bookings?status=confirmed", world.staff).json()
    assert requested["bookings"] == []


def test_the_calendar(api: Client, world: World) -> None:
    call(api, "POST", f"{API}/bookings", world.agent, booking_body(world))
    theirs = booking_body(
        world, section_id=None, starts_at=at(1, 14).isoformat(), ends_at=at(1, 15).isoformat()
    )
    call(api, "POST", f"{API}/bookings", world.other_agent, theirs)
    response = call(api, "GET", f"{API}/venues/calendar?week=2026-03-05&kind=opening", world.agent)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["week_start"] == "2026-03-02" and len(body["days"]) == 7 and body["kind"] == "opening"
    opening = next(r for r in body["rooms"] if r["room_id"] == world.opening.pk)
    tuesday = opening["days"][1]
    assert tuesday["date"] == "2026-03-03"
    own, other = tuesday["slots"]
    assert own["occupied_only"] is False and own["organization"] == world.agent.organization.name
    assert other == {
        "starts_at": "2026-03-03T06:00:00Z",
        "ends_at": "2026-03-03T07:00:00Z",
        "occupied_only": True,
        "booking_id": None,
        "status": None,
        "purpose": None,
        "section_code": None,
        "organization": None,
    }
    assert {r["kind"] for r in body["rooms"]} == {"opening"}
    problem(call(api, "GET", f"{API}/venues/calendar?week=2026-13-01", world.agent), 422, "request_invalid")


def test_staff_decide_only_their_centres_requests(api: Client, world: World) -> None:
    booking = call(api, "POST", f"{API}/bookings", world.agent, booking_body(world)).json()
    problem(
        call(api, "POST", f"{API}/bookings/{booking['id']}/confirm", world.other_staff),
        403,
        "room_other_centre",
    )
    assert Booking.objects.get().status == BookingStatus.REQUESTED


def test_no_write_leaves_a_room_half_changed(api: Client, world: World) -> None:
    call(api, "POST", f"{API}/bookings", world.agent, booking_body(world))
    problem(
        call(
            api,
            "PATCH",
            f"{API}/rooms/{world.opening.pk}",
            world.staff,
            {"location": "九楼", "is_active": False},
        ),
        409,
        "room_has_bookings",
    )
    assert Room.objects.get(pk=world.opening.pk).location == "三楼"
