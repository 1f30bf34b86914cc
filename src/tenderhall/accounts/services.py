"""Every write of the accounts app: keyword-only, typed, atomic, audited (DESIGN §3, §7)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import secrets
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction

from tenderhall.accounts.events import AccountsAction
from tenderhall.accounts.models import (
    ApiToken,
    Certificate,
    CertificateStatus,
    CertificateUsage,
    LoginAttempt,
    LoginChallenge,
    Organization,
    OrganizationKind,
    Role,
    TrustedCA,
    User,
)
from tenderhall.core import clock, ids
from tenderhall.core.canonical import sha256_hex
from tenderhall.core.context import current_request_context
from tenderhall.core.crypto import certs
from tenderhall.core.errors import Conflict, DomainError, NotAuthenticated, ValidationFailed
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.core.transparency import log_append, log_refusal

# Which organization kinds a role may belong to; None = any (experts are people, not firms).
ROLE_ORGANIZATION_KINDS: dict[str, set[str] | None] = {
    Role.STAFF: {OrganizationKind.TRADING_CENTRE},
    Role.OPERATOR: {OrganizationKind.TRADING_CENTRE},
    Role.AUDITOR: {OrganizationKind.TRADING_CENTRE, OrganizationKind.SUPERVISOR},
    Role.SUPERVISOR: {OrganizationKind.SUPERVISOR},
    Role.AGENT: {OrganizationKind.AGENT},
    Role.TENDERER: {OrganizationKind.TENDERER},
    Role.BIDDER: {OrganizationKind.BIDDER},
    Role.EXPERT: None,
}

CHALLENGE_SECONDS = 120
CHALLENGES_PER_MINUTE = 30
API_TOKEN_HOURS = 12


class LoginRefused(DomainError):
    status = 401


# ---- organizations and people -------------------------------------------------------------------


def _clean_uscc(raw: str) -> str:
    code = ids.normalize_uscc(raw)
    problem = ids.uscc_problem(code)
    if problem is not None:
        raise ValidationFailed(
            "uscc_invalid",
            f"统一社会信用代码无效：{problem[0]}",
            f"invalid unified social credit code: {problem[1]}",
            article="GB 32100-2015",
            fields={"uscc": ""},
        )
    return code


def _create_organization(*, name: str, uscc: str, kind: str, region: str, contact_phone: str) -> Organization:
    code = _clean_uscc(uscc)
    name = name.strip()
    if not name:
        raise ValidationFailed("name_required", "请填写名称", "a name is required", fields={"name": ""})
    if kind not in OrganizationKind.values:
        raise ValidationFailed(
            "organization_kind_invalid",
            f"机构类型无效：{kind}",
            f"unknown kind: {kind}",
            fields={"kind": ""},
        )
    if Organization.objects.filter(uscc=code).exists():
        raise Conflict(
            "uscc_taken",
            f"统一社会信用代码 {code} 已登记",
            f"an organization with code {code} is already registered",
            fields={"uscc": ""},
        )
    org = Organization(
        name=name[:200],
        uscc=code,
        kind=kind,
        region=region[:100],
        contact_phone=contact_phone[:40],
        created_at=clock.now(),
    )
    org.full_clean()
    org.save()
    return org


@transaction.atomic
def organization_register(
    *, acting_user: User, name: str, uscc: str, kind: str, region: str = "", contact_phone: str = ""
) -> Organization:
    require(acting_user, Permission.ORGANIZATION_CREATE)
    org = _create_organization(name=name, uscc=uscc, kind=kind, region=region, contact_phone=contact_phone)
    log_append(
        action=AccountsAction.ORGANIZATION_REGISTERED,
        actor=acting_user,
        obj=org,
        data={"name": org.name, "uscc": org.uscc, "kind": org.kind, "region": org.region},
    )
    return org


def _create_user(
    *,
    username: str,
    password: str,
    role: str,
    organization: Organization | None,
    display_name: str,
    email: str,
    phone: str,
) -> User:
    username = username.strip()
    if not username:
        raise ValidationFailed(
            "username_required", "请填写用户名", "a username is required", fields={"username": ""}
        )
    if role not in Role.values:
        raise ValidationFailed(
            "role_invalid", f"角色无效：{role}", f"unknown role: {role}", fields={"role": ""}
        )
    allowed = ROLE_ORGANIZATION_KINDS[role]
    if allowed is not None and (organization is None or organization.kind not in allowed):
        kinds = "、".join(str(OrganizationKind(k).label) for k in sorted(allowed))
        raise ValidationFailed(
            "role_organization_mismatch",
            f"角色“{Role(role).label}”须属于以下类型的机构：{kinds}",
            f"role {role} must belong to an organization of kind {', '.join(sorted(allowed))}",
            fields={"organization": ""},
        )
    if User.objects.filter(username=username).exists():
        raise Conflict(
            "username_taken",
            f"用户名 {username} 已被使用",
            f"username {username} is taken",
            fields={"username": ""},
        )
    user = User(
        username=username[:150],
        role=role,
        organization=organization,
        display_name=display_name[:100],
        email=email,
        phone=phone[:40],
        date_joined=clock.now(),
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        joined = "；".join(exc.messages)
        raise ValidationFailed(
            "password_too_weak",
            f"密码不符合要求：{joined}",
            f"password rejected: {joined}",
            fields={"password": ""},
        ) from exc
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


def _user_event_data(user: User) -> dict[str, Any]:
    # Personal data goes into the log as hashes only (DESIGN §3).
    return {
        "username": user.username,
        "role": user.role,
        "organization": user.organization.uscc if user.organization else "",
        "email_sha256": sha256_hex(user.email) if user.email else "",
        "phone_sha256": sha256_hex(user.phone) if user.phone else "",
    }


@transaction.atomic
def user_register(
    *,
    acting_user: User,
    username: str,
    password: str,
    role: str,
    organization: Organization | None,
    display_name: str = "",
    email: str = "",
    phone: str = "",
) -> User:
    require(acting_user, Permission.USER_CREATE)
    user = _create_user(
        username=username,
        password=password,
        role=role,
        organization=organization,
        display_name=display_name,
        email=email,
        phone=phone,
    )
    log_append(
        action=AccountsAction.USER_REGISTERED, actor=acting_user, obj=user, data=_user_event_data(user)
    )
    return user


@transaction.atomic
def platform_bootstrap(
    *, centre_name: str, centre_uscc: str, username: str, password: str, email: str = "", region: str = ""
) -> User:
    """First install: the trading centre and its first staff member. Refused once anyone exists."""
    if User.objects.exists() or Organization.objects.exists():
        raise Conflict(
            "already_bootstrapped", "平台已初始化", "the platform already has organizations and users"
        )
    centre = _create_organization(
        name=centre_name,
        uscc=centre_uscc,
        kind=OrganizationKind.TRADING_CENTRE,
        region=region,
        contact_phone="",
    )
    user = _create_user(
        username=username,
        password=password,
        role=Role.STAFF,
        organization=centre,
        display_name=username,
        email=email,
        phone="",
    )
    log_append(
        action=AccountsAction.PLATFORM_BOOTSTRAPPED,
        obj=centre,
        org_uscc=centre.uscc,
        data={"centre": centre.name, "uscc": centre.uscc, "staff": _user_event_data(user)},
    )
    return user


# ---- password login, TOTP, throttling -----------------------------------------------------------


def _throttled(username: str, source_ip: str) -> bool:
    since = clock.now() - dt.timedelta(seconds=settings.TENDERHALL_LOGIN_WINDOW_SECONDS)
    failures = LoginAttempt.objects.filter(at__gte=since, succeeded=False)
    limit = settings.TENDERHALL_LOGIN_MAX_FAILURES
    # One address guessing one account is stopped after `limit` failures. An account alone, or an
    # address alone, gets 4x as many: a stranger elsewhere cannot lock a bidder out of an opening
    # with a few bad passwords, and colleagues behind one office address do not lock each other out.
    by_pair = failures.filter(username=username, source_ip=source_ip).count()
    by_user = failures.filter(username=username).count()
    by_ip = failures.filter(source_ip=source_ip).count() if source_ip else 0
    return by_pair >= limit or by_user >= limit * 4 or by_ip >= limit * 4


def _refuse_login(
    username: str, code: str, zh: str, en: str, *, status: int = 401, user: User | None = None
) -> LoginRefused:
    source_ip = current_request_context().source_ip
    with transaction.atomic():
        LoginAttempt.objects.create(
            username=username[:150], source_ip=source_ip, at=clock.now(), succeeded=False
        )
    log_refusal(
        action=AccountsAction.LOGIN_REFUSED, actor=None, data={"username": username[:150], "reason": code}
    )
    error = LoginRefused(code, zh, en)
    error.status = status
    return error


def _throttle_error() -> LoginRefused:
    minutes = settings.TENDERHALL_LOGIN_WINDOW_SECONDS // 60
    error = LoginRefused(
        "login_throttled",
        f"登录失败次数过多，请 {minutes} 分钟后再试",
        f"too many failed sign-ins; try again in {minutes} minutes",
    )
    error.status = 429
    return error


def _login_succeeded(user: User, method: str) -> None:
    LoginAttempt.objects.create(
        username=user.username, source_ip=current_request_context().source_ip, at=clock.now(), succeeded=True
    )
    User.objects.filter(pk=user.pk).update(last_login=clock.now())
    log_append(action=AccountsAction.LOGIN_SUCCEEDED, actor=user, obj=user, data={"method": method})


def _check_totp(user: User, code: str) -> bool:
    totp = pyotp.TOTP(user.totp_secret)
    now = clock.now()
    for offset in (0, -1, 1):  # one step of clock drift either way
        moment = now + dt.timedelta(seconds=30 * offset)
        step = int(moment.timestamp()) // 30
        if step > user.totp_last_step and secrets.compare_digest(totp.at(moment), code.strip()):
            # A code works once, even when two sign-ins race with it: only one of them moves the step.
            return User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step) == 1
    return False


def login_with_password(*, username: str, password: str, totp_code: str = "") -> User:
    """Check a password (Argon2) and, when enrolled, a TOTP code. Raises LoginRefused.

    Not one transaction on purpose: a refusal must be recorded (throttling, audit) even though
    the sign-in fails, so each outcome commits its own small transaction."""
    source_ip = current_request_context().source_ip
    if _throttled(username, source_ip):
        log_refusal(
            action=AccountsAction.LOGIN_REFUSED,
            data={"username": username[:150], "reason": "login_throttled"},
        )
        raise _throttle_error()
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        User().set_password(password)  # same time as a real check: no username enumeration by timing
    if user is None or not user.check_password(password):
        raise _refuse_login(
            username, "login_bad_credentials", "用户名或密码错误", "wrong username or password"
        )
    if user.has_totp:
        if not totp_code:
            raise LoginRefused(
                "totp_required", "请输入动态验证码", "enter the code from your authenticator app"
            )
        if not _check_totp(user, totp_code):
            raise _refuse_login(
                username, "totp_invalid", "动态验证码错误或已使用", "wrong or already used authenticator code"
            )
    with transaction.atomic():
        _login_succeeded(user, "password+totp" if user.has_totp else "password")
    return user


def totp_new_secret() -> str:
    return pyotp.random_base32()


def totp_provisioning_uri(*, user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="tenderhall")


@transaction.atomic
def user_enroll_totp(*, acting_user: User, secret: str, code: str) -> User:
    """Turn on the second factor once the user proves the app shows the right code."""
    if not acting_user.is_authenticated:
        raise NotAuthenticated()
    user = User.objects.select_for_update().get(pk=acting_user.pk)
    if user.has_totp:
        # Replacing a second factor from a session alone would let a stolen session swap it.
        raise Conflict(
            "totp_already_enrolled",
            "已启用动态验证码；如需更换，请联系交易中心工作人员重置",
            "an authenticator is already enrolled; ask trading-centre staff to reset it",
        )
    try:
        ok = len(secret) >= 16 and pyotp.TOTP(secret).verify(
            code.strip(), for_time=clock.now(), valid_window=1
        )
    except (binascii.Error, ValueError):
        ok = False
    if not ok:
        raise ValidationFailed(
            "totp_invalid", "动态验证码不正确", "the authenticator code does not match", fields={"code": ""}
        )
    user.totp_secret = secret
    user.totp_last_step = int(clock.now().timestamp()) // 30
    user.save(update_fields=["totp_secret", "totp_last_step"])
    log_append(action=AccountsAction.TOTP_ENROLLED, actor=user, obj=user)
    return user


# ---- certificates and certificate login ---------------------------------------------------------


def trust_anchors() -> list[certs.TrustAnchor]:
    anchors = []
    for ca in TrustedCA.objects.filter(is_active=True).order_by("pk"):
        crl = certs.load_crl(ca.crl_pem.encode()) if ca.crl_pem else None
        anchors.append(certs.TrustAnchor(certificate=certs.load_certificate(ca.certificate_pem), crl=crl))
    return anchors


def _anchor_record(anchor: certs.TrustAnchor) -> TrustedCA:
    return TrustedCA.objects.get(fingerprint_sha256=certs.fingerprint_sha256(anchor.certificate))


@transaction.atomic
def trusted_ca_add(
    *, acting_user: User | None, name: str, certificate_pem: str, crl_pem: str = ""
) -> TrustedCA:
    """Trust a CA root. ``acting_user`` None means the machine's operator at the command line."""
    if acting_user is not None:
        require(acting_user, Permission.TRUSTED_CA_MANAGE)
    cert = certs.load_certificate(certificate_pem)
    fingerprint = certs.fingerprint_sha256(cert)
    if (
        TrustedCA.objects.filter(fingerprint_sha256=fingerprint).exists()
        or TrustedCA.objects.filter(name=name).exists()
    ):
        raise Conflict("trusted_ca_exists", f"CA {name} 已受信任", f"CA {name} is already trusted")
    ca = TrustedCA.objects.create(
        name=name, certificate_pem=certificate_pem, fingerprint_sha256=fingerprint, created_at=clock.now()
    )
    if crl_pem:
        _apply_crl(ca, crl_pem)
    log_append(
        action=AccountsAction.TRUSTED_CA_ADDED,
        actor=acting_user,
        obj=ca,
        data={"name": name, "fingerprint_sha256": fingerprint, "subject": cert.subject.rfc4514_string()},
    )
    return ca


