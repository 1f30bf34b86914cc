"""Every write of the venues app (场地安排, seed 002 §6.3): keyword-only, typed, atomic, audited.

A booking holds its room from the request on (HOLDING_STATUSES), so two bookings of one room never
overlap, whatever staff later decide. Every write that could make an overlap locks the room row
(``select_for_update``), then checks, then writes, in one transaction; locks are always taken in
the same order (rooms by primary key, then the booking, then the log head) so writes never
deadlock. On SQLite the same code is serial anyway: every transaction there is ``BEGIN IMMEDIATE``
(settings), which takes the database's single write lock before the first read.

A change or an extension puts the booking back to "requested" for staff to confirm again
(seed 002 §6.3.3); if staff reject it, the booking is rejected as a whole.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import transaction

from tenderhall.accounts.models import Role, User
from tenderhall.core import clock
from tenderhall.core.canonical import sha256_hex
from tenderhall.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from tenderhall.core.models import NotificationChannel
from tenderhall.core.notifications import notification_enqueue
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.core.transparency import log_append
from tenderhall.venues.events import VenuesAction
from tenderhall.venues.models import (
    HOLDING_STATUSES,
    PURPOSE_ROOM_KIND,
    Booking,
    BookingPurpose,
    BookingStatus,
    Room,
    RoomKind,
    Seat,
)

MAX_SEATS_PER_CALL = 200
SEAT_PREFIX = re.compile(r"^[A-Z]{1,4}$")
MAX_TEXT = 2000


class OtherCentre(DomainError):
    status = 403

    def __init__(self) -> None:
        super().__init__(
            "room_other_centre",
            "只能管理本交易中心的场地和预约",
            "you manage only the rooms and bookings of your own trading centre",
        )


# ---- small helpers ------------------------------------------------------------------------------


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _span(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    start, end = starts_at.astimezone(clock.LOCAL_TZ), ends_at.astimezone(clock.LOCAL_TZ)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"


def _spans_midnight(starts_at: dt.datetime, ends_at: dt.datetime) -> bool:
    """Whether a midnight in China lies strictly inside the range."""
    start = starts_at.astimezone(clock.LOCAL_TZ)
    next_midnight = dt.datetime.combine(
        start.date() + dt.timedelta(days=1), dt.time(0), tzinfo=clock.LOCAL_TZ
    )
    return ends_at > next_midnight


def _text(value: str, *, field: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise ValidationFailed(
            "text_too_long",
            f"内容过长（最多 {MAX_TEXT} 字）",
            f"too long (at most {MAX_TEXT} characters)",
            fields={field: ""},
        )
    return value


def _require_aware(**moments: dt.datetime | None) -> None:
    for name, value in moments.items():
        if value is None or value.tzinfo is None or value.utcoffset() is None:
            raise ValidationFailed(
                "booking_time_naive",
                "时间须注明时区（如 +08:00）",
                "times must carry a time zone (e.g. +08:00)",
                fields={name: ""},
            )


def _check_times(*, purpose: str, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> None:
    _require_aware(starts_at=starts_at, ends_at=ends_at)
    if starts_at >= ends_at:
        raise ValidationFailed(
            "booking_times_order",
            "结束时间须晚于开始时间",
            "the end must be after the start",
            fields={"ends_at": ""},
        )
    if starts_at <= now:
        raise ValidationFailed(
            "booking_in_past",
            "只能预约将来的时段",
            "only a future time can be booked",
            fields={"starts_at": ""},
        )
    _check_midnight(purpose=purpose, starts_at=starts_at, ends_at=ends_at)


def _check_midnight(*, purpose: str, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    # 隔夜评标 (seed 002 §6.3.2) is the one purpose that runs through the night, and it must.
    spans = _spans_midnight(starts_at, ends_at)
    if purpose == BookingPurpose.OVERNIGHT_EVALUATION and not spans:
        raise ValidationFailed(
            "booking_not_overnight",
            "隔夜评标须跨越午夜（北京时间）",
            "an overnight evaluation must run past midnight (China time)",
            article="seed 002 §6.3.2",
            fields={"ends_at": ""},
        )
    if purpose != BookingPurpose.OVERNIGHT_EVALUATION and spans:
        raise ValidationFailed(
            "booking_spans_midnight",
            "跨越午夜的使用须预约隔夜评标室",
            "a booking past midnight must be an overnight evaluation in an overnight room",
            article="seed 002 §6.3.2",
            fields={"ends_at": ""},
        )


def _check_room(*, room: Room, purpose: str, seats_needed: int) -> None:
    if not room.can_be_booked():
        raise ValidationFailed(
            "room_inactive",
            f"场地“{room.name}”已停用",
            f"room {room.name} is out of use",
            fields={"room_id": ""},
        )
    kind = PURPOSE_ROOM_KIND[purpose]
    if room.kind != kind:
        raise ValidationFailed(
            "booking_room_kind_mismatch",
            f"“{BookingPurpose(purpose).label}”须使用{RoomKind(kind).label}",
            f"{purpose} needs a room of kind {kind}, not {room.kind}",
            article="seed 002 §6.3.2",
            fields={"room_id": ""},
        )
    seats = room.seats.count()
    if seats_needed < 0 or seats_needed > seats:
        raise ValidationFailed(
            "booking_too_many_seats",
            f"所需座位数超出该场地的座位数（{seats}）",
            f"seats needed exceed the room's {seats} seats",
            fields={"seats_needed": ""},
        )


def _refuse_conflict(
    *, room: Room, starts_at: dt.datetime, ends_at: dt.datetime, exclude_pk: int | None = None
) -> None:
    """Refuse an overlap with any booking that holds the room. Touching ends do not overlap.
    The refusal names the time taken, never who holds it or for what."""
    held = Booking.objects.filter(
        room_id=room.pk, status__in=HOLDING_STATUSES, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if exclude_pk is not None:
        held = held.exclude(pk=exclude_pk)
    other = held.order_by("starts_at", "pk").first()
    if other is not None:
        span = _span(other.starts_at, other.ends_at)
        raise Conflict(
            "booking_conflict",
            f"场地“{room.name}”在 {span} 已被占用",
            f"room {room.name} is taken {span} (China time)",
            fields={"starts_at": ""},
            extra={
                "conflict": {
                    "starts_at": other.starts_at.astimezone(clock.UTC).isoformat(),
                    "ends_at": other.ends_at.astimezone(clock.UTC).isoformat(),
                }
            },
        )


def _check_section(*, acting_user: Any, section: Any, room: Room) -> None:
    project = section.project
    if acting_user.organization_id is None or acting_user.organization_id not in (
        project.tenderer_id,
        project.agent_id,
    ):
        raise NotFound("标段", "section")
    if project.centre_id != room.centre_id:
        raise ValidationFailed(
            "booking_section_other_centre",
            "该项目在其他交易中心进场，须预约该中心的场地",
            "the project is registered with another trading centre; book one of its rooms",
            fields={"room_id": ""},
        )


def _lock_room(pk: int) -> Room:
    return Room.objects.select_for_update().get(pk=pk)


def _lock_booking(pk: int) -> Booking:
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("room", "requested_by", "section__project")
        .get(pk=pk)
    )


def _centre_staff(centre_id: int) -> list[User]:
    return list(
        User.objects.filter(organization_id=centre_id, role=Role.STAFF, is_active=True).order_by("pk")
    )


def _notify(users: list[Any], *, subject: str, body: str) -> None:
    for user in users:
        notification_enqueue(recipient=user, channel=NotificationChannel.IN_APP, subject=subject, body=body)


def _booking_summary(booking: Booking) -> str:
    return (
        f"{booking.room.name} · {booking.get_purpose_display()} · {_span(booking.starts_at, booking.ends_at)}"
    )


def _snapshot(booking: Booking) -> dict[str, Any]:
    return {
        "room": booking.room_id,
        "starts_at": booking.starts_at,
        "ends_at": booking.ends_at,
        "status": booking.status,
    }


def _booking_actor(acting_user: Any, booking: Booking) -> str:
    """Who may change or cancel a booking: its requester's organization, or the room's staff."""
    org = getattr(acting_user, "organization_id", None)
    if has_permission(acting_user, Permission.BOOKING_DECIDE):
        if org is not None and org == booking.room.centre_id:
            return "staff"
        raise OtherCentre()
    require(acting_user, Permission.BOOKING_REQUEST)
    if org is not None and org == booking.requested_by.organization_id:
        return "requester"
    project = booking.section.project if booking.section is not None else None
    if org is not None and project is not None and org in (project.tenderer_id, project.agent_id):
        # The other party to the project sees the booking but did not make it.
        raise DomainError(
            "booking_not_yours",
            "只有提出预约的单位或交易中心可以变更、取消该预约",
            "only the organization that made the booking, or the centre's staff, may change it",
            status=403,
        )
    raise NotFound("场地预约", "booking")


def _require_centre_staff(acting_user: Any, room: Room) -> None:
    if acting_user.organization_id is None or acting_user.organization_id != room.centre_id:
        raise OtherCentre()


def _guard(booking: Booking, allowed: bool, code: str, zh: str, en: str) -> None:
    if not allowed:
        raise Conflict(code, zh, en, extra={"booking_status": booking.status})


# ---- rooms and seats ----------------------------------------------------------------------------


def _room_name(name: str, *, centre_id: int, exclude_pk: int | None = None) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(
            "room_name_invalid",
            "请填写场地名称（最多 100 字）",
            "a room name (1-100 characters) is required",
            fields={"name": ""},
        )
    taken = Room.objects.filter(centre_id=centre_id, name=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise Conflict(
            "room_name_taken",
            f"本中心已有名为“{name}”的场地",
            f"your centre already has a room named {name}",
            fields={"name": ""},
        )
    return name


def _room_kind(kind: str) -> str:
    if kind not in RoomKind.values:
        raise ValidationFailed(
            "room_kind_invalid", f"场地类型无效：{kind}", f"unknown room kind: {kind}", fields={"kind": ""}
        )
    return kind


@transaction.atomic
def room_create(*, acting_user: Any, name: str, kind: str, location: str = "") -> Room:
    require(acting_user, Permission.ROOM_MANAGE)
    centre_id = acting_user.organization_id
    if centre_id is None:
        raise OtherCentre()
    room = Room(
        centre_id=centre_id,
        name=_room_name(name, centre_id=centre_id),
        kind=_room_kind(kind),
        location=_text(location, field="location")[:200],
    )
    room.full_clean()
    room.save()
    log_append(
        action=VenuesAction.ROOM_CREATED,
        actor=acting_user,
        obj=room,
        data={"name": room.name, "kind": room.kind, "location": room.location},
    )
    return room


def _room_state(room: Room) -> dict[str, Any]:
    return {
        "name": room.name,
        "kind": room.kind,
        "location": room.location,
        "is_active": room.is_active,
        "remote_seats": sorted(room.seats.filter(is_remote_evaluation=True).values_list("label", flat=True)),
    }


@transaction.atomic
def room_update(
    *,
    acting_user: Any,
    room: Room,
    name: str | None = None,
    kind: str | None = None,
    location: str | None = None,
    is_active: bool | None = None,
    remote_seats: list[str] | None = None,
) -> Room:
    """Edit a room; ``remote_seats`` names exactly the seats equipped for remote off-site evaluation
    (远程异地评标). A room that is still booked can neither change kind nor be deactivated."""
    require(acting_user, Permission.ROOM_MANAGE)
    room = _lock_room(room.pk)
    _require_centre_staff(acting_user, room)
    before = _room_state(room)
    if name is not None:
        room.name = _room_name(name, centre_id=room.centre_id, exclude_pk=room.pk)
    if location is not None:
        room.location = _text(location, field="location")[:200]
    if kind is not None:
        room.kind = _room_kind(kind)
    if is_active is not None:
        room.is_active = is_active
    if room.kind != before["kind"] or (before["is_active"] and not room.is_active):
        held = Booking.objects.filter(
            room_id=room.pk, status__in=HOLDING_STATUSES, ends_at__gt=clock.now()
        ).count()
    else:
        held = 0
    if held:
        raise Conflict(
            "room_has_bookings",
            f"该场地尚有 {held} 个未结束的预约，请先改期或取消",
            f"the room still has {held} open bookings; move or cancel them first",
        )
    if remote_seats is not None:
        labels = sorted({label.strip() for label in remote_seats if label.strip()})
        known = set(room.seats.values_list("label", flat=True))
        unknown = [label for label in labels if label not in known]
        if unknown:
            raise ValidationFailed(
                "seat_unknown",
                f"该场地没有这些座位：{'、'.join(unknown)}",
                f"the room has no seats {', '.join(unknown)}",
                fields={"remote_seats": ""},
            )
        room.seats.update(is_remote_evaluation=False)
        room.seats.filter(label__in=labels).update(is_remote_evaluation=True)
    room.full_clean()
    room.save()
    after = _room_state(room)
    if after != before:
        log_append(
            action=VenuesAction.ROOM_UPDATED,
            actor=acting_user,
            obj=room,
            data={"before": before, "after": after},
        )
    return room


@transaction.atomic
def seats_add(
    *, acting_user: Any, room: Room, count: int, prefix: str = "A", remote_evaluation: bool = False
) -> list[Seat]:
    """Add ``count`` seats labelled A01, A02 … after the room's last seat with that prefix."""
    require(acting_user, Permission.ROOM_MANAGE)
    room = _lock_room(room.pk)
    _require_centre_staff(acting_user, room)
    prefix = (prefix or "").strip().upper()
    if not SEAT_PREFIX.match(prefix):
        raise ValidationFailed(
            "seat_prefix_invalid",
            "座位编号前缀须为 1-4 个字母",
            "the seat prefix must be 1-4 letters",
            fields={"prefix": ""},
        )
    if not 1 <= count <= MAX_SEATS_PER_CALL:
        raise ValidationFailed(
            "seat_count_invalid",
            f"一次可添加 1-{MAX_SEATS_PER_CALL} 个座位",
            f"add between 1 and {MAX_SEATS_PER_CALL} seats at a time",
            fields={"count": ""},
        )
    numbered = re.compile(rf"^{prefix}(\d+)$")
    last = max(
        (
            int(m.group(1))
            for label in room.seats.values_list("label", flat=True)
            if (m := numbered.match(label))
        ),
        default=0,
    )
    seats = [
        Seat(room=room, label=f"{prefix}{n:02d}", is_remote_evaluation=remote_evaluation)
        for n in range(last + 1, last + 1 + count)
    ]
    Seat.objects.bulk_create(seats)
    log_append(
        action=VenuesAction.SEATS_ADDED,
        actor=acting_user,
        obj=room,
        data={
            "count": count,
            "first": seats[0].label,
            "last": seats[-1].label,
            "remote_evaluation": remote_evaluation,
        },
    )
    return list(room.seats.filter(label__in=[s.label for s in seats]))


