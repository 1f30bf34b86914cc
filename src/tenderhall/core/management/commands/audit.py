"""`tenderhall audit verify`: recompute the transparency log from the stored rows."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tenderhall.core.transparency import verify_log


class Command(BaseCommand):
    help = "Audit the transparency log. `verify` recomputes every leaf, root and signature."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="recompute the Merkle tree and check every signed tree head")
        verify.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_log()
        if options.get("json"):
            self.stdout.write(json.dumps(result.__dict__, ensure_ascii=False))
        if not result.ok:
            raise CommandError(f"log verification FAILED at index {result.first_bad_index}: {result.problem}")
        if not options.get("json"):
            self.stdout.write(
                f"log OK: {result.size} events, {result.tree_heads_checked} signed tree heads verified"
            )
