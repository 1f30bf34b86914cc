"""Helpers for the tests of /ws/extraction/<id>/: the real ASGI application with a session cookie,
driven in a thread of its own (as tests/opening/test_consumers.py does)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.test import Client

from tenderhall.accounts.models import User
from tests.experts.factories import SpecialtyFactory


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

    async def connect(self, timeout: float = 10) -> tuple[bool, Any]:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        return True, response.get("subprotocol")

    async def receive_json(self, timeout: float = 20) -> dict[str, Any]:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        message: dict[str, Any] = json.loads(response["text"])
        return message

    async def refused_with(self, timeout: float = 10) -> int:
        """The close code after an accepted handshake (a refusal carries 4403)."""
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.close", response
        await self.wait()
        return int(response.get("code", 1000))

    async def disconnect(self, code: int = 1000, timeout: float = 5) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def cookie_for(user: User | None) -> bytes | None:
    if user is None:
        return None
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


def watch(cookie: bytes | None, request_id: int, query: str = "") -> WebsocketCommunicator:
    from tenderhall.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    path = f"/ws/extraction/{request_id}/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


def run(body: Callable[[], Awaitable[None]]) -> None:
    """Run the async body in a thread of its own (Playwright may hold an event loop in this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(async_to_sync(body)).result()


def db(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    return database_sync_to_async(fn)


def specialty_tree() -> None:
    """A transactional test may run after another one flushed the migrated specialty tree."""
    a01 = SpecialtyFactory(code="A01", name="房建")
    SpecialtyFactory(code="A0101", name="土建", parent=a01)
    c01 = SpecialtyFactory(code="C01", name="经济")
    SpecialtyFactory(code="C0101", name="造价", parent=c01)
