"""Reads of the bidding app and its access helpers (fetch and authorize in one call).

Who sees what (DESIGN §4, 法 Art 22): before the bid deadline nobody but the bidder itself learns
that it bid, or how many bids a section has — not staff, not the agent, not supervisors. So every
read here is scoped to the caller's own organization: a bidder sees its own uploads and bids and
nothing else (another organization's upload answers "not found"). The evidence kept for collusion
checks (source address, user agent) is shown to supervisors (BID_EVIDENCE_VIEW) only, and only
after the deadline.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from tenderhall.bidding.models import Bid, BidStatus, UploadSession, UploadStatus
from tenderhall.core import clock
from tenderhall.core.errors import DomainError, NotFound
from tenderhall.core.permissions import Permission, require
from tenderhall.notices import selectors as notices_selectors
from tenderhall.notices.models import DocumentObtainment, OpeningKey
from tenderhall.projects.models import Section


class NoBid(DomainError):
    status = 404

    def __init__(self) -> None:
        super().__init__(
            "no_bid", "贵单位在该标段没有有效的投标文件", "your organization has no live bid for this section"
        )


class BidsSealed(DomainError):
    status = 403

    def __init__(self, section: Section) -> None:
        super().__init__(
            "bids_sealed",
            f"标段 {section.code} 的投标截止时间未到：投标人及其数量保密",
            f"the bid deadline of section {section.code} has not passed: who bid, and how many did, is secret",
            article="法 Art 22",
        )


# ---- access helpers ---------------------------------------------------------------------------------


def bidding_section(user: Any, pk: int) -> Section:
    """An announced section, for a bidder (its bid pages and the upload API)."""
    require(user, Permission.BID_SUBMIT)
    return notices_selectors.public_section(pk)


def _parse_upload_id(value: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def upload_for_user(user: Any, upload_id: str | uuid.UUID) -> UploadSession:
    """One upload of the caller's organization; anyone else's (or a malformed id) is not found."""
    require(user, Permission.BID_SUBMIT)
    pk = _parse_upload_id(upload_id)
    upload = (
        UploadSession.objects.select_related("section__project")
        .filter(pk=pk, organization_id=user.organization_id)
        .first()
        if pk is not None and user.organization_id is not None
        else None
    )
    if upload is None:
        raise NotFound("上传任务", "upload")
    return upload


def own_bids(user: Any) -> QuerySet[Bid]:
    require(user, Permission.BID_SUBMIT)
    return Bid.objects.filter(organization_id=user.organization_id).select_related("section__project")


def bid_for_user(user: Any, pk: int) -> Bid:
    bid = own_bids(user).filter(pk=pk).first()
    if bid is None:
        raise NotFound("投标文件", "bid")
    return bid


def live_bid(user: Any, section: Section) -> Bid | None:
    """The organization's submitted (not replaced, not withdrawn) bid for the section."""
    return own_bids(user).filter(section=section, status=BidStatus.SUBMITTED).first()


def live_bid_or_404(user: Any, section: Section) -> Bid:
    bid = live_bid(user, section)
    if bid is None:
        raise NoBid()
    return bid


def opening_key_of(section: Section) -> OpeningKey | None:
    return OpeningKey.objects.filter(section=section).first()


def upload_status(upload: UploadSession) -> dict[str, Any]:
    """``GET /uploads/{id}``: where to resume (an open upload past its time reads "expired")."""
    status = upload.status
    if status == UploadStatus.OPEN and clock.now() >= upload.expires_at:
        status = UploadStatus.EXPIRED
    return {
        "upload_id": str(upload.pk),
        "size": upload.size,
        "received": upload.received,
        "status": str(status),
        "expires_at": upload.expires_at,
    }


# ---- the bidder's pages -----------------------------------------------------------------------------


