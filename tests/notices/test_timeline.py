"""The statutory timeline engine (notices/timeline.py) on the bundled 2026 State Council calendar."""

from __future__ import annotations

import datetime as dt
import json
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenderhall.core.calendar import bundled_year_data
from tenderhall.core.errors import ValidationFailed
from tenderhall.core.periods import HolidayCalendar
from tenderhall.notices.timeline import (
    PROCEDURES,
    TimelineViolation,
    clarification_forces_postponement,
    clarification_latest,
    compute_timeline,
    earliest_deadline_after_clarification,
    enforce_timeline,
    objection_answer_due,
    objection_cutoff,
)
from tenderhall.projects.models import Procedure

CAL = HolidayCalendar.from_json(bundled_year_data(2026))
D = date.fromisoformat
PROCUREMENT = ("competitive_negotiation", "competitive_consultation", "inquiry")


def test_procedures_are_the_project_procedures() -> None:
    assert set(PROCEDURES) == set(Procedure.values)


def test_bundled_2026_facts_used_below() -> None:
    # The make-up working days and holidays the cases rely on (国办发明电〔2025〕7号).
    assert D("2026-09-20").weekday() == 6 and CAL.is_working_day(D("2026-09-20"))
    assert D("2026-10-10").weekday() == 5 and CAL.is_working_day(D("2026-10-10"))
    assert D("2026-02-14").weekday() == 5 and CAL.is_working_day(D("2026-02-14"))
    assert D("2026-02-28").weekday() == 5 and CAL.is_working_day(D("2026-02-28"))
    assert all(CAL.is_rest_day(D("2026-10-01") + timedelta(days=i)) for i in range(7))
    assert all(CAL.is_rest_day(D("2026-02-15") + timedelta(days=i)) for i in range(9))


# -- open / invited tender: the rules and their articles ------------------------------------------------


@pytest.mark.parametrize("procedure", ["open", "invited"])
def test_tender_rules_and_articles(procedure: str) -> None:
    t = compute_timeline(
        procedure=procedure, docs_issued=D("2026-03-02"), calendar=CAL, deadline=D("2026-03-25")
    )
    assert [(r.code, r.article) for r in t.rules] == [
        ("docs_sale_period", "条例 Art 16"),
        ("bid_preparation_period", "法 Art 24"),
        ("clarification_cutoff", "法 Art 23, 条例 Art 21"),
        ("objection_cutoff", "条例 Art 22"),
        ("objection_answer", "条例 Art 22"),
    ]
    assert all(r.title_zh and r.title_en and r.note_zh and r.note_en for r in t.rules)


def test_open_tender_normal_case() -> None:
    t = compute_timeline(
        procedure="open",
        docs_issued=D("2026-03-02"),  # Monday
        calendar=CAL,
        deadline=D("2026-03-25"),
        docs_sale_end=D("2026-03-09"),
    )
    # 法 Art 24: 20 calendar days, issue day not counted; a Sunday is fine (minimum interval).
    assert t.earliest_deadline == D("2026-03-22") and D("2026-03-22").weekday() == 6
    prep = t.rule("bid_preparation_period")
    assert (prep.earliest, prep.given, prep.complies) == (D("2026-03-22"), D("2026-03-25"), True)
    # 条例 Art 16: the fifth day (Sat 03-07) is a rest day, so the sale runs to Monday 03-09.
    sale = t.rule("docs_sale_period")
    assert (sale.earliest, sale.given, sale.complies) == (D("2026-03-09"), D("2026-03-09"), True)
    assert t.rule("clarification_cutoff").latest == D("2026-03-10")
    assert t.rule("objection_cutoff").latest == D("2026-03-15")
    assert t.rule("objection_answer").complies is None
    assert t.complies
    enforce_timeline(t)  # no violation


