"""expert_import: CSV (UTF-8, BOM, GBK), XLSX, the validation report, partial-good files, malformed
files, duplicates, atomicity and the log (counts and a hash, never a name)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest

from tenderhall.accounts.models import User
from tenderhall.core import clock, ids
from tenderhall.core.canonical import sha256_hex
from tenderhall.core.errors import PermissionDenied, ValidationFailed
from tenderhall.core.models import LogEvent
from tenderhall.experts.models import Expert, ExpertKind, ImportBatch
from tenderhall.experts.services import registry as services
from tenderhall.experts.services.registry import expert_import
from tests.experts.factories import ExpertFactory, expert_employer_uscc, expert_id_number

pytestmark = pytest.mark.django_db

HEADER = [
    "姓名",
    "身份证号",
    "工作单位",
    "统一社会信用代码",
    "地区",
    "专业",
    "类别",
    "职称",
    "从业年限",
    "手机",
]


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    clock.set_now(dt.datetime(2026, 3, 2, 9, 0, tzinfo=clock.LOCAL_TZ))
    yield


def row(n: int, **overrides: Any) -> list[Any]:
    values = {
        "name": f"张{n}",
        "id": expert_id_number(900_000 + n),
        "employer": f"示范设计院{n}",
        "uscc": expert_employer_uscc(800_000 + n),
        "region": "示范市",
        "specialties": "A0101、A0102",
        "kind": "技术",
        "title": "高级工程师",
        "years": "12",
        "phone": f"1380000{n:04d}",
    }
    values.update(overrides)
    return list(values.values())


def csv_file(rows: list[list[Any]], *, encoding: str = "utf-8", header: list[str] = HEADER) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_file(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def problems(batch: ImportBatch) -> set[tuple[int, str]]:
    return {(entry["row"], entry["field"]) for entry in batch.report}


def test_a_good_utf8_csv_creates_every_expert(staff: User) -> None:
    batch = expert_import(acting_user=staff, filename="experts.csv", data=csv_file([row(1), row(2)]))
    assert (batch.rows_total, batch.rows_created, batch.rows_updated, batch.report) == (2, 2, 0, [])
    expert = Expert.objects.get(name="张1")
    assert expert.id_number == expert_id_number(900_001)
    assert expert.id_number_masked == expert.id_number[:6] + "********" + expert.id_number[-4:]
    assert sorted(s.code for s in expert.specialties.all()) == ["A0101", "A0102"]
    assert (expert.kind, expert.years_of_practice, expert.phone) == (ExpertKind.TECHNICAL, 12, "13800000001")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_bom_and_gbk_files_read_the_same(staff: User, encoding: str) -> None:
    batch = expert_import(acting_user=staff, filename="专家.csv", data=csv_file([row(1)], encoding=encoding))
    assert batch.rows_created == 1 and batch.report == []
    assert Expert.objects.get().employer_name == "示范设计院1"


def test_xlsx_with_numbers_as_cells(staff: User) -> None:
    # Spreadsheets hand phone and years over as numbers.
    batch = expert_import(
        acting_user=staff, filename="experts.xlsx", data=xlsx_file([row(1, phone=13800000001, years=7)])
    )
    assert batch.rows_created == 1, batch.report
    assert Expert.objects.get().years_of_practice == 7


def test_an_id_number_typed_as_a_number_in_excel_is_refused(staff: User) -> None:
    # Excel keeps 15 significant digits: the last digits are lost, the check character fails.
    as_number = float(expert_id_number(900_001)[:17] + "0")
    batch = expert_import(acting_user=staff, filename="e.xlsx", data=xlsx_file([row(1, id=as_number)]))
    assert problems(batch) == {(2, "id_number")} and batch.rows_created == 0


def test_a_partly_good_file_keeps_the_good_rows_and_lists_the_bad(staff: User) -> None:
    bad_check = expert_id_number(900_003)[:17] + ("0" if expert_id_number(900_003)[17] != "0" else "1")
    rows = [
        row(1),
        row(2, uscc="91320000MA0000000X"),  # bad USCC check
        row(3, id=bad_check),  # bad GB 11643 check character
        row(4, specialties="A0101 Q9999"),  # unknown code
        row(5, name=""),  # missing name
        row(6, phone="12345"),  # bad phone
        row(7, kind="管理"),
        row(8, years="多年"),
        row(9),
    ]
    batch = expert_import(acting_user=staff, filename="mixed.csv", data=csv_file(rows))
    assert batch.rows_total == 9 and batch.rows_created == 2
    assert problems(batch) == {
        (3, "employer_uscc"),
        (4, "id_number"),
        (5, "specialties"),
        (6, "name"),
        (7, "phone"),
        (8, "kind"),
        (9, "years_of_practice"),
    }
    by_row = {entry["row"]: entry for entry in batch.report}
    assert "校验" in by_row[4]["zh"] and "check" in by_row[4]["en"]
    assert "Q9999" in by_row[5]["zh"]
    assert by_row[4]["id_number"].count("*") == 8  # the report masks ID numbers too
    assert set(Expert.objects.values_list("name", flat=True)) == {"张1", "张9"}


def test_every_problem_of_a_row_is_listed(staff: User) -> None:
    batch = expert_import(
        acting_user=staff, filename="x.csv", data=csv_file([row(1, phone="1", uscc="x", name="")])
    )
    assert problems(batch) == {(2, "phone"), (2, "employer_uscc"), (2, "name")}


def test_duplicate_id_numbers_in_one_file_refuse_every_copy(staff: User) -> None:
    same = expert_id_number(900_001)
    rows = [row(1), row(2, id=same), row(3)]
    batch = expert_import(acting_user=staff, filename="dup.csv", data=csv_file(rows))
    assert problems(batch) == {(2, "id_number"), (3, "id_number")}
    assert "3" in next(e for e in batch.report if e["row"] == 2)["zh"]
    assert list(Expert.objects.values_list("name", flat=True)) == ["张3"]


def test_duplicate_phones_in_one_file_are_refused(staff: User) -> None:
    batch = expert_import(
        acting_user=staff, filename="p.csv", data=csv_file([row(1), row(2, phone="13800000001")])
    )
    assert problems(batch) == {(2, "phone"), (3, "phone")}
    assert batch.rows_created == 0


def test_a_known_id_number_updates_that_expert(staff: User) -> None:
    expert = ExpertFactory(name="张1", id_number=expert_id_number(900_001), status="suspended")
    batch = expert_import(
        acting_user=staff,
        filename="u.csv",
        data=csv_file([row(1, region="邻市", specialties="C0101", kind="经济")]),
    )
    assert (batch.rows_created, batch.rows_updated, batch.report) == (0, 1, [])
    expert.refresh_from_db()
    assert (expert.region, expert.kind, expert.status) == ("邻市", ExpertKind.ECONOMIC, "suspended")
    assert [s.code for s in expert.specialties.all()] == ["C0101"]


def test_an_id_number_of_an_expert_with_another_name_clashes(staff: User) -> None:
    ExpertFactory(name="李四", id_number=expert_id_number(900_001))
    batch = expert_import(acting_user=staff, filename="c.csv", data=csv_file([row(1)]))
    assert problems(batch) == {(2, "id_number")} and batch.rows_updated == 0
    assert Expert.objects.get().name == "李四"


def test_a_phone_of_another_expert_clashes(staff: User) -> None:
    ExpertFactory(phone="13800000001")
    batch = expert_import(acting_user=staff, filename="c.csv", data=csv_file([row(1)]))
    assert problems(batch) == {(2, "phone")}


def test_english_headers_and_blank_lines(staff: User) -> None:
    header = ["name", "id_number", "employer_name", "employer_uscc", "region", "specialties", "kind", "title",
              "years_of_practice", "phone"]  # fmt: skip
    data = csv_file([row(1), ["", "", ""], row(2)], header=header)
    batch = expert_import(acting_user=staff, filename="en.csv", data=data)
    assert (batch.rows_total, batch.rows_created) == (2, 2)


def test_optional_columns_may_be_absent(staff: User) -> None:
    header = ["姓名", "身份证号", "工作单位", "统一社会信用代码", "地区", "专业", "手机"]
    r = row(1)
    data = csv_file([[r[0], r[1], r[2], r[3], r[4], "C0102", r[9]]], header=header)
    batch = expert_import(acting_user=staff, filename="min.csv", data=data)
    assert batch.rows_created == 1
    assert (Expert.objects.get().kind, Expert.objects.get().years_of_practice) == (ExpertKind.TECHNICAL, 0)


@pytest.mark.parametrize(
    ("filename", "data", "code"),
    [
        ("x.csv", b"", "import_empty"),
        ("x.csv", "姓名,身份证号\n".encode(), "import_columns_missing"),
        ("x.csv", csv_file([]), "import_empty"),
        ("x.xlsx", b"PK\x03\x04 not really a zip", "import_file_unreadable"),
        ("x.xlsx", b"\x00\x01\x02garbage", "import_file_unreadable"),
        ("x.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "import_file_unreadable"),
        ("x.pdf", b"%PDF-1.7", "import_file_unreadable"),
        ("x.csv", b"\x00\x00\x00\x00", "import_file_unreadable"),
        ("x.csv", "\ufeff姓名,工作单位\n张三,某院\n".encode(), "import_columns_missing"),
    ],
)
def test_malformed_files_are_refused_as_a_whole(staff: User, filename: str, data: bytes, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        expert_import(acting_user=staff, filename=filename, data=data)
    assert caught.value.code == code
    assert caught.value.message_zh and caught.value.message_en and "file" in caught.value.fields
    assert not ImportBatch.objects.exists() and not Expert.objects.exists()


def test_a_file_with_random_bytes_is_refused(staff: User) -> None:
    data = bytes(range(256)) * 8
    with pytest.raises(ValidationFailed):
        expert_import(acting_user=staff, filename="r.csv", data=data)


def test_too_large_and_too_many_rows(staff: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "MAX_IMPORT_BYTES", 100)
    with pytest.raises(ValidationFailed) as caught:
        expert_import(acting_user=staff, filename="big.csv", data=csv_file([row(1), row(2)]))
    assert caught.value.code == "import_too_large"
    monkeypatch.setattr(services, "MAX_IMPORT_BYTES", 10_000_000)
    monkeypatch.setattr(services, "MAX_IMPORT_ROWS", 1)
    with pytest.raises(ValidationFailed) as caught:
        expert_import(acting_user=staff, filename="many.csv", data=csv_file([row(1), row(2)]))
    assert caught.value.code == "import_too_many_rows"


def test_a_crash_half_way_writes_nothing(staff: User, monkeypatch: pytest.MonkeyPatch) -> None:
    ExpertFactory(name="张1", id_number=expert_id_number(900_001), region="旧市")

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "log_append", boom)
    with pytest.raises(RuntimeError):
        expert_import(acting_user=staff, filename="a.csv", data=csv_file([row(1, region="新市"), row(2)]))
    assert list(Expert.objects.values_list("name", "region")) == [("张1", "旧市")]
    assert not ImportBatch.objects.exists()


def test_the_log_has_counts_and_the_hash_but_no_names(staff: User) -> None:
    data = csv_file([row(1), row(2, phone="x")])
    batch = expert_import(acting_user=staff, filename="log.csv", data=data)
    event = LogEvent.objects.filter(action="experts.registry.imported").get()
    text = event.payload
    assert sha256_hex(data) in text and batch.sha256 == sha256_hex(data)
    for secret in ("张1", expert_id_number(900_001), "13800000001"):
        assert secret not in text
    assert '"rows_rejected":1' in text.replace(" ", "")


def test_only_staff_may_import(supervisor: User, bidder: User) -> None:
    for user in (supervisor, bidder):
        with pytest.raises(PermissionDenied):
            expert_import(acting_user=user, filename="x.csv", data=csv_file([row(1)]))


def test_employer_uscc_is_normalized(staff: User) -> None:
    uscc = expert_employer_uscc(800_001)
    batch = expert_import(
        acting_user=staff, filename="n.csv", data=csv_file([row(1, uscc=f" {uscc.lower()} ")])
    )
    assert batch.report == [] and Expert.objects.get().employer_uscc == uscc and ids.is_valid_uscc(uscc)
