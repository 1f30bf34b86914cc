"""accounts.services: every write and every sign-in, called directly (DESIGN §3)."""

from __future__ import annotations

import datetime as dt
import json

import pyotp
import pytest
from django.contrib.auth.models import AnonymousUser

from tenderhall.accounts import services
from tenderhall.accounts.events import AccountsAction
from tenderhall.accounts.models import (
    Certificate,
    CertificateStatus,
    CertificateUsage,
    LoginAttempt,
    LoginChallenge,
    Organization,
    OrganizationKind,
    Role,
    User,
)
from tenderhall.core import clock, ids
from tenderhall.core.canonical import sha256_hex
from tenderhall.core.context import RequestContext, bind_request_context
from tenderhall.core.crypto import certs
from tenderhall.core.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    PermissionDenied,
    ValidationFailed,
)
from tenderhall.core.models import LogEvent
from tenderhall.core.transparency import verify_log
from tests.accounts.conftest import T0, Pki
from tests.factories import PASSWORD, OrganizationFactory, UserFactory

NEW_USCC = ids.make_uscc("91440300MA000001")  # Shenzhen, not used by the factories (91320000…)
STRONG = "Lantern-quiet-47"


def events(action: str) -> list[dict]:
    return [json.loads(e.payload) for e in LogEvent.objects.filter(action=action).order_by("index")]


def bad_check_character(code: str) -> str:
    return code[:17] + ("0" if code[17] != "0" else "1")


def failed_attempts(username: str) -> int:
    return LoginAttempt.objects.filter(username=username, succeeded=False).count()


def refusal_reasons(username: str) -> list[str]:
    return [
        e["data"]["reason"] for e in events(AccountsAction.LOGIN_REFUSED) if e["data"]["username"] == username
    ]


# ---- organization_register ----------------------------------------------------------------------


def test_organization_register_saves_normalized_and_logs(staff):
    org = services.organization_register(
        acting_user=staff,
        name="  东方建设集团有限公司 ",
        uscc=f" {NEW_USCC.lower()} ",
        kind=OrganizationKind.BIDDER,
        region="示范市",
    )
    org.refresh_from_db()
    assert (org.name, org.uscc, org.kind, org.region) == (
        "东方建设集团有限公司",
        NEW_USCC,
        "bidder",
        "示范市",
    )
    [event] = LogEvent.objects.filter(action=AccountsAction.ORGANIZATION_REGISTERED)
    assert event.actor_username == staff.username
    assert (event.object_type, event.object_id) == ("accounts.organization", str(org.pk))
    payload = json.loads(event.payload)
    assert payload["actor_role"] == Role.STAFF
    assert payload["data"] == {"name": org.name, "uscc": NEW_USCC, "kind": "bidder", "region": "示范市"}


@pytest.mark.parametrize(
    "bad",
    [
        bad_check_character(NEW_USCC),  # one character mistyped: the GB 32100 check catches it
        NEW_USCC[:17],  # too short
        NEW_USCC[:8] + "O" + NEW_USCC[9:],  # the letter O, which the code never uses
        "",
    ],
)
def test_organization_register_refuses_a_malformed_code_and_writes_nothing(staff, bad):
    before = LogEvent.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        services.organization_register(acting_user=staff, name="某公司", uscc=bad, kind="bidder")
    error = caught.value
    assert (error.code, error.status, error.article) == ("uscc_invalid", 422, "GB 32100-2015")
    assert "统一社会信用代码" in error.message_zh and "unified social credit code" in error.message_en
    assert "GB 32100-2015" in error.message
    assert not Organization.objects.filter(name="某公司").exists()
    assert LogEvent.objects.count() == before


def test_organization_register_names_the_mistyped_check_character(staff):
    with pytest.raises(ValidationFailed) as caught:
        services.organization_register(
            acting_user=staff, name="某公司", uscc=bad_check_character(NEW_USCC), kind="bidder"
        )
    assert f"“{NEW_USCC[17]}”" in caught.value.message_zh  # tells the user what position 18 should be


def test_organization_register_refuses_a_duplicate_code(staff):
    services.organization_register(acting_user=staff, name="甲公司", uscc=NEW_USCC, kind="bidder")
    before = LogEvent.objects.count()
    with pytest.raises(Conflict) as caught:
        services.organization_register(acting_user=staff, name="乙公司", uscc=NEW_USCC.lower(), kind="agent")
    assert (caught.value.code, caught.value.status) == ("uscc_taken", 409)
    assert list(Organization.objects.filter(uscc=NEW_USCC).values_list("name", flat=True)) == ["甲公司"]
    assert LogEvent.objects.count() == before


