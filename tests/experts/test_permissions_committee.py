"""Every remote-evaluation and committee endpoint and page, for every kind of caller.

Each route is set up in the state where it can succeed (invitations while venues are invited,
check-in once the extraction is complete, declarations and votes once members sit), then called by
every role inside a savepoint that is rolled back, so each role meets the same state. Anything a
caller may not see answers 404 (nobody learns that a committee exists), a role without the grant
403, nobody signed in 401 (API) or the sign-in page; a refused call writes nothing.
The completeness tests fail when a route of this part appears that is not listed here."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, cast

import pytest
from django.db import transaction
from django.test import Client
from django.urls import get_resolver

from tenderhall.accounts.models import User
from tenderhall.accounts.services import api_token_issue
from tenderhall.api import api as ninja_api
from tenderhall.core import clock
from tenderhall.core.models import LogEvent
from tenderhall.experts.models import AssignmentStatus, CommitteeMember, ExtractionRequest, VenueRole
from tenderhall.experts.services import committee as services
from tenderhall.experts.services.extraction import DemandSpec
from tenderhall.experts.views import committee as committee_views
from tenderhall.projects.models import Section, SectionStatus
from tests.experts.factories_committee import EVAL_END, EVAL_START, HOME, RemoteWorld, build_world, user_of
from tests.venues.factories import SectionFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
ROLES = (
    "anonymous",
    "main_staff",  # the project's centre (the main venue)
    "venue_staff",  # the invited secondary centre
    "other_staff",  # a centre with no part in it
    "supervisor",
    "auditor",
    "operator",
    "agent",  # the project's agent
    "other_agent",
    "tenderer",
    "bidder",
    "expert",  # drawn, at the main venue
    "other_expert",  # not drawn
)

# Expected status per role, in ROLES order (anonymous first).
DIRECTORY = (401, 200, 200, 200, 200, 200, 403, 200, 200, 200, 403, 403, 403)
REQUEST = (401, 201, 404, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403)
COMMITTEE_READ = (401, 200, 200, 404, 200, 404, 404, 200, 404, 200, 404, 200, 404)
MAIN_STAFF_ACT = (401, 200, 404, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403)
MEMBER_ACT = (401, 403, 403, 404, 403, 404, 404, 404, 404, 404, 404, 200, 404)
RECUSE = (401, 200, 404, 404, 403, 404, 404, 404, 404, 404, 404, 200, 404)
INVITATION_LIST = (401, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403)
INVITATION = (401, 404, 200, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403)

API_ROUTES: dict[tuple[str, str], tuple[str, tuple[int, ...]]] = {
    ("GET", "/experts/remote/centres"): ("inviting", DIRECTORY),
    ("POST", "/experts/remote/requests"): ("none", REQUEST),
    ("GET", "/extractions/{request_id}/committee"): ("ready", COMMITTEE_READ),
    ("POST", "/extractions/{request_id}/start"): ("ready", MAIN_STAFF_ACT),
    ("POST", "/extractions/{request_id}/check-in"): ("ready", MAIN_STAFF_ACT),
    ("POST", "/extractions/{request_id}/representatives"): ("ready_rep", MAIN_STAFF_ACT),
    ("POST", "/extractions/{request_id}/members/{member_id}/declare"): ("checked_in", MEMBER_ACT),
    ("POST", "/extractions/{request_id}/members/{member_id}/recuse"): ("checked_in", RECUSE),
    ("POST", "/extractions/{request_id}/members/{member_id}/vote"): ("seated", MEMBER_ACT),
    ("GET", "/experts/remote/invitations"): ("inviting", INVITATION_LIST),
    ("GET", "/experts/remote/invitations/{venue_id}"): ("inviting", INVITATION),
    ("POST", "/experts/remote/invitations/{venue_id}/answer"): ("inviting", INVITATION),
}
OURS = (
    "/experts/remote/centres",
    "/experts/remote/requests",
    "/experts/remote/invitations",
    "/extractions/{request_id}/committee",
    "/extractions/{request_id}/start",
    "/extractions/{request_id}/check-in",
    "/extractions/{request_id}/representatives",
    "/extractions/{request_id}/members",
)


def test_every_committee_api_route_is_classified() -> None:
    schema = ninja_api.get_openapi_schema()
    ours = {
        (method.upper(), path.removeprefix(API))
        for path, ops in schema["paths"].items()
        if path.removeprefix(API).startswith(OURS)
        for method in ops
    }
    assert ours == set(API_ROUTES)


class Scene:
    """One state of the world and the ids the routes need."""

    def __init__(self, state: str) -> None:
        self.w = build_world()
        self.request: ExtractionRequest | None = None
        self.venue_id = self.assignment_id = self.member_id = 0
        self.expert: User | None = None
        w = self.w
        if state == "none":
            return
        rep_demands = [[DemandSpec("A0101", 1, 1), DemandSpec("C0101", 1, 1)], [DemandSpec("A0101", 2, 1)]]
        if state == "inviting":
            self.request = w.create(secondary=1)
        elif state == "ready_rep":
            self.request = w.ready(secondary=1, demands=rep_demands, tenderer_representatives=1)
        else:
            self.request = w.ready(secondary=1)
        request = self.request
        self.venue_id = request.venues.get(role=VenueRole.SECONDARY).pk
        if state in ("checked_in", "seated", "elected"):
            if state in ("seated", "elected"):
                w.seated_from(request)
            else:
                w.check_in_all(request)
        first = (
            request.assignments.filter(demand__venue__role=VenueRole.MAIN)
            .exclude(status=AssignmentStatus.RESERVE)
            .select_related("expert__user")
            .order_by("demand_id", "rank")
            .first()
        )
        self.expert = first.expert.user if first is not None else None
        if first is not None:
            self.assignment_id = first.pk
            member = request.members.filter(assignment=first).first()
            self.member_id = member.pk if member is not None else 0
            if state == "elected" and member is not None:
                # The drawn main-venue expert ("expert") is elected leader by three of five.
                for voter in list(request.members.order_by("pk"))[:3]:
                    services.committee_vote(acting_user=user_of(voter), member=voter, candidate=member)
                request.refresh_from_db()
                assert request.leader_id == member.pk

    def user(self, role: str) -> User | None:
        w = self.w
        venue_staff = None
        if self.request is not None:
            venue = self.request.venues.filter(role=VenueRole.SECONDARY).first()
            venue_staff = w.staff_of(venue.centre_id) if venue is not None else None
        drawn = set(self.request.assignments.values_list("expert_id", flat=True)) if self.request else set()
        users: dict[str, Callable[[], User | None]] = {
            "anonymous": lambda: None,
            "main_staff": lambda: w.staff,
            "venue_staff": lambda: venue_staff or w.secondaries["甲市"][1],
            "other_staff": lambda: w.neighbour[1],
            "supervisor": lambda: w.supervisor,
            "auditor": lambda: w.auditor,
            "operator": lambda: w.operator,
            "agent": lambda: w.agent,
            "other_agent": lambda: w.other_agent,
            "tenderer": lambda: w.tenderer,
            "bidder": lambda: w.bidder,
            "expert": lambda: self.expert or w.experts[HOME][0].user,
            "other_expert": lambda: next(e.user for e in w.experts[HOME] if e.pk not in drawn),
        }
        return users[role]()

    def body(self, method: str, path: str) -> dict[str, Any] | None:
        request_id = self.request.pk if self.request is not None else 0
        return {
            ("POST", "/experts/remote/requests"): {
                "section_id": self.w.section.pk,
                "evaluation_starts_at": EVAL_START.isoformat(),
                "evaluation_ends_at": EVAL_END.isoformat(),
                "secondary_venues": 1,
                "exclude_own_region": True,
                "demands": [
                    [
                        {"specialty_code": "A0101", "count": 2, "reserves": 1},
                        {"specialty_code": "C0101", "count": 1},
                    ],
                    [{"specialty_code": "A0101", "count": 2, "reserves": 1}],
                ],
            },
            ("POST", "/extractions/{request_id}/check-in"): {
                "assignment_id": self.assignment_id,
                "identity_confirmed": True,
                "devices_stored": True,
            },
            ("POST", "/extractions/{request_id}/representatives"): {
                "username": "tenderer",
                "identity_confirmed": True,
                "devices_stored": True,
            },
            ("POST", "/extractions/{request_id}/members/{member_id}/recuse"): {
                "reason": "亲属在投标单位任职"
            },
            ("POST", "/extractions/{request_id}/members/{member_id}/vote"): {"candidate_id": self.member_id},
            ("POST", "/experts/remote/invitations/{venue_id}/answer"): {"accept": True},
        }.get((method, path), {"request": request_id} if method == "POST" else None)

    def url(self, path: str) -> str:
        return API + path.format(
            request_id=self.request.pk if self.request is not None else 0,
            member_id=self.member_id,
            venue_id=self.venue_id,
        )


def _experts_events() -> int:
    return LogEvent.objects.filter(action__startswith="experts.").exclude(action__endswith="viewed").count()


def call(scene: Scene, role: str, method: str, path: str) -> tuple[int, str, bool]:
    """Call as ``role`` in a savepoint rolled back afterwards; (status, body, wrote anything)."""
    with transaction.atomic():
        before = _experts_events()
        user = scene.user(role)
        headers = {}
        if user is not None:
            raw, _token = api_token_issue(user=user)
            headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
        body = scene.body(method, path)
        client = Client(raise_request_exception=False)
        response = getattr(client, method.lower())(
            scene.url(path),
            data=json.dumps(body) if body is not None else None,
            content_type="application/json",
            **headers,
        )
        wrote = _experts_events() != before
        transaction.set_rollback(True)
    return response.status_code, response.content.decode(), wrote


ROUTES = sorted(API_ROUTES)


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_role_on_every_api_route(route: tuple[str, str]) -> None:
    state, expected = API_ROUTES[route]
    scene = Scene(state)
    got = {}
    for role in ROLES:
        status, text, wrote = call(scene, role, *route)
        got[role] = status
        if status >= 400:
            assert not wrote, (role, route)
        if role not in ("main_staff", "supervisor") and scene.request is not None and status == 200:
            # Before the evaluation starts nobody but the organizers learns the section from here.
            scene.request.refresh_from_db()
            if scene.request.status not in ("evaluating", "decided") and role not in ("agent", "tenderer"):
                assert scene.w.section.code not in text, (role, route)
    assert got == dict(zip(ROLES, expected, strict=True))


# ---- recusal after the leader's election -------------------------------------------------------

RECUSE_ROUTE = ("POST", "/extractions/{request_id}/members/{member_id}/recuse")


def test_every_role_on_the_recusal_of_the_elected_leader() -> None:
    """After the election the same table as before it: the leader themself and the staff of the
    leader's venue recuse (the place is then vacant); nobody else, and a refusal writes nothing."""
    scene = Scene("elected")
    got = {}
    for role in ROLES:
        status, text, wrote = call(scene, role, *RECUSE_ROUTE)
        got[role] = status
        if status == 200:
            data = json.loads(text)
            assert data["leader"] is None and data["leader_vacant"] is True, role
            assert wrote
    assert got == dict(zip(ROLES, RECUSE, strict=True))


