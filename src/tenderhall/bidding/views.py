"""Pages of the bidding app: the bidder's sections and bids, the tool commands, withdrawal, and
(after the deadline) the supervisors' evidence. Views parse input, call an access helper and a
service or selector, and render. No page accepts a bid file: the bidder tool seals and sends it."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenderhall.bidding import forms, selectors, services
from tenderhall.core.crypto import age
from tenderhall.core.errors import DomainError
from tenderhall.core.forms import show_refusal
from tenderhall.projects.models import Section


@login_required
def my_sections_view(request: HttpRequest) -> HttpResponse:
    """The sections the bidder's organization obtained documents for, with its own bid on each."""
    rows = selectors.my_sections(request.user)
    return render(request, "bidding/my_sections.html", {"rows": rows, "withdraw_form": forms.WithdrawForm()})


def _commands(section: Section) -> dict[str, Any]:
    key = selectors.opening_key_of(section)
    recipient = key.recipient if key else ""
    key_id = age.opening_key_id(age.X25519Recipient.from_string(recipient)) if recipient else ""
    sid = section.pk
    return {
        "recipient": recipient,
        "key_id": key_id,
        "lines": [
            f"tenderhall-bid make --section {sid} --summary summary.json DIR -o bid.zip",
            f"tenderhall-bid seal --section {sid} bid.zip -o bid.age",
            f"tenderhall-bid submit --section {sid} bid.age",
            "tenderhall-bid receipt verify receipt.json",
        ],
    }


def _render_section(
    request: HttpRequest,
    section: Section,
    *,
    withdraw_form: forms.WithdrawForm | None = None,
    status: int = 200,
) -> HttpResponse:
    state = selectors.section_bid_state(request.user, section)
    return render(
        request,
        "bidding/section.html",
        {
            "section": section,
            "row": state,
            "commands": _commands(section),
            "withdraw_form": withdraw_form or forms.WithdrawForm(),
        },
        status=status,
    )


@login_required
def section_bid_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_section(request, selectors.bidding_section(request.user, pk))


@login_required
@require_POST
def section_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    section = selectors.bidding_section(request.user, pk)
    form = forms.WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.bid_withdraw(acting_user=request.user, section=section)
        except DomainError as error:
            show_refusal(form, error)
            return _render_section(request, section, withdraw_form=form, status=error.status)
        messages.success(request, _("Your bid is withdrawn (Tendering Law Art 29)."))
        if request.POST.get("next") == "list":
            return redirect("bidding:my_sections")
        return redirect("bidding:section", section.pk)
    return _render_section(request, section, withdraw_form=form, status=422)


@login_required
def receipt_download_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A receipt of one of the organization's bids, as the JSON the bidder tool verifies."""
    bid = selectors.bid_for_user(request.user, pk)
    response = HttpResponse(
        json.dumps(bid.receipt, ensure_ascii=False, indent=2, sort_keys=True), content_type="application/json"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="receipt-{bid.section.code}-{bid.log_index}.json"'
    )
    return response


@login_required
def evidence_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Supervisors, after the deadline: every bid of the section and where it came from."""
    section = selectors.evidence_section(request.user, pk)
    bids = selectors.bid_evidence(request.user, section)
    return render(request, "bidding/evidence.html", {"section": section, "bids": bids})
