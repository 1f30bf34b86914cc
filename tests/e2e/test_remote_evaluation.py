"""Remote off-site evaluation (远程异地评标, seed 004) in real chromium against the live server:
the main centre's staff request a remote evaluation with one secondary venue; the secondary
centre's staff see only the project code and accept the invitation (the experts are drawn per
venue); two experts accept on their pages, one declines and a reserve replaces him; the venues'
staff check the experts in (identity, devices, random seat); the members declare no conflict and
elect their leader."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tenderhall.core import clock
from tenderhall.experts.models import (
    AssignmentStatus,
    ExtractionRequest,
    ExtractionStatus,
    VenueRole,
)
from tenderhall.experts.services.extraction import assignment_reply
from tests.experts.factories import SpecialtyFactory
from tests.experts.factories_committee import EVAL_START, build_world
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(browser: Any, live_server: Any, username: str) -> Any:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=password-login] button[type=submit]")
    page.wait_for_selector("[data-testid=who]")
    return page


def _specialty_tree() -> None:
    # A transactional test may run after another one flushed the migrated specialty tree.
    a01 = SpecialtyFactory(code="A01", name="房建")
    SpecialtyFactory(code="A0101", name="土建", parent=a01)
    c01 = SpecialtyFactory(code="C01", name="经济")
    SpecialtyFactory(code="C0101", name="造价", parent=c01)


def test_a_remote_evaluation_from_request_to_leader(live_server: Any, browser: Any) -> None:
    _specialty_tree()
    w = build_world()  # fixes the clock at Monday 09:00; the live server reads the same clock

    # 1. The main centre's staff request it: one secondary venue, drawn at random.
    staff = sign_in(browser, live_server, w.staff.username)
    staff.goto(f"{live_server.url}/experts/remote/new/")
    staff.select_option("select[name=section]", str(w.section.pk))
    staff.fill("input[name=evaluation_starts_at]", "2026-03-04T09:00")
    staff.fill("input[name=evaluation_ends_at]", "2026-03-04T17:00")
    staff.fill("input[name=main_demands]", "A0101:2:1, C0101:1:1")
    staff.fill("textarea[name=secondary_demands]", "A0101:2:1")
    staff.check("input[name=exclude_own_region]")
    staff.click("[data-testid=remote-submit]")
    staff.wait_for_selector("[data-testid=committee-status][data-status=inviting]")
    request = ExtractionRequest.objects.get()
    secondary = request.venues.get(role=VenueRole.SECONDARY)
    assert secondary.centre.region != w.centre.region

    # 2. The secondary centre sees the project code only, and accepts.
    venue_staff_user = w.staff_of(secondary.centre_id)
    venue_staff = sign_in(browser, live_server, venue_staff_user.username)
    venue_staff.goto(f"{live_server.url}/experts/remote/invitations/")
    venue_staff.click("[data-testid=invitation-link]")
    assert venue_staff.inner_text("[data-testid=invitation-alias]") == secondary.project_alias
    assert w.section.code not in venue_staff.content()
    venue_staff.click("[data-testid=invitation-accept]")
    venue_staff.wait_for_selector("[data-testid=invitation-status][data-status=accepted]")
    request.refresh_from_db()
    assert request.status == ExtractionStatus.CONFIRMING

    # 3. Two experts accept on their pages; one declines and the next reserve is called.
    called = list(
        request.assignments.filter(status=AssignmentStatus.NOTIFIED)
        .select_related("expert__user")
        .order_by("demand_id", "rank")
    )
    assert len(called) == 5
    for assignment, button in zip(called[:3], ["accept", "accept", "decline"], strict=True):
        expert = sign_in(browser, live_server, assignment.expert.user.username)
        expert.goto(f"{live_server.url}/experts/assignments/{assignment.pk}/")
        expert.click(f"[data-testid=assignment-{button}]")
        expert.wait_for_load_state()
        expert.context.close()
    declined = called[2]
    declined.refresh_from_db()
    assert declined.status == AssignmentStatus.DECLINED
    replacement = request.assignments.get(demand=declined.demand, status=AssignmentStatus.NOTIFIED)
    assert replacement.rank >= declined.demand.count
    for assignment in request.assignments.filter(status=AssignmentStatus.NOTIFIED).select_related(
        "expert__user"
    ):
        assignment_reply(
            assignment=assignment, accept=True, channel="page", acting_user=assignment.expert.user
        )
    request.refresh_from_db()
    assert request.status == ExtractionStatus.COMPLETE

    # 4. On the day, each venue's staff check their experts in.
    clock.set_now(EVAL_START - dt.timedelta(minutes=30))
    for page, expected in ((staff, 3), (venue_staff, 2)):
        page.goto(f"{live_server.url}/experts/remote/{request.pk}/")
        for _ in range(expected):
            row = page.locator("[data-testid=check-in-row]").first
            row.locator("[data-testid=identity-confirmed]").check()
            row.locator("[data-testid=devices-stored]").check()
            row.locator("[data-testid=check-in-submit]").click()
            page.wait_for_load_state()
        assert page.locator("[data-testid=check-in-row]").count() == 0
    request.refresh_from_db()
    assert request.status == ExtractionStatus.EVALUATING
    # Once the evaluation started the secondary venue sees the section and its own members' seats.
    venue_staff.goto(f"{live_server.url}/experts/remote/{request.pk}/")
    assert w.section.code in venue_staff.inner_text("[data-testid=committee-section]")
    assert venue_staff.locator("[data-testid=member-row]").count() == 2

    # 5. Every member sees the bidders, declares no conflict; three of five elect the leader.
    members = list(request.members.select_related("assignment__expert__user").order_by("pk"))
    leader = members[0]
    assert leader.assignment is not None
    for member in members:
        assert member.assignment is not None
        page = sign_in(browser, live_server, member.assignment.expert.user.username)
        page.goto(f"{live_server.url}/experts/remote/{request.pk}/")
        assert w.bidder.organization.name in page.inner_text("[data-testid=bidder-list]")
        assert page.inner_text("[data-testid=my-seat]").strip() == member.seat.label
        page.click("[data-testid=declare-no-conflict]")
        page.wait_for_selector("[data-testid=declared]")
        page.context.close()
    for member in members[:3]:
        assert member.assignment is not None
        page = sign_in(browser, live_server, member.assignment.expert.user.username)
        page.goto(f"{live_server.url}/experts/remote/{request.pk}/")
        page.select_option("[data-testid=vote-candidate]", str(leader.pk))
        page.click("[data-testid=vote-submit]")
        page.wait_for_load_state()
        page.context.close()
    request.refresh_from_db()
    assert request.leader_id == leader.pk
    staff.goto(f"{live_server.url}/experts/remote/{request.pk}/")
    assert leader.assignment.expert.name in staff.inner_text("[data-testid=committee-leader]")
