"""Pages of the expert database: list and search, one expert (edit, status, bad behaviour, account),
import with its report, the expert's own profile (/experts/me/), the specialty tree.

Views parse input, call a selector or a service, and render; a refused rule shows on its form.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenderhall.accounts.models import User
from tenderhall.core.errors import DomainError, ValidationFailed
from tenderhall.core.forms import show_refusal
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.experts.models import Expert, ExpertKind, ExpertStatus
from tenderhall.experts.selectors import registry as selectors
from tenderhall.experts.services import registry as services

# ---- forms -----------------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File (CSV or XLSX)"))


class ExpertEditForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=50)
    employer_name = forms.CharField(label=gettext_lazy("Employer"), max_length=200)
    employer_uscc = forms.CharField(label=gettext_lazy("Employer USCC"), max_length=30)
    region = forms.CharField(label=gettext_lazy("Region"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ExpertKind.choices)
    title = forms.CharField(label=gettext_lazy("Title"), max_length=50, required=False)
    years_of_practice = forms.IntegerField(label=gettext_lazy("Years of practice"), min_value=0, max_value=70)
    phone = forms.CharField(label=gettext_lazy("Mobile"), max_length=20)
    specialties = forms.CharField(label=gettext_lazy("Specialty codes"), max_length=200)


class ProfileForm(forms.Form):
    employer_name = forms.CharField(label=gettext_lazy("Employer"), max_length=200)
    employer_uscc = forms.CharField(label=gettext_lazy("Employer USCC"), max_length=30)
    title = forms.CharField(label=gettext_lazy("Title"), max_length=50, required=False)
    years_of_practice = forms.IntegerField(label=gettext_lazy("Years of practice"), min_value=0, max_value=70)
    phone = forms.CharField(label=gettext_lazy("Mobile"), max_length=20)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=ExpertStatus.choices)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)


class BadBehaviourForm(forms.Form):
    description = forms.CharField(label=gettext_lazy("Description"), widget=forms.Textarea(attrs={"rows": 3}))
    occurred_on = forms.DateField(label=gettext_lazy("Occurred on"), widget=DateInput)
    suspended_until = forms.DateField(label=gettext_lazy("Not drawn until"), widget=DateInput, required=False)


class AccountForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    password = forms.CharField(label=gettext_lazy("Initial password"), widget=forms.PasswordInput)


class LeaveForm(forms.Form):
    starts_on = forms.DateField(label=gettext_lazy("From"), widget=DateInput)
    ends_on = forms.DateField(label=gettext_lazy("To (inclusive)"), widget=DateInput)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200, required=False)


class RelationshipForm(forms.Form):
    organization_uscc = forms.CharField(label=gettext_lazy("Organization USCC"), max_length=30)
    organization_name = forms.CharField(
        label=gettext_lazy("Organization name"), max_length=200, required=False
    )
    relation = forms.CharField(label=gettext_lazy("Relationship"), max_length=200)


def _unknown_action() -> ValidationFailed:
    return ValidationFailed("action_invalid", "未知操作", "unknown action")


def _page_number(raw: str) -> int:
    return int(raw) if raw.isdigit() else 1


# ---- the database ----------------------------------------------------------------------------------


@login_required
def list_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, Permission.EXPERT_VIEW_ALL)
    filters = selectors.parse_filters(request.GET)
    result = selectors.expert_page(user, filters, _page_number(request.GET.get("page", "")))
    services.expert_list_viewed(
        acting_user=user, filters={**filters.as_dict(), "page": result.page}, count=result.count
    )
    query = urlencode(filters.as_dict())
    return render(
        request,
        "experts/registry_list.html",
        {
            "result": result,
            "filters": filters,
            "query": query,
            "statuses": ExpertStatus.choices,
            "kinds": ExpertKind.choices,
            "full_id": selectors.sees_full_id(user),
            "can_manage": has_permission(user, Permission.EXPERT_MANAGE),
        },
    )


def _detail_forms(expert: Expert, data: Any, action: str) -> dict[str, forms.Form]:
    return {
        "edit": ExpertEditForm(
            data if action == "edit" else None,
            initial={
                "name": expert.name,
                "employer_name": expert.employer_name,
                "employer_uscc": expert.employer_uscc,
                "region": expert.region,
                "kind": expert.kind,
                "title": expert.title,
                "years_of_practice": expert.years_of_practice,
                "phone": expert.phone,
                "specialties": " ".join(s.code for s in expert.specialties.all()),
            },
        ),
        "status": StatusForm(data if action == "status" else None, prefix="status"),
        "bad": BadBehaviourForm(data if action == "bad" else None, prefix="bad"),
        "account": AccountForm(data if action == "account" else None, prefix="account"),
    }


def _detail_act(user: User, expert: Expert, action: str, data: dict[str, Any]) -> None:
    if action == "edit":
        services.expert_update(acting_user=user, expert=expert, **data)
    elif action == "status":
        services.expert_status_change(acting_user=user, expert=expert, **data)
    elif action == "bad":
        services.bad_behaviour_record(acting_user=user, expert=expert, **data)
    else:
        services.expert_account_create(acting_user=user, expert=expert, **data)


DETAIL_DONE = {
    "edit": gettext_lazy("Expert saved."),
    "status": gettext_lazy("Status changed."),
    "bad": gettext_lazy("Bad-behaviour record added."),
    "account": gettext_lazy("Account created."),
}


@login_required
def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if request.method == "POST":
        require(user, Permission.EXPERT_MANAGE)  # a 403 page, not a silent reload
    expert = selectors.expert_for_user(user, pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    detail_forms = _detail_forms(expert, request.POST, action)
    if request.method == "POST":
        form = detail_forms.get(action)
        if form is None:
            raise _unknown_action()
        if form.is_valid():
            try:
                _detail_act(user, expert, action, form.cleaned_data)
            except DomainError as error:
                show_refusal(form, error)
            else:
                messages.success(request, DETAIL_DONE[action])
                return redirect("experts:registry_detail", expert.pk)
    else:
        services.expert_viewed(acting_user=user, expert=expert)
    return render(
        request,
        "experts/registry_detail.html",
        {
            "expert": expert,
            "id_number": selectors.shown_id_number(user, expert),
            "full_id": selectors.sees_full_id(user),
            "forms": detail_forms,
            "can_manage": has_permission(user, Permission.EXPERT_MANAGE),
        },
    )


# ---- import ------------------------------------------------------------------------------------------


@login_required
def import_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    batches = selectors.import_batches_for_user(user)  # EXPERT_MANAGE, else 403
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > services.MAX_IMPORT_BYTES:
                raise ValidationFailed(
                    "import_too_large",
                    "文件过大（最大10MB）",
                    "the file is too large (at most 10 MB)",
                    fields={"file": ""},
                )
            batch = services.expert_import(acting_user=user, filename=upload.name, data=upload.read())
        except DomainError as error:
            show_refusal(form, error)
        else:
            messages.success(request, _("File imported; see the report below."))
            return redirect("experts:registry_import_report", batch.pk)
    return render(
        request,
        "experts/registry_import.html",
        {"form": form, "batches": batches[:50], "columns": services.IMPORT_COLUMNS},
    )


@login_required
def import_report_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    batch = selectors.import_batch_for_user(user, pk)
    return render(
        request,
        "experts/registry_import_report.html",
        {"batch": batch, "rows_rejected": len({entry["row"] for entry in batch.report})},
    )


# ---- the expert's own profile ------------------------------------------------------------------------


def _me_forms(expert: Expert, data: Any, action: str) -> dict[str, forms.Form]:
    return {
        "profile": ProfileForm(
            data if action == "profile" else None,
            initial={
                "employer_name": expert.employer_name,
                "employer_uscc": expert.employer_uscc,
                "title": expert.title,
                "years_of_practice": expert.years_of_practice,
                "phone": expert.phone,
            },
        ),
        "leave": LeaveForm(data if action == "leave" else None, prefix="leave"),
        "relationship": RelationshipForm(data if action == "relationship" else None, prefix="rel"),
    }


ME_DONE = {
    "profile": gettext_lazy("Profile saved."),
    "leave": gettext_lazy("Leave registered."),
    "relationship": gettext_lazy("Relationship declared."),
    "leave_remove": gettext_lazy("Leave withdrawn."),
    "relationship_remove": gettext_lazy("Declaration withdrawn."),
}


def _me_act(user: User, expert: Expert, action: str, form: forms.Form | None, post: Any) -> None:
    if action == "profile":
        assert form is not None
        services.expert_update(acting_user=user, expert=expert, **form.cleaned_data)
    elif action == "leave":
        assert form is not None
        services.leave_add(acting_user=user, expert=expert, **form.cleaned_data)
    elif action == "relationship":
        assert form is not None
        services.relationship_declare(acting_user=user, expert=expert, **form.cleaned_data)
    elif action == "leave_remove":
        services.leave_remove(
            acting_user=user, leave=selectors.own_leave(user, _page_number(post.get("id", "")))
        )
    else:
        relationship = selectors.own_relationship(user, _page_number(post.get("id", "")))
        services.relationship_remove(acting_user=user, relationship=relationship)


@login_required
def me_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    expert = selectors.own_expert(user)  # EXPERT_PROFILE_OWN, else 403; no linked expert: 404
    action = request.POST.get("action", "") if request.method == "POST" else ""
    me_forms = _me_forms(expert, request.POST, action)
    if request.method == "POST":
        if action not in ME_DONE:
            raise _unknown_action()
        form = me_forms.get(action)
        if form is None or form.is_valid():
            try:
                _me_act(user, expert, action, form, request.POST)
            except DomainError as error:
                if form is None:
                    messages.error(request, error.message)
                    return redirect("experts:registry_me")
                show_refusal(form, error)
            else:
                messages.success(request, ME_DONE[action])
                return redirect("experts:registry_me")
    return render(request, "experts/registry_me.html", {"expert": expert, "forms": me_forms})


@login_required
def specialties_view(request: HttpRequest) -> HttpResponse:
    return render(
        request, "experts/registry_specialties.html", {"tree": selectors.specialty_tree(request.user)}
    )


urlpatterns: list[URLPattern] = [
    path("", list_view, name="registry_list"),
    path("<int:pk>/", detail_view, name="registry_detail"),
    path("import/", import_view, name="registry_import"),
    path("imports/<int:pk>/", import_report_view, name="registry_import_report"),
    path("me/", me_view, name="registry_me"),
    path("specialties/", specialties_view, name="registry_specialties"),
]
