"""Experts writes: the record of a live watcher's view of an expert list (issue 6 §5: every view
of an expert list is in the log). A WebSocket connection to ``/ws/extraction/<id>/`` is one
viewing: it is logged once, when it first delivers names, however many pushes follow."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tenderhall.core.transparency import log_append
from tenderhall.experts.models import ExtractionRequest

LIST_VIEWED = "experts.extraction.list_viewed"  # the same event as a page or API view


@transaction.atomic
def extraction_watch_log(*, acting_user: Any, request: ExtractionRequest, experts_shown: int) -> None:
    """One live connection showed this user the expert list (counts only in the event, no names)."""
    log_append(
        action=LIST_VIEWED,
        actor=acting_user,
        obj=request,
        data={"request": request.pk, "experts_shown": experts_shown, "status": request.status, "via": "live"},
    )