@pytest.mark.parametrize(
    ("kind", "name", "code"),
    [("bank-ish", "某公司", "organization_kind_invalid"), ("bidder", "   ", "name_required")],
)
def test_organization_register_refuses_bad_kind_or_name(staff, kind, name, code):
    with pytest.raises(ValidationFailed) as caught:
        services.organization_register(acting_user=staff, name=name, uscc=NEW_USCC, kind=kind)
    assert caught.value.code == code
    assert not Organization.objects.filter(uscc=NEW_USCC).exists()


@pytest.mark.parametrize("who", ["bidder", "supervisor", "auditor"])
def test_organization_register_is_for_staff_only(request, who):
    user = request.getfixturevalue(who)
    before = (Organization.objects.count(), LogEvent.objects.count())
    with pytest.raises(PermissionDenied) as caught:
        services.organization_register(acting_user=user, name="某公司", uscc=NEW_USCC, kind="bidder")
    assert caught.value.status == 403
    assert caught.value.extra["permission"] == "accounts:organization:create"
    assert (Organization.objects.count(), LogEvent.objects.count()) == before


def test_organization_register_needs_a_signed_in_user(db):
    with pytest.raises(NotAuthenticated):
        services.organization_register(
            acting_user=AnonymousUser(), name="某公司", uscc=NEW_USCC, kind="bidder"
        )
    assert not Organization.objects.exists()


def test_an_inactive_staff_member_has_no_grants(staff):
    staff.is_active = False
    with pytest.raises(PermissionDenied):
        services.organization_register(acting_user=staff, name="某公司", uscc=NEW_USCC, kind="bidder")


# ---- user_register ------------------------------------------------------------------------------


def test_user_register_hashes_the_password_and_logs_personal_data_as_hashes(staff):
    org = OrganizationFactory(kind=OrganizationKind.BIDDER)
    user = services.user_register(
        acting_user=staff,
        username="wuhao",
        password=STRONG,
        role=Role.BIDDER,
        organization=org,
        display_name="吴昊",
        email="wu.hao@dongfang.example",
        phone="13800001234",
    )
    user.refresh_from_db()
    assert user.organization == org and user.role == Role.BIDDER
    assert user.check_password(STRONG) and STRONG not in user.password
    [event] = events(AccountsAction.USER_REGISTERED)
    assert event["actor"] == staff.username
    assert event["object"] == {"type": "accounts.user", "id": str(user.pk)}
    assert event["data"] == {
        "username": "wuhao",
        "role": "bidder",
        "organization": org.uscc,
        "email_sha256": sha256_hex("wu.hao@dongfang.example"),
        "phone_sha256": sha256_hex("13800001234"),
    }
    for row in LogEvent.objects.all():
        assert "wu.hao@dongfang.example" not in row.payload
        assert "13800001234" not in row.payload
        assert STRONG not in row.payload


@pytest.mark.parametrize(
    ("role", "kind"),
    [
        (Role.BIDDER, OrganizationKind.TRADING_CENTRE),
        (Role.STAFF, OrganizationKind.BIDDER),
        (Role.SUPERVISOR, OrganizationKind.AGENT),
        (Role.BIDDER, None),
    ],
)
def test_user_register_refuses_a_role_outside_its_organization_kind(staff, role, kind):
    org = OrganizationFactory(kind=kind) if kind else None
    with pytest.raises(ValidationFailed) as caught:
        services.user_register(
            acting_user=staff, username="mismatch", password=STRONG, role=role, organization=org
        )
    assert caught.value.code == "role_organization_mismatch"
    assert not User.objects.filter(username="mismatch").exists()
    assert not LogEvent.objects.filter(action=AccountsAction.USER_REGISTERED).exists()


def test_an_expert_needs_no_organization(staff):
    expert = services.user_register(
        acting_user=staff, username="expert1", password=STRONG, role=Role.EXPERT, organization=None
    )
    assert expert.organization is None


@pytest.mark.parametrize("password", ["short-1", "password123", "12345678901"])
def test_user_register_refuses_a_weak_password(staff, password):
    org = OrganizationFactory(kind=OrganizationKind.BIDDER)
    with pytest.raises(ValidationFailed) as caught:
        services.user_register(
            acting_user=staff, username="mismatch-user", password=password, role=Role.BIDDER, organization=org
        )
    assert caught.value.code == "password_too_weak" and caught.value.status == 422
    assert password not in caught.value.message  # the refusal never echoes the password
    assert not User.objects.filter(username="mismatch-user").exists()


def test_user_register_refuses_a_taken_username(staff, bidder):
    with pytest.raises(Conflict) as caught:
        services.user_register(
            acting_user=staff,
            username=bidder.username,
            password=STRONG,
            role=Role.BIDDER,
            organization=bidder.organization,
        )
    assert caught.value.code == "username_taken"
    assert User.objects.filter(username=bidder.username).count() == 1


@pytest.mark.parametrize("who", ["bidder", "supervisor", "auditor"])
def test_user_register_is_for_staff_only(request, who):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        services.user_register(
            acting_user=user,
            username="newcomer",
            password=STRONG,
            role=Role.BIDDER,
            organization=user.organization,
        )
    assert not User.objects.filter(username="newcomer").exists()


