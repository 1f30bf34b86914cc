"""Sealed bids (DESIGN §4): resumable uploads of age-encrypted bid packages, and the bids."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UploadStatus(models.TextChoices):
    OPEN = "open", _("上传中 / Uploading")
    FINALIZED = "finalized", _("已完成 / Finalized")
    ABORTED = "aborted", _("已放弃 / Aborted")
    EXPIRED = "expired", _("已过期 / Expired")


class UploadSession(models.Model):
    """One resumable upload: chunks are appended at the offset the server expects, to a part file
    under the data dir; finalize checks and stores it atomically as a bid."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    section = models.ForeignKey("projects.Section", on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    size = models.BigIntegerField()
    # The SHA-256 the client declared at creation (optional), checked at finalize.
    declared_sha256 = models.CharField(max_length=64, blank=True)
    received = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=UploadStatus.choices, default=UploadStatus.OPEN)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    source_ip = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def can_append(self, now: dt.datetime) -> bool:
        return self.status == UploadStatus.OPEN and now < self.expires_at

    def can_abort(self) -> bool:
        return self.status == UploadStatus.OPEN

    @property
    def percent(self) -> int:
        return int(self.received * 100 // self.size) if self.size else 0


class BidStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已递交 / Submitted")
    REPLACED = "replaced", _("已被替换 / Replaced")
    WITHDRAWN = "withdrawn", _("已撤回 / Withdrawn")


class Bid(models.Model):
    """A bid as the platform holds it before the opening: ciphertext only (DESIGN §4)."""

    section = models.ForeignKey("projects.Section", on_delete=models.PROTECT, related_name="bids")
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="bids")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    upload = models.OneToOneField(UploadSession, on_delete=models.PROTECT, related_name="bid")
    status = models.CharField(max_length=20, choices=BidStatus.choices, default=BidStatus.SUBMITTED)
    file = models.FileField(upload_to="bids/%Y/%m/", max_length=300)
    ciphertext_sha256 = models.CharField(max_length=64)
    ciphertext_size = models.BigIntegerField()
    received_at = models.DateTimeField()
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Evidence for the supervisors' collusion checks (only they see it): where it came from, and
    # (filled at the opening, from the decrypted manifest) the bid tool's machine fingerprint.
    source_ip = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    machine_fingerprint = models.JSONField(default=dict, blank=True)
    # The signed receipt handed to the bidder, and the log entry it points at.
    receipt = models.JSONField(default=dict)
    log_index = models.BigIntegerField()
    commitment_nonce = models.CharField(max_length=64)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["section", "organization"],
                condition=models.Q(status="submitted"),
                name="one_live_bid_per_bidder",
            )
        ]

    def can_withdraw(self, now: dt.datetime) -> bool:
        # 法 Art 29: a bid may be withdrawn until the deadline.
        deadline = self.section.bid_deadline
        return self.status == BidStatus.SUBMITTED and deadline is not None and now < deadline
