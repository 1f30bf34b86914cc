"""The transparency log (DESIGN §3): appends, signed tree heads, proofs over the API, `audit verify`.

Tampering is done the way a database administrator would do it: raw SQL on the stored rows.
"""

from __future__ import annotations

import base64
import json
from io import StringIO
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenderhall.accounts.models import User
from tenderhall.core import keys, merkle, transparency
from tenderhall.core.canonical import canonical_json, sha256_hex
from tenderhall.core.context import RequestContext, bind_request_context
from tenderhall.core.errors import NotFound, ValidationFailed
from tenderhall.core.models import LogEvent, LogHead, SignedTreeHead
from tenderhall.core.transparency import EventSpec, log_append, log_append_many, verify_log
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TABLE = LogEvent._meta.db_table
INDEX = connection.ops.quote_name("index")


def append_singly(count: int, **kwargs: Any) -> list[LogEvent]:
    """``count`` events, each in its own appending transaction (so each has its own tree head)."""
    return [
        log_append(action="test.single", data={"n": n, "amount": f"{n}.00"}, **kwargs) for n in range(count)
    ]


def sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def payload_of(index: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(LogEvent.objects.get(index=index).payload)
    return data


def verify_fails_at(index: int) -> str:
    """Both entry points must refuse, and both must name ``index``; returns the problem."""
    result = verify_log()
    assert not result.ok
    assert result.first_bad_index == index, result.problem
    with pytest.raises(CommandError) as excinfo:
        call_command("audit", "verify", stdout=StringIO())
    assert f"FAILED at index {index}:" in str(excinfo.value)
    return result.problem


def verify_passes(size: int) -> None:
    result = verify_log()
    assert result.ok, result.problem
    assert result.size == size
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert f"log OK: {size} events" in out.getvalue()


def hexes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


# ---- appending ----------------------------------------------------------------------------------


def test_indices_are_contiguous_across_single_and_batched_appends() -> None:
    first = log_append(action="test.a")
    batch = log_append_many([EventSpec(action=f"test.b{n}") for n in range(5)])
    last = log_append(action="test.c")
    assert [e.index for e in [first, *batch, last]] == list(range(7))
    assert list(LogEvent.objects.values_list("index", flat=True)) == list(range(7))
    head = LogHead.objects.get(pk=1)
    assert head.size == 7
    assert head.root_hash == merkle.root([bytes.fromhex(e.leaf_hash) for e in [first, *batch, last]]).hex()


def test_empty_batch_appends_nothing() -> None:
    assert log_append_many([]) == []
    assert not LogEvent.objects.exists()
    assert not SignedTreeHead.objects.exists()


def test_payload_is_canonical_and_carries_actor_org_and_request_context(staff: User) -> None:
    context = RequestContext(source_ip="203.0.113.7", user_agent="tenderhall-bid/1.0 (测试)")
    with bind_request_context(context):
        event = log_append(action="test.acted", actor=staff, obj=staff, data={"b": 2, "a": "甲"})
    stored = LogEvent.objects.get(index=event.index)
    payload = json.loads(stored.payload)
    # Canonical: re-serializing what was parsed gives the very bytes that were hashed.
    assert canonical_json(payload).decode() == stored.payload
    assert stored.leaf_hash == merkle.leaf_hash(stored.payload.encode()).hex()
    assert payload["index"] == 0
    assert payload["action"] == "test.acted"
    assert payload["actor"] == "staff"
    assert payload["actor_role"] == "staff"
    assert staff.organization is not None
    assert payload["org"] == staff.organization.uscc == stored.org_uscc
    assert payload["source_ip"] == "203.0.113.7"
    assert payload["user_agent"] == "tenderhall-bid/1.0 (测试)"
    assert payload["object"] == {"type": "accounts.user", "id": str(staff.pk)}
    assert payload["data"] == {"a": "甲", "b": 2}
    # Outside a request the context is empty, and an explicit org wins over the actor's.
    later = log_append(action="test.platform", actor=staff, org_uscc="91110000000000000X")
    later_payload = json.loads(later.payload)
    assert later_payload["source_ip"] == later_payload["user_agent"] == ""
    assert later_payload["org"] == "91110000000000000X"


def test_anonymous_actor_is_recorded_as_nobody() -> None:
    payload = json.loads(log_append(action="test.anon").payload)
    assert payload["actor"] == payload["actor_role"] == payload["org"] == ""


def test_floats_are_refused_in_event_data() -> None:
    with pytest.raises(TypeError):
        log_append(action="test.float", data={"price": 1.5})
    assert not LogEvent.objects.exists()


def test_event_written_through_a_request_carries_context_but_no_secrets(staff: User) -> None:
    client = Client(REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT="Mozilla/5.0 tenderhall-test")
    assert client.login(username="staff", password=PASSWORD)
    response = client.put(
        "/api/v1/calendar/days/2026-10-10",
        data={"kind": "workday", "name": "国庆调休上班"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    event = LogEvent.objects.get(action="core.calendar.day_set")
    payload = json.loads(event.payload)
    assert payload["actor"] == "staff"
    assert payload["source_ip"] == "198.51.100.23"
    assert payload["user_agent"] == "Mozilla/5.0 tenderhall-test"
    staff.refresh_from_db()
    session_key = client.session.session_key
    assert session_key
    for secret in (PASSWORD, staff.password, session_key, client.cookies["sessionid"].value):
        assert secret not in event.payload


def test_one_signed_tree_head_per_appending_transaction() -> None:
    log_append_many([EventSpec(action="test.batch", data={"n": n}) for n in range(3)])
    assert list(SignedTreeHead.objects.values_list("tree_size", flat=True)) == [3]
    log_append(action="test.one")
    log_append_many([EventSpec(action="test.pair"), EventSpec(action="test.pair")])
    assert list(SignedTreeHead.objects.values_list("tree_size", flat=True)) == [3, 4, 6]
    assert transparency.latest_sth() == SignedTreeHead.objects.get(tree_size=6)


def test_tree_head_signature_verifies_with_the_platform_key() -> None:
    events = append_singly(3)
    sth = transparency.latest_sth()
    assert sth is not None
    assert sth.tree_size == 3
    assert sth.root_hash == merkle.root([bytes.fromhex(e.leaf_hash) for e in events]).hex()
    assert sth.key_id == keys.key_id()
    public_key = keys.platform_key().public_key()
    signed = transparency.sth_as_dict(sth)
    assert transparency.verify_sth(signed, public_key)
    # The signature is a plain Ed25519 signature over the documented message.
    public_key.verify(
        base64.b64decode(signed["signature"]),
        transparency.sth_message(3, sth.root_hash, signed["timestamp"]),
    )
    # Any change to what is signed, or another key, does not verify.
    assert not transparency.verify_sth({**signed, "tree_size": 4}, public_key)
    assert not transparency.verify_sth({**signed, "root_hash": "00" * 32}, public_key)
    assert not transparency.verify_sth({**signed, "timestamp": "2000-01-01T00:00:00Z"}, public_key)
    assert not transparency.verify_sth(signed, Ed25519PrivateKey.generate().public_key())
    assert not transparency.verify_sth({k: v for k, v in signed.items() if k != "signature"}, public_key)


def test_append_in_a_rolled_back_transaction_leaves_nothing() -> None:
    kept = log_append(action="test.kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        log_append(action="test.doomed")
        log_append_many([EventSpec(action="test.doomed.batch")] * 2)
        raise RuntimeError("the service refuses")
    assert list(LogEvent.objects.values_list("action", flat=True)) == ["test.kept"]
    assert list(SignedTreeHead.objects.values_list("tree_size", flat=True)) == [1]
    head = LogHead.objects.get(pk=1)
    assert head.size == 1
    assert head.root_hash == merkle.root([bytes.fromhex(kept.leaf_hash)]).hex()
    # The next append continues at the index the rolled-back one had taken.
    assert log_append(action="test.next").index == 1
    verify_passes(2)


# ---- proofs over the API ------------------------------------------------------------------------


def test_sth_api_before_anything_is_logged_is_a_problem(client: Client) -> None:
    response = client.get("/api/v1/log/sth")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_inclusion_proofs_from_the_api_verify_against_the_signed_tree_head(client: Client) -> None:
    events = append_singly(3)
    events += log_append_many([EventSpec(action="test.batch", data={"n": n}) for n in range(8)])
    sth = client.get("/api/v1/log/sth").json()
    assert sth["tree_size"] == 11
    public_key = keys.platform_key().public_key()
    assert transparency.verify_sth(sth, public_key)
    root = bytes.fromhex(sth["root_hash"])
    for event in events:
        response = client.get("/api/v1/log/proof/inclusion", {"leaf_hash": event.leaf_hash})
        assert response.status_code == 200
        proof = response.json()
        assert proof["leaf_index"] == event.index
        assert proof["tree_size"] == 11
        assert proof["signed_tree_head"] == sth
        path = hexes(proof["audit_path"])
        assert merkle.verify_inclusion(bytes.fromhex(event.leaf_hash), event.index, 11, path, root)
        # The same proof does not vouch for another leaf or another position.
        assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), event.index, 11, path, root)
        assert not merkle.verify_inclusion(
            bytes.fromhex(event.leaf_hash), (event.index + 1) % 11, 11, path, root
        )


def test_inclusion_proof_at_an_older_tree_size(client: Client) -> None:
    events = append_singly(5)
    response = client.get("/api/v1/log/proof/inclusion", {"leaf_hash": events[1].leaf_hash, "tree_size": 3})
    assert response.status_code == 200
    proof = response.json()
    old = SignedTreeHead.objects.get(tree_size=3)
    assert proof["signed_tree_head"]["root_hash"] == old.root_hash
    assert merkle.verify_inclusion(
        bytes.fromhex(events[1].leaf_hash), 1, 3, hexes(proof["audit_path"]), bytes.fromhex(old.root_hash)
    )
    # An event is not in a tree that was signed before it was appended.
    late = client.get("/api/v1/log/proof/inclusion", {"leaf_hash": events[4].leaf_hash, "tree_size": 3})
    assert late.status_code == 422
    assert late.json()["code"] == "event_after_tree_head"


def test_inclusion_proof_for_an_unknown_leaf_is_not_found(client: Client) -> None:
    append_singly(1)
    response = client.get("/api/v1/log/proof/inclusion", {"leaf_hash": "ab" * 32})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    with pytest.raises(NotFound):
        transparency.inclusion_proof_for("cd" * 32)


def test_leaf_hash_lookup_is_case_insensitive(client: Client) -> None:
    (event,) = append_singly(1)
    response = client.get("/api/v1/log/proof/inclusion", {"leaf_hash": event.leaf_hash.upper()})
    assert response.status_code == 200
    assert response.json()["leaf_index"] == 0


def test_consistency_proofs_from_the_api_verify_between_signed_tree_heads(client: Client) -> None:
    append_singly(3)
    log_append_many([EventSpec(action="test.batch", data={"n": n}) for n in range(6)])
    append_singly(2)
    latest = client.get("/api/v1/log/sth").json()
    new_size, new_root = latest["tree_size"], bytes.fromhex(latest["root_hash"])
    assert new_size == 11
    for old in SignedTreeHead.objects.all():
        response = client.get("/api/v1/log/proof/consistency", {"first": old.tree_size})
        assert response.status_code == 200
        proof = response.json()
        assert (proof["first"], proof["second"]) == (old.tree_size, new_size)
        assert proof["first_tree_head"]["root_hash"] == old.root_hash
        assert proof["second_tree_head"] == latest
        old_root = bytes.fromhex(old.root_hash)
        path = hexes(proof["consistency"])
        assert merkle.verify_consistency(old.tree_size, new_size, old_root, new_root, path)
        if old.tree_size < new_size:
            assert not merkle.verify_consistency(
                old.tree_size, new_size, merkle.leaf_hash(b"x"), new_root, path
            )
    # Between two older heads, and from the empty tree.
    middle = client.get("/api/v1/log/proof/consistency", {"first": 2, "second": 9}).json()
    assert merkle.verify_consistency(
        2,
        9,
        bytes.fromhex(SignedTreeHead.objects.get(tree_size=2).root_hash),
        bytes.fromhex(SignedTreeHead.objects.get(tree_size=9).root_hash),
        hexes(middle["consistency"]),
    )
    empty = client.get("/api/v1/log/proof/consistency", {"first": 0}).json()
    assert empty["consistency"] == [] and empty["first_tree_head"] is None


def test_consistency_proof_with_a_bad_size_is_a_problem(client: Client) -> None:
    append_singly(2)
    for first in (3, -1):
        response = client.get("/api/v1/log/proof/consistency", {"first": first})
        assert response.status_code == 422
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "bad_tree_size"
    with pytest.raises(ValidationFailed):
        transparency.consistency_proof_for(5)
    assert client.get("/api/v1/log/proof/consistency", {"first": "x"}).status_code == 422


def test_platform_key_api_matches_the_signing_key(client: Client) -> None:
    body = client.get("/api/v1/log/key").json()
    assert body["algorithm"] == "Ed25519"
    assert body["key_id"] == keys.key_id()
    assert body["public_key_pem"] == keys.public_key_pem()


# ---- audit verify -------------------------------------------------------------------------------


def test_verify_passes_on_an_empty_and_on_an_untouched_log() -> None:
    verify_passes(0)
    append_singly(4)
    log_append_many([EventSpec(action="test.batch", data={"n": n}) for n in range(5)])
    verify_passes(9)
    result = verify_log()
    assert result.tree_heads_checked == 5
    out = StringIO()
    call_command("audit", "verify", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "ok": True,
        "size": 9,
        "tree_heads_checked": 5,
        "first_bad_index": None,
        "problem": "",
    }


def test_verify_catches_an_edited_payload() -> None:
    append_singly(5)
    stored = LogEvent.objects.get(index=2).payload
    sql(f"UPDATE {TABLE} SET payload = %s WHERE {INDEX} = %s", [stored.replace('"2.00"', '"2000.00"'), 2])
    assert "leaf hash" in verify_fails_at(2)


def test_verify_catches_an_edited_action_column_only() -> None:
    append_singly(5)
    sql(f"UPDATE {TABLE} SET action = %s WHERE {INDEX} = %s", ["test.innocent", 3])
    assert "column action" in verify_fails_at(3)


def test_verify_catches_an_edited_object_column() -> None:
    append_singly(3)
    sql(f"UPDATE {TABLE} SET object_id = %s WHERE {INDEX} = %s", ["42", 1])
    assert "object" in verify_fails_at(1)


@pytest.mark.parametrize("victim", [0, 2, 4])
def test_verify_catches_a_deleted_row(victim: int) -> None:
    append_singly(5)
    sql(f"DELETE FROM {TABLE} WHERE {INDEX} = %s", [victim])
    verify_fails_at(victim)


def test_verify_catches_reordered_rows() -> None:
    append_singly(6)
    # Swap the index values of rows 1 and 4, through a temporary index (index is unique).
    sql(f"UPDATE {TABLE} SET {INDEX} = %s WHERE {INDEX} = %s", [-1, 1])
    sql(f"UPDATE {TABLE} SET {INDEX} = %s WHERE {INDEX} = %s", [1, 4])
    sql(f"UPDATE {TABLE} SET {INDEX} = %s WHERE {INDEX} = %s", [4, -1])
    assert "reordered" in verify_fails_at(1)


def _forge_next_event(size: int) -> tuple[str, str]:
    """A payload for index ``size`` that looks exactly like a real one, and its true leaf hash."""
    real = payload_of(size - 1)
    forged = canonical_json({**real, "index": size, "data": {"n": 99, "amount": "99999.00"}})
    return forged.decode(), merkle.leaf_hash(forged).hex()


def _insert_raw(index: int, payload: str, leaf_hash: str) -> None:
    data = json.loads(payload)
    sql(
        f"INSERT INTO {TABLE} ({INDEX}, payload, leaf_hash, at, action, actor_username, org_uscc,"
        " object_type, object_id) SELECT %s, %s, %s, at, action, actor_username, org_uscc,"
        f" object_type, object_id FROM {TABLE} WHERE {INDEX} = %s",
        [index, payload, leaf_hash, index - 1],
    )
    assert LogEvent.objects.get(index=index).action == data["action"]


def test_verify_catches_a_forged_row_appended_at_the_end_via_the_log_head() -> None:
    append_singly(4)
    payload, leaf = _forge_next_event(4)
    _insert_raw(4, payload, leaf)
    # The forged row is self-consistent: its own leaf hash and columns check out...
    assert merkle.leaf_hash(LogEvent.objects.get(index=4).payload.encode()).hex() == leaf
    # ...but no signed tree head covers it and the log head does not count it.
    assert "log head" in verify_fails_at(4)


def test_verify_catches_a_forged_row_even_when_the_log_head_is_rewritten_too() -> None:
    events = append_singly(4)
    payload, leaf = _forge_next_event(4)
    _insert_raw(4, payload, leaf)
    leaves = [bytes.fromhex(e.leaf_hash) for e in events] + [bytes.fromhex(leaf)]
    frontier: list[bytes] = []
    for i, h in enumerate(leaves):
        frontier = merkle.frontier_append(frontier, i, h)
    LogHead.objects.filter(pk=1).update(
        size=5, root_hash=merkle.root(leaves).hex(), frontier=[h.hex() for h in frontier]
    )
    assert "signed tree head" in verify_fails_at(4)


def test_verify_catches_an_edit_with_a_recomputed_leaf_hash_via_the_signed_root() -> None:
    append_singly(6)
    real = payload_of(3)
    forged = canonical_json({**real, "data": {**real["data"], "amount": "3000000.00"}})
    sql(
        f"UPDATE {TABLE} SET payload = %s, leaf_hash = %s WHERE {INDEX} = %s",
        [forged.decode(), merkle.leaf_hash(forged).hex(), 3],
    )
    assert "signed tree head" in verify_fails_at(3)


def test_verify_names_the_first_event_of_the_batch_whose_signed_root_breaks() -> None:
    append_singly(2)
    log_append_many([EventSpec(action="test.batch", data={"n": n}) for n in range(4)])  # events 2..5
    real = payload_of(4)
    forged = canonical_json({**real, "data": {"n": -1}})
    sql(
        f"UPDATE {TABLE} SET payload = %s, leaf_hash = %s WHERE {INDEX} = %s",
        [forged.decode(), merkle.leaf_hash(forged).hex(), 4],
    )
    assert "index 2 or after" in verify_fails_at(2)


def test_verify_catches_a_rewritten_tree_head_and_a_foreign_key() -> None:
    append_singly(3)
    assert not verify_log(public_key=Ed25519PrivateKey.generate().public_key()).ok
    assert verify_log(public_key=Ed25519PrivateKey.generate().public_key()).first_bad_index == 0
    SignedTreeHead.objects.filter(tree_size=2).update(root_hash=sha256_hex(b"anything"))
    assert "bad signature" in verify_fails_at(1)


def test_verify_catches_a_deleted_last_row_with_the_head_rewritten() -> None:
    append_singly(3)
    sql(f"DELETE FROM {TABLE} WHERE {INDEX} = %s", [2])
    LogHead.objects.filter(pk=1).update(size=2)
    assert "signed tree head of size 3" in verify_fails_at(2)


# ---- property: any sequence of batches gives a verifiable log ------------------------------------

event_data = st.dictionaries(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8),
    st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=20), st.booleans(), st.none()),
    max_size=3,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(event_data, min_size=1, max_size=6), min_size=1, max_size=5))
