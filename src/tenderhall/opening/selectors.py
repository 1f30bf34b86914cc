"""Reads of the opening hall: who may see which hall, its state, its events and the table."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tenderhall.bidding.models import Bid, BidStatus
from tenderhall.core import clock
from tenderhall.core.crypto import age
from tenderhall.core.errors import Conflict, NotFound
from tenderhall.core.permissions import Permission, has_permission
from tenderhall.notices import selectors as notices_selectors
from tenderhall.opening.models import Decryption, HallEvent, HallSignIn, OpeningSession, OpeningStatus
from tenderhall.opening.services import decryption_public, session_public
from tenderhall.projects.models import Section


def hall_section(user: Any, pk: int) -> Section:
    """A section whose hall the user may watch: the project's parties (host), staff, supervisors
    and auditors, and bidders whose organization obtained the documents; others get 404."""
    section = notices_selectors.section_for_user(user, pk)
    access = notices_selectors.section_access(user, section)
    if not (access.party or access.reader or access.obtained):
        raise NotFound("标段", "section")
    return section


def session_or_none(section: Section) -> OpeningSession | None:
    return OpeningSession.objects.filter(section=section).first()


def hall_state(user: Any, section: Section) -> dict[str, Any]:
    """The hall as this user sees it. The bidder list only after the deadline (法 Art 22)."""
    session = session_or_none(section)
    deadline_passed = notices_selectors.deadline_passed(section)
    mine: dict[str, Any] = {"signed_in": HallSignIn.objects.filter(section=section, user=user).exists()}
    org_id = getattr(user, "organization_id", None)
    if session is not None and org_id is not None and has_permission(user, Permission.OPENING_UNLOCK):
        own = (
            Decryption.objects.select_related("bid__organization")
            .filter(session=session, bid__organization_id=org_id)
            .first()
        )
        mine["bid"] = decryption_public(own) if own is not None else None
    bidders = None
    if deadline_passed and session is not None:
        bidders = [
            decryption_public(d)
            for d in session.decryptions.select_related("bid__organization").order_by(
                "bid__received_at", "bid_id"
            )
        ]
    last = (
        HallEvent.objects.filter(section=section).order_by("-seq").values_list("seq", flat=True).first() or 0
    )
    return {
        "section": {"id": section.pk, "code": section.code, "name": section.name, "status": section.status},
        "bid_deadline": section.bid_deadline,
        "opening_at": section.opening_at,
        "now": clock.now(),
        "session": session_public(session) if session is not None else None,
        "me": mine,
        "bidders": bidders,
        "last_seq": last,
    }


def hall_events(section: Section, after: int = 0) -> QuerySet[HallEvent]:
    return HallEvent.objects.filter(section=section, seq__gt=max(after, 0)).order_by("seq")


def opening_table(section: Section) -> OpeningSession:
    """The table read out, to everyone in the hall at once: nobody sees it before."""
    session = session_or_none(section)
    if session is None or session.status != OpeningStatus.READ_OUT:
        raise Conflict("table_not_read_out", "尚未唱标", "the table has not been read out yet")
    return session


def own_bid_header(user: Any, section: Section) -> bytes:
    """The age header of the user's organization's live bid: the tool unwraps the file key
    locally from it, without downloading the whole bid."""
    bid = Bid.objects.filter(
        section=section, organization_id=user.organization_id, status=BidStatus.SUBMITTED
    ).first()
    if bid is None:
        raise NotFound("投标文件", "bid")
    with bid.file.open("rb") as src:
        return age.parse_header(src).header_bytes