def test_nothing_given_nothing_checked() -> None:
    t = compute_timeline(procedure="open", docs_issued=D("2026-03-02"), calendar=CAL)
    assert all(r.complies is None for r in t.rules)
    assert t.complies
    assert t.rule("clarification_cutoff").latest is None
    assert t.rule("objection_cutoff").latest is None
    assert t.earliest_deadline == D("2026-03-22")


def test_deadline_one_day_short_breaks_art_24() -> None:
    t = compute_timeline(
        procedure="open", docs_issued=D("2026-03-02"), calendar=CAL, deadline=D("2026-03-21")
    )
    assert t.rule("bid_preparation_period").complies is False
    assert not t.complies
    assert t.first_violation is not None and t.first_violation.code == "bid_preparation_period"


def test_sale_shorter_than_five_days_breaks_art_16() -> None:
    t = compute_timeline(
        procedure="invited", docs_issued=D("2026-03-02"), calendar=CAL, docs_sale_end=D("2026-03-07")
    )
    assert t.rule("docs_sale_period").complies is False


# -- holidays and make-up working days (2026) --------------------------------------------------------


def test_issue_on_make_up_sunday() -> None:
    # Documents issued on Sunday 2026-09-20, a make-up working day before 中秋/国庆.
    t = compute_timeline(procedure="open", docs_issued=D("2026-09-20"), calendar=CAL)
    # 20-day interval: 2026-10-10, itself a make-up Saturday; an interval is never moved anyway.
    assert t.earliest_deadline == D("2026-10-10")
    # Sale: the fifth day 09-25 is 中秋, 09-26/27 too: the sale runs to Monday 09-28.
    assert t.rule("docs_sale_period").earliest == D("2026-09-28")


def test_twenty_day_interval_may_end_on_a_holiday() -> None:
    # 法 Art 24 is a minimum interval: 2026-09-17 + 20 = 2026-10-07 (国庆), not moved to 10-08.
    t = compute_timeline(
        procedure="open", docs_issued=D("2026-09-17"), calendar=CAL, deadline=D("2026-10-07")
    )
    assert CAL.is_rest_day(D("2026-10-07"))
    assert t.earliest_deadline == D("2026-10-07")
    assert t.complies
    early = compute_timeline(
        procedure="open", docs_issued=D("2026-09-17"), calendar=CAL, deadline=D("2026-10-06")
    )
    assert not early.complies


@pytest.mark.parametrize(
    ("issued", "sale_end"),
    [
        ("2026-09-28", "2026-10-08"),  # fifth day 10-03 is 国庆: the sale runs to 10-08
        ("2026-09-30", "2026-10-08"),  # fifth day 10-05 is 国庆
        ("2026-10-05", "2026-10-10"),  # fifth day 10-10 is a make-up Saturday: it stays
        ("2026-02-10", "2026-02-24"),  # fifth day 02-15 is 春节: runs to 02-24
        ("2026-02-09", "2026-02-14"),  # fifth day 02-14 is a make-up Saturday: it stays
    ],
)
def test_sale_period_extended_past_rest_days(issued: str, sale_end: str) -> None:
    t = compute_timeline(procedure="open", docs_issued=D(issued), calendar=CAL, docs_sale_end=D(sale_end))
    sale = t.rule("docs_sale_period")
    assert sale.earliest == D(sale_end)
    assert sale.complies is True
    short = compute_timeline(
        procedure="open", docs_issued=D(issued), calendar=CAL, docs_sale_end=D(sale_end) - timedelta(days=1)
    )
    assert short.rule("docs_sale_period").complies is False


# -- clarification, objection --------------------------------------------------------------------------


def test_clarification_fourteen_days_before_forces_postponement() -> None:
    deadline = D("2026-03-25")
    late = D("2026-03-11")  # 14 days before
    assert clarification_forces_postponement(
        procedure="open", issued_on=late, deadline=deadline, calendar=CAL
    )
    target = earliest_deadline_after_clarification(procedure="open", issued_on=late, calendar=CAL)
    assert target == late + timedelta(days=15) == D("2026-03-26")
    assert not clarification_forces_postponement(
        procedure="open", issued_on=late, deadline=target, calendar=CAL
    )


