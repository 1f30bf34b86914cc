"""The venues world: a trading centre with its rooms, a project's tenderer and agent, and others."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tenderhall.accounts.models import Organization, Role, User
from tenderhall.core import clock
from tenderhall.projects.models import Section
from tenderhall.venues import services
from tenderhall.venues.models import Booking, BookingPurpose, Room, RoomKind
from tests.factories import UserFactory
from tests.venues.factories import ProjectFactory, RoomFactory, SectionFactory

# Monday 2 March 2026, 09:00 in China: the week under test runs 2-8 March.
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=clock.LOCAL_TZ)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """China time, ``day`` days after T0's date."""
    return dt.datetime.combine(
        T0.date() + dt.timedelta(days=day), dt.time(hour, minute), tzinfo=clock.LOCAL_TZ
    )


@pytest.fixture(autouse=True)
def _t0() -> Iterator[None]:
    clock.set_now(T0)  # tests/conftest.py releases it after the test
    yield


@dataclass
class World:
    staff: User
    agent: User
    agent_colleague: User
    tenderer: User
    other_agent: User
    other_staff: User
    supervisor: User
    auditor: User
    bidder: User
    section: Section
    other_section: Section
    opening: Room
    evaluation: Room
    clarification: Room
    overnight: Room
    other_centre_room: Room

    @property
    def centre(self) -> Organization:
        return self.staff.organization  # type: ignore[return-value]

    def book(
        self,
        *,
        user: User | None = None,
        room: Room | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        purpose: str = BookingPurpose.OPENING,
        **kwargs: Any,
    ) -> Booking:
        return services.booking_request(
            acting_user=user or self.agent,
            room=room or self.opening,
            purpose=purpose,
            starts_at=start or at(1, 9),
            ends_at=end or at(1, 12),
            **kwargs,
        )


@pytest.fixture
def world(staff: User, bidder: User, supervisor: User, auditor: User) -> World:
    centre = staff.organization
    agent = UserFactory(role=Role.AGENT, username="yuan_agent")
    tenderer = UserFactory(role=Role.TENDERER, username="tenderer")
    other_agent = UserFactory(role=Role.AGENT, username="rival_agent")
    other_staff = UserFactory(role=Role.STAFF, username="other_staff")
    project = ProjectFactory(tenderer=tenderer.organization, agent=agent.organization, centre=centre)
    other_project = ProjectFactory(
        tenderer=tenderer.organization, agent=other_agent.organization, centre=centre
    )
    return World(
        staff=staff,
        agent=agent,
        agent_colleague=UserFactory(role=Role.AGENT, organization=agent.organization, username="agent2"),
        tenderer=tenderer,
        other_agent=other_agent,
        other_staff=other_staff,
        supervisor=supervisor,
        auditor=auditor,
        bidder=bidder,
        section=SectionFactory(project=project, number=1),
        other_section=SectionFactory(project=other_project, number=1),
        opening=RoomFactory(centre=centre, name="第一开标室", kind=RoomKind.OPENING, seats=10),
        evaluation=RoomFactory(centre=centre, name="第一评标室", kind=RoomKind.EVALUATION, seats=12),
        clarification=RoomFactory(centre=centre, name="澄清室", kind=RoomKind.CLARIFICATION, seats=4),
        overnight=RoomFactory(centre=centre, name="隔夜评标室", kind=RoomKind.OVERNIGHT_EVALUATION, seats=9),
        other_centre_room=RoomFactory(centre=other_staff.organization, name="外中心开标室", seats=8),
    )
