"""Experts (评标专家), extraction (专家抽取) and the committee (评标委员会), seeds 000 §7.4.1,
002 §6.5.5 and 004; 法 Art 37, 条例 Art 46.

Layout of a request: ExtractionRequest (one section, one evaluation date) → ExtractionVenue (the
main venue and, for remote evaluation (远程异地评标, seed 004), the secondary venues) →
ExtractionDemand (count per specialty per venue, plus reserves) → ExtractionAssignment (each
drawn expert in draw order: the first `count` are called, the rest are reserves) → CommitteeMember
(an expert who accepted, at check-in)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenderhall.experts.id_lists import IdListField


class Specialty(models.Model):
    """A node of the specialty code tree (专业分类), e.g. A01 房建 → A0101 土建."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ExpertKind(models.TextChoices):
    # 法 Art 37: technical and economic experts are at least two thirds of the committee.
    TECHNICAL = "technical", _("技术 / Technical")
    ECONOMIC = "economic", _("经济 / Economic")


class ExpertStatus(models.TextChoices):
    ACTIVE = "active", _("在库 / Active")
    SUSPENDED = "suspended", _("暂停 / Suspended")
    RETIRED = "retired", _("退出 / Retired")


class Expert(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="expert"
    )
    name = models.CharField(max_length=50)
    # The full 身份证号 only for extraction staff; everyone else sees `id_number_masked`.
    id_number = models.CharField(max_length=18, unique=True)
    id_number_masked = models.CharField(max_length=18)
    employer_name = models.CharField(max_length=200)
    employer_uscc = models.CharField(max_length=18, db_index=True)
    region = models.CharField(max_length=100, db_index=True)
    kind = models.CharField(max_length=20, choices=ExpertKind.choices, default=ExpertKind.TECHNICAL)
    title = models.CharField(max_length=50, blank=True)  # 职称
    years_of_practice = models.PositiveSmallIntegerField(default=0)
    phone = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=ExpertStatus.choices, default=ExpertStatus.ACTIVE)
    specialties = models.ManyToManyField["Specialty", "ExpertSpecialty"](
        Specialty, related_name="experts", through="ExpertSpecialty"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        indexes = [
            # The extraction pool reads (status, region) and checks the employer in the index alone
            # (covering, with the id): no table row is read for the 20,000 experts of a region.
            models.Index(fields=["status", "region", "employer_uscc", "id"], name="expert_status_region")
        ]

    def __str__(self) -> str:
        return self.name

    def can_change_status_to(self, status: str) -> bool:
        """Active ⇄ suspended; either may retire; retired is final (re-admission is a new vetting)."""
        allowed = {
            ExpertStatus.ACTIVE: {ExpertStatus.SUSPENDED, ExpertStatus.RETIRED},
            ExpertStatus.SUSPENDED: {ExpertStatus.ACTIVE, ExpertStatus.RETIRED},
        }
        return status in allowed.get(ExpertStatus(self.status), set())


class ExpertSpecialty(models.Model):
    """The expert ⇄ specialty link: the table Django would create for the many-to-many field,
    declared to carry what extraction reads. A pool is "experts of specialty S, active, in region
    R": ``region`` and ``status`` are copies of the expert's, so that question is one index range
    of (specialty, status, region, expert), covering. Copies, kept in step by one function,
    ``services.registry.expert_specialties_sync``, which every write of an expert's region, status
    or specialties calls; no default, so a link written without it is in no pool (status "")."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, db_index=False)
    specialty = models.ForeignKey(Specialty, on_delete=models.CASCADE, db_index=False)
    region = models.CharField(max_length=100)  # = expert.region
    status = models.CharField(max_length=20, choices=ExpertStatus.choices)  # = expert.status

    class Meta:
        db_table = "experts_expert_specialties"
        constraints = [models.UniqueConstraint(fields=["expert", "specialty"], name="expert_specialty_once")]
        indexes = [
            models.Index(fields=["specialty", "status", "region", "expert"], name="specialty_status_region")
        ]


class ExpertLeave(models.Model):
    """A period the expert is not available (请假), inclusive dates."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="leaves")
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_on"]
        indexes = [models.Index(fields=["starts_on", "ends_on"], name="leave_dates")]


class ExpertRelationship(models.Model):
    """A relationship the expert declared with an organization (利害关系): recusal rule."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="relationships")
    organization_uscc = models.CharField(max_length=18, db_index=True)
    organization_name = models.CharField(max_length=200, blank=True)
    relation = models.CharField(max_length=200)
    declared_at = models.DateTimeField()


class BadBehaviourRecord(models.Model):
    """不良行为记录: while `suspended_until` lies ahead the expert is not drawn."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="bad_behaviour")
    description = models.TextField()
    occurred_on = models.DateField()
    suspended_until = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()


class ImportBatch(models.Model):
    """One import of an expert file with its validation report (bad rows listed, good rows kept)."""

    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField()
    rows_total = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list)  # [{"row": n, "field": "...", "zh": "...", "en": "..."}]


