"""The opening (开标) of a section: the session, sign-ins, one decryption per live bid, the
custodians' share submissions, and the hall's event sequence (replayed by a live transport)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OpeningStatus(models.TextChoices):
    WAITING = "waiting", _("等待解密 / Waiting")
    DECRYPTING = "decrypting", _("解密中 / Decrypting")
    DECRYPTED = "decrypted", _("解密结束 / Decryption closed")
    READ_OUT = "read_out", _("已唱标 / Read out")
    FAILED = "failed", _("流标 / Failed")
    SUSPENDED = "suspended", _("暂停 / Suspended")


class OpeningSession(models.Model):
    section = models.OneToOneField("projects.Section", on_delete=models.PROTECT, related_name="opening")
    status = models.CharField(max_length=20, choices=OpeningStatus.choices, default=OpeningStatus.WAITING)
    status_before_suspension = models.CharField(max_length=20, blank=True)
    started_at = models.DateTimeField()
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    window_closed_at = models.DateTimeField(null=True, blank=True)
    # The log event that closed the window: its signed tree head seeds the coefficient draw.
    window_close_log_index = models.BigIntegerField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    read_out_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    failed_notice = models.ForeignKey(
        "notices.Notice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The drawn coefficient (benchmark price): K and everything needed to recompute it.
    coefficient = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    coefficient_seed = models.CharField(max_length=64, blank=True)
    coefficient_tree_size = models.BigIntegerField(null=True, blank=True)
    coefficient_inputs = models.JSONField(default=dict, blank=True)
    # The table read out (唱标), frozen at reading out.
    table = models.JSONField(default=list, blank=True)

    def can_open_window(self) -> bool:
        return self.status == OpeningStatus.WAITING

    def can_unlock(self, now: object) -> bool:
        return (
            self.status == OpeningStatus.DECRYPTING
            and self.window_start is not None
            and self.window_end is not None
            and self.window_start <= now < self.window_end  # type: ignore[operator]
        )

    def can_close_window(self) -> bool:
        return self.status == OpeningStatus.DECRYPTING

    def can_read_out(self) -> bool:
        return self.status == OpeningStatus.DECRYPTED

    def can_fail(self) -> bool:
        return self.status in (OpeningStatus.WAITING, OpeningStatus.DECRYPTING, OpeningStatus.DECRYPTED)

    def can_suspend(self) -> bool:
        return self.status in (OpeningStatus.WAITING, OpeningStatus.DECRYPTING, OpeningStatus.DECRYPTED)

    def can_resume(self) -> bool:
        return self.status == OpeningStatus.SUSPENDED


class HallSignIn(models.Model):
    section = models.ForeignKey("projects.Section", on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    # The signing certificate whose signature over a hall challenge admitted the bidder.
    certificate_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["section", "user"], name="hall_sign_in_once")]


class HallChallenge(models.Model):
    """A one-time nonce a bidder signs with its signing certificate to sign in to one hall."""

    section = models.ForeignKey("projects.Section", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class DecryptionStatus(models.TextChoices):
    PENDING = "pending", _("待解密 / Pending")
    QUEUED = "queued", _("解密中 / Decrypting")  # key received; the server decrypts in the background
    DECRYPTED = "decrypted", _("已解密 / Decrypted")
    FAILED = "failed", _("解密失败 / Failed")
    BACKUP_DECRYPTED = "backup_decrypted", _("备用解密 / Backup decrypted")


class Classification(models.TextChoices):
    """电子招标投标办法 Art 31: an undecrypted bid is 撤销 (bidder's fault) or 撤回 (other cause)."""

    NONE = "", _("— / —")
    REVOKED = "撤销", _("撤销（投标人原因） / Revoked (bidder's fault)")
    WITHDRAWN = "撤回", _("撤回（其他原因） / Withdrawn (other cause)")


class Decryption(models.Model):
    session = models.ForeignKey(OpeningSession, on_delete=models.PROTECT, related_name="decryptions")
    bid = models.OneToOneField("bidding.Bid", on_delete=models.PROTECT, related_name="decryption")
    status = models.CharField(
        max_length=20, choices=DecryptionStatus.choices, default=DecryptionStatus.PENDING
    )
    classification = models.CharField(max_length=4, choices=Classification.choices, blank=True, default="")
    reason_code = models.CharField(max_length=60, blank=True)
    reason_zh = models.TextField(blank=True)
    reason_en = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    backup_requested_at = models.DateTimeField(null=True, blank=True)
    file_key_sha256 = models.CharField(max_length=64, blank=True)  # never the key itself
    queued_at = models.DateTimeField(null=True, blank=True)  # when the key arrived (QUEUED)
    decrypted_at = models.DateTimeField(null=True, blank=True)
    package = models.FileField(upload_to="bids/opened/%Y/%m/", max_length=300, blank=True)
    package_sha256 = models.CharField(max_length=64, blank=True)
    package_size = models.BigIntegerField(null=True, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    signature_ok = models.BooleanField(null=True)
    manifest_ok = models.BooleanField(null=True)
    opening_stanza_ok = models.BooleanField(null=True)

    class Meta:
        ordering = ["session_id", "bid_id"]

    def is_open(self) -> bool:
        return self.status in (DecryptionStatus.DECRYPTED, DecryptionStatus.BACKUP_DECRYPTED)


class ShareSubmission(models.Model):
    """A custodian's share, as a fact: who sent which index, when, and whether it verified.
    The share itself is never stored."""

    session = models.ForeignKey(OpeningSession, on_delete=models.PROTECT, related_name="share_submissions")
    custodian = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    share_index = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    verified = models.BooleanField()
    used = models.BooleanField(default=False)  # consumed by a backup decryption round

    class Meta:
        ordering = ["session_id", "at", "pk"]


class HallEvent(models.Model):
    """What the hall showed, in order: a live transport replays ``seq > after``."""

    section = models.ForeignKey("projects.Section", on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        ordering = ["section_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["section", "seq"], name="hall_event_seq_unique")]


# ---- the opening record (开标记录) and the witness record (见证记录, seed 000 §7.3.2) -------------------


class RecordStatus(models.TextChoices):
    CONFIRMING = "confirming", _("待确认 / Awaiting confirmation")
    CLOSED = "closed", _("已确认 / Closed")


class OpeningRecord(models.Model):
    """The record generated after reading out: canonical JSON and a PDF, both hashed."""

    section = models.OneToOneField(
        "projects.Section", on_delete=models.PROTECT, related_name="opening_record"
    )
    status = models.CharField(max_length=20, choices=RecordStatus.choices, default=RecordStatus.CONFIRMING)
    generated_at = models.DateTimeField()
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    record = models.JSONField()
    record_sha256 = models.CharField(max_length=64)  # of the canonical JSON bytes the bidders sign
    pdf = models.FileField(upload_to="opening/records/%Y/%m/", max_length=300)
    pdf_sha256 = models.CharField(max_length=64)
    confirm_until = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    def can_confirm(self, now: object) -> bool:
        return self.status == RecordStatus.CONFIRMING and now < self.confirm_until  # type: ignore[operator]

    def can_close(self) -> bool:
        return self.status == RecordStatus.CONFIRMING


class ConfirmationKind(models.TextChoices):
    SIGNED = "signed", _("签名确认 / Signed")
    SILENCE = "silence", _("逾期未答复视为确认 / Confirmed by silence")


class RecordConfirmation(models.Model):
    record = models.ForeignKey(OpeningRecord, on_delete=models.PROTECT, related_name="confirmations")
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=ConfirmationKind.choices)
    signature = models.TextField(blank=True)  # base64, over "tenderhall-opening-record:v1:<sha256>"
    certificate_sha256 = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["record_id", "at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["record", "organization"], name="record_confirmed_once")
        ]


class WitnessRecord(models.Model):
    """见证记录: the trading centre's witness notes of the opening, abnormal events flagged."""

    section = models.ForeignKey("projects.Section", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    abnormal = models.BooleanField(default=False)
    at = models.DateTimeField()

    class Meta:
        ordering = ["section_id", "at", "pk"]
