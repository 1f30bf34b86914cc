"""The bid package (docs/bid-package.md): a deterministic ZIP of a signed manifest and attachments.

Entries, in sorted order (so attachments stream in first, and the manifest that lists their
hashes is written after them, in one pass over each file)::

    attachments/…     the bid documents, each hashed while it is copied in
    manifest.json     canonical JSON (core.canonical): section, bidder, opening summary, files
    manifest.sig      base64 signature over the exact bytes of manifest.json
    signing.pem       the bidder's signing certificate

Every entry has the timestamp 1980-01-01 00:00:00, mode 0644, no extra fields and deflate
compression, so the same inputs always give the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import re
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from cryptography import x509
from cryptography.x509.oid import NameOID

from tenderhall.client.errors import ToolError
from tenderhall.client.files import READ_SIZE, read_bytes
from tenderhall.core.canonical import canonical_json
from tenderhall.core.crypto import certs
from tenderhall.core.money import parse_yuan

FORMAT = "tenderhall-bid/v1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CERTIFICATE = "signing.pem"
ATTACHMENTS = "attachments/"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP can store: no information leaks
FILE_MODE = 0o100644  # a regular file, rw-r--r--

_PRICE_RE = re.compile(r"[0-9]{1,14}(\.[0-9]{1,2})?")  # yuan; 14 integer digits as the database keeps
_SUMMARY_KEYS = {"price", "duration_days", "quality", "project_manager", "bond_reference"}
_MANAGER_KEYS = {"name", "certificate_number"}
MAX_TEXT = 200


class PackageError(ToolError):
    """A summary, directory or package the tool refuses."""


def _summary_error(field: str, zh: str, en: str) -> PackageError:
    return PackageError(
        "summary_invalid", f"开标一览表 {field}：{zh}", f"opening summary {field}: {en}", fields={field: ""}
    )


# ------------------------------------------------------------------------------------------------
# The opening summary (开标一览表)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise _summary_error(duplicated[0], "字段重复", "the key appears twice")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise PackageError(
        "summary_invalid", f"开标一览表中不允许 {name}", f"{name} is not allowed in the opening summary"
    )


def parse_summary(text: str) -> dict[str, Any]:
    """Parse summary.json strictly: numbers with a fraction come back as Decimal (never float) so
    :func:`validate_summary` can refuse them by name."""
    try:
        value = json.loads(
            text, parse_float=Decimal, parse_constant=_no_constant, object_pairs_hook=_no_duplicates
        )
    except json.JSONDecodeError as exc:
        raise PackageError(
            "summary_invalid",
            f"开标一览表不是合法的 JSON：第 {exc.lineno} 行第 {exc.colno} 列 {exc.msg}",
            f"the opening summary is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}",
        ) from exc
    if not isinstance(value, dict):
        raise PackageError(
            "summary_invalid", "开标一览表应为 JSON 对象", "the opening summary must be a JSON object"
        )
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _summary_error(field, "应为非空字符串", "must be a non-empty string")
    if len(value) > MAX_TEXT or any(not ch.isprintable() for ch in value):
        raise _summary_error(
            field, f"最多 {MAX_TEXT} 个字符，且不含控制字符", f"at most {MAX_TEXT} printable characters"
        )
    return value.strip()


def _price(value: Any) -> str:
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        # A JSON number is a binary float to most programs that touch the file: 0.1 + 0.2 ≠ 0.3.
        raise _summary_error(
            "price",
            f'报价须写成字符串，如 "1234567.89"，不能写成数字 {value}（浮点数会改变金额）',
            f'write the price as a string such as "1234567.89", not as the number {value} '
            "(floating point changes amounts)",
        )
    if not isinstance(value, str) or not _PRICE_RE.fullmatch(value):
        raise _summary_error(
            "price",
            "格式应为元，最多两位小数，如 1234567.89（不含逗号、空格和货币符号）",
            "must be yuan with at most 2 decimal places, e.g. 1234567.89 (no commas, spaces or symbols)",
        )
    amount = parse_yuan(value, field="price")
    if amount <= 0:
        raise _summary_error("price", "应大于零", "must be positive")
    return str(amount)


def validate_summary(
    summary: Mapping[str, Any], *, bond_reference: str | None = None
) -> tuple[dict[str, Any], str]:
    """``(opening_summary, bond_reference)`` for the manifest, or a refusal naming the field."""
    unknown = sorted(set(summary) - _SUMMARY_KEYS)
    if unknown:
        raise _summary_error(
            unknown[0],
            f"未知字段（允许：{', '.join(sorted(_SUMMARY_KEYS))}）",
            f"unknown key (allowed: {', '.join(sorted(_SUMMARY_KEYS))})",
        )
    for required in ("price", "duration_days", "quality", "project_manager"):
        if required not in summary:
            raise _summary_error(required, "缺少该字段", "is missing")
    duration = summary["duration_days"]
    if isinstance(duration, Decimal):
        raise _summary_error(
            "duration_days", f"应为整数天数，而不是 {duration}", f"must be whole days, not {duration}"
        )
    if not isinstance(duration, int) or isinstance(duration, bool) or duration <= 0:
        raise _summary_error("duration_days", "应为正整数（天）", "must be a positive whole number of days")
    manager = summary["project_manager"]
    if not isinstance(manager, dict):
        raise _summary_error(
            "project_manager",
            "应为含 name 和 certificate_number 的对象",
            "must be an object with name and certificate_number",
        )
    extra = sorted(set(manager) - _MANAGER_KEYS)
    if extra:
        raise _summary_error(f"project_manager.{extra[0]}", "未知字段", "unknown key")
    opening = {
        "price": _price(summary["price"]),
        "duration_days": duration,
        "quality": _text(summary["quality"], "quality"),
        "project_manager": {
            "name": _text(manager.get("name"), "project_manager.name"),
            "certificate_number": _text(
                manager.get("certificate_number"), "project_manager.certificate_number"
            ),
        },
    }
    reference = bond_reference if bond_reference is not None else summary.get("bond_reference", "")
    if reference is None:
        reference = ""
    if (
        not isinstance(reference, str)
        or len(reference) > MAX_TEXT
        or any(not c.isprintable() for c in reference)
    ):
        raise _summary_error("bond_reference", "应为字符串", "must be a string of printable characters")
    return opening, reference.strip()


# ------------------------------------------------------------------------------------------------
# Attachments


def collect_attachments(root: Path) -> list[tuple[str, Path]]:
    """``[("attachments/<relative path>", path), …]`` sorted by name; symbolic links and special
    files are refused (a link could pull in files from outside the bid directory)."""
    if not root.is_dir():
        raise PackageError("attachments_invalid", f"不是目录：{root}", f"not a directory: {root}")
    found: list[tuple[str, Path]] = []

    def walk(directory: Path, prefix: str) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise PackageError(
                "attachments_invalid",
                f"无法读取目录 {directory}：{exc.strerror}",
                f"cannot read {directory}: {exc.strerror}",
            ) from exc
        for entry in entries:
            path = Path(entry.path)
            name = prefix + entry.name
            if entry.is_symlink():
                raise PackageError(
                    "attachment_symlink",
                    f"投标文件目录中不允许符号链接：{path}",
                    f"symbolic links are not allowed in the bid directory: {path}",
                )
            if any(not ch.isprintable() for ch in entry.name) or "\\" in entry.name:
                raise PackageError(
                    "attachment_name_invalid",
                    f"文件名含控制字符或反斜杠：{path!s}",
                    f"the file name has control characters or a backslash: {path!s}",
                )
            if entry.is_dir(follow_symlinks=False):
                walk(path, name + "/")
            elif entry.is_file(follow_symlinks=False):
                found.append((ATTACHMENTS + name, path))
            else:
                raise PackageError(
                    "attachment_not_regular",
                    f"不是普通文件：{path}",
                    f"not a regular file (device, pipe or socket): {path}",
                )

    walk(root, "")
    if not found:
        raise PackageError(
            "attachments_empty", f"目录中没有投标文件：{root}", f"there are no bid files in {root}"
        )
    found.sort(key=lambda item: item[0])
    return found


# ------------------------------------------------------------------------------------------------
# Writing


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever machine made it
    info.external_attr = FILE_MODE << 16
    return info


def _copy_in(zf: zipfile.ZipFile, name: str, path: Path) -> dict[str, Any]:
    """Stream one file into the ZIP, hashing what is written."""
    digest = hashlib.sha256()
    size = 0
    info = _zip_info(name)
    try:
        # O_NOFOLLOW: a file swapped for a link after the directory walk is refused too.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise PackageError(
            "attachment_unreadable", f"无法读取 {path}：{exc.strerror}", f"cannot read {path}: {exc.strerror}"
        ) from exc
    with os.fdopen(fd, "rb") as src:
        st = os.fstat(src.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise PackageError(
                "attachment_not_regular", f"不是普通文件：{path}", f"not a regular file: {path}"
            )
        info.file_size = st.st_size  # lets zipfile choose ZIP64 up front for big files
        with zf.open(info, "w") as dst:
            while block := src.read(READ_SIZE):
                digest.update(block)
                dst.write(block)
                size += len(block)
    return {"name": name, "size": size, "sha256": digest.hexdigest()}


def _write_small(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    zf.writestr(_zip_info(name), data)


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def certificate_bidder(certificate: x509.Certificate) -> dict[str, str]:
    """The manifest's ``bidder``: name (subject O) and USCC (organizationIdentifier) of the cert."""
    names = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    name = names[0].value if names else ""
    name = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
    uscc = certs.subject_uscc(certificate)
    if not name.strip() or not uscc:
        raise PackageError(
            "cert_subject_incomplete",
            "签名证书的主体缺少单位名称（O）或统一社会信用代码（organizationIdentifier）",
            "the signing certificate's subject lacks the organization (O) or its USCC (organizationIdentifier)",
        )
    return {
        "name": name.strip(),
        "uscc": uscc,
        "signing_certificate_sha256": certs.fingerprint_sha256(certificate),
    }


