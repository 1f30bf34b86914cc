"""The disputes world: a section in bidding, its tenderer and agent, a bidder who objects, and others."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tenderhall.accounts.models import Role, User
from tenderhall.core import clock
from tenderhall.disputes import services
from tenderhall.disputes.models import Objection, ObjectionStage
from tenderhall.projects.models import Section
from tests.disputes.factories import SectionFactory
from tests.factories import UserFactory

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=clock.LOCAL_TZ)
BID_DEADLINE = T0 + dt.timedelta(days=20)
ANSWER_DUE = T0 + dt.timedelta(days=3)
OBJECTOR_NAME = "异议人建设工程有限公司"
TEXT = "招标文件第三章资格条件限制了潜在投标人。"


@pytest.fixture(autouse=True)
def _t0() -> Iterator[None]:
    clock.set_now(T0)  # tests/conftest.py releases it after the test
    yield


@dataclass
class World:
    staff: User
    supervisor: User
    auditor: User
    tenderer: User
    agent: User
    agent_colleague: User
    other_agent: User
    bidder: User
    bidder_colleague: User
    other_bidder: User
    section: Section
    other_section: Section

    def raise_objection(
        self, *, by: User | None = None, section: Section | None = None, **kwargs: object
    ) -> Objection:
        return services.objection_raise(
            acting_user=by or self.bidder,
            section=section or self.section,
            stage=kwargs.pop("stage", ObjectionStage.TENDER_DOCUMENTS),  # type: ignore[arg-type]
            text=kwargs.pop("text", TEXT),  # type: ignore[arg-type]
            answer_due=kwargs.pop("answer_due", ANSWER_DUE),  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
def world(staff: User, bidder: User, other_bidder: User, supervisor: User, auditor: User) -> World:
    bidder.organization.name = OBJECTOR_NAME  # type: ignore[union-attr]
    bidder.organization.save()  # type: ignore[union-attr]
    tenderer = UserFactory(role=Role.TENDERER, username="school_tenderer")
    agent = UserFactory(role=Role.AGENT, username="yuan_agent")
    other_agent = UserFactory(role=Role.AGENT, username="rival_agent")
    section = SectionFactory(
        project__tenderer=tenderer.organization,
        project__agent=agent.organization,
        project__centre=staff.organization,
        bid_deadline=BID_DEADLINE,
    )
    other_section = SectionFactory(
        project__agent=other_agent.organization, project__centre=staff.organization, bid_deadline=BID_DEADLINE
    )
    return World(
        staff=staff,
        supervisor=supervisor,
        auditor=auditor,
        tenderer=tenderer,
        agent=agent,
        agent_colleague=UserFactory(
            role=Role.AGENT, organization=agent.organization, username="agent_colleague"
        ),
        other_agent=other_agent,
        bidder=bidder,
        bidder_colleague=UserFactory(
            role=Role.BIDDER, organization=bidder.organization, username="bidder_colleague"
        ),
        other_bidder=other_bidder,
        section=section,
        other_section=other_section,
    )
