"""tenderhall-bid against a real server (pytest-django's live_server): certificate login end to end."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from tenderhall.accounts import services
from tenderhall.accounts.models import ApiToken, Role, TrustedCA, User
from tenderhall.client.cli import main
from tenderhall.core import clock
from tenderhall.core.crypto import certs
from tenderhall.core.crypto.ca_store import CaStore
from tests.factories import OrganizationFactory, UserFactory

CA = "live-ca"


@dataclass
class Holder:
    user: User
    key: Path
    cert: Path
    serial: int


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch):
    for name in (
        "TENDERHALL_KEY_PASSPHRASE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def store(tmp_path: Path, transactional_db: None) -> CaStore:
    store = CaStore(tmp_path / "ca")
    cert = store.init(CA, now=clock.now())
    services.trusted_ca_add(
        acting_user=None,
        name=CA,
        certificate_pem=certs.certificate_to_pem(cert).decode(),
        crl_pem=certs.crl_to_pem(store.crl(CA)).decode(),
    )
    return store


@pytest.fixture
def holder(store: CaStore, tmp_path: Path) -> Holder:
    org = OrganizationFactory(name="东方建设集团有限公司")
    user = UserFactory(role=Role.BIDDER, organization=org, username="wuhao")
    key = certs.generate_signing_key("p256")
    subject = certs.make_subject(common_name="吴昊", organization=org.name, uscc=org.uscc)
    csr = certs.create_csr(signing_key=key, subject=subject)
    cert = store.issue_signing(CA, csr_pem=certs.csr_to_pem(csr), now=clock.now())
    services.certificate_register(
        acting_user=None,
        organization=org,
        certificate_pem=certs.certificate_to_pem(cert).decode(),
        holder=user,
    )
    key_path, cert_path = tmp_path / "signing.key", tmp_path / "signing.pem"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(certs.private_key_to_pem(key))
    cert_path.write_bytes(certs.certificate_to_pem(cert))
    return Holder(user=user, key=key_path, cert=cert_path, serial=cert.serial_number)


def login(profile: Path, server: str, holder: Holder, *, key: Path | None = None) -> int:
    return main(
        [
            "--profile", str(profile), "login", "--server", server, "--username", holder.user.username,
            "--key", str(key or holder.key), "--cert", str(holder.cert),
        ]
    )  # fmt: skip


def test_login_then_whoami(live_server, holder, tmp_path, capsys):
    profile = tmp_path / "p.json"
    assert login(profile, live_server.url, holder) == 0
    out = capsys.readouterr().out
    assert "wuhao" in out and "东方建设集团有限公司" in out

    saved = json.loads(profile.read_text(encoding="utf-8"))
    assert saved["server"] == live_server.url and saved["username"] == "wuhao"
    assert stat.S_IMODE(profile.stat().st_mode) == 0o600  # it holds a bearer token
    assert ApiToken.objects.filter(user=holder.user).count() == 1
    assert services.user_for_api_token(saved["token"]) == holder.user

    assert main(["--profile", str(profile), "whoami"]) == 0
    me = json.loads(capsys.readouterr().out)
    assert me == {
        "username": "wuhao",
        "organization": "东方建设集团有限公司",
        "organization_uscc": holder.user.organization.uscc,
        "role": "bidder",
    }


def test_whoami_after_the_token_is_revoked(live_server, holder, tmp_path, capsys):
    profile = tmp_path / "p.json"
    assert login(profile, live_server.url, holder) == 0
    ApiToken.objects.filter(user=holder.user).update(revoked_at=clock.now())
    capsys.readouterr()
    assert main(["--profile", str(profile), "whoami"]) == 2
    assert capsys.readouterr().err.startswith("not_authenticated: 请先登录 / Sign in first")


def test_a_revoked_certificate_is_refused_by_the_server(live_server, store, holder, tmp_path, capsys):
    crl = store.revoke(CA, serial=holder.serial, now=clock.now())
    services.trusted_ca_update_crl(
        acting_user=None, ca=TrustedCA.objects.get(name=CA), crl_pem=certs.crl_to_pem(crl).decode()
    )
    profile = tmp_path / "p.json"
    assert login(profile, live_server.url, holder) == 2
    err = capsys.readouterr().err
    assert err.startswith("cert_revoked: ")
    assert "已吊销" in err and "is revoked" in err
    assert not profile.exists()
    assert not ApiToken.objects.exists()


def test_a_key_that_is_not_the_certificates_is_a_local_error(live_server, holder, tmp_path, capsys):
    other = tmp_path / "other.key"
    other.write_bytes(certs.private_key_to_pem(certs.generate_signing_key()))
    assert login(tmp_path / "p.json", live_server.url, holder, key=other) == 1
    assert capsys.readouterr().err.startswith("key_cert_mismatch: ")


def test_an_unregistered_user_is_refused(live_server, holder, tmp_path, capsys):
    User.objects.filter(pk=holder.user.pk).update(username="someone-else")
    assert login(tmp_path / "p.json", live_server.url, holder) == 2
    assert capsys.readouterr().err.startswith("certificate_not_registered: ")
