"""Every extraction endpoint and page, for every kind of caller (issue 6 §5: secrecy per role).

Identities: the project's centre staff and supervisors only (until the evaluation starts); the
project's agent and tenderer see counts; operators see commitments and the seed, no names; other
centres, other agents, bidders and auditors see nothing (404); experts see their own calls only.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tenderhall.accounts.models import Role, User
from tenderhall.core.models import LogEvent, Notification, NotificationChannel
from tenderhall.experts.models import AssignmentStatus, ExtractionAssignment, ExtractionRequest
from tenderhall.projects.models import SectionStatus
from tests.experts.factories_extraction import (
    EVAL_END,
    EVAL_START,
    World,
    api_client,
    build_world,
    page_client,
)
from tests.factories import UserFactory
from tests.venues.factories import SectionFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
ROLES = (
    "anon",
    "staff",
    "other_staff",
    "supervisor",
    "operator",
    "auditor",
    "agent",
    "tenderer",
    "other_agent",
    "bidder",
    "other_bidder",
    "expert",
    "other_expert",
)


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def drawn(world: World) -> tuple[World, ExtractionRequest, dict[str, User | None]]:
    request = world.create()
    called = ExtractionAssignment.objects.filter(
        request=request, status=AssignmentStatus.NOTIFIED, expert__user__isnull=False
    ).select_related("expert__user")
    expert = called.first()
    assert expert is not None
    users: dict[str, User | None] = {
        "anon": None,
        "staff": world.staff,
        "other_staff": world.other_staff,
        "supervisor": world.supervisor,
        "operator": world.operator,
        "auditor": world.auditor,
        "agent": world.agent,
        "tenderer": world.tenderer,
        "other_agent": world.other_agent,
        "bidder": world.bidder,
        "other_bidder": world.other_bidder,
        "expert": expert.expert.user,
        "other_expert": UserFactory(role=Role.EXPERT, username="x_stranger_expert"),
    }
    return world, request, users


def _expect(default: int, **overrides: int) -> dict[str, int]:
    return {role: overrides.get(role, default) for role in ROLES}


SEE = _expect(404, anon=401, staff=200, supervisor=200, operator=200, agent=200, tenderer=200)

# (method, path) → expected status per role. {request_id} and {assignment_id} are the fixture's.
API_ROUTES: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/extractions"): _expect(
        403, anon=401, staff=200, other_staff=200, supervisor=200, agent=200, tenderer=200, other_agent=200
    ),
    ("POST", "/extractions"): _expect(403, anon=401, staff=201, other_staff=404),
    ("GET", "/extractions/{request_id}"): SEE,
    ("GET", "/extractions/{request_id}/commitments"): SEE,
    ("POST", "/extractions/{request_id}/decide"): _expect(403, anon=401, staff=409, other_staff=404),
    ("GET", "/extractions/assignments/mine"): _expect(403, anon=401, expert=200, other_expert=404),
    ("POST", "/extractions/assignments/{assignment_id}/reply"): _expect(
        403, anon=401, expert=200, other_expert=404
    ),
    ("POST", "/extractions/link/{token}/reply"): _expect(404),  # a wrong token, whoever asks
    ("POST", "/extractions/gateway-reply"): _expect(403, anon=401, operator=422),
}


def _body(world: World, path: str) -> dict[str, Any]:
    if path == "/extractions":
        section = SectionFactory(project__centre=world.centre, status=SectionStatus.OPENED)
        return {
            "section_id": section.pk,
            "evaluation_starts_at": EVAL_START.isoformat(),
            "evaluation_ends_at": EVAL_END.isoformat(),
            "demands": [
                {"specialty_code": "A0101", "count": 3, "reserves": 0},
                {"specialty_code": "C0101", "count": 2},
            ],
        }
    if path.endswith("/reply"):
        return {"accept": False}
    if path == "/extractions/gateway-reply":
        return {"from_phone": "13900000000", "text": "maybe"}
    return {}


@pytest.mark.parametrize("route", sorted(API_ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
@pytest.mark.parametrize("role", ROLES)
def test_api_route_per_role(drawn: Any, route: tuple[str, str], role: str) -> None:
    world, request, users = drawn
    method, path = route
    mine = ExtractionAssignment.objects.filter(request=request, expert__user=users["expert"]).first()
    assert mine is not None
    url = API + path.format(request_id=request.pk, assignment_id=mine.pk, token="not-a-token")
    client = api_client(users[role])
    body = _body(world, path)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == API_ROUTES[route][role], response.content[:400]


@pytest.mark.parametrize("role", ROLES)
def test_identities_and_seed_per_role(drawn: Any, role: str) -> None:
    _world, request, users = drawn
    response = api_client(users[role]).get(f"{API}/extractions/{request.pk}")
    if SEE[role] != 200:
        assert response.status_code == SEE[role]
        return
    data = response.json()
    names_shown = role in ("staff", "supervisor")
    assert data["identities_shown"] is names_shown
    assert all((d["experts"] is not None) is names_shown for d in data["demands"])
    text = json.dumps(data, ensure_ascii=False)
    for expert in ExtractionAssignment.objects.filter(request=request).select_related("expert"):
        assert (expert.expert.name in text) is names_shown
    assert (data["seed_hex"] is not None) is (role in ("supervisor", "operator"))
    assert data["demands"][0]["count"] == 3  # counts for everyone who sees the request
    commitments = api_client(users[role]).get(f"{API}/extractions/{request.pk}/commitments").json()
    assert commitments["seed_sha256"] == request.seed_sha256
    assert (commitments["pools"] is not None) is (role in ("supervisor", "operator"))


def test_names_reach_bidders_only_once_decided(drawn: Any) -> None:
    world, request, users = drawn
    for a in ExtractionAssignment.objects.filter(request=request, status=AssignmentStatus.NOTIFIED):
        note = Notification.objects.filter(channel=NotificationChannel.SMS, address=a.expert.phone).first()
        assert note is not None
        token = re.search(r"/experts/assignments/t/([^/\s]+)/", note.body).group(1)  # type: ignore[union-attr]
        assert (
            api_client(None)
            .post(
                f"{API}/extractions/link/{token}/reply",
                data={"accept": True},
                content_type="application/json",
            )
            .status_code
            == 200
        )
    assert api_client(users["bidder"]).get(f"{API}/extractions/{request.pk}").status_code == 404
    assert api_client(world.staff).post(f"{API}/extractions/{request.pk}/decide").status_code == 200
    data = api_client(users["bidder"]).get(f"{API}/extractions/{request.pk}").json()
    assert data["identities_shown"] is True and data["seed_hex"] == ExtractionRequest.objects.get().seed_hex
    assert api_client(users["other_bidder"]).get(f"{API}/extractions/{request.pk}").status_code == 404
    agent = api_client(users["agent"]).get(f"{API}/extractions/{request.pk}").json()
    assert agent["identities_shown"] is True


def test_every_view_of_an_expert_list_is_logged(drawn: Any) -> None:
    world, request, _users = drawn
    before = LogEvent.objects.filter(action="experts.extraction.list_viewed").count()
    api_client(world.supervisor).get(f"{API}/extractions/{request.pk}")
    page_client(world.staff).get(f"/experts/extractions/{request.pk}/")
    api_client(world.agent).get(f"{API}/extractions/{request.pk}")  # counts only: not a list view
    events = LogEvent.objects.filter(action="experts.extraction.list_viewed").order_by("index")
    assert events.count() == before + 2
    assert [e.actor_username for e in events][-2:] == [world.supervisor.username, world.staff.username]
    for a in ExtractionAssignment.objects.filter(request=request).select_related("expert"):
        assert not events.filter(payload__contains=a.expert.name).exists()


# ---- pages (keyed app-relative) -----------------------------------------------------------------

PAGES: dict[str, dict[str, int]] = {
    "extractions/": _expect(
        403, anon=302, staff=200, other_staff=200, supervisor=200, agent=200, tenderer=200, other_agent=200
    ),
    "extractions/new/": _expect(403, anon=302, staff=200, other_staff=200),
    "extractions/<int:pk>/": {**SEE, "anon": 302},
    "assignments/": _expect(403, anon=302, expert=200, other_expert=404),
    "assignments/<int:pk>/": _expect(403, anon=302, expert=200, other_expert=404),
    "assignments/t/<str:token>/": _expect(404),  # a wrong token, whoever asks
}


@pytest.mark.parametrize("page", sorted(PAGES))
@pytest.mark.parametrize("role", ROLES)
def test_page_per_role(drawn: Any, page: str, role: str) -> None:
    world, request, users = drawn
    mine = ExtractionAssignment.objects.filter(request=request, expert__user=users["expert"]).first()
    assert mine is not None
    pk = mine.pk if page.startswith("assignments/") else request.pk
    url = "/experts/" + page.replace("<int:pk>", str(pk)).replace("<str:token>", "not-a-token")
    response = page_client(users[role]).get(url)
    assert response.status_code == PAGES[page][role]
    if response.status_code == 200 and page == "extractions/<int:pk>/":
        names = [
            a.expert.name
            for a in ExtractionAssignment.objects.filter(request=request).select_related("expert")
        ]
        assert all((n in response.content.decode()) is (role in ("staff", "supervisor")) for n in names)
    if response.status_code == 200 and page.startswith("assignments/"):
        # The expert sees time and venue, never the project.
        assert world.section.project.title not in response.content.decode()


def test_every_extraction_route_is_classified() -> None:
    from tenderhall.experts.api.extraction import router
    from tenderhall.experts.views.extraction import urlpatterns

    ours = {
        (method.upper(), re.sub(r"\{\w+:(\w+)\}", r"{\1}", path))
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    assert ours == set(API_ROUTES)
    assert {str(p.pattern) for p in urlpatterns} == set(PAGES)
