"""Opening hall API (the hall page, the bidder tool's ``unlock`` and ``custodian-share`` call it).

Handlers parse, call an access helper and a service or selector, and shape the answer; refusals
are DomainErrors answered as problem+json."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from tenderhall.bidding.models import Bid
from tenderhall.core.errors import NotFound, ValidationFailed
from tenderhall.core.permissions import Permission, require
from tenderhall.opening import selectors, services
from tenderhall.opening.models import Decryption, DecryptionStatus, OpeningSession

router = Router(tags=["opening"])


class MinutesIn(Schema):
    minutes: int | None = None


class UnlockIn(Schema):
    file_key: str


class SignInIn(Schema):
    nonce: str
    signature: str  # base64 signature over the challenge text
    certificate: str = ""  # PEM; optional (each registered signing certificate is tried)


class ShareIn(Schema):
    share_index: int
    share: str


class ReasonIn(Schema):
    reason: str


class PostponeIn(Schema):
    reason: str
    new_time: dt.datetime


def _b64(value: str, field: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise ValidationFailed(
            f"{field}_invalid",
            f"{field} 须为 {size} 字节的 base64",
            f"{field} must be {size} bytes in base64",
            fields={field: ""},
        )
    return raw


def _b64_any(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            f"{field}_invalid", f"{field} 须为 base64", f"{field} must be base64", fields={field: ""}
        ) from None


def _session(session: OpeningSession) -> dict[str, Any]:
    return services.session_public(session)


def _decryption(d: Decryption) -> dict[str, Any]:
    return services.decryption_public(d)


@router.post("/sections/{section_id}/hall/challenge", response={201: dict[str, Any]})
def sign_in_challenge(request: HttpRequest, section_id: int) -> Status[dict[str, Any]]:
    """A one-time text to sign with the bidder's signing certificate (then POST hall/sign-in)."""
    section = selectors.hall_section(request.user, section_id)
    challenge = services.hall_challenge_issue(acting_user=request.user, section=section)
    return Status(
        201,
        {
            "nonce": challenge.nonce,
            "challenge": services.hall_challenge_text(challenge),
            "expires_at": challenge.expires_at,
        },
    )


@router.post("/sections/{section_id}/hall/sign-in", response={201: dict[str, Any]})
def sign_in(request: HttpRequest, section_id: int, body: SignInIn) -> Status[dict[str, Any]]:
    section = selectors.hall_section(request.user, section_id)
    row = services.hall_sign_in(
        acting_user=request.user,
        section=section,
        nonce=body.nonce,
        signature=_b64_any(body.signature, "signature"),
        certificate_pem=body.certificate,
    )
    return Status(
        201,
        {
            "section": section.pk,
            "signed_in_at": row.at,
            "certificate_sha256": row.certificate_fingerprint,
        },
    )


@router.get("/sections/{section_id}/hall", response={200: dict[str, Any]})
def hall(request: HttpRequest, section_id: int) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    return selectors.hall_state(request.user, section)


@router.get("/sections/{section_id}/hall/events", response={200: dict[str, Any]})
def events(request: HttpRequest, section_id: int, after: int = 0) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    rows = selectors.hall_events(section, after)
    return {
        "events": [{"seq": e.seq, "kind": e.kind, "payload": e.payload, "at": e.at} for e in rows],
    }


@router.post("/sections/{section_id}/hall/decryption/open", response={200: dict[str, Any]})
def decryption_open(request: HttpRequest, section_id: int, body: MinutesIn) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    return _session(
        services.decryption_window_open(acting_user=request.user, section=section, minutes=body.minutes)
    )


@router.post("/sections/{section_id}/hall/unlock", response={200: dict[str, Any], 202: dict[str, Any]})
def unlock(request: HttpRequest, section_id: int, body: UnlockIn) -> Status[dict[str, Any]]:
    """202 while the server decrypts in the background (status "queued"; the outcome comes live
    and in GET hall), 200 when the outcome is already known."""
    require(request.user, Permission.OPENING_UNLOCK)
    section = selectors.hall_section(request.user, section_id)
    key = _b64(body.file_key, "file_key", services.FILE_KEY_BYTES)
    done = services.bid_unlock(acting_user=request.user, section=section, file_key=key)
    return Status(202 if done.status == DecryptionStatus.QUEUED else 200, _decryption(done))


@router.post("/sections/{section_id}/hall/backup/{bid_id}", response={200: dict[str, Any]})
def backup(request: HttpRequest, section_id: int, bid_id: int) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    bid = Bid.objects.filter(pk=bid_id, section=section).first()
    if bid is None:
        raise NotFound("投标文件", "bid")
    return _decryption(services.backup_request(acting_user=request.user, section=section, bid=bid))


@router.post("/sections/{section_id}/hall/shares", response={200: dict[str, Any]})
def shares(request: HttpRequest, section_id: int, body: ShareIn) -> dict[str, Any]:
    require(request.user, Permission.OPENING_CUSTODIAN)
    section = selectors.hall_section(request.user, section_id)
    share = _b64(body.share, "share", 16)
    result = services.custodian_share_submit(
        acting_user=request.user, section=section, share_index=body.share_index, share=share
    )
    return {
        "share_index": result.submission.share_index,
        "verified": result.submission.verified,
        "shares_held": result.shares_held,
        "threshold": result.threshold,
        "opened": [_decryption(d) for d in result.opened],
    }


@router.post("/sections/{section_id}/hall/decryption/close", response={200: dict[str, Any]})
def decryption_close(request: HttpRequest, section_id: int) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    return _session(services.decryption_window_close(acting_user=request.user, section=section))


