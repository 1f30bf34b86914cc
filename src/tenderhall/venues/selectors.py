"""Reads of the venues app, and the access helpers that fetch and authorize in one call.

Who sees what (seed 002 §6.3):

- rooms: staff, supervisors and auditors see every room (staff manage only their own centre's:
  a rule of the services); agents and tenderers see the active rooms of every centre, read-only.
- bookings: staff, supervisors and auditors see every booking in full. Agents and tenderers see
  in full the bookings of their own organization and those made for a project they are party to;
  of every other booking they see only that a slot is occupied, never who holds it or for which
  project (that is someone else's business). Bidders see no venues at all (403).

Anything a user may not see answers "not found", never "forbidden".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from tenderhall.core import clock
from tenderhall.core.errors import NotFound, ValidationFailed
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.projects.models import Section
from tenderhall.venues.models import HOLDING_STATUSES, Booking, BookingStatus, Room, RoomKind


def sees_every_booking(user: Any) -> bool:
    """Who booked what is another organization's data: only the roles that read every
    organization's data (staff, supervisors, auditors) see it."""
    return has_permission(user, Permission.VENUE_VIEW) and has_permission(
        user, Permission.ORGANIZATION_VIEW_ALL
    )


# ---- rooms --------------------------------------------------------------------------------------


def rooms_for_user(user: Any, *, kind: str | None = None) -> QuerySet[Room]:
    require(user, Permission.VENUE_VIEW)
    rooms = (
        Room.objects.select_related("centre").prefetch_related("seats").order_by("centre_id", "kind", "name")
    )
    if not sees_every_booking(user):
        rooms = rooms.filter(is_active=True)
    if kind:
        rooms = rooms.filter(kind=kind)
    return rooms


def room_for_user(user: Any, pk: int) -> Room:
    room = rooms_for_user(user).filter(pk=pk).first()
    if room is None:
        raise NotFound("场地", "room")
    return room


def rooms_managed_by(user: Any) -> QuerySet[Room]:
    """The rooms of the staff member's own trading centre."""
    require(user, Permission.ROOM_MANAGE)
    return rooms_for_user(user).filter(centre_id=user.organization_id)


def parse_room_kind(kind: str | None) -> str | None:
    if not kind:
        return None
    if kind not in RoomKind.values:
        raise ValidationFailed(
            "room_kind_invalid", f"场地类型无效：{kind}", f"unknown room kind: {kind}", fields={"kind": ""}
        )
    return kind


# ---- bookings -----------------------------------------------------------------------------------


def _full_view(user: Any) -> Q | None:
    """The bookings this user sees in full, as a filter; None = none at all."""
    if sees_every_booking(user):
        return Q()
    org = getattr(user, "organization_id", None)
    if org is None:
        return None
    return (
        Q(requested_by__organization_id=org)
        | Q(section__project__tenderer_id=org)
        | Q(section__project__agent_id=org)
    )


def _overlapping(bookings: QuerySet[Booking], start: dt.datetime | None, end: dt.datetime | None) -> Any:
    if start is not None:
        bookings = bookings.filter(ends_at__gt=start)
    if end is not None:
        bookings = bookings.filter(starts_at__lt=end)
    return bookings


