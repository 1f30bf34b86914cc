"""The opening-key claim stanza and the deterministic opening stanza (the sealed-bid contract)."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from tenderhall.client import envelope
from tenderhall.client.cli import main
from tenderhall.core.crypto import age

AGE = shutil.which("age") or "/usr/bin/age"
needs_age = pytest.mark.skipif(not Path(AGE).exists(), reason="the age binary is not installed")

BIDDER = age.generate_identity()
OPENING = age.generate_identity()
PLAINTEXT = b"PK\x03\x04 a bid package " * 5000  # a few chunks


def seal(
    plaintext: bytes = PLAINTEXT, *, opening: age.X25519Recipient | None = None, honest: bool = True
) -> bytes:
    opening = opening or OPENING.recipient()

    def ephemeral_for(file_key: bytes, recipient: age.X25519Recipient) -> X25519PrivateKey | None:
        if honest and recipient == opening:
            return age.opening_ephemeral(file_key, recipient)
        return None

    out = io.BytesIO()
    age.encrypt(
        [BIDDER.recipient(), opening],
        io.BytesIO(plaintext),
        out,
        extra_stanzas=[age.opening_claim_stanza(opening)],
        ephemeral_for=ephemeral_for,
    )
    return out.getvalue()


def header_and_key(sealed: bytes) -> tuple[age.Header, bytes]:
    header = age.parse_header(io.BytesIO(sealed))
    return header, age.unwrap_file_key(header, [BIDDER])


def test_key_id_is_the_truncated_sha256_in_unpadded_base64() -> None:
    recipient = OPENING.recipient()
    digest = hashlib.sha256(recipient.public_bytes).digest()[:16]
    expected = base64.b64encode(digest).decode().rstrip("=")
    assert age.opening_key_id(recipient) == expected
    assert len(expected) == 22 and "=" not in expected
    assert age.opening_key_id(age.generate_identity().recipient()) != expected


def test_the_claim_stanza_is_first_with_an_empty_body() -> None:
    sealed = seal()
    header = age.parse_header(io.BytesIO(sealed))
    first, *rest = header.stanzas
    assert first == age.Stanza("tenderhall-opening-key", (age.opening_key_id(OPENING.recipient()),), b"")
    assert [s.type for s in rest] == ["X25519", "X25519"]
    lines = header.header_bytes.split(b"\n")
    assert lines[1] == b"-> tenderhall-opening-key " + age.opening_key_id(OPENING.recipient()).encode()
    assert lines[2] == b""  # the empty body is one empty line


def test_the_opening_ephemeral_is_hkdf_of_the_file_key() -> None:
    file_key = bytes(range(16))
    recipient = OPENING.recipient()
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=recipient.public_bytes,
        info=b"tenderhall/opening-stanza/v1",
    ).derive(file_key)
    expected = X25519PrivateKey.from_private_bytes(okm)
    got = age.opening_ephemeral(file_key, recipient)
    assert got.public_key().public_bytes_raw() == expected.public_key().public_bytes_raw()
    with pytest.raises(age.AgeError):
        age.opening_ephemeral(b"short", recipient)


def test_the_opening_stanza_recomputes_for_an_honest_file() -> None:
    sealed = seal()
    header, file_key = header_and_key(sealed)
    share = age.opening_ephemeral(file_key, OPENING.recipient()).public_key().public_bytes_raw()
    share_arg = base64.b64encode(share).decode().rstrip("=")
    assert [s.args for s in header.stanzas if s.type == "X25519"][1] == (share_arg,)
    assert age.verify_opening_stanza(header, file_key, OPENING.recipient())
    # and both recipients really open it
    assert age.decrypt_bytes([OPENING], sealed) == PLAINTEXT
    assert age.decrypt_bytes([BIDDER], sealed) == PLAINTEXT


def test_a_random_ephemeral_is_detected() -> None:
    header, file_key = header_and_key(seal(honest=False))
    assert not age.verify_opening_stanza(header, file_key, OPENING.recipient())


def test_a_file_sealed_to_another_key_is_detected() -> None:
    other = age.generate_identity().recipient()
    header, file_key = header_and_key(seal(opening=other))
    assert age.verify_opening_stanza(header, file_key, other)
    assert not age.verify_opening_stanza(header, file_key, OPENING.recipient())


def test_a_false_claim_is_detected() -> None:
    """A file that claims the opening key but is sealed to another one: the claim is only what
    finalize can check; the recomputed stanza tells the truth once the file key is known."""
    other = age.generate_identity().recipient()
    out = io.BytesIO()
    age.encrypt(
        [BIDDER.recipient(), other],
        io.BytesIO(b"bid"),
        out,
        extra_stanzas=[age.opening_claim_stanza(OPENING.recipient())],
        ephemeral_for=lambda key, r: age.opening_ephemeral(key, r) if r == other else None,
    )
    header, file_key = header_and_key(out.getvalue())
    assert header.stanzas[0].args == (age.opening_key_id(OPENING.recipient()),)
    assert not age.verify_opening_stanza(header, file_key, OPENING.recipient())
    assert not age.header_has_recipient(header, OPENING)


def test_a_wrong_file_key_is_refused() -> None:
    header, file_key = header_and_key(seal())
    assert not age.verify_opening_stanza(header, bytes(16), OPENING.recipient())
    assert not age.verify_opening_stanza(header, file_key[:8], OPENING.recipient())
    # the file key of another file, even an honest one for the same key, does not fit this header
    _, other_key = header_and_key(seal())
    assert not age.verify_opening_stanza(header, other_key, OPENING.recipient())


def test_each_file_gets_its_own_opening_share() -> None:
    a, b = age.parse_header(io.BytesIO(seal())), age.parse_header(io.BytesIO(seal()))
    assert a.stanzas[2].args != b.stanzas[2].args  # the file key differs, so does the ephemeral


def test_encrypt_without_the_new_arguments_is_unchanged() -> None:
    out = io.BytesIO()
    age.encrypt([BIDDER.recipient()], io.BytesIO(b"x"), out)
    assert [s.type for s in age.parse_header(io.BytesIO(out.getvalue())).stanzas] == ["X25519"]


@needs_age
def test_age_decrypts_a_section_sealed_file_with_the_bidders_identity_file(tmp_path: Path) -> None:
    """Interop kept: age skips the unknown claim stanza. The identity file is the one `tenderhall-bid
    keygen` writes, and the file is sealed through the CLI path (envelope.seal)."""
    keys = tmp_path / "keys"
    assert main(["keygen", "--out", str(keys)]) == 0
    bidder = envelope.identities_from_file(keys / "identity.txt", None)[0]
    plain = tmp_path / "bid.zip"
    plain.write_bytes(PLAINTEXT)
    sealed = tmp_path / "bid.age"
    envelope.seal(plain, sealed, [bidder.recipient()], opening=OPENING.recipient())
    assert age.parse_header(io.BytesIO(sealed.read_bytes())).stanzas[0].type == "tenderhall-opening-key"
    result = subprocess.run(
        [AGE, "-d", "-i", str(keys / "identity.txt"), str(sealed)], capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == PLAINTEXT
    # and the opening key opens it too, with our decrypter and with age
    opening_file = tmp_path / "opening.txt"
    opening_file.write_text(age.format_identity_file(OPENING))
    theirs = subprocess.run(
        [AGE, "-d", "-i", str(opening_file), str(sealed)], capture_output=True, check=True
    )
    assert theirs.stdout == PLAINTEXT


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=3 * age.CHUNK_SIZE))
def test_the_opening_stanza_always_recomputes(plaintext: bytes) -> None:
    sealed = seal(plaintext)
    header, file_key = header_and_key(sealed)
    assert age.verify_opening_stanza(header, file_key, OPENING.recipient())
    assert not age.verify_opening_stanza(header, file_key, BIDDER.recipient())
    assert age.decrypt_bytes([OPENING], sealed) == plaintext
