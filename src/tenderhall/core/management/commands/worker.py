"""`tenderhall worker`: runs background tasks (django-tasks database backend) and the periodic
ticks: the statutory moments happen by the server clock whether or not anyone is watching (the
opening starts at the bid deadline; an expert call not answered in time goes to the next reserve)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def run_ticks(ticks: list[Callable[[], object]]) -> None:
    """Each tick is idempotent; one failing does not stop the others."""
    for tick in ticks:
        try:
            tick()
        except Exception:
            logger.exception("periodic tick %s failed", getattr(tick, "__name__", tick))


def _tick_round(ticks: list[Callable[[], object]]) -> None:
    close_old_connections()  # a long-lived thread: drop a connection the server closed meanwhile
    try:
        run_ticks(ticks)
    finally:
        close_old_connections()


class Command(BaseCommand):
    help = "Run queued background tasks and the periodic ticks (opening, expert replies, upload cleanup)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--batch", action="store_true", help="run what is queued and one round of ticks, then exit"
        )
        parser.add_argument(
            "--tick-seconds", type=float, default=15.0, help="how often the periodic ticks run (0: never)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ticks = [import_string(path) for path in settings.TENDERHALL_PERIODIC_TICKS]
        if options["batch"]:
            _tick_round(ticks)
            call_command("db_worker", batch=True, interval=1.0)
            return
        stop = threading.Event()
        if options["tick_seconds"] > 0 and ticks:

            def ticker() -> None:
                while not stop.wait(options["tick_seconds"]):
                    _tick_round(ticks)

            threading.Thread(target=ticker, name="ticks", daemon=True).start()
        try:
            call_command("db_worker", batch=False, interval=1.0)
        finally:
            stop.set()
