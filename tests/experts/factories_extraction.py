"""The extraction tests' world: a trading centre (示范市) running a section after its opening, the
project's tenderer and agent, a bidder with a submitted bid, supervisors and operators, and experts.
Rows are written directly; the tests call the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.test import Client

from tenderhall.accounts.models import Organization, OrganizationKind, Role, User
from tenderhall.accounts.services import api_token_issue
from tenderhall.bidding.models import Bid, BidStatus, UploadSession, UploadStatus
from tenderhall.core import clock
from tenderhall.experts.models import Expert, ExpertKind, ExtractionRequest
from tenderhall.experts.services import extraction as services
from tenderhall.projects.models import Section, SectionStatus
from tests.experts.factories import ExpertFactory
from tests.factories import OrganizationFactory, UserFactory
from tests.venues.factories import ProjectFactory, SectionFactory

# Monday 6 April 2026, 09:00 China time; the evaluation is on Wednesday 8 April.
T0 = dt.datetime(2026, 4, 6, 9, 0, tzinfo=clock.LOCAL_TZ)
EVAL_START = dt.datetime(2026, 4, 8, 9, 0, tzinfo=clock.LOCAL_TZ)
EVAL_END = dt.datetime(2026, 4, 8, 17, 0, tzinfo=clock.LOCAL_TZ)
API = "/api/v1"


def make_bid(section: Section, org: Organization, user: User) -> Bid:
    """A submitted bid row (ciphertext not needed here: only who bid matters for recusal)."""
    now = clock.now()
    upload = UploadSession.objects.create(
        section=section,
        organization=org,
        user=user,
        size=1,
        status=UploadStatus.FINALIZED,
        created_at=now,
        updated_at=now,
        expires_at=now,
    )
    return Bid.objects.create(
        section=section,
        organization=org,
        submitted_by=user,
        upload=upload,
        status=BidStatus.SUBMITTED,
        file="bids/test.age",
        ciphertext_sha256="0" * 64,
        ciphertext_size=1,
        received_at=now,
        receipt={},
        log_index=0,
    )


@dataclass
class World:
    centre: Organization
    staff: User
    other_staff: User  # staff of another trading centre
    supervisor: User
    operator: User
    auditor: User
    agent: User
    tenderer: User
    other_agent: User
    bidder: User  # bid on the section
    other_bidder: User  # no bid on it
    section: Section
    experts: list[Expert]
    economists: list[Expert]

    def create(
        self,
        demands: Sequence[services.DemandSpec] | None = None,
        *,
        rules: dict[str, Any] | None = None,
        reps: int = 0,
        reply_minutes: int = 30,
        capture: Any = None,
    ) -> ExtractionRequest:
        return services.extraction_request_create(
            acting_user=self.staff,
            section=self.section,
            evaluation_starts_at=EVAL_START,
            evaluation_ends_at=EVAL_END,
            demands=demands if demands is not None else default_demands(),
            rules=rules or {},
            reply_minutes=reply_minutes,
            tenderer_representatives=reps,
        )


def default_demands() -> list[services.DemandSpec]:
    return [
        services.DemandSpec(specialty_code="A0101", count=3, reserves=2),
        services.DemandSpec(specialty_code="C0101", count=2, reserves=1),
    ]


def build_world() -> World:
    """Call it from a fixture (tests/conftest.py releases the clock after each test)."""
    clock.set_now(T0)
    staff = UserFactory(role=Role.STAFF, username="x_staff")
    centre = staff.organization
    assert centre is not None
    project = ProjectFactory(centre=centre, region="示范市")
    section = SectionFactory(project=project, status=SectionStatus.OPENED)
    agent = UserFactory(role=Role.AGENT, username="x_agent", organization=project.agent)
    tenderer = UserFactory(role=Role.TENDERER, username="x_tenderer", organization=project.tenderer)
    bidder = UserFactory(role=Role.BIDDER, username="x_bidder")
    make_bid(section, bidder.organization, bidder)  # type: ignore[arg-type]
    experts = [ExpertFactory(with_account=True) for _ in range(10)]
    economists = [ExpertFactory(kind=ExpertKind.ECONOMIC, with_account=True) for _ in range(5)]
    return World(
        centre=centre,
        staff=staff,
        other_staff=UserFactory(
            role=Role.STAFF,
            username="x_other_staff",
            organization=OrganizationFactory(kind=OrganizationKind.TRADING_CENTRE, region="别的市"),
        ),
        supervisor=UserFactory(role=Role.SUPERVISOR, username="x_supervisor"),
        operator=UserFactory(role=Role.OPERATOR, username="x_operator"),
        auditor=UserFactory(role=Role.AUDITOR, username="x_auditor"),
        agent=agent,
        tenderer=tenderer,
        other_agent=UserFactory(role=Role.AGENT, username="x_other_agent"),
        bidder=bidder,
        other_bidder=UserFactory(role=Role.BIDDER, username="x_other_bidder"),
        section=section,
        experts=experts,
        economists=economists,
    )


def api_client(user: User | None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        raw, _ = api_token_issue(user=user)
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def page_client(user: User | None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client
