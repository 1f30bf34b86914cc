"""Every write of the expert database (专家库): import, edit, status, bad-behaviour records, the
expert's own profile (leave periods, declared relationships) and the expert's user account.

Secrecy (法 Art 37): the log never carries an expert's name, ID number or phone — only counts,
hashes and row ids. What an expert does on their own profile is logged sealed (a reader of the log
must not learn who changed their availability just after an extraction).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Subquery

from tenderhall.accounts.models import Role, User
from tenderhall.accounts.services import user_register
from tenderhall.core import clock, ids
from tenderhall.core.canonical import sha256_hex
from tenderhall.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.core.transparency import log_append
from tenderhall.experts.id_numbers import id_number_problem, mask_id_number, normalize_id_number
from tenderhall.experts.models import (
    BadBehaviourRecord,
    Expert,
    ExpertKind,
    ExpertLeave,
    ExpertRelationship,
    ExpertSpecialty,
    ExpertStatus,
    ImportBatch,
    Specialty,
)

__all__ = [
    "IMPORT_COLUMNS",
    "RegistryAction",
    "bad_behaviour_record",
    "expert_account_create",
    "expert_import",
    "expert_list_viewed",
    "expert_specialties_sync",
    "expert_status_change",
    "expert_update",
    "expert_viewed",
    "leave_add",
    "leave_remove",
    "mask_id_number",
    "relationship_declare",
    "relationship_remove",
]


class RegistryAction(StrEnum):
    IMPORTED = "experts.registry.imported"
    LIST_VIEWED = "experts.registry.list_viewed"
    EXPERT_VIEWED = "experts.expert.viewed"
    EXPERT_UPDATED = "experts.expert.updated"
    STATUS_CHANGED = "experts.expert.status_changed"
    BAD_BEHAVIOUR_RECORDED = "experts.expert.bad_behaviour_recorded"
    ACCOUNT_CREATED = "experts.expert.account_created"
    LEAVE_ADDED = "experts.profile.leave_added"
    LEAVE_REMOVED = "experts.profile.leave_removed"
    RELATIONSHIP_DECLARED = "experts.profile.relationship_declared"
    RELATIONSHIP_REMOVED = "experts.profile.relationship_removed"


MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000
MAX_LEAVE_DAYS = 366
MAX_TEXT = 2000
# Mainland mobile numbers (SMS/voice notification, and the reply channel B checks against).
PHONE = re.compile(r"^1[3-9]\d{9}$")
SPECIALTY_SEPARATORS = re.compile(r"[;；,，、\s|/]+")

# Column → accepted headers (Chinese as the centre's templates name them, or the field name).
IMPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "id_number"),
    "employer_name": ("工作单位", "employer_name", "employer"),
    "employer_uscc": ("统一社会信用代码", "单位统一社会信用代码", "employer_uscc"),
    "region": ("地区", "所在地区", "region"),
    "specialties": ("专业", "专业代码", "specialties"),
    "kind": ("类别", "专家类别", "kind"),
    "title": ("职称", "title"),
    "years_of_practice": ("从业年限", "years_of_practice"),
    "phone": ("手机", "手机号", "phone"),
}
REQUIRED_COLUMNS = ("name", "id_number", "employer_name", "employer_uscc", "region", "specialties", "phone")
FIELD_LABELS = {
    "name": ("姓名", "name"),
    "id_number": ("身份证号", "ID number"),
    "employer_name": ("工作单位", "employer"),
    "employer_uscc": ("统一社会信用代码", "employer's USCC"),
    "region": ("地区", "region"),
    "specialties": ("专业", "specialties"),
    "kind": ("类别", "kind"),
    "title": ("职称", "title"),
    "years_of_practice": ("从业年限", "years of practice"),
    "phone": ("手机", "phone"),
}
KIND_VALUES = {
    "技术": ExpertKind.TECHNICAL,
    "技术类": ExpertKind.TECHNICAL,
    "technical": ExpertKind.TECHNICAL,
    "经济": ExpertKind.ECONOMIC,
    "经济类": ExpertKind.ECONOMIC,
    "economic": ExpertKind.ECONOMIC,
}
MAX_LENGTHS = {"name": 50, "employer_name": 200, "region": 100, "title": 50}

STAFF_EDITABLE = frozenset(
    {
        "name",
        "employer_name",
        "employer_uscc",
        "region",
        "kind",
        "title",
        "years_of_practice",
        "phone",
        "specialties",
    }
)
# What an expert keeps up to date on their own profile; specialties, kind and region are vetted by
# the centre (they decide which pools the expert is drawn from).
SELF_EDITABLE = frozenset({"employer_name", "employer_uscc", "title", "years_of_practice", "phone"})


# ---- field cleaning (shared by the import, the forms and the API) ------------------------------


def _problem(field_name: str, zh: str, en: str) -> dict[str, str]:
    return {"field": field_name, "zh": zh, "en": en}


def _clean_text(name: str, raw: Any, *, required: bool) -> tuple[str, dict[str, str] | None]:
    value = "" if raw is None else str(raw).strip()
    zh, en = FIELD_LABELS[name]
    if required and not value:
        return value, _problem(name, f"缺少{zh}", f"{en} is missing")
    limit = MAX_LENGTHS.get(name, 200)
    if len(value) > limit:
        return value, _problem(name, f"{zh}过长（最多{limit}字）", f"{en} is too long (at most {limit})")
    return value, None


def clean_phone(raw: Any) -> tuple[str, dict[str, str] | None]:
    value = re.sub(r"[\s\-()]", "", "" if raw is None else _cell_text(raw))
    value = value.removeprefix("+86").removeprefix("0086")
    if not value:
        return value, _problem("phone", "缺少手机号", "phone is missing")
    if not PHONE.match(value):
        return value, _problem(
            "phone", "手机号格式错误（11位大陆手机号）", "phone must be an 11-digit mainland mobile"
        )
    return value, None


def clean_uscc(raw: Any, field_name: str = "employer_uscc") -> tuple[str, dict[str, str] | None]:
    value = ids.normalize_uscc("" if raw is None else str(raw))
    if not value:
        return value, _problem(
            field_name, "缺少统一社会信用代码", "the unified social credit code is missing"
        )
    problem = ids.uscc_problem(value)
    if problem is not None:
        return value, _problem(field_name, problem[0], problem[1])
    return value, None


def clean_id_number(raw: Any) -> tuple[str, dict[str, str] | None]:
    value = normalize_id_number("" if raw is None else _cell_text(raw))
    if not value:
        return value, _problem("id_number", "缺少身份证号", "ID number is missing")
    problem = id_number_problem(value, today=clock.today_local())
    if problem is not None:
        return value, _problem("id_number", problem[0], problem[1])
    return value, None


def clean_kind(raw: Any) -> tuple[str, dict[str, str] | None]:
    value = "" if raw is None else str(raw).strip().lower()
    if not value:
        return ExpertKind.TECHNICAL, None
    kind = KIND_VALUES.get(value)
    if kind is None:
        return value, _problem("kind", "类别应为“技术”或“经济”", "kind must be technical or economic")
    return kind, None


def clean_years(raw: Any) -> tuple[int, dict[str, str] | None]:
    text = "" if raw is None else _cell_text(raw)
    if not text:
        return 0, None
    if not text.isdigit() or int(text) > 70:
        return 0, _problem("years_of_practice", "从业年限应为0-70的整数", "years of practice must be 0-70")
    return int(text), None


def clean_specialties(raw: Any, known: dict[str, Specialty]) -> tuple[list[Specialty], dict[str, str] | None]:
    codes = [c.upper() for c in SPECIALTY_SEPARATORS.split("" if raw is None else str(raw)) if c]
    if not codes:
        return [], _problem("specialties", "缺少专业代码", "no specialty code given")
    unknown = [c for c in codes if c not in known]
    if unknown:
        joined = "、".join(unknown)
        return [], _problem(
            "specialties", f"未知专业代码：{joined}", f"unknown specialty code: {', '.join(unknown)}"
        )
    return list(dict.fromkeys(known[c] for c in codes)), None


def _cell_text(raw: Any) -> str:
    """A cell as text: spreadsheets hand numbers over as int/float (an ID number typed as a number
    has already lost its last digits in Excel — the check character then fails, as it should)."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