def _apply_crl(ca: TrustedCA, crl_pem: str) -> list[Certificate]:
    crl = certs.load_crl(crl_pem.encode())
    ca_cert = certs.load_certificate(ca.certificate_pem)
    if not crl.is_signature_valid(ca_cert.public_key()):  # type: ignore[arg-type]
        raise ValidationFailed("crl_invalid", "吊销列表签名与 CA 不符", "the CRL is not signed by this CA")
    ca.crl_pem = crl_pem
    ca.crl_updated_at = clock.now()
    ca.save(update_fields=["crl_pem", "crl_updated_at"])
    revoked_serials = {f"{r.serial_number:X}" for r in crl}
    newly = list(
        Certificate.objects.select_for_update()
        .filter(issuer_ca=ca, serial_number__in=revoked_serials, status=CertificateStatus.ACTIVE)
        .order_by("pk")
    )
    for cert in newly:
        cert.status = CertificateStatus.REVOKED
        cert.save(update_fields=["status"])
    return newly


@transaction.atomic
def trusted_ca_update_crl(*, acting_user: User | None, ca: TrustedCA, crl_pem: str) -> list[Certificate]:
    if acting_user is not None:
        require(acting_user, Permission.TRUSTED_CA_MANAGE)
    ca = TrustedCA.objects.select_for_update().get(pk=ca.pk)
    revoked = _apply_crl(ca, crl_pem)
    log_append(
        action=AccountsAction.CRL_UPDATED,
        actor=acting_user,
        obj=ca,
        data={"crl_sha256": sha256_hex(crl_pem), "newly_revoked": [c.serial_number for c in revoked]},
    )
    for cert in revoked:
        log_append(
            action=AccountsAction.CERTIFICATE_REVOKED,
            actor=acting_user,
            obj=cert,
            org_uscc=cert.organization.uscc,
            data={"serial": cert.serial_number, "fingerprint_sha256": cert.fingerprint_sha256},
        )
    return revoked


