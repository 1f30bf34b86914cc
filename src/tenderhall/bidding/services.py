"""Writes of the bidding app: resumable uploads of sealed bids, the bids, receipts, withdrawal.

The sealed-bid contract (docs/bid-package.md and the API contract) in short: a bidder's tool
creates an upload for a section, appends chunks at the offset the server expects, and finalizes;
the server checks the file by its own clock (法 Art 28: nothing after the deadline), stores the
ciphertext as is, replaces the organization's previous bid (法 Art 29), logs a sealed event that
names nobody and hands back a signed receipt with an inclusion proof.

Files and transactions: a chunk streams to ``<upload dir>/<upload id>.part`` without a database
lock held (a chunk may take minutes to arrive over a slow line); appends, finalize and abort of one
upload are serialized by an exclusive ``flock`` on its part file, and the offset is checked again
under the row lock before ``received`` moves. The finalize moves the part file into the storage
(``os.replace``, atomic on one filesystem) and undoes the move if the transaction fails, so a
refusal never leaves a partial file behind nor touches the previous bid.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import functools
import hashlib
import os
import re
import secrets
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.files.storage import Storage
from django.db import transaction

from tenderhall.accounts.models import Organization
from tenderhall.bidding import receipts
from tenderhall.bidding.events import BiddingAction
from tenderhall.bidding.models import Bid, BidStatus, UploadSession, UploadStatus
from tenderhall.bidding.selectors import NoBid
from tenderhall.core import blobs, clock, keys
from tenderhall.core.context import current_request_context
from tenderhall.core.crypto import age
from tenderhall.core.errors import Conflict, DomainError, ValidationFailed
from tenderhall.core.models import LogEvent
from tenderhall.core.permissions import Permission, require
from tenderhall.core.transparency import inclusion_proof_for, log_append
from tenderhall.notices import selectors as notices_selectors
from tenderhall.notices.models import OpeningKey
from tenderhall.projects.models import Section, SectionStatus

READ_PIECE = 1024 * 1024  # a chunk body is read and written 1 MiB at a time
UPLOAD_TTL = dt.timedelta(hours=24)  # an upload idle this long expires (never later than the deadline)
MAX_OPEN_UPLOADS = 3  # per organization and section: a bound on the disk one bidder can hold
MIN_AGE_PAYLOAD = 16 + 16  # nonce and one authentication tag: the smallest age payload
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


# ---- refusals ---------------------------------------------------------------------------------------


def _fmt(moment: dt.datetime | None) -> str:
    return moment.astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def _deadline_passed(section: Section, *, article: str = "法 Art 28") -> Conflict:
    return Conflict(
        "bid_deadline_passed",
        f"标段 {section.code} 的投标截止时间（{_fmt(section.bid_deadline)}，北京时间）已到，不再接收投标文件",
        f"the bid deadline of section {section.code} ({_fmt(section.bid_deadline)} Beijing time) has passed",
        article=article,
        extra={"bid_deadline": receipts.rfc3339(section.bid_deadline) if section.bid_deadline else None},
    )


def _not_bidding(section: Section) -> Conflict:
    return Conflict(
        "section_not_bidding",
        f"标段 {section.code} 不在招标阶段（当前状态：{SectionStatus(section.status).label}），不接收投标文件",
        f"section {section.code} is not open for bids (status: {section.status})",
    )


def _not_obtained() -> DomainError:
    return DomainError(
        "documents_not_obtained",
        "只有已获取招标文件的潜在投标人才能递交投标文件，请先获取招标文件",
        "only a bidder who obtained the tender documents may submit a bid: obtain them first",
        status=403,
    )


def _limit_mib(limit: int) -> str:
    return f"{limit / (1024 * 1024):.0f} MiB"


def _not_open(upload: UploadSession) -> Conflict:
    state = upload.status if upload.status != UploadStatus.OPEN else UploadStatus.EXPIRED
    return Conflict(
        "upload_not_open",
        f"该上传任务{UploadStatus(state).label.split(' / ')[0]}，不再接收数据；请重新创建上传任务",
        f"this upload is {state} and takes no more data: create a new upload",
        extra={"upload_status": str(state)},
    )


def _offset_mismatch(expected: int, given: int) -> Conflict:
    # Overlaps and gaps alike: the client resumes at expected_offset.
    return Conflict(
        "upload_offset_mismatch",
        f"数据块的偏移量（{given}）与服务器已接收的字节数（{expected}）不一致，请从 {expected} 处续传",
        f"the chunk's offset ({given}) is not the number of bytes received ({expected}): resume at {expected}",
        extra={"expected_offset": expected},
    )


def _incomplete(upload: UploadSession) -> Conflict:
    return Conflict(
        "upload_incomplete",
        f"文件尚未上传完整：已接收 {upload.received} 字节，共 {upload.size} 字节",
        f"the upload is incomplete: {upload.received} of {upload.size} bytes received",
        extra={"expected_offset": upload.received, "size": upload.size},
    )


def _not_age(detail: str) -> ValidationFailed:
    return ValidationFailed(
        "bid_not_age_file",
        f"投标文件不是 age v1 加密文件（{detail}）：请用投标工具 tenderhall-bid seal 加密",
        f"the bid is not an age v1 encrypted file ({detail}): seal it with `tenderhall-bid seal`",
    )


# ---- the part files and their locks ----------------------------------------------------------------


def upload_dir() -> Path:
    return Path(settings.TENDERHALL_UPLOAD_DIR)


def part_path(upload_id: uuid.UUID) -> Path:
    return upload_dir() / f"{upload_id}.part"


def _remove_part(upload_id: uuid.UUID) -> None:
    try:
        part_path(upload_id).unlink()
    except FileNotFoundError:
        pass


@contextmanager
def _locked_part(upload_id: uuid.UUID, *, create: bool, blocking: bool = True) -> Iterator[int | None]:
    """The part file's descriptor under an exclusive flock (``None`` if it does not exist and
    ``create`` is false). Raises BlockingIOError when not ``blocking`` and another holds it."""
    path = part_path(upload_id)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o600)
    except FileNotFoundError:
        yield None
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        yield fd
    finally:
        os.close(fd)  # releases the lock


class _RunningHashes:
    """SHA-256 of each upload's received prefix, per process, so finalize need not reread the file.
    An entry is trusted only for the exact prefix length it covers; anything else (another worker
    took a chunk, a restart) falls back to rehashing the part file at finalize."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_upload: dict[uuid.UUID, tuple[int, Any]] = {}

    def resume(self, upload_id: uuid.UUID, offset: int) -> Any | None:
        if offset == 0:
            return hashlib.sha256()
        with self._lock:
            entry = self._by_upload.get(upload_id)
        return entry[1].copy() if entry is not None and entry[0] == offset else None

    def store(self, upload_id: uuid.UUID, length: int, digest: Any | None) -> None:
        with self._lock:
            if digest is None:
                self._by_upload.pop(upload_id, None)
            else:
                self._by_upload[upload_id] = (length, digest)

    def hexdigest(self, upload_id: uuid.UUID, length: int) -> str | None:
        with self._lock:
            entry = self._by_upload.get(upload_id)
        return entry[1].hexdigest() if entry is not None and entry[0] == length else None

    def forget(self, upload_id: uuid.UUID) -> None:
        self.store(upload_id, 0, None)


