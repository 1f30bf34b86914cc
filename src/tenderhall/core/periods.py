"""Statutory period arithmetic on calendar dates (pure, no Django).

The platform applies the Civil Code (民法典) rules on periods, arts. 200-204:

* Art 201: a period counted in days does not count the day it starts on; counting begins the next day.
* Art 203 ¶2: the period ends on its last day at 24:00 (the time-of-day part is the caller's business,
  see ``tenderhall.core.clock``).
* Art 203 ¶1: if the last day is a 法定休假日 (statutory rest day) the period ends on the first day
  after it that is not one.  A rest day is a public holiday or a Saturday/Sunday that the State
  Council has not made a working day (调休上班).

Two kinds of period must not be confused:

* A period within which something must be DONE — a time limit (时限), e.g. "raise an objection
  within 3 days", "sign the contract within 30 days": the acting party needs the whole period, so it
  is extended past a rest-day end under Art 203.  Use :meth:`HolidayCalendar.period_end`.
* A period that must ELAPSE — a minimum interval, e.g. 招标投标法 Art 24 "自招标文件开始发出之日起
  至投标人提交投标文件截止之日止，最短不得少于二十日": nobody has to act within it, it only has to have
  passed, so it counts plain calendar days (start day excluded, Art 201) and is NOT extended; a
  deadline on a Sunday that is 20 days after issue satisfies it.  Use
  :meth:`HolidayCalendar.earliest_date_after` and :meth:`HolidayCalendar.latest_date_before`.

Working-day periods (工作日) skip rest days and count make-up working days.

A :class:`HolidayCalendar` only knows the years whose State Council notice it was given (see
:func:`load_bundled_calendar`); outside them it treats every Saturday and Sunday as a rest day and
no weekday as a holiday.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Any

__all__ = ["HolidayCalendar", "bundled_years", "load_bundled_calendar"]

_ONE_DAY = timedelta(days=1)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_METADATA_KEYS = frozenset({"source", "url", "names"})
_HOLIDAY_DATA = ("data", "holidays")


def _is_weekend(d: date) -> bool:
    return d.weekday() >= 5


@dataclass(frozen=True)
class HolidayCalendar:
    """Public holidays and make-up working days (调休上班, always a Saturday or Sunday).

    ``holidays`` may include the weekend days inside a holiday break; that changes nothing.
    """

    holidays: frozenset[date]
    workdays: frozenset[date]

    def __post_init__(self) -> None:
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"{min(both).isoformat()} is listed both as a holiday and as a working day")
        weekday_workdays = [d for d in self.workdays if not _is_weekend(d)]
        if weekday_workdays:
            bad = min(weekday_workdays)
            raise ValueError(
                f"make-up working day {bad.isoformat()} is a {bad.strftime('%A')}, not a Saturday or Sunday"
            )

    # -- days ---------------------------------------------------------------------------------------

    def is_rest_day(self, d: date) -> bool:
        """A 法定休假日: a public holiday, or a weekend day that is not a make-up working day."""
        return d in self.holidays or (_is_weekend(d) and d not in self.workdays)

    def is_working_day(self, d: date) -> bool:
        """A 工作日: not a rest day (make-up working days on weekends included)."""
        return not self.is_rest_day(d)

    def next_working_day(self, d: date) -> date:
        """``d`` itself if it is a working day, else the first working day after it."""
        while self.is_rest_day(d):
            d += _ONE_DAY
        return d

    # -- time limits (something must be DONE within them) -------------------------------------------

    def period_end(self, start: date, days: int) -> date:
        """Last day (ending 24:00) of a time limit of ``days`` days starting on ``start``.

        Art 201: the start day is not counted, so the nominal last day is ``start + days``.
        Art 203: if that day is a rest day the period ends on the first working day after it.
        """
        if days < 1:
            raise ValueError(f"a period needs at least 1 day, got {days}")
        return self.next_working_day(start + timedelta(days=days))  # Art 201, Art 203

    def add_working_days(self, start: date, days: int) -> date:
        """The day that is ``days`` working days after ``start`` (start not counted, Art 201 by
        analogy); ``start`` itself for 0.  The result is always a working day when ``days >= 1``."""
        if days < 0:
            raise ValueError(f"cannot add a negative number of working days ({days})")
        d = start
        for _ in range(days):
            d = self.next_working_day(d + _ONE_DAY)
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days in (start, end]: start excluded (Art 201), end included."""
        if end < start:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        count = 0
        d = start + _ONE_DAY
        while d <= end:
            count += self.is_working_day(d)
            d += _ONE_DAY
        return count

    # -- minimum intervals (a period that must ELAPSE; calendar days, never extended) -----------------

    def earliest_date_after(self, start: date, min_days: int) -> date:
        """Earliest day D such that at least ``min_days`` days have passed since ``start``.

        Plain calendar days with the start day not counted (Art 201) and no rest-day extension
        (Art 203 governs time limits, not intervals that only have to elapse).  E.g. 招标投标法
        Art 24: documents issued on 1 March, bid deadline no earlier than 21 March.
        """
        if min_days < 0:
            raise ValueError(f"a minimum interval cannot be negative ({min_days})")
        return start + timedelta(days=min_days)

    def latest_date_before(self, deadline: date, min_days: int) -> date:
        """Latest day D that is at least ``min_days`` calendar days before ``deadline``.

        The mirror of :meth:`earliest_date_after`: calendar days, no rest-day adjustment.  E.g.
        招标投标法 Art 23 clarifications at least 15 days before the bid deadline; 招标投标法实施条例
        Art 22 objections to the tender documents up to 10 days before it.
        """
        if min_days < 0:
            raise ValueError(f"a minimum interval cannot be negative ({min_days})")
        return deadline - timedelta(days=min_days)

    # -- (de)serialization ---------------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HolidayCalendar:
        """Build from ``{"holidays": ["YYYY-MM-DD", ...], "workdays": [...]}``.

        Optional metadata keys ``source``, ``url`` and ``names`` (date → festival name; every named
        date must be listed) are checked and otherwise ignored.  Any problem raises ``ValueError``
        naming the offending entry.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"holiday calendar data must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - {"holidays", "workdays"} - _METADATA_KEYS)
        if unknown:
            raise ValueError(f"unknown key(s) in holiday calendar data: {', '.join(map(str, unknown))}")
        holidays = _parse_dates(data, "holidays")
        workdays = _parse_dates(data, "workdays")
        for key in ("source", "url"):
            if key in data and not isinstance(data[key], str):
                raise ValueError(f'"{key}" must be a string, got {data[key]!r}')
        names = data.get("names", {})
        if not isinstance(names, Mapping):
            raise ValueError(f'"names" must be an object mapping dates to names, got {names!r}')
        for key, name in names.items():
            day = _parse_date(key, "names")
            if day not in holidays and day not in workdays:
                raise ValueError(f'"names" entry {key!r} is neither a listed holiday nor a working day')
            if not isinstance(name, str) or not name:
                raise ValueError(f'"names" entry {key!r} must be a non-empty string, got {name!r}')
        return cls(holidays=holidays, workdays=workdays)  # __post_init__ checks overlap and weekdays

    def to_json(self) -> dict[str, list[str]]:
        """The ``from_json`` form, dates sorted."""
        return {
            "holidays": [d.isoformat() for d in sorted(self.holidays)],
            "workdays": [d.isoformat() for d in sorted(self.workdays)],
        }

    def merged(self, *others: HolidayCalendar) -> HolidayCalendar:
        """One calendar with the holidays and working days of all (e.g. several years)."""
        holidays = self.holidays.union(*(o.holidays for o in others))
        workdays = self.workdays.union(*(o.workdays for o in others))
        return HolidayCalendar(holidays=holidays, workdays=workdays)


def _parse_date(entry: object, key: str) -> date:
    if not isinstance(entry, str) or not _ISO_DATE.fullmatch(entry):
        raise ValueError(f'"{key}" entry {entry!r} is not a date written YYYY-MM-DD')
    try:
        return date.fromisoformat(entry)
    except ValueError:
        raise ValueError(f'"{key}" entry {entry!r} is not a real calendar date') from None


def _parse_dates(data: Mapping[str, Any], key: str) -> frozenset[date]:
    entries = data.get(key, [])
    if not isinstance(entries, list):
        raise ValueError(f'"{key}" must be a list of "YYYY-MM-DD" strings, got {entries!r}')
    seen: set[date] = set()
    for entry in entries:
        d = _parse_date(entry, key)
        if d in seen:
            raise ValueError(f'"{key}" lists {entry!r} twice')
        seen.add(d)
    return frozenset(seen)


def bundled_years() -> list[int]:
    """Years for which the State Council's holiday notice ships in ``core/data/holidays``."""
    folder = resources.files("tenderhall.core").joinpath(*_HOLIDAY_DATA)
    return sorted(int(p.name[:-5]) for p in folder.iterdir() if re.fullmatch(r"\d{4}\.json", p.name))


def load_bundled_calendar(years: Iterable[int] | None = None) -> HolidayCalendar:
    """The calendar of the bundled notices for ``years`` (default: all bundled years).

    Raises ``LookupError`` for a year with no bundled notice rather than silently treating it as
    weekends-only.
    """
    wanted = bundled_years() if years is None else sorted(set(years))
    folder = resources.files("tenderhall.core").joinpath(*_HOLIDAY_DATA)
    calendar = HolidayCalendar(holidays=frozenset(), workdays=frozenset())
    for year in wanted:
        path = folder.joinpath(f"{year}.json")
        if not path.is_file():
            raise LookupError(f"no bundled holiday arrangement for {year}")
        try:
            year_calendar = HolidayCalendar.from_json(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as exc:
            raise ValueError(f"{year}.json: {exc}") from exc
        calendar = calendar.merged(year_calendar)
    return calendar
