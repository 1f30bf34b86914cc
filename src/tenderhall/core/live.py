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
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

logger = logging.getLogger(__name__)
_server_loop: asyncio.AbstractEventLoop | None = None


def remember_server_loop() -> None:
    """Called by the ASGI entry for each connection (cheap): the loop that serves this process."""
    global _server_loop
    _server_loop = asyncio.get_running_loop()


class _Slot:
    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self._held = False

    async def __aenter__(self) -> _Slot:
        await self._semaphore.acquire()
        self._held = True
        return self

    def release(self) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()

    async def __aexit__(self, *exc: object) -> None:
        self.release()


_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def http_slot() -> _Slot:
    """Admission control: at most TENDERHALL_HTTP_CONCURRENCY requests of this process run their
    view (each in a thread of its own, under one GIL) at a time; the rest wait in the event loop,
    which costs nothing. A thousand bidders unlocking at once otherwise meant a thousand threads
    and database connections, and SQLite readers sleeping in its busy handler for a free WAL read
    mark. The slot is released when the response starts, so a slow download holds none."""
    loop = asyncio.get_running_loop()
    semaphore = _slots.get(loop)
    if semaphore is None:
        for old in [old for old in _slots if old.is_closed()]:
            del _slots[old]
        semaphore = _slots[loop] = asyncio.Semaphore(getattr(settings, "TENDERHALL_HTTP_CONCURRENCY", 8))
    return _Slot(semaphore)


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


# ---- fan-out: one subscription per group and process, delivered in batches ------------------------

Deliver = Callable[[list[dict[str, Any]]], None]


class _Group:
    def __init__(self, name: str, sequence: Callable[[dict[str, Any]], int] | None) -> None:
        self.name = name
        self.sequence = sequence
        self.channel = ""
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.subscribers: dict[Deliver, None] = {}  # by equality: bound methods are made anew
        self.pending: list[dict[str, Any]] = []
        self.next_seq: int | None = None
        self.gap_since: float | None = None
        self.last_flush = 0.0
        self.reader: asyncio.Task[None] | None = None
        self.flusher: asyncio.Task[None] | None = None
        self.closed = False


