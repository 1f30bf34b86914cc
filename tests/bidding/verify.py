"""A small offline receipt verifier, written from the contract alone (independent of the server's
receipt code): the checks the bidder tool's `tenderhall-bid receipt verify` makes. Stdlib,
``cryptography`` and ``tenderhall.core.merkle`` (stdlib-only) — no Django, no database."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tenderhall.core import merkle


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _signed(key: Ed25519PublicKey, signature_b64: str, message: bytes) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def failed_checks(receipt: dict[str, Any], platform_key: Ed25519PublicKey) -> list[str]:
    """The names of the checks that fail; an empty list means "receipt OK"."""
    failures = []
    body = {k: v for k, v in receipt.items() if k != "signature"}
    if not _signed(platform_key, str(receipt.get("signature", "")), _canonical(body)):
        failures.append("signature")
    log = receipt["log"]
    payload = log["payload"].encode("utf-8")
    leaf = hashlib.sha256(b"\x00" + payload).hexdigest()
    if leaf != log["leaf_hash"]:
        failures.append("leaf")
    fields = {
        "section": receipt["section"]["id"],
        "bidder": receipt["bidder"]["uscc"],
        "ciphertext_sha256": receipt["ciphertext_sha256"],
        "ciphertext_size": receipt["ciphertext_size"],
        "received_at": receipt["received_at"],
    }
    commitment = hashlib.sha256(bytes.fromhex(receipt["commitment_nonce"]) + _canonical(fields)).hexdigest()
    event = json.loads(payload)
    if event.get("data", {}).get("bid_commitment") != commitment:
        failures.append("commitment")
    sth = log["signed_tree_head"]
    if not (
        sth["tree_size"] == log["tree_size"]
        and merkle.verify_inclusion(
            bytes.fromhex(log["leaf_hash"]),
            log["index"],
            log["tree_size"],
            [bytes.fromhex(h) for h in log["audit_path"]],
            bytes.fromhex(sth["root_hash"]),
        )
    ):
        failures.append("inclusion")
    message = f"tenderhall-sth:v1\n{sth['tree_size']}\n{sth['root_hash']}\n{sth['timestamp']}\n".encode()
    if not _signed(platform_key, sth["signature"], message):
        failures.append("sth")
    return failures
