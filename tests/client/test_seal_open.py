"""`tenderhall-bid seal`, `open`, `recipient` and keygen's identity.txt; interop with /usr/bin/age."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import tracemalloc
from pathlib import Path

import pytest

from tenderhall.client.cli import main
from tenderhall.core.crypto import age, certs
from tests.client.conftest import BidderKeys, write_summary

AGE = shutil.which("age") or "/usr/bin/age"
AGE_KEYGEN = shutil.which("age-keygen") or "/usr/bin/age-keygen"
needs_age = pytest.mark.skipif(not Path(AGE).exists(), reason="the age binary is not installed")
PLAINTEXT = os.urandom(200_000)


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    path = tmp_path / "plain.bin"
    path.write_bytes(PLAINTEXT)
    return path


def leftovers(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.endswith(".part")]


def test_keygen_writes_an_age_identity_for_the_encryption_key(keys: BidderKeys):
    assert stat.S_IMODE(keys.identity_file.stat().st_mode) == 0o600
    text = keys.identity_file.read_text()
    assert text.splitlines()[0].startswith("# created: ")
    private = certs.load_encryption_key(keys.encryption_key.read_bytes())
    assert keys.identity == age.identity_from_private_key(private)
    assert f"# public key: {keys.identity.recipient()}" in text


def test_recipient_prints_the_certificates_key(keys: BidderKeys, capsys):
    assert main(["recipient", str(keys.encryption_cert)]) == 0
    assert capsys.readouterr().out.strip() == str(keys.identity.recipient())
    # the public key file works too; a signing certificate does not
    assert main(["recipient", str(keys.dir / "encryption.pub.pem")]) == 0
    assert capsys.readouterr().out.strip() == str(keys.identity.recipient())
    assert main(["recipient", str(keys.signing_cert)]) == 1
    assert capsys.readouterr().err.startswith("key_wrong_usage: ")


@pytest.mark.parametrize("identity_kind", ["identity.txt", "pem", "pem-with-passphrase"])
def test_seal_and_open_round_trip(tmp_path, keys, plain, capsys, monkeypatch, identity_kind):
    other = age.generate_identity()
    sealed, opened = tmp_path / "x.age", tmp_path / "x.out"
    assert (
        main(
            [
                "seal",
                "-r",
                str(keys.identity.recipient()),
                "-r",
                str(other.recipient()),
                str(plain),
                "-o",
                str(sealed),
            ]
        )
        == 0
    )
    header = age.parse_header(io.BytesIO(sealed.read_bytes()))
    assert [s.type for s in header.stanzas] == ["X25519", "X25519"]  # no claim without --section
    if identity_kind == "identity.txt":
        identity = keys.identity_file
    else:
        identity = tmp_path / "enc.key"
        passphrase = "口令-1" if identity_kind == "pem-with-passphrase" else None
        private = certs.load_encryption_key(keys.encryption_key.read_bytes())
        identity.write_bytes(certs.private_key_to_pem(private, passphrase.encode() if passphrase else None))
        if passphrase:
            monkeypatch.setenv("TENDERHALL_KEY_PASSPHRASE", passphrase)
    assert main(["open", "-i", str(identity), str(sealed), "-o", str(opened)]) == 0
    assert opened.read_bytes() == PLAINTEXT
    assert stat.S_IMODE(opened.stat().st_mode) == 0o600
    assert not leftovers(tmp_path)


def test_recipients_file(tmp_path, keys, plain):
    listed = age.generate_identity()
    recipients = tmp_path / "recipients.txt"
    recipients.write_text(
        f"# the bidder\n{keys.identity.recipient()}\n\n# the notary\n{listed.recipient()}\n"
    )
    sealed = tmp_path / "x.age"
    assert main(["seal", "-R", str(recipients), str(plain), "-o", str(sealed)]) == 0
    assert age.decrypt_bytes([listed], sealed.read_bytes()) == PLAINTEXT
    assert age.decrypt_bytes([keys.identity], sealed.read_bytes()) == PLAINTEXT
    recipients.write_text("age1notakey\n")
    assert main(["seal", "-R", str(recipients), str(plain), "-o", str(tmp_path / "y.age")]) == 1


def test_seal_needs_a_recipient(tmp_path, plain, capsys):
    assert main(["seal", str(plain), "-o", str(tmp_path / "x.age")]) == 1
    assert capsys.readouterr().err.startswith("age_no_recipients: ")
    assert not (tmp_path / "x.age").exists()


@pytest.mark.parametrize("where", ["header", "payload", "end"])
def test_open_of_a_tampered_file_leaves_no_output(tmp_path, keys, plain, capsys, where):
    sealed = tmp_path / "x.age"
    assert main(["seal", "-r", str(keys.identity.recipient()), str(plain), "-o", str(sealed)]) == 0
    data = bytearray(sealed.read_bytes())
    offset = age.parse_header(io.BytesIO(bytes(data))).payload_offset
    position = {"header": offset - 5, "payload": offset + 150_000, "end": len(data) - 1}[where]
    data[position] ^= 0x01
    sealed.write_bytes(bytes(data))
    out = tmp_path / "x.out"
    assert main(["open", "-i", str(keys.identity_file), str(sealed), "-o", str(out)]) == 1
    assert capsys.readouterr().err.startswith("age_")
    assert not out.exists()  # not even the verified chunks before the damage
    assert not leftovers(tmp_path)


def test_open_with_the_wrong_key(tmp_path, keys, plain, capsys):
    sealed = tmp_path / "x.age"
    assert main(["seal", "-r", str(age.generate_identity().recipient()), str(plain), "-o", str(sealed)]) == 0
    out = tmp_path / "x.out"
    assert main(["open", "-i", str(keys.identity_file), str(sealed), "-o", str(out)]) == 1
    assert capsys.readouterr().err.startswith("age_no_identity_matched: ")
    assert not out.exists() and not leftovers(tmp_path)
    # a signing key is not an identity
    assert main(["open", "-i", str(keys.signing_key), str(sealed), "-o", str(out)]) == 1
    assert capsys.readouterr().err.startswith("key_wrong_usage: ")


def test_outputs_are_never_overwritten(tmp_path, keys, plain, capsys):
    sealed = tmp_path / "x.age"
    sealed.write_bytes(b"keep")
    assert main(["seal", "-r", str(keys.identity.recipient()), str(plain), "-o", str(sealed)]) == 1
    assert sealed.read_bytes() == b"keep"
    assert capsys.readouterr().err.startswith("file_exists: ")


def test_seal_and_open_stream_in_constant_memory(tmp_path, keys):
    big = tmp_path / "big.zip"
    with big.open("wb") as fh:
        for _ in range(24):
            fh.write(os.urandom(1024 * 1024))
    tracemalloc.start()
    try:
        assert (
            main(["seal", "-r", str(keys.identity.recipient()), str(big), "-o", str(tmp_path / "big.age")])
            == 0
        )
        assert (
            main(
                [
                    "open",
                    "-i",
                    str(keys.identity_file),
                    str(tmp_path / "big.age"),
                    "-o",
                    str(tmp_path / "back"),
                ]
            )
            == 0
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes for 24 MiB"
    assert (tmp_path / "back").read_bytes() == big.read_bytes()


# ---- seal --section ---------------------------------------------------------------------------------


@pytest.fixture
def bid_zip(tmp_path, keys, bid_dir, hall) -> Path:
    summary = write_summary(tmp_path / "summary.json")
    out = tmp_path / "bid.zip"
    args = ["make", "--section", "7", "--summary", str(summary), str(bid_dir), "-o", str(out)]
    assert main([*args, "--key", str(keys.signing_key), "--cert", str(keys.signing_cert)]) == 0
    return out


@pytest.mark.parametrize("own", ["--encryption-cert", "--encryption-key"])
def test_seal_for_a_section(tmp_path, keys, bid_zip, hall, capsys, own):
    sealed = tmp_path / "bid.age"
    own_file = keys.encryption_cert if own == "--encryption-cert" else keys.encryption_key
    assert main(["seal", "--section", "7", own, str(own_file), str(bid_zip), "-o", str(sealed)]) == 0
    assert "CY2026-0001-01" in capsys.readouterr().out
    opening = hall.sections[7][1]
    data = sealed.read_bytes()
    header = age.parse_header(io.BytesIO(data))
    assert header.stanzas[0] == age.opening_claim_stanza(opening.recipient())
    assert [s.type for s in header.stanzas[1:]] == ["X25519", "X25519"]
    file_key = age.unwrap_file_key(header, [keys.identity])
    assert age.verify_opening_stanza(header, file_key, opening.recipient())
    assert age.decrypt_bytes([opening], data) == bid_zip.read_bytes()
    assert age.decrypt_bytes([keys.identity], data) == bid_zip.read_bytes()


def test_seal_for_a_section_needs_the_bidders_own_key(tmp_path, bid_zip, hall, capsys):
    assert main(["seal", "--section", "7", str(bid_zip), "-o", str(tmp_path / "bid.age")]) == 1
    assert capsys.readouterr().err.startswith("encryption_key_required: ")


def test_seal_for_another_section_is_refused(tmp_path, keys, bid_zip, hall, capsys):
    hall.add_section(8, "CY2026-0001-02")
    args = ["seal", "--section", "8", "--encryption-cert", str(keys.encryption_cert), str(bid_zip)]
    assert main([*args, "-o", str(tmp_path / "bid.age")]) == 1
    assert capsys.readouterr().err.startswith("package_wrong_section: ")
    assert not (tmp_path / "bid.age").exists()
    # and something that is not a bid package is refused for a section
    args = ["seal", "--section", "7", "--encryption-cert", str(keys.encryption_cert), str(keys.signing_cert)]
    assert main([*args, "-o", str(tmp_path / "bid.age")]) == 1
    assert capsys.readouterr().err.startswith("package_invalid: ")


# ---- interop with the age command-line tool ----------------------------------------------------------


@needs_age
def test_age_opens_what_the_tool_seals(tmp_path, keys, plain):
    sealed = tmp_path / "x.age"
    assert main(["seal", "-r", str(keys.identity.recipient()), str(plain), "-o", str(sealed)]) == 0
    result = subprocess.run(
        [AGE, "-d", "-i", str(keys.identity_file), str(sealed)], capture_output=True, check=True
    )
    assert result.stdout == PLAINTEXT


@needs_age
def test_the_tool_opens_what_age_seals(tmp_path, keys, plain, capsys):
    assert main(["recipient", str(keys.encryption_cert)]) == 0
    recipient = capsys.readouterr().out.strip()
    sealed = tmp_path / "x.age"
    subprocess.run([AGE, "-e", "-r", recipient, "-o", str(sealed), str(plain)], check=True)
    out = tmp_path / "x.out"
    assert main(["open", "-i", str(keys.encryption_key), str(sealed), "-o", str(out)]) == 0
    assert out.read_bytes() == PLAINTEXT
    # and with an identity file made by age-keygen
    theirs = tmp_path / "theirs.txt"
    subprocess.run([AGE_KEYGEN, "-o", str(theirs)], check=True, capture_output=True)
    their_recipient = age.load_identities(theirs.read_text())[0].recipient()
    sealed2 = tmp_path / "y.age"
    assert main(["seal", "-r", str(their_recipient), str(plain), "-o", str(sealed2)]) == 0
    assert main(["open", "-i", str(theirs), str(sealed2), "-o", str(tmp_path / "y.out")]) == 0
    assert (tmp_path / "y.out").read_bytes() == PLAINTEXT


@needs_age
def test_age_opens_a_section_sealed_bid(tmp_path, keys, bid_zip, hall):
    sealed = tmp_path / "bid.age"
    args = ["seal", "--section", "7", "--encryption-cert", str(keys.encryption_cert), str(bid_zip)]
    assert main([*args, "-o", str(sealed)]) == 0
    result = subprocess.run(
        [AGE, "-d", "-i", str(keys.identity_file), str(sealed)], capture_output=True, check=True
    )
    assert result.stdout == bid_zip.read_bytes()
