"""Regenerate the vendored age testkit vectors in this directory.

Source: the C2SP/CCTV age test suite (https://github.com/C2SP/CCTV/tree/main/age), licensed
0BSD / CC0 / Unlicense. Upstream, every vector ``testdata/NAME`` is written by the Go program
``internal/tests/NAME.go`` with the framework ``internal/testkit/testkit.go``, whose randomness is
a fixed ChaCha20 stream, so vectors are reproducible. ``TestFile`` below is a line-by-line Python
port of that framework (current API: ``Nonce()``, ``PayloadChunk(size)``, zlib for files over
1 KiB); ``GENERATORS`` ports the programs. Generators upstream still wrote in the 2022 API
(``Nonce(LargeTestNonce)``, ``PayloadChunk(LargeTestFirstChunk)``) are adapted to the current
one: same structure and expectation, other random bytes. The port was checked byte for byte
against upstream's ``x25519``, ``x25519_bad_tag`` and ``stanza_base64_padding`` (FiloSottile/age
``testdata/testkit``, which used another test identity; ``--check`` repeats that).

Only raw primitives are used here, never ``tenderhall.core.crypto.age``.

    .venv/bin/python tests/core/age_testkit/regenerate.py [--check]
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HERE = Path(__file__).parent
CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(h: str) -> list[int]:
    return [ord(x) >> 5 for x in h] + [0] + [ord(x) & 31 for x in h]


def _convert(data: bytes | list[int], f: int, t: int) -> list[int]:
    acc = bits = 0
    out = []
    for v in data:
        acc, bits = (acc << f) | v, bits + f
        while bits >= t:
            bits -= t
            out.append((acc >> bits) & ((1 << t) - 1))
    if f == 8 and bits:
        out.append((acc << (t - bits)) & ((1 << t) - 1))
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    values = _convert(data, 8, 5)
    pm = _polymod(_hrp_expand(hrp.lower()) + values + [0] * 6) ^ 1
    s = hrp.lower() + "1" + "".join(CHARSET[x] for x in values + [(pm >> 5 * (5 - i)) & 31 for i in range(6)])
    return s.upper() if hrp.isupper() else s


def bech32_decode(s: str) -> bytes:
    low = s.lower()
    pos = low.rfind("1")
    values = [CHARSET.index(c) for c in low[pos + 1 :]]
    assert _polymod(_hrp_expand(low[:pos]) + values) == 1
    return bytes(_convert(values[:-6], 5, 8))


TEST_FILE_KEY = b"YELLOW SUBMARINE"
TEST_IDENTITY = bech32_decode("AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0")
BASEPOINT = bytes([9]) + bytes(31)
CHUNK = 64 * 1024
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def x25519(scalar: bytes, point: bytes) -> bytes:
    try:
        return X25519PrivateKey.from_private_bytes(scalar).exchange(X25519PublicKey.from_public_bytes(point))
    except ValueError:  # low-order point, as testkit.go's x25519 helper
        return bytes(32)


TEST_RECIPIENT = x25519(TEST_IDENTITY, BASEPOINT)


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode().rstrip("=")


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, info).derive(ikm)


def not_canonical(s: str) -> str:
    return s[:-1] + ALPHABET[ALPHABET.index(s[-1]) + 1]


class TestFile:
    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        key = b"TEST RANDOMNESS TEST RANDOMNESS!"
        self._rand = Cipher(algorithms.ChaCha20(key, bytes(16)), None).encryptor()
        self.buf = bytearray()
        self.file_key = TEST_FILE_KEY
        self.stream_key = b""
        self.nonce = bytearray(12)
        self.payload = bytearray()
        self.expect = "success"
        self.comment = ""
        self.identities: list[str] = []

    def rand(self, n: int) -> bytes:
        return self._rand.update(bytes(n))

    def text_line(self, s: str) -> None:
        self.buf += s.encode() + b"\n"

    def unread_line(self) -> str:
        buf = bytes(self.buf).removesuffix(b"\n")
        idx = buf.rfind(b"\n") + 1
        self.buf = bytearray(buf[:idx])
        return buf[idx:].decode()

    def version_line(self, v: str) -> None:
        self.text_line("age-encryption.org/" + v)

    def args_line(self, *args: str) -> None:
        self.text_line(" ".join(["->", *args]))

    def unread_args_line(self) -> list[str]:
        return self.unread_line().removeprefix("-> ").split(" ")

    def body(self, body: bytes) -> None:
        while True:
            line, body = body[:48], body[48:]
            self.text_line(b64(line))
            if len(line) < 48:
                break

    def aead_body(self, key: bytes, body: bytes) -> None:
        self.body(ChaCha20Poly1305(key).encrypt(bytes(12), body, None))

    def x25519(self, identity: bytes) -> None:
        self.x25519_record_identity(identity)
        self.x25519_no_record_identity(identity)

    def x25519_record_identity(self, identity: bytes) -> None:
        self.identities.append(bech32_encode("AGE-SECRET-KEY-", identity))

    def x25519_no_record_identity(self, identity: bytes) -> None:
        self.x25519_stanza(x25519(self.rand(32), BASEPOINT), identity)

    def x25519_stanza(self, share: bytes, identity: bytes) -> None:
        recipient = x25519(identity, BASEPOINT)
        self.args_line("X25519", b64(share))
        key = hkdf(x25519(identity, share), share + recipient, b"age-encryption.org/v1/X25519")
        self.aead_body(key, self.file_key)

    def hmac_line(self, h: bytes) -> None:
        self.text_line("--- " + b64(h))

    def hmac(self) -> None:
        key = hkdf(self.file_key, b"", b"header")
        self.hmac_line(hmac.new(key, bytes(self.buf) + b"---", hashlib.sha256).digest())

    def nonce_(self) -> None:
        nonce = self.rand(16)
        self.stream_key = hkdf(self.file_key, nonce, b"payload")
        self.buf += nonce

    def payload_chunk(self, size: int) -> None:
        # Plaintext = ChaCha20 keystream from block 1, so the ciphertext is zeros (compresses).
        iv = (1).to_bytes(4, "little") + bytes(self.nonce)
        stream = Cipher(algorithms.ChaCha20(self.stream_key, iv), None).encryptor()
        self._payload_chunk(stream.update(bytes(size)))

    def _payload_chunk(self, plaintext: bytes) -> None:
        self.payload += plaintext
        self.buf += ChaCha20Poly1305(self.stream_key).encrypt(bytes(self.nonce), plaintext, None)
        for i in range(10, -1, -1):
            self.nonce[i] = (self.nonce[i] + 1) & 0xFF
            if self.nonce[i]:
                break

    def payload_chunk_final(self, size: int) -> None:
        self.nonce[11] = 1
        self.payload_chunk(size)

    def payload_(self, plaintext: str) -> None:
        self.nonce_()
        self.nonce[11] = 1
        self._payload_chunk(plaintext.encode())

    def expect_payload_failure(self) -> None:
        self.expect = "payload failure"
        self.payload = bytearray()

    def expect_partial_payload(self, good: int) -> None:
        self.expect = "payload failure"
        self.payload = self.payload[:good]

    def generate(self) -> bytes:
        lines = [f"expect: {self.expect}"]
        if self.expect in ("success", "payload failure"):
            lines.append("payload: " + hashlib.sha256(self.payload).hexdigest())
        lines.append("file key: " + self.file_key.hex())
        lines += ["identity: " + i for i in self.identities]
        if self.comment:
            lines.append("comment: " + self.comment)
        body = bytes(self.buf)
        if len(body) > 1024:
            lines.append("compressed: zlib")
            body = zlib.compress(body, 9)
        return ("\n".join(lines) + "\n\n").encode() + body


def _start(identity: bytes = TEST_IDENTITY) -> TestFile:
    f = TestFile()
    f.version_line("v1")
    f.x25519(identity)
    return f


def _finish(f: TestFile, expect: str = "success", comment: str = "") -> TestFile:
    f.hmac()
    f.payload_("age")
    f.expect = expect
    f.comment = comment
    return f


def _extra_stanza(body: bytes, *args: str) -> Callable[[TestFile], None]:
    def edit(f: TestFile) -> None:
        f.args_line(*args)
        f.body(body)

    return edit


def x25519_vector(identity: bytes = TEST_IDENTITY) -> TestFile:
    return _finish(_start(identity))


def x25519_bad_tag(identity: bytes = TEST_IDENTITY) -> TestFile:
    f = _start(identity)
    body = bytearray(base64.b64decode(f.unread_line() + "="))
    body[-1] ^= 0xFF
    f.text_line(b64(bytes(body)))
    return _finish(
        f, "no match", "the ChaCha20Poly1305 authentication tag on the body of the X25519 stanza is wrong"
    )


def stanza_base64_padding(identity: bytes = TEST_IDENTITY) -> TestFile:
    f = _start(identity)
    f.args_line("stanza")
    f.body(b"A" * 50)
    f.text_line(f.unread_line() + "=")
    return _finish(f, "header failure")


def x25519_grease() -> TestFile:
    f = TestFile()
    f.version_line("v1")
    f.args_line("grease")
    f.body(b"")
    f.x25519(TEST_IDENTITY)
    f.args_line("grease")
    f.body(b"")
    return _finish(f)


def x25519_multiple_recipients() -> TestFile:
    f = TestFile()
    f.version_line("v1")
    f.x25519_no_record_identity(f.rand(32))
    f.x25519(TEST_IDENTITY)
    return _finish(f)


def stanza_valid_characters() -> TestFile:
    f = TestFile()
    f.version_line("v1")
    f.args_line("!\"#$%&'", "()*+,-./", "01234567", "89:;<=>?", "@ABCDEFG", "HIJKLMNO")
    f.body(b"")
    f.args_line("PQRSTUVW", "XYZ[\\]^_", "`abcdefg", "hijklmno", "pqrstuvw", "xyz{|}~")
    f.body(b"")
    f.x25519(TEST_IDENTITY)
    return _finish(f)


def stanza_empty_last_line() -> TestFile:
    f = _start()
    f.args_line("stanza")
    f.body(b"A" * 96)
    return _finish(f)


def empty() -> TestFile:
    f = TestFile()
    f.expect = "header failure"
    return f


def version_unsupported() -> TestFile:
    f = TestFile()
    f.version_line("v1234")
    f.x25519(TEST_IDENTITY)
    return _finish(f, "header failure")


def header_crlf() -> TestFile:
    f = _start()
    hdr = bytes(f.buf)
    f.buf = bytearray(hdr.replace(b"\n", b"\r\n"))
    f.hmac()
    f.buf += f.unread_line().encode() + b"\r\n"
    f.payload_("age")
    f.expect = "header failure"
    f.comment = "lines in the header end with CRLF instead of LF"
    return f


def _stanza_then(
    edit: Callable[[TestFile], None], expect: str = "header failure", comment: str = ""
) -> TestFile:
    f = _start()
    edit(f)
    return _finish(f, expect, comment)


def _not_canonical_last(f: TestFile) -> None:
    f.args_line("stanza")
    f.body(b"A" * 50)
    f.text_line(not_canonical(f.unread_line()))


def _lines(*lines: str, args: tuple[str, ...] = ("stanza",)) -> Callable[[TestFile], None]:
    def edit(f: TestFile) -> None:
        f.args_line(*args)
        for line in lines:
            f.text_line(line)

    return edit


def _hmac_edit(edit: Callable[[str], str]) -> TestFile:
    f = _start()
    f.hmac()
    f.text_line(edit(f.unread_line()))
    f.payload_("age")
    f.expect = "header failure"
    return f


def hmac_missing() -> TestFile:
    f = _start()
    f.hmac_line(b"")
    f.payload_("age")
    f.expect = "header failure"
    return f


def hmac_bad() -> TestFile:
    f = _start()
    f.file_key = bytes(16)
    f.hmac()
    f.file_key = TEST_FILE_KEY
    f.payload_("age")
    f.expect = "HMAC failure"
    return f


def _share_vector(share: bytes, comment: str, record: bool = True) -> TestFile:
    f = TestFile()
    f.version_line("v1")
    f.x25519_record_identity(TEST_IDENTITY)
    f.x25519_stanza(share, TEST_IDENTITY)
    return _finish(f, "header failure", comment)


def _share_line_edit(make_line: Callable[[bytes], str], comment: str, share: bytes | None = None) -> TestFile:
    f = TestFile()
    f.version_line("v1")
    share = share if share is not None else x25519(f.rand(32), BASEPOINT)
    f.x25519_record_identity(TEST_IDENTITY)
    f.x25519_stanza(share, TEST_IDENTITY)
    body, _ = f.unread_line(), f.unread_line()
    f.text_line(make_line(share))
    f.text_line(body)
    return _finish(f, "header failure", comment)


def x25519_extra_argument() -> TestFile:
    f = _start()
    body, args = f.unread_line(), f.unread_line()
    f.text_line(args + " 1234")
    f.text_line(body)
    return _finish(f, "header failure", "the base64 encoding of the share is not canonical")


def x25519_not_canonical_share() -> TestFile:
    f = _start()
    body, args = f.unread_line(), f.unread_line()
    f.text_line(not_canonical(args))
    f.text_line(body)
    return _finish(f, "header failure", "the base64 encoding of the share is not canonical")


def x25519_not_canonical_body() -> TestFile:
    f = _start()
    f.text_line(not_canonical(f.unread_line()))
    return _finish(f, "header failure", "the base64 encoding of the share is not canonical")


def x25519_long_file_key() -> TestFile:
    f = TestFile()
    f.file_key = b"A LONGER YELLOW SUBMARINE"
    f.version_line("v1")
    f.x25519(TEST_IDENTITY)
    return _finish(f, "header failure", "the file key must be checked to be 16 bytes before decrypting it")


def x25519_lowercase() -> TestFile:
    f = _start()
    body, args = f.unread_line(), f.unread_args_line()
    f.args_line("x25519", args[1])
    f.text_line(body)
    return _finish(f, "no match", "the first argument in the X25519 stanza is lowercase")


def x25519_no_match() -> TestFile:
    f = TestFile()
    f.version_line("v1")
    f.x25519_record_identity(f.rand(32))
    f.x25519_no_record_identity(TEST_RECIPIENT)
    return _finish(f, "no match")


LOW_ORDER = bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7")
SHORT_SHARE = bytes.fromhex("97ba38a135fd5f9137fca3836bfec24340ab03d7ca316b26f482636334a52600")


def _stream(build: Callable[[TestFile], None], expect: str = "success", good: int | None = None) -> TestFile:
    f = _start()
    f.hmac()
    build(f)
    if expect == "header failure":
        f.expect = expect
    elif good is not None:
        f.expect_partial_payload(good)
    elif expect == "payload failure":
        f.expect_payload_failure()
    return f


def _flip_last_bit(f: TestFile) -> None:
    f.buf[-1] ^= 0b0010_0000


GENERATORS: dict[str, Callable[[], TestFile]] = {
    # success
    "x25519": x25519_vector,
    "x25519_grease": x25519_grease,
    "x25519_multiple_recipients": x25519_multiple_recipients,
    "stanza_valid_characters": stanza_valid_characters,
    "stanza_empty_last_line": stanza_empty_last_line,
    "stream_last_chunk_full": lambda: _stream(lambda f: (f.nonce_(), f.payload_chunk_final(CHUNK))),
    # header failure
    "empty": empty,
    "version_unsupported": version_unsupported,
    "header_crlf": header_crlf,
    "stanza_base64_padding": stanza_base64_padding,
    "stanza_not_canonical": lambda: _stanza_then(_not_canonical_last),
    "stanza_long_line": lambda: _stanza_then(
        _lines("A" * 68, ""), comment="a body line is longer than 64 columns"
    ),
    "stanza_missing_final_line": lambda: _stanza_then(
        _lines("A" * 64), comment="every stanza must end with a short body line"
    ),
    "stanza_spurious_cr": lambda: _stanza_then(_lines("A" * 32 + "\r" + "A" * 31)),
    "stanza_empty_argument": lambda: _stanza_then(_extra_stanza(b"", "stanza", "", "argument")),
    "stanza_multiple_short_lines": lambda: _stanza_then(
        _lines("A" * 32, "A" * 32), comment="a short body line ends the stanza"
    ),
    "stanza_missing_body": lambda: _stanza_then(
        _lines(args=("empty",)), comment="every stanza must end with a short body line, even if empty"
    ),
    "stanza_invalid_character": lambda: _stanza_then(_extra_stanza(b"", "stanza", "è")),
    "hmac_missing": hmac_missing,
    "hmac_no_space": lambda: _hmac_edit(lambda s: s.replace("--- ", "---")),
    "hmac_extra_space": lambda: _hmac_edit(lambda s: s.replace("--- ", "---  ")),
    "hmac_trailing_space": lambda: _hmac_edit(lambda s: s + " "),
    "hmac_garbage": lambda: _hmac_edit(lambda s: s + "AAA"),
    "hmac_truncated": lambda: _hmac_edit(lambda s: s[: len("--- 1234")]),
    "hmac_not_canonical": lambda: _hmac_edit(not_canonical),
    "x25519_low_order": lambda: _share_vector(
        LOW_ORDER,
        "the X25519 share is a low-order point, so the shared secretis the disallowed all-zero value",
    ),
    "x25519_identity": lambda: _share_vector(
        bytes(32),
        "the X25519 share is a low-order point, so the shared secret is the disallowed all-zero value",
    ),
    "x25519_extra_argument": x25519_extra_argument,
    "x25519_long_share": lambda: _share_line_edit(
        lambda share: "-> X25519 " + b64(share + b"\x00"), "a trailing zero is missing from the X25519 share"
    ),
    "x25519_short_share": lambda: _share_line_edit(
        lambda share: "-> X25519 " + b64(share[:31]),
        "a trailing zero is missing from the X25519 share",
        SHORT_SHARE,
    ),
    "x25519_not_canonical_share": x25519_not_canonical_share,
    "x25519_not_canonical_body": x25519_not_canonical_body,
    "x25519_long_file_key": x25519_long_file_key,
    "stream_no_nonce": lambda: _stream(lambda f: None, "header failure"),
    "stream_short_nonce": lambda: _stream(lambda f: f.buf.extend(f.rand(12)), "header failure"),
    # HMAC failure
    "hmac_bad": hmac_bad,
    # no match
    "x25519_bad_tag": x25519_bad_tag,
    "x25519_lowercase": x25519_lowercase,
    "x25519_no_match": x25519_no_match,
    # payload failure
    "stream_bad_tag": lambda: _stream(lambda f: (f.payload_("age"), _flip_last_bit(f)), "payload failure"),
    "stream_missing_tag": lambda: _stream(
        lambda f: (f.payload_("age"), f.buf.__delitem__(slice(-16, None))), "payload failure"
    ),
    "stream_no_chunks": lambda: _stream(lambda f: f.nonce_(), "payload failure"),
    "stream_no_final": lambda: _stream(lambda f: (f.nonce_(), f.payload_chunk(1)), "payload failure"),
    "stream_short_chunk": lambda: _stream(
        lambda f: (f.nonce_(), f.buf.extend(f.rand(12))), "payload failure"
    ),
    "stream_last_chunk_empty": lambda: _stream(
        lambda f: (f.nonce_(), f.payload_chunk(CHUNK), f.payload_chunk_final(0)), good=CHUNK
    ),
    "stream_no_final_full": lambda: _stream(lambda f: (f.nonce_(), f.payload_chunk(CHUNK)), good=CHUNK),
    "stream_no_final_two_chunks_full": lambda: _stream(
        lambda f: (f.nonce_(), f.payload_chunk(CHUNK), f.payload_chunk(CHUNK)), good=2 * CHUNK
    ),
    "stream_trailing_garbage_short": lambda: _stream(
        lambda f: (f.nonce_(), f.payload_chunk_final(CHUNK), f.buf.extend(f.rand(12))), good=CHUNK
    ),
    "stream_trailing_garbage_long": lambda: _stream(
        lambda f: (f.nonce_(), f.payload_chunk_final(CHUNK), f.buf.extend(f.rand(20))), good=CHUNK
    ),
    "stream_two_final_chunks": lambda: _stream(
        lambda f: (f.nonce_(), f.payload_chunk_final(CHUNK), f.payload_chunk_final(3)), good=CHUNK
    ),
    "stream_two_final_chunks_full": lambda: _stream(
        lambda f: (f.nonce_(), f.payload_chunk_final(CHUNK), f.payload_chunk_final(CHUNK)), good=CHUNK
    ),
    "stream_two_final_chunks_second": lambda: _stream(
        lambda f: (
            f.nonce_(),
            f.payload_chunk(CHUNK),
            f.payload_chunk_final(CHUNK),
            f.payload_chunk_final(1),
        ),
        good=2 * CHUNK,
    ),
    "stream_bad_tag_second_chunk_full": lambda: _stream(
        lambda f: (f.nonce_(), f.payload_chunk(CHUNK), f.payload_chunk_final(CHUNK), _flip_last_bit(f)),
        good=CHUNK,
    ),
    "stream_short_second_chunk": lambda: _stream(
        lambda f: (f.nonce_(), f.payload_chunk(CHUNK), f.buf.extend(f.rand(12))), good=CHUNK
    ),
}

# Upstream FiloSottile/age testdata/testkit files (2022, test identity below): text part verbatim,
# then the binary tail as hex.
_UPSTREAM_IDENTITY = bech32_decode(
    "AGE-SECRET-KEY-1XMWWC06LY3EE5RYTXM9MFLAZ2U56JJJ36S0MYPDRWSVLUL66MV4QX3S7F6"
)
_UPSTREAM_CHECKS = {
    "x25519": "--- Vn+54jqiiUCE+WZcEVY3f1sqHjlu/z1LCQ/T7Xm7qI0\n",
    "x25519_bad_tag": "EmECAEcKN+n/Vs9SbWiV+Hu0r+E8R77DdWYyd83nw0o\n--- tG0k9bg4iIuBdMWb13n7FFYDzoBbtsLppNLhbh22aKg\n",
    "stanza_base64_padding": "QUE=\n--- OtG7IuNHaf2SHZuowmxg/fhbhtz0/DI5g5OGd7WH7S0\n",
}


def check_port() -> None:
    made = {
        "x25519": x25519_vector(_UPSTREAM_IDENTITY),
        "x25519_bad_tag": x25519_bad_tag(_UPSTREAM_IDENTITY),
        "stanza_base64_padding": stanza_base64_padding(_UPSTREAM_IDENTITY),
    }
    for name, expected in _UPSTREAM_CHECKS.items():
        text = bytes(made[name].buf).decode("latin-1")
        assert "-> X25519 TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOCc\n" in text, name
        assert expected in text, name
    print("port matches upstream vectors")


def main() -> None:
    check_port()
    if "--check" in sys.argv:
        return
    for name, make in GENERATORS.items():
        (HERE / name).write_bytes(make().generate())
    print(f"wrote {len(GENERATORS)} vectors to {HERE}")


if __name__ == "__main__":
    main()
