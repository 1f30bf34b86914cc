"""The statutory timeline of a notice: every period between the issue of the documents and the
bid (response) deadline, computed and enforced in one place (DESIGN §3 "Statutory periods").

Pure: no database access; the caller passes the holiday calendar (``core.calendar.stored_calendar()``).
Dates are local (Asia/Shanghai) calendar dates; a caller holding a deadline ``datetime`` converts it
with ``.astimezone(clock.LOCAL_TZ).date()`` (aware datetimes passed here are converted the same way).

Sources (abbreviations used in ``article``):

* 法 = 中华人民共和国招标投标法; 条例 = 中华人民共和国招标投标法实施条例;
* 民法典 arts. 200-204 (counting of periods, see ``core.periods``);
* 74号令 = 政府采购非招标采购方式管理办法（财政部令第74号）: 竞争性谈判 Art 29, 询价 Art 45;
* 214号文 = 政府采购竞争性磋商采购方式管理暂行办法（财库〔2014〕214号）: Art 10.

Two kinds of period (``core.periods``): a *minimum interval* only has to elapse (calendar days,
start day not counted, never extended: ``earliest_date_after`` / ``latest_date_before``); a *time
limit* is a period someone must act within (start day not counted, a rest-day last day is extended
to the next working day, 民法典 Art 203: ``period_end``). The rationale of each choice is in
``docs/timeline.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from tenderhall.core import clock
from tenderhall.core.errors import ValidationFailed
from tenderhall.core.periods import HolidayCalendar

__all__ = [
    "PROCEDURES",
    "SOURCES",
    "RuleResult",
    "Timeline",
    "TimelineViolation",
    "clarification_forces_postponement",
    "clarification_latest",
    "compute_timeline",
    "earliest_deadline_after_clarification",
    "enforce_timeline",
    "objection_answer_due",
    "objection_cutoff",
]

# The values of projects.models.Procedure (kept here as strings so this module stays pure;
# tests/notices/test_timeline.py checks they agree).
OPEN = "open"
INVITED = "invited"
COMPETITIVE_NEGOTIATION = "competitive_negotiation"
COMPETITIVE_CONSULTATION = "competitive_consultation"
INQUIRY = "inquiry"
PROCEDURES: Final = (OPEN, INVITED, COMPETITIVE_NEGOTIATION, COMPETITIVE_CONSULTATION, INQUIRY)
_TENDER: Final = frozenset({OPEN, INVITED})  # 招标投标法 procedures

SOURCES: Final[dict[str, str]] = {
    "法": "中华人民共和国招标投标法",
    "条例": "中华人民共和国招标投标法实施条例",
    "民法典": "中华人民共和国民法典",
    "74号令": "政府采购非招标采购方式管理办法（财政部令第74号）",
    "214号文": "政府采购竞争性磋商采购方式管理暂行办法（财库〔2014〕214号）",
}

# Rule codes (stable: callers and the API use them).
DOCS_SALE_PERIOD: Final = "docs_sale_period"
BID_PREPARATION_PERIOD: Final = "bid_preparation_period"
CLARIFICATION_CUTOFF: Final = "clarification_cutoff"
OBJECTION_CUTOFF: Final = "objection_cutoff"
OBJECTION_ANSWER: Final = "objection_answer"

# Which date a rule constrains, named as compute_timeline's parameter (for form field errors).
_FIELD: Final[dict[str, str]] = {DOCS_SALE_PERIOD: "docs_sale_end", BID_PREPARATION_PERIOD: "deadline"}


@dataclass(frozen=True)
class _Period:
    """One statutory period of a procedure: ``days`` calendar days or working days."""

    days: int
    working_days: bool
    article: str


# 法 Art 24: 自招标文件开始发出之日起至投标人提交投标文件截止之日止，最短不得少于二十日.
# 74号令 Art 29 (谈判) / Art 45 (询价): 从…文件发出之日起至…响应文件截止之日止不得少于3个工作日.
# 214号文 Art 10: 从磋商文件发出之日起至供应商提交首次响应文件截止之日止不得少于10日.
_PREPARATION: Final[dict[str, _Period]] = {
    OPEN: _Period(20, False, "法 Art 24"),
    INVITED: _Period(20, False, "法 Art 24"),
    COMPETITIVE_NEGOTIATION: _Period(3, True, "74号令 Art 29"),
    INQUIRY: _Period(3, True, "74号令 Art 45"),
    COMPETITIVE_CONSULTATION: _Period(10, False, "214号文 Art 10"),
}

# 法 Art 23 / 条例 Art 21: 投标截止时间至少十五日前 …不足15日的，应当顺延投标截止时间.
# 74号令 Art 29 / Art 45: 截止之日3个工作日前 …不足3个工作日的，应当顺延.
# 214号文 Art 10: 截止时间至少5日前 …不足5日的，应当顺延.
_CLARIFICATION: Final[dict[str, _Period]] = {
    OPEN: _Period(15, False, "法 Art 23, 条例 Art 21"),
    INVITED: _Period(15, False, "法 Art 23, 条例 Art 21"),
    COMPETITIVE_NEGOTIATION: _Period(3, True, "74号令 Art 29"),
    INQUIRY: _Period(3, True, "74号令 Art 45"),
    COMPETITIVE_CONSULTATION: _Period(5, False, "214号文 Art 10"),
}

# 条例 Art 16: 招标文件的发售期不得少于5日 (a time limit: extended past a rest-day end, 民法典 Art 203).
# 214号文 Art 10: 磋商文件的发售期限自开始之日起不得少于5个工作日.
# 74号令 sets no sale period for 谈判 / 询价 documents.
_SALE: Final[dict[str, _Period]] = {
    OPEN: _Period(5, False, "条例 Art 16"),
    INVITED: _Period(5, False, "条例 Art 16"),
    COMPETITIVE_CONSULTATION: _Period(5, True, "214号文 Art 10"),
}

_OBJECTION_DAYS: Final = 10  # 条例 Art 22: 对招标文件有异议的，应当在投标截止时间10日前提出
_OBJECTION_ANSWER_DAYS: Final = 3  # 条例 Art 22: 自收到异议之日起3日内作出答复


@dataclass(frozen=True)
class RuleResult:
    """One statutory rule applied to a notice's dates."""

    code: str  # e.g. "bid_preparation_period"
    title_zh: str
    title_en: str
    article: str  # e.g. "法 Art 24"
    earliest: date | None  # earliest lawful date for the date this rule constrains
    latest: date | None  # latest lawful date (cutoffs)
    given: date | None  # the date checked, when given
    complies: bool | None  # None when nothing was given to check
    note_zh: str
    note_en: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "article": self.article,
            "earliest": _iso(self.earliest),
            "latest": _iso(self.latest),
            "given": _iso(self.given),
            "complies": self.complies,
            "note_zh": self.note_zh,
            "note_en": self.note_en,
        }


