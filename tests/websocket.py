"""What the WebSocket tests share: a communicator for the real ASGI application with a session
cookie (channels.testing's cannot be imported without daphne), running an async body in a thread
of its own (the browser tests keep an event loop in the main thread), and the channel layer to test
against — in memory, and channels-redis when TENDERHALL_TEST_REDIS_URL is set."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.test import Client

REDIS_URL = os.environ.get("TENDERHALL_TEST_REDIS_URL")
LAYERS = ["memory"] + (["redis"] if REDIS_URL else [])


def layer_config(kind: str, prefix: str) -> dict[str, Any]:
    """CHANNEL_LAYERS for one of LAYERS."""
    if kind == "redis":
        return {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{prefix}-{os.getpid()}"},
            }
        }
    return {"default": {"BACKEND": "tenderhall.core.live.InProcessChannelLayer"}}


class WebsocketCommunicator(ApplicationCommunicator):  # type: ignore[misc]
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

    async def connect(self, timeout: float = 10) -> tuple[bool, Any]:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        return True, response.get("subprotocol")

    async def receive_from(self, timeout: float = 20) -> str:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return str(response["text"])

    async def receive_json(self, timeout: float = 20) -> Any:
        return json.loads(await self.receive_from(timeout))

    async def refused_with(self, timeout: float = 10) -> int:
        """The close code after an accepted handshake (a refusal carries 4403)."""
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.close", response
        await self.wait()
        return int(response.get("code", 1000))

    async def disconnect(self, code: int = 1000, timeout: float = 5) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def connect_to(path: str, cookie: bytes | None) -> WebsocketCommunicator:
    from tenderhall.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


def cookie_for(user: Any) -> bytes | None:
    if user is None:
        return None
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


async def _ended(body: Callable[[], Awaitable[None]]) -> None:
    """The body, then its leftover tasks cancelled; one that will not end (it would keep the
    loop from closing, and the suite hangs) fails the test with its stack."""
    try:
        await body()
    finally:
        me = asyncio.current_task()
        others = {t for t in asyncio.all_tasks() if t is not me and not t.done()}
        for task in others:
            task.cancel()
        stuck: set[asyncio.Task[Any]] = set()
        if others:
            _done, stuck = await asyncio.wait(others, timeout=10)
        if stuck:
            stacks = io.StringIO()
            for task in stuck:
                task.print_stack(file=stacks)
            sys.stderr.write(f"tasks that would not end:\n{stacks.getvalue()}\n")
            raise AssertionError(f"{len(stuck)} task(s) would not end when cancelled (stacks on stderr)")


def run(body: Callable[[], Awaitable[None]]) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(async_to_sync(_ended), body).result()


def db(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    return database_sync_to_async(fn)
