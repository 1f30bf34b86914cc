"""Who sees which objection, and who may know who raised it."""

from __future__ import annotations

import datetime as dt

import pytest

from tenderhall.accounts.models import Role
from tenderhall.core import clock
from tenderhall.core.errors import NotFound
from tenderhall.disputes import selectors
from tests.disputes.conftest import BID_DEADLINE, World
from tests.disputes.factories import SectionFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_who_sees_which_objection(world: World) -> None:
    mine = world.raise_objection()
    theirs = world.raise_objection(by=world.other_bidder, section=world.other_section, text="评分办法不清。")
    for who in (world.staff, world.supervisor, world.auditor):
        assert set(selectors.objections_for_user(who)) == {mine, theirs}
    for who in (world.agent, world.agent_colleague):
        assert list(selectors.objections_for_user(who)) == [mine]
    assert list(selectors.objections_for_user(world.other_agent)) == [theirs]
    assert set(selectors.objections_for_user(world.tenderer)) == {mine}
    assert list(selectors.objections_for_user(world.bidder_colleague)) == [mine]
    assert list(selectors.objections_for_user(world.other_bidder)) == [theirs]
    with pytest.raises(NotFound):
        selectors.objection_for_user(world.other_bidder, mine.pk)
    with pytest.raises(NotFound):
        selectors.objection_for_user(world.other_agent, mine.pk)
    assert list(selectors.objections_for_user(world.staff, section_id=world.section.pk)) == [mine]


def test_a_party_without_an_organization_sees_nothing(world: World) -> None:
    """Regression: "agent_id = the user's organization" with no organization matched every project
    without an agent."""
    no_agent = SectionFactory(project__agent=None)
    world.raise_objection(section=no_agent)
    orphan = UserFactory(role=Role.AGENT, organization=None)
    assert not selectors.objections_for_user(orphan).exists()
    expert = UserFactory(role=Role.EXPERT)
    assert not selectors.objections_for_user(expert).exists()


def test_before_the_deadline_only_the_objectors_organization_knows_who_objected(world: World) -> None:
    objection = world.raise_objection()
    assert selectors.objector_shown_to(world.bidder, objection)
    assert selectors.objector_shown_to(world.bidder_colleague, objection)
    for who in (
        world.agent,
        world.tenderer,
        world.staff,
        world.supervisor,
        world.auditor,
        world.other_bidder,
    ):
        assert not selectors.objector_shown_to(who, objection), who


def test_after_the_deadline_the_readers_and_the_parties_know_too(world: World) -> None:
    objection = world.raise_objection()
    clock.set_now(BID_DEADLINE)  # not yet: the deadline must have passed
    assert not selectors.objector_shown_to(world.supervisor, objection)
    assert not selectors.objector_shown_to(world.agent, objection)
    clock.set_now(BID_DEADLINE + dt.timedelta(seconds=1))
    # the objection was raised to the tenderer (条例 Art 22): once bids are in, its parties may know
    for who in (world.staff, world.supervisor, world.auditor, world.bidder, world.agent, world.tenderer):
        assert selectors.objector_shown_to(who, objection), who
    assert not selectors.objector_shown_to(world.other_bidder, objection)


def test_a_section_without_a_deadline_never_shows_the_objector_to_others(world: World) -> None:
    section = SectionFactory(project__agent=world.agent.organization, bid_deadline=None)
    objection = world.raise_objection(section=section)
    clock.advance(dt.timedelta(days=400))
    assert not selectors.objector_shown_to(world.supervisor, objection)
    assert selectors.objector_shown_to(world.bidder, objection)
