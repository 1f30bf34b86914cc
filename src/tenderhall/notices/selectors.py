"""Reads of the notices app and its access helpers (fetch and authorize in one call).

Who sees what:
- published notices are public (the portal, the feed, the public API); drafts only the project's
  parties (its tenderer and agent) and the read-all roles (staff, supervisors, auditors);
- a section's page: its parties, the read-all roles, and — once it is announced — any bidder;
- who obtained the documents, and how many did, nobody before the bid deadline; afterwards the
  read-all roles (OBTAINMENT_VIEW) only (法 Art 22);
- a question's asker: the trading centre (QUESTION_VIEW_ASKER) and the asker's own organization;
- clarifications: the parties, the read-all roles and the organizations that obtained the documents.

Anything outside a user's scope answers "not found" (never "forbidden").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from tenderhall.core import clock
from tenderhall.core.calendar import stored_calendar
from tenderhall.core.errors import DomainError, NotFound, ValidationFailed
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.disputes.selectors import pending_objections, section_waits_for_objection
from tenderhall.notices import timeline as timeline_rules
from tenderhall.notices.models import (
    OPENING_KINDS,
    Clarification,
    DocumentObtainment,
    KeyShare,
    Notice,
    NoticeKind,
    NoticeStatus,
    OpeningKey,
    Question,
    TenderDocument,
)
from tenderhall.projects.models import Category, Procedure, Project, ProjectStatus, Section, SectionStatus

PORTAL_PAGE_SIZE = 20
FEED_SIZE = 50


# ---- small facts ---------------------------------------------------------------------------------


def local_date(moment: dt.datetime) -> dt.date:
    """The Asia/Shanghai calendar date of an instant: statutory periods count local days."""
    return moment.astimezone(clock.LOCAL_TZ).date()


def local_time(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(clock.LOCAL_TZ) if moment is not None else None


def sees_all(user: Any) -> bool:
    """Staff, supervisors and auditors read every project."""
    return has_permission(user, Permission.PROJECT_VIEW_ALL)


def is_party(user: Any, project: Project) -> bool:
    """The project's tenderer or agent (招标人、招标代理机构)."""
    org_id = getattr(user, "organization_id", None)
    return org_id is not None and org_id in (project.tenderer_id, project.agent_id)


def deadline_passed(section: Section) -> bool:
    return section.bid_deadline is not None and clock.now() >= section.bid_deadline


def is_announced(section: Section) -> bool:
    return section.announced_at is not None


def has_obtained(organization_id: int | None, section: Section) -> bool:
    if organization_id is None:
        return False
    return DocumentObtainment.objects.filter(section=section, organization_id=organization_id).exists()


# ---- projects a publisher may act on -------------------------------------------------------------


def projects_for_publisher(user: Any) -> QuerySet[Project]:
    """Registered projects whose tenderer or agent is the user's organization."""
    require(user, Permission.NOTICE_PUBLISH)
    org_id = user.organization_id
    return (
        Project.objects.filter(Q(tenderer_id=org_id) | Q(agent_id=org_id), status=ProjectStatus.REGISTERED)
        .select_related("tenderer", "agent")
        .order_by("-pk")
    )


def project_for_publisher(user: Any, pk: int) -> Project:
    project = projects_for_publisher(user).filter(pk=pk).first()
    if project is None:
        raise NotFound("项目", "project")
    return project


# ---- notices --------------------------------------------------------------------------------------


def _with_relations(notices: QuerySet[Notice]) -> QuerySet[Notice]:
    return notices.select_related("project__tenderer", "project__agent", "corrects").prefetch_related(
        Prefetch("sections", queryset=Section.objects.select_related("project", "opening_key")),
        Prefetch(
            "corrections",
            queryset=Notice.objects.filter(status=NoticeStatus.PUBLISHED).order_by("published_at", "pk"),
        ),
    )


