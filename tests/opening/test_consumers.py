"""The hall's WebSocket (/ws/hall/<section>/?after=SEQ) through the real ASGI application with a
session cookie: the replay after a reconnect is exactly what was missed, non-watchers are refused
with 4403, and another bidder's failure reasons never reach a bidder. With the in-memory layer, and
again with channels-redis when TENDERHALL_TEST_REDIS_URL is set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tenderhall.accounts.models import Role, User
from tenderhall.core.errors import DomainError
from tenderhall.opening import services
from tenderhall.opening.models import HallEvent
from tests.factories import UserFactory
from tests.opening.conftest import Hall
from tests.websocket import LAYERS, WebsocketCommunicator, connect_to, cookie_for, db, layer_config, run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=LAYERS)
def layer(request: Any, settings: Any) -> Iterator[str]:
    settings.CHANNEL_LAYERS = layer_config(request.param, "th-test")
    yield request.param


def _cookie(user: User) -> bytes:
    cookie = cookie_for(user)
    assert cookie is not None
    return cookie


def connect(cookie: bytes | None, section_id: int, after: int = 0) -> WebsocketCommunicator:
    return connect_to(f"/ws/hall/{section_id}/?after={after}", cookie)


async def receive_n(ws: WebsocketCommunicator, n: int) -> list[dict[str, Any]]:
    """Exactly n events (generous timeout: a loaded CI machine is slow), then nothing more. Each
    frame is a JSON array of events in seq order."""
    out: list[dict[str, Any]] = []
    while len(out) < n:
        frame = json.loads(await ws.receive_from(timeout=20))
        assert isinstance(frame, list) and frame, frame
        out.extend(frame)
    assert len(out) == n, [m["seq"] for m in out]
    assert await ws.receive_nothing(timeout=0.3)
    return out


def _seqs(section_id: int, after: int = 0) -> list[int]:
    return list(
        HallEvent.objects.filter(section_id=section_id, seq__gt=after)
        .order_by("seq")
        .values_list("seq", flat=True)
    )


def test_a_reconnecting_client_gets_exactly_what_it_missed(hall: Hall, layer: str) -> None:
    sid = hall.section.pk
    b0, b1, b2 = hall.bidders
    cookie = _cookie(b0.user)
    seen: list[int] = []

    async def body() -> None:
        ws = connect(cookie, sid)
        connected, _ = await ws.connect()
        assert connected
        expected = await db(_seqs)(sid)
        replay = await receive_n(ws, len(expected))
        assert [m["seq"] for m in replay] == expected
        assert replay[0]["kind"] == "opening_started" and set(replay[0]) == {"seq", "kind", "payload", "at"}
        seen.extend(m["seq"] for m in replay)
        # live: an event committed while connected arrives once
        await db(services.decryption_window_open)(acting_user=hall.host, section=hall.section, minutes=30)
        live = await receive_n(ws, 1)
        assert [m["kind"] for m in live] == ["decryption_opened"]
        assert live[0]["payload"]["session"]["status"] == "decrypting"
        seen.extend(m["seq"] for m in live)
        await ws.disconnect()

        # dropped: two bidders unlock meanwhile
        await db(services.bid_unlock)(acting_user=b1.user, section=hall.section, file_key=b1.file_key)
        await db(services.bid_unlock)(acting_user=b2.user, section=hall.section, file_key=b2.file_key)
        missed = await db(_seqs)(sid, seen[-1])
        assert len(missed) == 4

        ws = connect(cookie, sid, after=seen[-1])
        connected, _ = await ws.connect()
        assert connected
        again = await receive_n(ws, len(missed))
        assert [m["seq"] for m in again] == missed
        # each unlock: the key is accepted ("queued", decrypting), then the outcome
        assert [m["payload"]["bid"]["status"] for m in again] == ["queued", "decrypted"] * 2
        await db(services.bid_unlock)(acting_user=b0.user, section=hall.section, file_key=b0.file_key)
        after = await receive_n(ws, 2)
        assert [m["seq"] for m in after] == [missed[-1] + 1, missed[-1] + 2]
        await ws.disconnect()

    run(body)


def test_non_watchers_are_refused_with_4403(hall: Hall, layer: str) -> None:
    sid = hall.section.pk
    outsider = UserFactory(role=Role.BIDDER)  # did not obtain the documents
    rival = hall.world.rival_agent  # another project's agent

    async def body() -> None:
        for cookie in (None, await db(_cookie)(outsider), await db(_cookie)(rival)):
            ws = connect(cookie, sid)
            connected, _ = await ws.connect()
            assert connected
            closed = await ws.receive_output(timeout=2)
            assert closed == {"type": "websocket.close", "code": 4403}
            await ws.wait()
        ws = connect(await db(_cookie)(hall.world.supervisor), sid)
        connected, _ = await ws.connect()
        assert connected and json.loads(await ws.receive_from(timeout=20))[0]["kind"] == "opening_started"
        await ws.disconnect()

    run(body)


def test_another_bidders_failure_reason_never_reaches_a_bidder(decrypting: Hall, layer: str) -> None:
    hall = decrypting
    sid = hall.section.pk
    b0, b1, _ = hall.bidders
    cookies = {
        "own": _cookie(b0.user),
        "other": _cookie(b1.user),
        "host": _cookie(hall.host),
        "supervisor": _cookie(hall.world.supervisor),
    }
    start = HallEvent.objects.filter(section=hall.section).order_by("-seq").first().seq  # type: ignore[union-attr]

    async def body() -> None:
        sockets = {}
        for who, cookie in cookies.items():
            sockets[who] = connect(cookie, sid, after=start)
            assert (await sockets[who].connect())[0]
        await db(services.bid_unlock)(acting_user=b0.user, section=hall.section, file_key=b"\0" * 16)
        got = {who: await receive_n(ws, 2) for who, ws in sockets.items()}
        for who in ("own", "host", "supervisor"):
            queued, event = got[who]
            assert queued["payload"]["bid"]["status"] == "queued"
            assert event["payload"]["bid"]["reason_code"] == "file_key_wrong", who
        _queued, event = got["other"]
        bid = event["payload"]["bid"]
        assert bid["status"] == "failed" and bid["uscc"] == b0.user.organization.uscc
        assert not {"reason_code", "reason_zh", "reason_en"} & set(bid)
        # the replay filters the same way
        ws = connect(cookies["other"], sid, after=start)
        assert (await ws.connect())[0]
        _queued, replayed = await receive_n(ws, 2)
        assert "reason_code" not in replayed["payload"]["bid"]
        for socket in [*sockets.values(), ws]:
            await socket.disconnect()

    run(body)


def test_an_event_rolled_back_is_never_published(hall: Hall, layer: str) -> None:
    sid = hall.section.pk
    cookie = _cookie(hall.world.supervisor)
    last = _seqs(sid)[-1]

    def refused() -> None:
        with pytest.raises(DomainError) as info:
            services.decryption_window_open(acting_user=hall.host, section=hall.section, minutes=0)
        assert info.value.code == "decryption_minutes_invalid"

    async def body() -> None:
        ws = connect(cookie, sid, after=last)
        assert (await ws.connect())[0]
        await db(refused)()
        assert await ws.receive_nothing(timeout=0.5)
        await ws.disconnect()

    run(body)
