"""Pages of the disputes app: the objections a user may see, and the answer form for the parties."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tenderhall.accounts.models import User
from tenderhall.core import clock
from tenderhall.core.errors import DomainError
from tenderhall.core.forms import show_refusal
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.disputes import forms, selectors, services
from tenderhall.disputes.models import Objection, ObjectionStatus


@dataclass
class Row:
    """An objection as this user may see it."""

    objection: Objection
    objector: str | None  # None: not to be shown to this user (法 Art 22)
    overdue: bool
    answered_late: bool


def _row(user: User, objection: Objection) -> Row:
    return Row(
        objection=objection,
        objector=objection.organization.name if selectors.objector_shown_to(user, objection) else None,
        overdue=objection.can_answer() and objection.answer_due < clock.now(),
        answered_late=objection.answered_at is not None and objection.answered_at > objection.answer_due,
    )


def _may_answer(user: User, objection: Objection) -> bool:
    project = objection.section.project
    return (
        has_permission(user, Permission.OBJECTION_ANSWER)
        and user.organization_id is not None
        and user.organization_id in (project.tenderer_id, project.agent_id)
        and objection.can_answer()
    )


@login_required
def objections_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    status = request.GET.get("status", "")
    objections = selectors.objections_for_user(user)
    if status:
        objections = objections.filter(status=status)
    return render(
        request,
        "disputes/objections.html",
        {
            "rows": [_row(user, o) for o in objections[:500]],
            "status": status,
            "statuses": ObjectionStatus.choices,
        },
    )


@login_required
def objection_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    objection = selectors.objection_for_user(user, pk)
    form = forms.AnswerForm(request.POST or None)
    if request.method == "POST":
        require(user, Permission.OBJECTION_ANSWER)  # a 403 page, not a silent reload
        if form.is_valid():
            try:
                services.objection_answer(
                    acting_user=user, objection=objection, answer=form.cleaned_data["answer"]
                )
            except DomainError as error:
                show_refusal(form, error)
            else:
                messages.success(request, _("Answer sent to the objector."))
                return redirect("disputes:objection", objection.pk)
    return render(
        request,
        "disputes/objection.html",
        {"row": _row(user, objection), "form": form, "may_answer": _may_answer(user, objection)},
    )
