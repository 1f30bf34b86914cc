"""Fixtures of the bidder tool's tests: a bidder's keys and certificates (made the way the tool and
a CA make them), a bid directory, and a fake platform (tests/client/fakehall.py)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tenderhall.client import cli
from tenderhall.client.cli import main
from tenderhall.core.crypto import age, certs
from tests.client.fakehall import FakeHall

USCC = "91110000600037341L"
ORG = "东方建设集团有限公司"
CA_START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _isolated_tool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No passphrase, no proxy, and a profile home of the test's own."""
    for name in ("TENDERHALL_KEY_PASSPHRASE", "TENDERHALL_SERVER", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("TENDERHALL_BID_HOME", str(tmp_path / "home"))


@functools.cache
def test_ca() -> tuple[Ed25519PrivateKey, x509.Certificate]:
    key, cert = certs.create_ca(name="client-test-ca", now=CA_START)
    assert isinstance(key, Ed25519PrivateKey)
    return key, cert


@dataclass
class BidderKeys:
    dir: Path
    signing_key: Path
    signing_cert: Path
    encryption_key: Path
    encryption_cert: Path
    identity_file: Path
    uscc: str
    organization: str

    @property
    def identity(self) -> age.X25519Identity:
        return age.load_identities(self.identity_file.read_text())[0]

    @property
    def certificate(self) -> x509.Certificate:
        return certs.load_certificate(self.signing_cert.read_bytes())


def make_bidder_keys(
    directory: Path,
    *,
    algorithm: certs.SigningAlgorithm = "ed25519",
    uscc: str = USCC,
    organization: str = ORG,
    username: str = "吴昊",
) -> BidderKeys:
    """`tenderhall-bid keygen`, then both certificates from the test CA (as `tenderhall ca` would)."""
    assert main(["keygen", "--out", str(directory), "--algorithm", algorithm]) == 0
    ca_key, ca_cert = test_ca()
    subject = certs.make_subject(common_name=username, organization=organization, uscc=uscc)
    signing = certs.load_signing_key((directory / "signing.key").read_bytes())
    csr = certs.create_csr(signing_key=signing, subject=subject)
    signing_cert = certs.issue_from_csr(ca_key=ca_key, ca_cert=ca_cert, csr=csr, now=CA_START)
    encryption = certs.load_encryption_key((directory / "encryption.key").read_bytes())
    encryption_cert = certs.issue_encryption_certificate(
        ca_key=ca_key, ca_cert=ca_cert, subject=subject, public_key=encryption.public_key(), now=CA_START
    )
    (directory / "signing.pem").write_bytes(certs.certificate_to_pem(signing_cert))
    (directory / "encryption.pem").write_bytes(certs.certificate_to_pem(encryption_cert))
    return BidderKeys(
        dir=directory,
        signing_key=directory / "signing.key",
        signing_cert=directory / "signing.pem",
        encryption_key=directory / "encryption.key",
        encryption_cert=directory / "encryption.pem",
        identity_file=directory / "identity.txt",
        uscc=uscc,
        organization=organization,
    )


@pytest.fixture
def keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> BidderKeys:
    made = make_bidder_keys(tmp_path / "keys")
    capsys.readouterr()
    return made


SUMMARY = {
    "price": "1234567.89",
    "duration_days": 180,
    "quality": "合格",
    "project_manager": {"name": "李建国", "certificate_number": "辽1212020202020123"},
}


def write_summary(path: Path, summary: object = None, *, text: str | None = None) -> Path:
    path.write_text(
        text if text is not None else json.dumps(summary or SUMMARY, ensure_ascii=False), encoding="utf-8"
    )
    return path


@pytest.fixture
def bid_dir(tmp_path: Path) -> Path:
    """A bid's documents: nested folders, Chinese names, an empty file and a bigger binary one."""
    root = tmp_path / "bid"
    (root / "技术标" / "图纸").mkdir(parents=True)
    (root / "商务标.pdf").write_bytes(b"%PDF-1.7 commercial bid\n" * 100)
    (root / "技术标" / "施工组织设计.docx").write_bytes(b"PK\x03\x04 docx" * 1000)
    (root / "技术标" / "图纸" / "plan.dwg").write_bytes(bytes(range(256)) * 5000)
    (root / "empty.txt").write_bytes(b"")
    return root


@pytest.fixture
def hall(monkeypatch: pytest.MonkeyPatch) -> FakeHall:
    """The fake platform, with section 7 (CY2026-0001-01) announced; the tool talks to it."""
    fake = FakeHall(uscc=USCC, name=ORG)
    fake.add_section(7, "CY2026-0001-01")
    monkeypatch.setattr(cli, "ApiClient", fake.client_factory())
    return fake


SERVER = "http://hall.test"


def fake_login(profile_home: Path, hall: FakeHall, keys: BidderKeys | None = None) -> Path:
    """A profile as `login` leaves it (the fake has no certificate login)."""
    profile_home.mkdir(parents=True, exist_ok=True)
    profile = profile_home / "profile.json"
    data = {
        "server": SERVER,
        "username": "wuhao",
        "token": "t0ken",
        "expires_at": "2026-12-31T00:00:00Z",
        "platform_key_pem": hall.public_key_pem,
        "platform_key_id": hall.key_id,
    }
    if keys is not None:
        data.update(signing_key=str(keys.signing_key), signing_cert=str(keys.signing_cert))
    profile.write_text(json.dumps(data))
    return profile
