"""`tenderhall experts`: operators' commands for the expert database and extraction.

    tenderhall experts replay --request ID [--seed HEX] [--json]
    tenderhall experts import FILE --as USERNAME
    tenderhall experts tick [--enqueue]

``replay`` recomputes a draw from the committed pools and the seed (the stored one, or the
published one given with ``--seed``), checks both against their hashes in the transparency log and
compares the recomputed experts with the recorded draw: exit 0 only on an exact match."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Experts: `replay` checks a draw against the log, `import` loads an expert file, `tick` times out calls."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", metavar="ACTION")
        replay = sub.add_parser("replay", help="recompute a draw and check it against the logged commitments")
        replay.add_argument("--request", type=int, required=True, help="the extraction request's id")
        replay.add_argument("--seed", default=None, help="the published seed (hex); default: the stored one")
        replay.add_argument("--json", action="store_true")
        imp = sub.add_parser("import", help="import experts from a CSV or XLSX file")
        imp.add_argument("file")
        imp.add_argument("--as", dest="username", required=True, help="the staff member doing the import")
        tick = sub.add_parser("tick", help="time out unanswered calls and call the next reserves")
        tick.add_argument("--enqueue", action="store_true", help="run it in the task worker instead")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options.get("action")
        if action == "replay":
            self._replay(options)
        elif action == "import":
            self._import(options)
        elif action == "tick":
            self._tick(options)
        else:
            raise CommandError("say what to do: `tenderhall experts replay|import|tick`")

    def _replay(self, options: dict[str, Any]) -> None:
        from tenderhall.experts.models import ExtractionRequest
        from tenderhall.experts.services.extraction import extraction_replay

        request = ExtractionRequest.objects.filter(pk=options["request"]).first()
        if request is None:
            raise CommandError(f"no extraction request {options['request']}")
        result = extraction_replay(request=request, seed_hex=options["seed"])
        if options["json"]:
            self.stdout.write(json.dumps(result.__dict__, ensure_ascii=False))
        else:
            self.stdout.write(f"request {result.request_id}")
            self.stdout.write(
                f"  pool hash  logged {result.logged_pool_sha256 or '-'}\n"
                f"             recomputed {result.pool_sha256 or '-'}  {'OK' if result.pool_matches else 'MISMATCH'}"
            )
            self.stdout.write(
                f"  seed hash  logged {result.logged_seed_sha256 or '-'}\n"
                f"             recomputed {result.seed_sha256 or '-'}  {'OK' if result.seed_matches else 'MISMATCH'}"
            )
            for row in result.draw:
                same = "OK" if row["recomputed"] == row["recorded"] else "MISMATCH"
                self.stdout.write(f"  demand {row['demand']} {row['specialty']}: {row['recomputed']} {same}")
        if not result.ok:
            raise CommandError("replay FAILED: " + "; ".join(result.problems))
        if not options["json"]:
            self.stdout.write("replay OK: the recomputed draw matches the recorded draw exactly")

    def _import(self, options: dict[str, Any]) -> None:
        from tenderhall.accounts.models import User
        from tenderhall.core.errors import DomainError

        try:
            from tenderhall.experts.services.registry import expert_import
        except ImportError as exc:  # the registry part not installed yet
            raise CommandError("expert import is not available") from exc
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']}")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no file {path}")
        try:
            batch = expert_import(acting_user=user, filename=path.name, data=path.read_bytes())
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"import {batch.pk}: {batch.rows_total} rows, {batch.rows_created} created, "
            f"{batch.rows_updated} updated, {len(batch.report)} problems"
        )
        for problem in batch.report:
            self.stdout.write(
                f"  row {problem.get('row')}: {problem.get('field')}: {problem.get('zh')} / {problem.get('en')}"
            )

    def _tick(self, options: dict[str, Any]) -> None:
        if options["enqueue"]:
            from tenderhall.experts.tasks import extraction_tick

            result = extraction_tick.enqueue()
            self.stdout.write(f"tick enqueued (task {result.id})")
            return
        from tenderhall.experts.services.extraction import extraction_tick as tick

        timed_out = tick()
        self.stdout.write(f"{len(timed_out)} call(s) timed out")
