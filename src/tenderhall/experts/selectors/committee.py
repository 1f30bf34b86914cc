"""Experts reads: remote evaluation (远程异地评标) and the committee, with the access helpers.

Who sees a remote evaluation / committee (issue 6 §5-§7, 法 Art 37):

- the main venue's staff (the project's centre) and supervisors: everything (each view of the
  member list is logged by the page / API through ``committee_view_log``);
- a secondary venue's staff: their own venue — before the evaluation starts only the project
  alias code, the time and the seats (四不知), after it the project and their venue's members;
- an expert: their own place — before the evaluation starts only the time and the venue, after it
  the section, the bidder list (to declare conflicts) and the fellow members (to elect a leader);
- the section's agent and tenderer: counts and states only, never a name;
- anybody else: "not found".
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from tenderhall.accounts.models import Organization, OrganizationKind, User
from tenderhall.bidding.models import Bid, BidStatus
from tenderhall.core import clock
from tenderhall.core.errors import NotFound, ValidationFailed
from tenderhall.core.models import LogEvent
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.experts.models import (
    CommitteeMember,
    ExtractionAssignment,
    ExtractionRequest,
    ExtractionStatus,
    ExtractionVenue,
    InvitationStatus,
    VenueRole,
)
from tenderhall.projects.models import Section
from tenderhall.venues.models import HOLDING_STATUSES, Booking, Room, RoomKind

# Once the evaluation started, the committee knows the project and each other.
REVEALED = (ExtractionStatus.EVALUATING, ExtractionStatus.DECIDED)
# The log tag of a vacated leader's place; services.committee.CommitteeAction.LEADER_VACATED is this
# (defined here because the services import this module, not the other way round).
LEADER_VACATED_ACTION = "experts.committee.leader_vacated"


# ---- the directory of trading centres -----------------------------------------------------------


@dataclass
class RoomEntry:
    room: Room
    seats: int
    remote_seats: int
    free: bool


@dataclass
class CentreEntry:
    centre: Organization
    rooms: list[RoomEntry] = field(default_factory=list)

    @property
    def free_remote_seats(self) -> int:
        return sum(r.remote_seats for r in self.rooms if r.free)

    @property
    def largest_free_room(self) -> int:
        """The most remote seats one free room offers: a secondary venue sits in one room."""
        return max((r.remote_seats for r in self.rooms if r.free), default=0)


def day_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), tzinfo=clock.LOCAL_TZ)
    return start, start + dt.timedelta(days=1)


def parse_day(raw: str) -> dt.date:
    if not raw:
        return clock.today_local()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            "day_invalid", "日期格式应为 YYYY-MM-DD", "the day must be a date, YYYY-MM-DD", fields={"day": ""}
        ) from None


def centre_directory(user: Any, *, starts_at: dt.datetime, ends_at: dt.datetime) -> list[CentreEntry]:
    """Every active trading centre with its active evaluation rooms, their (remote-evaluation)
    seats and whether each is free for the whole window (seed 004 三(一): 远程异地评标专用场地)."""
    require(user, Permission.VENUE_VIEW)
    busy = set(
        Booking.objects.filter(
            status__in=HOLDING_STATUSES, starts_at__lt=ends_at, ends_at__gt=starts_at
        ).values_list("room_id", flat=True)
    )
    rooms = (
        Room.objects.filter(kind=RoomKind.EVALUATION, is_active=True, centre__is_active=True)
        .select_related("centre")
        .prefetch_related("seats")
        .order_by("centre_id", "name")
    )
    entries: dict[int, CentreEntry] = {
        c.pk: CentreEntry(centre=c)
        for c in Organization.objects.filter(kind=OrganizationKind.TRADING_CENTRE, is_active=True).order_by(
            "region", "name"
        )
    }
    for room in rooms:
        entry = entries.get(room.centre_id)
        if entry is None:
            continue
        seats = list(room.seats.all())
        entry.rooms.append(
            RoomEntry(
                room=room,
                seats=len(seats),
                remote_seats=sum(1 for s in seats if s.is_remote_evaluation),
                free=room.pk not in busy,
            )
        )
    return list(entries.values())


# ---- invitations (要约) -------------------------------------------------------------------------


def invitations_for_user(user: Any) -> QuerySet[ExtractionVenue]:
    """The invitations of the staff member's own centre (it hosts secondary venues)."""
    require(user, Permission.VENUE_INVITATION_ANSWER)
    if user.organization_id is None:
        return ExtractionVenue.objects.none()
    return (
        ExtractionVenue.objects.filter(centre_id=user.organization_id, role=VenueRole.SECONDARY)
        .select_related("request", "room", "booking")
        .order_by("-invited_at", "-pk")
    )


