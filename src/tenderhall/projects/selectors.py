"""Reads of the projects app, and the access helpers other apps use.

Staff, supervisors and auditors see every project; an agent or tenderer sees the projects its
organization is the tenderer or the agent of; bidders and experts see none here (they see the
published notices in the notices app). Anything not visible answers "not found" (never
"forbidden"), so nobody learns what exists."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from tenderhall.accounts.models import (
    Certificate,
    CertificateStatus,
    CertificateUsage,
    Organization,
    OrganizationKind,
    Role,
    User,
)
from tenderhall.core import clock
from tenderhall.core.errors import NotAuthenticated, NotFound
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.projects.models import (
    ChecklistItem,
    Project,
    ProjectDocument,
    ProjectReview,
    ProjectStatus,
    ReviewDecision,
    Section,
    SectionCustodian,
)

# ---- projects and sections ----------------------------------------------------------------------


def _authenticated(user: Any) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()


def projects_for_user(user: Any) -> QuerySet[Project]:
    _authenticated(user)
    projects = Project.objects.select_related("tenderer", "agent", "centre").order_by("-pk")
    if has_permission(user, Permission.PROJECT_VIEW_ALL):
        return projects
    if has_permission(user, Permission.PROJECT_CREATE) and user.organization_id is not None:
        return projects.filter(Q(tenderer_id=user.organization_id) | Q(agent_id=user.organization_id))
    return projects.none()


def project_for_user(user: Any, pk: int) -> Project:
    project = projects_for_user(user).filter(pk=pk).first()
    if project is None:
        raise NotFound("项目", "project")
    return project


def sections_for_user(user: Any, *, project_id: int | None = None) -> QuerySet[Section]:
    sections = (
        Section.objects.filter(project__in=projects_for_user(user).values("pk"))
        .select_related("project")
        .prefetch_related(
            Prefetch("custodians", queryset=SectionCustodian.objects.select_related("user").order_by("order"))
        )
        .order_by("project_id", "number")
    )
    if project_id is not None:
        sections = sections.filter(project_id=project_id)
    return sections


def section_for_user(user: Any, pk: int) -> Section:
    section = sections_for_user(user).filter(pk=pk).first()
    if section is None:
        raise NotFound("标段", "section")
    return section


def is_party(user: Any, project: Project) -> bool:
    """The user belongs to the project's tenderer or agent (who may edit and submit it)."""
    org_id = getattr(user, "organization_id", None)
    return org_id is not None and org_id in (project.tenderer_id, project.agent_id)


def custodians_of(section: Section) -> list[User]:
    return [c.user for c in section.custodians.select_related("user").order_by("order")]


# ---- the checklist and a project's documents ----------------------------------------------------


def checklist_items(
    category: str | None = None, *, include_inactive: bool = False
) -> QuerySet[ChecklistItem]:
    items = ChecklistItem.objects.order_by("category", "order", "pk")
    if category:
        items = items.filter(category=category)
    if not include_inactive:
        items = items.filter(is_active=True)
    return items


def checklist_for_user(user: Any, *, category: str | None = None) -> QuerySet[ChecklistItem]:
    """Anyone signed in reads the active checklist (it tells parties what to bring); staff who edit
    it also see the deactivated items."""
    _authenticated(user)
    return checklist_items(category, include_inactive=has_permission(user, Permission.CHECKLIST_EDIT))


def current_documents(project: Project) -> dict[int, ProjectDocument]:
    """The latest upload per checklist item: a re-upload replaces it for review, the old row stays."""
    current: dict[int, ProjectDocument] = {}
    for doc in project.documents.select_related("uploaded_by").order_by("pk"):
        if doc.checklist_item_id is not None:
            current[doc.checklist_item_id] = doc
    return current


def missing_items(project: Project) -> list[ChecklistItem]:
    """Every required, active checklist item of the project's category with no document."""
    have = set(current_documents(project))
    return [item for item in checklist_items(project.category) if item.required and item.pk not in have]


def last_return(project: Project) -> ProjectReview | None:
    return (
        project.reviews.filter(decision=ReviewDecision.RETURNED)
        .prefetch_related("missing_items")
        .order_by("-pk")
        .first()
    )


def citable_after_return(project: Project) -> set[int] | None:
    """Which items a later return may cite (一次性告知, seed 002 §6.2.3): those cited last time, those
    uploaded or replaced since, and those still required and missing. ``None`` before any return."""
    previous = last_return(project)
    if previous is None or project.returned_count == 0:
        return None
    allowed = {item.pk for item in previous.missing_items.all()}
    allowed |= {
        doc.checklist_item_id
        for doc in project.documents.filter(review_round__gte=project.returned_count)
        if doc.checklist_item_id is not None
    }
    allowed |= {item.pk for item in missing_items(project)}
    return allowed


