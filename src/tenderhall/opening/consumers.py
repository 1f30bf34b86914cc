"""The hall's live transport (issue item 9): a WebSocket per watcher at ``/ws/hall/<section>/?after=SEQ``.

On connect the watcher gets every event after ``after`` (the replay), then each new event as its
service commits. A client that reconnects with the last ``seq`` it saw gets exactly what it missed:
the consumer joins the group before the replay and drops what it already sent, and if a group
message skips a number it replays the gap from the database."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from tenderhall.core.errors import DomainError
from tenderhall.opening import selectors
from tenderhall.opening.services import hall_group

CLOSE_FORBIDDEN = 4403


def _after(query_string: bytes) -> int:
    values = parse_qs(query_string.decode("latin-1")).get("after") or ["0"]
    try:
        return max(int(values[0]), 0)
    except ValueError:
        return 0


def _viewer(user: Any, section_id: int) -> tuple[selectors.HallViewer, frozenset[str]] | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        viewer = selectors.hall_viewer(user, section_id)
    except DomainError:
        return None
    return viewer, selectors.viewer_usccs(viewer)


# A thousand watchers get the same event: serialize it once per distinct view, not per watcher.
# The view depends only on whether the viewer sees everything and which of the bidders named in the
# event are its own (selectors.event_for_viewer).
_TEXTS: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_TEXTS_KEPT = 4096


def _named_usccs(message: dict[str, Any]) -> frozenset[str]:
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return frozenset()
    rows = [payload.get("bid"), *(payload.get("bids") or []), *(payload.get("bidders") or [])]
    return frozenset(r["uscc"] for r in rows if isinstance(r, dict) and isinstance(r.get("uscc"), str))


def _text_for(message: dict[str, Any], viewer: selectors.HallViewer, own: frozenset[str]) -> str:
    key = (viewer.section_id, message["seq"], viewer.sees_everything, own & _named_usccs(message))
    text = _TEXTS.get(key)
    if text is None:
        text = json.dumps(selectors.event_for_viewer(message, viewer, own), ensure_ascii=False)
        _TEXTS[key] = text
        if len(_TEXTS) > _TEXTS_KEPT:
            _TEXTS.popitem(last=False)
    return text


class HallConsumer(AsyncWebsocketConsumer):
    viewer: selectors.HallViewer | None = None
    own: frozenset[str] = frozenset()
    last_seq = 0
    group = ""

    async def connect(self) -> None:
        section_id = int(self.scope["url_route"]["kwargs"]["section_id"])
        found = await database_sync_to_async(_viewer)(self.scope.get("user"), section_id)
        await self.accept()
        if found is None:
            # Accepted first so the refusal carries its code (a refused handshake has none).
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.viewer, self.own = found
        self.last_seq = _after(self.scope.get("query_string", b""))
        self.group = hall_group(section_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self._replay()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Hall events are relayed without the database (a replay opens its own connection), so
        they skip Channels' per-message connection cleanup, a thread hop per watcher per event."""
        if message.get("type") == "hall.event":
            await self.hall_event(message)
            return
        await super().dispatch(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Watchers only listen; everything they do goes through the pages and the API."""
        return None

    async def _replay(self) -> None:
        assert self.viewer is not None
        for message in await database_sync_to_async(selectors.hall_messages)(self.viewer, self.last_seq):
            await self._send(message)

    async def _send(self, message: dict[str, Any], text: str | None = None) -> None:
        if message["seq"] <= self.last_seq:
            return
        self.last_seq = message["seq"]
        await self.send(text_data=text if text is not None else json.dumps(message, ensure_ascii=False))

    async def hall_event(self, event: dict[str, Any]) -> None:
        if self.viewer is None:
            return
        message = event["event"]
        if message["seq"] <= self.last_seq:
            return
        if message["seq"] > self.last_seq + 1:
            await self._replay()  # a gap (commits out of order, a lost message): fill from the record
            return
        await self._send(message, _text_for(message, self.viewer, self.own))
