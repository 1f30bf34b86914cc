"""Request metadata carried to the audit log without threading it through every service call."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    source_ip: str = ""
    user_agent: str = ""


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "tenderhall_request_context",
    default=RequestContext(),  # noqa: B039 (frozen, immutable)
)


def current_request_context() -> RequestContext:
    return _current.get()


@contextmanager
def bind_request_context(context: RequestContext) -> Iterator[None]:
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)
