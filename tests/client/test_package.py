"""`tenderhall-bid make` and `check`: the bid package of docs/bid-package.md."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import tracemalloc
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenderhall.client import fingerprint, package
from tenderhall.client.cli import main
from tenderhall.core import clock
from tenderhall.core.canonical import canonical_json
from tenderhall.core.crypto import certs
from tests.client.conftest import ORG, SUMMARY, USCC, BidderKeys, fake_login, make_bidder_keys, write_summary

MADE_AT = dt.datetime(2026, 3, 20, 9, 15, 30, 123456, tzinfo=clock.LOCAL_TZ)


@pytest.fixture(autouse=True)
def _fixed_clock() -> None:
    clock.set_now(MADE_AT)


def make(
    tmp_path: Path,
    keys: BidderKeys,
    bid_dir: Path,
    *extra: str,
    summary: Path | None = None,
    out: str = "bid.zip",
) -> tuple[int, Path]:
    summary = summary or write_summary(tmp_path / "summary.json")
    output = tmp_path / out
    args = ["make", "--section", "7", "--summary", str(summary), str(bid_dir), "-o", str(output)]
    args += ["--key", str(keys.signing_key), "--cert", str(keys.signing_cert), *extra]
    return main(args), output


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_make_writes_the_package_of_the_contract(tmp_path, keys, bid_dir, hall, capsys):
    code, out = make(tmp_path, keys, bid_dir, "--bond-reference", "BH-2026-0042")
    assert code == 0, capsys.readouterr().err
    assert "CY2026-0001-01" in capsys.readouterr().out

    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        manifest_bytes = zf.read("manifest.json")
        signature = base64.b64decode(zf.read("manifest.sig"), validate=True)
        signing_pem = zf.read("signing.pem")
        infos = zf.infolist()
        attachment = zf.read("attachments/技术标/图纸/plan.dwg")
    assert names == [
        "attachments/empty.txt",
        "attachments/商务标.pdf",
        "attachments/技术标/图纸/plan.dwg",
        "attachments/技术标/施工组织设计.docx",
        "manifest.json",
        "manifest.sig",
        "signing.pem",
    ]
    assert names == sorted(names)
    assert attachment == (bid_dir / "技术标" / "图纸" / "plan.dwg").read_bytes()
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.external_attr >> 16 == 0o100644
        assert info.extra == b""

    manifest = json.loads(manifest_bytes)
    assert manifest_bytes == canonical_json(manifest)  # sorted keys, no spaces, UTF-8 (not \\u escapes)
    assert "商务标".encode() in manifest_bytes
    files = [
        {
            "name": f"attachments/{rel}",
            "size": (bid_dir / rel).stat().st_size,
            "sha256": sha256(bid_dir / rel),
        }
        for rel in ("empty.txt", "商务标.pdf", "技术标/图纸/plan.dwg", "技术标/施工组织设计.docx")
    ]
    assert manifest == {
        "format": "tenderhall-bid/v1",
        "section": {"id": 7, "code": "CY2026-0001-01"},
        "bidder": {
            "name": ORG,
            "uscc": USCC,
            "signing_certificate_sha256": certs.fingerprint_sha256(keys.certificate),
        },
        "opening_summary": {
            "price": "1234567.89",
            "duration_days": 180,
            "quality": "合格",
            "project_manager": {"name": "李建国", "certificate_number": "辽1212020202020123"},
        },
        "bond_reference": "BH-2026-0042",
        "files": files,
        "machine": fingerprint.machine_fingerprint(),
        "made_at": "2026-03-20T01:15:30Z",
    }
    certs.verify_signature(certs.load_certificate(signing_pem), manifest_bytes, signature)
    assert signing_pem == keys.signing_cert.read_bytes()
    assert package.verify_package(out) == manifest


def test_the_package_is_deterministic(tmp_path, keys, bid_dir, hall):
    assert make(tmp_path, keys, bid_dir, out="a.zip")[0] == 0
    assert make(tmp_path, keys, bid_dir, out="b.zip")[0] == 0
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()  # Ed25519 is deterministic
    # file times and modes do not matter
    os.utime(bid_dir / "商务标.pdf", (0, 0))
    os.chmod(bid_dir / "empty.txt", 0o600)
    assert make(tmp_path, keys, bid_dir, out="c.zip")[0] == 0
    assert (tmp_path / "c.zip").read_bytes() == (tmp_path / "a.zip").read_bytes()


def test_p256_signatures_verify(tmp_path, bid_dir, hall, capsys):
    keys = make_bidder_keys(tmp_path / "p256", algorithm="p256")
    code, out = make(tmp_path, keys, bid_dir)
    assert code == 0, capsys.readouterr().err
    with zipfile.ZipFile(out) as zf:
        certs.verify_signature(
            keys.certificate, zf.read("manifest.json"), base64.b64decode(zf.read("manifest.sig"))
        )
    package.verify_package(out)


def test_the_bond_reference_may_come_from_the_summary(tmp_path, keys, bid_dir, hall):
    summary = write_summary(tmp_path / "s.json", {**SUMMARY, "bond_reference": "BH-1", "price": "100"})
    code, out = make(tmp_path, keys, bid_dir, summary=summary)
    assert code == 0
    manifest = package.read_manifest(out)
    assert manifest["bond_reference"] == "BH-1"
    assert manifest["opening_summary"]["price"] == "100.00"  # always two places


def test_attachments_are_streamed_not_read_whole(tmp_path, keys, hall):
    big = tmp_path / "big"
    big.mkdir()
    with (big / "scan.bin").open("wb") as fh:
        for _ in range(24):
            fh.write(os.urandom(1024 * 1024))
    tracemalloc.start()
    try:
        code, out = make(tmp_path, keys, big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 0
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a 24 MiB attachment"
    assert package.read_manifest(out)["files"][0]["sha256"] == sha256(big / "scan.bin")


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("price", "1234567.89", "write the price as a string"),
        ("price", "1234567", "write the price as a string"),
        ("price", "1.2e6", "write the price as a string"),
        ("duration_days", "180.0", "whole days"),
        ("duration_days", "NaN", "NaN is not allowed"),
    ],
)
def test_numbers_that_would_be_floats_are_refused(tmp_path, keys, bid_dir, hall, capsys, key, raw, expected):
    body = json.dumps({**SUMMARY, key: "__RAW__"}, ensure_ascii=False).replace('"__RAW__"', raw)
    code, out = make(tmp_path, keys, bid_dir, summary=write_summary(tmp_path / "s.json", text=body))
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("summary_invalid: ") and expected in err
    assert not out.exists()


@pytest.mark.parametrize(
    "price",
    ["1,234.00", "12.345", "-5", "0", "0.00", "1e3", " 12", "", "¥100", "１２", "123456789012345", "1."],
)
def test_bad_prices_are_refused(tmp_path, keys, bid_dir, hall, capsys, price):
    path = write_summary(tmp_path / "s.json", {**SUMMARY, "price": price})
    code, out = make(tmp_path, keys, bid_dir, summary=path)
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("summary_invalid: 开标一览表 price")
    assert not out.exists()


@pytest.mark.parametrize(
    ("summary", "field"),
    [
        ({k: v for k, v in SUMMARY.items() if k != "quality"}, "quality"),
        ({**SUMMARY, "duration_days": 0}, "duration_days"),
        ({**SUMMARY, "duration_days": "180"}, "duration_days"),
        ({**SUMMARY, "duration_days": True}, "duration_days"),
        ({**SUMMARY, "quality": "  "}, "quality"),
        ({**SUMMARY, "project_manager": {"name": "李建国"}}, "project_manager.certificate_number"),
        ({**SUMMARY, "project_manager": "李建国"}, "project_manager"),
        ({**SUMMARY, "pricee": "1.00"}, "pricee"),
        ([SUMMARY], "JSON"),
    ],
)
def test_bad_summaries_are_refused(tmp_path, keys, bid_dir, hall, capsys, summary, field):
    path = write_summary(tmp_path / "s.json", text=json.dumps(summary, ensure_ascii=False))
    code, out = make(tmp_path, keys, bid_dir, summary=path)
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("summary_invalid: ") and field in err
    assert not out.exists()


def test_duplicate_keys_are_refused(tmp_path, keys, bid_dir, hall, capsys):
    body = json.dumps(SUMMARY, ensure_ascii=False)[:-1] + ', "price": "1.00"}'
    code, _ = make(tmp_path, keys, bid_dir, summary=write_summary(tmp_path / "s.json", text=body))
    assert code == 1
    assert "price" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["file", "directory", "dangling"])
def test_symlinks_are_refused(tmp_path, keys, bid_dir, hall, capsys, kind):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not part of the bid")
    target = {"file": outside / "secret.txt", "directory": outside, "dangling": tmp_path / "nowhere"}[kind]
    (bid_dir / "技术标" / "link").symlink_to(target)
    code, out = make(tmp_path, keys, bid_dir)
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("attachment_symlink: ") and "link" in err
    assert not out.exists()
    assert not list(tmp_path.glob(".bid.zip.*"))  # no temporary file left behind


def test_an_empty_directory_is_refused(tmp_path, keys, hall, capsys):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    code, _ = make(tmp_path, keys, tmp_path / "empty")
    assert code == 1
    assert capsys.readouterr().err.startswith("attachments_empty: ")


def test_a_key_of_another_certificate_is_refused(tmp_path, keys, bid_dir, hall, capsys):
    other = make_bidder_keys(tmp_path / "other")
    capsys.readouterr()
    summary = write_summary(tmp_path / "s.json")
    args = ["make", "--section", "7", "--summary", str(summary), str(bid_dir), "-o", str(tmp_path / "x.zip")]
    assert main([*args, "--key", str(other.signing_key), "--cert", str(keys.signing_cert)]) == 1
    assert capsys.readouterr().err.startswith("key_cert_mismatch: ")


def test_an_existing_output_is_not_overwritten(tmp_path, keys, bid_dir, hall, capsys):
    (tmp_path / "bid.zip").write_bytes(b"earlier")
    code, out = make(tmp_path, keys, bid_dir)
    assert code == 1
    assert capsys.readouterr().err.startswith("file_exists: ")
    assert out.read_bytes() == b"earlier"


def test_an_unknown_section_is_a_server_refusal(tmp_path, keys, bid_dir, hall, capsys):
    summary = write_summary(tmp_path / "s.json")
    args = ["make", "--section", "99", "--summary", str(summary), str(bid_dir), "-o", str(tmp_path / "x.zip")]
    assert main([*args, "--key", str(keys.signing_key), "--cert", str(keys.signing_cert)]) == 2
    assert capsys.readouterr().err.startswith("not_found: ")
    assert not (tmp_path / "x.zip").exists()


def test_key_and_certificate_default_to_the_login(tmp_path, keys, bid_dir, hall, capsys):
    summary = write_summary(tmp_path / "s.json")
    args = ["make", "--section", "7", "--summary", str(summary), str(bid_dir), "-o", str(tmp_path / "x.zip")]
    assert main(args) == 1
    assert capsys.readouterr().err.startswith("signing_key_required: ")
    fake_login(tmp_path / "home", hall, keys)
    assert main(args) == 0
    assert package.verify_package(tmp_path / "x.zip")["bidder"]["uscc"] == USCC


def test_check_finds_a_changed_attachment(tmp_path, keys, bid_dir, hall, capsys):
    assert make(tmp_path, keys, bid_dir)[0] == 0
    capsys.readouterr()
    assert main(["check", str(tmp_path / "bid.zip")]) == 0
    assert capsys.readouterr().out.startswith("package OK: ")

    # rewrite the ZIP with one attachment changed (same size), everything else as it was
    src, bad = tmp_path / "bid.zip", tmp_path / "bad.zip"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "attachments/商务标.pdf":
                data = data.replace(b"commercial", b"COMMERCIAL", 1)
            zout.writestr(info, data)
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("package_invalid: ") and "商务标.pdf" in err


def test_check_finds_a_changed_manifest(tmp_path, keys, bid_dir, hall, capsys):
    assert make(tmp_path, keys, bid_dir)[0] == 0
    src, bad = tmp_path / "bid.zip", tmp_path / "bad.zip"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "manifest.json":
                data = data.replace(b'"1234567.89"', b'"1234567.80"')
            zout.writestr(info, data)
    assert main(["check", str(bad)]) == 1
    assert capsys.readouterr().err.startswith("signature_invalid: ")


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999999999.99"), places=2))
def test_every_amount_with_two_places_is_kept_exactly(amount):
    opening, _ = package.validate_summary({**SUMMARY, "price": f"{amount:f}"})
    assert Decimal(opening["price"]) == amount
    assert opening["price"] == f"{amount:.2f}"