@router.post("/sections/{section_id}/hall/read-out", response={200: dict[str, Any]})
def read_out(request: HttpRequest, section_id: int) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    session = services.opening_read_out(acting_user=request.user, section=section)
    return {**_session(session), "table": session.table, "coefficient_inputs": session.coefficient_inputs}


@router.get("/sections/{section_id}/hall/table", response={200: dict[str, Any]})
def table(request: HttpRequest, section_id: int) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    session = selectors.opening_table(section)
    return {
        "section": section.pk,
        "read_out_at": session.read_out_at,
        "table": session.table,
        "coefficient": str(session.coefficient) if session.coefficient is not None else None,
        "coefficient_seed": session.coefficient_seed,
        "coefficient_inputs": session.coefficient_inputs,
    }


@router.post("/sections/{section_id}/hall/fail", response={200: dict[str, Any]})
def fail(request: HttpRequest, section_id: int, body: ReasonIn) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    session = services.opening_fail(acting_user=request.user, section=section, reason=body.reason)
    return {**_session(session), "notice": session.failed_notice_id}


@router.post("/sections/{section_id}/hall/suspend", response={200: dict[str, Any]})
def suspend(request: HttpRequest, section_id: int, body: ReasonIn) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    return _session(services.opening_suspend(acting_user=request.user, section=section, reason=body.reason))


@router.post("/sections/{section_id}/hall/resume", response={200: dict[str, Any]})
def resume(request: HttpRequest, section_id: int, body: ReasonIn) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    return _session(services.opening_resume(acting_user=request.user, section=section, reason=body.reason))


@router.post("/sections/{section_id}/hall/postpone", response={200: dict[str, Any]})
def postpone(request: HttpRequest, section_id: int, body: PostponeIn) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    session = services.opening_postpone(
        acting_user=request.user, section=section, reason=body.reason, new_time=body.new_time
    )
    return {**_session(session), "opening_at": section.opening_at}


@router.get("/sections/{section_id}/bid/header", response={200: dict[str, Any]})
def bid_header(request: HttpRequest, section_id: int) -> dict[str, Any]:
    require(request.user, Permission.OPENING_UNLOCK)
    section = selectors.hall_section(request.user, section_id)
    header = selectors.own_bid_header(request.user, section)
    return {"section": section.pk, "header": base64.b64encode(header).decode("ascii"), "size": len(header)}


# ---- the bidder tool's custodian share, the opening record and the witness record ------------------

from django.http import FileResponse  # noqa: E402 - the record endpoints' additions

from tenderhall.opening import records  # noqa: E402


class GenerateIn(Schema):
    minutes: int | None = None


class ConfirmIn(Schema):
    signature: str
    sha256: str | None = None


class WitnessIn(Schema):
    text: str
    abnormal: bool = False


def _record_public(record: Any) -> dict[str, Any]:
    return {
        "section": record.section_id,
        "status": record.status,
        "sha256": record.record_sha256,
        "pdf_sha256": record.pdf_sha256,
        "generated_at": record.generated_at,
        "confirm_until": record.confirm_until,
        "closed_at": record.closed_at,
        "signed_text": records.signed_text(record.record_sha256).decode("ascii"),
        "confirmations": [
            {"organization": c.organization.name, "uscc": c.organization.uscc, "kind": c.kind, "at": c.at}
            for c in record.confirmations.select_related("organization")
        ],
    }


@router.get("/sections/{section_id}/hall/my-share", response={200: dict[str, Any]})
def my_share(request: HttpRequest, section_id: int) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    row = records.custodian_own_share(request.user, section)
    return {
        "section": section.pk,
        "share_index": row.share_index,
        "encrypted_share": base64.b64encode(bytes(row.encrypted_share)).decode("ascii"),
    }


@router.get("/sections/{section_id}/hall/record", response={200: dict[str, Any]})
def record_get(request: HttpRequest, section_id: int) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    record = records.record_of(section)
    return {**_record_public(record), "record": record.record}


@router.get("/sections/{section_id}/hall/record.pdf")
def record_pdf(request: HttpRequest, section_id: int) -> FileResponse:
    section = selectors.hall_section(request.user, section_id)
    record = records.record_of(section)
    return FileResponse(
        record.pdf.open("rb"),
        content_type="application/pdf",
        filename=f"opening-record-{section.code}.pdf",
    )


@router.post("/sections/{section_id}/hall/record/generate", response={201: dict[str, Any]})
def record_generate(request: HttpRequest, section_id: int, body: GenerateIn) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    record = records.opening_record_generate(acting_user=request.user, section=section, minutes=body.minutes)
    return _record_public(record)


@router.post("/sections/{section_id}/hall/record/confirm", response={201: dict[str, Any]})
def record_confirm(request: HttpRequest, section_id: int, body: ConfirmIn) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    row = records.record_confirm(
        acting_user=request.user, section=section, signature=body.signature, record_sha256=body.sha256
    )
    return {"status": row.kind, "at": row.at, "certificate_sha256": row.certificate_sha256}


@router.post("/sections/{section_id}/hall/record/close", response={200: dict[str, Any]})
def record_close(request: HttpRequest, section_id: int) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    return _record_public(records.record_close(acting_user=request.user, section=section))


@router.post("/sections/{section_id}/hall/witness", response={201: dict[str, Any]})
def witness(request: HttpRequest, section_id: int, body: WitnessIn) -> dict[str, Any]:
    section = selectors.hall_section(request.user, section_id)
    row = records.witness_record_add(
        acting_user=request.user, section=section, text=body.text, abnormal=body.abnormal
    )
    return {"id": row.pk, "section": section.pk, "abnormal": row.abnormal, "at": row.at}