def invitation_for_user(user: Any, pk: int) -> ExtractionVenue:
    venue = invitations_for_user(user).filter(pk=pk).first()
    if venue is None:
        raise NotFound("要约", "invitation")
    return venue


# ---- the committee ------------------------------------------------------------------------------


def committee_places(request: ExtractionRequest) -> dict[str, Any]:
    """How full the committee is: per demand (count wanted, seated and declared) and the
    representatives; ``complete`` when every place is filled by a declared member."""
    members = list(
        CommitteeMember.objects.filter(request=request, recused_at__isnull=True).select_related("assignment")
    )
    by_demand: Counter[int] = Counter()
    declared_by_demand: Counter[int] = Counter()
    reps = reps_declared = 0
    for m in members:
        if m.assignment is not None:
            by_demand[m.assignment.demand_id] += 1
            declared_by_demand[m.assignment.demand_id] += m.declared_no_conflict_at is not None
        else:
            reps += 1
            reps_declared += m.declared_no_conflict_at is not None
    rows = [
        {
            "demand": d.pk,
            "venue": d.venue_id,
            "specialty": d.specialty.code,
            "count": d.count,
            "seated": by_demand[d.pk],
            "declared": declared_by_demand[d.pk],
        }
        for d in request.demands.select_related("specialty").order_by("pk")
    ]
    complete = (
        all(r["declared"] == r["count"] for r in rows) and reps_declared == request.tenderer_representatives
    )
    return {
        "demands": rows,
        "representatives": {
            "count": request.tenderer_representatives,
            "seated": reps,
            "declared": reps_declared,
        },
        "complete": complete,
        "members": len(members),
    }


@dataclass
class CommitteeView:
    """One user's view of one remote evaluation / committee."""

    request: ExtractionRequest
    role: str  # "full" | "venue" | "member" | "status"
    revealed: bool  # the evaluation has started (identities and project known to the committee)
    venues: list[ExtractionVenue]
    own_venue: ExtractionVenue | None = None  # a secondary centre's staff
    own_member: CommitteeMember | None = None  # an expert or representative
    own_assignment: ExtractionAssignment | None = None
    members: list[CommitteeMember] = field(default_factory=list)
    to_check_in: list[ExtractionAssignment] = field(default_factory=list)
    bidders: list[str] = field(default_factory=list)
    places: dict[str, Any] = field(default_factory=dict)
    # The leader recused and no new leader is elected yet (the committee elects again).
    leader_vacant: bool = False

    @property
    def shows_project(self) -> bool:
        return self.role in ("full", "status") or self.revealed

    @property
    def lists_people(self) -> bool:
        return self.role == "full" or (self.revealed and self.role in ("venue", "member"))

    @property
    def checks_in(self) -> bool:
        return self.role in ("full", "venue")


def _requests() -> QuerySet[ExtractionRequest]:
    return ExtractionRequest.objects.select_related("section__project__centre", "leader")


def _role(user: Any, request: ExtractionRequest) -> tuple[str, ExtractionVenue | None]:
    project = request.section.project
    org = getattr(user, "organization_id", None)
    if has_permission(user, Permission.EXTRACTION_WATCH):
        if not has_permission(user, Permission.EXTRACTION_REQUEST):
            return "full", None  # supervisors watch every extraction
        if org is not None and org == project.centre_id:
            return "full", None
    if has_permission(user, Permission.COMMITTEE_CHECK_IN) and org is not None:
        # A centre that declined has no part in it any more (it never learns the project).
        venue = (
            request.venues.filter(centre_id=org, role=VenueRole.SECONDARY)
            .exclude(invitation=InvitationStatus.DECLINED)
            .first()
        )
        if venue is not None:
            return "venue", venue
    if has_permission(user, Permission.COMMITTEE_SIT) or request.members.filter(representative=user).exists():
        return "member", None
    if has_permission(user, Permission.EXTRACTION_STATUS_VIEW) and org in (
        project.tenderer_id,
        project.agent_id,
    ):
        return "status", None
    return "", None


