"""Writes of the opening (开标, DESIGN §4-5): the session, sign-in, decryption by the bidders' file
keys, backup decryption by the custodians, the classification of undecrypted bids, reading out
with the drawn coefficient, failure (流标), suspension and postponement.

Every service locks the section row first (one lock point per hall), changes state, appends to the
transparency log and writes a ``HallEvent`` with the next sequence number in the same transaction,
and returns what a live page needs. The bidder deadline has passed when any of this runs, so the
log and the hall may name bidders (before it, a sign-in is logged sealed: 法 Art 22).

Decryption is heavy (a bid may be hundreds of MiB), so it runs with no lock held: the state is
checked, the ciphertext decrypted streaming to a temporary file and checked, and only then is the
outcome recorded under the section lock after re-checking the state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

from tenderhall.accounts import services as accounts_services
from tenderhall.accounts.models import Certificate, CertificateUsage
from tenderhall.accounts.services import trust_anchors
from tenderhall.bidding.models import Bid, BidStatus
from tenderhall.client import package as bid_package
from tenderhall.core import blobs, clock, live
from tenderhall.core.canonical import canonical_json, sha256_hex
from tenderhall.core.crypto import age, certs
from tenderhall.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from tenderhall.core.models import LogEvent, SignedTreeHead
from tenderhall.core.notifications import NotificationChannel, notification_enqueue
from tenderhall.core.permissions import Permission, require
from tenderhall.core.transparency import log_append, log_refusal, sth_as_dict
from tenderhall.disputes import services as disputes_services
from tenderhall.disputes.models import Objection, ObjectionStage
from tenderhall.notices import opening_key
from tenderhall.notices import selectors as notices_selectors
from tenderhall.notices import services as notices_services
from tenderhall.notices.models import KeyShare, NoticeKind, OpeningKey
from tenderhall.opening.events import OpeningAction
from tenderhall.opening.models import (
    Classification,
    Decryption,
    DecryptionStatus,
    HallChallenge,
    HallEvent,
    HallSignIn,
    OpeningSession,
    OpeningStatus,
    ShareSubmission,
)
from tenderhall.projects.models import EvaluationMethod, Section, SectionCustodian, SectionStatus

MIN_BIDS = 3  # 法 Art 28, 条例 Art 44: fewer than three bidders → no opening, tender again
DEFAULT_WINDOW_MINUTES = 30
MAX_WINDOW_MINUTES = 24 * 60
FILE_KEY_BYTES = 16
READ_PIECE = 1024 * 1024
COEFFICIENT_MODULUS = 10**6
COEFFICIENT_PLACES = Decimal("0.0001")


# ---- refusals and small helpers ---------------------------------------------------------------


def _fmt(moment: dt.datetime | None) -> str:
    return moment.astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None


def _not_started(section: Section) -> Conflict:
    return Conflict(
        "opening_not_started",
        f"标段 {section.code} 尚未开标",
        f"the opening of section {section.code} has not started",
    )


def _wrong_state(session: OpeningSession, action_zh: str, action_en: str) -> Conflict:
    return Conflict(
        "opening_wrong_state",
        f"开标当前状态为“{session.get_status_display()}”，不能{action_zh}",
        f"the opening is {session.status}: cannot {action_en}",
        extra={"status": session.status},
    )


def _locked_section(section: Section) -> Section:
    return Section.objects.select_for_update().select_related("project").get(pk=section.pk)


def _session_of(section: Section, *, lock: bool = False) -> OpeningSession:
    rows = OpeningSession.objects.filter(section=section)
    if lock:
        rows = rows.select_for_update()
    session = rows.first()
    if session is None:
        raise _not_started(section)
    return session


def _require_host(user: Any, section: Section) -> None:
    """The host is the project's agent or tenderer (条例 Art 44: the tenderer presides)."""
    require(user, Permission.OPENING_HOST)
    if not notices_selectors.is_party(user, section.project):
        raise NotFound("标段", "section")


def hall_event(section: Section, kind: str, payload: dict[str, Any]) -> HallEvent:
    """The next event of the hall. Callers hold the section row lock, so ``seq`` has no gaps."""
    last = HallEvent.objects.filter(section=section).aggregate(m=Max("seq"))["m"] or 0
    event = HallEvent.objects.create(
        section=section, seq=last + 1, kind=kind, payload=payload, at=clock.now()
    )
    publish_hall_event_on_commit(event)
    return event


def _hall_people(section: Section) -> list[Any]:
    """Everyone signed in to the hall, and everyone who obtained the documents."""
    seen: dict[int, Any] = {}
    for sign_in in HallSignIn.objects.filter(section=section).select_related("user"):
        if sign_in.user.is_active:
            seen.setdefault(sign_in.user_id, sign_in.user)
    for user in notices_selectors.obtainers_to_notify(section):
        seen.setdefault(user.pk, user)
    return list(seen.values())


def _notify_hall(section: Section, subject: str, body: str) -> None:
    for user in _hall_people(section):
        notification_enqueue(recipient=user, channel=NotificationChannel.IN_APP, subject=subject, body=body)


def _live_bids(section: Section) -> list[Bid]:
    return list(
        Bid.objects.filter(section=section, status=BidStatus.SUBMITTED)
        .select_related("organization")
        .order_by("received_at", "pk")
    )


def decryption_public(d: Decryption) -> dict[str, Any]:
    """One bidder's status as the hall shows it (after the deadline bidders may be named)."""
    org = d.bid.organization
    return {
        "bid_id": d.bid_id,
        "bidder": org.name,
        "uscc": org.uscc,
        "status": d.status,
        "classification": d.classification,
        "reason_code": d.reason_code,
        "reason_zh": d.reason_zh,
        "reason_en": d.reason_en,
        "backup_requested": d.backup_requested_at is not None,
        "decrypted_at": _iso(d.decrypted_at),
    }


def session_public(session: OpeningSession) -> dict[str, Any]:
    return {
        "section": session.section_id,
        "status": session.status,
        "started_at": _iso(session.started_at),
        "window_start": _iso(session.window_start),
        "window_end": _iso(session.window_end),
        "window_closed_at": _iso(session.window_closed_at),
        "read_out_at": _iso(session.read_out_at),
        "failure_reason": session.failure_reason,
        "coefficient": str(session.coefficient) if session.coefficient is not None else None,
    }


def _decryptions(session: OpeningSession) -> list[Decryption]:
    return list(
        session.decryptions.select_related("bid__organization").order_by("bid__received_at", "bid_id")
    )


# ---- start, sign-in ---------------------------------------------------------------------------------


@transaction.atomic
def opening_start(*, section: Section) -> OpeningSession:
    """At the deadline the section moves to ``opening`` with its live bids (法 Art 34: the opening
    is at the deadline's time). Run by the clock (``tenderhall opening tick``); idempotent."""
    section = _locked_section(section)
    existing = OpeningSession.objects.filter(section=section).first()
    if existing is not None:
        return existing
    now = clock.now()
    if section.bid_deadline is None or now < section.bid_deadline:
        raise Conflict(
            "opening_before_deadline",
            f"投标截止时间（{_fmt(section.bid_deadline)}，北京时间）未到，不能开标",
            f"the bid deadline ({_fmt(section.bid_deadline)} Beijing time) has not passed: no opening yet",
            article="法 Art 34",
        )
    if section.status != SectionStatus.ANNOUNCED:
        raise Conflict(
            "opening_section_not_bidding",
            f"标段状态为“{section.get_status_display()}”，不能开标",
            f"the section is {section.status}: it cannot be opened",
        )
    session = OpeningSession.objects.create(section=section, started_at=now)
    bids = _live_bids(section)
    for bid in bids:
        Decryption.objects.create(session=session, bid=bid)
    section.status = SectionStatus.OPENING
    section.save(update_fields=["status"])
    signed = set(HallSignIn.objects.filter(section=section).values_list("organization_id", flat=True))
    bidders = [
        {
            "bid_id": b.pk,
            "bidder": b.organization.name,
            "uscc": b.organization.uscc,
            "signed_in": b.organization_id in signed,
        }
        for b in bids
    ]
    log_append(
        action=OpeningAction.STARTED,
        obj=session,
        data={"section": section.pk, "bids": [{"bid": b.pk, "uscc": b.organization.uscc} for b in bids]},
    )
    hall_event(
        section,
        "opening_started",
        {
            "session": session_public(session),
            "bidders": bidders,
            "enough_bids": len(bids) >= MIN_BIDS,
            "minimum": MIN_BIDS,
            "article": "法 Art 28, 条例 Art 44",
        },
    )
    return session


