"""`tenderhall worker` runs the periodic ticks: every configured tick imports, and one failing tick
does not stop the others."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from tenderhall.core.management.commands.worker import run_ticks


def test_every_configured_tick_imports_and_is_callable() -> None:
    ticks = [import_string(path) for path in settings.TENDERHALL_PERIODIC_TICKS]
    assert ticks and all(callable(t) for t in ticks)
    assert "tenderhall.opening.services.opening_tick" in settings.TENDERHALL_PERIODIC_TICKS


@pytest.mark.django_db
def test_a_failing_tick_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("boom")

    def fine() -> None:
        ran.append("fine")

    run_ticks([broken, fine])
    assert ran == ["broken", "fine"]
    assert "periodic tick broken failed" in caplog.text
