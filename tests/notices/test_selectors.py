"""The notices selectors: filters, scopes and the access helpers (not found, never forbidden)."""

from __future__ import annotations

import datetime as dt

import pytest

from tenderhall.accounts.models import Role
from tenderhall.core import clock
from tenderhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from tenderhall.notices import selectors, services
from tenderhall.notices.models import NoticeKind
from tests.factories import UserFactory
from tests.notices.conftest import DEADLINE, SALE_END, SALE_START, World, announce, at, draft_tender, upload


def test_filters_parse_and_refuse_bad_values():
    filters = selectors.notice_filters_from(
        {"q": " 道路 ", "kind": "tender", "published_from": "2026-03-01", "published_to": "2026-03-31"}
    )
    assert filters.q == "道路" and filters.kind == "tender"
    assert filters.published_from == dt.date(2026, 3, 1)
    assert filters.as_query() == {
        "q": "道路",
        "kind": "tender",
        "published_from": "2026-03-01",
        "published_to": "2026-03-31",
    }
    for bad in ({"kind": "x"}, {"category": "x"}, {"procedure": "x"}, {"published_to": "31/03/2026"}):
        with pytest.raises(ValidationFailed) as error:
            selectors.notice_filters_from(bad)
        assert error.value.code == "filter_invalid"
    with pytest.raises(ValidationFailed):
        selectors.notice_filters_from({"published_from": "2026-04-01", "published_to": "2026-03-01"})


def test_drafts_are_seen_by_their_parties_and_the_readers_only(world: World):
    draft = draft_tender(world)
    for who in ("agent", "tenderer", "staff", "supervisor", "auditor"):
        assert selectors.notice_for_user(getattr(world, who), draft.pk) == draft
    for who in ("bidder", "rival_agent"):
        with pytest.raises(NotFound):
            selectors.notice_for_user(getattr(world, who), draft.pk)
    with pytest.raises(NotFound):
        selectors.public_notice(draft.pk)
    with pytest.raises(NotFound):
        selectors.managed_notice(world.rival_agent, draft.pk)
    with pytest.raises(PermissionDenied):
        selectors.managed_notices(world.bidder)


def test_a_publisher_sees_only_its_registered_projects(world: World):
    assert list(selectors.projects_for_publisher(world.agent)) == [world.project]
    assert list(selectors.projects_for_publisher(world.rival_agent)) == [world.rival_project]
    with pytest.raises(NotFound):
        selectors.project_for_publisher(world.agent, world.rival_project.pk)


def test_a_section_is_visible_to_bidders_once_announced(world: World):
    with pytest.raises(NotFound):
        selectors.section_for_user(world.bidder, world.section.pk)
    assert selectors.section_for_user(world.agent, world.section.pk) == world.section
    assert selectors.section_for_user(world.staff, world.section.pk) == world.section
    with pytest.raises(NotFound):
        selectors.section_for_user(world.rival_agent, world.section.pk)
    announce(world)
    assert selectors.section_for_user(world.bidder, world.section.pk) == world.section
    assert selectors.public_section(world.section.pk) == world.section


def test_documents_for_a_bidder_show_only_its_own_obtainments(announced: World):
    w = announced
    upload(w, content=b"v2")
    services.document_obtain(acting_user=w.other_bidder, section=w.section)
    rows = selectors.documents_for_user(w.bidder, w.section)
    assert [(r["document"].version, r["obtained_at"], r["downloadable"]) for r in rows] == [
        (1, None, False),
        (2, None, False),
    ]
    services.document_obtain(acting_user=w.bidder, section=w.section)
    rows = selectors.documents_for_user(w.bidder, w.section)
    assert [(r["document"].version, r["obtained_at"] is not None, r["downloadable"]) for r in rows] == [
        (1, False, False),
        (2, True, True),
    ]
    assert all(
        r["downloadable"] and r["obtained_at"] is None
        for r in selectors.documents_for_user(w.agent, w.section)
    )


