"""Background work of the kernel (django-tasks; `tenderhall worker` runs it)."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_notification(notification_id: int) -> None:
    from tenderhall.core.notifications import notification_deliver

    notification_deliver(notification_id=notification_id)
