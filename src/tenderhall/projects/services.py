"""Every write of the projects app: keyword-only, typed, atomic, audited (DESIGN §3, §7).

Registration (项目登记, 朝阳市公共资源交易平台服务标准 §6.2): the tenderer or its agent registers
a project with its sections, uploads the documents of the category's checklist (§6.2.2) and
submits; trading-centre staff return it once with everything that is missing (一次性告知, §6.2.3)
or confirm it the same day (§6.2.4) and name the staff member responsible for it (§6.2.5).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import IO, Any

from django.core.files import File
from django.db import transaction
from django.db.models import Max

from tenderhall.accounts.models import Organization, OrganizationKind, Role, User
from tenderhall.core import clock
from tenderhall.core.blobs import clean_filename, safe_extension, store_hashed
from tenderhall.core.canonical import sha256_hex
from tenderhall.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from tenderhall.core.models import NotificationChannel
from tenderhall.core.money import CENT, format_yuan, parse_yuan
from tenderhall.core.notifications import notification_enqueue
from tenderhall.core.permissions import Permission, require
from tenderhall.core.transparency import EventSpec, log_append, log_append_many
from tenderhall.projects import selectors
from tenderhall.projects.events import ProjectsAction
from tenderhall.projects.models import (
    Category,
    ChecklistItem,
    EvaluationMethod,
    Procedure,
    Project,
    ProjectDocument,
    ProjectReview,
    ProjectStatus,
    ReviewDecision,
    Section,
    SectionCustodian,
    SectionStatus,
)

STANDARD = "朝阳市公共资源交易平台服务标准"
ONE_TIME_NOTICE = f"{STANDARD} 6.2.3"
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
BOND_LIMIT_PERCENT = Decimal(2)  # 条例 Art 26: 投标保证金不得超过招标项目估算价的2%
MAX_AMOUNT = Decimal("100000000000000")  # the columns hold 14 integer digits
WEIGHT_KEYS = ("price", "technical", "business")
DEFAULT_THRESHOLD = 2


class _Unset:
    """Marks an argument the caller did not give (``None`` may be a real value, e.g. no agent)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class SectionSpec:
    """One section (标段/包) as the registering party describes it. ``custodians`` None means
    ``default_custodians(project)``."""

    name: str
    estimated_price: str | int | Decimal
    bond_amount: str | int | Decimal
    evaluation_method: str
    evaluation_params: Mapping[str, Any] = field(default_factory=dict)
    custodians: Sequence[User | int] | None = None
    custodian_threshold: int = DEFAULT_THRESHOLD


# ---- small checks -------------------------------------------------------------------------------


def _section_error(error: DomainError, index: int | None, name: str) -> DomainError:
    """Say which section a refusal is about (a form with five sections needs to know)."""
    if index is None:
        return error
    label = name or f"#{index + 1}"
    error.message_zh = f"标段“{label}”：{error.message_zh}"
    error.message_en = f"section {label}: {error.message_en}"
    error.extra = {**error.extra, "section_index": index}
    return error