# ---- bookings -----------------------------------------------------------------------------------


@transaction.atomic
def booking_request(
    *,
    acting_user: Any,
    room: Room,
    purpose: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    seats_needed: int = 0,
    section: Any = None,
    note: str = "",
) -> Booking:
    """An agent or tenderer asks for a room (seed 002 §6.3.2); it holds the room until decided."""
    require(acting_user, Permission.BOOKING_REQUEST)
    if acting_user.organization_id is None:
        raise NotFound("场地", "room")
    if purpose not in BookingPurpose.values:
        raise ValidationFailed(
            "booking_purpose_invalid",
            f"用途无效：{purpose}",
            f"unknown purpose: {purpose}",
            fields={"purpose": ""},
        )
    now = clock.now()
    _check_times(purpose=purpose, starts_at=starts_at, ends_at=ends_at, now=now)
    note = _text(note, field="note")
    room = _lock_room(room.pk)
    _check_room(room=room, purpose=purpose, seats_needed=seats_needed)
    if section is not None:
        _check_section(acting_user=acting_user, section=section, room=room)
    _refuse_conflict(room=room, starts_at=starts_at, ends_at=ends_at)
    booking = Booking(
        room=room,
        section=section,
        purpose=purpose,
        starts_at=starts_at,
        ends_at=ends_at,
        seats_needed=seats_needed,
        requested_by=acting_user,
        requested_at=now,
        note=note,
    )
    booking.full_clean()
    booking.save()
    log_append(
        action=VenuesAction.BOOKING_REQUESTED,
        actor=acting_user,
        obj=booking,
        data={
            **_snapshot(booking),
            "purpose": purpose,
            "seats_needed": seats_needed,
            "section": section.pk if section is not None else None,
            "note_sha256": sha256_hex(note) if note else "",
        },
    )
    _notify(
        _centre_staff(room.centre_id),
        subject=f"场地预约待确认 / Booking to confirm: {room.name}",
        body=_booking_summary(booking),
    )
    return booking


