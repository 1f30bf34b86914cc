"""Services of the projects app: every registration rule, with its article, and its audit trail."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.base import ContentFile
from hypothesis import given
from hypothesis import strategies as st

from tenderhall.accounts.models import CertificateStatus, Organization, OrganizationKind, Role, User
from tenderhall.core import clock
from tenderhall.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from tenderhall.core.models import LogEvent, Notification, NotificationChannel
from tenderhall.projects import selectors, services
from tenderhall.projects.events import ProjectsAction
from tenderhall.projects.models import (
    Category,
    ChecklistItem,
    EvaluationMethod,
    Project,
    ProjectDocument,
    ProjectReview,
    ProjectStatus,
    ReviewDecision,
    Section,
    SectionStatus,
)
from tests.factories import OrganizationFactory, UserFactory
from tests.projects.factories import (
    encryption_certificate,
    register_project,
    required_items,
    section_spec,
    upload,
)

STANDARD_623 = "朝阳市公共资源交易平台服务标准 6.2.3"


def events(action: str) -> list[LogEvent]:
    return list(LogEvent.objects.filter(action=action).order_by("index"))


def counts() -> tuple[int, ...]:
    return (
        Project.objects.count(),
        Section.objects.count(),
        ProjectDocument.objects.count(),
        ProjectReview.objects.count(),
        LogEvent.objects.filter(action__startswith="projects.").count(),
    )


def refused(code: str, fn, *args, **kwargs) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, (info.value.code, info.value.message)
    return info.value


def submit(project: Project, user: User) -> Project:
    return services.project_submit(acting_user=user, project=project)


# ---- registration ------------------------------------------------------------------------------


def test_an_agent_registers_a_draft_project_with_default_custodians(
    project, agent, tenderer, staff, supervisor
):
    assert project.status == ProjectStatus.DRAFT
    assert project.code == f"XM2026{project.pk:06d}"
    assert project.tenderer == tenderer.organization and project.agent == agent.organization
    assert project.centre == staff.organization  # the only trading centre
    assert project.created_by == agent
    (section,) = project.sections.all()
    assert section.number == 1 and section.code == f"{project.code}-01"
    assert section.estimated_price == Decimal("1000000.00") and section.bond_amount == Decimal("20000.00")
    assert section.evaluation_params == {"weights": {"price": "30", "technical": "60", "business": "10"}}
    assert section.status == SectionStatus.DRAFT
    # DESIGN §4: agent, centre, supervisor; 2 of 3
    assert selectors.custodians_of(section) == [agent, staff, supervisor]
    assert section.custodian_threshold == 2
    (registered,) = events(ProjectsAction.PROJECT_REGISTERED)
    assert registered.object_id == str(project.pk) and registered.actor_username == "agent"
    (added,) = events(ProjectsAction.SECTION_ADDED)
    assert '"custodians":["agent","staff","supervisor"]' in added.payload
    assert '"bond_amount":"20000.00"' in added.payload
    assert "新建教学楼一栋" not in registered.payload  # free text goes in as a hash


def test_a_tenderer_registers_without_an_agent_and_holds_the_party_share(
    certified, checklist, tenderer, staff, supervisor
):
    project = services.project_register(
        acting_user=tenderer,
        title="自行招标项目",
        category=Category.GOVERNMENT_PROCUREMENT,
        procedure="inquiry",
        tenderer=tenderer.organization,
        sections=[
            section_spec(evaluation_method=EvaluationMethod.LOWEST_EVALUATED_PRICE, evaluation_params={})
        ],
    )
    assert project.agent is None
    assert selectors.custodians_of(project.sections.get()) == [tenderer, staff, supervisor]


def test_several_sections_are_numbered_in_order(certified, checklist, agent, tenderer):
    project = register_project(
        agent,
        tenderer.organization,
        sections=[section_spec(name="一标段"), section_spec(name="二标段"), section_spec(name="三标段")],
    )
    assert [(s.number, s.name) for s in project.sections.order_by("number")] == [
        (1, "一标段"),
        (2, "二标段"),
        (3, "三标段"),
    ]
    assert len(events(ProjectsAction.SECTION_ADDED)) == 3


def test_the_acting_users_organization_must_be_the_tenderer_or_the_agent(
    certified, checklist, agent, other_agent, tenderer
):
    before = counts()
    error = refused(
        "not_a_party",
        services.project_register,
        acting_user=other_agent,
        title="冒名登记",
        category=Category.CONSTRUCTION,
        procedure="open",
        tenderer=tenderer.organization,
        agent=agent.organization,
        sections=[section_spec()],
    )
    assert error.status == 403
    assert counts() == before


@pytest.mark.parametrize("role", [Role.BIDDER, Role.STAFF, Role.SUPERVISOR, Role.EXPERT, Role.AUDITOR])
def test_only_agents_and_tenderers_register_projects(certified, checklist, tenderer, role):
    user = UserFactory(role=role)
    with pytest.raises(PermissionDenied):
        register_project(user, tenderer.organization, agent=None)


def test_the_tenderer_and_agent_must_be_organizations_of_their_kind(certified, checklist, agent, other_agent):
    refused("tenderer_invalid", register_project, agent, other_agent.organization)  # an agent as tenderer
    bidder_org = OrganizationFactory(kind=OrganizationKind.BIDDER)
    refused("tenderer_invalid", register_project, agent, bidder_org)
    refused("tenderer_invalid", register_project, agent, 999999)


def test_the_centre_defaults_to_the_only_one_and_must_be_named_when_there_are_several(
    certified, checklist, agent, tenderer, staff
):
    second = OrganizationFactory(kind=OrganizationKind.TRADING_CENTRE)
    error = refused("centre_required", register_project, agent, tenderer.organization)
    assert error.fields == {"centre": ""}
    project = register_project(agent, tenderer.organization, centre=staff.organization)
    assert project.centre == staff.organization
    refused("centre_invalid", register_project, agent, tenderer.organization, centre=agent.organization)
    assert second.pk  # still there: naming one was enough


def test_title_category_and_procedure_are_checked(certified, checklist, agent, tenderer):
    refused("title_required", register_project, agent, tenderer.organization, title="  ")
    refused("category_invalid", register_project, agent, tenderer.organization, category="fishing")
    refused("procedure_invalid", register_project, agent, tenderer.organization, procedure="auction")
    refused(
        "sections_required",
        services.project_register,
        acting_user=agent,
        title="无标段",
        category="construction",
        procedure="open",
        tenderer=tenderer.organization,
        agent=agent.organization,
        sections=[],
    )


# ---- bid bond: 条例 Art 26 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "bond", "ok"),
    [
        ("1000000.00", "20000.00", True),  # exactly 2%
        ("1000000.00", "20000.01", False),  # a cent above
        ("100.01", "2.00", True),  # the limit is 2.0002: two yuan is within it
        ("100.01", "2.01", False),
        ("100.00", "0", True),  # no bond at all
        (Decimal("5000000.50"), Decimal("100000.01"), True),  # 2% = 100000.01 exactly
        (Decimal("5000000.50"), Decimal("100000.02"), False),
    ],
)
def test_the_bid_bond_may_not_exceed_two_percent_of_the_estimated_price(
    certified, checklist, agent, tenderer, price, bond, ok
):
    spec = section_spec(estimated_price=price, bond_amount=bond)
    if ok:
        project = register_project(agent, tenderer.organization, sections=[spec])
        assert project.sections.get().bond_amount == Decimal(str(bond))
        return
    before = counts()
    error = refused("bond_above_limit", register_project, agent, tenderer.organization, sections=[spec])
    assert error.article == "条例 Art 26"
    assert error.fields == {"bond_amount": ""}
    assert counts() == before


def test_the_bond_limit_is_computed_exactly(certified):
    assert services.bond_limit(Decimal("100.01")) == Decimal("2.0002")
    assert services.bond_limit(Decimal("1000000.00")) == Decimal("20000.00")


def test_government_procurement_bonds_also_cite_the_procurement_regulation(
    certified, checklist, agent, tenderer
):
    error = refused(
        "bond_above_limit",
        register_project,
        agent,
        tenderer.organization,
        category=Category.GOVERNMENT_PROCUREMENT,
        sections=[section_spec(bond_amount="20000.01")],
    )
    assert error.article == "条例 Art 26 / 政府采购法实施条例 Art 33"


@pytest.mark.parametrize(
    ("price", "bond", "code"),
    [
        ("0", "0", "estimated_price_invalid"),
        ("-5", "0", "estimated_price_invalid"),
        ("100.001", "1", "money_precision"),
        ("abc", "1", "money_invalid"),
        ("1000", "-1", "bond_amount_invalid"),
        ("100000000000000", "1", "estimated_price_invalid"),
    ],
)
def test_amounts_are_exact_positive_yuan(certified, checklist, agent, tenderer, price, bond, code):
    refused(
        code,
        register_project,
        agent,
        tenderer.organization,
        sections=[section_spec(estimated_price=price, bond_amount=bond)],
    )


def test_money_is_never_a_float(certified, checklist, agent, tenderer):
    with pytest.raises(TypeError):
        register_project(agent, tenderer.organization, sections=[section_spec(estimated_price=1000.5)])


# ---- evaluation parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params", "stored"),
    [
        (
            "comprehensive",
            {"weights": {"price": "30.5", "technical": "59.5", "business": "10"}},
            {"weights": {"price": "30.5", "technical": "59.5", "business": "10"}},
        ),
        (
            "comprehensive",
            {"weights": {"price": 40, "technical": 60, "business": 0}},
            {"weights": {"price": "40", "technical": "60", "business": "0"}},
        ),
        ("benchmark_price", {"k_min": "0.95", "k_max": "0.98"}, {"k_min": "0.95", "k_max": "0.98"}),
        ("benchmark_price", {"k_min": "1", "k_max": "1"}, {"k_min": "1", "k_max": "1"}),
        ("lowest_evaluated_price", {}, {}),
    ],
)
def test_evaluation_parameters_are_validated_and_stored(method, params, stored):
    assert services.clean_evaluation_params(method, params) == stored


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("comprehensive", {"weights": {"price": "30", "technical": "60", "business": "9"}}),  # 99
        ("comprehensive", {"weights": {"price": "30", "technical": "70"}}),
        ("comprehensive", {"weights": {"price": "30", "technical": "60", "business": "10", "x": "0"}}),
        ("comprehensive", {"weights": {"price": 30.0, "technical": "60", "business": "10"}}),  # a float
        ("comprehensive", {"weights": {"price": "-10", "technical": "100", "business": "10"}}),
        ("comprehensive", {"weights": {"price": "abc", "technical": "60", "business": "10"}}),
        ("comprehensive", {}),
        ("benchmark_price", {"k_min": "0.98", "k_max": "0.95"}),
        ("benchmark_price", {"k_min": "0", "k_max": "0.95"}),
        ("benchmark_price", {"k_min": "0.95", "k_max": "1.01"}),
        ("benchmark_price", {"k_min": 0.95, "k_max": "0.98"}),
        ("benchmark_price", {"k_min": "0.95"}),
        ("lowest_evaluated_price", {"k_min": "0.95"}),
        ("comprehensive", ["not", "an", "object"]),
    ],
)
def test_bad_evaluation_parameters_are_refused(method, params):
    with pytest.raises(ValidationFailed) as info:
        services.clean_evaluation_params(method, params)
    assert info.value.code == "evaluation_params_invalid"
    assert info.value.fields == {"evaluation_params": ""}


def test_an_unknown_evaluation_method_is_refused(certified, checklist, agent, tenderer):
    refused(
        "evaluation_method_invalid",
        register_project,
        agent,
        tenderer.organization,
        sections=[section_spec(evaluation_method="coin_toss", evaluation_params={})],
    )


# ---- opening-key custodians (DESIGN §4) ---------------------------------------------------------


def test_a_custodian_without_an_encryption_certificate_is_refused_by_name(
    checklist, agent, tenderer, staff, supervisor
):
    for user in (agent, staff):
        encryption_certificate(user)
    before = counts()
    error = refused("custodian_no_encryption_certificate", register_project, agent, tenderer.organization)
    assert "supervisor" in error.message_en and "supervisor" in error.message_zh
    assert error.extra["custodian"] == "supervisor"
    assert error.extra["section_index"] == 0
    assert counts() == before  # the project row saved first is rolled back too


@pytest.mark.parametrize("trouble", ["revoked", "expired", "signing_only", "other_organization"])
def test_only_an_active_valid_encryption_certificate_counts(
    checklist, agent, tenderer, staff, supervisor, trouble
):
    encryption_certificate(agent)
    encryption_certificate(staff)
    if trouble == "revoked":
        encryption_certificate(supervisor, status=CertificateStatus.REVOKED)
    elif trouble == "expired":
        cert = encryption_certificate(supervisor)
        cert.not_after = clock.now() - dt.timedelta(seconds=1)
        cert.save()
    elif trouble == "signing_only":
        cert = encryption_certificate(supervisor)
        cert.usage = "signing"
        cert.save()
    else:  # an organization-wide certificate of someone else's organization
        encryption_certificate(UserFactory(role=Role.SUPERVISOR), holder=False)
    named = section_spec(custodians=[agent, staff, supervisor])
    error = refused(
        "custodian_no_encryption_certificate",
        register_project,
        agent,
        tenderer.organization,
        sections=[named],
    )
    assert error.extra["custodian"] == "supervisor"


def test_an_organization_wide_encryption_certificate_serves_its_people(
    checklist, agent, tenderer, staff, supervisor
):
    encryption_certificate(agent)
    encryption_certificate(staff, holder=False)
    encryption_certificate(supervisor)
    project = register_project(agent, tenderer.organization)
    assert staff in selectors.custodians_of(project.sections.get())


def test_named_custodians_and_threshold(
    certified, checklist, agent, tenderer, staff, supervisor, colleague_staff
):
    encryption_certificate(colleague_staff)
    spec = section_spec(
        custodians=[agent.pk, tenderer.pk, staff, colleague_staff.pk, supervisor.pk], custodian_threshold=3
    )
    project = register_project(agent, tenderer.organization, sections=[spec])
    section = project.sections.get()
    assert selectors.custodians_of(section) == [agent, tenderer, staff, colleague_staff, supervisor]
    assert section.custodian_threshold == 3


@pytest.mark.parametrize(
    ("custodians", "k", "code"),
    [
        (["agent", "staff"], 3, "custodian_threshold_invalid"),  # k > n
        (["agent", "staff", "supervisor"], 1, "custodian_threshold_invalid"),  # k < 2
        (["agent"], 2, "custodian_threshold_invalid"),  # n < 2
        ([], 2, "custodian_threshold_invalid"),
        (["agent", "agent", "staff"], 2, "custodian_duplicate"),
        (["agent", "bidder"], 2, "custodian_not_eligible"),  # a bidder never holds the key
        (["agent", "other_agent"], 2, "custodian_not_eligible"),  # not a party to this project
        (["agent", 999999], 2, "custodian_invalid"),
    ],
)
def test_custodian_rules(
    certified, checklist, agent, other_agent, tenderer, staff, supervisor, bidder, custodians, k, code
):
    people = {
        "agent": agent,
        "other_agent": other_agent,
        "staff": staff,
        "supervisor": supervisor,
        "bidder": bidder,
    }
    encryption_certificate(bidder)
    ids = [people[c].pk if isinstance(c, str) else c for c in custodians]
    before = counts()
    error = refused(
        code,
        register_project,
        agent,
        tenderer.organization,
        sections=[section_spec(custodians=ids, custodian_threshold=k)],
    )
    assert counts() == before
    assert error.fields.keys() & {"custodians", "custodian_threshold"}


def test_default_custodians_prefer_the_acting_user_then_a_certified_colleague(
    certified, checklist, agent, tenderer, staff, supervisor
):
    uncertified = UserFactory(role=Role.AGENT, organization=agent.organization, username="a_colleague")
    project = register_project(agent, tenderer.organization)
    assert services.default_custodians(project, acting_user=uncertified)[0] == agent  # the certified one
    assert services.default_custodians(project, acting_user=agent) == [agent, staff, supervisor]
    encryption_certificate(uncertified)
    assert services.default_custodians(project, acting_user=uncertified)[0] == uncertified


def test_default_custodians_need_a_supervisor(checklist, agent, tenderer, staff):
    encryption_certificate(agent)
    encryption_certificate(staff)
    error = refused("default_custodian_missing", register_project, agent, tenderer.organization)
    assert "supervisor" in error.message_en


def test_nothing_is_saved_when_a_later_section_is_refused(certified, checklist, agent, tenderer):
    before = counts()
    refused(
        "bond_above_limit",
        register_project,
        agent,
        tenderer.organization,
        sections=[section_spec(), section_spec(name="二标段", bond_amount="20000.01")],
    )
    refused(
        "custodian_threshold_invalid",
        register_project,
        agent,
        tenderer.organization,
        sections=[section_spec(), section_spec(name="二标段", custodian_threshold=4)],
    )
    assert counts() == before


# ---- editing ------------------------------------------------------------------------------------


def test_a_draft_project_is_edited_and_the_change_logged(project, agent):
    updated = services.project_update(
        acting_user=agent, project=project, title="新名称", region="北区", agent=agent.organization
    )
    assert updated.title == "新名称" and updated.region == "北区"
    (event,) = events(ProjectsAction.PROJECT_UPDATED)
    assert json.loads(event.payload)["data"] == {"code": project.code, "title": "新名称", "region": "北区"}


def test_an_unchanged_edit_logs_nothing(project, agent):
    services.project_update(acting_user=agent, project=project, title=project.title)
    assert events(ProjectsAction.PROJECT_UPDATED) == []


def test_a_party_cannot_give_the_project_away(project, agent, other_agent):
    refused(
        "not_a_party",
        services.project_update,
        acting_user=agent,
        project=project,
        agent=other_agent.organization,
    )
    project.refresh_from_db()
    assert project.agent == agent.organization


def test_a_tenderer_may_drop_the_agent(project, tenderer):
    services.project_update(acting_user=tenderer, project=project, agent=None)
    project.refresh_from_db()
    assert project.agent is None


def test_another_agent_cannot_edit(project, other_agent):
    with pytest.raises(NotFound):
        services.project_update(acting_user=other_agent, project=project, title="抢注")


def test_staff_and_supervisors_cannot_edit(project, staff, supervisor):
    for user in (staff, supervisor):
        with pytest.raises(PermissionDenied):
            services.project_update(acting_user=user, project=project, title="改名")


def test_a_submitted_or_registered_project_cannot_be_edited(project, agent):
    submit(project, agent)
    refused("project_not_editable", services.project_update, acting_user=agent, project=project, title="改")
    refused(
        "project_not_editable", services.section_add, acting_user=agent, project=project, spec=section_spec()
    )
    section = project.sections.get()
    refused("project_not_editable", services.section_update, acting_user=agent, section=section, name="改")
    refused("project_not_editable", services.section_delete, acting_user=agent, section=section)


def test_sections_are_added_changed_and_deleted(project, agent, staff, supervisor):
    second = services.section_add(acting_user=agent, project=project, spec=section_spec(name="二标段"))
    assert second.number == 2
    services.section_update(
        acting_user=agent,
        section=second,
        estimated_price="500000",
        bond_amount="10000",
        evaluation_method=EvaluationMethod.BENCHMARK_PRICE,
        evaluation_params={"k_min": "0.95", "k_max": "0.98"},
        custodians=[staff.pk, supervisor.pk],
    )
    second.refresh_from_db()
    assert second.bond_amount == Decimal("10000.00") and second.evaluation_params == {
        "k_min": "0.95",
        "k_max": "0.98",
    }
    assert selectors.custodians_of(second) == [staff, supervisor]
    (updated,) = events(ProjectsAction.SECTION_UPDATED)
    assert '"custodians":["staff","supervisor"]' in updated.payload
    services.section_delete(acting_user=agent, section=second)
    assert project.sections.count() == 1
    assert len(events(ProjectsAction.SECTION_DELETED)) == 1
    refused("last_section", services.section_delete, acting_user=agent, section=project.sections.get())


def test_a_refused_section_change_changes_nothing(project, agent):
    section = project.sections.get()
    refused(
        "bond_above_limit",
        services.section_update,
        acting_user=agent,
        section=section,
        estimated_price="999999.99",
    )
    refused(
        "evaluation_params_invalid",
        services.section_update,
        acting_user=agent,
        section=section,
        evaluation_method=EvaluationMethod.BENCHMARK_PRICE,
    )  # the weights do not fit the new method
    refused(
        "custodian_threshold_invalid",
        services.section_update,
        acting_user=agent,
        section=section,
        custodian_threshold=4,
    )
    section.refresh_from_db()
    assert section.estimated_price == Decimal("1000000.00")
    assert section.evaluation_method == EvaluationMethod.COMPREHENSIVE and section.custodian_threshold == 2
    assert events(ProjectsAction.SECTION_UPDATED) == []


# ---- documents ----------------------------------------------------------------------------------


def stored_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT) / "projects"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_a_document_is_stored_with_its_hash_and_size(project, agent):
    item = required_items(project)[0]
    content = b"%PDF-1.7\n" + bytes(range(256)) * 1000
    doc = upload(agent, project, item, content, name="申请表.pdf")
    assert doc.sha256 == hashlib.sha256(content).hexdigest() and doc.size == len(content)
    assert doc.filename == "申请表.pdf" and doc.review_round == 0
    with doc.file.open("rb") as fh:
        assert fh.read() == content
    (event,) = events(ProjectsAction.DOCUMENT_UPLOADED)
    assert doc.sha256 in event.payload


class ChunkOnlyFile(io.BytesIO):
    """Refuses to be read whole: the service must stream."""

    name = "big.pdf"

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and size > 0, "the whole file was read at once"
        return super().read(size)


def test_a_document_is_streamed_not_read_whole(project, agent):
    content = b"x" * (3 * 64 * 1024 + 5)
    doc = services.project_document_upload(
        acting_user=agent,
        project=project,
        checklist_item=required_items(project)[0],
        file=ChunkOnlyFile(content),
    )
    assert doc.size == len(content) and doc.sha256 == hashlib.sha256(content).hexdigest()


def test_a_document_above_50_mib_is_refused_before_it_is_stored(project, agent):
    class Declared(io.BytesIO):
        name = "huge.zip"
        size = 50 * 1024 * 1024 + 1

    before = stored_files()
    error = refused(
        "document_too_large",
        services.project_document_upload,
        acting_user=agent,
        project=project,
        checklist_item=required_items(project)[0],
        file=Declared(b"x"),
    )
    assert "50 MiB" in error.message_en
    assert stored_files() == before and ProjectDocument.objects.count() == 0


def test_a_document_of_exactly_50_mib_is_accepted(project, agent, monkeypatch):
    # The limit is inclusive; a small limit keeps the test fast, the rule is the same code.
    monkeypatch.setattr(services, "MAX_DOCUMENT_BYTES", 1000)
    doc = upload(agent, project, required_items(project)[0], b"y" * 1000)
    assert doc.size == 1000


def test_an_undeclared_oversize_stream_is_refused_and_removed(project, agent, monkeypatch):
    monkeypatch.setattr(services, "MAX_DOCUMENT_BYTES", 1000)
    before = stored_files()
    refused(
        "document_too_large",
        services.project_document_upload,
        acting_user=agent,
        project=project,
        checklist_item=required_items(project)[0],
        file=ChunkOnlyFile(b"z" * 1001),
    )
    assert stored_files() == before and ProjectDocument.objects.count() == 0


def test_empty_or_foreign_documents_are_refused(project, agent):
    item = required_items(project)[0]
    refused("document_empty", upload, agent, project, item, b"")
    foreign = ChecklistItem.objects.filter(category=Category.STATE_ASSETS).first()
    refused("checklist_item_invalid", upload, agent, project, foreign)
    inactive = services.checklist_item_add(
        acting_user=UserFactory(role=Role.STAFF, organization=project.centre),
        category=project.category,
        name="临时材料",
    )
    ChecklistItem.objects.filter(pk=inactive.pk).update(is_active=False)
    refused("checklist_item_invalid", upload, agent, project, inactive)
    assert ProjectDocument.objects.count() == 0


def test_a_reupload_replaces_the_document_for_review_and_keeps_the_old_row(project, agent):
    item = required_items(project)[0]
    first = upload(agent, project, item, b"first")
    second = upload(agent, project, item, b"second")
    assert selectors.current_documents(project)[item.pk] == second
    assert ProjectDocument.objects.filter(pk=first.pk).exists()


def test_documents_are_uploaded_only_by_the_parties_while_editable(project, agent, other_agent, staff):
    item = required_items(project)[0]
    with pytest.raises(NotFound):
        upload(other_agent, project, item)
    with pytest.raises(PermissionDenied):
        upload(staff, project, item)
    submit(project, agent)
    refused("project_not_editable", upload, agent, project, item)


# ---- submit -------------------------------------------------------------------------------------


def test_submit_sends_the_project_to_the_centre(project, agent, staff, colleague_staff):
    encryption_certificate(colleague_staff)
    submit(project, agent)
    project.refresh_from_db()
    assert project.status == ProjectStatus.SUBMITTED
    assert project.submitted_at == clock.now() and project.submitted_by == agent
    notified = set(
        Notification.objects.filter(channel=NotificationChannel.IN_APP).values_list(
            "recipient__username", flat=True
        )
    )
    assert notified == {"staff", "staff2"}
    (event,) = events(ProjectsAction.PROJECT_SUBMITTED)
    assert event.actor_username == "agent"
    refused("project_not_submittable", submit, project, agent)


def test_submit_rechecks_the_custodians_certificates(project, agent, supervisor):
    supervisor.certificates.update(status=CertificateStatus.REVOKED)
    error = refused("custodian_no_encryption_certificate", submit, project, agent)
    assert "supervisor" in error.message_en
    project.refresh_from_db()
    assert project.status == ProjectStatus.DRAFT


# ---- review: return (一次性告知) and confirm ------------------------------------------------------


def test_a_return_must_name_every_missing_item(project, agent, staff):
    r1, r2 = required_items(project)
    upload(agent, project, r1)
    submit(project, agent)
    before = counts()
    error = refused(
        "missing_items_omitted",
        services.project_return,
        acting_user=staff,
        project=project,
        item_ids=[],
        note="补",
    )
    assert error.article == STANDARD_623
    assert r2.name in error.message_zh and error.extra["omitted"] == [r2.pk]
    assert counts() == before


def test_a_complete_return_notifies_the_submitter_in_app_and_by_mail(project, agent, staff):
    r1, r2 = required_items(project)
    submit(project, agent)
    review = services.project_return(
        acting_user=staff, project=project, item_ids=[r1.pk, r2.pk], note="请补齐两份材料"
    )
    project.refresh_from_db()
    assert project.status == ProjectStatus.RETURNED and project.returned_count == 1
    assert review.decision == ReviewDecision.RETURNED and set(review.missing_items.all()) == {r1, r2}
    notes = Notification.objects.filter(recipient=agent)
    assert {n.channel for n in notes} == {NotificationChannel.IN_APP, NotificationChannel.EMAIL}
    assert all(r1.name in n.body and r2.name in n.body and "请补齐两份材料" in n.body for n in notes)
    (event,) = events(ProjectsAction.PROJECT_RETURNED)
    assert f'"items":[{r1.pk},{r2.pk}]' in event.payload and "请补齐两份材料" not in event.payload


def test_the_email_is_sent_after_commit(project, agent, staff, django_capture_on_commit_callbacks):
    r1, r2 = required_items(project)
    submit(project, agent)
    with django_capture_on_commit_callbacks(execute=True):
        services.project_return(acting_user=staff, project=project, item_ids=[r1.pk, r2.pk])
    assert [m.to for m in mail.outbox] == [[agent.email]]


def test_staff_may_add_a_present_but_wrong_document(project, agent, staff):
    r1, r2 = required_items(project)
    upload(agent, project, r1)
    submit(project, agent)
    review = services.project_return(
        acting_user=staff, project=project, item_ids=[r1.pk, r2.pk], note="申请表未盖章"
    )
    assert set(review.missing_items.all()) == {r1, r2}


def test_a_return_needs_a_reason(project, agent, staff):
    for item in required_items(project):
        upload(agent, project, item)
    submit(project, agent)
    refused(
        "return_reason_required", services.project_return, acting_user=staff, project=project, item_ids=[]
    )
    services.project_return(acting_user=staff, project=project, item_ids=[], note="标段划分需调整")


def test_a_return_cites_only_the_projects_checklist(project, agent, staff):
    submit(project, agent)
    foreign = ChecklistItem.objects.filter(category=Category.STATE_ASSETS).first()
    ids = [i.pk for i in required_items(project)]
    refused(
        "item_not_in_checklist",
        services.project_return,
        acting_user=staff,
        project=project,
        item_ids=[*ids, foreign.pk],
    )


def test_a_later_return_may_not_raise_what_should_have_been_said_the_first_time(project, agent, staff):
    r1, r2 = required_items(project)
    upload(agent, project, r1)
    submit(project, agent)
    services.project_return(acting_user=staff, project=project, item_ids=[r2.pk])  # r1 accepted as it is
    upload(agent, project, r2)
    submit(project, agent)
    before = counts()
    error = refused(
        "one_time_notice", services.project_return, acting_user=staff, project=project, item_ids=[r1.pk]
    )
    assert error.article == STANDARD_623 and error.status == 422
    assert r1.name in error.message_zh and error.extra["not_citable"] == [r1.pk]
    assert counts() == before
    # the newly uploaded document may be found wrong
    services.project_return(acting_user=staff, project=project, item_ids=[r2.pk], note="备案表版本不对")


def test_a_replaced_document_may_be_cited_again(project, agent, staff):
    r1, r2 = required_items(project)
    upload(agent, project, r1)
    submit(project, agent)
    services.project_return(acting_user=staff, project=project, item_ids=[r2.pk])
    upload(agent, project, r1, b"replaced")  # the party replaced it on its own
    upload(agent, project, r2)
    submit(project, agent)
    services.project_return(acting_user=staff, project=project, item_ids=[r1.pk], note="新换的申请表缺签字")


def test_items_still_missing_are_cited_again_and_must_be(project, agent, staff):
    r1, r2 = required_items(project)
    submit(project, agent)
    services.project_return(acting_user=staff, project=project, item_ids=[r1.pk, r2.pk])
    upload(agent, project, r1)
    submit(project, agent)
    refused(
        "missing_items_omitted", services.project_return, acting_user=staff, project=project, item_ids=[r1.pk]
    )
    review = services.project_return(acting_user=staff, project=project, item_ids=[r2.pk])
    assert list(review.missing_items.all()) == [r2]


def test_an_item_accepted_at_the_second_return_cannot_come_back_at_the_third(project, agent, staff):
    r1, r2 = required_items(project)
    submit(project, agent)
    services.project_return(acting_user=staff, project=project, item_ids=[r1.pk, r2.pk])
    upload(agent, project, r1)
    upload(agent, project, r2)
    submit(project, agent)
    services.project_return(acting_user=staff, project=project, item_ids=[r2.pk])  # r1 now fine
    upload(agent, project, r2, b"again")
    submit(project, agent)
    refused("one_time_notice", services.project_return, acting_user=staff, project=project, item_ids=[r1.pk])


def test_an_optional_item_not_named_at_first_cannot_be_named_later(
    certified, checklist, agent, tenderer, staff
):
    project = register_project(agent, tenderer.organization, category=Category.STATE_ASSETS)
    optional = ChecklistItem.objects.get(category=Category.STATE_ASSETS, required=False)
    required = required_items(project)
    assert len(required) == 3
    submit(project, agent)
    services.project_return(acting_user=staff, project=project, item_ids=[i.pk for i in required])
    for item in required:
        upload(agent, project, item)
    submit(project, agent)
    refused(
        "one_time_notice", services.project_return, acting_user=staff, project=project, item_ids=[optional.pk]
    )


def test_only_the_centres_staff_review(project, agent, staff, supervisor, auditor):
    submit(project, agent)
    items = [i.pk for i in required_items(project)]
    for user in (supervisor, auditor, agent):
        with pytest.raises(PermissionDenied):
            services.project_return(acting_user=user, project=project, item_ids=items)
        with pytest.raises(PermissionDenied):
            services.project_confirm(acting_user=user, project=project)
    elsewhere = UserFactory(role=Role.STAFF)  # staff of another trading centre
    with pytest.raises(PermissionDenied):
        services.project_return(acting_user=elsewhere, project=project, item_ids=items)


def test_a_draft_is_not_reviewed(project, staff):
    refused(
        "project_not_submitted",
        services.project_return,
        acting_user=staff,
        project=project,
        item_ids=[i.pk for i in required_items(project)],
    )
    refused("project_not_submitted", services.project_confirm, acting_user=staff, project=project)


def test_confirm_is_refused_while_documents_are_missing(project, agent, staff):
    r1, r2 = required_items(project)
    upload(agent, project, r1)
    submit(project, agent)
    before = counts()
    error = refused("documents_missing", services.project_confirm, acting_user=staff, project=project)
    assert r2.name in error.message_zh and r1.name not in error.message_zh
    assert error.extra["missing"] == [r2.pk]
    assert counts() == before


def test_confirm_registers_the_project_and_its_sections(project, agent, staff):
    services.section_add(acting_user=agent, project=project, spec=section_spec(name="二标段"))
    for item in required_items(project):
        upload(agent, project, item)
    submit(project, agent)
    clock.advance(dt.timedelta(hours=2))
    review = services.project_confirm(acting_user=staff, project=project)
    project.refresh_from_db()
    assert project.status == ProjectStatus.REGISTERED and project.registered_at == clock.now()
    assert project.responsible_staff == staff  # default: the reviewer (seed 002 §6.2.5)
    assert set(project.sections.values_list("status", flat=True)) == {SectionStatus.REGISTERED}
    assert review.decision == ReviewDecision.CONFIRMED
    (event,) = events(ProjectsAction.PROJECT_CONFIRMED)
    assert '"same_day":true' in event.payload and '"responsible_staff":"staff"' in event.payload
    assert {
        n.channel for n in Notification.objects.filter(recipient=agent, subject__contains="registered")
    } == {
        NotificationChannel.IN_APP,
        NotificationChannel.EMAIL,
    }


def test_confirm_the_next_day_is_recorded_as_late(project, agent, staff):
    for item in required_items(project):
        upload(agent, project, item)
    submit(project, agent)
    clock.advance(dt.timedelta(days=1))
    services.project_confirm(acting_user=staff, project=project)
    (event,) = events(ProjectsAction.PROJECT_CONFIRMED)
    assert '"same_day":false' in event.payload


def test_the_responsible_staff_member_is_staff_of_the_centre(
    project, agent, staff, colleague_staff, supervisor
):
    for item in required_items(project):
        upload(agent, project, item)
    submit(project, agent)
    for wrong in (agent, supervisor, UserFactory(role=Role.STAFF), 999999):
        error = refused(
            "responsible_staff_invalid",
            services.project_confirm,
            acting_user=staff,
            project=project,
            responsible_staff=wrong,
        )
        assert error.article == "朝阳市公共资源交易平台服务标准 6.2.5"
    services.project_confirm(acting_user=staff, project=project, responsible_staff=colleague_staff.pk)
    project.refresh_from_db()
    assert project.responsible_staff == colleague_staff
    assert Notification.objects.filter(recipient=colleague_staff, subject__contains="responsible").exists()


def test_an_inactive_checklist_item_is_not_required(project, agent, staff):
    r1, r2 = required_items(project)
    upload(agent, project, r1)
    services.checklist_item_update(acting_user=staff, item=r2, is_active=False)
    assert selectors.missing_items(project) == []
    submit(project, agent)
    services.project_confirm(acting_user=staff, project=project)


# ---- the checklist ------------------------------------------------------------------------------


SEED_6_2_2 = {
    Category.CONSTRUCTION: [("公共资源进场交易申请表", True), ("市招标投标监管网项目备案表", True)],
    Category.GOVERNMENT_PROCUREMENT: [
        ("公共资源进场交易申请表", True),
        ("财政采购系统项目备案或审批表", True),
    ],
    Category.LAND_MINING: [("公共资源进场交易申请表", True), ("出让委托书和相关附件", True)],
    Category.STATE_ASSETS: [
        ("公共资源进场交易申请表", True),
        ("资产处置批准文件", True),
        ("资产评估报告", True),
        ("委托拍卖合同（如有）", False),
    ],
}


def test_the_seeded_checklist_is_seed_002_section_6_2_2(checklist):
    for category, expected in SEED_6_2_2.items():
        items = selectors.checklist_items(category)
        assert [(i.name, i.required) for i in items] == expected


def test_staff_add_edit_reorder_and_deactivate_items(checklist, staff):
    item = services.checklist_item_add(
        acting_user=staff,
        category=Category.CONSTRUCTION,
        name="施工图审查合格书",
        description="如需",
        required=False,
    )
    assert item.order == 3
    services.checklist_item_update(acting_user=staff, item=item, name="施工图审查合格证明", required=True)
    ids = [i.pk for i in selectors.checklist_items(Category.CONSTRUCTION)]
    services.checklist_reorder(
        acting_user=staff, category=Category.CONSTRUCTION, item_ids=[ids[2], ids[0], ids[1]]
    )
    assert next(i.name for i in selectors.checklist_items(Category.CONSTRUCTION)) == "施工图审查合格证明"
    services.checklist_item_move(acting_user=staff, item=item, offset=1)
    assert [i.pk for i in selectors.checklist_items(Category.CONSTRUCTION)] == [ids[0], ids[2], ids[1]]
    services.checklist_item_update(acting_user=staff, item=item, is_active=False)
    assert item.pk not in [i.pk for i in selectors.checklist_items(Category.CONSTRUCTION)]
    assert len(events(ProjectsAction.CHECKLIST_ITEM_ADDED)) == 1
    assert len(events(ProjectsAction.CHECKLIST_ITEM_UPDATED)) == 2
    assert len(events(ProjectsAction.CHECKLIST_REORDERED)) == 2


def test_checklist_edits_are_checked(checklist, staff):
    refused("category_invalid", services.checklist_item_add, acting_user=staff, category="x", name="某")
    refused(
        "name_required",
        services.checklist_item_add,
        acting_user=staff,
        category=Category.CONSTRUCTION,
        name=" ",
    )
    ids = [i.pk for i in selectors.checklist_items(Category.CONSTRUCTION)]
    refused(
        "checklist_order_invalid",
        services.checklist_reorder,
        acting_user=staff,
        category=Category.CONSTRUCTION,
        item_ids=ids[:1],
    )
    refused(
        "checklist_order_invalid",
        services.checklist_reorder,
        acting_user=staff,
        category=Category.CONSTRUCTION,
        item_ids=[ids[0], ids[0]],
    )
    item = ChecklistItem.objects.get(pk=ids[0])
    refused("checklist_order_invalid", services.checklist_item_update, acting_user=staff, item=item, order=-1)


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.AUDITOR, Role.BIDDER])
def test_only_staff_edit_the_checklist(checklist, role):
    user = UserFactory(role=role)
    item = ChecklistItem.objects.first()
    with pytest.raises(PermissionDenied):
        services.checklist_item_add(acting_user=user, category=Category.CONSTRUCTION, name="某")
    with pytest.raises(PermissionDenied):
        services.checklist_item_update(acting_user=user, item=item, name="某")
    with pytest.raises(PermissionDenied):
        services.checklist_reorder(acting_user=user, category=Category.CONSTRUCTION, item_ids=[])


def test_every_event_verifies_in_the_log(project, agent, staff):
    from tenderhall.core.transparency import verify_log

    r1, r2 = required_items(project)
    submit(project, agent)
    services.project_return(acting_user=staff, project=project, item_ids=[r1.pk, r2.pk])
    upload(agent, project, r1)
    upload(agent, project, r2)
    submit(project, agent)
    services.project_confirm(acting_user=staff, project=project)
    assert verify_log().ok
    actions = [e.action for e in LogEvent.objects.filter(action__startswith="projects.").order_by("index")]
    assert actions == [
        "projects.project.registered",
        "projects.section.added",
        "projects.project.submitted",
        "projects.project.returned",
        "projects.document.uploaded",
        "projects.document.uploaded",
        "projects.project.submitted",
        "projects.project.confirmed",
    ]


def test_organizations_are_passed_as_objects_or_ids(certified, checklist, agent, tenderer):
    project = register_project(agent, tenderer.organization.pk, agent=agent.organization.pk)
    assert project.tenderer == tenderer.organization
    assert isinstance(project.agent, Organization)


def test_a_user_is_passed_where_a_custodian_is_expected(certified, checklist, agent, tenderer, staff):
    project = register_project(
        agent, tenderer.organization, sections=[section_spec(custodians=[agent, staff])]
    )
    assert selectors.custodians_of(project.sections.get()) == [agent, staff]


def test_content_file_names_are_kept_without_path(project, agent):
    doc = services.project_document_upload(
        acting_user=agent,
        project=project,
        checklist_item=required_items(project)[0],
        file=ContentFile(b"abc", name="../../etc/passwd"),
    )
    assert doc.filename == "passwd" and ".." not in doc.file.name


def test_a_storage_that_seeks_around_still_gets_the_right_hash(project, agent, monkeypatch):
    from django.core.files.storage import storages

    storage_class = type(storages["default"])
    original = storage_class._save

    def jumpy_save(self, name, content):  # re-reads a part after writing, as a retrying client may
        saved = original(self, name, content)
        content.seek(5)
        content.read(100)
        return saved

    monkeypatch.setattr(storage_class, "_save", jumpy_save)
    data = b"0123456789" * 1000
    doc = upload(agent, project, required_items(project)[0], data)
    assert doc.sha256 == hashlib.sha256(data).hexdigest() and doc.size == len(data)


@given(
    price_cents=st.integers(min_value=1, max_value=10**15),
    bond_cents=st.integers(min_value=0, max_value=10**14),
)
def test_the_bond_rule_is_exact_for_any_amount(price_cents, bond_cents):
    """条例 Art 26 in integer cents: allowed exactly when 50 × bond ≤ price."""
    price = Decimal(price_cents) / 100
    bond = Decimal(bond_cents) / 100
    try:
        services._check_bond(bond, price, Category.CONSTRUCTION)
    except ValidationFailed as error:
        assert error.code == "bond_above_limit" and 50 * bond_cents > price_cents
    else:
        assert 50 * bond_cents <= price_cents
