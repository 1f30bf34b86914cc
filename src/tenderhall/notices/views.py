"""Pages of the notices app: the public portal, the publishers' notices, the section page.
Views parse input, call an access helper and a service or selector, and render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenderhall.core.errors import DomainError
from tenderhall.core.forms import show_refusal
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.notices import forms, selectors, services
from tenderhall.notices.models import Notice, NoticeKind, NoticeStatus, QuestionStatus
from tenderhall.projects.models import Section

# ---- the public portal ----------------------------------------------------------------------------


def portal_view(request: HttpRequest) -> HttpResponse:
    """Published notices, searchable, no sign-in (seed 002 §6.4)."""
    form = forms.PortalSearchForm(request.GET or None)
    error = ""
    try:
        filters = selectors.notice_filters_from(request.GET)
    except DomainError as exc:
        error = exc.message
        page = None
        query = ""
    else:
        page = Paginator(selectors.published_notices(filters), selectors.PORTAL_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        query = urlencode(filters.as_query())
    return render(
        request,
        "notices/portal.html",
        {
            "form": form,
            "error": error,
            "page": page,
            "rows": [selectors.notice_public_data(n) for n in page] if page is not None else [],
            "query": query,
        },
    )


def notice_view(request: HttpRequest, pk: int) -> HttpResponse:
    notice = selectors.public_notice(pk)
    return render(
        request,
        "notices/notice.html",
        {"n": selectors.notice_public_data(notice), "timeline": _timeline_or_none(notice)},
    )


def _timeline_or_none(notice: Notice) -> Any:
    try:
        return selectors.notice_timeline(notice)
    except DomainError:
        return None


# ---- the publishers' pages ------------------------------------------------------------------------


def _section_label(section: Section) -> str:
    return f"{section.code} {section.name}"


def _draft_form(user: Any, data: Any = None) -> forms.NoticeDraftForm:
    projects = list(selectors.projects_for_publisher(user).prefetch_related("sections"))
    published = [
        (n.pk, f"{n.project.code} · {n.title}")
        for n in selectors.managed_notices(user).filter(status=NoticeStatus.PUBLISHED)
    ]
    return forms.NoticeDraftForm(
        data,
        projects=[(p.pk, f"{p.code} {p.title}") for p in projects],
        sections=[(s.pk, _section_label(s)) for p in projects for s in p.sections.all()],
        published=published,
    )


@login_required
def manage_view(request: HttpRequest) -> HttpResponse:
    """The agent's or tenderer's notices (drafts included) and a form for a new one."""
    user = request.user
    require(user, Permission.NOTICE_PUBLISH)
    form = _draft_form(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            project = selectors.project_for_publisher(user, data["project"])
            corrects = selectors.managed_notice(user, data["corrects"]) if data["corrects"] else None
            notice = services.notice_draft(
                acting_user=user,
                project=project,
                kind=data["kind"],
                title=data["title"],
                body=data["body"],
                section_ids=data["sections"],
                corrects=corrects,
                docs_sale_start=data["docs_sale_start"],
                docs_sale_end=data["docs_sale_end"],
                bid_deadline=data["bid_deadline"],
                opening_at=data["opening_at"],
            )
        except DomainError as error:
            show_refusal(form, error)
        else:
            messages.success(request, _("Draft saved. Check the timeline, then publish."))
            return redirect("notices:manage_notice", notice.pk)
    sections = [
        (section, selectors.waits_for_objection(section))
        for project in selectors.projects_for_publisher(user).prefetch_related("sections")
        for section in project.sections.all()
    ]
    return render(
        request,
        "notices/manage.html",
        {"notices": selectors.managed_notices(user), "sections": sections, "form": form},
    )


@login_required
def manage_notice_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One of the publisher's notices: edit the draft, preview its timeline, publish it."""
    user = request.user
    require(user, Permission.NOTICE_PUBLISH)
    notice = selectors.managed_notice(user, pk)
    sections = [(s.pk, _section_label(s)) for s in notice.project.sections.all()]
    action = request.POST.get("action", "") if request.method == "POST" else ""
    initial = {
        "title": notice.title,
        "body": notice.body,
        "sections": [s.pk for s in notice.sections.all()],
        "docs_sale_start": notice.docs_sale_start,
        "docs_sale_end": notice.docs_sale_end,
        "bid_deadline": selectors.local_time(notice.bid_deadline),
        "opening_at": selectors.local_time(notice.opening_at),
    }
    edit_form = forms.NoticeEditForm(
        request.POST if action in ("save", "preview") else None, initial=initial, sections=sections
    )
    publish_form = forms.PublishForm(request.POST if action == "publish" else None)
    timeline = None
    refusal = ""
    status = 200
    if action in ("save", "preview") and edit_form.is_valid():
        data = edit_form.cleaned_data
        if action == "preview":
            try:
                timeline = selectors.timeline_preview(
                    procedure=notice.project.procedure,
                    kind=notice.kind,
                    sections=list(notice.project.sections.filter(pk__in=data["sections"])),
                    docs_sale_start=data["docs_sale_start"],
                    docs_sale_end=data["docs_sale_end"],
                    bid_deadline=data["bid_deadline"],
                )
            except DomainError as error:
                show_refusal(edit_form, error)
        else:
            try:
                services.notice_update(
                    acting_user=user,
                    notice=notice,
                    title=data["title"],
                    body=data["body"],
                    section_ids=data["sections"],
                    docs_sale_start=data["docs_sale_start"],
                    docs_sale_end=data["docs_sale_end"],
                    bid_deadline=data["bid_deadline"],
                    opening_at=data["opening_at"],
                )
            except DomainError as error:
                show_refusal(edit_form, error)
            else:
                messages.success(request, _("Draft saved."))
                return redirect("notices:manage_notice", notice.pk)
    elif action == "publish" and publish_form.is_valid():
        affects = (
            publish_form.cleaned_data["affects_bid_preparation"]
            if notice.kind == NoticeKind.CORRECTION
            else True
        )
        try:
            services.notice_publish(acting_user=user, notice=notice, affects_bid_preparation=affects)
        except DomainError as error:
            refusal, status = error.message, error.status
        else:
            messages.success(request, _("Notice published."))
            return redirect("notices:notice", notice.pk)
    elif action and action not in ("save", "preview", "publish"):
        refusal = _("Unknown action.")
    if timeline is None:
        timeline = _timeline_or_none(notice)
    return render(
        request,
        "notices/manage_notice.html",
        {
            "notice": notice,
            "n": selectors.notice_public_data(notice),
            "edit_form": edit_form,
            "publish_form": publish_form,
            "timeline": timeline,
            "refusal": refusal,
            "is_correction": notice.kind == NoticeKind.CORRECTION,
            "previewing": action == "preview",
        },
        status=status,
    )


