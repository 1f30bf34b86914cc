"""Watching an extraction request live (/ws/extraction/<id>/): one log event per connection (when it
first shows names), none per push; the page's version spares the first push; the channel layer
carries only "request N changed", once per transaction, never for a rolled-back one; every state
change — the draw, replies, reserves, the decision, venues, check-in — is pushed."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from channels.layers import get_channel_layer

from tenderhall.core import clock
from tenderhall.core.errors import DomainError
from tenderhall.core.models import LogEvent
from tenderhall.experts.live import extraction_group
from tenderhall.experts.models import AssignmentStatus, ExtractionAssignment, ExtractionRequest, VenueRole
from tenderhall.experts.services import committee as committee_services
from tenderhall.experts.services.extraction import assignment_reply, extraction_result_decide
from tests.experts import factories_committee
from tests.experts.factories_extraction import World, build_world, page_client
from tests.experts.live_helpers import WebsocketCommunicator, cookie_for, db, run, specialty_tree, watch
from tests.experts.test_permissions_extraction_live import accept_all, accept_first, names_of

pytestmark = pytest.mark.django_db(transaction=True)

VIEWED = "experts.extraction.list_viewed"


@pytest.fixture(autouse=True)
def layer(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def world(transactional_db: None) -> World:
    specialty_tree()
    return build_world()


def views(user: Any) -> list[dict[str, Any]]:
    return [
        json.loads(e.payload)["data"]
        for e in LogEvent.objects.filter(action=VIEWED, actor_username=user.username).order_by("index")
    ]


async def until(ws: WebsocketCommunicator, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Frames until one satisfies ``done`` (a service may commit several changes in a row)."""
    while True:
        frame = await ws.receive_json()
        if done(frame):
            return frame


def test_a_connection_is_one_view_however_many_pushes(world: World) -> None:
    request = world.create()
    cookie = cookie_for(world.staff)
    versions: list[str] = []

    async def body() -> None:
        ws = watch(cookie, request.pk)
        assert (await ws.connect())[0]
        first = await ws.receive_json()
        assert first["kind"] == "state" and first["data"]["identities_shown"]
        assert len(await db(views)(world.staff)) == 1
        for _ in range(3):
            await db(accept_first)(request)
            versions.append((await ws.receive_json())["version"])
        assert len(await db(views)(world.staff)) == 1  # three pushes with names, still one view
        await ws.disconnect()
        # Reconnecting with what the page shows: nothing resent, nothing logged.
        ws = watch(cookie, request.pk, f"have={versions[-1]}&lang=en")
        assert (await ws.connect())[0]
        assert await ws.receive_json() == {"kind": "unchanged", "version": versions[-1]}
        assert len(await db(views)(world.staff)) == 1
        # The first push of names on this connection is its one view.
        await db(accept_first)(request)
        assert (await ws.receive_json())["kind"] == "state"
        await db(accept_first)(request)
        assert (await ws.receive_json())["kind"] == "state"
        await ws.disconnect()

    run(body)
    logged = views(world.staff)
    assert len(logged) == 2 and all(v["via"] == "live" for v in logged)
    assert len(set(versions)) == 3
    # The events count the experts shown, never name them.
    assert logged[0]["experts_shown"] == ExtractionAssignment.objects.filter(request=request).count()
    text = "".join(LogEvent.objects.filter(action=VIEWED).values_list("payload", flat=True))
    assert not any(name in text for name in names_of(request))


