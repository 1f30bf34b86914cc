"""The bidder tool against the real server (pytest-django's live_server), end to end:
login → make → seal --section → submit → receipt verify; resuming after a refused chunk, after a
half-sent upload, and after the tool was killed mid-upload; tampered receipts fail.

The world is the notices tests' (tests/notices/conftest.py): a project announced with two
sections (opening keys made at publication), section 1's documents obtained by the bidder, the
clock fixed at T0 = 2 March 2026 (deadline 24 March). The bidder's certificates come from a real
test CA (core.crypto.ca_store) the platform trusts."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tenderhall.accounts import services as accounts_services
from tenderhall.accounts.models import User
from tenderhall.bidding.models import Bid, BidStatus, UploadSession, UploadStatus
from tenderhall.client import upload
from tenderhall.client.cli import main
from tenderhall.core import clock, keys
from tenderhall.core.canonical import canonical_json
from tenderhall.core.crypto import age, certs
from tenderhall.core.crypto.ca_store import CaStore
from tenderhall.notices import services as notices_services
from tenderhall.notices.models import OpeningKey
from tests.client.conftest import write_summary
from tests.notices.conftest import World, announced, t0, world  # noqa: F401 - fixtures used here

CA = "bidder-ca"
MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def _bid_dirs(settings: Any, tmp_path: Path) -> None:
    settings.TENDERHALL_UPLOAD_DIR = tmp_path / "server" / "uploads"
    settings.MEDIA_ROOT = tmp_path / "server" / "files"


@dataclass
class Bidder:
    user: User
    keys: Path  # signing.key, signing.pem, encryption.key, encryption.pem, identity.txt
    profile: Path
    section_id: int
    world: World

    def cli(self, *args: str) -> int:
        return main(["--profile", str(self.profile), *args])

    @property
    def identity(self) -> age.X25519Identity:
        return age.load_identities((self.keys / "identity.txt").read_text())[0]


@pytest.fixture
def bidder_ready(
    announced: World,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    live_server: Any,
    capsys: pytest.CaptureFixture[str],
) -> Bidder:
    """The bidder obtained section 1's documents, holds CA-issued signing and encryption
    certificates (registered), and has logged in with the tool."""
    w = announced
    notices_services.document_obtain(acting_user=w.bidder, section=w.section)
    store = CaStore(tmp_path / "ca")
    ca_cert = store.init(CA, now=clock.now())
    accounts_services.trusted_ca_add(
        acting_user=None,
        name=CA,
        certificate_pem=certs.certificate_to_pem(ca_cert).decode(),
        crl_pem=certs.crl_to_pem(store.crl(CA)).decode(),
    )
    org = w.bidder.organization
    assert org is not None
    key_dir = tmp_path / "keys"
    assert main(["keygen", "--out", str(key_dir)]) == 0
    subject = certs.make_subject(common_name="吴昊", organization=org.name, uscc=org.uscc)
    csr = certs.create_csr(
        signing_key=certs.load_signing_key((key_dir / "signing.key").read_bytes()), subject=subject
    )
    signing = store.issue_signing(CA, csr_pem=certs.csr_to_pem(csr), now=clock.now())
    encryption = store.issue_encryption(
        CA, public_key_pem=(key_dir / "encryption.pub.pem").read_bytes(), subject=subject, now=clock.now()
    )
    (key_dir / "signing.pem").write_bytes(certs.certificate_to_pem(signing))
    (key_dir / "encryption.pem").write_bytes(certs.certificate_to_pem(encryption))
    for cert in (signing, encryption):
        accounts_services.certificate_register(
            acting_user=None,
            organization=org,
            certificate_pem=certs.certificate_to_pem(cert).decode(),
            holder=w.bidder,
        )
    bidder = Bidder(
        user=w.bidder, keys=key_dir, profile=tmp_path / "profile.json", section_id=w.section.pk, world=w
    )
    login = ["login", "--server", live_server.url, "--username", w.bidder.username]
    assert (
        bidder.cli(*login, "--key", str(key_dir / "signing.key"), "--cert", str(key_dir / "signing.pem")) == 0
    )
    capsys.readouterr()
    return bidder


def sealed_bid(bidder: Bidder, tmp_path: Path, *, size: int = 300_000, name: str = "bid") -> Path:
    """make + seal --section through the tool; the documents hold ``size`` random bytes."""
    docs = tmp_path / f"{name}-docs"
    docs.mkdir()
    (docs / "商务标.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(size))
    (docs / "技术标.docx").write_bytes(b"PK\x03\x04" * 100)
    summary = write_summary(tmp_path / f"{name}-summary.json")
    section = str(bidder.section_id)
    assert (
        bidder.cli(
            "make",
            "--section",
            section,
            "--summary",
            str(summary),
            str(docs),
            "-o",
            str(tmp_path / f"{name}.zip"),
        )
        == 0
    )
    args = ["seal", "--section", section, "--encryption-cert", str(bidder.keys / "encryption.pem")]
    assert bidder.cli(*args, str(tmp_path / f"{name}.zip"), "-o", str(tmp_path / f"{name}.age")) == 0
    return tmp_path / f"{name}.age"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def live_bid(bidder: Bidder) -> Bid:
    return Bid.objects.get(
        section_id=bidder.section_id, organization=bidder.user.organization, status=BidStatus.SUBMITTED
    )


def verify(bidder: Bidder, receipt: Any, tmp_path: Path, name: str = "check.json") -> int:
    path = tmp_path / name
    path.write_text(json.dumps(receipt, ensure_ascii=False))
    return bidder.cli("receipt", "verify", str(path))


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in leaves(item, (*path, key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in leaves(item, (*path, i))]
    return [path]


def changed(receipt: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    copied = copy.deepcopy(receipt)
    target = copied
    for key in path[:-1]:
        target = target[key]
    value = target[path[-1]]
    if isinstance(value, int) and not isinstance(value, bool):
        target[path[-1]] = value + 1
    elif isinstance(value, str) and value[-1:] in set("0123456789abcdef"):
        target[path[-1]] = value[:-1] + ("1" if value[-1] != "1" else "2")
    else:
        target[path[-1]] = f"{value}x"
    return copied


def test_login_make_seal_submit_verify(bidder_ready: Bidder, tmp_path: Path, capsys):
    b = bidder_ready
    profile = json.loads(b.profile.read_text())
    assert profile["platform_key_id"] == keys.key_id()  # pinned at login
    assert profile["platform_key_pem"] == keys.public_key_pem()

    bid = sealed_bid(b, tmp_path)
    header = age.parse_header(io.BytesIO(bid.read_bytes()))
    opening = age.X25519Recipient.from_string(OpeningKey.objects.get(section_id=b.section_id).recipient)
    assert header.stanzas[0] == age.opening_claim_stanza(opening)
    file_key = age.unwrap_file_key(header, [b.identity])
    assert age.verify_opening_stanza(header, file_key, opening)
    capsys.readouterr()

    assert b.cli("submit", "--section", str(b.section_id), str(bid), "--chunk-mib", "1") == 0
    out = capsys.readouterr().out
    receipt_file = tmp_path / "bid.age.receipt.json"
    assert f"receipt saved to {receipt_file}" in out and "receipt OK" in out
    assert not (tmp_path / "bid.age.upload.json").exists()

    stored = live_bid(b)
    assert stored.ciphertext_sha256 == sha256(bid)
    assert stored.file.read() == bid.read_bytes()
    receipt = json.loads(receipt_file.read_text())
    assert receipt == stored.receipt
    assert receipt["section"] == {"id": b.section_id, "code": b.world.section.code}
    assert receipt["bidder"]["uscc"] == b.user.organization.uscc  # type: ignore[union-attr]

    assert b.cli("receipt", "verify", str(receipt_file), "--bid", str(bid)) == 0
    assert capsys.readouterr().out.startswith("receipt OK: ")

    # Any change to any field fails.
    paths = leaves(receipt)
    assert len(paths) > 20
    for path in paths:
        assert verify(b, changed(receipt, path), tmp_path) == 1, path
        assert capsys.readouterr().err.startswith("receipt_"), path

    # And each check catches its own part, even in a receipt the platform key re-signed.
    def resigned(path: tuple[Any, ...]) -> dict[str, Any]:
        body = {k: v for k, v in changed(receipt, path).items() if k != "signature"}
        return {
            **body,
            "signature": base64.b64encode(keys.platform_key().sign(canonical_json(body))).decode(),
        }

    for path, check in [
        (("commitment_nonce",), "commitment"),
        (("ciphertext_sha256",), "commitment"),
        (("log", "payload"), "leaf_hash"),
        (("log", "signed_tree_head", "root_hash"), "inclusion"),
        (("log", "signed_tree_head", "timestamp"), "signed_tree_head"),
    ]:
        assert verify(b, resigned(path), tmp_path) == 1
        assert capsys.readouterr().err.startswith(f"receipt_{check}: "), path


def test_a_second_submission_replaces_the_first(bidder_ready: Bidder, tmp_path: Path, capsys):
    b = bidder_ready
    first = sealed_bid(b, tmp_path, name="first")
    assert b.cli("submit", "--section", str(b.section_id), str(first)) == 0
    second = sealed_bid(b, tmp_path, name="second")
    assert b.cli("submit", "--section", str(b.section_id), str(second)) == 0
    assert live_bid(b).ciphertext_sha256 == sha256(second)
    assert Bid.objects.filter(status=BidStatus.REPLACED).count() == 1
    assert b.cli("receipt", "verify", str(tmp_path / "first.age.receipt.json")) == 0  # still a true statement


def _api(b: Bidder) -> httpx.Client:
    profile = json.loads(b.profile.read_text())
    return httpx.Client(base_url=profile["server"], headers={"Authorization": f"Bearer {profile['token']}"})


def _half_sent(b: Bidder, bid: Path, sent: int) -> str:
    """An upload whose first ``sent`` bytes the server holds, and the state file saying so."""
    data = bid.read_bytes()
    with _api(b) as api:
        created = api.post(
            f"/api/v1/sections/{b.section_id}/uploads", json={"size": len(data), "sha256": sha256(bid)}
        )
        assert created.status_code == 201, created.text
        upload_id = created.json()["upload_id"]
        answer = api.put(
            f"/api/v1/uploads/{upload_id}/chunks",
            params={"offset": 0},
            content=data[:sent],
            headers={"Content-Type": "application/octet-stream"},
        )
        assert answer.status_code == 200 and answer.json() == {"received": sent}, answer.text
    server = json.loads(b.profile.read_text())["server"]
    upload.UploadState(
        server, b.section_id, upload_id, len(data), sha256(bid), created.json()["chunk_size"]
    ).save(upload.state_path(bid))
    return str(upload_id)


def test_resume_after_the_state_file_says_half_was_sent(bidder_ready: Bidder, tmp_path: Path, capsys):
    b = bidder_ready
    bid = sealed_bid(b, tmp_path, size=3 * MIB)
    upload_id = _half_sent(b, bid, bid.stat().st_size // 2)
    capsys.readouterr()
    assert b.cli("submit", "--section", str(b.section_id), str(bid), "--chunk-mib", "1") == 0
    assert f"Resuming upload {upload_id} at 1.5 of 3.0 MiB" in capsys.readouterr().err
    assert [str(u.pk) for u in UploadSession.objects.all()] == [upload_id]
    assert str(live_bid(b).upload.pk) == upload_id
    assert live_bid(b).ciphertext_sha256 == sha256(bid)
    assert b.cli("receipt", "verify", str(tmp_path / "bid.age.receipt.json")) == 0


def test_resume_after_the_server_refused_a_chunk(bidder_ready: Bidder, tmp_path: Path, capsys, monkeypatch):
    """The tool believes the server holds nothing; the server refuses the chunk at offset 0
    (409 upload_offset_mismatch) and the tool continues at the expected_offset it names."""
    b = bidder_ready
    bid = sealed_bid(b, tmp_path, size=2 * MIB)
    upload_id = _half_sent(b, bid, MIB)
    real_status = upload.Uploader.status

    def stale(self: upload.Uploader, upload_id: str) -> dict[str, Any] | None:
        answer = real_status(self, upload_id)
        return {**answer, "received": 0} if answer else answer

    monkeypatch.setattr(upload.Uploader, "status", stale)
    capsys.readouterr()
    assert b.cli("submit", "--section", str(b.section_id), str(bid), "--chunk-mib", "1") == 0
    err = capsys.readouterr().err
    assert "Resuming upload" in err and "the server holds 1.0 MiB" in err
    assert str(live_bid(b).upload.pk) == upload_id
    assert live_bid(b).file.read() == bid.read_bytes()


def test_a_killed_client_finishes_the_same_upload_on_the_next_run(
    bidder_ready: Bidder, tmp_path: Path, capsys
):
    b = bidder_ready
    bid = sealed_bid(b, tmp_path, size=12 * MIB)
    size = bid.stat().st_size
    env = {
        k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k != "TENDERHALL_KEY_PASSPHRASE"
    }
    command = [sys.executable, "-m", "tenderhall.client.cli", "--profile", str(b.profile)]
    command += ["submit", "--section", str(b.section_id), str(bid), "--chunk-mib", "1"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
    assert process.stderr is not None
    seen = []
    try:
        for raw in process.stderr:  # a progress line per tenth when stderr is not a terminal
            line = raw.decode("utf-8", "replace")
            seen.append(line)
            match = re.search(r"(\d+\.\d)/\d+\.\d MiB", line)
            if match and float(match.group(1)) > 0:
                break
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "".join(seen)

    (session,) = UploadSession.objects.all()
    assert session.status == UploadStatus.OPEN
    assert 0 < session.received < size, session.received  # killed mid-way
    state = json.loads(upload.state_path(bid).read_text())
    assert state["upload_id"] == str(session.pk)
    assert not Bid.objects.exists()

    capsys.readouterr()
    assert b.cli("submit", "--section", str(b.section_id), str(bid), "--chunk-mib", "1") == 0
    assert f"Resuming upload {session.pk}" in capsys.readouterr().err
    assert list(UploadSession.objects.values_list("pk", flat=True)) == [session.pk]
    assert live_bid(b).file.read() == bid.read_bytes()
    assert not upload.state_path(bid).exists()
    assert b.cli("receipt", "verify", str(tmp_path / "bid.age.receipt.json"), "--bid", str(bid)) == 0


def test_a_bid_sealed_without_the_opening_key_is_refused(bidder_ready: Bidder, tmp_path: Path, capsys):
    b = bidder_ready
    sealed_bid(b, tmp_path)
    plain_sealed = tmp_path / "plain.age"
    assert (
        b.cli("seal", "-r", str(b.identity.recipient()), str(tmp_path / "bid.zip"), "-o", str(plain_sealed))
        == 0
    )
    capsys.readouterr()
    assert b.cli("submit", "--section", str(b.section_id), str(plain_sealed)) == 2
    assert "bid_missing_opening_key: " in capsys.readouterr().err
    assert not Bid.objects.exists()
    assert not upload.state_path(plain_sealed).exists()


def test_login_pins_the_platform_key(bidder_ready: Bidder, capsys):
    b = bidder_ready
    login = ["login", "--server", json.loads(b.profile.read_text())["server"], "--username", b.user.username]
    login += ["--key", str(b.keys / "signing.key"), "--cert", str(b.keys / "signing.pem")]
    assert b.cli(*login) == 0  # the same key again: fine
    profile = json.loads(b.profile.read_text())
    b.profile.write_text(json.dumps({**profile, "platform_key_id": "0" * 64}))
    capsys.readouterr()
    assert b.cli(*login) == 2
    assert capsys.readouterr().err.startswith("platform_key_changed: ")
    assert json.loads(b.profile.read_text())["platform_key_id"] == "0" * 64  # not silently replaced
