"""`tenderhall bids cleanup`: expire idle uploads of sealed bids and remove their part files.

    tenderhall bids cleanup [--enqueue]

Runs the cleanup now (or, with --enqueue, hands it to the task worker) and prints how many
uploads expired. Safe to run at any time, e.g. from cron: an upload receiving a chunk is left for
the next run."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Sealed-bid maintenance: `cleanup` expires idle uploads and removes leftover part files."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", metavar="ACTION")
        cleanup = sub.add_parser("cleanup", help="expire idle uploads and remove their part files")
        cleanup.add_argument("--enqueue", action="store_true", help="run it in the task worker instead")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("action") != "cleanup":
            raise CommandError("say what to do: `tenderhall bids cleanup`")
        if options["enqueue"]:
            from tenderhall.bidding.tasks import cleanup_expired_uploads

            result = cleanup_expired_uploads.enqueue()
            self.stdout.write(f"cleanup enqueued (task {result.id})")
            return
        from tenderhall.bidding.services import upload_cleanup_expired

        expired = upload_cleanup_expired()
        self.stdout.write(f"{expired} upload(s) expired; leftover part files removed")
