"""tenderhall-bid: local commands (keygen, csr, sign-challenge). Login is tested end to end elsewhere."""

from __future__ import annotations

import base64
import datetime as dt
import stat
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tenderhall import __version__
from tenderhall.client.api import ApiClient, ApiError
from tenderhall.client.cli import main
from tenderhall.core.crypto import certs

USCC = "91110000600037341L"
NONCE = "Zq3xV9c2kP0aB7dE-_fGhJ"


@pytest.fixture(autouse=True)
def _no_passphrase(monkeypatch):
    monkeypatch.delenv("TENDERHALL_KEY_PASSPHRASE", raising=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("algorithm", ["ed25519", "p256"])
def test_keygen_writes_keys_with_private_modes(tmp_path, capsys, algorithm):
    out = tmp_path / "keys"
    assert main(["keygen", "--out", str(out), "--algorithm", algorithm]) == 0
    assert mode(out / "signing.key") == 0o600
    assert mode(out / "encryption.key") == 0o600
    assert mode(out / "signing.pub.pem") == 0o644
    signing = certs.load_signing_key((out / "signing.key").read_bytes())
    assert certs.key_algorithm_name(signing.public_key()) == algorithm
    assert certs.load_public_key((out / "signing.pub.pem").read_bytes()) == signing.public_key()
    encryption = certs.load_private_key((out / "encryption.key").read_bytes())
    assert isinstance(encryption, X25519PrivateKey)
    assert certs.load_public_key((out / "encryption.pub.pem").read_bytes()) == encryption.public_key()
    assert "signing.key" in capsys.readouterr().out


def test_keygen_refuses_to_overwrite(tmp_path, capsys):
    assert main(["keygen", "--out", str(tmp_path)]) == 0
    before = (tmp_path / "signing.key").read_bytes()
    capsys.readouterr()
    assert main(["keygen", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("file_exists: ") and " / Refusing to overwrite" in err
    assert (tmp_path / "signing.key").read_bytes() == before

    # one leftover file is enough to refuse, and nothing else gets written
    other = tmp_path / "other"
    other.mkdir()
    (other / "encryption.pub.pem").write_text("x")
    assert main(["keygen", "--out", str(other)]) == 1
    assert not (other / "signing.key").exists()


def test_keygen_encrypts_with_the_passphrase(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TENDERHALL_KEY_PASSPHRASE", "口令-s3cret")
    assert main(["keygen", "--out", str(tmp_path)]) == 0
    for name in ("signing.key", "encryption.key"):
        pem = (tmp_path / name).read_bytes()
        assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        certs.load_private_key(pem, "口令-s3cret".encode())

    # the other commands read it with the same variable; without it they say why
    challenge = certs.challenge_text(NONCE, "bidder01")
    assert main(["sign-challenge", "--key", str(tmp_path / "signing.key"), challenge]) == 0
    monkeypatch.delenv("TENDERHALL_KEY_PASSPHRASE")
    capsys.readouterr()
    assert main(["sign-challenge", "--key", str(tmp_path / "signing.key"), challenge]) == 1
    assert capsys.readouterr().err.startswith("key_passphrase: ")


@pytest.mark.parametrize("algorithm", ["ed25519", "p256"])
def test_csr_parses_and_carries_the_uscc(tmp_path, capsys, algorithm):
    main(["keygen", "--out", str(tmp_path), "--algorithm", algorithm])
    out = tmp_path / "req.csr"
    args = ["csr", "--key", str(tmp_path / "signing.key"), "--common-name", "张三"]
    args += ["--organization", "示例建设集团有限公司", "--uscc", USCC, "-o", str(out)]
    assert main(args) == 0
    csr = x509.load_pem_x509_csr(out.read_bytes())
    assert csr.is_signature_valid
    assert csr.subject == certs.make_subject(
        common_name="张三", organization="示例建设集团有限公司", uscc=USCC
    )
    assert csr.subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.97"))[0].value == USCC
    signing = certs.load_signing_key((tmp_path / "signing.key").read_bytes())
    assert csr.public_key() == signing.public_key()
    # and a CA accepts it
    ca_key, ca_cert = certs.create_ca(name="CLI Test CA", now=dt.datetime.now(dt.UTC))
    cert = certs.issue_from_csr(
        ca_key=ca_key, ca_cert=ca_cert, csr=csr, valid_days=30, now=dt.datetime.now(dt.UTC)
    )
    assert certs.subject_uscc(cert) == USCC
    # refuses to overwrite
    assert main(args) == 1


def test_csr_refuses_an_encryption_key(tmp_path, capsys):
    main(["keygen", "--out", str(tmp_path)])
    args = ["csr", "--key", str(tmp_path / "encryption.key"), "--common-name", "x"]
    args += ["--organization", "y", "--uscc", USCC, "-o", str(tmp_path / "req.csr")]
    assert main(args) == 1
    assert capsys.readouterr().err.startswith("key_wrong_usage: ")


@pytest.mark.parametrize("algorithm", ["ed25519", "p256"])
def test_sign_challenge_output_verifies(tmp_path, capsys, algorithm):
    main(["keygen", "--out", str(tmp_path), "--algorithm", algorithm])
    capsys.readouterr()
    challenge = certs.challenge_text(NONCE, "bidder01")
    assert main(["sign-challenge", "--key", str(tmp_path / "signing.key"), challenge]) == 0
    signature = base64.b64decode(capsys.readouterr().out.strip(), validate=True)
    public_key = certs.load_public_key((tmp_path / "signing.pub.pem").read_bytes())
    certs.verify_signature(public_key, challenge.encode(), signature)
    with pytest.raises(certs.CertificateError):
        certs.verify_signature(public_key, certs.challenge_text(NONCE, "bidder02").encode(), signature)


def test_sign_challenge_refuses_arbitrary_text(tmp_path, capsys):
    main(["keygen", "--out", str(tmp_path)])
    capsys.readouterr()
    assert main(["sign-challenge", "--key", str(tmp_path / "signing.key"), '{"bid": "manifest"}']) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("challenge_invalid: ")


def test_missing_key_file_is_a_clear_error(tmp_path, capsys):
    assert (
        main(["sign-challenge", "--key", str(tmp_path / "nope.key"), certs.challenge_text(NONCE, "u")]) == 1
    )
    assert capsys.readouterr().err.startswith("file_unreadable: ")


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"tenderhall-bid {__version__}"


def test_whoami_without_login(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TENDERHALL_BID_HOME", str(tmp_path))
    assert main(["whoami"]) == 1
    assert capsys.readouterr().err.startswith("not_logged_in: ")


def test_api_client_turns_problems_into_api_errors():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/ok":
            assert request.headers["Authorization"] == "Bearer t0k"
            return httpx.Response(200, json={"hello": "世界"})
        if request.url.path == "/api/v1/refused":
            problem = {
                "code": "cert_expired",
                "message_zh": "证书已过期",
                "message_en": "expired",
                "detail": "d",
            }
            return httpx.Response(403, json=problem, headers={"Content-Type": "application/problem+json"})
        return httpx.Response(502, text="<html>bad gateway</html>")

    with ApiClient("http://hall.test/", token="t0k", transport=httpx.MockTransport(handler)) as api:
        assert api.get_json("/api/v1/ok") == {"hello": "世界"}
        with pytest.raises(ApiError) as info:
            api.post_json("/api/v1/refused", {})
        assert (info.value.code, info.value.status, info.value.message_zh) == (
            "cert_expired",
            403,
            "证书已过期",
        )
        with pytest.raises(ApiError) as info:
            api.get_json("/api/v1/other")
        assert info.value.code == "http_502"


def test_the_tool_does_not_import_django():
    # The bidder tool talks to the API only (DESIGN §2); importing Django would also make it slow.
    import subprocess

    code = "import sys, tenderhall.client.cli; print('django' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    "command",
    [
        ["make"],
        ["check"],
        ["seal"],
        ["open"],
        ["recipient"],
        ["submit"],
        ["receipt"],
        ["receipt", "verify"],
        ["keygen"],
    ],
)
def test_every_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: tenderhall-bid " + " ".join(command))


def test_keygen_refuses_when_only_the_identity_file_exists(tmp_path, capsys):
    (tmp_path / "identity.txt").write_text("# someone's\n")
    assert main(["keygen", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("file_exists: ")
    assert not (tmp_path / "encryption.key").exists()
