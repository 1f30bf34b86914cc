"""The signed bid receipt (the sealed-bid contract, "Receipt"): what the platform hands a bidder
when it accepts a bid, and what the bidder's tool verifies offline.

``{"format": "tenderhall-receipt/v1", "section", "bidder", "ciphertext_sha256", "ciphertext_size",
"received_at", "commitment_nonce", "log": {index, payload, leaf_hash, tree_size, audit_path,
signed_tree_head}, "platform_key_id", "signature"}``, where the log event is sealed (it names
nobody) and carries ``bid_commitment`` = hex SHA-256(nonce ‖ canonical_json(commitment fields)),
and ``signature`` is the platform's Ed25519 signature over the canonical JSON of the rest.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tenderhall.core.canonical import canonical_json

RECEIPT_FORMAT = "tenderhall-receipt/v1"


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def commitment_fields(
    *, section_id: int, bidder_uscc: str, ciphertext_sha256: str, ciphertext_size: int, received_at: str
) -> dict[str, Any]:
    return {
        "section": section_id,
        "bidder": bidder_uscc,
        "ciphertext_sha256": ciphertext_sha256,
        "ciphertext_size": ciphertext_size,
        "received_at": received_at,
    }


def bid_commitment(nonce_hex: str, fields: Mapping[str, Any]) -> str:
    """C = hex SHA-256(nonce ‖ canonical_json(fields)): in the public log, it binds the bid to the
    bidder without naming it; only the receipt's holder can open it."""
    return hashlib.sha256(bytes.fromhex(nonce_hex) + canonical_json(dict(fields))).hexdigest()


def sign_receipt(unsigned: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    body = {k: v for k, v in unsigned.items() if k != "signature"}
    signature = key.sign(canonical_json(body))
    return {**body, "signature": base64.b64encode(signature).decode("ascii")}
