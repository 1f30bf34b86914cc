"""Extraction services: recusal rules, the pool-too-small report, commitments, the draw, replies,
reserves, the decision and the replay (法 Art 37, 条例 Art 46; issue 6)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tenderhall.core import clock
from tenderhall.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from tenderhall.core.models import LogEvent, Notification, NotificationChannel
from tenderhall.experts.models import (
    AssignmentStatus,
    Expert,
    ExpertStatus,
    ExtractionAssignment,
    ExtractionDemand,
    ExtractionRequest,
    ExtractionStatus,
)
from tenderhall.experts.services import extraction as services
from tenderhall.experts.services.extraction import DemandSpec
from tenderhall.experts.services.registry import expert_specialties_sync
from tests.experts.factories import (
    BadBehaviourRecordFactory,
    ExpertLeaveFactory,
    ExpertRelationshipFactory,
)
from tests.experts.factories_extraction import EVAL_START, T0, World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> World:
    return build_world()


ONE = [DemandSpec(specialty_code="A0101", count=5, reserves=2)]


def pooled(request: ExtractionRequest) -> set[int]:
    return {e for d in ExtractionDemand.objects.filter(request=request) for e in d.pool}


def token_of(assignment: ExtractionAssignment) -> str:
    note = Notification.objects.filter(
        channel=NotificationChannel.SMS, address=assignment.expert.phone
    ).first()
    assert note is not None
    match = re.search(r"/experts/assignments/t/([^/\s]+)/", note.body)
    assert match is not None
    return match.group(1)


def notified(request: ExtractionRequest) -> list[ExtractionAssignment]:
    return list(
        ExtractionAssignment.objects.filter(request=request, status=AssignmentStatus.NOTIFIED)
        .select_related("expert", "demand")
        .order_by("demand_id", "rank")
    )


# ---- the happy path -----------------------------------------------------------------------------


def test_create_draws_commits_and_notifies(world: World) -> None:
    request = world.create()
    assert request.status == ExtractionStatus.CONFIRMING
    rows = list(ExtractionAssignment.objects.filter(request=request).order_by("demand_id", "rank"))
    assert [r.status for r in rows] == ["notified"] * 3 + ["reserve"] * 2 + ["notified"] * 2 + ["reserve"]
    assert len({r.expert_id for r in rows}) == len(rows)
    # Commitments in the log; the seed itself is not there.
    committed = LogEvent.objects.get(action=services.ExtractionAction.COMMITTED)
    data = json.loads(committed.payload)["data"]
    assert data["pool_sha256"] == request.pool_sha256 and data["seed_sha256"] == request.seed_sha256
    assert not LogEvent.objects.filter(payload__contains=request.seed_hex).exists()
    # The commitment precedes the draw.
    drawn = LogEvent.objects.get(action=services.ExtractionAction.DRAWN)
    assert committed.index < drawn.index
    # SMS and voice per called expert: press 1 / 2, a one-time link; the project is not named.
    called = [r for r in rows if r.status == AssignmentStatus.NOTIFIED]
    sms = Notification.objects.filter(channel=NotificationChannel.SMS)
    voice = Notification.objects.filter(channel=NotificationChannel.VOICE)
    assert sms.count() == voice.count() == len(called)
    body = sms.first().body  # type: ignore[union-attr]
    assert "回复“1" in body and "/experts/assignments/t/" in body
    assert world.section.project.title not in body and world.section.project.code not in body
    assert "按 1" in voice.first().body  # type: ignore[union-attr]
    # No names in the public log (notified events are sealed).
    for expert in Expert.objects.all():
        assert not LogEvent.objects.filter(payload__contains=expert.name).exists()


def test_the_sms_link_carries_the_public_address(world: World, settings: Any) -> None:
    settings.TENDERHALL_PUBLIC_URL = "https://ggzy.example.gov.cn"
    request = world.create()
    first = notified(request)[0]
    note = Notification.objects.get(channel=NotificationChannel.SMS, address=first.expert.phone)
    assert f"https://ggzy.example.gov.cn/experts/assignments/t/{token_of(first)}/" in note.body


def test_draw_is_deterministic_and_documented() -> None:
    seed = bytes(range(32))
    pools = [[1, 2, 3, 4, 5, 6], [4, 5, 6, 7, 8, 9, 10]]
    first = services.draw(seed, pools, [(2, 1), (2, 2)])
    assert first == services.draw(seed, pools, [(2, 1), (2, 2)])
    assert len(first[0]) == 3 and len(first[1]) == 4
    assert not set(first[0]) & set(first[1])
    # Version 2 pinned: these ids follow from the seed and docs/extraction.md alone (a change to the
    # algorithm shows here, and needs a new version number).
    assert first == [[5, 4, 1], [9, 10, 7, 8]]
    assert services.draw(seed, [[1, 2]], [(3, 0)]) == [[1, 2]]
    # Version 1 (requests drawn before version 2): ranked by draw_key.
    v1 = services.draw(seed, pools, [(2, 1), (2, 2)], version=services.DRAW_RANK_BY_HASH)
    order0 = sorted(pools[0], key=lambda e: services.draw_key(seed, 0, e))
    assert v1[0][:2] == order0[:2]  # places come first, in key order
    with pytest.raises(ValueError):
        services.draw(seed, pools, [(1, 0), (1, 0)], version=3)


def test_the_shuffle_index_is_uniform_and_rejects_the_biased_tail() -> None:
    # Every offset is reachable and none is favoured (small range: exact counts over many seeds).
    counts = [0] * 3
    for n in range(3000):
        counts[services.shuffle_index(n.to_bytes(32, "big"), 0, 0, 3)] += 1
    assert min(counts) > 900
    # The first try's u is rejected when it falls in the top 2^64 mod m values.
    m = 2**63 + 1  # 2^64 mod m = 2^63 - 1: nearly half of all u are rejected
    seen = {services.shuffle_index(n.to_bytes(32, "big"), 1, 2, m) for n in range(50)}
    assert all(0 <= r < m for r in seen) and len(seen) == 50


# ---- recusal rules ------------------------------------------------------------------------------


def _rule_cases() -> dict[str, Callable[[World, Expert], dict[str, Any]]]:
    def status(w: World, e: Expert) -> dict[str, Any]:
        Expert.objects.filter(pk=e.pk).update(status=ExpertStatus.SUSPENDED)
        expert_specialties_sync(expert_ids=[e.pk])
        return {}

    def retired(w: World, e: Expert) -> dict[str, Any]:
        Expert.objects.filter(pk=e.pk).update(status=ExpertStatus.RETIRED)
        expert_specialties_sync(expert_ids=[e.pk])
        return {}

    def leave(w: World, e: Expert) -> dict[str, Any]:
        ExpertLeaveFactory(expert=e, starts_on=dt.date(2026, 4, 7), ends_on=dt.date(2026, 4, 8))
        return {}

    def bad_behaviour(w: World, e: Expert) -> dict[str, Any]:
        BadBehaviourRecordFactory(
            expert=e, occurred_on=dt.date(2026, 1, 1), suspended_until=dt.date(2026, 4, 8)
        )
        return {}

    def tenderer_employee(w: World, e: Expert) -> dict[str, Any]:
        Expert.objects.filter(pk=e.pk).update(employer_uscc=w.section.project.tenderer.uscc)
        return {}

    def agent_employee(w: World, e: Expert) -> dict[str, Any]:
        Expert.objects.filter(pk=e.pk).update(employer_uscc=w.section.project.agent.uscc)  # type: ignore[union-attr]
        return {}

    def bidder_employee(w: World, e: Expert) -> dict[str, Any]:
        Expert.objects.filter(pk=e.pk).update(employer_uscc=w.bidder.organization.uscc)  # type: ignore[union-attr]
        return {}

    def relationship(w: World, e: Expert) -> dict[str, Any]:
        ExpertRelationshipFactory(expert=e, organization_uscc=w.bidder.organization.uscc)  # type: ignore[union-attr]
        return {}

    def excluded_region(w: World, e: Expert) -> dict[str, Any]:
        Expert.objects.filter(pk=e.pk).update(region="排除县")
        expert_specialties_sync(expert_ids=[e.pk])
        return {"excluded_regions": ["排除县"]}

    def regional_pool(w: World, e: Expert) -> dict[str, Any]:
        Expert.objects.filter(pk=e.pk).update(region="别的市")
        expert_specialties_sync(expert_ids=[e.pk])
        w.centre.region = "示范市"
        w.centre.save(update_fields=["region"])
        return {"regional_pool": True}

    def frequency(w: World, e: Expert) -> dict[str, Any]:
        _hold(w, e, times=2, starts=dt.datetime(2026, 3, 20, 9, 0, tzinfo=clock.LOCAL_TZ))
        return {"frequency_cap": 2, "frequency_days": 30}

    def busy(w: World, e: Expert) -> dict[str, Any]:
        _hold(w, e, times=1, starts=EVAL_START)
        return {}

    def other_specialty(w: World, e: Expert) -> dict[str, Any]:
        e.specialties.set(list(e.specialties.model.objects.filter(code="A0102")))
        expert_specialties_sync(expert_ids=[e.pk])
        return {}

    return {
        "status_suspended": status,
        "status_retired": retired,
        "leave": leave,
        "bad_behaviour": bad_behaviour,
        "employer_tenderer": tenderer_employee,
        "employer_agent": agent_employee,
        "employer_bidder": bidder_employee,
        "relationship": relationship,
        "excluded_region": excluded_region,
        "regional_pool": regional_pool,
        "frequency": frequency,
        "busy": busy,
        "specialty": other_specialty,
    }


def _hold(w: World, e: Expert, *, times: int, starts: dt.datetime) -> None:
    """Past extractions of ``e`` (notified), as rows: another section's requests."""
    from tests.venues.factories import SectionFactory

    for _ in range(times):
        other = SectionFactory(project__centre=w.centre)
        req = ExtractionRequest.objects.create(
            section=other,
            evaluation_starts_at=starts,
            evaluation_ends_at=starts + dt.timedelta(hours=8),
            status=ExtractionStatus.CONFIRMING,
            requested_by=w.staff,
            requested_at=clock.now(),
        )
        from tenderhall.experts.models import ExtractionVenue, Specialty

        venue = ExtractionVenue.objects.create(
            request=req, centre=w.centre, role="main", project_alias="PJ-X"
        )
        demand = ExtractionDemand.objects.create(
            request=req, venue=venue, specialty=Specialty.objects.get(code="A0101"), count=1
        )
        ExtractionAssignment.objects.create(
            request=req,
            demand=demand,
            expert=e,
            rank=0,
            status=AssignmentStatus.ACCEPTED,
            notified_at=clock.now() - dt.timedelta(days=5),
        )