class Fanout:
    """A live page's watchers share one channel-layer subscription per group in each process.

    With a channel per watcher, a thousand watchers make every event a thousand layer messages
    (and, with Redis, a thousand network reads) and a thousand frames. Here the process reads
    each event once and hands its local watchers a *batch*: everything that arrived since the last
    delivery, at most one delivery per ``gap`` seconds (the first after a quiet spell after
    ``first`` seconds). A watcher then sends one frame per batch. The gap is 0.2 s (five frames a
    second per watcher at most) and grows with the watchers in the process — ``per_watcher`` each,
    up to ``gap_max`` — so a thousand watchers cost the process a few thousand frames a second,
    not five thousand, during a burst of events.

    With ``sequence`` (the event's number), a batch is sorted, duplicates dropped, and a batch
    that starts past the next expected number waits up to ``hold`` seconds for the missing one —
    commits on different threads can reach the layer out of order; watchers that still see a gap
    replay it from the database themselves."""

    first = 0.01
    gap = 0.2
    per_watcher = 0.0004
    gap_max = 0.4
    hold = 1.0

    def __init__(self) -> None:
        self._groups: dict[str, _Group] = {}

    async def join(
        self, group: str, deliver: Deliver, *, sequence: Callable[[dict[str, Any]], int] | None = None
    ) -> None:
        """Live once this returns: a message sent to ``group`` afterwards reaches ``deliver``."""
        entry = self._groups.get(group)
        if entry is None:
            entry = self._groups[group] = _Group(group, sequence)
            entry.subscribers[deliver] = None
            try:
                layer = get_channel_layer()
                assert layer is not None
                entry.channel = await layer.new_channel()
                await layer.group_add(group, entry.channel)
                entry.reader = asyncio.get_running_loop().create_task(self._read(entry, layer))
            except BaseException as exc:
                if self._groups.get(group) is entry:
                    del self._groups[group]
                entry.ready.set_exception(exc)
                entry.ready.exception()  # retrieved: the joiners waiting get it raised
                raise
            entry.ready.set_result(None)
            return
        entry.subscribers[deliver] = None
        await asyncio.shield(entry.ready)

    async def leave(self, group: str, deliver: Deliver) -> None:
        entry = self._groups.get(group)
        if entry is None:
            return
        entry.subscribers.pop(deliver, None)
        if entry.subscribers or not entry.ready.done() or entry.ready.exception() is not None:
            return
        del self._groups[group]
        entry.closed = True
        for task in (entry.reader, entry.flusher):
            if task is not None:
                task.cancel()
        layer = get_channel_layer()
        if layer is not None:
            await layer.group_discard(group, entry.channel)

    async def _read(self, entry: _Group, layer: Any) -> None:
        loop = asyncio.get_running_loop()
        while not entry.closed:
            try:
                message = await layer.receive(entry.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # a dropped Redis connection: watchers replay what they miss
                # channels-redis can turn a cancellation into another error (it re-raises what
                # one of its helper tasks ended with): a reader told to stop must stop, or it
                # polls Redis for ever and the loop cannot shut down.
                task = asyncio.current_task()
                if entry.closed or (task is not None and task.cancelling()):
                    raise asyncio.CancelledError from None
                logger.warning("live group %s: receive failed", entry.name, exc_info=True)
                await asyncio.sleep(0.5)
                continue
            entry.pending.append(message)
            if entry.flusher is None:
                entry.flusher = loop.create_task(self._flush_later(entry))

    def gap_for(self, watchers: int) -> float:
        """Seconds between two deliveries to ``watchers`` local watchers."""
        return min(max(self.gap, watchers * self.per_watcher), self.gap_max)

    async def _flush_later(self, entry: _Group) -> None:
        now = time.monotonic()
        await asyncio.sleep(max(self.first, entry.last_flush + self.gap_for(len(entry.subscribers)) - now))
        while True:
            batch, wait = self._take(entry)
            if batch:
                entry.last_flush = time.monotonic()
                for deliver in list(entry.subscribers):
                    try:
                        deliver(batch)
                    except Exception:
                        logger.warning("live group %s: a watcher failed", entry.name, exc_info=True)
            if wait is None:
                entry.flusher = None
                return
            await asyncio.sleep(wait)

    def _take(self, entry: _Group) -> tuple[list[dict[str, Any]], float | None]:
        """The batch to deliver now, and how long to wait before looking again (None: until the
        next message)."""
        pending, entry.pending = entry.pending, []
        if entry.sequence is None:
            return pending, None
        seq = entry.sequence
        pending.sort(key=seq)
        expected = entry.next_seq
        batch: list[dict[str, Any]] = []
        for i, message in enumerate(pending):
            n = seq(message)
            if expected is not None and n < expected:
                continue  # sent twice
            if expected is not None and n > expected:
                now = time.monotonic()
                if entry.gap_since is None:
                    entry.gap_since = now
                if now - entry.gap_since < self.hold:
                    entry.pending = pending[i:]
                    return batch, self.gap
            entry.gap_since = None
            batch.append(message)
            expected = n + 1
        entry.next_seq = expected
        return batch, None


_fanouts: dict[asyncio.AbstractEventLoop, Fanout] = {}


def fanout() -> Fanout:
    """This event loop's fan-out (one per server process; tests run several loops, one after
    another: the closed ones' are dropped)."""
    loop = asyncio.get_running_loop()
    found = _fanouts.get(loop)
    if found is None:
        for old in [old for old in _fanouts if old.is_closed()]:
            del _fanouts[old]
        found = _fanouts[loop] = Fanout()
    return found
