"""Every write of the notices app: keyword-only, typed, atomic, audited (DESIGN §3, §7).

Announcements (公告): drafted and published by the project's parties (tenderer, agent). Publishing
an opening notice (tender/procurement/grant/transfer) fixes each section's statutory timeline
(notices.timeline), makes its opening key (notices.opening_key; DESIGN §4) and opens bidding. A
published notice never changes: only a correction notice (更正公告) may change what it said.

Objections to the tender documents (条例 Art 22) are recorded by the disputes app; while one awaits
its answer the section shows it. Decision (条例 Art 22 "暂停招标投标活动"): none of this app's
steps waits for the answer —
- a correction notice, a new document version and a clarification are how the tenderer answers
  an objection, so they must not wait for it;
- obtaining the documents does not wait either: the sale period is a statutory minimum
  (条例 Art 16) that a pause would eat into, and an objector could otherwise keep competitors from
  the documents just by objecting; a bidder who obtains during the pause receives every later
  version and clarification like everyone else;
- asking a question does not wait: it only asks the tenderer to clarify.
What does wait is the next stage: the opening (a later issue) checks
``disputes.selectors.section_waits_for_objection`` before it starts.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from typing import IO, Any

from django.db import transaction

from tenderhall.accounts.models import Certificate, CertificateStatus, CertificateUsage
from tenderhall.core import clock
from tenderhall.core.blobs import clean_filename, discard, safe_extension, store_hashed
from tenderhall.core.calendar import stored_calendar
from tenderhall.core.canonical import sha256_hex
from tenderhall.core.crypto import age, certs
from tenderhall.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from tenderhall.core.models import NotificationChannel
from tenderhall.core.notifications import notification_enqueue
from tenderhall.core.permissions import Permission, require
from tenderhall.core.transparency import log_append
from tenderhall.disputes import services as disputes_services
from tenderhall.disputes.models import Objection, ObjectionStage
from tenderhall.notices import opening_key, selectors
from tenderhall.notices import timeline as timeline_rules
from tenderhall.notices.events import NoticesAction
from tenderhall.notices.models import (
    OPENING_KINDS,
    Clarification,
    DocumentObtainment,
    KeyShare,
    Notice,
    NoticeKind,
    NoticeStatus,
    OpeningKey,
    Question,
    QuestionStatus,
    TenderDocument,
)
from tenderhall.projects.models import (
    Procedure,
    Project,
    ProjectStatus,
    Section,
    SectionCustodian,
    SectionStatus,
)

MAX_DOCUMENT_BYTES = 200 * 1024 * 1024  # 200 MiB per tender-document file
MAX_TEXT = 20_000  # characters of a question, clarification or objection
TIMELINE_FIELDS = ("docs_sale_start", "docs_sale_end", "bid_deadline", "opening_at")
_UNSET: Any = object()


# ---- small helpers --------------------------------------------------------------------------------


def _require_party(user: Any, project: Project, permission: Permission) -> None:
    """The project's tenderer or agent only (the access helpers already answered 404 for others)."""
    require(user, permission)
    if not selectors.is_party(user, project):
        raise PermissionDenied(str(permission))


