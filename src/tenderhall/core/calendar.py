"""The statutory calendar as stored data (DESIGN §3): which days are public holidays and which
weekend days are make-up working days (调休). Staff edit it per year; the period arithmetic itself
is in core.periods (民法典 arts. 200-204)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.db import transaction

from tenderhall.core.errors import ValidationFailed
from tenderhall.core.models import CalendarDay, CalendarDayKind
from tenderhall.core.periods import HolidayCalendar
from tenderhall.core.permissions import Permission, require
from tenderhall.core.transparency import log_append

DATA_DIR = Path(__file__).resolve().parent / "data" / "holidays"


def stored_calendar() -> HolidayCalendar:
    """The calendar as staff keep it in the database."""
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    for day, kind in CalendarDay.objects.values_list("date", "kind"):
        (holidays if kind == CalendarDayKind.HOLIDAY else workdays).add(day)
    return HolidayCalendar(holidays=frozenset(holidays), workdays=frozenset(workdays))


def calendar_year(year: int) -> list[CalendarDay]:
    if not dt.MINYEAR <= year <= dt.MAXYEAR:  # bad input is a refusal, never a 500
        raise ValidationFailed(
            "year_invalid",
            f"年份无效：{year}（应在 {dt.MINYEAR} 至 {dt.MAXYEAR} 之间）",
            f"invalid year {year} (must be {dt.MINYEAR} to {dt.MAXYEAR})",
        )
    return list(CalendarDay.objects.filter(date__year=year).order_by("date"))


def bundled_years() -> list[int]:
    return sorted(int(p.stem) for p in DATA_DIR.glob("*.json"))


def bundled_year_data(year: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA_DIR / f"{year}.json").read_text(encoding="utf-8"))
    return data


def _check_day(day: dt.date, kind: str) -> None:
    if kind not in CalendarDayKind.values:
        raise ValidationFailed(
            "calendar_kind_invalid",
            f"日期类型无效：{kind}",
            f"unknown day kind: {kind}",
            fields={"kind": ""},
        )
    if kind == CalendarDayKind.WORKDAY and day.weekday() < 5:
        raise ValidationFailed(
            "calendar_workday_not_weekend",
            f"{day} 本就是工作日，调休上班日只能是周六或周日",
            f"{day} is already a working day; a make-up working day must be a Saturday or Sunday",
            fields={"date": ""},
        )


@transaction.atomic
def calendar_day_set(*, acting_user: Any, day: dt.date, kind: str, name: str = "") -> CalendarDay:
    require(acting_user, Permission.CALENDAR_EDIT)
    _check_day(day, kind)
    entry, _ = CalendarDay.objects.update_or_create(date=day, defaults={"kind": kind, "name": name[:60]})
    log_append(
        action="core.calendar.day_set",
        actor=acting_user,
        obj=entry,
        data={"date": day.isoformat(), "kind": kind, "name": name[:60]},
    )
    return entry


@transaction.atomic
def calendar_day_clear(*, acting_user: Any, day: dt.date) -> None:
    require(acting_user, Permission.CALENDAR_EDIT)
    deleted, _ = CalendarDay.objects.filter(date=day).delete()
    if deleted:
        log_append(action="core.calendar.day_cleared", actor=acting_user, data={"date": day.isoformat()})


@transaction.atomic
def calendar_year_load(*, acting_user: Any, year: int, data: dict[str, Any]) -> int:
    """Replace one year's special days with ``data`` ({"holidays": [...], "workdays": [...], "names": {}})."""
    if acting_user is not None:  # None only for the platform's own first install (migration, demo)
        require(acting_user, Permission.CALENDAR_EDIT)
    try:
        parsed = HolidayCalendar.from_json(data)
    except ValueError as exc:
        raise ValidationFailed(
            "calendar_data_invalid", f"日历数据有误：{exc}", f"calendar data is invalid: {exc}"
        ) from exc
    names: dict[str, str] = data.get("names", {})
    days = [(d, CalendarDayKind.HOLIDAY) for d in parsed.holidays] + [
        (d, CalendarDayKind.WORKDAY) for d in parsed.workdays
    ]
    outside = sorted(d for d, _ in days if d.year != year)
    if outside:
        raise ValidationFailed(
            "calendar_wrong_year",
            f"{outside[0]} 不属于 {year} 年",
            f"{outside[0]} is not in {year}",
        )
    CalendarDay.objects.filter(date__year=year).delete()
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=d, kind=k, name=names.get(d.isoformat(), "")[:60]) for d, k in sorted(days)]
    )
    log_append(
        action="core.calendar.year_loaded",
        actor=acting_user,
        object_type="core.calendaryear",
        object_id=str(year),
        data={
            "year": year,
            "holidays": len(parsed.holidays),
            "workdays": len(parsed.workdays),
            "source": data.get("source", ""),
        },
    )
    return len(days)
