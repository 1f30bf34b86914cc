"""The demo's remote off-site evaluation (远程异地评标, seed 004), after the scripted opening:
secondary trading centres with remote seats, experts imported from a CSV, a remote request with
one or two secondary venues drawn at random, the invitations accepted, the experts drawn per venue
(one declines, a reserve replaces him), check-in with random seats, declarations and the leader.

Everything goes through the services, at moments after the opening (``core.clock`` is moved and
restored), so the demo's log reads like a real day. ``tenderhall demo`` calls
``demo_remote_evaluation`` and puts the returned dict in its ``--json`` output."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from tenderhall.accounts import services as account_services
from tenderhall.accounts.models import Organization, OrganizationKind, Role, User
from tenderhall.core import clock, ids
from tenderhall.experts.id_numbers import make_id_number
from tenderhall.experts.models import (
    AssignmentStatus,
    CommitteeMember,
    Expert,
    ExtractionRequest,
    ExtractionVenue,
    VenueRole,
)
from tenderhall.experts.services import committee as committee_services
from tenderhall.experts.services import registry as registry_services
from tenderhall.experts.services.extraction import DemandSpec, assignment_reply
from tenderhall.projects.models import Section
from tenderhall.venues import services as venue_services
from tenderhall.venues.models import Room, RoomKind

# Other centres of the province: (city, staff username).
SECONDARY_CENTRES = (("江城市", "staff_jiangcheng"), ("北辰市", "staff_beichen"))
EXPERTS_PER_REGION = {"technical": 4, "economic": 2}


def _window(after: dt.datetime, before: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A 09:00-12:00 or 14:00-17:00 China-time window after the opening and before ``before`` (so
    the whole demo lies in the past); the next morning after ``before`` if none fits."""
    day = after.astimezone(clock.LOCAL_TZ).date()
    last = before.astimezone(clock.LOCAL_TZ).date()
    while day <= last:
        for start_hour in (9, 14):
            start = dt.datetime.combine(day, dt.time(start_hour), tzinfo=clock.LOCAL_TZ)
            end = start + dt.timedelta(hours=3)
            if start - dt.timedelta(hours=2) > after and end < before:
                return start, end
        day += dt.timedelta(days=1)
    start = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(9), tzinfo=clock.LOCAL_TZ)
    return start, start + dt.timedelta(hours=3)


def _evaluation_room(staff: User, *, name: str, seats: int, remote: bool) -> Room:
    existing = (
        Room.objects.filter(centre_id=staff.organization_id, kind=RoomKind.EVALUATION, is_active=True)
        .order_by("pk")
        .first()
    )
    if existing is not None and existing.seats.count() >= seats:
        return existing
    room = venue_services.room_create(acting_user=staff, name=name, kind="evaluation", location="五楼")
    venue_services.seats_add(acting_user=staff, room=room, count=seats, prefix="R", remote_evaluation=remote)
    return room


def _secondary_centres(staff: User, password: str, count: int) -> list[User]:
    """Trading centres of other cities, each with a staff member and a remote-evaluation room."""
    out = []
    for number, (city, username) in enumerate(SECONDARY_CENTRES[:count], start=1):
        user = User.objects.filter(username=username).first()
        if user is None:
            centre = account_services.organization_register(
                acting_user=staff,
                name=f"{city}公共资源交易中心",
                uscc=ids.make_uscc(f"12320000YC{number:06d}"),
                kind=OrganizationKind.TRADING_CENTRE,
                region=city,
            )
            user = account_services.user_register(
                acting_user=staff,
                username=username,
                password=password,
                role=Role.STAFF,
                organization=centre,
                display_name=f"{city}交易中心 工作人员",
                email=f"{username}@demo.example",
            )
        _evaluation_room(user, name="远程异地评标室", seats=6, remote=True)
        out.append(user)
    return out


def _experts_csv(regions: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "姓名",
            "身份证号",
            "工作单位",
            "统一社会信用代码",
            "地区",
            "专业",
            "类别",
            "职称",
            "从业年限",
            "手机",
        ]
    )
    surnames = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
    given = "建国 海燕 志强 秀英 伟 静 明 丽 军 敏 磊 洁".split()
    n = 0
    for region in regions:
        for kind, count in EXPERTS_PER_REGION.items():
            for _ in range(count):
                n += 1
                writer.writerow(
                    [
                        surnames[n % len(surnames)] + given[n % len(given)],
                        make_id_number(born=dt.date(1970, 1, 1) + dt.timedelta(days=97 * n), sequence=n),
                        f"{region}建筑设计研究院有限公司"
                        if kind == "technical"
                        else f"{region}工程造价咨询有限公司",
                        ids.make_uscc(f"91320000DX{n:06d}"),
                        region,
                        "A0101" if kind == "technical" else "C0101",
                        kind,
                        "高级工程师" if kind == "technical" else "高级经济师",
                        10 + n % 15,
                        f"1390000{n:04d}",
                    ]
                )
    return buffer.getvalue().encode("utf-8")


def _import_experts(staff: User, password: str, regions: list[str]) -> list[Expert]:
    batch = registry_services.expert_import(
        acting_user=staff, filename="示范专家名册.csv", data=_experts_csv(regions)
    )
    if batch.report:
        raise RuntimeError(f"demo experts: import report not clean: {batch.report[:3]}")
    experts = list(Expert.objects.filter(region__in=regions, user__isnull=True).order_by("pk"))
    for expert in experts:
        registry_services.expert_account_create(
            acting_user=staff, expert=expert, username=f"expert{expert.pk:03d}", password=password
        )
    return list(Expert.objects.filter(pk__in=[e.pk for e in experts]).select_related("user"))