class ExtractionStatus(models.TextChoices):
    INVITING = "inviting", _("邀请副场 / Inviting venues")  # remote: waiting for secondary venues
    COMMITTED = "committed", _("已承诺 / Committed")  # pool and seed hashes in the log
    CONFIRMING = "confirming", _("确认中 / Confirming")  # drawn; experts answering
    COMPLETE = "complete", _("抽取完成 / Complete")  # every place accepted
    EVALUATING = "evaluating", _("评标中 / Evaluating")  # check-in started: identities revealed
    DECIDED = "decided", _("已定标 / Result decided")  # seed published, names public (法 Art 37)
    FAILED = "failed", _("抽取失败 / Failed")  # pool too small, or reserves ran out
    CANCELLED = "cancelled", _("已取消 / Cancelled")


class ExtractionRequest(models.Model):
    section = models.ForeignKey("projects.Section", on_delete=models.PROTECT, related_name="extractions")
    is_remote = models.BooleanField(default=False)  # 远程异地评标
    evaluation_starts_at = models.DateTimeField()
    evaluation_ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=ExtractionStatus.choices, default=ExtractionStatus.COMMITTED
    )
    # Rules in force for this request: {"frequency_cap": 3, "frequency_days": 30,
    # "excluded_regions": [...], "exclude_own_region": bool, ...} (documented in docs/experts.md).
    rules = models.JSONField(default=dict)
    reply_minutes = models.PositiveIntegerField(default=30)  # no answer within → next reserve
    tenderer_representatives = models.PositiveSmallIntegerField(default=0)  # 招标人代表 (法 Art 37)
    # Verifiable draw: hashes logged before the draw; the seed itself kept until DECIDED.
    pool_sha256 = models.CharField(max_length=64, blank=True)
    seed_sha256 = models.CharField(max_length=64, blank=True)
    seed_hex = models.CharField(max_length=64, blank=True)
    seed_published_at = models.DateTimeField(null=True, blank=True)
    # Which documented draw made (and replays) this request: 1 ranked by hash, 2 shuffled
    # (services.extraction.DRAW_*; requests drawn before version 2 keep 1).
    draw_version = models.PositiveSmallIntegerField(default=2)
    failure = models.JSONField(default=dict, blank=True)  # pool-too-small report, per rule
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    drawn_at = models.DateTimeField(null=True, blank=True)
    leader = models.ForeignKey(
        "CommitteeMember", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-pk"]


class VenueRole(models.TextChoices):
    MAIN = "main", _("主场 / Main venue")
    SECONDARY = "secondary", _("副场 / Secondary venue")


class InvitationStatus(models.TextChoices):
    NOT_NEEDED = "not_needed", _("无需邀请 / Not needed")  # the main venue
    PENDING = "pending", _("待确认 / Pending")
    ACCEPTED = "accepted", _("已接受 / Accepted")
    DECLINED = "declined", _("已拒绝 / Declined")


class ExtractionVenue(models.Model):
    request = models.ForeignKey(ExtractionRequest, on_delete=models.CASCADE, related_name="venues")
    centre = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20, choices=VenueRole.choices)
    room = models.ForeignKey("venues.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    booking = models.ForeignKey(
        "venues.Booking", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    seats = models.PositiveSmallIntegerField(default=0)
    # 四不知: the secondary venue's staff see this code, not the project, until evaluation starts.
    project_alias = models.CharField(max_length=20)
    invitation = models.CharField(
        max_length=20, choices=InvitationStatus.choices, default=InvitationStatus.NOT_NEEDED
    )
    invited_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answer_reason = models.CharField(max_length=200, blank=True)
    # The verifiable draw that picked this secondary venue (docs/remote-evaluation.md): the
    # candidates' and the seed's hashes are logged before the pick; the seed is kept until DECIDED.
    draw_round = models.PositiveSmallIntegerField(null=True, blank=True)
    draw_candidates = models.JSONField(default=list, blank=True)  # sorted centre ids
    draw_candidates_sha256 = models.CharField(max_length=64, blank=True)
    draw_seed_sha256 = models.CharField(max_length=64, blank=True)
    draw_seed_hex = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["request", "centre"], name="venue_once_per_request")]