def committee_for_user(user: Any, pk: int) -> CommitteeView:
    """Fetch and authorize in one call; what the user may not see answers "not found"."""
    if not getattr(user, "is_authenticated", False):
        require(user, Permission.EXTRACTION_STATUS_VIEW)  # 401
    request = _requests().filter(pk=pk).first()
    if request is None:
        raise NotFound("评标委员会", "committee")
    role, own_venue = _role(user, request)
    own_member = own_assignment = None
    if role == "member":
        own_member = (
            request.members.filter(assignment__expert__user=user).first()
            or request.members.filter(representative=user).first()
        )
        own_assignment = (
            request.assignments.filter(expert__user=user)
            .exclude(status__in=("reserve", "released"))
            .select_related("demand__venue__centre", "demand__venue__room")
            .order_by("-pk")
            .first()
        )
        if own_member is None and own_assignment is None:
            role = ""
    if not role:
        raise NotFound("评标委员会", "committee")
    revealed = request.status in REVEALED
    venues = list(request.venues.select_related("centre", "room", "booking").order_by("pk"))
    view = CommitteeView(
        request=request,
        role=role,
        revealed=revealed,
        venues=venues,
        own_venue=own_venue,
        own_member=own_member,
        own_assignment=own_assignment,
        places=committee_places(request),
        leader_vacant=leader_vacant(request),
    )
    members = request.members.select_related(
        "assignment__expert",
        "assignment__demand__specialty",
        "representative",
        "seat",
        "venue__centre",
        "vote_for",
    ).order_by("venue_id", "pk")
    if view.lists_people:
        if role == "venue" and own_venue is not None:
            view.members = list(members.filter(venue=own_venue))
        else:
            view.members = list(members)
    if view.checks_in:
        accepted = request.assignments.filter(status="accepted", member__isnull=True).select_related(
            "expert", "demand__specialty", "demand__venue"
        )
        if role == "venue" and own_venue is not None:
            accepted = accepted.filter(demand__venue__centre_id=own_venue.centre_id)
        elif role == "full" and has_permission(user, Permission.EXTRACTION_REQUEST):
            accepted = accepted.filter(demand__venue__role=VenueRole.MAIN)
        view.to_check_in = list(accepted.order_by("demand_id", "rank"))
    if revealed and role == "member" and own_member is not None:
        view.bidders = section_bidders(request.section)
    return view


def leader_vacant(request: ExtractionRequest) -> bool:
    """The leader recused (``leader_vacated`` is in the log) and the committee, still sitting, has
    not elected a new one yet."""
    if request.leader_id is not None or request.status != ExtractionStatus.EVALUATING:
        return False
    return LogEvent.objects.filter(
        action=LEADER_VACATED_ACTION,
        object_type=ExtractionRequest._meta.label_lower,
        object_id=str(request.pk),
    ).exists()


def section_bidders(section: Section) -> list[str]:
    """The bidders of the section (the names an expert checks for conflicts, 条例 Art 46)."""
    return list(
        Bid.objects.filter(section=section, status=BidStatus.SUBMITTED)
        .order_by("organization__name")
        .values_list("organization__name", flat=True)
        .distinct()
    )


@dataclass
class CommitteeRow:
    request: ExtractionRequest
    shows_project: bool


def committee_requests_for_user(user: Any) -> list[CommitteeRow]:
    """The list page: remote evaluations the user organizes or watches, and the committees an
    expert was called to (the project shown only once the evaluation started)."""
    if has_permission(user, Permission.EXTRACTION_WATCH):
        requests = _requests().filter(is_remote=True).order_by("-pk")
        if has_permission(user, Permission.EXTRACTION_REQUEST):
            requests = requests.filter(section__project__centre_id=user.organization_id)
        return [CommitteeRow(r, True) for r in requests[:200]]
    require(user, Permission.COMMITTEE_SIT)
    called = (
        ExtractionAssignment.objects.filter(expert__user=user)
        .exclude(status__in=("reserve", "released"))
        .values("request_id")
    )
    requests = _requests().filter(pk__in=called).order_by("-pk")
    return [CommitteeRow(r, r.status in REVEALED) for r in requests[:200]]


