"""Experts writes: extraction (专家抽取, seed 000 §7.4.1, seed 002 §6.6; 法 Art 37, 条例 Art 46).

One run of a request: compute each demand's eligible pool with every recusal rule (selectors), fail
with the numbers per rule if a pool is too small (nothing drawn), else commit in the transparency
log the SHA-256 of the canonical pools and of a fresh 32-byte seed, draw with ``draw`` (below,
documented in docs/extraction.md), store the draw order, notify the first ``count`` of each demand
(SMS and voice through the outbox: press 1 accept / 2 decline, plus a one-time link) and wait.

A decline, or no answer within ``reply_minutes`` (``extraction_tick``), calls the next reserve of
the same demand. The seed stays secret (supervisors and operators may read it) until
``extraction_result_decide`` publishes it; ``extraction_replay`` checks a draw against the log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import hmac
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils.crypto import salted_hmac

from tenderhall.core import clock
from tenderhall.core.canonical import canonical_json, sha256_hex
from tenderhall.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from tenderhall.core.models import LogEvent, NotificationChannel
from tenderhall.core.notifications import Message, notification_enqueue, notification_enqueue_many
from tenderhall.core.permissions import Permission, require
from tenderhall.core.transparency import EventSpec, log_append, log_append_many, log_refusal
from tenderhall.experts.live import extraction_changed
from tenderhall.experts.models import (
    AssignmentStatus,
    Expert,
    ExtractionAssignment,
    ExtractionDemand,
    ExtractionRequest,
    ExtractionStatus,
    ExtractionVenue,
    InvitationStatus,
    Specialty,
    VenueRole,
)
from tenderhall.experts.selectors import extraction as selectors
from tenderhall.projects.models import Section, SectionStatus


class ExtractionAction(StrEnum):
    REQUESTED = "experts.extraction.requested"
    COMMITTED = "experts.extraction.committed"  # pool and seed hashes, before the draw
    DRAWN = "experts.extraction.drawn"
    FAILED = "experts.extraction.failed"
    NOTIFIED = "experts.assignment.notified"
    ACCEPTED = "experts.assignment.accepted"
    DECLINED = "experts.assignment.declined"
    TIMED_OUT = "experts.assignment.timed_out"
    REPLY_REFUSED = "experts.assignment.reply_refused"
    RESERVES_EXHAUSTED = "experts.extraction.reserves_exhausted"
    COMPLETE = "experts.extraction.complete"
    DECIDED = "experts.extraction.decided"  # the seed is published


# Sections whose evaluation may still be prepared.
EXTRACTABLE_SECTIONS = (
    SectionStatus.ANNOUNCED,
    SectionStatus.OPENING,
    SectionStatus.OPENED,
    SectionStatus.EVALUATING,
)
LIVE_REQUESTS = (
    ExtractionStatus.INVITING,
    ExtractionStatus.COMMITTED,
    ExtractionStatus.CONFIRMING,
    ExtractionStatus.COMPLETE,
    ExtractionStatus.EVALUATING,
)
REPLY_CHANNELS = ("link", "sms", "voice", "page")


@dataclass
class DemandSpec:
    """Experts wanted for one specialty at one venue (centre_id None = the request's main venue)."""

    specialty_code: str
    count: int
    reserves: int
    centre_id: int | None = None


# ---- committee rules ----------------------------------------------------------------------------


def committee_rules_check(*, demands: Sequence[DemandSpec], tenderer_representatives: int) -> None:
    """法 Art 37: the committee has at least 5 members, an odd number, and technical and economic
    experts (every drawn expert is one or the other) make at least two thirds of it. Raises
    ValidationFailed ``committee_rules`` before anything is drawn; for the remote flow pass every
    venue's demands (the rule is on the whole committee)."""
    if tenderer_representatives < 0:
        raise ValidationFailed(
            "committee_rules",
            "招标人代表人数不能为负",
            "tenderer representatives cannot be negative",
            fields={"tenderer_representatives": ""},
        )
    experts = sum(max(d.count, 0) for d in demands)
    total = experts + tenderer_representatives
    if total < 5 or total % 2 == 0:
        raise ValidationFailed(
            "committee_rules",
            f"评标委员会成员应为 5 人以上单数（现为 {total} 人）",
            f"the committee must have 5 or more members, an odd number (it would have {total})",
            article="法 Art 37",
            fields={"demands": ""},
            extra={"experts": experts, "tenderer_representatives": tenderer_representatives},
        )
    if experts * 3 < total * 2:
        raise ValidationFailed(
            "committee_rules",
            f"技术、经济等方面的专家不得少于成员总数的三分之二（专家 {experts} 人，共 {total} 人）",
            f"technical and economic experts must be at least two thirds of the committee "
            f"({experts} of {total})",
            article="法 Art 37",
            fields={"tenderer_representatives": ""},
            extra={"experts": experts, "tenderer_representatives": tenderer_representatives},
        )


def normalize_rules(rules: Mapping[str, Any]) -> dict[str, Any]:
    """The request's recusal settings, checked; unknown keys are refused (a typo must not turn a rule
    off silently)."""
    unknown = sorted(set(rules) - set(selectors.DEFAULT_RULES))
    if unknown:
        raise ValidationFailed(
            "rules_unknown",
            f"未知的抽取规则：{', '.join(unknown)}",
            f"unknown extraction rules: {', '.join(unknown)}",
            fields={"rules": ""},
        )
    out = {**selectors.DEFAULT_RULES, **rules}
    for key, low, high in (("frequency_cap", 1, 100), ("frequency_days", 1, 366)):
        value = out[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValidationFailed(
                "rules_invalid",
                f"规则 {key} 应为 {low}–{high} 的整数",
                f"rule {key} must be a whole number from {low} to {high}",
                fields={"rules": ""},
            )
    regions = out["excluded_regions"]
    if not isinstance(regions, list) or not all(isinstance(r, str) and r.strip() for r in regions):
        raise ValidationFailed(
            "rules_invalid",
            "排除地区应为地区名称列表",
            "excluded_regions must be a list of region names",
            fields={"rules": ""},
        )
    out["excluded_regions"] = sorted({r.strip() for r in regions})
    for key in ("regional_pool", "exclude_own_region"):
        if out[key] is not None and not isinstance(out[key], bool):
            raise ValidationFailed(
                "rules_invalid",
                f"规则 {key} 应为真或假",
                f"rule {key} must be true or false",
                fields={"rules": ""},
            )
    return out


# ---- the draw -----------------------------------------------------------------------------------


# Version 2 (current): a partial Fisher–Yates shuffle with SHA-256 randomness — one hash per expert
# *drawn*, not per pool member. Version 1 ranked every member by its own hash; requests drawn with
# it keep ``draw_version = 1`` and replay with it (docs/extraction.md, "The draw").
DRAW_RANK_BY_HASH = 1
DRAW_SHUFFLE = 2
DRAW_CURRENT = DRAW_SHUFFLE
DRAW_DESCRIPTIONS = {
    DRAW_RANK_BY_HASH: "sha256(seed||u32 demand index||u64 expert id), places then reserves",
    DRAW_SHUFFLE: "partial Fisher-Yates over the sorted pool, swap j from "
    "sha256(seed||u32 demand index||u32 j||u32 try)[:8] mod (n-j) with rejection, places then reserves",
}
_TWO_64 = 1 << 64


def draw_key(seed: bytes, demand_index: int, expert_id: int) -> bytes:
    """Version 1: an expert's place in a demand's order: SHA-256(seed ‖ uint32 demand index ‖
    uint64 expert id), big-endian; smaller comes first."""
    return hashlib.sha256(seed + demand_index.to_bytes(4, "big") + expert_id.to_bytes(8, "big")).digest()


def shuffle_index(seed: bytes, demand_index: int, position: int, remaining: int) -> int:
    """Version 2: the uniform offset in [0, remaining) for swap ``position``: the first 8 bytes of
    SHA-256(seed ‖ uint32 demand index ‖ uint32 position ‖ uint32 try) as a big-endian integer u,
    taken when u < 2^64 − (2^64 mod remaining) (else the next try), then u mod remaining."""
    limit = _TWO_64 - _TWO_64 % remaining
    prefix = seed + demand_index.to_bytes(4, "big") + position.to_bytes(4, "big")
    attempt = 0
    while True:
        digest = hashlib.sha256(prefix + attempt.to_bytes(4, "big")).digest()
        u = int.from_bytes(digest[:8], "big")
        if u < limit:
            return u % remaining
        attempt += 1


def draw(
    seed: bytes,
    pools: Sequence[Sequence[int]],
    counts: Sequence[tuple[int, int]],
    *,
    version: int = DRAW_CURRENT,
) -> list[list[int]]:
    """The documented deterministic draw (docs/extraction.md).

    ``pools[i]`` is demand i's sorted eligible ids, ``counts[i]`` its (count, reserves). Each pool
    is put in a random order — version 2: shuffled (``shuffle_index``), version 1: sorted by
    ``draw_key`` —; first pass: every demand in turn takes its ``count`` places, skipping experts
    an earlier demand already took; second pass: the reserves, the same way. Returns, per demand,
    the drawn ids in draw order (places first, then reserves); a demand may get fewer than asked
    when its pool runs out.

    Only the head of each order is ever read: a demand skips at most the experts the other demands
    took, so it never goes past the total number drawn; only that many places of each order are
    computed (the orders' heads do not depend on how many are computed)."""
    if version not in DRAW_DESCRIPTIONS:
        raise ValueError(f"unknown draw version {version}")
    head = _shuffle_head if version == DRAW_SHUFFLE else _order_head
    wanted = sum(count + reserves for count, reserves in counts)
    orders = [head(seed, i, pool, wanted) for i, pool in enumerate(pools)]
    cursors = [0] * len(pools)
    taken: set[int] = set()
    out: list[list[int]] = [[] for _ in pools]
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


def _shuffle_head(seed: bytes, demand_index: int, pool: Sequence[int], size: int) -> list[int]:
    """Version 2: the first ``size`` places of the shuffle of ``pool``: position j takes the member
    at j + shuffle_index(…, j, n − j) and that member's place takes position j's (a swap)."""
    order = list(pool)
    n = len(order)
    for j in range(min(size, n)):
        k = j + shuffle_index(seed, demand_index, j, n - j)
        order[j], order[k] = order[k], order[j]
    return order[: min(size, n)]


def _order_head(seed: bytes, demand_index: int, pool: Sequence[int], size: int) -> list[int]:
    """Version 1: the first ``size`` experts of ``pool`` by (``draw_key``, id)."""
    prefix = hashlib.sha256(seed + demand_index.to_bytes(4, "big"))

    def key(expert_id: int) -> tuple[bytes, int]:
        digest = prefix.copy()  # = draw_key(seed, demand_index, expert_id), without rehashing the seed
        digest.update(expert_id.to_bytes(8, "big"))
        return digest.digest(), expert_id

    return heapq.nsmallest(size, pool, key=key)


def pools_document(request: ExtractionRequest, demands: Sequence[ExtractionDemand]) -> dict[str, Any]:
    """The canonical pool whose SHA-256 is committed: per demand (in id order) its venue, specialty,
    count, reserves and the sorted eligible expert ids."""
    return {
        "request": request.pk,
        "demands": [
            {
                "demand": d.pk,
                "centre": d.venue.centre_id,
                "specialty": d.specialty.code,
                "count": d.count,
                "reserves": d.reserves,
                "pool": list(d.pool),
            }
            for d in demands
        ],
    }


def pools_sha256(document: Mapping[str, Any]) -> str:
    """SHA-256 of ``canonical_json(document)`` for a ``pools_document``."""
    return pools_commitment(document)[0]


def pools_commitment(document: Mapping[str, Any]) -> tuple[str, list[bytes]]:
    """The SHA-256 of ``canonical_json(document)`` for a ``pools_document``, and each demand's pool
    as canonical JSON: the tens of thousands of ids are turned into text once. canonical_json walks
    every value to refuse floats — most of its time on the pools — so each pool is dumped as it is
    and its text checked to hold only digits, minus signs, commas and brackets (what a list of
    integers gives: a float, bool, None or string adds other characters), the rest of the document
    goes through canonical_json with empty pools, and each ``"pool":[]`` there (a key: JSON
    escapes every quote inside a string) is where a pool's text goes. Anything else takes
    canonical_json itself. Tests hold it equal to canonical_json."""
    demands = document["demands"]
    try:
        pools = [json.dumps(d["pool"], separators=(",", ":")).encode() for d in demands]
    except (TypeError, ValueError):
        pools = []
    if len(pools) != len(demands) or any(
        p[:1] != b"[" or p.translate(None, b"0123456789-,[]") for p in pools
    ):
        return sha256_hex(canonical_json(document)), [canonical_json(d["pool"]) for d in demands]
    rest = canonical_json({**document, "demands": [{**d, "pool": []} for d in demands]})
    parts = rest.split(b'"pool":[]')
    digest = hashlib.sha256(parts[0])
    for pool, part in zip(pools, parts[1:], strict=True):
        digest.update(b'"pool":')
        digest.update(pool)
        digest.update(part)
    return digest.hexdigest(), pools


def pools_store(demands: Sequence[ExtractionDemand]) -> None:
    """Write each demand's ``pool`` (the field stores it delta-coded, experts.id_lists): one plain
    UPDATE per demand, sent as one batch (``executemany``: psycopg pipelines them, SQLite runs them
    in place). The same rows as ``bulk_update(demands, ["pool"])``, whose one CASE over every pool
    costs more to build and compile than the writes themselves."""
    if not demands:
        return
    connection = connections[ExtractionDemand.objects.db]
    quote = connection.ops.quote_name
    meta = ExtractionDemand._meta
    field = meta.get_field("pool")
    table, column, pk = quote(meta.db_table), quote(field.column), quote(meta.pk.column)
    sql = f"UPDATE {table} SET {column} = %s WHERE {pk} = %s"  # noqa: S608 (names from the model)
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(field.get_db_prep_save(d.pool, connection), d.pk) for d in demands])


