"""Live pushes of an extraction request (docs/extraction.md, "Watching live").

Every service that changes a request (its status, an assignment, a venue, the committee) calls
``extraction_changed(request_id)`` inside its transaction. After the commit one message goes to the
request's group: ``{"type": "extraction.changed", "request": id}`` — no names, no counts, nothing a
channel layer (Redis) should hold. Each watcher's consumer then reads the request as *its* user may
see it (the selectors' per-role view) and sends that over its own socket. Several changes in one
transaction make one message; a rolled-back transaction makes none."""

from __future__ import annotations

import logging
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from tenderhall.core import live

logger = logging.getLogger(__name__)

CHANGED = "extraction.changed"


def extraction_group(request_id: int) -> str:
    return f"extraction.{int(request_id)}"


class _Publish:
    """The on-commit callback; tagged with its request so a transaction schedules it once."""

    def __init__(self, request_id: int) -> None:
        self.request_id = request_id

    def __call__(self) -> None:
        group = extraction_group(self.request_id)
        layer = get_channel_layer()
        if isinstance(layer, InMemoryChannelLayer) and not layer.groups.get(group):
            # Nobody watches in this process (the in-memory layer is the process): skip the send,
            # which costs a new event loop (~1-3 ms) outside the server (commands, the worker).
            # A watcher joining meanwhile reads the state after joining, so it misses nothing.
            return
        try:
            live.group_send(group, {"type": CHANGED, "request": self.request_id})
        except Exception:  # best effort: a watcher that misses a push still has the page's refresh
            logger.warning("extraction %s: live push not sent", self.request_id, exc_info=True)


def extraction_changed(request_id: int) -> None:
    """Push "request changed" to the request's watchers once the current transaction commits."""
    connection = transaction.get_connection()
    pending: list[Any] = getattr(connection, "run_on_commit", []) if connection.in_atomic_block else []
    for entry in pending:
        # Django keeps (savepoint ids, callback, robust); a savepoint rollback drops the entry.
        callback = entry[1] if isinstance(entry, tuple) and len(entry) > 1 else None
        if isinstance(callback, _Publish) and callback.request_id == request_id:
            return
    transaction.on_commit(_Publish(request_id))
