"""The section's opening key (DESIGN §4 "Opening key"), pure: no database, no Django models.

* A 16-byte seed is drawn when the section's announcement is published; the X25519 opening key is
  derived from it with HKDF-SHA256, bound to the section id, so one seed can never open another
  section's bids. The public half (``recipient_for``) is published with the announcement; every bid
  envelope is encrypted to it and to the bidder's own key.
* The seed is never stored: it is split k-of-n with Shamir (pycryptodome, GF(2^128)) among the
  custodians; each share is sealed (age) to one custodian's encryption key, and its hash
  (``share_hash``) is committed in the transparency log by the caller.
* To open without a bidder (backup decryption), k custodians open their sealed shares;
  ``combine_shares`` checks every share against its committed hash BEFORE combining, because
  Shamir itself cannot tell a corrupted share: it would silently yield a wrong seed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import Final

from Crypto.Protocol.SecretSharing import Shamir
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tenderhall.core.crypto import age
from tenderhall.core.errors import ValidationFailed

__all__ = [
    "MAX_SHARES",
    "SEED_BYTES",
    "SHARE_BYTES",
    "OpeningKeyError",
    "check_recipient",
    "combine_shares",
    "commit_shares",
    "derive_identity",
    "derive_private_key",
    "new_seed",
    "open_share",
    "recipient_for",
    "seal_share",
    "share_hash",
    "split_seed",
]

SEED_BYTES: Final = 16  # pycryptodome's Shamir shares exactly 16-byte secrets
SHARE_BYTES: Final = 16
MAX_SHARES: Final = 255  # the share index is one byte in share_hash and in the sealed encoding
_KEY_INFO: Final = b"tenderhall/opening-key/v1/section/%d"
_SHARE_HASH_DOMAIN: Final = b"tenderhall/opening-key-share/v1"
_SEALED_VERSION: Final = 1
_SEALED_SIZE: Final = 2 + SHARE_BYTES  # version byte, index byte, share


class OpeningKeyError(ValidationFailed):
    """A refused opening-key operation (code ``opening_key_*``)."""


# -- the key --------------------------------------------------------------------------------------------


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


def derive_private_key(seed: bytes, *, section_id: int) -> X25519PrivateKey:
    """HKDF-SHA256(ikm=seed, salt="", info="tenderhall/opening-key/v1/section/<id>") → 32 bytes."""
    _check_seed(seed)
    _check_section(section_id)
    okm = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=_KEY_INFO % section_id).derive(seed)
    return X25519PrivateKey.from_private_bytes(okm)


def derive_identity(seed: bytes, *, section_id: int) -> age.X25519Identity:
    return age.identity_from_private_key(derive_private_key(seed, section_id=section_id))


def recipient_for(seed: bytes, *, section_id: int) -> str:
    """The published opening key, ``age1…``."""
    return str(derive_identity(seed, section_id=section_id).recipient())


def check_recipient(seed: bytes, *, section_id: int, recipient: str) -> None:
    """Refuse a recombined seed that does not give the section's published opening key."""
    if not hmac.compare_digest(recipient_for(seed, section_id=section_id), recipient.strip()):
        raise OpeningKeyError(
            "opening_key_mismatch",
            "恢复出的开标密钥与该标段公布的开标公钥不一致",
            "the recombined opening key does not match the section's published opening key",
        )


# -- shares ---------------------------------------------------------------------------------------------


def split_seed(seed: bytes, *, k: int, n: int) -> list[tuple[int, bytes]]:
    """``n`` shares with indexes 1..n, any ``k`` of which give the seed back."""
    _check_seed(seed)
    _check_threshold(k, n)
    return [(index, bytes(share)) for index, share in Shamir.split(k, n, seed)]


def share_hash(index: int, share: bytes) -> str:
    """Hex SHA-256("tenderhall/opening-key-share/v1" ‖ index byte ‖ share): the commitment."""
    _check_share(index, share)
    return hashlib.sha256(_SHARE_HASH_DOMAIN + bytes([index]) + share).hexdigest()


def commit_shares(shares: Sequence[tuple[int, bytes]]) -> dict[int, str]:
    """``{index: share_hash}`` for the transparency log."""
    return {index: share_hash(index, share) for index, share in shares}


def seal_share(index: int, share: bytes, recipient: age.X25519Recipient) -> bytes:
    """An age file, to one custodian, of version byte ‖ index byte ‖ share."""
    _check_share(index, share)
    return age.encrypt_bytes([recipient], bytes([_SEALED_VERSION, index]) + share)