@dataclass(frozen=True)
class Timeline:
    procedure: str
    docs_issued: date
    deadline: date | None
    rules: list[RuleResult]
    docs_sale_end: date | None = None

    @property
    def complies(self) -> bool:
        """No rule is broken (rules with nothing to check do not count)."""
        return all(r.complies is not False for r in self.rules)

    @property
    def earliest_deadline(self) -> date:
        """The earliest lawful bid (first response) deadline."""
        earliest = self.rule(BID_PREPARATION_PERIOD).earliest
        assert earliest is not None  # always computed from docs_issued
        return earliest

    @property
    def first_violation(self) -> RuleResult | None:
        return next((r for r in self.rules if r.complies is False), None)

    def rule(self, code: str) -> RuleResult:
        for r in self.rules:
            if r.code == code:
                return r
        raise KeyError(f"procedure {self.procedure!r} has no rule {code!r}")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, dates in ISO form."""
        return {
            "procedure": self.procedure,
            "docs_issued": self.docs_issued.isoformat(),
            "deadline": _iso(self.deadline),
            "docs_sale_end": _iso(self.docs_sale_end),
            "earliest_deadline": self.earliest_deadline.isoformat(),
            "complies": self.complies,
            "rules": [r.as_dict() for r in self.rules],
        }


class TimelineViolation(ValidationFailed):
    """A date breaks a statutory period; names the rule and its article in both languages."""

    def __init__(self, rule: RuleResult) -> None:
        self.rule = rule
        given = _iso(rule.given)
        if rule.earliest is not None and rule.given is not None and rule.given < rule.earliest:
            bound_zh = f"{given} 早于最早的合法日期 {rule.earliest.isoformat()}"
            bound_en = f"{given} is before the earliest lawful date {rule.earliest.isoformat()}"
        elif rule.latest is not None:
            bound_zh = f"{given} 晚于最晚的合法日期 {rule.latest.isoformat()}"
            bound_en = f"{given} is after the latest lawful date {rule.latest.isoformat()}"
        else:  # pragma: no cover - a failing rule always has a bound
            bound_zh = bound_en = str(given)
        field = _FIELD.get(rule.code)
        super().__init__(
            "timeline_violation",
            f"{rule.title_zh}不符合{rule.article}的规定：{bound_zh}",
            f"{rule.title_en} does not comply with {rule.article}: {bound_en}",
            article=rule.article,
            fields={field: ""} if field else None,
            extra={"rule": rule.code, "earliest": _iso(rule.earliest), "latest": _iso(rule.latest)},
        )


# -- public functions ---------------------------------------------------------------------------------


def compute_timeline(
    *,
    procedure: str,
    docs_issued: date,
    calendar: HolidayCalendar,
    deadline: date | None = None,
    docs_sale_end: date | None = None,
) -> Timeline:
    """Every period of ``procedure`` for documents first issued (put on sale) on ``docs_issued``.

    ``deadline`` (bid / first response deadline) and ``docs_sale_end`` are checked when given.
    """
    _check_procedure(procedure)
    docs_issued = _local_date(docs_issued, "docs_issued")
    deadline = _local_date(deadline, "deadline") if deadline is not None else None
    docs_sale_end = _local_date(docs_sale_end, "docs_sale_end") if docs_sale_end is not None else None

    rules: list[RuleResult] = []
    if procedure in _SALE:
        rules.append(_sale_rule(procedure, docs_issued, docs_sale_end, calendar))
    rules.append(_preparation_rule(procedure, docs_issued, deadline, calendar))
    rules.append(_clarification_rule(procedure, deadline, calendar))
    if procedure in _TENDER:
        rules.append(_objection_rule(deadline, calendar))
        rules.append(_objection_answer_rule())
    return Timeline(
        procedure=procedure,
        docs_issued=docs_issued,
        deadline=deadline,
        rules=rules,
        docs_sale_end=docs_sale_end,
    )


def enforce_timeline(timeline: Timeline) -> None:
    """Raise :class:`TimelineViolation` for the first broken rule (in the order of ``rules``)."""
    broken = timeline.first_violation
    if broken is not None:
        raise TimelineViolation(broken)


def earliest_deadline_after_clarification(
    *,
    procedure: str,
    issued_on: date,
    calendar: HolidayCalendar,
    docs_issued: date | None = None,
) -> date:
    """The earliest deadline a clarification or modification issued on ``issued_on`` allows: the
    target of the forced postponement (法 Art 23 / 条例 Art 21: 不足15日的，应当顺延; 74号令 Art 29 /
    Art 45; 214号文 Art 10).

    With ``docs_issued`` the result is also no earlier than the procedure's preparation period
    (法 Art 24 ...), so it is a deadline that satisfies both.
    """
    _check_procedure(procedure)
    issued_on = _local_date(issued_on, "issued_on")
    target = _after(calendar, issued_on, _CLARIFICATION[procedure])
    if docs_issued is not None:
        docs_issued = _local_date(docs_issued, "docs_issued")
        target = max(target, _after(calendar, docs_issued, _PREPARATION[procedure]))
    return target


def clarification_latest(*, procedure: str, deadline: date, calendar: HolidayCalendar) -> date:
    """Last day a clarification that may affect bid preparation can be issued without moving
    ``deadline`` (法 Art 23 / 条例 Art 21; 74号令 Art 29 / Art 45; 214号文 Art 10)."""
    _check_procedure(procedure)
    return _before(calendar, _local_date(deadline, "deadline"), _CLARIFICATION[procedure])


def clarification_forces_postponement(
    *, procedure: str, issued_on: date, deadline: date, calendar: HolidayCalendar
) -> bool:
    """Whether a clarification issued on ``issued_on`` comes too late for ``deadline`` (the
    deadline must then move to :func:`earliest_deadline_after_clarification` or later)."""
    deadline = _local_date(deadline, "deadline")
    return deadline < earliest_deadline_after_clarification(
        procedure=procedure, issued_on=issued_on, calendar=calendar
    )


def objection_cutoff(*, procedure: str, deadline: date, calendar: HolidayCalendar) -> date | None:
    """Last day to object to the tender documents (条例 Art 22: 投标截止时间10日前); ``None`` for
    the procurement procedures, which have no such rule (their suppliers use 质疑 instead)."""
    _check_procedure(procedure)
    if procedure not in _TENDER:
        return None
    return calendar.latest_date_before(_local_date(deadline, "deadline"), _OBJECTION_DAYS)


def objection_answer_due(*, received_on: date, calendar: HolidayCalendar) -> date:
    """Last day for the tenderer's answer to an objection (条例 Art 22: 自收到异议之日起3日内作出
    答复), a time limit: start day not counted, extended past a rest-day end (民法典 Arts 201, 203).
    Until it answers, the tender is paused (条例 Art 22: 作出答复前，应当暂停招标投标活动)."""
    return calendar.period_end(_local_date(received_on, "received_on"), _OBJECTION_ANSWER_DAYS)


# -- rules ----------------------------------------------------------------------------------------------


def _sale_rule(procedure: str, docs_issued: date, sale_end: date | None, cal: HolidayCalendar) -> RuleResult:
    period = _SALE[procedure]
    if period.working_days:
        # 214号文 Art 10: 5 working days; start day not counted (民法典 Art 201, conservative).
        earliest = cal.add_working_days(docs_issued, period.days)
        note_zh = "发售期自开始发售之日起不少于5个工作日；开始当日不计入（民法典第二百零一条），按从严理解。"
        note_en = (
            "The documents are on sale for at least 5 working days; the first day of sale is not "
            "counted (民法典 Art 201, the conservative reading)."
        )
        title_zh, title_en = "磋商文件发售期", "Consultation documents sale period"
    else:
        # 条例 Art 16: 5 days as a period to run through: start day not counted (民法典 Art 201), and
        # the sale runs on to the next working day if the fifth day is a rest day (民法典 Art 203).
        earliest = cal.period_end(docs_issued, period.days)
        note_zh = (
            "招标文件发售期不得少于5日：开始发售当日不计入，须完整经过其后5日；第5日为法定休假日的，"
            "发售延续至其后第一个工作日（民法典第二百零一条、第二百零三条）。"
        )
        note_en = (
            "The documents are on sale for at least 5 days: the first day of sale is not counted, 5 "
            "full days must follow, and if the fifth is a rest day the sale runs to the next working "
            "day (民法典 Arts 201, 203)."
        )
        title_zh, title_en = "招标文件发售期", "Tender documents sale period"
    return RuleResult(
        code=DOCS_SALE_PERIOD,
        title_zh=title_zh,
        title_en=title_en,
        article=period.article,
        earliest=earliest,
        latest=None,
        given=sale_end,
        complies=None if sale_end is None else sale_end >= earliest,
        note_zh=note_zh,
        note_en=note_en,
    )


def _preparation_rule(
    procedure: str, docs_issued: date, deadline: date | None, cal: HolidayCalendar
) -> RuleResult:
    period = _PREPARATION[procedure]
    earliest = _after(cal, docs_issued, period)
    if procedure in _TENDER:
        title_zh, title_en = "投标文件编制期（等标期）", "Bid preparation period"
        note_zh = (
            "自招标文件开始发出之日起至投标截止之日止不少于20日：日历日，发出当日不计入，"
            "期间只需经过、不因节假日顺延（最短间隔，而非办事时限）。"
        )
        note_en = (
            "At least 20 days from the first issue of the documents to the bid deadline: calendar "
            "days, the issue day not counted, never extended for rest days (a minimum interval that "
            "only has to elapse, not a time limit to act within)."
        )
    elif period.working_days:
        title_zh, title_en = "响应文件准备期", "Response preparation period"
        note_zh = (
            f"自文件发出之日起至提交首次响应文件截止之日止不少于{period.days}个工作日：发出当日不计入，"
            "截止当日计入，调休上班日计为工作日。"
        )
        note_en = (
            f"At least {period.days} working days from the issue of the documents to the (first) "
            "response deadline: the issue day not counted, the deadline day counted, make-up "
            "working days (调休) count."
        )
    else:
        title_zh, title_en = "响应文件准备期", "Response preparation period"
        note_zh = (
            f"自磋商文件发出之日起至提交首次响应文件截止之日止不少于{period.days}日：日历日，"
            "发出当日不计入，不因节假日顺延。"
        )
        note_en = (
            f"At least {period.days} days from the issue of the documents to the first response "
            "deadline: calendar days, the issue day not counted, never extended for rest days."
        )
    return RuleResult(
        code=BID_PREPARATION_PERIOD,
        title_zh=title_zh,
        title_en=title_en,
        article=period.article,
        earliest=earliest,
        latest=None,
        given=deadline,
        complies=None if deadline is None else deadline >= earliest,
        note_zh=note_zh,
        note_en=note_en,
    )


def _clarification_rule(procedure: str, deadline: date | None, cal: HolidayCalendar) -> RuleResult:
    period = _CLARIFICATION[procedure]
    unit_zh = "个工作日" if period.working_days else "日"
    unit_en = "working days" if period.working_days else "days"
    latest = None if deadline is None else _before(cal, deadline, period)
    note_zh = (
        f"可能影响投标（响应）文件编制的澄清或修改，应在截止时间至少{period.days}{unit_zh}前发出；"
        f"不足{period.days}{unit_zh}的，截止时间应顺延至发出之日后至少{period.days}{unit_zh}。"
    )
    note_en = (
        f"A clarification or modification that may affect bid preparation must be issued at least "
        f"{period.days} {unit_en} before the deadline; a later one moves the deadline to at least "
        f"{period.days} {unit_en} after its issue."
    )
    if deadline is None:
        note_zh += "（未给出截止日期，无法计算。）"
        note_en += " (No deadline given.)"
    return RuleResult(
        code=CLARIFICATION_CUTOFF,
        title_zh="澄清或修改最晚发出日",
        title_en="Last day for clarifications or modifications",
        article=period.article,
        earliest=None,
        latest=latest,
        given=None,
        complies=None,
        note_zh=note_zh,
        note_en=note_en,
    )


def _objection_rule(deadline: date | None, cal: HolidayCalendar) -> RuleResult:
    latest = None if deadline is None else cal.latest_date_before(deadline, _OBJECTION_DAYS)
    note_zh = "潜在投标人或其他利害关系人对招标文件有异议的，应在投标截止时间10日前提出（日历日，不顺延）。"
    note_en = (
        "Objections to the tender documents must be raised at least 10 days before the bid deadline "
        "(calendar days, not extended)."
    )
    return RuleResult(
        code=OBJECTION_CUTOFF,
        title_zh="对招标文件提出异议截止日",
        title_en="Last day for objections to the tender documents",
        article="条例 Art 22",
        earliest=None,
        latest=latest,
        given=None,
        complies=None,
        note_zh=note_zh,
        note_en=note_en,
    )


def _objection_answer_rule() -> RuleResult:
    return RuleResult(
        code=OBJECTION_ANSWER,
        title_zh="异议答复期限",
        title_en="Time limit to answer an objection",
        article="条例 Art 22",
        earliest=None,
        latest=None,
        given=None,
        complies=None,
        note_zh=(
            "招标人应自收到异议之日起3日内答复（收到当日不计入，最后一日为法定休假日的顺延至其后第一个"
            "工作日，民法典第二百零一条、第二百零三条）；答复前应暂停招标投标活动。"
        ),
        note_en=(
            "The tenderer answers within 3 days of receiving an objection (the day of receipt not "
            "counted; a rest-day last day moves to the next working day, 民法典 Arts 201, 203) and "
            "pauses the tender until it has answered."
        ),
    )


# -- counting -------------------------------------------------------------------------------------------


def _after(cal: HolidayCalendar, start: date, period: _Period) -> date:
    """Earliest day at least ``period`` after ``start`` (start day not counted, 民法典 Art 201)."""
    if period.working_days:
        return cal.add_working_days(start, period.days)
    return cal.earliest_date_after(start, period.days)


def _before(cal: HolidayCalendar, deadline: date, period: _Period) -> date:
    """Latest day D with ``_after(cal, D, period) <= deadline`` (the mirror of :func:`_after`)."""
    if not period.working_days:
        return cal.latest_date_before(deadline, period.days)
    # (D, deadline] must hold ``days`` working days: find the days-th working day counting back
    # from the deadline (itself included); D is the day before it.
    d = deadline
    found = 0
    while True:
        if cal.is_working_day(d):
            found += 1
            if found == period.days:
                return d - timedelta(days=1)
        d -= timedelta(days=1)


def _check_procedure(procedure: str) -> None:
    if procedure not in PROCEDURES:
        raise ValidationFailed(
            "procedure_unknown",
            f"未知的采购（招标）方式：{procedure}（应为 {'、'.join(PROCEDURES)} 之一）",
            f"unknown procedure {procedure!r} (expected one of {', '.join(PROCEDURES)})",
            fields={"procedure": ""},
        )


def _local_date(value: date, name: str) -> date:
    """A calendar date; an aware datetime is converted to its Asia/Shanghai date."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError(f"{name}: a naive datetime has no local date; pass a date or an aware datetime")
        return value.astimezone(clock.LOCAL_TZ).date()
    if not isinstance(value, date):
        raise TypeError(f"{name}: expected a date, got {type(value).__name__}")
    return value


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
