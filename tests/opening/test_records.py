"""The opening record (开标记录: JSON + PDF, signed confirmations, silence after the window) and the
witness record (见证记录), by service and over the API with every caller."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from tenderhall.accounts.models import Role
from tenderhall.core import clock
from tenderhall.core.canonical import canonical_json
from tenderhall.core.crypto import certs
from tenderhall.core.errors import DomainError
from tenderhall.core.models import LogEvent
from tenderhall.disputes import services as disputes_services
from tenderhall.disputes.models import ObjectionStage
from tenderhall.opening import records, services
from tenderhall.opening.models import ConfirmationKind, RecordConfirmation, RecordStatus, WitnessRecord
from tests.factories import UserFactory
from tests.opening.conftest import API, Bidder, Hall, api_client, later


def read_out(h: Hall) -> None:
    services.decryption_window_open(acting_user=h.host, section=h.section, minutes=30)
    for b in h.bidders:
        services.bid_unlock(acting_user=b.user, section=h.section, file_key=b.file_key)
    services.decryption_window_close(acting_user=h.host, section=h.section)
    services.opening_read_out(acting_user=h.host, section=h.section)


@pytest.fixture
def opened(hall: Hall) -> Hall:
    read_out(hall)
    return hall


@pytest.fixture
def generated(opened: Hall) -> Hall:
    records.opening_record_generate(acting_user=opened.host, section=opened.section, minutes=60)
    return opened


def sign(b: Bidder, digest: str) -> str:
    return base64.b64encode(certs.sign_data(b.signer.key, records.signed_text(digest))).decode()


def refused(code: str, fn: Callable[..., Any], **kwargs: Any) -> None:
    with pytest.raises(DomainError) as exc:
        fn(**kwargs)
    assert exc.value.code == code, exc.value.code


def test_record_json_is_canonical_and_names_everything(generated: Hall):
    h = generated
    record = records.record_of(h.section)
    assert hashlib.sha256(canonical_json(record.record)).hexdigest() == record.record_sha256
    data = record.record
    assert data["section"]["id"] == h.section.pk
    assert [b["uscc"] for b in data["bidders"]] == [b.user.organization.uscc for b in h.bidders]
    assert all(b["status"] == "decrypted" for b in data["bidders"])
    assert [row["price"] for row in data["table"]] == ["11800000.00", "11801000.00", "11802000.00"]
    assert data["tree_head"]["tree_size"] > 0 and data["confirmation_minutes"] == 60
    event = LogEvent.objects.filter(action=records.RecordAction.GENERATED).get()
    assert json.loads(event.payload)["data"]["record_sha256"] == record.record_sha256


def test_record_pdf_is_a_real_pdf_with_the_cjk_font(generated: Hall, tmp_path: Any):
    record = records.record_of(generated.section)
    with record.pdf.open("rb") as fh:
        pdf = fh.read()
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == record.pdf_sha256
    name = generated.bidders[0].user.organization.name
    if shutil.which("pdftotext"):
        (tmp_path / "r.pdf").write_bytes(pdf)
        text = subprocess.run(
            ["pdftotext", str(tmp_path / "r.pdf"), "-"], check=True, capture_output=True
        ).stdout.decode()
        assert name in text and "开标记录" in text
    else:
        # No poppler here: read the PDF's streams. The CJK font is embedded, and its ToUnicode
        # map holds every character of the bidder's name (so the name is in the text layer).
        streams = b"".join(_inflate(m) for m in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S))
        # Which face of the Noto CJK collection fontconfig hands WeasyPrint varies (SC, JP, bold…);
        # any of them is the CJK font embedded.
        assert b"Noto-Sans-CJK" in pdf + streams or b"NotoSansCJK" in pdf + streams
        assert all(f"{ord(ch):04X}".encode() in streams.upper() for ch in name + "开标记录")


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return b""


def test_record_holds_the_objections_and_answers(opened: Hall):
    h = opened
    objection = disputes_services.objection_raise(
        acting_user=h.bidders[1].user,
        section=h.section,
        stage=ObjectionStage.OPENING,
        text="第二名报价唱错",
        answer_due=clock.now() + dt.timedelta(minutes=30),
        suspends_section=False,
    )
    disputes_services.objection_answer(acting_user=h.host, objection=objection, answer="已核对，唱标无误")
    record = records.opening_record_generate(acting_user=h.host, section=h.section)
    [row] = record.record["objections"]
    assert row["text"] == "第二名报价唱错" and row["answer"] == "已核对，唱标无误"
    assert row["uscc"] == h.bidders[1].user.organization.uscc


def test_record_only_after_read_out_and_once(hall: Hall):
    refused(
        "record_before_read_out", records.opening_record_generate, acting_user=hall.host, section=hall.section
    )
    read_out(hall)
    refused(
        "record_minutes_invalid",
        records.opening_record_generate,
        acting_user=hall.host,
        section=hall.section,
        minutes=0,
    )
    records.opening_record_generate(acting_user=hall.host, section=hall.section)
    refused("record_exists", records.opening_record_generate, acting_user=hall.host, section=hall.section)
    refused(
        "permission_denied",
        records.opening_record_generate,
        acting_user=hall.bidders[0].user,
        section=hall.section,
    )


def test_signature_is_verified_against_the_registered_certificate(generated: Hall):
    h = generated
    digest = records.record_of(h.section).record_sha256
    b0, b1 = h.bidders[0], h.bidders[1]
    # another bidder's key: its certificate is not registered to b0's organization
    refused(
        "record_signature_invalid",
        records.record_confirm,
        acting_user=b0.user,
        section=h.section,
        signature=sign(b1, digest),
    )
    # b0's key over another text
    refused(
        "record_signature_invalid",
        records.record_confirm,
        acting_user=b0.user,
        section=h.section,
        signature=sign(b0, "0" * 64),
    )
    refused(
        "signature_invalid", records.record_confirm, acting_user=b0.user, section=h.section, signature="@@"
    )
    refused(
        "record_changed",
        records.record_confirm,
        acting_user=b0.user,
        section=h.section,
        signature=sign(b0, digest),
        record_sha256="0" * 64,
    )
    row = records.record_confirm(acting_user=b0.user, section=h.section, signature=sign(b0, digest))
    assert row.kind == ConfirmationKind.SIGNED
    assert row.certificate_sha256 == certs.fingerprint_sha256(b0.signer.certificate)
    refused(
        "record_already_confirmed",
        records.record_confirm,
        acting_user=b0.user,
        section=h.section,
        signature=sign(b0, digest),
    )
    refusals = LogEvent.objects.filter(action=records.RecordAction.CONFIRM_REFUSED).count()
    assert refusals == 5


def test_silence_is_confirmation_after_close(generated: Hall):
    h = generated
    digest = records.record_of(h.section).record_sha256
    records.record_confirm(
        acting_user=h.bidders[0].user, section=h.section, signature=sign(h.bidders[0], digest)
    )
    refused("record_window_open", records.record_close, acting_user=h.host, section=h.section)
    later(60)
    refused(
        "record_confirmation_closed",
        records.record_confirm,
        acting_user=h.bidders[1].user,
        section=h.section,
        signature=sign(h.bidders[1], digest),
    )
    record = records.record_close(acting_user=h.host, section=h.section)
    assert record.status == RecordStatus.CLOSED
    kinds = {c.organization_id: c.kind for c in RecordConfirmation.objects.filter(record=record)}
    assert kinds == {
        h.bidders[0].user.organization_id: ConfirmationKind.SIGNED,
        h.bidders[1].user.organization_id: ConfirmationKind.SILENCE,
        h.bidders[2].user.organization_id: ConfirmationKind.SILENCE,
    }
    event = LogEvent.objects.filter(action=records.RecordAction.CLOSED).get()
    assert len(json.loads(event.payload)["data"]["confirmed_by_silence"]) == 2
    refused("record_closed", records.record_close, acting_user=h.host, section=h.section)


def test_witness_record_by_staff_only(opened: Hall):
    h = opened
    row = records.witness_record_add(
        acting_user=h.world.staff, section=h.section, text="网络中断 3 分钟", abnormal=True
    )
    assert row.abnormal and WitnessRecord.objects.count() == 1
    event = LogEvent.objects.filter(action=records.RecordAction.WITNESS_ADDED).get()
    assert "网络" not in event.payload  # only the text's hash is logged
    refused(
        "witness_text_invalid",
        records.witness_record_add,
        acting_user=h.world.staff,
        section=h.section,
        text=" ",
        abnormal=False,
    )
    refused(
        "permission_denied",
        records.witness_record_add,
        acting_user=h.host,
        section=h.section,
        text="x",
        abnormal=False,
    )


def test_custodian_share_only_while_backup_requested(hall: Hall):
    custodian = hall.world.staff
    with pytest.raises(DomainError) as exc:
        records.custodian_own_share(custodian, hall.section)
    assert exc.value.code == "backup_not_requested"
    services.decryption_window_open(acting_user=hall.host, section=hall.section)
    services.backup_request(acting_user=hall.host, section=hall.section, bid=hall.bidders[0].bid)
    row = records.custodian_own_share(custodian, hall.section)
    assert row.custodian == custodian
    with pytest.raises(DomainError) as exc:
        records.custodian_own_share(hall.bidders[0].user, hall.section)
    assert exc.value.code == "permission_denied"


# ---- the API: every endpoint, every caller ------------------------------------------------------------


def _digest(h: Hall) -> str:
    return records.record_of(h.section).record_sha256


ROUTES: list[
    tuple[str, str, Callable[[Hall], None], Callable[[Hall], dict[str, Any]] | None, str, str, int]
] = [
    ("get", "hall/record", lambda h: _gen(h), None, "bidder", "", 200),
    ("get", "hall/record.pdf", lambda h: _gen(h), None, "watcher", "", 200),
    ("post", "hall/record/generate", read_out, lambda h: {"minutes": 30}, "host", "bidder", 201),
    (
        "post",
        "hall/record/confirm",
        lambda h: _gen(h),
        lambda h: {"signature": sign(h.bidders[0], _digest(h)), "sha256": _digest(h)},
        "bidder",
        "host",
        201,
    ),
    ("post", "hall/record/close", lambda h: _gen(h, wait=True), None, "host", "bidder", 200),
    ("post", "hall/witness", read_out, lambda h: {"text": "正常", "abnormal": False}, "staff", "bidder", 201),
    (
        "get",
        "hall/my-share",
        lambda h: _backup(h),
        None,
        "staff",
        "bidder",
        200,
    ),
]


def _gen(h: Hall, *, wait: bool = False) -> None:
    read_out(h)
    records.opening_record_generate(acting_user=h.host, section=h.section)
    if wait:
        later(61)


def _backup(h: Hall) -> None:
    services.decryption_window_open(acting_user=h.host, section=h.section)
    services.backup_request(acting_user=h.host, section=h.section, bid=h.bidders[0].bid)


@pytest.mark.parametrize(
    ("method", "path", "prepare", "body", "right", "wrong", "status"), ROUTES, ids=[r[1] for r in ROUTES]
)
def test_record_route_permissions(
    hall: Hall,
    method: str,
    path: str,
    prepare: Callable[[Hall], None],
    body: Callable[[Hall], dict[str, Any]] | None,
    right: str,
    wrong: str,
    status: int,
):
    h = hall
    prepare(h)
    users = {
        "host": h.host,
        "bidder": h.bidders[0].user,
        "staff": h.world.staff,
        "watcher": h.world.supervisor,
    }
    url = f"{API}/sections/{h.section.pk}/{path}"

    def call(user: Any) -> Any:
        client = api_client(user)
        if method == "get":
            return client.get(url)
        return client.post(url, json.dumps(body(h) if body else {}), content_type="application/json")

    assert call(None).status_code == 401
    if wrong:
        assert call(users[wrong]).status_code == 403
    outsider = UserFactory(role=Role.BIDDER) if right in ("bidder", "watcher") else h.world.rival_agent
    if right != "staff":  # staff read every section: no outsider among them
        assert call(outsider).status_code == 404
    response = call(users[right])
    assert response.status_code == status, response.content
    if path == "hall/record.pdf":
        assert b"".join(response.streaming_content).startswith(b"%PDF-")
    if path == "hall/record":
        data = response.json()
        assert hashlib.sha256(canonical_json(data["record"])).hexdigest() == data["sha256"]
