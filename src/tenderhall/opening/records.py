"""The opening record (开标记录) and the witness record (见证记录, seed 000 §7.3.2).

After reading out, the host generates the record: canonical JSON (what the bidders sign) and a
PDF rendered from it, both hashed and logged. Each bidder confirms by signing
``tenderhall-opening-record:v1:<sha256 of the JSON>`` with a signing certificate registered to its
organization; when the confirmation window has ended the host closes the record and every bidder
who did not answer is recorded as confirmed by silence, as the tender states. Trading-centre staff
add witness notes, flagging anything abnormal. The custodians' read of their own sealed share
(backup decryption) is here too, for the bidder tool's ``custodian-share``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from enum import StrEnum
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string

from tenderhall.accounts.models import Certificate, CertificateStatus, CertificateUsage
from tenderhall.core import clock
from tenderhall.core.canonical import canonical_json, sha256_hex
from tenderhall.core.crypto import certs
from tenderhall.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from tenderhall.core.permissions import Permission, require
from tenderhall.core.transparency import latest_sth, log_append, log_refusal, sth_as_dict
from tenderhall.disputes.models import Objection, ObjectionStage
from tenderhall.notices.models import KeyShare
from tenderhall.opening import services
from tenderhall.opening.models import (
    ConfirmationKind,
    Decryption,
    OpeningRecord,
    OpeningStatus,
    RecordConfirmation,
    RecordStatus,
    WitnessRecord,
)
from tenderhall.projects.models import Section, SectionCustodian

RECORD_FORMAT = "tenderhall-opening-record/v1"
SIGNED_PREFIX = "tenderhall-opening-record:v1:"
DEFAULT_CONFIRM_MINUTES = 60
MAX_CONFIRM_MINUTES = 7 * 24 * 60
MAX_WITNESS_TEXT = 10_000
PDF_FONT = "Noto Sans CJK SC"


class RecordAction(StrEnum):
    GENERATED = "opening.record.generated"
    CONFIRMED = "opening.record.confirmed"
    CONFIRM_REFUSED = "opening.record.confirm_refused"
    CLOSED = "opening.record.closed"
    WITNESS_ADDED = "opening.witness.added"


def signed_text(record_sha256: str) -> bytes:
    """What a bidder signs: the record's SHA-256, with a purpose prefix so the signature cannot be
    replayed as anything else (a login challenge, a bid manifest)."""
    return (SIGNED_PREFIX + record_sha256).encode("ascii")


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


def record_of(section: Section) -> OpeningRecord:
    record = OpeningRecord.objects.filter(section=section).first()
    if record is None:
        raise NotFound("开标记录", "opening record")
    return record


def _bidder_orgs(section: Section) -> list[Decryption]:
    session = services._session_of(section)
    return list(
        session.decryptions.select_related("bid__organization").order_by("bid__received_at", "bid_id")
    )


def _record_json(section: Section, now: dt.datetime, minutes: int) -> dict[str, Any]:
    session = services._session_of(section)
    sth = latest_sth()
    # Objections raised at the opening and the host's answers (条例 Art 44), as they stand now.
    objections = [
        {
            "bidder": o.organization.name,
            "uscc": o.organization.uscc,
            "text": o.text,
            "raised_at": _iso(o.raised_at),
            "status": o.status,
            "answer": o.answer,
            "answered_at": _iso(o.answered_at),
        }
        for o in Objection.objects.filter(section=section, stage=ObjectionStage.OPENING)
        .select_related("organization")
        .order_by("raised_at", "pk")
    ]
    return {
        "format": RECORD_FORMAT,
        "section": {
            "id": section.pk,
            "code": section.code,
            "name": section.name,
            "project": {"code": section.project.code, "name": section.project.title},
        },
        "generated_at": _iso(now),
        "opening": {
            "started_at": _iso(session.started_at),
            "window_start": _iso(session.window_start),
            "window_end": _iso(session.window_end),
            "window_closed_at": _iso(session.window_closed_at),
            "read_out_at": _iso(session.read_out_at),
        },
        "bidders": [
            {
                "bidder": d.bid.organization.name,
                "uscc": d.bid.organization.uscc,
                "status": d.status,
                "classification": d.classification,
                "reason_code": d.reason_code,
                "reason_zh": d.reason_zh,
                "ciphertext_sha256": d.bid.ciphertext_sha256,
                "package_sha256": d.package_sha256,
            }
            for d in _bidder_orgs(section)
        ],
        "table": session.table,
        "coefficient": (
            {
                "k": str(session.coefficient),
                "seed": session.coefficient_seed,
                "tree_size": session.coefficient_tree_size,
                "inputs": session.coefficient_inputs,
            }
            if session.coefficient is not None
            else None
        ),
        "objections": objections,
        "tree_head": sth_as_dict(sth) if sth is not None else None,
        "confirmation_minutes": minutes,
    }


def _pdf(record: dict[str, Any], record_sha256: str) -> bytes:
    from weasyprint import HTML  # heavy import, only when rendering

    html = render_to_string(
        "opening/record_pdf.html", {"record": record, "sha256": record_sha256, "font": PDF_FONT}
    )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


@transaction.atomic
def opening_record_generate(
    *, acting_user: Any, section: Section, minutes: int | None = None
) -> OpeningRecord:
    """The host makes the record after reading out; bidders then have ``minutes`` to confirm."""
    services._require_host(acting_user, section)
    minutes = DEFAULT_CONFIRM_MINUTES if minutes is None else minutes
    if not 1 <= minutes <= MAX_CONFIRM_MINUTES:
        raise ValidationFailed(
            "record_minutes_invalid",
            f"确认时限须为 1 至 {MAX_CONFIRM_MINUTES} 分钟",
            f"the confirmation window is 1 to {MAX_CONFIRM_MINUTES} minutes",
            fields={"minutes": ""},
        )
    section = services._locked_section(section)
    session = services._session_of(section, lock=True)
    if session.status != OpeningStatus.READ_OUT:
        raise Conflict(
            "record_before_read_out", "唱标后才能生成开标记录", "the record is made after reading out"
        )
    if OpeningRecord.objects.filter(section=section).exists():
        raise Conflict("record_exists", "开标记录已生成", "the opening record has already been generated")
    now = clock.now()
    data = _record_json(section, now, minutes)
    raw = canonical_json(data)
    digest = hashlib.sha256(raw).hexdigest()
    pdf = _pdf(data, digest)
    pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    name = default_storage.save(f"opening/records/{section.pk}/record-{digest[:16]}.pdf", ContentFile(pdf))
    try:
        record = OpeningRecord.objects.create(
            section=section,
            generated_at=now,
            generated_by=acting_user,
            record=data,
            record_sha256=digest,
            pdf=name,
            pdf_sha256=pdf_sha256,
            confirm_until=now + dt.timedelta(minutes=minutes),
        )
    except BaseException:
        default_storage.delete(name)  # no PDF without its row
        raise
    log_append(
        action=RecordAction.GENERATED,
        actor=acting_user,
        obj=record,
        data={
            "section": section.pk,
            "record_sha256": digest,
            "pdf_sha256": pdf_sha256,
            "confirm_until": _iso(record.confirm_until),
        },
    )
    services.hall_event(
        section,
        "record_generated",
        {"record_sha256": digest, "pdf_sha256": pdf_sha256, "confirm_until": _iso(record.confirm_until)},
    )
    return record


def _signature_bytes(signature: str) -> bytes:
    try:
        raw = base64.b64decode((signature or "").strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw:
        raise ValidationFailed(
            "signature_invalid", "签名须为 base64", "the signature must be base64", fields={"signature": ""}
        )
    return raw


def _verifying_certificate(organization_id: int, data: bytes, signature: bytes) -> Certificate | None:
    """The organization's registered, active signing certificate that made ``signature``."""
    rows = Certificate.objects.filter(
        organization_id=organization_id, usage=CertificateUsage.SIGNING, status=CertificateStatus.ACTIVE
    ).order_by("pk")
    for row in rows:
        try:
            certs.verify_signature(certs.load_certificate(row.certificate_pem), data, signature)
        except DomainError:
            continue
        return row
    return None