@dataclass(frozen=True)
class Signer:
    key: certs.SigningPrivateKey
    certificate: x509.Certificate

    @classmethod
    def load(cls, key_pem: bytes, cert_pem: bytes, passphrase: bytes | None) -> Signer:
        key = certs.load_signing_key(key_pem, passphrase)
        certificate = certs.load_certificate(cert_pem)
        if certs.public_key_to_pem(key.public_key()) != certs.public_key_to_pem(certificate.public_key()):  # type: ignore[arg-type]
            raise PackageError(
                "key_cert_mismatch", "私钥与证书不匹配", "The private key does not belong to this certificate"
            )
        return cls(key, certificate)


def build_package(
    out: BinaryIO,
    *,
    section_id: int,
    section_code: str,
    opening_summary: Mapping[str, Any],
    bond_reference: str,
    attachments: list[tuple[str, Path]],
    signer: Signer,
    machine: Mapping[str, str],
    made_at: dt.datetime,
) -> dict[str, Any]:
    """Write the package to ``out`` (a seekable binary file) and return the manifest."""
    bidder = certificate_bidder(signer.certificate)
    with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
        files = [_copy_in(zf, name, path) for name, path in attachments]
        manifest = {
            "format": FORMAT,
            "section": {"id": section_id, "code": section_code},
            "bidder": bidder,
            "opening_summary": dict(opening_summary),
            "bond_reference": bond_reference,
            "files": files,
            "machine": dict(machine),
            "made_at": rfc3339(made_at),
        }
        manifest_bytes = canonical_json(manifest)
        signature = base64.b64encode(certs.sign_data(signer.key, manifest_bytes))
        _write_small(zf, MANIFEST, manifest_bytes)
        _write_small(zf, SIGNATURE, signature)
        _write_small(zf, CERTIFICATE, certs.certificate_to_pem(signer.certificate))
    return manifest


