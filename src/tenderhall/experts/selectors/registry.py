"""Reads of the expert database, and the access helpers that fetch and authorize in one call.

Who sees what (法 Art 37: expert identities are secret):

- the database (list, search, detail): extraction staff and supervisors (EXPERT_VIEW_ALL); the
  full ID number only with EXPERT_VIEW_ID (staff), everyone else sees the masked one;
- an expert sees their own profile only (EXPERT_PROFILE_OWN), nobody else's;
- import batches and their reports: staff who manage the database;
- the specialty tree: any signed-in user (it is reference data, no person in it).

Anything a user may not see answers "not found", never "forbidden".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from tenderhall.core.errors import NotAuthenticated, NotFound, ValidationFailed
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.experts.models import (
    BadBehaviourRecord,
    Expert,
    ExpertLeave,
    ExpertRelationship,
    ExpertStatus,
    ImportBatch,
    Specialty,
)

PAGE_SIZE = 50


def sees_full_id(user: Any) -> bool:
    return has_permission(user, Permission.EXPERT_VIEW_ID)


def shown_id_number(user: Any, expert: Expert) -> str:
    return expert.id_number if sees_full_id(user) else expert.id_number_masked


# ---- availability (the semantics extraction relies on) -------------------------------------------


def on_leave_q(day: dt.date, prefix: str = "") -> Q:
    """Experts with a leave covering ``day`` (both ends inclusive)."""
    return Q(**{f"{prefix}leaves__starts_on__lte": day, f"{prefix}leaves__ends_on__gte": day})


def suspended_by_bad_behaviour(day: dt.date) -> Exists:
    """A bad-behaviour record suspends the expert while ``suspended_until >= day``."""
    return Exists(BadBehaviourRecord.objects.filter(expert=OuterRef("pk"), suspended_until__gte=day))


def expert_available_on(expert: Expert, day: dt.date) -> bool:
    """Active, not on leave that day, not suspended by a bad-behaviour record."""
    if expert.status != ExpertStatus.ACTIVE:
        return False
    if expert.leaves.filter(starts_on__lte=day, ends_on__gte=day).exists():
        return False
    return not expert.bad_behaviour.filter(suspended_until__gte=day).exists()


def experts_available_on(day: dt.date) -> QuerySet[Expert]:
    leave = ExpertLeave.objects.filter(expert=OuterRef("pk"), starts_on__lte=day, ends_on__gte=day)
    return (
        Expert.objects.filter(status=ExpertStatus.ACTIVE)
        .exclude(Exists(leave))
        .exclude(suspended_by_bad_behaviour(day))
    )


# ---- the database ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpertFilters:
    q: str = ""  # name, employer, masked ID, or a full ID number / phone (exact)
    status: str = ""
    specialty: str = ""  # a code: matches the node and everything under it
    region: str = ""
    kind: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


def parse_filters(raw: Any) -> ExpertFilters:
    """From a query dict (GET parameters) or a mapping; bad values are refused, not ignored."""

    def get(name: str) -> str:
        return str(raw.get(name) or "").strip()[:100]

    filters = ExpertFilters(
        q=get("q"),
        status=get("status"),
        specialty=get("specialty").upper(),
        region=get("region"),
        kind=get("kind"),
    )
    if filters.status and filters.status not in ExpertStatus.values:
        raise ValidationFailed("expert_status_invalid", "状态无效", "unknown status", fields={"status": ""})
    if filters.kind and filters.kind not in ("technical", "economic"):
        raise ValidationFailed("expert_kind_invalid", "类别无效", "unknown kind", fields={"kind": ""})
    if filters.specialty and not Specialty.objects.filter(code=filters.specialty).exists():
        raise ValidationFailed(
            "specialty_unknown", "未知专业代码", "unknown specialty code", fields={"specialty": ""}
        )
    return filters


def experts_for_user(user: Any, filters: ExpertFilters | None = None) -> QuerySet[Expert]:
    require(user, Permission.EXPERT_VIEW_ALL)
    experts = Expert.objects.prefetch_related("specialties").order_by("pk")
    filters = filters or ExpertFilters()
    if filters.q:
        q = filters.q
        match = Q(name__icontains=q) | Q(employer_name__icontains=q) | Q(id_number_masked=q)
        if sees_full_id(user):
            match |= Q(id_number=q.upper()) | Q(phone=q)
        experts = experts.filter(match)
    if filters.status:
        experts = experts.filter(status=filters.status)
    if filters.kind:
        experts = experts.filter(kind=filters.kind)
    if filters.region:
        experts = experts.filter(region=filters.region)
    if filters.specialty:
        experts = experts.filter(specialties__code__startswith=filters.specialty).distinct()
    return experts


@dataclass(frozen=True)
class ExpertPage:
    experts: list[Expert]
    count: int
    page: int
    pages: int


def expert_page(user: Any, filters: ExpertFilters, page: int = 1) -> ExpertPage:
    experts = experts_for_user(user, filters)
    count = experts.count()
    pages = max(1, -(-count // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = list(experts[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
    return ExpertPage(experts=rows, count=count, page=page, pages=pages)


def expert_for_user(user: Any, pk: int) -> Expert:
    require(user, Permission.EXPERT_VIEW_ALL)
    expert = (
        Expert.objects.select_related("user")
        .prefetch_related("specialties", "leaves", "relationships", "bad_behaviour")
        .filter(pk=pk)
        .first()
    )
    if expert is None:
        raise NotFound("专家", "expert")
    return expert


def own_expert(user: Any) -> Expert:
    """The signed-in expert's own row (EXPERT_PROFILE_OWN); 404 if no expert is linked to them."""
    require(user, Permission.EXPERT_PROFILE_OWN)
    expert = (
        Expert.objects.prefetch_related("specialties", "leaves", "relationships", "bad_behaviour")
        .filter(user=user)
        .first()
    )
    if expert is None:
        raise NotFound("专家档案", "expert profile")
    return expert