def countdown_text(deadline: dt.datetime | None, now: dt.datetime) -> str:
    if deadline is None:
        return ""
    left = int((deadline - now).total_seconds())
    if left <= 0:
        return _("The bid deadline has passed.")
    days, rest = divmod(left, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return _("%(days)d d %(hours)d h %(minutes)d min left") % {
            "days": days,
            "hours": hours,
            "minutes": minutes,
        }
    if hours or minutes:
        return _("%(hours)d h %(minutes)d min left") % {"hours": hours, "minutes": minutes}
    return _("less than a minute left")


@dataclass(frozen=True)
class SectionBidState:
    """One section as the bidder sees it on its pages: its own bid and uploads, nothing else."""

    section: Section
    deadline_local: dt.datetime | None
    deadline_passed: bool
    countdown: str
    obtained: bool
    bid: Bid | None  # the live bid
    last_withdrawn: Bid | None  # shown when there is no live bid
    upload: UploadSession | None  # an open upload (a first bid or a replacement)

    @property
    def status(self) -> str:
        if self.upload is not None:
            return "uploading"
        if self.bid is not None:
            return "submitted"
        if self.last_withdrawn is not None:
            return "withdrawn"
        return "none"

    @property
    def can_withdraw(self) -> bool:
        return self.bid is not None and not self.deadline_passed


def _state(user: Any, section: Section, *, obtained: bool, now: dt.datetime) -> SectionBidState:
    org_id = user.organization_id
    bids = Bid.objects.filter(section=section, organization_id=org_id)
    upload = (
        UploadSession.objects.filter(
            section=section, organization_id=org_id, status=UploadStatus.OPEN, expires_at__gt=now
        )
        .order_by("-created_at")
        .first()
    )
    bid = bids.filter(status=BidStatus.SUBMITTED).first()
    withdrawn = None if bid else bids.filter(status=BidStatus.WITHDRAWN).order_by("-withdrawn_at").first()
    deadline = section.bid_deadline
    return SectionBidState(
        section=section,
        deadline_local=notices_selectors.local_time(deadline),
        deadline_passed=deadline is not None and now >= deadline,
        countdown=countdown_text(deadline, now),
        obtained=obtained,
        bid=bid,
        last_withdrawn=withdrawn,
        upload=upload,
    )


def my_sections(user: Any) -> list[SectionBidState]:
    """The sections the bidder's organization obtained documents for, nearest deadline first."""
    require(user, Permission.BID_SUBMIT)
    section_ids = (
        DocumentObtainment.objects.filter(organization_id=user.organization_id)
        .values_list("section_id", flat=True)
        .distinct()
    )
    sections = Section.objects.filter(pk__in=list(section_ids)).select_related("project")
    now = clock.now()
    rows = [_state(user, s, obtained=True, now=now) for s in sections]
    rows.sort(key=lambda r: (r.section.bid_deadline is None, r.section.bid_deadline or now))
    return rows


def section_bid_state(user: Any, section: Section) -> SectionBidState:
    require(user, Permission.BID_SUBMIT)
    obtained = notices_selectors.has_obtained(user.organization_id, section)
    return _state(user, section, obtained=obtained, now=clock.now())


# ---- evidence for supervisors ----------------------------------------------------------------------


def bid_evidence(user: Any, section: Section) -> list[Bid]:
    """Every bid of the section with where it came from, for collusion checks: supervisors only,
    after the deadline only (before it, even the number of bids is secret)."""
    require(user, Permission.BID_EVIDENCE_VIEW)
    if not notices_selectors.deadline_passed(section):
        raise BidsSealed(section)
    return list(
        Bid.objects.filter(section=section)
        .select_related("organization", "submitted_by", "upload")
        .order_by("organization__name", "received_at")
    )


def evidence_section(user: Any, pk: int) -> Section:
    require(user, Permission.BID_EVIDENCE_VIEW)
    section = Section.objects.select_related("project").filter(pk=pk, announced_at__isnull=False).first()
    if section is None:
        raise NotFound("标段", "section")
    return section