running_hashes = _RunningHashes()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _file_sha256(fd: int, length: int) -> str:
    digest = hashlib.sha256()
    offset = 0
    while offset < length:
        piece = os.pread(fd, min(READ_PIECE, length - offset), offset)
        if not piece:
            break
        digest.update(piece)
        offset += len(piece)
    return digest.hexdigest()


# ---- logging -----------------------------------------------------------------------------------------


def _log(
    *,
    step: BiddingAction,
    acting_user: Any,
    obj: Any,
    section: Section,
    organization: Organization,
    sealed: bool,
    data: Mapping[str, Any],
    commitment: str = "",
) -> LogEvent:
    """Before the deadline every step is logged sealed under one tag with a ``bid_commitment``
    (a blinding value for steps that are not submissions): see events.py."""
    if sealed:
        return log_append(
            action=BiddingAction.SEALED_STEP,
            actor=acting_user,
            obj=obj,
            org_uscc=organization.uscc,
            data={"step": str(step), "section": section.pk, **data},
            sealed=True,
            public_data={"bid_commitment": commitment or secrets.token_hex(32)},
        )
    return log_append(
        action=step,
        actor=acting_user,
        obj=obj,
        org_uscc=organization.uscc,
        data={"section": section.pk, **data},
    )


def _sealed(section: Section, now: dt.datetime) -> bool:
    return section.bid_deadline is None or now < section.bid_deadline


