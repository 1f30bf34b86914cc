"""`tenderhall opening tick`: start the opening of every section whose bid deadline has passed.

    tenderhall opening tick [--enqueue]

Safe to run at any time (idempotent), e.g. every minute from cron or the worker's schedule."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Opening maintenance: `tick` starts the opening of every section whose deadline has passed."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", metavar="ACTION")
        tick = sub.add_parser("tick", help="start the opening of every section whose deadline has passed")
        tick.add_argument("--enqueue", action="store_true", help="run it in the task worker instead")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("action") != "tick":
            raise CommandError("say what to do: `tenderhall opening tick`")
        if options["enqueue"]:
            from tenderhall.opening.tasks import opening_tick

            result = opening_tick.enqueue()
            self.stdout.write(f"tick enqueued (task {result.id})")
            return
        from tenderhall.opening.services import opening_tick as tick

        started = tick()
        for session in started:
            self.stdout.write(f"opening started: section {session.section_id}")
        self.stdout.write(f"{len(started)} opening(s) started")