class ExtractionDemand(models.Model):
    request = models.ForeignKey(ExtractionRequest, on_delete=models.CASCADE, related_name="demands")
    venue = models.ForeignKey(ExtractionVenue, on_delete=models.CASCADE, related_name="demands")
    specialty = models.ForeignKey(Specialty, on_delete=models.PROTECT, related_name="+")
    count = models.PositiveSmallIntegerField()
    reserves = models.PositiveSmallIntegerField(default=0)
    # The eligible pool (sorted expert ids) this demand was drawn from: its hash is committed (over
    # the canonical JSON of the list); stored delta-coded (id_lists, docs/extraction.md).
    pool = IdListField(default=list)

    class Meta:
        ordering = ["pk"]


class AssignmentStatus(models.TextChoices):
    RESERVE = "reserve", _("备选 / Reserve")  # drawn, not called (yet)
    NOTIFIED = "notified", _("已通知 / Notified")
    ACCEPTED = "accepted", _("已接受 / Accepted")
    DECLINED = "declined", _("已拒绝 / Declined")
    TIMED_OUT = "timed_out", _("超时未答复 / No answer")
    RECUSED = "recused", _("已回避 / Recused")
    RELEASED = "released", _("未使用 / Released")  # reserves not needed once complete


class ExtractionAssignment(models.Model):
    request = models.ForeignKey(ExtractionRequest, on_delete=models.CASCADE, related_name="assignments")
    demand = models.ForeignKey(ExtractionDemand, on_delete=models.CASCADE, related_name="assignments")
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="assignments")
    rank = models.PositiveIntegerField()  # position in the demand's draw order (0-based)
    status = models.CharField(
        max_length=20, choices=AssignmentStatus.choices, default=AssignmentStatus.RESERVE
    )
    notified_at = models.DateTimeField(null=True, blank=True)
    reply_due_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    reply_channel = models.CharField(max_length=20, blank=True)  # sms / voice / link / page
    reply_code_sha256 = models.CharField(max_length=64, blank=True)  # one-time link token, hashed
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["demand", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["request", "expert"], name="expert_once_per_request"),
            models.UniqueConstraint(fields=["demand", "rank"], name="rank_once_per_demand"),
        ]
        # The frequency cap counts recent calls per expert: a range of this index, however long
        # the history grows.
        indexes = [models.Index(fields=["status", "notified_at", "expert"], name="assignment_recent_calls")]


class CommitteeMember(models.Model):
    """An expert (or a tenderer's representative) on the committee, checked in at a venue."""

    request = models.ForeignKey(ExtractionRequest, on_delete=models.CASCADE, related_name="members")
    venue = models.ForeignKey(ExtractionVenue, on_delete=models.PROTECT, related_name="members")
    assignment = models.OneToOneField(
        ExtractionAssignment, null=True, blank=True, on_delete=models.PROTECT, related_name="member"
    )
    # 招标人代表 (法 Art 37): not drawn; named by the tenderer.
    representative = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    seat = models.ForeignKey("venues.Seat", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    identity_confirmed = models.BooleanField(default=False)
    devices_stored = models.BooleanField(default=False)
    declared_no_conflict_at = models.DateTimeField(null=True, blank=True)
    recused_at = models.DateTimeField(null=True, blank=True)
    recusal_reason = models.CharField(max_length=200, blank=True)
    vote_for = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    voted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
