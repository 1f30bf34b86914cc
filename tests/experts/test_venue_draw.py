"""The secondary-venue draw of a remote evaluation, committed beforehand like the expert draw
(docs/remote-evaluation.md): the candidates' and the seed's hashes are logged before the pick, the
seed is published with the decision, and `tenderhall experts replay` checks every venue draw."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tenderhall.core.models import LogEvent
from tenderhall.experts.models import ExtractionRequest, ExtractionStatus, ExtractionVenue, VenueRole
from tenderhall.experts.services import committee as services
from tenderhall.experts.services.extraction import ExtractionAction, extraction_result_decide
from tests.experts.factories_committee import RemoteWorld, build_world
from tests.experts.factories_extraction import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db: None) -> Iterator[RemoteWorld]:
    yield build_world()


def secondary(request: ExtractionRequest) -> list[ExtractionVenue]:
    return list(request.venues.filter(role=VenueRole.SECONDARY).order_by("pk"))


def replay(request: ExtractionRequest, *args: str) -> tuple[bool, dict]:
    out = StringIO()
    try:
        call_command("experts", "replay", "--request", str(request.pk), "--json", *args, stdout=out)
    except CommandError:
        return False, json.loads(out.getvalue())
    return True, json.loads(out.getvalue())


def test_the_pick_is_a_function_of_the_seed_and_the_candidates() -> None:
    seed = bytes(range(32))
    candidates = [3, 7, 11, 19]
    pick = services.venue_pick(seed, 1, candidates)
    assert pick == services.venue_pick(seed, 1, list(reversed(candidates)))  # order does not matter
    assert pick == min(candidates, key=lambda c: (services.venue_rank(seed, 1, c), c))
    # Another round or seed ranks afresh.
    picks = {services.venue_pick(bytes([n]) * 32, r, candidates) for n in range(20) for r in (1, 2)}
    assert len(picks) > 1
    document = services.venue_candidates_document(request_id=5, draw_round=1, seats=2, candidates=[7, 3])
    assert document == {"request": 5, "round": 1, "seats": 2, "candidates": [3, 7]}


def test_replay_matches_before_the_experts_are_drawn(w: RemoteWorld) -> None:
    request = w.create(secondary=2)
    assert request.status == ExtractionStatus.INVITING
    ok, report = replay(request)
    assert ok and report["ok"] and report["experts_drawn"] is False
    assert [v["ok"] for v in report["venue_draws"]] == [True, True]
    assert [v["round"] for v in report["venue_draws"]] == [1, 2]


def test_replay_matches_with_declines_and_the_expert_draw(w: RemoteWorld) -> None:
    request = w.create(secondary=2)
    first = secondary(request)[0]
    services.venue_invitation_answer(
        acting_user=w.staff_of(first.centre_id), venue=first, accept=False, reason="席位检修"
    )
    venues = secondary(request)
    # The replacement is a new round, committed on its own.
    assert [v.draw_round for v in venues] == [1, 2, 3]
    assert LogEvent.objects.filter(action=services.CommitteeAction.VENUE_DRAW_COMMITTED).count() == 3
    w.accept_all_venues(request)
    request.refresh_from_db()
    assert request.status == ExtractionStatus.CONFIRMING
    ok, report = replay(request)
    assert ok and report["experts_drawn"] and report["experts_ok"]
    assert len(report["venue_draws"]) == 3 and all(v["ok"] for v in report["venue_draws"])


def test_a_changed_candidate_list_fails_the_replay(w: RemoteWorld) -> None:
    request = w.create(secondary=2)
    venue = secondary(request)[1]
    others = [c for c in venue.draw_candidates if c != venue.centre_id]
    assert others, "the world has more than one candidate"
    # Dropping a candidate that lost: the pick may be the same, the commitment is not.
    ExtractionVenue.objects.filter(pk=venue.pk).update(
        draw_candidates=[c for c in venue.draw_candidates if c != others[0]]
    )
    ok, report = replay(request)
    assert not ok and not report["ok"]
    bad = report["venue_draws"][1]
    assert bad["candidates_match"] is False and bad["seed_matches"] is True
    assert any("candidates" in p for p in report["problems"])
    assert report["venue_draws"][0]["ok"] is True


def test_a_changed_seed_fails_the_replay(w: RemoteWorld) -> None:
    request = w.create(secondary=2)
    one, two = secondary(request)
    # Another draw's seed (the wrong one published, or the stored one swapped).
    ok, report = replay(request, "--venue-seed", f"2={one.draw_seed_hex}")
    assert not ok and report["venue_draws"][1]["seed_matches"] is False
    ExtractionVenue.objects.filter(pk=one.pk).update(draw_seed_hex=two.draw_seed_hex)
    ok, report = replay(request)
    assert not ok and report["venue_draws"][0]["seed_matches"] is False
    # The right published seeds replay.
    ExtractionVenue.objects.filter(pk=one.pk).update(draw_seed_hex="")
    ok, report = replay(
        request, "--venue-seed", f"1={one.draw_seed_hex}", "--venue-seed", f"2={two.draw_seed_hex}"
    )
    assert ok, report["problems"]


def test_a_changed_pick_fails_the_replay(w: RemoteWorld) -> None:
    request = w.create(secondary=1)
    [venue] = secondary(request)
    other = next(c for c in venue.draw_candidates if c != venue.centre_id)
    ExtractionVenue.objects.filter(pk=venue.pk).update(centre_id=other)
    ok, report = replay(request)
    assert not ok and report["venue_draws"][0]["pick_matches"] is False
    assert report["venue_draws"][0]["candidates_match"] and report["venue_draws"][0]["seed_matches"]


def test_the_command_refuses_a_malformed_venue_seed(w: RemoteWorld) -> None:
    request = w.create(secondary=1)
    with pytest.raises(CommandError):
        call_command(
            "experts", "replay", "--request", str(request.pk), "--venue-seed", "x", stdout=StringIO()
        )


def test_the_seeds_are_published_with_the_decision(w: RemoteWorld) -> None:
    request = w.ready(secondary=2)
    venues = secondary(request)
    for user, sees in ((w.agent, False), (w.tenderer, False), (w.supervisor, True), (w.operator, True)):
        data = api_client(user).get(f"/api/v1/extractions/{request.pk}/commitments").json()
        assert [v["seed_sha256"] for v in data["venue_draws"]] == [v.draw_seed_sha256 for v in venues]
        assert [v["candidates_sha256"] for v in data["venue_draws"]] == [
            v.draw_candidates_sha256 for v in venues
        ]
        assert all((v["seed_hex"] is not None) is sees for v in data["venue_draws"]), user.role
        assert all((v["candidates"] is not None) is sees for v in data["venue_draws"]), user.role
    extraction_result_decide(acting_user=w.staff, request=request)
    event = LogEvent.objects.filter(action=ExtractionAction.DECIDED).get()
    published = json.loads(event.payload)["data"]["venue_seeds"]
    assert published == [{"venue": v.pk, "round": v.draw_round, "seed_hex": v.draw_seed_hex} for v in venues]
    data = api_client(w.agent).get(f"/api/v1/extractions/{request.pk}/commitments").json()
    assert [v["seed_hex"] for v in data["venue_draws"]] == [v.draw_seed_hex for v in venues]
    assert [v["candidates"] for v in data["venue_draws"]] == [v.draw_candidates for v in venues]
    # With the published seeds (as anyone would, from the log) the replay matches.
    args = [a for p in published for a in ("--venue-seed", f"{p['round']}={p['seed_hex']}")]
    ok, report = replay(request, *args)
    assert ok, report["problems"]