def _text(value: str | None, *, field: str, max_length: int, zh: str, en: str, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(f"{field}_required", f"请填写{zh}", f"{en} is required", fields={field: ""})
    if len(text) > max_length:
        raise ValidationFailed(
            f"{field}_too_long",
            f"{zh}最多 {max_length} 个字",
            f"{en} has at most {max_length} characters",
            fields={field: ""},
        )
    return text


def _choice(value: str, choices: Any, *, field: str, zh: str, en: str) -> str:
    if value not in choices.values:
        raise ValidationFailed(
            f"{field}_invalid", f"{zh}无效：{value}", f"unknown {en}: {value}", fields={field: ""}
        )
    return value


def _organization(
    value: Organization | int | None, kind: str, *, field: str, zh: str, en: str
) -> Organization:
    pk = value.pk if isinstance(value, Organization) else value
    org = Organization.objects.filter(pk=pk, is_active=True).first() if isinstance(pk, int) else None
    if org is None or org.kind != kind:
        raise ValidationFailed(
            f"{field}_invalid",
            f"{zh}不存在或不是{OrganizationKind(kind).label}",
            f"the {en} does not exist or is not of kind {kind}",
            fields={field: ""},
        )
    return org


def _centre(value: Organization | int | None) -> Organization:
    if value is not None:
        return _organization(
            value, OrganizationKind.TRADING_CENTRE, field="centre", zh="交易中心", en="trading centre"
        )
    centres = list(selectors.organizations_of_kind(OrganizationKind.TRADING_CENTRE)[:2])
    if len(centres) != 1:
        raise ValidationFailed(
            "centre_required",
            "请选择交易中心" if centres else "平台尚未登记交易中心",
            "choose the trading centre" if centres else "no trading centre is registered",
            fields={"centre": ""},
        )
    return centres[0]


def _check_party(acting_user: User, tenderer: Organization, agent: Organization | None) -> None:
    if acting_user.organization_id not in (tenderer.pk, agent.pk if agent else None):
        raise DomainError(
            "not_a_party",
            "只能登记本单位作为招标人或招标代理机构的项目",
            "you may register only projects your organization is the tenderer or the agent of",
            status=403,
            fields={"tenderer": ""},
        )


def _lock_project(project: Project) -> Project:
    return (
        Project.objects.select_for_update(of=("self",))
        .select_related("tenderer", "agent", "centre")
        .get(pk=project.pk)
    )


def _require_party(acting_user: User, project: Project) -> None:
    require(acting_user, Permission.PROJECT_CREATE)
    if not selectors.is_party(acting_user, project):
        raise NotFound("项目", "project")  # outside the user's scope: never confirm it exists


def _require_editable(project: Project) -> None:
    if not project.can_edit():
        raise Conflict(
            "project_not_editable",
            f"项目状态为“{project.get_status_display()}”，只有草稿或退回补正的项目可以修改",
            f"the project is {project.status}; only a draft or returned project can be changed",
        )


def _require_reviewer(acting_user: User, project: Project) -> None:
    require(acting_user, Permission.PROJECT_REVIEW)
    if acting_user.organization_id != project.centre_id:
        raise PermissionDenied(str(Permission.PROJECT_REVIEW))  # staff of another centre


# ---- money and evaluation parameters ------------------------------------------------------------


def _amount(value: str | int | Decimal, *, field: str, zh: str, en: str, positive: bool) -> Decimal:
    amount = parse_yuan(value, field=field)
    if amount < 0 or (positive and amount == 0) or amount >= MAX_AMOUNT:
        raise ValidationFailed(
            f"{field}_invalid",
            f"{zh}须{'大于' if positive else '不小于'} 0 且小于一百万亿元：{value}",
            f"the {en} must be {'above' if positive else 'at least'} 0 and below 10^14 yuan: {value}",
            fields={field: ""},
        )
    return amount


def bond_limit(estimated_price: Decimal) -> Decimal:
    """条例 Art 26: the bid bond may not exceed 2% of the estimated price (exact, no rounding)."""
    return estimated_price * BOND_LIMIT_PERCENT / Decimal(100)


def _check_bond(bond: Decimal, estimated_price: Decimal, category: str) -> None:
    limit = bond_limit(estimated_price)
    if bond > limit:
        article = "条例 Art 26"
        if category == Category.GOVERNMENT_PROCUREMENT:
            article += " / 政府采购法实施条例 Art 33"
        most = format_yuan(limit.quantize(CENT, rounding=ROUND_DOWN))
        raise ValidationFailed(
            "bond_above_limit",
            f"投标保证金 {format_yuan(bond)} 超过估算价 {format_yuan(estimated_price)} 的 2%（最多 {most}）",
            f"the bid bond {format_yuan(bond)} exceeds 2% of the estimated price "
            f"{format_yuan(estimated_price)} (at most {most})",
            article=article,
            fields={"bond_amount": ""},
        )


def _params_error(zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(
        "evaluation_params_invalid",
        f"评标办法参数不正确：{zh}",
        f"invalid evaluation parameters: {en}",
        fields={"evaluation_params": ""},
    )


def _decimal_param(value: Any, name: str) -> Decimal:
    # Parameters are exact decimals written as strings ("0.95"), never floats.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _params_error(
            f'{name} 须写成字符串形式的数字，如 "0.95"', f'{name} must be a decimal string such as "0.95"'
        )
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number.as_tuple().exponent < -4:  # type: ignore[operator]
        raise _params_error(
            f"{name} 不是数字或超过 4 位小数：{value}",
            f"{name} is not a number with at most 4 decimals: {value}",
        )
    return number


def clean_evaluation_params(method: str, params: Any) -> dict[str, Any]:
    """Validate the evaluation method's parameters now; evaluation uses them later.

    comprehensive → {"weights": {"price", "technical", "business"}} summing to 100;
    benchmark_price → {"k_min", "k_max"} with 0 < k_min ≤ k_max ≤ 1 (K is drawn at opening);
    lowest_evaluated_price → {}."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise _params_error("须为对象", "must be an object")
    if method == EvaluationMethod.COMPREHENSIVE:
        weights = params.get("weights")
        if set(params) != {"weights"} or not isinstance(weights, Mapping) or set(weights) != set(WEIGHT_KEYS):
            raise _params_error(
                "综合评估法须给出 weights：price、technical、business 三项权重",
                'the comprehensive method needs "weights" with exactly "price", "technical" and "business"',
            )
        values = {key: _decimal_param(weights[key], f"weights.{key}") for key in WEIGHT_KEYS}
        if any(not 0 <= v <= 100 for v in values.values()) or sum(values.values()) != 100:
            total = sum(values.values())
            raise _params_error(
                f"各项权重须在 0 至 100 之间且合计为 100（现为 {total}）",
                f"each weight must be 0 to 100 and together they must be 100 (now {total})",
            )
        return {"weights": {key: str(values[key]) for key in WEIGHT_KEYS}}
    if method == EvaluationMethod.BENCHMARK_PRICE:
        if set(params) != {"k_min", "k_max"}:
            raise _params_error(
                "基准价法须给出 k_min 和 k_max（开标时在其间抽取 K 值）",
                'the benchmark-price method needs "k_min" and "k_max" (K is drawn between them at opening)',
            )
        k_min = _decimal_param(params["k_min"], "k_min")
        k_max = _decimal_param(params["k_max"], "k_max")
        if not Decimal(0) < k_min <= k_max <= Decimal(1):
            raise _params_error(
                f"须 0 < k_min ≤ k_max ≤ 1（现为 {k_min}、{k_max}）",
                f"need 0 < k_min ≤ k_max ≤ 1 (got {k_min}, {k_max})",
            )
        return {"k_min": str(k_min), "k_max": str(k_max)}
    if params:
        raise _params_error(
            "经评审的最低投标价法没有参数", "the lowest-evaluated-price method takes no parameters"
        )
    return {}


@dataclass(frozen=True)
class _SectionValues:
    name: str
    estimated_price: Decimal
    bond_amount: Decimal
    evaluation_method: str
    evaluation_params: dict[str, Any]


def _clean_section(
    *,
    category: str,
    name: str,
    estimated_price: str | int | Decimal,
    bond_amount: str | int | Decimal,
    evaluation_method: str,
    evaluation_params: Any,
    index: int | None = None,
) -> _SectionValues:
    try:
        clean_name = _text(
            name, field="name", max_length=200, zh="标段名称", en="the section name", required=True
        )
        price = _amount(
            estimated_price, field="estimated_price", zh="估算价", en="estimated price", positive=True
        )
        bond = _amount(bond_amount, field="bond_amount", zh="投标保证金", en="bid bond", positive=False)
        _check_bond(bond, price, category)
        method = _choice(
            evaluation_method,
            EvaluationMethod,
            field="evaluation_method",
            zh="评标办法",
            en="evaluation method",
        )
        params = clean_evaluation_params(method, evaluation_params)
    except DomainError as error:
        raise _section_error(error, index, (name or "").strip()) from None
    return _SectionValues(clean_name, price, bond, method, params)


# ---- opening-key custodians (DESIGN §4) ---------------------------------------------------------


def _prefer_certified(users: Sequence[User], first: User | None = None) -> User | None:
    # ``first`` (the acting user, the responsible staff member) if certified, else anyone certified,
    # else ``first`` or the first candidate, whose missing certificate the caller then names.
    candidates = ([first] if first is not None and first in users else []) + [u for u in users if u != first]
    for user in candidates:
        if selectors.encryption_certificate_for(user) is not None:
            return user
    return candidates[0] if candidates else None


def default_custodians(project: Project, *, acting_user: User | None = None) -> list[User]:
    """DESIGN §4 default: one person of the agent (of the tenderer when there is none), one
    staff member of the centre (the responsible one once named) and one supervisor. Among several
    candidates, the acting user, then someone with an encryption certificate, is preferred."""
    party_org = project.agent_id or project.tenderer_id
    party = list(
        User.objects.filter(
            organization_id=party_org, role__in=[Role.AGENT, Role.TENDERER], is_active=True
        ).order_by("pk")
    )
    staff = list(selectors.centre_staff(project.centre_id))
    supervisors = list(
        User.objects.filter(
            role=Role.SUPERVISOR, is_active=True, organization__kind=OrganizationKind.SUPERVISOR
        ).order_by("pk")
    )
    picked = [
        ("代理机构或招标人", "agent or tenderer", _prefer_certified(party, acting_user)),
        (
            "交易中心工作人员",
            "trading-centre staff member",
            _prefer_certified(staff, project.responsible_staff),
        ),
        ("监管人员", "supervisor", _prefer_certified(supervisors)),
    ]
    for zh, en, user in picked:
        if user is None:
            raise ValidationFailed(
                "default_custodian_missing",
                f"没有可作为开标密钥保管人的{zh}，请指定保管人",
                f"there is no {en} to hold a share of the opening key; name the custodians",
                fields={"custodians": ""},
            )
    return [user for _, _, user in picked if user is not None]


def _user_label(user: User) -> str:
    return f"{user.display_name or user.username}（{user.username}）"


def _clean_custodians(
    project: Project,
    custodians: Sequence[User | int] | None,
    threshold: int,
    *,
    acting_user: User | None = None,
) -> tuple[list[User], int]:
    if custodians is None:
        users = default_custodians(project, acting_user=acting_user)
    else:
        ids = [c.pk if isinstance(c, User) else c for c in custodians]
        if len(set(ids)) != len(ids):
            raise ValidationFailed(
                "custodian_duplicate",
                "同一人不能持有两份密钥分片",
                "a person cannot hold two shares of the key",
                fields={"custodians": ""},
            )
        found = {u.pk: u for u in User.objects.filter(pk__in=[i for i in ids if isinstance(i, int)])}
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationFailed(
                "custodian_invalid",
                f"密钥保管人不存在：{missing}",
                f"no such custodian: {missing}",
                fields={"custodians": ""},
            )
        users = [found[i] for i in ids]
        eligible = set(
            selectors.eligible_custodians(
                tenderer_id=project.tenderer_id, agent_id=project.agent_id, centre_id=project.centre_id
            ).values_list("pk", flat=True)
        )
        for user in users:
            if user.pk not in eligible:
                raise ValidationFailed(
                    "custodian_not_eligible",
                    f"{_user_label(user)} 不能保管开标密钥：保管人须为本项目招标人或代理机构、交易中心工作人员或监管人员",
                    f"{user.username} cannot hold the opening key: custodians are the project's tenderer "
                    "or agent, trading-centre staff or supervisors",
                    fields={"custodians": ""},
                )
    n = len(users)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or n < 2 or not 2 <= threshold <= n:
        raise ValidationFailed(
            "custodian_threshold_invalid",
            f"开标密钥须由至少 2 名保管人持有，且门限 k 须满足 2 ≤ k ≤ n（现 n={n}，k={threshold}）",
            f"the opening key needs n ≥ 2 custodians and a threshold 2 ≤ k ≤ n (n={n}, k={threshold})",
            fields={"custodian_threshold": ""},
        )
    _check_encryption_certificates(users)
    return users, threshold


def _check_encryption_certificates(users: Sequence[User]) -> None:
    for user in users:
        if selectors.encryption_certificate_for(user) is None:
            # DESIGN §4: each share of the opening key is encrypted to its custodian's encryption key.
            raise ValidationFailed(
                "custodian_no_encryption_certificate",
                f"密钥保管人 {_user_label(user)} 没有有效的已登记加密证书：开标密钥分片须加密给保管人的加密证书",
                f"custodian {user.username} holds no active registered encryption certificate; each share "
                "of the opening key is encrypted to its custodian's encryption key",
                fields={"custodians": ""},
                extra={"custodian": user.username},
            )


def _set_custodians(section: Section, users: Sequence[User]) -> None:
    section.custodians.all().delete()
    SectionCustodian.objects.bulk_create(
        [SectionCustodian(section=section, user=user, order=i) for i, user in enumerate(users, start=1)]
    )


def _section_data(section: Section, custodians: Sequence[User]) -> dict[str, Any]:
    return {
        "project": section.project.code,
        "section": section.code,
        "name": section.name,
        "estimated_price": section.estimated_price,
        "bond_amount": section.bond_amount,
        "evaluation_method": section.evaluation_method,
        "evaluation_params": section.evaluation_params,
        "custodians": [u.username for u in custodians],
        "custodian_threshold": section.custodian_threshold,
    }


def _create_section(
    project: Project, values: _SectionValues, custodians: Sequence[User], threshold: int
) -> Section:
    number = (project.sections.aggregate(n=Max("number"))["n"] or 0) + 1
    section = Section(
        project=project,
        number=number,
        name=values.name,
        estimated_price=values.estimated_price,
        bond_amount=values.bond_amount,
        evaluation_method=values.evaluation_method,
        evaluation_params=values.evaluation_params,
        custodian_threshold=threshold,
    )
    section.full_clean(exclude=["project"])
    section.save()
    _set_custodians(section, custodians)
    return section


# ---- projects -----------------------------------------------------------------------------------


def _project_data(project: Project) -> dict[str, Any]:
    return {
        "code": project.code,
        "title": project.title,
        "category": project.category,
        "procedure": project.procedure,
        "tenderer": project.tenderer.uscc,
        "agent": project.agent.uscc if project.agent else "",
        "centre": project.centre.uscc,
        "region": project.region,
        "description_sha256": sha256_hex(project.description),
    }


@transaction.atomic
def project_register(
    *,
    acting_user: User,
    title: str,
    category: str,
    procedure: str,
    tenderer: Organization | int,
    agent: Organization | int | None = None,
    centre: Organization | int | None = None,
    region: str = "",
    description: str = "",
    sections: Sequence[SectionSpec],
) -> Project:
    """Register a project online (seed 002 §6.2.1) as a draft, with one or more sections."""
    require(acting_user, Permission.PROJECT_CREATE)
    title = _text(title, field="title", max_length=200, zh="项目名称", en="the title", required=True)
    category = _choice(category, Category, field="category", zh="项目类别", en="category")
    procedure = _choice(procedure, Procedure, field="procedure", zh="交易方式", en="procedure")
    tenderer_org = _organization(
        tenderer, OrganizationKind.TENDERER, field="tenderer", zh="招标人", en="tenderer"
    )
    agent_org = (
        _organization(agent, OrganizationKind.AGENT, field="agent", zh="招标代理机构", en="agent")
        if agent is not None
        else None
    )
    centre_org = _centre(centre)
    _check_party(acting_user, tenderer_org, agent_org)
    region = _text(region, field="region", max_length=100, zh="地区", en="the region", required=False)
    if not sections:
        raise ValidationFailed(
            "sections_required",
            "项目至少包含一个标段（包）",
            "a project has at least one section",
            fields={"sections": ""},
        )
    values = [
        _clean_section(
            category=category,
            name=spec.name,
            estimated_price=spec.estimated_price,
            bond_amount=spec.bond_amount,
            evaluation_method=spec.evaluation_method,
            evaluation_params=spec.evaluation_params,
            index=i,
        )
        for i, spec in enumerate(sections)
    ]
    now = clock.now()
    project = Project(
        code=f"tmp-{uuid.uuid4().hex[:28]}",
        title=title,
        category=category,
        procedure=procedure,
        tenderer=tenderer_org,
        agent=agent_org,
        centre=centre_org,
        region=region,
        description=(description or "").strip(),
        created_by=acting_user,
        created_at=now,
    )
    project.full_clean()
    project.save()
    # The code is made from the primary key, so two registrations at once never collide.
    project.code = f"XM{now.astimezone(clock.LOCAL_TZ):%Y}{project.pk:06d}"
    project.save(update_fields=["code"])
    events = [
        EventSpec(
            action=ProjectsAction.PROJECT_REGISTERED,
            actor=acting_user,
            object_type="projects.project",
            object_id=str(project.pk),
            data=_project_data(project),
        )
    ]
    for i, (spec, clean) in enumerate(zip(sections, values, strict=True)):
        try:
            users, k = _clean_custodians(
                project, spec.custodians, spec.custodian_threshold, acting_user=acting_user
            )
        except DomainError as error:
            raise _section_error(error, i, clean.name) from None
        section = _create_section(project, clean, users, k)
        events.append(
            EventSpec(
                action=ProjectsAction.SECTION_ADDED,
                actor=acting_user,
                object_type="projects.section",
                object_id=str(section.pk),
                data=_section_data(section, users),
            )
        )
    log_append_many(events)
    return project


@transaction.atomic
def project_update(
    *,
    acting_user: User,
    project: Project,
    title: str | None = None,
    category: str | None = None,
    procedure: str | None = None,
    tenderer: Organization | int | None = None,
    agent: Organization | int | None = UNSET,
    centre: Organization | int | None = None,
    region: str | None = None,
    description: str | None = None,
) -> Project:
    """Change a draft or returned project; ``None`` (``UNSET`` for the agent) leaves a field as is."""
    require(acting_user, Permission.PROJECT_CREATE)
    project = _lock_project(project)
    _require_party(acting_user, project)
    _require_editable(project)
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = _text(
            title, field="title", max_length=200, zh="项目名称", en="the title", required=True
        )
    if category is not None:
        changes["category"] = _choice(category, Category, field="category", zh="项目类别", en="category")
    if procedure is not None:
        changes["procedure"] = _choice(procedure, Procedure, field="procedure", zh="交易方式", en="procedure")
    if tenderer is not None:
        changes["tenderer"] = _organization(
            tenderer, OrganizationKind.TENDERER, field="tenderer", zh="招标人", en="tenderer"
        )
    if agent is not UNSET:
        changes["agent"] = (
            _organization(agent, OrganizationKind.AGENT, field="agent", zh="招标代理机构", en="agent")
            if agent is not None
            else None
        )
    if centre is not None:
        changes["centre"] = _centre(centre)
    if region is not None:
        changes["region"] = _text(
            region, field="region", max_length=100, zh="地区", en="the region", required=False
        )
    if description is not None:
        changes["description"] = description.strip()
    changed = [name for name, value in changes.items() if getattr(project, name) != value]
    if not changed:
        return project
    for name in changed:
        setattr(project, name, changes[name])
    _check_party(acting_user, project.tenderer, project.agent)  # one cannot hand a project away
    if "category" in changed:
        for section in project.sections.order_by("pk"):
            # The bond cap does not depend on the category, but its article does: re-check it.
            _check_bond(section.bond_amount, section.estimated_price, project.category)
    project.full_clean()
    project.save(update_fields=changed)
    data = {name: v for name, v in _project_data(project).items() if name in changed}
    if "description" in changed:
        data["description_sha256"] = sha256_hex(project.description)
    log_append(
        action=ProjectsAction.PROJECT_UPDATED,
        actor=acting_user,
        obj=project,
        data={"code": project.code, **data},
    )
    return project


@transaction.atomic
def section_add(*, acting_user: User, project: Project, spec: SectionSpec) -> Section:
    require(acting_user, Permission.PROJECT_CREATE)
    project = _lock_project(project)
    _require_party(acting_user, project)
    _require_editable(project)
    values = _clean_section(
        category=project.category,
        name=spec.name,
        estimated_price=spec.estimated_price,
        bond_amount=spec.bond_amount,
        evaluation_method=spec.evaluation_method,
        evaluation_params=spec.evaluation_params,
    )
    users, k = _clean_custodians(project, spec.custodians, spec.custodian_threshold, acting_user=acting_user)
    section = _create_section(project, values, users, k)
    log_append(
        action=ProjectsAction.SECTION_ADDED,
        actor=acting_user,
        obj=section,
        data=_section_data(section, users),
    )
    return section


def _lock_section(section: Section) -> tuple[Project, Section]:
    # Lock order: the project, then the section (as every transition of the project does).
    project = _lock_project(section.project)
    return project, Section.objects.select_for_update().get(pk=section.pk)


@transaction.atomic
def section_update(
    *,
    acting_user: User,
    section: Section,
    name: str | None = None,
    estimated_price: str | int | Decimal | None = None,
    bond_amount: str | int | Decimal | None = None,
    evaluation_method: str | None = None,
    evaluation_params: Mapping[str, Any] | None = None,
    custodians: Sequence[User | int] | None = None,
    custodian_threshold: int | None = None,
) -> Section:
    """Change a section of a draft or returned project; ``None`` leaves a field as is. Changing the
    evaluation method needs parameters that fit the new method."""
    require(acting_user, Permission.PROJECT_CREATE)
    project, section = _lock_section(section)
    _require_party(acting_user, project)
    _require_editable(project)
    values = _clean_section(
        category=project.category,
        name=section.name if name is None else name,
        estimated_price=section.estimated_price if estimated_price is None else estimated_price,
        bond_amount=section.bond_amount if bond_amount is None else bond_amount,
        evaluation_method=section.evaluation_method if evaluation_method is None else evaluation_method,
        evaluation_params=section.evaluation_params if evaluation_params is None else evaluation_params,
    )
    current = selectors.custodians_of(section)
    users, k = current, section.custodian_threshold
    if custodians is not None or custodian_threshold is not None:
        users, k = _clean_custodians(
            project,
            current if custodians is None else custodians,
            section.custodian_threshold if custodian_threshold is None else custodian_threshold,
        )
    before = _section_data(section, current)
    section.name = values.name
    section.estimated_price = values.estimated_price
    section.bond_amount = values.bond_amount
    section.evaluation_method = values.evaluation_method
    section.evaluation_params = values.evaluation_params
    section.custodian_threshold = k
    after = _section_data(section, users)
    if after == before:
        return section
    section.full_clean(exclude=["project"])
    section.save()
    if [u.pk for u in users] != [u.pk for u in current]:
        _set_custodians(section, users)
    changed = {key: value for key, value in after.items() if before.get(key) != value}
    log_append(
        action=ProjectsAction.SECTION_UPDATED,
        actor=acting_user,
        obj=section,
        data={"project": project.code, "section": section.code, **changed},
    )
    return section


@transaction.atomic
def section_delete(*, acting_user: User, section: Section) -> None:
    require(acting_user, Permission.PROJECT_CREATE)
    project, section = _lock_section(section)
    _require_party(acting_user, project)
    _require_editable(project)
    if project.sections.count() <= 1:
        raise Conflict(
            "last_section",
            "项目至少保留一个标段（包）",
            "a project keeps at least one section",
        )
    code, pk = section.code, section.pk
    section.delete()
    log_append(
        action=ProjectsAction.SECTION_DELETED,
        actor=acting_user,
        object_type="projects.section",
        object_id=str(pk),
        data={"project": project.code, "section": code},
    )


# ---- registration documents ---------------------------------------------------------------------


def _size_error(size: int) -> ValidationFailed:
    mib = MAX_DOCUMENT_BYTES // (1024 * 1024)
    return ValidationFailed(
        "document_too_large",
        f"文件过大（{size} 字节），单个文件不得超过 {mib} MiB",
        f"the file is too large ({size} bytes); the limit is {mib} MiB",
        fields={"file": ""},
    )


@transaction.atomic
def project_document_upload(
    *,
    acting_user: User,
    project: Project,
    checklist_item: ChecklistItem | int,
    file: IO[bytes] | File,
    filename: str = "",
) -> ProjectDocument:
    """Store one registration document for a checklist item (seed 002 §6.2.2), streaming it to the
    default storage while hashing. Uploading an item again replaces it for review; the old row stays."""
    require(acting_user, Permission.PROJECT_CREATE)
    project = _lock_project(project)
    _require_party(acting_user, project)
    if not project.can_edit():
        raise Conflict(
            "project_not_editable",
            f"项目状态为“{project.get_status_display()}”，只有草稿或退回补正的项目可以上传材料",
            f"the project is {project.status}; documents are uploaded while it is a draft or returned",
        )
    item_pk = checklist_item.pk if isinstance(checklist_item, ChecklistItem) else checklist_item
    item = (
        selectors.checklist_items(project.category).filter(pk=item_pk).first()
        if isinstance(item_pk, int)
        else None
    )
    if item is None:
        raise ValidationFailed(
            "checklist_item_invalid",
            "该材料不在本项目类别的登记材料清单中",
            "this item is not on the checklist of the project's category",
            fields={"checklist_item_id": ""},
        )
    name = clean_filename(filename or getattr(file, "name", ""))
    now = clock.now()
    blob = store_hashed(
        file,
        path=f"projects/{now:%Y/%m}/{uuid.uuid4().hex}{safe_extension(name)}",
        limit=MAX_DOCUMENT_BYTES,
        too_large=_size_error,
        empty=ValidationFailed("document_empty", "文件为空", "the file is empty", fields={"file": ""}),
    )
    doc = ProjectDocument(
        project=project,
        checklist_item=item,
        filename=name,
        file=blob.name,
        uploaded_by=acting_user,
        uploaded_at=now,
        review_round=project.returned_count,
        sha256=blob.sha256,
        size=blob.size,
    )
    try:
        doc.save()
        log_append(
            action=ProjectsAction.DOCUMENT_UPLOADED,
            actor=acting_user,
            obj=doc,
            data={
                "project": project.code,
                "checklist_item": item.pk,
                "item_name": item.name,
                "filename": doc.filename,
                "sha256": doc.sha256,
                "size": doc.size,
                "review_round": doc.review_round,
            },
        )
    except BaseException:
        doc.file.delete(save=False)  # nothing half-stored
        raise
    return doc


# ---- submission and review ----------------------------------------------------------------------


def _check_ready(project: Project) -> None:
    sections = list(project.sections.order_by("number"))
    if not sections:
        raise ValidationFailed(
            "sections_required", "项目至少包含一个标段（包）", "a project has at least one section"
        )
    for i, section in enumerate(sections):
        try:
            # Certificates can be revoked and parties changed since the section was saved.
            _clean_custodians(project, selectors.custodians_of(section), section.custodian_threshold)
        except DomainError as error:
            raise _section_error(error, i, section.name) from None


def _notify(user: User | None, subject: str, body: str, *, email: bool = True) -> None:
    if user is None or not user.is_active:
        return
    notification_enqueue(recipient=user, channel=NotificationChannel.IN_APP, subject=subject, body=body)
    if email and user.email:
        notification_enqueue(recipient=user, channel=NotificationChannel.EMAIL, subject=subject, body=body)


@transaction.atomic
def project_submit(*, acting_user: User, project: Project) -> Project:
    """Send a draft (or a corrected, returned) project to the centre for review."""
    require(acting_user, Permission.PROJECT_CREATE)
    project = _lock_project(project)
    _require_party(acting_user, project)
    if not project.can_submit():
        raise Conflict(
            "project_not_submittable",
            f"项目状态为“{project.get_status_display()}”，不能提交",
            f"the project is {project.status}; it cannot be submitted",
        )
    _check_ready(project)
    now = clock.now()
    project.status = ProjectStatus.SUBMITTED
    project.submitted_at = now
    project.submitted_by = acting_user
    project.save(update_fields=["status", "submitted_at", "submitted_by"])
    missing = selectors.missing_items(project)
    log_append(
        action=ProjectsAction.PROJECT_SUBMITTED,
        actor=acting_user,
        obj=project,
        data={"code": project.code, "round": project.returned_count, "missing": [i.pk for i in missing]},
    )
    for staff in selectors.centre_staff(project.centre_id):
        _notify(
            staff,
            f"项目登记待确认 / Registration to review: {project.code}",
            f"{project.title}\n{STANDARD} 6.2.4：项目登记当日办结 / registration is completed the same day.",
            email=False,
        )
    return project


def _item_names(items: Sequence[ChecklistItem]) -> str:
    return "、".join(item.name for item in items)


@transaction.atomic
def project_return(
    *, acting_user: User, project: Project, item_ids: Sequence[int], note: str = ""
) -> ProjectReview:
    """Return a submitted project for correction, naming at once everything to fix (一次性告知,
    seed 002 §6.2.3): every required item with no document, plus any present but wrong one."""
    require(acting_user, Permission.PROJECT_REVIEW)
    project = _lock_project(project)
    _require_reviewer(acting_user, project)
    if not project.can_review():
        raise Conflict(
            "project_not_submitted",
            f"项目状态为“{project.get_status_display()}”，不在待确认状态",
            f"the project is {project.status}, not waiting for review",
        )
    note = (note or "").strip()
    checklist = {item.pk: item for item in selectors.checklist_items(project.category)}
    cited_ids = list(dict.fromkeys(item_ids))
    unknown = [pk for pk in cited_ids if pk not in checklist]
    if unknown:
        raise ValidationFailed(
            "item_not_in_checklist",
            f"所列材料不在本项目类别的登记材料清单中：{unknown}",
            f"not on the checklist of the project's category: {unknown}",
            fields={"item_ids": ""},
        )
    cited = [checklist[pk] for pk in cited_ids]
    missing = selectors.missing_items(project)
    omitted = [item for item in missing if item.pk not in set(cited_ids)]
    if omitted:
        raise ValidationFailed(
            "missing_items_omitted",
            f"须一次性告知全部需补正的材料，以下缺少的材料未列出：{_item_names(omitted)}",
            f"a return must name everything missing at once; not named: {', '.join(i.name for i in omitted)}",
            article=ONE_TIME_NOTICE,
            fields={"item_ids": ""},
            extra={"omitted": [item.pk for item in omitted]},
        )
    if not cited and not note:
        raise ValidationFailed(
            "return_reason_required",
            "退回须写明需补正的材料或说明",
            "a return names the items to correct or gives a note",
            fields={"note": ""},
        )
    allowed = selectors.citable_after_return(project)
    if allowed is not None:
        late = [item for item in cited if item.pk not in allowed]
        if late:
            raise ValidationFailed(
                "one_time_notice",
                f"一次性告知：以下材料上次退回时已提交且此后未更换，应在首次退回时告知：{_item_names(late)}",
                "one-time notice: these documents were there at the last return and have not changed "
                f"since, so they should have been named then: {', '.join(i.name for i in late)}",
                article=ONE_TIME_NOTICE,
                fields={"item_ids": ""},
                extra={"not_citable": [item.pk for item in late]},
            )
    now = clock.now()
    review = ProjectReview.objects.create(
        project=project, staff=acting_user, decision=ReviewDecision.RETURNED, note=note, at=now
    )
    review.missing_items.set(cited)
    project.status = ProjectStatus.RETURNED
    project.returned_count += 1
    project.save(update_fields=["status", "returned_count"])
    log_append(
        action=ProjectsAction.PROJECT_RETURNED,
        actor=acting_user,
        obj=project,
        data={
            "code": project.code,
            "review": review.pk,
            "round": project.returned_count,
            "items": [item.pk for item in cited],
            "item_names": [item.name for item in cited],
            "note_sha256": sha256_hex(note),
        },
    )
    lines = [f"- {item.name}" for item in cited]
    body = "\n".join(
        [
            f"{project.code} {project.title}",
            "请一次性补正以下材料 / please correct or supply:",
            *(lines or ["-"]),
            f"说明 / note: {note}" if note else "",
        ]
    ).strip()
    _notify(project.submitted_by, f"项目登记退回补正 / Registration returned: {project.code}", body)
    return review


@transaction.atomic
def project_confirm(
    *, acting_user: User, project: Project, responsible_staff: User | int | None = None
) -> ProjectReview:
    """Confirm the registration (seed 002 §6.2.4) once every required document is there, and name
    the staff member responsible for the project (§6.2.5; default: the reviewer)."""
    require(acting_user, Permission.PROJECT_REVIEW)
    project = _lock_project(project)
    _require_reviewer(acting_user, project)
    if not project.can_review():
        raise Conflict(
            "project_not_submitted",
            f"项目状态为“{project.get_status_display()}”，不在待确认状态",
            f"the project is {project.status}, not waiting for review",
        )
    missing = selectors.missing_items(project)
    if missing:
        raise ValidationFailed(
            "documents_missing",
            f"材料不齐，不能确认登记；缺少：{_item_names(missing)}",
            f"documents are missing, the registration cannot be confirmed: {', '.join(i.name for i in missing)}",
            article=f"{STANDARD} 6.2.4",
            extra={"missing": [item.pk for item in missing]},
        )
    responsible_pk = responsible_staff.pk if isinstance(responsible_staff, User) else responsible_staff
    responsible = (
        acting_user
        if responsible_pk is None
        else selectors.centre_staff(project.centre_id).filter(pk=responsible_pk).first()
        if isinstance(responsible_pk, int)
        else None
    )
    if responsible is None:
        raise ValidationFailed(
            "responsible_staff_invalid",
            "服务责任人须为本交易中心的在职工作人员",
            "the responsible person must be an active staff member of the project's centre",
            article=f"{STANDARD} 6.2.5",
            fields={"responsible_staff_id": ""},
        )
    now = clock.now()
    review = ProjectReview.objects.create(
        project=project, staff=acting_user, decision=ReviewDecision.CONFIRMED, at=now
    )
    project.status = ProjectStatus.REGISTERED
    project.registered_at = now
    project.responsible_staff = responsible
    project.save(update_fields=["status", "registered_at", "responsible_staff"])
    sections = list(Section.objects.select_for_update().filter(project=project).order_by("pk"))
    for section in sections:
        section.status = SectionStatus.REGISTERED
        section.save(update_fields=["status"])
    submitted_day = (project.submitted_at or now).astimezone(clock.LOCAL_TZ).date()
    log_append(
        action=ProjectsAction.PROJECT_CONFIRMED,
        actor=acting_user,
        obj=project,
        data={
            "code": project.code,
            "review": review.pk,
            "responsible_staff": responsible.username,
            "sections": [s.code for s in sections],
            "same_day": submitted_day == clock.today_local(),  # §6.2.4: 办结时间为当日
        },
    )
    body = (
        f"{project.code} {project.title}\n"
        f"服务责任人 / responsible staff: {responsible.display_name or responsible.username}"
    )
    _notify(project.submitted_by, f"项目已登记 / Project registered: {project.code}", body)
    if responsible.pk != acting_user.pk:
        _notify(
            responsible, f"您是项目服务责任人 / You are responsible for: {project.code}", body, email=False
        )
    return review


# ---- the checklist (staff) ----------------------------------------------------------------------


def _item_data(item: ChecklistItem) -> dict[str, Any]:
    return {
        "category": item.category,
        "name": item.name,
        "description": item.description,
        "required": item.required,
        "order": item.order,
        "is_active": item.is_active,
    }


def _order(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 32767:
        raise ValidationFailed(
            "checklist_order_invalid",
            f"排序号无效：{value}",
            f"invalid position: {value}",
            fields={"order": ""},
        )
    return value


@transaction.atomic
def checklist_item_add(
    *,
    acting_user: User,
    category: str,
    name: str,
    description: str = "",
    required: bool = True,
    order: int | None = None,
) -> ChecklistItem:
    require(acting_user, Permission.CHECKLIST_EDIT)
    category = _choice(category, Category, field="category", zh="项目类别", en="category")
    name = _text(name, field="name", max_length=200, zh="材料名称", en="the name", required=True)
    description = _text(
        description, field="description", max_length=400, zh="说明", en="the description", required=False
    )
    if order is None:
        order = (ChecklistItem.objects.filter(category=category).aggregate(n=Max("order"))["n"] or 0) + 1
    order = _order(order)
    item = ChecklistItem(
        category=category, name=name, description=description, required=required, order=order
    )
    item.full_clean()
    item.save()
    log_append(action=ProjectsAction.CHECKLIST_ITEM_ADDED, actor=acting_user, obj=item, data=_item_data(item))
    return item


@transaction.atomic
def checklist_item_update(
    *,
    acting_user: User,
    item: ChecklistItem,
    name: str | None = None,
    description: str | None = None,
    required: bool | None = None,
    order: int | None = None,
    is_active: bool | None = None,
) -> ChecklistItem:
    """Edit or deactivate an item (items are never deleted: reviews and documents cite them)."""
    require(acting_user, Permission.CHECKLIST_EDIT)
    item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
    before = _item_data(item)
    if name is not None:
        item.name = _text(name, field="name", max_length=200, zh="材料名称", en="the name", required=True)
    if description is not None:
        item.description = _text(
            description, field="description", max_length=400, zh="说明", en="the description", required=False
        )
    if required is not None:
        item.required = required
    if order is not None:
        item.order = _order(order)
    if is_active is not None:
        item.is_active = is_active
    after = _item_data(item)
    if after == before:
        return item
    item.full_clean()
    item.save()
    changed = {key: value for key, value in after.items() if before[key] != value}
    log_append(
        action=ProjectsAction.CHECKLIST_ITEM_UPDATED,
        actor=acting_user,
        obj=item,
        data={"category": item.category, **changed},
    )
    return item


@transaction.atomic
def checklist_reorder(*, acting_user: User, category: str, item_ids: Sequence[int]) -> list[ChecklistItem]:
    """Put a category's items in this order (all of them, each once)."""
    require(acting_user, Permission.CHECKLIST_EDIT)
    category = _choice(category, Category, field="category", zh="项目类别", en="category")
    items = {
        item.pk: item
        for item in ChecklistItem.objects.select_for_update().filter(category=category).order_by("pk")
    }
    if sorted(item_ids) != sorted(items) or len(set(item_ids)) != len(item_ids):
        raise ValidationFailed(
            "checklist_order_invalid",
            "排序须恰好列出该类别的全部材料各一次",
            "the order must list every item of the category exactly once",
            fields={"item_ids": ""},
        )
    ordered = [items[pk] for pk in item_ids]
    for position, item in enumerate(ordered, start=1):
        if item.order != position:
            item.order = position
            item.save(update_fields=["order"])
    log_append(
        action=ProjectsAction.CHECKLIST_REORDERED,
        actor=acting_user,
        object_type="projects.checklistitem",
        data={"category": category, "order": list(item_ids)},
    )
    return ordered


@transaction.atomic
def checklist_item_move(*, acting_user: User, item: ChecklistItem, offset: int) -> list[ChecklistItem]:
    """Move an item up (offset -1) or down (+1) among its category's items."""
    require(acting_user, Permission.CHECKLIST_EDIT)
    ids = list(
        ChecklistItem.objects.filter(category=item.category)
        .order_by("order", "pk")
        .values_list("pk", flat=True)
    )
    position = ids.index(item.pk)
    target = min(max(position + offset, 0), len(ids) - 1)
    ids.insert(target, ids.pop(position))
    return checklist_reorder(acting_user=acting_user, category=item.category, item_ids=ids)
