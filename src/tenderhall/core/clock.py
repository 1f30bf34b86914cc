"""The platform's only source of time (DESIGN §3): UTC stored, Asia/Shanghai shown.

Tests move time with ``clock.frozen(at)`` or ``clock.set_now(at)``; production reads the system clock.
Deadlines are enforced by this clock to the second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

UTC = dt.UTC
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

_fixed: dt.datetime | None = None


def now() -> dt.datetime:
    """Aware UTC now, or the time a test fixed."""
    return _fixed if _fixed is not None else dt.datetime.now(UTC)


def today_local() -> dt.date:
    """Today's date in China (statutory periods count calendar days in local time)."""
    return now().astimezone(LOCAL_TZ).date()


def set_now(moment: dt.datetime | None) -> None:
    """Fix the clock at ``moment`` (aware), or release it with ``None``."""
    global _fixed
    if moment is not None and moment.tzinfo is None:
        raise ValueError("clock.set_now needs an aware datetime")
    _fixed = moment.astimezone(UTC) if moment is not None else None


def advance(delta: dt.timedelta) -> dt.datetime:
    """Move a fixed clock forward (fixes it at the real now first if it was running)."""
    set_now(now() + delta)
    return now()


@contextmanager
def frozen(moment: dt.datetime) -> Iterator[None]:
    previous = _fixed
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)
