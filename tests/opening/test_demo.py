"""`tenderhall demo` runs a complete scripted opening (registration → announcement → 5 bids →
opening → table) and prints the table; `--json` prints it as JSON; the real clock is restored."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from tenderhall.core import clock
from tenderhall.core.models import LogEvent
from tenderhall.experts.models import ExtractionRequest
from tenderhall.experts.services.extraction import extraction_replay
from tenderhall.opening.models import DecryptionStatus, OpeningRecord, OpeningStatus
from tenderhall.opening.services import coefficient_from_seed
from tenderhall.projects.models import Section, SectionStatus


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_demo_opening_prints_the_table_as_json(settings, tmp_path: Path, db: None):
    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.TENDERHALL_UPLOAD_DIR = tmp_path / "uploads"
    clock.set_now(None)
    summary = json.loads(run("demo", "--json"))
    opening = summary["opening"]
    table = opening["table"]
    assert len(table) == 5 and all(row["status"] == DecryptionStatus.DECRYPTED for row in table)
    assert [row["price"] for row in table] == [
        "6120000.00",
        "6085000.50",
        "6203000.00",
        "6150800.00",
        "6099000.00",
    ]
    assert table[0]["bidder"] == "东方建设集团有限公司"
    section = Section.objects.get(pk=opening["section"]["id"])
    assert section.status == SectionStatus.OPENED
    assert section.bid_deadline < clock.now()  # placed in the past, and the clock is real again
    session = section.opening
    assert session.status == OpeningStatus.READ_OUT
    k = coefficient_from_seed(bytes.fromhex(opening["coefficient_seed"]), Decimal("0.95"), Decimal("0.98"))
    assert str(k) == opening["coefficient"]
    assert OpeningRecord.objects.get(section=section).record_sha256 == opening["record_sha256"]
    assert LogEvent.objects.filter(action="opening.table.read_out").count() == 1
    # past the opening: a remote evaluation with its committee (issue 6)
    evaluation = summary["evaluation"]
    request = ExtractionRequest.objects.get(pk=evaluation["extraction_request"])
    assert request.section_id == section.pk and request.is_remote
    committee = evaluation["committee"]
    assert len(committee) >= 5 and len(committee) % 2 == 1  # 法 Art 37
    assert [m["member"] for m in committee if m["leader"]] == [request.leader_id]
    assert evaluation["declined_and_replaced"] == 1
    assert {v["role"] for v in evaluation["venues"]} == {"main", "secondary"}
    assert extraction_replay(request=request).ok
    assert run("audit", "verify").startswith("log OK")


def test_demo_prints_the_table(settings, tmp_path: Path, db: None):
    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.TENDERHALL_UPLOAD_DIR = tmp_path / "uploads"
    clock.set_now(None)
    output = run("demo")
    assert "demo opening" in output and "西岭建筑安装有限公司" in output and "6099000.00" in output
    assert "K = 0.9" in output
    assert "demo remote evaluation: extraction request #" in output and "组长 leader" in output
