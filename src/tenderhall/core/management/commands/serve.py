"""`tenderhall serve`: the ASGI server (uvicorn), migrations first, and a task worker beside it."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the platform (uvicorn, ASGI) with a background task worker; migrates first."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="ASGI worker processes (cluster profile)")
        parser.add_argument("--no-worker", action="store_true", help="do not start the task worker process")
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn

        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        worker = None
        if not options["no_worker"]:
            # The embedded profile runs one task worker beside the server (DESIGN §1).
            worker = subprocess.Popen([sys.executable, "-m", "tenderhall.cli", "worker"])
        self.stdout.write(f"tenderhall serving on http://{options['host']}:{options['port']}/")
        try:
            uvicorn.run(
                "tenderhall.asgi:application",
                host=options["host"],
                port=options["port"],
                workers=options["workers"],
                log_level="warning",
                lifespan="off",
                # Live pages send the same small JSON to many watchers: compressing every frame for
                # every connection costs far more CPU than the bytes it saves.
                ws_per_message_deflate=False,
                # An idle keep-alive connection is closed after this long. uvicorn's 5 s default
                # raced the bidders' tools: a connection that waited its turn during the unlock rush
                # was closed just as the tool sent the next request on it ("server disconnected").
                timeout_keep_alive=settings.TENDERHALL_KEEP_ALIVE_SECONDS,
            )
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)