def certificate_register(
    *, acting_user: User | None, organization: Organization, certificate_pem: str, holder: User | None = None
) -> Certificate:
    """Register a CA-issued certificate to an organization (and optionally the person holding it).

    The chain, validity and revocation are checked against the trusted roots; the subject's
    organizationIdentifier must be the organization's 统一社会信用代码.

    The chain is checked before the registering transaction opens, so that the record of a
    refused certificate (log_refusal) is not rolled back with it."""
    if acting_user is not None and not has_permission(acting_user, Permission.CERTIFICATE_REGISTER):
        require(acting_user, Permission.CERTIFICATE_REGISTER_OWN)
        if acting_user.organization_id != organization.pk:
            require(acting_user, Permission.CERTIFICATE_REGISTER)
    cert = certs.load_certificate(certificate_pem)
    algorithm = certs.key_algorithm_name(cert.public_key())
    usage = CertificateUsage.ENCRYPTION if algorithm == "x25519" else CertificateUsage.SIGNING
    try:
        anchor = certs.verify_certificate(
            cert,
            trust_anchors(),
            at=clock.now(),
            usage="encryption" if usage == CertificateUsage.ENCRYPTION else "signing",
        )
    except certs.CertificateError as exc:
        log_refusal(
            action=AccountsAction.CERTIFICATE_REFUSED,
            actor=acting_user,
            data={"reason": exc.code, "fingerprint_sha256": certs.fingerprint_sha256(cert)},
        )
        raise
    with transaction.atomic():
        if certs.subject_uscc(cert) != organization.uscc:
            raise ValidationFailed(
                "certificate_wrong_organization",
                f"证书主体的统一社会信用代码（{certs.subject_uscc(cert) or '无'}）与机构 {organization.uscc} 不符",
                f"the certificate's organization identifier ({certs.subject_uscc(cert) or 'none'}) is not {organization.uscc}",
            )
        if holder is not None and holder.organization_id != organization.pk:
            raise ValidationFailed(
                "holder_wrong_organization",
                "持有人不属于该机构",
                "the holder does not belong to this organization",
            )
        fingerprint = certs.fingerprint_sha256(cert)
        if Certificate.objects.filter(fingerprint_sha256=fingerprint).exists():
            raise Conflict("certificate_exists", "该证书已登记", "this certificate is already registered")
        record = Certificate.objects.create(
            organization=organization,
            holder=holder,
            issuer_ca=_anchor_record(anchor),
            usage=usage,
            certificate_pem=certificate_pem if isinstance(certificate_pem, str) else certificate_pem.decode(),
            fingerprint_sha256=fingerprint,
            serial_number=certs.serial_hex(cert),
            subject=certs.subject_text(cert.subject)[:500],
            key_algorithm=algorithm,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            registered_at=clock.now(),
        )
        log_append(
            action=AccountsAction.CERTIFICATE_REGISTERED,
            actor=acting_user,
            obj=record,
            org_uscc=organization.uscc,
            data={
                "usage": usage,
                "algorithm": algorithm,
                "serial": record.serial_number,
                "fingerprint_sha256": fingerprint,
                "holder": holder.username if holder else "",
                "issuer": record.issuer_ca.name,
            },
        )
        return record


