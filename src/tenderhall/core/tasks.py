"""Background work of the kernel (django-tasks; `tenderhall worker` runs it)."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_notification(notification_id: int) -> None:
    from tenderhall.core.notifications import notification_deliver

    notification_deliver(notification_id=notification_id)


@task()
def deliver_notifications(notification_ids: list[int]) -> None:
    """The messages one transaction wrote (core.notifications batches them): each is delivered on
    its own, so one gateway failure does not hold back the others."""
    from tenderhall.core.notifications import notification_deliver

    for notification_id in notification_ids:
        notification_deliver(notification_id=notification_id)
