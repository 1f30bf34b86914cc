"""Sending to live pages (Channels groups) from any thread.

A service publishes after its commit, on whatever thread it ran: a request thread of the ASGI
server, a decryption thread, the worker. ``async_to_sync`` from a thread that is not the server's
makes a new event loop per call — and, with channels-redis, a new connection pool per loop, which
exhausts Redis under load. So the ASGI entry remembers the server's loop and sends are handed to it
(without waiting: the request does not pay for the fan-out); with no server loop (commands, tests)
the send runs in place."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)
_server_loop: asyncio.AbstractEventLoop | None = None


def remember_server_loop() -> None:
    """Called by the ASGI entry for each connection (cheap): the loop that serves this process."""
    global _server_loop
    _server_loop = asyncio.get_running_loop()


def _logged(future: Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("live message not sent", exc_info=future.exception())


def group_send(group: str, message: dict[str, Any]) -> None:
    """Best effort: pages recover what they missed from the database."""
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _server_loop
    if loop is not None and loop.is_running() and not loop.is_closed():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:
            asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop).add_done_callback(
                _logged
            )
            return
    async_to_sync(layer.group_send)(group, message)


class InProcessChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer (embedded profile), with its expiry sweep at most once a second.

    The stock layer sweeps every channel on every send and receive, which is quadratic in the
    number of watchers: with a thousand watching a hall the sweep alone took a core. Expiry needs
    no more precision than a second."""

    _swept_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept_at < 1.0:
            return
        self._swept_at = now
        super()._clean_expired()