@pytest.mark.parametrize("rule", sorted(_rule_cases()))
def test_every_recusal_rule_keeps_the_expert_out(world: World, rule: str) -> None:
    target, control = world.experts[0], world.experts[1]
    rules = _rule_cases()[rule](world, target)
    request = world.create(ONE, rules=rules)
    pool = pooled(request)
    assert target.pk not in pool
    assert control.pk in pool
    assert not ExtractionAssignment.objects.filter(request=request, expert=target).exists()


def test_specialty_subtree_and_leave_outside_the_days(world: World) -> None:
    # A demand for A01 房建 takes A0101 土建 experts; a leave ending the day before does not count.
    ExpertLeaveFactory(expert=world.experts[2], starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2026, 4, 7))
    BadBehaviourRecordFactory(expert=world.experts[3], suspended_until=dt.date(2026, 4, 7))
    request = world.create([DemandSpec(specialty_code="A01", count=5, reserves=0)])
    pool = pooled(request)
    assert {e.pk for e in world.experts} <= pool
    assert not {e.pk for e in world.economists} & pool


def test_bidders_are_not_a_ground_before_the_opening(world: World) -> None:
    from tenderhall.projects.models import SectionStatus

    world.section.status = SectionStatus.ANNOUNCED
    world.section.save(update_fields=["status"])
    Expert.objects.filter(pk=world.experts[0].pk).update(employer_uscc=world.bidder.organization.uscc)  # type: ignore[union-attr]
    request = world.create(ONE)
    assert world.experts[0].pk in pooled(request)


