"""The venues pages: the week calendar and the request form, the bookings queue, rooms and seats."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.venues import services
from tenderhall.venues.models import Booking, BookingStatus, Room, RoomKind
from tests.venues.conftest import World, at

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def signed_in(user: User) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def by_testid(page: str, name: str, tag: str = "div|td|strong") -> list[str]:
    """The inner HTML of the elements with this data-testid (ended by the first closing ``tag``)."""
    return [html.unescape(m) for m in re.findall(rf'data-testid="{name}"[^>]*>(.*?)</(?:{tag})>', page, re.S)]


def test_the_calendar_shows_own_bookings_in_full_and_others_as_occupied(world: World) -> None:
    mine = world.book(section=world.section)
    world.book(user=world.other_agent, section=world.other_section, start=at(1, 14), end=at(1, 16))
    page = signed_in(world.agent).get("/venues/", **EN).content.decode()
    assert 'data-testid="venue-calendar"' in page
    assert f'data-booking="{mine.pk}"' in page and world.section.code in page
    [occupied] = by_testid(page, "slot-occupied")
    assert "14:00–16:00" in occupied and "occupied" in occupied
    for secret in (world.other_agent.organization.name, world.other_section.code, "rival_agent"):
        assert secret not in page
    assert by_testid(page, "week-start") == ["2026-03-02"]
    assert 'href="?week=2026-02-23"' in page and 'href="?week=2026-03-09"' in page
    assert 'data-testid="booking-form"' in page


def test_the_calendar_moves_by_week_and_filters_by_kind(world: World) -> None:
    world.book(start=at(7, 9), end=at(7, 10))
    client = signed_in(world.agent)
    page = client.get("/venues/?week=2026-03-11&kind=opening").content.decode()
    assert by_testid(page, "week-start") == ["2026-03-09"]
    # the opening rooms of both centres, and the one booking of that week
    assert page.count('data-testid="calendar-row"') == 2 and page.count('data-testid="slot-booking"') == 1
    assert 'href="?week=2026-03-16&amp;kind=opening"' in page
    assert client.get("/venues/?week=soon").status_code == 422
    assert client.get("/venues/?kind=gym").status_code == 422


def test_staff_see_everyone_in_full_and_no_request_form(world: World) -> None:
    world.book(user=world.other_agent, start=at(1, 14), end=at(1, 16))
    page = signed_in(world.staff).get("/venues/").content.decode()
    assert world.other_agent.organization.name in page and 'data-testid="slot-occupied"' not in page
    assert 'data-testid="booking-form"' not in page


def test_the_request_form_books_and_shows_a_refusal_on_the_form(world: World) -> None:
    client = signed_in(world.agent)
    form = {
        "room": world.opening.pk,
        "purpose": "opening",
        "starts_at": "2026-03-03T09:00",
        "ends_at": "2026-03-03T12:00",
        "seats_needed": 3,
        "section": world.section.pk,
        "note": "",
    }
    response = client.post("/venues/", form)
    booking = Booking.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/venues/bookings/{booking.pk}/"
    assert booking.starts_at == at(1, 9) and booking.section == world.section  # read as China time
    response = signed_in(world.other_agent).post(
        "/venues/", form | {"section": "", "starts_at": "2026-03-03T11:00"}
    )
    assert response.status_code == 200
    assert "2026-03-03 09:00–12:00" in response.content.decode() and Booking.objects.count() == 1
    response = client.post(
        "/venues/",
        form | {"room": world.evaluation.pk, "starts_at": "2026-03-05T09:00", "ends_at": "2026-03-05T10:00"},
    )
    assert response.status_code == 200 and Booking.objects.count() == 1


def test_staff_decide_from_the_queue(world: World) -> None:
    first = world.book()
    second = world.book(start=at(2, 9), end=at(2, 10))
    client = signed_in(world.staff)
    page = client.get("/venues/bookings/").content.decode()
    assert page.count('data-testid="queue-row"') == 2 and 'data-testid="booking-confirm"' in page
    response = client.post(
        f"/venues/bookings/{first.pk}/", {"action": "confirm", "next": "/venues/bookings/"}
    )
    assert response.status_code == 302 and response["Location"] == "/venues/bookings/"
    response = client.post(
        f"/venues/bookings/{second.pk}/",
        {"action": "reject", "reject-reason": "设备检修", "next": "/venues/bookings/"},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status, second.decision_reason) == (
        BookingStatus.CONFIRMED,
        BookingStatus.REJECTED,
        "设备检修",
    )
    page = client.get("/venues/bookings/").content.decode()
    assert 'data-testid="queue-row"' not in page
    # a refused decision is shown, not a crash
    response = client.post(f"/venues/bookings/{first.pk}/", {"action": "confirm"}, follow=True)
    assert response.status_code == 200 and "booking is not waiting" in response.content.decode()


def test_a_rejection_needs_a_reason_on_the_page(world: World) -> None:
    booking = world.book()
    response = signed_in(world.staff).post(
        f"/venues/bookings/{booking.pk}/", {"action": "reject", "reject-reason": ""}
    )
    assert response.status_code == 200 and "give the reason" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED


def test_my_bookings_and_the_requesters_change_extend_cancel(world: World) -> None:
    booking = world.book()
    client = signed_in(world.agent)
    page = client.get("/venues/bookings/").content.decode()
    assert 'data-testid="booking-queue"' not in page and f'data-booking="{booking.pk}"' in page
    page = client.get(f"/venues/bookings/{booking.pk}/").content.decode()
    assert by_testid(page, "booking-status")[0].startswith("待确认")
    for form in ("booking-change-form", "booking-extend-form", "booking-cancel-form"):
        assert f'data-testid="{form}"' in page
    assert 'data-testid="booking-confirm"' not in page
    response = client.post(
        f"/venues/bookings/{booking.pk}/",
        {"action": "change", "room": "", "starts_at": "2026-03-04T09:00", "ends_at": "2026-03-04T11:00"},
    )
    assert response.status_code == 302
    response = client.post(
        f"/venues/bookings/{booking.pk}/", {"action": "extend", "ends_at": "2026-03-04T10:00"}
    )
    assert response.status_code == 200 and "later than the current end" in response.content.decode()
    client.post(f"/venues/bookings/{booking.pk}/", {"action": "extend", "ends_at": "2026-03-04T12:00"})
    client.post(f"/venues/bookings/{booking.pk}/", {"action": "cancel", "cancel-reason": ""})
    booking.refresh_from_db()
    assert (booking.starts_at, booking.ends_at, booking.status) == (
        at(2, 9),
        at(2, 12),
        BookingStatus.CANCELLED,
    )
    assert client.post(f"/venues/bookings/{booking.pk}/", {"action": "explode"}).status_code == 422


def test_staff_manage_rooms_and_seats(world: World) -> None:
    client = signed_in(world.staff)
    page = client.get("/venues/rooms/").content.decode()
    assert page.count('data-testid="room-row"') == 5 and 'data-testid="room-form"' in page
    response = client.post(
        "/venues/rooms/", {"name": "远程评标室", "kind": RoomKind.EVALUATION, "location": "六楼"}
    )
    room = Room.objects.get(name="远程评标室")
    assert response.status_code == 302 and response["Location"] == f"/venues/rooms/{room.pk}/"
    client.post(
        f"/venues/rooms/{room.pk}/",
        {"action": "seats", "count": 4, "label_prefix": "R", "remote_evaluation": ""},
    )
    client.post(f"/venues/rooms/{room.pk}/", {"action": "remote", "remote_seats": ["R02", "R04"]})
    page = client.get(f"/venues/rooms/{room.pk}/").content.decode()
    [seats] = by_testid(page, "room-seats", "p")
    assert re.sub(r"<[^>]+>|\s", "", seats) == "R01R02*R03R04*"
    response = client.post(
        f"/venues/rooms/{room.pk}/",
        {
            "action": "edit",
            "name": "远程评标室",
            "kind": RoomKind.EVALUATION,
            "location": "六楼",
        },  # is_active unticked
    )
    room.refresh_from_db()
    assert response.status_code == 302 and not room.is_active
    # a refusal shows on the form
    response = client.post("/venues/rooms/", {"name": "第一开标室", "kind": RoomKind.OPENING})
    assert response.status_code == 200 and "already has a room" in response.content.decode()


def test_a_room_still_booked_is_not_deactivated_from_the_page(world: World) -> None:
    world.book()
    response = signed_in(world.staff).post(
        f"/venues/rooms/{world.opening.pk}/",
        {"action": "edit", "name": "第一开标室", "kind": "opening", "location": ""},
    )
    assert response.status_code == 200 and "open bookings" in response.content.decode()
    world.opening.refresh_from_db()
    assert world.opening.is_active and world.opening.location == "三楼"


def test_agents_see_rooms_without_forms_and_other_centres_rooms_without_forms_for_staff(world: World) -> None:
    page = signed_in(world.agent).get("/venues/rooms/").content.decode()
    assert 'data-testid="room-form"' not in page
    page = signed_in(world.agent).get(f"/venues/rooms/{world.opening.pk}/").content.decode()
    assert 'data-testid="room-edit-form"' not in page
    page = signed_in(world.staff).get(f"/venues/rooms/{world.other_centre_room.pk}/").content.decode()
    assert 'data-testid="room-edit-form"' not in page
    services.room_update(acting_user=world.staff, room=world.opening, is_active=False)
    assert signed_in(world.agent).get(f"/venues/rooms/{world.opening.pk}/").status_code == 404
