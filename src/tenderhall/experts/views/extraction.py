"""Experts pages: extraction (专家抽取) — the request form, the request page with its commitment
panel, and the expert's reply pages (signed in, or by the one-time link). Views parse input, call a
selector or a service and render; secrecy is the selectors'."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenderhall.core.errors import DomainError
from tenderhall.core.forms import show_refusal
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.experts.selectors import extraction as selectors
from tenderhall.experts.selectors import live as live_selectors
from tenderhall.experts.services import extraction as services
from tenderhall.venues.forms import LocalDateTimeField


class ExtractionForm(forms.Form):
    section = forms.TypedChoiceField(label=gettext_lazy("Section"), coerce=int)
    evaluation_starts_at = LocalDateTimeField(label=gettext_lazy("Evaluation starts (China time)"))
    evaluation_ends_at = LocalDateTimeField(label=gettext_lazy("Evaluation ends (China time)"))
    demands = forms.CharField(
        label=gettext_lazy("Demands: one line each, specialty code, count, reserves (e.g. A0101 3 2)"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    tenderer_representatives = forms.IntegerField(
        label=gettext_lazy("Tenderer representatives"), min_value=0, initial=0
    )
    reply_minutes = forms.IntegerField(label=gettext_lazy("Minutes to answer"), min_value=1, initial=30)
    frequency_cap = forms.IntegerField(label=gettext_lazy("At most N extractions"), min_value=1, initial=3)
    frequency_days = forms.IntegerField(label=gettext_lazy("... in this many days"), min_value=1, initial=30)
    excluded_regions = forms.CharField(
        label=gettext_lazy("Excluded regions (comma-separated)"), required=False
    )

    def __init__(self, *args: Any, sections: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].choices = sections  # type: ignore[attr-defined]

    def clean_demands(self) -> list[services.DemandSpec]:
        out = []
        for line in self.cleaned_data["demands"].splitlines():
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[1:]):
                raise forms.ValidationError(_("Each line: specialty code, count, reserves (e.g. A0101 3 2)"))
            out.append(services.DemandSpec(parts[0], int(parts[1]), int(parts[2]) if len(parts) == 3 else 0))
        return out


class ReplyForm(forms.Form):
    answer = forms.ChoiceField(choices=[("1", "accept"), ("2", "decline")], widget=forms.HiddenInput)


@login_required
def extractions_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    rows = selectors.extractions_for_user(user)[:200]
    return render(
        request,
        "experts/extraction_list.html",
        {"rows": rows, "can_request": has_permission(user, Permission.EXTRACTION_REQUEST)},
    )


@login_required
def extraction_new_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(user, Permission.EXTRACTION_REQUEST)
    sections = [(s.pk, f"{s.code} {s.name}") for s in selectors.sections_for_extraction(user)]
    form = ExtractionForm(request.POST or None, sections=sections)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        regions = [r.strip() for r in re.split(r"[,，]", data["excluded_regions"]) if r.strip()]
        try:
            section = selectors.section_for_extraction(user, data["section"])
            created = services.extraction_request_create(
                acting_user=user,
                section=section,
                evaluation_starts_at=data["evaluation_starts_at"],
                evaluation_ends_at=data["evaluation_ends_at"],
                demands=data["demands"],
                rules={
                    "frequency_cap": data["frequency_cap"],
                    "frequency_days": data["frequency_days"],
                    "excluded_regions": regions,
                },
                reply_minutes=data["reply_minutes"],
                tenderer_representatives=data["tenderer_representatives"],
            )
        except services.PoolTooSmall as error:
            show_refusal(form, error)
            failed = selectors.extractions_for_user(user).filter(section_id=data["section"]).first()
            if failed is not None:
                messages.error(request, error.message)
                return redirect("experts:extraction", failed.pk)
        except DomainError as error:
            show_refusal(form, error)
        else:
            messages.success(request, _("Experts drawn; they are being notified."))
            return redirect("experts:extraction", created.pk)
    return render(request, "experts/extraction_new.html", {"form": form})


@login_required
def extraction_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    extraction = selectors.extraction_for_user(user, pk)
    error = None
    if request.method == "POST":
        try:
            staff_row = selectors.extraction_for_staff(user, pk)
            services.extraction_result_decide(acting_user=user, request=staff_row)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("Result decided; the seed is published."))
            return redirect("experts:extraction", pk)
    view = selectors.extraction_view(user, extraction)
    commitment = services.commitment_event(extraction)
    data = live_selectors.page_data(
        user, extraction, view, log_index=commitment["index"] if commitment else None
    )
    return render(
        request,
        "experts/extraction_detail.html",
        {
            "x": extraction,
            "view": view,
            "data": data,
            # The live socket (experts.consumers) sends nothing until what this user sees changes.
            "version": live_selectors.data_version(data),
            "live_labels": {
                "live": _("updating live"),
                "reconnecting": _("reconnecting…"),
                "refused": _("not available"),
            },
            "error": error,
            "can_decide": selectors.sees_identities(user, extraction)
            and has_permission(user, Permission.EXTRACTION_REQUEST),
        },
    )


def _reply_page(request: HttpRequest, assignment: Any, *, channel: str, token: str = "") -> HttpResponse:
    error = None
    if request.method == "POST":
        form = ReplyForm(request.POST)
        if form.is_valid():
            try:
                services.assignment_reply(
                    assignment=assignment,
                    accept=form.cleaned_data["answer"] == "1",
                    channel=channel,
                    acting_user=request.user if channel == "page" else None,
                    token=token,
                )
            except DomainError as exc:
                error = exc.message
            else:
                messages.success(request, _("Thank you: your answer is recorded."))
                return redirect(request.path)
        else:
            error = _("Choose accept or decline.")
    assignment.refresh_from_db()
    return render(
        request,
        "experts/extraction_assignment.html",
        {
            "a": assignment,
            "venue": selectors.venue_label(assignment),
            "open": assignment.status == "notified",
            "error": error,
        },
    )


@login_required
def my_assignments_view(request: HttpRequest) -> HttpResponse:
    rows = [(a, selectors.venue_label(a)) for a in selectors.assignments_for_expert(request.user)[:100]]
    return render(request, "experts/extraction_assignments.html", {"rows": rows})


@login_required
def my_assignment_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _reply_page(request, selectors.assignment_for_expert(request.user, pk), channel="page")


def link_assignment_view(request: HttpRequest, token: str) -> HttpResponse:
    """The one-time link: no sign-in; whoever holds the token may answer once."""
    return _reply_page(request, selectors.assignment_by_token(token), channel="link", token=token)


urlpatterns: list[URLPattern] = [
    path("extractions/", extractions_view, name="extractions"),
    path("extractions/new/", extraction_new_view, name="extraction_new"),
    path("extractions/<int:pk>/", extraction_view, name="extraction"),
    path("assignments/", my_assignments_view, name="assignments"),
    path("assignments/<int:pk>/", my_assignment_view, name="assignment"),
    path("assignments/t/<str:token>/", link_assignment_view, name="assignment_link"),
]
