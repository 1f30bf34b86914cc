"""The age v1 file format, on ``cryptography`` primitives only (DESIGN §4 "Sealed bids").

Bid envelopes are age files (https://age-encryption.org/v1, specified at https://c2sp.org/age),
interoperable both ways with the ``age`` command-line tool. Only the native X25519 recipient
type is implemented: no scrypt, plugins, post-quantum or ASCII armor.

An age file is a textual header followed by a binary payload::

    age-encryption.org/v1
    -> X25519 <base64 ephemeral share>
    <base64 wrapped file key>
    --- <base64 header MAC>
    <16-byte nonce><STREAM chunks>

* Header (spec "Header"): one stanza per recipient wraps the same random 16-byte *file key*;
  the MAC line authenticates the header with a key derived from the file key.
* Payload (spec "Payload"): ChaCha20-Poly1305 STREAM over 64 KiB chunks, keyed by
  HKDF(file key, nonce). Each chunk is authenticated before its plaintext is written, so a
  failed :func:`decrypt` may already have written a prefix of the plaintext: callers that
  must not act on partial output write to a temporary file and discard it on error.

The platform opens bids *remotely*: the server keeps the ciphertext, the bidder's tool reads only
the header (:func:`parse_header`), unwraps the file key locally (:func:`unwrap_file_key`) and
sends just that key; the server then streams :func:`decrypt_with_file_key`, which checks the
key against the header MAC first. age stanzas are anonymous: a header does not say who its
recipients are, only :func:`header_has_recipient` with the private key can tell.

Bid envelopes therefore carry one more, non-standard stanza, first in the header:
``-> tenderhall-opening-key <KEY_ID>`` with an empty body (:func:`opening_claim_stanza`), naming
the section's opening key; age and :class:`X25519Identity` skip stanza types they do not know,
so interop is kept. And the X25519 stanza for the opening key is made with a *deterministic*
ephemeral secret derived from the file key (:func:`opening_ephemeral`): once the bidder reveals
the file key at the opening, anyone can recompute that stanza (:func:`verify_opening_stanza`)
and so prove the opening key could really decrypt the bid, without the opening key itself.

Pure module: no Django import, the bidder tool uses it too. Every failure is an
:class:`AgeError` with a stable code, never a raw ``cryptography`` exception.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import io
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tenderhall.core.errors import DomainError

__all__ = [
    "CHUNK_SIZE",
    "AgeError",
    "Header",
    "Identity",
    "Recipient",
    "Stanza",
    "X25519Identity",
    "X25519Recipient",
    "bech32_decode",
    "bech32_encode",
    "decrypt",
    "decrypt_bytes",
    "decrypt_with_file_key",
    "encrypt",
    "encrypt_bytes",
    "format_identity_file",
    "generate_identity",
    "header_has_recipient",
    "identity_from_private_key",
    "load_identities",
    "opening_claim_stanza",
    "opening_ephemeral",
    "opening_key_id",
    "parse_header",
    "recipient_from_public_key",
    "unwrap_file_key",
    "verify_opening_stanza",
]

FILE_KEY_SIZE: Final = 16  # spec "File key": 128-bit
NONCE_SIZE: Final = 16  # spec "Payload": 16-byte nonce
CHUNK_SIZE: Final = 64 * 1024  # spec "Payload": 64 KiB chunks
TAG_SIZE: Final = 16  # Poly1305
ENC_CHUNK_SIZE: Final = CHUNK_SIZE + TAG_SIZE
MAC_SIZE: Final = 32  # HMAC-SHA-256

INTRO_PREFIX: Final = b"age-encryption.org/"
V1_LINE: Final = b"age-encryption.org/v1\n"
STANZA_PREFIX: Final = b"->"
MAC_PREFIX: Final = b"---"
COLUMNS_PER_LINE: Final = 64  # spec "Recipient stanza": body wrapped at 64 columns
BYTES_PER_LINE: Final = COLUMNS_PER_LINE // 4 * 3  # 48 decoded bytes in a full body line
# Our own bound (the spec sets none): a header is a few hundred bytes per recipient.
MAX_HEADER_SIZE: Final = 1 << 20
_MAX_VERSION_LINE: Final = 256
_MAC_TAIL: Final = 1 + 43 + 1  # " " base64(MAC) LF after "---"

X25519_TYPE: Final = "X25519"
X25519_INFO: Final = b"age-encryption.org/v1/X25519"
RECIPIENT_HRP: Final = "age"
OPENING_CLAIM_TYPE: Final = "tenderhall-opening-key"
OPENING_EPHEMERAL_INFO: Final = b"tenderhall/opening-stanza/v1"
IDENTITY_HRP: Final = "AGE-SECRET-KEY-"

# ---------------------------------------------------------------------------------------------
# Errors


_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "age_not_age_file": ("不是 age 加密文件", "not an age encrypted file"),
    "age_version_unsupported": ("不支持的 age 文件版本", "unsupported age format version"),
    "age_header_invalid": ("age 文件头格式错误", "malformed age header"),
    "age_no_identity_matched": (
        "所给私钥均不是该文件的接收方",
        "no identity matched any of the recipients",
    ),
    "age_header_mac_invalid": (
        "age 文件头校验失败：文件头被篡改或文件密钥错误",
        "age header MAC mismatch: the header was altered or the file key is wrong",
    ),
    "age_payload_corrupt": (
        "密文数据块校验失败：文件已损坏或被篡改",
        "payload chunk failed authentication: the file is corrupted or was altered",
    ),
    "age_truncated": ("age 文件不完整（被截断）", "the age file is truncated"),
    "age_trailing_data": ("age 文件结尾后有多余数据", "trailing data after the end of the age file"),
    "age_key_invalid": ("age 密钥格式错误", "malformed age key"),
    "age_file_key_invalid": ("文件密钥长度错误（应为 16 字节）", "a file key is 16 bytes"),
    "age_no_recipients": ("未指定接收方", "no recipients specified"),
    "age_no_identities": ("未指定私钥", "no identities specified"),
}


class AgeError(DomainError):
    """A refused or failed age operation; ``code`` is one of the ``age_*`` codes above."""


def _fail(code: str, detail: str = "") -> AgeError:
    zh, en = _MESSAGES[code]
    return AgeError(code, zh, f"{en}: {detail}" if detail else en)


# ---------------------------------------------------------------------------------------------
# Bech32 (BIP 173, not bech32m; spec "Conventions": no length limit, checksum over lowercase)

_CHARSET: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX: Final = {c: i for i, c in enumerate(_CHARSET)}
_GENERATOR: Final = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: Sequence[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GENERATOR[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    low = hrp.lower()
    return [ord(c) >> 5 for c in low] + [0] + [ord(c) & 31 for c in low]


def _convert_bits(data: Sequence[int], from_bits: int, to_bits: int, *, pad: bool) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & maxv)
    elif bits >= from_bits or (acc << (to_bits - bits)) & maxv:
        # BIP 173: an incomplete group of at most 4 bits, all zero.
        raise _fail("age_key_invalid", "invalid Bech32 padding")
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    """Bech32 of ``data``; an upper-case HRP gives an upper-case string (as age does)."""
    if not hrp or any(not 33 <= ord(c) <= 126 for c in hrp) or (hrp.lower() != hrp != hrp.upper()):
        raise _fail("age_key_invalid", "invalid Bech32 human-readable part")
    values = _convert_bits(data, 8, 5, pad=True)
    mod = _polymod([*_hrp_expand(hrp), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(mod >> 5 * (5 - i)) & 31 for i in range(6)]
    out = hrp.lower() + "1" + "".join(_CHARSET[v] for v in values + checksum)
    return out if hrp.lower() == hrp else out.upper()


def bech32_decode(s: str) -> tuple[str, bytes]:
    """Decode a Bech32 string; the HRP is returned in the string's own case (as age does)."""
    if not s.isascii() or (s.lower() != s and s.upper() != s):
        raise _fail("age_key_invalid", "mixed case or non-ASCII Bech32 string")
    pos = s.rfind("1")
    if pos < 1 or pos + 7 > len(s):
        raise _fail("age_key_invalid", "misplaced Bech32 separator")
    hrp = s[:pos]
    if any(not 33 <= ord(c) <= 126 for c in hrp):
        raise _fail("age_key_invalid", "invalid Bech32 human-readable part")
    try:
        values = [_CHARSET_INDEX[c] for c in s[pos + 1 :].lower()]
    except KeyError:
        raise _fail("age_key_invalid", "invalid Bech32 character") from None
    if _polymod(_hrp_expand(hrp) + values) != 1:
        raise _fail("age_key_invalid", "invalid Bech32 checksum")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, pad=False))


