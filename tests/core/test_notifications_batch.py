"""Delivery is batched per transaction: however many messages a service writes, one delivery task
is enqueued when it commits; nothing for a rollback; a rolled-back savepoint loses nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from tenderhall.accounts.models import User
from tenderhall.core.models import Notification, NotificationChannel, NotificationStatus
from tenderhall.core.notifications import Message, notification_enqueue, notification_enqueue_many

pytestmark = pytest.mark.django_db

CaptureCallbacks = Callable[..., Any]


def sms(user: User, n: int) -> Notification:
    return notification_enqueue(
        recipient=user,
        channel=NotificationChannel.SMS,
        subject=f"通知 {n}",
        body="x",
        address=f"1390000{n:04d}",
    )


def statuses() -> list[str]:
    return list(Notification.objects.order_by("pk").values_list("status", flat=True))


def test_many_messages_one_hook_all_delivered(
    bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for n in range(5):
            sms(bidder, n)
        notification_enqueue(recipient=bidder, channel=NotificationChannel.IN_APP, subject="站内", body="x")
        assert set(statuses()) == {NotificationStatus.PENDING, NotificationStatus.SENT}  # in-app is sent
    assert len(callbacks) == 1
    assert statuses() == [NotificationStatus.SENT] * 6
    assert set(Notification.objects.filter(channel="sms").values_list("attempts", flat=True)) == {1}


def test_enqueue_many_writes_all_and_schedules_once(
    bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    messages = [
        Message(bidder, NotificationChannel.SMS, "短信", "a", "13900000001"),
        Message(bidder, NotificationChannel.VOICE, "语音", "b", "13900000001"),
        Message(bidder, NotificationChannel.IN_APP, "站内", "c"),
        Message(bidder, NotificationChannel.EMAIL, "邮件", "d"),
    ]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notes = notification_enqueue_many(messages)
        sms(bidder, 9)  # the same transaction's batch
    assert len(callbacks) == 1
    assert [n.channel for n in notes] == ["sms", "voice", "in_app", "email"]
    assert notes[3].address == bidder.email
    assert statuses() == [NotificationStatus.SENT] * 5


def test_a_rolled_back_savepoint_loses_only_its_own_messages(
    bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # The batch's hook registered inside a savepoint that rolls back goes with it ...
        with pytest.raises(RuntimeError), transaction.atomic():
            sms(bidder, 1)
            raise RuntimeError("refused")
        # ... so the next message opens a new batch; a savepoint rolled back later drops its row only.
        kept = sms(bidder, 2)
        with pytest.raises(RuntimeError), transaction.atomic():
            sms(bidder, 3)
            raise RuntimeError("refused")
        also_kept = sms(bidder, 4)
    assert len(callbacks) == 1
    assert list(Notification.objects.order_by("pk")) == [kept, also_kept]
    assert statuses() == [NotificationStatus.SENT] * 2


def test_a_later_transaction_gets_its_own_batch(
    bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as first:
        sms(bidder, 1)
    with django_capture_on_commit_callbacks(execute=True) as second:
        sms(bidder, 2)
        sms(bidder, 3)
    assert (len(first), len(second)) == (1, 1)
    assert statuses() == [NotificationStatus.SENT] * 3


def test_rollback_enqueues_nothing(
    bidder: User, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            notification_enqueue_many([Message(bidder, NotificationChannel.SMS, "短信", "a", "1")])
            raise RuntimeError("refused")
    assert callbacks == []
    assert not Notification.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_on_a_real_commit_the_batch_is_delivered_once() -> None:
    from tests.factories import UserFactory

    user = UserFactory(username="batched")
    with transaction.atomic():
        for n in range(3):
            sms(user, n)
        assert statuses() == [NotificationStatus.PENDING] * 3
    assert statuses() == [NotificationStatus.SENT] * 3
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