def test_clarification_fifteen_days_before_is_in_time() -> None:
    deadline = D("2026-03-25")
    on_time = D("2026-03-10")
    assert clarification_latest(procedure="open", deadline=deadline, calendar=CAL) == on_time
    assert not clarification_forces_postponement(
        procedure="invited", issued_on=on_time, deadline=deadline, calendar=CAL
    )


def test_postponement_target_also_respects_the_preparation_period() -> None:
    # A clarification on the day after issue: 15 days would be too early for 法 Art 24's 20 days.
    target = earliest_deadline_after_clarification(
        procedure="open", issued_on=D("2026-03-03"), calendar=CAL, docs_issued=D("2026-03-02")
    )
    assert target == D("2026-03-22")
    late = earliest_deadline_after_clarification(
        procedure="open", issued_on=D("2026-03-20"), calendar=CAL, docs_issued=D("2026-03-02")
    )
    assert late == D("2026-04-04")  # 15 days; a holiday (清明), but an interval is not moved


def test_objection_cutoff_across_a_weekend() -> None:
    # 条例 Art 22: 10 calendar days before the deadline; a Saturday cutoff is not moved.
    assert objection_cutoff(procedure="open", deadline=D("2026-03-24"), calendar=CAL) == D("2026-03-14")
    assert D("2026-03-14").weekday() == 5
    assert objection_cutoff(procedure="invited", deadline=D("2026-03-23"), calendar=CAL) == D("2026-03-13")


@pytest.mark.parametrize("procedure", PROCUREMENT)
def test_procurement_has_no_objection_cutoff(procedure: str) -> None:
    assert objection_cutoff(procedure=procedure, deadline=D("2026-03-24"), calendar=CAL) is None
    t = compute_timeline(procedure=procedure, docs_issued=D("2026-03-02"), calendar=CAL)
    with pytest.raises(KeyError):
        t.rule("objection_cutoff")


@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2026-03-02", "2026-03-05"),  # Monday → Thursday
        ("2026-03-04", "2026-03-09"),  # Wednesday: day 3 is Saturday → Monday (民法典 Art 203)
        ("2026-03-05", "2026-03-09"),  # Thursday: day 3 is Sunday → Monday
        ("2026-09-29", "2026-10-08"),  # day 3 is 国庆 → 10-08
        ("2026-10-07", "2026-10-10"),  # day 3 is the make-up Saturday: stays
    ],
)
def test_objection_answer_due(received: str, due: str) -> None:
    assert objection_answer_due(received_on=D(received), calendar=CAL) == D(due)


# -- government procurement across 春节 2026 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("procedure", "article"), [("competitive_negotiation", "74号令 Art 29"), ("inquiry", "74号令 Art 45")]
)
@pytest.mark.parametrize(
    ("issued", "earliest"),
    [
        ("2026-03-02", "2026-03-05"),  # Monday → Thursday
        ("2026-03-05", "2026-03-10"),  # Thursday → Fri, Mon, Tue
        ("2026-02-13", "2026-02-25"),  # Fri: 02-14 (make-up Sat), 02-24, 02-25
        ("2026-02-12", "2026-02-24"),  # Thu: 02-13, 02-14, 02-24
        ("2026-02-26", "2026-03-02"),  # Thu: 02-27, 02-28 (make-up Sat), 03-02
    ],
)
def test_three_working_days(procedure: str, article: str, issued: str, earliest: str) -> None:
    t = compute_timeline(procedure=procedure, docs_issued=D(issued), calendar=CAL, deadline=D(earliest))
    prep = t.rule("bid_preparation_period")
    assert prep.article == article
    assert t.earliest_deadline == D(earliest)
    assert t.complies
    short = compute_timeline(
        procedure=procedure, docs_issued=D(issued), calendar=CAL, deadline=D(earliest) - timedelta(days=1)
    )
    assert not short.complies
    assert [r.code for r in t.rules] == ["bid_preparation_period", "clarification_cutoff"]
    assert t.rule("clarification_cutoff").article == article