def _decide_prelude(acting_user: Any, booking: Booking) -> tuple[Booking, dt.datetime]:
    require(acting_user, Permission.BOOKING_DECIDE)
    booking = _lock_booking(booking.pk)
    _require_centre_staff(acting_user, booking.room)
    _guard(
        booking,
        booking.can_decide(),
        "booking_not_requested",
        "该预约不在待确认状态",
        "this booking is not waiting for a decision",
    )
    now = clock.now()
    _guard(booking, booking.ends_at > now, "booking_ended", "该预约时段已过", "the booked time is over")
    return booking, now


@transaction.atomic
def booking_confirm(*, acting_user: Any, booking: Booking) -> Booking:
    """Staff confirm a request promptly (seed 002 §6.3.2: 及时予以确认)."""
    booking, now = _decide_prelude(acting_user, booking)
    booking.status = BookingStatus.CONFIRMED
    booking.decided_by = acting_user
    booking.decided_at = now
    booking.decision_reason = ""
    booking.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    log_append(
        action=VenuesAction.BOOKING_CONFIRMED,
        actor=acting_user,
        obj=booking,
        data={**_snapshot(booking), "waited_seconds": int((now - booking.requested_at).total_seconds())},
    )
    _notify(
        [booking.requested_by],
        subject=f"场地预约已确认 / Booking confirmed: {booking.room.name}",
        body=_booking_summary(booking),
    )
    return booking