# ---- the section page -----------------------------------------------------------------------------


def _question_choices(section: Section) -> list[tuple[int, str]]:
    return [
        (q.pk, q.text[:120])
        for q in section.questions.filter(status=QuestionStatus.OPEN).order_by("asked_at", "pk")
    ]


def _render_section(request: HttpRequest, section: Section, **bound: Any) -> HttpResponse:
    user = request.user
    access = selectors.section_access(user, section)
    passed = selectors.deadline_passed(section)
    try:
        timeline = selectors.section_timeline(section)
    except DomainError:
        timeline = None
    clarifications = (
        list(selectors.clarifications_for_user(user, section)) if access.sees_clarifications else []
    )
    obtainments = (
        list(selectors.obtainments_for_user(user, section))
        if passed and has_permission(user, Permission.OBTAINMENT_VIEW)
        else None
    )
    latest = selectors.latest_document(section)
    documents = selectors.documents_for_user(user, section)
    context = {
        "section": section,
        "project": section.project,
        "s": selectors.section_public_data(section),
        "access": access,
        "timeline": timeline,
        "deadline_passed": passed,
        "documents": documents,
        "latest": latest,
        "has_latest": latest is not None
        and any(r["obtained_at"] and r["document"].pk == latest.pk for r in documents),
        "questions": selectors.questions_for_user(user, section),
        "clarifications": clarifications,
        "objections_pending": selectors.objection_count(section) if access.party or access.reader else None,
        "waits": selectors.waits_for_objection(section),
        "obtainments": obtainments,
        "can_publish": access.party and has_permission(user, Permission.DOCUMENT_PUBLISH),
        "can_clarify": access.party and has_permission(user, Permission.CLARIFICATION_PUBLISH),
        "can_obtain": has_permission(user, Permission.DOCUMENT_OBTAIN),
        "can_ask": has_permission(user, Permission.QUESTION_ASK) and access.obtained,
        "can_object": has_permission(user, Permission.OBJECTION_RAISE) and access.obtained,
        "can_see_obtainments": has_permission(user, Permission.OBTAINMENT_VIEW),
        "upload_form": bound.get("upload_form") or forms.DocumentUploadForm(),
        "question_form": bound.get("question_form") or forms.QuestionForm(),
        "clarification_form": bound.get("clarification_form")
        or forms.ClarificationForm(questions=_question_choices(section)),
        "objection_form": bound.get("objection_form") or forms.ObjectionForm(),
        "obtain_error": bound.get("obtain_error", ""),
    }
    return render(request, "notices/section.html", context, status=bound.get("status", 200))