@pytest.mark.parametrize("procedure", ["competitive_negotiation", "inquiry"])
@pytest.mark.parametrize(
    ("deadline", "latest"),
    [
        ("2026-02-25", "2026-02-13"),  # back: 02-25, 02-24, 02-14 (make-up Sat) → issue by 02-13
        ("2026-03-02", "2026-02-26"),  # back: 03-02, 02-28 (make-up Sat), 02-27 → by 02-26
        ("2026-03-05", "2026-03-02"),  # Thursday: Thu, Wed, Tue → by Monday
    ],
)
def test_three_working_day_clarification(procedure: str, deadline: str, latest: str) -> None:
    t = compute_timeline(procedure=procedure, docs_issued=D("2026-02-01"), calendar=CAL, deadline=D(deadline))
    assert t.rule("clarification_cutoff").latest == D(latest)
    assert not clarification_forces_postponement(
        procedure=procedure, issued_on=D(latest), deadline=D(deadline), calendar=CAL
    )
    next_day = D(latest) + timedelta(days=1)
    assert clarification_forces_postponement(
        procedure=procedure, issued_on=next_day, deadline=D(deadline), calendar=CAL
    )


def test_negotiation_postponement_across_spring_festival() -> None:
    # Clarification on Friday 02-13, three working days: 02-14 (make-up Sat), 02-24, 02-25.
    assert earliest_deadline_after_clarification(
        procedure="competitive_negotiation", issued_on=D("2026-02-13"), calendar=CAL
    ) == D("2026-02-25")


def test_competitive_consultation() -> None:
    t = compute_timeline(
        procedure="competitive_consultation",
        docs_issued=D("2026-02-13"),
        calendar=CAL,
        deadline=D("2026-02-23"),
        docs_sale_end=D("2026-02-27"),
    )
    assert [(r.code, r.article) for r in t.rules] == [
        ("docs_sale_period", "214号文 Art 10"),
        ("bid_preparation_period", "214号文 Art 10"),
        ("clarification_cutoff", "214号文 Art 10"),
    ]
    # 10 calendar days (an interval: 02-23 is 春节 and still fine).
    assert t.earliest_deadline == D("2026-02-23")
    # Sale: 5 working days after 02-13: 02-14 (make-up Sat), 02-24, 02-25, 02-26, 02-27.
    assert t.rule("docs_sale_period").earliest == D("2026-02-27")
    # Clarification at least 5 days before the deadline.
    assert t.rule("clarification_cutoff").latest == D("2026-02-18")
    assert t.complies
    assert earliest_deadline_after_clarification(
        procedure="competitive_consultation", issued_on=D("2026-03-02"), calendar=CAL
    ) == D("2026-03-07")


# -- enforcement -----------------------------------------------------------------------------------------


def test_enforce_names_rule_and_article_in_both_languages() -> None:
    t = compute_timeline(
        procedure="open", docs_issued=D("2026-03-02"), calendar=CAL, deadline=D("2026-03-20")
    )
    with pytest.raises(TimelineViolation) as caught:
        enforce_timeline(t)
    err = caught.value
    assert err.code == "timeline_violation"
    assert err.status == 422
    assert err.article == "法 Art 24"
    assert "法 Art 24" in err.message_zh and "投标文件编制期" in err.message_zh
    assert "2026-03-22" in err.message_zh and "2026-03-20" in err.message_zh
    assert "法 Art 24" in err.message_en and "Bid preparation period" in err.message_en
    assert "2026-03-22" in err.message_en
    assert err.extra == {"rule": "bid_preparation_period", "earliest": "2026-03-22", "latest": None}
    assert err.fields == {"deadline": ""}
    problem = err.as_problem()
    assert problem["rule"] == "bid_preparation_period"
    assert problem["article"] == "法 Art 24"
    json.dumps(problem, ensure_ascii=False)  # JSON-ready


