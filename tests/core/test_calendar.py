"""The statutory calendar as stored data (DESIGN §3): staff edit it, periods read it, the log records it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.core import calendar
from tenderhall.core.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from tenderhall.core.models import CalendarDay, CalendarDayKind, LogEvent
from tenderhall.core.periods import HolidayCalendar, load_bundled_calendar
from tenderhall.core.transparency import verify_log

pytestmark = pytest.mark.django_db

HOLIDAY = CalendarDayKind.HOLIDAY
WORKDAY = CalendarDayKind.WORKDAY
NATIONAL_DAY = dt.date(2026, 10, 1)  # a Thursday
MAKEUP_SATURDAY = dt.date(2026, 10, 10)


def snapshot() -> tuple[list[tuple[Any, ...]], int]:
    """Everything a refused call must leave untouched: the calendar rows and the log size."""
    return list(CalendarDay.objects.values_list("date", "kind", "name")), LogEvent.objects.count()


def actions() -> list[str]:
    return list(LogEvent.objects.values_list("action", flat=True))


@pytest.fixture
def loaded_2026(staff: User) -> int:
    return calendar.calendar_year_load(acting_user=staff, year=2026, data=calendar.bundled_year_data(2026))


# ---- permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["bidder", "supervisor"])
def test_only_staff_may_edit_the_calendar(role: str, request: pytest.FixtureRequest, staff: User) -> None:
    user = request.getfixturevalue(role)
    calendar.calendar_day_set(acting_user=staff, day=NATIONAL_DAY, kind=HOLIDAY)
    before = snapshot()
    with pytest.raises(PermissionDenied) as excinfo:
        calendar.calendar_day_set(acting_user=user, day=MAKEUP_SATURDAY, kind=WORKDAY)
    assert excinfo.value.code == "permission_denied"
    with pytest.raises(PermissionDenied):
        calendar.calendar_day_clear(acting_user=user, day=NATIONAL_DAY)
    with pytest.raises(PermissionDenied):
        calendar.calendar_year_load(acting_user=user, year=2026, data=calendar.bundled_year_data(2026))
    assert snapshot() == before


def test_anonymous_is_asked_to_sign_in() -> None:
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        calendar.calendar_day_set(acting_user=AnonymousUser(), day=NATIONAL_DAY, kind=HOLIDAY)
    assert not CalendarDay.objects.exists()


def test_staff_sets_and_clears_days_and_each_change_is_logged(staff: User) -> None:
    entry = calendar.calendar_day_set(
        acting_user=staff, day=MAKEUP_SATURDAY, kind=WORKDAY, name="国庆节调休上班"
    )
    assert (entry.date, entry.kind, entry.name) == (MAKEUP_SATURDAY, WORKDAY, "国庆节调休上班")
    event = LogEvent.objects.get(action="core.calendar.day_set")
    payload = json.loads(event.payload)
    assert payload["actor"] == "staff"
    assert payload["data"] == {"date": "2026-10-10", "kind": "workday", "name": "国庆节调休上班"}
    assert payload["object"] == {"type": "core.calendarday", "id": str(entry.pk)}
    # Setting the same date again changes it in place (one row per date).
    calendar.calendar_day_set(acting_user=staff, day=MAKEUP_SATURDAY, kind=HOLIDAY, name="x" * 80)
    assert CalendarDay.objects.get(date=MAKEUP_SATURDAY).kind == HOLIDAY
    assert CalendarDay.objects.get(date=MAKEUP_SATURDAY).name == "x" * 60
    calendar.calendar_day_clear(acting_user=staff, day=MAKEUP_SATURDAY)
    assert not CalendarDay.objects.exists()
    # Clearing an ordinary day changes nothing, so nothing is logged.
    calendar.calendar_day_clear(acting_user=staff, day=MAKEUP_SATURDAY)
    assert actions() == ["core.calendar.day_set", "core.calendar.day_set", "core.calendar.day_cleared"]
    cleared = json.loads(LogEvent.objects.get(action="core.calendar.day_cleared").payload)
    assert cleared["data"] == {"date": "2026-10-10"}
    assert verify_log().ok


# ---- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("weekday", [dt.date(2026, 10, 5), dt.date(2026, 10, 9)])  # Monday, Friday
def test_a_make_up_working_day_on_a_weekday_is_refused(staff: User, weekday: dt.date) -> None:
    calendar.calendar_day_set(acting_user=staff, day=NATIONAL_DAY, kind=HOLIDAY)
    before = snapshot()
    with pytest.raises(ValidationFailed) as excinfo:
        calendar.calendar_day_set(acting_user=staff, day=weekday, kind=WORKDAY)
    assert excinfo.value.code == "calendar_workday_not_weekend"
    assert set(excinfo.value.fields) == {"date"}
    assert weekday.isoformat() in excinfo.value.message_en
    assert snapshot() == before


def test_an_unknown_day_kind_is_refused(staff: User) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        calendar.calendar_day_set(acting_user=staff, day=NATIONAL_DAY, kind="festival")
    assert excinfo.value.code == "calendar_kind_invalid"
    assert snapshot() == ([], 0)


@pytest.mark.parametrize(
    "data",
    [
        {"holidays": "2026-10-01"},  # not a list
        {"holidays": ["2026-10-32"]},  # not a real date
        {"holidays": ["2026/10/01"]},  # not YYYY-MM-DD
        {"holidays": ["2026-10-01", "2026-10-01"]},  # listed twice
        {"holidays": ["2026-10-10"], "workdays": ["2026-10-10"]},  # both
        {"workdays": ["2026-10-09"]},  # make-up working day on a Friday
        {"holidays": ["2026-10-01"], "names": {"2026-10-02": "国庆节"}},  # name for an unlisted day
        {"holidays": [], "colour": "red"},  # unknown key
        ["2026-10-01"],  # not an object
    ],
)
def test_bad_calendar_data_is_refused_and_nothing_is_written(
    staff: User, loaded_2026: int, data: Any
) -> None:
    before = snapshot()
    with pytest.raises(ValidationFailed) as excinfo:
        calendar.calendar_year_load(acting_user=staff, year=2026, data=data)
    assert excinfo.value.code == "calendar_data_invalid"
    assert snapshot() == before


def test_data_for_the_wrong_year_is_refused_and_nothing_is_written(staff: User) -> None:
    calendar.calendar_year_load(acting_user=staff, year=2025, data=calendar.bundled_year_data(2025))
    before = snapshot()
    with pytest.raises(ValidationFailed) as excinfo:
        calendar.calendar_year_load(acting_user=staff, year=2025, data=calendar.bundled_year_data(2026))
    assert excinfo.value.code == "calendar_wrong_year"
    assert "2026-01-01" in excinfo.value.message_en
    # One stray date is enough to refuse the whole year.
    mixed = {"holidays": ["2025-10-01", "2026-10-01"]}
    with pytest.raises(ValidationFailed):
        calendar.calendar_year_load(acting_user=staff, year=2025, data=mixed)
    assert snapshot() == before
    assert CalendarDay.objects.filter(date__year=2025).count() == len(before[0]) > 0


# ---- loading a year and using it ---------------------------------------------------------------


def test_bundled_2026_data_loads_and_is_logged(staff: User, loaded_2026: int) -> None:
    bundled = load_bundled_calendar([2026])
    assert loaded_2026 == len(bundled.holidays) + len(bundled.workdays) == CalendarDay.objects.count()
    assert calendar.stored_calendar() == bundled
    assert CalendarDay.objects.get(date=NATIONAL_DAY).name == "国庆节"
    assert CalendarDay.objects.get(date=MAKEUP_SATURDAY).kind == WORKDAY
    event = LogEvent.objects.get(action="core.calendar.year_loaded")
    payload = json.loads(event.payload)
    assert payload["object"] == {"type": "core.calendaryear", "id": "2026"}
    assert payload["data"]["year"] == 2026
    assert payload["data"]["holidays"] == len(bundled.holidays)
    assert payload["data"]["workdays"] == len(bundled.workdays)
    assert "2026" in payload["data"]["source"]


def test_loading_a_year_replaces_only_that_year(staff: User) -> None:
    calendar.calendar_year_load(acting_user=staff, year=2025, data=calendar.bundled_year_data(2025))
    calendar.calendar_day_set(acting_user=staff, day=dt.date(2026, 3, 2), kind=HOLIDAY, name="临时")
    calendar.calendar_year_load(acting_user=staff, year=2026, data=calendar.bundled_year_data(2026))
    assert not CalendarDay.objects.filter(date=dt.date(2026, 3, 2)).exists()
    assert calendar.stored_calendar() == load_bundled_calendar([2025, 2026])
    count = calendar.calendar_year_load(acting_user=staff, year=2026, data={"holidays": ["2026-10-01"]})
    assert count == 1
    assert list(calendar.calendar_year(2026)) == list(CalendarDay.objects.filter(date=NATIONAL_DAY))
    assert CalendarDay.objects.filter(date__year=2025).exists()


def test_the_platform_may_load_a_year_without_a_user() -> None:
    assert calendar.calendar_year_load(acting_user=None, year=2026, data=calendar.bundled_year_data(2026)) > 0
    assert json.loads(LogEvent.objects.get().payload)["actor"] == ""


def test_stored_calendar_drives_the_period_rules(staff: User) -> None:
    plain = calendar.stored_calendar()
    assert plain == HolidayCalendar(holidays=frozenset(), workdays=frozenset())
    # With no data only weekends rest: a 1-day period from 30 Sept ends on Thursday 1 Oct.
    assert plain.period_end(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 1)
    assert plain.period_end(dt.date(2026, 10, 9), 1) == dt.date(2026, 10, 12)

    calendar.calendar_day_set(acting_user=staff, day=MAKEUP_SATURDAY, kind=WORKDAY)
    assert calendar.stored_calendar().period_end(dt.date(2026, 10, 9), 1) == MAKEUP_SATURDAY
    calendar.calendar_day_set(acting_user=staff, day=NATIONAL_DAY, kind=HOLIDAY)
    assert calendar.stored_calendar().period_end(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 2)


def test_a_period_around_national_day_2026_ends_on_8_october(loaded_2026: int) -> None:
    stored = calendar.stored_calendar()
    # 民法典 Art 201: the start day is not counted; Art 203: a rest-day end moves to the next working day.
    for start in (dt.date(2026, 9, 30), dt.date(2026, 10, 1), dt.date(2026, 10, 4)):
        assert stored.period_end(start, 1) == dt.date(2026, 10, 8), start
    assert stored.period_end(dt.date(2026, 9, 28), 3) == dt.date(2026, 10, 8)
    assert stored.add_working_days(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 8)
    # The make-up Saturday counts as a working day.
    assert stored.add_working_days(dt.date(2026, 9, 30), 3) == MAKEUP_SATURDAY
    assert stored.is_working_day(MAKEUP_SATURDAY)


# ---- the API ------------------------------------------------------------------------------------


def test_api_reads_a_year_anonymously(client: Client, loaded_2026: int) -> None:
    response = client.get("/api/v1/calendar/2026")
    assert response.status_code == 200
    days = response.json()
    assert len(days) == loaded_2026
    assert [d["date"] for d in days] == sorted(d["date"] for d in days)
    assert {"date": "2026-10-10", "kind": "workday", "name": "国庆节调休上班"} in days
    assert client.get("/api/v1/calendar/2031").json() == []


def test_api_staff_sets_and_clears_a_day(client: Client, staff: User) -> None:
    client.force_login(staff)
    response = client.put(
        "/api/v1/calendar/days/2026-10-10",
        data={"kind": "workday", "name": "国庆节调休上班"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"date": "2026-10-10", "kind": "workday", "name": "国庆节调休上班"}
    assert CalendarDay.objects.get(date=MAKEUP_SATURDAY).kind == WORKDAY
    assert actions() == ["core.calendar.day_set"]
    response = client.delete("/api/v1/calendar/days/2026-10-10")
    assert response.status_code == 204
    assert not CalendarDay.objects.exists()
    assert actions() == ["core.calendar.day_set", "core.calendar.day_cleared"]


def test_api_bidder_gets_403_problem_json(client: Client, bidder: User) -> None:
    client.force_login(bidder)
    response = client.put(
        "/api/v1/calendar/days/2026-10-10", data={"kind": "workday"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "permission_denied"
    assert problem["status"] == 403
    assert problem["message_zh"].startswith("无权")
    assert problem["message_en"].startswith("You are not allowed")
    assert problem["instance"] == "/api/v1/calendar/days/2026-10-10"
    assert not CalendarDay.objects.exists()
    assert client.delete("/api/v1/calendar/days/2026-10-10").status_code == 403
    assert not LogEvent.objects.exists()


def test_api_anonymous_write_gets_401(client: Client) -> None:
    response = client.put(
        "/api/v1/calendar/days/2026-10-10", data={"kind": "workday"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_authenticated"


def test_api_refusals_are_problems_not_500s(client: Client, staff: User) -> None:
    client.force_login(staff)
    weekday = client.put(
        "/api/v1/calendar/days/2026-10-09", data={"kind": "workday"}, content_type="application/json"
    )
    assert weekday.status_code == 422
    assert weekday["Content-Type"] == "application/problem+json"
    assert weekday.json()["code"] == "calendar_workday_not_weekend"
    bad_date = client.put(
        "/api/v1/calendar/days/2026-02-30", data={"kind": "holiday"}, content_type="application/json"
    )
    assert bad_date.status_code == 422
    assert bad_date.json()["code"] == "request_invalid"
    no_kind = client.put("/api/v1/calendar/days/2026-10-01", data={}, content_type="application/json")
    assert no_kind.status_code == 422
    not_json = client.put("/api/v1/calendar/days/2026-10-01", data="{kind", content_type="application/json")
    assert not_json.status_code == 400
    assert not_json["Content-Type"] == "application/problem+json"
    assert not CalendarDay.objects.exists()
