"""`tenderhall timeline`: print the statutory timeline of a notice (docs/timeline.md).

    tenderhall timeline --procedure open --docs-issued 2026-03-02 [--deadline 2026-03-25]
                        [--sale-end DATE] [--holidays FILE] [--json]

Prints every rule, its article, the earliest/latest lawful date and whether the given dates comply.
Exits 1 (CommandError) with a one-line summary naming the first broken rule when a given date does
not comply; the table (or JSON) is printed first.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from tenderhall.core.calendar import stored_calendar
from tenderhall.core.errors import DomainError
from tenderhall.core.periods import HolidayCalendar
from tenderhall.notices.timeline import Timeline, compute_timeline
from tenderhall.projects.models import Procedure


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date written YYYY-MM-DD") from None


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def load_calendar_file(path: Path) -> HolidayCalendar:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read holiday file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"holiday file {path} is not UTF-8 text") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CommandError(f"holiday file {path} is not valid JSON: {exc}") from exc
    try:
        return HolidayCalendar.from_json(data)
    except ValueError as exc:
        raise CommandError(f"holiday file {path}: {exc}") from exc


def _stored_calendar() -> HolidayCalendar:
    try:
        return stored_calendar()
    except DatabaseError as exc:
        raise CommandError(
            f"cannot read the stored holiday calendar ({exc}); run `tenderhall migrate` or pass --holidays FILE"
        ) from exc


class Command(BaseCommand):
    help = (
        "Print the statutory timeline of a notice: every period, its article, the earliest/latest "
        "lawful dates and whether the given dates comply (exit 1 if one does not)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--procedure", required=True, choices=list(Procedure.values))
        parser.add_argument(
            "--docs-issued", required=True, type=_date, help="day the documents are first issued (on sale)"
        )
        parser.add_argument("--deadline", type=_date, help="bid (first response) deadline, local date")
        parser.add_argument("--sale-end", type=_date, help="last day the documents are on sale")
        parser.add_argument(
            "--holidays",
            type=Path,
            help='JSON {"holidays": [...], "workdays": [...]} (default: the stored calendar)',
        )
        parser.add_argument("--json", action="store_true", help="print the timeline as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path | None = options["holidays"]
        calendar = load_calendar_file(path) if path is not None else _stored_calendar()
        try:
            timeline = compute_timeline(
                procedure=options["procedure"],
                docs_issued=options["docs_issued"],
                calendar=calendar,
                deadline=options["deadline"],
                docs_sale_end=options["sale_end"],
            )
        except DomainError as exc:
            raise CommandError(exc.message_en) from exc
        self._warn_uncovered_years(timeline, calendar)
        if options["json"]:
            self.stdout.write(json.dumps(timeline.as_dict(), ensure_ascii=False, indent=2))
        else:
            self._print_table(timeline)
        broken = timeline.first_violation
        if broken is not None:
            bound = f"earliest {broken.earliest}" if broken.earliest else f"latest {broken.latest}"
            raise CommandError(
                f"does not comply: {broken.code} ({broken.article}, {broken.title_en}): "
                f"given {broken.given}, {bound}"
            )

    def _warn_uncovered_years(self, timeline: Timeline, calendar: HolidayCalendar) -> None:
        # Outside the years it knows, a calendar treats only weekends as rest days: say so.
        last = max(d for d in (timeline.deadline, timeline.earliest_deadline, timeline.docs_issued) if d)
        known = {d.year for d in calendar.holidays}
        for year in range(timeline.docs_issued.year, last.year + 1):
            if year not in known:
                self.stderr.write(
                    f"warning: the holiday calendar has no public holidays for {year}; "
                    "only Saturdays and Sundays count as rest days there"
                )

    def _print_table(self, timeline: Timeline) -> None:
        label = Procedure(timeline.procedure).label
        head = [f"procedure 方式: {timeline.procedure} ({label})"]
        head.append(f"documents issued 文件发出: {timeline.docs_issued.isoformat()}")
        if timeline.docs_sale_end:
            head.append(f"sale end 发售截止: {timeline.docs_sale_end.isoformat()}")
        head.append(f"deadline 截止: {timeline.deadline.isoformat() if timeline.deadline else '-'}")
        for line in head:
            self.stdout.write(line)
        self.stdout.write("")

        columns = (
            "",
            "rule 规则",
            "article 依据",
            "earliest 最早",
            "latest 最晚",
            "given 所给",
            "result 结果",
        )
        rows = []
        for number, r in enumerate(timeline.rules, start=1):
            result = {True: "OK 符合", False: "FAIL 不符合", None: "-"}[r.complies]
            rows.append(
                (
                    str(number),
                    f"{r.title_zh} / {r.title_en}",
                    r.article,
                    r.earliest.isoformat() if r.earliest else "-",
                    r.latest.isoformat() if r.latest else "-",
                    r.given.isoformat() if r.given else "-",
                    result,
                )
            )
        widths = [max(_width(row[i]) for row in (columns, *rows)) for i in range(len(columns))]
        for row in (columns, *rows):
            self.stdout.write("  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())
        self.stdout.write("")
        for number, r in enumerate(timeline.rules, start=1):
            self.stdout.write(f"{number}. [{r.article}] {r.note_zh}")
            self.stdout.write(f"   {r.note_en}")
        self.stdout.write("")
        if timeline.complies:
            given = (
                "the given dates comply" if timeline.deadline or timeline.docs_sale_end else "no dates given"
            )
            self.stdout.write(
                f"{given}; earliest lawful deadline 最早合法截止日: {timeline.earliest_deadline.isoformat()}"
            )
