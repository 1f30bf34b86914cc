"""The remote-evaluation pages: the request form (demands typed as code:count:reserves), the
invitation page (alias only), the committee page per role; refusals show on the page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.core import clock
from tenderhall.core.errors import ValidationFailed
from tenderhall.experts.models import ExtractionRequest, ExtractionStatus, VenueRole
from tenderhall.experts.services import committee as services
from tenderhall.experts.services.extraction import extraction_result_decide
from tenderhall.experts.views.committee import parse_demands
from tests.experts.factories_committee import EVAL_START, RemoteWorld, build_world, user_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db: None) -> RemoteWorld:
    return build_world()


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(w: RemoteWorld, **changes: Any) -> dict[str, Any]:
    data = {
        "section": str(w.section.pk),
        "evaluation_starts_at": "2026-03-04T09:00",
        "evaluation_ends_at": "2026-03-04T17:00",
        "main_demands": "A0101:2:1, C0101:1:1",
        "secondary_demands": "A0101:1:1\nA0101:1:1",
        "exclude_own_region": "on",
        "tenderer_representatives": "0",
        "reply_minutes": "30",
        "frequency_cap": "3",
    }
    return {**data, **changes}


def test_demands_are_parsed() -> None:
    specs = parse_demands("a0101:2:1， C0101：1", field="main_demands")
    assert [(s.specialty_code, s.count, s.reserves) for s in specs] == [("A0101", 2, 1), ("C0101", 1, 0)]
    with pytest.raises(ValidationFailed):
        parse_demands("A0101-2", field="main_demands")


def test_staff_request_a_remote_evaluation_on_the_form(w: RemoteWorld) -> None:
    response = client_for(w.staff).post("/experts/remote/new/", form(w))
    request = ExtractionRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/experts/remote/{request.pk}/"
    assert request.venues.filter(role=VenueRole.SECONDARY).count() == 2
    assert request.rules["exclude_own_region"] is True and request.rules["frequency_cap"] == 3
    page = client_for(w.staff).get(response["Location"]).content.decode()
    assert 'data-status="inviting"' in page and w.section.code in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"main_demands": "A0101:2:1"}, "Art 37"),
        ({"main_demands": "土建两人"}, "A0101:3:1"),
        ({"secondary_demands": "A0101:1:1\n" * 6}, "副场数量"),
        ({"evaluation_starts_at": "2026-03-01T09:00"}, "评标时间须在将来"),
    ],
)
def test_refusals_show_on_the_form(w: RemoteWorld, changes: dict[str, Any], message: str) -> None:
    response = client_for(w.staff).post("/experts/remote/new/", form(w, **changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ExtractionRequest.objects.exists()


def test_the_invitation_page_shows_the_alias_and_accepts(w: RemoteWorld) -> None:
    request = w.create(secondary=1)
    venue = request.venues.get(role=VenueRole.SECONDARY)
    client = client_for(w.staff_of(venue.centre_id))
    listing = client.get("/experts/remote/invitations/").content.decode()
    assert venue.project_alias in listing and w.section.code not in listing
    page = client.get(f"/experts/remote/invitations/{venue.pk}/").content.decode()
    assert venue.project_alias in page and w.section.code not in page and w.section.project.title not in page
    # Declining needs a reason: the refusal shows on the form.
    page = client.post(f"/experts/remote/invitations/{venue.pk}/", {"action": "decline", "reason": ""})
    assert page.status_code == 200 and "请写明理由" in page.content.decode()
    response = client.post(f"/experts/remote/invitations/{venue.pk}/", {"action": "accept"})
    assert response.status_code == 302
    venue.refresh_from_db()
    assert venue.invitation == "accepted"
    request.refresh_from_db()
    assert request.status == ExtractionStatus.CONFIRMING
    committee = client.get(f"/experts/remote/{request.pk}/").content.decode()
    assert w.section.code not in committee and venue.project_alias in committee


def test_the_committee_page_for_staff_and_members(w: RemoteWorld) -> None:
    request = w.ready(secondary=1)
    staff = client_for(w.staff)
    page = staff.get(f"/experts/remote/{request.pk}/").content.decode()
    assert page.count('data-testid="check-in-row"') == 3
    # Without the checks ticked the check-in is refused, with the reason shown.
    first = request.assignments.filter(status="accepted", demand__venue__role=VenueRole.MAIN).first()
    assert first is not None
    response = staff.post(
        f"/experts/remote/{request.pk}/", {"action": "check_in", "assignment": first.pk}, follow=True
    )
    assert "须先核验专家身份" in response.content.decode()
    response = staff.post(
        f"/experts/remote/{request.pk}/",
        {"action": "check_in", "assignment": first.pk, "identity_confirmed": "on", "devices_stored": "on"},
        follow=True,
    )
    page = response.content.decode()
    assert page.count('data-testid="check-in-row"') == 2 and 'data-testid="member-row"' in page
    request.refresh_from_db()
    assert request.status == ExtractionStatus.EVALUATING
    member = request.members.get()
    expert = client_for(user_of(member))
    page = expert.get(f"/experts/remote/{request.pk}/").content.decode()
    assert w.bidder.organization.name in page and 'data-testid="declare-no-conflict"' in page
    assert member.seat is not None and member.seat.label in page
    response = expert.post(
        f"/experts/remote/{request.pk}/", {"action": "declare", "member": member.pk}, follow=True
    )
    assert 'data-testid="declared"' in response.content.decode()
    # An unknown action is refused, and never a 500.
    assert expert.post(f"/experts/remote/{request.pk}/", {"action": "nope"}).status_code == 422
    response = expert.post(f"/experts/remote/{request.pk}/", {"action": "vote", "member": "x"}, follow=True)
    assert response.status_code == 200 and "参数无效" in response.content.decode()


def test_after_the_election_recusal_is_offered_and_a_vacated_leader_is_shown(w: RemoteWorld) -> None:
    request = w.seated(secondary=1)
    members = list(request.members.filter(venue__role=VenueRole.MAIN).order_by("pk"))
    leader, other = members[0], members[1]
    for voter in list(request.members.order_by("pk"))[:3]:
        services.committee_vote(acting_user=user_of(voter), member=voter, candidate=leader)
    url = f"/experts/remote/{request.pk}/"
    staff = client_for(w.staff)
    page = staff.get(url).content.decode()
    # The leader is elected and the committee still sits: the staff may record a recusal.
    assert page.count('data-testid="staff-recuse-form"') == 3  # the main venue's members
    assert 'data-testid="leader-vacant"' not in page
    venue = request.venues.get(role=VenueRole.SECONDARY)
    venue_page = client_for(w.staff_of(venue.centre_id)).get(url).content.decode()
    assert venue_page.count('data-testid="staff-recuse-form"') == 2  # their own venue's members
    supervisor_page = client_for(w.supervisor).get(url).content.decode()
    assert 'data-testid="member-row"' in supervisor_page
    assert 'data-testid="staff-recuse-form"' not in supervisor_page  # supervisors change nothing
    member_page = client_for(user_of(other)).get(url).content.decode()
    assert 'data-testid="recuse-form"' in member_page and 'data-testid="vote-form"' not in member_page
    # The leader recuses on their own page: the place is vacant, the members are told to vote again.
    response = client_for(user_of(leader)).post(
        url, {"action": "recuse", "member": leader.pk, "reason": "与投标人有利害关系"}, follow=True
    )
    assert 'data-testid="my-recused"' in response.content.decode()
    request.refresh_from_db()
    assert request.leader_id is None
    page = staff.get(url).content.decode()
    assert 'data-testid="leader-vacant"' in page and "须重新推选组长" in page
    assert page.count('data-testid="staff-recuse-form"') == 2
    member_page = client_for(user_of(other)).get(url).content.decode()
    assert 'data-testid="my-leader-vacant"' in member_page and 'data-testid="vote-form"' in member_page
    english = client_for(user_of(other)).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "vote for a new leader" in english
    # Once the result is decided the committee no longer sits: no recusal is offered.
    extraction_result_decide(acting_user=w.staff, request=request)
    page = staff.get(url).content.decode()
    assert 'data-testid="staff-recuse-form"' not in page and 'data-testid="leader-vacant"' not in page


def test_an_expert_before_check_in_sees_time_and_venue_not_the_project(w: RemoteWorld) -> None:
    request = w.ready(secondary=1)
    clock.set_now(EVAL_START - dt.timedelta(hours=1))
    a = request.assignments.filter(status="accepted").select_related("expert__user").first()
    assert a is not None
    page = client_for(a.expert.user).get(f"/experts/remote/{request.pk}/").content.decode()  # type: ignore[arg-type]
    assert 'data-testid="my-venue"' in page and w.section.code not in page


def test_the_directory_page(w: RemoteWorld) -> None:
    page = client_for(w.agent).get("/experts/remote/centres/?day=2026-03-04").content.decode()
    for centre in [w.centre, w.neighbour[0], *(c for c, _s, _r in w.secondaries.values())]:
        assert centre.name in page
    assert page.count('data-testid="free-remote-seats">6<') == 5
    assert client_for(w.agent).get("/experts/remote/centres/?day=bad").status_code == 422


def test_an_expert_finds_their_committee_on_the_list(w: RemoteWorld) -> None:
    request = w.ready(secondary=1)
    a = request.assignments.filter(status="accepted").select_related("expert__user").first()
    assert a is not None and a.expert.user is not None
    page = client_for(a.expert.user).get("/experts/remote/").content.decode()
    assert f'href="/experts/remote/{request.pk}/"' in page and w.section.code not in page
    w.check_in_all(request)
    page = client_for(a.expert.user).get("/experts/remote/").content.decode()
    assert w.section.code in page
    undrawn = next(e for e in w.experts["示范市"] if not request.assignments.filter(expert=e).exists())
    page = client_for(undrawn.user).get("/experts/remote/").content.decode()  # type: ignore[arg-type]
    assert 'data-testid="remote-row"' not in page