# ---------------------------------------------------------------------------------------------
# Strict unpadded base64 (spec "Conventions": canonical, no "=" padding)

_B64_RE: Final = re.compile(rb"[A-Za-z0-9+/]*")


def _b64encode(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _b64decode(s: bytes) -> bytes:
    if len(s) % 4 == 1 or not _B64_RE.fullmatch(s):
        raise _fail("age_header_invalid", "invalid base64")
    try:
        data = base64.b64decode(s + b"=" * (-len(s) % 4), validate=True)
    except binascii.Error:  # pragma: no cover - excluded by the checks above
        raise _fail("age_header_invalid", "invalid base64") from None
    if _b64encode(data) != s:
        raise _fail("age_header_invalid", "non-canonical base64")
    return data


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    # spec "Conventions": HKDF-SHA-256, 32 bytes of output.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


# ---------------------------------------------------------------------------------------------
# Stanzas, recipients and identities


@dataclass(frozen=True)
class Stanza:
    """A recipient stanza (spec "Recipient stanza"): its type, further arguments and body."""

    type: str
    args: tuple[str, ...]
    body: bytes

    def to_bytes(self) -> bytes:
        parts = [self.type, *self.args]
        if any(not a or not a.isascii() or not a.isprintable() or " " in a for a in parts):
            raise _fail("age_header_invalid", "stanza arguments are non-empty printable ASCII")
        out = [b"-> " + " ".join(parts).encode("ascii") + b"\n"]
        body = _b64encode(self.body)
        out += [body[i : i + COLUMNS_PER_LINE] + b"\n" for i in range(0, len(body), COLUMNS_PER_LINE)]
        if len(body) % COLUMNS_PER_LINE == 0:
            out.append(b"\n")  # the body always ends with a short line, maybe empty
        return b"".join(out)


class Recipient(Protocol):
    """Wraps a file key into stanza(s), like age's ``Recipient`` interface."""

    def wrap(self, file_key: bytes) -> list[Stanza]: ...


class Identity(Protocol):
    """Unwraps the file key from the stanzas addressed to it, ``None`` if there is none."""

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None: ...


class X25519Recipient:
    """An age X25519 public key, ``age1…`` (spec "The X25519 recipient type")."""

    __slots__ = ("_key", "public_bytes")

    def __init__(self, public_key: bytes | X25519PublicKey) -> None:
        if isinstance(public_key, X25519PublicKey):
            self._key = public_key
        else:
            if len(public_key) != 32:
                raise _fail("age_key_invalid", "an X25519 public key is 32 bytes")
            self._key = X25519PublicKey.from_public_bytes(bytes(public_key))
        self.public_bytes: bytes = self._key.public_bytes_raw()

    @classmethod
    def from_string(cls, s: str) -> X25519Recipient:
        hrp, data = bech32_decode(s.strip())
        if hrp != RECIPIENT_HRP:  # lower case only, as age requires
            raise _fail("age_key_invalid", "an age recipient starts with age1")
        return cls(data)

    @property
    def public_key(self) -> X25519PublicKey:
        return self._key

    def __str__(self) -> str:
        return bech32_encode(RECIPIENT_HRP, self.public_bytes)

    def __repr__(self) -> str:
        return f"X25519Recipient({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, X25519Recipient) and other.public_bytes == self.public_bytes

    def __hash__(self) -> int:
        return hash(self.public_bytes)

    def wrap(self, file_key: bytes) -> list[Stanza]:
        # spec "X25519 recipient stanza": a fresh ephemeral secret per stanza and file.
        return [self.wrap_with_ephemeral(file_key, X25519PrivateKey.generate())]

    def wrap_with_ephemeral(self, file_key: bytes, ephemeral: X25519PrivateKey) -> Stanza:
        """The stanza made with a given ephemeral secret. Only for :func:`opening_ephemeral`:
        reusing an ephemeral across files or recipients breaks age's assumptions."""
        share = ephemeral.public_key().public_bytes_raw()
        try:
            shared = ephemeral.exchange(self._key)
        except ValueError:  # the recipient is a low-order point: the shared secret is zero
            raise _fail("age_key_invalid", "the recipient is a low-order X25519 point") from None
        wrap_key = _hkdf(shared, share + self.public_bytes, X25519_INFO)
        body = ChaCha20Poly1305(wrap_key).encrypt(bytes(12), file_key, None)
        return Stanza(X25519_TYPE, (_b64encode(share).decode("ascii"),), body)


def _x25519_stanza_share(stanza: Stanza) -> bytes:
    """The ephemeral share of a well-formed X25519 stanza (spec: reject malformed ones)."""
    if len(stanza.args) != 1:
        raise _fail("age_header_invalid", "an X25519 stanza has exactly one argument")
    share = _b64decode(stanza.args[0].encode("ascii"))
    if len(share) != 32:
        raise _fail("age_header_invalid", "an X25519 share is 32 bytes")
    # Checked before decrypting, against partitioning oracle attacks.
    if len(stanza.body) != FILE_KEY_SIZE + TAG_SIZE:
        raise _fail("age_header_invalid", "an X25519 stanza body is 32 bytes")
    return share


class X25519Identity:
    """An age X25519 private key, ``AGE-SECRET-KEY-1…``; ``str()`` reveals it, ``repr()`` not."""

    __slots__ = ("_key", "_recipient", "_secret")

    def __init__(self, private_key: bytes | X25519PrivateKey) -> None:
        if isinstance(private_key, X25519PrivateKey):
            self._key = private_key
        else:
            if len(private_key) != 32:
                raise _fail("age_key_invalid", "an X25519 private key is 32 bytes")
            self._key = X25519PrivateKey.from_private_bytes(bytes(private_key))
        self._secret = self._key.private_bytes_raw()
        self._recipient = X25519Recipient(self._key.public_key())

    @classmethod
    def from_string(cls, s: str) -> X25519Identity:
        hrp, data = bech32_decode(s.strip())
        if hrp != IDENTITY_HRP:  # upper case only, as age requires
            raise _fail("age_key_invalid", "an age identity starts with AGE-SECRET-KEY-1")
        return cls(data)

    @property
    def private_key(self) -> X25519PrivateKey:
        return self._key

    def recipient(self) -> X25519Recipient:
        return self._recipient

    def __str__(self) -> str:
        return bech32_encode(IDENTITY_HRP, self._secret)

    def __repr__(self) -> str:
        return f"X25519Identity(recipient={self._recipient})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, X25519Identity) and hmac.compare_digest(other._secret, self._secret)

    def __hash__(self) -> int:
        return hash(self._recipient)

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        x25519 = [(s, _x25519_stanza_share(s)) for s in stanzas if s.type == X25519_TYPE]
        for stanza, share in x25519:
            try:
                shared = self._key.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:  # OpenSSL refuses an all-zero shared secret
                shared = bytes(32)
            if shared == bytes(32):  # spec: low-order share, MUST abort
                raise _fail("age_header_invalid", "X25519 share is a low-order point")
            wrap_key = _hkdf(shared, share + self._recipient.public_bytes, X25519_INFO)
            try:
                return ChaCha20Poly1305(wrap_key).decrypt(bytes(12), stanza.body, None)
            except InvalidTag:
                continue  # addressed to someone else
        return None


def generate_identity() -> X25519Identity:
    return X25519Identity(X25519PrivateKey.generate())


def recipient_from_public_key(public_key: X25519PublicKey) -> X25519Recipient:
    return X25519Recipient(public_key)


def identity_from_private_key(private_key: X25519PrivateKey) -> X25519Identity:
    return X25519Identity(private_key)


def load_identities(text: str) -> list[X25519Identity]:
    """Parse an identity file as age-keygen writes it: one key a line, ``#`` comments, blanks."""
    identities = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")  # as Go's bufio.ScanLines
        if not line or line.startswith("#"):
            continue
        if not line.startswith(IDENTITY_HRP + "1"):
            # Never echo the line: it may be a secret of another kind.
            raise _fail("age_key_invalid", f"unsupported identity at line {number}")
        try:
            identities.append(X25519Identity.from_string(line))
        except AgeError:
            raise _fail("age_key_invalid", f"malformed identity at line {number}") from None
    if not identities:
        raise _fail("age_key_invalid", "no identities in the identity file")
    return identities


def format_identity_file(identity: X25519Identity, *, created: dt.datetime | None = None) -> str:
    """An identity file in age-keygen's layout (``age -i`` reads it)."""
    when = (created or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    return (
        f"# created: {when.isoformat().replace('+00:00', 'Z')}\n"
        f"# public key: {identity.recipient()}\n"
        f"{identity}\n"
    )


# ---------------------------------------------------------------------------------------------
# Header (spec "Header")


@dataclass(frozen=True)
class Header:
    """A parsed header. ``header_bytes`` is the header exactly as read, MAC line included;
    the payload (nonce first) starts ``payload_offset`` bytes into the file."""

    stanzas: tuple[Stanza, ...]
    mac: bytes
    header_bytes: bytes
    payload_offset: int

    @property
    def mac_message(self) -> bytes:
        """The MAC'd bytes: the header up to and including ``---`` (spec "Header MAC")."""
        return self.header_bytes[:-_MAC_TAIL]


def _header_mac(file_key: bytes, message: bytes) -> bytes:
    return hmac.new(_hkdf(file_key, b"", b"header"), message, hashlib.sha256).digest()


def _valid_arg(arg: bytes) -> bool:
    return bool(arg) and all(33 <= c <= 126 for c in arg)  # ABNF: 1*VCHAR


def parse_header(src: BinaryIO) -> Header:
    """Read and strictly parse an age header, leaving ``src`` at the payload's first byte."""
    consumed: list[bytes] = []
    budget = MAX_HEADER_SIZE

    def line(limit: int | None = None) -> bytes:
        nonlocal budget
        got = src.readline(min(budget, limit or budget) + 1)
        consumed.append(got)
        budget -= len(got)
        if not got.endswith(b"\n"):
            if budget < 0 or (limit is not None and len(got) > limit):
                raise _fail("age_header_invalid", "header line too long")
            raise _fail("age_truncated", "the header ends early")
        return got[:-1]

    # Version line: "age-encryption.org/" version LF.
    first = src.readline(_MAX_VERSION_LINE)
    consumed.append(first)
    budget -= len(first)
    if not first.startswith(INTRO_PREFIX):
        if INTRO_PREFIX.startswith(first) and first:
            raise _fail("age_truncated", "the header ends early")
        if first.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----"):
            raise _fail("age_not_age_file", "ASCII-armored age files are not supported")
        raise _fail("age_not_age_file")
    if not first.endswith(b"\n"):
        if len(first) >= _MAX_VERSION_LINE:
            raise _fail("age_version_unsupported")
        raise _fail("age_truncated", "the header ends early")
    if first != V1_LINE:
        raise _fail("age_version_unsupported", first[len(INTRO_PREFIX) : -1].decode("ascii", "replace"))

    stanzas: list[Stanza] = []
    while True:
        text = line()
        if text.startswith(MAC_PREFIX):
            # end = "--- " 43base64char LF
            if len(text) != 3 + 1 + 43 or text[3:4] != b" ":
                raise _fail("age_header_invalid", "malformed MAC line")
            mac = _b64decode(text[4:])
            if not stanzas:
                raise _fail("age_header_invalid", "a header has at least one stanza")
            header_bytes = b"".join(consumed)
            return Header(tuple(stanzas), mac, header_bytes, len(header_bytes))
        # arg-line = "-> " argument *(SP argument) LF
        parts = text.split(b" ")
        if parts[0] != STANZA_PREFIX:
            raise _fail("age_header_invalid", "expected a stanza or the MAC line")
        args = parts[1:]
        if not args or not all(_valid_arg(a) for a in args):
            raise _fail("age_header_invalid", "malformed stanza arguments")
        body = bytearray()
        while True:
            # full-line = 64base64char LF; final-line = *63base64char LF
            chunk = _b64decode(line(COLUMNS_PER_LINE))
            body += chunk
            if len(chunk) < BYTES_PER_LINE:
                break
        decoded = [a.decode("ascii") for a in args]
        stanzas.append(Stanza(decoded[0], tuple(decoded[1:]), bytes(body)))


def _verify_mac(header: Header, file_key: bytes) -> None:
    if not hmac.compare_digest(_header_mac(file_key, header.mac_message), header.mac):
        raise _fail("age_header_mac_invalid")


def unwrap_file_key(header: Header, identities: Sequence[Identity]) -> bytes:
    """The file key, unwrapped by the first matching identity and checked against the MAC."""
    if not identities:
        raise _fail("age_no_identities")
    for identity in identities:
        file_key = identity.unwrap(header.stanzas)
        if file_key is not None:
            if len(file_key) != FILE_KEY_SIZE:
                raise _fail("age_header_invalid", "the wrapped file key is not 16 bytes")
            _verify_mac(header, file_key)
            return file_key
    raise _fail("age_no_identity_matched")


def header_has_recipient(header: Header, identity: Identity) -> bool:
    """Whether ``identity`` can open the file (age stanzas name no recipient: only a try tells).

    A malformed header or a MAC mismatch still raises :class:`AgeError`.
    """
    try:
        unwrap_file_key(header, [identity])
    except AgeError as exc:
        if exc.code == "age_no_identity_matched":
            return False
        raise
    return True


def _marshal_header(stanzas: Sequence[Stanza], file_key: bytes) -> bytes:
    message = V1_LINE + b"".join(s.to_bytes() for s in stanzas) + MAC_PREFIX
    return message + b" " + _b64encode(_header_mac(file_key, message)) + b"\n"


# ---------------------------------------------------------------------------------------------
# Payload: STREAM (spec "Payload")


def _chunk_nonce(counter: int, last: bool) -> bytes:
    # 11-byte big-endian chunk counter || 0x01 on the final chunk, 0x00 before.
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _read_full(src: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``src``; fewer bytes only at end of file."""
    readinto = getattr(src, "readinto", None)
    total, size = 0, len(view)
    while total < size:
        if readinto is not None:
            n = readinto(view[total:])
        else:
            data = src.read(size - total)
            n = len(data)
            view[total : total + n] = data
        if not n:
            break
        total += n
    return total


def _write_all(dst: BinaryIO, view: memoryview) -> None:
    while view:
        n = dst.write(view)
        if n is None or n >= len(view):
            return
        view = view[n:]


def _payload_aead(file_key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    return ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))


def _encrypt_payload(file_key: bytes, src: BinaryIO, dst: BinaryIO) -> None:
    nonce = os.urandom(NONCE_SIZE)  # spec "Payload": fresh per file
    _write_all(dst, memoryview(nonce))
    aead = _payload_aead(file_key, nonce)
    # Two plaintext buffers: one chunk of lookahead tells whether a full chunk is the last.
    cur, ahead = memoryview(bytearray(CHUNK_SIZE)), memoryview(bytearray(CHUNK_SIZE))
    out = memoryview(bytearray(ENC_CHUNK_SIZE))
    n = _read_full(src, cur)
    counter = 0
    while True:
        m = _read_full(src, ahead) if n == CHUNK_SIZE else 0
        last = m == 0  # a full final chunk is allowed; an empty one only for an empty payload
        sealed = out[: n + TAG_SIZE]
        aead.encrypt_into(_chunk_nonce(counter, last), cur[:n], None, sealed)
        _write_all(dst, sealed)
        if last:
            return
        cur, ahead, n = ahead, cur, m
        counter += 1


def _decrypt_payload(file_key: bytes, src: BinaryIO, dst: BinaryIO) -> None:
    nonce = bytearray(NONCE_SIZE)
    if _read_full(src, memoryview(nonce)) != NONCE_SIZE:
        raise _fail("age_truncated", "the payload nonce is missing")
    aead = _payload_aead(file_key, bytes(nonce))
    buf = memoryview(bytearray(ENC_CHUNK_SIZE))
    out = memoryview(bytearray(CHUNK_SIZE))
    counter = 0
    while True:
        n = _read_full(src, buf)
        if n < ENC_CHUNK_SIZE:
            # A short read is end of file: this must be the final chunk.
            if n == 0:
                raise _fail("age_truncated", "the payload ends without a final chunk")
            if n < TAG_SIZE:
                raise _fail("age_truncated", "the last payload chunk is cut short")
            if n == TAG_SIZE and counter > 0:
                raise _fail("age_payload_corrupt", "empty final chunk after a full one")
            plain = out[: n - TAG_SIZE]
            try:
                aead.decrypt_into(_chunk_nonce(counter, True), buf[:n], None, plain)
            except InvalidTag:
                raise _fail("age_payload_corrupt", f"chunk {counter}") from None
            _write_all(dst, plain)
            return
        # A full chunk is either a middle one or a full final one: try both, as age does.
        last = False
        try:
            aead.decrypt_into(_chunk_nonce(counter, False), buf, None, out)
        except InvalidTag:
            last = True
            try:
                aead.decrypt_into(_chunk_nonce(counter, True), buf, None, out)
            except InvalidTag:
                raise _fail("age_payload_corrupt", f"chunk {counter}") from None
        _write_all(dst, out)
        if last:
            if src.read(1):
                raise _fail("age_trailing_data")
            return
        counter += 1


# ---------------------------------------------------------------------------------------------
# Public streaming API


EphemeralFor = Callable[[bytes, X25519Recipient], X25519PrivateKey | None]


def encrypt(
    recipients: Sequence[Recipient],
    src: BinaryIO,
    dst: BinaryIO,
    *,
    extra_stanzas: Sequence[Stanza] = (),
    ephemeral_for: EphemeralFor | None = None,
) -> None:
    """Encrypt all of ``src`` to ``dst`` as an age file that each recipient can open.

    ``extra_stanzas`` go first in the header, before the recipients' stanzas (readers skip
    types they do not know). ``ephemeral_for(file_key, recipient)`` may give the ephemeral
    secret of an X25519 recipient's stanza (:func:`opening_ephemeral`); ``None`` means a fresh
    random one, as age does.
    """
    if not recipients:
        raise _fail("age_no_recipients")
    file_key = os.urandom(FILE_KEY_SIZE)  # spec "File key": fresh CSPRNG output per file
    stanzas = list(extra_stanzas)
    for recipient in recipients:
        ephemeral = None
        if ephemeral_for is not None and isinstance(recipient, X25519Recipient):
            ephemeral = ephemeral_for(file_key, recipient)
        if ephemeral is not None:
            assert isinstance(recipient, X25519Recipient)
            stanzas.append(recipient.wrap_with_ephemeral(file_key, ephemeral))
        else:
            stanzas += recipient.wrap(file_key)
    _write_all(dst, memoryview(_marshal_header(stanzas, file_key)))
    _encrypt_payload(file_key, src, dst)


def decrypt(identities: Sequence[Identity], src: BinaryIO, dst: BinaryIO) -> None:
    """Decrypt the age file ``src`` to ``dst``. On error, ``dst`` may hold a verified prefix."""
    if not identities:
        raise _fail("age_no_identities")
    header = parse_header(src)
    file_key = unwrap_file_key(header, identities)
    _decrypt_payload(file_key, src, dst)


def decrypt_with_file_key(file_key: bytes, header: Header, src: BinaryIO, dst: BinaryIO) -> None:
    """Remote opening: decrypt with a file key sent by its holder, checked against the header MAC.

    ``src`` must be positioned at the payload: right after :func:`parse_header` on the same
    stream, or after ``src.seek(header.payload_offset)`` on the whole file.
    """
    if len(file_key) != FILE_KEY_SIZE:
        raise _fail("age_file_key_invalid")
    _verify_mac(header, bytes(file_key))
    _decrypt_payload(bytes(file_key), src, dst)


def encrypt_bytes(recipients: Sequence[Recipient], data: bytes) -> bytes:
    """Small data (key shares, seeds) in memory."""
    out = io.BytesIO()
    encrypt(recipients, io.BytesIO(data), out)
    return out.getvalue()


def decrypt_bytes(identities: Sequence[Identity], data: bytes) -> bytes:
    out = io.BytesIO()
    decrypt(identities, io.BytesIO(data), out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# The opening-key claim and the deterministic opening stanza (docs/bid-package.md)


def opening_key_id(recipient: X25519Recipient) -> str:
    """Unpadded standard base64 of the first 16 bytes of SHA-256(raw opening public key)."""
    return _b64encode(hashlib.sha256(recipient.public_bytes).digest()[:16]).decode("ascii")


def opening_claim_stanza(recipient: X25519Recipient) -> Stanza:
    """``-> tenderhall-opening-key <KEY_ID>`` with an empty body: which opening key the file is
    sealed to (age stanzas are anonymous, so the server could not tell otherwise)."""
    return Stanza(OPENING_CLAIM_TYPE, (opening_key_id(recipient),), b"")


def opening_ephemeral(file_key: bytes, recipient: X25519Recipient) -> X25519PrivateKey:
    """e = HKDF-SHA256(ikm=file key, salt=raw opening public key, info="tenderhall/opening-stanza/v1").

    Whoever knows the file key can already read the file, so deriving the ephemeral from it
    reveals nothing new; it lets the file key's holder recompute the opening stanza."""
    if len(file_key) != FILE_KEY_SIZE:
        raise _fail("age_file_key_invalid")
    okm = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=recipient.public_bytes, info=OPENING_EPHEMERAL_INFO
    ).derive(bytes(file_key))
    return X25519PrivateKey.from_private_bytes(okm)


def verify_opening_stanza(header: Header, file_key: bytes, recipient: X25519Recipient) -> bool:
    """Whether ``file_key`` is this header's file key (the MAC verifies) and the header holds the
    X25519 stanza that wraps it for ``recipient`` with :func:`opening_ephemeral` — which proves
    the opening key can unwrap the file key, without using the opening key."""
    if len(file_key) != FILE_KEY_SIZE:
        return False
    if not hmac.compare_digest(_header_mac(bytes(file_key), header.mac_message), header.mac):
        return False
    expected = recipient.wrap_with_ephemeral(bytes(file_key), opening_ephemeral(bytes(file_key), recipient))
    return any(
        stanza.type == X25519_TYPE and stanza.args == expected.args and stanza.body == expected.body
        for stanza in header.stanzas
    )