@transaction.atomic
def booking_reject(*, acting_user: Any, booking: Booking, reason: str) -> Booking:
    booking, now = _decide_prelude(acting_user, booking)
    reason = _text(reason, field="reason")
    if not reason:
        raise ValidationFailed(
            "booking_reason_required",
            "请写明拒绝理由",
            "give the reason for the rejection",
            fields={"reason": ""},
        )
    booking.status = BookingStatus.REJECTED
    booking.decided_by = acting_user
    booking.decided_at = now
    booking.decision_reason = reason
    booking.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    log_append(
        action=VenuesAction.BOOKING_REJECTED,
        actor=acting_user,
        obj=booking,
        data={**_snapshot(booking), "reason_sha256": sha256_hex(reason)},
    )
    _notify(
        [booking.requested_by],
        subject=f"场地预约未获确认 / Booking rejected: {booking.room.name}",
        body=f"{_booking_summary(booking)}\n\n{reason}",
    )
    return booking


def _after_change_notify(acting_user: Any, booking: Booking, role: str, what: str) -> None:
    _notify(
        _centre_staff(booking.room.centre_id),
        subject=f"场地预约{what}待确认 / Booking change to confirm: {booking.room.name}",
        body=_booking_summary(booking),
    )
    if role == "staff" and booking.requested_by_id != acting_user.pk:
        _notify(
            [booking.requested_by],
            subject=f"场地预约已{what} / Your booking was changed: {booking.room.name}",
            body=_booking_summary(booking),
        )


