"""Bidding API: the resumable upload of sealed bids, the bidder's own bid, withdrawal
(the sealed-bid contract; the bidder tool ``tenderhall-bid`` calls it with a bearer token).

Handlers parse, call an access helper and a service or selector, and shape the answer; every
refusal is a DomainError answered as problem+json. A chunk's body is never read whole: the
service streams ``request`` (a file-like object) to disk 1 MiB at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema

from tenderhall.bidding import selectors, services
from tenderhall.bidding.models import Bid, UploadSession
from tenderhall.core.errors import ValidationFailed

router = Router(tags=["bidding"])


class UploadIn(Schema):
    size: int
    sha256: str | None = None


class UploadOut(Schema):
    upload_id: str
    size: int
    received: int
    status: str
    chunk_size: int
    expires_at: dt.datetime


class ChunkOut(Schema):
    received: int


class BidOut(Schema):
    status: str
    ciphertext_sha256: str
    ciphertext_size: int
    received_at: str
    receipt: dict[str, Any]


class WithdrawOut(Schema):
    status: str
    withdrawn_at: dt.datetime


def _upload_out(upload: UploadSession) -> dict[str, Any]:
    return {**selectors.upload_status(upload), "chunk_size": int(settings.TENDERHALL_UPLOAD_CHUNK_BYTES)}


def _content_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH") or ""
    if not raw:
        return None
    try:
        length = int(raw)
    except ValueError:
        length = -1
    if length < 0:
        raise ValidationFailed("content_length_invalid", "Content-Length 无效", "invalid Content-Length")
    return length


@router.post(
    "/sections/{section_id}/uploads",
    response={201: UploadOut},
    summary="Start a resumable upload of a sealed bid (bidder; documents obtained; before the deadline)",
)
def uploads_create(request: HttpRequest, section_id: int, body: UploadIn) -> dict[str, Any]:
    section = selectors.bidding_section(request.user, section_id)
    upload = services.upload_create(
        acting_user=request.user, section=section, size=body.size, sha256=body.sha256 or ""
    )
    return _upload_out(upload)


@router.get("/uploads/{upload_id}", response=UploadOut, summary="Where an upload stands (its organization)")
def uploads_status(request: HttpRequest, upload_id: str) -> dict[str, Any]:
    return _upload_out(selectors.upload_for_user(request.user, upload_id))


@router.put(
    "/uploads/{upload_id}/chunks",
    response=ChunkOut,
    summary="Append a chunk at ?offset= (raw body, application/octet-stream, at most chunk_size bytes)",
)
def uploads_chunk(request: HttpRequest, upload_id: str, offset: int) -> dict[str, Any]:
    upload = selectors.upload_for_user(request.user, upload_id)
    upload = services.upload_append_chunk(
        acting_user=request.user,
        upload=upload,
        offset=offset,
        stream=request,
        length=_content_length(request),
    )
    return {"received": upload.received}


@router.post(
    "/uploads/{upload_id}/finalize",
    response={201: dict[str, Any]},
    summary="Check the complete upload and make it the organization's bid: answers the signed receipt",
)
def uploads_finalize(request: HttpRequest, upload_id: str) -> dict[str, Any]:
    upload = selectors.upload_for_user(request.user, upload_id)
    bid = services.bid_finalize(acting_user=request.user, upload=upload)
    return dict(bid.receipt)


@router.delete(
    "/uploads/{upload_id}", response={204: None}, summary="Abort an upload (its part file is removed)"
)
def uploads_abort(request: HttpRequest, upload_id: str) -> None:
    upload = selectors.upload_for_user(request.user, upload_id)
    services.upload_abort(acting_user=request.user, upload=upload)


def _bid_out(bid: Bid) -> dict[str, Any]:
    return {
        "status": bid.status,
        "ciphertext_sha256": bid.ciphertext_sha256,
        "ciphertext_size": bid.ciphertext_size,
        "received_at": bid.receipt.get("received_at", ""),
        "receipt": bid.receipt,
    }


@router.get(
    "/sections/{section_id}/bid", response=BidOut, summary="My organization's live bid and its receipt"
)
def sections_bid(request: HttpRequest, section_id: int) -> dict[str, Any]:
    section = selectors.bidding_section(request.user, section_id)
    return _bid_out(selectors.live_bid_or_404(request.user, section))


@router.post(
    "/sections/{section_id}/bid/withdraw",
    response=WithdrawOut,
    summary="Withdraw my organization's bid before the deadline (法 Art 29)",
)
def sections_bid_withdraw(request: HttpRequest, section_id: int) -> dict[str, Any]:
    section = selectors.bidding_section(request.user, section_id)
    bid = services.bid_withdraw(acting_user=request.user, section=section)
    return {"status": bid.status, "withdrawn_at": bid.withdrawn_at}
