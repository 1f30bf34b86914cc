"""age v1 (DESIGN §4 sealed bids): testkit vectors, interop with the age binary, tampering, remote opening."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tracemalloc
import zlib
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenderhall.core.crypto import age
from tenderhall.core.crypto.age import CHUNK_SIZE, AgeError
from tenderhall.core.errors import DomainError

TESTKIT = Path(__file__).parent / "age_testkit"
ENC_CHUNK = CHUNK_SIZE + 16
AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
needs_age = pytest.mark.skipif(AGE is None or AGE_KEYGEN is None, reason="the age binaries are not installed")

# ---------------------------------------------------------------------------------------------
# C2SP/CCTV testkit vectors (see age_testkit/regenerate.py for their provenance)

# "header failure" covers our parse and X25519 stanza errors; age reads the nonce with the header
# (stream_no_nonce, stream_short_nonce), we read it with the payload and call it truncation.
EXPECT_CODES = {
    "header failure": {"age_not_age_file", "age_version_unsupported", "age_header_invalid", "age_truncated"},
    "HMAC failure": {"age_header_mac_invalid"},
    "no match": {"age_no_identity_matched"},
    "payload failure": {"age_payload_corrupt", "age_truncated", "age_trailing_data"},
}
VECTORS = sorted(p.name for p in TESTKIT.iterdir() if p.is_file() and "." not in p.name)


def load_vector(name: str) -> tuple[dict[str, list[str]], bytes]:
    raw = (TESTKIT / name).read_bytes()
    head, body = raw.split(b"\n\n", 1)
    meta: dict[str, list[str]] = {}
    for line in head.decode().splitlines():
        key, value = line.split(": ", 1)
        meta.setdefault(key, []).append(value)
    if meta.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return meta, body


def test_testkit_is_vendored() -> None:
    assert len(VECTORS) >= 50
    assert {
        "x25519",
        "stream_last_chunk_full",
        "hmac_bad",
        "x25519_low_order",
        "stream_trailing_garbage_long",
    } <= set(VECTORS)


@pytest.mark.parametrize("name", VECTORS)
def test_testkit_vector(name: str) -> None:
    meta, body = load_vector(name)
    expect = meta["expect"][0]
    # "empty" names no identity: any will do, parsing must fail first.
    identities = [age.X25519Identity.from_string(s) for s in meta.get("identity", [SPEC_IDENTITY])]
    out = io.BytesIO()
    if expect == "success":
        age.decrypt(identities, io.BytesIO(body), out)
        assert hashlib.sha256(out.getvalue()).hexdigest() == meta["payload"][0]
        # The header round-trips through our encoder and the file key is the vector's.
        header = age.parse_header(io.BytesIO(body))
        remarshal = age.V1_LINE + b"".join(s.to_bytes() for s in header.stanzas) + b"---"
        assert remarshal == header.mac_message
        assert age.unwrap_file_key(header, identities).hex() == meta["file key"][0]
        return
    with pytest.raises(AgeError) as caught:
        age.decrypt(identities, io.BytesIO(body), out)
    assert caught.value.code in EXPECT_CODES[expect], caught.value
    if expect == "payload failure":
        # Only authenticated plaintext is ever released, and all of it before the bad chunk.
        assert hashlib.sha256(out.getvalue()).hexdigest() == meta["payload"][0]
    else:
        assert out.getvalue() == b""


def test_testkit_port_matches_upstream() -> None:
    """The vector generator reproduces upstream files byte for byte (see its docstring)."""
    subprocess.run(
        [sys.executable, str(TESTKIT / "regenerate.py"), "--check"], check=True, capture_output=True
    )


# ---------------------------------------------------------------------------------------------
# Keys: Bech32 as age-keygen writes them

# The example pair from the spec (C2SP age.md, "The X25519 recipient type").
SPEC_IDENTITY = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
SPEC_RECIPIENT = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"


def test_spec_key_pair() -> None:
    identity = age.X25519Identity.from_string(SPEC_IDENTITY)
    assert str(identity) == SPEC_IDENTITY
    assert str(identity.recipient()) == SPEC_RECIPIENT
    assert age.X25519Recipient.from_string(SPEC_RECIPIENT) == identity.recipient()
    assert SPEC_IDENTITY not in repr(identity)


def test_key_round_trips_and_constructors() -> None:
    identity = age.generate_identity()
    assert age.X25519Identity.from_string(str(identity)) == identity
    assert str(identity).startswith("AGE-SECRET-KEY-1") and str(identity).isupper()
    assert str(identity.recipient()).startswith("age1") and len(str(identity.recipient())) == 62
    private = X25519PrivateKey.generate()
    assert age.identity_from_private_key(private).recipient() == age.recipient_from_public_key(
        private.public_key()
    )
    assert age.X25519Recipient(private.public_key().public_bytes_raw()) == age.recipient_from_public_key(
        private.public_key()
    )


@pytest.mark.parametrize(
    "text",
    [
        SPEC_RECIPIENT.upper(),  # a recipient is lower case
        SPEC_RECIPIENT[:-1] + "q",  # checksum
        SPEC_RECIPIENT[:10] + SPEC_RECIPIENT[10:].upper(),  # mixed case
        SPEC_RECIPIENT.replace("age1", "agf1"),
        "age1" + "b" * 10,  # a bech32m-style or random string
        SPEC_RECIPIENT[:20] + "b" + SPEC_RECIPIENT[21:],  # 'b' is not in the charset
        age.bech32_encode("age", bytes(31)),  # valid Bech32, wrong key length
        age.bech32_encode("age", bytes(33)),
        "",
        "age1",
    ],
)
def test_bad_recipients(text: str) -> None:
    with pytest.raises(AgeError) as caught:
        age.X25519Recipient.from_string(text)
    assert caught.value.code == "age_key_invalid"


@pytest.mark.parametrize(
    "text",
    [
        SPEC_IDENTITY.lower(),
        SPEC_RECIPIENT,
        SPEC_IDENTITY[:-1] + "Q",
        "AGE-SECRET-KEY-PQ-1XX",
        "AGE-SECRET-KEY-1",
    ],
)
def test_bad_identities(text: str) -> None:
    with pytest.raises(AgeError) as caught:
        age.X25519Identity.from_string(text)
    assert caught.value.code == "age_key_invalid"


def test_bech32_bip173() -> None:
    # BIP 173 valid test vectors (bech32, not bech32m), and one invalid of each kind.
    for valid in [
        "A12UEL5L",
        "a12uel5l",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    ]:
        hrp, data = age.bech32_decode(valid)
        assert age.bech32_encode(hrp, data) == valid
    for invalid in ["A1G7SGD8", "10a06t8", "1qzzfhee", "x1b4n0q5v", "li1dgmt3", "A12uEL5L"]:
        with pytest.raises(AgeError):
            age.bech32_decode(invalid)


def test_load_identities_as_age_keygen_writes_them(tmp_path: Path) -> None:
    ours = age.generate_identity()
    text = age.format_identity_file(ours)
    assert text.startswith("# created: ") and f"# public key: {ours.recipient()}\n" in text
    second = age.generate_identity()
    both = text + "\n" + str(second) + "\r\n"
    assert age.load_identities(both) == [ours, second]
    with pytest.raises(AgeError, match="no identities"):
        age.load_identities("# only a comment\n\n")
    with pytest.raises(AgeError) as caught:
        age.load_identities("# hi\nssh-ed25519-secret-do-not-echo\n")
    assert "do-not-echo" not in str(caught.value) and "line 2" in str(caught.value)
    with pytest.raises(AgeError):
        age.load_identities(" " + str(ours))  # no trimming, as age


@needs_age
def test_load_identities_reads_age_keygen_output(tmp_path: Path) -> None:
    key = tmp_path / "key.txt"
    subprocess.run([AGE_KEYGEN, "-o", str(key)], check=True, capture_output=True)
    (identity,) = age.load_identities(key.read_text())
    public = subprocess.run([AGE_KEYGEN, "-y", str(key)], check=True, capture_output=True, text=True).stdout
    assert str(identity.recipient()) == public.strip()
    assert str(identity) in key.read_text()


# ---------------------------------------------------------------------------------------------
# Interop with the age binary, both ways


def _keygen(tmp_path: Path, name: str) -> tuple[Path, age.X25519Identity]:
    key = tmp_path / name
    subprocess.run([AGE_KEYGEN, "-o", str(key)], check=True, capture_output=True)
    return key, age.load_identities(key.read_text())[0]


def _our_key(tmp_path: Path, name: str) -> tuple[Path, age.X25519Identity]:
    identity = age.generate_identity()
    key = tmp_path / name
    key.write_text(age.format_identity_file(identity))
    return key, identity


SIZES = [0, 1, 100, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, (1 << 20) + 12345]


@needs_age
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("keys", ["age-keygen", "ours"])
def test_interop_both_ways(tmp_path: Path, size: int, keys: str) -> None:
    make = _keygen if keys == "age-keygen" else _our_key
    key, identity = make(tmp_path, "key.txt")
    plaintext = os.urandom(size)

    # tenderhall encrypts, age decrypts.
    ours = tmp_path / "ours.age"
    with ours.open("wb") as dst:
        age.encrypt([identity.recipient()], io.BytesIO(plaintext), dst)
    done = subprocess.run([AGE, "-d", "-i", str(key), str(ours)], capture_output=True, check=True)
    assert done.stdout == plaintext

    # age encrypts, tenderhall decrypts.
    theirs = subprocess.run(
        [AGE, "-r", str(identity.recipient())], input=plaintext, capture_output=True, check=True
    ).stdout
    assert age.decrypt_bytes([identity], theirs) == plaintext


@needs_age
def test_interop_multiple_recipients(tmp_path: Path) -> None:
    key_a, a = _keygen(tmp_path, "a.txt")
    key_b, b = _our_key(tmp_path, "b.txt")
    _, stranger = _our_key(tmp_path, "c.txt")
    plaintext = os.urandom(3 * CHUNK_SIZE + 7)

    ours = age.encrypt_bytes([a.recipient(), b.recipient()], plaintext)
    assert len(age.parse_header(io.BytesIO(ours)).stanzas) == 2
    for key in (key_a, key_b):
        assert (
            subprocess.run([AGE, "-d", "-i", str(key)], input=ours, capture_output=True, check=True).stdout
            == plaintext
        )

    theirs = subprocess.run(
        [AGE, "-r", str(a.recipient()), "-r", str(b.recipient())],
        input=plaintext,
        capture_output=True,
        check=True,
    ).stdout
    assert age.decrypt_bytes([a], theirs) == plaintext
    assert age.decrypt_bytes([stranger, b], theirs) == plaintext
    with pytest.raises(AgeError) as caught:
        age.decrypt_bytes([stranger], theirs)
    assert caught.value.code == "age_no_identity_matched"


def test_chunk_layout() -> None:
    """The last chunk may be full; it is empty only for an empty payload (spec "Payload")."""
    identity = age.generate_identity()
    for size, chunks in [(0, 1), (1, 1), (CHUNK_SIZE, 1), (CHUNK_SIZE + 1, 2), (2 * CHUNK_SIZE, 2)]:
        ct = age.encrypt_bytes([identity.recipient()], b"\x5a" * size)
        header = age.parse_header(io.BytesIO(ct))
        assert len(ct) == header.payload_offset + 16 + size + 16 * chunks
        assert age.decrypt_bytes([identity], ct) == b"\x5a" * size


def test_header_shape() -> None:
    identity = age.generate_identity()
    ct = age.encrypt_bytes([identity.recipient()], b"bid")
    lines = age.parse_header(io.BytesIO(ct)).header_bytes.split(b"\n")
    assert lines[0] == b"age-encryption.org/v1"
    assert lines[1].startswith(b"-> X25519 ") and len(lines[1]) == len(b"-> X25519 ") + 43
    assert len(lines[2]) == 43  # 32-byte body: one short line
    assert lines[3].startswith(b"--- ") and len(lines[3]) == 47 and lines[4] == b""


# ---------------------------------------------------------------------------------------------
# Tampering: every corruption is a clean AgeError, never another exception, never bad plaintext

IDENTITY = age.X25519Identity.from_string(SPEC_IDENTITY)
OTHER = age.generate_identity()
PLAINTEXT = bytes(range(256)) * (2 * CHUNK_SIZE // 256) + b"tail" * 25  # 3 chunks


@cache
def sealed() -> bytes:
    return age.encrypt_bytes([OTHER.recipient(), IDENTITY.recipient()], PLAINTEXT)


@cache
def layout() -> tuple[bytes, bytes, list[bytes]]:
    """(header, nonce, encrypted chunks) of :func:`sealed`."""
    ct = sealed()
    offset = age.parse_header(io.BytesIO(ct)).payload_offset
    body = ct[offset + 16 :]
    return (
        ct[:offset],
        ct[offset : offset + 16],
        [body[i : i + ENC_CHUNK] for i in range(0, len(body), ENC_CHUNK)],
    )


def attempt(data: bytes) -> tuple[AgeError, bytes]:
    out = io.BytesIO()
    try:
        age.decrypt([IDENTITY], io.BytesIO(data), out)
    except AgeError as exc:
        assert isinstance(exc, DomainError) and exc.message_zh and exc.message_en
        assert PLAINTEXT.startswith(out.getvalue())  # only authenticated chunks were released
        return exc, out.getvalue()
    raise AssertionError(f"decrypted tampered data ({len(data)} bytes)")


def test_untampered_fixture_decrypts() -> None:
    assert len(layout()[2]) == 3
    assert age.decrypt_bytes([IDENTITY], sealed()) == PLAINTEXT


tamper = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@tamper
@given(st.data())
def test_flip_any_header_byte(data: st.DataObject) -> None:
    header, _, _ = layout()
    i = data.draw(st.integers(0, len(header) - 1))
    mask = data.draw(st.integers(1, 255))
    ct = bytearray(sealed())
    ct[i] ^= mask
    _, out = attempt(bytes(ct))
    assert out == b""


@tamper
@given(st.data())
def test_flip_any_payload_byte(data: st.DataObject) -> None:
    header, _, _ = layout()
    ct = bytearray(sealed())
    i = data.draw(st.integers(len(header), len(ct) - 1))
    ct[i] ^= data.draw(st.integers(1, 255))
    exc, out = attempt(bytes(ct))
    assert exc.code == "age_payload_corrupt"
    chunk = max(0, (i - len(header) - 16) // ENC_CHUNK)
    assert len(out) == (0 if i < len(header) + 16 else chunk * CHUNK_SIZE)


@tamper
@given(st.one_of(st.integers(0, 300), st.integers(0, 3 * ENC_CHUNK + 200)))
def test_truncate_anywhere(length: int) -> None:
    ct = sealed()
    length = min(length, len(ct) - 1)
    exc, _ = attempt(ct[:length])
    assert exc.code in {"age_truncated", "age_payload_corrupt", "age_not_age_file"}


@tamper
@given(st.binary(min_size=1, max_size=100))
def test_trailing_data(extra: bytes) -> None:
    exc, _ = attempt(sealed() + extra)
    assert exc.code in {"age_trailing_data", "age_payload_corrupt"}


@tamper
@given(st.data())
def test_drop_duplicate_swap_chunks(data: st.DataObject) -> None:
    header, nonce, chunks = layout()
    op = data.draw(st.sampled_from(["drop", "duplicate", "swap"]))
    i = data.draw(st.integers(0, len(chunks) - 1))
    edited = list(chunks)
    if op == "drop":
        del edited[i]
    elif op == "duplicate":
        edited.insert(i, chunks[i])
    else:
        j = data.draw(st.integers(0, len(chunks) - 1).filter(lambda j: j != i))
        edited[i], edited[j] = edited[j], edited[i]
    attempt(header + nonce + b"".join(edited))


def test_full_final_chunk_then_empty_chunk() -> None:
    """A non-final empty chunk and a full final chunk followed by anything are refused."""
    identity = age.generate_identity()
    ct = age.encrypt_bytes([identity.recipient()], b"x" * CHUNK_SIZE)
    with pytest.raises(AgeError) as caught:
        age.decrypt_bytes([identity], ct + b"\0" * 16)
    assert caught.value.code == "age_trailing_data"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_after_version_line(garbage: bytes) -> None:
    with pytest.raises(AgeError):
        age.decrypt_bytes([IDENTITY], b"age-encryption.org/v1\n" + garbage)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [b"-> X25519 ", b"-> a b\n", b"\n", b"A" * 64 + b"\n", b"AAAA\n", b"--- ", b"=", b"\r"]
        ),
        max_size=12,
    )
)
def test_header_line_soup(parts: list[bytes]) -> None:
    with pytest.raises(AgeError):
        age.decrypt_bytes([IDENTITY], b"age-encryption.org/v1\n" + b"".join(parts))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "age_not_age_file"),
        (b"PK\x03\x04 a zip file", "age_not_age_file"),
        (b"-----BEGIN AGE ENCRYPTED FILE-----\n", "age_not_age_file"),
        (b"age-encryption.org/v2\n", "age_version_unsupported"),
        (b"age-encryption.org/v1", "age_truncated"),
        (b"age-encr", "age_truncated"),
        (b"age-encryption.org/v1\n--- " + b"A" * 43 + b"\n", "age_header_invalid"),  # no stanza
        (b"age-encryption.org/v1\n-> X25519\n\n--- " + b"A" * 43 + b"\n", "age_header_invalid"),
    ],
)
def test_header_errors(data: bytes, code: str) -> None:
    with pytest.raises(AgeError) as caught:
        age.decrypt_bytes([IDENTITY], data)
    assert caught.value.code == code


def test_header_too_large() -> None:
    huge = b"age-encryption.org/v1\n" + (b"-> x\n" + b"A" * 64 + b"\n") * (age.MAX_HEADER_SIZE // 60)
    with pytest.raises(AgeError) as caught:
        age.parse_header(io.BytesIO(huge))
    assert caught.value.code == "age_header_invalid"


def test_api_misuse() -> None:
    with pytest.raises(AgeError) as caught:
        age.encrypt_bytes([], b"x")
    assert caught.value.code == "age_no_recipients"
    with pytest.raises(AgeError) as caught:
        age.decrypt_bytes([], sealed())
    assert caught.value.code == "age_no_identities"
    with pytest.raises(AgeError) as caught:
        age.X25519Recipient(bytes(32)).wrap(bytes(16))  # low-order recipient
    assert caught.value.code == "age_key_invalid"


# ---------------------------------------------------------------------------------------------
# Remote opening: the bidder unwraps the file key from the header, the server decrypts


def test_remote_opening_equals_decrypt(tmp_path: Path) -> None:
    path = tmp_path / "bid.age"
    path.write_bytes(sealed())
    # The bidder's tool receives only the header bytes.
    header_only = layout()[0]
    header = age.parse_header(io.BytesIO(header_only))
    assert header.header_bytes == header_only and header.payload_offset == len(header_only)
    assert age.header_has_recipient(header, IDENTITY)
    assert not age.header_has_recipient(header, age.generate_identity())
    file_key = age.unwrap_file_key(header, [age.generate_identity(), IDENTITY])
    assert len(file_key) == 16

    # The server: on the same stream right after the header, or seeking on a fresh one.
    out = io.BytesIO()
    with path.open("rb") as src:
        server_header = age.parse_header(src)
        assert server_header == header
        age.decrypt_with_file_key(file_key, server_header, src, out)
    assert out.getvalue() == PLAINTEXT
    out = io.BytesIO()
    with path.open("rb", buffering=0) as src:
        src.seek(header.payload_offset)
        age.decrypt_with_file_key(file_key, header, src, out)
    assert out.getvalue() == PLAINTEXT

    # A wrong or malformed key is refused before any plaintext.
    for bad, code in [(bytes(16), "age_header_mac_invalid"), (file_key[:15], "age_file_key_invalid")]:
        out = io.BytesIO()
        with path.open("rb") as src, pytest.raises(AgeError) as caught:
            src.seek(header.payload_offset)
            age.decrypt_with_file_key(bad, header, src, out)
        assert caught.value.code == code and out.getvalue() == b""


def test_header_mac_tamper_is_detected_by_remote_path() -> None:
    header, nonce, chunks = layout()
    forged = header.replace(b"\n---", b"\n-> extra stanza\n\n---")
    parsed = age.parse_header(io.BytesIO(forged))
    file_key = age.unwrap_file_key(age.parse_header(io.BytesIO(header)), [IDENTITY])
    with pytest.raises(AgeError) as caught:
        age.decrypt_with_file_key(file_key, parsed, io.BytesIO(nonce + b"".join(chunks)), io.BytesIO())
    assert caught.value.code == "age_header_mac_invalid"
    with pytest.raises(AgeError) as caught:
        age.header_has_recipient(parsed, IDENTITY)
    assert caught.value.code == "age_header_mac_invalid"


# ---------------------------------------------------------------------------------------------
# Constant memory


class Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        n = min(len(buf), self.left)
        buf[:n] = bytes(n)
        self.left -= n
        return n


class Sink(io.RawIOBase):
    def __init__(self) -> None:
        self.size = 0
        self.hash = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.size += len(b)
        self.hash.update(b)
        return len(b)


class Trickle(io.RawIOBase):
    """A raw stream that returns at most ``step`` bytes a call, as pipes and sockets do."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.pos, self.step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        n = min(len(buf), self.step, len(self.data) - self.pos)
        buf[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


class ShortWrites(io.RawIOBase):
    def __init__(self) -> None:
        self.out = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        n = min(len(b), 1000)
        self.out += bytes(b)[:n]
        return n


@pytest.mark.parametrize("step", [1, 7, 1000, ENC_CHUNK - 1])
def test_short_reads_and_writes(step: int) -> None:
    identity = age.generate_identity()
    plaintext = os.urandom(2 * CHUNK_SIZE + 3)
    sink = ShortWrites()
    age.encrypt([identity.recipient()], Trickle(plaintext, step), sink)  # type: ignore[arg-type]
    ct = bytes(sink.out)
    src = Trickle(ct, step)
    header = age.parse_header(src)  # type: ignore[arg-type]
    assert src.pos == header.payload_offset  # never reads past the header
    out = ShortWrites()
    age.decrypt_with_file_key(age.unwrap_file_key(header, [identity]), header, src, out)  # type: ignore[arg-type]
    assert bytes(out.out) == plaintext


def test_streaming_in_constant_memory(tmp_path: Path) -> None:
    size = 16 << 20
    identity = age.generate_identity()
    path = tmp_path / "big.age"
    tracemalloc.start()
    try:
        with path.open("wb") as dst:
            age.encrypt([identity.recipient()], Zeros(size), dst)  # type: ignore[arg-type]
        sink = Sink()
        with path.open("rb") as src:
            age.decrypt([identity], src, sink)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size == size and sink.hash.digest() == hashlib.sha256(bytes(size)).digest()
    assert peak < 1 << 20, peak
