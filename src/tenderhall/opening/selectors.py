"""Reads of the opening hall: who may see which hall, its state, its events and the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from tenderhall.accounts.models import Organization
from tenderhall.bidding.models import Bid, BidStatus
from tenderhall.core import clock
from tenderhall.core.crypto import age
from tenderhall.core.errors import Conflict, NotFound
from tenderhall.core.permissions import Permission, has_permission
from tenderhall.disputes.models import Objection, ObjectionStage
from tenderhall.notices import selectors as notices_selectors
from tenderhall.notices.models import DocumentObtainment
from tenderhall.opening.models import (
    Decryption,
    HallChallenge,
    HallEvent,
    HallSignIn,
    OpeningRecord,
    OpeningSession,
    OpeningStatus,
    RecordConfirmation,
    WitnessRecord,
)
from tenderhall.opening.services import (
    decryption_public,
    hall_event_message,
    hall_objection_window,
    session_public,
)
from tenderhall.projects.models import Section, SectionStatus


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


# ---- what each watcher may see of the live hall ----------------------------------------------------

PRIVATE_BID_FIELDS = ("reason_code", "reason_zh", "reason_en")


@dataclass(frozen=True)
class HallViewer:
    """Who watches: the host (a party), an observer (staff, supervisors, auditors) or a bidder,
    whose organization's own rows are complete and the others' without the private fields."""

    section_id: int
    host: bool
    observer: bool
    organization_id: int | None

    @property
    def sees_everything(self) -> bool:
        return self.host or self.observer


def hall_viewer(user: Any, pk: int) -> HallViewer:
    """Authorizes like ``hall_section`` (NotFound for anyone else) and says how the user watches."""
    section = hall_section(user, pk)
    access = notices_selectors.section_access(user, section)
    return HallViewer(
        section_id=section.pk,
        host=access.party and has_permission(user, Permission.OPENING_HOST),
        observer=access.reader or access.party,
        organization_id=getattr(user, "organization_id", None),
    )


def _bid_for_viewer(bid: Any, viewer: HallViewer, own_usccs: frozenset[str]) -> Any:
    if not isinstance(bid, dict) or viewer.sees_everything or bid.get("uscc") in own_usccs:
        return bid
    return {k: v for k, v in bid.items() if k not in PRIVATE_BID_FIELDS}


def event_for_viewer(
    message: dict[str, Any], viewer: HallViewer, own_usccs: frozenset[str]
) -> dict[str, Any]:
    """A hall event message as this viewer may see it: another bidder's failure reasons stay
    with that bidder and the hall's host and observers until the table is read out."""
    payload = message.get("payload") or {}
    if viewer.sees_everything or not isinstance(payload, dict):
        return message
    shown = dict(payload)
    if "bid" in shown:
        shown["bid"] = _bid_for_viewer(shown["bid"], viewer, own_usccs)
    for key in ("bids", "bidders"):
        if isinstance(shown.get(key), list):
            shown[key] = [_bid_for_viewer(b, viewer, own_usccs) for b in shown[key]]
    return {**message, "payload": shown}


def viewer_usccs(viewer: HallViewer) -> frozenset[str]:
    if viewer.organization_id is None:
        return frozenset()
    return frozenset(Organization.objects.filter(pk=viewer.organization_id).values_list("uscc", flat=True))


def hall_messages(viewer: HallViewer, after: int = 0) -> list[dict[str, Any]]:
    """The events after ``after`` as this viewer may see them (the replay of a reconnecting client)."""
    own = viewer_usccs(viewer)
    return [
        event_for_viewer(hall_event_message(e), viewer, own)
        for e in HallEvent.objects.filter(section_id=viewer.section_id, seq__gt=max(after, 0)).order_by("seq")
    ]


def hall_objections(section: Section) -> QuerySet[Objection]:
    return (
        Objection.objects.filter(section=section, stage=ObjectionStage.OPENING)
        .select_related("organization")
        .order_by("raised_at", "pk")
    )


def hall_bid(section: Section, bid_id: int) -> Bid:
    bid = Bid.objects.filter(section=section, pk=bid_id).first()
    if bid is None:
        raise NotFound("投标文件", "bid")
    return bid


def hall_objection(section: Section, objection_id: int) -> Objection:
    objection = hall_objections(section).filter(pk=objection_id).first()
    if objection is None:
        raise NotFound("异议", "objection")
    return objection


def open_hall_challenge(user: Any, section: Section) -> HallChallenge | None:
    """The bidder's latest sign-in challenge that can still be used, if any."""
    return (
        HallChallenge.objects.filter(
            section=section, user=user, used_at__isnull=True, expires_at__gt=clock.now()
        )
        .order_by("-pk")
        .first()
    )


def hall_page(user: Any, section: Section) -> dict[str, Any]:
    """Everything the hall page shows this user, filtered like the live events."""
    viewer = hall_viewer(user, section.pk)
    own = viewer_usccs(viewer)
    state = hall_state(user, section)
    if state["bidders"] is not None:
        state["bidders"] = [_bid_for_viewer(b, viewer, own) for b in state["bidders"]]
    session = session_or_none(section)
    return {
        "viewer": viewer,
        "state": state,
        "table": session.table if session is not None and session.status == OpeningStatus.READ_OUT else None,
        "session_row": session,
        "objections": list(hall_objections(section)),
        "objection_window": hall_objection_window(section),
        "bidder": not viewer.sees_everything and has_permission(user, Permission.OPENING_SIGN_IN),
        "challenge": open_hall_challenge(user, section),
        "record": OpeningRecord.objects.filter(section=section).first(),
        "confirmations": list(
            RecordConfirmation.objects.filter(record__section=section).select_related("organization")
        ),
        "witness_records": list(WitnessRecord.objects.filter(section=section).select_related("author")),
        "may_witness": has_permission(user, Permission.OPENING_WITNESS),
    }


HALL_LIST_STATUSES = (
    SectionStatus.ANNOUNCED,
    SectionStatus.OPENING,
    SectionStatus.OPENED,
    SectionStatus.SUSPENDED,
    SectionStatus.FAILED,
)


def watchable_halls(user: Any) -> QuerySet[Section]:
    """The halls the user may watch (as ``hall_section`` decides one by one): sections bidding or
    at their opening, of the user's projects, of documents it obtained, or all for readers."""
    sections = notices_selectors.sections_for_user(user).filter(status__in=HALL_LIST_STATUSES)
    if not notices_selectors.sees_all(user):
        org_id = getattr(user, "organization_id", None)
        if org_id is None:
            return sections.none()
        obtained = DocumentObtainment.objects.filter(organization_id=org_id).values("section_id")
        sections = sections.filter(
            Q(project__tenderer_id=org_id) | Q(project__agent_id=org_id) | Q(pk__in=obtained)
        )
    return sections.order_by("-bid_deadline", "-pk")
