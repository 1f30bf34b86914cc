"""Kernel API: the transparency log (public: anyone may check a proof), the calendar, notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from tenderhall.core import calendar, keys, selectors, transparency
from tenderhall.core.errors import NotFound

router = Router(tags=["transparency log"])


class TreeHeadOut(Schema):
    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    signature: str


class InclusionOut(Schema):
    leaf_index: int
    leaf_hash: str
    tree_size: int
    audit_path: list[str]
    signed_tree_head: TreeHeadOut


class ConsistencyOut(Schema):
    first: int
    second: int
    consistency: list[str]
    first_tree_head: TreeHeadOut | None
    second_tree_head: TreeHeadOut


class EventOut(Schema):
    index: int
    leaf_hash: str
    payload: dict[str, Any]


class KeyOut(Schema):
    algorithm: str
    key_id: str
    public_key_pem: str


@router.get("/log/key", response=KeyOut, auth=None, summary="The platform key that signs tree heads")
def log_key(request: HttpRequest) -> dict[str, Any]:
    return {"algorithm": "Ed25519", "key_id": keys.key_id(), "public_key_pem": keys.public_key_pem()}


@router.get("/log/sth", response=TreeHeadOut, auth=None, summary="Latest signed tree head")
def log_sth(request: HttpRequest) -> dict[str, Any]:
    sth = transparency.latest_sth()
    if sth is None:
        raise NotFound("签名树头", "signed tree head")
    return transparency.sth_as_dict(sth)


@router.get("/log/proof/inclusion", response=InclusionOut, auth=None, summary="Inclusion proof by event hash")
def log_inclusion(request: HttpRequest, leaf_hash: str, tree_size: int | None = None) -> dict[str, Any]:
    return transparency.inclusion_proof_for(leaf_hash, tree_size)


@router.get("/log/proof/consistency", response=ConsistencyOut, auth=None, summary="Consistency proof")
def log_consistency(request: HttpRequest, first: int, second: int | None = None) -> dict[str, Any]:
    return transparency.consistency_proof_for(first, second)


@router.get("/log/events", response=list[EventOut], summary="Browse events (audit roles)")
def log_events(
    request: HttpRequest,
    action: str = "",
    actor: str = "",
    org: str = "",
    before: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    events = selectors.log_events_for_user(request.user, action=action, actor=actor, org=org, before=before)
    return [
        {"index": e.index, "leaf_hash": e.leaf_hash, "payload": selectors.event_payload(e)}
        for e in events[: max(1, min(limit, 500))]
    ]


@router.get("/log/events/{index}", response=EventOut, summary="One event (audit roles)")
def log_event(request: HttpRequest, index: int) -> dict[str, Any]:
    event = selectors.log_event_for_user(request.user, index)
    return {"index": event.index, "leaf_hash": event.leaf_hash, "payload": selectors.event_payload(event)}


calendar_router = Router(tags=["calendar"])


class CalendarDayOut(Schema):
    date: dt.date
    kind: str
    name: str


class CalendarDayIn(Schema):
    kind: str
    name: str = ""


@calendar_router.get(
    "/calendar/{year}", response=list[CalendarDayOut], auth=None, summary="Holidays and make-up workdays"
)
def calendar_get(request: HttpRequest, year: int) -> list[Any]:
    return calendar.calendar_year(year)


@calendar_router.put("/calendar/days/{day}", response=CalendarDayOut, summary="Set a day (staff)")
def calendar_put(request: HttpRequest, day: dt.date, body: CalendarDayIn) -> Any:
    return calendar.calendar_day_set(acting_user=request.user, day=day, kind=body.kind, name=body.name)


@calendar_router.delete("/calendar/days/{day}", response={204: None}, summary="Clear a day (staff)")
def calendar_delete(request: HttpRequest, day: dt.date) -> None:
    calendar.calendar_day_clear(acting_user=request.user, day=day)
    # 204 is the only declared response, so Ninja answers it (returning a tuple is deprecated).


notifications_router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    channel: str
    subject: str
    body: str
    status: str
    created_at: dt.datetime
    read_at: dt.datetime | None


@notifications_router.get("/notifications", response=list[NotificationOut], summary="My notifications")
def notifications_list(request: HttpRequest) -> list[Any]:
    return list(selectors.notifications_for_user(request.user)[:100])


@notifications_router.post("/notifications/{notification_id}/read", response=NotificationOut)
def notifications_read(request: HttpRequest, notification_id: int) -> Any:
    from tenderhall.core.notifications import notification_mark_read

    return notification_mark_read(acting_user=request.user, notification_id=notification_id)