def record_confirm(
    *, acting_user: Any, section: Section, signature: str, record_sha256: str | None = None
) -> RecordConfirmation:
    """A bidder confirms the record by signing its SHA-256 (refusals are logged)."""
    try:
        return _record_confirm(
            acting_user=acting_user, section=section, signature=signature, record_sha256=record_sha256
        )
    except DomainError as exc:
        log_refusal(
            action=RecordAction.CONFIRM_REFUSED,
            actor=acting_user if getattr(acting_user, "is_authenticated", False) else None,
            data={"section": section.pk, "code": exc.code},
        )
        raise


@transaction.atomic
def _record_confirm(
    *, acting_user: Any, section: Section, signature: str, record_sha256: str | None
) -> RecordConfirmation:
    require(acting_user, Permission.OPENING_UNLOCK)
    section = services._locked_section(section)
    org_id = acting_user.organization_id
    if not any(d.bid.organization_id == org_id for d in _bidder_orgs(section)):
        raise NotFound("开标记录", "opening record")
    record = OpeningRecord.objects.select_for_update().filter(section=section).first()
    if record is None:
        raise NotFound("开标记录", "opening record")
    now = clock.now()
    if not record.can_confirm(now):
        raise Conflict(
            "record_confirmation_closed", "开标记录确认时限已过", "the time to confirm the record has ended"
        )
    if record_sha256 is not None and record_sha256 != record.record_sha256:
        raise Conflict(
            "record_changed",
            "所签名的不是当前开标记录",
            "the signed hash is not the current record's",
        )
    if RecordConfirmation.objects.filter(record=record, organization_id=org_id).exists():
        raise Conflict(
            "record_already_confirmed", "本单位已确认开标记录", "your organization already confirmed"
        )
    raw = _signature_bytes(signature)
    cert = _verifying_certificate(org_id, signed_text(record.record_sha256), raw)
    if cert is None:
        raise ValidationFailed(
            "record_signature_invalid",
            "签名无法用本单位登记的有效签名证书验证",
            "the signature does not verify with any active signing certificate registered to your organization",
            fields={"signature": ""},
        )
    row = RecordConfirmation.objects.create(
        record=record,
        organization_id=org_id,
        user=acting_user,
        kind=ConfirmationKind.SIGNED,
        signature=base64.b64encode(raw).decode("ascii"),
        certificate_sha256=cert.fingerprint_sha256,
        at=now,
    )
    log_append(
        action=RecordAction.CONFIRMED,
        actor=acting_user,
        obj=record,
        data={
            "section": section.pk,
            "uscc": acting_user.organization.uscc,
            "record_sha256": record.record_sha256,
            "certificate_sha256": cert.fingerprint_sha256,
            "signature_sha256": hashlib.sha256(raw).hexdigest(),
        },
    )
    services.hall_event(
        section, "record_confirmed", {"bidder": acting_user.organization.name, "kind": "signed"}
    )
    return row


