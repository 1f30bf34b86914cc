"""Experts pages: remote off-site evaluation (远程异地评标, seed 004) and the committee.

Views parse input, fetch through the access helpers, call a service and render; a refused rule
shows on its form (or as a message for one-button actions)."""

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

from tenderhall.accounts.models import User
from tenderhall.core.errors import DomainError, ValidationFailed
from tenderhall.core.forms import show_refusal
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.experts.selectors import committee as selectors
from tenderhall.experts.services import committee as services
from tenderhall.experts.services.extraction import DemandSpec
from tenderhall.venues.forms import LocalDateTimeField

DEMAND = re.compile(r"^\s*([A-Za-z0-9]+)\s*[:：]\s*(\d{1,3})\s*(?:[:：]\s*(\d{1,3}))?\s*$")


def parse_demands(text: str, *, field: str) -> list[DemandSpec]:
    """``A0101:3:1, C0101:2`` → specialty code, count, reserves (reserves optional)."""
    specs = []
    for part in re.split(r"[,，;；]", text or ""):
        if not part.strip():
            continue
        match = DEMAND.match(part)
        if match is None:
            raise ValidationFailed(
                "demand_format",
                f"专家需求格式应为“专业代码:人数:备选人数”，如 A0101:3:1（无法识别：{part.strip()}）",
                f"write demands as code:count:reserves, e.g. A0101:3:1 (not understood: {part.strip()})",
                fields={field: ""},
            )
        code, count, reserves = match.groups()
        specs.append(DemandSpec(specialty_code=code.upper(), count=int(count), reserves=int(reserves or 0)))
    return specs


class RemoteForm(forms.Form):
    section = forms.TypedChoiceField(label=gettext_lazy("Section"), coerce=int)
    evaluation_starts_at = LocalDateTimeField(label=gettext_lazy("Evaluation starts (China time)"))
    evaluation_ends_at = LocalDateTimeField(label=gettext_lazy("Evaluation ends (China time)"))
    main_demands = forms.CharField(
        label=gettext_lazy("Main venue: experts (code:count:reserves, …)"), max_length=500
    )
    secondary_demands = forms.CharField(
        label=gettext_lazy("Secondary venues: one line per venue (code:count:reserves, …)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    exclude_own_region = forms.BooleanField(label=gettext_lazy("Exclude my own region"), required=False)
    tenderer_representatives = forms.IntegerField(
        label=gettext_lazy("Tenderer's representatives"), min_value=0, max_value=10, initial=0
    )
    reply_minutes = forms.IntegerField(
        label=gettext_lazy("Minutes to answer"), min_value=1, max_value=1440, initial=30
    )
    frequency_cap = forms.IntegerField(
        label=gettext_lazy("At most N extractions per expert in 30 days"),
        min_value=1,
        max_value=100,
        initial=3,
    )

    def __init__(self, *args: Any, sections: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].choices = sections  # type: ignore[attr-defined]


@login_required
def centres_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    day = selectors.parse_day(request.GET.get("day", ""))
    starts, ends = selectors.day_window(day)
    entries = selectors.centre_directory(user, starts_at=starts, ends_at=ends)
    return render(request, "experts/committee_centres.html", {"entries": entries, "day": day})


@login_required
def remote_list_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "experts/committee_list.html",
        {
            "rows": selectors.committee_requests_for_user(user),
            "can_request": has_permission(user, Permission.EXTRACTION_REQUEST),
        },
    )


@login_required
def remote_new_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, Permission.EXTRACTION_REQUEST)
    sections = [(s.pk, f"{s.code} {s.name}") for s in selectors.sections_for_remote(user)[:200]]
    form = RemoteForm(request.POST or None, sections=sections)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            section = selectors.section_for_remote(user, data["section"])
            lines = [line for line in data["secondary_demands"].splitlines() if line.strip()]
            demands = [parse_demands(data["main_demands"], field="main_demands")] + [
                parse_demands(line, field="secondary_demands") for line in lines
            ]
            created = services.remote_evaluation_create(
                acting_user=user,
                section=section,
                evaluation_starts_at=data["evaluation_starts_at"],
                evaluation_ends_at=data["evaluation_ends_at"],
                secondary_venues=len(lines),
                exclude_own_region=data["exclude_own_region"],
                demands=demands,
                rules={"frequency_cap": data["frequency_cap"], "frequency_days": 30},
                reply_minutes=data["reply_minutes"],
                tenderer_representatives=data["tenderer_representatives"],
            )
        except DomainError as error:
            show_refusal(form, error)
        else:
            messages.success(request, _("Remote evaluation requested; the secondary venues are invited."))
            return redirect("experts:committee", created.pk)
    return render(request, "experts/committee_new.html", {"form": form})