def own_leave(user: Any, pk: int) -> ExpertLeave:
    leave = ExpertLeave.objects.select_related("expert").filter(pk=pk, expert=own_expert(user)).first()
    if leave is None:
        raise NotFound("请假", "leave")
    return leave


def own_relationship(user: Any, pk: int) -> ExpertRelationship:
    relationship = (
        ExpertRelationship.objects.select_related("expert").filter(pk=pk, expert=own_expert(user)).first()
    )
    if relationship is None:
        raise NotFound("关系申报", "relationship")
    return relationship


def import_batches_for_user(user: Any) -> QuerySet[ImportBatch]:
    require(user, Permission.EXPERT_MANAGE)
    return ImportBatch.objects.select_related("imported_by").order_by("-imported_at", "-pk")


def import_batch_for_user(user: Any, pk: int) -> ImportBatch:
    batch = import_batches_for_user(user).filter(pk=pk).first()
    if batch is None:
        raise NotFound("导入记录", "import")
    return batch


# ---- the specialty tree ------------------------------------------------------------------------


@dataclass
class SpecialtyNode:
    code: str
    name: str
    active_experts: int  # active experts holding this code, plus the sums of the children
    children: list[SpecialtyNode]


def specialty_tree(user: Any) -> list[SpecialtyNode]:
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    counts = dict(
        Specialty.objects.annotate(
            n=Count("experts", filter=Q(experts__status=ExpertStatus.ACTIVE), distinct=True)
        ).values_list("code", "n")
    )
    nodes = {s.code: SpecialtyNode(s.code, s.name, 0, []) for s in Specialty.objects.order_by("code")}
    parents = dict(Specialty.objects.values_list("code", "parent__code"))
    roots: list[SpecialtyNode] = []
    for code, node in nodes.items():
        parent = parents.get(code)
        (nodes[parent].children if parent in nodes else roots).append(node)

    def total(node: SpecialtyNode) -> int:
        node.active_experts = counts.get(node.code, 0) + sum(total(c) for c in node.children)
        return node.active_experts

    for root in roots:
        total(root)
    return roots


def specialty_codes_under(code: str) -> list[str]:
    """The node and every node below it (codes are prefixes of their children's codes)."""
    return list(Specialty.objects.filter(code__startswith=code).values_list("code", flat=True))