@dataclass(frozen=True)
class NoticeFilters:
    q: str = ""
    region: str = ""
    category: str = ""
    procedure: str = ""
    kind: str = ""
    published_from: dt.date | None = None
    published_to: dt.date | None = None

    def as_query(self) -> dict[str, str]:
        """The filters as GET parameters (for pagination links)."""
        values = {
            "q": self.q,
            "region": self.region,
            "category": self.category,
            "procedure": self.procedure,
            "kind": self.kind,
            "published_from": self.published_from.isoformat() if self.published_from else "",
            "published_to": self.published_to.isoformat() if self.published_to else "",
        }
        return {k: v for k, v in values.items() if v}


def _choice(params: Mapping[str, Any], name: str, allowed: list[str]) -> str:
    value = str(params.get(name) or "").strip()
    if value and value not in allowed:
        raise ValidationFailed(
            "filter_invalid",
            f"筛选条件 {name} 的取值无效：{value}",
            f"filter {name} has an unknown value: {value}",
            fields={name: ""},
        )
    return value


def _date(params: Mapping[str, Any], name: str) -> dt.date | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValidationFailed(
            "filter_invalid",
            f"日期格式应为 YYYY-MM-DD：{name}",
            f"dates are written YYYY-MM-DD: {name}",
            fields={name: ""},
        ) from None


def notice_filters_from(params: Mapping[str, Any]) -> NoticeFilters:
    """Parse the portal's GET parameters (bad input is a refusal, never a 500)."""
    filters = NoticeFilters(
        q=str(params.get("q") or "").strip()[:200],
        region=str(params.get("region") or "").strip()[:100],
        category=_choice(params, "category", Category.values),
        procedure=_choice(params, "procedure", Procedure.values),
        kind=_choice(params, "kind", NoticeKind.values),
        published_from=_date(params, "published_from"),
        published_to=_date(params, "published_to"),
    )
    if filters.published_from and filters.published_to and filters.published_from > filters.published_to:
        raise ValidationFailed(
            "filter_invalid",
            "发布日期范围的起始日晚于截止日",
            "the published-from date is after the published-to date",
            fields={"published_from": ""},
        )
    return filters


def _start_of_local_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=clock.LOCAL_TZ)


def published_notices(filters: NoticeFilters | None = None) -> QuerySet[Notice]:
    """The public portal: published notices, newest first, filtered."""
    notices = Notice.objects.filter(status=NoticeStatus.PUBLISHED)
    f = filters or NoticeFilters()
    if f.q:
        notices = notices.filter(Q(title__icontains=f.q) | Q(project__code__icontains=f.q))
    if f.region:
        notices = notices.filter(project__region__icontains=f.region)
    if f.category:
        notices = notices.filter(project__category=f.category)
    if f.procedure:
        notices = notices.filter(project__procedure=f.procedure)
    if f.kind:
        notices = notices.filter(kind=f.kind)
    if f.published_from:
        notices = notices.filter(published_at__gte=_start_of_local_day(f.published_from))
    if f.published_to:
        notices = notices.filter(published_at__lt=_start_of_local_day(f.published_to + dt.timedelta(days=1)))
    return _with_relations(notices).order_by("-published_at", "-pk")


def latest_published_notices() -> list[Notice]:
    return list(published_notices()[:FEED_SIZE])


def public_notice(pk: int) -> Notice:
    notice = published_notices().filter(pk=pk).first()
    if notice is None:
        raise NotFound("公告", "notice")
    return notice


def notices_for_user(user: Any) -> QuerySet[Notice]:
    """Published notices, plus the drafts of the projects the user is party to (all for read-all roles)."""
    if not getattr(user, "is_authenticated", False):
        return published_notices()
    notices = Notice.objects.all()
    if not sees_all(user):
        org_id = getattr(user, "organization_id", None)
        notices = notices.filter(
            Q(status=NoticeStatus.PUBLISHED) | Q(project__tenderer_id=org_id) | Q(project__agent_id=org_id)
            if org_id is not None
            else Q(status=NoticeStatus.PUBLISHED)
        )
    return _with_relations(notices).order_by("-created_at", "-pk")


def notice_for_user(user: Any, pk: int) -> Notice:
    notice = notices_for_user(user).filter(pk=pk).first()
    if notice is None:
        raise NotFound("公告", "notice")
    return notice


