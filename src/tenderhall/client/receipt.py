"""Offline verification of a bid receipt (docs/bid-package.md "Receipt").

The checks, in order; the first that fails is named:

1. ``format``: the receipt says ``tenderhall-receipt/v1`` and has every field;
2. ``platform_key``: it names the pinned platform key (``platform_key_id`` = SHA-256 of the raw key);
3. ``signature``: Ed25519 by that key over canonical JSON of the receipt without ``signature``;
4. ``leaf_hash``: SHA-256(0x00 ‖ payload) (RFC 9162 leaf) equals ``log.leaf_hash``;
5. ``commitment``: the sealed log event's ``data.bid_commitment`` equals
   SHA-256(nonce ‖ canonical JSON of section, bidder USCC, ciphertext hash and size, received_at);
6. ``inclusion``: the audit path leads from the leaf to the signed root (RFC 9162 §2.1.3.2);
7. ``signed_tree_head``: the tree head is for ``log.tree_size``, by the pinned key, and its
   signature over ``tenderhall-sth:v1\\n{size}\\n{root}\\n{timestamp}\\n`` verifies.

No network and no Django: core.merkle, core.canonical and ``cryptography`` only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tenderhall.client.errors import ToolError
from tenderhall.core import merkle
from tenderhall.core.canonical import canonical_json

FORMAT = "tenderhall-receipt/v1"
STH_PREFIX = "tenderhall-sth:v1"  # docs/transparency-log.md "Signed tree heads"

CHECKS = (
    "format",
    "platform_key",
    "signature",
    "leaf_hash",
    "commitment",
    "inclusion",
    "signed_tree_head",
)

_CHECK_TEXT = {
    "format": ("回执格式不正确", "the receipt is malformed"),
    "platform_key": (
        "回执不是由已保存的平台密钥签发的",
        "the receipt names another platform key than the pinned one",
    ),
    "signature": ("平台对回执的签名验证失败", "the platform's signature over the receipt does not verify"),
    "leaf_hash": ("日志事件的叶哈希与事件内容不符", "the log leaf hash does not match the event payload"),
    "commitment": (
        "日志事件中的投标承诺值与回执内容不符",
        "the bid commitment in the log event does not match the receipt",
    ),
    "inclusion": ("日志包含证明验证失败", "the log inclusion proof does not lead to the signed root"),
    "signed_tree_head": ("签名树头验证失败", "the signed tree head does not verify"),
}


class ReceiptInvalid(ToolError):
    def __init__(self, check: str, detail: str = "") -> None:
        zh, en = _CHECK_TEXT[check]
        super().__init__(
            f"receipt_{check}",
            f"回执验证失败（{check}）：{zh}" + (f"：{detail}" if detail else ""),
            f"receipt check failed ({check}): {en}" + (f": {detail}" if detail else ""),
        )
        self.check = check


@dataclass(frozen=True)
class PlatformKey:
    public_key: Ed25519PublicKey
    key_id: str

    @classmethod
    def from_pem(cls, pem: bytes | str) -> PlatformKey:
        data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise ToolError(
                "platform_key_invalid", "平台公钥格式错误", "the platform public key is malformed"
            ) from exc
        if not isinstance(key, Ed25519PublicKey):
            raise ToolError("platform_key_invalid", "平台公钥不是 Ed25519", "the platform key is not Ed25519")
        return cls(key, key_id(key))


def key_id(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex (as ``/api/v1/log/key`` names it)."""
    return hashlib.sha256(key.public_bytes_raw()).hexdigest()


def sth_message(tree_size: int, root_hex: str, timestamp: str) -> bytes:
    return f"{STH_PREFIX}\n{tree_size}\n{root_hex}\n{timestamp}\n".encode()


def commitment(receipt: Mapping[str, Any]) -> str:
    """C = hex SHA-256(nonce ‖ canonical_json({section, bidder, ciphertext_sha256, ciphertext_size, received_at}))."""
    facts = {
        "section": receipt["section"]["id"],
        "bidder": receipt["bidder"]["uscc"],
        "ciphertext_sha256": receipt["ciphertext_sha256"],
        "ciphertext_size": receipt["ciphertext_size"],
        "received_at": receipt["received_at"],
    }
    return hashlib.sha256(bytes.fromhex(receipt["commitment_nonce"]) + canonical_json(facts)).hexdigest()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _hex(value: Any, size: int) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size:
        raise ValueError("not a hex hash")
    return bytes.fromhex(value)


