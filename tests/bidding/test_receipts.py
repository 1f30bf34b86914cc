"""Receipts verify offline (signature, leaf, commitment, inclusion, signed tree head) with a
verifier written from the contract and with the bidder tool's own — and each check catches the
part it covers being changed."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tenderhall.bidding.receipts import sign_receipt
from tenderhall.client import receipt as tool_receipt
from tenderhall.core import keys, merkle, transparency
from tenderhall.core.models import SignedTreeHead
from tests.bidding.conftest import Api
from tests.bidding.factories import sealed_bid
from tests.bidding.verify import failed_checks
from tests.notices.conftest import World


@pytest.fixture
def receipt(ready: World) -> dict[str, Any]:
    response = Api(ready.bidder).submit(ready.section.pk, sealed_bid(ready.section))
    assert response.status_code == 201, response.content
    return dict(response.json())


def platform() -> Any:
    return keys.platform_key().public_key()


def test_a_receipt_verifies_offline(ready: World, receipt: dict[str, Any]):
    assert failed_checks(receipt, platform()) == []
    pinned = tool_receipt.PlatformKey.from_pem(keys.public_key_pem())
    assert tool_receipt.verify_receipt(receipt, pinned) == receipt
    assert receipt["format"] == "tenderhall-receipt/v1"
    assert receipt["section"] == {"id": ready.section.pk, "code": ready.section.code}
    org = ready.bidder.organization
    assert receipt["bidder"] == {"uscc": org.uscc, "name": org.name}
    assert receipt["platform_key_id"] == keys.key_id()
    assert receipt["log"]["tree_size"] == receipt["log"]["index"] + 1
    assert len(receipt["commitment_nonce"]) == 64


def test_the_receipts_log_event_names_nobody(ready: World, receipt: dict[str, Any]):
    event = json.loads(receipt["log"]["payload"])
    assert event["action"] == "bidding.sealed_step"
    assert (event["actor"], event["actor_role"], event["org"]) == ("", "", "")
    assert (event["source_ip"], event["user_agent"]) == ("", "")
    assert event["object"] == {"type": "", "id": ""}
    assert set(event["data"]) == {"bid_commitment", "sealed"}
    text = receipt["log"]["payload"]
    org = ready.bidder.organization
    for secret in (org.uscc, org.name, ready.bidder.username, receipt["ciphertext_sha256"]):
        assert secret not in text


def test_the_signed_tree_head_is_the_platforms_and_stays_consistent(ready: World, receipt: dict[str, Any]):
    sth = receipt["log"]["signed_tree_head"]
    stored = SignedTreeHead.objects.get(tree_size=sth["tree_size"])
    assert stored.root_hash == sth["root_hash"]
    Api(ready.other_bidder).submit(ready.section.pk, sealed_bid(ready.section))  # the log grows
    proof = transparency.consistency_proof_for(sth["tree_size"])
    assert merkle.verify_consistency(
        sth["tree_size"],
        proof["second"],
        bytes.fromhex(sth["root_hash"]),
        bytes.fromhex(proof["second_tree_head"]["root_hash"]),
        [bytes.fromhex(h) for h in proof["consistency"]],
    )
    assert failed_checks(receipt, platform()) == []  # an old receipt stays valid


def _resign(receipt: dict[str, Any]) -> dict[str, Any]:
    """Sign the tampered receipt again, so that only the check aimed at fails."""
    return sign_receipt(receipt, keys.platform_key())


def _other_sth(receipt: dict[str, Any]) -> None:
    receipt["log"]["signed_tree_head"]["signature"] = receipt["signature"]


TAMPERING = {
    "another section code, not re-signed": (
        lambda r: r["section"].update(code="CY2026-9999-01"),
        False,
        "signature",
    ),
    "another payload": (
        lambda r: r["log"].update(payload=r["log"]["payload"].replace('"v":1', '"v":2')),
        True,
        "leaf",
    ),
    "another ciphertext hash": (lambda r: r.update(ciphertext_sha256="0" * 64), True, "commitment"),
    "another bidder": (lambda r: r["bidder"].update(uscc="91110000000000000X"), True, "commitment"),
    "another nonce": (lambda r: r.update(commitment_nonce="1" * 64), True, "commitment"),
    "a wrong audit path": (
        lambda r: r["log"].update(audit_path=list(reversed(r["log"]["audit_path"]))),
        True,
        "inclusion",
    ),
    "a forged tree head signature": (_other_sth, True, "sth"),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_each_check_catches_its_part_changed(receipt: dict[str, Any], case: str):
    change, resign, failing = TAMPERING[case]
    tampered = copy.deepcopy(receipt)
    change(tampered)
    if resign:
        tampered = _resign(tampered)
    assert failed_checks(tampered, platform()) == [failing]
    pinned = tool_receipt.PlatformKey.from_pem(keys.public_key_pem())
    with pytest.raises(tool_receipt.ReceiptInvalid):
        tool_receipt.verify_receipt(tampered, pinned)


def test_another_platform_key_does_not_verify(receipt: dict[str, Any]):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    assert set(failed_checks(receipt, Ed25519PrivateKey.generate().public_key())) == {"signature", "sth"}
