"""Pages of the projects app. Views parse input, call a service or selector, and render."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tenderhall.accounts.models import OrganizationKind, Role, User
from tenderhall.core.errors import DomainError, NotFound
from tenderhall.core.forms import show_refusal
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.projects import forms, selectors, services
from tenderhall.projects.models import Category, Project, Section


def _acting(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _refused(request: HttpRequest, error: DomainError, project: Project) -> HttpResponse:
    """A rule's refusal goes back to the project page as a message; a permission refusal stays an
    error page (403/404), never a silent reload."""
    if error.status in (401, 403, 404):
        raise error
    messages.error(request, error.message)
    return redirect("projects:detail", project.pk)


def _orgs(kind: str) -> list[tuple[int, str]]:
    return [(o.pk, o.name) for o in selectors.organizations_of_kind(kind)]


def _user_choice(user: User) -> tuple[int, str]:
    certified = "✓" if selectors.encryption_certificate_for(user) is not None else "✗"
    certificate = _("encryption certificate")  # not inside the f-string: xgettext cannot see it there
    return (
        user.pk,
        f"{user.display_name or user.username} ({user.username}) · {user.get_role_display()} · "
        f"{certificate} {certified}",
    )


def _custodian_choices(user: User, project: Project | None) -> list[tuple[int, str]]:
    if project is not None:
        people = selectors.eligible_custodians(
            tenderer_id=project.tenderer_id, agent_id=project.agent_id, centre_id=project.centre_id
        )
    else:  # before the project exists: the acting party's people, any centre's staff, supervisors
        people = selectors.eligible_custodians(
            tenderer_id=user.organization_id, agent_id=None, centre_id=None
        )
    return [_user_choice(person) for person in people]


def _project_form(request: HttpRequest, user: User, **kwargs: Any) -> forms.ProjectForm:
    own = [(user.organization.pk, user.organization.name)] if user.organization else []
    is_agent = user.role == Role.AGENT
    centres = _orgs(OrganizationKind.TRADING_CENTRE)
    initial = kwargs.pop("initial", {})
    if len(centres) == 1:
        initial.setdefault("centre", centres[0][0])
    return forms.ProjectForm(
        request.POST or None,
        # An agent registers for a tenderer it names; a tenderer for itself, with or without an agent.
        tenderers=_orgs(OrganizationKind.TENDERER) if is_agent else own,
        agents=own if is_agent else _orgs(OrganizationKind.AGENT),
        centres=centres,
        agent_optional=not is_agent,
        initial=initial,
        **kwargs,
    )


def _section_values(form: forms.SectionForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "estimated_price": data["estimated_price"],
        "bond_amount": data["bond_amount"],
        "evaluation_method": data["evaluation_method"],
        "evaluation_params": form.evaluation_params(),
        "custodian_threshold": data["custodian_threshold"],
    }


def _show_section_refusal(
    error: DomainError, project_form: forms.ProjectForm, section_forms: Sequence[forms.SectionForm]
) -> None:
    index = error.extra.get("section_index")
    if isinstance(index, int) and 0 <= index < len(section_forms):
        show_refusal(section_forms[index], error)
    else:
        show_refusal(project_form, error)


# ---- list, register, edit -----------------------------------------------------------------------


@login_required
@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    user = _acting(request)
    if not has_permission(user, Permission.PROJECT_CREATE):
        require(user, Permission.PROJECT_VIEW_ALL)  # bidders and experts see no project here
    projects = selectors.projects_for_user(user)
    status = request.GET.get("status", "")
    if status:
        projects = projects.filter(status=status)
    return render(
        request,
        "projects/list.html",
        {
            "projects": projects,
            "queue": selectors.review_queue(user)
            if has_permission(user, Permission.PROJECT_VIEW_ALL)
            else None,
            "can_create": has_permission(user, Permission.PROJECT_CREATE),
            "can_edit_checklist": has_permission(user, Permission.CHECKLIST_EDIT),
            "status": status,
        },
    )


@login_required
def project_new(request: HttpRequest) -> HttpResponse:
    user = _acting(request)
    require(user, Permission.PROJECT_CREATE)
    project_form = _project_form(request, user)
    formset = forms.NewSectionFormSet(
        request.POST or None,
        prefix="sections",
        form_kwargs={"custodian_choices": _custodian_choices(user, None)},
    )
    if request.method == "POST" and project_form.is_valid() and formset.is_valid():
        filled = [f for f in formset.forms if f.has_changed()]
        data = project_form.cleaned_data
        try:
            project = services.project_register(
                acting_user=user,
                title=data["title"],
                category=data["category"],
                procedure=data["procedure"],
                tenderer=data["tenderer"],
                agent=data["agent"],
                centre=data["centre"],
                region=data["region"],
                description=data["description"],
                sections=[
                    services.SectionSpec(
                        custodians=f.cleaned_data["custodians"] or None, **_section_values(f)
                    )
                    for f in filled
                ],
            )
        except DomainError as error:
            if error.status in (401, 403, 404):
                raise
            _show_section_refusal(error, project_form, filled)
        else:
            messages.success(request, _("Project %(code)s registered as a draft.") % {"code": project.code})
            return redirect("projects:detail", project.pk)
    return render(
        request,
        "projects/form.html",
        {"project_form": project_form, "formset": formset, "project": None},
    )


def _edit_initial(section: Section) -> dict[str, Any]:
    return {
        "id": section.pk,
        "name": section.name,
        "estimated_price": str(section.estimated_price),
        "bond_amount": str(section.bond_amount),
        "evaluation_method": section.evaluation_method,
        "custodians": [u.pk for u in selectors.custodians_of(section)],
        "custodian_threshold": section.custodian_threshold,
        **forms.params_initial(section.evaluation_method, section.evaluation_params),
    }


def _apply_edit(user: User, project: Project, project_form: forms.ProjectForm, formset: Any) -> None:
    data = project_form.cleaned_data
    services.project_update(
        acting_user=user,
        project=project,
        title=data["title"],
        category=data["category"],
        procedure=data["procedure"],
        tenderer=data["tenderer"],
        agent=data["agent"],
        centre=data["centre"],
        region=data["region"],
        description=data["description"],
    )
    sections = {s.pk: s for s in project.sections.all()}
    for index, form in enumerate(formset.forms):
        if not form.has_changed():
            continue
        section = sections.get(form.cleaned_data.get("id"))
        custodians = form.cleaned_data["custodians"] or None
        try:
            if section is not None and form.cleaned_data.get("DELETE"):
                services.section_delete(acting_user=user, section=section)
            elif section is not None:
                services.section_update(
                    acting_user=user, section=section, custodians=custodians, **_section_values(form)
                )
            elif not form.cleaned_data.get("DELETE"):
                spec = services.SectionSpec(custodians=custodians, **_section_values(form))
                services.section_add(acting_user=user, project=project, spec=spec)
        except DomainError as error:
            error.extra = {**error.extra, "section_index": index}  # show it on its own form
            raise


@login_required
def project_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _acting(request)
    project = selectors.project_for_user(user, pk)
    require(user, Permission.PROJECT_CREATE)
    if not selectors.is_party(user, project):
        raise NotFound("项目", "project")
    if not project.can_edit():
        messages.error(request, _("Only a draft or returned project can be changed."))
        return redirect("projects:detail", project.pk)
    sections = list(project.sections.order_by("number"))
    project_form = _project_form(
        request,
        user,
        initial={
            "title": project.title,
            "category": project.category,
            "procedure": project.procedure,
            "tenderer": project.tenderer_id,
            "agent": project.agent_id,
            "centre": project.centre_id,
            "region": project.region,
            "description": project.description,
        },
    )
    formset = forms.edit_section_formset(len(sections))(
        request.POST or None,
        prefix="sections",
        initial=[_edit_initial(s) for s in sections],
        form_kwargs={"custodian_choices": _custodian_choices(user, project)},
    )
    if request.method == "POST" and project_form.is_valid() and formset.is_valid():
        try:
            with transaction.atomic():  # the project and all its sections, or nothing
                _apply_edit(user, project, project_form, formset)
        except DomainError as error:
            if error.status in (401, 403, 404):
                raise
            _show_section_refusal(error, project_form, formset.forms)
        else:
            messages.success(request, _("Project saved."))
            return redirect("projects:detail", project.pk)
    return render(
        request,
        "projects/form.html",
        {"project_form": project_form, "formset": formset, "project": project},
    )


# ---- the project page and its actions -----------------------------------------------------------


@login_required
@require_GET
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _acting(request)
    project = selectors.project_for_user(user, pk)
    party = selectors.is_party(user, project) and has_permission(user, Permission.PROJECT_CREATE)
    reviewer = has_permission(user, Permission.PROJECT_REVIEW) and user.organization_id == project.centre_id
    rows = selectors.checklist_status(project)
    missing = selectors.missing_items(project)
    context: dict[str, Any] = {
        "project": project,
        "sections": selectors.sections_for_user(user, project_id=project.pk),
        "rows": rows,
        "missing": missing,
        "reviews": selectors.reviews_of(project),
        "can_edit": party and project.can_edit(),
        "can_submit": party and project.can_submit(),
        "can_review": reviewer and project.can_review(),
        "upload_form": forms.DocumentUploadForm(),
    }
    if context["can_review"]:
        citable = selectors.citable_after_return(project)
        missing_ids = {item.pk for item in missing}
        context["return_form"] = forms.ReturnForm(
            items=[(row.item.pk, row.item.name) for row in rows],
            initial={"item_ids": sorted(missing_ids)},
        )
        context["citable"] = citable
        context["missing_ids"] = missing_ids
        context["confirm_form"] = forms.ConfirmForm(
            staff=[(s.pk, s.display_name or s.username) for s in selectors.centre_staff(project.centre_id)],
            initial={"responsible_staff": project.responsible_staff_id or user.pk},
        )
    return render(request, "projects/detail.html", context)


@login_required
@require_POST
def project_upload(request: HttpRequest, pk: int) -> HttpResponse:
    user = _acting(request)
    project = selectors.project_for_user(user, pk)
    form = forms.DocumentUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to upload."))
        return redirect("projects:detail", project.pk)
    upload = form.cleaned_data["file"]
    try:
        doc = services.project_document_upload(
            acting_user=user,
            project=project,
            checklist_item=form.cleaned_data["checklist_item_id"],
            file=upload,
            filename=upload.name or "",
        )
    except DomainError as error:
        return _refused(request, error, project)
    messages.success(request, _("%(name)s uploaded.") % {"name": doc.filename})
    return redirect("projects:detail", project.pk)


@login_required
@require_GET
def document_download(request: HttpRequest, pk: int, doc_pk: int) -> FileResponse:
    doc = selectors.document_for_user(_acting(request), pk, doc_pk)
    # Always an attachment of an opaque type: an uploaded HTML file must never run on our origin.
    return FileResponse(
        doc.file.open("rb"),
        as_attachment=True,
        filename=doc.filename,
        content_type="application/octet-stream",
    )


@login_required
@require_POST
def project_submit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _acting(request)
    project = selectors.project_for_user(user, pk)
    try:
        services.project_submit(acting_user=user, project=project)
    except DomainError as error:
        return _refused(request, error, project)
    messages.success(request, _("Submitted to the trading centre for review."))
    return redirect("projects:detail", project.pk)


@login_required
@require_POST
def project_return(request: HttpRequest, pk: int) -> HttpResponse:
    user = _acting(request)
    project = selectors.project_for_user(user, pk)
    require(user, Permission.PROJECT_REVIEW)
    form = forms.ReturnForm(
        request.POST, items=[(item.pk, item.name) for item in selectors.checklist_items(project.category)]
    )
    if not form.is_valid():
        messages.error(request, _("The return form is not valid."))
        return redirect("projects:detail", project.pk)
    try:
        services.project_return(
            acting_user=user,
            project=project,
            item_ids=form.cleaned_data["item_ids"],
            note=form.cleaned_data["note"],
        )
    except DomainError as error:
        return _refused(request, error, project)
    messages.success(request, _("Returned for correction; the submitter has been notified."))
    return redirect("projects:detail", project.pk)


@login_required
@require_POST
def project_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    user = _acting(request)
    project = selectors.project_for_user(user, pk)
    require(user, Permission.PROJECT_REVIEW)
    form = forms.ConfirmForm(
        request.POST, staff=[(s.pk, s.username) for s in selectors.centre_staff(project.centre_id)]
    )
    if not form.is_valid():
        messages.error(request, _("Choose the responsible staff member."))
        return redirect("projects:detail", project.pk)
    try:
        services.project_confirm(
            acting_user=user, project=project, responsible_staff=form.cleaned_data["responsible_staff"]
        )
    except DomainError as error:
        return _refused(request, error, project)
    messages.success(request, _("Registration confirmed."))
    return redirect("projects:detail", project.pk)


# ---- the checklist (staff) ----------------------------------------------------------------------


def _checklist_post(request: HttpRequest, user: User) -> forms.ChecklistItemForm | None:
    """Handle one of the page's forms. Answers the add form when it must be shown again with its
    errors, else None (the page redirects; a refusal of an edit or a move is a message)."""
    action = request.POST.get("action", "")
    add_form = forms.ChecklistItemForm(request.POST if action == "add" else None)
    try:
        if action == "add":
            if not add_form.is_valid():
                return add_form
            services.checklist_item_add(acting_user=user, **add_form.cleaned_data)
        elif action == "update":
            form = forms.ChecklistItemEditForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("The item form is not valid."))
                return None
            data = dict(form.cleaned_data)
            services.checklist_item_update(
                acting_user=user, item=_checklist_item(data.pop("item_id")), **data
            )
        elif action == "move":
            move = forms.ChecklistMoveForm(request.POST)
            if not move.is_valid():
                messages.error(request, _("The item form is not valid."))
                return None
            services.checklist_item_move(
                acting_user=user,
                item=_checklist_item(move.cleaned_data["item_id"]),
                offset=move.cleaned_data["offset"],
            )
        else:
            messages.error(request, _("Unknown action."))
            return None
    except DomainError as error:
        if error.status in (401, 403, 404):
            raise
        if action == "add":
            show_refusal(add_form, error)
            return add_form
        messages.error(request, error.message)
        return None
    messages.success(request, _("Checklist saved."))
    return None


def _checklist_item(pk: int) -> Any:
    item = selectors.checklist_items(include_inactive=True).filter(pk=pk).first()
    if item is None:
        _not_found()
    return item


def _not_found() -> NoReturn:
    raise NotFound("材料清单项", "checklist item")


@login_required
def checklist_edit(request: HttpRequest) -> HttpResponse:
    user = _acting(request)
    require(user, Permission.CHECKLIST_EDIT)
    add_form = forms.ChecklistItemForm(
        initial={"category": request.GET.get("category", Category.CONSTRUCTION)}
    )
    if request.method == "POST":
        shown_again = _checklist_post(request, user)
        if shown_again is None:
            return redirect("projects:checklist")
        add_form = shown_again
    items = selectors.checklist_items(include_inactive=True)
    groups = [
        {"category": value, "label": label, "items": [i for i in items if i.category == value]}
        for value, label in Category.choices
    ]
    return render(request, "projects/checklist.html", {"groups": groups, "add_form": add_form})
