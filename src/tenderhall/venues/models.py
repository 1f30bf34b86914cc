"""Rooms, seats and bookings of a trading centre (场地安排, seed 002 §6.3)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RoomKind(models.TextChoices):
    OPENING = "opening", _("开标室 / Opening room")
    EVALUATION = "evaluation", _("评标室 / Evaluation room")
    CLARIFICATION = "clarification", _("澄清室 / Clarification room")
    OVERNIGHT_EVALUATION = "overnight_evaluation", _("隔夜评标室 / Overnight evaluation room")


class Room(models.Model):
    """A room of a trading centre; its staff manage it, the parties to a tender book it."""

    centre = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=30, choices=RoomKind.choices)
    location = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["centre_id", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["centre", "name"], name="room_name_unique")]

    def __str__(self) -> str:
        return self.name

    def can_be_booked(self) -> bool:
        return self.is_active


class Seat(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="seats")
    label = models.CharField(max_length=20)
    # A seat equipped for remote off-site evaluation (远程异地评标, seed 004).
    is_remote_evaluation = models.BooleanField(default=False)

    class Meta:
        ordering = ["room_id", "label"]
        constraints = [models.UniqueConstraint(fields=["room", "label"], name="seat_label_unique")]


class BookingStatus(models.TextChoices):
    REQUESTED = "requested", _("待确认 / Requested")
    CONFIRMED = "confirmed", _("已确认 / Confirmed")
    REJECTED = "rejected", _("已拒绝 / Rejected")
    CANCELLED = "cancelled", _("已取消 / Cancelled")


# Bookings that hold a room: a request holds it until staff decide, so two cannot be confirmed.
HOLDING_STATUSES = (BookingStatus.REQUESTED, BookingStatus.CONFIRMED)


class BookingPurpose(models.TextChoices):
    OPENING = "opening", _("开标 / Opening")
    EVALUATION = "evaluation", _("评标 / Evaluation")
    CLARIFICATION = "clarification", _("澄清 / Clarification")
    OVERNIGHT_EVALUATION = "overnight_evaluation", _("隔夜评标 / Overnight evaluation")


# Each purpose needs a room of its kind (seed 002 §6.3.2: 开标、评标、澄清、隔夜评标场地).
PURPOSE_ROOM_KIND: dict[str, str] = {
    BookingPurpose.OPENING: RoomKind.OPENING,
    BookingPurpose.EVALUATION: RoomKind.EVALUATION,
    BookingPurpose.CLARIFICATION: RoomKind.CLARIFICATION,
    BookingPurpose.OVERNIGHT_EVALUATION: RoomKind.OVERNIGHT_EVALUATION,
}


class Booking(models.Model):
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="bookings")
    section = models.ForeignKey(
        "projects.Section", null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    purpose = models.CharField(max_length=30, choices=BookingPurpose.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    seats_needed = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=20, choices=BookingStatus.choices, default=BookingStatus.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)  # the requester's remarks
    decision_reason = models.TextField(blank=True)  # why staff rejected it, or why it was cancelled

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["room", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.room} {self.starts_at:%Y-%m-%d %H:%M}"

    def is_holding(self) -> bool:
        return self.status in HOLDING_STATUSES

    def can_decide(self) -> bool:
        return self.status == BookingStatus.REQUESTED

    def can_change(self, now: dt.datetime) -> bool:
        # Once it has started only the end can move (an extension, seed 002 §6.3.3).
        return self.is_holding() and self.starts_at > now

    def can_extend(self, now: dt.datetime) -> bool:
        return self.is_holding() and self.ends_at > now

    def can_cancel(self, now: dt.datetime) -> bool:
        return self.is_holding() and self.ends_at > now