def test_random_batches_give_a_log_that_verifies_and_proves_every_event(
    batches: list[list[dict[str, Any]]],
) -> None:
    with transaction.atomic():  # each example starts from an empty log
        for number, batch in enumerate(batches):
            log_append_many([EventSpec(action=f"test.p{number}", data=data) for data in batch])
        total = sum(len(batch) for batch in batches)
        result = verify_log()
        assert result.ok, result.problem
        assert (result.size, result.tree_heads_checked) == (total, len(batches))
        sth = transparency.latest_sth()
        assert sth is not None and sth.tree_size == total
        assert transparency.verify_sth(transparency.sth_as_dict(sth), keys.platform_key().public_key())
        root = bytes.fromhex(sth.root_hash)
        for event in LogEvent.objects.all():
            proof = transparency.inclusion_proof_for(event.leaf_hash)
            assert merkle.verify_inclusion(
                bytes.fromhex(event.leaf_hash), event.index, total, hexes(proof["audit_path"]), root
            )
        for old in SignedTreeHead.objects.all():
            consistency = transparency.consistency_proof_for(old.tree_size)
            assert merkle.verify_consistency(
                old.tree_size, total, bytes.fromhex(old.root_hash), root, hexes(consistency["consistency"])
            )
        transaction.set_rollback(True)