def _text(value: str, *, field: str, zh: str, en: str, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(f"{field}_required", f"请填写{zh}", f"{en} is required", fields={field: ""})
    if len(value) > limit:
        raise ValidationFailed(
            f"{field}_too_long",
            f"{zh}不得超过 {limit} 个字符",
            f"{en} may have at most {limit} characters",
            fields={field: ""},
        )
    return value


def _aware(value: dt.datetime | None, field: str) -> dt.datetime | None:
    """Times without a zone are Beijing time (the platform's; DESIGN §3)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=clock.LOCAL_TZ)
    return value


def _fmt(moment: dt.datetime | None) -> str:
    return f"{moment.astimezone(clock.LOCAL_TZ):%Y-%m-%d %H:%M}" if moment else "—"


def _notify(users: Iterable[Any], *, subject: str, body: str) -> None:
    """In-app and e-mail. Each message names only its own recipient's business (法 Art 22)."""
    for user in users:
        notification_enqueue(recipient=user, channel=NotificationChannel.IN_APP, subject=subject, body=body)
        if user.email:
            notification_enqueue(
                recipient=user, channel=NotificationChannel.EMAIL, subject=subject, body=body
            )


def _party_users(project: Project) -> list[Any]:
    users = list(project.tenderer.users.filter(is_active=True))
    if project.agent_id:
        users += list(project.agent.users.filter(is_active=True))  # type: ignore[union-attr]
    return users


def _locked_sections(ids: Iterable[int]) -> list[Section]:
    """Lock in primary-key order (DESIGN §3), so two publications cannot deadlock."""
    return list(
        Section.objects.select_for_update(of=("self",))
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
        .select_related("project")
    )


def _timeline_data(section: Section) -> dict[str, Any]:
    return {
        "docs_sale_start": section.docs_sale_start,
        "docs_sale_end": section.docs_sale_end,
        "bid_deadline": section.bid_deadline,
        "opening_at": section.opening_at,
    }


def _section_not_bidding(section: Section) -> Conflict:
    return Conflict(
        "section_not_bidding",
        f"标段 {section.code} 不在招标阶段（当前状态：{SectionStatus(section.status).label}）",
        f"section {section.code} is not open for bidding (status: {section.status})",
    )


def _deadline_passed_error(section: Section) -> Conflict:
    return Conflict(
        "deadline_passed",
        f"标段 {section.code} 的投标截止时间（{_fmt(section.bid_deadline)}）已过",
        f"the bid deadline of section {section.code} ({_fmt(section.bid_deadline)}) has passed",
    )


def _require_bidding(section: Section) -> None:
    if not section.is_bidding():
        raise _section_not_bidding(section)
    if selectors.deadline_passed(section):
        raise _deadline_passed_error(section)


# ---- notices --------------------------------------------------------------------------------------


def _check_kind(kind: str) -> None:
    if kind not in NoticeKind.values:
        raise ValidationFailed(
            "notice_kind_invalid",
            f"公告类型无效：{kind}",
            f"unknown notice kind: {kind}",
            fields={"kind": ""},
        )


def _project_sections(project: Project, section_ids: Sequence[int]) -> list[Section]:
    wanted = sorted(set(section_ids))
    sections = list(Section.objects.filter(project=project, pk__in=wanted).order_by("number"))
    if len(sections) != len(wanted):
        raise ValidationFailed(
            "notice_section_invalid",
            "所选标段不属于该项目",
            "a chosen section does not belong to this project",
            fields={"section_ids": ""},
        )
    return sections


def _check_draft_content(notice: Notice) -> None:
    """What a draft must already satisfy; publication checks the rest."""
    _check_kind(notice.kind)
    if notice.kind == NoticeKind.CORRECTION:
        original = notice.corrects
        if original is None:
            raise ValidationFailed(
                "correction_target_required",
                "更正公告须指明所更正的公告",
                "a correction notice names the notice it corrects",
                fields={"corrects_id": ""},
            )
        if original.status != NoticeStatus.PUBLISHED or original.project_id != notice.project_id:
            raise ValidationFailed(
                "correction_target_invalid",
                "只能更正本项目已发布的公告",
                "only a published notice of the same project can be corrected",
                fields={"corrects_id": ""},
            )
    elif notice.corrects_id is not None:
        raise ValidationFailed(
            "correction_target_unexpected",
            "只有更正公告才能指明所更正的公告",
            "only a correction notice names a notice it corrects",
            fields={"corrects_id": ""},
        )
    has_timeline = any(getattr(notice, f) is not None for f in TIMELINE_FIELDS)
    if has_timeline and notice.kind not in (*OPENING_KINDS, NoticeKind.CORRECTION):
        raise ValidationFailed(
            "notice_timeline_not_applicable",
            "只有招标（采购、出让、转让）公告和更正公告可以设定文件发售期和投标截止时间",
            "only an opening notice or a correction sets the sale period and the bid deadline",
            fields={"bid_deadline": ""},
        )


@transaction.atomic
def notice_draft(
    *,
    acting_user: Any,
    project: Project,
    kind: str,
    title: str,
    body: str,
    section_ids: Sequence[int] = (),
    corrects: Notice | None = None,
    docs_sale_start: dt.date | None = None,
    docs_sale_end: dt.date | None = None,
    bid_deadline: dt.datetime | None = None,
    opening_at: dt.datetime | None = None,
) -> Notice:
    """A draft notice of the user's project. Drafts are private to the project's parties."""
    _require_party(acting_user, project, Permission.NOTICE_PUBLISH)
    if project.status != ProjectStatus.REGISTERED:
        raise Conflict(
            "project_not_registered",
            "项目尚未登记确认，不能发布公告（服务标准 6.4.1：项目登记办结后发布）",
            "the project is not registered yet: notices follow registration (seed 001 §6.4.1)",
        )
    bid_deadline = _aware(bid_deadline, "bid_deadline")
    opening_at = _aware(opening_at, "opening_at")
    if kind in OPENING_KINDS and bid_deadline is not None and opening_at is None:
        opening_at = bid_deadline  # 法 Art 34: opened at the deadline's time
    notice = Notice(
        project=project,
        kind=kind,
        title=_text(title, field="title", zh="标题", en="a title", limit=200),
        body=_text(body, field="body", zh="公告正文", en="the body"),
        corrects=corrects,
        created_by=acting_user,
        created_at=clock.now(),
        docs_sale_start=docs_sale_start,
        docs_sale_end=docs_sale_end,
        bid_deadline=bid_deadline,
        opening_at=opening_at,
    )
    _check_draft_content(notice)
    if not section_ids and corrects is not None:
        section_ids = list(corrects.sections.values_list("pk", flat=True))
    sections = _project_sections(project, section_ids)
    notice.full_clean(exclude=["sections", "body_sha256"])
    notice.save()
    notice.sections.set(sections)
    log_append(
        action=NoticesAction.NOTICE_DRAFTED,
        actor=acting_user,
        obj=notice,
        data={
            "project": project.code,
            "kind": kind,
            "sections": [s.pk for s in sections],
            "corrects": corrects.pk if corrects else None,
            "body_sha256": sha256_hex(notice.body),
        },
    )
    return notice


def _refuse_published(notice: Notice) -> None:
    if not notice.can_edit():
        raise Conflict(
            "notice_immutable",
            "已发布的公告不得修改，如需变更请发布更正公告",
            "a published notice cannot be changed: publish a correction notice instead",
        )


@transaction.atomic
def notice_update(
    *,
    acting_user: Any,
    notice: Notice,
    title: str = _UNSET,
    body: str = _UNSET,
    section_ids: Sequence[int] = _UNSET,
    docs_sale_start: dt.date | None = _UNSET,
    docs_sale_end: dt.date | None = _UNSET,
    bid_deadline: dt.datetime | None = _UNSET,
    opening_at: dt.datetime | None = _UNSET,
) -> Notice:
    """Change a draft. A published notice is immutable (only a correction notice changes it)."""
    _require_party(acting_user, notice.project, Permission.NOTICE_PUBLISH)
    notice = (
        Notice.objects.select_for_update(of=("self",)).select_related("project", "corrects").get(pk=notice.pk)
    )
    _refuse_published(notice)
    changed: list[str] = []
    if title is not _UNSET:
        notice.title = _text(title, field="title", zh="标题", en="a title", limit=200)
        changed.append("title")
    if body is not _UNSET:
        notice.body = _text(body, field="body", zh="公告正文", en="the body")
        changed.append("body")
    for name, value in (
        ("docs_sale_start", docs_sale_start),
        ("docs_sale_end", docs_sale_end),
        ("bid_deadline", _aware(bid_deadline, "bid_deadline") if bid_deadline is not _UNSET else _UNSET),
        ("opening_at", _aware(opening_at, "opening_at") if opening_at is not _UNSET else _UNSET),
    ):
        if value is not _UNSET:
            setattr(notice, name, value)
            changed.append(name)
    if (
        notice.kind in OPENING_KINDS
        and "bid_deadline" in changed
        and "opening_at" not in changed
        and notice.bid_deadline is not None
    ):
        notice.opening_at = notice.bid_deadline  # 法 Art 34: the opening follows the deadline
    _check_draft_content(notice)
    notice.full_clean(exclude=["sections", "body_sha256"])
    notice.save()
    if section_ids is not _UNSET:
        notice.sections.set(_project_sections(notice.project, section_ids or ()))
        changed.append("sections")
    log_append(
        action=NoticesAction.NOTICE_EDITED,
        actor=acting_user,
        obj=notice,
        data={"changed": changed, "body_sha256": sha256_hex(notice.body)},
    )
    return notice


def _check_opening_time(procedure: str, deadline: dt.datetime, opening_at: dt.datetime, code: str) -> None:
    tender = procedure in (Procedure.OPEN, Procedure.INVITED)
    if (tender and opening_at != deadline) or opening_at < deadline:
        raise ValidationFailed(
            "opening_not_at_deadline",
            f"{code}：开标应当在投标截止时间的同一时间公开进行（开标 {_fmt(opening_at)}，截止 {_fmt(deadline)}）",
            f"{code}: the opening takes place at the bid deadline's time "
            f"(opening {_fmt(opening_at)}, deadline {_fmt(deadline)})",
            article="法 Art 34",
            fields={"opening_at": ""},
        )


def _enforce_dates(
    *,
    procedure: str,
    docs_sale_start: dt.date,
    docs_sale_end: dt.date,
    bid_deadline: dt.datetime,
    now: dt.datetime,
) -> Any:
    if docs_sale_end < docs_sale_start:
        raise ValidationFailed(
            "docs_sale_end_before_start",
            "招标文件发售截止日早于开始日",
            "the documents' sale ends before it starts",
            fields={"docs_sale_end": ""},
        )
    if bid_deadline <= now:
        raise ValidationFailed(
            "bid_deadline_past",
            "投标截止时间已过",
            "the bid deadline is in the past",
            fields={"bid_deadline": ""},
        )
    timeline = timeline_rules.compute_timeline(
        procedure=procedure,
        docs_issued=docs_sale_start,
        calendar=stored_calendar(),
        deadline=selectors.local_date(bid_deadline),
        docs_sale_end=docs_sale_end,
    )
    timeline_rules.enforce_timeline(timeline)
    return timeline


@transaction.atomic
def notice_publish(*, acting_user: Any, notice: Notice, affects_bid_preparation: bool = True) -> Notice:
    """Publish a draft: it becomes public and immutable (its body's SHA-256 is fixed).

    An opening notice also announces its sections (timeline, opening key, status announced); a
    correction notice may move the sections' sale period and deadline. ``affects_bid_preparation``
    concerns corrections only (法 Art 23; the correction's own declaration, logged)."""
    _require_party(acting_user, notice.project, Permission.NOTICE_PUBLISH)
    notice = (
        Notice.objects.select_for_update(of=("self",)).select_related("project", "corrects").get(pk=notice.pk)
    )
    _refuse_published(notice)
    project = notice.project
    if project.status != ProjectStatus.REGISTERED:
        raise Conflict(
            "project_not_registered",
            "项目尚未登记确认，不能发布公告",
            "the project is not registered yet",
        )
    _check_draft_content(notice)
    now = clock.now()
    sections = _locked_sections(notice.sections.values_list("pk", flat=True))
    if notice.kind in OPENING_KINDS:
        _publish_opening(acting_user=acting_user, notice=notice, sections=sections, now=now)
    elif notice.kind == NoticeKind.CORRECTION:
        _publish_correction(
            acting_user=acting_user,
            notice=notice,
            sections=sections,
            now=now,
            affects_bid_preparation=affects_bid_preparation,
        )
    notice.status = NoticeStatus.PUBLISHED
    notice.published_by = acting_user
    notice.published_at = now
    notice.body_sha256 = sha256_hex(notice.body)
    notice.save(update_fields=["status", "published_by", "published_at", "body_sha256"])
    log_append(
        action=NoticesAction.NOTICE_PUBLISHED,
        actor=acting_user,
        obj=notice,
        data={
            "project": project.code,
            "kind": notice.kind,
            "title": notice.title,
            "body_sha256": notice.body_sha256,
            "sections": [s.pk for s in sections],
            "corrects": notice.corrects_id,
            "affects_bid_preparation": affects_bid_preparation
            if notice.kind == NoticeKind.CORRECTION
            else None,
            **{f: getattr(notice, f) for f in TIMELINE_FIELDS},
        },
    )
    return notice


def _publish_opening(*, acting_user: Any, notice: Notice, sections: list[Section], now: dt.datetime) -> None:
    missing = [f for f in ("docs_sale_start", "docs_sale_end", "bid_deadline") if getattr(notice, f) is None]
    if missing:
        raise ValidationFailed(
            "notice_timeline_required",
            "招标公告须载明招标文件发售期和投标截止时间",
            "an opening notice states the documents' sale period and the bid deadline",
            fields={f: "" for f in missing},
        )
    if not sections:
        raise ValidationFailed(
            "notice_sections_required",
            "招标公告须至少包含一个标段",
            "an opening notice covers at least one section",
            fields={"section_ids": ""},
        )
    assert notice.docs_sale_start and notice.docs_sale_end and notice.bid_deadline
    today = selectors.local_date(now)
    if notice.docs_sale_start < today:
        raise ValidationFailed(
            "docs_sale_start_past",
            f"招标文件发售开始日 {notice.docs_sale_start} 早于今天 {today}",
            f"the documents' sale starts {notice.docs_sale_start}, before today {today}",
            fields={"docs_sale_start": ""},
        )
    procedure = notice.project.procedure
    _enforce_dates(
        procedure=procedure,
        docs_sale_start=notice.docs_sale_start,
        docs_sale_end=notice.docs_sale_end,
        bid_deadline=notice.bid_deadline,
        now=now,
    )
    if notice.opening_at is None:
        notice.opening_at = notice.bid_deadline  # 法 Art 34
        notice.save(update_fields=["opening_at"])
    _check_opening_time(procedure, notice.bid_deadline, notice.opening_at, notice.project.code)
    for section in sections:
        if not section.can_announce():
            raise Conflict(
                "section_not_registered",
                f"标段 {section.code} 不是待公告状态（当前：{SectionStatus(section.status).label}）",
                f"section {section.code} cannot be announced (status: {section.status})",
            )
    # Check every custodian before any key is made: a refusal names all that is missing at once.
    custodians = {section.pk: _custodian_recipients(section) for section in sections}
    for section in sections:
        _make_opening_key(
            acting_user=acting_user, section=section, custodians=custodians[section.pk], now=now
        )
        section.docs_sale_start = notice.docs_sale_start
        section.docs_sale_end = notice.docs_sale_end
        section.bid_deadline = notice.bid_deadline
        section.opening_at = notice.opening_at
        section.announced_at = now
        section.status = SectionStatus.ANNOUNCED
        section.save(update_fields=[*TIMELINE_FIELDS, "announced_at", "status"])
        log_append(
            action=NoticesAction.SECTION_ANNOUNCED,
            actor=acting_user,
            obj=section,
            data={"notice": notice.pk, "section": section.code, **_timeline_data(section)},
        )


# ---- opening keys (DESIGN §4) ---------------------------------------------------------------------


def _encryption_recipient(user: Any, now: dt.datetime) -> age.X25519Recipient | None:
    """The custodian's active X25519 encryption certificate: its own first, else its organization's
    unassigned one; the newest of each."""
    candidates = Certificate.objects.filter(
        usage=CertificateUsage.ENCRYPTION,
        status=CertificateStatus.ACTIVE,
        organization_id=user.organization_id,
        not_before__lte=now,
        not_after__gt=now,
    ).order_by("-registered_at", "-pk")
    ordered = [c for c in candidates if c.holder_id == user.pk] + [
        c for c in candidates if c.holder_id is None
    ]
    for certificate in ordered:
        try:
            public_key = certs.load_certificate(certificate.certificate_pem).public_key()
            return age.X25519Recipient(public_key)  # type: ignore[arg-type]
        except (DomainError, TypeError, ValueError):
            continue  # not an X25519 key after all: try the next one
    return None


def _custodian_recipients(section: Section) -> list[tuple[Any, age.X25519Recipient]]:
    custodians = list(
        SectionCustodian.objects.filter(section=section).select_related("user").order_by("order", "pk")
    )
    k, n = section.custodian_threshold, len(custodians)
    if not 2 <= k <= n:
        raise ValidationFailed(
            "custodians_insufficient",
            f"标段 {section.code} 的开标密钥需要 {k} 名保管人中的多数共同恢复，但只指定了 {n} 名保管人"
            "（至少 2 名，且不少于门限）",
            f"section {section.code}: the opening key needs a threshold k={k} of n={n} custodians "
            "(at least 2, and n ≥ k)",
        )
    pairs: list[tuple[Any, age.X25519Recipient]] = []
    lacking: list[str] = []
    now = clock.now()
    for custodian in custodians:
        user = custodian.user
        recipient = _encryption_recipient(user, now) if user.is_active else None
        if recipient is None:
            lacking.append(user.get_username())
        else:
            pairs.append((user, recipient))
    if lacking:
        names = "、".join(lacking)
        raise ValidationFailed(
            "custodian_certificate_missing",
            f"标段 {section.code} 的密钥保管人 {names} 没有有效的加密证书，无法向其分发开标密钥分片",
            f"section {section.code}: custodian {', '.join(lacking)} has no active encryption "
            "certificate to receive an opening-key share",
            extra={"custodians": lacking, "section": section.code},
        )
    return pairs


def _make_opening_key(
    *,
    acting_user: Any,
    section: Section,
    custodians: list[tuple[Any, age.X25519Recipient]],
    now: dt.datetime,
) -> OpeningKey:
    """DESIGN §4: a fresh seed, its public key stored and published, the seed itself split k-of-n
    and sealed to the custodians. The seed and the plain shares live only in this function's
    locals: never logged, never stored, dropped before it returns."""
    k, n = section.custodian_threshold, len(custodians)
    seed = opening_key.new_seed()
    try:
        recipient = opening_key.recipient_for(seed, section_id=section.pk)
        shares = opening_key.split_seed(seed, k=k, n=n)
        sealed = [
            (index, opening_key.share_hash(index, share), opening_key.seal_share(index, share, to))
            for (index, share), (_, to) in zip(shares, custodians, strict=True)
        ]
    finally:
        seed = b""
        shares = []
    key = OpeningKey.objects.create(
        section=section,
        public_key=age.X25519Recipient.from_string(recipient).public_bytes.hex(),
        recipient=recipient,
        threshold=k,
        share_count=n,
        created_at=now,
    )
    log_append(
        action=NoticesAction.OPENING_KEY_CREATED,
        actor=acting_user,
        obj=key,
        data={
            "section": section.pk,
            "recipient": recipient,
            "public_key": key.public_key,
            "threshold": k,
            "share_count": n,
        },
    )
    for (index, digest, blob), (custodian, _) in zip(sealed, custodians, strict=True):
        event = log_append(
            action=NoticesAction.KEY_SHARE_COMMITTED,
            actor=acting_user,
            obj=key,
            data={
                "section": section.pk,
                "share_index": index,
                "share_sha256": digest,
                "custodian": custodian.get_username(),
                "sealed_sha256": sha256_hex(blob),
            },
        )
        KeyShare.objects.create(
            opening_key=key,
            custodian=custodian,
            share_index=index,
            encrypted_share=blob,
            share_sha256=digest,
            log_index=event.index,
        )
    return key


# ---- corrections ----------------------------------------------------------------------------------


def _root_notice(notice: Notice) -> Notice:
    seen = set()
    while notice.kind == NoticeKind.CORRECTION and notice.corrects_id and notice.pk not in seen:
        seen.add(notice.pk)
        notice = Notice.objects.select_related("corrects").get(pk=notice.corrects_id)
    return notice


def _publish_correction(
    *,
    acting_user: Any,
    notice: Notice,
    sections: list[Section],
    now: dt.datetime,
    affects_bid_preparation: bool,
) -> None:
    assert notice.corrects is not None
    original_sections = set(notice.corrects.sections.values_list("pk", flat=True))
    if any(s.pk not in original_sections for s in sections):
        raise ValidationFailed(
            "notice_section_invalid",
            "更正公告只能涉及被更正公告的标段",
            "a correction covers only sections of the notice it corrects",
            fields={"section_ids": ""},
        )
    moves = any(getattr(notice, f) is not None for f in TIMELINE_FIELDS)
    opening_root = _root_notice(notice.corrects).kind in OPENING_KINDS
    if moves and not opening_root:
        raise ValidationFailed(
            "notice_timeline_not_applicable",
            "只有对招标（采购、出让、转让）公告的更正才能变更发售期和投标截止时间",
            "only a correction of an opening notice may move the sale period and the deadline",
            fields={"bid_deadline": ""},
        )
    if not opening_root:
        return
    calendar = stored_calendar()
    today = selectors.local_date(now)
    procedure = notice.project.procedure
    for section in sections:
        if not section.is_bidding():
            if moves:
                raise _section_not_bidding(section)
            continue
        if selectors.deadline_passed(section):
            raise _deadline_passed_error(section)
        assert section.docs_sale_start and section.docs_sale_end and section.bid_deadline
        before = _timeline_data(section)
        start = notice.docs_sale_start or section.docs_sale_start
        end = notice.docs_sale_end or section.docs_sale_end
        deadline = notice.bid_deadline or section.bid_deadline
        if notice.opening_at is not None:
            opening = notice.opening_at
        elif notice.bid_deadline is not None:
            opening = deadline + ((section.opening_at or section.bid_deadline) - section.bid_deadline)
        else:
            opening = section.opening_at or deadline
        if notice.docs_sale_start is not None and start != section.docs_sale_start and start < today:
            raise ValidationFailed(
                "docs_sale_start_past",
                f"招标文件发售开始日 {start} 早于今天 {today}",
                f"the documents' sale starts {start}, before today {today}",
                fields={"docs_sale_start": ""},
            )
        if moves:
            _enforce_dates(
                procedure=procedure, docs_sale_start=start, docs_sale_end=end, bid_deadline=deadline, now=now
            )
            _check_opening_time(procedure, deadline, opening, section.code)
        if affects_bid_preparation:
            # 法 Art 23 / 条例 Art 21: a modification fewer than 15 days before the deadline moves it.
            earliest = timeline_rules.earliest_deadline_after_clarification(
                procedure=procedure, issued_on=today, calendar=calendar
            )
            if selectors.local_date(deadline) < earliest:
                raise _postponement_needed(
                    section, earliest, procedure, given=notice.bid_deadline, what="correction"
                )
        if not moves:
            continue
        section.docs_sale_start, section.docs_sale_end = start, end
        section.bid_deadline, section.opening_at = deadline, opening
        section.save(update_fields=list(TIMELINE_FIELDS))
        log_append(
            action=NoticesAction.SECTION_TIMELINE_CHANGED,
            actor=acting_user,
            obj=section,
            data={
                "by": "correction",
                "notice": notice.pk,
                "before": before,
                "after": _timeline_data(section),
            },
        )
    for section in sections:
        _notify(
            selectors.obtainers_to_notify(section),
            subject=f"更正公告 / Correction notice: {section.code}",
            body=(
                f"{notice.title}\n\n{notice.body}\n\n"
                f"投标截止时间 / bid deadline: {_fmt(section.bid_deadline)}\n"
                f"开标时间 / opening: {_fmt(section.opening_at)}"
            ),
        )


def _postponement_needed(
    section: Section, earliest: dt.date, procedure: str, *, given: dt.datetime | None, what: str
) -> ValidationFailed:
    assert section.docs_sale_start
    rule = timeline_rules.compute_timeline(
        procedure=procedure, docs_issued=section.docs_sale_start, calendar=stored_calendar()
    ).rule(timeline_rules.CLARIFICATION_CUTOFF)
    given_zh = f"（所给截止时间：{_fmt(given)}）" if given else "（未给出新的截止时间）"
    given_en = f" (given: {_fmt(given)})" if given else " (no new deadline given)"
    kind_zh = "更正" if what == "correction" else "澄清或修改"
    kind_en = "correction" if what == "correction" else "clarification"
    return ValidationFailed(
        f"{what}_needs_postponement",
        f"标段 {section.code}：该{kind_zh}可能影响投标文件编制，且距投标截止时间不足法定期限，"
        f"投标截止时间须顺延至 {earliest.isoformat()} 或以后{given_zh}",
        f"section {section.code}: this {kind_en} may affect bid preparation and comes too close to the "
        f"deadline; the bid deadline must move to {earliest.isoformat()} or later{given_en}",
        article=rule.article,
        fields={"new_deadline" if what == "clarification" else "bid_deadline": ""},
        extra={"earliest_deadline": earliest.isoformat(), "section": section.code},
    )


# ---- tender documents -----------------------------------------------------------------------------


def _too_large(limit: int) -> DomainError:
    return DomainError(
        "document_too_large",
        f"招标文件不得超过 {limit // (1024 * 1024)} MiB",
        f"a tender-document file may be at most {limit // (1024 * 1024)} MiB",
        status=413,
        fields={"file": ""},
    )


@transaction.atomic
def document_publish(
    *,
    acting_user: Any,
    section: Section,
    file: IO[bytes],
    filename: str,
    note: str = "",
    size: int | None = None,
) -> TenderDocument:
    """Publish a new version of the section's tender documents (招标文件), streamed to storage
    with its SHA-256. Everyone who obtained an earlier version is told. Not suspended by a pending
    objection: a new version is how the tenderer answers one (条例 Art 22)."""
    _require_party(acting_user, section.project, Permission.DOCUMENT_PUBLISH)
    section = Section.objects.select_for_update(of=("self",)).select_related("project").get(pk=section.pk)
    if section.status not in (SectionStatus.REGISTERED, SectionStatus.ANNOUNCED):
        raise _section_not_bidding(section)
    if selectors.deadline_passed(section):
        raise _deadline_passed_error(section)
    name = clean_filename(filename)
    if size is not None and size > MAX_DOCUMENT_BYTES:
        raise _too_large(MAX_DOCUMENT_BYTES)
    note = (note or "").strip()[:2000]
    previous = selectors.latest_document(section)
    version = (previous.version if previous else 0) + 1
    now = clock.now()
    blob = store_hashed(
        file,
        # Our own short name (FileField holds 100 characters); the user's name is kept in the row.
        path=f"tender-documents/{now:%Y/%m}/{section.pk}-v{version}-{secrets.token_hex(8)}{safe_extension(name)}",
        limit=MAX_DOCUMENT_BYTES,
        too_large=lambda _size: _too_large(MAX_DOCUMENT_BYTES),
        empty=ValidationFailed(
            "document_empty", "上传的文件是空的", "the uploaded file is empty", fields={"file": ""}
        ),
    )
    try:
        document = TenderDocument.objects.create(
            section=section,
            version=version,
            filename=name,
            file=blob.name,
            sha256=blob.sha256,
            size=blob.size,
            note=note,
            published_by=acting_user,
            published_at=now,
        )
        log_append(
            action=NoticesAction.DOCUMENT_PUBLISHED,
            actor=acting_user,
            obj=document,
            data={
                "section": section.pk,
                "version": version,
                "filename": name,
                "sha256": document.sha256,
                "size": document.size,
                "note_sha256": sha256_hex(note) if note else "",
            },
        )
    except BaseException:
        discard(blob.name)  # no file without its row
        raise
    if previous is not None:
        _notify(
            selectors.obtainers_to_notify(section),
            subject=f"招标文件已更新 / New tender documents: {section.code} v{version}",
            body=(
                f"标段 {section.code} 发布了第 {version} 版招标文件（{name}，SHA-256 {document.sha256}），"
                f"请登录获取。\nSection {section.code} published version {version} of its tender "
                f"documents; sign in to obtain it.\n\n{note}"
            ),
        )
    return document


@transaction.atomic
def document_obtain(*, acting_user: Any, section: Section) -> DocumentObtainment:
    """A bidder obtains the latest version of the documents (条例 Art 16: during the sale period).
    An organization that already obtained an earlier version may obtain the new one until the
    deadline: it was sent to it (法 Art 23). Idempotent for a version already obtained."""
    require(acting_user, Permission.DOCUMENT_OBTAIN)
    section = Section.objects.select_for_update(of=("self",)).select_related("project").get(pk=section.pk)
    _require_bidding(section)
    document = selectors.latest_document(section)
    if document is None:
        raise Conflict(
            "documents_not_published",
            f"标段 {section.code} 尚未发布招标文件",
            f"section {section.code} has no tender documents yet",
        )
    org = acting_user.organization
    existing = DocumentObtainment.objects.filter(document=document, organization=org).first()
    if existing is not None:
        return existing
    today = clock.today_local()
    earlier = DocumentObtainment.objects.filter(section=section, organization=org).exists()
    assert section.docs_sale_start and section.docs_sale_end
    if not earlier and not section.docs_sale_start <= today <= section.docs_sale_end:
        raise Conflict(
            "documents_sale_closed",
            f"招标文件发售期为 {section.docs_sale_start} 至 {section.docs_sale_end}，今天（{today}）不在发售期内",
            f"the documents are on sale from {section.docs_sale_start} to {section.docs_sale_end}; "
            f"today ({today}) is outside that period",
            article="条例 Art 16",
            extra={
                "docs_sale_start": section.docs_sale_start.isoformat(),
                "docs_sale_end": section.docs_sale_end.isoformat(),
            },
        )
    obtainment = DocumentObtainment.objects.create(
        document=document, section=section, organization=org, user=acting_user, obtained_at=clock.now()
    )
    # Sealed: audit roles read the log and must not learn before the deadline who obtained the
    # documents, or from which address (法 Art 22); the commitment lets the platform prove it later.
    log_append(
        action=NoticesAction.DOCUMENT_OBTAINED,
        actor=acting_user,
        obj=obtainment,
        data={"section": section.pk, "document": document.pk},
        sealed=True,
    )
    return obtainment


# ---- questions and clarifications (答疑澄清) -------------------------------------------------------


def _require_obtained(user: Any, section: Section) -> None:
    if not selectors.has_obtained(user.organization_id, section):
        raise DomainError(
            "documents_not_obtained",
            "只有已获取招标文件的潜在投标人才能办理此事项，请先获取招标文件",
            "only a bidder who obtained the tender documents may do this: obtain them first",
            status=403,
        )


@transaction.atomic
def question_ask(*, acting_user: Any, section: Section, text: str) -> Question:
    """A bidder who obtained the documents asks, until the clarification cutoff (法 Art 23). Its
    identity is shown to nobody outside the trading centre."""
    require(acting_user, Permission.QUESTION_ASK)
    section = Section.objects.select_related("project").get(pk=section.pk)
    _require_bidding(section)
    _require_obtained(acting_user, section)
    text = _text(text, field="text", zh="问题内容", en="the question")
    rule = selectors.section_timeline(section).rule(timeline_rules.CLARIFICATION_CUTOFF)
    today = clock.today_local()
    if rule.latest is not None and today > rule.latest:
        raise Conflict(
            "question_after_cutoff",
            f"提问截止日为 {rule.latest}（澄清或修改须在投标截止时间前法定期限内发出），今天（{today}）已过",
            f"questions closed on {rule.latest} (clarifications must go out a statutory period before "
            f"the deadline); today is {today}",
            article=rule.article,
            extra={"cutoff": rule.latest.isoformat()},
        )
    question = Question.objects.create(
        section=section,
        organization=acting_user.organization,
        asked_by=acting_user,
        text=text,
        asked_at=clock.now(),
    )
    # Sealed: the asker is shown to nobody outside the trading centre, log readers included.
    log_append(
        action=NoticesAction.QUESTION_ASKED,
        actor=acting_user,
        obj=question,
        data={"section": section.pk, "text_sha256": sha256_hex(text)},
        sealed=True,
    )
    # The parties learn that a question came, never from whom.
    _notify_parties(
        section.project,
        subject=f"新的投标人提问 / New question: {section.code}",
        body=text,
    )
    return question


def _notify_parties(project: Project, *, subject: str, body: str) -> None:
    for user in _party_users(project):
        notification_enqueue(recipient=user, channel=NotificationChannel.IN_APP, subject=subject, body=body)


@transaction.atomic
def clarification_publish(
    *,
    acting_user: Any,
    section: Section,
    text: str,
    affects_bid_preparation: bool = True,
    question_ids: Sequence[int] = (),
    new_deadline: dt.datetime | None = None,
) -> Clarification:
    """Publish a clarification or modification (答疑澄清) to everyone who obtained the documents.

    法 Art 23 / 条例 Art 21: one that may affect bid preparation, issued fewer than 15 days before
    the deadline, moves the deadline to at least 15 days after its issue; ``new_deadline`` must
    be that late, or the clarification is refused naming the earliest lawful date."""
    _require_party(acting_user, section.project, Permission.CLARIFICATION_PUBLISH)
    section = _locked_sections([section.pk])[0]
    _require_bidding(section)
    text = _text(text, field="text", zh="澄清内容", en="the clarification")
    assert section.bid_deadline and section.docs_sale_start
    questions = list(
        Question.objects.select_for_update(of=("self",)).filter(
            section=section, pk__in=sorted(set(question_ids))
        )
    )
    if len(questions) != len(set(question_ids)):
        raise ValidationFailed(
            "question_invalid",
            "所答复的问题不属于该标段",
            "an answered question does not belong to this section",
            fields={"question_ids": ""},
        )
    now = clock.now()
    today = selectors.local_date(now)
    procedure = section.project.procedure
    calendar = stored_calendar()
    new_deadline = _aware(new_deadline, "new_deadline")
    before = section.bid_deadline
    if affects_bid_preparation and timeline_rules.clarification_forces_postponement(
        procedure=procedure, issued_on=today, deadline=selectors.local_date(before), calendar=calendar
    ):
        earliest = timeline_rules.earliest_deadline_after_clarification(
            procedure=procedure, issued_on=today, calendar=calendar, docs_issued=section.docs_sale_start
        )
        if new_deadline is None or selectors.local_date(new_deadline) < earliest:
            raise _postponement_needed(section, earliest, procedure, given=new_deadline, what="clarification")
    timeline_before = _timeline_data(section)
    if new_deadline is not None:
        if new_deadline <= before:
            raise ValidationFailed(
                "deadline_not_later",
                f"澄清只能顺延投标截止时间（现为 {_fmt(before)}）",
                f"a clarification can only move the deadline later (now {_fmt(before)})",
                fields={"new_deadline": ""},
            )
        assert section.docs_sale_end
        _enforce_dates(
            procedure=procedure,
            docs_sale_start=section.docs_sale_start,
            docs_sale_end=section.docs_sale_end,
            bid_deadline=new_deadline,
            now=now,
        )
        # 法 Art 34: the opening moves with the deadline (keeping any gap the procedure allows).
        section.opening_at = new_deadline + ((section.opening_at or before) - before)
        section.bid_deadline = new_deadline
        section.save(update_fields=["bid_deadline", "opening_at"])
    clarification = Clarification.objects.create(
        section=section,
        text=text,
        affects_bid_preparation=affects_bid_preparation,
        deadline_before=before if new_deadline is not None else None,
        deadline_after=new_deadline,
        published_by=acting_user,
        published_at=now,
    )
    for question in questions:
        question.status = QuestionStatus.ANSWERED
        question.answer = clarification
        question.save(update_fields=["status", "answer"])
    log_append(
        action=NoticesAction.CLARIFICATION_PUBLISHED,
        actor=acting_user,
        obj=clarification,
        data={
            "section": section.pk,
            "text_sha256": sha256_hex(text),
            "affects_bid_preparation": affects_bid_preparation,
            "questions": sorted(q.pk for q in questions),
            "deadline_before": clarification.deadline_before,
            "deadline_after": clarification.deadline_after,
        },
    )
    if new_deadline is not None:
        log_append(
            action=NoticesAction.SECTION_TIMELINE_CHANGED,
            actor=acting_user,
            obj=section,
            data={
                "by": "clarification",
                "clarification": clarification.pk,
                "before": timeline_before,
                "after": _timeline_data(section),
            },
        )
    moved = (
        f"\n\n投标截止时间顺延至 / the bid deadline moves to: {_fmt(section.bid_deadline)}；"
        f"开标时间 / opening: {_fmt(section.opening_at)}"
        if new_deadline is not None
        else ""
    )
    _notify(
        selectors.obtainers_to_notify(section),
        subject=f"答疑澄清 / Clarification: {section.code}",
        body=f"{text}{moved}",
    )
    return clarification


# ---- objections to the documents (条例 Art 22) ----------------------------------------------------


def _end_of_local_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=clock.LOCAL_TZ)