def managed_notices(user: Any) -> QuerySet[Notice]:
    """The publisher's own projects' notices, drafts included."""
    require(user, Permission.NOTICE_PUBLISH)
    org_id = user.organization_id
    return _with_relations(
        Notice.objects.filter(Q(project__tenderer_id=org_id) | Q(project__agent_id=org_id))
    ).order_by("-created_at", "-pk")


def managed_notice(user: Any, pk: int) -> Notice:
    notice = managed_notices(user).filter(pk=pk).first()
    if notice is None:
        raise NotFound("公告", "notice")
    return notice


def section_public_data(section: Section) -> dict[str, Any]:
    """What anyone may know of an announced section (the portal and the public API agree)."""
    key = getattr(section, "opening_key", None) if _has_opening_key(section) else None
    return {
        "id": section.pk,
        "code": section.code,
        "number": section.number,
        "name": section.name,
        "estimated_price": str(section.estimated_price),
        "bond_amount": str(section.bond_amount),
        "status": section.status,
        "status_label": str(SectionStatus(section.status).label),
        "docs_sale_start": section.docs_sale_start,
        "docs_sale_end": section.docs_sale_end,
        "bid_deadline": local_time(section.bid_deadline),
        "opening_at": local_time(section.opening_at),
        "waits_for_objection": section_waits_for_objection(section.pk),
        "opening_recipient": key.recipient if key else "",
        "opening_threshold": key.threshold if key else None,
        "opening_share_count": key.share_count if key else None,
    }


def _has_opening_key(section: Section) -> bool:
    try:
        section.opening_key  # noqa: B018 - the reverse one-to-one raises when absent
    except OpeningKey.DoesNotExist:
        return False
    return True


def notice_public_data(notice: Notice) -> dict[str, Any]:
    """One notice as the portal page, the feed and the public API show it (seed 001 §6.4.1: the
    same content everywhere)."""
    project = notice.project
    corrections = [n for n in notice.corrections.all() if n.status == NoticeStatus.PUBLISHED]
    corrects = (
        notice.corrects if notice.corrects and notice.corrects.status == NoticeStatus.PUBLISHED else None
    )
    return {
        "id": notice.pk,
        "kind": notice.kind,
        "kind_label": str(NoticeKind(notice.kind).label),
        "status": notice.status,
        "title": notice.title,
        "body": notice.body,
        "body_sha256": notice.body_sha256,
        "published_at": local_time(notice.published_at),
        "docs_sale_start": notice.docs_sale_start,
        "docs_sale_end": notice.docs_sale_end,
        "bid_deadline": local_time(notice.bid_deadline),
        "opening_at": local_time(notice.opening_at),
        "is_opening_kind": notice.kind in OPENING_KINDS,
        "project": {
            "code": project.code,
            "title": project.title,
            "region": project.region,
            "category": project.category,
            "category_label": str(Category(project.category).label),
            "procedure": project.procedure,
            "procedure_label": str(Procedure(project.procedure).label),
            "tenderer": project.tenderer.name,
            "agent": project.agent.name if project.agent else "",
        },
        "corrects": {"id": corrects.pk, "title": corrects.title} if corrects else None,
        "corrections": [
            {"id": n.pk, "title": n.title, "published_at": local_time(n.published_at)} for n in corrections
        ],
        "sections": [section_public_data(s) for s in notice.sections.all()],
    }


# ---- sections -------------------------------------------------------------------------------------


def sections_for_user(user: Any) -> QuerySet[Section]:
    require(user, Permission.ORGANIZATION_VIEW)  # signed in and active
    sections = Section.objects.select_related("project__tenderer", "project__agent")
    if sees_all(user):
        return sections
    org_id = user.organization_id
    announced = Q(announced_at__isnull=False)
    if org_id is None:
        return sections.filter(announced)
    return sections.filter(announced | Q(project__tenderer_id=org_id) | Q(project__agent_id=org_id))


def section_for_user(user: Any, pk: int) -> Section:
    section = sections_for_user(user).filter(pk=pk).first()
    if section is None:
        raise NotFound("标段", "section")
    return section