# ---- pool too small -----------------------------------------------------------------------------


def test_pool_too_small_fails_with_numbers_per_rule(world: World) -> None:
    Expert.objects.filter(pk=world.experts[0].pk).update(status=ExpertStatus.SUSPENDED)
    expert_specialties_sync(expert_ids=[world.experts[0].pk])
    ExpertLeaveFactory(expert=world.experts[1], starts_on=dt.date(2026, 4, 8), ends_on=dt.date(2026, 4, 8))
    Expert.objects.filter(pk=world.experts[2].pk).update(employer_uscc=world.bidder.organization.uscc)  # type: ignore[union-attr]
    with pytest.raises(Conflict) as caught:
        world.create([DemandSpec(specialty_code="A0101", count=9, reserves=0)])
    error = caught.value
    assert error.code == "extraction_pool_too_small"
    request = ExtractionRequest.objects.get()
    assert request.status == ExtractionStatus.FAILED
    assert not ExtractionAssignment.objects.exists()
    assert not request.seed_hex and not request.pool_sha256
    report = request.failure["demands"][0]
    steps = {s["rule"]: s for s in report["steps"]}
    assert steps["specialty"]["remaining"] == 10
    assert steps["status"]["excluded"] == 1
    assert steps["leave"]["excluded"] == 1
    assert steps["employer"]["excluded"] == 1
    assert report["eligible"] == 7 and report["short"] is True
    assert error.extra["report"] == request.failure
    assert LogEvent.objects.filter(action=services.ExtractionAction.FAILED).count() == 1
    assert not Notification.objects.filter(channel=NotificationChannel.SMS).exists()


