"""Who sees which rooms and bookings, and the week calendar."""

from __future__ import annotations

import datetime as dt

import pytest

from tenderhall.core import clock
from tenderhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from tenderhall.venues import selectors, services
from tenderhall.venues.models import BookingPurpose, BookingStatus
from tests.venues.conftest import World, at
from tests.venues.factories import BookingFactory

pytestmark = pytest.mark.django_db


def test_rooms_staff_supervisors_see_all_parties_the_active_ones_bidders_none(world: World) -> None:
    services.room_update(acting_user=world.staff, room=world.clarification, is_active=False)
    every = {
        world.opening.pk,
        world.evaluation.pk,
        world.clarification.pk,
        world.overnight.pk,
        world.other_centre_room.pk,
    }
    for who in (world.staff, world.supervisor, world.auditor):
        assert set(selectors.rooms_for_user(who).values_list("pk", flat=True)) == every
    for who in (world.agent, world.tenderer):
        assert set(selectors.rooms_for_user(who).values_list("pk", flat=True)) == every - {
            world.clarification.pk
        }
        with pytest.raises(NotFound):
            selectors.room_for_user(who, world.clarification.pk)
    with pytest.raises(PermissionDenied):
        selectors.rooms_for_user(world.bidder)
    assert set(selectors.rooms_managed_by(world.staff).values_list("pk", flat=True)) == every - {
        world.other_centre_room.pk
    }
    assert [r.pk for r in selectors.rooms_for_user(world.agent, kind="overnight_evaluation")] == [
        world.overnight.pk
    ]


def test_agents_see_their_own_and_their_projects_bookings_in_full(world: World) -> None:
    own = world.book()  # for no section
    by_tenderer = world.book(user=world.tenderer, section=world.section, start=at(2, 9), end=at(2, 10))
    other = world.book(user=world.other_agent, section=world.other_section, start=at(3, 9), end=at(3, 10))
    assert set(selectors.bookings_for_user(world.agent)) == {own, by_tenderer}
    assert set(selectors.bookings_for_user(world.agent_colleague)) == {own, by_tenderer}
    assert set(selectors.bookings_for_user(world.other_agent)) == {other}
    # the tenderer is party to both projects
    assert set(selectors.bookings_for_user(world.tenderer)) == {by_tenderer, other}
    for who in (world.staff, world.supervisor, world.auditor, world.other_staff):
        assert set(selectors.bookings_for_user(who)) == {own, by_tenderer, other}
    with pytest.raises(NotFound):
        selectors.booking_for_user(world.other_agent, own.pk)
    with pytest.raises(PermissionDenied):
        selectors.bookings_for_user(world.bidder)


def test_others_bookings_are_only_occupied_slots(world: World) -> None:
    theirs = world.book(user=world.other_agent, section=world.other_section)
    BookingFactory(
        room=world.opening,
        starts_at=at(2, 9),
        ends_at=at(2, 10),
        status=BookingStatus.CANCELLED,
        requested_by=world.other_agent,
    )
    [slot] = selectors.occupied_slots_for_user(world.agent)
    assert slot.booking is None and slot.occupied_only
    assert (slot.room_id, slot.starts_at, slot.ends_at) == (
        world.opening.pk,
        theirs.starts_at,
        theirs.ends_at,
    )
    assert selectors.occupied_slots_for_user(world.staff) == []  # staff see it in full instead
    assert selectors.occupied_slots_for_user(world.other_agent) == []
    clock.set_now(at(1, 12))
    assert selectors.occupied_slots_for_user(world.agent) == []  # over; a range brings it back
    assert len(selectors.occupied_slots_for_user(world.agent, start=at(1, 0), end=at(2, 0))) == 1


def test_the_staff_queue_holds_the_requests_of_their_centre(world: World) -> None:
    waiting = world.book()
    decided = world.book(start=at(2, 9), end=at(2, 10))
    services.booking_confirm(acting_user=world.staff, booking=decided)
    assert list(selectors.booking_queue_for_user(world.staff)) == [waiting]
    assert list(selectors.booking_queue_for_user(world.other_staff)) == []
    with pytest.raises(PermissionDenied):
        selectors.booking_queue_for_user(world.supervisor)


def test_sections_for_booking_are_those_of_the_parties_projects(world: World) -> None:
    assert list(selectors.sections_for_booking(world.agent)) == [world.section]
    assert set(selectors.sections_for_booking(world.tenderer)) == {world.section, world.other_section}
    with pytest.raises(NotFound):
        selectors.section_for_booking(world.agent, world.other_section.pk)


def test_the_week_starts_on_monday_in_china(world: World) -> None:
    assert selectors.week_monday(dt.date(2026, 3, 8)) == dt.date(2026, 3, 2)  # a Sunday
    assert selectors.week_monday(dt.date(2026, 3, 2)) == dt.date(2026, 3, 2)
    # 2026-03-01 17:00 UTC is Monday 01:00 in China
    clock.set_now(dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC))
    calendar = selectors.week_calendar(world.agent)
    assert calendar.monday == dt.date(2026, 3, 2)
    assert calendar.days[0] == dt.date(2026, 3, 2) and calendar.days[-1] == dt.date(2026, 3, 8)
    assert calendar.previous_week == dt.date(2026, 2, 23) and calendar.next_week == dt.date(2026, 3, 9)


def test_the_calendar_shows_own_in_full_others_as_occupied_per_room_per_day(world: World) -> None:
    mine = world.book(start=at(1, 9), end=at(1, 12))
    world.book(user=world.other_agent, start=at(1, 14), end=at(1, 16))
    night = world.book(
        user=world.other_agent,
        room=world.overnight,
        purpose=BookingPurpose.OVERNIGHT_EVALUATION,
        start=at(3, 20),
        end=at(4, 8),
    )
    world.book(start=at(8, 9), end=at(8, 10))  # next week
    calendar = selectors.week_calendar(world.agent, week=dt.date(2026, 3, 4))
    rows = {row.room.pk: row for row in calendar.rows}
    assert set(rows) == {
        world.opening.pk,
        world.evaluation.pk,
        world.clarification.pk,
        world.overnight.pk,
        world.other_centre_room.pk,
    }
    tuesday = rows[world.opening.pk].days[1]
    assert [(s.starts_at, s.booking) for s in tuesday] == [(mine.starts_at, mine), (at(1, 14), None)]
    assert sum(len(day) for day in rows[world.opening.pk].days) == 2
    overnight = rows[world.overnight.pk].days
    assert [len(day) for day in overnight] == [0, 0, 0, 1, 1, 0, 0]  # Thursday night into Friday
    assert overnight[3][0].booking is None and overnight[3][0].ends_at == night.ends_at
    staff_view = selectors.week_calendar(world.staff, week=dt.date(2026, 3, 4))
    assert all(s.booking is not None for row in staff_view.rows for day in row.days for s in day)


def test_the_calendar_filters_by_kind_and_refuses_unknown_kinds(world: World) -> None:
    calendar = selectors.week_calendar(world.agent, kind="evaluation")
    assert [row.room for row in calendar.rows] == [world.evaluation]
    with pytest.raises(ValidationFailed):
        selectors.week_calendar(world.agent, kind="ballroom")
    with pytest.raises(PermissionDenied):
        selectors.week_calendar(world.bidder)


def test_cancelled_and_rejected_bookings_leave_the_calendar(world: World) -> None:
    booking = world.book()
    services.booking_reject(acting_user=world.staff, booking=booking, reason="检修")
    calendar = selectors.week_calendar(world.agent)
    assert not any(day for row in calendar.rows for day in row.days)
