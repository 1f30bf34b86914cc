"""Venue services: rooms and seats, requests and their conflicts, decisions, changes, cancellation."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tenderhall.core import clock
from tenderhall.core.errors import Conflict, DomainError, NotAuthenticated, NotFound, PermissionDenied
from tenderhall.core.models import LogEvent, Notification
from tenderhall.venues import services
from tenderhall.venues.events import VenuesAction
from tenderhall.venues.models import Booking, BookingPurpose, BookingStatus, Room, RoomKind
from tests.venues.conftest import World, at
from tests.venues.factories import BookingFactory, SectionFactory

pytestmark = pytest.mark.django_db


def refused(code: str, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as info:
        call(*args, **kwargs)
    assert info.value.code == code, info.value
    assert info.value.message_zh and info.value.message_en
    return info.value


def events(action: str) -> list[dict]:
    return [json.loads(e.payload) for e in LogEvent.objects.filter(action=action).order_by("index")]


# ---- rooms and seats ----------------------------------------------------------------------------


def test_staff_create_a_room_of_their_own_centre_logged(world: World) -> None:
    room = services.room_create(
        acting_user=world.staff, name=" 第二开标室 ", kind=RoomKind.OPENING, location="四楼"
    )
    assert room.centre_id == world.centre.pk and room.name == "第二开标室" and room.is_active
    [event] = events(VenuesAction.ROOM_CREATED)
    assert event["object"]["id"] == str(room.pk) and event["actor"] == "staff"
    assert event["data"] == {"name": "第二开标室", "kind": "opening", "location": "四楼"}


def test_room_names_are_unique_per_centre_and_kinds_known(world: World) -> None:
    refused(
        "room_name_taken", services.room_create, acting_user=world.staff, name="第一开标室", kind="opening"
    )
    refused("room_kind_invalid", services.room_create, acting_user=world.staff, name="新室", kind="ballroom")
    refused("room_name_invalid", services.room_create, acting_user=world.staff, name="  ", kind="opening")
    # the other centre may use the same name
    services.room_create(acting_user=world.other_staff, name="第一开标室", kind="opening")


@pytest.mark.parametrize("who", ["agent", "supervisor", "auditor", "bidder"])
def test_only_staff_manage_rooms(world: World, who: str) -> None:
    with pytest.raises(PermissionDenied):
        services.room_create(acting_user=getattr(world, who), name="x", kind="opening")
    with pytest.raises(PermissionDenied):
        services.room_update(acting_user=getattr(world, who), room=world.opening, is_active=False)
    with pytest.raises(PermissionDenied):
        services.seats_add(acting_user=getattr(world, who), room=world.opening, count=2)
    assert not LogEvent.objects.filter(action__startswith="venues.room").exists()


def test_staff_of_another_centre_manage_none_of_these_rooms(world: World) -> None:
    refused(
        "room_other_centre", services.room_update, acting_user=world.other_staff, room=world.opening, name="x"
    )
    refused(
        "room_other_centre", services.seats_add, acting_user=world.other_staff, room=world.opening, count=1
    )


def test_seats_are_added_in_sequence_after_the_last_and_marked_remote(world: World) -> None:
    added = services.seats_add(acting_user=world.staff, room=world.opening, count=3)
    assert [s.label for s in added] == ["A11", "A12", "A13"]
    remote = services.seats_add(
        acting_user=world.staff, room=world.evaluation, count=2, prefix="r", remote_evaluation=True
    )
    assert [(s.label, s.is_remote_evaluation) for s in remote] == [("R01", True), ("R02", True)]
    [first, second] = events(VenuesAction.SEATS_ADDED)
    assert first["data"] == {"count": 3, "first": "A11", "last": "A13", "remote_evaluation": False}
    assert second["data"]["remote_evaluation"] is True
    refused("seat_count_invalid", services.seats_add, acting_user=world.staff, room=world.opening, count=0)
    refused("seat_count_invalid", services.seats_add, acting_user=world.staff, room=world.opening, count=201)
    refused(
        "seat_prefix_invalid",
        services.seats_add,
        acting_user=world.staff,
        room=world.opening,
        count=1,
        prefix="A1",
    )


def test_remote_seats_are_set_exactly_and_logged_before_after(world: World) -> None:
    services.room_update(acting_user=world.staff, room=world.opening, remote_seats=["A01", "A02"])
    services.room_update(acting_user=world.staff, room=world.opening, remote_seats=["A02", "A03"])
    remote = set(world.opening.seats.filter(is_remote_evaluation=True).values_list("label", flat=True))
    assert remote == {"A02", "A03"}
    last = events(VenuesAction.ROOM_UPDATED)[-1]["data"]
    assert last["before"]["remote_seats"] == ["A01", "A02"] and last["after"]["remote_seats"] == [
        "A02",
        "A03",
    ]
    refused(
        "seat_unknown",
        services.room_update,
        acting_user=world.staff,
        room=world.opening,
        remote_seats=["Z99"],
    )


def test_an_update_that_changes_nothing_is_not_logged(world: World) -> None:
    services.room_update(acting_user=world.staff, room=world.opening, name="第一开标室")
    assert not events(VenuesAction.ROOM_UPDATED)


def test_a_room_with_open_bookings_is_neither_deactivated_nor_retyped(world: World) -> None:
    booking = world.book()
    refused(
        "room_has_bookings",
        services.room_update,
        acting_user=world.staff,
        room=world.opening,
        is_active=False,
    )
    refused(
        "room_has_bookings",
        services.room_update,
        acting_user=world.staff,
        room=world.opening,
        kind="evaluation",
    )
    services.booking_cancel(acting_user=world.agent, booking=booking)
    room = services.room_update(acting_user=world.staff, room=world.opening, is_active=False, location="五楼")
    assert not room.is_active
    [event] = events(VenuesAction.ROOM_UPDATED)
    assert event["data"]["before"]["is_active"] is True and event["data"]["after"]["is_active"] is False


def test_a_deactivated_room_cannot_be_booked(world: World) -> None:
    services.room_update(acting_user=world.staff, room=world.opening, is_active=False)
    world.opening.refresh_from_db()
    refused("room_inactive", world.book)


# ---- requests -----------------------------------------------------------------------------------


def test_a_request_holds_the_room_is_logged_and_staff_are_told(world: World) -> None:
    booking = world.book(section=world.section, seats_needed=6, note="需要投影仪")
    assert booking.status == BookingStatus.REQUESTED and booking.requested_at == clock.now()
    [event] = events(VenuesAction.BOOKING_REQUESTED)
    assert event["actor"] == "yuan_agent" and event["org"] == world.agent.organization.uscc
    assert event["data"]["section"] == world.section.pk and event["data"]["seats_needed"] == 6
    assert event["data"]["starts_at"] == "2026-03-03T01:00:00Z"
    assert "需要投影仪" not in json.dumps(event, ensure_ascii=False)  # a hash, not the text
    note = Notification.objects.get(recipient=world.staff)
    assert "第一开标室" in note.subject
    assert not Notification.objects.filter(recipient=world.other_staff).exists()


def test_tenderers_request_too_but_bidders_supervisors_and_staff_do_not(world: World) -> None:
    world.book(user=world.tenderer)
    for who in (world.bidder, world.supervisor, world.staff):
        with pytest.raises(PermissionDenied):
            world.book(user=who, start=at(2, 9), end=at(2, 10))


def test_anonymous_is_not_authenticated(world: World) -> None:
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        world.book(user=AnonymousUser())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ((1, 10), (1, 11)),  # inside
        ((1, 8), (1, 13)),  # around
        ((1, 8), (1, 10)),  # over the start
        ((1, 11), (1, 14)),  # over the end
        ((1, 9), (1, 12)),  # the same
    ],
    ids=["inside", "around", "over-start", "over-end", "same"],
)
def test_an_overlap_is_refused_naming_only_the_time(world: World, start, end) -> None:
    world.book(section=world.section)
    error = refused("booking_conflict", world.book, user=world.other_agent, start=at(*start), end=at(*end))
    assert isinstance(error, Conflict) and error.status == 409
    assert "2026-03-03 09:00–12:00" in error.message_zh
    assert error.extra["conflict"] == {
        "starts_at": "2026-03-03T01:00:00+00:00",
        "ends_at": "2026-03-03T04:00:00+00:00",
    }
    for secret in (world.agent.username, world.agent.organization.name, world.section.code):
        assert secret not in error.message
    assert Booking.objects.count() == 1


@pytest.mark.parametrize(("start", "end"), [((1, 7), (1, 9)), ((1, 12), (1, 13))], ids=["before", "after"])
def test_touching_ends_do_not_overlap(world: World, start, end) -> None:
    world.book()
    world.book(user=world.other_agent, start=at(*start), end=at(*end))
    assert Booking.objects.count() == 2


def test_another_room_at_the_same_time_is_fine(world: World) -> None:
    world.book()
    second = services.booking_request(
        acting_user=world.other_agent,
        room=world.other_centre_room,
        purpose=BookingPurpose.OPENING,
        starts_at=at(1, 9),
        ends_at=at(1, 12),
    )
    assert second.status == BookingStatus.REQUESTED


@pytest.mark.parametrize("status", [BookingStatus.REJECTED, BookingStatus.CANCELLED])
def test_rejected_and_cancelled_bookings_do_not_block(world: World, status: str) -> None:
    BookingFactory(room=world.opening, starts_at=at(1, 9), ends_at=at(1, 12), status=status)
    world.book()


def test_a_confirmed_booking_blocks(world: World) -> None:
    BookingFactory(room=world.opening, starts_at=at(1, 9), ends_at=at(1, 12), status=BookingStatus.CONFIRMED)
    refused("booking_conflict", world.book, start=at(1, 11), end=at(1, 13))


@pytest.mark.parametrize(
    ("room", "purpose"),
    [
        ("evaluation", BookingPurpose.OPENING),
        ("opening", BookingPurpose.EVALUATION),
        ("opening", BookingPurpose.CLARIFICATION),
        ("evaluation", BookingPurpose.CLARIFICATION),
    ],
)
def test_each_purpose_needs_a_room_of_its_kind(world: World, room: str, purpose: str) -> None:
    refused("booking_room_kind_mismatch", world.book, room=getattr(world, room), purpose=purpose)


def test_times_must_be_aware_ordered_and_in_the_future(world: World) -> None:
    refused("booking_time_naive", world.book, start=dt.datetime(2026, 3, 3, 9), end=at(1, 12))
    refused("booking_times_order", world.book, start=at(1, 12), end=at(1, 12))
    refused("booking_times_order", world.book, start=at(1, 12), end=at(1, 9))
    refused("booking_in_past", world.book, start=at(0, 9), end=at(0, 11))  # starts now
    refused("booking_in_past", world.book, start=at(-1, 9), end=at(-1, 11))
    refused("booking_purpose_invalid", world.book, purpose="wedding")


def test_a_utc_request_is_the_same_instant(world: World) -> None:
    world.book(
        start=dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC), end=dt.datetime(2026, 3, 3, 4, 0, tzinfo=dt.UTC)
    )
    refused("booking_conflict", world.book, start=at(1, 11), end=at(1, 12))


def test_seats_needed_at_most_the_rooms_seats(world: World) -> None:
    world.book(seats_needed=10)
    refused("booking_too_many_seats", world.book, start=at(2, 9), end=at(2, 10), seats_needed=11)
    refused("booking_too_many_seats", world.book, start=at(2, 9), end=at(2, 10), seats_needed=-1)


def test_overnight_evaluation_must_span_midnight_in_china(world: World) -> None:
    booking = world.book(
        room=world.overnight, purpose=BookingPurpose.OVERNIGHT_EVALUATION, start=at(1, 18), end=at(2, 8)
    )
    assert booking.pk
    for start, end in [(at(3, 9), at(3, 23, 59)), (at(3, 0), at(3, 8)), (at(3, 18), at(4, 0))]:
        refused(
            "booking_not_overnight",
            world.book,
            room=world.overnight,
            purpose=BookingPurpose.OVERNIGHT_EVALUATION,
            start=start,
            end=end,
        )
    # 15:00-17:00 UTC on one UTC day is 23:00-01:00 in China: overnight there
    world.book(
        room=world.overnight,
        purpose=BookingPurpose.OVERNIGHT_EVALUATION,
        start=dt.datetime(2026, 3, 5, 15, 0, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 5, 17, 0, tzinfo=dt.UTC),
    )


def test_other_purposes_may_not_run_past_midnight(world: World) -> None:
    refused(
        "booking_spans_midnight",
        world.book,
        room=world.evaluation,
        purpose="evaluation",
        start=at(1, 18),
        end=at(2, 1),
    )
    world.book(room=world.evaluation, purpose="evaluation", start=at(1, 18), end=at(2, 0))  # up to midnight


def test_a_section_must_be_one_the_requester_is_party_to(world: World) -> None:
    world.book(section=world.section)
    world.book(user=world.tenderer, section=world.other_section, start=at(2, 9), end=at(2, 10))
    with pytest.raises(NotFound):
        world.book(section=world.other_section, start=at(3, 9), end=at(3, 10))  # other agent's project
    assert Booking.objects.count() == 2


def test_a_section_books_rooms_of_its_own_centre(world: World) -> None:
    refused("booking_section_other_centre", world.book, room=world.other_centre_room, section=world.section)
    other = SectionFactory(
        project__agent=world.agent.organization, project__centre=world.other_staff.organization
    )
    world.book(room=world.other_centre_room, section=other)


# ---- decisions ----------------------------------------------------------------------------------


def test_staff_confirm_and_the_requester_is_told(world: World) -> None:
    booking = world.book()
    clock.advance(dt.timedelta(minutes=20))
    confirmed = services.booking_confirm(acting_user=world.staff, booking=booking)
    assert confirmed.status == BookingStatus.CONFIRMED and confirmed.decided_by == world.staff
    [event] = events(VenuesAction.BOOKING_CONFIRMED)
    assert event["data"]["waited_seconds"] == 1200
    assert Notification.objects.filter(recipient=world.agent, subject__contains="confirmed").exists()
    refused("booking_not_requested", services.booking_confirm, acting_user=world.staff, booking=booking)


def test_staff_reject_with_a_reason(world: World) -> None:
    booking = world.book()
    refused(
        "booking_reason_required",
        services.booking_reject,
        acting_user=world.staff,
        booking=booking,
        reason=" ",
    )
    rejected = services.booking_reject(acting_user=world.staff, booking=booking, reason="设备检修")
    assert rejected.status == BookingStatus.REJECTED and rejected.decision_reason == "设备检修"
    note = Notification.objects.get(recipient=world.agent)
    assert "设备检修" in note.body
    [event] = events(VenuesAction.BOOKING_REJECTED)
    assert "设备检修" not in json.dumps(event, ensure_ascii=False) and event["data"]["reason_sha256"]
    world.book(user=world.other_agent)  # the slot is free again


@pytest.mark.parametrize("who", ["agent", "supervisor", "tenderer"])
def test_only_staff_decide(world: World, who: str) -> None:
    booking = world.book()
    with pytest.raises(PermissionDenied):
        services.booking_confirm(acting_user=getattr(world, who), booking=booking)


def test_staff_of_another_centre_do_not_decide(world: World) -> None:
    booking = world.book()
    refused("room_other_centre", services.booking_confirm, acting_user=world.other_staff, booking=booking)


def test_a_request_whose_time_is_over_is_not_confirmed(world: World) -> None:
    booking = world.book()
    clock.set_now(at(1, 12))
    refused("booking_ended", services.booking_confirm, acting_user=world.staff, booking=booking)


# ---- changes and extensions (seed 002 §6.3.3) ---------------------------------------------------


def test_a_change_is_checked_against_others_only_and_goes_back_to_requested(world: World) -> None:
    booking = world.book()
    services.booking_confirm(acting_user=world.staff, booking=booking)
    world.book(user=world.other_agent, start=at(1, 14), end=at(1, 16))
    # overlapping its own old time is fine
    changed = services.booking_change(
        acting_user=world.agent, booking=booking, starts_at=at(1, 10), ends_at=at(1, 13)
    )
    assert changed.status == BookingStatus.REQUESTED and changed.decided_by is None
    [event] = events(VenuesAction.BOOKING_CHANGED)
    assert event["data"]["before"] == {
        "room": world.opening.pk,
        "starts_at": "2026-03-03T01:00:00Z",
        "ends_at": "2026-03-03T04:00:00Z",
        "status": "confirmed",
    }
    assert (
        event["data"]["after"]["starts_at"] == "2026-03-03T02:00:00Z" and event["data"]["by"] == "requester"
    )
    assert Notification.objects.filter(recipient=world.staff, subject__contains="变更").exists()
    refused(
        "booking_conflict",
        services.booking_change,
        acting_user=world.agent,
        booking=booking,
        ends_at=at(1, 15),
    )


def test_a_change_of_room_checks_the_new_room(world: World) -> None:
    booking = world.book(seats_needed=9)
    second = services.room_create(acting_user=world.staff, name="第二开标室", kind="opening")
    refused(
        "booking_too_many_seats",
        services.booking_change,
        acting_user=world.agent,
        booking=booking,
        room=second,
    )
    services.seats_add(acting_user=world.staff, room=second, count=9)
    services.booking_change(acting_user=world.agent, booking=booking, room=second)
    world.book(user=world.other_agent)  # the old room is free
    refused("booking_conflict", world.book, user=world.other_agent, room=second)
    refused(
        "booking_room_kind_mismatch",
        services.booking_change,
        acting_user=world.agent,
        booking=booking,
        room=world.evaluation,
    )
    refused(
        "booking_room_other_centre",
        services.booking_change,
        acting_user=world.agent,
        booking=booking,
        room=world.other_centre_room,
    )


def test_a_change_must_change_something_and_stay_valid(world: World) -> None:
    booking = world.book()
    refused("booking_change_empty", services.booking_change, acting_user=world.agent, booking=booking)
    refused(
        "booking_in_past",
        services.booking_change,
        acting_user=world.agent,
        booking=booking,
        starts_at=at(0, 8),
    )
    refused(
        "booking_times_order",
        services.booking_change,
        acting_user=world.agent,
        booking=booking,
        starts_at=at(1, 13),
    )


def test_a_started_booking_is_extended_not_changed(world: World) -> None:
    booking = world.book()
    services.booking_confirm(acting_user=world.staff, booking=booking)
    clock.set_now(at(1, 10))
    refused(
        "booking_not_changeable",
        services.booking_change,
        acting_user=world.agent,
        booking=booking,
        ends_at=at(1, 13),
    )
    world.book(user=world.other_agent, start=at(1, 13), end=at(1, 15))
    refused(
        "booking_conflict",
        services.booking_extend,
        acting_user=world.agent,
        booking=booking,
        ends_at=at(1, 14),
    )
    extended = services.booking_extend(acting_user=world.agent, booking=booking, ends_at=at(1, 13))
    assert extended.status == BookingStatus.REQUESTED and extended.ends_at == at(1, 13)
    [event] = events(VenuesAction.BOOKING_EXTENDED)
    assert event["data"]["before"]["ends_at"] == "2026-03-03T04:00:00Z"
    assert event["data"]["after"]["ends_at"] == "2026-03-03T05:00:00Z"
    services.booking_confirm(acting_user=world.staff, booking=booking)  # staff confirm the extension


def test_an_extension_must_be_later_and_keep_the_midnight_rule(world: World) -> None:
    booking = world.book(room=world.evaluation, purpose="evaluation", start=at(1, 14), end=at(1, 18))
    refused(
        "booking_extend_not_later",
        services.booking_extend,
        acting_user=world.agent,
        booking=booking,
        ends_at=at(1, 18),
    )
    refused(
        "booking_spans_midnight",
        services.booking_extend,
        acting_user=world.agent,
        booking=booking,
        ends_at=at(2, 2),
    )
    refused(
        "booking_time_naive",
        services.booking_extend,
        acting_user=world.agent,
        booking=booking,
        ends_at=dt.datetime(2026, 3, 3, 20),
    )
    clock.set_now(at(1, 18))
    refused(
        "booking_not_extendable",
        services.booking_extend,
        acting_user=world.agent,
        booking=booking,
        ends_at=at(1, 20),
    )


def test_staff_change_a_booking_and_the_requester_is_told(world: World) -> None:
    booking = world.book()
    services.booking_change(acting_user=world.staff, booking=booking, starts_at=at(2, 9), ends_at=at(2, 12))
    assert Notification.objects.filter(recipient=world.agent, subject__contains="changed").exists()
    assert events(VenuesAction.BOOKING_CHANGED)[0]["data"]["by"] == "staff"


def test_who_may_change_a_booking(world: World) -> None:
    booking = world.book(section=world.section)
    services.booking_change(
        acting_user=world.agent_colleague, booking=booking, starts_at=at(1, 8)
    )  # same organization
    with pytest.raises(NotFound):
        services.booking_change(acting_user=world.other_agent, booking=booking, starts_at=at(1, 7))
    refused(
        "booking_not_yours",
        services.booking_change,
        acting_user=world.tenderer,
        booking=booking,
        starts_at=at(1, 7),
    )
    with pytest.raises(PermissionDenied):
        services.booking_change(acting_user=world.supervisor, booking=booking, starts_at=at(1, 7))
    refused(
        "room_other_centre",
        services.booking_extend,
        acting_user=world.other_staff,
        booking=booking,
        ends_at=at(1, 13),
    )
    assert Booking.objects.get().starts_at == at(1, 8)


# ---- cancellation -------------------------------------------------------------------------------


def test_the_requester_cancels_and_staff_are_told(world: World) -> None:
    booking = world.book()
    cancelled = services.booking_cancel(acting_user=world.agent, booking=booking)
    assert cancelled.status == BookingStatus.CANCELLED
    assert Notification.objects.filter(recipient=world.staff, subject__contains="cancelled").exists()
    [event] = events(VenuesAction.BOOKING_CANCELLED)
    assert event["data"]["by"] == "requester" and event["data"]["before"]["status"] == "requested"
    refused("booking_not_cancellable", services.booking_cancel, acting_user=world.agent, booking=booking)


def test_staff_cancel_with_a_reason(world: World) -> None:
    booking = world.book()
    services.booking_confirm(acting_user=world.staff, booking=booking)
    refused("booking_reason_required", services.booking_cancel, acting_user=world.staff, booking=booking)
    services.booking_cancel(acting_user=world.staff, booking=booking, reason="停电")
    assert Notification.objects.filter(recipient=world.agent, body__contains="停电").exists()


def test_an_ended_booking_is_not_cancelled_and_others_cannot_cancel(world: World) -> None:
    booking = world.book()
    with pytest.raises(NotFound):
        services.booking_cancel(acting_user=world.other_agent, booking=booking)
    with pytest.raises(PermissionDenied):
        services.booking_cancel(acting_user=world.auditor, booking=booking)
    clock.set_now(at(1, 12))
    refused("booking_not_cancellable", services.booking_cancel, acting_user=world.agent, booking=booking)
    assert Booking.objects.get().status == BookingStatus.REQUESTED


def test_every_room_is_left_unchanged_by_a_refused_write(world: World) -> None:
    before = list(Room.objects.values())
    with pytest.raises(DomainError):
        services.room_update(acting_user=world.staff, room=world.opening, name="第一评标室")
    assert list(Room.objects.values()) == before
