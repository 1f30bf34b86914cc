"""Organizations, people, their roles and their certificates."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationKind(models.TextChoices):
    TRADING_CENTRE = "trading_centre", _("交易中心 / Trading centre")
    TENDERER = "tenderer", _("招标人 / Tenderer")
    AGENT = "agent", _("招标代理机构 / Agent")
    BIDDER = "bidder", _("投标人 / Bidder")
    GUARANTOR = "guarantor", _("担保机构 / Guarantor")
    BANK = "bank", _("银行 / Bank")
    SUPERVISOR = "supervisor", _("监管部门 / Supervising department")


class Organization(models.Model):
    name = models.CharField(_("名称 / Name"), max_length=200)
    # 统一社会信用代码, GB 32100-2015 (checked by core.ids.is_valid_uscc)
    uscc = models.CharField(_("统一社会信用代码 / Unified social credit code"), max_length=18, unique=True)
    kind = models.CharField(_("类型 / Kind"), max_length=20, choices=OrganizationKind.choices)
    region = models.CharField(_("地区 / Region"), max_length=100, blank=True)
    contact_phone = models.CharField(_("联系电话 / Phone"), max_length=40, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    STAFF = "staff", _("交易中心工作人员 / Trading-centre staff")
    AGENT = "agent", _("代理机构 / Agent")
    TENDERER = "tenderer", _("招标人 / Tenderer")
    BIDDER = "bidder", _("投标人 / Bidder")
    EXPERT = "expert", _("评标专家 / Expert")
    SUPERVISOR = "supervisor", _("监管人员 / Supervisor")
    AUDITOR = "auditor", _("审计 / Auditor")
    OPERATOR = "operator", _("运维 / Operator")


class User(AbstractUser):
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(_("角色 / Role"), max_length=20, choices=Role.choices)
    display_name = models.CharField(_("姓名 / Name"), max_length=100, blank=True)
    phone = models.CharField(_("手机 / Mobile"), max_length=40, blank=True)
    # TOTP second factor (RFC 6238); empty = not enrolled.
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_last_step = models.BigIntegerField(default=0)  # refuses a replayed code

    REQUIRED_FIELDS = ["email"]

    @property
    def has_totp(self) -> bool:
        return bool(self.totp_secret)


class CertificateUsage(models.TextChoices):
    SIGNING = "signing", _("签名证书 / Signing")
    ENCRYPTION = "encryption", _("加密证书 / Encryption")


class CertificateStatus(models.TextChoices):
    ACTIVE = "active", _("有效 / Active")
    REVOKED = "revoked", _("已吊销 / Revoked")
    EXPIRED = "expired", _("已过期 / Expired")


class TrustedCA(models.Model):
    """A root the platform trusts; several at once (全CA互认)."""

    name = models.CharField(max_length=200, unique=True)
    certificate_pem = models.TextField()
    fingerprint_sha256 = models.CharField(max_length=64, unique=True)
    crl_pem = models.TextField(blank=True)
    crl_updated_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class Certificate(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="certificates")
    holder = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="certificates"
    )
    issuer_ca = models.ForeignKey(TrustedCA, on_delete=models.PROTECT, related_name="certificates")
    usage = models.CharField(max_length=20, choices=CertificateUsage.choices)
    status = models.CharField(
        max_length=20, choices=CertificateStatus.choices, default=CertificateStatus.ACTIVE
    )
    certificate_pem = models.TextField()
    fingerprint_sha256 = models.CharField(max_length=64, unique=True)
    serial_number = models.CharField(max_length=64)
    subject = models.CharField(max_length=500)
    key_algorithm = models.CharField(max_length=20)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    registered_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.get_usage_display()} {self.serial_number}"


class LoginChallenge(models.Model):
    """A one-time nonce for certificate login; used once, expires fast."""

    nonce = models.CharField(max_length=64, unique=True)
    username = models.CharField(max_length=150)
    source_ip = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class LoginAttempt(models.Model):
    """Failed logins, for throttling by account and by source address."""

    username = models.CharField(max_length=150, db_index=True)
    source_ip = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(db_index=True)
    succeeded = models.BooleanField(default=False)


class ApiToken(models.Model):
    """Bearer token for the bidder tool; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
