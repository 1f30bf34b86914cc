"""Management commands: `tenderhall ca`, `bootstrap`, `demo` (and `audit verify` after each)."""

from __future__ import annotations

import base64
import json
import stat
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tenderhall.accounts import services
from tenderhall.accounts.models import (
    Certificate,
    CertificateStatus,
    CertificateUsage,
    Organization,
    OrganizationKind,
    Role,
    TrustedCA,
    User,
)
from tenderhall.core import ids
from tenderhall.core.crypto import certs
from tenderhall.core.models import LogEvent
from tenderhall.web.management.commands.demo import DEMO_CAS, DEMO_PASSWORD, USERS

STRONG = "Lantern-quiet-47"
CENTRE_USCC = ids.make_uscc("91440300MA000001")


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def audit_ok() -> None:
    assert run("audit", "verify").startswith("log OK")


@pytest.fixture
def data_dir(settings, tmp_path: Path, db: None) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


def signing_csr(directory: Path, user: User) -> tuple[certs.SigningPrivateKey, Path]:
    org = user.organization
    key = certs.generate_signing_key()
    subject = certs.make_subject(common_name=user.username, organization=org.name, uscc=org.uscc)
    path = directory / "signing.csr"
    path.write_bytes(certs.csr_to_pem(certs.create_csr(signing_key=key, subject=subject)))
    return key, path


def cert_login(user: User, key: certs.SigningPrivateKey, pem: str = "") -> User:
    challenge = services.login_challenge_issue(username=user.username)
    signature = certs.sign_challenge(key, certs.challenge_text(challenge.nonce, user.username))
    return services.login_with_certificate(
        username=user.username,
        nonce=challenge.nonce,
        certificate_pem=pem,
        signature_b64=base64.b64encode(signature).decode(),
    )


# ---- ca -----------------------------------------------------------------------------------------


def test_ca_init_issue_register_revoke(data_dir, bidder):
    output = run("ca", "init", "--name", "t-ca")
    assert "t-ca" in output
    ca = TrustedCA.objects.get(name="t-ca")
    assert ca.crl_pem and ca.fingerprint_sha256 in output
    assert mode(data_dir / "ca" / "t-ca" / "ca.key") == 0o600
    assert "t-ca\ttrusted" in run("ca", "list")

    key, csr = signing_csr(data_dir, bidder)
    out_pem = data_dir / "signing.pem"
    output = run(
        "ca", "issue", "--name", "t-ca", "--csr", str(csr), "-o", str(out_pem),
        "--register", bidder.organization.uscc, "--holder", bidder.username,
    )  # fmt: skip
    issued = certs.load_certificate(out_pem.read_bytes())
    assert f"issued serial {certs.serial_hex(issued)}" in output and "registered to" in output
    record = Certificate.objects.get()
    assert (record.holder, record.organization, record.issuer_ca) == (bidder, bidder.organization, ca)
    assert record.usage == CertificateUsage.SIGNING and record.status == CertificateStatus.ACTIVE
    assert cert_login(bidder, key, out_pem.read_text()) == bidder  # the certificate works

    output = run("ca", "revoke", "--name", "t-ca", "--serial", record.serial_number)
    assert "1 registered certificate(s) marked revoked" in output
    record.refresh_from_db()
    assert record.status == CertificateStatus.REVOKED
    assert LogEvent.objects.filter(action="accounts.certificate.revoked", object_id=str(record.pk)).exists()
    with pytest.raises(services.LoginRefused) as caught:
        cert_login(bidder, key, out_pem.read_text())
    assert caught.value.code == "cert_revoked"
    audit_ok()


def test_ca_issues_an_encryption_certificate_with_the_holders_subject(data_dir, bidder):
    run("ca", "init", "--name", "t-ca")
    _, csr = signing_csr(data_dir, bidder)
    signing_pem = data_dir / "signing.pem"
    run("ca", "issue", "--name", "t-ca", "--csr", str(csr), "-o", str(signing_pem))
    assert not Certificate.objects.exists()  # not registered without --register

    public = data_dir / "encryption.pub.pem"
    public.write_bytes(certs.public_key_to_pem(certs.generate_encryption_key().public_key()))
    enc_pem = data_dir / "encryption.pem"
    run(
        "ca", "issue", "--name", "t-ca", "--encryption-key", str(public), "--subject-from", str(signing_pem),
        "-o", str(enc_pem), "--register", bidder.organization.uscc,
    )  # fmt: skip
    record = Certificate.objects.get()
    assert (record.usage, record.key_algorithm, record.holder) == (
        CertificateUsage.ENCRYPTION,
        "x25519",
        None,
    )
    assert certs.subject_uscc(certs.load_certificate(enc_pem.read_bytes())) == bidder.organization.uscc
    audit_ok()


def test_ca_refusals_are_command_errors(data_dir, bidder):
    run("ca", "init", "--name", "t-ca")
    with pytest.raises(CommandError, match="ca_exists"):
        run("ca", "init", "--name", "t-ca")
    with pytest.raises(CommandError, match="ca_name_invalid"):
        run("ca", "init", "--name", "../escape")
    with pytest.raises(CommandError, match="hexadecimal"):
        run("ca", "revoke", "--name", "t-ca", "--serial", "zz")
    with pytest.raises(CommandError, match="serial_unknown"):
        run("ca", "revoke", "--name", "t-ca", "--serial", "FFFF")
    _, csr = signing_csr(data_dir, bidder)
    with pytest.raises(CommandError, match="no organization"):
        run(
            "ca",
            "issue",
            "--name",
            "t-ca",
            "--csr",
            str(csr),
            "-o",
            str(data_dir / "x.pem"),
            "--register",
            CENTRE_USCC,
        )
    with pytest.raises(CommandError, match="subject-from"):
        run("ca", "issue", "--name", "t-ca", "--encryption-key", str(csr), "-o", str(data_dir / "y.pem"))
    assert not Certificate.objects.exists()


