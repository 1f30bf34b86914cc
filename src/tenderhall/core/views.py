"""Kernel pages: the audit log browser (an event with its proof checked), the calendar, notifications."""

from __future__ import annotations

import base64
import datetime as dt
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenderhall.core import calendar, keys, merkle, selectors, transparency
from tenderhall.core.errors import DomainError, ValidationFailed
from tenderhall.core.models import CalendarDayKind
from tenderhall.core.notifications import notification_mark_read
from tenderhall.core.permissions import Permission, has_permission, require


@login_required
def audit_view(request: HttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "").strip() for k in ("action", "actor", "org")}
    events = selectors.log_events_for_user(
        request.user, action=filters["action"], actor=filters["actor"], org=filters["org"]
    )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    rows = [(e, selectors.event_payload(e)) for e in page]
    return render(request, "core/audit.html", {"page": page, "rows": rows, "filters": filters})


@login_required
def audit_event_view(request: HttpRequest, index: int) -> HttpResponse:
    event = selectors.log_event_for_user(request.user, index)
    proof = transparency.inclusion_proof_for(event.leaf_hash)
    sth = proof["signed_tree_head"]
    public_key = keys.platform_key().public_key()
    verified = (
        merkle.verify_inclusion(
            bytes.fromhex(event.leaf_hash),
            event.index,
            proof["tree_size"],
            [bytes.fromhex(p) for p in proof["audit_path"]],
            bytes.fromhex(sth["root_hash"]),
        )
        and merkle.leaf_hash(event.payload.encode()).hex() == event.leaf_hash
    )
    signature_ok = transparency.verify_sth(sth, public_key)
    browser_data = {
        "payload": event.payload,
        "leaf_index": event.index,
        "leaf_hash": event.leaf_hash,
        "proof": proof,
        "public_key_raw_b64": base64.b64encode(keys.public_key_raw()).decode(),
        "sth_message": transparency.sth_message(
            sth["tree_size"], sth["root_hash"], sth["timestamp"]
        ).decode(),
    }
    return render(
        request,
        "core/audit_event.html",
        {
            "event": event,
            "payload_pretty": json.dumps(
                selectors.event_payload(event), ensure_ascii=False, indent=2, sort_keys=True
            ),
            "proof": proof,
            "verified": verified,
            "signature_ok": signature_ok,
            "browser_data": browser_data,
        },
    )


def log_head_view(request: HttpRequest) -> HttpResponse:
    sth = transparency.latest_sth()
    return render(
        request,
        "core/log_head.html",
        {
            "sth": transparency.sth_as_dict(sth) if sth else None,
            "key_pem": keys.public_key_pem(),
            "key_id": keys.key_id(),
        },
    )


def calendar_view(request: HttpRequest, year: int) -> HttpResponse:
    can_edit = has_permission(request.user, Permission.CALENDAR_EDIT)
    error = ""
    if request.method == "POST":
        require(request.user, Permission.CALENDAR_EDIT)  # a refusal is a 403 page, not a silent reload
        try:
            day = dt.date.fromisoformat(request.POST.get("date", ""))
        except ValueError:
            error = ValidationFailed(
                "date_invalid", "日期格式应为 YYYY-MM-DD", "dates are written YYYY-MM-DD"
            ).message
        else:
            try:
                if request.POST.get("kind") == "clear":
                    calendar.calendar_day_clear(acting_user=request.user, day=day)
                else:
                    calendar.calendar_day_set(
                        acting_user=request.user,
                        day=day,
                        kind=request.POST.get("kind", ""),
                        name=request.POST.get("name", ""),
                    )
            except DomainError as exc:
                error = exc.message
            else:
                messages.success(request, _("Calendar updated."))
                return redirect("core:calendar", year)
    return render(
        request,
        "core/calendar.html",
        {
            "year": year,
            "days": calendar.calendar_year(year),
            "can_edit": can_edit,
            "kinds": CalendarDayKind.choices,
            "error": error,
        },
    )


@login_required
def notifications_view(request: HttpRequest) -> HttpResponse:
    return render(
        request, "core/notifications.html", {"notes": selectors.notifications_for_user(request.user)[:100]}
    )


@login_required
@require_POST
def notification_read_view(request: HttpRequest, pk: int) -> HttpResponse:
    notification_mark_read(acting_user=request.user, notification_id=pk)
    return redirect("core:notifications")