def test_reserves_may_be_fewer_and_are_reported(world: World) -> None:
    request = world.create([DemandSpec(specialty_code="C0101", count=5, reserves=3)])
    assert request.status == ExtractionStatus.CONFIRMING
    assert request.failure["reserves_short"][0]["drawn"] == 0


# ---- committee rules and bad input --------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "reps"),
    [((2, 2), 0), ((3, 1), 0), ((3, 0), 2), ((2, 1), 2)],
    ids=["four", "even", "too_few_experts", "reps_over_a_third"],
)
def test_committee_rules_refused_before_any_draw(world: World, counts: tuple[int, int], reps: int) -> None:
    demands = [DemandSpec("A0101", counts[0], 1), DemandSpec("C0101", counts[1], 0)]
    demands = [d for d in demands if d.count]
    with pytest.raises(ValidationFailed) as caught:
        world.create(demands, reps=reps)
    assert caught.value.code == "committee_rules" and caught.value.article == "法 Art 37"
    assert not ExtractionRequest.objects.exists()


def test_committee_rules_accept_five_with_one_representative(world: World) -> None:
    services.committee_rules_check(demands=[DemandSpec("A0101", 4, 0)], tenderer_representatives=1)
    services.committee_rules_check(
        demands=[DemandSpec("A0101", 5, 0), DemandSpec("C0101", 2, 0)], tenderer_representatives=0
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"demands": [DemandSpec("ZZZ", 5, 0)]}, "specialty_unknown"),
        ({"demands": []}, "demands_missing"),
        ({"demands": [DemandSpec("A0101", 0, 0)]}, "demand_invalid"),
        ({"rules": {"frequency_capp": 2}}, "rules_unknown"),
        ({"rules": {"frequency_cap": "x"}}, "rules_invalid"),
        ({"reply_minutes": 0}, "reply_minutes_invalid"),
    ],
)
def test_bad_input_is_refused(world: World, kwargs: dict[str, Any], code: str) -> None:
    args: dict[str, Any] = {
        "acting_user": world.staff,
        "section": world.section,
        "evaluation_starts_at": EVAL_START,
        "evaluation_ends_at": EVAL_START + dt.timedelta(hours=8),
        "demands": ONE,
        "rules": {},
    }
    args.update(kwargs)
    with pytest.raises(DomainError) as caught:
        services.extraction_request_create(**args)
    assert caught.value.code == code
    assert not ExtractionRequest.objects.exists()


def test_only_the_projects_centre_staff_may_request(world: World) -> None:
    with pytest.raises(NotFound):
        services.extraction_request_create(
            acting_user=world.other_staff,
            section=world.section,
            evaluation_starts_at=EVAL_START,
            evaluation_ends_at=EVAL_START + dt.timedelta(hours=8),
            demands=ONE,
            rules={},
        )
    world.create(ONE)
    with pytest.raises(Conflict) as caught:
        world.create(ONE)
    assert caught.value.code == "extraction_exists"


# ---- replies and reserves -----------------------------------------------------------------------