# ---- uploads -----------------------------------------------------------------------------------------


def _require_open_for_bids(section: Section, now: dt.datetime) -> None:
    # The deadline first: past it, whatever state the section is in, the answer is "too late".
    if (
        section.bid_deadline is not None and now >= section.bid_deadline
    ):  # the deadline second is late (法 Art 28)
        raise _deadline_passed(section)
    if section.status != SectionStatus.ANNOUNCED or section.bid_deadline is None:
        raise _not_bidding(section)


@transaction.atomic
def upload_create(*, acting_user: Any, section: Section, size: int, sha256: str = "") -> UploadSession:
    """Open a resumable upload of ``size`` bytes for the caller's organization's bid."""
    require(acting_user, Permission.BID_SUBMIT)
    now = clock.now()
    section = Section.objects.select_related("project").get(pk=section.pk)
    _require_open_for_bids(section, now)
    org = acting_user.organization
    if not notices_selectors.has_obtained(org.pk, section):
        raise _not_obtained()
    limit = int(settings.TENDERHALL_BID_MAX_BYTES)
    if size <= 0:
        raise ValidationFailed(
            "bid_empty", "投标文件大小须大于 0 字节", "a bid file has more than 0 bytes", fields={"size": ""}
        )
    if size > limit:
        raise DomainError(
            "bid_too_large",
            f"投标文件不得超过 {_limit_mib(limit)}（{limit} 字节）",
            f"a bid file may be at most {_limit_mib(limit)} ({limit} bytes)",
            status=413,
            fields={"size": ""},
            extra={"max_bytes": limit},
        )
    declared = (sha256 or "").strip().lower()
    if declared and not _SHA256_RE.fullmatch(declared):
        raise ValidationFailed(
            "sha256_invalid",
            "SHA-256 须为 64 位十六进制数",
            "a SHA-256 is 64 hexadecimal digits",
            fields={"sha256": ""},
        )
    # Serialize the count below with other creations of this organization.
    Organization.objects.select_for_update().filter(pk=org.pk).first()
    open_uploads = UploadSession.objects.filter(
        section=section, organization=org, status=UploadStatus.OPEN, expires_at__gt=now
    ).count()
    if open_uploads >= MAX_OPEN_UPLOADS:
        raise Conflict(
            "upload_limit_reached",
            f"贵单位在该标段已有 {open_uploads} 个未完成的上传任务，请先完成或放弃其中之一",
            f"your organization has {open_uploads} unfinished uploads for this section: finish or abort one first",
            extra={"max_open_uploads": MAX_OPEN_UPLOADS},
        )
    context = current_request_context()
    deadline = section.bid_deadline
    assert deadline is not None  # checked by _require_open_for_bids
    upload = UploadSession.objects.create(
        section=section,
        organization=org,
        user=acting_user,
        size=size,
        declared_sha256=declared,
        created_at=now,
        updated_at=now,
        expires_at=min(now + UPLOAD_TTL, deadline),
        source_ip=context.source_ip[:64],
        user_agent=context.user_agent[:400],
    )
    _log(
        step=BiddingAction.UPLOAD_CREATED,
        acting_user=acting_user,
        obj=upload,
        section=section,
        organization=org,
        sealed=True,
        data={"upload": str(upload.pk), "size": size},
    )
    return upload


