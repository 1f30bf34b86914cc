"""Experts writes: remote off-site evaluation (远程异地评标, seed 004) and the committee (评标委员会).

Remote evaluation: the main venue (主场) is the project's own trading centre; the secondary venues
(副场) are drawn at random among the centres with an evaluation room holding enough free
remote-evaluation seats during the evaluation, excluding the own centre and, on request, its
region. Each secondary centre gets an invitation (要约) naming only a project alias code (四不知):
its staff accept (the room is booked) or decline (another centre is drawn). When every secondary
venue has accepted, the experts are drawn per venue in one joint request (helper B's
``extraction_run``).

The venue draw is verifiable like the expert draw: before each pick the log gets the SHA-256 of
the candidate list (sorted centre ids, ``venue_candidates_document``) and of a fresh 32-byte seed
(``venue_draw_committed``); the pick is ``venue_pick`` — the lowest
``venue_rank(seed, round, centre_id)`` = SHA-256(seed ‖ "venue" ‖ f"{round}:{centre_id}"); the seed
is published when the result is decided, and ``venue_draws_replay`` (``tenderhall experts replay``)
checks both hashes and the pick.

Committee: at each venue the venue's staff check experts in (identity confirmed, devices stored)
and a seat is allocated at random among the room's free seats; the first check-in starts the
evaluation (identities revealed to the committee). Each member sees the bidder list and declares
no conflict or recuses (回避) — a recusal calls the next reserve of the same demand. Once every
place is filled by a member who declared no conflict, the committee is formed (法 Art 37 checked
again on the seated members) and elects its leader: a strict majority of the members' votes wins;
when everybody has voted and nobody has a majority the round is void, the votes are cleared
(logged with the tally) and the members vote again. A member may recuse as long as the committee
sits (条例 Art 46), also after the election; when the leader recuses, the leader's place is vacant
(logged), every vote is cleared and the committee elects again once it is formed again.

A declined invitation keeps its venue row (invitation DECLINED, no demands: they moved to the
replacement venue), as the record of who declined; only PENDING secondary venues are waited for
(extraction_run must skip DECLINED venues, not treat them as unconfirmed).

Locks are taken in one order: request → venues → rooms → members → log head.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from tenderhall.accounts.models import Organization, OrganizationKind, Role, User
from tenderhall.core import clock
from tenderhall.core.canonical import canonical_json, sha256_hex
from tenderhall.core.errors import Conflict, NotFound, ValidationFailed
from tenderhall.core.models import LogEvent, NotificationChannel
from tenderhall.core.notifications import notification_enqueue
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.core.transparency import log_append
from tenderhall.experts.live import extraction_changed
from tenderhall.experts.models import (
    AssignmentStatus,
    CommitteeMember,
    ExtractionAssignment,
    ExtractionDemand,
    ExtractionRequest,
    ExtractionStatus,
    ExtractionVenue,
    InvitationStatus,
    Specialty,
    VenueRole,
)
from tenderhall.experts.selectors.committee import LEADER_VACATED_ACTION, committee_places
from tenderhall.experts.services.extraction import (
    DemandSpec,
    committee_rules_check,
    evaluation_times_check,
    extraction_run,
    normalize_rules,
    project_alias,
)
from tenderhall.experts.services.extraction import reserve_call_next as _reserve_call_next
from tenderhall.projects.models import Section, SectionStatus
from tenderhall.venues.models import (
    HOLDING_STATUSES,
    Booking,
    BookingPurpose,
    BookingStatus,
    Room,
    RoomKind,
    Seat,
)

# Sections that can still be evaluated: bidding is open or over, no result yet.
EVALUABLE_SECTION = (
    SectionStatus.ANNOUNCED,
    SectionStatus.OPENING,
    SectionStatus.OPENED,
    SectionStatus.EVALUATING,
)
MAX_SECONDARY_VENUES = 5
# Venue staff may check experts in from this long before the evaluation starts.
CHECK_IN_OPENS = dt.timedelta(hours=2)
MAX_REASON = 200
VENUE_PICK_RULE = "lowest sha256(seed || 'venue' || f'{round}:{centre_id}') among the candidates, ties by id"


class CommitteeAction:
    """Audit action tags of the remote-evaluation and committee part."""

    REMOTE_CREATED = "experts.remote.created"
    VENUE_DRAW_COMMITTED = "experts.remote.venue_draw_committed"  # hashes, before the pick
    VENUE_DRAWN = "experts.remote.venue_drawn"
    VENUE_DRAW_FAILED = "experts.remote.venue_draw_failed"
    INVITATION_ACCEPTED = "experts.remote.invitation_accepted"
    INVITATION_DECLINED = "experts.remote.invitation_declined"
    VENUE_BOOKED = "experts.remote.venue_booked"
    EVALUATION_STARTED = "experts.committee.evaluation_started"
    CHECKED_IN = "experts.committee.checked_in"
    DECLARED = "experts.committee.declared_no_conflict"
    RECUSED = "experts.committee.recused"
    VOTED = "experts.committee.voted"
    ROUND_VOID = "experts.committee.election_round_void"
    LEADER_ELECTED = "experts.committee.leader_elected"
    # The leader recused: the place is vacant until the committee elects again (the tag lives with
    # the selector that reads it for the committee page).
    LEADER_VACATED = LEADER_VACATED_ACTION
    VIEWED = "experts.committee.viewed"


# ---- small helpers ------------------------------------------------------------------------------


def _reason(value: str, *, required: bool, field: str = "reason") -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed("reason_required", "请写明理由", "give the reason", fields={field: ""})
    if len(value) > MAX_REASON:
        raise ValidationFailed(
            "text_too_long",
            f"内容过长（最多 {MAX_REASON} 字）",
            f"too long (at most {MAX_REASON} characters)",
            fields={field: ""},
        )
    return value


def _spans_midnight(starts_at: dt.datetime, ends_at: dt.datetime) -> bool:
    start = starts_at.astimezone(clock.LOCAL_TZ)
    next_midnight = dt.datetime.combine(
        start.date() + dt.timedelta(days=1), dt.time(0), tzinfo=clock.LOCAL_TZ
    )
    return ends_at > next_midnight


def _check_window(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    evaluation_times_check(starts_at, ends_at)
    if _spans_midnight(starts_at, ends_at):
        # Overnight evaluation needs an overnight room (seed 002 §6.3.2); remote seats are day rooms.
        raise ValidationFailed(
            "evaluation_spans_midnight",
            "远程异地评标须在同一天内（隔夜评标请预约隔夜评标室）",
            "a remote evaluation must fit within one day (book an overnight room for overnight ones)",
            article="seed 002 §6.3.2",
            fields={"evaluation_ends_at": ""},
        )


def venue_rank(seed: bytes, draw_round: int, centre_id: int) -> str:
    """The documented rank of a candidate centre in one venue draw: the lowest rank wins."""
    return hashlib.sha256(seed + b"venue" + f"{draw_round}:{centre_id}".encode()).hexdigest()


def _free_rooms(
    *, centre_id: int, starts_at: dt.datetime, ends_at: dt.datetime, seats: int, remote_only: bool
) -> list[Room]:
    """Active evaluation rooms of a centre, free during the window, with enough (remote) seats;
    best fit first (fewest seats, then id)."""
    busy = Booking.objects.filter(
        status__in=HOLDING_STATUSES, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).values("room_id")
    rooms = Room.objects.filter(centre_id=centre_id, kind=RoomKind.EVALUATION, is_active=True).exclude(
        pk__in=busy
    )
    fits: list[tuple[int, int, Room]] = []
    for room in rooms.prefetch_related("seats"):
        count = sum(1 for s in room.seats.all() if s.is_remote_evaluation or not remote_only)
        if count >= seats:
            fits.append((count, room.pk, room))
    return [room for _, _, room in sorted(fits, key=lambda f: (f[0], f[1]))]


def eligible_centres(
    *,
    section: Section,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    seats: int,
    exclude_own_region: bool,
    exclude_ids: Sequence[int] = (),
) -> list[int]:
    """Trading centres that could host a secondary venue: not the project's centre, not already
    invited, outside its region if asked, with active staff and a free room with enough remote
    seats. Sorted ids (the committed candidate list of a venue draw)."""
    own = section.project.centre
    centres = Organization.objects.filter(kind=OrganizationKind.TRADING_CENTRE, is_active=True).exclude(
        pk__in=[own.pk, *exclude_ids]
    )
    if exclude_own_region and own.region:
        centres = centres.exclude(region=own.region)
    staffed = User.objects.filter(role=Role.STAFF, is_active=True).values("organization_id")
    centres = centres.filter(pk__in=staffed).order_by("pk")
    return [
        c.pk
        for c in centres
        if _free_rooms(centre_id=c.pk, starts_at=starts_at, ends_at=ends_at, seats=seats, remote_only=True)
    ]


def _notify_staff(centre_id: int, *, subject: str, body: str) -> None:
    for user in User.objects.filter(organization_id=centre_id, role=Role.STAFF, is_active=True).order_by(
        "pk"
    ):
        notification_enqueue(recipient=user, channel=NotificationChannel.IN_APP, subject=subject, body=body)


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _invitation_text(venue: ExtractionVenue, request: ExtractionRequest) -> str:
    # No project, no tenderer, no section: only the alias, the time and the seats (四不知).
    return (
        f"项目代号 / Project code: {venue.project_alias}\n"
        f"评标时间 / Time: {_local(request.evaluation_starts_at)} – {_local(request.evaluation_ends_at)}\n"
        f"远程评标席位 / Remote seats: {venue.seats}"
    )


def _venue_seats(demands: Sequence[DemandSpec]) -> int:
    return sum(d.count for d in demands)


def _lock_request(pk: int) -> ExtractionRequest:
    """The request, locked for a write; its watchers get a live push once that write commits
    (nothing if it rolls back)."""
    extraction_changed(pk)
    return (
        ExtractionRequest.objects.select_for_update(of=("self",))
        .select_related("section__project__centre")
        .get(pk=pk)
    )


def venue_candidates_document(
    *, request_id: int, draw_round: int, seats: int, candidates: Sequence[int]
) -> dict[str, Any]:
    """What a venue draw commits to before the pick: the request, the round, the seats wanted and
    the candidate centres (sorted ids). Its SHA-256 (of the canonical JSON) is logged."""
    return {
        "request": request_id,
        "round": draw_round,
        "seats": seats,
        "candidates": sorted(int(c) for c in candidates),
    }


def venue_candidates_sha256(document: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json(dict(document)))


def venue_pick(seed: bytes, draw_round: int, candidates: Sequence[int]) -> int:
    """The documented deterministic pick: the candidate with the lowest ``venue_rank`` (ties,
    impossible in practice, by id)."""
    return min(candidates, key=lambda centre_id: (venue_rank(seed, draw_round, centre_id), centre_id))


def _draw_secondary(
    *,
    request: ExtractionRequest,
    seats: int,
    draw_round: int,
    actor: Any,
) -> ExtractionVenue | None:
    """Draw one secondary centre and invite it; None when no centre is left (logged).

    Like the expert draw (docs/extraction.md steps 4-5): the hashes of the candidate list and of a
    fresh seed are logged (``venue_draw_committed``) before the pick; the pick is ``venue_pick``;
    the candidates and the seed are kept on the venue row, the seed published when the result is
    decided (``extraction_result_decide``) and checked by ``venue_draws_replay``."""
    section = request.section
    taken = list(request.venues.values_list("centre_id", flat=True))
    exclude_own_region = bool(request.rules.get("exclude_own_region", False))
    pool = eligible_centres(
        section=section,
        starts_at=request.evaluation_starts_at,
        ends_at=request.evaluation_ends_at,
        seats=seats,
        exclude_own_region=exclude_own_region,
        exclude_ids=taken,
    )
    if not pool:
        log_append(
            action=CommitteeAction.VENUE_DRAW_FAILED,
            actor=actor,
            obj=request,
            data={"round": draw_round, "seats": seats, "excluded": sorted(taken)},
        )
        return None
    document = venue_candidates_document(
        request_id=request.pk, draw_round=draw_round, seats=seats, candidates=pool
    )
    candidates = document["candidates"]
    candidates_sha = venue_candidates_sha256(document)
    seed = secrets.token_bytes(32)
    seed_sha = hashlib.sha256(seed).hexdigest()
    # Committed before the pick: the candidates and the seed, as hashes only.
    committed = log_append(
        action=CommitteeAction.VENUE_DRAW_COMMITTED,
        actor=actor,
        obj=request,
        data={
            "request": request.pk,
            "round": draw_round,
            "seats": seats,
            "candidates_sha256": candidates_sha,
            "candidates_count": len(candidates),
            "seed_sha256": seed_sha,
            "pick": VENUE_PICK_RULE,
        },
    )
    chosen = venue_pick(seed, draw_round, candidates)
    alias = request.venues.values_list("project_alias", flat=True).first() or project_alias()
    room = _free_rooms(
        centre_id=chosen,
        starts_at=request.evaluation_starts_at,
        ends_at=request.evaluation_ends_at,
        seats=seats,
        remote_only=True,
    )[0]
    now = clock.now()
    venue = ExtractionVenue.objects.create(
        request=request,
        centre_id=chosen,
        role=VenueRole.SECONDARY,
        room=room,
        seats=seats,
        project_alias=alias,
        invitation=InvitationStatus.PENDING,
        invited_at=now,
        draw_round=draw_round,
        draw_candidates=candidates,
        draw_candidates_sha256=candidates_sha,
        draw_seed_sha256=seed_sha,
        draw_seed_hex=seed.hex(),
    )
    log_append(
        action=CommitteeAction.VENUE_DRAWN,
        actor=actor,
        obj=venue,
        data={
            "request": request.pk,
            "round": draw_round,
            "committed": committed.index,
            "chosen": chosen,
            "seats": seats,
        },
    )
    _notify_staff(
        chosen,
        subject=f"远程异地评标要约 / Remote evaluation invitation: {alias}",
        body=_invitation_text(venue, request),
    )
    return venue


def _specialty(code: str) -> Specialty:
    specialty = Specialty.objects.filter(code=(code or "").strip()).first()
    if specialty is None:
        raise ValidationFailed(
            "specialty_unknown",
            f"专业代码不存在：{code}",
            f"unknown specialty code: {code}",
            fields={"demands": ""},
        )
    return specialty


# ---- remote evaluation: request, invitations ----------------------------------------------------


@transaction.atomic
def remote_evaluation_create(
    *,
    acting_user: Any,
    section: Section,
    evaluation_starts_at: dt.datetime,
    evaluation_ends_at: dt.datetime,
    secondary_venues: int,
    exclude_own_region: bool,
    demands: Sequence[Sequence[DemandSpec]],
    rules: Mapping[str, Any] | None = None,
    reply_minutes: int = 30,
    tenderer_representatives: int = 0,
) -> ExtractionRequest:
    """A remote evaluation (远程异地评标, seed 004) for a section: ``demands[0]`` are the main
    venue's, ``demands[i]`` the i-th secondary venue's (``len(demands) == 1 + secondary_venues``).
    The main venue (the project's centre) gets a free evaluation room; the secondary centres are
    drawn and invited. Status INVITING until every invitation is accepted."""
    require(acting_user, Permission.EXTRACTION_REQUEST)
    project = section.project
    if acting_user.organization_id is None or acting_user.organization_id != project.centre_id:
        # Only the project's own centre organizes its evaluation; the rest learn nothing.
        raise NotFound("标段", "section")
    if section.status not in EVALUABLE_SECTION:
        raise Conflict(
            "section_not_evaluable",
            "该标段当前不能组织评标",
            "this section cannot be evaluated in its current state",
            extra={"section_status": section.status},
        )
    if not 1 <= secondary_venues <= MAX_SECONDARY_VENUES:
        raise ValidationFailed(
            "secondary_venues_invalid",
            f"副场数量须为 1-{MAX_SECONDARY_VENUES} 个",
            f"a remote evaluation has 1-{MAX_SECONDARY_VENUES} secondary venues",
            article="seed 004",
            fields={"secondary_venues": ""},
        )
    if len(demands) != 1 + secondary_venues:
        raise ValidationFailed(
            "venue_demands_mismatch",
            "须为主场和每个副场分别填写专家需求",
            "give the experts wanted at the main venue and at each secondary venue",
            fields={"demands": ""},
        )
    for i, venue_demands in enumerate(demands):
        if not venue_demands or any(d.count < 1 or d.reserves < 0 for d in venue_demands):
            raise ValidationFailed(
                "venue_demands_empty",
                f"第 {i + 1} 个评标场地的专家需求无效（每项至少 1 人，备选不能为负）",
                f"venue {i + 1}: each demand needs at least one expert and no negative reserves",
                fields={"demands": ""},
            )
    if not 1 <= reply_minutes <= 24 * 60:
        raise ValidationFailed(
            "reply_minutes_invalid",
            "答复时限须为 1-1440 分钟",
            "the reply time must be 1-1440 minutes",
            fields={"reply_minutes": ""},
        )
    _check_window(evaluation_starts_at, evaluation_ends_at)
    flat = [d for venue_demands in demands for d in venue_demands]
    # 法 Art 37: the whole committee across venues (≥ 5, odd, experts ≥ 2/3) — before anything.
    committee_rules_check(demands=flat, tenderer_representatives=tenderer_representatives)
    specialties = {d.specialty_code: _specialty(d.specialty_code) for d in flat}

    main_seats = _venue_seats(demands[0]) + tenderer_representatives
    main_booking = (
        Booking.objects.select_for_update()
        .filter(
            section=section,
            purpose=BookingPurpose.EVALUATION,
            status__in=HOLDING_STATUSES,
            starts_at__lte=evaluation_starts_at,
            ends_at__gte=evaluation_ends_at,
        )
        .order_by("pk")
        .first()
    )
    now = clock.now()
    if main_booking is None:
        free = _free_rooms(
            centre_id=project.centre_id,
            starts_at=evaluation_starts_at,
            ends_at=evaluation_ends_at,
            seats=main_seats,
            remote_only=False,
        )
        if not free:
            raise Conflict(
                "main_venue_no_room",
                f"本中心在评标时段没有空闲且至少有 {main_seats} 个座位的评标室",
                f"your centre has no evaluation room with {main_seats} seats free at that time",
                article="seed 002 §6.3.2",
                fields={"evaluation_starts_at": ""},
            )
        room = Room.objects.select_for_update().get(pk=free[0].pk)
        main_booking = _book(
            room=room,
            section=section,
            starts_at=evaluation_starts_at,
            ends_at=evaluation_ends_at,
            seats=main_seats,
            by=acting_user,
            note="",
        )

    rules_in_force = normalize_rules({**dict(rules or {}), "exclude_own_region": bool(exclude_own_region)})
    request = ExtractionRequest.objects.create(
        section=section,
        is_remote=True,
        evaluation_starts_at=evaluation_starts_at,
        evaluation_ends_at=evaluation_ends_at,
        status=ExtractionStatus.INVITING,
        rules=rules_in_force,
        reply_minutes=reply_minutes,
        tenderer_representatives=tenderer_representatives,
        requested_by=acting_user,
        requested_at=now,
    )
    extraction_changed(request.pk)
    alias = project_alias()
    main = ExtractionVenue.objects.create(
        request=request,
        centre_id=project.centre_id,
        role=VenueRole.MAIN,
        room_id=main_booking.room_id,
        booking=main_booking,
        seats=main_seats,
        project_alias=alias,
        invitation=InvitationStatus.NOT_NEEDED,
    )
    _create_demands(request=request, venue=main, demands=demands[0], specialties=specialties)
    log_append(
        action=CommitteeAction.REMOTE_CREATED,
        actor=acting_user,
        obj=request,
        data={
            "request": request.pk,
            "section": section.pk,
            "secondary_venues": secondary_venues,
            "exclude_own_region": bool(exclude_own_region),
            "tenderer_representatives": tenderer_representatives,
            "main_room": main_booking.room_id,
            "alias_sha256": sha256_hex(alias),
        },
        # 四不知: every centre's staff read the log; the link between the request (whose id the
        # secondary venues see) and the section stays behind the seal until the evaluation starts.
        sealed=True,
        public_data={
            "request": request.pk,
            "evaluation_starts_at": evaluation_starts_at,
            "evaluation_ends_at": evaluation_ends_at,
            "secondary_venues": secondary_venues,
            "demands": [
                [{"specialty": d.specialty_code, "count": d.count, "reserves": d.reserves} for d in v]
                for v in demands
            ],
        },
    )
    for round_no, venue_demands in enumerate(demands[1:], start=1):
        venue = _draw_secondary(
            request=request, seats=_venue_seats(venue_demands), draw_round=round_no, actor=acting_user
        )
        if venue is None:
            # Never silently fewer venues: the whole request is refused and rolled back.
            raise Conflict(
                "no_secondary_venue",
                f"没有足够的交易中心在该时段有 {_venue_seats(venue_demands)} 个空闲远程评标席位",
                f"not enough trading centres have {_venue_seats(venue_demands)} free remote seats then",
                article="seed 004",
                fields={"secondary_venues": ""},
            )
        _create_demands(request=request, venue=venue, demands=venue_demands, specialties=specialties)
    return request


def _create_demands(
    *,
    request: ExtractionRequest,
    venue: ExtractionVenue,
    demands: Sequence[DemandSpec],
    specialties: Mapping[str, Specialty],
) -> None:
    ExtractionDemand.objects.bulk_create(
        ExtractionDemand(
            request=request,
            venue=venue,
            specialty=specialties[d.specialty_code],
            count=d.count,
            reserves=d.reserves,
        )
        for d in demands
    )


def _book(
    *,
    room: Room,
    section: Section | None,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    seats: int,
    by: Any,
    note: str,
) -> Booking:
    """A confirmed evaluation booking made by the centre itself; the room row is locked by the
    caller, and the overlap is checked again under that lock."""
    overlap = Booking.objects.filter(
        room_id=room.pk, status__in=HOLDING_STATUSES, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).exists()
    if overlap:
        raise Conflict(
            "booking_conflict",
            f"场地“{room.name}”在该时段已被占用",
            f"room {room.name} is taken at that time",
        )
    now = clock.now()
    booking = Booking.objects.create(
        room=room,
        section=section,
        purpose=BookingPurpose.EVALUATION,
        starts_at=starts_at,
        ends_at=ends_at,
        seats_needed=seats,
        status=BookingStatus.CONFIRMED,
        requested_by=by,
        requested_at=now,
        decided_by=by,
        decided_at=now,
        note=note,
    )
    log_append(
        action=CommitteeAction.VENUE_BOOKED,
        actor=by,
        obj=booking,
        data={"room": room.pk, "starts_at": starts_at, "ends_at": ends_at, "seats": seats},
    )
    return booking


def _own_venue(acting_user: Any, venue: ExtractionVenue) -> None:
    if acting_user.organization_id is None or acting_user.organization_id != venue.centre_id:
        raise NotFound("评标场地", "venue")


@transaction.atomic
def venue_invitation_answer(
    *, acting_user: Any, venue: ExtractionVenue, accept: bool, reason: str = ""
) -> ExtractionVenue:
    """The secondary centre's staff answer the invitation (要约确认, seed 004 三(五)1). Accepting
    books the room; declining draws another centre; the last acceptance starts the draw of the
    experts (helper B's ``extraction_run``)."""
    require(acting_user, Permission.VENUE_INVITATION_ANSWER)
    _own_venue(acting_user, venue)
    request = _lock_request(venue.request_id)
    venue = ExtractionVenue.objects.select_for_update().get(pk=venue.pk)
    if venue.role != VenueRole.SECONDARY or venue.invitation != InvitationStatus.PENDING:
        raise Conflict(
            "invitation_not_pending",
            "该要约不在待确认状态",
            "this invitation is not waiting for an answer",
            extra={"invitation": venue.invitation},
        )
    if request.status != ExtractionStatus.INVITING:
        raise Conflict(
            "request_not_inviting",
            "该远程评标已不再邀请副场",
            "this remote evaluation no longer invites venues",
            extra={"request_status": request.status},
        )
    now = clock.now()
    if now >= request.evaluation_starts_at:
        raise Conflict(
            "invitation_too_late",
            "评标已开始，要约已失效",
            "the evaluation has started; the invitation lapsed",
        )
    reason = _reason(reason, required=not accept)
    venue.answered_at, venue.answered_by, venue.answer_reason = now, acting_user, reason
    if accept:
        free = _free_rooms(
            centre_id=venue.centre_id,
            starts_at=request.evaluation_starts_at,
            ends_at=request.evaluation_ends_at,
            seats=venue.seats,
            remote_only=True,
        )
        preferred = [r for r in free if r.pk == venue.room_id] or free
        if not preferred:
            raise Conflict(
                "invitation_no_room",
                "本中心在该时段已没有足够的空闲远程评标席位，请拒绝该要约",
                "your centre no longer has enough free remote seats then; decline the invitation",
            )
        room = Room.objects.select_for_update().get(pk=preferred[0].pk)
        # 四不知: the booking names the alias, not the section.
        venue.booking = _book(
            room=room,
            section=None,
            starts_at=request.evaluation_starts_at,
            ends_at=request.evaluation_ends_at,
            seats=venue.seats,
            by=acting_user,
            note=f"远程异地评标副场 / Remote evaluation {venue.project_alias}",
        )
        venue.room = room
        venue.invitation = InvitationStatus.ACCEPTED
        venue.save()
        log_append(
            action=CommitteeAction.INVITATION_ACCEPTED,
            actor=acting_user,
            obj=venue,
            data={"request": request.pk, "room": room.pk, "seats": venue.seats},
        )
        pending = request.venues.filter(
            role=VenueRole.SECONDARY, invitation=InvitationStatus.PENDING
        ).exists()
        if not pending:
            # Every secondary venue confirmed: one joint draw for all venues (seed 004 三(二)3).
            # A pool too small leaves the request FAILED with its report; the acceptance stands.
            extraction_run(acting_user=request.requested_by, request=request, raise_on_failure=False)
        return venue

    venue.invitation = InvitationStatus.DECLINED
    demands = list(venue.demands.all())
    venue.save()
    log_append(
        action=CommitteeAction.INVITATION_DECLINED,
        actor=acting_user,
        obj=venue,
        data={"request": request.pk, "reason_sha256": sha256_hex(reason)},
    )
    # Rounds number every draw of the request (1..n at creation, then n+1, ...): each is committed once.
    draw_round = request.venues.filter(role=VenueRole.SECONDARY).count() + 1
    replacement = _draw_secondary(
        request=request, seats=venue.seats, draw_round=draw_round, actor=acting_user
    )
    if replacement is None:
        request.status = ExtractionStatus.FAILED
        request.failure = {
            "reason": "no_secondary_venue",
            "zh": "没有其他交易中心可接替拒绝要约的副场",
            "en": "no other trading centre can replace the declined secondary venue",
            "seats": venue.seats,
        }
        request.save(update_fields=["status", "failure"])
        _notify_staff(
            request.section.project.centre_id,
            subject="远程异地评标副场不足 / Remote evaluation: no secondary venue left",
            body=f"{request.section.code} · {_local(request.evaluation_starts_at)}",
        )
        return venue
    # The declined venue's places move to the new one; the declined row stays as the record.
    ExtractionDemand.objects.filter(pk__in=[d.pk for d in demands]).update(venue=replacement)
    return venue


# ---- committee: check-in, start, declarations, recusal, leader ----------------------------------


def _main_staff(acting_user: Any, request: ExtractionRequest) -> None:
    require(acting_user, Permission.COMMITTEE_CHECK_IN)
    if (
        acting_user.organization_id is None
        or acting_user.organization_id != request.section.project.centre_id
    ):
        raise NotFound("评标委员会", "committee")


def _start(request: ExtractionRequest, actor: Any, now: dt.datetime) -> None:
    request.status = ExtractionStatus.EVALUATING
    request.save(update_fields=["status"])
    log_append(
        action=CommitteeAction.EVALUATION_STARTED,
        actor=actor,
        obj=request,
        data={"at": now, "section": request.section_id},
    )


@transaction.atomic
def evaluation_start(*, acting_user: Any, request: ExtractionRequest) -> ExtractionRequest:
    """The main venue's staff start the evaluation: identities are revealed to the committee and
    the secondary centres see the project (四不知 ends)."""
    _main_staff(acting_user, request)
    request = _lock_request(request.pk)
    if request.status != ExtractionStatus.COMPLETE:
        raise Conflict(
            "evaluation_not_startable",
            "只有抽取完成（全部专家已确认）后才能开始评标",
            "the evaluation starts only once every drawn expert has accepted",
            extra={"request_status": request.status},
        )
    now = clock.now()
    if now < request.evaluation_starts_at - CHECK_IN_OPENS:
        raise Conflict(
            "evaluation_too_early",
            "尚未到评标时间",
            "it is too early to start the evaluation",
        )
    _start(request, acting_user, now)
    return request


def _random_seat(venue: ExtractionVenue, request: ExtractionRequest) -> Seat | None:
    if venue.room_id is None:
        return None
    taken = CommitteeMember.objects.filter(
        request=request, seat__isnull=False, recused_at__isnull=True
    ).values("seat_id")
    seats = Seat.objects.filter(room_id=venue.room_id).exclude(pk__in=taken).order_by("pk")
    if venue.role == VenueRole.SECONDARY:
        seats = seats.filter(is_remote_evaluation=True)
    free = list(seats)
    if not free:
        raise Conflict("no_free_seat", "该场地已没有空闲座位", "the room has no free seat left")
    # Seats are allocated at random at check-in (issue 6 §6).
    return secrets.SystemRandom().choice(free)


def _check_in_guards(request: ExtractionRequest, now: dt.datetime) -> None:
    if request.status not in (ExtractionStatus.COMPLETE, ExtractionStatus.EVALUATING):
        raise Conflict(
            "check_in_not_open",
            "抽取尚未完成，不能签到",
            "check-in opens once the extraction is complete",
            extra={"request_status": request.status},
        )
    if now < request.evaluation_starts_at - CHECK_IN_OPENS:
        raise Conflict("check_in_too_early", "尚未到签到时间", "check-in has not opened yet")
    if now >= request.evaluation_ends_at:
        raise Conflict("check_in_closed", "评标时段已结束", "the evaluation time is over")


def _require_checks(identity_confirmed: bool, devices_stored: bool) -> None:
    if not identity_confirmed:
        raise ValidationFailed(
            "identity_not_confirmed",
            "须先核验专家身份",
            "confirm the expert's identity first",
            article="seed 004 三(一)5",
            fields={"identity_confirmed": ""},
        )
    if not devices_stored:
        raise ValidationFailed(
            "devices_not_stored",
            "须先收存通讯设备",
            "store the expert's phones and devices first",
            fields={"devices_stored": ""},
        )


@transaction.atomic
def committee_check_in(
    *,
    acting_user: Any,
    assignment: ExtractionAssignment,
    identity_confirmed: bool,
    devices_stored: bool,
) -> CommitteeMember:
    """The venue's staff check an expert in: identity confirmed, devices stored, a random seat.
    The first check-in starts the evaluation."""
    require(acting_user, Permission.COMMITTEE_CHECK_IN)
    venue = ExtractionVenue.objects.select_related("room").get(pk=assignment.demand.venue_id)
    _own_venue(acting_user, venue)
    request = _lock_request(assignment.request_id)
    now = clock.now()
    _check_in_guards(request, now)
    assignment = ExtractionAssignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.status != AssignmentStatus.ACCEPTED:
        raise Conflict(
            "assignment_not_accepted",
            "只有已确认参加的专家才能签到",
            "only an expert who accepted can check in",
            extra={"assignment_status": assignment.status},
        )
    if CommitteeMember.objects.filter(assignment=assignment).exists():
        raise Conflict("already_checked_in", "该专家已签到", "this expert has already checked in")
    _require_checks(identity_confirmed, devices_stored)
    member = CommitteeMember.objects.create(
        request=request,
        venue=venue,
        assignment=assignment,
        seat=_random_seat(venue, request),
        checked_in_at=now,
        checked_in_by=acting_user,
        identity_confirmed=True,
        devices_stored=True,
    )
    if request.status == ExtractionStatus.COMPLETE:
        _start(request, acting_user, now)
    # Identities are revealed once the evaluation starts; the event still names no one.
    log_append(
        action=CommitteeAction.CHECKED_IN,
        actor=acting_user,
        obj=member,
        data={"request": request.pk, "venue": venue.pk, "seat": member.seat.label if member.seat else ""},
    )
    return member


@transaction.atomic
def committee_representative_check_in(
    *,
    acting_user: Any,
    request: ExtractionRequest,
    representative: Any,
    identity_confirmed: bool,
    devices_stored: bool,
) -> CommitteeMember:
    """The main venue's staff check in a tenderer's representative (招标人代表, 法 Art 37): a user
    of the section's tenderer, up to the number the request names."""
    _main_staff(acting_user, request)
    request = _lock_request(request.pk)
    now = clock.now()
    _check_in_guards(request, now)
    if (
        representative.organization_id != request.section.project.tenderer_id
        or representative.role != Role.TENDERER
    ):
        raise ValidationFailed(
            "representative_not_tenderer",
            "招标人代表须为本项目招标人的人员",
            "a tenderer's representative must belong to the project's tenderer",
            article="法 Art 37",
            fields={"representative": ""},
        )
    if CommitteeMember.objects.filter(
        request=request, representative=representative, recused_at__isnull=False
    ).exists():
        # 回避 is for the whole evaluation (条例 Art 46): another representative takes the place.
        raise Conflict(
            "representative_recused",
            "该代表已在本次评标中回避，不能再次签到，请由招标人另派代表",
            "this representative has recused from this evaluation and cannot check in again; "
            "the tenderer sends another",
            article="条例 Art 46",
        )
    seated = CommitteeMember.objects.filter(
        request=request, representative__isnull=False, recused_at__isnull=True
    )
    if seated.filter(representative=representative).exists():
        raise Conflict("already_checked_in", "该代表已签到", "this representative has already checked in")
    if seated.count() >= request.tenderer_representatives:
        raise Conflict(
            "representatives_full",
            f"招标人代表名额为 {request.tenderer_representatives} 人，已满",
            f"the request allows {request.tenderer_representatives} tenderer's representatives",
            article="法 Art 37",
        )
    _require_checks(identity_confirmed, devices_stored)
    main = request.venues.select_related("room").get(role=VenueRole.MAIN)
    member = CommitteeMember.objects.create(
        request=request,
        venue=main,
        representative=representative,
        seat=_random_seat(main, request),
        checked_in_at=now,
        checked_in_by=acting_user,
        identity_confirmed=True,
        devices_stored=True,
    )
    if request.status == ExtractionStatus.COMPLETE:
        _start(request, acting_user, now)
    log_append(
        action=CommitteeAction.CHECKED_IN,
        actor=acting_user,
        obj=member,
        data={"request": request.pk, "venue": main.pk, "representative": True},
    )
    return member


def _own_member(acting_user: Any, member: CommitteeMember) -> None:
    """The member themself: the expert of the assignment (COMMITTEE_SIT) or the representative."""
    if member.representative_id is not None and member.representative_id == acting_user.pk:
        return
    require(acting_user, Permission.COMMITTEE_SIT)
    if member.assignment_id is None:
        raise NotFound("评标委员会成员", "committee member")
    expert_user = (
        ExtractionAssignment.objects.filter(pk=member.assignment_id)
        .values_list("expert__user_id", flat=True)
        .first()
    )
    if expert_user is None or expert_user != acting_user.pk:
        raise NotFound("评标委员会成员", "committee member")


def _lock_member(pk: int) -> CommitteeMember:
    return CommitteeMember.objects.select_for_update().get(pk=pk)


def _sitting_guard(request: ExtractionRequest, member: CommitteeMember) -> None:
    if request.status != ExtractionStatus.EVALUATING:
        raise Conflict(
            "evaluation_not_running",
            "评标尚未开始或已结束",
            "the evaluation is not running",
            extra={"request_status": request.status},
        )
    if member.recused_at is not None:
        raise Conflict("member_recused", "该成员已回避", "this member has recused")


@transaction.atomic
def committee_member_declare(*, acting_user: Any, member: CommitteeMember) -> CommitteeMember:
    """The member has seen the bidder list and declares no conflict of interest (条例 Art 46)."""
    _own_member(acting_user, member)
    request = _lock_request(member.request_id)
    member = _lock_member(member.pk)
    _sitting_guard(request, member)
    if member.declared_no_conflict_at is not None:
        raise Conflict("already_declared", "已声明无利害关系", "already declared")
    member.declared_no_conflict_at = clock.now()
    member.save(update_fields=["declared_no_conflict_at"])
    log_append(action=CommitteeAction.DECLARED, actor=acting_user, obj=member, data={"request": request.pk})
    return member


@transaction.atomic
def committee_member_recuse(*, acting_user: Any, member: CommitteeMember, reason: str) -> CommitteeMember:
    """A member recuses (回避), by themself or recorded by the venue's staff, at any time while the
    committee sits — also after the leader's election: 条例 Art 46 (评标委员会成员有应当回避情形的,
    应当主动提出回避) knows no point after which a conflict of interest stops counting. An expert's
    place goes to the next reserve of the same demand; a representative's is filled by the main
    venue's staff checking in another representative. Votes by or for the member are withdrawn.

    When the member was the leader, the leader's place is vacant: ``request.leader`` is cleared,
    every remaining vote is cleared and ``leader_vacated`` is logged; the committee elects again
    (``committee_vote``) once it is formed again (the replacement checked in and declared). Any other
    member's recusal leaves the leader in place."""
    staff_acting = has_permission(acting_user, Permission.COMMITTEE_CHECK_IN)
    if staff_acting:
        venue_centre = ExtractionVenue.objects.values_list("centre_id", flat=True).get(pk=member.venue_id)
        if acting_user.organization_id != venue_centre:
            raise NotFound("评标委员会成员", "committee member")
    else:
        _own_member(acting_user, member)
    reason = _reason(reason, required=True)
    request = _lock_request(member.request_id)
    member = _lock_member(member.pk)
    _sitting_guard(request, member)
    was_leader = request.leader_id == member.pk
    now = clock.now()
    member.recused_at, member.recusal_reason = now, reason
    member.vote_for, member.voted_at = None, None
    member.save(update_fields=["recused_at", "recusal_reason", "vote_for", "voted_at"])
    CommitteeMember.objects.filter(request=request, vote_for=member).update(vote_for=None, voted_at=None)
    log_append(
        action=CommitteeAction.RECUSED,
        actor=acting_user,
        obj=member,
        data={
            "request": request.pk,
            "by": "staff" if staff_acting else "member",
            "reason_sha256": sha256_hex(reason),
            "leader": was_leader,
        },
    )
    if was_leader:
        # The leader's place is vacant; the election starts over from no votes once the committee
        # is formed again (法 Art 37 checked again by committee_vote on the new committee).
        request.leader = None
        request.save(update_fields=["leader"])
        CommitteeMember.objects.filter(request=request).update(vote_for=None, voted_at=None)
        log_append(
            action=CommitteeAction.LEADER_VACATED,
            actor=acting_user,
            obj=request,
            data={"request": request.pk, "former_leader_member": member.pk},
        )
    if member.assignment_id is not None:
        assignment = ExtractionAssignment.objects.select_for_update().get(pk=member.assignment_id)
        assignment.status = AssignmentStatus.RECUSED
        assignment.reason = reason
        assignment.save(update_fields=["status", "reason"])
        # A replacement from the reserves of the same demand (issue 6 §7).
        _reserve_call_next(request=request, demand=assignment.demand, reason="recused")
    return member


def _committee_formed_check(request: ExtractionRequest) -> None:
    places = committee_places(request)
    if not places["complete"]:
        raise Conflict(
            "committee_incomplete",
            "评标委员会尚未组建完成（须全部成员签到并声明无利害关系）",
            "the committee is not formed yet: every place needs a checked-in member who declared no conflict",
            article="法 Art 37",
            extra={"places": places},
        )
    # 法 Art 37 on the seated committee itself, not only on the request.
    committee_rules_check(
        demands=[
            DemandSpec(specialty_code=r["specialty"], count=r["declared"], reserves=0)
            for r in places["demands"]
        ],
        tenderer_representatives=places["representatives"]["declared"],
    )


@transaction.atomic
def committee_vote(
    *, acting_user: Any, member: CommitteeMember, candidate: CommitteeMember
) -> CommitteeMember:
    """A member votes for the leader (评标委员会负责人). Votes may change until the round ends.
    A strict majority of the members elects; a round in which everyone voted without a majority
    is void and starts over (see the module docstring)."""
    _own_member(acting_user, member)
    request = _lock_request(member.request_id)
    members = list(
        CommitteeMember.objects.select_for_update()
        .filter(request=request, recused_at__isnull=True)
        .order_by("pk")
    )
    by_pk = {m.pk: m for m in members}
    voter = by_pk.get(member.pk)
    if voter is None:
        raise Conflict("member_recused", "该成员已回避", "this member has recused")
    _sitting_guard(request, voter)
    if request.leader_id is not None:
        raise Conflict("leader_elected", "组长已选出", "the leader has been elected")
    target = by_pk.get(candidate.pk)
    if target is None or candidate.request_id != request.pk:
        raise ValidationFailed(
            "candidate_invalid",
            "候选人须为本评标委员会的在场成员",
            "the candidate must be a seated member of this committee",
            fields={"candidate": ""},
        )
    _committee_formed_check(request)
    now = clock.now()
    voter.vote_for, voter.voted_at = target, now
    voter.save(update_fields=["vote_for", "voted_at"])
    log_append(
        action=CommitteeAction.VOTED,
        actor=acting_user,
        obj=voter,
        data={"request": request.pk, "candidate": target.pk},
    )
    tally: Counter[int] = Counter(m.vote_for_id for m in members if m.vote_for_id is not None)
    winner, votes = tally.most_common(1)[0]  # the voter just voted: never empty
    if votes * 2 > len(members):
        request.leader_id = winner
        request.save(update_fields=["leader"])
        log_append(
            action=CommitteeAction.LEADER_ELECTED,
            actor=acting_user,
            obj=request,
            data={"leader_member": winner, "votes": votes, "members": len(members), "tally": _tally(tally)},
        )
    elif sum(tally.values()) == len(members):
        # Everyone voted, nobody has a majority: the round is void, everyone votes again.
        CommitteeMember.objects.filter(request=request).update(vote_for=None, voted_at=None)
        log_append(
            action=CommitteeAction.ROUND_VOID,
            actor=acting_user,
            obj=request,
            data={"members": len(members), "tally": _tally(tally)},
        )
        voter.vote_for, voter.voted_at = None, None
    return voter


def _tally(tally: Counter[int]) -> dict[str, int]:
    return {str(k): v for k, v in sorted(tally.items())}


__all__ = [
    "CommitteeAction",
    "committee_check_in",
    "committee_member_declare",
    "committee_member_recuse",
    "committee_representative_check_in",
    "committee_view_log",
    "committee_vote",
    "eligible_centres",
    "evaluation_start",
    "remote_evaluation_create",
    "venue_candidates_document",
    "venue_candidates_sha256",
    "venue_draws_replay",
    "venue_invitation_answer",
    "venue_pick",
    "venue_rank",
]


@transaction.atomic
def committee_view_log(*, acting_user: Any, request: ExtractionRequest, role: str, members: int) -> None:
    """Every view of an expert list is in the log (issue 6 §5); the event names no expert."""
    log_append(
        action=CommitteeAction.VIEWED,
        actor=acting_user,
        obj=request,
        data={"as": role, "members_shown": members, "status": request.status},
    )


# ---- the venue draws, checked against the log ---------------------------------------------------


@dataclass
class VenueDrawCheck:
    """One secondary-venue draw recomputed: the committed hashes against the stored candidates and
    seed, and the pick against the venue drawn."""

    venue: int
    round: int | None
    centre: int
    log_index: int | None = None
    logged_candidates_sha256: str = ""
    logged_seed_sha256: str = ""
    candidates_sha256: str = ""
    seed_sha256: str = ""
    recomputed_centre: int | None = None
    candidates_match: bool = False
    seed_matches: bool = False
    pick_matches: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.candidates_match and self.seed_matches and self.pick_matches


def venue_draw_commitments(request: ExtractionRequest) -> dict[int, dict[str, Any]]:
    """The ``venue_draw_committed`` events of a request as the log holds them, by round."""
    out: dict[int, dict[str, Any]] = {}
    events = LogEvent.objects.filter(
        action=CommitteeAction.VENUE_DRAW_COMMITTED,
        object_type=ExtractionRequest._meta.label_lower,
        object_id=str(request.pk),
    ).order_by("index")
    for event in events:
        data = json.loads(event.payload).get("data", {})
        draw_round = data.get("round")
        if isinstance(draw_round, int):
            out.setdefault(draw_round, {"index": event.index, "count": 0, **data})["count"] += 1
    return out


def venue_draws_replay(
    *, request: ExtractionRequest, seeds: Mapping[int, str] | None = None
) -> list[VenueDrawCheck]:
    """Recompute every secondary-venue draw of a request (declined venues included: they were drawn
    too) from the stored candidates and seed — or the published seed given per round in ``seeds``
    — and check the hashes against the log and the pick against the venue."""
    commitments = venue_draw_commitments(request)
    out = []
    for venue in request.venues.filter(role=VenueRole.SECONDARY).order_by("pk"):
        check = VenueDrawCheck(venue=venue.pk, round=venue.draw_round, centre=venue.centre_id)
        out.append(check)
        committed = commitments.get(venue.draw_round) if venue.draw_round is not None else None
        if committed is None:
            check.problems.append(f"venue {venue.pk}: no commitment for its draw in the log")
            continue
        if committed["count"] != 1:
            check.problems.append(f"venue {venue.pk}: round {venue.draw_round} was committed more than once")
        check.log_index = committed["index"]
        check.logged_candidates_sha256 = str(committed.get("candidates_sha256", ""))
        check.logged_seed_sha256 = str(committed.get("seed_sha256", ""))
        seed_hex = (seeds or {}).get(venue.draw_round, venue.draw_seed_hex)  # type: ignore[arg-type]
        try:
            seed = bytes.fromhex(seed_hex)
        except ValueError:
            check.problems.append(f"venue {venue.pk}: the seed is not hexadecimal")
            continue
        document = venue_candidates_document(
            request_id=request.pk,
            draw_round=venue.draw_round,  # type: ignore[arg-type]
            seats=venue.seats,
            candidates=list(venue.draw_candidates),
        )
        check.candidates_sha256 = venue_candidates_sha256(document)
        check.seed_sha256 = hashlib.sha256(seed).hexdigest()
        check.candidates_match = hmac.compare_digest(check.candidates_sha256, check.logged_candidates_sha256)
        check.seed_matches = hmac.compare_digest(check.seed_sha256, check.logged_seed_sha256)
        if not check.candidates_match:
            check.problems.append(
                f"venue {venue.pk}: the stored candidates do not hash to the committed candidates hash"
            )
        if not check.seed_matches:
            check.problems.append(f"venue {venue.pk}: the seed does not hash to the committed seed hash")
        if document["candidates"]:
            check.recomputed_centre = venue_pick(seed, document["round"], document["candidates"])
        check.pick_matches = check.recomputed_centre == venue.centre_id and committed["count"] == 1
        if check.recomputed_centre != venue.centre_id:
            check.problems.append(
                f"venue {venue.pk}: the recomputed pick is centre {check.recomputed_centre}, "
                f"the venue is centre {venue.centre_id}"
            )
    return out
