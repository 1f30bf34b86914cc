"""Helpers for the tests of /ws/extraction/<id>/: the real ASGI application with a session cookie,
driven in a thread of its own (as tests/opening/test_consumers.py does)."""

from __future__ import annotations

from tests.experts.factories import SpecialtyFactory
from tests.websocket import WebsocketCommunicator, connect_to, cookie_for, db, run

__all__ = ["WebsocketCommunicator", "cookie_for", "db", "run", "specialty_tree", "watch"]


def watch(cookie: bytes | None, request_id: int, query: str = "") -> WebsocketCommunicator:
    return connect_to(f"/ws/extraction/{request_id}/" + (f"?{query}" if query else ""), cookie)


def specialty_tree() -> None:
    """A transactional test may run after another one flushed the migrated specialty tree."""
    a01 = SpecialtyFactory(code="A01", name="房建")
    SpecialtyFactory(code="A0101", name="土建", parent=a01)
    c01 = SpecialtyFactory(code="C01", name="经济")
    SpecialtyFactory(code="C0101", name="造价", parent=c01)
