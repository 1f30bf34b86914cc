"""The opening hall page (/opening/sections/<id>/), one page adapting to the viewer: the host
(agent or tenderer) runs the opening, bidders sign in, unlock and object, staff and supervisors
watch. The live part is static/opening/hall.js over the hall WebSocket. Each form posts to
``hall_action_view``, which parses it and calls one service; refusals of state (409/422) come back
as a message on the page, refusals of access (401/403/404) as the error page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenderhall.core.errors import DomainError
from tenderhall.opening import forms, records, selectors, services
from tenderhall.opening.models import DecryptionStatus, OpeningStatus
from tenderhall.projects.models import Section

Handler = Callable[[Any, Section, dict[str, Any]], object]


def _call(form_class: type[django_forms.Form] | None, handler: Handler) -> tuple[Any, Handler]:
    return form_class, handler


ACTIONS: dict[str, tuple[type[django_forms.Form] | None, Handler]] = {
    "challenge": _call(None, lambda u, s, d: services.hall_challenge_issue(acting_user=u, section=s)),
    "sign-in": _call(
        forms.SignInForm,
        lambda u, s, d: services.hall_sign_in(
            acting_user=u, section=s, nonce=d["nonce"], signature=d["signature"]
        ),
    ),
    "open-window": _call(
        forms.MinutesForm,
        lambda u, s, d: services.decryption_window_open(acting_user=u, section=s, minutes=d["minutes"]),
    ),
    "close-window": _call(None, lambda u, s, d: services.decryption_window_close(acting_user=u, section=s)),
    "read-out": _call(None, lambda u, s, d: services.opening_read_out(acting_user=u, section=s)),
    "fail": _call(
        forms.ReasonForm, lambda u, s, d: services.opening_fail(acting_user=u, section=s, reason=d["reason"])
    ),
    "suspend": _call(
        forms.ReasonForm,
        lambda u, s, d: services.opening_suspend(acting_user=u, section=s, reason=d["reason"]),
    ),
    "resume": _call(
        forms.ReasonForm,
        lambda u, s, d: services.opening_resume(acting_user=u, section=s, reason=d["reason"]),
    ),
    "postpone": _call(
        forms.PostponeForm,
        lambda u, s, d: services.opening_postpone(
            acting_user=u, section=s, reason=d["reason"], new_time=d["new_time"]
        ),
    ),
    "backup": _call(
        forms.BidForm,
        lambda u, s, d: services.backup_request(
            acting_user=u, section=s, bid=selectors.hall_bid(s, d["bid"])
        ),
    ),
    "unlock": _call(
        forms.UnlockForm, lambda u, s, d: services.bid_unlock(acting_user=u, section=s, file_key=d["token"])
    ),
    "record-generate": _call(None, lambda u, s, d: records.opening_record_generate(acting_user=u, section=s)),
    "witness": _call(
        forms.WitnessForm,
        lambda u, s, d: records.witness_record_add(
            acting_user=u, section=s, text=d["text"], abnormal=d["abnormal"]
        ),
    ),
    "objections-open": _call(
        forms.MinutesForm,
        lambda u, s, d: services.hall_objection_window_open(acting_user=u, section=s, minutes=d["minutes"]),
    ),
    "objections-close": _call(
        None, lambda u, s, d: services.hall_objection_window_close(acting_user=u, section=s)
    ),
    "raise-objection": _call(
        forms.ObjectionForm,
        lambda u, s, d: services.hall_objection_raise(acting_user=u, section=s, text=d["text"]),
    ),
    "answer-objection": _call(
        forms.AnswerForm,
        lambda u, s, d: services.hall_objection_answer(
            acting_user=u,
            section=s,
            objection=selectors.hall_objection(s, d["objection"]),
            answer=d["answer"],
        ),
    ),
}


@login_required
def halls_view(request: HttpRequest) -> HttpResponse:
    return render(request, "opening/halls.html", {"sections": selectors.watchable_halls(request.user)})


@login_required
def hall_view(request: HttpRequest, pk: int) -> HttpResponse:
    section = selectors.hall_section(request.user, pk)
    context = selectors.hall_page(request.user, section)
    context.update(
        {
            "section": section,
            "minutes_form": forms.MinutesForm(),
            "reason_form": forms.ReasonForm(),
            "postpone_form": forms.PostponeForm(),
            "unlock_form": forms.UnlockForm(),
            "objection_form": forms.ObjectionForm(),
            "witness_form": forms.WitnessForm(),
            "record_sign_command": f"tenderhall-bid record sign --section {section.pk}",
            "unlock_command": f"tenderhall-bid unlock --section {section.pk} -i identity.txt",
            "sign_in_command": f"tenderhall-bid sign-in --section {section.pk} --key signing.key",
            "challenge_text": services.hall_challenge_text(context["challenge"])
            if context["challenge"]
            else "",
            "sign_in_form": forms.SignInForm(
                initial={"nonce": context["challenge"].nonce if context["challenge"] else ""}
            ),
            "labels": {
                **{str(k): str(v) for k, v in OpeningStatus.choices},
                **{str(k): str(v) for k, v in DecryptionStatus.choices},
                "answer": _("Answer"),
                "reconnecting": _("reconnecting…"),
                "live": _("live"),
                "objections_open": _("Objections may be raised until"),
                "objections_closed": _("The window for objections is closed."),
            },
        }
    )
    return render(request, "opening/hall.html", context)


@login_required
@require_POST
def hall_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404(action)
    section = selectors.hall_section(request.user, pk)
    form_class, handler = ACTIONS[action]
    data: dict[str, Any] = {}
    if form_class is not None:
        form = form_class(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, str(error))
            return redirect("opening:hall", pk=section.pk)
        data = form.cleaned_data
    try:
        handler(request.user, section, data)
    except DomainError as error:
        if error.status not in (409, 422):
            raise
        messages.error(request, error.message)
    else:
        messages.success(request, _("Done."))
    return redirect("opening:hall", pk=section.pk)