def draw_document(
    request: ExtractionRequest, drawn: Sequence[Sequence[int]], demands: Sequence[ExtractionDemand]
) -> dict[str, Any]:
    return {
        "request": request.pk,
        "draw": [{"demand": d.pk, "experts": list(ids)} for d, ids in zip(demands, drawn, strict=True)],
    }


# ---- create and run -----------------------------------------------------------------------------


class PoolTooSmall(Conflict):
    def __init__(self, report: Mapping[str, Any]) -> None:
        short = [d for d in report.get("demands", []) if d.get("short")]
        names = "、".join(f"{d['specialty']}（需 {d['count']}，可用 {d['eligible']}）" for d in short)
        names_en = ", ".join(f"{d['specialty']} (need {d['count']}, eligible {d['eligible']})" for d in short)
        super().__init__(
            "extraction_pool_too_small",
            f"符合条件的专家不足，未抽取：{names}",
            f"too few eligible experts, nothing drawn: {names_en}",
            article="法 Art 37",
            extra={"report": dict(report)},
        )


def project_alias() -> str:
    # 四不知: the code a venue's staff see instead of the project until the evaluation starts.
    return "YC-" + secrets.token_hex(4).upper()


def evaluation_times_check(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    """Times with a zone, the end after the start, the start in the future (local and remote)."""
    for name, value in (("evaluation_starts_at", starts_at), ("evaluation_ends_at", ends_at)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationFailed(
                "time_naive",
                "时间须注明时区（如 +08:00）",
                "times must carry a time zone (e.g. +08:00)",
                fields={name: ""},
            )
    if starts_at >= ends_at:
        raise ValidationFailed(
            "evaluation_times_order",
            "评标结束时间须晚于开始时间",
            "the evaluation must end after it starts",
            fields={"evaluation_ends_at": ""},
        )
    if starts_at <= clock.now():
        raise ValidationFailed(
            "evaluation_in_past",
            "评标时间须在将来",
            "the evaluation must lie in the future",
            fields={"evaluation_starts_at": ""},
        )


def _check_section(section: Section) -> None:
    if section.status not in EXTRACTABLE_SECTIONS:
        raise Conflict(
            "section_not_extractable",
            f"标段状态为“{section.get_status_display()}”，不能抽取评标专家",
            f"the section is {section.status}: no experts can be extracted for it",
        )
    if ExtractionRequest.objects.filter(section=section, status__in=LIVE_REQUESTS).exists():
        raise Conflict(
            "extraction_exists",
            "该标段已有进行中的专家抽取",
            "this section already has an extraction under way",
        )


def _specialties(demands: Sequence[DemandSpec]) -> dict[str, Specialty]:
    if not demands:
        raise ValidationFailed(
            "demands_missing", "请填写抽取需求", "say which experts are needed", fields={"demands": ""}
        )
    codes = {d.specialty_code for d in demands}
    found = {s.code: s for s in Specialty.objects.filter(code__in=codes)}
    seen: set[tuple[str, int | None]] = set()
    for d in demands:
        if d.specialty_code not in found:
            raise ValidationFailed(
                "specialty_unknown",
                f"未知的专业代码 {d.specialty_code}",
                f"unknown specialty code {d.specialty_code}",
                fields={"demands": ""},
            )
        if d.count < 1 or d.reserves < 0 or d.count > 50 or d.reserves > 50:
            raise ValidationFailed(
                "demand_invalid",
                "每项需求人数应为 1–50，备选 0–50",
                "each demand needs 1-50 experts and 0-50 reserves",
                fields={"demands": ""},
            )
        key = (d.specialty_code, d.centre_id)
        if key in seen:
            raise ValidationFailed(
                "demand_duplicate",
                f"专业 {d.specialty_code} 在同一场地重复填写",
                f"specialty {d.specialty_code} is listed twice for one venue",
                fields={"demands": ""},
            )
        seen.add(key)
    return found


def extraction_request_create(
    *,
    acting_user: Any,
    section: Section,
    evaluation_starts_at: dt.datetime,
    evaluation_ends_at: dt.datetime,
    demands: Sequence[DemandSpec],
    rules: Mapping[str, Any],
    reply_minutes: int = 30,
    tenderer_representatives: int = 0,
) -> ExtractionRequest:
    """A local evaluation's request: the main venue is the project's trading centre. Checks the
    committee rules, then runs the draw at once. A pool too small leaves the request FAILED (saved
    and logged) and raises ``extraction_pool_too_small``."""
    require(acting_user, Permission.EXTRACTION_REQUEST)
    with transaction.atomic():
        section = Section.objects.select_for_update().select_related("project__centre").get(pk=section.pk)
        if section.project.centre_id != acting_user.organization_id:
            raise NotFound("标段", "section")
        _check_section(section)
        evaluation_times_check(evaluation_starts_at, evaluation_ends_at)
        if not 1 <= reply_minutes <= 1440:
            raise ValidationFailed(
                "reply_minutes_invalid",
                "答复时限应为 1–1440 分钟",
                "the reply time must be 1-1440 minutes",
                fields={"reply_minutes": ""},
            )
        specialties = _specialties(demands)
        centre = section.project.centre
        for d in demands:
            if d.centre_id not in (None, centre.pk):
                raise ValidationFailed(
                    "venue_not_local",
                    "本地评标只能在项目所在交易中心抽取；异地评标请使用远程异地评标",
                    "a local evaluation draws for the project's own centre only; use remote evaluation",
                    fields={"demands": ""},
                )
        committee_rules_check(demands=demands, tenderer_representatives=tenderer_representatives)
        clean_rules = normalize_rules(rules)
        now = clock.now()
        request = ExtractionRequest.objects.create(
            section=section,
            is_remote=False,
            evaluation_starts_at=evaluation_starts_at,
            evaluation_ends_at=evaluation_ends_at,
            status=ExtractionStatus.COMMITTED,
            rules=clean_rules,
            reply_minutes=reply_minutes,
            tenderer_representatives=tenderer_representatives,
            requested_by=acting_user,
            requested_at=now,
        )
        venue = ExtractionVenue.objects.create(
            request=request,
            centre=centre,
            role=VenueRole.MAIN,
            project_alias=project_alias(),
            invitation=InvitationStatus.NOT_NEEDED,
        )
        ExtractionDemand.objects.bulk_create(
            ExtractionDemand(
                request=request,
                venue=venue,
                specialty=specialties[d.specialty_code],
                count=d.count,
                reserves=d.reserves,
            )
            for d in demands
        )
        log_append(
            action=ExtractionAction.REQUESTED,
            actor=acting_user,
            obj=request,
            data={
                "request": request.pk,
                "section": section.pk,
                "evaluation_starts_at": evaluation_starts_at,
                "evaluation_ends_at": evaluation_ends_at,
                "demands": [
                    {"specialty": d.specialty_code, "count": d.count, "reserves": d.reserves} for d in demands
                ],
                "rules": clean_rules,
                "reply_minutes": reply_minutes,
                "tenderer_representatives": tenderer_representatives,
            },
        )
        _run(acting_user=acting_user, request=request)
    if request.status == ExtractionStatus.FAILED:
        raise PoolTooSmall(request.failure)
    return request


def extraction_run(
    *, acting_user: Any, request: ExtractionRequest, raise_on_failure: bool = True
) -> ExtractionRequest:
    """Draw for a request whose venues and demands exist (the remote flow creates them, then calls
    this once every secondary venue accepted). A pool too small: the request is FAILED with the
    report (saved in this function's own atomic block) and ``PoolTooSmall`` is raised — unless
    ``raise_on_failure=False``, for a caller inside its own transaction that must not roll back
    (check ``request.status`` then)."""
    with transaction.atomic():
        locked = (
            ExtractionRequest.objects.select_for_update(of=("self",))
            .select_related("section__project__tenderer", "section__project__agent")
            .get(pk=request.pk)
        )
        _run(acting_user=acting_user, request=locked)
    request.refresh_from_db()
    if request.status == ExtractionStatus.FAILED and raise_on_failure:
        raise PoolTooSmall(request.failure)
    return request


def _run(*, acting_user: Any, request: ExtractionRequest) -> None:
    extraction_changed(request.pk)  # live push after the commit (drawn or failed)
    if request.status not in (ExtractionStatus.INVITING, ExtractionStatus.COMMITTED) or request.drawn_at:
        raise Conflict(
            "extraction_already_run",
            "该抽取申请已抽取或已结束",
            "this extraction request was already drawn or has ended",
        )
    venues = list(ExtractionVenue.objects.filter(request=request).select_related("centre", "room"))
    waiting = [
        # a declined venue keeps its row (its places moved to the centre drawn instead)
        v
        for v in venues
        if v.role == VenueRole.SECONDARY and v.invitation == InvitationStatus.PENDING
    ]
    if waiting:
        raise Conflict(
            "venues_not_confirmed",
            "仍有副场未确认评标席位",
            "a secondary venue has not confirmed its seats yet",
            extra={"venues": [v.pk for v in waiting]},
        )
    demands = list(
        ExtractionDemand.objects.filter(request=request).select_related("specialty").order_by("pk")
    )
    if not demands:
        raise ValidationFailed("demands_missing", "请填写抽取需求", "say which experts are needed")
    venue_by_pk = {v.pk: v for v in venues}
    for demand in demands:  # the venues just read (centre and room with them), not read again per demand
        if demand.venue_id in venue_by_pk:
            demand.venue = venue_by_pk[demand.venue_id]
    ctx = selectors.pool_context(request)
    for demand, pool in zip(demands, selectors.request_pools(ctx, demands), strict=True):
        demand.pool = pool
    now = clock.now()
    seed = secrets.token_bytes(32)
    drawn = draw(
        seed, [d.pool for d in demands], [(d.count, d.reserves) for d in demands], version=DRAW_CURRENT
    )
    short = [i for i, d in enumerate(demands) if len(drawn[i]) < d.count]
    if short:
        _fail(acting_user=acting_user, request=request, ctx=ctx, demands=demands, drawn=drawn, short=short)
        return
    pools_sha = pools_sha256(pools_document(request, demands))
    seed_sha = hashlib.sha256(seed).hexdigest()
    pools_store(demands)
    reserves_short = [
        {"demand": d.pk, "specialty": d.specialty.code, "reserves": d.reserves, "drawn": len(ids) - d.count}
        for d, ids in zip(demands, drawn, strict=True)
        if len(ids) < d.count + d.reserves
    ]
    request.pool_sha256, request.seed_sha256, request.seed_hex = pools_sha, seed_sha, seed.hex()
    request.drawn_at = now
    request.draw_version = DRAW_CURRENT
    request.status = ExtractionStatus.CONFIRMING
    request.failure = {"reserves_short": reserves_short} if reserves_short else {}
    request.save(
        update_fields=[
            "pool_sha256",
            "seed_sha256",
            "seed_hex",
            "drawn_at",
            "draw_version",
            "status",
            "failure",
        ]
    )
    # One INSERT for the draw order: the first `count` of each demand are called at once (their
    # call fields set here), the rest wait as reserves.
    rows: list[ExtractionAssignment] = []
    tokens: dict[int, str] = {}
    for demand, ids in zip(demands, drawn, strict=True):
        for rank, expert_id in enumerate(ids):
            row = ExtractionAssignment(
                request=request,
                demand=demand,
                expert_id=expert_id,
                rank=rank,
                status=AssignmentStatus.RESERVE,
            )
            if rank < demand.count:
                tokens[len(rows)] = _call(row, now=now)
            rows.append(row)
    ExtractionAssignment.objects.bulk_create(rows)
    called = [rows[i] for i in sorted(tokens)]
    experts = Expert.objects.select_related("user").in_bulk([a.expert_id for a in called])
    events = [
        # Committed before anything is revealed: the pools (sorted ids) and the seed, as hashes.
        EventSpec(
            action=ExtractionAction.COMMITTED,
            actor=acting_user,
            object_type=request._meta.label_lower,
            object_id=str(request.pk),
            data={
                "request": request.pk,
                "pool_sha256": pools_sha,
                "seed_sha256": seed_sha,
                "pool_sizes": [len(d.pool) for d in demands],
                "draw_version": DRAW_CURRENT,
                "draw": DRAW_DESCRIPTIONS[DRAW_CURRENT],
            },
        ),
        EventSpec(
            action=ExtractionAction.DRAWN,
            actor=acting_user,
            object_type=request._meta.label_lower,
            object_id=str(request.pk),
            data={
                "request": request.pk,
                "draw_sha256": sha256_hex(canonical_json(draw_document(request, drawn, demands))),
                "drawn": [len(ids) for ids in drawn],
                "reserves_short": reserves_short,
            },
        ),
    ]
    messages: list[Message] = []
    for index in sorted(tokens):
        assignment = rows[index]
        assignment.expert = experts[assignment.expert_id]
        messages.extend(_call_messages(assignment, tokens[index]))
        events.append(_call_event(assignment, reason="drawn"))
    notification_enqueue_many(messages)
    log_append_many(events)


def _fail(
    *,
    acting_user: Any,
    request: ExtractionRequest,
    ctx: selectors.PoolContext,
    demands: Sequence[ExtractionDemand],
    drawn: Sequence[Sequence[int]],
    short: Sequence[int],
) -> None:
    """Nothing is drawn; the report says, per demand, how many experts each rule removed."""
    reports = []
    for i, demand in enumerate(demands):
        report = selectors.demand_report(ctx, demand)
        report["short"] = i in short
        report["distinct_available"] = len(drawn[i])  # after experts taken by earlier demands
        reports.append(report)
    request.status = ExtractionStatus.FAILED
    request.failure = {"reason": "pool_too_small", "demands": reports}
    request.save(update_fields=["status", "failure"])
    log_append(
        action=ExtractionAction.FAILED,
        actor=acting_user,
        obj=request,
        data={"request": request.pk, "report": request.failure},
    )


# ---- notification -------------------------------------------------------------------------------


def reply_code(assignment: ExtractionAssignment) -> str:
    """The 6-digit code the expert sends back by SMS (or the voice gateway passes on): keyed with
    the server secret, per assignment and per call, so it needs no storage."""
    stamp = assignment.notified_at.isoformat() if assignment.notified_at else ""
    digest = salted_hmac("tenderhall.experts.reply_code", f"{assignment.pk}:{stamp}", algorithm="sha256")
    return f"{int(digest.hexdigest()[:12], 16) % 1_000_000:06d}"


def reply_link(token: str) -> str:
    # The public address (settings.TENDERHALL_PUBLIC_URL) makes the SMS link one a phone can open.
    base = settings.TENDERHALL_PUBLIC_URL
    return f"{base}/experts/assignments/t/{token}/"


def _call(assignment: ExtractionAssignment, *, now: dt.datetime) -> str:
    """Mark an assignment called (not saved): NOTIFIED, the answer due in ``reply_minutes``, the
    one-time link's token stored hashed. Returns the token."""
    token = secrets.token_urlsafe(24)
    assignment.status = AssignmentStatus.NOTIFIED
    assignment.notified_at = now
    assignment.reply_due_at = now + dt.timedelta(minutes=assignment.request.reply_minutes)
    assignment.reply_code_sha256 = sha256_hex(token)
    return token


def _call_messages(assignment: ExtractionAssignment, token: str) -> list[Message]:
    """SMS and voice (press 1 / 2) through the outbox, and a one-time link; in-app as well when the
    expert has an account. The message names the time and venue, never the project (issue 6 §5)."""
    request = assignment.request
    expert = assignment.expert
    code = reply_code(assignment)
    starts = request.evaluation_starts_at.astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    due_at = assignment.reply_due_at or clock.now()
    due = due_at.astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    venue = selectors.venue_label(assignment)
    sms = (
        f"【评标专家抽取】{expert.name}专家：您被随机抽取参加 {starts} 在 {venue} 的评标。"
        f"回复“1 {code}”接受，回复“2 {code}”拒绝，或打开 {reply_link(token)} 答复；请于 {due} 前答复，"
        f"逾期视为不参加。"
    )
    voice = (
        f"{expert.name}专家，您被随机抽取参加 {starts} 在 {venue} 的评标。接受请按 1，拒绝请按 2。"
        f"答复代码 {code}。"
    )
    recipient = expert.user
    messages = [
        Message(recipient, NotificationChannel.SMS, "评标专家抽取通知", sms, expert.phone),
        Message(recipient, NotificationChannel.VOICE, "评标专家抽取通知", voice, expert.phone),
    ]
    if recipient is not None:
        messages.append(
            Message(
                recipient,
                NotificationChannel.IN_APP,
                "评标专家抽取通知 / You were drawn as an expert",
                f"{starts} · {venue}",
            )
        )
    return messages


def _call_event(assignment: ExtractionAssignment, *, reason: str) -> EventSpec:
    # Sealed: who was called stays secret until the evaluation starts (法 Art 37).
    return EventSpec(
        action=ExtractionAction.NOTIFIED,
        sealed=True,
        object_type=assignment._meta.label_lower,
        object_id=str(assignment.pk),
        data={
            "request": assignment.request_id,
            "demand": assignment.demand_id,
            "rank": assignment.rank,
            "expert": assignment.expert_id,
        },
        public_data={
            "request": assignment.request_id,
            "demand": assignment.demand_id,
            "rank": assignment.rank,
            "reason": reason,
        },
    )


def _notify(assignment: ExtractionAssignment, *, now: dt.datetime, reason: str) -> EventSpec:
    """Call one expert (a reserve): saved, messages in the outbox; returns the sealed log event."""
    token = _call(assignment, now=now)
    assignment.save(update_fields=["status", "notified_at", "reply_due_at", "reply_code_sha256"])
    notification_enqueue_many(_call_messages(assignment, token))
    return _call_event(assignment, reason=reason)


def _assignment_event(assignment: ExtractionAssignment, action: str, **extra: Any) -> None:
    log_append(
        action=action,
        sealed=True,
        obj=assignment,
        data={
            "request": assignment.request_id,
            "demand": assignment.demand_id,
            "rank": assignment.rank,
            "expert": assignment.expert_id,
            **extra,
        },
        public_data={
            "request": assignment.request_id,
            "demand": assignment.demand_id,
            "rank": assignment.rank,
            **extra,
        },
    )


# ---- reserves -----------------------------------------------------------------------------------


def reserve_call_next(
    *, request: ExtractionRequest, demand: ExtractionDemand, reason: str
) -> ExtractionAssignment | None:
    """Call the next reserve of ``demand`` (lowest rank still RESERVE), logged. Used after a decline,
    a time-out, and by the committee when a member recuses at check-in. Returns None when the
    reserves are exhausted: the request then shows ``failure["reserves_exhausted"]``, the event is
    logged and the requesting staff member told; the caller decides whether to refuse (raise
    ``reserves_exhausted_error``) — this function never raises for it, so a tick or a recusal
    is not rolled back."""
    with transaction.atomic():
        extraction_changed(request.pk)
        locked = ExtractionRequest.objects.select_for_update().get(pk=request.pk)
        reserve = (
            ExtractionAssignment.objects.select_for_update(of=("self",))
            .filter(demand=demand, status=AssignmentStatus.RESERVE)
            .select_related("expert__user", "demand__venue__centre", "demand__venue__room", "request")
            .order_by("rank")
            .first()
        )
        if reserve is None:
            exhausted = list(locked.failure.get("reserves_exhausted", []))
            exhausted.append(
                {
                    "demand": demand.pk,
                    "specialty": demand.specialty.code,
                    "reason": reason[:200],
                    "at": clock.now().isoformat(),
                }
            )
            locked.failure = {**locked.failure, "reserves_exhausted": exhausted}
            locked.save(update_fields=["failure"])
            log_append(
                action=ExtractionAction.RESERVES_EXHAUSTED,
                obj=locked,
                data={"request": locked.pk, "demand": demand.pk, "reason": reason[:200]},
            )
            notification_enqueue(
                recipient=locked.requested_by,
                channel=NotificationChannel.IN_APP,
                subject="备选专家已用完 / Reserves exhausted",
                body=f"抽取申请 #{locked.pk}：专业 {demand.specialty.code} 的备选专家已用完，请重新抽取。",
            )
            request.failure = locked.failure
            return None
        log_append_many([_notify(reserve, now=clock.now(), reason=reason[:200] or "reserve")])
        if locked.status == ExtractionStatus.COMPLETE:
            locked.status = ExtractionStatus.CONFIRMING
            locked.save(update_fields=["status"])
            request.status = locked.status
        return reserve


def reserves_exhausted_error(demand: ExtractionDemand) -> Conflict:
    return Conflict(
        "extraction_reserves_exhausted",
        f"专业 {demand.specialty.code} 的备选专家已用完，需重新抽取",
        f"the reserves for {demand.specialty.code} are used up: a new extraction is needed",
        article="法 Art 37",
        extra={"demand": demand.pk},
    )


# ---- replies ------------------------------------------------------------------------------------


def _phone(value: str) -> str:
    digits = re.sub(r"\D", "", value or "")
    return digits[-11:]  # +86 / 0086 prefixes compare equal to the bare mobile number


def assignment_reply(
    *,
    assignment: ExtractionAssignment,
    accept: bool,
    channel: str,
    acting_user: Any = None,
    token: str = "",
    from_phone: str = "",
    code: str = "",
) -> ExtractionAssignment:
    """The expert's answer: by one-time link (``token``), by SMS/voice through the gateway (the
    reply code from the expert's own phone), or on their own page (``acting_user`` is the expert).
    After the deadline an accept is refused; a decline calls the next reserve. Refusals are logged."""
    try:
        return _reply(
            assignment=assignment,
            accept=accept,
            channel=channel,
            acting_user=acting_user,
            token=token,
            from_phone=from_phone,
            code=code,
        )
    except DomainError as exc:
        log_refusal(
            action=ExtractionAction.REPLY_REFUSED,
            actor=acting_user if getattr(acting_user, "is_authenticated", False) else None,
            data={"assignment": assignment.pk, "channel": channel, "code": exc.code},
        )
        raise


@transaction.atomic
def _reply(
    *,
    assignment: ExtractionAssignment,
    accept: bool,
    channel: str,
    acting_user: Any,
    token: str,
    from_phone: str,
    code: str,
) -> ExtractionAssignment:
    if channel not in REPLY_CHANNELS:
        raise ValidationFailed(
            "reply_channel_invalid", "答复方式无效", "unknown reply channel", fields={"channel": ""}
        )
    ExtractionRequest.objects.select_for_update().filter(pk=assignment.request_id).first()
    extraction_changed(assignment.request_id)
    locked = (
        ExtractionAssignment.objects.select_for_update()
        .select_related("expert", "request", "demand__specialty")
        .get(pk=assignment.pk)
    )
    expert = locked.expert
    if channel == "link":
        if (
            not token
            or not locked.reply_code_sha256
            or not hmac.compare_digest(sha256_hex(token), locked.reply_code_sha256)
        ):
            raise NotFound("抽取通知", "assignment")
    elif channel in ("sms", "voice"):
        if not from_phone or _phone(from_phone) != _phone(expert.phone):
            raise PermissionDeniedReply()
        if not code or not hmac.compare_digest(code, reply_code(locked)):
            raise ValidationFailed(
                "reply_code_invalid", "答复代码不正确", "the reply code is wrong", fields={"code": ""}
            )
    elif expert.user_id is None or getattr(acting_user, "pk", None) != expert.user_id:
        raise NotFound("抽取通知", "assignment")
    if locked.status != AssignmentStatus.NOTIFIED:
        raise Conflict(
            "reply_not_pending",
            "该通知已答复或已失效",
            "this call was already answered or is no longer open",
        )
    now = clock.now()
    if locked.reply_due_at is not None and now > locked.reply_due_at:
        raise Conflict(
            "reply_too_late",
            "已超过答复时限，视为不参加",
            "the time to answer has passed; you are taken as not attending",
        )
    locked.replied_at = now
    locked.reply_channel = channel
    if accept:
        locked.status = AssignmentStatus.ACCEPTED
        locked.save(update_fields=["status", "replied_at", "reply_channel"])
        _assignment_event(locked, ExtractionAction.ACCEPTED, channel=channel)
        _complete_if_full(locked.request)
    else:
        locked.status = AssignmentStatus.DECLINED
        locked.reason = "declined"
        locked.save(update_fields=["status", "replied_at", "reply_channel", "reason"])
        _assignment_event(locked, ExtractionAction.DECLINED, channel=channel)
        reserve_call_next(request=locked.request, demand=locked.demand, reason="declined")
    return locked


class PermissionDeniedReply(DomainError):
    status = 403

    def __init__(self) -> None:
        super().__init__(
            "reply_wrong_phone",
            "答复须来自专家登记的手机号码",
            "the reply must come from the expert's registered phone",
            fields={"from_phone": ""},
        )


def gateway_reply(
    *, acting_user: Any, from_phone: str, text: str, channel: str = "sms"
) -> ExtractionAssignment:
    """The SMS (or voice) gateway passes on a reply: "1 123456" accepts, "2 123456" declines. The code
    picks the call; the phone must be the expert's. A reply with only a digit is taken when that
    phone has exactly one open call."""
    require(acting_user, Permission.EXTRACTION_GATEWAY_REPLY)
    if channel not in ("sms", "voice"):
        raise ValidationFailed(
            "reply_channel_invalid", "答复方式无效", "unknown reply channel", fields={"channel": ""}
        )
    match = re.fullmatch(r"\s*([12])(?:\s*[#\s]\s*(\d{6}))?\s*", text or "")
    if match is None:
        raise ValidationFailed(
            "reply_text_invalid",
            "无法识别的答复：请回复 1 接受或 2 拒绝",
            "reply not understood: send 1 to accept or 2 to decline",
            fields={"text": ""},
        )
    accept, code = match.group(1) == "1", match.group(2) or ""
    open_calls = list(
        ExtractionAssignment.objects.filter(status=AssignmentStatus.NOTIFIED).select_related("expert")
    )
    if code:
        found = [a for a in open_calls if hmac.compare_digest(reply_code(a), code)]
    else:
        found = [a for a in open_calls if _phone(a.expert.phone) == _phone(from_phone)]
        if len(found) > 1:
            raise ValidationFailed(
                "reply_code_needed",
                "您有多个待答复通知，请在数字后附答复代码",
                "you have several open calls: add the reply code after the digit",
                fields={"text": ""},
            )
    if len(found) != 1:
        log_refusal(
            action=ExtractionAction.REPLY_REFUSED,
            actor=acting_user,
            data={
                "channel": channel,
                "code": "reply_code_unknown",
                "from_phone_sha256": sha256_hex(_phone(from_phone)),
            },
        )
        raise NotFound("抽取通知", "assignment")
    target = found[0]
    return assignment_reply(
        assignment=target,
        accept=accept,
        channel=channel,
        acting_user=acting_user,
        from_phone=from_phone,
        code=code or reply_code(target),
    )


def _complete_if_full(request: ExtractionRequest) -> None:
    if request.status != ExtractionStatus.CONFIRMING:
        return
    demands = list(ExtractionDemand.objects.filter(request=request))
    accepted: dict[int, int] = {}
    for demand_id in ExtractionAssignment.objects.filter(
        request=request, status=AssignmentStatus.ACCEPTED
    ).values_list("demand_id", flat=True):
        accepted[demand_id] = accepted.get(demand_id, 0) + 1
    if all(accepted.get(d.pk, 0) >= d.count for d in demands):
        request.status = ExtractionStatus.COMPLETE
        request.save(update_fields=["status"])
        # Reserves stay RESERVE: a recusal at check-in still calls the next one.
        log_append(
            action=ExtractionAction.COMPLETE,
            obj=request,
            data={"request": request.pk, "accepted": sum(accepted.values())},
        )
        notification_enqueue(
            recipient=request.requested_by,
            channel=NotificationChannel.IN_APP,
            subject="专家抽取完成 / Extraction complete",
            body=f"抽取申请 #{request.pk}：全部专家已确认参加。",
        )


def extraction_tick() -> list[ExtractionAssignment]:
    """Every call whose reply time passed without an answer: TIMED_OUT, and the next reserve is
    called (idempotent; the worker runs it every minute, `tenderhall experts tick` by hand)."""
    now = clock.now()
    due = list(
        ExtractionAssignment.objects.filter(status=AssignmentStatus.NOTIFIED, reply_due_at__lt=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    out = []
    for pk in due:
        with transaction.atomic():
            assignment = (
                ExtractionAssignment.objects.select_for_update()
                .select_related("request", "demand__specialty")
                .filter(pk=pk, status=AssignmentStatus.NOTIFIED, reply_due_at__lt=now)
                .first()
            )
            if assignment is None:
                continue
            assignment.status = AssignmentStatus.TIMED_OUT
            assignment.reason = "no answer"
            assignment.save(update_fields=["status", "reason"])
            _assignment_event(assignment, ExtractionAction.TIMED_OUT)
            reserve_call_next(request=assignment.request, demand=assignment.demand, reason="timed_out")
            out.append(assignment)
    return out


# ---- decision and replay ------------------------------------------------------------------------


@transaction.atomic
def extraction_result_decide(*, acting_user: Any, request: ExtractionRequest) -> ExtractionRequest:
    """The result is decided: publish the seed (anyone can then replay the draw) and the names
    become visible to the bidders (法 Art 37). Until the awards app calls it, staff trigger it."""
    require(acting_user, Permission.EXTRACTION_REQUEST)
    locked = selectors.extraction_for_staff(acting_user, request.pk)
    locked = ExtractionRequest.objects.select_for_update().get(pk=locked.pk)
    if locked.status not in (ExtractionStatus.COMPLETE, ExtractionStatus.EVALUATING):
        raise Conflict(
            "extraction_not_decidable",
            "只有抽取完成或评标中的申请才能公布结果",
            "only a complete or evaluating extraction can have its result decided",
        )
    locked.status = ExtractionStatus.DECIDED
    locked.seed_published_at = clock.now()
    locked.save(update_fields=["status", "seed_published_at"])
    # The secondary-venue draws' seeds are published with the experts' (docs/remote-evaluation.md).
    venue_seeds = [
        {"venue": pk, "round": draw_round, "seed_hex": seed_hex}
        for pk, draw_round, seed_hex in ExtractionVenue.objects.filter(request=locked)
        .exclude(draw_seed_hex="")
        .order_by("pk")
        .values_list("pk", "draw_round", "draw_seed_hex")
    ]
    log_append(
        action=ExtractionAction.DECIDED,
        actor=acting_user,
        obj=locked,
        data={
            "request": locked.pk,
            "seed_hex": locked.seed_hex,
            "seed_sha256": locked.seed_sha256,
            **({"venue_seeds": venue_seeds} if venue_seeds else {}),
        },
    )
    extraction_changed(locked.pk)
    return locked


@dataclass
class ReplayResult:
    ok: bool
    request_id: int
    logged_pool_sha256: str = ""
    logged_seed_sha256: str = ""
    pool_sha256: str = ""
    seed_sha256: str = ""
    pool_matches: bool = False
    seed_matches: bool = False
    draw_matches: bool = False
    problems: list[str] = field(default_factory=list)
    draw: list[dict[str, Any]] = field(default_factory=list)


def commitment_event(request: ExtractionRequest) -> dict[str, Any] | None:
    """The committed hashes as the log holds them (the payload, which the Merkle tree covers)."""
    event = (
        LogEvent.objects.filter(
            action=ExtractionAction.COMMITTED,
            object_type=ExtractionRequest._meta.label_lower,
            object_id=str(request.pk),
        )
        .order_by("-index")
        .first()
    )
    if event is None:
        return None
    payload: dict[str, Any] = json.loads(event.payload)
    return {"index": event.index, **payload.get("data", {})}


def extraction_replay(*, request: ExtractionRequest, seed_hex: str | None = None) -> ReplayResult:
    """Recompute the draw from the stored pools and the seed (the stored one, or ``seed_hex`` as
    published), check both against the logged commitments, and compare with the stored order."""
    result = ReplayResult(ok=False, request_id=request.pk)
    committed = commitment_event(request)
    if committed is None:
        result.problems.append("no commitment for this request in the log (never drawn?)")
        return result
    result.logged_pool_sha256 = str(committed.get("pool_sha256", ""))
    result.logged_seed_sha256 = str(committed.get("seed_sha256", ""))
    try:
        seed = bytes.fromhex(seed_hex if seed_hex is not None else request.seed_hex)
    except ValueError:
        result.problems.append("the seed is not hexadecimal")
        return result
    try:
        demands = list(
            ExtractionDemand.objects.filter(request=request)
            .select_related("venue", "specialty")
            .order_by("pk")
        )
    except ValueError:  # experts.id_lists: bytes no extraction wrote
        result.problems.append("a stored pool cannot be read (not an encoded list of ids)")
        return result
    result.pool_sha256 = pools_sha256(pools_document(request, demands))
    result.seed_sha256 = hashlib.sha256(seed).hexdigest()
    result.pool_matches = hmac.compare_digest(result.pool_sha256, result.logged_pool_sha256)
    result.seed_matches = hmac.compare_digest(result.seed_sha256, result.logged_seed_sha256)
    if not result.pool_matches:
        result.problems.append("the stored pools do not hash to the committed pool hash")
    if not result.seed_matches:
        result.problems.append("the seed does not hash to the committed seed hash (another request's seed?)")
    drawn = draw(
        seed,
        [d.pool for d in demands],
        [(d.count, d.reserves) for d in demands],
        version=request.draw_version,
    )
    stored: dict[int, list[int]] = {d.pk: [] for d in demands}
    for demand_id, expert_id in (
        ExtractionAssignment.objects.filter(request=request)
        .order_by("demand_id", "rank")
        .values_list("demand_id", "expert_id")
    ):
        stored.setdefault(demand_id, []).append(expert_id)
    result.draw_matches = all(stored.get(d.pk) == ids for d, ids in zip(demands, drawn, strict=True)) and set(
        stored
    ) == {d.pk for d in demands}
    if not result.draw_matches:
        result.problems.append("the recomputed draw differs from the recorded assignments")
    result.draw = [
        {"demand": d.pk, "specialty": d.specialty.code, "recomputed": ids, "recorded": stored.get(d.pk, [])}
        for d, ids in zip(demands, drawn, strict=True)
    ]
    result.ok = result.pool_matches and result.seed_matches and result.draw_matches
    return result
