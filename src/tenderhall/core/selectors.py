"""Reads of the kernel tables."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet

from tenderhall.core.errors import NotFound
from tenderhall.core.models import LogEvent, Notification
from tenderhall.core.permissions import Permission, require


def log_events_for_user(
    user: Any, *, action: str = "", actor: str = "", org: str = "", before: int | None = None
) -> QuerySet[LogEvent]:
    require(user, Permission.AUDIT_VIEW)
    events = LogEvent.objects.order_by("-index")
    if action:
        events = events.filter(action__startswith=action)
    if actor:
        events = events.filter(actor_username=actor)
    if org:
        events = events.filter(org_uscc=org)
    if before is not None:
        events = events.filter(index__lt=before)
    return events


def log_event_for_user(user: Any, index: int) -> LogEvent:
    require(user, Permission.AUDIT_VIEW)
    event = LogEvent.objects.filter(index=index).first()
    if event is None:
        raise NotFound("日志事件", "log event")
    return event


def event_payload(event: LogEvent) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(event.payload)
    return data


def notifications_for_user(user: Any) -> QuerySet[Notification]:
    require(user, Permission.NOTIFICATION_VIEW_OWN)
    return Notification.objects.filter(recipient=user)