@transaction.atomic
def document_objection_raise(*, acting_user: Any, section: Section, text: str) -> Objection:
    """条例 Art 22: a bidder who obtained the documents may object until 10 days before the
    deadline; the tenderer answers within 3 days and the section shows it is waiting."""
    require(acting_user, Permission.OBJECTION_RAISE)
    section = Section.objects.select_related("project").get(pk=section.pk)
    _require_bidding(section)
    _require_obtained(acting_user, section)
    text = _text(text, field="text", zh="异议内容", en="the objection")
    assert section.bid_deadline
    calendar = stored_calendar()
    today = clock.today_local()
    cutoff = timeline_rules.objection_cutoff(
        procedure=section.project.procedure,
        deadline=selectors.local_date(section.bid_deadline),
        calendar=calendar,
    )
    if cutoff is not None and today > cutoff:
        raise Conflict(
            "objection_after_cutoff",
            f"对招标文件的异议应在投标截止时间10日前提出（最晚 {cutoff}），今天（{today}）已过",
            f"objections to the tender documents close 10 days before the deadline (last day {cutoff}); "
            f"today is {today}",
            article="条例 Art 22",
            extra={"cutoff": cutoff.isoformat()},
        )
    due = timeline_rules.objection_answer_due(received_on=today, calendar=calendar)
    return disputes_services.objection_raise(
        acting_user=acting_user,
        section=section,
        stage=ObjectionStage.TENDER_DOCUMENTS,
        text=text,
        answer_due=_end_of_local_day(due),
    )