@transaction.atomic
def login_challenge_issue(*, username: str) -> LoginChallenge:
    """A fresh nonce to sign. Issued whether or not the user exists (no account enumeration);
    not logged — it changes nothing until it is used — but limited per source address, so an
    anonymous caller cannot fill the table."""
    now = clock.now()
    source_ip = current_request_context().source_ip
    LoginChallenge.objects.filter(expires_at__lt=now - dt.timedelta(hours=1)).delete()
    recent = LoginChallenge.objects.filter(source_ip=source_ip, created_at__gte=now - dt.timedelta(minutes=1))
    if recent.count() >= CHALLENGES_PER_MINUTE:
        error = LoginRefused(
            "challenge_throttled",
            "获取登录挑战过于频繁，请一分钟后再试",
            "too many challenges from your address; try again in a minute",
        )
        error.status = 429
        raise error
    return LoginChallenge.objects.create(
        nonce=secrets.token_hex(16),
        username=username[:150],
        source_ip=source_ip,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=CHALLENGE_SECONDS),
    )


def login_with_certificate(*, username: str, nonce: str, certificate_pem: str, signature_b64: str) -> User:
    """Certificate login: the client signed our one-time challenge with its signing key."""
    source_ip = current_request_context().source_ip
    if _throttled(username, source_ip):
        log_refusal(
            action=AccountsAction.LOGIN_REFUSED,
            data={"username": username[:150], "reason": "login_throttled"},
        )
        raise _throttle_error()
    with transaction.atomic():  # the nonce is spent whatever happens next
        challenge = LoginChallenge.objects.select_for_update().filter(nonce=nonce, username=username).first()
        usable = challenge is not None and challenge.used_at is None and challenge.expires_at >= clock.now()
        if challenge is not None and challenge.used_at is None:
            challenge.used_at = clock.now()
            challenge.save(update_fields=["used_at"])
    if not usable:
        raise _refuse_login(
            username,
            "challenge_invalid",
            "登录挑战无效、已使用或已过期，请重新获取",
            "the challenge is unknown, used or expired; ask for a new one",
        )
    user = User.objects.filter(username=username, is_active=True).select_related("organization").first()
    try:
        try:
            signature = base64.b64decode(signature_b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            signature = b""
        if user is None:
            raise LoginRefused(
                "certificate_not_registered",
                "该证书未登记在此用户名下",
                "this certificate is not registered to this user",
            )
        _check_certificate_login(user, nonce, certificate_pem, signature)
    except DomainError as exc:
        # Every failed sign-in is 401 whatever the cause (429 stays 429), as the password path does.
        raise _refuse_login(
            username, exc.code, exc.message_zh, exc.message_en, status=429 if exc.status == 429 else 401
        ) from exc
    with transaction.atomic():
        _login_succeeded(user, "certificate")
    return user


def _user_signing_certificates(user: User) -> list[Certificate]:
    if user.organization_id is None:
        return []
    return list(
        Certificate.objects.filter(usage=CertificateUsage.SIGNING, organization_id=user.organization_id)
        .filter(models.Q(holder=user) | models.Q(holder__isnull=True))
        .order_by("pk")
    )


def _check_certificate_login(user: User, nonce: str, certificate_pem: str, signature: bytes) -> None:
    certificate_signature_check(
        user=user,
        message=certs.challenge_text(nonce, user.username).encode(),
        signature=signature,
        certificate_pem=certificate_pem,
    )


def certificate_signature_check(
    *, user: User, message: bytes, signature: bytes, certificate_pem: str = ""
) -> Certificate:
    """The signing certificate that signed ``message``: trusted, valid, unrevoked and registered to
    the user (or to the user's organization with no named holder). With no certificate given (the
    web pages' paste-a-signature flow), each of the user's registered certificates is tried."""
    registered = _user_signing_certificates(user)
    if certificate_pem.strip():
        fingerprint = certs.fingerprint_sha256(certs.load_certificate(certificate_pem))
        registered = [c for c in registered if c.fingerprint_sha256 == fingerprint]
    if not registered:
        raise LoginRefused(
            "certificate_not_registered",
            "该证书未登记在此用户名下",
            "this certificate is not registered to this user",
        )
    last_error: DomainError | None = None
    for record in registered:
        cert = certs.load_certificate(record.certificate_pem)
        try:
            certs.verify_signature(cert, message, signature)
        except certs.CertificateError as exc:
            last_error = exc
            continue
        if record.status != CertificateStatus.ACTIVE:
            raise certs.CertificateError(
                "cert_revoked",
                f"证书 {record.serial_number} 已吊销",
                f"certificate {record.serial_number} is revoked",
            )
        certs.verify_certificate(cert, trust_anchors(), at=clock.now(), usage="signing")
        return record
    assert last_error is not None
    raise last_error


def api_token_issue(*, user: User) -> tuple[str, ApiToken]:
    """A bearer token for the bidder tool; we keep only its hash."""
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            token_sha256=hashlib.sha256(raw.encode()).hexdigest(),
            created_at=clock.now(),
            expires_at=clock.now() + dt.timedelta(hours=API_TOKEN_HOURS),
        )
        log_append(
            action=AccountsAction.API_TOKEN_ISSUED,
            actor=user,
            obj=token,
            data={"expires_at": token.expires_at.isoformat()},
        )
    return raw, token


@transaction.atomic
def api_token_revoke(*, raw: str) -> None:
    """Sign the bidder tool out: the token stops working at once."""
    token = (
        ApiToken.objects.select_for_update()
        .filter(token_sha256=hashlib.sha256(raw.encode()).hexdigest())
        .first()
    )
    if token is None or token.revoked_at is not None:
        return
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    log_append(action=AccountsAction.API_TOKEN_REVOKED, actor=token.user, obj=token)


def user_for_api_token(raw: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user", "user__organization")
        .filter(
            token_sha256=hashlib.sha256(raw.encode()).hexdigest(),
            revoked_at__isnull=True,
            expires_at__gt=clock.now(),
        )
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    return token.user