def _check_format(receipt: Any) -> None:
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ReceiptInvalid("format", what)

    need(isinstance(receipt, dict), "not a JSON object")
    need(receipt.get("format") == FORMAT, f"format is not {FORMAT}")
    section, bidder, log = receipt.get("section"), receipt.get("bidder"), receipt.get("log")
    need(
        isinstance(section, dict) and _is_int(section.get("id")) and isinstance(section.get("code"), str),
        "section",
    )
    need(
        isinstance(bidder, dict)
        and isinstance(bidder.get("uscc"), str)
        and isinstance(bidder.get("name"), str),
        "bidder",
    )
    for name in ("ciphertext_sha256", "received_at", "commitment_nonce", "platform_key_id", "signature"):
        need(isinstance(receipt.get(name), str), name)
    need(_is_int(receipt.get("ciphertext_size")), "ciphertext_size")
    need(isinstance(log, dict), "log")
    need(_is_int(log.get("index")) and _is_int(log.get("tree_size")), "log.index / log.tree_size")
    need(
        isinstance(log.get("payload"), str) and isinstance(log.get("leaf_hash"), str),
        "log.payload / log.leaf_hash",
    )
    path = log.get("audit_path")
    need(isinstance(path, list) and all(isinstance(h, str) for h in path), "log.audit_path")
    sth = log.get("signed_tree_head")
    need(isinstance(sth, dict), "log.signed_tree_head")
    need(_is_int(sth.get("tree_size")), "signed_tree_head.tree_size")
    for name in ("root_hash", "timestamp", "key_id", "signature"):
        need(isinstance(sth.get(name), str), f"signed_tree_head.{name}")
    try:
        bytes.fromhex(receipt["commitment_nonce"])
    except ValueError:
        raise ReceiptInvalid("format", "commitment_nonce is not hex") from None


def verify_receipt(receipt: Any, platform: PlatformKey) -> dict[str, Any]:
    """Run every check (see the module doc); raise :class:`ReceiptInvalid` naming the first that
    fails. Returns the receipt."""
    _check_format(receipt)

    if not hmac.compare_digest(receipt["platform_key_id"].lower(), platform.key_id):
        raise ReceiptInvalid(
            "platform_key", f"{receipt['platform_key_id'][:16]}… ≠ pinned {platform.key_id[:16]}…"
        )

    unsigned = {k: v for k, v in receipt.items() if k != "signature"}
    try:
        platform.public_key.verify(
            base64.b64decode(receipt["signature"], validate=True), canonical_json(unsigned)
        )
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        raise ReceiptInvalid("signature") from None

    log = receipt["log"]
    payload = log["payload"].encode("utf-8")
    leaf = merkle.leaf_hash(payload)
    if leaf.hex() != log["leaf_hash"].lower():
        raise ReceiptInvalid("leaf_hash")

    try:
        event = json.loads(payload)
        claimed = event["data"]["bid_commitment"]
        expected = commitment(receipt)
    except (ValueError, KeyError, TypeError):
        raise ReceiptInvalid("commitment", "the log event carries no bid_commitment") from None
    if not isinstance(claimed, str) or not hmac.compare_digest(claimed.lower(), expected):
        raise ReceiptInvalid("commitment")
    if event.get("index") != log["index"]:
        raise ReceiptInvalid("commitment", "the log event is for another index")

    sth = log["signed_tree_head"]
    try:
        root = _hex(sth["root_hash"], merkle.HASH_SIZE)
        path = [_hex(h, merkle.HASH_SIZE) for h in log["audit_path"]]
        included = merkle.verify_inclusion(leaf, log["index"], log["tree_size"], path, root)
    except (ValueError, TypeError):
        included = False
    if not included:
        raise ReceiptInvalid("inclusion")

    if sth["tree_size"] != log["tree_size"]:
        raise ReceiptInvalid("signed_tree_head", "it is for another tree size")
    if sth["key_id"].lower() != platform.key_id:
        raise ReceiptInvalid("signed_tree_head", "signed by another key")
    try:
        platform.public_key.verify(
            base64.b64decode(sth["signature"], validate=True),
            sth_message(sth["tree_size"], sth["root_hash"], sth["timestamp"]),
        )
    except (InvalidSignature, binascii.Error, ValueError):
        raise ReceiptInvalid("signed_tree_head") from None
    return receipt


def load_receipt(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ToolError(
            "file_unreadable",
            f"无法读取回执 {path}：{exc.strerror}",
            f"Cannot read the receipt {path}: {exc.strerror}",
        ) from exc
    except UnicodeDecodeError:
        raise ReceiptInvalid("format", "not UTF-8") from None
    try:
        return json.loads(text)
    except ValueError:
        raise ReceiptInvalid("format", "not JSON") from None