# ---- the per-process tree cache ------------------------------------------------------------------


def test_a_warm_cache_answers_without_reading_the_log_head(django_assert_num_queries: Any) -> None:
    events = append_singly(4)
    transparency.inclusion_proof_for(events[0].leaf_hash)  # warms the cache
    with django_assert_num_queries(2):  # the event and the signed tree head, nothing else
        proof = transparency.inclusion_proof_for(events[2].leaf_hash)
    assert proof["leaf_index"] == 2
    with django_assert_num_queries(2):  # the two signed tree heads
        transparency.consistency_proof_for(2)


def test_the_cache_follows_the_database_when_it_moves_under_it() -> None:
    kept = append_singly(3)
    with transaction.atomic():
        doomed = log_append_many([EventSpec(action="test.doomed", data={"n": n}) for n in range(5)])
        transparency.inclusion_proof_for(doomed[-1].leaf_hash)  # the cache now holds 8 leaves
        transaction.set_rollback(True)
    # Same size again, different leaves: the cache must not serve the rolled-back tree.
    replaced = log_append_many([EventSpec(action="test.replaced", data={"n": n}) for n in range(5)])
    sth = transparency.latest_sth()
    assert sth is not None and sth.tree_size == 8
    root = bytes.fromhex(sth.root_hash)
    for event in kept + replaced:
        proof = transparency.inclusion_proof_for(event.leaf_hash)
        assert merkle.verify_inclusion(
            bytes.fromhex(event.leaf_hash), event.index, 8, hexes(proof["audit_path"]), root
        )
    consistency = transparency.consistency_proof_for(3)
    old_root = bytes.fromhex(SignedTreeHead.objects.get(tree_size=3).root_hash)
    assert merkle.verify_consistency(3, 8, old_root, root, hexes(consistency["consistency"]))


