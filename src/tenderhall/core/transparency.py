"""The transparency log (DESIGN §3): every state change appends an event, in the same transaction.

Events are canonical JSON (core.canonical) carrying hashes of sensitive data, never the data. They
are the leaves of an RFC 9162 Merkle tree (core.merkle). Each appending transaction also stores a
tree head signed with the platform's Ed25519 key, so a database administrator who rewrites rows
cannot make the signed roots agree again. ``verify_log`` recomputes everything from the stored
rows; ``tenderhall audit verify`` runs it.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import models, transaction
from django.utils.crypto import salted_hmac

from tenderhall.core import clock, keys, merkle
from tenderhall.core.canonical import canonical_json
from tenderhall.core.context import current_request_context
from tenderhall.core.errors import DomainError, NotFound, ValidationFailed
from tenderhall.core.models import LogEvent, LogHead, SignedTreeHead

EVENT_VERSION = 1
STH_PREFIX = "tenderhall-sth:v1"
EMPTY_ROOT = merkle.root([]).hex()


@dataclass(frozen=True)
class EventSpec:
    """What a service says happened. ``data`` holds non-secret facts and hashes of secret ones."""

    action: str
    actor: Any = None  # a user (AbstractBaseUser) or None for the platform itself
    object_type: str = ""
    object_id: str = ""
    org_uscc: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    # A sealed event names nobody: no actor, organization, object, source address or user agent —
    # only a keyed commitment to them. For steps whose actor must stay secret from log readers
    # (法 Art 22: who obtained documents, who asked; before the deadline, who bid).
    sealed: bool = False
    # Facts a sealed event still shows (e.g. a commitment its actor can check against a receipt).
    public_data: Mapping[str, Any] = field(default_factory=dict)


def sealed_commitment(details: Mapping[str, Any]) -> str:
    """HMAC with the server secret over the concealed details: a reader cannot test guesses
    against it, the platform can prove afterwards who it was (with the app's own records)."""
    return salted_hmac(
        "tenderhall.transparency.sealed", canonical_json(dict(details)), algorithm="sha256"
    ).hexdigest()


def _actor_fields(actor: Any) -> tuple[str, str, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "", "", ""
    org = getattr(actor, "organization", None)
    return actor.get_username(), getattr(actor, "role", ""), getattr(org, "uscc", "") if org else ""


def sth_message(tree_size: int, root_hex: str, timestamp_iso: str) -> bytes:
    """The bytes a tree-head signature covers (docs/transparency-log.md)."""
    return f"{STH_PREFIX}\n{tree_size}\n{root_hex}\n{timestamp_iso}\n".encode()


def _iso(moment: Any) -> str:
    return moment.astimezone(clock.UTC).isoformat().replace("+00:00", "Z")


def _lock_head() -> LogHead:
    # One row serializes appenders (PostgreSQL row lock; SQLite runs IMMEDIATE transactions anyway).
    head = LogHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        LogHead.objects.get_or_create(pk=1, defaults={"size": 0, "root_hash": EMPTY_ROOT, "frontier": []})
        head = LogHead.objects.select_for_update().get(pk=1)
    return head


def log_append_many(specs: Sequence[EventSpec]) -> list[LogEvent]:
    """Append events and one signed tree head, atomically; callers are usually inside their own
    service transaction, so the events commit or vanish with the change they describe."""
    if not specs:
        return []
    context = current_request_context()
    with transaction.atomic():
        head = _lock_head()
        now = clock.now()
        at_iso = _iso(now)
        frontier = [bytes.fromhex(h) for h in head.frontier]
        size = head.size
        rows: list[LogEvent] = []
        for spec in specs:
            actor, role, actor_org = _actor_fields(spec.actor)
            org = spec.org_uscc or actor_org
            event = {
                "v": EVENT_VERSION,
                "index": size,
                "at": at_iso,
                "action": spec.action,
                "actor": actor,
                "actor_role": role,
                "org": org,
                "source_ip": context.source_ip,
                "user_agent": context.user_agent,
                "object": {"type": spec.object_type, "id": str(spec.object_id)},
                "data": dict(spec.data),
            }
            if spec.sealed:
                concealed = {
                    k: event[k]
                    for k in (
                        "index",
                        "actor",
                        "actor_role",
                        "org",
                        "source_ip",
                        "user_agent",
                        "object",
                        "data",
                    )
                }
                event.update(
                    actor="",
                    actor_role="",
                    org="",
                    source_ip="",
                    user_agent="",
                    object={"type": "", "id": ""},
                    data={**dict(spec.public_data), "sealed": sealed_commitment(concealed)},
                )
                actor, org = "", ""
            payload = canonical_json(event)
            leaf = merkle.leaf_hash(payload)
            frontier = merkle.frontier_append(frontier, size, leaf)
            rows.append(
                LogEvent(
                    index=size,
                    payload=payload.decode("utf-8"),
                    leaf_hash=leaf.hex(),
                    at=now,
                    action=spec.action,
                    actor_username=actor,
                    org_uscc=org,
                    object_type="" if spec.sealed else spec.object_type,
                    object_id="" if spec.sealed else str(spec.object_id),
                )
            )
            size += 1
        root_hex = merkle.frontier_root(frontier, size).hex()
        LogEvent.objects.bulk_create(rows)
        head.size, head.root_hash, head.frontier = size, root_hex, [h.hex() for h in frontier]
        head.save(update_fields=["size", "root_hash", "frontier"])
        signing_key = keys.platform_key()
        signature = signing_key.sign(sth_message(size, root_hex, at_iso))
        SignedTreeHead.objects.create(
            tree_size=size,
            root_hash=root_hex,
            timestamp=now,
            key_id=keys.key_id(),
            signature=base64.b64encode(signature).decode(),
        )
    return rows


def log_append(
    *,
    action: str,
    actor: Any = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    org_uscc: str = "",
    data: Mapping[str, Any] | None = None,
    sealed: bool = False,
    public_data: Mapping[str, Any] | None = None,
) -> LogEvent:
    """Append one event. ``obj`` names the object changed (its model label and primary key);
    ``sealed`` conceals who and what behind a commitment (see EventSpec)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return log_append_many(
        [
            EventSpec(
                action=action,
                actor=actor,
                object_type=object_type,
                object_id=object_id,
                org_uscc=org_uscc,
                data=data or {},
                sealed=sealed,
                public_data=public_data or {},
            )
        ]
    )[0]


def log_refusal(
    *, action: str, actor: Any = None, data: Mapping[str, Any] | None = None, sealed: bool = False
) -> None:
    """Record a security-relevant refusal. Call it outside the transaction that is refused (which
    rolls back), so the record of the refusal survives. ``sealed`` where naming the actor would
    leak a secret (a bidder's interest before the deadline, 法 Art 22)."""
    log_append(action=action, actor=actor, data=data, sealed=sealed)


# ---- reading: tree heads and proofs -------------------------------------------------------------


def sth_as_dict(sth: SignedTreeHead) -> dict[str, Any]:
    return {
        "tree_size": sth.tree_size,
        "root_hash": sth.root_hash,
        "timestamp": _iso(sth.timestamp),
        "key_id": sth.key_id,
        "signature": sth.signature,
    }


def latest_sth() -> SignedTreeHead | None:
    return SignedTreeHead.objects.order_by("-tree_size").first()


def verify_sth(sth: Mapping[str, Any], public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(
            base64.b64decode(sth["signature"]),
            sth_message(int(sth["tree_size"]), str(sth["root_hash"]), str(sth["timestamp"])),
        )
    except (InvalidSignature, KeyError, ValueError):
        return False
    return True


class LogInconsistent(DomainError):
    status = 503

    def __init__(self) -> None:
        super().__init__(
            "log_inconsistent",
            "透明日志的存储与日志头不一致，请运维人员运行 tenderhall audit verify",
            "the stored log does not match its head; an operator should run `tenderhall audit verify`",
        )


class _TreeCache:
    """A per-process copy of the tree's levels, extended from committed rows on demand, so a proof
    at a million leaves costs a few lookups instead of a rehash. Checked against the log head on
    every sync and rebuilt if the database moved under it (a rolled-back test, a restore)."""

    def __init__(self) -> None:
        self.tree = merkle.MerkleTree()
        self.lock = threading.Lock()

    def synced(self, signed: SignedTreeHead | None = None) -> merkle.MerkleTree:
        """The tree, up to date. Given the signed head a proof is for, a cache that already
        reproduces that signed root is used as is: one query fewer per proof."""
        with self.lock:
            if (
                signed is not None
                and self.tree.size >= signed.tree_size
                and self.tree.root(signed.tree_size).hex() == signed.root_hash
            ):
                return self.tree
            head = LogHead.objects.filter(pk=1).first()
            size = head.size if head else 0
            if self.tree.size > size:
                self.tree = merkle.MerkleTree()
            self._extend(size)
            if size and (self.tree.size != size or self.tree.root(size).hex() != head.root_hash):  # type: ignore[union-attr]
                self.tree = merkle.MerkleTree()
                self._extend(size)
                if self.tree.size != size or self.tree.root(size).hex() != head.root_hash:  # type: ignore[union-attr]
                    raise LogInconsistent()
            return self.tree

    def _extend(self, size: int) -> None:
        start = self.tree.size
        while start < size:
            stop = min(size, start + 50_000)
            hashes = LogEvent.objects.filter(index__gte=start, index__lt=stop).order_by("index")
            self.tree.extend(bytes.fromhex(h) for h in hashes.values_list("leaf_hash", flat=True))
            start = stop


_cache = _TreeCache()


def _sth_at(tree_size: int | None) -> SignedTreeHead:
    sth = latest_sth() if tree_size is None else SignedTreeHead.objects.filter(tree_size=tree_size).first()
    if sth is None:
        raise NotFound("签名树头", "signed tree head")
    return sth


def inclusion_proof_for(leaf_hash_hex: str, tree_size: int | None = None) -> dict[str, Any]:
    event = LogEvent.objects.filter(leaf_hash=leaf_hash_hex.lower()).first()
    if event is None:
        raise NotFound("日志事件", "log event")
    sth = _sth_at(tree_size)
    if event.index >= sth.tree_size:
        raise ValidationFailed(
            "event_after_tree_head",
            f"事件 #{event.index} 不在大小为 {sth.tree_size} 的树中",
            f"event #{event.index} is not in the tree of size {sth.tree_size}",
        )
    tree = _cache.synced(sth)
    proof = tree.inclusion_proof(event.index, sth.tree_size)
    return {
        "leaf_index": event.index,
        "leaf_hash": event.leaf_hash,
        "tree_size": sth.tree_size,
        "audit_path": [p.hex() for p in proof],
        "signed_tree_head": sth_as_dict(sth),
    }


def consistency_proof_for(first: int, second: int | None = None) -> dict[str, Any]:
    new = _sth_at(second)
    if first < 0 or first > new.tree_size:
        raise ValidationFailed(
            "bad_tree_size",
            f"树大小 {first} 无效（须在 0 与 {new.tree_size} 之间）",
            f"tree size {first} is invalid (must be between 0 and {new.tree_size})",
        )
    old = SignedTreeHead.objects.filter(tree_size=first).first() if first else None
    tree = _cache.synced(new)
    return {
        "first": first,
        "second": new.tree_size,
        "consistency": [p.hex() for p in tree.consistency_proof(first, new.tree_size)],
        "first_tree_head": sth_as_dict(old) if old else None,
        "second_tree_head": sth_as_dict(new),
    }


# ---- verification -------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    ok: bool
    size: int
    tree_heads_checked: int
    first_bad_index: int | None = None
    problem: str = ""


_COLUMN_FIELDS = (
    ("action", "action"),
    ("actor_username", "actor"),
    ("org_uscc", "org"),
)


def _iter_events(below: int, batch: int = 20_000) -> Iterator[tuple[int, str, str, str, str, str, str, str]]:
    last = -1
    fields = (
        "index",
        "payload",
        "leaf_hash",
        "action",
        "actor_username",
        "org_uscc",
        "object_type",
        "object_id",
    )
    while True:
        rows = list(
            LogEvent.objects.filter(index__gt=last, index__lt=below)
            .order_by("index")
            .values_list(*fields)[:batch]
        )
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def verify_log(public_key: Ed25519PublicKey | None = None) -> VerifyResult:
    """Recompute every leaf and every signed root from the stored rows; report the first bad index."""
    import json

    public_key = public_key or keys.platform_key().public_key()
    # Verify the log as the head had it when we started: appends made meanwhile only add rows and
    # heads beyond that size (head and rows commit together), so they cannot cause a false alarm.
    start_head = LogHead.objects.filter(pk=1).first()
    size = start_head.size if start_head is not None else 0
    heads = iter(
        SignedTreeHead.objects.filter(tree_size__lte=size)
        .order_by("tree_size")
        .values_list("tree_size", "root_hash", "timestamp", "signature")
    )
    next_head = next(heads, None)
    checked = 0
    frontier: list[bytes] = []
    expected = 0
    last_good_head = 0

    def bad(index: int, problem: str) -> VerifyResult:
        return VerifyResult(False, expected, checked, index, problem)

    for index, payload, stored_leaf, action, actor, org, obj_type, obj_id in _iter_events(below=size):
        if index != expected:
            return bad(expected, f"event #{expected} is missing (next stored index is {index})")
        leaf = merkle.leaf_hash(payload.encode("utf-8"))
        if leaf.hex() != stored_leaf:
            return bad(index, f"event #{index}: payload does not match its stored leaf hash")
        try:
            data = json.loads(payload)
        except ValueError:
            return bad(index, f"event #{index}: payload is not JSON")
        if data.get("index") != index:
            return bad(index, f"event #{index}: payload says index {data.get('index')} (rows reordered?)")
        columns = {"action": action, "actor_username": actor, "org_uscc": org}
        for column, key in _COLUMN_FIELDS:
            if data.get(key) != columns[column]:
                return bad(index, f"event #{index}: column {column} differs from the hashed payload")
        if data.get("object") != {"type": obj_type, "id": obj_id}:
            return bad(index, f"event #{index}: object columns differ from the hashed payload")
        frontier = merkle.frontier_append(frontier, index, leaf)
        expected += 1
        while next_head is not None and next_head[0] == expected:
            tree_size, root_hex, timestamp, signature = next_head
            sth = {
                "tree_size": tree_size,
                "root_hash": root_hex,
                "timestamp": _iso(timestamp),
                "signature": signature,
            }
            if not verify_sth(sth, public_key):
                return bad(last_good_head, f"signed tree head of size {tree_size} has a bad signature")
            if merkle.frontier_root(frontier, expected).hex() != root_hex:
                return bad(
                    last_good_head,
                    f"root of the first {tree_size} events differs from the signed tree head "
                    f"(first bad event is at index {last_good_head} or after)",
                )
            checked += 1
            last_good_head = tree_size
            next_head = next(heads, None)
    if expected != size:
        return bad(expected, f"log head says {size} events but only {expected} are stored")
    if next_head is not None:
        return bad(
            expected, f"signed tree head of size {next_head[0]} exists but only {expected} events are stored"
        )
    if last_good_head != expected:
        # Every append signs a tree head covering it; rows past the last one were not appended by us.
        return bad(last_good_head, f"events from #{last_good_head} on are not covered by a signed tree head")
    # Rows beyond the head as it is now were written behind the log's back.
    end_head = LogHead.objects.filter(pk=1).first()
    end_size = end_head.size if end_head is not None else 0
    extra = (
        LogEvent.objects.filter(index__gte=end_size).order_by("index").values_list("index", flat=True).first()
    )
    beyond = (
        SignedTreeHead.objects.filter(tree_size__gt=end_size)
        .order_by("tree_size")
        .values_list("tree_size", flat=True)
        .first()
    )
    if beyond is not None:
        # Heads and the log head commit together: a signed size beyond the head means rows (and the
        # head) were cut back.
        return bad(
            end_size,
            f"a signed tree head of size {beyond} exists but the log head says {end_size} (events deleted?)",
        )
    if extra is not None or LogEvent.objects.filter(index__lt=0).exists():
        first = extra if extra is not None else -1
        return bad(first, f"event #{first} is not counted by the log head (appended behind the log's back)")
    return VerifyResult(True, expected, checked)
