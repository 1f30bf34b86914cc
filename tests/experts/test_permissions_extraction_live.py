"""Who may watch an extraction request live (/ws/extraction/<id>/), for every kind of caller, and
what each one is sent: the same per-role view as the request page and the API (issue 6 §5).

Names: the project's centre staff and supervisors; counts and confirmation states: the project's
agent and tenderer (names from the evaluation on), operators (commitments, no names); the
section's bidders once the result is decided; everybody else — anonymous, experts, other centres,
other agents, auditors — is refused with close code 4403."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenderhall.accounts.models import Role, User
from tenderhall.experts.models import AssignmentStatus, ExtractionAssignment, ExtractionRequest
from tenderhall.experts.services.extraction import assignment_reply, extraction_result_decide
from tests.experts.factories_extraction import World, api_client, build_world
from tests.experts.live_helpers import cookie_for, db, run, specialty_tree, watch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

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
REFUSED = 4403


def _expect(default: Any, **overrides: Any) -> dict[str, Any]:
    return {role: overrides.get(role, default) for role in ROLES}


# route → what each role gets: "names", "counts" (no names) or the close code.
WS_ROUTES: dict[str, dict[str, Any]] = {
    "ws/extraction/<int:request_id>/": _expect(
        REFUSED, staff="names", supervisor="names", operator="counts", agent="counts", tenderer="counts"
    ),
}
# Once the result is decided the tender parties and the section's bidders see the names too.
DECIDED = _expect(
    REFUSED,
    staff="names",
    supervisor="names",
    operator="counts",
    agent="names",
    tenderer="names",
    bidder="names",
)


@pytest.fixture
def layer(settings: Any) -> str:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return "memory"


@pytest.fixture
def world(transactional_db: None) -> World:
    specialty_tree()
    return build_world()


def users_of(world: World, request: ExtractionRequest) -> dict[str, User | None]:
    called = (
        ExtractionAssignment.objects.filter(
            request=request, status=AssignmentStatus.NOTIFIED, expert__user__isnull=False
        )
        .select_related("expert__user")
        .first()
    )
    assert called is not None
    return {
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
        "expert": called.expert.user,
        "other_expert": UserFactory(role=Role.EXPERT, username="x_stranger_expert"),
    }


def names_of(request: ExtractionRequest) -> list[str]:
    return [
        a.expert.name for a in ExtractionAssignment.objects.filter(request=request).select_related("expert")
    ]


def accept_first(request: ExtractionRequest) -> None:
    a = (
        ExtractionAssignment.objects.filter(request=request, status=AssignmentStatus.NOTIFIED)
        .select_related("expert__user")
        .order_by("pk")
        .first()
    )
    assert a is not None
    assignment_reply(assignment=a, accept=True, channel="page", acting_user=a.expert.user)


def accept_all(request: ExtractionRequest) -> None:
    while ExtractionAssignment.objects.filter(request=request, status=AssignmentStatus.NOTIFIED).exists():
        accept_first(request)


def check_frame(frame: dict[str, Any], expected: str, names: list[str]) -> None:
    assert frame["kind"] == "state"
    text = json.dumps(frame, ensure_ascii=False)
    shown = expected == "names"
    assert frame["data"]["identities_shown"] is shown
    assert all((n in text) is shown for n in names), expected
    assert all((d["experts"] is not None) is shown for d in frame["data"]["demands"])
    # counts and confirmation states for everyone who may watch
    assert [d["count"] for d in frame["data"]["demands"]] == [3, 2]
    assert "demand-counts" in frame["html"]


@pytest.mark.parametrize("role", ROLES)
def test_the_watch_per_role(world: World, layer: str, role: str) -> None:
    request = world.create()
    users = users_of(world, request)
    expected = WS_ROUTES["ws/extraction/<int:request_id>/"][role]
    names = names_of(request)
    cookie = cookie_for(users[role])
    frames: list[dict[str, Any]] = []

    async def body() -> None:
        ws = watch(cookie, request.pk)
        connected, _ = await ws.connect()
        assert connected
        if expected == REFUSED:
            assert await ws.refused_with() == REFUSED
            return
        frames.append(await ws.receive_json())
        await db(accept_first)(request)  # a state change: pushed, filtered the same way
        frames.append(await ws.receive_json())
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    run(body)
    if expected == REFUSED:
        return
    first, second = frames
    check_frame(first, expected, names)
    check_frame(second, expected, names)
    assert second["version"] != first["version"]
    assert sum(d["accepted"] for d in second["data"]["demands"]) == 1
    # The push carries exactly what the API shows this user.
    api = api_client(users[role]).get(f"/api/v1/extractions/{request.pk}").json()
    assert {k: second["data"][k] for k in api} == api


@pytest.mark.parametrize("role", ROLES)
def test_the_watch_per_role_once_decided(world: World, layer: str, role: str) -> None:
    request = world.create()
    users = users_of(world, request)
    accept_all(request)
    extraction_result_decide(acting_user=world.staff, request=request)
    expected = DECIDED[role]
    cookie = cookie_for(users[role])
    names = names_of(request)

    async def body() -> None:
        ws = watch(cookie, request.pk)
        assert (await ws.connect())[0]
        if expected == REFUSED:
            assert await ws.refused_with() == REFUSED
            return
        frame = await ws.receive_json()
        check_frame(frame, expected, names)
        assert frame["data"]["status"] == "decided" and frame["data"]["seed_hex"] == request.seed_hex
        await ws.disconnect()

    run(body)


def test_every_websocket_route_is_classified() -> None:
    from tenderhall.experts.routing import websocket_urlpatterns

    assert {str(p.pattern) for p in websocket_urlpatterns} == set(WS_ROUTES)
