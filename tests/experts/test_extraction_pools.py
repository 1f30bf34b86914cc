"""The request-wide pool computation and the fast paths of the draw (performance work, issue 6):
each must give exactly what the rule-by-rule definition gives."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import random
import secrets

import pytest
from django.db.models import F

from tenderhall.core import clock
from tenderhall.core.canonical import canonical_json, sha256_hex
from tenderhall.experts.models import (
    AssignmentStatus,
    Expert,
    ExpertKind,
    ExpertSpecialty,
    ExpertStatus,
    ExtractionAssignment,
    ExtractionDemand,
    ExtractionRequest,
    ExtractionStatus,
    ExtractionVenue,
    Specialty,
)
from tenderhall.experts.selectors import extraction as selectors
from tenderhall.experts.services import extraction as services
from tenderhall.experts.services import registry
from tests.experts.factories import (
    BadBehaviourRecordFactory,
    ExpertFactory,
    ExpertLeaveFactory,
    ExpertRelationshipFactory,
    expert_employer_uscc,
    expert_id_number,
)
from tests.experts.factories_extraction import EVAL_END, EVAL_START, World, build_world
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

REGIONS = ["示范市", "邻市", "远市", "禁市"]
CODES = ["A0101", "A0102", "A0201", "C0101", "C0102"]


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def crowd(w: World, rng: random.Random) -> None:
    """Experts spread over regions, statuses and specialties, with every small-table rule hit."""
    project = w.section.project
    conflicts = [project.tenderer.uscc, w.bidder.organization.uscc]  # type: ignore[union-attr]
    experts = []
    for n in range(80):
        codes = rng.sample(CODES, rng.choice([1, 1, 2]))
        experts.append(
            ExpertFactory(
                region=rng.choice(REGIONS),
                kind=ExpertKind.ECONOMIC if codes[0].startswith("C") else ExpertKind.TECHNICAL,
                status=rng.choice([ExpertStatus.ACTIVE] * 6 + [ExpertStatus.SUSPENDED, ExpertStatus.RETIRED]),
                specialties=codes,
                employer_uscc=rng.choice(conflicts) if n % 9 == 0 else f"91320000MA{n:07d}X",
            )
        )
    for e in rng.sample(experts, 8):
        ExpertLeaveFactory(expert=e, starts_on=dt.date(2026, 4, 8), ends_on=dt.date(2026, 4, 9))
    for e in rng.sample(experts, 5):
        ExpertLeaveFactory(expert=e, starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2026, 4, 7))
    for e in rng.sample(experts, 6):
        BadBehaviourRecordFactory(expert=e, suspended_until=dt.date(2026, 6, 1))
    for e in rng.sample(experts, 6):
        ExpertRelationshipFactory(expert=e, organization_uscc=rng.choice(conflicts))
    # History: a capped expert (3 recent calls) and a busy one (called for an overlapping day).
    capped, busy = rng.sample(experts, 2)
    other = ExtractionRequest.objects.create(
        section=w.section,
        evaluation_starts_at=EVAL_START,
        evaluation_ends_at=EVAL_END,
        status=ExtractionStatus.CONFIRMING,
        requested_by=w.staff,
        requested_at=clock.now(),
    )
    venue = ExtractionVenue.objects.create(request=other, centre=w.centre, role="main", project_alias="PJ-H")
    demand = ExtractionDemand.objects.create(
        request=other, venue=venue, specialty=Specialty.objects.get(code="A0101"), count=5
    )
    for rank, (expert, days) in enumerate([(capped, 3), (capped, 9), (capped, 20), (busy, 1)]):
        ExtractionAssignment.objects.create(
            request=other if expert is busy else _past_request(w, days),
            demand=demand,
            expert=expert,
            rank=rank,
            status=AssignmentStatus.ACCEPTED,
            notified_at=clock.now() - dt.timedelta(days=days),
        )


def _past_request(w: World, days_ago: int) -> ExtractionRequest:
    starts = clock.now() - dt.timedelta(days=days_ago)
    return ExtractionRequest.objects.create(
        section=w.section,
        evaluation_starts_at=starts,
        evaluation_ends_at=starts + dt.timedelta(hours=8),
        status=ExtractionStatus.DECIDED,
        requested_by=w.staff,
        requested_at=starts,
    )


def request_with(w: World, *, remote: bool, rules: dict[str, object]) -> list[ExtractionDemand]:
    request = ExtractionRequest.objects.create(
        section=w.section,
        is_remote=remote,
        evaluation_starts_at=EVAL_START,
        evaluation_ends_at=EVAL_END,
        status=ExtractionStatus.INVITING,
        rules=services.normalize_rules(rules),
        requested_by=w.staff,
        requested_at=clock.now(),
    )
    demands = []
    for i, region in enumerate(REGIONS[:3]):
        centre = OrganizationFactory(kind="trading_centre", region=region)
        venue = ExtractionVenue.objects.create(
            request=request, centre=centre, role="main" if i == 0 else "secondary", project_alias=f"PJ-{i}"
        )
        for code in ("A01", "A0101", "C0101"):
            demands.append(
                ExtractionDemand.objects.create(
                    request=request, venue=venue, specialty=Specialty.objects.get(code=code), count=1
                )
            )
    return list(
        ExtractionDemand.objects.filter(request=request)
        .select_related("venue__centre", "specialty")
        .order_by("pk")
    )


def reference_pool(ctx: selectors.PoolContext, demand: ExtractionDemand) -> list[int]:
    """Every rule as its own SQL filter, one demand at a time (the definition the report uses)."""
    filters = selectors._rule_filters(ctx, demand, selectors.specialty_subtree(demand.specialty_id))
    query = Expert.objects.all()
    for q in filters:
        query = query.filter(q)
    return sorted(query.values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("remote", "rules"),
    [
        (True, {"excluded_regions": ["禁市", "远市"]}),
        (True, {}),
        (False, {"excluded_regions": ["邻市"]}),
        (False, {"frequency_cap": 2, "regional_pool": False}),
        (False, {"regional_pool": True}),
    ],
)
def test_request_pools_equal_the_rule_by_rule_definition(
    world: World, remote: bool, rules: dict[str, object]
) -> None:
    crowd(world, random.Random(6))
    demands = request_with(world, remote=remote, rules=rules)
    ctx = selectors.pool_context(demands[0].request)
    pools = selectors.request_pools(ctx, demands)
    assert pools == [reference_pool(ctx, d) for d in demands]
    assert any(pools) and all(p == sorted(set(p)) for p in pools)


@pytest.mark.parametrize("rules", [{}, {"frequency_cap": 2, "frequency_days": 10}, {"frequency_cap": 4}])
def test_barring_sql_equals_the_orm_queries(world: World, rules: dict[str, object]) -> None:
    """request_pools writes the small-table and employer rules out as SQL; each must select
    exactly what the ORM definition (``_excluded_queries``, the employer filter) selects."""
    crowd(world, random.Random(6))
    demands = request_with(world, remote=False, rules=rules)
    ctx = selectors.pool_context(demands[0].request)
    raw = selectors._ids_many(selectors._barring_sql(ctx, using="default"))
    orm_queries = [
        *selectors._excluded_queries(ctx),
        Expert.objects.filter(employer_uscc__in=ctx.conflict_usccs),
    ]
    orm = selectors._ids_many([(q, "id" if q.model is Expert else "expert_id") for q in orm_queries])
    leave, bad, relationship, frequency, busy, employer = (sorted(ids) for ids in orm)
    assert [sorted(ids) for ids in raw] == [leave, bad, frequency, busy, relationship, employer]
    assert all([leave, bad, busy, relationship, employer])  # the crowd hits every rule
    assert bool(frequency) == (rules.get("frequency_cap", 3) != 4)


def _full_shuffle(seed: bytes, i: int, pool: list[int]) -> list[int]:
    """Version 2 as docs/extraction.md states it, written out again: the whole Fisher–Yates shuffle
    of the sorted pool, each swap offset from SHA-256 with rejection."""
    order = list(pool)
    n = len(order)
    for j in range(n):
        m, attempt = n - j, 0
        while True:
            digest = hashlib.sha256(
                seed + i.to_bytes(4, "big") + j.to_bytes(4, "big") + attempt.to_bytes(4, "big")
            ).digest()
            u = int.from_bytes(digest[:8], "big")
            if u < 2**64 - 2**64 % m:
                break
            attempt += 1
        k = j + u % m
        order[j], order[k] = order[k], order[j]
    return order


def _draw_in_full(
    seed: bytes, pools: list[list[int]], counts: list[tuple[int, int]], version: int
) -> list[list[int]]:
    """The documented draw, literally: each whole pool in order (version 1: sorted by (draw_key, id);
    version 2: shuffled), then the two passes."""
    if version == services.DRAW_RANK_BY_HASH:
        orders = [
            [e for _, e in sorted((services.draw_key(seed, i, e), e) for e in p)] for i, p in enumerate(pools)
        ]
    else:
        orders = [_full_shuffle(seed, i, p) for i, p in enumerate(pools)]
    cursors, taken, out = [0] * len(pools), set(), [[] for _ in pools]  # type: ignore[var-annotated]
    for with_reserves in (False, True):
        for i, order in enumerate(orders):
            target = counts[i][0] + (counts[i][1] if with_reserves else 0)
            while len(out[i]) < target and cursors[i] < len(order):
                expert = order[cursors[i]]
                cursors[i] += 1
                if expert not in taken:
                    taken.add(expert)
                    out[i].append(expert)
    return out


@pytest.mark.parametrize("version", [services.DRAW_RANK_BY_HASH, services.DRAW_SHUFFLE])
@pytest.mark.parametrize("case", range(30))
def test_draw_reads_only_the_head_of_each_order_and_gives_the_same_result(case: int, version: int) -> None:
    rng = random.Random(case)
    seed = secrets.token_bytes(32) if case % 2 else hashlib.sha256(str(case).encode()).digest()
    universe = list(range(1, rng.choice([12, 40, 400])))
    pools = [
        sorted(rng.sample(universe, rng.randint(0, len(universe) - 1))) for _ in range(rng.randint(1, 6))
    ]
    counts = [(rng.randint(1, 6), rng.randint(0, 4)) for _ in pools]
    assert services.draw(seed, pools, counts, version=version) == _draw_in_full(seed, pools, counts, version)


def test_pools_hash_is_the_canonical_json_hash() -> None:
    document = {
        "request": 7,
        "demands": [
            {"demand": 1, "centre": 3, "specialty": "A0101", "count": 2, "reserves": 1, "pool": [1, 5, 90]},
            {"demand": 2, "centre": 4, "specialty": "C0101", "count": 1, "reserves": 0, "pool": []},
        ],
    }
    assert services.pools_sha256(document) == sha256_hex(canonical_json(document))
    with pytest.raises(TypeError):
        services.pools_sha256({**document, "demands": [{**document["demands"][0], "pool": [1.5]}]})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        services.pools_sha256({**document, "request": 7.0})


# ---- the copies on the specialty links (ExpertSpecialty.region / status) ------------------------


def _csv(*rows: tuple[int, str, str]) -> bytes:
    """An import file: (n, region, specialty codes) per expert."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["姓名", "身份证号", "工作单位", "统一社会信用代码", "地区", "专业", "类别", "手机"])
    for n, region, codes in rows:
        kind = "经济" if codes.startswith("C") else "技术"
        uscc = expert_employer_uscc(700_000 + n)
        writer.writerow(
            [
                f"导入{n}",
                expert_id_number(700_000 + n),
                f"单位{n}",
                uscc,
                region,
                codes,
                kind,
                f"1370000{n:04d}",
            ]
        )
    return out.getvalue().encode("utf-8")