@transaction.atomic
def booking_change(
    *,
    acting_user: Any,
    booking: Booking,
    room: Room | None = None,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
) -> Booking:
    """Move a booking that has not started to another time or room (seed 002 §6.3.3): checked
    against the other bookings, then back to "requested" for staff to confirm."""
    if not (
        has_permission(acting_user, Permission.BOOKING_DECIDE)
        or has_permission(acting_user, Permission.BOOKING_REQUEST)
    ):
        require(acting_user, Permission.BOOKING_REQUEST)
    current_room_id = Booking.objects.values_list("room_id", flat=True).get(pk=booking.pk)
    target = _lock_room(room.pk if room is not None else current_room_id)
    booking = _lock_booking(booking.pk)
    if booking.room_id != current_room_id:
        raise Conflict(
            "booking_busy", "该预约正被他人修改，请重试", "the booking is being changed; try again"
        )
    role = _booking_actor(acting_user, booking)
    now = clock.now()
    _guard(
        booking,
        booking.can_change(now),
        "booking_not_changeable",
        "只能变更尚未开始的有效预约（已开始的可申请延长）",
        "only a live booking that has not started can be changed (a started one can be extended)",
    )
    new_starts = starts_at if starts_at is not None else booking.starts_at
    new_ends = ends_at if ends_at is not None else booking.ends_at
    if target.pk == booking.room_id and new_starts == booking.starts_at and new_ends == booking.ends_at:
        raise ValidationFailed(
            "booking_change_empty", "没有变更任何内容", "nothing to change: give a new room or time"
        )
    if target.centre_id != booking.room.centre_id:
        raise ValidationFailed(
            "booking_room_other_centre",
            "只能改到同一交易中心的场地",
            "a booking can move only to a room of the same trading centre",
            fields={"room_id": ""},
        )
    _check_times(purpose=booking.purpose, starts_at=new_starts, ends_at=new_ends, now=now)
    _check_room(room=target, purpose=booking.purpose, seats_needed=booking.seats_needed)
    _refuse_conflict(room=target, starts_at=new_starts, ends_at=new_ends, exclude_pk=booking.pk)
    before = _snapshot(booking)
    booking.room = target
    booking.starts_at, booking.ends_at = new_starts, new_ends
    booking.status = BookingStatus.REQUESTED
    booking.decided_by, booking.decided_at, booking.decision_reason = None, None, ""
    booking.save()
    log_append(
        action=VenuesAction.BOOKING_CHANGED,
        actor=acting_user,
        obj=booking,
        data={"before": before, "after": _snapshot(booking), "by": role},
    )
    _after_change_notify(acting_user, booking, role, "变更")
    return booking


