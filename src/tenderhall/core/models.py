"""Kernel tables: the transparency log, the holiday calendar and the notification outbox.

No business models live here (DESIGN §2); these are the platform's own infrastructure.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LogEvent(models.Model):
    """One leaf of the RFC 9162 tree. ``payload`` is the canonical JSON that is hashed; the other
    columns copy fields out of it for queries, and `audit verify` checks they agree."""

    index = models.BigIntegerField(unique=True)
    payload = models.TextField()
    leaf_hash = models.CharField(max_length=64, unique=True)  # hex SHA-256(0x00 ‖ payload)
    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=100, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True, db_index=True)
    org_uscc = models.CharField(max_length=18, blank=True, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["index"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.index} {self.action}"


class LogHead(models.Model):
    """The single row that serializes appends: current size, root and the frontier of perfect
    subtrees, so an append never rehashes the tree."""

    size = models.BigIntegerField(default=0)
    root_hash = models.CharField(max_length=64)
    frontier = models.JSONField(default=list)


class SignedTreeHead(models.Model):
    """A tree head signed by the platform key, one per appending transaction."""

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)
    timestamp = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    signature = models.CharField(max_length=200)  # base64 Ed25519 over core.transparency.sth_message

    class Meta:
        ordering = ["tree_size"]


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("法定节假日 / Public holiday")
    WORKDAY = "workday", _("调休上班 / Make-up working day")


class CalendarDay(models.Model):
    """A day that differs from the plain Monday-Friday week (DESIGN §3: data, not code)."""

    date = models.DateField(unique=True)
    kind = models.CharField(max_length=10, choices=CalendarDayKind.choices)
    name = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.kind}"


class NotificationChannel(models.TextChoices):
    IN_APP = "in_app", _("站内信 / In-app")
    EMAIL = "email", _("电子邮件 / E-mail")
    SMS = "sms", _("短信 / SMS")
    VOICE = "voice", _("语音 / Voice")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("待发送 / Pending")
    SENT = "sent", _("已发送 / Sent")
    FAILED = "failed", _("发送失败 / Failed")
    READ = "read", _("已读 / Read")


class Notification(models.Model):
    """The outbox: written in the same transaction as the change that causes it, delivered after."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", null=True
    )
    address = models.CharField(max_length=200, blank=True)  # e-mail or phone when not in-app
    channel = models.CharField(max_length=10, choices=NotificationChannel.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
