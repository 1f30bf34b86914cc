"""Experts API: extraction (专家抽取). Handlers parse input, fetch through the access helpers
(selectors.extraction) and call a service; what a user sees of the draw depends on the role
(identities, counts only, or nothing): see the selectors' docstring."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from tenderhall.core.permissions import Permission, require
from tenderhall.experts.models import ExtractionRequest
from tenderhall.experts.selectors import extraction as selectors
from tenderhall.experts.selectors import live as live_selectors
from tenderhall.experts.services import extraction as services

router = Router(tags=["experts"])


def _user(request: HttpRequest) -> Any:
    return request.user


class DemandIn(Schema):
    specialty_code: str
    count: int
    reserves: int = 0


class ExtractionIn(Schema):
    section_id: int
    evaluation_starts_at: dt.datetime
    evaluation_ends_at: dt.datetime
    demands: list[DemandIn]
    rules: dict[str, Any] = {}
    reply_minutes: int = 30
    tenderer_representatives: int = 0


class ExpertRowOut(Schema):
    assignment: int
    rank: int
    expert_id: int
    name: str
    employer: str
    kind: str
    status: str
    notified_at: dt.datetime | None
    reply_due_at: dt.datetime | None
    replied_at: dt.datetime | None
    reply_channel: str
    reason: str


class DemandOut(Schema):
    id: int
    venue: str
    venue_role: str
    specialty: str
    count: int
    reserves: int
    pool_size: int
    accepted: int
    notified: int
    declined: int
    reserves_left: int
    experts: list[ExpertRowOut] | None


class ExtractionOut(Schema):
    id: int
    section_id: int
    is_remote: bool
    status: str
    evaluation_starts_at: dt.datetime
    evaluation_ends_at: dt.datetime
    reply_minutes: int
    tenderer_representatives: int
    pool_sha256: str
    seed_sha256: str
    seed_hex: str | None
    drawn_at: dt.datetime | None
    identities_shown: bool
    demands: list[DemandOut]
    failure: dict[str, Any]


def _out(user: Any, request: ExtractionRequest) -> dict[str, Any]:
    # The same dict the page's live pushes carry (experts.consumers).
    return live_selectors.extraction_out(request, selectors.extraction_view(user, request))


class ExtractionRowOut(Schema):
    id: int
    section_id: int
    status: str
    is_remote: bool
    evaluation_starts_at: dt.datetime


@router.get("/extractions", response=list[ExtractionRowOut], summary="Extraction requests I may see")
def extractions_list(request: HttpRequest) -> list[ExtractionRequest]:
    return list(selectors.extractions_for_user(_user(request))[:200])


@router.post(
    "/extractions",
    response={201: ExtractionOut},
    summary="Request experts for a section and draw them (the project's trading-centre staff)",
)
def extractions_create(request: HttpRequest, body: ExtractionIn) -> dict[str, Any]:
    user = _user(request)
    require(user, Permission.EXTRACTION_REQUEST)
    section = selectors.section_for_extraction(user, body.section_id)
    created = services.extraction_request_create(
        acting_user=user,
        section=section,
        evaluation_starts_at=body.evaluation_starts_at,
        evaluation_ends_at=body.evaluation_ends_at,
        demands=[services.DemandSpec(d.specialty_code, d.count, d.reserves) for d in body.demands],
        rules=body.rules,
        reply_minutes=body.reply_minutes,
        tenderer_representatives=body.tenderer_representatives,
    )
    return _out(user, selectors.extraction_for_user(user, created.pk))


@router.get(
    "/extractions/{int:request_id}", response=ExtractionOut, summary="An extraction, as my role may see it"
)
def extractions_detail(request: HttpRequest, request_id: int) -> dict[str, Any]:
    user = _user(request)
    return _out(user, selectors.extraction_for_user(user, request_id))


@router.post(
    "/extractions/{int:request_id}/decide",
    response=ExtractionOut,
    summary="The result is decided: publish the seed (法 Art 37)",
)
def extractions_decide(request: HttpRequest, request_id: int) -> dict[str, Any]:
    user = _user(request)
    require(user, Permission.EXTRACTION_REQUEST)
    extraction = selectors.extraction_for_staff(user, request_id)
    services.extraction_result_decide(acting_user=user, request=extraction)
    return _out(user, selectors.extraction_for_user(user, request_id))


class CommitmentsOut(Schema):
    request_id: int
    status: str
    log_index: int | None
    pool_sha256: str
    seed_sha256: str
    seed_hex: str | None
    pools: list[dict[str, Any]] | None  # the committed pools (sorted expert ids) once the seed is visible
    draw: str
    # Remote evaluation: each secondary-venue draw's committed hashes; its candidates and seed once
    # the seed is visible (docs/remote-evaluation.md).
    venue_draws: list[dict[str, Any]]
    venue_draw: str


@router.get(
    "/extractions/{int:request_id}/commitments",
    response=CommitmentsOut,
    summary="The committed pool and seed hashes (and, once visible, the seed and pools to replay)",
)
def extractions_commitments(request: HttpRequest, request_id: int) -> dict[str, Any]:
    user = _user(request)
    extraction = selectors.extraction_for_user(user, request_id)
    event = services.commitment_event(extraction)
    visible = selectors.sees_seed(user, extraction)
    pools = None
    if visible and extraction.drawn_at:
        demands = list(extraction.demands.select_related("venue", "specialty").order_by("pk"))
        pools = services.pools_document(extraction, demands)["demands"]
    return {
        "request_id": extraction.pk,
        "status": extraction.status,
        "log_index": event["index"] if event else None,
        "pool_sha256": extraction.pool_sha256,
        "seed_sha256": extraction.seed_sha256,
        "seed_hex": extraction.seed_hex if visible else None,
        "pools": pools,
        "draw": "docs/extraction.md: rank by SHA-256(seed || u32 demand index || u64 expert id); "
        "places of every demand first, then reserves; skip experts already taken",
        "venue_draws": live_selectors.venue_draws(user, extraction),
        "venue_draw": "docs/remote-evaluation.md: the candidate with the lowest "
        "SHA-256(seed || 'venue' || f'{round}:{centre_id}'), ties by id",
    }


class AssignmentOut(Schema):
    id: int
    status: str
    evaluation_starts_at: dt.datetime
    evaluation_ends_at: dt.datetime
    venue: str
    reply_due_at: dt.datetime | None
    replied_at: dt.datetime | None


def _assignment(a: Any) -> dict[str, Any]:
    # The expert learns the time and venue, never the project (issue 6 §5).
    return {
        "id": a.pk,
        "status": a.status,
        "evaluation_starts_at": a.request.evaluation_starts_at,
        "evaluation_ends_at": a.request.evaluation_ends_at,
        "venue": selectors.venue_label(a),
        "reply_due_at": a.reply_due_at,
        "replied_at": a.replied_at,
    }


@router.get("/extractions/assignments/mine", response=list[AssignmentOut], summary="My calls as an expert")
def assignments_mine(request: HttpRequest) -> list[dict[str, Any]]:
    return [_assignment(a) for a in selectors.assignments_for_expert(_user(request))[:100]]


class ReplyIn(Schema):
    accept: bool


@router.post(
    "/extractions/assignments/{int:assignment_id}/reply",
    response=AssignmentOut,
    summary="Accept or decline a call (the expert, signed in)",
)
def assignments_reply(request: HttpRequest, assignment_id: int, body: ReplyIn) -> dict[str, Any]:
    user = _user(request)
    assignment = selectors.assignment_for_expert(user, assignment_id)
    services.assignment_reply(assignment=assignment, accept=body.accept, channel="page", acting_user=user)
    return _assignment(selectors.assignment_for_expert(user, assignment_id))


@router.post(
    "/extractions/link/{token}/reply",
    response=AssignmentOut,
    auth=None,
    summary="Accept or decline with the one-time link from the SMS",
)
def assignments_link_reply(request: HttpRequest, token: str, body: ReplyIn) -> dict[str, Any]:
    assignment = selectors.assignment_by_token(token)
    services.assignment_reply(assignment=assignment, accept=body.accept, channel="link", token=token)
    return _assignment(selectors.assignment_by_token(token))


class GatewayIn(Schema):
    from_phone: str
    text: str
    channel: str = "sms"


class GatewayOut(Schema):
    assignment: int
    status: str


@router.post(
    "/extractions/gateway-reply",
    response=GatewayOut,
    summary="The SMS/voice gateway passes on a reply (1 accept / 2 decline, with the reply code)",
)
def assignments_gateway_reply(request: HttpRequest, body: GatewayIn) -> dict[str, Any]:
    done = services.gateway_reply(
        acting_user=_user(request), from_phone=body.from_phone, text=body.text, channel=body.channel
    )
    return {"assignment": done.pk, "status": done.status}