@transaction.atomic
def booking_extend(*, acting_user: Any, booking: Booking, ends_at: dt.datetime) -> Booking:
    """Extend a live booking's end (seed 002 §6.3.3: 延长使用), even while it runs; checked against
    the other bookings, then back to "requested" for staff to confirm."""
    if not (
        has_permission(acting_user, Permission.BOOKING_DECIDE)
        or has_permission(acting_user, Permission.BOOKING_REQUEST)
    ):
        require(acting_user, Permission.BOOKING_REQUEST)
    _require_aware(ends_at=ends_at)
    current_room_id = Booking.objects.values_list("room_id", flat=True).get(pk=booking.pk)
    room = _lock_room(current_room_id)
    booking = _lock_booking(booking.pk)
    if booking.room_id != current_room_id:
        raise Conflict(
            "booking_busy", "该预约正被他人修改，请重试", "the booking is being changed; try again"
        )
    role = _booking_actor(acting_user, booking)
    now = clock.now()
    _guard(
        booking,
        booking.can_extend(now),
        "booking_not_extendable",
        "只能延长尚未结束的有效预约",
        "only a live booking that has not ended can be extended",
    )
    if ends_at <= booking.ends_at:
        raise ValidationFailed(
            "booking_extend_not_later",
            "延长后的结束时间须晚于原结束时间",
            "the new end must be later than the current end",
            fields={"ends_at": ""},
        )
    _check_midnight(purpose=booking.purpose, starts_at=booking.starts_at, ends_at=ends_at)
    _refuse_conflict(room=room, starts_at=booking.starts_at, ends_at=ends_at, exclude_pk=booking.pk)
    before = _snapshot(booking)
    booking.ends_at = ends_at
    booking.status = BookingStatus.REQUESTED
    booking.decided_by, booking.decided_at, booking.decision_reason = None, None, ""
    booking.save()
    log_append(
        action=VenuesAction.BOOKING_EXTENDED,
        actor=acting_user,
        obj=booking,
        data={"before": before, "after": _snapshot(booking), "by": role},
    )
    _after_change_notify(acting_user, booking, role, "延长")
    return booking


@transaction.atomic
def booking_cancel(*, acting_user: Any, booking: Booking, reason: str = "") -> Booking:
    """The requester or the room's staff cancel a live booking; staff say why."""
    if not (
        has_permission(acting_user, Permission.BOOKING_DECIDE)
        or has_permission(acting_user, Permission.BOOKING_REQUEST)
    ):
        require(acting_user, Permission.BOOKING_REQUEST)
    booking = _lock_booking(booking.pk)
    role = _booking_actor(acting_user, booking)
    now = clock.now()
    _guard(
        booking,
        booking.can_cancel(now),
        "booking_not_cancellable",
        "只能取消尚未结束的有效预约",
        "only a live booking that has not ended can be cancelled",
    )
    reason = _text(reason, field="reason")
    if role == "staff" and not reason:
        raise ValidationFailed(
            "booking_reason_required",
            "请写明取消理由",
            "give the reason for the cancellation",
            fields={"reason": ""},
        )
    before = _snapshot(booking)
    booking.status = BookingStatus.CANCELLED
    booking.decision_reason = reason
    booking.save(update_fields=["status", "decision_reason"])
    log_append(
        action=VenuesAction.BOOKING_CANCELLED,
        actor=acting_user,
        obj=booking,
        data={"before": before, "by": role, "reason_sha256": sha256_hex(reason) if reason else ""},
    )
    recipients = _centre_staff(booking.room.centre_id) if role == "requester" else [booking.requested_by]
    _notify(
        [u for u in recipients if u.pk != acting_user.pk],
        subject=f"场地预约已取消 / Booking cancelled: {booking.room.name}",
        body=f"{_booking_summary(booking)}\n\n{reason}".strip(),
    )
    return booking