@login_required
def section_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_section(request, selectors.section_for_user(request.user, pk))


@login_required
@require_POST
def section_upload_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    require(user, Permission.DOCUMENT_PUBLISH)
    section = selectors.section_for_user(user, pk)
    form = forms.DocumentUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            document = services.document_publish(
                acting_user=user,
                section=section,
                file=upload,
                filename=upload.name or "",
                note=form.cleaned_data["note"],
                size=upload.size,
            )
        except DomainError as error:
            show_refusal(form, error)
        else:
            messages.success(request, _("Version %(v)s published.") % {"v": document.version})
            return redirect("notices:section", section.pk)
    return _render_section(request, section, upload_form=form, status=422)


@login_required
@require_POST
def section_obtain_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    require(user, Permission.DOCUMENT_OBTAIN)
    section = selectors.section_for_user(user, pk)
    try:
        obtainment = services.document_obtain(acting_user=user, section=section)
    except DomainError as error:
        return _render_section(request, section, obtain_error=error.message, status=error.status)
    messages.success(request, _("You obtained version %(v)s.") % {"v": obtainment.document.version})
    return redirect("notices:section", section.pk)


@login_required
@require_POST
def section_ask_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    require(user, Permission.QUESTION_ASK)
    section = selectors.section_for_user(user, pk)
    form = forms.QuestionForm(request.POST)
    if form.is_valid():
        try:
            services.question_ask(acting_user=user, section=section, text=form.cleaned_data["text"])
        except DomainError as error:
            show_refusal(form, error)
        else:
            messages.success(request, _("Question sent. Your name is not shown to the tenderer."))
            return redirect("notices:section", section.pk)
    return _render_section(request, section, question_form=form, status=422)


@login_required
@require_POST
def section_clarify_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    require(user, Permission.CLARIFICATION_PUBLISH)
    section = selectors.section_for_user(user, pk)
    form = forms.ClarificationForm(request.POST, questions=_question_choices(section))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.clarification_publish(
                acting_user=user,
                section=section,
                text=data["text"],
                affects_bid_preparation=data["affects_bid_preparation"],
                question_ids=data["questions"],
                new_deadline=data["new_deadline"],
            )
        except DomainError as error:
            show_refusal(form, error)
        else:
            messages.success(request, _("Clarification published."))
            return redirect("notices:section", section.pk)
    return _render_section(request, section, clarification_form=form, status=422)


@login_required
@require_POST
def section_object_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    require(user, Permission.OBJECTION_RAISE)
    section = selectors.section_for_user(user, pk)
    form = forms.ObjectionForm(request.POST)
    if form.is_valid():
        try:
            services.document_objection_raise(
                acting_user=user, section=section, text=form.cleaned_data["text"]
            )
        except DomainError as error:
            show_refusal(form, error)
        else:
            messages.success(request, _("Objection raised. The tenderer must answer within 3 days."))
            return redirect("notices:section", section.pk)
    return _render_section(request, section, objection_form=form, status=422)


@login_required
def document_download_view(request: HttpRequest, pk: int) -> FileResponse:
    document = selectors.document_for_download(request.user, pk)
    response = FileResponse(document.file.open("rb"), as_attachment=True, filename=document.filename)
    response["X-Content-SHA256"] = document.sha256
    return response
