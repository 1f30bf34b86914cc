"""The remote-evaluation tests' world (远程异地评标, seed 004): the project's trading centre (示范市,
the main venue) and four other centres — 甲市, 乙市, 丙市, and a second centre in 示范市 — each with
staff and an evaluation room with remote seats; experts of every region; a section after its
opening with one bid. Rows are written directly; the tests call the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tenderhall.accounts.models import Organization, OrganizationKind, Role, User
from tenderhall.core import clock
from tenderhall.experts.models import (
    AssignmentStatus,
    CommitteeMember,
    Expert,
    ExpertKind,
    ExtractionAssignment,
    ExtractionRequest,
    ExtractionVenue,
    VenueRole,
)
from tenderhall.experts.services import committee as services
from tenderhall.experts.services.extraction import DemandSpec, assignment_reply
from tenderhall.projects.models import Section, SectionStatus
from tenderhall.venues.models import Room, RoomKind, Seat
from tests.experts.factories import ExpertFactory
from tests.experts.factories_extraction import make_bid
from tests.factories import OrganizationFactory, UserFactory
from tests.venues.factories import ProjectFactory, SectionFactory

# Monday 2 March 2026, 09:00 China time; the evaluation is on Wednesday 4 March, 09:00-17:00.
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=clock.LOCAL_TZ)
EVAL_START = dt.datetime(2026, 3, 4, 9, 0, tzinfo=clock.LOCAL_TZ)
EVAL_END = dt.datetime(2026, 3, 4, 17, 0, tzinfo=clock.LOCAL_TZ)
HOME = "示范市"
REGIONS = ("甲市", "乙市", "丙市")


def make_centre(
    name: str, region: str, *, remote_seats: int = 6, username: str
) -> tuple[Organization, User, Room]:
    centre = OrganizationFactory(kind=OrganizationKind.TRADING_CENTRE, name=name, region=region)
    staff = UserFactory(role=Role.STAFF, organization=centre, username=username)
    room = Room.objects.create(centre=centre, name=f"{name}远程评标室", kind=RoomKind.EVALUATION)
    Seat.objects.bulk_create(
        Seat(room=room, label=f"R{n:02d}", is_remote_evaluation=n <= remote_seats) for n in range(1, 9)
    )
    return centre, staff, room


def make_experts(region: str, *, technical: int = 4, economic: int = 2) -> list[Expert]:
    experts = [ExpertFactory(region=region, with_account=True) for _ in range(technical)]
    experts += [
        ExpertFactory(region=region, kind=ExpertKind.ECONOMIC, with_account=True) for _ in range(economic)
    ]
    return experts


@dataclass
class RemoteWorld:
    centre: Organization
    staff: User
    room: Room
    secondaries: dict[str, tuple[Organization, User, Room]]  # region → centre, staff, room
    neighbour: tuple[Organization, User, Room]  # another centre in the home region
    supervisor: User
    auditor: User
    operator: User
    agent: User
    tenderer: User
    other_agent: User
    bidder: User
    section: Section
    experts: dict[str, list[Expert]] = field(default_factory=dict)

    def staff_of(self, centre_id: int) -> User:
        for centre, staff, _room in [*self.secondaries.values(), self.neighbour]:
            if centre.pk == centre_id:
                return staff
        assert centre_id == self.centre.pk
        return self.staff

    def create(
        self,
        *,
        secondary: int = 2,
        exclude_own_region: bool = True,
        demands: Sequence[Sequence[DemandSpec]] | None = None,
        tenderer_representatives: int = 0,
        rules: dict[str, Any] | None = None,
    ) -> ExtractionRequest:
        if demands is None:
            main = [DemandSpec("A0101", 2, 1), DemandSpec("C0101", 1, 1)]
            per_secondary = [DemandSpec("A0101", 1 if secondary == 2 else 2, 1)]
            demands = [main, *([per_secondary] * secondary)]
        return services.remote_evaluation_create(
            acting_user=self.staff,
            section=self.section,
            evaluation_starts_at=EVAL_START,
            evaluation_ends_at=EVAL_END,
            secondary_venues=secondary,
            exclude_own_region=exclude_own_region,
            demands=demands,
            rules=rules or {},
            reply_minutes=30,
            tenderer_representatives=tenderer_representatives,
        )

    def pending(self, request: ExtractionRequest) -> list[ExtractionVenue]:
        return list(request.venues.filter(role=VenueRole.SECONDARY, invitation="pending").order_by("pk"))

    def accept_all_venues(self, request: ExtractionRequest) -> None:
        for venue in self.pending(request):
            services.venue_invitation_answer(
                acting_user=self.staff_of(venue.centre_id), venue=venue, accept=True
            )

    def notified(self, request: ExtractionRequest) -> list[ExtractionAssignment]:
        return list(
            request.assignments.filter(status=AssignmentStatus.NOTIFIED)
            .select_related("expert__user", "demand__venue")
            .order_by("demand_id", "rank")
        )

    def accept_all_experts(self, request: ExtractionRequest) -> None:
        while notified := self.notified(request):
            for a in notified:
                assignment_reply(assignment=a, accept=True, channel="page", acting_user=a.expert.user)

    def check_in_all(self, request: ExtractionRequest) -> list[CommitteeMember]:
        members = []
        for a in request.assignments.filter(
            status=AssignmentStatus.ACCEPTED, member__isnull=True
        ).select_related("demand__venue"):
            members.append(
                services.committee_check_in(
                    acting_user=self.staff_of(a.demand.venue.centre_id),
                    assignment=a,
                    identity_confirmed=True,
                    devices_stored=True,
                )
            )
        return members

    def ready(self, **kwargs: Any) -> ExtractionRequest:
        """A remote evaluation with venues accepted, experts drawn and accepted, at the start time."""
        request = self.create(**kwargs)
        self.accept_all_venues(request)
        self.accept_all_experts(request)
        request.refresh_from_db()
        clock.set_now(EVAL_START - dt.timedelta(minutes=30))
        return request

    def seated(self, **kwargs: Any) -> ExtractionRequest:
        """Everyone checked in and declared no conflict."""
        return self.seated_from(self.ready(**kwargs))

    def seated_from(self, request: ExtractionRequest) -> ExtractionRequest:
        self.check_in_all(request)
        for member in request.members.all():
            services.committee_member_declare(acting_user=user_of(member), member=member)
        request.refresh_from_db()
        return request


def user_of(member: CommitteeMember) -> User:
    if member.representative is not None:
        return member.representative
    assert member.assignment is not None and member.assignment.expert.user is not None
    return member.assignment.expert.user


def build_world() -> RemoteWorld:
    clock.set_now(T0)
    centre, staff, room = make_centre("示范市公共资源交易中心", HOME, username="staff")
    secondaries = {
        region: make_centre(f"{region}公共资源交易中心", region, username=f"staff_{i}")
        for i, region in enumerate(REGIONS)
    }
    neighbour = make_centre("示范市第二交易中心", HOME, username="staff_neighbour")
    agent = UserFactory(role=Role.AGENT, username="agent")
    tenderer = UserFactory(role=Role.TENDERER, username="tenderer")
    project = ProjectFactory(tenderer=tenderer.organization, agent=agent.organization, centre=centre)
    section = SectionFactory(project=project, number=1, status=SectionStatus.OPENED)
    bidder = UserFactory(role=Role.BIDDER, username="bidder")
    make_bid(section, bidder.organization, bidder)
    world = RemoteWorld(
        centre=centre,
        staff=staff,
        room=room,
        secondaries=secondaries,
        neighbour=neighbour,
        supervisor=UserFactory(role=Role.SUPERVISOR, username="supervisor"),
        auditor=UserFactory(role=Role.AUDITOR, username="auditor"),
        operator=UserFactory(role=Role.OPERATOR, username="operator"),
        agent=agent,
        tenderer=tenderer,
        other_agent=UserFactory(role=Role.AGENT, username="other_agent"),
        bidder=bidder,
        section=section,
    )
    for region in (HOME, *REGIONS):
        world.experts[region] = make_experts(region)
    return world