def member_for_view(view: CommitteeView, pk: int) -> CommitteeMember:
    member = view.request.members.filter(pk=pk).first()
    if member is None:
        raise NotFound("评标委员会成员", "committee member")
    return member


def assignment_for_check_in(view: CommitteeView, pk: int) -> ExtractionAssignment:
    for assignment in view.to_check_in:
        if assignment.pk == pk:
            return assignment
    raise NotFound("抽取结果", "assignment")


def section_for_remote(user: Any, pk: int) -> Section:
    """A section of the staff member's own centre, for a remote evaluation request."""
    require(user, Permission.EXTRACTION_REQUEST)
    section = (
        Section.objects.select_related("project__centre")
        .filter(pk=pk, project__centre_id=getattr(user, "organization_id", None))
        .first()
    )
    if section is None:
        raise NotFound("标段", "section")
    return section


def sections_for_remote(user: Any) -> QuerySet[Section]:
    require(user, Permission.EXTRACTION_REQUEST)
    return (
        Section.objects.select_related("project")
        .filter(project__centre_id=getattr(user, "organization_id", None))
        .order_by("-pk")
    )


def _member_dict(view: CommitteeView, m: CommitteeMember) -> dict[str, Any]:
    expert = m.assignment.expert if m.assignment is not None else None
    own = view.own_member is not None and view.own_member.pk == m.pk
    if expert is not None:
        name, kind = expert.name, expert.kind
        specialty = m.assignment.demand.specialty.code if m.assignment is not None else ""
    else:
        rep = m.representative
        name = (rep.display_name or rep.get_username()) if rep is not None else ""
        kind, specialty = "representative", ""
    return {
        "id": m.pk,
        "name": name,
        "kind": kind,
        "specialty": specialty,
        "venue_id": m.venue_id,
        "centre": m.venue.centre.name,
        "seat": m.seat.label if m.seat is not None else "",
        "checked_in_at": m.checked_in_at,
        "declared": m.declared_no_conflict_at is not None,
        "recused": m.recused_at is not None,
        "voted": m.voted_at is not None,
        # Who voted for whom: the organizers and supervisors, and each member for their own vote.
        "vote_for": m.vote_for_id if (view.role == "full" or own) else None,
    }


def committee_as_dict(view: CommitteeView) -> dict[str, Any]:
    """The JSON form of a committee view (the API); each role gets only its part."""
    request = view.request
    alias = next((v.project_alias for v in view.venues), "")
    venues: list[dict[str, Any]] = []
    for v in view.venues:
        if view.role == "member" and not (
            view.own_assignment is not None and view.own_assignment.demand.venue_id == v.pk
        ):
            continue
        names = view.role in ("full", "venue", "member")
        venues.append(
            {
                "id": v.pk,
                "role": v.role,
                "centre": v.centre.name if names else None,
                "room": v.room.name if names and v.room is not None else None,
                "seats": v.seats,
                "invitation": v.invitation,
                "alias": v.project_alias,
            }
        )
    section = request.section
    leader = next((m for m in view.members if m.pk == request.leader_id), None)
    return {
        "id": request.pk,
        "status": request.status,
        "is_remote": request.is_remote,
        "alias": alias,
        "evaluation_starts_at": request.evaluation_starts_at,
        "evaluation_ends_at": request.evaluation_ends_at,
        "section": (
            {"id": section.pk, "code": section.code, "name": section.name} if view.shows_project else None
        ),
        "viewer": view.role,
        "venues": venues,
        "places": view.places,
        "members": [_member_dict(view, m) for m in view.members],
        "leader": (
            {"id": leader.pk, "name": _member_dict(view, leader)["name"]}
            if leader is not None
            else ({"id": request.leader_id, "name": None} if request.leader_id else None)
        ),
        "leader_vacant": view.leader_vacant,
        "own_member": view.own_member.pk if view.own_member is not None else None,
        "bidders": view.bidders,
        "to_check_in": [
            {"assignment_id": a.pk, "expert": a.expert.name, "venue_id": a.demand.venue_id}
            for a in view.to_check_in
        ],
    }


def representative_by_username(username: str) -> Any:
    """The user named as a tenderer's representative (the service checks who they are)."""
    user = User.objects.filter(username=(username or "").strip(), is_active=True).first()
    if user is None:
        raise ValidationFailed(
            "representative_unknown", "没有该用户", "no such user", fields={"username": ""}
        )
    return user
