"""The notification outbox: rows written in the caller's transaction, delivered after commit.

In-app messages are read on the site; e-mail goes through Django's mail backend; SMS and voice go
through ``TENDERHALL_SMS_BACKEND`` — in the embedded profile that backend keeps them in the outbox
only, where staff (and tests) can read what would have been sent.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils.module_loading import import_string

from tenderhall.core import clock
from tenderhall.core.errors import NotFound
from tenderhall.core.models import Notification, NotificationChannel, NotificationStatus
from tenderhall.core.transparency import log_append


class MessageBackend(Protocol):
    def send(self, notification: Notification) -> None: ...


class OutboxOnlyBackend:
    """Embedded profile: the message stays in the outbox, marked sent; no gateway is called."""

    def send(self, notification: Notification) -> None:
        return None


def notification_enqueue(
    *, recipient: Any, channel: str, subject: str, body: str, address: str = ""
) -> Notification:
    """Write to the outbox. Call inside the service transaction that causes the message."""
    if channel == NotificationChannel.EMAIL and not address:
        address = getattr(recipient, "email", "") or ""
    if channel in (NotificationChannel.SMS, NotificationChannel.VOICE) and not address:
        address = getattr(recipient, "phone", "") or ""
    note = Notification.objects.create(
        recipient=recipient,
        address=address,
        channel=channel,
        subject=subject[:200],
        body=body,
        status=NotificationStatus.SENT
        if channel == NotificationChannel.IN_APP
        else NotificationStatus.PENDING,
        created_at=clock.now(),
        sent_at=clock.now() if channel == NotificationChannel.IN_APP else None,
    )
    if channel != NotificationChannel.IN_APP:
        from tenderhall.core.tasks import deliver_notification

        transaction.on_commit(lambda: deliver_notification.enqueue(note.pk))
    return note


def notification_deliver(*, notification_id: int) -> Notification:
    """Send one pending message; idempotent (a sent message is not sent again)."""
    with transaction.atomic():
        note = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if note is None or note.status != NotificationStatus.PENDING:
            return note  # type: ignore[return-value]
        note.attempts += 1
        try:
            if note.channel == NotificationChannel.EMAIL:
                send_mail(note.subject, note.body, settings.DEFAULT_FROM_EMAIL, [note.address])
            else:
                backend: MessageBackend = import_string(settings.TENDERHALL_SMS_BACKEND)()
                backend.send(note)
        except Exception as exc:  # a gateway failure must not lose the message: it stays for retry
            note.last_error = str(exc)[:400]
            note.status = NotificationStatus.FAILED if note.attempts >= 5 else NotificationStatus.PENDING
        else:
            note.status = NotificationStatus.SENT
            note.sent_at = clock.now()
        note.save(update_fields=["attempts", "last_error", "status", "sent_at"])
        return note


@transaction.atomic
def notification_mark_read(*, acting_user: Any, notification_id: int) -> Notification:
    note = Notification.objects.select_for_update().filter(pk=notification_id, recipient=acting_user).first()
    if note is None:
        raise NotFound("通知", "notification")
    if note.read_at is None:
        note.read_at = clock.now()
        note.status = NotificationStatus.READ
        note.save(update_fields=["read_at", "status"])
        log_append(action="core.notification.read", actor=acting_user, obj=note)
    return note