def test_decline_calls_the_next_reserve(world: World) -> None:
    request = world.create(ONE)
    first = notified(request)[0]
    services.assignment_reply(assignment=first, accept=False, channel="link", token=token_of(first))
    first.refresh_from_db()
    assert first.status == AssignmentStatus.DECLINED
    reserve = ExtractionAssignment.objects.get(request=request, rank=5)
    assert reserve.status == AssignmentStatus.NOTIFIED and reserve.notified_at == clock.now()
    assert Notification.objects.filter(channel=NotificationChannel.SMS, address=reserve.expert.phone).exists()


def test_time_out_calls_the_next_reserve_and_late_accept_is_refused(world: World) -> None:
    request = world.create(ONE, reply_minutes=30)
    first = notified(request)[0]
    token = token_of(first)
    clock.set_now(T0 + dt.timedelta(minutes=31))
    with pytest.raises(Conflict) as caught:
        services.assignment_reply(assignment=first, accept=True, channel="link", token=token)
    assert caught.value.code == "reply_too_late"
    assert LogEvent.objects.filter(action=services.ExtractionAction.REPLY_REFUSED).exists()
    timed_out = services.extraction_tick()
    assert len(timed_out) == 5
    assert (
        ExtractionAssignment.objects.filter(request=request, status=AssignmentStatus.TIMED_OUT).count() == 5
    )
    # Two reserves called, then the reserves are exhausted for the other three.
    assert ExtractionAssignment.objects.filter(request=request, status=AssignmentStatus.NOTIFIED).count() == 2
    request.refresh_from_db()
    assert len(request.failure["reserves_exhausted"]) == 3
    assert services.extraction_tick() == []  # idempotent


def test_sms_reply_from_the_right_phone_only(world: World) -> None:
    request = world.create(ONE)
    first = notified(request)[0]
    code = services.reply_code(first)
    with pytest.raises(DomainError) as caught:
        services.gateway_reply(acting_user=world.operator, from_phone="13000000000", text=f"1 {code}")
    assert caught.value.code == "reply_wrong_phone"
    first.refresh_from_db()
    assert first.status == AssignmentStatus.NOTIFIED
    with pytest.raises(ValidationFailed):
        services.gateway_reply(acting_user=world.operator, from_phone=first.expert.phone, text="好的")
    done = services.gateway_reply(
        acting_user=world.operator, from_phone="+86 " + first.expert.phone, text=f"1 {code}"
    )
    assert done.status == AssignmentStatus.ACCEPTED and done.reply_channel == "sms"
    # Voice: the IVR passes the digit and the code.
    second = notified(request)[0]
    services.gateway_reply(
        acting_user=world.operator,
        from_phone=second.expert.phone,
        text=f"2 {services.reply_code(second)}",
        channel="voice",
    )
    second.refresh_from_db()
    assert second.status == AssignmentStatus.DECLINED and second.reply_channel == "voice"


def test_link_is_one_time_and_page_reply_needs_the_expert(world: World) -> None:
    request = world.create(ONE)
    first = notified(request)[0]
    token = token_of(first)
    with pytest.raises(NotFound):
        services.assignment_reply(assignment=first, accept=True, channel="link", token="wrong")
    services.assignment_reply(assignment=first, accept=True, channel="link", token=token)
    with pytest.raises(Conflict):
        services.assignment_reply(assignment=first, accept=False, channel="link", token=token)
    second = notified(request)[0]
    with pytest.raises(NotFound):
        services.assignment_reply(assignment=second, accept=True, channel="page", acting_user=world.staff)


def test_all_accepted_completes_and_reserves_stay(world: World) -> None:
    request = world.create(ONE)
    for a in notified(request):
        services.assignment_reply(assignment=a, accept=True, channel="link", token=token_of(a))
    request.refresh_from_db()
    assert request.status == ExtractionStatus.COMPLETE
    assert ExtractionAssignment.objects.filter(request=request, status=AssignmentStatus.RESERVE).count() == 2
    # A recusal at check-in (the committee part) calls the next reserve.
    demand = ExtractionDemand.objects.get(request=request)
    reserve = services.reserve_call_next(request=request, demand=demand, reason="recused")
    assert reserve is not None and reserve.rank == 5
    request.refresh_from_db()
    assert request.status == ExtractionStatus.CONFIRMING
    assert services.reserve_call_next(request=request, demand=demand, reason="recused") is not None
    assert services.reserve_call_next(request=request, demand=demand, reason="recused") is None
    request.refresh_from_db()
    assert request.failure["reserves_exhausted"][0]["demand"] == demand.pk