ACTIONS = ("start", "check_in", "representative", "declare", "recuse", "vote")
DONE = {
    "start": gettext_lazy("The evaluation has started."),
    "check_in": gettext_lazy("Checked in; the seat was allocated at random."),
    "representative": gettext_lazy("The representative is checked in."),
    "declare": gettext_lazy("You declared no conflict of interest."),
    "recuse": gettext_lazy("The recusal is recorded; a reserve is called."),
    "vote": gettext_lazy("Your vote is recorded."),
}


def _int(raw: str, field: str) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed("field_invalid", "参数无效", "invalid value", fields={field: ""}) from None


def _act(user: Any, view: selectors.CommitteeView, action: str, post: Any) -> None:
    request = view.request
    if action == "start":
        services.evaluation_start(acting_user=user, request=request)
    elif action == "check_in":
        assignment = selectors.assignment_for_check_in(view, _int(post.get("assignment"), "assignment"))
        services.committee_check_in(
            acting_user=user,
            assignment=assignment,
            identity_confirmed=post.get("identity_confirmed") == "on",
            devices_stored=post.get("devices_stored") == "on",
        )
    elif action == "representative":
        services.committee_representative_check_in(
            acting_user=user,
            request=request,
            representative=selectors.representative_by_username(post.get("username", "")),
            identity_confirmed=post.get("identity_confirmed") == "on",
            devices_stored=post.get("devices_stored") == "on",
        )
    elif action in ("declare", "recuse", "vote"):
        member = selectors.member_for_view(view, _int(post.get("member"), "member"))
        if action == "declare":
            services.committee_member_declare(acting_user=user, member=member)
        elif action == "recuse":
            services.committee_member_recuse(acting_user=user, member=member, reason=post.get("reason", ""))
        else:
            candidate = selectors.member_for_view(view, _int(post.get("candidate"), "candidate"))
            services.committee_vote(acting_user=user, member=member, candidate=candidate)


@login_required
def committee_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    view = selectors.committee_for_user(user, pk)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            raise ValidationFailed("action_invalid", "未知操作", "unknown action")
        if action in ("start", "check_in", "representative"):
            require(user, Permission.COMMITTEE_CHECK_IN)
        elif action in ("declare", "vote") and view.own_member is None:
            require(user, Permission.COMMITTEE_SIT)
        elif action == "recuse" and not (
            has_permission(user, Permission.COMMITTEE_CHECK_IN) or view.own_member
        ):
            require(user, Permission.COMMITTEE_SIT)
        try:
            _act(user, view, action, request.POST)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, DONE[action])
        return redirect("experts:committee", pk)
    if view.members and view.role in ("full", "venue"):
        services.committee_view_log(
            acting_user=user, request=view.request, role=view.role, members=len(view.members)
        )
    others = [m for m in view.members if m.recused_at is None]
    # Staff record a recusal for the members of their own centre's venue (the service's rule).
    recuse_venues = (
        [v.pk for v in view.venues if v.centre_id == user.organization_id]
        if view.checks_in and has_permission(user, Permission.COMMITTEE_CHECK_IN)
        else []
    )
    return render(
        request,
        "experts/committee_detail.html",
        {
            "view": view,
            "data": selectors.committee_as_dict(view),
            "candidates": others,
            "recuse_venues": recuse_venues,
            "is_main_staff": view.role == "full" and has_permission(user, Permission.COMMITTEE_CHECK_IN),
        },
    )


@login_required
def invitations_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "experts/committee_invitations.html",
        {"invitations": selectors.invitations_for_user(user)[:200]},
    )


class AnswerForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason (required to decline)"), max_length=200, required=False
    )


@login_required
def invitation_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    venue = selectors.invitation_for_user(user, pk)
    form = AnswerForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ("accept", "decline"):
            raise ValidationFailed("action_invalid", "未知操作", "unknown action")
        if form.is_valid():
            try:
                services.venue_invitation_answer(
                    acting_user=user,
                    venue=venue,
                    accept=action == "accept",
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                show_refusal(form, error)
            else:
                messages.success(
                    request, _("Invitation accepted.") if action == "accept" else _("Invitation declined.")
                )
                return redirect("experts:invitation", pk)
    return render(
        request,
        "experts/committee_invitation.html",
        {"venue": selectors.invitation_for_user(user, pk), "form": form},
    )


urlpatterns: list[URLPattern] = [
    path("remote/centres/", centres_view, name="centres"),
    path("remote/", remote_list_view, name="remote_list"),
    path("remote/new/", remote_new_view, name="remote_new"),
    path("remote/<int:pk>/", committee_view, name="committee"),
    path("remote/invitations/", invitations_view, name="invitations"),
    path("remote/invitations/<int:pk>/", invitation_view, name="invitation"),
]