def _check_open(upload: UploadSession, now: dt.datetime) -> None:
    """Open, before the deadline (refused by that name even though the upload expires with it),
    the section bidding, not expired."""
    if upload.status != UploadStatus.OPEN:
        raise _not_open(upload)
    _require_open_for_bids(upload.section, now)
    if not upload.can_append(now):
        raise _not_open(upload)


def _check_append(upload: UploadSession, *, offset: int, length: int | None, now: dt.datetime) -> None:
    _check_open(upload, now)
    if offset != upload.received:
        raise _offset_mismatch(upload.received, offset)
    chunk_limit = int(settings.TENDERHALL_UPLOAD_CHUNK_BYTES)
    if length is not None and length > chunk_limit:
        raise DomainError(
            "upload_chunk_too_large",
            f"每个数据块不得超过 {chunk_limit} 字节",
            f"a chunk is at most {chunk_limit} bytes",
            status=413,
            extra={"chunk_size": chunk_limit},
        )
    if length is not None and offset + length > upload.size:
        raise ValidationFailed(
            "upload_past_size",
            f"数据块超出了声明的文件大小（{upload.size} 字节）",
            f"the chunk goes past the declared size ({upload.size} bytes)",
            extra={"size": upload.size, "expected_offset": upload.received},
        )
    if length == 0:
        raise ValidationFailed("upload_chunk_empty", "数据块为空", "the chunk is empty")


def _locked_upload(pk: uuid.UUID) -> UploadSession:
    return UploadSession.objects.select_for_update(of=("self",)).select_related("section__project").get(pk=pk)