# ------------------------------------------------------------------------------------------------
# Reading and checking


def _bad_package(zh: str, en: str) -> PackageError:
    return PackageError("package_invalid", f"投标文件包无效：{zh}", f"the bid package is invalid: {en}")


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a package, parsed (no signature check): for sanity checks before sealing."""
    try:
        with zipfile.ZipFile(path) as zf:
            data = zf.read(MANIFEST)
    except FileNotFoundError as exc:
        raise PackageError("file_unreadable", f"文件不存在：{path}", f"no such file: {path}") from exc
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise _bad_package(
            f"{path} 不是投标文件包（ZIP 中没有 manifest.json）",
            f"{path} is not a bid package (no manifest.json)",
        ) from exc
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise _bad_package("manifest.json 不是 JSON", "manifest.json is not JSON") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _bad_package(
            f"manifest.json 的 format 不是 {FORMAT}", f"manifest.json's format is not {FORMAT}"
        )
    return manifest


def verify_package(path: Path) -> dict[str, Any]:
    """Check a package as the opening will: layout, canonical manifest, the signature by the
    certificate inside, the bidder named by that certificate, and every attachment's size and
    SHA-256 (streamed). Returns the manifest."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise _bad_package(f"{path} 不是 ZIP 文件", f"{path} is not a ZIP file") from exc
    with zf:
        names = zf.namelist()
        if names != sorted(names) or len(set(names)) != len(names):
            raise _bad_package("条目未排序或重复", "entries are not sorted or repeat")
        try:
            manifest_bytes = zf.read(MANIFEST)
            signature_text = zf.read(SIGNATURE)
            cert_pem = zf.read(CERTIFICATE)
        except KeyError as exc:
            raise _bad_package(f"缺少 {exc.args[0]}", f"{exc.args[0]} is missing") from exc
        try:
            manifest = json.loads(manifest_bytes)
        except ValueError as exc:
            raise _bad_package("manifest.json 不是 JSON", "manifest.json is not JSON") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise _bad_package(f"format 不是 {FORMAT}", f"format is not {FORMAT}")
        try:
            canonical = canonical_json(manifest) == manifest_bytes
        except TypeError:
            canonical = False
        if not canonical:
            raise _bad_package("manifest.json 不是规范 JSON", "manifest.json is not canonical JSON")
        certificate = certs.load_certificate(cert_pem)
        try:
            signature = base64.b64decode(signature_text.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _bad_package("manifest.sig 不是 base64", "manifest.sig is not base64") from exc
        certs.verify_signature(certificate, manifest_bytes, signature)
        if manifest.get("bidder") != certificate_bidder(certificate):
            raise _bad_package("bidder 与签名证书不符", "bidder does not match the signing certificate")
        files = manifest.get("files")
        attachments = [n for n in names if n not in (MANIFEST, SIGNATURE, CERTIFICATE)]
        if (
            not isinstance(files, list)
            or [f.get("name") for f in files if isinstance(f, dict)] != attachments
        ):
            raise _bad_package("files 与 ZIP 中的附件不一致", "files does not list the ZIP's attachments")
        for entry in files:
            digest = hashlib.sha256()
            size = 0
            with zf.open(entry["name"]) as src:
                while block := src.read(READ_SIZE):
                    digest.update(block)
                    size += len(block)
            if size != entry.get("size") or digest.hexdigest() != entry.get("sha256"):
                raise _bad_package(
                    f"{entry['name']} 的大小或 SHA-256 不符", f"{entry['name']}: size or SHA-256 differs"
                )
    return manifest


def load_signer(key_path: Path, cert_path: Path, passphrase: bytes | None) -> Signer:
    return Signer.load(
        read_bytes(key_path, "签名私钥", "signing key"),
        read_bytes(cert_path, "签名证书", "certificate"),
        passphrase,
    )
