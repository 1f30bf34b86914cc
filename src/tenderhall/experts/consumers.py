"""Watching an extraction request live: a WebSocket per watcher at
``/ws/extraction/<request>/?have=<version>&lang=<language>`` (docs/extraction.md, "Watching live").

Who may connect is who may open the request page (``selectors.extraction.extraction_for_user``);
anybody else — anonymous users, experts, bidders before the decision, other centres — is refused
with close code 4403. Group messages carry only "request N changed"; on each, the consumer reads
the request **as its own user may see it** (the page's per-role view: names for the centre's staff
and supervisors, counts and confirmation states for the tender parties until the evaluation
starts, ...) and sends ``{"kind": "state", "version", "data", "html"}`` — ``data`` in the shape of
``GET /api/v1/extractions/{id}`` plus the commitments, ``html`` the page's live fragment — or
nothing when what this user sees did not change. ``have`` is the version the page was rendered
with: if nothing changed since, the first frame is ``{"kind": "unchanged"}``.

A connection is one viewing of the expert list: it is logged once (``experts.extraction.list_viewed``,
``via: live``), when it first delivers names, never per push."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError
from django.template.loader import render_to_string
from django.utils import translation

from tenderhall.core.errors import DomainError
from tenderhall.experts.live import CHANGED, extraction_group
from tenderhall.experts.selectors import extraction as selectors
from tenderhall.experts.selectors import live as live_selectors
from tenderhall.experts.services.extraction import commitment_event
from tenderhall.experts.services.watch import extraction_watch_log

CLOSE_FORBIDDEN = 4403
CLOSE_SERVER_ERROR = 1011  # the page reconnects
logger = logging.getLogger(__name__)


def _query(scope: dict[str, Any]) -> dict[str, str]:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return {key: items[0] for key, items in values.items() if items}


def _language(value: str) -> str:
    known = {code for code, _name in settings.LANGUAGES}
    return value if value in known else settings.LANGUAGE_CODE


def _may_watch(user: Any, request_id: int) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    try:
        selectors.extraction_for_user(user, request_id)
    except DomainError:
        return False
    return True


@dataclass
class Frame:
    text: str | None  # None: nothing new for this user
    version: str
    logged: bool


def _frame(user: Any, request_id: int, *, have: str, language: str, logged: bool) -> Frame | None:
    """The next frame for this watcher, or None when the user may no longer see the request.
    Logs the viewing when this frame is the connection's first to carry names."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        request = selectors.extraction_for_user(user, request_id)
    except DomainError:
        return None
    view = selectors.extraction_view(user, request, log_view=False)
    commitment = commitment_event(request)
    data = live_selectors.page_data(
        user, request, view, log_index=commitment["index"] if commitment else None
    )
    version = live_selectors.data_version(data)
    if version == have:
        return Frame(text=None, version=version, logged=logged)
    shown = sum(len(d.experts) for d in view.demands) if view.identities else 0
    if shown and not logged:
        extraction_watch_log(acting_user=user, request=request, experts_shown=shown)
        logged = True
    with translation.override(language):
        html = render_to_string("experts/_extraction_live.html", {"x": request, "view": view, "data": data})
    text = json.dumps(
        {
            "kind": "state",
            "version": version,
            "data": json.loads(live_selectors.data_json(data)),
            "html": html,
        },
        ensure_ascii=False,
    )
    return Frame(text=text, version=version, logged=logged)


class ExtractionConsumer(AsyncWebsocketConsumer):
    request_id = 0
    group = ""
    version = ""
    language = ""
    logged = False

    async def connect(self) -> None:
        self.request_id = int(self.scope["url_route"]["kwargs"]["request_id"])
        query = _query(self.scope)
        self.language = _language(query.get("lang", ""))
        user = self.scope.get("user")
        allowed = await database_sync_to_async(_may_watch)(user, self.request_id)
        await self.accept()
        if not allowed:
            # Accepted first so the refusal carries its code (a refused handshake has none).
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Join before reading, so a change committed meanwhile is pushed, not lost.
        self.group = extraction_group(self.request_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.version = query.get("have", "")[:64]
        if not await self._push():
            return
        if self.version == query.get("have"):
            await self.send(text_data=json.dumps({"kind": "unchanged", "version": self.version}))

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = ""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Watchers only listen; every action goes through the pages and the API."""
        return None

    async def extraction_changed(self, event: dict[str, Any]) -> None:
        if event.get("type") == CHANGED and self.group:
            await self._push()

    async def _leave(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = ""
        await self.close(code=code)

    async def _push(self) -> bool:
        """Send what this user now sees, if it changed; False (and closed) when access is gone."""
        try:
            frame = await database_sync_to_async(_frame)(
                self.scope.get("user"),
                self.request_id,
                have=self.version,
                language=self.language,
                logged=self.logged,
            )
        except DatabaseError:
            # Nothing was sent (a view is logged before its names go out): the page reconnects
            # with the version it has and gets the current state then.
            logger.warning("extraction %s: live read failed", self.request_id, exc_info=True)
            await self._leave(CLOSE_SERVER_ERROR)
            return False
        if frame is None:
            await self._leave(CLOSE_FORBIDDEN)
            return False
        self.logged = frame.logged
        if frame.text is not None:
            self.version = frame.version
            await self.send(text_data=frame.text)
        return True