def _staff_of(venue: ExtractionVenue) -> User:
    user = (
        User.objects.filter(organization_id=venue.centre_id, role=Role.STAFF, is_active=True)
        .order_by("pk")
        .first()
    )
    if user is None:
        raise RuntimeError(f"demo: no staff at {venue.centre}")
    return user


def _answer_calls(request: ExtractionRequest, *, decline_first: bool) -> None:
    declined = not decline_first
    while True:
        called = list(
            request.assignments.filter(status=AssignmentStatus.NOTIFIED)
            .select_related("expert__user")
            .order_by("demand_id", "rank")
        )
        if not called:
            return
        for assignment in called:
            clock.set_now(clock.now() + dt.timedelta(minutes=2))
            accept = declined  # the very first call is declined: a reserve replaces the expert
            declined = True
            assignment_reply(
                assignment=assignment, accept=accept, channel="page", acting_user=assignment.expert.user
            )


def demo_remote_evaluation(
    *,
    staff: User,
    section: Section,
    password: str,
    opened_at: dt.datetime,
    secondary_venues: int = 1,
) -> dict[str, Any]:
    """Run a remote evaluation for ``section`` (opened at ``opened_at``) through to its leader.
    Returns the request id, the venues and the committee (JSON-able)."""
    if not 1 <= secondary_venues <= len(SECONDARY_CENTRES):
        raise ValueError(f"secondary_venues must be 1-{len(SECONDARY_CENTRES)}")
    starts_at, ends_at = _window(opened_at, clock.now())
    with clock.frozen(max(opened_at + dt.timedelta(minutes=30), starts_at - dt.timedelta(hours=20))):
        centre: Organization = staff.organization  # type: ignore[assignment]
        _evaluation_room(staff, name="第一评标室", seats=12, remote=False)
        secondary_staff = _secondary_centres(staff, password, secondary_venues)
        regions = [centre.region, *[u.organization.region for u in secondary_staff if u.organization]]
        _import_experts(staff, password, regions)
        main = [DemandSpec("A0101", 2, 1), DemandSpec("C0101", 1, 1)]
        per_secondary = [DemandSpec("A0101", 2 if secondary_venues == 1 else 1, 1)]
        request = committee_services.remote_evaluation_create(
            acting_user=staff,
            section=section,
            evaluation_starts_at=starts_at,
            evaluation_ends_at=ends_at,
            secondary_venues=secondary_venues,
            exclude_own_region=True,
            demands=[main, *([per_secondary] * secondary_venues)],
            rules={"frequency_cap": 3, "frequency_days": 30},
            reply_minutes=30,
        )
        clock.set_now(clock.now() + dt.timedelta(minutes=20))
        for venue in request.venues.filter(role=VenueRole.SECONDARY, invitation="pending").order_by("pk"):
            committee_services.venue_invitation_answer(acting_user=_staff_of(venue), venue=venue, accept=True)
        request.refresh_from_db()
        _answer_calls(request, decline_first=True)

        clock.set_now(starts_at - dt.timedelta(minutes=40))
        for assignment in (
            request.assignments.filter(status=AssignmentStatus.ACCEPTED)
            .select_related("demand__venue")
            .order_by("demand__venue_id", "rank")
        ):
            clock.set_now(clock.now() + dt.timedelta(minutes=1))
            committee_services.committee_check_in(
                acting_user=_staff_of(assignment.demand.venue),
                assignment=assignment,
                identity_confirmed=True,
                devices_stored=True,
            )
        clock.set_now(starts_at + dt.timedelta(minutes=5))
        members = list(request.members.select_related("assignment__expert__user").order_by("pk"))
        for member in members:
            assert member.assignment is not None and member.assignment.expert.user is not None
            committee_services.committee_member_declare(
                acting_user=member.assignment.expert.user, member=member
            )
        leader = members[0]
        for member in members:
            request.refresh_from_db()
            if request.leader_id is not None:
                break
            assert member.assignment is not None and member.assignment.expert.user is not None
            committee_services.committee_vote(
                acting_user=member.assignment.expert.user, member=member, candidate=leader
            )
        request.refresh_from_db()
        return _summary(request)


def _summary(request: ExtractionRequest) -> dict[str, Any]:
    members: list[CommitteeMember] = list(
        request.members.filter(recused_at__isnull=True)
        .select_related("assignment__expert", "assignment__demand__specialty", "venue__centre", "seat")
        .order_by("venue_id", "pk")
    )
    venues = list(request.venues.select_related("centre", "room").order_by("pk"))
    return {
        "extraction_request": request.pk,
        "status": request.status,
        "alias": venues[0].project_alias if venues else "",
        "evaluation_starts_at": request.evaluation_starts_at.isoformat(),
        "evaluation_ends_at": request.evaluation_ends_at.isoformat(),
        "venues": [
            {
                "role": v.role,
                "centre": v.centre.name,
                "room": v.room.name if v.room is not None else None,
                "invitation": v.invitation,
                "seats": v.seats,
            }
            for v in venues
        ],
        "committee": [
            {
                "member": m.pk,
                "name": m.assignment.expert.name if m.assignment is not None else "",
                "username": (
                    m.assignment.expert.user.username
                    if m.assignment is not None and m.assignment.expert.user is not None
                    else ""
                ),
                "kind": m.assignment.expert.kind if m.assignment is not None else "representative",
                "specialty": m.assignment.demand.specialty.code if m.assignment is not None else "",
                "venue": m.venue.centre.name,
                "seat": m.seat.label if m.seat is not None else "",
                "leader": m.pk == request.leader_id,
            }
            for m in members
        ],
        "declined_and_replaced": request.assignments.filter(status=AssignmentStatus.DECLINED).count(),
    }