def test_the_page_and_its_socket_make_one_view(world: World) -> None:
    request = world.create()
    response = page_client(world.staff).get(f"/experts/extractions/{request.pk}/")
    html = response.content.decode()
    version = re.search(r'data-version="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]
    assert "experts/extraction.js" in html and 'id="extraction-live"' in html
    assert len(views(world.staff)) == 1  # the page's own view
    cookie = cookie_for(world.staff)

    async def body() -> None:
        ws = watch(cookie, request.pk, f"have={version}&lang=zh-hans")
        assert (await ws.connect())[0]
        assert (await ws.receive_json())["kind"] == "unchanged"
        await ws.disconnect()

    run(body)
    assert len(views(world.staff)) == 1


def test_counts_only_watchers_are_logged_when_names_first_reach_them(world: World) -> None:
    request = world.create()
    cookie = cookie_for(world.agent)
    names = names_of(request)

    async def body() -> None:
        ws = watch(cookie, request.pk)
        assert (await ws.connect())[0]
        frame = await ws.receive_json()
        assert not frame["data"]["identities_shown"]
        await db(accept_all)(request)
        frame = await until(ws, lambda f: f["data"]["status"] == "complete")
        assert not any(n in frame["html"] for n in names)
        assert await db(views)(world.agent) == []  # counts are not an expert list
        await db(extraction_result_decide)(acting_user=world.staff, request=request)
        frame = await until(ws, lambda f: f["data"]["status"] == "decided")
        assert frame["data"]["identities_shown"] and any(n in frame["html"] for n in names)
        await ws.disconnect()

    run(body)
    assert len(views(world.agent)) == 1


def test_the_layer_carries_only_the_request_id_once_per_transaction(world: World) -> None:
    request = world.create()
    called = list(
        ExtractionAssignment.objects.filter(request=request, status=AssignmentStatus.NOTIFIED)
        .select_related("expert__user")
        .order_by("pk")
    )

    def decline() -> None:
        # one transaction: the reply, the next reserve's call — one message
        a = called[0]
        assignment_reply(assignment=a, accept=False, channel="page", acting_user=a.expert.user)

    def refused() -> None:
        a = called[0]
        with pytest.raises(DomainError):  # already answered: rolled back, nothing pushed
            assignment_reply(assignment=a, accept=True, channel="page", acting_user=a.expert.user)

    async def body() -> None:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add(extraction_group(request.pk), channel)

        async def nothing_more() -> bool:
            try:
                await asyncio.wait_for(layer.receive(channel), timeout=0.3)
            except TimeoutError:
                return True
            return False

        await db(decline)()
        message = await layer.receive(channel)
        assert message == {"type": "extraction.changed", "request": request.pk}
        assert await nothing_more()
        await db(refused)()
        assert await nothing_more()
        await db(accept_first)(request)
        assert await layer.receive(channel) == message
        assert await nothing_more()
        await layer.group_discard(extraction_group(request.pk), channel)

    run(body)
    declined = ExtractionAssignment.objects.get(pk=called[0].pk)
    assert declined.status == AssignmentStatus.DECLINED


def test_the_fragment_follows_the_pages_language(world: World) -> None:
    request = world.create()
    cookie = cookie_for(world.supervisor)
    frames: dict[str, dict[str, Any]] = {}

    async def body() -> None:
        for lang in ("en", "zh-hans", "xx"):
            ws = watch(cookie, request.pk, f"lang={lang}")
            assert (await ws.connect())[0]
            frames[lang] = await ws.receive_json()
            await ws.disconnect()

    run(body)
    assert "Demands" in frames["en"]["html"] and "抽取需求" in frames["zh-hans"]["html"]
    assert "抽取需求" in frames["xx"]["html"]  # unknown: the default language
    assert frames["en"]["version"] == frames["zh-hans"]["version"]  # the data does not depend on it


def test_remote_evaluation_steps_are_pushed(transactional_db: None) -> None:
    specialty_tree()
    w = factories_committee.build_world()
    request = w.create(secondary=1)
    [venue] = request.venues.filter(role=VenueRole.SECONDARY)
    venue_staff = w.staff_of(venue.centre_id)
    cookie = cookie_for(w.staff)

    def accept_venue() -> None:
        committee_services.venue_invitation_answer(acting_user=venue_staff, venue=venue, accept=True)

    def experts_accept() -> None:
        w.accept_all_experts(ExtractionRequest.objects.get(pk=request.pk))
        clock.set_now(factories_committee.EVAL_START - dt.timedelta(minutes=30))

    def check_in_one() -> None:
        a = (
            ExtractionAssignment.objects.filter(request=request, status=AssignmentStatus.ACCEPTED)
            .select_related("demand__venue")
            .order_by("pk")
            .first()
        )
        assert a is not None
        committee_services.committee_check_in(
            acting_user=w.staff_of(a.demand.venue.centre_id),
            assignment=a,
            identity_confirmed=True,
            devices_stored=True,
        )

    async def body() -> None:
        ws = watch(cookie, request.pk, "lang=en")
        assert (await ws.connect())[0]
        frame = await ws.receive_json()
        assert frame["data"]["status"] == "inviting"
        [draw] = frame["data"]["venue_draws"]
        assert draw["centre_id"] == venue.centre_id and draw["seed_hex"] is None  # staff: after the decision
        assert 'data-testid="venue-draws"' in frame["html"]
        await db(accept_venue)()
        frame = await until(ws, lambda f: f["data"]["status"] == "confirming")
        assert frame["data"]["drawn_at"] is not None
        await db(experts_accept)()
        await until(ws, lambda f: f["data"]["status"] == "complete")
        await db(check_in_one)()
        frame = await until(ws, lambda f: f["data"]["status"] == "evaluating")
        assert 'data-status="evaluating"' in frame["html"]
        await ws.disconnect()

    run(body)