def test_enforce_reports_the_first_broken_rule() -> None:
    t = compute_timeline(
        procedure="open",
        docs_issued=D("2026-03-02"),
        calendar=CAL,
        deadline=D("2026-03-20"),
        docs_sale_end=D("2026-03-06"),
    )
    with pytest.raises(TimelineViolation) as caught:
        enforce_timeline(t)
    assert caught.value.article == "条例 Art 16"
    assert "条例 Art 16" in caught.value.message_zh and "条例 Art 16" in caught.value.message_en
    assert caught.value.extra["rule"] == "docs_sale_period"
    assert caught.value.fields == {"docs_sale_end": ""}


def test_enforce_procurement_article() -> None:
    t = compute_timeline(
        procedure="inquiry", docs_issued=D("2026-02-13"), calendar=CAL, deadline=D("2026-02-24")
    )
    with pytest.raises(TimelineViolation) as caught:
        enforce_timeline(t)
    assert caught.value.article == "74号令 Art 45"
    assert "74号令 Art 45" in caught.value.message_zh and "74号令 Art 45" in caught.value.message_en
    assert caught.value.extra == {"rule": "bid_preparation_period", "earliest": "2026-02-25", "latest": None}


# -- input handling and serialization ---------------------------------------------------------------


def test_as_dict_is_json_ready() -> None:
    t = compute_timeline(
        procedure="open",
        docs_issued=D("2026-03-02"),
        calendar=CAL,
        deadline=D("2026-03-25"),
        docs_sale_end=D("2026-03-09"),
    )
    data = json.loads(json.dumps(t.as_dict(), ensure_ascii=False))
    assert data["procedure"] == "open"
    assert data["docs_issued"] == "2026-03-02"
    assert data["deadline"] == "2026-03-25"
    assert data["docs_sale_end"] == "2026-03-09"
    assert data["earliest_deadline"] == "2026-03-22"
    assert data["complies"] is True
    prep = next(r for r in data["rules"] if r["code"] == "bid_preparation_period")
    assert prep == {
        "code": "bid_preparation_period",
        "title_zh": "投标文件编制期（等标期）",
        "title_en": "Bid preparation period",
        "article": "法 Art 24",
        "earliest": "2026-03-22",
        "latest": None,
        "given": "2026-03-25",
        "complies": True,
        "note_zh": prep["note_zh"],
        "note_en": prep["note_en"],
    }


def test_unknown_procedure_is_a_refusal() -> None:
    with pytest.raises(ValidationFailed) as caught:
        compute_timeline(procedure="auction", docs_issued=D("2026-03-02"), calendar=CAL)
    assert caught.value.code == "procedure_unknown"
    assert caught.value.fields == {"procedure": ""}


def test_aware_datetime_deadline_uses_the_local_date() -> None:
    # 2026-03-21 16:30 UTC is 2026-03-22 00:30 in Shanghai: the local date complies.
    deadline = dt.datetime(2026, 3, 21, 16, 30, tzinfo=dt.UTC)
    t = compute_timeline(procedure="open", docs_issued=D("2026-03-02"), calendar=CAL, deadline=deadline)
    assert t.deadline == D("2026-03-22")
    assert t.complies


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(TypeError, match="naive"):
        compute_timeline(
            procedure="open",
            docs_issued=D("2026-03-02"),
            calendar=CAL,
            deadline=dt.datetime(2026, 3, 25, 9, 30),
        )


# -- properties ----------------------------------------------------------------------------------------

days_2026 = st.dates(min_value=D("2025-12-01"), max_value=D("2026-12-31"))