def open_share(blob: bytes, identity: age.X25519Identity) -> tuple[int, bytes]:
    """The ``(index, share)`` sealed in ``blob``; an :class:`age.AgeError` if ``identity`` cannot open it."""
    plain = age.decrypt_bytes([identity], blob)
    if len(plain) != _SEALED_SIZE or plain[0] != _SEALED_VERSION:
        raise OpeningKeyError(
            "opening_key_share_invalid",
            "密钥分片文件格式错误",
            "the sealed key share is not in the expected format",
        )
    index, share = plain[1], plain[2:]
    _check_share(index, share)
    return index, share


def combine_shares(shares: Sequence[tuple[int, bytes]], *, k: int, committed: Mapping[int, str]) -> bytes:
    """The seed from at least ``k`` shares, each checked against its committed hash first.

    Refuses a malformed share, a duplicate index, an index with no commitment, a share whose hash
    differs from the commitment (corrupted, or a share of another key) and fewer than ``k`` shares.
    """
    _check_threshold(k, MAX_SHARES)
    seen: set[int] = set()
    for index, share in shares:
        _check_share(index, share)
        if index in seen:
            raise OpeningKeyError(
                "opening_key_share_duplicate",
                f"密钥分片 {index} 重复提交",
                f"key share {index} was given twice",
                extra={"index": index},
            )
        seen.add(index)
    for index, share in shares:
        expected = committed.get(index)
        if expected is None:
            raise OpeningKeyError(
                "opening_key_share_uncommitted",
                f"密钥分片 {index} 没有已登记的哈希值，不能使用",
                f"key share {index} has no committed hash and cannot be used",
                extra={"index": index},
            )
        if not isinstance(expected, str) or not hmac.compare_digest(
            share_hash(index, share), expected.strip().lower()
        ):
            raise OpeningKeyError(
                "opening_key_share_corrupt",
                f"密钥分片 {index} 与透明日志中登记的哈希值不符（已损坏或不属于该开标密钥）",
                f"key share {index} does not match its committed hash (corrupted, or a share of another key)",
                extra={"index": index},
            )
    if len(seen) < k:
        raise OpeningKeyError(
            "opening_key_too_few_shares",
            f"密钥分片不足：需要至少 {k} 份，仅收到 {len(seen)} 份",
            f"too few key shares: at least {k} are needed, {len(seen)} given",
            extra={"needed": k, "given": len(seen)},
        )
    # pycryptodome interpolates with every share it is given: pass exactly k (all are verified).
    chosen = sorted(shares)[:k]
    return bytes(Shamir.combine([(index, bytes(share)) for index, share in chosen]))


# -- checks ---------------------------------------------------------------------------------------------


def _check_seed(seed: bytes) -> None:
    if not isinstance(seed, bytes | bytearray) or len(seed) != SEED_BYTES:
        raise OpeningKeyError(
            "opening_key_seed_invalid",
            f"开标密钥种子应为 {SEED_BYTES} 字节",
            f"an opening key seed is {SEED_BYTES} bytes",
        )


def _check_section(section_id: int) -> None:
    if isinstance(section_id, bool) or not isinstance(section_id, int) or section_id < 1:
        raise OpeningKeyError(
            "opening_key_section_invalid",
            f"标段编号无效：{section_id!r}",
            f"invalid section id {section_id!r}",
        )


def _check_threshold(k: int, n: int) -> None:
    if (
        not all(isinstance(v, int) and not isinstance(v, bool) for v in (k, n))
        or not 2 <= k <= n <= MAX_SHARES
    ):
        raise OpeningKeyError(
            "opening_key_threshold_invalid",
            f"门限参数无效：k={k}，n={n}（须 2 ≤ k ≤ n ≤ {MAX_SHARES}）",
            f"invalid threshold k={k}, n={n} (need 2 <= k <= n <= {MAX_SHARES})",
        )


def _check_share(index: int, share: bytes) -> None:
    if (
        isinstance(index, bool)
        or not isinstance(index, int)
        or not 1 <= index <= MAX_SHARES
        or not isinstance(share, bytes | bytearray)
        or len(share) != SHARE_BYTES
    ):
        raise OpeningKeyError(
            "opening_key_share_invalid",
            f"密钥分片格式错误（序号应为 1 至 {MAX_SHARES}，分片应为 {SHARE_BYTES} 字节）",
            f"malformed key share (index 1 to {MAX_SHARES}, share of {SHARE_BYTES} bytes)",
        )
