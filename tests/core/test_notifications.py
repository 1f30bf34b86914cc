"""The notification outbox: rows written in the caller's transaction, delivered after commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.core.errors import NotFound
from tenderhall.core.models import LogEvent, Notification, NotificationChannel, NotificationStatus
from tenderhall.core.notifications import notification_deliver, notification_enqueue, notification_mark_read
from tenderhall.core.tasks import deliver_notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CaptureCallbacks = Callable[..., Any]


class BrokenGateway:
    """An SMS gateway that is down."""

    calls = 0

    def send(self, notification: Notification) -> None:
        BrokenGateway.calls += 1
        raise ConnectionError("gateway 10.0.0.9 unreachable")


class BrokenMailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise OSError("SMTP server refused the connection")


def enqueue(recipient: User, channel: str, **kwargs: Any) -> Notification:
    return notification_enqueue(
        recipient=recipient,
        channel=channel,
        subject=kwargs.pop("subject", "开标提醒"),
        body="明天开标",
        **kwargs,
    )


def fresh(note: Notification) -> Notification:
    note.refresh_from_db()
    return note


def test_in_app_message_is_sent_at_once_and_schedules_nothing(
    bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = enqueue(bidder, NotificationChannel.IN_APP)
    assert callbacks == []
    note = fresh(note)
    assert (note.recipient, note.channel, note.status) == (bidder, "in_app", NotificationStatus.SENT)
    assert note.sent_at is not None and note.read_at is None
    assert note.attempts == 0
    assert mail.outbox == []


def test_email_is_delivered_through_django_mail_only_after_commit(
    bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = enqueue(bidder, NotificationChannel.EMAIL, subject="投标截止提醒")
        # Still inside the transaction: written to the outbox, not sent.
        assert fresh(note).status == NotificationStatus.PENDING
        assert mail.outbox == []
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [bidder.email]
    assert message.subject == "投标截止提醒"
    assert message.body == "明天开标"
    assert message.from_email == django_settings.DEFAULT_FROM_EMAIL
    note = fresh(note)
    assert (note.status, note.attempts, note.address) == (NotificationStatus.SENT, 1, bidder.email)
    assert note.sent_at is not None


def test_an_explicit_address_wins(bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(bidder, NotificationChannel.EMAIL, address="tender@example.test")
    assert mail.outbox[0].to == ["tender@example.test"]


def test_nothing_is_sent_when_the_causing_transaction_rolls_back(
    bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue(bidder, NotificationChannel.EMAIL)
            raise RuntimeError("the service refuses")
    assert callbacks == []
    assert mail.outbox == []
    assert not Notification.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_email_is_sent_on_a_real_commit_and_not_on_a_real_rollback() -> None:
    user = UserFactory(username="committed")
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(user, NotificationChannel.EMAIL)
        raise RuntimeError("rolled back")
    assert mail.outbox == []
    with transaction.atomic():
        note = enqueue(user, NotificationChannel.EMAIL)
        assert mail.outbox == []
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert fresh(note).status == NotificationStatus.SENT


def test_sms_stays_in_the_outbox_marked_sent(
    bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    bidder.phone = "13800138000"
    bidder.save(update_fields=["phone"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = enqueue(bidder, NotificationChannel.SMS)
        assert fresh(note).status == NotificationStatus.PENDING
    assert len(callbacks) == 1
    note = fresh(note)
    assert (note.channel, note.address, note.status, note.attempts) == ("sms", "13800138000", "sent", 1)
    assert note.body == "明天开标"
    assert mail.outbox == []


def test_delivery_is_idempotent(bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        note = enqueue(bidder, NotificationChannel.EMAIL)
    sent_at = fresh(note).sent_at
    # The worker retrying, or the task enqueued twice: a sent message is not sent again.
    again = notification_deliver(notification_id=note.pk)
    deliver_notification.enqueue(note.pk)
    assert again.status == NotificationStatus.SENT
    assert len(mail.outbox) == 1
    note = fresh(note)
    assert (note.attempts, note.sent_at) == (1, sent_at)


def test_delivering_a_missing_message_does_nothing() -> None:
    assert notification_deliver(notification_id=987654) is None


def test_a_gateway_failure_keeps_the_message_for_retry_then_gives_up(
    bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks, settings: Any
) -> None:
    settings.TENDERHALL_SMS_BACKEND = f"{__name__}.BrokenGateway"
    BrokenGateway.calls = 0
    with django_capture_on_commit_callbacks(execute=True):
        note = enqueue(bidder, NotificationChannel.SMS, address="13900139000")
    note = fresh(note)
    assert (note.status, note.attempts) == (NotificationStatus.PENDING, 1)
    assert "unreachable" in note.last_error
    for attempt in range(2, 6):
        note = notification_deliver(notification_id=note.pk)
        assert note.attempts == attempt
    assert fresh(note).status == NotificationStatus.FAILED
    assert BrokenGateway.calls == 5
    notification_deliver(notification_id=note.pk)  # a failed message is not retried for ever
    assert BrokenGateway.calls == 5 and fresh(note).attempts == 5


def test_a_mail_failure_keeps_the_message_pending(
    bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks, settings: Any
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.BrokenMailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        note = enqueue(bidder, NotificationChannel.EMAIL)
    note = fresh(note)
    assert (note.status, note.attempts, note.sent_at) == (NotificationStatus.PENDING, 1, None)
    assert "refused" in note.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notification_deliver(notification_id=note.pk).status == NotificationStatus.SENT
    assert len(mail.outbox) == 1


# ---- reading ------------------------------------------------------------------------------------


def test_only_the_recipient_marks_a_message_read(bidder: User, other_bidder: User, staff: User) -> None:
    note = enqueue(bidder, NotificationChannel.IN_APP)
    for intruder in (other_bidder, staff):
        with pytest.raises(NotFound):
            notification_mark_read(acting_user=intruder, notification_id=note.pk)
    assert fresh(note).read_at is None
    assert not LogEvent.objects.exists()

    read = notification_mark_read(acting_user=bidder, notification_id=note.pk)
    assert read.status == NotificationStatus.READ and read.read_at is not None
    event = LogEvent.objects.get()
    assert (event.action, event.actor_username, event.object_id) == (
        "core.notification.read",
        "bidder",
        str(note.pk),
    )
    # Reading again changes nothing and logs nothing.
    again = notification_mark_read(acting_user=bidder, notification_id=note.pk)
    assert again.read_at == read.read_at
    assert LogEvent.objects.count() == 1
    with pytest.raises(NotFound):
        notification_mark_read(acting_user=bidder, notification_id=note.pk + 1000)


def test_list_api_returns_only_my_notifications(client: Client, bidder: User, other_bidder: User) -> None:
    mine = [enqueue(bidder, NotificationChannel.IN_APP, subject=f"mine {n}") for n in range(3)]
    enqueue(other_bidder, NotificationChannel.IN_APP, subject="theirs")
    enqueue(other_bidder, NotificationChannel.SMS, subject="theirs too", address="13700137000")
    client.force_login(bidder)
    response = client.get("/api/v1/notifications")
    assert response.status_code == 200
    body = response.json()
    assert sorted(n["id"] for n in body) == sorted(n.pk for n in mine)
    assert {n["subject"] for n in body} == {"mine 0", "mine 1", "mine 2"}
    client.force_login(other_bidder)
    assert {n["subject"] for n in client.get("/api/v1/notifications").json()} == {"theirs", "theirs too"}


def test_read_api_is_for_the_recipient_only(client: Client, bidder: User, other_bidder: User) -> None:
    note = enqueue(bidder, NotificationChannel.IN_APP)
    client.force_login(other_bidder)
    response = client.post(f"/api/v1/notifications/{note.pk}/read")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    assert fresh(note).read_at is None
    client.force_login(bidder)
    response = client.post(f"/api/v1/notifications/{note.pk}/read")
    assert response.status_code == 200
    assert response.json()["status"] == "read"
    assert response.json()["read_at"] is not None


def test_notification_api_needs_a_user(client: Client) -> None:
    response = client.get("/api/v1/notifications")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_authenticated"


def test_notifications_page_lists_my_messages(client: Client, bidder: User, other_bidder: User) -> None:
    enqueue(bidder, NotificationChannel.IN_APP, subject="给我的提醒")
    enqueue(other_bidder, NotificationChannel.IN_APP, subject="别人的提醒")
    client.force_login(bidder)
    page = client.get("/notifications/").content.decode()
    assert "给我的提醒" in page
    assert "别人的提醒" not in page