def test_a_proof_on_a_cut_down_log_is_a_clear_503_not_a_crash(client: Client) -> None:
    events = append_singly(4)
    transparency._cache.tree = merkle.MerkleTree()  # a fresh process
    sql('DELETE FROM core_logevent WHERE "index" = %s', [2])
    response = client.get("/api/v1/log/proof/inclusion", {"leaf_hash": events[0].leaf_hash})
    assert response.status_code == 503
    assert response.json()["code"] == "log_inconsistent"


def test_verification_ignores_appends_made_while_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    append_singly(3)
    real_iter = transparency._iter_events

    def iter_then_append(below: int, batch: int = 20_000) -> Any:
        yield from real_iter(below, batch)
        log_append(action="test.concurrent")  # another process appends mid-verification

    monkeypatch.setattr(transparency, "_iter_events", iter_then_append)
    result = verify_log()
    assert result.ok, result.problem
    assert result.size == 3


def test_a_sealed_event_names_nobody_but_commits_to_who(staff: User) -> None:
    with bind_request_context(RequestContext(source_ip="203.0.113.5", user_agent="tenderhall-bid/0.1")):
        event = log_append(
            action="test.sealed", actor=staff, object_type="x.y", object_id="7", data={"k": 1}, sealed=True
        )
    payload = json.loads(event.payload)
    assert payload["actor"] == payload["org"] == payload["actor_role"] == payload["source_ip"] == ""
    assert payload["user_agent"] == "" and payload["object"] == {"type": "", "id": ""}
    assert event.actor_username == event.org_uscc == event.object_id == ""
    details = {
        "index": event.index,
        "actor": staff.username,
        "actor_role": staff.role,
        "org": staff.organization.uscc,
        "source_ip": "203.0.113.5",
        "user_agent": "tenderhall-bid/0.1",
        "object": {"type": "x.y", "id": "7"},
        "data": {"k": 1},
    }
    assert payload["data"] == {"sealed": transparency.sealed_commitment(details)}
    assert payload["data"] != {"sealed": transparency.sealed_commitment({**details, "actor": "someone-else"})}
    verify_passes(event.index + 1)


def test_a_sealed_event_may_show_public_facts(staff: User) -> None:
    event = log_append(
        action="test.sealed", actor=staff, data={"secret": "x"}, sealed=True, public_data={"c": "abc"}
    )
    payload = json.loads(event.payload)
    assert payload["data"]["c"] == "abc" and set(payload["data"]) == {"c", "sealed"}
    assert "secret" not in event.payload and staff.username not in event.payload
