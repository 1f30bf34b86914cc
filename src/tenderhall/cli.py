"""`tenderhall`: the platform's one command.

``serve``, ``worker``, ``demo``, ``ca``, ``audit``, ``bootstrap`` and every Django management
command (``tenderhall migrate``, ``tenderhall createsuperuser`` ...)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tenderhall.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv if argv is None else ["tenderhall", *argv]
    if len(args) == 1:
        args = [*args, "help"]
    execute_from_command_line(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
