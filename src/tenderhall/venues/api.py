"""Venues API (场地安排, seed 002 §6.3): rooms and seats, bookings, the week calendar.

Handlers parse input, fetch through the access helpers and call a service; the rules live in
services.py. Another organization's booking is shown to agents and tenderers only as an occupied
slot, without who holds it or for what.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from tenderhall.core.permissions import Permission, require
from tenderhall.venues import selectors, services
from tenderhall.venues.models import Booking, Room

router = Router(tags=["venues"])


def _user(request: HttpRequest) -> Any:
    # Authenticated by accounts.auth (session or bearer token) before any handler runs.
    return request.user


# ---- rooms --------------------------------------------------------------------------------------


class SeatOut(Schema):
    id: int
    label: str
    is_remote_evaluation: bool


class RoomOut(Schema):
    id: int
    centre_id: int
    centre: str
    name: str
    kind: str
    location: str
    is_active: bool
    seat_count: int
    remote_seat_count: int
    seats: list[SeatOut]


def _room(room: Room) -> dict[str, Any]:
    seats = list(room.seats.all())
    return {
        "id": room.pk,
        "centre_id": room.centre_id,
        "centre": room.centre.name,
        "name": room.name,
        "kind": room.kind,
        "location": room.location,
        "is_active": room.is_active,
        "seat_count": len(seats),
        "remote_seat_count": sum(1 for s in seats if s.is_remote_evaluation),
        "seats": seats,
    }


class RoomIn(Schema):
    name: str
    kind: str
    location: str = ""


class RoomPatch(Schema):
    name: str | None = None
    kind: str | None = None
    location: str | None = None
    is_active: bool | None = None
    remote_seats: list[str] | None = None  # exactly the seats equipped for remote evaluation


class SeatsIn(Schema):
    count: int
    prefix: str = "A"
    remote_evaluation: bool = False


@router.get("/rooms", response=list[RoomOut], summary="Rooms I may see (kind= to filter)")
def rooms_list(request: HttpRequest, kind: str = "") -> list[dict[str, Any]]:
    rooms = selectors.rooms_for_user(_user(request), kind=selectors.parse_room_kind(kind))
    return [_room(r) for r in rooms]


@router.post("/rooms", response={201: RoomOut}, summary="Add a room to my trading centre (staff)")
def rooms_create(request: HttpRequest, body: RoomIn) -> dict[str, Any]:
    room = services.room_create(acting_user=_user(request), **body.dict())
    return _room(selectors.room_for_user(_user(request), room.pk))


@router.patch("/rooms/{room_id}", response=RoomOut, summary="Edit, deactivate, mark remote seats (staff)")
def rooms_update(request: HttpRequest, room_id: int, body: RoomPatch) -> dict[str, Any]:
    require(_user(request), Permission.ROOM_MANAGE)  # before any lookup: the answer must not depend on the id
    room = selectors.room_for_user(_user(request), room_id)
    services.room_update(acting_user=_user(request), room=room, **body.dict(exclude_unset=True))
    return _room(selectors.room_for_user(_user(request), room_id))


@router.post("/rooms/{room_id}/seats", response={201: RoomOut}, summary="Add seats A01, A02 … (staff)")
def rooms_add_seats(request: HttpRequest, room_id: int, body: SeatsIn) -> dict[str, Any]:
    require(_user(request), Permission.ROOM_MANAGE)
    room = selectors.room_for_user(_user(request), room_id)
    services.seats_add(acting_user=_user(request), room=room, **body.dict())
    return _room(selectors.room_for_user(_user(request), room_id))


# ---- bookings -----------------------------------------------------------------------------------


class BookingOut(Schema):
    id: int
    room_id: int
    room: str
    centre_id: int
    purpose: str
    status: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    seats_needed: int
    section_id: int | None
    section_code: str | None
    requested_by: str
    organization: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    note: str
    decision_reason: str


class OccupiedOut(Schema):
    """Another organization's booking: only that the room is taken, and when."""

    room_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime


class BookingsOut(Schema):
    bookings: list[BookingOut]
    occupied: list[OccupiedOut]


def _booking(b: Booking) -> dict[str, Any]:
    org = b.requested_by.organization
    return {
        "id": b.pk,
        "room_id": b.room_id,
        "room": b.room.name,
        "centre_id": b.room.centre_id,
        "purpose": b.purpose,
        "status": b.status,
        "starts_at": b.starts_at,
        "ends_at": b.ends_at,
        "seats_needed": b.seats_needed,
        "section_id": b.section_id,
        "section_code": b.section.code if b.section is not None else None,
        "requested_by": b.requested_by.get_username(),
        "organization": org.name if org is not None else "",
        "requested_at": b.requested_at,
        "decided_by": b.decided_by.get_username() if b.decided_by is not None else None,
        "decided_at": b.decided_at,
        "note": b.note,
        "decision_reason": b.decision_reason,
    }


def _fresh(request: HttpRequest, booking: Booking) -> dict[str, Any]:
    return _booking(selectors.booking_for_user(_user(request), booking.pk))


class BookingIn(Schema):
    room_id: int
    purpose: str
    starts_at: dt.datetime  # with its offset, e.g. 2026-03-02T09:00:00+08:00
    ends_at: dt.datetime
    seats_needed: int = 0
    section_id: int | None = None
    note: str = ""


class ReasonIn(Schema):
    reason: str = ""


class ChangeIn(Schema):
    room_id: int | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None


class ExtendIn(Schema):
    ends_at: dt.datetime


