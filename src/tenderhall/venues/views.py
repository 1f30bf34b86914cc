"""Pages of the venues app: the week calendar with the request form, bookings, rooms.

Views parse input, call a selector or a service, and render; a refused rule shows on its form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenderhall.accounts.models import User
from tenderhall.core import clock
from tenderhall.core.errors import DomainError, ValidationFailed
from tenderhall.core.forms import show_refusal
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.venues import forms, selectors, services
from tenderhall.venues.models import Booking, BookingStatus, Room, RoomKind


def _room_label(room: Room) -> str:
    seats = _("seats")  # not inside the f-string: xgettext cannot see it there
    return f"{room.name} · {room.get_kind_display()} · {len(room.seats.all())} {seats}"


def _week(raw: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            "week_invalid",
            "日期格式应为 YYYY-MM-DD",
            "the week must be a date, YYYY-MM-DD",
            fields={"week": ""},
        ) from None


@login_required
def calendar_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    calendar = selectors.week_calendar(
        user, week=_week(request.GET.get("week", "")), kind=request.GET.get("kind") or None
    )
    can_request = has_permission(user, Permission.BOOKING_REQUEST)
    form: forms.BookingRequestForm | None = None
    if can_request:
        form = forms.BookingRequestForm(
            request.POST or None,
            rooms=[(r.pk, _room_label(r)) for r in selectors.rooms_for_user(user)],
            sections=[(s.pk, f"{s.code} {s.name}") for s in selectors.sections_for_booking(user)],
        )
    if request.method == "POST":
        require(user, Permission.BOOKING_REQUEST)  # a 403 page, not a silent reload
        assert form is not None
        if form.is_valid():
            data = form.cleaned_data
            try:
                room = selectors.room_for_user(user, data["room"])
                section = selectors.section_for_booking(user, data["section"]) if data["section"] else None
                booking = services.booking_request(
                    acting_user=user,
                    room=room,
                    section=section,
                    purpose=data["purpose"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    seats_needed=data["seats_needed"],
                    note=data["note"],
                )
            except DomainError as error:
                show_refusal(form, error)
            else:
                messages.success(request, _("Booking requested; the trading centre will confirm it."))
                return redirect("venues:booking", booking.pk)
    grid = [
        {"room": row.room, "cells": list(zip(calendar.days, row.days, strict=True))} for row in calendar.rows
    ]
    return render(
        request,
        "venues/calendar.html",
        {
            "calendar": calendar,
            "grid": grid,
            "kinds": RoomKind.choices,
            "form": form,
        },
    )


@login_required
def bookings_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    status = request.GET.get("status", "")
    bookings = selectors.bookings_for_user(user, status=status or None).order_by("-starts_at", "-pk")
    queue = (
        selectors.booking_queue_for_user(user) if has_permission(user, Permission.BOOKING_DECIDE) else None
    )
    return render(
        request,
        "venues/bookings.html",
        {
            "bookings": bookings[:200],
            "queue": queue,
            "status": status,
            "statuses": BookingStatus.choices,
            "reject_form": forms.ReasonForm(),
        },
    )


def _booking_forms(user: Any, booking: Booking, data: Any = None, action: str = "") -> dict[str, Any]:
    rooms = [(r.pk, _room_label(r)) for r in selectors.rooms_for_user(user, kind=booking.room.kind)]
    return {
        "change": forms.ChangeForm(data if action == "change" else None, rooms=rooms),
        "extend": forms.ExtendForm(
            data if action == "extend" else None, initial={"ends_at": booking.ends_at}
        ),
        "cancel": forms.ReasonForm(data if action == "cancel" else None, prefix="cancel"),
        "reject": forms.ReasonForm(data if action == "reject" else None, prefix="reject"),
    }


def _act(user: Any, booking: Booking, action: str, form: Any) -> Booking:
    data = form.cleaned_data if form is not None else {}
    if action == "confirm":
        return services.booking_confirm(acting_user=user, booking=booking)
    if action == "reject":
        return services.booking_reject(acting_user=user, booking=booking, reason=data["reason"])
    if action == "cancel":
        return services.booking_cancel(acting_user=user, booking=booking, reason=data["reason"])
    if action == "extend":
        return services.booking_extend(acting_user=user, booking=booking, ends_at=data["ends_at"])
    room = selectors.room_for_user(user, data["room"]) if data["room"] else None
    return services.booking_change(
        acting_user=user, booking=booking, room=room, starts_at=data["starts_at"], ends_at=data["ends_at"]
    )


ACTIONS = ("confirm", "reject", "change", "extend", "cancel")
DONE = {
    "confirm": gettext_lazy("Booking confirmed."),
    "reject": gettext_lazy("Booking rejected."),
    "change": gettext_lazy("Booking changed; it waits for the centre to confirm again."),
    "extend": gettext_lazy("Extension requested; it waits for the centre to confirm."),
    "cancel": gettext_lazy("Booking cancelled."),
}


@login_required
def booking_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    booking = selectors.booking_for_user(user, pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if request.method == "POST":
        if not (
            has_permission(user, Permission.BOOKING_DECIDE)
            or has_permission(user, Permission.BOOKING_REQUEST)
        ):
            require(user, Permission.BOOKING_REQUEST)  # read-only roles: a 403 page
        if action not in ACTIONS:
            raise ValidationFailed("action_invalid", "未知操作", "unknown action")
    booking_forms = _booking_forms(user, booking, request.POST, action)
    if action:
        form = booking_forms.get(action)
        if form is None or form.is_valid():
            try:
                _act(user, booking, action, form)
            except DomainError as error:
                if form is None:
                    messages.error(request, error.message)
                    return redirect("venues:booking", booking.pk)
                show_refusal(form, error)
            else:
                messages.success(request, DONE[action])
                back = request.POST.get("next", "")
                return redirect(
                    back if back == reverse("venues:bookings") else reverse("venues:booking", args=[pk])
                )
    is_staff = (
        has_permission(user, Permission.BOOKING_DECIDE) and user.organization_id == booking.room.centre_id
    )
    is_requester = (
        has_permission(user, Permission.BOOKING_REQUEST)
        and user.organization_id == booking.requested_by.organization_id
    )
    now = clock.now()
    return render(
        request,
        "venues/booking.html",
        {
            "booking": booking,
            "forms": booking_forms,
            "can_decide": is_staff and booking.can_decide(),
            "can_change": (is_staff or is_requester) and booking.can_change(now),
            "can_extend": (is_staff or is_requester) and booking.can_extend(now),
            "can_cancel": (is_staff or is_requester) and booking.can_cancel(now),
        },
    )


@login_required
def rooms_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    rooms = selectors.rooms_for_user(user)
    can_manage = has_permission(user, Permission.ROOM_MANAGE)
    form = forms.RoomForm(request.POST or None)
    if request.method == "POST":
        require(user, Permission.ROOM_MANAGE)
        if form.is_valid():
            try:
                room = services.room_create(acting_user=user, **form.cleaned_data)
            except DomainError as error:
                show_refusal(form, error)
            else:
                messages.success(request, _("Room %(name)s added.") % {"name": room.name})
                return redirect("venues:room", room.pk)
    return render(
        request,
        "venues/rooms.html",
        {"rooms": rooms, "form": form, "can_manage": can_manage, "own_centre": user.organization_id},
    )


@login_required
def room_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    room = selectors.room_for_user(user, pk)
    labels = [s.label for s in room.seats.all()]
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if request.method == "POST":
        require(user, Permission.ROOM_MANAGE)  # a 403 page, not a silent reload
    data = request.POST if action else None
    edit = forms.RoomEditForm(
        data if action == "edit" else None,
        initial={
            "name": room.name,
            "kind": room.kind,
            "location": room.location,
            "is_active": room.is_active,
        },
    )
    seats = forms.SeatsForm(data if action == "seats" else None)
    remote = forms.RemoteSeatsForm(
        data if action == "remote" else None,
        labels=labels,
        initial={"remote_seats": [s.label for s in room.seats.all() if s.is_remote_evaluation]},
    )
    if request.method == "POST":
        form = {"edit": edit, "seats": seats, "remote": remote}.get(action)
        if form is None:
            raise ValidationFailed("action_invalid", "未知操作", "unknown action")
        if form.is_valid():
            try:
                if action == "edit":
                    services.room_update(acting_user=user, room=room, **form.cleaned_data)
                elif action == "seats":
                    services.seats_add(
                        acting_user=user,
                        room=room,
                        count=form.cleaned_data["count"],
                        prefix=form.cleaned_data["label_prefix"],
                        remote_evaluation=form.cleaned_data["remote_evaluation"],
                    )
                else:
                    services.room_update(
                        acting_user=user, room=room, remote_seats=form.cleaned_data["remote_seats"]
                    )
            except DomainError as error:
                show_refusal(form, error)
            else:
                messages.success(request, _("Room %(name)s saved.") % {"name": room.name})
                return redirect("venues:room", room.pk)
    can_manage = has_permission(user, Permission.ROOM_MANAGE) and room.centre_id == user.organization_id
    upcoming = selectors.slots_for_user(
        user, rooms=selectors.rooms_for_user(user).filter(pk=room.pk), start=clock.now()
    )
    return render(
        request,
        "venues/room.html",
        {
            "room": room,
            "edit_form": edit,
            "seats_form": seats,
            "remote_form": remote,
            "can_manage": can_manage,
            "upcoming": upcoming,
        },
    )
