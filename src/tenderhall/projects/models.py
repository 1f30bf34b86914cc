"""Trading projects (交易项目), their sections (标段/包) and the registration checklist."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    CONSTRUCTION = "construction", _("工程建设 / Construction")
    GOVERNMENT_PROCUREMENT = "government_procurement", _("政府采购 / Government procurement")
    LAND_MINING = "land_mining", _("土地使用权/矿业权出让 / Land-use and mining rights")
    STATE_ASSETS = "state_assets", _("国有产权/资产交易 / State-owned property and assets")


class Procedure(models.TextChoices):
    OPEN = "open", _("公开招标 / Open tender")
    INVITED = "invited", _("邀请招标 / Invited tender")
    COMPETITIVE_NEGOTIATION = "competitive_negotiation", _("竞争性谈判 / Competitive negotiation")
    COMPETITIVE_CONSULTATION = "competitive_consultation", _("竞争性磋商 / Competitive consultation")
    INQUIRY = "inquiry", _("询价 / Request for quotation")


class EvaluationMethod(models.TextChoices):
    COMPREHENSIVE = "comprehensive", _("综合评估法 / Comprehensive evaluation")
    LOWEST_EVALUATED_PRICE = "lowest_evaluated_price", _("经评审的最低投标价法 / Lowest evaluated price")
    BENCHMARK_PRICE = "benchmark_price", _("合理低价法（基准价） / Benchmark price")


class ProjectStatus(models.TextChoices):
    DRAFT = "draft", _("草稿 / Draft")
    SUBMITTED = "submitted", _("待确认 / Submitted")
    RETURNED = "returned", _("退回补正 / Returned")
    REGISTERED = "registered", _("已登记 / Registered")


class Project(models.Model):
    code = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=30, choices=Category.choices)
    procedure = models.CharField(max_length=30, choices=Procedure.choices)
    tenderer = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="tendered_projects"
    )
    agent = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agented_projects",
    )
    centre = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="centre_projects"
    )
    region = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=ProjectStatus.choices, default=ProjectStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Who sent it for review: the decision is notified to this person (seed 002 §6.2.3).
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    registered_at = models.DateTimeField(null=True, blank=True)
    returned_count = models.PositiveSmallIntegerField(default=0)
    responsible_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def can_edit(self) -> bool:
        return self.status in (ProjectStatus.DRAFT, ProjectStatus.RETURNED)

    def can_submit(self) -> bool:
        return self.status in (ProjectStatus.DRAFT, ProjectStatus.RETURNED)

    def can_review(self) -> bool:
        return self.status == ProjectStatus.SUBMITTED


class ChecklistItem(models.Model):
    """One required document of a category's checklist (seed 002 §6.2.2); staff edit it."""

    category = models.CharField(max_length=30, choices=Category.choices)
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=400, blank=True)
    required = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "order", "pk"]

    def __str__(self) -> str:
        return self.name


class ProjectDocument(models.Model):
    """A registration document uploaded for a checklist item."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents")
    checklist_item = models.ForeignKey(ChecklistItem, null=True, blank=True, on_delete=models.PROTECT)
    filename = models.CharField(max_length=200)
    file = models.FileField(upload_to="projects/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()
    # The project's returned_count when uploaded: a document with review_round == n was uploaded
    # after the n-th return (the one-time notice rule, seed 002 §6.2.3, compares rounds, not clocks).
    review_round = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["pk"]


class ReviewDecision(models.TextChoices):
    RETURNED = "returned", _("退回补正 / Returned")
    CONFIRMED = "confirmed", _("确认登记 / Confirmed")


class ProjectReview(models.Model):
    """A staff decision; a return lists everything missing at once (一次性告知, seed 002 §6.2.3)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=20, choices=ReviewDecision.choices)
    missing_items = models.ManyToManyField(ChecklistItem, blank=True, related_name="+")
    note = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]


class SectionStatus(models.TextChoices):
    """DESIGN §5: the lifecycle of a section."""

    DRAFT = "draft", _("草稿 / Draft")
    REGISTERED = "registered", _("已登记 / Registered")
    ANNOUNCED = "announced", _("招标中 / Bidding")
    OPENING = "opening", _("开标中 / Opening")
    OPENED = "opened", _("已开标 / Opened")
    EVALUATING = "evaluating", _("评标中 / Evaluating")
    EVALUATED = "evaluated", _("评标结束 / Evaluated")
    PUBLICITY = "publicity", _("公示中 / Publicity")
    AWARDED = "awarded", _("已定标 / Awarded")
    CONTRACTED = "contracted", _("已签约 / Contracted")
    ARCHIVED = "archived", _("已归档 / Archived")
    SUSPENDED = "suspended", _("暂停 / Suspended")
    FAILED = "failed", _("流标 / Failed")
    TERMINATED = "terminated", _("终止 / Terminated")


class Section(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sections")
    number = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    estimated_price = models.DecimalField(max_digits=16, decimal_places=2)  # yuan
    bond_amount = models.DecimalField(max_digits=16, decimal_places=2)  # yuan; ≤ 2% (条例 Art 26)
    evaluation_method = models.CharField(max_length=30, choices=EvaluationMethod.choices)
    evaluation_params = models.JSONField(default=dict, blank=True)
    custodian_threshold = models.PositiveSmallIntegerField(default=2)  # k of the opening key's k-of-n
    status = models.CharField(max_length=20, choices=SectionStatus.choices, default=SectionStatus.DRAFT)
    status_before_suspension = models.CharField(max_length=20, blank=True)
    # The statutory timeline, fixed when the announcement is published (notices.timeline).
    docs_sale_start = models.DateField(null=True, blank=True)
    docs_sale_end = models.DateField(null=True, blank=True)
    bid_deadline = models.DateTimeField(null=True, blank=True)
    opening_at = models.DateTimeField(null=True, blank=True)
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "number"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="section_number_unique")]

    def __str__(self) -> str:
        return f"{self.project.code}-{self.number:02d} {self.name}"

    @property
    def code(self) -> str:
        return f"{self.project.code}-{self.number:02d}"

    def can_announce(self) -> bool:
        return self.status == SectionStatus.REGISTERED

    def is_bidding(self) -> bool:
        return self.status == SectionStatus.ANNOUNCED


class SectionCustodian(models.Model):
    """A holder of one share of the section's opening key (DESIGN §4: agent, centre, supervisor)."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="custodians")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["section_id", "order"]
        constraints = [models.UniqueConstraint(fields=["section", "user"], name="custodian_once_per_section")]