@router.get(
    "/bookings",
    response=BookingsOut,
    summary="Bookings I may see in full, and the slots others hold (without who or what)",
)
def bookings_list(
    request: HttpRequest,
    status: str = "",
    room_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> dict[str, Any]:
    user = _user(request)
    start = selectors.local_midnight(date_from) if date_from else None
    end = selectors.local_midnight(date_to + dt.timedelta(days=1)) if date_to else None
    bookings = selectors.bookings_for_user(user, status=status or None, room_id=room_id, start=start, end=end)
    occupied = selectors.occupied_slots_for_user(user, start=start, end=end, room_id=room_id)
    return {"bookings": [_booking(b) for b in bookings], "occupied": occupied}


@router.post("/bookings", response={201: BookingOut}, summary="Request a room (agents, tenderers)")
def bookings_create(request: HttpRequest, body: BookingIn) -> dict[str, Any]:
    user = _user(request)
    require(user, Permission.BOOKING_REQUEST)
    room = selectors.room_for_user(user, body.room_id)
    section = selectors.section_for_booking(user, body.section_id) if body.section_id is not None else None
    booking = services.booking_request(
        acting_user=user,
        room=room,
        section=section,
        purpose=body.purpose,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        seats_needed=body.seats_needed,
        note=body.note,
    )
    return _fresh(request, booking)


@router.get("/bookings/{booking_id}", response=BookingOut, summary="One booking I may see in full")
def bookings_get(request: HttpRequest, booking_id: int) -> dict[str, Any]:
    return _booking(selectors.booking_for_user(_user(request), booking_id))


@router.post("/bookings/{booking_id}/confirm", response=BookingOut, summary="Confirm a request (staff)")
def bookings_confirm(request: HttpRequest, booking_id: int) -> dict[str, Any]:
    require(_user(request), Permission.BOOKING_DECIDE)
    booking = selectors.booking_for_user(_user(request), booking_id)
    return _fresh(request, services.booking_confirm(acting_user=_user(request), booking=booking))


@router.post(
    "/bookings/{booking_id}/reject", response=BookingOut, summary="Reject a request with a reason (staff)"
)
def bookings_reject(request: HttpRequest, booking_id: int, body: ReasonIn) -> dict[str, Any]:
    require(_user(request), Permission.BOOKING_DECIDE)
    booking = selectors.booking_for_user(_user(request), booking_id)
    return _fresh(
        request, services.booking_reject(acting_user=_user(request), booking=booking, reason=body.reason)
    )


@router.post(
    "/bookings/{booking_id}/change",
    response=BookingOut,
    summary="Move to another room or time; back to requested (requester or staff)",
)
def bookings_change(request: HttpRequest, booking_id: int, body: ChangeIn) -> dict[str, Any]:
    user = _user(request)
    booking = selectors.booking_for_user(user, booking_id)
    room = selectors.room_for_user(user, body.room_id) if body.room_id is not None else None
    changed = services.booking_change(
        acting_user=user, booking=booking, room=room, starts_at=body.starts_at, ends_at=body.ends_at
    )
    return _fresh(request, changed)


@router.post(
    "/bookings/{booking_id}/extend",
    response=BookingOut,
    summary="Extend the end; back to requested (requester or staff)",
)
def bookings_extend(request: HttpRequest, booking_id: int, body: ExtendIn) -> dict[str, Any]:
    user = _user(request)
    booking = selectors.booking_for_user(user, booking_id)
    return _fresh(request, services.booking_extend(acting_user=user, booking=booking, ends_at=body.ends_at))


@router.post(
    "/bookings/{booking_id}/cancel", response=BookingOut, summary="Cancel (requester, or staff with a reason)"
)
def bookings_cancel(request: HttpRequest, booking_id: int, body: ReasonIn) -> dict[str, Any]:
    user = _user(request)
    booking = selectors.booking_for_user(user, booking_id)
    return _fresh(request, services.booking_cancel(acting_user=user, booking=booking, reason=body.reason))


# ---- the week calendar --------------------------------------------------------------------------


class CalendarSlotOut(Schema):
    starts_at: dt.datetime
    ends_at: dt.datetime
    occupied_only: bool
    booking_id: int | None
    status: str | None
    purpose: str | None
    section_code: str | None
    organization: str | None


class CalendarDayOut(Schema):
    date: dt.date
    slots: list[CalendarSlotOut]


class CalendarRoomOut(Schema):
    room_id: int
    name: str
    kind: str
    centre: str
    days: list[CalendarDayOut]


class CalendarOut(Schema):
    week_start: dt.date
    kind: str | None
    days: list[dt.date]
    rooms: list[CalendarRoomOut]


def _slot(slot: selectors.Slot) -> dict[str, Any]:
    b = slot.booking
    return {
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "occupied_only": b is None,
        "booking_id": b.pk if b is not None else None,
        "status": b.status if b is not None else None,
        "purpose": b.purpose if b is not None else None,
        "section_code": b.section.code if b is not None and b.section is not None else None,
        "organization": b.requested_by.organization.name
        if b is not None and b.requested_by.organization is not None
        else None,
    }


@router.get(
    "/venues/calendar",
    response=CalendarOut,
    summary="A week (Monday first, China time): per room, per day, the held slots",
)
def venues_calendar(request: HttpRequest, week: dt.date | None = None, kind: str = "") -> dict[str, Any]:
    calendar = selectors.week_calendar(_user(request), week=week, kind=kind or None)
    return {
        "week_start": calendar.monday,
        "kind": calendar.kind,
        "days": calendar.days,
        "rooms": [
            {
                "room_id": row.room.pk,
                "name": row.room.name,
                "kind": row.room.kind,
                "centre": row.room.centre.name,
                "days": [
                    {"date": day, "slots": [_slot(s) for s in slots]}
                    for day, slots in zip(calendar.days, row.days, strict=True)
                ],
            }
            for row in calendar.rows
        ],
    }