# ---- platform_bootstrap -------------------------------------------------------------------------


def test_platform_bootstrap_once_only(db):
    user = services.platform_bootstrap(
        centre_name="示范市公共资源交易中心",
        centre_uscc=NEW_USCC,
        username="first-staff",
        password=STRONG,
        email="first@centre.example",
    )
    assert user.role == Role.STAFF and user.check_password(STRONG)
    assert user.organization.kind == OrganizationKind.TRADING_CENTRE and user.organization.uscc == NEW_USCC
    [event] = events(AccountsAction.PLATFORM_BOOTSTRAPPED)
    assert event["actor"] == "" and event["org"] == NEW_USCC
    assert event["data"]["staff"]["email_sha256"] == sha256_hex("first@centre.example")
    assert "first@centre.example" not in LogEvent.objects.get().payload

    with pytest.raises(Conflict) as caught:
        services.platform_bootstrap(
            centre_name="另一个中心",
            centre_uscc=ids.make_uscc("91440300MA000002"),
            username="second-staff",
            password=STRONG,
        )
    assert caught.value.code == "already_bootstrapped"
    assert (User.objects.count(), Organization.objects.count(), LogEvent.objects.count()) == (1, 1, 1)


def test_platform_bootstrap_refuses_a_bad_centre_code_and_leaves_the_platform_empty(db):
    with pytest.raises(ValidationFailed):
        services.platform_bootstrap(
            centre_name="中心", centre_uscc=bad_check_character(NEW_USCC), username="s", password=STRONG
        )
    assert not Organization.objects.exists() and not User.objects.exists()


# ---- password login and throttling --------------------------------------------------------------


