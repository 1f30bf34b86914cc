"""Notices API: announcements (public once published), tender documents, questions,
clarifications, objections to the documents and the sections' opening keys.

Handlers parse, call an access helper and a service or selector, and shape the answer; every
refusal is a DomainError answered as problem+json."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest
from django.urls import reverse
from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from tenderhall.accounts.auth import api_auth
from tenderhall.core.errors import ValidationFailed
from tenderhall.core.permissions import Permission, require
from tenderhall.notices import selectors, services
from tenderhall.notices.models import Clarification, DocumentObtainment, TenderDocument
from tenderhall.projects.models import Section

router = Router(tags=["notices"])


def _user(request: HttpRequest) -> Any:
    return request.user


def _anonymous(request: HttpRequest) -> Any:
    """Public reads: a caller without (valid) credentials reads as nobody in particular."""
    return AnonymousUser()


# Signed-in callers (session or bearer) are recognized, everyone else reads the public content.
_optional_auth = [*api_auth, _anonymous]


# ---- schemas --------------------------------------------------------------------------------------


class ProjectBriefOut(Schema):
    code: str
    title: str
    region: str
    category: str
    category_label: str
    procedure: str
    procedure_label: str
    tenderer: str
    agent: str


class SectionPublicOut(Schema):
    id: int
    code: str
    number: int
    name: str
    estimated_price: str
    bond_amount: str
    status: str
    status_label: str
    docs_sale_start: dt.date | None
    docs_sale_end: dt.date | None
    bid_deadline: dt.datetime | None
    opening_at: dt.datetime | None
    waits_for_objection: bool
    opening_recipient: str
    opening_threshold: int | None
    opening_share_count: int | None


class NoticeRefOut(Schema):
    id: int
    title: str


class CorrectionRefOut(Schema):
    id: int
    title: str
    published_at: dt.datetime | None


class NoticeOut(Schema):
    id: int
    kind: str
    kind_label: str
    status: str
    title: str
    body: str
    body_sha256: str
    published_at: dt.datetime | None
    docs_sale_start: dt.date | None
    docs_sale_end: dt.date | None
    bid_deadline: dt.datetime | None
    opening_at: dt.datetime | None
    is_opening_kind: bool
    project: ProjectBriefOut
    corrects: NoticeRefOut | None
    corrections: list[CorrectionRefOut]
    sections: list[SectionPublicOut]


class NoticePageOut(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    items: list[NoticeOut]


class NoticeIn(Schema):
    project_id: int
    kind: str
    title: str
    body: str
    section_ids: list[int] = []
    corrects_id: int | None = None
    docs_sale_start: dt.date | None = None
    docs_sale_end: dt.date | None = None
    bid_deadline: dt.datetime | None = None
    opening_at: dt.datetime | None = None


class NoticePatchIn(Schema):
    title: str | None = None
    body: str | None = None
    section_ids: list[int] | None = None
    docs_sale_start: dt.date | None = None
    docs_sale_end: dt.date | None = None
    bid_deadline: dt.datetime | None = None
    opening_at: dt.datetime | None = None


class PublishIn(Schema):
    # Corrections only: whether the change may affect bid preparation (法 Art 23).
    affects_bid_preparation: bool = True


class NoticeFilterIn(Schema):
    q: str = ""
    region: str = ""
    category: str = ""
    procedure: str = ""
    kind: str = ""
    published_from: str = ""
    published_to: str = ""
    page: int = 1
    page_size: int = selectors.PORTAL_PAGE_SIZE


class RuleOut(Schema):
    code: str
    title_zh: str
    title_en: str
    article: str
    earliest: str | None
    latest: str | None
    given: str | None
    complies: bool | None
    note_zh: str
    note_en: str


class TimelineOut(Schema):
    procedure: str
    docs_issued: str
    deadline: str | None
    docs_sale_end: str | None
    earliest_deadline: str
    complies: bool
    rules: list[RuleOut]


class DocumentOut(Schema):
    id: int
    version: int
    filename: str
    sha256: str
    size: int
    note: str
    published_at: dt.datetime
    obtained_at: dt.datetime | None
    downloadable: bool
    download_url: str


class ObtainmentOut(Schema):
    document_id: int
    version: int
    obtained_at: dt.datetime


class ObtainerOut(Schema):
    organization: str
    organization_uscc: str
    user: str
    version: int
    obtained_at: dt.datetime


class QuestionIn(Schema):
    text: str


class QuestionOut(Schema):
    id: int
    text: str
    asked_at: dt.datetime
    status: str
    answer_id: int | None
    asker: str  # empty unless the caller may see who asked
    asker_organization: str


class ClarificationIn(Schema):
    text: str
    affects_bid_preparation: bool = True
    question_ids: list[int] = []
    new_deadline: dt.datetime | None = None


class ClarificationOut(Schema):
    id: int
    text: str
    affects_bid_preparation: bool
    deadline_before: dt.datetime | None
    deadline_after: dt.datetime | None
    published_at: dt.datetime
    questions: list[str]  # the texts answered, never their askers


class ObjectionIn(Schema):
    text: str


class ObjectionOut(Schema):
    id: int
    stage: str
    status: str
    raised_at: dt.datetime
    answer_due: dt.datetime


class ShareOut(Schema):
    index: int
    share_sha256: str
    log_index: int


class OpeningKeyOut(Schema):
    section_id: int
    section_code: str
    recipient: str
    public_key: str
    threshold: int
    share_count: int
    created_at: dt.datetime
    shares: list[ShareOut]


# ---- notices --------------------------------------------------------------------------------------


@router.get(
    "/notices",
    response=NoticePageOut,
    auth=None,
    summary="Published notices (public), searchable like the portal",
)
def notices_list(request: HttpRequest, filters: Query[NoticeFilterIn]) -> dict[str, Any]:
    parsed = selectors.notice_filters_from(filters.dict())
    if not 1 <= filters.page_size <= 100 or filters.page < 1:
        raise ValidationFailed(
            "page_invalid",
            "page 应不小于 1，page_size 应在 1 至 100 之间",
            "page must be at least 1 and page_size between 1 and 100",
            fields={"page_size": ""},
        )
    paginator = Paginator(selectors.published_notices(parsed), filters.page_size)
    page = paginator.get_page(filters.page)
    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "page_size": filters.page_size,
        "items": [selectors.notice_public_data(n) for n in page],
    }


@router.post("/notices", response={201: NoticeOut}, summary="Draft a notice (the project's agent/tenderer)")
def notices_create(request: HttpRequest, body: NoticeIn) -> dict[str, Any]:
    user = _user(request)
    require(user, Permission.NOTICE_PUBLISH)  # before any lookup: the answer must not depend on ids
    project = selectors.project_for_publisher(user, body.project_id)
    corrects = selectors.notice_for_user(user, body.corrects_id) if body.corrects_id is not None else None
    notice = services.notice_draft(
        acting_user=user,
        project=project,
        kind=body.kind,
        title=body.title,
        body=body.body,
        section_ids=body.section_ids,
        corrects=corrects,
        docs_sale_start=body.docs_sale_start,
        docs_sale_end=body.docs_sale_end,
        bid_deadline=body.bid_deadline,
        opening_at=body.opening_at,
    )
    return selectors.notice_public_data(selectors.notice_for_user(user, notice.pk))


@router.get(
    "/notices/{notice_id}",
    response=NoticeOut,
    auth=_optional_auth,
    url_name="notices_get",
    summary="One notice: public once published; a draft for its project's parties",
)
def notices_get(request: HttpRequest, notice_id: int) -> dict[str, Any]:
    return selectors.notice_public_data(selectors.notice_for_user(_user(request), notice_id))


@router.patch(
    "/notices/{notice_id}", response=NoticeOut, summary="Change a draft (published ones are immutable)"
)
def notices_patch(request: HttpRequest, notice_id: int, body: NoticePatchIn) -> dict[str, Any]:
    user = _user(request)
    notice = selectors.managed_notice(user, notice_id)
    services.notice_update(acting_user=user, notice=notice, **body.dict(exclude_unset=True))
    return selectors.notice_public_data(selectors.notice_for_user(user, notice_id))


@router.post("/notices/{notice_id}/publish", response=NoticeOut, summary="Publish a draft")
def notices_publish(request: HttpRequest, notice_id: int, body: PublishIn | None = None) -> dict[str, Any]:
    user = _user(request)
    notice = selectors.managed_notice(user, notice_id)
    services.notice_publish(
        acting_user=user,
        notice=notice,
        affects_bid_preparation=body.affects_bid_preparation if body is not None else True,
    )
    return selectors.notice_public_data(selectors.notice_for_user(user, notice_id))


# ---- sections -------------------------------------------------------------------------------------


@router.get(
    "/sections/{section_id}/timeline", response=TimelineOut, summary="The section's statutory timeline"
)
def sections_timeline(request: HttpRequest, section_id: int) -> dict[str, Any]:
    section = selectors.section_for_user(_user(request), section_id)
    data: dict[str, Any] = selectors.section_timeline(section).as_dict()
    return data


@router.get(
    "/sections/{section_id}/opening-key",
    response=OpeningKeyOut,
    auth=None,
    summary="The section's opening key (public): recipient, threshold and the committed share hashes",
)
def sections_opening_key(request: HttpRequest, section_id: int) -> dict[str, Any]:
    section = selectors.public_section(section_id)
    key, shares = selectors.opening_key_public(section)
    return {
        "section_id": section.pk,
        "section_code": section.code,
        "recipient": key.recipient,
        "public_key": key.public_key,
        "threshold": key.threshold,
        "share_count": key.share_count,
        "created_at": key.created_at,
        "shares": [
            {"index": s.share_index, "share_sha256": s.share_sha256, "log_index": s.log_index} for s in shares
        ],
    }


def _document_out(row: dict[str, Any]) -> dict[str, Any]:
    document: TenderDocument = row["document"]
    return {
        "id": document.pk,
        "version": document.version,
        "filename": document.filename,
        "sha256": document.sha256,
        "size": document.size,
        "note": document.note,
        "published_at": document.published_at,
        "obtained_at": row["obtained_at"],
        "downloadable": row["downloadable"],
        "download_url": reverse("api:notices_document_download", args=[document.pk]),
    }


@router.get(
    "/sections/{section_id}/documents", response=list[DocumentOut], summary="Tender-document versions"
)
def documents_list(request: HttpRequest, section_id: int) -> list[dict[str, Any]]:
    user = _user(request)
    section = selectors.section_for_user(user, section_id)
    return [_document_out(row) for row in selectors.documents_for_user(user, section)]


@router.post(
    "/sections/{section_id}/documents",
    response={201: DocumentOut},
    summary="Publish a new version of the tender documents (multipart, ≤ 200 MiB)",
)
def documents_upload(
    request: HttpRequest, section_id: int, file: File[UploadedFile], note: Form[str] = ""
) -> dict[str, Any]:
    user = _user(request)
    section = selectors.section_for_user(user, section_id)
    document = services.document_publish(
        acting_user=user, section=section, file=file, filename=file.name or "", note=note, size=file.size
    )
    rows = [r for r in selectors.documents_for_user(user, section) if r["document"].pk == document.pk]
    return _document_out(rows[0])


@router.post("/sections/{section_id}/obtain", response=ObtainmentOut, summary="Obtain the documents (bidder)")
def documents_obtain(request: HttpRequest, section_id: int) -> dict[str, Any]:
    user = _user(request)
    section = selectors.section_for_user(user, section_id)
    obtainment: DocumentObtainment = services.document_obtain(acting_user=user, section=section)
    return {
        "document_id": obtainment.document_id,
        "version": obtainment.document.version,
        "obtained_at": obtainment.obtained_at,
    }


@router.get(
    "/sections/{section_id}/obtainments",
    response=list[ObtainerOut],
    summary="Who obtained the documents (staff/supervisors, after the bid deadline only: 法 Art 22)",
)
def documents_obtainments(request: HttpRequest, section_id: int) -> list[dict[str, Any]]:
    user = _user(request)
    section = selectors.section_for_user(user, section_id)
    return [
        {
            "organization": o.organization.name,
            "organization_uscc": o.organization.uscc,
            "user": o.user.get_username(),
            "version": o.document.version,
            "obtained_at": o.obtained_at,
        }
        for o in selectors.obtainments_for_user(user, section)
    ]


@router.get(
    "/documents/{document_id}/download",
    response={200: None},
    url_name="notices_document_download",
    summary="Download one version (obtainers of it, the project's parties, staff)",
)
def documents_download(request: HttpRequest, document_id: int) -> FileResponse:
    document = selectors.document_for_download(_user(request), document_id)
    response = FileResponse(document.file.open("rb"), as_attachment=True, filename=document.filename)
    response["X-Content-SHA256"] = document.sha256
    return response


# ---- questions, clarifications, objections ---------------------------------------------------------


@router.get("/sections/{section_id}/questions", response=list[QuestionOut], summary="Questions I may see")
def questions_list(request: HttpRequest, section_id: int) -> list[dict[str, Any]]:
    user = _user(request)
    section = selectors.section_for_user(user, section_id)
    return [_question_out(row) for row in selectors.questions_for_user(user, section)]


def _question_out(row: dict[str, Any]) -> dict[str, Any]:
    question = row["question"]
    return {
        "id": question.pk,
        "text": question.text,
        "asked_at": question.asked_at,
        "status": question.status,
        "answer_id": question.answer_id,
        "asker": row["asker"],
        "asker_organization": row["asker_organization"],
    }


@router.post(
    "/sections/{section_id}/questions", response={201: QuestionOut}, summary="Ask a question (bidder)"
)
def questions_ask(request: HttpRequest, section_id: int, body: QuestionIn) -> dict[str, Any]:
    user = _user(request)
    section = selectors.section_for_user(user, section_id)
    question = services.question_ask(acting_user=user, section=section, text=body.text)
    rows = [r for r in selectors.questions_for_user(user, section) if r["question"].pk == question.pk]
    return _question_out(rows[0])


def _clarification_out(clarification: Clarification) -> dict[str, Any]:
    return {
        "id": clarification.pk,
        "text": clarification.text,
        "affects_bid_preparation": clarification.affects_bid_preparation,
        "deadline_before": clarification.deadline_before,
        "deadline_after": clarification.deadline_after,
        "published_at": clarification.published_at,
        "questions": [q.text for q in clarification.questions.order_by("asked_at", "pk")],
    }


@router.get(
    "/sections/{section_id}/clarifications",
    response=list[ClarificationOut],
    summary="Clarifications (to those who obtained the documents, the parties and staff)",
)
def clarifications_list(request: HttpRequest, section_id: int) -> list[dict[str, Any]]:
    user = _user(request)
    section = selectors.section_for_user(user, section_id)
    return [_clarification_out(c) for c in selectors.clarifications_for_user(user, section)]


@router.post(
    "/sections/{section_id}/clarifications",
    response={201: ClarificationOut},
    summary="Publish a clarification (the project's agent/tenderer)",
)
def clarifications_publish(request: HttpRequest, section_id: int, body: ClarificationIn) -> dict[str, Any]:
    user = _user(request)
    section: Section = selectors.section_for_user(user, section_id)
    clarification = services.clarification_publish(
        acting_user=user,
        section=section,
        text=body.text,
        affects_bid_preparation=body.affects_bid_preparation,
        question_ids=body.question_ids,
        new_deadline=body.new_deadline,
    )
    return _clarification_out(clarification)


@router.post(
    "/sections/{section_id}/objections",
    response={201: ObjectionOut},
    summary="Object to the tender documents (bidder who obtained them; 条例 Art 22)",
)
def objections_raise(request: HttpRequest, section_id: int, body: ObjectionIn) -> Any:
    user = _user(request)
    section = selectors.section_for_user(user, section_id)
    return services.document_objection_raise(acting_user=user, section=section, text=body.text)
