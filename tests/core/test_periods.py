"""Statutory period arithmetic (民法典 arts. 200-204) on the bundled State Council calendars."""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenderhall.core.periods import HolidayCalendar, bundled_years, load_bundled_calendar

CAL = load_bundled_calendar()
CAL_2026 = load_bundled_calendar([2026])
D = date.fromisoformat


def _raw(year: int) -> dict[str, Any]:
    path = resources.files("tenderhall.core").joinpath("data", "holidays", f"{year}.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# -- bundled data ------------------------------------------------------------------------------------


def test_bundled_years() -> None:
    assert {2025, 2026} <= set(bundled_years())


@pytest.mark.parametrize(
    ("year", "notice", "days_off", "workdays"),
    [
        (
            2025,
            "国办发明电〔2024〕12号",
            28,
            ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
        ),
        (
            2026,
            "国办发明电〔2025〕7号",
            33,
            ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
        ),
    ],
)
def test_bundled_notice(year: int, notice: str, days_off: int, workdays: list[str]) -> None:
    data = _raw(year)
    assert notice in data["source"]
    assert len(data["holidays"]) == days_off
    assert data["workdays"] == workdays
    assert set(data["names"]) == set(data["holidays"]) | set(data["workdays"])
    assert HolidayCalendar.from_json(data).to_json() == {
        "holidays": sorted(data["holidays"]),
        "workdays": workdays,
    }


def test_2026_arrangement() -> None:
    names = _raw(2026)["names"]
    assert names["2026-02-15"] == "春节" and names["2026-10-07"] == "国庆节"
    for first, last in [
        ("2026-01-01", "2026-01-03"),
        ("2026-02-15", "2026-02-23"),
        ("2026-04-04", "2026-04-06"),
        ("2026-05-01", "2026-05-05"),
        ("2026-06-19", "2026-06-21"),
        ("2026-09-25", "2026-09-27"),
        ("2026-10-01", "2026-10-07"),
    ]:
        d = D(first)
        while d <= D(last):
            assert CAL.is_rest_day(d), d
            d += timedelta(days=1)
        assert CAL.is_working_day(D(last) + timedelta(days=1))


# -- rest and working days --------------------------------------------------------------------------


def test_rest_and_working_days() -> None:
    assert CAL.is_rest_day(D("2026-10-05"))  # Monday in 国庆
    assert CAL.is_working_day(D("2026-10-10"))  # Saturday, make-up working day
    assert CAL.is_working_day(D("2026-01-04"))  # Sunday, make-up working day
    assert CAL.is_rest_day(D("2026-03-08"))  # plain Sunday
    assert CAL.is_working_day(D("2026-03-09"))  # plain Monday
    assert CAL.next_working_day(D("2026-03-09")) == D("2026-03-09")
    assert CAL.next_working_day(D("2026-10-01")) == D("2026-10-08")
    assert CAL.next_working_day(D("2026-02-15")) == D("2026-02-24")


# -- time limits: Art 201 + Art 203 -------------------------------------------------------------------


def test_period_ending_inside_national_day_moves_to_the_first_working_day() -> None:
    # Mon 28 Sep + 5 days = Sat 3 Oct, inside 国庆 (1-7 Oct): ends Thu 8 Oct
    assert CAL.period_end(D("2026-09-28"), 5) == D("2026-10-08")


def test_period_ending_on_a_make_up_working_saturday_ends_that_day() -> None:
    assert CAL.period_end(D("2026-10-03"), 7) == D("2026-10-10")


def test_period_ending_on_a_plain_sunday_moves_to_monday() -> None:
    assert CAL.period_end(D("2026-03-01"), 7) == D("2026-03-09")


def test_period_ending_on_a_weekday_is_not_moved() -> None:
    assert CAL.period_end(D("2026-03-01"), 3) == D("2026-03-04")


def test_period_across_the_year_boundary() -> None:
    # Nominal last day Sat 3 Jan 2026 (元旦); Sun 4 Jan is a make-up working day
    assert CAL.period_end(D("2025-12-24"), 10) == D("2026-01-04")
    # 2025 Spring Festival: ends 4 Feb; 8 Feb (Sat) a working day
    assert CAL.period_end(D("2025-01-20"), 10) == D("2025-02-05")


def test_period_needs_a_positive_length() -> None:
    with pytest.raises(ValueError):
        CAL.period_end(D("2026-03-01"), 0)


# -- working days -------------------------------------------------------------------------------------


def test_working_days_across_spring_festival_count_the_make_up_saturdays() -> None:
    # (Fri 13 Feb, Sat 28 Feb]: 14 Feb (Sat, working), 24-27 Feb, 28 Feb (Sat, working)
    assert CAL.working_days_between(D("2026-02-13"), D("2026-02-28")) == 6
    assert CAL.add_working_days(D("2026-02-13"), 1) == D("2026-02-14")
    assert CAL.add_working_days(D("2026-02-13"), 2) == D("2026-02-24")
    assert CAL.add_working_days(D("2026-02-13"), 6) == D("2026-02-28")
    assert CAL.add_working_days(D("2026-02-13"), 7) == D("2026-03-02")
    assert CAL.working_days_between(D("2026-02-14"), D("2026-02-23")) == 0


def test_working_days_edge_cases() -> None:
    assert CAL.add_working_days(D("2026-10-03"), 0) == D("2026-10-03")
    assert CAL.working_days_between(D("2026-10-03"), D("2026-10-03")) == 0
    with pytest.raises(ValueError):
        CAL.add_working_days(D("2026-10-03"), -1)
    with pytest.raises(ValueError):
        CAL.working_days_between(D("2026-10-03"), D("2026-10-02"))


# -- minimum intervals: calendar days, never extended ------------------------------------------------


def test_minimum_intervals_count_calendar_days_without_extension() -> None:
    # 招标投标法 Art 24: ≥ 20 days from issue to bid deadline. Issued 11 Sep 2026 → 1 Oct is fine,
    # although it is 国庆: a minimum interval only has to elapse.
    assert CAL.earliest_date_after(D("2026-09-11"), 20) == D("2026-10-01")
    # Whereas a 20-day time limit from the same day runs until 8 Oct (Art 203).
    assert CAL.period_end(D("2026-09-11"), 20) == D("2026-10-08")
    # Art 23: clarification ≥ 15 days before a deadline of 20 Oct 2026 → by 5 Oct, even in 国庆.
    assert CAL.latest_date_before(D("2026-10-20"), 15) == D("2026-10-05")
    # 条例 Art 22: objections until 10 days before the deadline.
    assert CAL.latest_date_before(D("2026-03-20"), 10) == D("2026-03-10")
    with pytest.raises(ValueError):
        CAL.earliest_date_after(D("2026-03-01"), -1)
    with pytest.raises(ValueError):
        CAL.latest_date_before(D("2026-03-01"), -1)


# -- properties ------------------------------------------------------------------------------------

dates = st.dates(min_value=date(2024, 12, 1), max_value=date(2027, 1, 31))


@given(dates, st.integers(1, 60))
def test_period_end_is_never_a_rest_day(start: date, days: int) -> None:
    end = CAL.period_end(start, days)
    assert CAL.is_working_day(end)
    assert end >= start + timedelta(days=days)
    # nothing in between the nominal end and the result is a working day
    d = start + timedelta(days=days)
    while d < end:
        assert CAL.is_rest_day(d)
        d += timedelta(days=1)


@given(dates, st.integers(1, 40))
def test_add_working_days_lands_on_a_working_day(start: date, n: int) -> None:
    result = CAL.add_working_days(start, n)
    assert CAL.is_working_day(result)
    assert CAL.working_days_between(start, result) == n
    assert CAL.working_days_between(start, result - timedelta(days=1)) == n - 1


@given(dates, st.integers(0, 60))
def test_intervals_are_inverse(start: date, n: int) -> None:
    later = CAL.earliest_date_after(start, n)
    assert (later - start).days == n
    assert CAL.latest_date_before(later, n) == start


@given(
    st.sets(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)), max_size=10),
    st.sets(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)), max_size=10),
)
def test_json_round_trip(holidays: set[date], candidates: set[date]) -> None:
    workdays = frozenset(d for d in candidates if d.weekday() >= 5) - holidays
    cal = HolidayCalendar(holidays=frozenset(holidays), workdays=workdays)
    assert HolidayCalendar.from_json(json.loads(json.dumps(cal.to_json()))) == cal