PAGE_RECUSE_AFTER_ELECTION = (302, 302, 302, 404, 403, 404, 404, 403, 404, 403, 404, 302, 404)


def test_every_role_on_the_recusal_page_action_after_the_election() -> None:
    """The page's recusal action after the election: only the leader themself and the main venue's
    staff write; the secondary venue's staff are refused (a message after the redirect)."""
    scene = Scene("elected")
    assert scene.request is not None
    got, wrote_as = {}, set()
    for role in ROLES:
        with transaction.atomic():
            before = _experts_events()
            client = _client_as(scene.user(role))
            response = client.post(
                f"/experts/remote/{scene.request.pk}/",
                {"action": "recuse", "member": scene.member_id, "reason": "亲属在投标单位任职"},
            )
            if _experts_events() != before:
                wrote_as.add(role)
            transaction.set_rollback(True)
        got[role] = response.status_code
    assert got == dict(zip(ROLES, PAGE_RECUSE_AFTER_ELECTION, strict=True))
    assert wrote_as == {"main_staff", "expert"}


def _other_committee(w: RemoteWorld) -> CommitteeMember:
    """A second remote evaluation, the next day, for another section of the project, seated: one of
    its members (who sits on no other committee of this world)."""
    section = cast(Section, SectionFactory(project=w.section.project, number=2, status=SectionStatus.OPENED))
    day = dt.timedelta(days=1)
    request = services.remote_evaluation_create(
        acting_user=w.staff,
        section=section,
        evaluation_starts_at=EVAL_START + day,
        evaluation_ends_at=EVAL_END + day,
        secondary_venues=1,
        exclude_own_region=True,
        demands=[[DemandSpec("A0101", 2, 0), DemandSpec("C0101", 1, 0)], [DemandSpec("A0101", 2, 0)]],
        rules={},
        reply_minutes=30,
        tenderer_representatives=0,
    )
    w.accept_all_venues(request)
    w.accept_all_experts(request)
    now = clock.now()
    clock.set_now(EVAL_START + day - dt.timedelta(minutes=30))
    try:
        w.check_in_all(request)
    finally:
        clock.set_now(now)
    taken = set(
        CommitteeMember.objects.exclude(request=request)
        .filter(assignment__isnull=False)
        .values_list("assignment__expert_id", flat=True)
    )
    member = next(
        m
        for m in request.members.select_related("assignment__expert__user")
        if m.assignment is not None and m.assignment.expert_id not in taken
    )
    return member


