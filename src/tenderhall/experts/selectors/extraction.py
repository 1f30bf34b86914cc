"""Experts reads: extraction (专家抽取) — the eligible pool per demand, and who may see what.

Secrecy (法 Art 37; issue 6 §5):

- the trading centre's staff who run the project's extractions and supervisors (EXTRACTION_WATCH)
  see who was drawn; every such view is written to the transparency log (no names in it);
- the project's tenderer and agent (EXTRACTION_STATUS_VIEW) see counts and confirmation status,
  and names from the start of the evaluation on;
- the section's bidders see nothing until the result is decided, then the names and the seed;
- an expert sees only their own assignments: time and venue, never the project.

Anything a user may not see answers "not found".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import filterfalse
from typing import Any

from django.db import connections
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from tenderhall.bidding.models import Bid, BidStatus
from tenderhall.core import clock
from tenderhall.core.errors import NotFound
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.core.transparency import log_append
from tenderhall.experts.models import (
    AssignmentStatus,
    BadBehaviourRecord,
    Expert,
    ExpertLeave,
    ExpertRelationship,
    ExpertSpecialty,
    ExpertStatus,
    ExtractionAssignment,
    ExtractionDemand,
    ExtractionRequest,
    ExtractionStatus,
    Specialty,
)
from tenderhall.projects.models import Section, SectionStatus

# Statuses that hold an expert: they count towards the frequency cap and make the expert busy.
HOLDING = (AssignmentStatus.NOTIFIED, AssignmentStatus.ACCEPTED)
# Names are revealed to the tender parties once the evaluation starts, to bidders once decided.
REVEALED_TO_PARTIES = (ExtractionStatus.EVALUATING, ExtractionStatus.DECIDED)
# Bidders become a recusal ground once the bid list is known (the opening took place).
BIDDERS_KNOWN = (
    SectionStatus.OPENING,
    SectionStatus.OPENED,
    SectionStatus.EVALUATING,
    SectionStatus.EVALUATED,
)

DEFAULT_RULES: dict[str, Any] = {
    "frequency_cap": 3,  # at most this many extractions (notified/accepted) ...
    "frequency_days": 30,  # ... in this many days
    "excluded_regions": [],
    "regional_pool": None,  # None: regional pools for remote evaluation only (seed 004)
    "exclude_own_region": False,  # used by the remote flow when drawing secondary venues
}


# ---- the pool -----------------------------------------------------------------------------------


@dataclass
class PoolContext:
    """What every demand of one request filters by."""

    request_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    first_day: dt.date
    last_day: dt.date
    conflict_usccs: list[str]
    frequency_cap: int
    frequency_since: dt.datetime
    excluded_regions: list[str]
    regional_pool: bool


def evaluation_days(request: ExtractionRequest) -> tuple[dt.date, dt.date]:
    first = request.evaluation_starts_at.astimezone(clock.LOCAL_TZ).date()
    last = request.evaluation_ends_at.astimezone(clock.LOCAL_TZ).date()
    return first, last


def conflict_usccs(section: Section) -> list[str]:
    """The organizations an expert must not work for or be related to: the tenderer, the agent and,
    once the bids are known, every bidder of the section (条例 Art 46; 法 Art 37)."""
    project = section.project
    orgs = {project.tenderer.uscc}
    if project.agent is not None:
        orgs.add(project.agent.uscc)
    if section.status in BIDDERS_KNOWN:
        orgs.update(
            Bid.objects.filter(section=section, status=BidStatus.SUBMITTED).values_list(
                "organization__uscc", flat=True
            )
        )
    return sorted(orgs)


def pool_context(request: ExtractionRequest) -> PoolContext:
    rules = {**DEFAULT_RULES, **request.rules}
    first, last = evaluation_days(request)
    regional = rules["regional_pool"]
    return PoolContext(
        request_id=request.pk,
        starts_at=request.evaluation_starts_at,
        ends_at=request.evaluation_ends_at,
        first_day=first,
        last_day=last,
        conflict_usccs=conflict_usccs(request.section),
        frequency_cap=int(rules["frequency_cap"]),
        frequency_since=clock.now() - dt.timedelta(days=int(rules["frequency_days"])),
        excluded_regions=list(rules["excluded_regions"]),
        regional_pool=request.is_remote if regional is None else bool(regional),
    )


def _specialty_children() -> dict[int | None, list[int]]:
    children: dict[int | None, list[int]] = {}
    for pk, parent in Specialty.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    return children


def specialty_subtree(specialty_id: int, children: Mapping[int | None, list[int]] | None = None) -> list[int]:
    """The demanded node and every node below it (a demand for A01 房建 takes A0101 土建 too)."""
    if children is None:
        children = _specialty_children()
    out, todo = [], [specialty_id]
    while todo:
        node = todo.pop()
        out.append(node)
        todo.extend(children.get(node, []))
    return sorted(out)


@dataclass(frozen=True)
class Rule:
    code: str
    zh: str
    en: str
    article: str = ""


# In the order they are applied; the pool-too-small report counts what each one removes.
RULES: tuple[Rule, ...] = (
    Rule("specialty", "专业（含下级专业）", "specialty (with its sub-specialties)"),
    Rule("status", "在库状态", "status active"),
    Rule("excluded_region", "排除地区", "excluded regions"),
    Rule("regional_pool", "副场所在地区专家", "the venue's regional pool", "seed 004"),
    Rule("leave", "评标日请假", "on leave on an evaluation day"),
    Rule("bad_behaviour", "不良行为暂停", "suspended for bad behaviour"),
    Rule(
        "employer",
        "受聘于招标人、代理机构或投标人",
        "employed by the tenderer, agent or a bidder",
        "条例 Art 46",
    ),
    Rule("relationship", "申报的利害关系", "declared relationship", "条例 Art 46"),
    Rule("frequency", "近期抽取次数上限", "recent-frequency cap"),
    Rule("busy", "同一时间已参加其他评标", "already called for an overlapping evaluation"),
)


def _rule_filters(ctx: PoolContext, demand: ExtractionDemand, specialty_ids: Sequence[int]) -> list[Any]:
    """One Q per rule, in RULES order (an always-true Q where a rule does not apply)."""
    through = Expert.specialties.through
    everyone = Q()
    region = demand.venue.centre.region if ctx.regional_pool else ""
    leave = ExpertLeave.objects.filter(
        expert_id=OuterRef("pk"), starts_on__lte=ctx.last_day, ends_on__gte=ctx.first_day
    )
    # A suspension in force on the first evaluation day (suspended while suspended_until ≥ day).
    suspended = BadBehaviourRecord.objects.filter(
        expert_id=OuterRef("pk"), suspended_until__gte=ctx.first_day
    )
    related = ExpertRelationship.objects.filter(
        expert_id=OuterRef("pk"), organization_uscc__in=ctx.conflict_usccs
    )
    over_cap = (
        ExtractionAssignment.objects.filter(status__in=HOLDING, notified_at__gte=ctx.frequency_since)
        .values("expert_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=ctx.frequency_cap)
        .values("expert_id")
    )
    busy = ExtractionAssignment.objects.filter(
        expert_id=OuterRef("pk"),
        status__in=HOLDING,
        request__evaluation_starts_at__lt=ctx.ends_at,
        request__evaluation_ends_at__gt=ctx.starts_at,
    ).exclude(request_id=ctx.request_id)
    return [
        Q(pk__in=through.objects.filter(specialty_id__in=specialty_ids).values("expert_id")),
        Q(status=ExpertStatus.ACTIVE),
        ~Q(region__in=ctx.excluded_regions) if ctx.excluded_regions else everyone,
        Q(region=region) if ctx.regional_pool else everyone,
        ~Exists(leave),
        ~Exists(suspended),
        ~Q(employer_uscc__in=ctx.conflict_usccs),
        ~Exists(related),
        ~Q(pk__in=over_cap),
        ~Exists(busy),
    ]


def excluded_ids(ctx: PoolContext) -> set[int]:
    """Experts barred by the rules that live in small tables (leave, suspension, relationship,
    frequency, busy), fetched once per request: cheaper than a NOT EXISTS per candidate row."""
    return set().union(*_ids_many([(q, "expert_id") for q in _excluded_queries(ctx)]))


def _excluded_queries(ctx: PoolContext) -> list[QuerySet[Any]]:
    # The small-table rules as querysets (``request_pools`` runs them written out: ``_barring_sql``).
    return [
        ExpertLeave.objects.filter(starts_on__lte=ctx.last_day, ends_on__gte=ctx.first_day),
        BadBehaviourRecord.objects.filter(suspended_until__gte=ctx.first_day),
        ExpertRelationship.objects.filter(organization_uscc__in=ctx.conflict_usccs),
        ExtractionAssignment.objects.filter(status__in=HOLDING, notified_at__gte=ctx.frequency_since)
        .values("expert_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=ctx.frequency_cap),
        ExtractionAssignment.objects.filter(
            status__in=HOLDING,
            request__evaluation_starts_at__lt=ctx.ends_at,
            request__evaluation_ends_at__gt=ctx.starts_at,
        ).exclude(request_id=ctx.request_id),
    ]


def demand_pool(ctx: PoolContext, demand: ExtractionDemand, excluded: set[int] | None = None) -> list[int]:
    """The eligible experts' ids, sorted: the row rules in SQL (specialty, status, regions,
    employer), the small-table rules as one excluded set (the same rules as ``demand_report``)."""
    filters = _rule_filters(ctx, demand, specialty_subtree(demand.specialty_id))
    query = Expert.objects.all()
    for index in (0, 1, 2, 3, 6):  # specialty, status, excluded_region, regional_pool, employer
        query = query.filter(filters[index])
    barred = excluded_ids(ctx) if excluded is None else excluded
    return sorted(pk for pk in query.values_list("pk", flat=True) if pk not in barred)


def _ids_many(
    queries: Sequence[tuple[QuerySet[Any], str] | tuple[str, list[Any]]], *, using: str | None = None
) -> list[list[int]]:
    """The values of one integer field per query, in one round trip: each query is a queryset and
    the field to read, or ready SQL and its parameters selecting one column ``id_value_``. The
    database aggregates each into a single value (PostgreSQL an array, SQLite a JSON array), several
    times cheaper to fetch than one row per id — pools are read from thousands of ids. The lists
    come in the order the database read the rows, with any repeats the query has."""
    if not queries:
        return []
    first = queries[0][0]
    connection = connections[using or (first.db if isinstance(first, QuerySet) else "default")]
    compiled: list[tuple[str, Sequence[Any]]] = []
    for query, arg in queries:
        if isinstance(query, str):
            compiled.append((query, arg))
        else:
            field = F(str(arg))
            compiled.append(
                query.annotate(id_value_=field).values_list("id_value_").order_by().query.sql_with_params()
            )
    aggregate = {"postgresql": "array_agg", "sqlite": "json_group_array"}.get(connection.vendor)
    with connection.cursor() as cursor:
        if aggregate is None:  # another backend: one plain query each
            out = []
            for sql, params in compiled:
                cursor.execute(sql, params)
                out.append([row[0] for row in cursor.fetchall()])
            return out
        # Each ``sql`` is the ORM's own compiled query or ``_link_range``'s; the values stay parameters.
        columns = ", ".join(
            f"(SELECT {aggregate}(q.id_value_) FROM ({sql}) AS q)"  # noqa: S608
            for sql, _ in compiled
        )
        cursor.execute(f"SELECT {columns}", [p for _, params in compiled for p in params])
        row = cursor.fetchone()
    if connection.vendor == "postgresql":
        return [value or [] for value in row]
    return [json.loads(value) for value in row]


def _link_range(
    tree: Sequence[int], region: str | None, excluded_regions: Sequence[str], *, using: str
) -> tuple[str, list[Any]]:
    """The ids of the active experts linked to a specialty of ``tree`` (in ``region``, or in none of
    ``excluded_regions``): the query ``ExpertSpecialty.objects.filter(status=ACTIVE,
    specialty_id__in=tree, region=region)`` would compile to, written out (one range of the
    (specialty, status, region, expert) index; the ORM's query building costs more than the range
    itself for the small ones)."""
    quote = connections[using].ops.quote_name
    meta: Any = ExpertSpecialty._meta
    column = {
        name: quote(meta.get_field(name).column) for name in ("expert", "specialty", "status", "region")
    }
    marks = ", ".join(["%s"] * len(tree))
    sql = (
        f"SELECT {column['expert']} AS id_value_ FROM {quote(meta.db_table)} "  # noqa: S608
        f"WHERE {column['status']} = %s AND {column['specialty']} IN ({marks})"
    )
    params: list[Any] = [str(ExpertStatus.ACTIVE), *tree]
    if region is not None:
        sql += f" AND {column['region']} = %s"
        params.append(region)
    elif excluded_regions:
        sql += f" AND NOT ({column['region']} IN ({', '.join(['%s'] * len(excluded_regions))}))"
        params.extend(excluded_regions)
    return sql, params


def _barring_sql(ctx: PoolContext, *, using: str) -> list[tuple[str, list[Any]]]:
    """The experts barred by the small-table rules and by the employer rule, one query each: what
    ``_excluded_queries(ctx)`` and ``Expert.objects.filter(employer_uscc__in=ctx.conflict_usccs)``
    compile to, written out — building and compiling the six querysets cost more than running
    them. Tests hold both equal."""
    ops = connections[using].ops
    quote = ops.quote_name

    def table(model: Any) -> str:
        return quote(model._meta.db_table)

    def col(model: Any, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    def marks(values: Sequence[Any]) -> str:
        return ", ".join(["%s"] * len(values))

    first_day, last_day = ops.adapt_datefield_value(ctx.first_day), ops.adapt_datefield_value(ctx.last_day)
    holding = [str(status) for status in HOLDING]
    leave, bad, rel, assignment, req = (
        ExpertLeave,
        BadBehaviourRecord,
        ExpertRelationship,
        ExtractionAssignment,
        ExtractionRequest,
    )
    out: list[tuple[str, list[Any]]] = [
        (
            f"SELECT {col(leave, 'expert')} AS id_value_ FROM {table(leave)} "  # noqa: S608
            f"WHERE {col(leave, 'starts_on')} <= %s AND {col(leave, 'ends_on')} >= %s",
            [last_day, first_day],
        ),
        (
            f"SELECT {col(bad, 'expert')} AS id_value_ FROM {table(bad)} "  # noqa: S608
            f"WHERE {col(bad, 'suspended_until')} >= %s",
            [first_day],
        ),
        (  # the frequency cap
            f"SELECT {col(assignment, 'expert')} AS id_value_ FROM {table(assignment)} "  # noqa: S608
            f"WHERE {col(assignment, 'status')} IN ({marks(holding)}) AND {col(assignment, 'notified_at')} >= %s "
            f"GROUP BY {col(assignment, 'expert')} HAVING COUNT(*) >= %s",
            [*holding, ops.adapt_datetimefield_value(ctx.frequency_since), ctx.frequency_cap],
        ),
        (  # busy: called for another request whose evaluation overlaps
            f"SELECT a.{col(assignment, 'expert')} AS id_value_ FROM {table(assignment)} a "  # noqa: S608
            f"INNER JOIN {table(req)} r ON a.{col(assignment, 'request')} = r.{col(req, 'id')} "
            f"WHERE a.{col(assignment, 'status')} IN ({marks(holding)}) "
            f"AND r.{col(req, 'evaluation_starts_at')} < %s AND r.{col(req, 'evaluation_ends_at')} > %s "
            f"AND a.{col(assignment, 'request')} <> %s",
            [
                *holding,
                ops.adapt_datetimefield_value(ctx.ends_at),
                ops.adapt_datetimefield_value(ctx.starts_at),
                ctx.request_id,
            ],
        ),
    ]
    if ctx.conflict_usccs:  # always: the tenderer at least
        usccs = list(ctx.conflict_usccs)
        out.append(
            (
                f"SELECT {col(rel, 'expert')} AS id_value_ FROM {table(rel)} "  # noqa: S608
                f"WHERE {col(rel, 'organization_uscc')} IN ({marks(usccs)})",
                usccs,
            )
        )
        out.append(
            (
                f"SELECT {col(Expert, 'id')} AS id_value_ FROM {table(Expert)} "  # noqa: S608
                f"WHERE {col(Expert, 'employer_uscc')} IN ({marks(usccs)})",
                usccs,
            )
        )
    return out


def request_pools(ctx: PoolContext, demands: Sequence[ExtractionDemand]) -> list[list[int]]:
    """Every demand's eligible pool (sorted ids) with the rules of ``demand_report``, computed for
    the whole request at once.

    The row rules specialty, status, excluded regions and regional pool are one range each of the
    link table's (specialty, status, region, expert) index, covering (``ExpertSpecialty`` carries
    copies of the expert's region and status): a pool reads about its own size, once per distinct
    (subtree, region), fetched as one aggregated value. The employer rule (条例 Art 46) and the
    small-table rules (leave, suspension, relationship, frequency, busy) are one excluded set,
    filtered out of each range; a range of one specialty comes in id order (the index's) and holds
    each expert once, so the filter keeps it sorted and ``sorted`` only checks it. Those queries are
    written out as SQL (``_barring_sql``, ``_link_range``): building and compiling a dozen
    querysets cost more than running them. Tests hold this equal to the rule-by-rule definition
    on ``Expert``, and the written-out queries to their querysets."""
    children = _specialty_children()
    subtrees = [tuple(specialty_subtree(d.specialty_id, children)) for d in demands]
    regions: list[str | None] = [d.venue.centre.region if ctx.regional_pool else None for d in demands]
    # Every id set of the request in one round trip: the small-table rules, the employers (条例
    # Art 46: a few hundred experts at most, by the employer_uscc index), one link range per
    # distinct (subtree, region); an excluded region's pools are empty.
    using = Expert.objects.db
    barring = _barring_sql(ctx, using=using)
    wanted = sorted(
        {p for p in zip(subtrees, regions, strict=True) if p[1] is None or p[1] not in ctx.excluded_regions},
        key=repr,
    )
    fetched = _ids_many(
        barring + [_link_range(tree, region, ctx.excluded_regions, using=using) for tree, region in wanted],
        using=using,
    )
    barred = set().union(*fetched[: len(barring)])
    found: dict[tuple[tuple[int, ...], str | None], list[int]] = dict(
        zip(wanted, fetched[len(barring) :], strict=True)
    )
    pools: dict[tuple[tuple[int, ...], str | None], list[int]] = {}
    for key in wanted:
        ids = found[key]
        if len(key[0]) == 1:  # one link per expert and specialty: no repeats
            pools[key] = sorted(filterfalse(barred.__contains__, ids))
        else:  # an expert may hold several specialties of the subtree
            pools[key] = sorted(set(ids).difference(barred))
    out: list[list[int]] = []
    for key in zip(subtrees, regions, strict=True):
        pool = pools.get(key, [])
        out.append(list(pool) if any(pool is other for other in out) else pool)
    return out


def demand_report(ctx: PoolContext, demand: ExtractionDemand) -> dict[str, Any]:
    """How many experts remain after each rule, applied in order (the pool-too-small report)."""
    filters = _rule_filters(ctx, demand, specialty_subtree(demand.specialty_id))
    query = Expert.objects.all()
    steps = []
    before = None
    for rule, q in zip(RULES, filters, strict=True):
        query = query.filter(q)
        remaining = query.count()
        steps.append(
            {
                "rule": rule.code,
                "zh": rule.zh,
                "en": rule.en,
                "excluded": 0 if before is None else before - remaining,
                "remaining": remaining,
            }
        )
        before = remaining
    return {
        "demand": demand.pk,
        "venue": demand.venue.centre.name,
        "specialty": demand.specialty.code,
        "count": demand.count,
        "reserves": demand.reserves,
        "eligible": before or 0,
        "steps": steps,
    }


# ---- access -------------------------------------------------------------------------------------


def _is_centre_staff(user: Any, request: ExtractionRequest) -> bool:
    return (
        has_permission(user, Permission.EXTRACTION_REQUEST)
        and user.organization_id is not None
        and user.organization_id == request.section.project.centre_id
    )


def sees_identities(user: Any, request: ExtractionRequest) -> bool:
    """Who was drawn: the project's centre staff and supervisors; the tender parties once the
    evaluation started; the section's bidders once the result is decided (法 Art 37)."""
    if has_permission(user, Permission.EXTRACTION_WATCH):
        if _is_centre_staff(user, request) or not has_permission(user, Permission.EXTRACTION_REQUEST):
            return True  # staff of another centre see no identities here; supervisors see all
    if request.status in REVEALED_TO_PARTIES and _is_tender_party(user, request):
        return True
    return request.status == ExtractionStatus.DECIDED and _is_bidder(user, request)


def sees_seed(user: Any, request: ExtractionRequest) -> bool:
    """The seed: after the decision anyone who may see the request; before it supervisors and
    operators only (EXTRACTION_SEED_VIEW)."""
    return request.status == ExtractionStatus.DECIDED or has_permission(user, Permission.EXTRACTION_SEED_VIEW)


def _is_tender_party(user: Any, request: ExtractionRequest) -> bool:
    project = request.section.project
    return has_permission(user, Permission.EXTRACTION_STATUS_VIEW) and user.organization_id in (
        project.tenderer_id,
        project.agent_id,
    )


def _is_bidder(user: Any, request: ExtractionRequest) -> bool:
    org = getattr(user, "organization_id", None)
    return (
        org is not None
        and getattr(user, "role", "") == "bidder"
        and Bid.objects.filter(section_id=request.section_id, organization_id=org).exists()
    )


def _may_see_request(user: Any, request: ExtractionRequest) -> bool:
    if has_permission(user, Permission.EXTRACTION_WATCH) and not has_permission(
        user, Permission.EXTRACTION_REQUEST
    ):
        return True  # supervisors
    if _is_centre_staff(user, request) or _is_tender_party(user, request):
        return True
    if has_permission(user, Permission.EXTRACTION_SEED_VIEW):
        return True  # operators: the commitments and the seed, no identities
    return request.status == ExtractionStatus.DECIDED and _is_bidder(user, request)


def _base() -> QuerySet[ExtractionRequest]:
    return ExtractionRequest.objects.select_related(
        "section__project__tenderer", "section__project__agent", "section__project__centre", "requested_by"
    )


def extraction_for_user(user: Any, pk: int) -> ExtractionRequest:
    if user is None or not getattr(user, "is_authenticated", False):
        require(user, Permission.EXTRACTION_STATUS_VIEW)  # 401
    request = _base().filter(pk=pk).first()
    if request is None or not _may_see_request(user, request):
        raise NotFound("抽取申请", "extraction request")
    return request


def extraction_for_staff(user: Any, pk: int) -> ExtractionRequest:
    """For writes by the project's trading-centre staff (EXTRACTION_REQUEST)."""
    require(user, Permission.EXTRACTION_REQUEST)
    request = _base().filter(pk=pk).first()
    if request is None or not _is_centre_staff(user, request):
        raise NotFound("抽取申请", "extraction request")
    return request


def extractions_for_user(user: Any) -> QuerySet[ExtractionRequest]:
    """The list page: staff their centre's, supervisors all, tender parties their projects'."""
    if has_permission(user, Permission.EXTRACTION_WATCH) and not has_permission(
        user, Permission.EXTRACTION_REQUEST
    ):
        return _base().all()
    if has_permission(user, Permission.EXTRACTION_REQUEST):
        return _base().filter(section__project__centre_id=user.organization_id)
    require(user, Permission.EXTRACTION_STATUS_VIEW)
    org = user.organization_id
    return _base().filter(Q(section__project__tenderer_id=org) | Q(section__project__agent_id=org))


def sections_for_extraction(user: Any) -> QuerySet[Section]:
    require(user, Permission.EXTRACTION_REQUEST)
    return (
        Section.objects.select_related("project")
        .filter(project__centre_id=user.organization_id)
        .exclude(status__in=[SectionStatus.DRAFT, SectionStatus.REGISTERED])
        .exclude(status__in=[SectionStatus.FAILED, SectionStatus.TERMINATED, SectionStatus.ARCHIVED])
    )


def section_for_extraction(user: Any, pk: int) -> Section:
    section = sections_for_extraction(user).filter(pk=pk).first()
    if section is None:
        raise NotFound("标段", "section")
    return section


# ---- what a page or the API shows ---------------------------------------------------------------


@dataclass
class DemandView:
    id: int
    venue: str
    venue_role: str
    specialty: str
    count: int
    reserves: int
    pool_size: int
    accepted: int
    notified: int
    declined: int
    reserves_left: int
    experts: list[dict[str, Any]] = field(default_factory=list)  # only when identities are shown


@dataclass
class ExtractionView:
    request: ExtractionRequest
    identities: bool
    seed_visible: bool
    demands: list[DemandView]
    failure: Mapping[str, Any]

    @property
    def complete(self) -> bool:
        return self.request.status == ExtractionStatus.COMPLETE


def extraction_view(user: Any, request: ExtractionRequest, *, log_view: bool = True) -> ExtractionView:
    """The request as this user may see it; a view that shows identities is logged (the live
    consumer passes ``log_view=False`` and logs once per connection itself)."""
    identities = sees_identities(user, request)
    demands = list(
        ExtractionDemand.objects.filter(request=request)
        .select_related("venue__centre", "specialty")
        .order_by("pk")
    )
    assignments = list(
        ExtractionAssignment.objects.filter(request=request)
        .select_related("expert")
        .order_by("demand_id", "rank")
    )
    out = []
    shown = 0
    for demand in demands:
        mine = [a for a in assignments if a.demand_id == demand.pk]
        view = DemandView(
            id=demand.pk,
            # 四不知: a secondary venue is named by its centre; the alias is for that centre's staff.
            venue=demand.venue.centre.name,
            venue_role=demand.venue.role,
            specialty=f"{demand.specialty.code} {demand.specialty.name}",
            count=demand.count,
            reserves=demand.reserves,
            pool_size=len(demand.pool)
            if identities or has_permission(user, Permission.EXTRACTION_SEED_VIEW)
            else 0,
            accepted=sum(1 for a in mine if a.status == AssignmentStatus.ACCEPTED),
            notified=sum(1 for a in mine if a.status == AssignmentStatus.NOTIFIED),
            declined=sum(
                1 for a in mine if a.status in (AssignmentStatus.DECLINED, AssignmentStatus.TIMED_OUT)
            ),
            reserves_left=sum(1 for a in mine if a.status == AssignmentStatus.RESERVE),
        )
        if identities:
            view.experts = [
                {
                    "assignment": a.pk,
                    "rank": a.rank,
                    "expert_id": a.expert_id,
                    "name": a.expert.name,
                    "employer": a.expert.employer_name,
                    "kind": a.expert.kind,
                    "status": a.status,
                    "status_display": a.get_status_display(),
                    "notified_at": a.notified_at,
                    "reply_due_at": a.reply_due_at,
                    "replied_at": a.replied_at,
                    "reply_channel": a.reply_channel,
                    "reason": a.reason,
                }
                for a in mine
            ]
            shown += len(mine)
        out.append(view)
    if identities and shown and log_view:
        # issue 6 §5: every view of an expert list is in the log (counts only, no names).
        log_append(
            action="experts.extraction.list_viewed",
            actor=user,
            obj=request,
            data={"request": request.pk, "experts_shown": shown, "status": request.status},
        )
    return ExtractionView(
        request=request,
        identities=identities,
        seed_visible=sees_seed(user, request),
        demands=out,
        failure=request.failure,  # counts per rule, never names
    )


# ---- the expert's own assignments ---------------------------------------------------------------


def expert_of(user: Any) -> Expert:
    require(user, Permission.COMMITTEE_SIT)
    expert = Expert.objects.filter(user=user).first()
    if expert is None:
        raise NotFound("专家档案", "expert profile")
    return expert


def assignments_for_expert(user: Any) -> QuerySet[ExtractionAssignment]:
    """An expert's own assignments (called, answered); reserves not yet called stay unknown to them."""
    expert = expert_of(user)
    return (
        ExtractionAssignment.objects.filter(expert=expert)
        .exclude(status=AssignmentStatus.RESERVE)
        .select_related("request", "demand__venue__centre", "demand__venue__room")
        .order_by("-notified_at", "-pk")
    )


def assignment_for_expert(user: Any, pk: int) -> ExtractionAssignment:
    assignment = assignments_for_expert(user).filter(pk=pk).first()
    if assignment is None:
        raise NotFound("抽取通知", "assignment")
    return assignment


def assignment_by_token(token: str) -> ExtractionAssignment:
    """The one-time link: the token is stored hashed."""
    from tenderhall.core.canonical import sha256_hex

    if not token or len(token) > 100:
        raise NotFound("抽取通知", "assignment")
    assignment = (
        ExtractionAssignment.objects.filter(reply_code_sha256=sha256_hex(token))
        .select_related("request", "expert", "demand__venue__centre", "demand__venue__room")
        .first()
    )
    if assignment is None:
        raise NotFound("抽取通知", "assignment")
    return assignment


def venue_label(assignment: ExtractionAssignment) -> str:
    """What the expert is told: the centre (and room once known), never the project."""
    venue = assignment.demand.venue
    room = f" · {venue.room.name}" if venue.room_id and venue.room is not None else ""
    return f"{venue.centre.name}{room}"