def _receive(fd: int, stream: Readable, *, offset: int, length: int, digest: Any | None) -> None:
    """Append exactly ``length`` bytes from ``stream`` at ``offset`` (whatever an interrupted
    earlier attempt left past it is cut off first), then fsync. A short body (the client went
    away) is refused and cut off; so is a chunk the disk has no room for."""
    os.ftruncate(fd, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    remaining = length
    try:
        while remaining:
            try:
                piece = stream.read(min(READ_PIECE, remaining))
            except OSError:  # the connection broke mid-body
                break
            if not piece:
                break
            _write_all(fd, piece)
            if digest is not None:
                digest.update(piece)
            remaining -= len(piece)
        if not remaining:
            os.fsync(fd)
    except OSError as exc:
        os.ftruncate(fd, offset)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DomainError(
                "upload_storage_full",
                f"服务器存储空间暂时不足，请稍后从 {offset} 处续传",
                f"the server is out of storage space for now: resume at {offset} later",
                status=507,
                extra={"expected_offset": offset},
            ) from None
        raise
    if remaining:
        os.ftruncate(fd, offset)
        raise DomainError(
            "upload_chunk_truncated",
            f"数据块不完整：声明 {length} 字节，只收到 {length - remaining} 字节；请从 {offset} 处重传",
            f"the chunk was cut short: {length - remaining} of {length} bytes arrived; resend from {offset}",
            status=400,
            extra={"expected_offset": offset},
        )


def upload_append_chunk(
    *, acting_user: Any, upload: UploadSession, offset: int, stream: Readable, length: int | None
) -> UploadSession:
    """Append one chunk (the request body, streamed) at ``offset``, which must equal the bytes
    received so far. ``length`` is the body's Content-Length (required: None is refused).

    Not one transaction on purpose: the body streams to disk with no database lock held; the
    offset is checked under the row lock before and again when ``received`` moves."""
    require(acting_user, Permission.BID_SUBMIT)
    now = clock.now()
    if length is None:
        raise DomainError(
            "upload_length_required",
            "数据块请求须带 Content-Length 头",
            "a chunk request needs a Content-Length header",
            status=411,
        )
    with _locked_part(upload.pk, create=True) as fd:
        assert fd is not None
        with transaction.atomic():
            row = _locked_upload(upload.pk)
            try:
                _check_append(row, offset=offset, length=length, now=now)
            except DomainError:
                if row.status != UploadStatus.OPEN:
                    _remove_part(row.pk)  # nothing may linger for a closed upload
                raise
        digest = running_hashes.resume(row.pk, offset)
        _receive(fd, stream, offset=offset, length=length, digest=digest)
        with transaction.atomic():
            row = _locked_upload(upload.pk)
            if row.status != UploadStatus.OPEN or row.received != offset:
                # Closed or moved meanwhile (an abort, an expiry): the data just written is void.
                os.ftruncate(fd, row.received if row.status == UploadStatus.OPEN else 0)
                if row.status != UploadStatus.OPEN:
                    _remove_part(row.pk)
                    raise _not_open(row)
                raise _offset_mismatch(row.received, offset)
            row.received = offset + length
            row.updated_at = now
            deadline = row.section.bid_deadline
            row.expires_at = min(now + UPLOAD_TTL, deadline) if deadline else now + UPLOAD_TTL
            row.save(update_fields=["received", "updated_at", "expires_at"])
            _log(
                step=BiddingAction.UPLOAD_CHUNK_APPENDED,
                acting_user=acting_user,
                obj=row,
                section=row.section,
                organization=acting_user.organization,
                sealed=_sealed(row.section, now),
                data={"upload": str(row.pk), "offset": offset, "length": length},
            )
            received = row.received
            transaction.on_commit(functools.partial(running_hashes.store, row.pk, received, digest))
    return row


def _close_upload(
    row: UploadSession, status: str, step: Any, acting_user: Any, organization: Any, now: dt.datetime
) -> None:
    """End an open upload (aborted or expired): log it, and after commit drop its part file and hash."""
    row.status = status
    row.updated_at = now
    row.save(update_fields=["status", "updated_at"])
    _log(
        step=step,
        acting_user=acting_user,
        obj=row,
        section=row.section,
        organization=organization,
        sealed=_sealed(row.section, now),
        data={"upload": str(row.pk), "received": row.received},
    )
    transaction.on_commit(functools.partial(_remove_part, row.pk))
    transaction.on_commit(functools.partial(running_hashes.forget, row.pk))


def upload_abort(*, acting_user: Any, upload: UploadSession) -> UploadSession:
    """The bidder gives an upload up; its part file is removed."""
    require(acting_user, Permission.BID_SUBMIT)
    now = clock.now()
    with _locked_part(upload.pk, create=False), transaction.atomic():
        row = _locked_upload(upload.pk)
        if row.status != UploadStatus.OPEN:
            raise _not_open(row)
        _close_upload(
            row,
            UploadStatus.ABORTED,
            BiddingAction.UPLOAD_ABORTED,
            acting_user,
            acting_user.organization,
            now,
        )
    return row


def upload_cleanup_expired() -> int:
    """Expire open uploads past their time and remove every part file no open upload owns
    (aborted, expired or finalized uploads, unknown names). Returns the number expired.
    Idempotent; an upload receiving a chunk right now is left for the next run."""
    now = clock.now()
    expired = 0
    due = UploadSession.objects.filter(status=UploadStatus.OPEN, expires_at__lte=now).values_list(
        "pk", flat=True
    )
    for pk in list(due):
        try:
            with _locked_part(pk, create=False, blocking=False), transaction.atomic():
                row = _locked_upload(pk)
                if row.status != UploadStatus.OPEN or row.expires_at > now:
                    continue
                _close_upload(
                    row, UploadStatus.EXPIRED, BiddingAction.UPLOAD_EXPIRED, None, row.organization, now
                )
                expired += 1
        except BlockingIOError:
            continue
    directory = upload_dir()
    parts = sorted(directory.glob("*.part")) if directory.is_dir() else []
    for path in parts:
        try:
            pk = uuid.UUID(path.name.removesuffix(".part"))
        except ValueError:
            path.unlink(missing_ok=True)  # not a name we make
            continue
        try:
            with _locked_part(pk, create=False, blocking=False):
                if not UploadSession.objects.filter(pk=pk, status=UploadStatus.OPEN).exists():
                    path.unlink(missing_ok=True)
        except BlockingIOError:
            continue  # a chunk is arriving right now
    return expired


# ---- finalize: checks, store, bid, receipt -----------------------------------------------------------


def _check_envelope(fd: int, size: int, section: Section, key: OpeningKey) -> None:
    """The age v1 header: the opening-key claim names THIS section's key, and at least two X25519
    recipients (the bidder's own and the opening key). The payload cannot be checked without a
    key; it is checked at the opening."""
    with open(os.dup(fd), "rb", buffering=64 * 1024) as source:
        source.seek(0)
        try:
            header = age.parse_header(source)
        except age.AgeError as exc:
            raise _not_age(exc.message_en) from None
    if size < header.payload_offset + MIN_AGE_PAYLOAD:
        raise _not_age("the payload is missing")
    expected = age.opening_key_id(age.X25519Recipient.from_string(key.recipient))
    claims = [s for s in header.stanzas if s.type == age.OPENING_CLAIM_TYPE]
    if not claims:
        raise ValidationFailed(
            "bid_missing_opening_key",
            f"投标文件头缺少开标密钥声明（-> {age.OPENING_CLAIM_TYPE}）：请用投标工具 tenderhall-bid seal 加密",
            f"the bid's header has no opening-key claim (-> {age.OPENING_CLAIM_TYPE}): seal it with `tenderhall-bid seal`",
            extra={"opening_key_id": expected},
        )
    if any(claim.args != (expected,) or claim.body for claim in claims):
        raise ValidationFailed(
            "bid_wrong_opening_key",
            f"投标文件不是加密给标段 {section.code} 的开标公钥的（应为密钥 {expected}）",
            f"the bid is not sealed to the opening key of section {section.code} (key id {expected})",
            extra={"opening_key_id": expected, "recipient": key.recipient},
        )
    recipients = sum(1 for s in header.stanzas if s.type == age.X25519_TYPE)
    if recipients < 2:
        raise ValidationFailed(
            "bid_too_few_recipients",
            f"投标文件须同时加密给投标人自己的加密证书和开标公钥（至少 2 个接收方，实有 {recipients} 个）",
            f"the bid must be sealed to the bidder's own key and the opening key "
            f"(at least 2 recipients, found {recipients})",
        )


def _bid_storage() -> Storage:
    return Bid._meta.get_field("file").storage


class _Stored:
    """The part file moved (or copied) into the storage; ``undo`` puts things back."""

    def __init__(self, name: str, part: Path, moved_to: Path | None) -> None:
        self.name, self.part, self.moved_to = name, part, moved_to

    def undo(self) -> None:
        if self.moved_to is not None:
            os.replace(self.moved_to, self.part)
        else:
            _bid_storage().delete(self.name)

    def done(self) -> None:
        if self.moved_to is None:
            self.part.unlink(missing_ok=True)


def _store(part: Path, upload: UploadSession, received_at: dt.datetime) -> _Stored:
    local = received_at.astimezone(clock.LOCAL_TZ)
    name, moved_to = blobs.move_into(_bid_storage(), f"bids/{local:%Y/%m}/{upload.pk}.age", part)
    return _Stored(name, part, moved_to)


def _digest(upload: UploadSession, fd: int) -> str:
    cached = running_hashes.hexdigest(upload.pk, upload.size)
    return cached if cached is not None else _file_sha256(fd, upload.size)


def bid_finalize(*, acting_user: Any, upload: UploadSession) -> Bid:
    """Check the complete upload, by the server's clock, and make it the organization's bid.

    Checks in the contract's order: the deadline (法 Art 28: a finalize at the deadline second is
    late even if every byte came earlier), completeness, the declared SHA-256, the age format,
    the opening-key claim, two recipients. Then, in one transaction: the file moves into the
    storage, the previous live bid (if any) is replaced (法 Art 29; its file is deleted on commit),
    the Bid is created and a sealed log event with the bid commitment is appended; the signed
    receipt carries its inclusion proof. A refusal leaves the previous bid untouched and no file
    behind: an upload that can never become a bid (late, or the wrong content) is closed and its
    part file removed; an incomplete one stays open to be continued."""
    require(acting_user, Permission.BID_SUBMIT)
    now = clock.now()
    with _locked_part(upload.pk, create=False) as fd:
        row = UploadSession.objects.select_related("section__project", "organization").get(pk=upload.pk)
        try:
            digest = _finalize_checks(row, fd, now)
        except DomainError as refusal:
            if refusal.code in _DISCARDING:
                _discard(acting_user=acting_user, upload=row, refusal=refusal, now=now)
            raise
        assert fd is not None
        os.ftruncate(fd, row.size)  # exactly the bytes checked
        stored = _store(part_path(row.pk), row, now)
        try:
            bid = _record_bid(acting_user=acting_user, upload=row, name=stored.name, digest=digest, now=now)
        except BaseException:
            stored.undo()
            raise
        stored.done()
    running_hashes.forget(row.pk)
    return bid


# Refusals after which the upload can never become a bid: it is closed and its part file removed
# (a corrected file is a new upload). An incomplete upload stays open to be continued.
_DISCARDING = frozenset(
    {
        "bid_deadline_passed",
        "upload_hash_mismatch",
        "bid_not_age_file",
        "bid_missing_opening_key",
        "bid_wrong_opening_key",
        "bid_too_few_recipients",
    }
)


def _finalize_checks(row: UploadSession, fd: int | None, now: dt.datetime) -> str:
    """The contract's checks in order; returns the ciphertext's SHA-256."""
    section = row.section
    _check_open(row, now)
    if fd is None or row.received != row.size or os.fstat(fd).st_size < row.size:
        raise _incomplete(row)
    digest = _digest(row, fd)
    if row.declared_sha256 and digest != row.declared_sha256:
        raise ValidationFailed(
            "upload_hash_mismatch",
            "收到的文件的 SHA-256 与创建上传任务时声明的不一致：文件在传输中被改变，请重新上传",
            "the SHA-256 of the received file differs from the one declared: upload it again",
            extra={"declared_sha256": row.declared_sha256, "received_sha256": digest},
        )
    key = OpeningKey.objects.filter(section=section).first()
    if key is None:
        raise _not_bidding(section)
    _check_envelope(fd, row.size, section, key)
    return digest


def _discard(*, acting_user: Any, upload: UploadSession, refusal: DomainError, now: dt.datetime) -> None:
    late = refusal.code == "bid_deadline_passed"
    with transaction.atomic():
        row = _locked_upload(upload.pk)
        if row.status != UploadStatus.OPEN:
            return
        row.status = UploadStatus.EXPIRED if late else UploadStatus.ABORTED
        row.updated_at = now
        row.save(update_fields=["status", "updated_at"])
        _log(
            step=BiddingAction.UPLOAD_EXPIRED if late else BiddingAction.UPLOAD_ABORTED,
            acting_user=acting_user,
            obj=row,
            section=row.section,
            organization=row.organization,
            sealed=_sealed(row.section, now),
            data={"upload": str(row.pk), "received": row.received, "refused": refusal.code},
        )
        transaction.on_commit(functools.partial(_remove_part, row.pk))
        transaction.on_commit(functools.partial(running_hashes.forget, row.pk))


@transaction.atomic
def _record_bid(*, acting_user: Any, upload: UploadSession, name: str, digest: str, now: dt.datetime) -> Bid:
    org = Organization.objects.select_for_update().get(pk=upload.organization_id)  # one finalize at a time
    row = _locked_upload(upload.pk)
    if row.status != UploadStatus.OPEN:
        raise _not_open(row)
    section = row.section
    previous = (
        Bid.objects.select_for_update()
        .filter(section=section, organization=org, status=BidStatus.SUBMITTED)
        .first()
    )
    if previous is not None:
        previous.status = BidStatus.REPLACED
        previous.save(update_fields=["status"])
    row.status = UploadStatus.FINALIZED
    row.updated_at = now
    row.save(update_fields=["status", "updated_at"])
    context = current_request_context()
    nonce = secrets.token_hex(32)
    bid = Bid.objects.create(
        section=section,
        organization=org,
        submitted_by=acting_user,
        upload=row,
        status=BidStatus.SUBMITTED,
        file=name,
        ciphertext_sha256=digest,
        ciphertext_size=row.size,
        received_at=now,
        source_ip=context.source_ip[:64],
        user_agent=context.user_agent[:400],
        receipt={},
        log_index=-1,
        commitment_nonce=nonce,
    )
    if previous is not None:
        previous.replaced_by = bid
        previous.save(update_fields=["replaced_by"])
        transaction.on_commit(functools.partial(_bid_storage().delete, previous.file.name))
    received_at = receipts.rfc3339(now)
    commitment = receipts.bid_commitment(
        nonce,
        receipts.commitment_fields(
            section_id=section.pk,
            bidder_uscc=org.uscc,
            ciphertext_sha256=digest,
            ciphertext_size=row.size,
            received_at=received_at,
        ),
    )
    event = _log(
        step=BiddingAction.BID_SUBMITTED,
        acting_user=acting_user,
        obj=bid,
        section=section,
        organization=org,
        sealed=True,  # always before the deadline: checked above by the same clock reading
        data={
            "bid": bid.pk,
            "upload": str(row.pk),
            "ciphertext_sha256": digest,
            "ciphertext_size": row.size,
            "replaces": previous.pk if previous is not None else None,
        },
        commitment=commitment,
    )
    proof = inclusion_proof_for(event.leaf_hash)
    bid.receipt = receipts.sign_receipt(
        {
            "format": receipts.RECEIPT_FORMAT,
            "section": {"id": section.pk, "code": section.code},
            "bidder": {"uscc": org.uscc, "name": org.name},
            "ciphertext_sha256": digest,
            "ciphertext_size": row.size,
            "received_at": received_at,
            "commitment_nonce": nonce,
            "log": {
                "index": event.index,
                "payload": event.payload,
                "leaf_hash": event.leaf_hash,
                "tree_size": proof["tree_size"],
                "audit_path": proof["audit_path"],
                "signed_tree_head": proof["signed_tree_head"],
            },
            "platform_key_id": keys.key_id(),
        },
        keys.platform_key(),
    )
    bid.log_index = event.index
    bid.save(update_fields=["receipt", "log_index"])
    return bid


# ---- withdrawal --------------------------------------------------------------------------------------


@transaction.atomic
def bid_withdraw(*, acting_user: Any, section: Section) -> Bid:
    """Withdraw the organization's live bid before the deadline (法 Art 29); its ciphertext is
    deleted (a withdrawn bid is never opened), the record stays for the bond refund (条例 Art 35)."""
    require(acting_user, Permission.BID_SUBMIT)
    now = clock.now()
    org = Organization.objects.select_for_update().get(pk=acting_user.organization_id)
    bid = (
        Bid.objects.select_for_update(of=("self",))
        .select_related("section__project")
        .filter(section_id=section.pk, organization=org, status=BidStatus.SUBMITTED)
        .first()
    )
    if bid is None:
        raise NoBid()
    if not bid.can_withdraw(now):
        raise _deadline_passed(bid.section, article="法 Art 29")
    bid.status = BidStatus.WITHDRAWN
    bid.withdrawn_at = now
    bid.save(update_fields=["status", "withdrawn_at"])
    _log(
        step=BiddingAction.BID_WITHDRAWN,
        acting_user=acting_user,
        obj=bid,
        section=bid.section,
        organization=org,
        sealed=True,
        data={"bid": bid.pk, "ciphertext_sha256": bid.ciphertext_sha256},
    )
    transaction.on_commit(functools.partial(_bid_storage().delete, bid.file.name))
    return bid