def test_no_outsider_recuses_the_elected_leader() -> None:
    """A fellow member of the same committee, a member of another committee and an expert who was
    not drawn: none can recuse the leader after the election (the API and the page), and nothing
    is written."""
    scene = Scene("elected")
    assert scene.request is not None
    w = scene.w
    fellow = scene.request.members.exclude(pk=scene.member_id).filter(recused_at__isnull=True).first()
    assert fellow is not None
    elsewhere = _other_committee(w)
    outsiders = {
        "fellow member": user_of(fellow),
        "member of another committee": user_of(elsewhere),
        "undrawn expert": scene.user("other_expert"),
    }
    path = RECUSE_ROUTE[1].format(request_id=scene.request.pk, member_id=scene.member_id)
    before = _experts_events()
    for who, user in outsiders.items():
        assert user is not None
        raw, _token = api_token_issue(user=user)
        response = Client(raise_request_exception=False).post(
            API + path,
            data=json.dumps({"reason": "x"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        assert response.status_code == 404, who
        client = Client(raise_request_exception=False)
        client.force_login(user)
        response = client.post(
            f"/experts/remote/{scene.request.pk}/",
            {"action": "recuse", "member": scene.member_id, "reason": "x"},
        )
        assert response.status_code in (302, 404), who
    assert _experts_events() == before
    scene.request.refresh_from_db()
    assert scene.request.leader_id == scene.member_id
    assert not scene.request.members.filter(recused_at__isnull=False).exists()


# ---- pages --------------------------------------------------------------------------------------

PAGE_READ_DIRECTORY = (302, 200, 200, 200, 200, 200, 403, 200, 200, 200, 403, 403, 403)
PAGE_WATCH = (302, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 200, 200)  # experts: their own
PAGE_REQUEST = (302, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403)
PAGE_REQUEST_POST = (302, 302, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403)
PAGE_COMMITTEE = (302, 200, 200, 404, 200, 404, 404, 200, 404, 200, 404, 200, 404)
# One-button actions: a refused rule shows as a message after the redirect (302).
PAGE_COMMITTEE_START = (302, 302, 302, 404, 403, 404, 404, 403, 404, 403, 404, 403, 404)
PAGE_INVITATIONS = (302, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403)
PAGE_INVITATION = (302, 404, 200, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403)
PAGE_INVITATION_POST = (302, 404, 302, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403)

PAGES: dict[tuple[str, str], tuple[str, tuple[int, ...]]] = {
    ("remote/centres/", "GET"): ("none", PAGE_READ_DIRECTORY),
    ("remote/", "GET"): ("ready", PAGE_WATCH),
    ("remote/new/", "GET"): ("none", PAGE_REQUEST),
    ("remote/new/", "POST"): ("none", PAGE_REQUEST_POST),
    ("remote/<int:pk>/", "GET"): ("ready", PAGE_COMMITTEE),
    ("remote/<int:pk>/", "POST"): ("ready", PAGE_COMMITTEE_START),
    ("remote/invitations/", "GET"): ("inviting", PAGE_INVITATIONS),
    ("remote/invitations/<int:pk>/", "GET"): ("inviting", PAGE_INVITATION),
    ("remote/invitations/<int:pk>/", "POST"): ("inviting", PAGE_INVITATION_POST),
}


def test_every_committee_page_is_classified() -> None:
    ours = {str(p.pattern) for p in committee_views.urlpatterns}
    assert ours == {route for route, _method in PAGES}
    experts = {str(p.pattern) for p in get_resolver("tenderhall.experts.urls").url_patterns}
    assert ours <= experts


def page_data(scene: Scene, route: str) -> dict[str, Any]:
    return {
        "remote/new/": {
            "section": str(scene.w.section.pk),
            "evaluation_starts_at": "2026-03-04T09:00",
            "evaluation_ends_at": "2026-03-04T17:00",
            "main_demands": "A0101:2:1, C0101:1:1",
            "secondary_demands": "A0101:2:1",
            "exclude_own_region": "on",
            "tenderer_representatives": "0",
            "reply_minutes": "30",
            "frequency_cap": "3",
        },
        "remote/<int:pk>/": {"action": "start"},
        "remote/invitations/<int:pk>/": {"action": "accept", "reason": ""},
    }.get(route, {})


def _client_as(user: User | None) -> Client:
    """A page client logged in as ``user`` (anonymous for None)."""
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def fetch(scene: Scene, role: str, route: str, method: str) -> tuple[int, str, bool]:
    with transaction.atomic():
        before = _experts_events()
        user = scene.user(role)
        client = _client_as(user)
        pk = (
            scene.venue_id
            if route.startswith("remote/invitations")
            else (scene.request.pk if scene.request else 0)
        )
        url = "/experts/" + route.replace("<int:pk>", str(pk))
        response = client.get(url) if method == "GET" else client.post(url, page_data(scene, route))
        wrote = _experts_events() != before
        transaction.set_rollback(True)
    if response.status_code == 302 and user is None:
        assert response["Location"].startswith("/accounts/login/?next=")
    if response.status_code == 403:
        assert 'data-testid="error-message"' in response.content.decode()
    return response.status_code, response.content.decode(), wrote


@pytest.mark.parametrize(("route", "method"), sorted(PAGES), ids=[f"{m} {r}" for r, m in sorted(PAGES)])
def test_every_role_on_every_page(route: str, method: str) -> None:
    state, expected = PAGES[(route, method)]
    scene = Scene(state)
    got = {}
    for role in ROLES:
        status, text, wrote = fetch(scene, role, route, method)
        got[role] = status
        if status in (401, 403, 404):
            assert not wrote, (role, route)
        if status == 200 and role not in ("main_staff", "supervisor", "agent", "tenderer"):
            assert scene.w.section.code not in text, (role, route)
    assert got == dict(zip(ROLES, expected, strict=True))


def test_a_view_of_the_member_list_by_staff_is_logged() -> None:
    scene = Scene("checked_in")
    assert scene.request is not None
    before = LogEvent.objects.filter(action="experts.committee.viewed").count()
    client = Client()
    client.force_login(scene.w.supervisor)
    page = client.get(f"/experts/remote/{scene.request.pk}/").content.decode()
    assert 'data-testid="member-row"' in page
    assert LogEvent.objects.filter(action="experts.committee.viewed").count() == before + 1