@transaction.atomic
def record_close(*, acting_user: Any, section: Section) -> OpeningRecord:
    """After the window, bidders who did not answer are confirmed by silence (as the tender states)."""
    services._require_host(acting_user, section)
    section = services._locked_section(section)
    record = OpeningRecord.objects.select_for_update().filter(section=section).first()
    if record is None:
        raise NotFound("开标记录", "opening record")
    now = clock.now()
    if not record.can_close():
        raise Conflict("record_closed", "开标记录已关闭", "the record is already closed")
    if now < record.confirm_until:
        raise Conflict(
            "record_window_open",
            f"确认时限至 {_iso(record.confirm_until)}，届时方可关闭",
            f"bidders may confirm until {_iso(record.confirm_until)}; close after that",
        )
    answered = set(RecordConfirmation.objects.filter(record=record).values_list("organization_id", flat=True))
    silent = []
    for d in _bidder_orgs(section):
        org = d.bid.organization
        if org.pk in answered:
            continue
        answered.add(org.pk)
        RecordConfirmation.objects.create(
            record=record, organization=org, kind=ConfirmationKind.SILENCE, at=now
        )
        silent.append(org.uscc)
    record.status = RecordStatus.CLOSED
    record.closed_at = now
    record.save(update_fields=["status", "closed_at"])
    log_append(
        action=RecordAction.CLOSED,
        actor=acting_user,
        obj=record,
        data={"section": section.pk, "record_sha256": record.record_sha256, "confirmed_by_silence": silent},
    )
    services.hall_event(section, "record_closed", {"confirmed_by_silence": len(silent)})
    return record


@transaction.atomic
def witness_record_add(*, acting_user: Any, section: Section, text: str, abnormal: bool) -> WitnessRecord:
    """见证记录 (seed 000 §7.3.2): the trading centre's staff witness the opening."""
    require(acting_user, Permission.OPENING_WITNESS)
    text = (text or "").strip()
    if not text or len(text) > MAX_WITNESS_TEXT:
        raise ValidationFailed(
            "witness_text_invalid",
            f"见证记录内容不能为空，且不超过 {MAX_WITNESS_TEXT} 字",
            f"the witness note must be 1 to {MAX_WITNESS_TEXT} characters",
            fields={"text": ""},
        )
    section = services._locked_section(section)
    services._session_of(section)
    row = WitnessRecord.objects.create(
        section=section, author=acting_user, text=text, abnormal=bool(abnormal), at=clock.now()
    )
    log_append(
        action=RecordAction.WITNESS_ADDED,
        actor=acting_user,
        obj=row,
        data={"section": section.pk, "text_sha256": sha256_hex(text), "abnormal": row.abnormal},
    )
    services.hall_event(section, "witness_added", {"abnormal": row.abnormal})
    return row


def custodian_own_share(user: Any, section: Section) -> KeyShare:
    """A custodian's own sealed share, only while a backup decryption waits for shares."""
    require(user, Permission.OPENING_CUSTODIAN)
    if not SectionCustodian.objects.filter(section=section, user=user).exists():
        raise PermissionDenied(str(Permission.OPENING_CUSTODIAN))
    session = services._session_of(section)
    if session.status != OpeningStatus.DECRYPTING or not services._waiting_for_backup(session):
        raise Conflict(
            "backup_not_requested",
            "主持人没有申请备用解密，不需要提交密钥分片",
            "the host has not asked for backup decryption: no share is needed",
        )
    row = KeyShare.objects.filter(opening_key__section=section, custodian=user).first()
    if row is None:
        raise NotFound("密钥分片", "key share")
    return row