# ---- decision and replay ------------------------------------------------------------------------


def test_decide_publishes_the_seed(world: World) -> None:
    request = world.create()
    with pytest.raises(Conflict):
        services.extraction_result_decide(acting_user=world.staff, request=request)
    for a in notified(request):
        services.assignment_reply(assignment=a, accept=True, channel="link", token=token_of(a))
    decided = services.extraction_result_decide(acting_user=world.staff, request=request)
    assert decided.status == ExtractionStatus.DECIDED and decided.seed_published_at == clock.now()
    event = LogEvent.objects.get(action=services.ExtractionAction.DECIDED)
    assert json.loads(event.payload)["data"]["seed_hex"] == decided.seed_hex


def test_replay_matches_and_detects_a_changed_pool_or_seed(world: World) -> None:
    request = world.create()
    result = services.extraction_replay(request=request)
    assert result.ok, result.problems
    # The published seed replays too; another request's seed does not.
    assert services.extraction_replay(request=request, seed_hex=request.seed_hex).ok
    bad_seed = services.extraction_replay(request=request, seed_hex="00" * 32)
    assert not bad_seed.ok and not bad_seed.seed_matches and not bad_seed.draw_matches
    demand = ExtractionDemand.objects.filter(request=request).first()
    assert demand is not None
    demand.pool = demand.pool[:-1]
    demand.save(update_fields=["pool"])
    changed = services.extraction_replay(request=request)
    assert not changed.ok and not changed.pool_matches and changed.seed_matches


def test_a_request_drawn_with_version_1_replays_with_version_1(world: World, monkeypatch: Any) -> None:
    monkeypatch.setattr(services, "DRAW_CURRENT", services.DRAW_RANK_BY_HASH)
    request = world.create()
    monkeypatch.undo()
    assert request.draw_version == services.DRAW_RANK_BY_HASH
    committed = LogEvent.objects.get(action=services.ExtractionAction.COMMITTED)
    assert json.loads(committed.payload)["data"]["draw_version"] == 1
    assert services.extraction_replay(request=request).ok
    # The version is part of what is replayed: read as version 2, the same seed draws others.
    ExtractionRequest.objects.filter(pk=request.pk).update(draw_version=services.DRAW_SHUFFLE)
    request.refresh_from_db()
    result = services.extraction_replay(request=request)
    assert result.pool_matches and result.seed_matches and not result.draw_matches


def test_replay_detects_a_changed_draw(world: World) -> None:
    request = world.create()
    a, b = ExtractionAssignment.objects.filter(request=request).order_by("demand_id", "rank")[:2]
    a_expert, b_expert = a.expert_id, b.expert_id
    ExtractionAssignment.objects.filter(pk=a.pk).update(rank=99)
    ExtractionAssignment.objects.filter(pk=b.pk).update(rank=0)
    ExtractionAssignment.objects.filter(pk=a.pk).update(rank=1)
    result = services.extraction_replay(request=request)
    assert a_expert != b_expert and result.pool_matches and result.seed_matches and not result.draw_matches


def test_replay_command_exit_codes(world: World) -> None:
    request = world.create()
    out = io.StringIO()
    call_command("experts", "replay", "--request", str(request.pk), stdout=out)
    assert "replay OK" in out.getvalue()
    other = ExtractionRequest.objects.create(
        section=world.section,
        evaluation_starts_at=EVAL_START,
        evaluation_ends_at=EVAL_START + dt.timedelta(hours=1),
        status=ExtractionStatus.CANCELLED,
        requested_by=world.staff,
        requested_at=clock.now(),
        seed_hex="11" * 32,
    )
    with pytest.raises(CommandError):
        call_command(
            "experts", "replay", "--request", str(request.pk), "--seed", other.seed_hex, stdout=io.StringIO()
        )
    with pytest.raises(CommandError):
        call_command("experts", "replay", "--request", str(other.pk), stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("experts", "replay", "--request", "999999", stdout=io.StringIO())