@dataclass(frozen=True)
class ChecklistRow:
    item: ChecklistItem
    document: ProjectDocument | None
    versions: int
    changed_since_return: bool  # uploaded or replaced after the last return
    cited_last_time: bool

    @property
    def missing(self) -> bool:
        return self.document is None and self.item.required


def checklist_status(project: Project) -> list[ChecklistRow]:
    current = current_documents(project)
    versions: dict[int, int] = {}
    for item_id in project.documents.values_list("checklist_item_id", flat=True):
        if item_id is not None:
            versions[item_id] = versions.get(item_id, 0) + 1
    previous = last_return(project)
    cited = {item.pk for item in previous.missing_items.all()} if previous else set()
    rows = []
    for item in checklist_items(project.category):
        doc = current.get(item.pk)
        rows.append(
            ChecklistRow(
                item=item,
                document=doc,
                versions=versions.get(item.pk, 0),
                changed_since_return=bool(
                    doc and project.returned_count and doc.review_round >= project.returned_count
                ),
                cited_last_time=item.pk in cited,
            )
        )
    return rows


def reviews_of(project: Project) -> QuerySet[ProjectReview]:
    return project.reviews.select_related("staff").prefetch_related("missing_items").order_by("pk")


def document_for_user(user: Any, project_pk: int, document_pk: int) -> ProjectDocument:
    project = project_for_user(user, project_pk)
    doc = project.documents.filter(pk=document_pk).first()
    if doc is None:
        raise NotFound("文件", "document")
    return doc


# ---- the staff review queue (seed 002 §6.2.4: registration is completed the same day) -----------


@dataclass(frozen=True)
class QueueEntry:
    project: Project
    waited: dt.timedelta
    due_today: bool  # submitted today (local time): to be completed before the day ends
    overdue: bool  # submitted on an earlier day and still not done

    @property
    def waited_display(self) -> str:
        minutes = int(self.waited.total_seconds()) // 60
        days, minutes = divmod(minutes, 24 * 60)
        hours, minutes = divmod(minutes, 60)
        return f"{days} d {hours} h {minutes:02d} min" if days else f"{hours} h {minutes:02d} min"


def review_queue(user: Any) -> list[QueueEntry]:
    """Submitted projects, oldest first. Staff see their own centre's; read-only roles see all."""
    require(user, Permission.PROJECT_VIEW_ALL)
    projects = projects_for_user(user).filter(status=ProjectStatus.SUBMITTED)
    if has_permission(user, Permission.PROJECT_REVIEW) and user.organization_id is not None:
        projects = projects.filter(centre_id=user.organization_id)
    now = clock.now()
    today = clock.today_local()
    entries = []
    for project in projects.order_by("submitted_at", "pk"):
        submitted = project.submitted_at or now
        day = submitted.astimezone(clock.LOCAL_TZ).date()
        entries.append(
            QueueEntry(project=project, waited=now - submitted, due_today=day == today, overdue=day < today)
        )
    return entries


# ---- organizations and people the forms offer ---------------------------------------------------


def organizations_of_kind(kind: str) -> QuerySet[Organization]:
    return Organization.objects.filter(kind=kind, is_active=True).order_by("name", "pk")


def centre_staff(centre_id: int) -> QuerySet[User]:
    return User.objects.filter(organization_id=centre_id, role=Role.STAFF, is_active=True).order_by("pk")


def eligible_custodians(
    *, tenderer_id: int | None, agent_id: int | None, centre_id: int | None
) -> QuerySet[User]:
    """DESIGN §4: the opening key is held by the tender's parties, the centre and the supervisors —
    never by a bidder or an expert."""
    party_orgs = [pk for pk in (tenderer_id, agent_id) if pk is not None]
    # centre_id None (a project not yet saved): the staff of any centre.
    staff = (
        Q(role=Role.STAFF, organization__kind=OrganizationKind.TRADING_CENTRE)
        if centre_id is None
        else Q(role=Role.STAFF, organization_id=centre_id)
    )
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(role__in=[Role.AGENT, Role.TENDERER], organization_id__in=party_orgs)
            | staff
            | Q(role=Role.SUPERVISOR, organization__kind=OrganizationKind.SUPERVISOR)
        )
        .select_related("organization")
        .order_by("role", "pk")
    )


def encryption_certificate_for(user: User) -> Certificate | None:
    """The active, currently valid encryption certificate a key share would be encrypted to
    (DESIGN §4): one registered to the user, else one of the user's organization with no holder."""
    if user.organization_id is None:
        return None
    now = clock.now()
    valid = Certificate.objects.filter(
        usage=CertificateUsage.ENCRYPTION,
        status=CertificateStatus.ACTIVE,
        organization_id=user.organization_id,
        not_before__lte=now,
        not_after__gt=now,
    ).order_by("-pk")
    return valid.filter(holder=user).first() or valid.filter(holder__isnull=True).first()