def test_ca_init_without_trust_and_crl_sync(data_dir):
    run("ca", "init", "--name", "untrusted", "--no-trust")
    assert not TrustedCA.objects.exists()
    assert "untrusted\tnot trusted" in run("ca", "list")
    run("ca", "init", "--name", "t-ca")
    before = TrustedCA.objects.get(name="t-ca").crl_pem
    assert "re-signed" in run("ca", "crl", "--name", "t-ca")
    assert TrustedCA.objects.get(name="t-ca").crl_pem != before


# ---- bootstrap ----------------------------------------------------------------------------------


def test_bootstrap_with_the_password_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("TENDERHALL_BOOTSTRAP_PASSWORD", STRONG)
    output = run(
        "bootstrap", "--centre-name", "示范市公共资源交易中心", "--centre-uscc", CENTRE_USCC,
        "--username", "admin", "--email", "admin@centre.example",
    )  # fmt: skip
    assert "staff user admin" in output
    user = User.objects.get(username="admin")
    assert user.role == Role.STAFF and user.check_password(STRONG)
    assert user.organization.kind == OrganizationKind.TRADING_CENTRE
    with pytest.raises(CommandError, match="already_bootstrapped"):
        run("bootstrap", "--centre-name", "x", "--centre-uscc", CENTRE_USCC, "--username", "again")
    assert User.objects.count() == 1
    audit_ok()


def test_bootstrap_refuses_a_weak_password(db, monkeypatch):
    monkeypatch.setenv("TENDERHALL_BOOTSTRAP_PASSWORD", "123")
    with pytest.raises(CommandError, match="password_too_weak"):
        run("bootstrap", "--centre-name", "中心", "--centre-uscc", CENTRE_USCC, "--username", "admin")
    assert not User.objects.exists() and not Organization.objects.exists()


# ---- demo ---------------------------------------------------------------------------------------


def test_demo_builds_everything_once(data_dir):
    output = run("demo")
    assert DEMO_PASSWORD in output
    users = {u.username: u for u in User.objects.select_related("organization")}
    named = {u[0] for u in USERS}
    assert len(named) == 12 and named <= set(users)
    assert {"staff", "operator", "auditor", "supervisor", "tenderer", "agent", "expert1"} <= set(users)
    # past the opening the demo adds a remote evaluation: the experts it imported (with accounts)
    # and the secondary centre's staff
    extra = [users[name] for name in set(users) - named]
    assert extra and {u.role for u in extra} == {Role.EXPERT, Role.STAFF}
    centres = Organization.objects.filter(kind="trading_centre").count()
    assert centres == 2 and Organization.objects.count() == 11 + centres - 1
    bidders = [u for u in users.values() if u.role == Role.BIDDER]
    assert len(bidders) == 5 and len({b.organization_id for b in bidders}) == 5
    assert users["staff"].check_password(DEMO_PASSWORD)
    assert sorted(TrustedCA.objects.values_list("name", flat=True)) == sorted(DEMO_CAS)

    for bidder in bidders:
        held = Certificate.objects.filter(holder=bidder, status=CertificateStatus.ACTIVE)
        assert sorted(held.values_list("usage", flat=True)) == ["encryption", "signing"]
        keys = data_dir / "demo" / "keys" / bidder.username
        for name in ("signing.key", "encryption.key", "signing.pem", "encryption.pem"):
            assert mode(keys / name) == 0o600, name
        key = certs.load_signing_key((keys / "signing.key").read_bytes())
        cert = certs.load_certificate((keys / "signing.pem").read_bytes())
        assert certs.public_key_to_pem(key.public_key()) == certs.public_key_to_pem(cert.public_key())
        assert certs.subject_uscc(cert) == bidder.organization.uscc
    # both CAs and both algorithms are in use (全CA互认)
    signing = Certificate.objects.filter(usage=CertificateUsage.SIGNING)
    assert set(signing.values_list("issuer_ca__name", flat=True)) == set(DEMO_CAS)
    assert set(signing.values_list("key_algorithm", flat=True)) == {"ed25519", "p256"}

    # the demo keys sign in
    bidder1 = users["bidder1"]
    key = certs.load_signing_key((data_dir / "demo" / "keys" / "bidder1" / "signing.key").read_bytes())
    assert cert_login(bidder1, key) == bidder1
    audit_ok()

    before = (User.objects.count(), Certificate.objects.count(), LogEvent.objects.count())
    assert before[1] == 18
    assert "nothing to do" in run("demo", "--if-empty")
    assert (User.objects.count(), Certificate.objects.count(), LogEvent.objects.count()) == before
    with pytest.raises(CommandError, match="already has users"):
        run("demo")
    audit_ok()


def test_demo_json_summary(data_dir):
    summary = json.loads(run("demo", "--json"))
    assert summary["keys_dir"] == str(data_dir / "demo" / "keys")
    assert {u["username"] for u in summary["users"]} == {u[0] for u in USERS}
    assert summary["evaluation"]["extraction_request"] and len(summary["evaluation"]["committee"]) >= 5
    assert all(ids.is_valid_uscc(o["uscc"]) for o in summary["organizations"])