def opening_tick() -> list[OpeningSession]:
    """Start the opening of every announced section whose deadline has passed."""
    due = Section.objects.filter(
        status=SectionStatus.ANNOUNCED, bid_deadline__lte=clock.now(), opening__isnull=True
    ).order_by("pk")
    started = [opening_start(section=s) for s in due]
    decryptions_stale_reset()
    return started


def _late(section: Section) -> Conflict:
    return Conflict(
        "hall_sign_in_late",
        f"标段 {section.code} 的解密时间已结束，不能再签到",
        f"the decryption window of section {section.code} has closed: signing in is no longer possible",
    )


HALL_CHALLENGE_SECONDS = 300


def _sign_in_closed(section: Section, session: OpeningSession | None, now: dt.datetime) -> bool:
    return session is not None and (
        session.window_closed_at is not None
        or session.status in (OpeningStatus.DECRYPTED, OpeningStatus.READ_OUT, OpeningStatus.FAILED)
        or (session.window_end is not None and now >= session.window_end)
    )


def _check_may_sign_in(acting_user: Any, section: Section, now: dt.datetime) -> None:
    require(acting_user, Permission.OPENING_SIGN_IN)
    if not notices_selectors.has_obtained(acting_user.organization_id, section):
        raise NotFound("标段", "section")
    if _sign_in_closed(section, OpeningSession.objects.filter(section=section).first(), now):
        raise _late(section)


@transaction.atomic
def hall_challenge_issue(*, acting_user: Any, section: Section) -> HallChallenge:
    """A one-time text for the bidder to sign with its signing certificate (hall sign-in). It
    changes nothing until used, so it is not logged; expired ones are swept here."""
    now = clock.now()
    _check_may_sign_in(acting_user, section, now)
    HallChallenge.objects.filter(expires_at__lt=now - dt.timedelta(hours=1)).delete()
    return HallChallenge.objects.create(
        section=section,
        user=acting_user,
        nonce=secrets.token_hex(16),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=HALL_CHALLENGE_SECONDS),
    )


def hall_challenge_text(challenge: HallChallenge) -> str:
    return certs.hall_challenge_text(challenge.nonce, challenge.section_id, challenge.user.username)


def hall_sign_in(
    *, acting_user: Any, section: Section, nonce: str, signature: bytes, certificate_pem: str = ""
) -> HallSignIn:
    """A bidder signs in to the hall by signing a one-time challenge with a signing certificate
    registered to it (before or after the deadline, until the decryption window closes). Before
    the deadline nobody may learn who takes part (法 Art 22): logged sealed."""
    try:
        return _hall_sign_in(
            acting_user=acting_user,
            section=section,
            nonce=nonce,
            signature=signature,
            certificate_pem=certificate_pem,
        )
    except DomainError as exc:
        if getattr(acting_user, "is_authenticated", False):
            # Every refusal is in the log; before the deadline sealed, since it names a bidder.
            log_refusal(
                action=OpeningAction.SIGN_IN_REFUSED,
                actor=acting_user,
                data={"section": section.pk, "code": exc.code},
                sealed=not notices_selectors.deadline_passed(section),
            )
        raise


def _spend_challenge(acting_user: Any, section: Section, nonce: str, now: dt.datetime) -> None:
    """The challenge is spent by the first attempt, whatever its outcome (no replays)."""
    with transaction.atomic():
        challenge = (
            HallChallenge.objects.select_for_update()
            .filter(nonce=str(nonce)[:64], section=section, user=acting_user)
            .first()
        )
        usable = challenge is not None and challenge.used_at is None and challenge.expires_at >= now
        if challenge is not None and challenge.used_at is None:
            challenge.used_at = now
            challenge.save(update_fields=["used_at"])
    if not usable:
        raise ValidationFailed(
            "hall_challenge_invalid",
            "签到挑战无效、已使用或已过期，请重新获取",
            "the sign-in challenge is unknown, used or expired; ask for a new one",
            fields={"nonce": ""},
        )


def _hall_sign_in(
    *, acting_user: Any, section: Section, nonce: str, signature: bytes, certificate_pem: str
) -> HallSignIn:
    now = clock.now()
    _check_may_sign_in(acting_user, section, now)
    existing = HallSignIn.objects.filter(section=section, user=acting_user).first()
    if existing is not None:
        return existing
    _spend_challenge(acting_user, section, nonce, now)
    message = certs.hall_challenge_text(nonce, section.pk, acting_user.username).encode()
    certificate = accounts_services.certificate_signature_check(
        user=acting_user, message=message, signature=signature, certificate_pem=certificate_pem
    )
    return _record_sign_in(acting_user, section, certificate.fingerprint_sha256, now)


@transaction.atomic
def _record_sign_in(acting_user: Any, section: Section, fingerprint: str, now: dt.datetime) -> HallSignIn:
    section = _locked_section(section)
    if _sign_in_closed(section, OpeningSession.objects.filter(section=section).first(), now):
        raise _late(section)
    existing = HallSignIn.objects.filter(section=section, user=acting_user).first()
    if existing is not None:
        return existing
    sign_in = HallSignIn.objects.create(
        section=section,
        organization_id=acting_user.organization_id,
        user=acting_user,
        at=now,
        certificate_fingerprint=fingerprint,
    )
    sealed = section.bid_deadline is None or now < section.bid_deadline
    log_append(
        action=OpeningAction.SIGNED_IN,
        actor=acting_user,
        obj=sign_in,
        data={"section": section.pk, "certificate_sha256": fingerprint},
        sealed=sealed,
    )
    if not sealed:
        org = acting_user.organization
        hall_event(section, "signed_in", {"bidder": org.name, "uscc": org.uscc, "at": _iso(now)})
    return sign_in


# ---- failure (流标) -----------------------------------------------------------------------------------


@transaction.atomic
def opening_fail(*, acting_user: Any, section: Section, reason: str) -> OpeningSession:
    """Fewer than three bids (法 Art 28, 条例 Art 44), or fewer than three bids decrypted at the
    close of the window: the host records the failure; a draft failed-tender notice is made."""
    _require_host(acting_user, section)
    section = _locked_section(section)
    session = _session_of(section, lock=True)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "reason_required", "须说明流标原因", "a reason is required", fields={"reason": ""}
        )
    if not session.can_fail():
        raise _wrong_state(session, "宣布流标", "record a failure")
    decryptions = _decryptions(session)
    if session.status == OpeningStatus.DECRYPTED:
        valid = sum(1 for d in decryptions if d.is_open())
    else:
        valid = len(decryptions)
    if valid >= MIN_BIDS:
        raise Conflict(
            "opening_enough_bids",
            f"有效投标 {valid} 个，不少于 {MIN_BIDS} 个，不能以投标人不足为由流标",
            f"{valid} bids, not fewer than {MIN_BIDS}: the tender cannot fail for too few bidders",
            article="法 Art 28, 条例 Art 44",
        )
    now = clock.now()
    notice = notices_services.notice_draft(
        acting_user=acting_user,
        project=section.project,
        kind=NoticeKind.FAILED,
        title=f"{section.project.title} {section.name} 流标公告",
        body=(
            f"{section.project.title}（{section.code} {section.name}）于 {_fmt(now)} 开标，"
            f"投标人少于三个（{valid} 个），依据《招标投标法》第二十八条、《招标投标法实施条例》"
            f"第四十四条不予开标，本标段流标。\n原因：{reason}"
        ),
        section_ids=[section.pk],
    )
    session.status = OpeningStatus.FAILED
    session.failed_at = now
    session.failure_reason = reason
    session.failed_notice = notice
    session.save(update_fields=["status", "failed_at", "failure_reason", "failed_notice"])
    section.status = SectionStatus.FAILED
    section.save(update_fields=["status"])
    log_append(
        action=OpeningAction.FAILED,
        actor=acting_user,
        obj=session,
        data={
            "section": section.pk,
            "valid_bids": valid,
            "reason_sha256": sha256_hex(reason),
            "notice": notice.pk,
        },
    )
    hall_event(
        section, "opening_failed", {"session": session_public(session), "valid_bids": valid, "reason": reason}
    )
    _notify_hall(
        section,
        f"{section.code} 流标 / Tender failed",
        f"标段 {section.code} 投标人不足三个，流标。原因：{reason}\nSection {section.code} failed: fewer than three bids.",
    )
    return session