@given(procedure=st.sampled_from(PROCEDURES), issued=days_2026)
def test_earliest_deadline_complies_and_the_day_before_does_not(procedure: str, issued: date) -> None:
    t = compute_timeline(procedure=procedure, docs_issued=issued, calendar=CAL)
    ok = compute_timeline(procedure=procedure, docs_issued=issued, calendar=CAL, deadline=t.earliest_deadline)
    assert ok.rule("bid_preparation_period").complies is True
    enforce_timeline(ok)
    early = compute_timeline(
        procedure=procedure,
        docs_issued=issued,
        calendar=CAL,
        deadline=t.earliest_deadline - timedelta(days=1),
    )
    assert early.rule("bid_preparation_period").complies is False
    with pytest.raises(TimelineViolation):
        enforce_timeline(early)


@given(procedure=st.sampled_from(["open", "invited", "competitive_consultation"]), issued=days_2026)
def test_earliest_sale_end_complies_and_the_day_before_does_not(procedure: str, issued: date) -> None:
    earliest = (
        compute_timeline(procedure=procedure, docs_issued=issued, calendar=CAL)
        .rule("docs_sale_period")
        .earliest
    )
    assert earliest is not None and CAL.is_working_day(earliest)  # a sale ends on a working day
    ok = compute_timeline(procedure=procedure, docs_issued=issued, calendar=CAL, docs_sale_end=earliest)
    assert ok.complies
    short = compute_timeline(
        procedure=procedure, docs_issued=issued, calendar=CAL, docs_sale_end=earliest - timedelta(days=1)
    )
    assert not short.complies


@given(procedure=st.sampled_from(PROCEDURES), issued=days_2026, deadline=days_2026)
def test_clarification_cutoff_and_postponement_agree(procedure: str, issued: date, deadline: date) -> None:
    latest = clarification_latest(procedure=procedure, deadline=deadline, calendar=CAL)
    forced = clarification_forces_postponement(
        procedure=procedure, issued_on=issued, deadline=deadline, calendar=CAL
    )
    assert forced == (issued > latest)
    target = earliest_deadline_after_clarification(procedure=procedure, issued_on=issued, calendar=CAL)
    assert not clarification_forces_postponement(
        procedure=procedure, issued_on=issued, deadline=target, calendar=CAL
    )
    assert clarification_forces_postponement(
        procedure=procedure, issued_on=issued, deadline=target - timedelta(days=1), calendar=CAL
    )


@given(received=days_2026)
def test_objection_answer_due_is_a_working_day_at_least_three_days_later(received: date) -> None:
    due = objection_answer_due(received_on=received, calendar=CAL)
    assert due >= received + timedelta(days=3)
    assert CAL.is_working_day(due)
    assert all(
        CAL.is_rest_day(d) for d in (received + timedelta(days=i) for i in range(3, (due - received).days))
    )


def test_worked_example_in_docs() -> None:
    # docs/timeline.md "Worked example": keep the two in step.
    t = compute_timeline(
        procedure="open",
        docs_issued=D("2026-09-17"),
        calendar=CAL,
        deadline=D("2026-10-07"),
        docs_sale_end=D("2026-09-22"),
    )
    assert t.complies
    assert t.rule("docs_sale_period").earliest == D("2026-09-22")
    assert t.rule("bid_preparation_period").earliest == D("2026-10-07")
    assert t.rule("clarification_cutoff").latest == D("2026-09-22")
    assert earliest_deadline_after_clarification(
        procedure="open", issued_on=D("2026-09-24"), calendar=CAL
    ) == D("2026-10-09")
    assert t.rule("objection_cutoff").latest == D("2026-09-27")
    assert objection_answer_due(received_on=D("2026-09-29"), calendar=CAL) == D("2026-10-08")
    negotiation = compute_timeline(
        procedure="competitive_negotiation",
        docs_issued=D("2026-02-13"),
        calendar=CAL,
        deadline=D("2026-02-25"),
    )
    assert negotiation.earliest_deadline == D("2026-02-25")
    assert negotiation.rule("clarification_cutoff").latest == D("2026-02-13")
