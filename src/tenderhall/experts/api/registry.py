"""Experts API: the expert database (专家库).

Handlers parse input, fetch through the access helpers and call a service; the rules live in
services/registry.py. Full ID numbers and phones only for EXPERT_VIEW_ID; every list is logged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict

from tenderhall.core.errors import ValidationFailed
from tenderhall.core.permissions import Permission, require
from tenderhall.experts.models import Expert, ImportBatch
from tenderhall.experts.selectors import registry as selectors
from tenderhall.experts.services import registry as services

router = Router(tags=["experts"])


def _user(request: HttpRequest) -> Any:
    # Authenticated by accounts.auth (session or bearer token) before any handler runs.
    return request.user


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else "****"


# ---- schemas ---------------------------------------------------------------------------------------


class ExpertOut(Schema):
    id: int
    name: str
    id_number: str  # masked unless the caller may see full ID numbers
    employer_name: str
    employer_uscc: str
    region: str
    kind: str
    title: str
    years_of_practice: int
    phone: str  # masked likewise
    status: str
    specialties: list[str]
    has_account: bool


class ExpertPageOut(Schema):
    count: int
    page: int
    pages: int
    items: list[ExpertOut]


class LeaveOut(Schema):
    id: int
    starts_on: dt.date
    ends_on: dt.date
    reason: str


class RelationshipOut(Schema):
    id: int
    organization_uscc: str
    organization_name: str
    relation: str
    declared_at: dt.datetime


class BadBehaviourOut(Schema):
    id: int
    description: str
    occurred_on: dt.date
    suspended_until: dt.date | None
    recorded_at: dt.datetime


class ExpertDetailOut(ExpertOut):
    leaves: list[LeaveOut]
    relationships: list[RelationshipOut]
    bad_behaviour: list[BadBehaviourOut]


def _expert(user: Any, expert: Expert, *, own: bool = False) -> dict[str, Any]:
    full = own or selectors.sees_full_id(user)
    return {
        "id": expert.pk,
        "name": expert.name,
        "id_number": expert.id_number if full else expert.id_number_masked,
        "employer_name": expert.employer_name,
        "employer_uscc": expert.employer_uscc,
        "region": expert.region,
        "kind": expert.kind,
        "title": expert.title,
        "years_of_practice": expert.years_of_practice,
        "phone": expert.phone if full else mask_phone(expert.phone),
        "status": expert.status,
        "specialties": [s.code for s in expert.specialties.all()],
        "has_account": expert.user_id is not None,
    }


def _detail(user: Any, expert: Expert, *, own: bool = False) -> dict[str, Any]:
    return {
        **_expert(user, expert, own=own),
        "leaves": list(expert.leaves.all()),
        "relationships": list(expert.relationships.all()),
        "bad_behaviour": list(expert.bad_behaviour.all()),
    }


class ImportRowProblemOut(Schema):
    row: int
    field: str
    zh: str
    en: str
    id_number: str


class ImportBatchOut(Schema):
    id: int
    filename: str
    sha256: str
    imported_at: dt.datetime
    rows_total: int
    rows_created: int
    rows_updated: int
    rows_rejected: int
    report: list[ImportRowProblemOut]


def _batch(batch: ImportBatch) -> dict[str, Any]:
    rejected = len({entry["row"] for entry in batch.report})
    return {
        "id": batch.pk,
        "filename": batch.filename,
        "sha256": batch.sha256,
        "imported_at": batch.imported_at,
        "rows_total": batch.rows_total,
        "rows_created": batch.rows_created,
        "rows_updated": batch.rows_updated,
        "rows_rejected": rejected,
        "report": batch.report,
    }


class SpecialtyNodeOut(Schema):
    code: str
    name: str
    active_experts: int
    children: list[SpecialtyNodeOut]


class ExpertPatch(Schema):
    name: str | None = None
    employer_name: str | None = None
    employer_uscc: str | None = None
    region: str | None = None
    kind: str | None = None
    title: str | None = None
    years_of_practice: int | None = None
    phone: str | None = None
    specialties: list[str] | None = None


class ProfilePatch(Schema):
    model_config = ConfigDict(extra="forbid")  # region, specialties… are the centre's to change

    employer_name: str | None = None
    employer_uscc: str | None = None
    title: str | None = None
    years_of_practice: int | None = None
    phone: str | None = None


class StatusIn(Schema):
    status: str
    reason: str


class BadBehaviourIn(Schema):
    description: str
    occurred_on: dt.date
    suspended_until: dt.date | None = None


class AccountIn(Schema):
    username: str
    password: str


class AccountOut(Schema):
    user_id: int
    username: str


class LeaveIn(Schema):
    starts_on: dt.date
    ends_on: dt.date
    reason: str = ""


class RelationshipIn(Schema):
    organization_uscc: str
    organization_name: str = ""
    relation: str


# ---- the database ----------------------------------------------------------------------------------


@router.get("/experts", response=ExpertPageOut, summary="Search the expert database (logged)")
def experts_list(
    request: HttpRequest,
    q: str = "",
    status: str = "",
    specialty: str = "",
    region: str = "",
    kind: str = "",
    page: int = 1,
) -> dict[str, Any]:
    user = _user(request)
    require(user, Permission.EXPERT_VIEW_ALL)
    filters = selectors.parse_filters(
        {"q": q, "status": status, "specialty": specialty, "region": region, "kind": kind}
    )
    result = selectors.expert_page(user, filters, page)
    services.expert_list_viewed(
        acting_user=user, filters={**filters.as_dict(), "page": result.page}, count=result.count
    )
    return {
        "count": result.count,
        "page": result.page,
        "pages": result.pages,
        "items": [_expert(user, e) for e in result.experts],
    }


@router.post(
    "/experts/import", response={201: ImportBatchOut}, summary="Import experts from CSV/XLSX (staff)"
)
def experts_import(request: HttpRequest, file: UploadedFile = File(...)) -> Status:  # noqa: B008
    user = _user(request)
    require(user, Permission.EXPERT_MANAGE)
    if file.size is not None and file.size > services.MAX_IMPORT_BYTES:
        raise ValidationFailed(
            "import_too_large",
            "文件过大（最大10MB）",
            "the file is too large (at most 10 MB)",
            fields={"file": ""},
        )
    batch = services.expert_import(acting_user=user, filename=file.name or "", data=file.read())
    return Status(201, _batch(batch))


@router.get(
    "/experts/imports", response=list[ImportBatchOut], summary="Past imports with their reports (staff)"
)
def experts_imports(request: HttpRequest) -> list[dict[str, Any]]:
    return [_batch(b) for b in selectors.import_batches_for_user(_user(request))[:100]]


@router.get("/experts/imports/{batch_id}", response=ImportBatchOut, summary="One import's report (staff)")
def experts_import_detail(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    return _batch(selectors.import_batch_for_user(_user(request), batch_id))


@router.get("/experts/specialties", response=list[SpecialtyNodeOut], summary="The specialty code tree")
def experts_specialties(request: HttpRequest) -> list[selectors.SpecialtyNode]:
    return selectors.specialty_tree(_user(request))


# ---- the expert's own profile ------------------------------------------------------------------------


@router.get("/experts/me", response=ExpertDetailOut, summary="My expert profile (expert)")
def experts_me(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    return _detail(user, selectors.own_expert(user), own=True)


@router.patch("/experts/me", response=ExpertDetailOut, summary="Update my contact and employer (expert)")
def experts_me_update(request: HttpRequest, body: ProfilePatch) -> dict[str, Any]:
    user = _user(request)
    expert = selectors.own_expert(user)
    services.expert_update(acting_user=user, expert=expert, **body.dict(exclude_unset=True))
    return _detail(user, selectors.own_expert(user), own=True)


@router.post("/experts/me/leaves", response={201: LeaveOut}, summary="Register a leave period (expert)")
def experts_me_leave_add(request: HttpRequest, body: LeaveIn) -> Status:
    user = _user(request)
    leave = services.leave_add(acting_user=user, expert=selectors.own_expert(user), **body.dict())
    return Status(201, leave)


@router.delete("/experts/me/leaves/{leave_id}", response={204: None}, summary="Withdraw a leave (expert)")
def experts_me_leave_remove(request: HttpRequest, leave_id: int) -> Status:
    user = _user(request)
    services.leave_remove(acting_user=user, leave=selectors.own_leave(user, leave_id))
    return Status(204, None)


@router.post(
    "/experts/me/relationships", response={201: RelationshipOut}, summary="Declare a relationship (expert)"
)
def experts_me_relationship_add(request: HttpRequest, body: RelationshipIn) -> Status:
    user = _user(request)
    relationship = services.relationship_declare(
        acting_user=user, expert=selectors.own_expert(user), **body.dict()
    )
    return Status(201, relationship)


@router.delete(
    "/experts/me/relationships/{relationship_id}",
    response={204: None},
    summary="Withdraw a declaration (expert)",
)
def experts_me_relationship_remove(request: HttpRequest, relationship_id: int) -> Status:
    user = _user(request)
    services.relationship_remove(
        acting_user=user, relationship=selectors.own_relationship(user, relationship_id)
    )
    return Status(204, None)


# ---- one expert (staff) --------------------------------------------------------------------------


@router.get("/experts/{expert_id}", response=ExpertDetailOut, summary="One expert (logged)")
def experts_detail(request: HttpRequest, expert_id: int) -> dict[str, Any]:
    user = _user(request)
    expert = selectors.expert_for_user(user, expert_id)
    services.expert_viewed(acting_user=user, expert=expert)
    return _detail(user, expert)


@router.patch("/experts/{expert_id}", response=ExpertDetailOut, summary="Edit an expert (staff)")
def experts_update(request: HttpRequest, expert_id: int, body: ExpertPatch) -> dict[str, Any]:
    user = _user(request)
    require(user, Permission.EXPERT_MANAGE)  # before any lookup: the answer must not depend on the id
    expert = selectors.expert_for_user(user, expert_id)
    services.expert_update(acting_user=user, expert=expert, **body.dict(exclude_unset=True))
    return _detail(user, selectors.expert_for_user(user, expert_id))


@router.post("/experts/{expert_id}/status", response=ExpertDetailOut, summary="Suspend, reactivate, retire")
def experts_status(request: HttpRequest, expert_id: int, body: StatusIn) -> dict[str, Any]:
    user = _user(request)
    require(user, Permission.EXPERT_MANAGE)
    expert = selectors.expert_for_user(user, expert_id)
    services.expert_status_change(acting_user=user, expert=expert, **body.dict())
    return _detail(user, selectors.expert_for_user(user, expert_id))


@router.post(
    "/experts/{expert_id}/bad-behaviour", response={201: BadBehaviourOut}, summary="Record bad behaviour"
)
def experts_bad_behaviour(request: HttpRequest, expert_id: int, body: BadBehaviourIn) -> Status:
    user = _user(request)
    require(user, Permission.EXPERT_MANAGE)
    expert = selectors.expert_for_user(user, expert_id)
    return Status(201, services.bad_behaviour_record(acting_user=user, expert=expert, **body.dict()))


@router.post(
    "/experts/{expert_id}/account", response={201: AccountOut}, summary="Create the expert's account"
)
def experts_account(request: HttpRequest, expert_id: int, body: AccountIn) -> Status:
    user = _user(request)
    require(user, Permission.EXPERT_MANAGE)
    expert = selectors.expert_for_user(user, expert_id)
    account = services.expert_account_create(acting_user=user, expert=expert, **body.dict())
    return Status(201, {"user_id": account.pk, "username": account.username})