# ---- the decryption window ----------------------------------------------------------------------------


def _window_minutes(minutes: int | None, default: int, what: str, what_zh: str) -> int:
    """A window's length in whole minutes, 1 to MAX_WINDOW_MINUTES (the default when not given)."""
    minutes = default if minutes is None else minutes
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_WINDOW_MINUTES:
        raise ValidationFailed(
            f"{what}_minutes_invalid",
            f"{what_zh}时长须为 1 至 {MAX_WINDOW_MINUTES} 分钟",
            f"the {what} window lasts 1 to {MAX_WINDOW_MINUTES} minutes",
            fields={"minutes": ""},
        )
    return minutes


@transaction.atomic
def decryption_window_open(
    *, acting_user: Any, section: Section, minutes: int | None = None
) -> OpeningSession:
    _require_host(acting_user, section)
    section = _locked_section(section)
    session = _session_of(section, lock=True)
    minutes = _window_minutes(minutes, DEFAULT_WINDOW_MINUTES, "decryption", "解密")
    if not session.can_open_window():
        raise _wrong_state(session, "开始解密", "open the decryption window")
    now = clock.now()
    if section.opening_at is not None and now < section.opening_at:
        raise Conflict(
            "opening_time_not_reached",
            f"开标时间（{_fmt(section.opening_at)}，北京时间）未到",
            f"the opening time ({_fmt(section.opening_at)} Beijing time) has not come",
            article="法 Art 34",
        )
    count = session.decryptions.count()
    if count < MIN_BIDS:
        raise Conflict(
            "opening_too_few_bids",
            f"投标人只有 {count} 个，少于三个，不得开标，应当流标并重新招标",
            f"only {count} bidders, fewer than three: the bids may not be opened; record the failure",
            article="法 Art 28, 条例 Art 44",
        )
    session.status = OpeningStatus.DECRYPTING
    session.window_start = now
    session.window_end = now + dt.timedelta(minutes=minutes)
    session.save(update_fields=["status", "window_start", "window_end"])
    log_append(
        action=OpeningAction.WINDOW_OPENED,
        actor=acting_user,
        obj=session,
        data={"section": section.pk, "minutes": minutes, "window_end": _iso(session.window_end)},
    )
    hall_event(section, "decryption_opened", {"session": session_public(session)})
    _notify_hall(
        section,
        f"{section.code} 开始解密 / Decryption open",
        f"请于 {_fmt(session.window_end)}（北京时间）前解密投标文件。\n"
        f"Decrypt your bid before {_fmt(session.window_end)} Beijing time.",
    )
    return session


# ---- opening one bid ------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What opening one bid found. ``fault`` is who caused a failure: "bidder" → 撤销,
    "platform" → 撤回 (电子招标投标办法 Art 31)."""

    ok: bool = False
    code: str = ""
    zh: str = ""
    en: str = ""
    fault: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    signature_ok: bool | None = None
    manifest_ok: bool | None = None
    opening_stanza_ok: bool | None = None
    plaintext: Path | None = None
    plaintext_sha256: str = ""
    plaintext_size: int = 0

    def fail(self, code: str, zh: str, en: str, fault: str) -> Outcome:
        self.ok, self.code, self.zh, self.en, self.fault = False, code, zh, en, fault
        return self


@contextmanager
def _temp_file() -> Iterator[Path]:
    # On the data volume, not /tmp (a bid may be hundreds of MiB); in a subfolder, where the
    # uploads' cleanup (which sweeps ``<upload dir>/*.part``) does not look.
    directory = Path(settings.TENDERHALL_UPLOAD_DIR) / "opening"
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="opening-", suffix=".zip", dir=directory)
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


class _HashingWriter:
    """A binary file that hashes and counts what is written to it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.digest, self.size = raw, hashlib.sha256(), 0

    def write(self, data: bytes | memoryview) -> int:
        n = self.raw.write(data)
        n = len(data) if n is None else n
        self.digest.update(data[:n])
        self.size += n
        return n


def _stored_digest(bid: Bid) -> str:
    digest = hashlib.sha256()
    with bid.file.open("rb") as src:
        while block := src.read(READ_PIECE):
            digest.update(block)
    return digest.hexdigest()