# ---- import --------------------------------------------------------------------------------------


@dataclass
class _Row:
    number: int  # as the spreadsheet shows it: the header is row 1
    values: dict[str, Any]
    problems: list[dict[str, str]] = field(default_factory=list)
    clean: dict[str, Any] = field(default_factory=dict)


def _unreadable(zh: str, en: str) -> ValidationFailed:
    return ValidationFailed("import_file_unreadable", zh, en, fields={"file": ""})


def _decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GBK/GB18030 as Excel on Chinese Windows saves it."""
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _unreadable("无法识别文件编码（应为UTF-8或GBK）", "cannot decode the file (expected UTF-8 or GBK)")


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    text = _decode_csv(data)
    if "\x00" in text:
        raise _unreadable("文件不是文本格式的CSV", "the file is not a text CSV")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:
        raise _unreadable("CSV格式错误", f"malformed CSV: {exc}") from None


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    import openpyxl  # heavy: imported only when an XLSX arrives
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it does not know
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = book.worksheets[0]
            rows = [list(row) for row in sheet.iter_rows(values_only=True)]
            book.close()
    except (zipfile.BadZipFile, InvalidFileException, KeyError, IndexError, ValueError, OSError, TypeError):
        raise _unreadable("XLSX文件已损坏或无法读取", "the XLSX file is damaged or unreadable") from None
    yield from rows


def _read_table(filename: str, data: bytes) -> list[list[Any]]:
    lower = filename.lower()
    if lower.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _unreadable("不支持旧版XLS，请另存为XLSX或CSV", "old XLS is not supported: save as XLSX or CSV")
    if lower.endswith(".xlsx") or data.startswith(b"PK\x03\x04"):
        rows = list(_xlsx_rows(data))
    elif lower.endswith((".csv", ".txt")):
        rows = list(_csv_rows(data))
    else:
        raise _unreadable("文件类型应为CSV或XLSX", "the file must be a CSV or XLSX")
    return rows


def _header_map(header: Sequence[Any]) -> dict[str, int]:
    aliases = {alias.lower(): column for column, names in IMPORT_COLUMNS.items() for alias in names}
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = ("" if cell is None else str(cell)).strip().lstrip("\ufeff").lower()
        key = re.sub(r"[\s*＊]", "", key)  # "姓名*" marks a required column in templates
        column = aliases.get(key)
        if column is not None and column not in found:
            found[column] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if missing:
        zh = "、".join(FIELD_LABELS[c][0] for c in missing)
        raise ValidationFailed(
            "import_columns_missing",
            f"缺少必需的列：{zh}",
            f"required columns missing: {', '.join(missing)}",
            fields={"file": ""},
            extra={"missing_columns": missing},
        )
    return found


def _parse_rows(table: list[list[Any]]) -> list[_Row]:
    header_index = next((i for i, row in enumerate(table) if any(_filled(c) for c in row)), None)
    if header_index is None:
        raise ValidationFailed("import_empty", "文件为空", "the file is empty", fields={"file": ""})
    columns = _header_map(table[header_index])
    rows = []
    for offset, raw in enumerate(table[header_index + 1 :], start=header_index + 2):
        if not any(_filled(c) for c in raw):
            continue  # blank lines are not rows
        rows.append(
            _Row(number=offset, values={c: raw[i] if i < len(raw) else None for c, i in columns.items()})
        )
    if not rows:
        raise ValidationFailed(
            "import_empty", "文件中没有数据行", "the file has no data rows", fields={"file": ""}
        )
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationFailed(
            "import_too_many_rows",
            f"一次最多导入{MAX_IMPORT_ROWS}行",
            f"at most {MAX_IMPORT_ROWS} rows per file",
            fields={"file": ""},
        )
    return rows


def _filled(cell: Any) -> bool:
    return cell is not None and str(cell).strip() != ""


def _validate_row(row: _Row, known: dict[str, Specialty]) -> None:
    v = row.values
    cleaners: list[tuple[str, tuple[Any, dict[str, str] | None]]] = [
        ("name", _clean_text("name", v.get("name"), required=True)),
        ("id_number", clean_id_number(v.get("id_number"))),
        ("employer_name", _clean_text("employer_name", v.get("employer_name"), required=True)),
        ("employer_uscc", clean_uscc(v.get("employer_uscc"))),
        ("region", _clean_text("region", v.get("region"), required=True)),
        ("specialties", clean_specialties(v.get("specialties"), known)),
        ("kind", clean_kind(v.get("kind"))),
        ("title", _clean_text("title", v.get("title"), required=False)),
        ("years_of_practice", clean_years(v.get("years_of_practice"))),
        ("phone", clean_phone(v.get("phone"))),
    ]
    for name, (value, problem) in cleaners:
        row.clean[name] = value
        if problem is not None:
            row.problems.append(problem)


def _check_duplicates(rows: list[_Row]) -> None:
    """The same ID number (or phone) twice in one file: no way to tell which row is right, so
    every such row is refused and names the others."""
    for key, zh, en in (("id_number", "身份证号", "ID number"), ("phone", "手机号", "phone")):
        seen: dict[str, list[_Row]] = defaultdict(list)
        for row in rows:
            if not any(p["field"] == key for p in row.problems):
                seen[row.clean[key]].append(row)
        for group in seen.values():
            if len(group) < 2:
                continue
            for row in group:
                others = ", ".join(str(r.number) for r in group if r is not row)
                row.problems.append(
                    _problem(
                        key,
                        f"{zh}在文件中重复（另见第{others}行）",
                        f"duplicate {en} in the file (also row {others})",
                    )
                )


def _check_existing(rows: list[_Row]) -> dict[str, Expert]:
    """Rows update the expert with the same ID number; a row whose ID number belongs to an expert of
    another name, or whose phone belongs to another expert, clashes and is refused (the phone
    identifies the expert's SMS replies)."""
    good = [r for r in rows if not r.problems]
    existing: dict[str, Expert] = {}
    phones: dict[str, str] = {}
    for chunk in _chunks([r.clean["id_number"] for r in good], 500):
        existing.update({e.id_number: e for e in Expert.objects.filter(id_number__in=chunk)})
    for chunk in _chunks([r.clean["phone"] for r in good], 500):
        phones.update(dict(Expert.objects.filter(phone__in=chunk).values_list("phone", "id_number")))
    for row in good:
        current = existing.get(row.clean["id_number"])
        if current is not None and current.name != row.clean["name"]:
            row.problems.append(
                _problem(
                    "id_number",
                    "身份证号已属于库中另一位姓名不同的专家",
                    "the ID number belongs to an expert of another name already in the database",
                )
            )
        holder = phones.get(row.clean["phone"])
        if holder is not None and holder != row.clean["id_number"]:
            row.problems.append(
                _problem(
                    "phone",
                    "手机号已属于库中另一位专家",
                    "the phone belongs to another expert in the database",
                )
            )
    return existing


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@transaction.atomic
def expert_specialties_sync(*, expert_ids: Iterable[int]) -> None:
    """Copy these experts' region and status onto their specialty links (``ExpertSpecialty``, the
    rows the extraction pools read through one index). The only writer of those copies: every write
    of an expert's region, status or specialties calls it in the same transaction."""
    ids = sorted(set(expert_ids))
    expert = Expert.objects.filter(pk=OuterRef("expert_id"))
    for start in range(0, len(ids), 500):  # bounded parameter lists (SQLite)
        ExpertSpecialty.objects.filter(expert_id__in=ids[start : start + 500]).update(
            region=Subquery(expert.values("region")[:1]), status=Subquery(expert.values("status")[:1])
        )


def _apply(row: _Row, expert: Expert, now: dt.datetime) -> None:
    c = row.clean
    expert.name = c["name"]
    expert.id_number = c["id_number"]
    expert.id_number_masked = mask_id_number(c["id_number"])
    expert.employer_name = c["employer_name"]
    expert.employer_uscc = c["employer_uscc"]
    expert.region = c["region"]
    expert.kind = c["kind"]
    expert.title = c["title"]
    expert.years_of_practice = c["years_of_practice"]
    expert.phone = c["phone"]
    expert.updated_at = now


@transaction.atomic
def expert_import(*, acting_user: User, filename: str, data: bytes) -> ImportBatch:
    """Import experts from CSV (UTF-8 or GBK) or XLSX; bad rows are listed in the batch's report and
    left out, good rows create or update the expert with that ID number. A file that cannot be read
    at all, or lacks a required column, is refused as a whole. All or nothing: a crash writes
    nothing."""
    require(acting_user, Permission.EXPERT_MANAGE)
    filename = (filename or "").strip()[:200] or "upload"
    if not data:
        raise ValidationFailed("import_empty", "文件为空", "the file is empty", fields={"file": ""})
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationFailed(
            "import_too_large",
            "文件过大（最大10MB）",
            "the file is too large (at most 10 MB)",
            fields={"file": ""},
        )
    rows = _parse_rows(_read_table(filename, data))
    known = {s.code: s for s in Specialty.objects.all()}
    for row in rows:
        _validate_row(row, known)
    _check_duplicates(rows)
    existing = _check_existing(rows)
    now = clock.now()
    good = [r for r in rows if not r.problems]
    created: list[tuple[_Row, Expert]] = []
    updated: list[tuple[_Row, Expert]] = []
    for row in good:
        current = existing.get(row.clean["id_number"])
        if current is None:
            expert = Expert(created_at=now)
            _apply(row, expert, now)
            created.append((row, expert))
        else:
            _apply(row, current, now)
            updated.append((row, current))
    Expert.objects.bulk_create([e for _, e in created], batch_size=500)
    if not all(e.pk for _, e in created):  # backends that do not return ids (none we support)
        by_id = dict(
            Expert.objects.filter(id_number__in=[e.id_number for _, e in created]).values_list(
                "id_number", "pk"
            )
        )
        for _, e in created:
            e.pk = by_id[e.id_number]
    fields = [
        "name", "id_number_masked", "employer_name", "employer_uscc", "region", "kind", "title",
        "years_of_practice", "phone", "updated_at",
    ]  # fmt: skip
    Expert.objects.bulk_update([e for _, e in updated], fields, batch_size=500)
    through = Expert.specialties.through
    through.objects.filter(expert_id__in=[e.pk for _, e in updated]).delete()
    through.objects.bulk_create(
        [
            through(expert_id=e.pk, specialty_id=s.pk)
            for row, e in [*created, *updated]
            for s in row.clean["specialties"]
        ],
        batch_size=1000,
    )
    expert_specialties_sync(expert_ids=[e.pk for _, e in [*created, *updated]])
    report = [
        {"row": row.number, **problem, "id_number": mask_id_number(str(row.clean.get("id_number", "")))}
        for row in rows
        for problem in row.problems
    ]
    batch = ImportBatch.objects.create(
        filename=filename,
        sha256=sha256_hex(data),
        imported_by=acting_user,
        imported_at=now,
        rows_total=len(rows),
        rows_created=len(created),
        rows_updated=len(updated),
        report=report,
    )
    log_append(
        action=RegistryAction.IMPORTED,
        actor=acting_user,
        obj=batch,
        data={
            "file_sha256": batch.sha256,
            "rows_total": batch.rows_total,
            "rows_created": batch.rows_created,
            "rows_updated": batch.rows_updated,
            "rows_rejected": len(rows) - len(good),
        },
    )
    return batch


# ---- views are logged (法 Art 37: who looked at the expert database) ---------------------------


def expert_list_viewed(*, acting_user: User, filters: dict[str, Any], count: int) -> None:
    """Every view of an expert list is in the log: who, with which filters (hashed), how many."""
    log_append(
        action=RegistryAction.LIST_VIEWED,
        actor=acting_user,
        data={
            "filters_sha256": sha256_hex(repr(sorted(filters.items()))),
            "results": count,
            "full_id_numbers": has_permission(acting_user, Permission.EXPERT_VIEW_ID),
        },
    )


def expert_viewed(*, acting_user: User, expert: Expert) -> None:
    log_append(
        action=RegistryAction.EXPERT_VIEWED,
        actor=acting_user,
        obj=expert,
        data={"full_id_number": has_permission(acting_user, Permission.EXPERT_VIEW_ID)},
    )


# ---- staff edits ---------------------------------------------------------------------------------


def _is_own(user: User, expert: Expert) -> bool:
    return expert.user_id is not None and expert.user_id == user.pk


def _lock(expert: Expert) -> Expert:
    locked = Expert.objects.select_for_update().filter(pk=expert.pk).first()
    if locked is None:
        raise NotFound("专家", "expert")
    return locked


def _raise_first(problems: Iterable[dict[str, str] | None]) -> None:
    found = [p for p in problems if p is not None]
    if found:
        first = found[0]
        raise ValidationFailed(
            f"expert_{first['field']}_invalid",
            first["zh"],
            first["en"],
            fields={p["field"]: f"{p['zh']} / {p['en']}" for p in found},
        )


@transaction.atomic
def expert_update(*, acting_user: User, expert: Expert, **changes: Any) -> Expert:
    """Edit an expert. Staff (EXPERT_MANAGE) edit every field but the ID number; the expert edits
    their own contact and employment details (SELF_EDITABLE). ``specialties`` is a list of codes."""
    if has_permission(acting_user, Permission.EXPERT_MANAGE):
        allowed = STAFF_EDITABLE
    elif has_permission(acting_user, Permission.EXPERT_PROFILE_OWN) and _is_own(acting_user, expert):
        allowed = SELF_EDITABLE
    else:
        raise PermissionDenied(str(Permission.EXPERT_MANAGE))
    refused = sorted(set(changes) - allowed)
    if refused:
        raise ValidationFailed(
            "expert_field_not_editable",
            f"不能修改：{'、'.join(refused)}",
            f"not editable here: {', '.join(refused)}",
            fields={name: "" for name in refused},
        )
    expert = _lock(expert)
    clean: dict[str, Any] = {}
    problems: list[dict[str, str] | None] = []
    for name, raw in changes.items():
        if raw is None:
            continue
        value: Any
        problem: dict[str, str] | None
        if name == "phone":
            value, problem = clean_phone(raw)
        elif name == "employer_uscc":
            value, problem = clean_uscc(raw)
        elif name == "kind":
            value, problem = clean_kind(raw)
        elif name == "years_of_practice":
            value, problem = clean_years(raw)
        elif name == "specialties":
            known = {s.code: s for s in Specialty.objects.all()}
            value, problem = clean_specialties(" ".join(raw) if not isinstance(raw, str) else raw, known)
        else:
            value, problem = _clean_text(name, raw, required=name != "title")
        problems.append(problem)
        clean[name] = value
    _raise_first(problems)
    if "phone" in clean and Expert.objects.filter(phone=clean["phone"]).exclude(pk=expert.pk).exists():
        raise Conflict(
            "expert_phone_taken",
            "手机号已属于库中另一位专家",
            "the phone belongs to another expert in the database",
            fields={"phone": ""},
        )
    changed = []
    for name, value in clean.items():
        if name == "specialties":
            if sorted(s.code for s in expert.specialties.all()) != sorted(s.code for s in value):
                expert.specialties.set(value)
                changed.append(name)
        elif getattr(expert, name) != value:
            setattr(expert, name, value)
            changed.append(name)
    if changed:
        expert.updated_at = clock.now()
        expert.save()
        if {"region", "specialties"} & set(changed):
            expert_specialties_sync(expert_ids=[expert.pk])
        _log_expert_change(acting_user, expert, RegistryAction.EXPERT_UPDATED, {"fields": sorted(changed)})
    return expert


def _log_expert_change(acting_user: User, expert: Expert, action: str, data: dict[str, Any]) -> None:
    """Staff changes are plain events (an expert's row id, no name); the expert's own changes are
    sealed, so the log does not show which expert changed availability when."""
    if _is_own(acting_user, expert) and not has_permission(acting_user, Permission.EXPERT_MANAGE):
        log_append(action=action, actor=acting_user, obj=expert, data=data, sealed=True, public_data=data)
    else:
        log_append(action=action, actor=acting_user, obj=expert, data=data)


@transaction.atomic
def expert_status_change(*, acting_user: User, expert: Expert, status: str, reason: str) -> Expert:
    require(acting_user, Permission.EXPERT_MANAGE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required", "请填写原因", "a reason is required", fields={"reason": ""})
    if len(reason) > 200:
        raise ValidationFailed(
            "reason_too_long", "原因过长（最多200字）", "reason too long (200)", fields={"reason": ""}
        )
    if status not in ExpertStatus.values:
        raise ValidationFailed("expert_status_invalid", "状态无效", "unknown status", fields={"status": ""})
    expert = _lock(expert)
    if not expert.can_change_status_to(status):
        raise Conflict(
            "expert_status_transition",
            f"不能从“{expert.get_status_display()}”改为“{ExpertStatus(status).label}”",
            f"cannot change status from {expert.status} to {status}",
            fields={"status": ""},
        )
    previous = expert.status
    expert.status = status
    expert.updated_at = clock.now()
    expert.save(update_fields=["status", "updated_at"])
    expert_specialties_sync(expert_ids=[expert.pk])
    log_append(
        action=RegistryAction.STATUS_CHANGED,
        actor=acting_user,
        obj=expert,
        data={"from": previous, "to": status, "reason_sha256": sha256_hex(reason)},
    )
    return expert


@transaction.atomic
def bad_behaviour_record(
    *,
    acting_user: User,
    expert: Expert,
    description: str,
    occurred_on: dt.date,
    suspended_until: dt.date | None = None,
) -> BadBehaviourRecord:
    """不良行为记录 (seed 004 §四(四)): while ``suspended_until`` is today or later the expert is
    not drawn (extraction checks it)."""
    require(acting_user, Permission.EXPERT_MANAGE)
    description = (description or "").strip()
    if not description:
        raise ValidationFailed(
            "description_required",
            "请填写不良行为描述",
            "a description is required",
            fields={"description": ""},
        )
    if len(description) > MAX_TEXT:
        raise ValidationFailed(
            "text_too_long",
            f"内容过长（最多{MAX_TEXT}字）",
            f"too long (at most {MAX_TEXT})",
            fields={"description": ""},
        )
    today = clock.today_local()
    if occurred_on > today:
        raise ValidationFailed(
            "occurred_in_future",
            "发生日期不能晚于今天",
            "the date cannot be in the future",
            fields={"occurred_on": ""},
        )
    if suspended_until is not None and suspended_until < occurred_on:
        raise ValidationFailed(
            "suspension_before_occurrence",
            "暂停截止日期不能早于发生日期",
            "the suspension cannot end before the occurrence",
            fields={"suspended_until": ""},
        )
    expert = _lock(expert)
    record = BadBehaviourRecord.objects.create(
        expert=expert,
        description=description,
        occurred_on=occurred_on,
        suspended_until=suspended_until,
        recorded_by=acting_user,
        recorded_at=clock.now(),
    )
    log_append(
        action=RegistryAction.BAD_BEHAVIOUR_RECORDED,
        actor=acting_user,
        obj=expert,
        data={
            "record": record.pk,
            "occurred_on": occurred_on.isoformat(),
            "suspended_until": suspended_until.isoformat() if suspended_until else None,
            "description_sha256": sha256_hex(description),
        },
    )
    return record


@transaction.atomic
def expert_account_create(*, acting_user: User, expert: Expert, username: str, password: str) -> User:
    """A sign-in account (role expert) for an expert, so they keep their profile and answer
    extractions on their own page."""
    require(acting_user, Permission.EXPERT_MANAGE)
    expert = _lock(expert)
    if expert.user_id is not None:
        raise Conflict("expert_has_account", "该专家已有账号", "this expert already has an account")
    if expert.status == ExpertStatus.RETIRED:
        raise Conflict("expert_retired", "专家已退出专家库", "the expert has retired from the database")
    user = user_register(
        acting_user=acting_user,
        username=username,
        password=password,
        role=Role.EXPERT,
        organization=None,
        display_name=expert.name,
        phone=expert.phone,
    )
    expert.user = user
    expert.updated_at = clock.now()
    expert.save(update_fields=["user", "updated_at"])
    log_append(action=RegistryAction.ACCOUNT_CREATED, actor=acting_user, obj=expert, data={"user": user.pk})
    return user


# ---- the expert's own profile: leave periods and declared relationships -------------------------


def _require_profile_writer(acting_user: User, expert: Expert) -> None:
    """The expert themself (EXPERT_PROFILE_OWN), or staff managing the database."""
    if has_permission(acting_user, Permission.EXPERT_MANAGE):
        return
    require(acting_user, Permission.EXPERT_PROFILE_OWN)
    if not _is_own(acting_user, expert):
        raise NotFound("专家", "expert")


@transaction.atomic
def leave_add(
    *, acting_user: User, expert: Expert, starts_on: dt.date, ends_on: dt.date, reason: str = ""
) -> ExpertLeave:
    """A period the expert cannot evaluate, both dates inclusive; extraction skips them for any
    evaluation day it covers."""
    _require_profile_writer(acting_user, expert)
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise ValidationFailed(
            "reason_too_long", "原因过长（最多200字）", "reason too long (200)", fields={"reason": ""}
        )
    if ends_on < starts_on:
        raise ValidationFailed(
            "leave_dates_order",
            "结束日期不能早于开始日期",
            "the end cannot be before the start",
            fields={"ends_on": ""},
        )
    if ends_on < clock.today_local():
        raise ValidationFailed(
            "leave_in_past", "不能登记已过去的请假", "a leave cannot lie in the past", fields={"ends_on": ""}
        )
    if (ends_on - starts_on).days + 1 > MAX_LEAVE_DAYS:
        raise ValidationFailed(
            "leave_too_long",
            f"一次请假最多{MAX_LEAVE_DAYS}天（长期不能参加评标请申请暂停）",
            f"a leave is at most {MAX_LEAVE_DAYS} days (ask for a suspension instead)",
            fields={"ends_on": ""},
        )
    expert = _lock(expert)
    if expert.leaves.filter(starts_on__lte=ends_on, ends_on__gte=starts_on).exists():
        raise Conflict(
            "leave_overlaps",
            "与已登记的请假重叠",
            "overlaps a leave already registered",
            fields={"starts_on": ""},
        )
    leave = ExpertLeave.objects.create(
        expert=expert, starts_on=starts_on, ends_on=ends_on, reason=reason, created_at=clock.now()
    )
    _log_expert_change(
        acting_user,
        expert,
        RegistryAction.LEAVE_ADDED,
        {"leave": leave.pk, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()},
    )
    return leave


@transaction.atomic
def leave_remove(*, acting_user: User, leave: ExpertLeave) -> None:
    expert = leave.expert
    _require_profile_writer(acting_user, expert)
    if leave.ends_on < clock.today_local():
        raise Conflict("leave_past", "已过去的请假不能删除", "a past leave cannot be removed")
    _lock(expert)
    data = {"leave": leave.pk, "starts_on": leave.starts_on.isoformat(), "ends_on": leave.ends_on.isoformat()}
    leave.delete()
    _log_expert_change(acting_user, expert, RegistryAction.LEAVE_REMOVED, data)


@transaction.atomic
def relationship_declare(
    *, acting_user: User, expert: Expert, organization_uscc: str, organization_name: str = "", relation: str
) -> ExpertRelationship:
    """利害关系: the expert is never drawn for a section whose tenderer, agent or bidder is this
    organization (条例 Art 46)."""
    _require_profile_writer(acting_user, expert)
    uscc, problem = clean_uscc(organization_uscc, "organization_uscc")
    relation = (relation or "").strip()
    organization_name = (organization_name or "").strip()
    _raise_first(
        [
            problem,
            None if relation else _problem("relation", "请说明关系", "describe the relationship"),
            None if len(relation) <= 200 else _problem("relation", "关系说明过长", "relation too long (200)"),
            None
            if len(organization_name) <= 200
            else _problem("organization_name", "单位名称过长", "name too long (200)"),
        ]
    )
    expert = _lock(expert)
    if expert.relationships.filter(organization_uscc=uscc).exists():
        raise Conflict(
            "relationship_exists",
            "已申报与该单位的关系",
            "a relationship with this organization is already declared",
            fields={"organization_uscc": ""},
        )
    relationship = ExpertRelationship.objects.create(
        expert=expert,
        organization_uscc=uscc,
        organization_name=organization_name,
        relation=relation,
        declared_at=clock.now(),
    )
    _log_expert_change(
        acting_user,
        expert,
        RegistryAction.RELATIONSHIP_DECLARED,
        {"relationship": relationship.pk, "organization_uscc": uscc},
    )
    return relationship


@transaction.atomic
def relationship_remove(*, acting_user: User, relationship: ExpertRelationship) -> None:
    expert = relationship.expert
    _require_profile_writer(acting_user, expert)
    _lock(expert)
    data = {"relationship": relationship.pk, "organization_uscc": relationship.organization_uscc}
    relationship.delete()
    _log_expert_change(acting_user, expert, RegistryAction.RELATIONSHIP_REMOVED, data)
