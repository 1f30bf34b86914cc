"""`tenderhall experts`: operators' commands for the expert database and extraction.

    tenderhall experts replay --request ID [--seed HEX] [--venue-seed ROUND=HEX ...] [--json]
    tenderhall experts import FILE --as USERNAME
    tenderhall experts tick [--enqueue]

``replay`` recomputes a draw from the committed pools and the seed (the stored one, or the
published one given with ``--seed``), checks both against their hashes in the transparency log and
compares the recomputed experts with the recorded draw; for a remote evaluation it does the same
for every secondary-venue draw (the candidate centres and the seed against their logged hashes,
the pick against the venue; ``--venue-seed ROUND=HEX`` for a published venue seed). Exit 0 only
when everything matches."""

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
        replay.add_argument(
            "--venue-seed",
            action="append",
            default=[],
            metavar="ROUND=HEX",
            help="a published secondary-venue seed for that draw round (default: the stored ones)",
        )
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
        from tenderhall.experts.services.committee import venue_draws_replay
        from tenderhall.experts.services.extraction import extraction_replay

        request = ExtractionRequest.objects.filter(pk=options["request"]).first()
        if request is None:
            raise CommandError(f"no extraction request {options['request']}")
        venue_seeds: dict[int, str] = {}
        for item in options.get("venue_seed") or []:
            draw_round, sep, seed_hex = item.partition("=")
            if not sep or not draw_round.strip().isdigit():
                raise CommandError(f"--venue-seed wants ROUND=HEX, not {item!r}")
            venue_seeds[int(draw_round)] = seed_hex.strip()
        result = extraction_replay(request=request, seed_hex=options["seed"])
        venues = venue_draws_replay(request=request, seeds=venue_seeds)
        # A remote request whose experts are not drawn yet (inviting, or failed before the draw):
        # only its venue draws can be checked.
        experts_pending = not request.drawn_at and bool(venues) and result.logged_pool_sha256 == ""
        problems = ([] if experts_pending else result.problems) + [p for v in venues for p in v.problems]
        ok = (experts_pending or result.ok) and all(v.ok for v in venues)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        **result.__dict__,
                        "experts_drawn": not experts_pending,
                        "experts_ok": result.ok,
                        "venue_draws": [{**v.__dict__, "ok": v.ok} for v in venues],
                        "ok": ok,
                        "problems": problems,
                    },
                    ensure_ascii=False,
                )
            )
        elif experts_pending:
            self.stdout.write(f"request {result.request_id}: experts not drawn yet")
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
        if not options["json"]:
            for v in venues:
                self.stdout.write(
                    f"  venue draw round {v.round} (venue {v.venue}): candidates hash "
                    f"{'OK' if v.candidates_match else 'MISMATCH'}, seed hash {'OK' if v.seed_matches else 'MISMATCH'}, "
                    f"pick centre {v.recomputed_centre} {'OK' if v.pick_matches else 'MISMATCH'}"
                )
        if not ok:
            raise CommandError("replay FAILED: " + "; ".join(problems))
        if not options["json"]:
            self.stdout.write("replay OK: the recomputed draws match the recorded draws exactly")

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