def _summary(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The opening summary as the table shows it, or None if malformed."""
    raw = manifest.get("opening_summary")
    if not isinstance(raw, dict):
        return None
    pm = raw.get("project_manager")
    price_text = raw.get("price")
    duration = raw.get("duration_days")
    if not isinstance(price_text, str) or not isinstance(pm, dict) or isinstance(duration, bool):
        return None
    try:
        price = Decimal(price_text)
    except InvalidOperation:
        return None
    if (
        not price.is_finite()
        or price <= 0
        or price != price.quantize(Decimal("0.01"))
        or not isinstance(duration, int)
    ):
        return None
    quality, name, number = raw.get("quality"), pm.get("name"), pm.get("certificate_number")
    if not all(isinstance(v, str) and v.strip() for v in (quality, name, number)):
        return None
    return {
        "price": str(price.quantize(Decimal("0.01"))),
        "duration_days": duration,
        "quality": quality,
        "project_manager": {"name": name, "certificate_number": number},
    }


def _check_package(bid: Bid, path: Path, out: Outcome) -> Outcome:
    """The decrypted package, checked as docs/bid-package.md says; every failure here is the
    bidder's (it made and signed the package)."""
    try:
        manifest = bid_package.verify_package(path)
    except certs.CertificateError as exc:
        out.signature_ok = False
        return out.fail("package_signature_invalid", exc.message_zh, exc.message_en, "bidder")
    except DomainError as exc:
        out.signature_ok = False
        return out.fail(exc.code, exc.message_zh, exc.message_en, "bidder")
    out.signature_ok = True
    out.manifest = manifest
    with zipfile.ZipFile(path) as zf:
        certificate = certs.load_certificate(zf.read(bid_package.CERTIFICATE))
    # The signature must have existed by the time the platform received the bid; the certificate
    # is judged at that moment (a certificate expiring during evaluation does not void a bid).
    try:
        certs.verify_certificate(certificate, trust_anchors(), at=bid.received_at, usage="signing")
    except DomainError as exc:
        out.signature_ok = False
        return out.fail(exc.code, exc.message_zh, exc.message_en, "bidder")
    fingerprint = certs.fingerprint_sha256(certificate)
    if not Certificate.objects.filter(
        fingerprint_sha256=fingerprint, organization=bid.organization, usage=CertificateUsage.SIGNING
    ).exists():
        out.signature_ok = False
        return out.fail(
            "package_certificate_unregistered",
            "投标文件的签名证书未登记在该投标人名下",
            "the package's signing certificate is not registered to this bidder",
            "bidder",
        )
    section_ref = manifest.get("section") or {}
    bidder_ref = manifest.get("bidder") or {}
    if not isinstance(section_ref, dict) or section_ref.get("id") != bid.section_id:
        out.manifest_ok = False
        return out.fail(
            "package_wrong_section",
            "投标文件不是为本标段制作的",
            "the package was made for another section",
            "bidder",
        )
    if not isinstance(bidder_ref, dict) or bidder_ref.get("uscc") != bid.organization.uscc:
        out.manifest_ok = False
        return out.fail(
            "package_wrong_bidder",
            "投标文件中的投标人与递交单位不一致",
            "the package names another bidder than the one who submitted it",
            "bidder",
        )
    if _summary(manifest) is None:
        out.manifest_ok = False
        return out.fail(
            "package_summary_invalid",
            "开标一览表（报价、工期、质量、项目经理）不完整或格式错误",
            "the opening summary (price, duration, quality, project manager) is incomplete or malformed",
            "bidder",
        )
    out.manifest_ok = True
    out.ok = True
    return out


def open_bid(
    bid: Bid,
    tmp: Path,
    *,
    recipient: age.X25519Recipient,
    file_key: bytes | None = None,
    identity: age.X25519Identity | None = None,
) -> Outcome:
    """Decrypt ``bid`` streaming into ``tmp`` with the bidder's file key or (backup) the opening
    identity, and check it. Never holds the bid in memory."""
    out = Outcome()
    try:
        digest = _stored_digest(bid)
    except OSError:
        return out.fail(
            "ciphertext_unreadable",
            "平台无法读取已存储的投标文件",
            "the platform cannot read the stored bid",
            "platform",
        )
    if digest != bid.ciphertext_sha256 or digest != bid.receipt.get("ciphertext_sha256", digest):
        return out.fail(
            "ciphertext_hash_mismatch",
            "存储的投标文件与回执中的哈希值不一致（平台存储损坏）",
            "the stored bid differs from the hash in the receipt (platform storage damaged)",
            "platform",
        )
    with bid.file.open("rb") as src, tmp.open("wb") as raw:
        dst = _HashingWriter(raw)  # the plaintext's hash as it is written, not read back after
        try:
            header = age.parse_header(src)
        except DomainError:
            return out.fail(
                "ciphertext_header_invalid",
                "投标文件头无法解析",
                "the bid's header cannot be read",
                "platform",
            )
        try:
            if identity is not None:
                file_key = age.unwrap_file_key(header, [identity])
            assert file_key is not None
            out.opening_stanza_ok = age.verify_opening_stanza(header, file_key, recipient)
            age.decrypt_with_file_key(file_key, header, src, cast(BinaryIO, dst))  # only .write
        except DomainError as exc:
            if exc.code in ("age_header_mac_invalid", "age_file_key_invalid", "age_no_identity_matched"):
                if identity is not None:
                    return out.fail(
                        "opening_key_cannot_decrypt",
                        "开标密钥无法解开该投标文件（投标人未按规定加密）",
                        "the opening key cannot decrypt this bid (the bidder did not seal it to the opening key)",
                        "bidder",
                    )
                return out.fail("file_key_wrong", "解密密钥错误", "the file key is wrong", "bidder")
            return out.fail(
                "ciphertext_corrupt",
                f"投标文件密文损坏，无法解密（{exc.code}）",
                f"the bid's ciphertext is corrupt and cannot be decrypted ({exc.code})",
                "bidder",
            )
        finally:
            file_key = None
    out.plaintext_sha256, out.plaintext_size = dst.digest.hexdigest(), dst.size
    out.plaintext = tmp
    return _check_package(bid, tmp, out)


def _opening_recipient(section: Section) -> age.X25519Recipient:
    return age.X25519Recipient.from_string(OpeningKey.objects.get(section=section).recipient)


def _record_outcome(
    *,
    acting_user: Any,
    session: OpeningSession,
    decryption: Decryption,
    out: Outcome,
    backup: bool,
    key_sha: str,
    stored: str,
) -> Decryption:
    """Record one outcome. Caller holds the section lock and has re-checked the state."""
    now = clock.now()
    decryption.attempts += 1
    decryption.signature_ok = out.signature_ok
    decryption.manifest_ok = out.manifest_ok
    decryption.opening_stanza_ok = out.opening_stanza_ok
    if key_sha:
        decryption.file_key_sha256 = key_sha
    if out.ok and stored:
        decryption.package.name = stored
        decryption.package_sha256 = out.plaintext_sha256
        decryption.package_size = out.plaintext_size
        decryption.manifest = out.manifest
        decryption.status = DecryptionStatus.BACKUP_DECRYPTED if backup else DecryptionStatus.DECRYPTED
        decryption.decrypted_at = now
        decryption.reason_code = decryption.reason_zh = decryption.reason_en = ""
        decryption.classification = Classification.NONE
        bid = decryption.bid
        machine = out.manifest.get("machine")
        bid.machine_fingerprint = machine if isinstance(machine, dict) else {}
        bid.save(update_fields=["machine_fingerprint"])
    else:
        decryption.status = DecryptionStatus.FAILED
        decryption.reason_code, decryption.reason_zh, decryption.reason_en = out.code, out.zh, out.en
        decryption.classification = (
            Classification.REVOKED if out.fault == "bidder" else Classification.WITHDRAWN
        )
    decryption.save()
    org = decryption.bid.organization
    log_append(
        action=(OpeningAction.BACKUP_DECRYPTED if backup else OpeningAction.UNLOCKED)
        if out.ok
        else OpeningAction.UNLOCK_FAILED,
        actor=acting_user,
        obj=decryption,
        org_uscc=org.uscc,
        data={
            "section": session.section_id,
            "bid": decryption.bid_id,
            "bidder": org.uscc,
            "backup": backup,
            "ok": out.ok,
            "reason": out.code,
            "file_key_sha256": key_sha,
            "package_sha256": out.plaintext_sha256,
            "signature_ok": out.signature_ok,
            "manifest_ok": out.manifest_ok,
            "opening_stanza_ok": out.opening_stanza_ok,
        },
    )
    hall_event(session.section, "bid_status", {"bid": decryption_public(decryption)})
    return decryption


def _store_plaintext(section: Section, bid_id: int, out: Outcome) -> str:
    """A checked package into default storage (bids/opened/…), moved rather than copied where
    the storage allows it; returns the stored name."""
    if not out.ok or out.plaintext is None:
        return ""
    name, _moved_to = blobs.move_into(
        default_storage, f"bids/opened/{section.pk}/{bid_id}.zip", out.plaintext
    )
    return name


def _commit_outcome(
    *,
    acting_user: Any,
    section: Section,
    decryption_pk: int,
    out: Outcome,
    backup: bool,
    key_sha: str,
    now: dt.datetime,
) -> Decryption | None:
    """Store the package (no lock held), then record the outcome under the section lock after
    re-checking the state; a stored package is removed again if it is not recorded. A backup
    outcome for a bid opened meanwhile (or a window closed meanwhile) is dropped: None."""
    stored = _store_plaintext(section, _bid_id_of(decryption_pk), out)
    recorded = False
    try:
        with transaction.atomic():
            _locked_section(section)
            session = _session_of(section, lock=True)
            row = (
                Decryption.objects.select_for_update()
                .select_related("bid__organization")
                .get(pk=decryption_pk)
            )
            if backup:
                if row.is_open() or session.status != OpeningStatus.DECRYPTING:
                    return None
            elif row.status != DecryptionStatus.QUEUED or not session.can_unlock(now):
                return None  # settled meanwhile (the window closed and classified it)
            done = _record_outcome(
                acting_user=acting_user,
                session=session,
                decryption=row,
                out=out,
                backup=backup,
                key_sha=key_sha,
                stored=stored,
            )
            recorded = True
            return done
    finally:
        if stored and not recorded:
            default_storage.delete(stored)


def _bid_id_of(decryption_pk: int) -> int:
    return int(Decryption.objects.values_list("bid_id", flat=True).get(pk=decryption_pk))


def _own_decryption(user: Any, section: Section) -> tuple[OpeningSession, Decryption]:
    session = _session_of(section)
    # No ORDER BY (one bid per bidder and section): ordered, SQLite walked the session's index
    # through every decryption of the hall to find this one.
    decryption = next(
        iter(
            Decryption.objects.select_related("bid__organization", "bid__section")
            .filter(session=session, bid__organization_id=user.organization_id)
            .order_by()[:1]
        ),
        None,
    )
    if decryption is None:
        raise NotFound("投标文件", "bid")
    return session, decryption


def _check_unlock(session: OpeningSession, decryption: Decryption, now: dt.datetime) -> None:
    if decryption.is_open():
        raise Conflict(
            "bid_already_decrypted",
            "该投标文件已解密，不能重复解密",
            "this bid has already been decrypted",
        )
    if not session.can_unlock(now):
        raise Conflict(
            "decryption_window_closed",
            "不在解密时间内，不能解密",
            "the decryption window is not open",
            extra={"window_start": _iso(session.window_start), "window_end": _iso(session.window_end)},
        )


def bid_unlock(
    *, acting_user: Any, section: Section, file_key: bytes, decrypt_now: bool = False
) -> Decryption:
    """The bidder sends only its bid's 16-byte file key (DESIGN §4). The key is accepted (logged by
    its hash, the bid marked "decrypting") and the server decrypts and checks in the background; the
    outcome reaches the hall live. A wrong key fails the attempt (撤销 reason recorded) but the
    bidder may retry within the window; a key for a bid already open or decrypting is refused.
    Refusals are logged. The key is never stored: it lives in the decrypting thread's memory.
    ``decrypt_now`` decrypts in the calling thread (scripts such as the demo)."""
    try:
        decryption = _bid_unlock_accept(acting_user=acting_user, section=section, file_key=file_key)
    except DomainError as exc:
        # Recorded after the refused transaction rolled back, so the record survives.
        log_refusal(
            action=OpeningAction.UNLOCK_REFUSED,
            actor=acting_user if getattr(acting_user, "is_authenticated", False) else None,
            data={"section": section.pk, "code": exc.code},
        )
        raise
    job = _DecryptionJob(
        decryption_pk=decryption.pk, section_pk=section.pk, user_pk=acting_user.pk, file_key=bytes(file_key)
    )
    if decrypt_now or getattr(settings, "TENDERHALL_DECRYPT_INLINE", False):
        job.run()  # tests: the same thread and transaction
        decryption.refresh_from_db()
    else:
        transaction.on_commit(lambda: _track(_decryption_pool().submit(job.run_guarded)))
    return decryption


@transaction.atomic
def _bid_unlock_accept(*, acting_user: Any, section: Section, file_key: bytes) -> Decryption:
    require(acting_user, Permission.OPENING_UNLOCK)
    if not isinstance(file_key, bytes | bytearray) or len(file_key) != FILE_KEY_BYTES:
        raise ValidationFailed(
            "file_key_invalid",
            f"解密密钥须为 {FILE_KEY_BYTES} 字节",
            f"a file key is {FILE_KEY_BYTES} bytes",
            fields={"file_key": ""},
        )
    key_sha = hashlib.sha256(bytes(file_key)).hexdigest()
    now = clock.now()
    section = _locked_section(section)
    session, decryption = _own_decryption(acting_user, section)
    decryption = (
        Decryption.objects.select_for_update().select_related("bid__organization").get(pk=decryption.pk)
    )
    if decryption.status == DecryptionStatus.QUEUED:
        raise Conflict(
            "bid_decrypting",
            "该投标文件正在解密，请等待结果",
            "this bid is being decrypted; wait for the outcome",
        )
    _check_unlock(session, decryption, now)
    decryption.status = DecryptionStatus.QUEUED
    decryption.queued_at = now
    decryption.file_key_sha256 = key_sha
    decryption.save(update_fields=["status", "queued_at", "file_key_sha256"])
    org = decryption.bid.organization
    log_append(
        action=OpeningAction.UNLOCK_RECEIVED,
        actor=acting_user,
        obj=decryption,
        org_uscc=org.uscc,
        data={
            "section": section.pk,
            "bid": decryption.bid_id,
            "bidder": org.uscc,
            "file_key_sha256": key_sha,
        },
    )
    hall_event(section, "bid_status", {"bid": decryption_public(decryption)})
    return decryption


DECRYPTION_STALE = dt.timedelta(minutes=10)
PLATFORM_INTERRUPTIONS = (
    "decryption_interrupted",
    "decryption_error",
)  # a key accepted this long ago with no outcome was lost
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


_running: set[Future[None]] = set()


def _track(future: Future[None]) -> None:
    with _pool_lock:
        _running.add(future)
    future.add_done_callback(lambda f: _forget(f))


def _forget(future: Future[None]) -> None:
    with _pool_lock:
        _running.discard(future)


def decryptions_drain(timeout: float | None = None) -> int:
    """Wait for this process's running decryptions (a graceful stop; tests); returns how many are
    still running after ``timeout``."""
    with _pool_lock:
        running = set(_running)
    _done, not_done = futures_wait(running, timeout=timeout)
    return len(not_done)


def _decryption_pool() -> ThreadPoolExecutor:
    """Decryption threads of this process (TENDERHALL_DECRYPT_THREADS, default 2). The crypto and
    file work release the GIL, so the server keeps answering while bids are decrypted."""
    global _pool
    with _pool_lock:
        if _pool is None:
            threads = int(getattr(settings, "TENDERHALL_DECRYPT_THREADS", 2))
            _pool = ThreadPoolExecutor(max_workers=max(threads, 1), thread_name_prefix="decrypt")
        return _pool


@dataclass
class _DecryptionJob:
    decryption_pk: int
    section_pk: int
    user_pk: int
    file_key: bytes

    def run(self) -> None:
        from django.contrib.auth import get_user_model

        section = Section.objects.select_related("project").get(pk=self.section_pk)
        row = Decryption.objects.select_related("bid__organization", "bid__section").get(
            pk=self.decryption_pk
        )
        if row.status != DecryptionStatus.QUEUED or row.queued_at is None:
            return  # already settled (e.g. the window closed and classified it)
        user = get_user_model().objects.get(pk=self.user_pk)
        with _temp_file() as tmp:
            out = open_bid(row.bid, tmp, recipient=_opening_recipient(section), file_key=self.file_key)
            self.file_key = b""
            _commit_outcome(
                acting_user=user,
                section=section,
                decryption_pk=row.pk,
                out=out,
                backup=False,
                key_sha=row.file_key_sha256,
                now=row.queued_at,
            )

    def run_guarded(self) -> None:
        """In a decryption thread: an unexpected error is the platform's fault (撤回), recorded."""
        from django.db import connections

        try:
            self.run()
        except Exception:
            logger.exception("decryption of %s failed", self.decryption_pk)
            try:
                _decryption_interrupted(self.decryption_pk, "decryption_error")
            except Exception:
                logger.exception("could not record the failed decryption of %s", self.decryption_pk)
        finally:
            self.file_key = b""
            # SQLite: the decryption threads live as long as the process and each keeps its
            # connection (opening one per bid cost more than the bid's queries). PostgreSQL: the
            # connection goes back to the process's pool (cheap), or it would stay checked out by
            # an idle thread for ever.
            for conn in connections.all(initialized_only=True):
                if conn.vendor != "sqlite" or conn.in_atomic_block or not conn.is_usable():
                    conn.close()


@transaction.atomic
def _decryption_interrupted(decryption_pk: int, code: str) -> Decryption | None:
    """A key was accepted but no outcome came (an error, a restarted process): the bid goes back to
    pending so its bidder can send the key again within the window. Logged, pushed to the hall."""
    row = Decryption.objects.select_related("bid__organization", "session__section").get(pk=decryption_pk)
    _locked_section(row.session.section)
    row = Decryption.objects.select_for_update().select_related("bid__organization").get(pk=decryption_pk)
    if row.status != DecryptionStatus.QUEUED:
        return None
    row.status = DecryptionStatus.PENDING
    row.reason_code = code
    row.reason_zh = "解密未完成（平台原因），请在解密时间内重新提交解密密钥"
    row.reason_en = "decryption did not complete (the platform's fault); send the key again within the window"
    row.save(update_fields=["status", "reason_code", "reason_zh", "reason_en"])
    section = row.session.section
    log_append(
        action=OpeningAction.DECRYPTION_INTERRUPTED,
        obj=row,
        org_uscc=row.bid.organization.uscc,
        data={"section": section.pk, "bid": row.bid_id, "reason": code},
    )
    hall_event(section, "bid_status", {"bid": decryption_public(row)})
    return row


def decryptions_stale_reset() -> list[Decryption]:
    """Keys accepted more than DECRYPTION_STALE ago with no outcome (the process that held them was
    stopped): back to pending so the bidders resend them. Run by the opening tick."""
    stale = Decryption.objects.filter(
        status=DecryptionStatus.QUEUED, queued_at__lt=clock.now() - DECRYPTION_STALE
    ).values_list("pk", flat=True)
    return [
        d for pk in list(stale) if (d := _decryption_interrupted(pk, "decryption_interrupted")) is not None
    ]


# ---- backup decryption -----------------------------------------------------------------------------


@transaction.atomic
def backup_request(*, acting_user: Any, section: Section, bid: Bid) -> Decryption:
    """The host asks the custodians to open a bid its bidder could not (DESIGN §4)."""
    _require_host(acting_user, section)
    section = _locked_section(section)
    session = _session_of(section, lock=True)
    decryption = Decryption.objects.select_for_update().filter(session=session, bid_id=bid.pk).first()
    if decryption is None:
        raise NotFound("投标文件", "bid")
    if session.status != OpeningStatus.DECRYPTING:
        raise _wrong_state(session, "申请备用解密", "ask for backup decryption")
    if decryption.is_open():
        raise Conflict("bid_already_decrypted", "该投标文件已解密", "this bid has already been decrypted")
    if decryption.backup_requested_at is None:
        decryption.backup_requested_at = clock.now()
        decryption.save(update_fields=["backup_requested_at"])
        log_append(
            action=OpeningAction.BACKUP_REQUESTED,
            actor=acting_user,
            obj=decryption,
            data={"section": section.pk, "bid": bid.pk, "bidder": decryption.bid.organization.uscc},
        )
        hall_event(section, "backup_requested", {"bid": decryption_public(decryption)})
        for custodian in SectionCustodian.objects.filter(section=section).select_related("user"):
            notification_enqueue(
                recipient=custodian.user,
                channel=NotificationChannel.IN_APP,
                subject=f"{section.code} 备用解密 / Backup decryption",
                body="请提交您保管的开标密钥分片。\nPlease submit your share of the opening key.",
            )
    return decryption


class _SharePool:
    """Verified shares of one opening, in this process's memory only, until k are there.

    They are never written anywhere; a restart loses them and the custodians send them again.
    With several server processes, share submissions must reach one process (see docs/opening.md)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: dict[int, dict[int, bytes]] = {}

    def add(self, session_id: int, index: int, share: bytes, k: int) -> list[tuple[int, bytes]] | None:
        """Add a share; when ``k`` are there, take them all out and return them."""
        with self._lock:
            pool = self._pools.setdefault(session_id, {})
            pool[index] = bytes(share)
            if len(pool) < k:
                return None
            return sorted(self._pools.pop(session_id).items())

    def held(self, session_id: int) -> int:
        with self._lock:
            return len(self._pools.get(session_id, {}))

    def clear(self, session_id: int | None = None) -> None:
        with self._lock:
            if session_id is None:
                self._pools.clear()
            else:
                self._pools.pop(session_id, None)


share_pool = _SharePool()


def _committed_hash(key_share: KeyShare, section: Section) -> str | None:
    """The share's hash as committed in the transparency log (not only as the table says)."""
    event = LogEvent.objects.filter(index=key_share.log_index).first()
    if event is None:
        return None
    try:
        data = json.loads(event.payload).get("data", {})
    except ValueError:
        return None
    if data.get("section") != section.pk or data.get("share_index") != key_share.share_index:
        return None
    digest = data.get("share_sha256")
    return digest if isinstance(digest, str) and digest == key_share.share_sha256 else None


@dataclass
class ShareResult:
    submission: ShareSubmission
    shares_held: int
    threshold: int
    opened: list[Decryption] = field(default_factory=list)


def _waiting_for_backup(session: OpeningSession) -> list[Decryption]:
    return [d for d in _decryptions(session) if d.backup_requested_at is not None and not d.is_open()]


def custodian_share_submit(
    *, acting_user: Any, section: Section, share_index: int, share: bytes
) -> ShareResult:
    """A custodian sends its unwrapped share. Checked against the hash committed in the log; the
    k-th verified share rebuilds the opening key in memory, opens every bid waiting for backup and
    is forgotten with the others (only who sent which index, when and the check result stay)."""
    try:
        result, verified, key, k = _share_record(
            acting_user=acting_user, section=section, share_index=share_index, share=share
        )
    except DomainError as exc:
        log_refusal(
            action=OpeningAction.SHARE_REFUSED,
            actor=acting_user if getattr(acting_user, "is_authenticated", False) else None,
            data={"section": section.pk, "code": exc.code, "share_index": share_index},
        )
        raise
    if not verified:
        raise ValidationFailed(
            "share_corrupt",
            f"密钥分片 {share_index} 与透明日志中登记的哈希值不符，已记录",
            f"key share {share_index} does not match the hash committed in the log; recorded",
            extra={"share_index": share_index},
        )
    taken = share_pool.add(result.submission.session_id, share_index, share, k)
    share = b""
    if taken is None:
        result.shares_held = share_pool.held(result.submission.session_id)
        return result
    result.shares_held = len(taken)
    result.opened = _backup_decrypt(acting_user=acting_user, section=section, shares=taken, key=key)
    taken.clear()
    return result


@transaction.atomic
def _share_record(
    *, acting_user: Any, section: Section, share_index: int, share: bytes
) -> tuple[ShareResult, bool, OpeningKey, int]:
    require(acting_user, Permission.OPENING_CUSTODIAN)
    if not SectionCustodian.objects.filter(section=section, user=acting_user).exists():
        raise PermissionDenied(str(Permission.OPENING_CUSTODIAN))
    section = _locked_section(section)
    session = _session_of(section, lock=True)
    key = OpeningKey.objects.get(section=section)
    key_share = KeyShare.objects.filter(
        opening_key=key, share_index=share_index, custodian=acting_user
    ).first()
    if key_share is None:
        raise ValidationFailed(
            "share_not_yours",
            f"密钥分片 {share_index} 不是由您保管的",
            f"key share {share_index} is not held by you",
            fields={"share_index": ""},
        )
    if session.status != OpeningStatus.DECRYPTING or not _waiting_for_backup(session):
        raise Conflict(
            "backup_not_requested",
            "主持人没有申请备用解密，不需要提交密钥分片",
            "the host has not asked for backup decryption: no share is needed",
        )
    if not isinstance(share, bytes | bytearray) or len(share) != opening_key.SHARE_BYTES:
        raise ValidationFailed(
            "share_invalid",
            f"密钥分片须为 {opening_key.SHARE_BYTES} 字节",
            f"a key share is {opening_key.SHARE_BYTES} bytes",
            fields={"share": ""},
        )
    committed = _committed_hash(key_share, section)
    verified = committed is not None and opening_key.share_hash(share_index, bytes(share)) == committed
    now = clock.now()
    submission = ShareSubmission.objects.create(
        session=session, custodian=acting_user, share_index=share_index, at=now, verified=verified
    )
    log_append(
        action=OpeningAction.SHARE_SUBMITTED,
        actor=acting_user,
        obj=submission,
        data={
            "section": section.pk,
            "share_index": share_index,
            "verified": verified,
            "committed_at": key_share.log_index,
        },
    )
    hall_event(
        section,
        "share_submitted",
        {
            "custodian": acting_user.get_username(),
            "share_index": share_index,
            "verified": verified,
            "at": _iso(now),
        },
    )
    result = ShareResult(submission=submission, shares_held=0, threshold=key.threshold)
    return result, verified, key, key.threshold


def _backup_decrypt(
    *, acting_user: Any, section: Section, shares: list[tuple[int, bytes]], key: OpeningKey
) -> list[Decryption]:
    committed = {ks.share_index: ks.share_sha256 for ks in KeyShare.objects.filter(opening_key=key)}
    seed = opening_key.combine_shares(shares, k=key.threshold, committed=committed)
    try:
        opening_key.check_recipient(seed, section_id=section.pk, recipient=key.recipient)
        identity: age.X25519Identity | None = opening_key.derive_identity(seed, section_id=section.pk)
    finally:
        seed = b""  # Python cannot wipe memory; drop every reference at once
    recipient = age.X25519Recipient.from_string(key.recipient)
    session = _session_of(section)
    opened: list[Decryption] = []
    try:
        for decryption in _waiting_for_backup(session):
            with _temp_file() as tmp:
                assert identity is not None
                out = open_bid(decryption.bid, tmp, recipient=recipient, identity=identity)
                done = _commit_outcome(
                    acting_user=acting_user,
                    section=section,
                    decryption_pk=decryption.pk,
                    out=out,
                    backup=True,
                    key_sha="",
                    now=clock.now(),
                )
                if done is not None:
                    opened.append(done)
        with transaction.atomic():
            ShareSubmission.objects.filter(session=session, verified=True, used=False).update(used=True)
    finally:
        identity = None
    return opened


# ---- closing the window, reading out, the coefficient --------------------------------------------------


@transaction.atomic
def decryption_window_close(*, acting_user: Any, section: Section) -> OpeningSession:
    """Close decryption. A bid still not open is classified (电子招标投标办法 Art 31): 撤销 if its
    bidder never unlocked or its own key or package failed, 撤回 if the cause was the platform's."""
    _require_host(acting_user, section)
    section = _locked_section(section)
    session = _session_of(section, lock=True)
    if not session.can_close_window():
        raise _wrong_state(session, "结束解密", "close the decryption window")
    now = clock.now()
    decrypting = [d for d in _decryptions(session) if d.status == DecryptionStatus.QUEUED]
    if any(d.queued_at is not None and d.queued_at >= now - DECRYPTION_STALE for d in decrypting):
        raise Conflict(
            "decryption_in_progress",
            f"还有 {len(decrypting)} 份投标文件正在解密，请稍候再结束解密",
            f"{len(decrypting)} bids are still being decrypted; close the window when they are done",
            extra={"decrypting": len(decrypting)},
        )
    classified = []
    for d in _decryptions(session):
        if d.is_open():
            continue
        if d.status == DecryptionStatus.QUEUED:
            # The key arrived in time but its decryption was lost: the platform's fault (撤回).
            d.status = DecryptionStatus.FAILED
            d.classification = Classification.WITHDRAWN
            d.reason_code = "decryption_interrupted"
            d.reason_zh = "解密未完成（平台原因）"
            d.reason_en = "the decryption did not complete (the platform's fault)"
        elif d.status == DecryptionStatus.PENDING and d.reason_code in PLATFORM_INTERRUPTIONS:
            d.status = DecryptionStatus.FAILED  # lost by the platform, not resent: 撤回 (Art 31)
            d.classification = Classification.WITHDRAWN
        elif d.status == DecryptionStatus.PENDING:
            d.status = DecryptionStatus.FAILED
            d.classification = Classification.REVOKED
            d.reason_code = "not_unlocked"
            d.reason_zh = "投标人未在解密时间内解密"
            d.reason_en = "the bidder did not decrypt within the window"
        elif not d.classification:
            d.classification = Classification.REVOKED
        d.save(update_fields=["status", "classification", "reason_code", "reason_zh", "reason_en"])
        classified.append(d)
    session.status = OpeningStatus.DECRYPTED
    session.window_closed_at = now
    event = log_append(
        action=OpeningAction.WINDOW_CLOSED,
        actor=acting_user,
        obj=session,
        data={
            "section": section.pk,
            "decrypted": [d.bid_id for d in _decryptions(session) if d.is_open()],
            "classified": [
                {"bid": d.bid_id, "classification": d.classification, "reason": d.reason_code}
                for d in classified
            ],
        },
    )
    session.window_close_log_index = event.index
    session.save(update_fields=["status", "window_closed_at", "window_close_log_index"])
    hall_event(
        section,
        "decryption_closed",
        {"session": session_public(session), "bids": [decryption_public(d) for d in _decryptions(session)]},
    )
    return session


def coefficient_seed(*, root_hash_hex: str, timestamp: str, section_id: int) -> bytes:
    """SHA-256(root hash bytes ‖ STH timestamp (UTF-8) ‖ canonical JSON of the section id)."""
    return hashlib.sha256(
        bytes.fromhex(root_hash_hex) + timestamp.encode("utf-8") + canonical_json(section_id)
    ).digest()


def coefficient_from_seed(seed: bytes, k_min: Decimal, k_max: Decimal) -> Decimal:
    """K = k_min + (k_max − k_min) × (int(seed) mod 10^6) / 10^6, to 4 places, ROUND_HALF_UP."""
    fraction = Decimal(int.from_bytes(seed, "big") % COEFFICIENT_MODULUS) / Decimal(COEFFICIENT_MODULUS)
    return (k_min + (k_max - k_min) * fraction).quantize(COEFFICIENT_PLACES, rounding=ROUND_HALF_UP)


def _draw_coefficient(session: OpeningSession, section: Section) -> dict[str, Any]:
    params = section.evaluation_params or {}
    try:
        k_min, k_max = Decimal(str(params["k_min"])), Decimal(str(params["k_max"]))
        if not Decimal(0) < k_min <= k_max <= Decimal(1):
            raise ValueError
    except (KeyError, ValueError, InvalidOperation) as exc:
        raise Conflict(
            "coefficient_range_invalid",
            "基准价法标段缺少有效的 K 值区间（k_min、k_max），不能抽取",
            "the benchmark-price section has no valid K range (k_min, k_max) to draw from",
        ) from exc
    tree_size = int(session.window_close_log_index or 0) + 1
    sth = SignedTreeHead.objects.get(tree_size=tree_size)
    timestamp = sth_as_dict(sth)["timestamp"]
    seed = coefficient_seed(root_hash_hex=sth.root_hash, timestamp=timestamp, section_id=section.pk)
    k = coefficient_from_seed(seed, k_min, k_max)
    session.coefficient = k
    session.coefficient_seed = seed.hex()
    session.coefficient_tree_size = tree_size
    session.coefficient_inputs = {
        "root_hash": sth.root_hash,
        "timestamp": timestamp,
        "tree_size": tree_size,
        "section": section.pk,
        "k_min": str(k_min),
        "k_max": str(k_max),
        "formula": "K = k_min + (k_max - k_min) * (int(SHA-256(root ‖ timestamp ‖ section)) mod 10^6) / 10^6",
    }
    return {"coefficient": str(k), "seed": seed.hex(), **session.coefficient_inputs}


def opening_table_rows(session: OpeningSession) -> list[dict[str, Any]]:
    rows = []
    for d in _decryptions(session):
        org = d.bid.organization
        row: dict[str, Any] = {"bid_id": d.bid_id, "bidder": org.name, "uscc": org.uscc, "status": d.status}
        if d.is_open():
            summary = _summary(d.manifest) or {}
            row.update(summary)
            row["bond_reference"] = d.manifest.get("bond_reference", "")
            row["bond_status"] = "declared"
        else:
            row.update(
                {
                    "classification": d.classification,
                    "reason_code": d.reason_code,
                    "reason_zh": d.reason_zh,
                    "reason_en": d.reason_en,
                }
            )
        rows.append(row)
    return rows


@transaction.atomic
def opening_read_out(*, acting_user: Any, section: Section) -> OpeningSession:
    """唱标: the table goes to everyone at once; for a benchmark-price section K is drawn."""
    _require_host(acting_user, section)
    section = _locked_section(section)
    session = _session_of(section, lock=True)
    if not session.can_read_out():
        raise _wrong_state(session, "唱标", "read out")
    now = clock.now()
    session.table = opening_table_rows(session)
    session.read_out_at = now
    session.status = OpeningStatus.READ_OUT
    draw = None
    if section.evaluation_method == EvaluationMethod.BENCHMARK_PRICE:
        draw = _draw_coefficient(session, section)
    session.save()
    section.status = SectionStatus.OPENED
    section.save(update_fields=["status"])
    log_append(
        action=OpeningAction.READ_OUT,
        actor=acting_user,
        obj=session,
        data={
            "section": section.pk,
            "table_sha256": sha256_hex(canonical_json(session.table).decode()),
            "rows": len(session.table),
        },
    )
    if draw is not None:
        log_append(action=OpeningAction.COEFFICIENT_DRAWN, actor=acting_user, obj=session, data=draw)
    hall_event(
        section, "read_out", {"session": session_public(session), "table": session.table, "coefficient": draw}
    )
    return session


# ---- exceptions: suspension, resumption, postponement ---------------------------------------------------


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required", "须说明原因", "a reason is required", fields={"reason": ""})
    return reason


@transaction.atomic
def opening_suspend(*, acting_user: Any, section: Section, reason: str) -> OpeningSession:
    """Seed 001 §6.5.6, seed 002 §6.5.9: the host may suspend the opening, with a reason."""
    _require_host(acting_user, section)
    reason = _reason(reason)
    section = _locked_section(section)
    session = _session_of(section, lock=True)
    if not session.can_suspend():
        raise _wrong_state(session, "暂停", "suspend")
    now = clock.now()
    session.status_before_suspension, session.status = session.status, OpeningStatus.SUSPENDED
    session.suspended_at = now
    session.save(update_fields=["status", "status_before_suspension", "suspended_at"])
    section.status_before_suspension, section.status = section.status, SectionStatus.SUSPENDED
    section.save(update_fields=["status", "status_before_suspension"])
    log_append(
        action=OpeningAction.SUSPENDED,
        actor=acting_user,
        obj=session,
        data={"section": section.pk, "reason": reason},
    )
    hall_event(section, "suspended", {"session": session_public(session), "reason": reason})
    _notify_hall(section, f"{section.code} 开标暂停 / Opening suspended", f"原因 / Reason: {reason}")
    return session


@transaction.atomic
def opening_resume(*, acting_user: Any, section: Section, reason: str) -> OpeningSession:
    """Resume; a decryption window gets back the time it was suspended."""
    _require_host(acting_user, section)
    reason = _reason(reason)
    section = _locked_section(section)
    session = _session_of(section, lock=True)
    if not session.can_resume():
        raise _wrong_state(session, "恢复", "resume")
    now = clock.now()
    session.status = session.status_before_suspension or OpeningStatus.WAITING
    session.status_before_suspension = ""
    if session.status == OpeningStatus.DECRYPTING and session.window_end and session.suspended_at:
        session.window_end += now - session.suspended_at
    session.suspended_at = None
    session.save(update_fields=["status", "status_before_suspension", "suspended_at", "window_end"])
    section.status = section.status_before_suspension or SectionStatus.OPENING
    section.status_before_suspension = ""
    section.save(update_fields=["status", "status_before_suspension"])
    log_append(
        action=OpeningAction.RESUMED,
        actor=acting_user,
        obj=session,
        data={"section": section.pk, "reason": reason},
    )
    hall_event(section, "resumed", {"session": session_public(session), "reason": reason})
    _notify_hall(section, f"{section.code} 开标恢复 / Opening resumed", f"原因 / Reason: {reason}")
    return session


@transaction.atomic
def opening_postpone(
    *, acting_user: Any, section: Section, reason: str, new_time: dt.datetime
) -> OpeningSession:
    """Postpone the opening (before decryption starts) to a later time, with a reason."""
    _require_host(acting_user, section)
    reason = _reason(reason)
    section = _locked_section(section)
    session = _session_of(section, lock=True)
    if session.status != OpeningStatus.WAITING:
        raise _wrong_state(session, "推迟", "postpone")
    now = clock.now()
    if new_time.tzinfo is None or new_time <= now:
        raise ValidationFailed(
            "new_time_invalid",
            "推迟后的开标时间须晚于现在",
            "the new opening time must be in the future",
            fields={"new_time": ""},
        )
    before = section.opening_at
    section.opening_at = new_time
    section.save(update_fields=["opening_at"])
    log_append(
        action=OpeningAction.POSTPONED,
        actor=acting_user,
        obj=session,
        data={"section": section.pk, "reason": reason, "from": _iso(before), "to": _iso(new_time)},
    )
    hall_event(
        section,
        "postponed",
        {"session": session_public(session), "reason": reason, "opening_at": _iso(new_time)},
    )
    _notify_hall(
        section,
        f"{section.code} 开标推迟 / Opening postponed",
        f"新的开标时间 / New time: {_fmt(new_time)}（北京时间 / Beijing time）\n原因 / Reason: {reason}",
    )
    return session


# ---- live transport: every hall event goes to the hall's watchers after commit ----------------------

logger = logging.getLogger(__name__)


def hall_group(section_id: int) -> str:
    return f"hall.{section_id}"


def hall_event_message(event: HallEvent) -> dict[str, Any]:
    return {"seq": event.seq, "kind": event.kind, "payload": event.payload, "at": _iso(event.at)}


def publish_hall_event_on_commit(event: HallEvent) -> None:
    """After commit (a rolled-back event was never shown), send the event to the hall's group.
    A failed send loses nothing: clients replay ``seq > last`` from the database."""
    message = hall_event_message(event)
    section_id = event.section_id

    def send() -> None:
        try:
            live.group_send(hall_group(section_id), {"type": "hall.event", "event": message})
        except Exception:  # the transport is best effort; the replay is the guarantee
            logger.warning("hall event %s/%s not published", section_id, message["seq"], exc_info=True)

    transaction.on_commit(send)


# ---- objections on the spot (条例 Art 44) -------------------------------------------------------------


class HallObjectionAction(StrEnum):
    WINDOW_OPENED = "opening.objections.window_opened"
    WINDOW_CLOSED = "opening.objections.window_closed"
    RAISE_REFUSED = "opening.objections.raise_refused"


DEFAULT_OBJECTION_MINUTES = 15
OBJECTION_STAGES_OPEN = (OpeningStatus.DECRYPTING, OpeningStatus.DECRYPTED, OpeningStatus.READ_OUT)


def hall_objection_window(section: Section) -> dict[str, Any] | None:
    """The objection window as the hall's own record says: the last window event, if it is open
    (opened and not closed, and its end not passed)."""
    last = (
        HallEvent.objects.filter(section=section, kind__in=("objections_opened", "objections_closed"))
        .order_by("-seq")
        .first()
    )
    if last is None or last.kind != "objections_opened":
        return None
    end = dt.datetime.fromisoformat(last.payload["end"])
    if clock.now() >= end:
        return None
    return {"start": dt.datetime.fromisoformat(last.payload["start"]), "end": end, "seq": last.seq}


def _objection_window_closed(section: Section) -> Conflict:
    return Conflict(
        "objection_window_closed",
        "开标现场异议时间未开放或已结束",
        "the window for objections at the opening is not open",
        article="条例 Art 44",
    )


@transaction.atomic
def hall_objection_window_open(
    *, acting_user: Any, section: Section, minutes: int | None = None
) -> HallEvent:
    """The host opens a window in which bidders may object to the opening on the spot."""
    _require_host(acting_user, section)
    section = _locked_section(section)
    session = _session_of(section, lock=True)
    minutes = _window_minutes(minutes, DEFAULT_OBJECTION_MINUTES, "objection", "异议")
    if session.status not in OBJECTION_STAGES_OPEN:
        raise _wrong_state(session, "开放异议", "open the objection window")
    if hall_objection_window(section) is not None:
        raise Conflict("objection_window_open", "异议时间已开放", "the objection window is already open")
    now = clock.now()
    end = now + dt.timedelta(minutes=minutes)
    log_append(
        action=HallObjectionAction.WINDOW_OPENED,
        actor=acting_user,
        obj=session,
        data={"section": section.pk, "minutes": minutes, "end": _iso(end)},
    )
    return hall_event(
        section, "objections_opened", {"start": now.isoformat(), "end": end.isoformat(), "minutes": minutes}
    )


@transaction.atomic
def hall_objection_window_close(*, acting_user: Any, section: Section) -> HallEvent:
    _require_host(acting_user, section)
    section = _locked_section(section)
    session = _session_of(section, lock=True)
    if hall_objection_window(section) is None:
        raise _objection_window_closed(section)
    log_append(
        action=HallObjectionAction.WINDOW_CLOSED, actor=acting_user, obj=session, data={"section": section.pk}
    )
    return hall_event(section, "objections_closed", {"at": _iso(clock.now())})


def _objection_public(objection: Objection) -> dict[str, Any]:
    return {
        "id": objection.pk,
        "bidder": objection.organization.name,
        "uscc": objection.organization.uscc,
        "text": objection.text,
        "raised_at": _iso(objection.raised_at),
        "status": objection.status,
        "answer": objection.answer,
        "answered_at": _iso(objection.answered_at),
    }


def hall_objection_raise(*, acting_user: Any, section: Section, text: str) -> Objection:
    """A bidder objects to the opening on the spot, only while the host's window is open; the host
    answers on the spot (条例 Art 44: 投标人对开标有异议的，应当在开标现场提出，招标人应当当场作出答复)."""
    try:
        return _hall_objection_raise(acting_user=acting_user, section=section, text=text)
    except DomainError as exc:
        # Recorded after the refused transaction rolled back (the deadline has passed: may name).
        if getattr(acting_user, "is_authenticated", False):
            log_refusal(
                action=HallObjectionAction.RAISE_REFUSED,
                actor=acting_user,
                data={"section": section.pk, "code": exc.code},
            )
        raise


@transaction.atomic
def _hall_objection_raise(*, acting_user: Any, section: Section, text: str) -> Objection:
    require(acting_user, Permission.OBJECTION_RAISE)
    section = _locked_section(section)
    session = _session_of(section, lock=True)
    org_id = getattr(acting_user, "organization_id", None)
    if org_id is None or not session.decryptions.filter(bid__organization_id=org_id).exists():
        raise NotFound("标段", "section")  # only a bidder of this opening
    window = hall_objection_window(section)
    if window is None:
        raise _objection_window_closed(section)
    objection = disputes_services.objection_raise(
        acting_user=acting_user,
        section=section,
        stage=ObjectionStage.OPENING,
        text=text,
        answer_due=window["end"],
        suspends_section=False,  # answered on the spot: the opening goes on
    )
    hall_event(section, "objection_raised", {"objection": _objection_public(objection)})
    return objection


@transaction.atomic
def hall_objection_answer(
    *, acting_user: Any, section: Section, objection: Objection, answer: str
) -> Objection:
    _require_host(acting_user, section)
    section = _locked_section(section)
    if objection.section_id != section.pk or objection.stage != ObjectionStage.OPENING:
        raise NotFound("异议", "objection")
    objection = disputes_services.objection_answer(
        acting_user=acting_user, objection=objection, answer=answer
    )
    hall_event(section, "objection_answered", {"objection": _objection_public(objection)})
    return objection
