"""How the pools are stored (experts.id_lists, migration 0005): delta-coded bytes that decode to
exactly the committed sorted ids, on both backends, through the migration both ways."""

from __future__ import annotations

import itertools
import json
import random
from decimal import Decimal
from typing import Any

import pytest
from django.core import serializers
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tenderhall.core.canonical import canonical_json, sha256_hex
from tenderhall.experts.id_lists import MAX_ID, decode_ids, encode_ids
from tenderhall.experts.models import ExtractionDemand
from tenderhall.experts.services import extraction as services
from tests.experts.factories_extraction import World, build_world
from tests.experts.live_helpers import specialty_tree


def _stored(demand_id: int) -> Any:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pool FROM experts_extractiondemand WHERE id = %s", [demand_id])
        return cursor.fetchone()[0]


# ---- the layout ---------------------------------------------------------------------------------


def test_layout_is_width_first_id_and_deltas() -> None:
    assert encode_ids([]) == b""
    assert encode_ids([7]) == bytes.fromhex("01 0000000000000007")
    # width 2 (the largest delta, 298, needs two bytes): first id 1, deltas 1 and 298
    assert encode_ids([1, 2, 300]) == bytes.fromhex("02 0000000000000001 0001 012a")
    assert encode_ids([5, 6, 8]) == bytes.fromhex("01 0000000000000005 01 02")
    assert encode_ids([0, MAX_ID]) == bytes.fromhex("08 0000000000000000 ffffffffffffffff")


@pytest.mark.parametrize("case", range(40))
def test_round_trip(case: int) -> None:
    rng = random.Random(case)
    top = rng.choice([3, 300, 70_000, 2**24 + 5, 2**33, MAX_ID + 1])
    ids = sorted({rng.randrange(0, top) for _ in range(rng.choice([0, 1, 2, 5, 100, 3000]))})
    data = encode_ids(ids)
    assert decode_ids(data) == ids
    assert decode_ids(memoryview(data)) == ids and decode_ids(bytearray(data)) == ids
    if len(ids) > 1:  # the narrowest width that holds every delta
        widest = max(b - a for a, b in itertools.pairwise(ids))
        assert data[0] == max(1, (widest.bit_length() + 7) // 8)
        assert len(data) == 9 + data[0] * (len(ids) - 1)


@pytest.mark.parametrize(
    "ids", [[2, 1], [1, 1], [1, 2, 2], [3, 9, 4], [-1], [MAX_ID + 1], [1.5], ["1"], [None], [1, 2**64 + 2]]
)
def test_only_strictly_increasing_ids_are_stored(ids: list[Any]) -> None:
    with pytest.raises(ValueError):
        encode_ids(ids)


@pytest.mark.parametrize(
    "data", [b"\x00", b"\x09" + bytes(8), b"\x01" + bytes(7), b"\x02" + bytes(9), b"\xff"]
)
def test_bytes_it_cannot_have_written_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode_ids(data)


def test_the_fast_pool_hash_equals_canonical_json_for_any_content() -> None:
    """pools_commitment dumps integer pools itself; anything else must hash (or fail) exactly as
    canonical_json does."""
    base = {"demand": 1, "centre": 2, "specialty": "A0101", "count": 1, "reserves": 0}
    for pool in ([], [1, 5], [-3, 0, 7], [[1, 2]], [True], [None], ["1"], [Decimal("2")], [{"a": 1}], [1.0]):
        document = {"request": 1, "demands": [{**base, "pool": pool}, {**base, "demand": 2, "pool": [4]}]}
        try:
            expected = sha256_hex(canonical_json(document))
        except TypeError:
            with pytest.raises(TypeError):
                services.pools_commitment(document)
            continue
        digest, texts = services.pools_commitment(document)
        assert digest == expected, pool
        assert [json.loads(t) for t in texts] == [json.loads(json.dumps(pool, default=str)), [4]]


# ---- the field ----------------------------------------------------------------------------------


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def test_stored_pool_is_the_coded_list_and_reads_back(world: World) -> None:
    request = world.create()
    demands = list(ExtractionDemand.objects.filter(request=request).order_by("pk"))
    assert all(d.pool and d.pool == sorted(set(d.pool)) for d in demands)
    for d in demands:
        assert bytes(_stored(d.pk)) == encode_ids(d.pool)
    assert list(ExtractionDemand.objects.filter(pk=demands[0].pk).values_list("pool", flat=True)) == [
        demands[0].pool
    ]
    # A demand written without a pool stores nothing and reads an empty list.
    empty = ExtractionDemand.objects.create(
        request=request, venue=demands[0].venue, specialty=demands[0].specialty, count=1
    )
    assert bytes(_stored(empty.pk)) == b""
    empty.refresh_from_db()
    assert empty.pool == []


def test_replay_names_a_pool_it_cannot_read(world: World) -> None:
    request = world.create()
    demand = ExtractionDemand.objects.filter(request=request).order_by("pk").first()
    assert demand is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE experts_extractiondemand SET pool = %s WHERE id = %s", [b"\x09" + bytes(16), demand.pk]
        )
    result = services.extraction_replay(request=request)
    assert not result.ok and not result.pool_matches
    assert result.problems == ["a stored pool cannot be read (not an encoded list of ids)"]


def test_serialised_as_a_json_list(world: World) -> None:
    request = world.create()
    demand = ExtractionDemand.objects.filter(request=request).order_by("pk").first()
    assert demand is not None
    text = serializers.serialize("json", [demand])
    assert json.loads(text)[0]["fields"]["pool"] == json.dumps(demand.pool)
    restored = next(iter(serializers.deserialize("json", text))).object
    assert restored.pool == demand.pool


# ---- the migration, both ways -------------------------------------------------------------------


def _migrate(target: str) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("experts", target)])


@pytest.mark.django_db(transaction=True)
def test_migration_converts_json_pools_and_back() -> None:
    specialty_tree()  # another transactional test may have flushed the migrated tree
    world = build_world()
    request = world.create()
    pools = {d.pk: d.pool for d in ExtractionDemand.objects.filter(request=request)}
    assert pools and all(pools.values())
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("experts")[0][1]
    try:
        _migrate("0004_venue_draw_commitment")
        for pk, pool in pools.items():  # back to the JSON array of before
            stored = _stored(pk)
            assert (json.loads(stored) if isinstance(stored, str) else stored) == pool
        # A pool the application cannot have written stops the migration, named.
        first = min(pools)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE experts_extractiondemand SET pool = %s WHERE id = %s",
                [json.dumps(list(reversed(pools[first]))), first],
            )
        with pytest.raises(RuntimeError, match=f"extraction demand {first}"):
            _migrate(latest)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE experts_extractiondemand SET pool = %s WHERE id = %s",
                [json.dumps(pools[first]), first],
            )
    finally:
        _migrate(latest)
    for pk, pool in pools.items():
        assert bytes(_stored(pk)) == encode_ids(pool)
        assert ExtractionDemand.objects.get(pk=pk).pool == pool
    request.refresh_from_db()
    assert services.extraction_replay(request=request).ok