def test_obtainments_are_secret_before_the_deadline(obtained: World):
    with pytest.raises(selectors.ObtainmentsSecret) as error:
        selectors.obtainments_for_user(obtained.staff, obtained.section)
    assert error.value.article == "法 Art 22"
    with pytest.raises(PermissionDenied):
        selectors.obtainments_for_user(obtained.agent, obtained.section)
    clock.set_now(DEADLINE - dt.timedelta(seconds=1))
    with pytest.raises(selectors.ObtainmentsSecret):
        selectors.obtainments_for_user(obtained.supervisor, obtained.section)
    clock.set_now(DEADLINE)  # to the second
    assert [o.user for o in selectors.obtainments_for_user(obtained.supervisor, obtained.section)] == [
        obtained.bidder
    ]


def test_question_askers_are_shown_to_the_centre_and_the_asker_only(obtained: World):
    w = obtained
    services.document_obtain(acting_user=w.other_bidder, section=w.section)
    services.question_ask(acting_user=w.bidder, section=w.section, text="甲问")
    services.question_ask(acting_user=w.other_bidder, section=w.section, text="乙问")
    party = selectors.questions_for_user(w.agent, w.section)
    assert [(r["question"].text, r["asker"], r["asker_organization"]) for r in party] == [
        ("甲问", "", ""),
        ("乙问", "", ""),
    ]
    staff = selectors.questions_for_user(w.staff, w.section)
    assert [r["asker"] for r in staff] == ["bidder", "other_bidder"]
    mine = selectors.questions_for_user(w.bidder, w.section)
    assert [(r["question"].text, r["asker"]) for r in mine] == [("甲问", "bidder")]
    colleague = UserFactory(role=Role.BIDDER, organization=w.bidder.organization)
    assert [r["question"].text for r in selectors.questions_for_user(colleague, w.section)] == ["甲问"]


def test_clarifications_need_the_documents(obtained: World):
    services.clarification_publish(acting_user=obtained.agent, section=obtained.section, text="澄清")
    assert [c.text for c in selectors.clarifications_for_user(obtained.bidder, obtained.section)] == ["澄清"]
    assert len(selectors.clarifications_for_user(obtained.staff, obtained.section)) == 1
    with pytest.raises(selectors.ClarificationsHidden):
        selectors.clarifications_for_user(obtained.other_bidder, obtained.section)


def test_the_timeline_preview(world: World):
    timeline = selectors.timeline_preview(
        procedure="open",
        kind=NoticeKind.TENDER,
        sections=[],
        docs_sale_start=SALE_START,
        docs_sale_end=SALE_END,
        bid_deadline=at(20, 9, 30),
    )
    assert timeline is not None and not timeline.complies
    assert timeline.earliest_deadline == dt.date(2026, 3, 22)
    assert (
        selectors.timeline_preview(
            procedure="open",
            kind=NoticeKind.TENDER,
            sections=[],
            docs_sale_start=None,
            docs_sale_end=None,
            bid_deadline=None,
        )
        is None
    )
    assert (
        selectors.timeline_preview(
            procedure="open",
            kind=NoticeKind.DEAL,
            sections=[],
            docs_sale_start=SALE_START,
            docs_sale_end=None,
            bid_deadline=None,
        )
        is None
    )
    announce(world)
    correction = selectors.timeline_preview(
        procedure="open",
        kind=NoticeKind.CORRECTION,
        sections=world.sections,
        docs_sale_start=None,
        docs_sale_end=None,
        bid_deadline=at(27, 9, 30),
    )
    assert (
        correction is not None
        and correction.docs_issued == SALE_START
        and correction.deadline == dt.date(2026, 3, 27)
    )


def test_the_section_timeline_follows_the_section(announced: World):
    timeline = selectors.section_timeline(announced.section)
    assert timeline.rule("clarification_cutoff").latest == dt.date(2026, 3, 9)
    assert timeline.rule("objection_cutoff").latest == dt.date(2026, 3, 14)


def test_local_dates_are_beijing_dates():
    late_evening_utc = dt.datetime(2026, 3, 9, 17, 0, tzinfo=dt.UTC)  # 10 March, 01:00 in Beijing
    assert selectors.local_date(late_evening_utc) == dt.date(2026, 3, 10)