def test_new_passwords_are_hashed_with_argon2(staff, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    user = services.user_register(
        acting_user=staff, username="argon", password=STRONG, role=Role.EXPERT, organization=None
    )
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert services.login_with_password(username="argon", password=STRONG) == user
    assert LoginAttempt.objects.filter(username="argon", succeeded=True).count() == 1
    [event] = events(AccountsAction.LOGIN_SUCCEEDED)
    assert event["actor"] == "argon" and event["data"] == {"method": "password"}
    assert STRONG not in LogEvent.objects.filter(action=AccountsAction.LOGIN_SUCCEEDED).get().payload


def test_a_wrong_password_is_refused_and_recorded(bidder):
    with pytest.raises(services.LoginRefused) as caught:
        services.login_with_password(username=bidder.username, password="Wrong-password-1")
    assert (caught.value.code, caught.value.status) == ("login_bad_credentials", 401)
    assert failed_attempts(bidder.username) == 1
    assert refusal_reasons(bidder.username) == ["login_bad_credentials"]
    assert "Wrong-password-1" not in "".join(LogEvent.objects.values_list("payload", flat=True))
    assert not LogEvent.objects.filter(action=AccountsAction.LOGIN_SUCCEEDED).exists()


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(db):
    with pytest.raises(services.LoginRefused) as caught:
        services.login_with_password(username="nobody", password=PASSWORD)
    assert caught.value.code == "login_bad_credentials"
    assert failed_attempts("nobody") == 1


def test_an_inactive_user_cannot_sign_in(bidder):
    User.objects.filter(pk=bidder.pk).update(is_active=False)
    with pytest.raises(services.LoginRefused) as caught:
        services.login_with_password(username=bidder.username, password=PASSWORD)
    assert caught.value.code == "login_bad_credentials"


def test_throttling_after_max_failures_then_the_window_passes(bidder, other_bidder, settings, t0):
    settings.TENDERHALL_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        with pytest.raises(services.LoginRefused):
            services.login_with_password(username=bidder.username, password="Wrong-password-1")
    with pytest.raises(services.LoginRefused) as caught:
        services.login_with_password(username=bidder.username, password=PASSWORD)  # the right one
    assert (caught.value.code, caught.value.status) == ("login_throttled", 429)
    assert "15" in caught.value.message_zh  # the 900-second window, in minutes
    assert refusal_reasons(bidder.username)[-1] == "login_throttled"
    # The lock is per account: somebody else signs in.
    assert services.login_with_password(username=other_bidder.username, password=PASSWORD) == other_bidder

    clock.set_now(t0 + dt.timedelta(seconds=settings.TENDERHALL_LOGIN_WINDOW_SECONDS - 60))
    with pytest.raises(services.LoginRefused) as caught:
        services.login_with_password(username=bidder.username, password=PASSWORD)
    assert caught.value.code == "login_throttled"

    clock.set_now(t0 + dt.timedelta(seconds=settings.TENDERHALL_LOGIN_WINDOW_SECONDS + 1))
    assert services.login_with_password(username=bidder.username, password=PASSWORD) == bidder


def test_a_stranger_elsewhere_cannot_lock_an_account_with_a_few_failures(bidder, settings, t0):
    settings.TENDERHALL_LOGIN_MAX_FAILURES = 2
    with bind_request_context(RequestContext(source_ip="203.0.113.50")):
        for _ in range(2):
            with pytest.raises(services.LoginRefused):
                services.login_with_password(username=bidder.username, password="Wrong-password-1")
        with pytest.raises(services.LoginRefused) as caught:
            services.login_with_password(username=bidder.username, password=PASSWORD)
        assert caught.value.code == "login_throttled"  # that address, that account: locked
    with bind_request_context(RequestContext(source_ip="198.51.100.70")):
        assert services.login_with_password(username=bidder.username, password=PASSWORD) == bidder
    # failures spread over many addresses lock the account at four times the allowance
    for n in range(2 * 4 - 2):
        with (
            bind_request_context(RequestContext(source_ip=f"192.0.2.{n}")),
            pytest.raises(services.LoginRefused),
        ):
            services.login_with_password(username=bidder.username, password="Wrong-password-1")
    with (
        bind_request_context(RequestContext(source_ip="198.51.100.71")),
        pytest.raises(services.LoginRefused) as caught,
    ):
        services.login_with_password(username=bidder.username, password=PASSWORD)
    assert caught.value.code == "login_throttled"


def test_throttling_by_source_address(bidder, settings, t0):
    settings.TENDERHALL_LOGIN_MAX_FAILURES = 2
    with bind_request_context(RequestContext(source_ip="203.0.113.9")):
        for n in range(2 * 4):  # an address gets four times an account's allowance
            with pytest.raises(services.LoginRefused) as caught:
                services.login_with_password(username=f"guess{n}", password="Wrong-password-1")
            assert caught.value.code == "login_bad_credentials"
        with pytest.raises(services.LoginRefused) as caught:
            services.login_with_password(username=bidder.username, password=PASSWORD)
        assert caught.value.code == "login_throttled"
    assert LoginAttempt.objects.filter(source_ip="203.0.113.9", succeeded=False).count() == 8
    # From another address the account is fine.
    with bind_request_context(RequestContext(source_ip="198.51.100.7")):
        assert services.login_with_password(username=bidder.username, password=PASSWORD) == bidder


# ---- TOTP ---------------------------------------------------------------------------------------


def enroll(user: User) -> pyotp.TOTP:
    secret = services.totp_new_secret()
    services.user_enroll_totp(acting_user=user, secret=secret, code=pyotp.TOTP(secret).at(clock.now()))
    return pyotp.TOTP(secret)


def wrong_code(totp: pyotp.TOTP) -> str:
    near = {totp.at(clock.now() + dt.timedelta(seconds=30 * k)) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def test_totp_enrollment_checks_the_code_and_logs(bidder, t0):
    secret = services.totp_new_secret()
    with pytest.raises(ValidationFailed) as caught:
        services.user_enroll_totp(acting_user=bidder, secret=secret, code=wrong_code(pyotp.TOTP(secret)))
    assert caught.value.code == "totp_invalid"
    bidder.refresh_from_db()
    assert not bidder.has_totp

    services.user_enroll_totp(acting_user=bidder, secret=secret, code=pyotp.TOTP(secret).at(clock.now()))
    bidder.refresh_from_db()
    assert bidder.has_totp and bidder.totp_secret == secret
    [event] = events(AccountsAction.TOTP_ENROLLED)
    assert event["actor"] == bidder.username
    assert secret not in LogEvent.objects.get(action=AccountsAction.TOTP_ENROLLED).payload
    # a session alone cannot swap the second factor
    other = services.totp_new_secret()
    with pytest.raises(Conflict) as swapped:
        services.user_enroll_totp(acting_user=bidder, secret=other, code=pyotp.TOTP(other).at(clock.now()))
    assert swapped.value.code == "totp_already_enrolled"


@pytest.mark.parametrize("secret", ["short", "not base32 at all!!", ""])
def test_totp_enrollment_refuses_a_bad_secret(bidder, secret):
    with pytest.raises(ValidationFailed):
        services.user_enroll_totp(acting_user=bidder, secret=secret, code="123456")


def test_totp_enrollment_needs_a_signed_in_user(db):
    with pytest.raises(NotAuthenticated):
        services.user_enroll_totp(acting_user=AnonymousUser(), secret=services.totp_new_secret(), code="1")


def test_totp_login_codes_work_once(bidder, t0):
    totp = enroll(bidder)

    with pytest.raises(services.LoginRefused) as caught:
        services.login_with_password(username=bidder.username, password=PASSWORD)
    assert (caught.value.code, caught.value.status) == ("totp_required", 401)

    with pytest.raises(services.LoginRefused) as caught:
        services.login_with_password(username=bidder.username, password=PASSWORD, totp_code=wrong_code(totp))
    assert caught.value.code == "totp_invalid"
    assert refusal_reasons(bidder.username) == ["totp_invalid"]

    # The code used to enroll does not sign in (its step is spent).
    with pytest.raises(services.LoginRefused):
        services.login_with_password(
            username=bidder.username, password=PASSWORD, totp_code=totp.at(clock.now())
        )

    clock.advance(dt.timedelta(seconds=30))
    code = totp.at(clock.now())
    assert services.login_with_password(username=bidder.username, password=PASSWORD, totp_code=code) == bidder
    with pytest.raises(services.LoginRefused) as caught:  # the same code again: a replay
        services.login_with_password(username=bidder.username, password=PASSWORD, totp_code=code)
    assert caught.value.code == "totp_invalid"

    clock.advance(dt.timedelta(seconds=30))
    assert (
        services.login_with_password(
            username=bidder.username, password=PASSWORD, totp_code=totp.at(clock.now())
        )
        == bidder
    )
    assert [e["data"]["method"] for e in events(AccountsAction.LOGIN_SUCCEEDED)] == ["password+totp"] * 2


def test_totp_a_wrong_password_with_a_right_code_does_not_spend_the_code(bidder, t0):
    totp = enroll(bidder)
    clock.advance(dt.timedelta(seconds=30))
    code = totp.at(clock.now())
    with pytest.raises(services.LoginRefused) as caught:
        services.login_with_password(username=bidder.username, password="Wrong-password-1", totp_code=code)
    assert caught.value.code == "login_bad_credentials"
    assert services.login_with_password(username=bidder.username, password=PASSWORD, totp_code=code) == bidder


def test_totp_two_racing_sign_ins_with_one_code_let_one_in(bidder, t0):
    totp = enroll(bidder)
    clock.advance(dt.timedelta(seconds=30))
    code = totp.at(clock.now())
    first, second = (
        User.objects.get(pk=bidder.pk),
        User.objects.get(pk=bidder.pk),
    )  # both read before either writes
    assert services._check_totp(first, code) is True
    assert services._check_totp(second, code) is False


# ---- certificates -------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["ed25519", "p256"])
def test_certificate_register_a_signing_certificate(pki: Pki, trusted_ca, bidder, algorithm):
    issued = pki.issue_for(bidder, algorithm=algorithm)
    record = services.certificate_register(
        acting_user=bidder, organization=bidder.organization, certificate_pem=issued.pem, holder=bidder
    )
    record.refresh_from_db()
    assert record.usage == CertificateUsage.SIGNING and record.status == CertificateStatus.ACTIVE
    assert record.key_algorithm == algorithm and record.issuer_ca == trusted_ca and record.holder == bidder
    assert record.serial_number == certs.serial_hex(issued.certificate)
    assert record.fingerprint_sha256 == certs.fingerprint_sha256(issued.certificate)
    assert bidder.organization.uscc in record.subject
    [event] = LogEvent.objects.filter(action=AccountsAction.CERTIFICATE_REGISTERED)
    assert event.org_uscc == bidder.organization.uscc and event.actor_username == bidder.username
    assert json.loads(event.payload)["data"]["issuer"] == trusted_ca.name


def test_certificate_register_an_encryption_certificate(pki: Pki, trusted_ca, bidder):
    org = bidder.organization
    key = certs.generate_encryption_key()
    cert = pki.store.issue_encryption(
        trusted_ca.name,
        public_key_pem=certs.public_key_to_pem(key.public_key()),
        subject=certs.make_subject(common_name="enc", organization=org.name, uscc=org.uscc),
        now=clock.now(),
    )
    record = services.certificate_register(
        acting_user=None, organization=org, certificate_pem=certs.certificate_to_pem(cert).decode()
    )
    assert (record.usage, record.key_algorithm, record.holder) == (
        CertificateUsage.ENCRYPTION,
        "x25519",
        None,
    )


def test_certificate_from_an_untrusted_ca_is_refused_and_the_refusal_logged(pki: Pki, trusted_ca, bidder):
    pki.make_ca("rogue-ca", trust=False)
    issued = pki.issue_for(bidder, ca="rogue-ca")
    with pytest.raises(certs.CertificateError) as caught:
        services.certificate_register(
            acting_user=bidder, organization=bidder.organization, certificate_pem=issued.pem
        )
    assert (caught.value.code, caught.value.status) == ("cert_untrusted", 403)
    assert "rogue-ca" in caught.value.message_en
    assert not Certificate.objects.exists()
    [event] = events(AccountsAction.CERTIFICATE_REFUSED)
    assert event["actor"] == bidder.username
    assert event["data"] == {
        "reason": "cert_untrusted",
        "fingerprint_sha256": certs.fingerprint_sha256(issued.certificate),
    }
    assert verify_log().ok


def test_an_expired_certificate_is_refused(pki: Pki, trusted_ca, bidder, t0):
    issued = pki.issue_for(bidder, valid_days=1)
    clock.set_now(t0 + dt.timedelta(days=2))
    with pytest.raises(certs.CertificateError) as caught:
        services.certificate_register(
            acting_user=None, organization=bidder.organization, certificate_pem=issued.pem
        )
    assert caught.value.code == "cert_expired"
    assert "北京时间" in caught.value.message_zh
    assert not Certificate.objects.exists()
    assert [e["data"]["reason"] for e in events(AccountsAction.CERTIFICATE_REFUSED)] == ["cert_expired"]


def test_a_certificate_naming_another_organization_is_refused(pki: Pki, trusted_ca, bidder, other_bidder):
    issued = pki.issue_for(other_bidder)  # organizationIdentifier = the other bidder's code
    with pytest.raises(ValidationFailed) as caught:
        services.certificate_register(
            acting_user=bidder, organization=bidder.organization, certificate_pem=issued.pem
        )
    assert caught.value.code == "certificate_wrong_organization"
    assert other_bidder.organization.uscc in caught.value.message_zh
    assert not Certificate.objects.exists()
    assert not LogEvent.objects.filter(action=AccountsAction.CERTIFICATE_REGISTERED).exists()


def test_a_bidder_registers_for_its_own_organization_only(pki: Pki, trusted_ca, bidder, other_bidder):
    issued = pki.issue_for(other_bidder)
    with pytest.raises(PermissionDenied):
        services.certificate_register(
            acting_user=bidder, organization=other_bidder.organization, certificate_pem=issued.pem
        )
    assert not Certificate.objects.exists()


@pytest.mark.parametrize("who", ["supervisor", "auditor"])
def test_read_only_roles_register_no_certificate(request, pki: Pki, trusted_ca, bidder, who):
    issued = pki.issue_for(bidder)
    with pytest.raises(PermissionDenied):
        services.certificate_register(
            acting_user=request.getfixturevalue(who),
            organization=bidder.organization,
            certificate_pem=issued.pem,
        )


def test_the_holder_must_belong_to_the_organization(pki: Pki, trusted_ca, staff, bidder, other_bidder):
    issued = pki.issue_for(bidder)
    with pytest.raises(ValidationFailed) as caught:
        services.certificate_register(
            acting_user=staff,
            organization=bidder.organization,
            certificate_pem=issued.pem,
            holder=other_bidder,
        )
    assert caught.value.code == "holder_wrong_organization"


def test_a_certificate_is_registered_once(pki: Pki, bidder, bidder_cert):
    with pytest.raises(Conflict) as caught:
        pki.register(bidder, bidder_cert)
    assert caught.value.code == "certificate_exists"
    assert Certificate.objects.count() == 1


def test_garbage_is_not_a_certificate(pki: Pki, trusted_ca, bidder):
    with pytest.raises(certs.CertificateError) as caught:
        services.certificate_register(
            acting_user=None, organization=bidder.organization, certificate_pem="hello"
        )
    assert caught.value.code == "cert_malformed"


def test_a_crl_update_revokes_registered_certificates_and_logs_it(
    pki: Pki, trusted_ca, staff, bidder, bidder_cert
):
    keep = pki.issue_for(bidder)
    kept = pki.register(bidder, keep)
    revoked = pki.revoke(bidder_cert, acting_user=staff)
    record = Certificate.objects.get(fingerprint_sha256=certs.fingerprint_sha256(bidder_cert.certificate))
    assert revoked == [record]
    assert record.status == CertificateStatus.REVOKED
    kept.refresh_from_db()
    assert kept.status == CertificateStatus.ACTIVE
    trusted_ca.refresh_from_db()
    assert trusted_ca.crl_updated_at == clock.now() and "BEGIN X509 CRL" in trusted_ca.crl_pem
    [crl_event] = events(AccountsAction.CRL_UPDATED)
    assert crl_event["actor"] == staff.username and crl_event["data"]["newly_revoked"] == [
        record.serial_number
    ]
    [revoked_event] = LogEvent.objects.filter(action=AccountsAction.CERTIFICATE_REVOKED)
    assert (revoked_event.object_type, revoked_event.object_id) == ("accounts.certificate", str(record.pk))
    assert revoked_event.org_uscc == bidder.organization.uscc

    # The same CRL again revokes nothing new.
    assert pki.revoke(bidder_cert, acting_user=staff) == []
    # And a revoked certificate cannot be registered anew (here: to nobody in particular).
    Certificate.objects.filter(pk=record.pk).delete()
    with pytest.raises(certs.CertificateError) as caught:
        services.certificate_register(
            acting_user=None, organization=bidder.organization, certificate_pem=bidder_cert.pem
        )
    assert caught.value.code == "cert_revoked"


def test_a_crl_from_another_ca_is_refused(pki: Pki, trusted_ca, staff):
    pki.make_ca("other-ca", trust=False)
    foreign = certs.crl_to_pem(pki.store.crl("other-ca")).decode()
    with pytest.raises(ValidationFailed) as caught:
        services.trusted_ca_update_crl(acting_user=staff, ca=trusted_ca, crl_pem=foreign)
    assert caught.value.code == "crl_invalid"
    assert not events(AccountsAction.CRL_UPDATED)


def test_only_staff_manage_trusted_cas(pki: Pki, trusted_ca, bidder, supervisor):
    pki.make_ca("second-ca", trust=False)
    pem = certs.certificate_to_pem(pki.store.certificate("second-ca")).decode()
    for user in (bidder, supervisor):
        with pytest.raises(PermissionDenied):
            services.trusted_ca_add(acting_user=user, name="second-ca", certificate_pem=pem)
        with pytest.raises(PermissionDenied):
            services.trusted_ca_update_crl(acting_user=user, ca=trusted_ca, crl_pem=trusted_ca.crl_pem)
    with pytest.raises(Conflict):
        services.trusted_ca_add(
            acting_user=None, name="another-name", certificate_pem=trusted_ca.certificate_pem
        )


# ---- certificate login --------------------------------------------------------------------------


def challenge_for(username: str) -> tuple[str, str]:
    challenge = services.login_challenge_issue(username=username)
    return challenge.nonce, certs.challenge_text(challenge.nonce, username)


def cert_login(username: str, nonce: str, pem: str, signature: str) -> User:
    return services.login_with_certificate(
        username=username, nonce=nonce, certificate_pem=pem, signature_b64=signature
    )


def refused(username: str, nonce: str, pem: str, signature: str) -> DomainError:
    before = failed_attempts(username)
    with pytest.raises(DomainError) as caught:
        cert_login(username, nonce, pem, signature)
    assert failed_attempts(username) == before + 1, "every refusal is recorded for throttling"
    assert refusal_reasons(username)[-1] == caught.value.code, "and in the transparency log"
    return caught.value


def test_certificate_login(bidder, bidder_cert):
    nonce, text = challenge_for(bidder.username)
    assert cert_login(bidder.username, nonce, bidder_cert.pem, bidder_cert.sign(text)) == bidder
    assert LoginChallenge.objects.get(nonce=nonce).used_at == clock.now()
    [event] = events(AccountsAction.LOGIN_SUCCEEDED)
    assert event["actor"] == bidder.username and event["data"] == {"method": "certificate"}
    assert LoginAttempt.objects.filter(username=bidder.username, succeeded=True).count() == 1


def test_certificate_login_without_the_certificate_tries_the_registered_ones(pki: Pki, bidder, bidder_cert):
    second = pki.issue_for(bidder, algorithm="p256")
    pki.register(bidder, second)
    nonce, text = challenge_for(bidder.username)
    assert cert_login(bidder.username, nonce, "", second.sign(text)) == bidder


def test_certificate_login_a_challenge_is_for_one_user(bidder, other_bidder, bidder_cert):
    nonce, text = challenge_for(other_bidder.username)
    error = refused(bidder.username, nonce, bidder_cert.pem, bidder_cert.sign(text))
    assert (error.code, error.status) == ("challenge_invalid", 401)


def test_certificate_login_wrong_signature(bidder, bidder_cert):
    nonce, _ = challenge_for(bidder.username)
    other_text = certs.challenge_text("A" * 32, bidder.username)  # a signature over something else
    error = refused(bidder.username, nonce, bidder_cert.pem, bidder_cert.sign(other_text))
    assert error.code == "signature_invalid"
    assert 400 <= error.status < 500


@pytest.mark.parametrize("signature", ["", "not base64 at all", "AAAA"])
def test_certificate_login_garbage_signature(bidder, bidder_cert, signature):
    nonce, _ = challenge_for(bidder.username)
    assert refused(bidder.username, nonce, bidder_cert.pem, signature).code == "signature_invalid"


def test_certificate_login_with_another_users_certificate(pki: Pki, bidder, other_bidder, bidder_cert):
    theirs = pki.issue_for(other_bidder)
    pki.register(other_bidder, theirs)
    nonce, text = challenge_for(bidder.username)
    error = refused(bidder.username, nonce, theirs.pem, theirs.sign(text))
    assert (error.code, error.status) == ("certificate_not_registered", 401)


def test_certificate_login_with_a_colleagues_certificate(pki: Pki, bidder, bidder_cert):
    colleague = UserFactory(role=Role.BIDDER, organization=bidder.organization, username="colleague")
    theirs = pki.issue_for(colleague)
    pki.register(colleague, theirs)  # held by the colleague, not by the organization as a whole
    nonce, text = challenge_for(bidder.username)
    assert refused(bidder.username, nonce, theirs.pem, theirs.sign(text)).code == "certificate_not_registered"
    nonce, text = challenge_for(bidder.username)
    assert refused(bidder.username, nonce, "", theirs.sign(text)).code == "signature_invalid"


def test_certificate_login_with_an_unregistered_certificate_of_a_trusted_ca(pki: Pki, bidder, bidder_cert):
    unregistered = pki.issue_for(bidder)
    nonce, text = challenge_for(bidder.username)
    assert refused(bidder.username, nonce, unregistered.pem, unregistered.sign(text)).code == (
        "certificate_not_registered"
    )


def test_certificate_login_replayed_nonce(bidder, bidder_cert):
    nonce, text = challenge_for(bidder.username)
    signature = bidder_cert.sign(text)
    assert cert_login(bidder.username, nonce, bidder_cert.pem, signature) == bidder
    assert refused(bidder.username, nonce, bidder_cert.pem, signature).code == "challenge_invalid"


def test_certificate_login_a_refused_attempt_spends_the_nonce(bidder, bidder_cert):
    nonce, text = challenge_for(bidder.username)
    refused(bidder.username, nonce, bidder_cert.pem, "AAAA")
    assert (
        refused(bidder.username, nonce, bidder_cert.pem, bidder_cert.sign(text)).code == "challenge_invalid"
    )


def test_certificate_login_expired_challenge(bidder, bidder_cert):
    nonce, text = challenge_for(bidder.username)
    clock.advance(dt.timedelta(seconds=services.CHALLENGE_SECONDS + 1))
    assert (
        refused(bidder.username, nonce, bidder_cert.pem, bidder_cert.sign(text)).code == "challenge_invalid"
    )


def test_certificate_login_just_before_the_challenge_expires(bidder, bidder_cert):
    nonce, text = challenge_for(bidder.username)
    clock.advance(dt.timedelta(seconds=services.CHALLENGE_SECONDS))
    assert cert_login(bidder.username, nonce, bidder_cert.pem, bidder_cert.sign(text)) == bidder


def test_certificate_login_unknown_nonce_and_unknown_user(bidder, bidder_cert):
    _, text = challenge_for(bidder.username)
    assert (
        refused(bidder.username, "B" * 32, bidder_cert.pem, bidder_cert.sign(text)).code
        == "challenge_invalid"
    )
    nonce, text = challenge_for("ghost")
    assert (
        refused("ghost", nonce, bidder_cert.pem, bidder_cert.sign(text)).code == "certificate_not_registered"
    )


def test_certificate_login_revoked_certificate(pki: Pki, staff, bidder, bidder_cert):
    pki.revoke(bidder_cert, acting_user=staff)
    nonce, text = challenge_for(bidder.username)
    error = refused(bidder.username, nonce, bidder_cert.pem, bidder_cert.sign(text))
    assert error.code == "cert_revoked"
    assert certs.serial_hex(bidder_cert.certificate) in error.message_en


def test_certificate_login_expired_certificate(pki: Pki, bidder, bidder_cert):
    clock.set_now(T0 + dt.timedelta(days=731))
    nonce, text = challenge_for(bidder.username)
    assert refused(bidder.username, nonce, bidder_cert.pem, bidder_cert.sign(text)).code == "cert_expired"


def test_certificate_login_is_throttled_too(bidder, bidder_cert, settings):
    settings.TENDERHALL_LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        nonce, _text = challenge_for(bidder.username)
        refused(bidder.username, nonce, bidder_cert.pem, "AAAA")
    nonce, text = challenge_for(bidder.username)
    with pytest.raises(services.LoginRefused) as caught:
        cert_login(bidder.username, nonce, bidder_cert.pem, bidder_cert.sign(text))
    assert (caught.value.code, caught.value.status) == ("login_throttled", 429)


# ---- API tokens ---------------------------------------------------------------------------------


def test_api_tokens_are_stored_as_hashes_and_expire(bidder, t0):
    raw, token = services.api_token_issue(user=bidder)
    assert raw not in token.token_sha256 and token.token_sha256 == sha256_hex(raw)
    assert raw not in "".join(LogEvent.objects.values_list("payload", flat=True))
    assert services.user_for_api_token(raw) == bidder
    assert services.user_for_api_token(raw + "x") is None
    clock.set_now(t0 + dt.timedelta(hours=services.API_TOKEN_HOURS, seconds=1))
    assert services.user_for_api_token(raw) is None


def test_api_tokens_of_inactive_users_do_not_work(bidder):
    raw, _ = services.api_token_issue(user=bidder)
    User.objects.filter(pk=bidder.pk).update(is_active=False)
    assert services.user_for_api_token(raw) is None


def test_the_log_still_verifies_after_all_that(pki: Pki, staff, bidder, bidder_cert):
    nonce, text = challenge_for(bidder.username)
    cert_login(bidder.username, nonce, bidder_cert.pem, bidder_cert.sign(text))
    pki.revoke(bidder_cert, acting_user=staff)
    result = verify_log()
    assert result.ok, result.problem
    assert result.size == LogEvent.objects.count() >= 5
