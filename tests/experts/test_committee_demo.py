"""experts/demo.py: the demo's remote evaluation runs through the services to an elected leader."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tenderhall.accounts.models import OrganizationKind, Role
from tenderhall.core import clock
from tenderhall.core.transparency import verify_log
from tenderhall.experts.demo import _window, demo_remote_evaluation
from tenderhall.experts.models import ExtractionRequest, ExtractionStatus
from tenderhall.projects.models import SectionStatus
from tests.experts.factories_committee import T0
from tests.factories import OrganizationFactory, UserFactory
from tests.venues.factories import ProjectFactory, SectionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("secondary", [1, 2])
def test_the_demo_reaches_a_leader(secondary: int) -> None:
    clock.set_now(T0)
    centre = OrganizationFactory(kind=OrganizationKind.TRADING_CENTRE, region="示范市")
    staff = UserFactory(role=Role.STAFF, organization=centre, username="staff")
    section = SectionFactory(project=ProjectFactory(centre=centre), status=SectionStatus.OPENED)
    opened_at = T0 - dt.timedelta(days=10)
    summary = demo_remote_evaluation(
        staff=staff,
        section=section,
        password="Correct-horse-9",
        opened_at=opened_at,
        secondary_venues=secondary,
    )
    json.dumps(summary, ensure_ascii=False)  # JSON-able for `tenderhall demo --json`
    request = ExtractionRequest.objects.get(pk=summary["extraction_request"])
    assert request.status == ExtractionStatus.EVALUATING and request.leader_id is not None
    assert len(summary["venues"]) == 1 + secondary
    assert len(summary["committee"]) == 5 and sum(m["leader"] for m in summary["committee"]) == 1
    assert summary["declined_and_replaced"] == 1
    assert opened_at < request.evaluation_starts_at and request.evaluation_ends_at < T0
    assert clock.now() == T0  # the clock is restored
    assert verify_log().ok


def test_the_window_falls_back_to_the_next_morning() -> None:
    now = dt.datetime(2026, 3, 2, 10, 0, tzinfo=clock.LOCAL_TZ)
    start, end = _window(now - dt.timedelta(hours=1), now)
    assert start == dt.datetime(2026, 3, 3, 9, 0, tzinfo=clock.LOCAL_TZ) and end - start == dt.timedelta(
        hours=3
    )
    start, _end = _window(now - dt.timedelta(days=2), now)
    assert start == dt.datetime(2026, 2, 28, 14, 0, tzinfo=clock.LOCAL_TZ)  # 09:00 is too soon after
