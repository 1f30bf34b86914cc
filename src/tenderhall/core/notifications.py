"""The notification outbox: rows written in the caller's transaction, delivered after commit.

In-app messages are read on the site; e-mail goes through Django's mail backend; SMS and voice go
through ``TENDERHALL_SMS_BACKEND`` — in the embedded profile that backend keeps them in the outbox
only, where staff (and tests) can read what would have been sent.

Delivery is batched: however many messages one transaction writes, a single delivery task is
enqueued when it commits (on SQLite each enqueue is a durable commit of its own, so one per message
made a service that notifies many people slow). A rolled-back transaction enqueues nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass
class Message:
    """One message for ``notification_enqueue_many``; the fields of ``notification_enqueue``."""

    recipient: Any
    channel: str
    subject: str
    body: str
    address: str = ""


def _outbox_row(message: Message) -> Notification:
    address = message.address
    if message.channel == NotificationChannel.EMAIL and not address:
        address = getattr(message.recipient, "email", "") or ""
    if message.channel in (NotificationChannel.SMS, NotificationChannel.VOICE) and not address:
        address = getattr(message.recipient, "phone", "") or ""
    in_app = message.channel == NotificationChannel.IN_APP
    now = clock.now()
    return Notification(
        recipient=message.recipient,
        address=address,
        channel=message.channel,
        subject=message.subject[:200],
        body=message.body,
        status=NotificationStatus.SENT if in_app else NotificationStatus.PENDING,
        created_at=now,
        sent_at=now if in_app else None,
    )


@dataclass(eq=False)
class _DeliveryBatch:
    """The messages of one transaction waiting for its commit; flushed once."""

    ids: list[int] = field(default_factory=list)
    done: bool = False

    def flush(self) -> None:
        from tenderhall.core.tasks import deliver_notification, deliver_notifications

        self.done = True
        ids = list(dict.fromkeys(self.ids))
        if len(ids) == 1:
            deliver_notification.enqueue(ids[0])
        elif ids:
            deliver_notifications.enqueue(ids)


_BATCH_ATTR = "_tenderhall_delivery_batch"


def _deliver_after_commit(ids: Sequence[int]) -> None:
    """Add messages to the delivery batch of the current transaction, opening one (with its single
    on_commit hook) when there is none. Django drops the hook with a rolled-back savepoint or
    transaction; the batch is reused only while its hook is still pending, so nothing is lost. An
    id whose row a savepoint rolled back is harmless: delivering a missing message does nothing."""
    if not ids:
        return
    connection = transaction.get_connection()
    batch: _DeliveryBatch | None = getattr(connection, _BATCH_ATTR, None)
    if (
        batch is not None
        and not batch.done
        and connection.in_atomic_block
        and any(hook == batch.flush for _, hook, _ in connection.run_on_commit)  # same batch's method
    ):
        batch.ids.extend(ids)
        return
    batch = _DeliveryBatch(ids=list(ids))
    setattr(connection, _BATCH_ATTR, batch)
    transaction.on_commit(batch.flush)


def notification_enqueue(
    *, recipient: Any, channel: str, subject: str, body: str, address: str = ""
) -> Notification:
    """Write to the outbox. Call inside the service transaction that causes the message."""
    note = _outbox_row(Message(recipient, channel, subject, body, address))
    note.save(force_insert=True)
    if channel != NotificationChannel.IN_APP:
        _deliver_after_commit([note.pk])
    return note


def notification_enqueue_many(messages: Sequence[Message]) -> list[Notification]:
    """``notification_enqueue`` for many messages at once: one INSERT, one delivery task."""
    notes = Notification.objects.bulk_create([_outbox_row(m) for m in messages])
    _deliver_after_commit([n.pk for n in notes if n.channel != NotificationChannel.IN_APP])
    return notes


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