def _links() -> set[tuple[int, str, str, str]]:
    return set(ExpertSpecialty.objects.values_list("expert_id", "specialty__code", "region", "status"))


def assert_links_in_step() -> None:
    """Every link carries its expert's region and status, and only the expert's specialties."""
    expected = {
        (e.pk, code, e.region, e.status)
        for e in Expert.objects.prefetch_related("specialties")
        for code in (s.code for s in e.specialties.all())
    }
    assert _links() == expected
    assert not ExpertSpecialty.objects.exclude(region=F("expert__region")).exists()
    assert not ExpertSpecialty.objects.exclude(status=F("expert__status")).exists()


def assert_pools_right(w: World) -> list[list[int]]:
    """Remote (regional) and local pools computed from the links equal the rule-by-rule definition
    on ``Expert``; returns the remote pools (demands: 示范市/邻市/远市 × A01, A0101, C0101)."""
    out = []
    for remote, rules in ((True, {"excluded_regions": ["远市"]}), (False, {"excluded_regions": ["禁市"]})):
        demands = request_with(w, remote=remote, rules=rules)
        ctx = selectors.pool_context(demands[0].request)
        pools = selectors.request_pools(ctx, demands)
        assert pools == [reference_pool(ctx, d) for d in demands]
        if remote:
            out = pools
    return out


