"""The hall's live transport (issue item 9): a WebSocket per watcher at ``/ws/hall/<section>/?after=SEQ``.

Every frame is a JSON array of events in ``seq`` order. On connect the watcher gets every event
after ``after`` (the replay), then the new events as their services commit, batched by the
process's fan-out (core.live.Fanout: one layer subscription per hall and process). A client that
reconnects with the last ``seq`` it saw gets exactly what it missed: the consumer joins before the
replay and drops what it already sent, and if a batch skips a number it replays the gap from the
database."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from tenderhall.core import live
from tenderhall.core.errors import DomainError
from tenderhall.opening import selectors
from tenderhall.opening.services import hall_group

CLOSE_FORBIDDEN = 4403
logger = logging.getLogger(__name__)


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


_NAMED: OrderedDict[tuple[int, int], frozenset[str]] = OrderedDict()


def _named(section_id: int, message: dict[str, Any]) -> frozenset[str]:
    key = (section_id, message["seq"])
    named = _NAMED.get(key)
    if named is None:
        named = _NAMED[key] = _named_usccs(message)
        if len(_NAMED) > _TEXTS_KEPT:
            _NAMED.popitem(last=False)
    return named


def _text_for(message: dict[str, Any], viewer: selectors.HallViewer, own: frozenset[str]) -> str:
    named = _named(viewer.section_id, message)
    key = (viewer.section_id, message["seq"], viewer.sees_everything, own & named)
    text = _TEXTS.get(key)
    if text is None:
        text = json.dumps(selectors.event_for_viewer(message, viewer, own), ensure_ascii=False)
        _TEXTS[key] = text
        if len(_TEXTS) > _TEXTS_KEPT:
            _TEXTS.popitem(last=False)
    return text


def _seq(message: dict[str, Any]) -> int:
    return int(message["event"]["seq"])


class HallConsumer(AsyncWebsocketConsumer):
    """Frames are JSON arrays of events in ``seq`` order (the replay, then one frame per batch the
    process's fan-out hands over: core.live.Fanout). One task sends them all, so frames never
    interleave and a slow watcher delays only itself."""

    viewer: selectors.HallViewer | None = None
    own: frozenset[str] = frozenset()
    last_seq = 0
    group = ""
    _pump: asyncio.Task[None] | None = None

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
        self._inbox: list[list[dict[str, Any]]] = []
        self._wake = asyncio.Event()
        # Joined before the replay is read: an event committed meanwhile comes either way, once.
        await live.fanout().join(self.group, self._deliver, sequence=_seq)
        self._pump = asyncio.get_running_loop().create_task(self._send_all())

    async def disconnect(self, code: int) -> None:
        if self._pump is not None:
            # Wait for it: a pump cancelled inside a database call (thread-sensitive) must finish
            # while the caller's thread still serves such calls, or the loop cannot shut down.
            self._pump.cancel()
            await asyncio.wait({self._pump})
        if self.group:
            await live.fanout().leave(self.group, self._deliver)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Watchers only listen; everything they do goes through the pages and the API."""
        return None

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        self._inbox.append(batch)  # the batch itself, shared by every watcher: no copy per watcher
        self._wake.set()

    async def _send_all(self) -> None:
        try:
            await self._replay()
            while True:
                await self._wake.wait()
                self._wake.clear()
                batches, self._inbox = self._inbox, []
                await self._send_batch([m["event"] for batch in batches for m in batch])
        except asyncio.CancelledError:
            raise
        except Exception:  # the client left mid-send; Channels calls disconnect
            logger.debug("hall watcher stopped", exc_info=True)

    async def _replay(self) -> None:
        assert self.viewer is not None
        messages = await database_sync_to_async(selectors.hall_messages)(self.viewer, self.last_seq)
        if messages:
            self.last_seq = messages[-1]["seq"]
            await self.send(text_data=json.dumps(messages, ensure_ascii=False))

    async def _send_batch(self, inbox: list[dict[str, Any]]) -> None:
        assert self.viewer is not None
        fresh = [m for m in inbox if m["seq"] > self.last_seq]
        if not fresh:
            return
        expected = self.last_seq + 1
        for message in fresh:
            if message["seq"] != expected:
                # A gap (a lost message, or commits that reached the layer out of order beyond
                # the fan-out's hold): fill it from the record.
                await self._replay()
                return
            expected += 1
        self.last_seq = fresh[-1]["seq"]
        texts = [_text_for(m, self.viewer, self.own) for m in fresh]
        await self.send(text_data="[" + ",".join(texts) + "]")
