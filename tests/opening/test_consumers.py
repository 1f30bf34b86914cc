"""The hall's WebSocket (/ws/hall/<section>/?after=SEQ) through the real ASGI application with a
session cookie: the replay after a reconnect is exactly what was missed, non-watchers are refused
with 4403, and another bidder's failure reasons never reach a bidder. With the in-memory layer, and
again with channels-redis when TENDERHALL_TEST_REDIS_URL is set."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.test import Client

from tenderhall.accounts.models import Role, User
from tenderhall.core.errors import DomainError
from tenderhall.opening import services
from tenderhall.opening.models import HallEvent
from tests.factories import UserFactory
from tests.opening.conftest import Hall

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.environ.get("TENDERHALL_TEST_REDIS_URL")
LAYERS = ["memory"] + (["redis"] if REDIS_URL else [])


@pytest.fixture(params=LAYERS)
def layer(request: Any, settings: Any) -> Iterator[str]:
    if request.param == "redis":
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": f"th-test-{os.getpid()}"},
            }
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    yield request.param


class WebsocketCommunicator(ApplicationCommunicator):  # type: ignore[misc]
    """channels.testing's communicator, which cannot be imported without daphne installed."""

    def __init__(self, application: Any, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        url_path, _, query = path.partition("?")
        scope = {
            "type": "websocket",
            "path": url_path,
            "raw_path": url_path.encode(),
            "query_string": query.encode(),
            "headers": headers,
            "subprotocols": [],
        }
        super().__init__(application, scope)

    async def connect(self, timeout: float = 2) -> tuple[bool, Any]:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        return True, response.get("subprotocol")

    async def receive_from(self, timeout: float = 2) -> str:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return str(response["text"])

    async def disconnect(self, code: int = 1000, timeout: float = 2) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def _cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}".encode()


def connect(cookie: bytes | None, section_id: int, after: int = 0) -> WebsocketCommunicator:
    from tenderhall.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, f"/ws/hall/{section_id}/?after={after}", headers=headers)


def run(body: Callable[[], Awaitable[None]]) -> None:
    """Run the async body in a thread of its own: the browser tests' Playwright keeps an event loop
    in the main thread for the whole session, and async_to_sync refuses to run inside one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(async_to_sync(body)).result()


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


def db(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    return database_sync_to_async(fn)


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
