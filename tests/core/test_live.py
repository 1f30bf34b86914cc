"""core.live.Fanout: one layer subscription per group and process, batched delivery, ordering by
sequence with a bounded hold, and leaving. With the in-memory layer, and again with channels-redis
when TENDERHALL_TEST_REDIS_URL is set."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from channels.layers import channel_layers, get_channel_layer

from tenderhall.core import live
from tests.websocket import LAYERS, layer_config


@pytest.fixture(params=LAYERS)
def layer(request: Any, settings: Any) -> Iterator[str]:
    settings.CHANNEL_LAYERS = layer_config(request.param, "th-live")
    channel_layers.backends.clear()
    yield request.param
    channel_layers.backends.clear()


def _run(body: Any) -> None:
    """In a thread of its own: the browser tests keep an event loop running in the main thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, body()).result()


def _seq(message: dict[str, Any]) -> int:
    return int(message["n"])


class Watcher:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.got = asyncio.Event()

    def deliver(self, batch: list[dict[str, Any]]) -> None:
        self.batches.append([m["n"] for m in batch])
        self.got.set()

    @property
    def seen(self) -> list[int]:
        return [n for batch in self.batches for n in batch]


async def _until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_many_watchers_share_one_subscription_and_get_bursts_in_few_batches(layer: str) -> None:
    async def body() -> None:
        fan = live.Fanout()
        watchers = [Watcher() for _ in range(50)]
        for w in watchers:
            await fan.join("g.one", w.deliver, sequence=_seq)
        channels_layer = get_channel_layer()
        if layer == "memory":
            assert len(channels_layer.groups["g.one"]) == 1  # one channel for 50 watchers
        for n in range(1, 201):
            await channels_layer.group_send("g.one", {"type": "x", "n": n})
        await _until(lambda: all(len(w.seen) == 200 for w in watchers))
        for w in watchers:
            assert w.seen == list(range(1, 201))
            assert len(w.batches) < 50  # batched, not one delivery per message
        for w in watchers:
            await fan.leave("g.one", w.deliver)
        if layer == "memory":
            assert not channels_layer.groups.get("g.one")

    _run(body)


def test_out_of_order_messages_are_delivered_in_order_and_duplicates_once(layer: str) -> None:
    async def body() -> None:
        fan = live.Fanout()
        w = Watcher()
        await fan.join("g.order", w.deliver, sequence=_seq)
        layer_ = get_channel_layer()
        await layer_.group_send("g.order", {"type": "x", "n": 1})
        await _until(lambda: w.seen == [1])
        # 3 reaches the layer before 2 (two commits' on-commit sends raced): held, then in order
        await layer_.group_send("g.order", {"type": "x", "n": 3})
        await asyncio.sleep(0.3)
        assert w.seen == [1]
        await layer_.group_send("g.order", {"type": "x", "n": 2})
        await layer_.group_send("g.order", {"type": "x", "n": 2})
        await _until(lambda: len(w.seen) >= 3)
        await asyncio.sleep(0.3)
        assert w.seen == [1, 2, 3]
        await fan.leave("g.order", w.deliver)

    _run(body)


def test_a_gap_is_held_only_so_long_then_delivered_for_the_watcher_to_replay(layer: str) -> None:
    async def body() -> None:
        fan = live.Fanout()
        fan.hold = 0.3
        w = Watcher()
        await fan.join("g.gap", w.deliver, sequence=_seq)
        layer_ = get_channel_layer()
        await layer_.group_send("g.gap", {"type": "x", "n": 1})
        await _until(lambda: w.seen == [1])
        await layer_.group_send("g.gap", {"type": "x", "n": 3})  # 2 is lost
        await _until(lambda: w.seen == [1, 3], timeout=5)
        await layer_.group_send("g.gap", {"type": "x", "n": 4})
        await _until(lambda: w.seen == [1, 3, 4])
        await fan.leave("g.gap", w.deliver)

    _run(body)


def test_a_watcher_that_joins_later_gets_what_is_sent_after_its_join(layer: str) -> None:
    async def body() -> None:
        fan = live.Fanout()
        early, late = Watcher(), Watcher()
        await fan.join("g.late", early.deliver)
        layer_ = get_channel_layer()
        await layer_.group_send("g.late", {"type": "x", "n": 1})
        await _until(lambda: early.seen == [1])
        await fan.join("g.late", late.deliver)
        await layer_.group_send("g.late", {"type": "x", "n": 2})
        await _until(lambda: early.seen == [1, 2] and late.seen == [2])
        await fan.leave("g.late", early.deliver)
        await layer_.group_send("g.late", {"type": "x", "n": 3})
        await _until(lambda: late.seen == [2, 3])
        assert early.seen == [1, 2]
        await fan.leave("g.late", late.deliver)

    _run(body)


def test_http_requests_past_the_limit_wait_and_a_slot_frees_when_the_response_starts(
    settings: Any, monkeypatch: Any
) -> None:
    import tenderhall.asgi as entry

    settings.TENDERHALL_HTTP_CONCURRENCY = 2
    state = {"running": 0, "peak": 0, "started": 0}

    async def body() -> None:
        slow_body = asyncio.Event()

        async def view(scope: Any, receive: Any, send: Any) -> None:
            state["running"] += 1
            state["peak"] = max(state["peak"], state["running"])
            await asyncio.sleep(0.05)  # the view's work
            state["running"] -= 1
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await slow_body.wait()  # a slow download: holds no slot
            await send({"type": "http.response.body", "body": b""})

        monkeypatch.setattr(entry, "router", view)
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.start":
                state["started"] += 1

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        requests = [asyncio.create_task(entry.application({"type": "http"}, receive, send)) for _ in range(6)]
        await _until(lambda: state["started"] == 6)  # all six started while two bodies hang
        assert state["peak"] == 2
        slow_body.set()
        await asyncio.gather(*requests)
        assert len(sent) == 12

    _run(body)


class _ErrorOnCancelLayer:
    """A layer whose receive, when cancelled, raises another error instead (as channels-redis
    does when a helper task it cancels had already failed)."""

    def __init__(self) -> None:
        self.receives = 0

    async def new_channel(self) -> str:
        return "specific.test!one"

    async def group_add(self, group: str, channel: str) -> None:
        return None

    async def group_discard(self, group: str, channel: str) -> None:
        return None

    async def receive(self, channel: str) -> dict[str, Any]:
        self.receives += 1
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("helper task failed") from None
        raise AssertionError("unreachable")


def test_a_reader_stops_when_told_even_if_the_layer_turns_its_cancellation_into_an_error(
    monkeypatch: Any,
) -> None:
    fake = _ErrorOnCancelLayer()
    monkeypatch.setattr(live, "get_channel_layer", lambda: fake)

    async def body() -> None:
        fan = live.Fanout()
        watcher = Watcher()
        await fan.join("g.stop", watcher.deliver)
        await _until(lambda: fake.receives == 1)
        reader = fan._groups["g.stop"].reader
        assert reader is not None
        await fan.leave("g.stop", watcher.deliver)
        done, _pending = await asyncio.wait({reader}, timeout=5)
        assert reader in done and reader.cancelled()  # not retrying the receive for ever
        assert fake.receives == 1

    _run(body)


def test_the_delivery_gap_grows_with_the_watchers_of_the_process_up_to_a_bound() -> None:
    fan = live.Fanout()
    assert fan.gap_for(1) == fan.gap_for(100) == live.Fanout.gap == 0.2
    assert fan.gap_for(750) == pytest.approx(0.3)
    assert fan.gap_for(1000) == fan.gap_for(100_000) == fan.gap_max