def public_section(pk: int) -> Section:
    section = Section.objects.select_related("project").filter(pk=pk, announced_at__isnull=False).first()
    if section is None:
        raise NotFound("标段", "section")
    return section


def opening_key_public(section: Section) -> tuple[OpeningKey, list[KeyShare]]:
    """The public half and the share commitments: anyone may check them against the log."""
    key = OpeningKey.objects.filter(section=section).first()
    if key is None:
        raise NotFound("开标密钥", "opening key")
    return key, list(KeyShare.objects.filter(opening_key=key).order_by("share_index"))


@dataclass(frozen=True)
class SectionAccess:
    """What the user is to this section (pages and the API branch on it; services re-check)."""

    party: bool
    reader: bool  # staff, supervisors, auditors
    bidder: bool
    obtained: bool

    @property
    def sees_documents(self) -> bool:
        return self.party or self.reader

    @property
    def sees_clarifications(self) -> bool:
        return self.party or self.reader or self.obtained


def section_access(user: Any, section: Section) -> SectionAccess:
    return SectionAccess(
        party=is_party(user, section.project),
        reader=sees_all(user),
        bidder=has_permission(user, Permission.DOCUMENT_OBTAIN),
        obtained=has_obtained(getattr(user, "organization_id", None), section),
    )


def section_timeline(section: Section) -> Any:
    """The statutory rules as they stand for the section's current timeline."""
    if section.docs_sale_start is None:
        raise ValidationFailed(
            "timeline_not_set",
            "该标段尚未发布招标公告，没有时间安排",
            "the section has no timeline yet: its announcement is not published",
        )
    return timeline_rules.compute_timeline(
        procedure=section.project.procedure,
        docs_issued=section.docs_sale_start,
        calendar=stored_calendar(),
        deadline=local_date(section.bid_deadline) if section.bid_deadline else None,
        docs_sale_end=section.docs_sale_end,
    )


def timeline_preview(
    *,
    procedure: str,
    kind: str,
    sections: list[Section],
    docs_sale_start: dt.date | None,
    docs_sale_end: dt.date | None,
    bid_deadline: dt.datetime | None,
) -> Any | None:
    """The rules as a draft's dates stand (the publish form shows the table before publishing);
    a correction's missing dates are the section's current ones. ``None`` without a sale start."""
    if kind == NoticeKind.CORRECTION:
        current = next((s for s in sections if s.docs_sale_start is not None), None)
        if current is None:
            return None
        docs_sale_start = docs_sale_start or current.docs_sale_start
        docs_sale_end = docs_sale_end or current.docs_sale_end
        bid_deadline = bid_deadline or current.bid_deadline
    elif kind not in OPENING_KINDS:
        return None
    if docs_sale_start is None:
        return None
    return timeline_rules.compute_timeline(
        procedure=procedure,
        docs_issued=docs_sale_start,
        calendar=stored_calendar(),
        deadline=local_date(bid_deadline) if bid_deadline else None,
        docs_sale_end=docs_sale_end,
    )


def notice_timeline(notice: Notice) -> Any | None:
    return timeline_preview(
        procedure=notice.project.procedure,
        kind=notice.kind,
        sections=list(notice.sections.all()),
        docs_sale_start=notice.docs_sale_start,
        docs_sale_end=notice.docs_sale_end,
        bid_deadline=notice.bid_deadline,
    )


def waits_for_objection(section: Section) -> bool:
    return section_waits_for_objection(section.pk)


def objection_count(section: Section) -> int:
    """For the parties: how many objections to the documents await an answer (no names)."""
    return pending_objections(section_id=section.pk).count()


# ---- documents ------------------------------------------------------------------------------------


def documents_of(section: Section) -> list[TenderDocument]:
    return list(TenderDocument.objects.filter(section=section).order_by("version"))


def latest_document(section: Section) -> TenderDocument | None:
    return TenderDocument.objects.filter(section=section).order_by("-version").first()


def obtained_versions(user: Any, section: Section) -> dict[int, dt.datetime]:
    """The versions the user's organization obtained (document id -> when). Its own only."""
    org_id = getattr(user, "organization_id", None)
    if org_id is None:
        return {}
    return dict(
        DocumentObtainment.objects.filter(section=section, organization_id=org_id).values_list(
            "document_id", "obtained_at"
        )
    )


