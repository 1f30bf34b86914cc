"""Experts API: remote off-site evaluation (远程异地评标, seed 004) and the committee.

Handlers parse input, fetch through the access helpers (which answer 404 for what the caller may
not see) and call a service; the rules live in services/committee.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from tenderhall.core.errors import NotFound
from tenderhall.core.permissions import Permission, require
from tenderhall.experts.selectors import committee as selectors
from tenderhall.experts.services import committee as services
from tenderhall.experts.services.extraction import DemandSpec

router = Router(tags=["experts"])


def _user(request: HttpRequest) -> Any:
    return request.user  # authenticated by accounts.auth before any handler runs


# ---- the directory --------------------------------------------------------------------------------


class RoomEntryOut(Schema):
    id: int
    name: str
    seats: int
    remote_seats: int
    free: bool


class CentreOut(Schema):
    id: int
    name: str
    region: str
    free_remote_seats: int
    largest_free_room: int
    rooms: list[RoomEntryOut]


@router.get(
    "/experts/remote/centres",
    response=list[CentreOut],
    summary="Trading centres with evaluation rooms and free remote seats on a day",
)
def centres_list(request: HttpRequest, day: dt.date | None = None) -> list[dict[str, Any]]:
    starts, ends = selectors.day_window(day or selectors.parse_day(""))
    entries = selectors.centre_directory(_user(request), starts_at=starts, ends_at=ends)
    return [
        {
            "id": e.centre.pk,
            "name": e.centre.name,
            "region": e.centre.region,
            "free_remote_seats": e.free_remote_seats,
            "largest_free_room": e.largest_free_room,
            "rooms": [
                {
                    "id": r.room.pk,
                    "name": r.room.name,
                    "seats": r.seats,
                    "remote_seats": r.remote_seats,
                    "free": r.free,
                }
                for r in e.rooms
            ],
        }
        for e in entries
    ]


# ---- remote evaluation --------------------------------------------------------------------------


class DemandIn(Schema):
    specialty_code: str
    count: int
    reserves: int = 0


class RemoteIn(Schema):
    section_id: int
    evaluation_starts_at: dt.datetime  # with its offset, e.g. 2026-03-05T09:00:00+08:00
    evaluation_ends_at: dt.datetime
    secondary_venues: int
    exclude_own_region: bool = False
    demands: list[list[DemandIn]]  # [main venue's, 1st secondary's, ...]
    rules: dict[str, Any] = {}
    reply_minutes: int = 30
    tenderer_representatives: int = 0


@router.post(
    "/experts/remote/requests",
    response={201: dict[str, Any]},
    summary="Request a remote evaluation: draw and invite secondary venues (staff of the project's centre)",
)
def remote_create(request: HttpRequest, body: RemoteIn) -> dict[str, Any]:
    user = _user(request)
    section = selectors.section_for_remote(user, body.section_id)
    created = services.remote_evaluation_create(
        acting_user=user,
        section=section,
        evaluation_starts_at=body.evaluation_starts_at,
        evaluation_ends_at=body.evaluation_ends_at,
        secondary_venues=body.secondary_venues,
        exclude_own_region=body.exclude_own_region,
        demands=[
            [DemandSpec(specialty_code=d.specialty_code, count=d.count, reserves=d.reserves) for d in venue]
            for venue in body.demands
        ],
        rules=body.rules,
        reply_minutes=body.reply_minutes,
        tenderer_representatives=body.tenderer_representatives,
    )
    return _committee(request, created.pk)


def _committee(request: HttpRequest, request_id: int) -> dict[str, Any]:
    user = _user(request)
    view = selectors.committee_for_user(user, request_id)
    if view.members and view.role in ("full", "venue"):
        services.committee_view_log(
            acting_user=user, request=view.request, role=view.role, members=len(view.members)
        )
    return selectors.committee_as_dict(view)


@router.get(
    "/extractions/{request_id}/committee",
    response=dict[str, Any],
    summary="The remote venues and the committee, as far as the caller may see them",
)
def committee_get(request: HttpRequest, request_id: int) -> dict[str, Any]:
    return _committee(request, request_id)


@router.post(
    "/extractions/{request_id}/start",
    response=dict[str, Any],
    summary="Start the evaluation (main venue staff)",
)
def committee_start(request: HttpRequest, request_id: int) -> dict[str, Any]:
    user = _user(request)
    require(user, Permission.COMMITTEE_CHECK_IN)
    view = selectors.committee_for_user(user, request_id)
    services.evaluation_start(acting_user=user, request=view.request)
    return _committee(request, request_id)


class CheckInIn(Schema):
    assignment_id: int
    identity_confirmed: bool
    devices_stored: bool


@router.post(
    "/extractions/{request_id}/check-in",
    response=dict[str, Any],
    summary="Check an expert in at your venue: identity, devices, random seat (venue staff)",
)
def committee_check_in(request: HttpRequest, request_id: int, body: CheckInIn) -> dict[str, Any]:
    user = _user(request)
    require(user, Permission.COMMITTEE_CHECK_IN)
    view = selectors.committee_for_user(user, request_id)
    assignment = selectors.assignment_for_check_in(view, body.assignment_id)
    services.committee_check_in(
        acting_user=user,
        assignment=assignment,
        identity_confirmed=body.identity_confirmed,
        devices_stored=body.devices_stored,
    )
    return _committee(request, request_id)


class RepresentativeIn(Schema):
    username: str
    identity_confirmed: bool
    devices_stored: bool


@router.post(
    "/extractions/{request_id}/representatives",
    response=dict[str, Any],
    summary="Check a tenderer's representative in at the main venue (main venue staff)",
)
def committee_representative(request: HttpRequest, request_id: int, body: RepresentativeIn) -> dict[str, Any]:
    user = _user(request)
    require(user, Permission.COMMITTEE_CHECK_IN)
    view = selectors.committee_for_user(user, request_id)
    representative = selectors.representative_by_username(body.username)
    services.committee_representative_check_in(
        acting_user=user,
        request=view.request,
        representative=representative,
        identity_confirmed=body.identity_confirmed,
        devices_stored=body.devices_stored,
    )
    return _committee(request, request_id)


def _member(request: HttpRequest, request_id: int, member_id: int) -> Any:
    view = selectors.committee_for_user(_user(request), request_id)
    if view.role not in ("member", "venue", "full"):
        raise NotFound("评标委员会成员", "committee member")
    return selectors.member_for_view(view, member_id)


@router.post(
    "/extractions/{request_id}/members/{member_id}/declare",
    response=dict[str, Any],
    summary="Declare no conflict with the bidders (the member)",
)
def member_declare(request: HttpRequest, request_id: int, member_id: int) -> dict[str, Any]:
    user = _user(request)
    member = _member(request, request_id, member_id)
    services.committee_member_declare(acting_user=user, member=member)
    return _committee(request, request_id)


class ReasonIn(Schema):
    reason: str = ""


@router.post(
    "/extractions/{request_id}/members/{member_id}/recuse",
    response=dict[str, Any],
    summary="Recuse (the member, or the venue's staff); a reserve replaces an expert",
)
def member_recuse(request: HttpRequest, request_id: int, member_id: int, body: ReasonIn) -> dict[str, Any]:
    user = _user(request)
    member = _member(request, request_id, member_id)
    services.committee_member_recuse(acting_user=user, member=member, reason=body.reason)
    return _committee(request, request_id)


class VoteIn(Schema):
    candidate_id: int


@router.post(
    "/extractions/{request_id}/members/{member_id}/vote",
    response=dict[str, Any],
    summary="Vote for the committee's leader (the member)",
)
def member_vote(request: HttpRequest, request_id: int, member_id: int, body: VoteIn) -> dict[str, Any]:
    user = _user(request)
    member = _member(request, request_id, member_id)
    candidate = _member(request, request_id, body.candidate_id)
    services.committee_vote(acting_user=user, member=member, candidate=candidate)
    return _committee(request, request_id)


# ---- invitations (要约) --------------------------------------------------------------------------


class InvitationOut(Schema):
    id: int
    alias: str
    invitation: str
    seats: int
    evaluation_starts_at: dt.datetime
    evaluation_ends_at: dt.datetime
    room: str | None
    invited_at: dt.datetime | None
    answered_at: dt.datetime | None
    request_id: int
    request_status: str


def _invitation(v: Any) -> dict[str, Any]:
    # 四不知: an invitation names the alias, the time and the seats — never the project.
    return {
        "id": v.pk,
        "alias": v.project_alias,
        "invitation": v.invitation,
        "seats": v.seats,
        "evaluation_starts_at": v.request.evaluation_starts_at,
        "evaluation_ends_at": v.request.evaluation_ends_at,
        "room": v.room.name if v.room is not None else None,
        "invited_at": v.invited_at,
        "answered_at": v.answered_at,
        "request_id": v.request_id,
        "request_status": v.request.status,
    }


@router.get(
    "/experts/remote/invitations",
    response=list[InvitationOut],
    summary="Remote evaluation invitations to my centre (secondary venue staff)",
)
def invitations_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_invitation(v) for v in selectors.invitations_for_user(_user(request))[:200]]


@router.get(
    "/experts/remote/invitations/{venue_id}", response=InvitationOut, summary="One invitation to my centre"
)
def invitations_get(request: HttpRequest, venue_id: int) -> dict[str, Any]:
    return _invitation(selectors.invitation_for_user(_user(request), venue_id))


class AnswerIn(Schema):
    accept: bool
    reason: str = ""


@router.post(
    "/experts/remote/invitations/{venue_id}/answer",
    response=InvitationOut,
    summary="Accept (books the room) or decline (another centre is drawn) an invitation",
)
def invitations_answer(request: HttpRequest, venue_id: int, body: AnswerIn) -> dict[str, Any]:
    user = _user(request)
    venue = selectors.invitation_for_user(user, venue_id)
    services.venue_invitation_answer(acting_user=user, venue=venue, accept=body.accept, reason=body.reason)
    return _invitation(selectors.invitation_for_user(user, venue_id))
