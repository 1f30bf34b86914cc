"""projects API: registration of projects and sections, documents, review, the checklist.

Handlers parse, fetch through the access helpers (another party's project is "not found") and
call one service; every refusal is problem+json (core.errors)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from tenderhall.accounts.models import User
from tenderhall.core.errors import NotFound
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.projects import selectors, services
from tenderhall.projects.models import ChecklistItem, Project, ProjectDocument, ProjectReview, Section

router = Router(tags=["projects"])


def _user(request: HttpRequest) -> User:
    # Authenticated by accounts.auth (session or bearer token) before any handler runs.
    return request.user  # type: ignore[return-value]


# ---- schemas ------------------------------------------------------------------------------------


class CustodianOut(Schema):
    id: int
    username: str
    display_name: str
    role: str


class SectionOut(Schema):
    id: int
    project_id: int
    code: str
    number: int
    name: str
    estimated_price: str
    bond_amount: str
    evaluation_method: str
    evaluation_params: dict[str, Any]
    custodian_threshold: int
    custodians: list[CustodianOut]
    status: str

    @staticmethod
    def resolve_estimated_price(obj: Section) -> str:
        return str(obj.estimated_price)

    @staticmethod
    def resolve_bond_amount(obj: Section) -> str:
        return str(obj.bond_amount)

    @staticmethod
    def resolve_custodians(obj: Section) -> list[User]:
        return selectors.custodians_of(obj)


class ChecklistItemOut(Schema):
    id: int
    category: str
    name: str
    description: str
    required: bool
    order: int
    is_active: bool


class DocumentOut(Schema):
    id: int
    checklist_item_id: int | None
    filename: str
    sha256: str
    size: int
    uploaded_at: dt.datetime
    uploaded_by: str
    review_round: int

    @staticmethod
    def resolve_uploaded_by(obj: ProjectDocument) -> str:
        return obj.uploaded_by.username


class ChecklistRowOut(Schema):
    item: ChecklistItemOut
    document: DocumentOut | None
    missing: bool
    changed_since_return: bool


class ReviewOut(Schema):
    id: int
    decision: str
    staff: str
    note: str
    at: dt.datetime
    missing_item_ids: list[int]

    @staticmethod
    def resolve_staff(obj: ProjectReview) -> str:
        return obj.staff.username

    @staticmethod
    def resolve_missing_item_ids(obj: ProjectReview) -> list[int]:
        return sorted(item.pk for item in obj.missing_items.all())


class ProjectSummaryOut(Schema):
    id: int
    code: str
    title: str
    category: str
    procedure: str
    status: str
    tenderer_id: int
    tenderer_name: str
    agent_id: int | None
    agent_name: str
    centre_id: int
    region: str
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    registered_at: dt.datetime | None
    returned_count: int
    responsible_staff_id: int | None

    @staticmethod
    def resolve_tenderer_name(obj: Project) -> str:
        return obj.tenderer.name

    @staticmethod
    def resolve_agent_name(obj: Project) -> str:
        return obj.agent.name if obj.agent else ""


class ProjectOut(ProjectSummaryOut):
    description: str
    sections: list[SectionOut]
    checklist: list[ChecklistRowOut]
    reviews: list[ReviewOut]

    @staticmethod
    def resolve_sections(obj: Project) -> list[Section]:
        return list(obj.sections.prefetch_related("custodians__user").order_by("number"))

    @staticmethod
    def resolve_checklist(obj: Project) -> list[dict[str, Any]]:
        return [
            {
                "item": row.item,
                "document": row.document,
                "missing": row.missing,
                "changed_since_return": row.changed_since_return,
            }
            for row in selectors.checklist_status(obj)
        ]

    @staticmethod
    def resolve_reviews(obj: Project) -> list[ProjectReview]:
        return list(selectors.reviews_of(obj))


class SectionIn(Schema):
    name: str
    estimated_price: str | int
    bond_amount: str | int
    evaluation_method: str
    evaluation_params: dict[str, Any] = {}
    custodian_ids: list[int] | None = None  # None: the default custodians (DESIGN §4)
    custodian_threshold: int = services.DEFAULT_THRESHOLD

    def spec(self) -> services.SectionSpec:
        return services.SectionSpec(
            name=self.name,
            estimated_price=self.estimated_price,
            bond_amount=self.bond_amount,
            evaluation_method=self.evaluation_method,
            evaluation_params=self.evaluation_params,
            custodians=self.custodian_ids,
            custodian_threshold=self.custodian_threshold,
        )


class ProjectIn(Schema):
    title: str
    category: str
    procedure: str
    tenderer_id: int
    agent_id: int | None = None
    centre_id: int | None = None  # default: the only trading centre
    region: str = ""
    description: str = ""
    sections: list[SectionIn]


class ProjectPatch(Schema):
    title: str | None = None
    category: str | None = None
    procedure: str | None = None
    tenderer_id: int | None = None
    agent_id: int | None = None  # given as null: no agent
    centre_id: int | None = None
    region: str | None = None
    description: str | None = None


class SectionPatch(Schema):
    name: str | None = None
    estimated_price: str | int | None = None
    bond_amount: str | int | None = None
    evaluation_method: str | None = None
    evaluation_params: dict[str, Any] | None = None
    custodian_ids: list[int] | None = None
    custodian_threshold: int | None = None


class ReturnIn(Schema):
    note: str = ""
    item_ids: list[int] = []


class ConfirmIn(Schema):
    responsible_staff_id: int | None = None  # default: the reviewer (seed 002 §6.2.5)


class ChecklistItemIn(Schema):
    category: str
    name: str
    description: str = ""
    required: bool = True
    order: int | None = None


class ChecklistItemPatch(Schema):
    name: str | None = None
    description: str | None = None
    required: bool | None = None
    order: int | None = None
    is_active: bool | None = None


# ---- projects -----------------------------------------------------------------------------------


@router.get("/projects", response=list[ProjectSummaryOut], summary="Projects I may see")
def projects_list(request: HttpRequest, status: str = "") -> list[Project]:
    user = _user(request)
    if not has_permission(user, Permission.PROJECT_CREATE):
        require(user, Permission.PROJECT_VIEW_ALL)  # bidders and experts: 403
    projects = selectors.projects_for_user(user)
    if status:
        projects = projects.filter(status=status)
    return list(projects)


@router.post("/projects", response={201: ProjectOut}, summary="Register a project (agent or tenderer)")
def projects_create(request: HttpRequest, body: ProjectIn) -> Project:
    return services.project_register(
        acting_user=_user(request),
        title=body.title,
        category=body.category,
        procedure=body.procedure,
        tenderer=body.tenderer_id,
        agent=body.agent_id,
        centre=body.centre_id,
        region=body.region,
        description=body.description,
        sections=[section.spec() for section in body.sections],
    )


@router.get("/projects/{project_id}", response=ProjectOut)
def projects_get(request: HttpRequest, project_id: int) -> Project:
    return selectors.project_for_user(_user(request), project_id)


@router.patch("/projects/{project_id}", response=ProjectOut, summary="Change a draft or returned project")
def projects_update(request: HttpRequest, project_id: int, body: ProjectPatch) -> Project:
    user = _user(request)
    project = selectors.project_for_user(user, project_id)
    data = body.dict(exclude_unset=True)
    services.project_update(
        acting_user=user,
        project=project,
        title=data.get("title"),
        category=data.get("category"),
        procedure=data.get("procedure"),
        tenderer=data.get("tenderer_id"),
        agent=data["agent_id"] if "agent_id" in data else services.UNSET,
        centre=data.get("centre_id"),
        region=data.get("region"),
        description=data.get("description"),
    )
    return selectors.project_for_user(user, project_id)


@router.post("/projects/{project_id}/sections", response={201: SectionOut}, summary="Add a section")
def sections_create(request: HttpRequest, project_id: int, body: SectionIn) -> Section:
    user = _user(request)
    project = selectors.project_for_user(user, project_id)
    return services.section_add(acting_user=user, project=project, spec=body.spec())


@router.get("/sections/{section_id}", response=SectionOut)
def sections_get(request: HttpRequest, section_id: int) -> Section:
    return selectors.section_for_user(_user(request), section_id)


@router.patch("/sections/{section_id}", response=SectionOut, summary="Change a section (draft/returned)")
def sections_update(request: HttpRequest, section_id: int, body: SectionPatch) -> Section:
    user = _user(request)
    section = selectors.section_for_user(user, section_id)
    data = body.dict(exclude_unset=True)
    services.section_update(
        acting_user=user,
        section=section,
        name=data.get("name"),
        estimated_price=data.get("estimated_price"),
        bond_amount=data.get("bond_amount"),
        evaluation_method=data.get("evaluation_method"),
        evaluation_params=data.get("evaluation_params"),
        custodians=data.get("custodian_ids"),
        custodian_threshold=data.get("custodian_threshold"),
    )
    return selectors.section_for_user(user, section_id)


@router.delete("/sections/{section_id}", response={204: None}, summary="Delete a section (draft/returned)")
def sections_delete(request: HttpRequest, section_id: int) -> None:
    user = _user(request)
    services.section_delete(acting_user=user, section=selectors.section_for_user(user, section_id))


@router.post(
    "/projects/{project_id}/documents",
    response={201: DocumentOut},
    summary="Upload a registration document for a checklist item (multipart, ≤ 50 MiB)",
)
def documents_upload(
    request: HttpRequest, project_id: int, checklist_item_id: Form[int], file: File[UploadedFile]
) -> ProjectDocument:
    user = _user(request)
    project = selectors.project_for_user(user, project_id)
    return services.project_document_upload(
        acting_user=user,
        project=project,
        checklist_item=checklist_item_id,
        file=file,
        filename=file.name or "",
    )


@router.get(
    "/projects/{project_id}/missing",
    response=list[ChecklistItemOut],
    summary="Required checklist items with no document",
)
def projects_missing(request: HttpRequest, project_id: int) -> list[ChecklistItem]:
    return selectors.missing_items(selectors.project_for_user(_user(request), project_id))


@router.post("/projects/{project_id}/submit", response=ProjectOut, summary="Submit for review")
def projects_submit(request: HttpRequest, project_id: int) -> Project:
    user = _user(request)
    return services.project_submit(acting_user=user, project=selectors.project_for_user(user, project_id))


@router.post(
    "/projects/{project_id}/return",
    response=ProjectOut,
    summary="Return for correction, naming everything missing at once (staff)",
)
def projects_return(request: HttpRequest, project_id: int, body: ReturnIn) -> Project:
    user = _user(request)
    project = selectors.project_for_user(user, project_id)
    services.project_return(acting_user=user, project=project, item_ids=body.item_ids, note=body.note)
    return selectors.project_for_user(user, project_id)


@router.post(
    "/projects/{project_id}/confirm", response=ProjectOut, summary="Confirm the registration (staff)"
)
def projects_confirm(request: HttpRequest, project_id: int, body: ConfirmIn) -> Project:
    user = _user(request)
    project = selectors.project_for_user(user, project_id)
    services.project_confirm(acting_user=user, project=project, responsible_staff=body.responsible_staff_id)
    return selectors.project_for_user(user, project_id)


# ---- the checklist ------------------------------------------------------------------------------


@router.get("/checklist", response=list[ChecklistItemOut], summary="Registration checklist by category")
def checklist_list(request: HttpRequest, category: str = "") -> list[ChecklistItem]:
    return list(selectors.checklist_for_user(_user(request), category=category or None))


@router.post("/checklist", response={201: ChecklistItemOut}, summary="Add a checklist item (staff)")
def checklist_create(request: HttpRequest, body: ChecklistItemIn) -> ChecklistItem:
    return services.checklist_item_add(acting_user=_user(request), **body.dict())


@router.patch("/checklist/{item_id}", response=ChecklistItemOut, summary="Edit or deactivate an item (staff)")
def checklist_update(request: HttpRequest, item_id: int, body: ChecklistItemPatch) -> ChecklistItem:
    user = _user(request)
    require(user, Permission.CHECKLIST_EDIT)  # before the lookup: the answer must not depend on the id
    item = selectors.checklist_items(include_inactive=True).filter(pk=item_id).first()
    if item is None:
        raise NotFound("材料清单项", "checklist item")
    return services.checklist_item_update(acting_user=user, item=item, **body.dict(exclude_unset=True))