def documents_for_user(user: Any, section: Section) -> list[dict[str, Any]]:
    """Every version with whether the user may download it. A bidder sees the versions and which
    of them its organization obtained; never anyone else's obtainment."""
    access = section_access(user, section)
    mine = obtained_versions(user, section)
    rows = []
    for document in documents_of(section):
        rows.append(
            {
                "document": document,
                "obtained_at": mine.get(document.pk),
                "downloadable": access.sees_documents or document.pk in mine,
            }
        )
    return rows


def document_for_download(user: Any, pk: int) -> TenderDocument:
    """The parties and read-all roles may download any version; a bidder only a version its
    organization obtained. Anything else is "not found"."""
    document = TenderDocument.objects.select_related("section__project").filter(pk=pk).first()
    if document is None:
        raise NotFound("招标文件", "tender document")
    section = document.section
    if sees_all(user) or is_party(user, section.project):
        return document
    org_id = getattr(user, "organization_id", None)
    if (
        org_id is not None
        and DocumentObtainment.objects.filter(document=document, organization_id=org_id).exists()
    ):
        return document
    raise NotFound("招标文件", "tender document")


class ObtainmentsSecret(DomainError):
    status = 403

    def __init__(self) -> None:
        super().__init__(
            "obtainments_secret",
            "投标截止前，任何人不得查看获取招标文件的潜在投标人名称和数量",
            "before the bid deadline nobody may see who obtained the documents or how many did",
            article="法 Art 22",
        )


def obtainments_for_user(user: Any, section: Section) -> QuerySet[DocumentObtainment]:
    """Who obtained the documents: the read-all roles, after the deadline only (法 Art 22)."""
    require(user, Permission.OBTAINMENT_VIEW)
    if not deadline_passed(section):
        raise ObtainmentsSecret()
    return DocumentObtainment.objects.filter(section=section).select_related(
        "organization", "user", "document"
    )


def obtainers_to_notify(section: Section) -> list[Any]:
    """The people who obtained the section's documents (the services notify them; nobody else
    reads this list)."""
    seen: dict[int, Any] = {}
    for obtainment in DocumentObtainment.objects.filter(section=section).select_related("user"):
        if obtainment.user.is_active:
            seen.setdefault(obtainment.user_id, obtainment.user)
    return list(seen.values())


# ---- questions and clarifications ---------------------------------------------------------------


def asker_visible(user: Any, question: Question) -> bool:
    """The asker's identity: the trading centre, and the asker's own organization."""
    if has_permission(user, Permission.QUESTION_VIEW_ASKER):
        return True
    return getattr(user, "organization_id", None) == question.organization_id


def questions_for_user(user: Any, section: Section) -> list[dict[str, Any]]:
    """The parties and read-all roles see every question's text; a bidder only its own
    organization's. The asker is shown only where ``asker_visible`` allows."""
    access = section_access(user, section)
    questions = Question.objects.filter(section=section).select_related("asked_by", "organization", "answer")
    if not (access.party or access.reader):
        org_id = getattr(user, "organization_id", None)
        questions = questions.filter(organization_id=org_id) if org_id is not None else questions.none()
    rows = []
    for question in questions.order_by("asked_at", "pk"):
        show = asker_visible(user, question)
        rows.append(
            {
                "question": question,
                "asker": question.asked_by.get_username() if show else "",
                "asker_organization": question.organization.name if show else "",
            }
        )
    return rows


class ClarificationsHidden(DomainError):
    status = 403

    def __init__(self) -> None:
        super().__init__(
            "documents_not_obtained",
            "答疑澄清只向已获取招标文件的潜在投标人公开，请先获取招标文件",
            "clarifications go to those who obtained the tender documents: obtain them first",
            article="法 Art 23",
        )


def clarifications_for_user(user: Any, section: Section) -> QuerySet[Clarification]:
    access = section_access(user, section)
    if not access.sees_clarifications:
        raise ClarificationsHidden()
    return Clarification.objects.filter(section=section).order_by("published_at", "pk")
