"""`tenderhall-bid receipt verify`: each check of the contract fails on its own kind of damage."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tenderhall.client import receipt as receipt_mod
from tenderhall.client.cli import main
from tenderhall.core.canonical import canonical_json
from tests.client.conftest import fake_login
from tests.client.fakehall import FakeHall

DIGEST = hashlib.sha256(b"ciphertext").hexdigest()


@pytest.fixture
def fake() -> FakeHall:
    hall = FakeHall()
    hall.add_section(7, "CY2026-0001-01")
    return hall


@pytest.fixture
def good(fake: FakeHall) -> dict[str, Any]:
    return fake.receipt(7, DIGEST, 10)


def write(tmp_path: Path, receipt: Any, name: str = "receipt.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(receipt, ensure_ascii=False))
    return path


def key_file(tmp_path: Path, fake: FakeHall) -> Path:
    path = tmp_path / "platform.pem"
    path.write_text(fake.public_key_pem)
    return path


def verify(tmp_path: Path, fake: FakeHall, receipt: Any) -> int:
    return main(
        ["receipt", "verify", str(write(tmp_path, receipt)), "--platform-key", str(key_file(tmp_path, fake))]
    )


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, (*path, i))
    else:
        yield path


def tampered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str) and value and value[-1] in "0123456789abcdef":
        return value[:-1] + ("1" if value[-1] != "1" else "2")  # still hex, still the same length
    return value + "x"


def set_at(receipt: dict[str, Any], path: tuple[Any, ...], change: Callable[[Any], Any]) -> dict[str, Any]:
    copied = copy.deepcopy(receipt)
    target = copied
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = change(target[path[-1]])
    return copied


def test_a_good_receipt(tmp_path, fake, good, capsys):
    assert verify(tmp_path, fake, good) == 0
    out = capsys.readouterr().out
    assert out.startswith("receipt OK: ") and "CY2026-0001-01" in out and DIGEST in out


def test_the_key_pinned_at_login_is_used(tmp_path, fake, good, capsys):
    path = write(tmp_path, good)
    assert main(["receipt", "verify", str(path)]) == 1
    assert capsys.readouterr().err.startswith("platform_key_missing: ")
    fake_login(tmp_path / "home", fake)
    assert main(["receipt", "verify", str(path)]) == 0


def test_every_field_is_covered(tmp_path, fake, good, capsys):
    paths = list(leaves(good))
    assert len(paths) > 20
    for path in paths:
        bad = set_at(good, path, tampered)
        assert bad != good
        assert verify(tmp_path, fake, bad) == 1, path
        err = capsys.readouterr().err
        assert err.startswith("receipt_"), (path, err)


def test_a_missing_or_extra_field_is_refused(tmp_path, fake, good, capsys):
    missing = {k: v for k, v in good.items() if k != "received_at"}
    assert verify(tmp_path, fake, missing) == 1
    assert capsys.readouterr().err.startswith("receipt_format: ")
    extra = {**good, "note": "added"}
    assert verify(tmp_path, fake, extra) == 1
    assert capsys.readouterr().err.startswith("receipt_signature: ")
    assert verify(tmp_path, fake, [good]) == 1
    assert capsys.readouterr().err.startswith("receipt_format: ")
    (tmp_path / "garbage.json").write_text("{not json")
    args = [
        "receipt",
        "verify",
        str(tmp_path / "garbage.json"),
        "--platform-key",
        str(key_file(tmp_path, fake)),
    ]
    assert main(args) == 1
    assert capsys.readouterr().err.startswith("receipt_format: ")


def test_another_platform_key(tmp_path, fake, good, capsys):
    other = FakeHall()
    assert verify(tmp_path, other, good) == 1
    assert capsys.readouterr().err.startswith("receipt_platform_key: ")
    # a receipt claiming the other key's id but signed by ours
    forged = fake.sign({**good, "platform_key_id": other.key_id})
    assert verify(tmp_path, other, forged) == 1
    assert capsys.readouterr().err.startswith("receipt_signature: ")


def resign(fake: FakeHall, receipt: dict[str, Any]) -> dict[str, Any]:
    return fake.sign(receipt)


@pytest.mark.parametrize(
    ("damage", "check"),
    [
        # the platform signs a receipt whose parts do not agree: each later check catches its part
        (lambda r, f: set_at(r, ("format",), lambda _: "tenderhall-receipt/v2"), "format"),
        (lambda r, f: set_at(r, ("log", "payload"), lambda p: p.replace('"v":1', '"v":2')), "leaf_hash"),
        (lambda r, f: set_at(r, ("commitment_nonce",), tampered), "commitment"),
        (lambda r, f: set_at(r, ("ciphertext_size",), tampered), "commitment"),
        (lambda r, f: set_at(r, ("bidder", "uscc"), lambda _: "91110000MA00000152"), "commitment"),
        (lambda r, f: set_at(r, ("log", "index"), lambda i: i + 1), "commitment"),
        (lambda r, f: set_at(r, ("log", "audit_path", 0), tampered), "inclusion"),
        (lambda r, f: set_at(r, ("log", "audit_path"), lambda p: p[:-1]), "inclusion"),
        (lambda r, f: set_at(r, ("log", "signed_tree_head", "root_hash"), tampered), "inclusion"),
        (
            lambda r, f: set_at(
                r, ("log", "signed_tree_head", "timestamp"), lambda _: "2026-03-20T02:00:01Z"
            ),
            "signed_tree_head",
        ),
        (lambda r, f: set_at(r, ("log", "signed_tree_head", "key_id"), tampered), "signed_tree_head"),
        (
            lambda r, f: set_at(
                r, ("log", "signed_tree_head", "signature"), lambda _: base64.b64encode(bytes(64)).decode()
            ),
            "signed_tree_head",
        ),
    ],
)
def test_each_check_names_itself(tmp_path, fake, good, capsys, damage, check):
    bad = resign(fake, damage(good, fake))
    assert verify(tmp_path, fake, bad) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"receipt_{check}: "), err
    assert f"({check})" in err


def test_a_tree_head_signed_by_another_key(tmp_path, fake, good, capsys):
    other = Ed25519PrivateKey.generate()
    sth = good["log"]["signed_tree_head"]
    message = receipt_mod.sth_message(sth["tree_size"], sth["root_hash"], sth["timestamp"])
    forged_sth = {**sth, "signature": base64.b64encode(other.sign(message)).decode()}
    bad = resign(fake, set_at(good, ("log", "signed_tree_head"), lambda _: forged_sth))
    assert verify(tmp_path, fake, bad) == 1
    assert capsys.readouterr().err.startswith("receipt_signed_tree_head: ")


def test_the_signature_covers_canonical_json(good, fake):
    body = {k: v for k, v in good.items() if k != "signature"}
    fake.key.public_key().verify(base64.b64decode(good["signature"]), canonical_json(body))
    assert receipt_mod.verify_receipt(good, receipt_mod.PlatformKey.from_pem(fake.public_key_pem)) == good


def test_the_bid_file_can_be_checked_too(tmp_path, fake, capsys):
    bid = tmp_path / "bid.age"
    bid.write_bytes(b"ciphertext")
    receipt = write(tmp_path, fake.receipt(7, DIGEST, 10))
    pem = str(key_file(tmp_path, fake))
    assert main(["receipt", "verify", str(receipt), "--platform-key", pem, "--bid", str(bid)]) == 0
    bid.write_bytes(b"ciphertexT")
    assert main(["receipt", "verify", str(receipt), "--platform-key", pem, "--bid", str(bid)]) == 1
    assert capsys.readouterr().err.startswith("receipt_file_mismatch: ")