# -- from_json errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        ({"holidays": "2026-01-01"}, '"holidays" must be a list'),
        ({"holidays": ["2026-1-1"]}, "'2026-1-1' is not a date written YYYY-MM-DD"),
        ({"holidays": ["20260101"]}, "'20260101' is not a date"),
        ({"holidays": [20260101]}, "20260101 is not a date"),
        ({"holidays": ["2026-02-30"]}, "'2026-02-30' is not a real calendar date"),
        ({"workdays": ["2026-02-29"]}, "\"workdays\" entry '2026-02-29'"),
        ({"holidays": ["2026-01-01", "2026-01-01"]}, "lists '2026-01-01' twice"),
        ({"holidays": ["2026-01-04"], "workdays": ["2026-01-04"]}, "2026-01-04 is listed both"),
        ({"workdays": ["2026-01-05"]}, "2026-01-05 is a Monday, not a Saturday or Sunday"),
        ({"holiday": ["2026-01-01"]}, "unknown key.*holiday"),
        ({"holidays": ["2026-01-01"], "names": {"2026-01-02": "元旦"}}, "'2026-01-02' is neither"),
        ({"holidays": ["2026-01-01"], "names": {"2026-01-01": ""}}, "non-empty string"),
        ({"holidays": ["2026-01-01"], "names": ["元旦"]}, '"names" must be an object'),
        ({"source": 7}, '"source" must be a string'),
    ],
)
def test_from_json_errors(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HolidayCalendar.from_json(data)


def test_from_json_defaults_and_merge() -> None:
    empty = HolidayCalendar.from_json({})
    assert empty.is_rest_day(D("2026-03-08")) and empty.is_working_day(D("2026-10-01"))
    assert empty.merged(CAL_2026) == CAL_2026
    assert load_bundled_calendar([2025]).merged(CAL_2026) == load_bundled_calendar([2025, 2026])


def test_unknown_year_is_refused() -> None:
    with pytest.raises(LookupError, match="1999"):
        load_bundled_calendar([1999])
