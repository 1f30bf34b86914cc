"""Announcements and publicity (公告公示), tender documents, clarifications and opening keys."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class NoticeKind(models.TextChoices):
    """Seed 002 §6.4.1, plus the failed-tender and termination notices of later stages."""

    TENDER = "tender", _("招标公告 / Tender announcement")
    PROCUREMENT = "procurement", _("采购公告 / Procurement announcement")
    GRANT = "grant", _("出让公告 / Grant announcement")
    TRANSFER = "transfer", _("转让公告 / Transfer announcement")
    CORRECTION = "correction", _("更正公告 / Correction notice")
    CANDIDATE_PUBLICITY = "candidate_publicity", _("中标候选人公示 / Candidate publicity")
    DEAL_PUBLICITY = "deal_publicity", _("成交结果公示 / Deal result publicity")
    AWARD_RESULT = "award_result", _("中标结果公告 / Award result")
    DEAL = "deal", _("成交公告 / Deal announcement")
    FAILED = "failed", _("流标公告 / Failed tender notice")
    TERMINATION = "termination", _("终止公告 / Termination notice")


# The kinds that open bidding for their sections (they fix the timeline and make the opening key).
OPENING_KINDS = (NoticeKind.TENDER, NoticeKind.PROCUREMENT, NoticeKind.GRANT, NoticeKind.TRANSFER)


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("草稿 / Draft")
    PUBLISHED = "published", _("已发布 / Published")


class Notice(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="notices")
    sections = models.ManyToManyField("projects.Section", related_name="notices")
    kind = models.CharField(max_length=30, choices=NoticeKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=20, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    body_sha256 = models.CharField(
        max_length=64, blank=True
    )  # fixed at publication: the content is immutable
    # The timeline this notice sets (tender/correction); copied to each section on publication.
    docs_sale_start = models.DateField(null=True, blank=True)
    docs_sale_end = models.DateField(null=True, blank=True)
    bid_deadline = models.DateTimeField(null=True, blank=True)
    opening_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    def can_edit(self) -> bool:
        return self.status == NoticeStatus.DRAFT


class OpeningKey(models.Model):
    """DESIGN §4: the section's X25519 opening key. Only the public half is stored; the 16-byte seed
    it derives from exists only as k-of-n Shamir shares, each encrypted to a custodian."""

    section = models.OneToOneField("projects.Section", on_delete=models.PROTECT, related_name="opening_key")
    public_key = models.CharField(max_length=64)  # raw X25519 public key, hex
    recipient = models.CharField(max_length=100)  # the same key as an age recipient (age1...)
    threshold = models.PositiveSmallIntegerField()
    share_count = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField()


class KeyShare(models.Model):
    opening_key = models.ForeignKey(OpeningKey, on_delete=models.PROTECT, related_name="shares")
    custodian = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    share_index = models.PositiveSmallIntegerField()
    encrypted_share = models.BinaryField()  # age file to the custodian's encryption certificate
    share_sha256 = models.CharField(
        max_length=64
    )  # SHA-256(index byte ‖ 16-byte share), committed in the log
    log_index = models.BigIntegerField()

    class Meta:
        ordering = ["opening_key_id", "share_index"]
        constraints = [
            models.UniqueConstraint(fields=["opening_key", "share_index"], name="share_index_unique")
        ]


class TenderDocument(models.Model):
    """One published version of a section's tender documents (招标文件)."""

    section = models.ForeignKey("projects.Section", on_delete=models.PROTECT, related_name="tender_documents")
    version = models.PositiveSmallIntegerField()
    filename = models.CharField(max_length=200)
    file = models.FileField(upload_to="tender-documents/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    note = models.TextField(blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["section_id", "version"]
        constraints = [models.UniqueConstraint(fields=["section", "version"], name="document_version_unique")]


class DocumentObtainment(models.Model):
    """Who obtained which version, when (later stages need it). Secret: 法 Art 22."""

    document = models.ForeignKey(TenderDocument, on_delete=models.PROTECT, related_name="obtainments")
    section = models.ForeignKey("projects.Section", on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    obtained_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["document", "organization"], name="obtain_version_once")
        ]


class Clarification(models.Model):
    """答疑澄清: an answer or a modification published to everyone who obtained the documents."""

    section = models.ForeignKey("projects.Section", on_delete=models.PROTECT, related_name="clarifications")
    text = models.TextField()
    affects_bid_preparation = models.BooleanField(default=True)
    deadline_before = models.DateTimeField(null=True, blank=True)
    deadline_after = models.DateTimeField(null=True, blank=True)  # set when it forced a postponement
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["section_id", "published_at", "pk"]


class QuestionStatus(models.TextChoices):
    OPEN = "open", _("待答复 / Open")
    ANSWERED = "answered", _("已答复 / Answered")


class Question(models.Model):
    """A bidder's question. Its asker is shown to nobody outside the trading centre."""

    section = models.ForeignKey("projects.Section", on_delete=models.PROTECT, related_name="questions")
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    asked_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=QuestionStatus.choices, default=QuestionStatus.OPEN)
    answer = models.ForeignKey(
        Clarification, null=True, blank=True, on_delete=models.PROTECT, related_name="questions"
    )

    class Meta:
        ordering = ["section_id", "asked_at", "pk"]