def bookings_for_user(
    user: Any,
    *,
    status: str | None = None,
    room_id: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> QuerySet[Booking]:
    """The bookings the user may see in full (see the module docstring)."""
    require(user, Permission.VENUE_VIEW)
    bookings = Booking.objects.select_related(
        "room__centre", "section__project", "requested_by__organization", "decided_by"
    ).order_by("starts_at", "pk")
    visible = _full_view(user)
    if visible is None:
        return bookings.none()
    bookings = bookings.filter(visible)
    if status:
        bookings = bookings.filter(status=status)
    if room_id is not None:
        bookings = bookings.filter(room_id=room_id)
    return _overlapping(bookings, start, end)


def booking_for_user(user: Any, pk: int) -> Booking:
    booking = bookings_for_user(user).filter(pk=pk).first()
    if booking is None:
        raise NotFound("场地预约", "booking")
    return booking


def booking_queue_for_user(user: Any) -> QuerySet[Booking]:
    """Requests waiting for the staff member's centre to decide (seed 002 §6.3.2: 及时予以确认)."""
    require(user, Permission.BOOKING_DECIDE)
    return bookings_for_user(user, status=BookingStatus.REQUESTED).filter(
        room__centre_id=user.organization_id
    )


@dataclass(frozen=True)
class Slot:
    """A time a room is held. ``booking`` is None where the user may only know it is occupied."""

    room_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    booking: Booking | None = None

    @property
    def occupied_only(self) -> bool:
        return self.booking is None


def slots_for_user(
    user: Any,
    *,
    rooms: QuerySet[Room] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[Slot]:
    """Every held slot (requested or confirmed) of the rooms the user sees, in full where allowed."""
    if rooms is None:
        rooms = rooms_for_user(user)
    require(user, Permission.VENUE_VIEW)
    held = _overlapping(
        Booking.objects.filter(room__in=rooms, status__in=HOLDING_STATUSES).select_related(
            "room", "section__project", "requested_by__organization"
        ),
        start,
        end,
    ).order_by("starts_at", "pk")
    visible = _full_view(user)
    full_ids: set[int] = set() if visible is None else set(held.filter(visible).values_list("pk", flat=True))
    return [
        Slot(
            room_id=b.room_id,
            starts_at=b.starts_at,
            ends_at=b.ends_at,
            booking=b if b.pk in full_ids else None,
        )
        for b in held
    ]


def occupied_slots_for_user(
    user: Any, *, start: dt.datetime | None = None, end: dt.datetime | None = None, room_id: int | None = None
) -> list[Slot]:
    """Other organizations' held slots, without who or what; empty for those who see all in full.
    Without a range, only slots that have not ended yet."""
    if start is None and end is None:
        start = clock.now()
    rooms = rooms_for_user(user)
    if room_id is not None:
        rooms = rooms.filter(pk=room_id)
    return [s for s in slots_for_user(user, rooms=rooms, start=start, end=end) if s.occupied_only]


def sections_for_booking(user: Any) -> QuerySet[Section]:
    """Sections a booking may be made for: those of projects the user's organization is party to."""
    require(user, Permission.BOOKING_REQUEST)
    org = user.organization_id
    if org is None:
        return Section.objects.none()
    return (
        Section.objects.select_related("project")
        .filter(Q(project__tenderer_id=org) | Q(project__agent_id=org))
        .order_by("project_id", "number")
    )


def section_for_booking(user: Any, pk: int) -> Section:
    section = sections_for_booking(user).filter(pk=pk).first()
    if section is None:
        raise NotFound("标段", "section")
    return section


# ---- the week calendar --------------------------------------------------------------------------


def week_monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=clock.LOCAL_TZ)


@dataclass
class CalendarRow:
    room: Room
    days: list[list[Slot]] = field(default_factory=list)  # Monday first


@dataclass
class WeekCalendar:
    monday: dt.date
    kind: str | None
    rows: list[CalendarRow]

    @property
    def days(self) -> list[dt.date]:
        return [self.monday + dt.timedelta(days=n) for n in range(7)]

    @property
    def previous_week(self) -> dt.date:
        return self.monday - dt.timedelta(days=7)

    @property
    def next_week(self) -> dt.date:
        return self.monday + dt.timedelta(days=7)


def week_calendar(user: Any, *, week: dt.date | None = None, kind: str | None = None) -> WeekCalendar:
    """The week (Monday first, Asia/Shanghai) holding ``week``: per room, per day, the held slots.
    A slot across midnight (隔夜评标) shows on both days."""
    kind = parse_room_kind(kind)
    monday = week_monday(week or clock.today_local())
    rooms = list(rooms_for_user(user, kind=kind))
    start, end = local_midnight(monday), local_midnight(monday + dt.timedelta(days=7))
    slots = slots_for_user(user, rooms=rooms_for_user(user, kind=kind), start=start, end=end)
    rows = {room.pk: CalendarRow(room=room, days=[[] for _ in range(7)]) for room in rooms}
    for slot in slots:
        row = rows.get(slot.room_id)
        if row is None:
            continue
        for n in range(7):
            day_start = local_midnight(monday + dt.timedelta(days=n))
            day_end = local_midnight(monday + dt.timedelta(days=n + 1))
            if slot.starts_at < day_end and slot.ends_at > day_start:
                row.days[n].append(slot)
    return WeekCalendar(monday=monday, kind=kind, rows=list(rows.values()))