def _pooled(pools: list[list[int]], expert: Expert) -> set[tuple[int, int]]:
    """(venue index 0-2, specialty index 0-2) of the remote demands whose pool holds the expert."""
    return {(i // 3, i % 3) for i, pool in enumerate(pools) if expert.pk in pool}


def test_links_follow_import_edit_status_and_specialty_changes(world: World) -> None:
    staff = world.staff
    ExpertSpecialty.objects.all().delete()  # the world's own experts: A0101 / C0101 in 示范市
    Expert.objects.all().delete()
    registry.expert_import(
        acting_user=staff,
        filename="a.csv",
        data=_csv((1, "示范市", "A0101"), (2, "邻市", "A0102 C0101"), (3, "示范市", "C0101")),
    )
    assert_links_in_step()
    one, two, three = (Expert.objects.get(name=f"导入{n}") for n in (1, 2, 3))
    pools = assert_pools_right(world)
    assert _pooled(pools, one) == {(0, 0), (0, 1)}  # 示范市: A01 (sub-codes) and A0101
    assert _pooled(pools, two) == {(1, 0), (1, 2)}  # 邻市: A01 (A0102) and C0101
    assert _pooled(pools, three) == {(0, 2)}

    # Import again: expert 1 moves region (the update path replaces the links).
    registry.expert_import(acting_user=staff, filename="b.csv", data=_csv((1, "邻市", "A0101")))
    assert_links_in_step()
    assert _pooled(assert_pools_right(world), one) == {(1, 0), (1, 1)}

    # Staff edit: region, then specialties.
    registry.expert_update(acting_user=staff, expert=two, region="远市")
    assert_links_in_step()
    assert _pooled(assert_pools_right(world), two) == set()  # 远市 is an excluded region here
    registry.expert_update(acting_user=staff, expert=two, region="示范市", specialties=["A0201", "C0101"])
    assert_links_in_step()
    assert _pooled(assert_pools_right(world), two) == {(0, 2)}  # A0201 is demanded nowhere
    registry.expert_update(acting_user=staff, expert=two, specialties=["A0103"])
    assert_links_in_step()
    assert _pooled(assert_pools_right(world), two) == {(0, 0)}

    # Status: suspended and retired experts leave every pool; re-activated ones come back.
    registry.expert_status_change(acting_user=staff, expert=three, status="suspended", reason="体检")
    assert_links_in_step()
    assert _pooled(assert_pools_right(world), three) == set()
    registry.expert_status_change(acting_user=staff, expert=three, status="active", reason="恢复")
    assert_links_in_step()
    assert _pooled(assert_pools_right(world), three) == {(0, 2)}
    registry.expert_status_change(acting_user=staff, expert=one, status="retired", reason="退休")
    assert_links_in_step()
    assert _pooled(assert_pools_right(world), one) == set()

    # An edit of a field the pools do not read leaves the links as they are.
    before = _links()
    registry.expert_update(acting_user=staff, expert=three, phone="13912345678", title="教授级高工")
    assert _links() == before
    assert_links_in_step()


def test_a_link_written_without_the_sync_is_in_no_pool(world: World) -> None:
    """Fail-safe: the copies have no default, so a link the sync did not write (status "") is never
    drawn — a missed sync can only shrink a pool, never admit a suspended or foreign expert."""
    expert = ExpertFactory(region="示范市", specialties=["C0101"])
    expert.specialties.add(Specialty.objects.get(code="A0101"))
    link = ExpertSpecialty.objects.get(expert=expert, specialty__code="A0101")
    assert (link.region, link.status) == ("", "")
    demands = request_with(world, remote=True, rules={})
    pools = selectors.request_pools(selectors.pool_context(demands[0].request), demands)
    assert _pooled(pools, expert) == {(0, 2)}  # C0101 only; A01 / A0101 wait for the sync
    registry.expert_specialties_sync(expert_ids=[expert.pk])
    assert_links_in_step()
    assert _pooled(assert_pools_right(world), expert) == {(0, 0), (0, 1), (0, 2)}


@pytest.mark.parametrize("case", range(20))
def test_pools_commitment_hashes_canonical_json_and_gives_the_stored_text(case: int) -> None:
    rng = random.Random(case)
    specialties = ["A0101", "土建", 'x"pool":[]', "\\", "é\u2028"]
    document = {
        "request": rng.randint(1, 10**6),
        "demands": [
            {
                "demand": rng.randint(1, 10**6),
                "centre": rng.randint(1, 10**6),
                "specialty": rng.choice(specialties),
                "count": rng.randint(0, 9),
                "reserves": rng.randint(0, 9),
                "pool": sorted(rng.sample(range(1, 10**9), rng.randint(0, 50))),
            }
            for _ in range(rng.randint(0, 6))
        ],
    }
    digest, pools = services.pools_commitment(document)
    assert digest == sha256_hex(canonical_json(document))
    assert [json.loads(p) for p in pools] == [d["pool"] for d in document["demands"]]


def test_stored_pools_are_the_hashed_pools(world: World) -> None:
    request = world.create(
        [
            services.DemandSpec(specialty_code="A01", count=3, reserves=2),
            services.DemandSpec(specialty_code="C0101", count=2, reserves=1),
        ]
    )
    demands = list(request.demands.select_related("venue", "specialty").order_by("pk"))
    assert all(isinstance(d.pool, list) and d.pool for d in demands)
    assert services.pools_sha256(services.pools_document(request, demands)) == request.pool_sha256
    assert services.extraction_replay(request=request).ok
