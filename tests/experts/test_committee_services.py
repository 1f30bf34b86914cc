"""Remote evaluation (远程异地评标, seed 004) and the committee, through the services: the venue
draw and invitations, the joint draw per venue, check-in, declarations and recusal, the leader."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator

import pytest

from tenderhall.accounts.models import Role, User
from tenderhall.core import clock
from tenderhall.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenderhall.core.models import LogEvent, Notification
from tenderhall.experts.models import (
    AssignmentStatus,
    CommitteeMember,
    ExtractionRequest,
    ExtractionStatus,
    ExtractionVenue,
    InvitationStatus,
    VenueRole,
)
from tenderhall.experts.selectors import committee as selectors
from tenderhall.experts.services import committee as services
from tenderhall.experts.services.extraction import DemandSpec, assignment_reply, extraction_result_decide
from tenderhall.venues.models import Booking, BookingPurpose, BookingStatus
from tests.experts.factories_committee import EVAL_END, EVAL_START, HOME, RemoteWorld, build_world, user_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db: None) -> Iterator[RemoteWorld]:
    yield build_world()


def secondary_venues(request: ExtractionRequest) -> list[ExtractionVenue]:
    return list(request.venues.filter(role=VenueRole.SECONDARY).order_by("pk"))


# ---- the directory ------------------------------------------------------------------------------


def test_the_directory_lists_centres_with_free_remote_seats_on_a_day(w: RemoteWorld) -> None:
    starts, ends = selectors.day_window(EVAL_START.date())
    entries = {e.centre.pk: e for e in selectors.centre_directory(w.agent, starts_at=starts, ends_at=ends)}
    jia_centre, _staff, jia_room = w.secondaries["甲市"]
    assert entries[jia_centre.pk].free_remote_seats == 6
    assert entries[jia_centre.pk].rooms[0].seats == 8
    Booking.objects.create(
        room=jia_room,
        purpose=BookingPurpose.EVALUATION,
        starts_at=EVAL_START + dt.timedelta(hours=2),
        ends_at=EVAL_START + dt.timedelta(hours=3),
        status=BookingStatus.CONFIRMED,
        requested_by=w.agent,
        requested_at=clock.now(),
    )
    entries = {e.centre.pk: e for e in selectors.centre_directory(w.agent, starts_at=starts, ends_at=ends)}
    assert entries[jia_centre.pk].free_remote_seats == 0
    assert entries[jia_centre.pk].rooms[0].free is False
    # The next day it is free again.
    starts, ends = selectors.day_window(EVAL_START.date() + dt.timedelta(days=1))
    entries = {e.centre.pk: e for e in selectors.centre_directory(w.agent, starts_at=starts, ends_at=ends)}
    assert entries[jia_centre.pk].free_remote_seats == 6


def test_a_bidder_has_no_directory(w: RemoteWorld) -> None:
    starts, ends = selectors.day_window(EVAL_START.date())
    with pytest.raises(PermissionDenied):
        selectors.centre_directory(w.bidder, starts_at=starts, ends_at=ends)


# ---- the request and the venue draw -------------------------------------------------------------


def test_a_remote_request_books_the_main_venue_and_invites_two_drawn_secondary_venues(w: RemoteWorld) -> None:
    request = w.create(secondary=2)
    assert request.status == ExtractionStatus.INVITING and request.is_remote
    main = request.venues.get(role=VenueRole.MAIN)
    assert main.centre_id == w.centre.pk and main.invitation == InvitationStatus.NOT_NEEDED
    assert main.booking is not None and main.booking.status == BookingStatus.CONFIRMED
    assert main.booking.section_id == w.section.pk and main.seats == 3
    secondaries = secondary_venues(request)
    assert len(secondaries) == 2
    home_centres = {w.centre.pk, w.neighbour[0].pk}
    for venue in secondaries:
        assert venue.centre_id not in home_centres  # own centre and own region excluded
        assert venue.invitation == InvitationStatus.PENDING and venue.booking is None
        assert venue.project_alias == main.project_alias and venue.project_alias.startswith("YC-")
        assert [(d.specialty.code, d.count, d.reserves) for d in venue.demands.all()] == [("A0101", 1, 1)]
        # 四不知: the invitation names the alias, never the project.
        staff = w.staff_of(venue.centre_id)
        note = Notification.objects.get(recipient=staff)
        assert venue.project_alias in note.body
        assert w.section.code not in note.body + note.subject and w.section.project.title not in note.body
    assert [(d.specialty.code, d.count) for d in main.demands.all()] == [("A0101", 2), ("C0101", 1)]


def test_the_venue_draw_is_committed_before_the_pick_and_reproducible(w: RemoteWorld) -> None:
    request = w.create(secondary=2)
    committed = LogEvent.objects.filter(action=services.CommitteeAction.VENUE_DRAW_COMMITTED).order_by(
        "index"
    )
    drawn = LogEvent.objects.filter(action=services.CommitteeAction.VENUE_DRAWN).order_by("index")
    assert committed.count() == drawn.count() == 2
    for commit, event, venue in zip(committed, drawn, secondary_venues(request), strict=True):
        assert commit.index < event.index  # the hashes are in the log before the pick
        promise = json.loads(commit.payload)["data"]
        data = json.loads(event.payload)["data"]
        # Neither event shows the seed or the candidates: they are published with the decision.
        assert "seed" not in data and "pool" not in data and venue.draw_seed_hex not in commit.payload
        assert data["committed"] == commit.index and data["chosen"] == venue.centre_id
        seed = bytes.fromhex(venue.draw_seed_hex)
        assert promise["seed_sha256"] == hashlib.sha256(seed).hexdigest() == venue.draw_seed_sha256
        document = services.venue_candidates_document(
            request_id=request.pk,
            draw_round=promise["round"],
            seats=venue.seats,
            candidates=venue.draw_candidates,
        )
        assert promise["candidates_sha256"] == services.venue_candidates_sha256(document)
        ranks = {c: services.venue_rank(seed, promise["round"], c) for c in venue.draw_candidates}
        assert min(ranks, key=lambda c: (ranks[c], c)) == venue.centre_id
        assert w.centre.pk not in venue.draw_candidates
    # The second draw excluded the first pick.
    first, second = secondary_venues(request)
    assert first.centre_id not in second.draw_candidates
    assert [c.ok for c in services.venue_draws_replay(request=request)] == [True, True]


def test_without_the_region_exclusion_a_centre_of_the_own_region_may_be_drawn(w: RemoteWorld) -> None:
    kwargs = {"section": w.section, "starts_at": EVAL_START, "ends_at": EVAL_END, "seats": 2}
    excluded = services.eligible_centres(**kwargs, exclude_own_region=True)
    included = services.eligible_centres(**kwargs, exclude_own_region=False)
    assert w.neighbour[0].pk not in excluded and w.neighbour[0].pk in included
    assert w.centre.pk not in included
    # A centre whose room is too small, or booked, is not a candidate.
    assert services.eligible_centres(**{**kwargs, "seats": 7}, exclude_own_region=False) == []


def test_counts_that_break_the_committee_rules_draw_nothing(w: RemoteWorld) -> None:
    with pytest.raises(ValidationFailed) as caught:
        w.create(secondary=1, demands=[[DemandSpec("A0101", 2, 1)], [DemandSpec("A0101", 2, 1)]])
    assert "Art 37" in caught.value.article
    assert not ExtractionRequest.objects.exists() and not Booking.objects.exists()
    assert not LogEvent.objects.filter(action__startswith="experts.remote.").exists()


def test_too_few_centres_with_free_seats_refuse_the_whole_request(w: RemoteWorld) -> None:
    # 3 other regions; a 4th secondary venue cannot be found when the own region is excluded.
    demands = [[DemandSpec("A0101", 1, 0)]] * 5
    with pytest.raises(Conflict) as caught:
        w.create(secondary=4, demands=demands)
    assert caught.value.code == "no_secondary_venue"
    assert not ExtractionRequest.objects.exists() and not Booking.objects.exists()


def test_bad_input_is_refused(w: RemoteWorld) -> None:
    with pytest.raises(ValidationFailed) as caught:
        w.create(secondary=2, demands=[[DemandSpec("A0101", 3, 1)], [DemandSpec("A0101", 1, 0)]])
    assert caught.value.code == "venue_demands_mismatch"
    with pytest.raises(ValidationFailed) as caught:
        w.create(secondary=1, demands=[[DemandSpec("A0101", 3, 1)], [DemandSpec("ZZ99", 2, 0)]])
    assert caught.value.code == "specialty_unknown"
    with pytest.raises(ValidationFailed) as caught:
        w.create(secondary=1, rules={"no_such_rule": 1})
    assert caught.value.code == "rules_unknown"
    clock.set_now(EVAL_START + dt.timedelta(minutes=1))
    with pytest.raises(ValidationFailed) as caught:
        w.create(secondary=1)
    assert caught.value.code == "evaluation_in_past"
    assert not ExtractionRequest.objects.exists()


def test_only_the_projects_own_centre_requests_it(w: RemoteWorld) -> None:
    with pytest.raises(NotFound):
        services.remote_evaluation_create(
            acting_user=w.secondaries["甲市"][1],
            section=w.section,
            evaluation_starts_at=EVAL_START,
            evaluation_ends_at=EVAL_END,
            secondary_venues=1,
            exclude_own_region=False,
            demands=[[DemandSpec("A0101", 3, 0)], [DemandSpec("A0101", 2, 0)]],
        )
    with pytest.raises(PermissionDenied):
        services.remote_evaluation_create(
            acting_user=w.agent,
            section=w.section,
            evaluation_starts_at=EVAL_START,
            evaluation_ends_at=EVAL_END,
            secondary_venues=1,
            exclude_own_region=False,
            demands=[[DemandSpec("A0101", 3, 0)], [DemandSpec("A0101", 2, 0)]],
        )


def test_the_main_venue_needs_a_free_room(w: RemoteWorld) -> None:
    Booking.objects.create(
        room=w.room,
        purpose=BookingPurpose.EVALUATION,
        starts_at=EVAL_START,
        ends_at=EVAL_END,
        status=BookingStatus.REQUESTED,
        requested_by=w.agent,
        requested_at=clock.now(),
    )
    with pytest.raises(Conflict) as caught:
        w.create(secondary=1)
    assert caught.value.code == "main_venue_no_room"


# ---- invitations --------------------------------------------------------------------------------


def test_a_decline_draws_another_centre_and_moves_the_places(w: RemoteWorld) -> None:
    request = w.create(secondary=2)
    first, second = secondary_venues(request)
    staff = w.staff_of(first.centre_id)
    with pytest.raises(ValidationFailed) as caught:
        services.venue_invitation_answer(acting_user=staff, venue=first, accept=False, reason="")
    assert caught.value.code == "reason_required"
    services.venue_invitation_answer(acting_user=staff, venue=first, accept=False, reason="席位检修")
    first.refresh_from_db()
    assert first.invitation == InvitationStatus.DECLINED and first.answer_reason == "席位检修"
    assert not first.demands.exists()
    venues = secondary_venues(request)
    assert len(venues) == 3
    replacement = venues[-1]
    assert replacement.invitation == InvitationStatus.PENDING
    assert replacement.centre_id not in (first.centre_id, second.centre_id, w.centre.pk, w.neighbour[0].pk)
    assert [(d.specialty.code, d.count) for d in replacement.demands.all()] == [("A0101", 1)]
    # Answering again is refused; the centre that declined sees the invitation, not the committee.
    with pytest.raises(Conflict):
        services.venue_invitation_answer(acting_user=staff, venue=first, accept=True)
    assert selectors.invitation_for_user(staff, first.pk).invitation == InvitationStatus.DECLINED
    with pytest.raises(NotFound):
        selectors.committee_for_user(staff, request.pk)
    # The replacement and the other venue accept: the experts are drawn for the venues that accepted.
    w.accept_all_venues(request)
    request.refresh_from_db()
    assert request.status == ExtractionStatus.CONFIRMING
    venues_drawn = set(request.assignments.values_list("demand__venue_id", flat=True))
    assert first.pk not in venues_drawn and replacement.pk in venues_drawn and second.pk in venues_drawn


def test_when_no_centre_is_left_the_request_fails(w: RemoteWorld) -> None:
    request = w.create(secondary=2)
    venues = secondary_venues(request)
    # Decline the first; the only centre left replaces it; decline that one too.
    services.venue_invitation_answer(
        acting_user=w.staff_of(venues[0].centre_id), venue=venues[0], accept=False, reason="无席位"
    )
    replacement = secondary_venues(request)[-1]
    services.venue_invitation_answer(
        acting_user=w.staff_of(replacement.centre_id), venue=replacement, accept=False, reason="无席位"
    )
    request.refresh_from_db()
    assert request.status == ExtractionStatus.FAILED
    assert request.failure["reason"] == "no_secondary_venue"
    assert not request.assignments.exists()


def test_staff_answer_only_their_own_centres_invitation(w: RemoteWorld) -> None:
    request = w.create(secondary=1)
    [venue] = secondary_venues(request)
    other = next(s for c, s, _r in w.secondaries.values() if c.pk != venue.centre_id)
    with pytest.raises(NotFound):
        services.venue_invitation_answer(acting_user=other, venue=venue, accept=True)
    with pytest.raises(PermissionDenied):
        services.venue_invitation_answer(acting_user=w.agent, venue=venue, accept=True)
    venue.refresh_from_db()
    assert venue.invitation == InvitationStatus.PENDING


def test_accepting_books_the_remote_room_without_naming_the_section(w: RemoteWorld) -> None:
    request = w.create(secondary=1)
    [venue] = secondary_venues(request)
    services.venue_invitation_answer(acting_user=w.staff_of(venue.centre_id), venue=venue, accept=True)
    venue.refresh_from_db()
    assert venue.invitation == InvitationStatus.ACCEPTED
    booking = venue.booking
    assert booking is not None and booking.section_id is None and venue.project_alias in booking.note
    assert booking.status == BookingStatus.CONFIRMED and booking.room.centre_id == venue.centre_id
    assert (booking.starts_at, booking.ends_at) == (EVAL_START, EVAL_END)


def test_the_remote_flow_with_two_secondary_venues(w: RemoteWorld) -> None:
    """Two venues accept → one joint draw, each venue's experts from its own region; experts accept;
    check-in at all three venues with random seats; declarations; a leader is elected."""
    request = w.create(secondary=2)
    venues = secondary_venues(request)
    services.venue_invitation_answer(
        acting_user=w.staff_of(venues[0].centre_id), venue=venues[0], accept=True
    )
    request.refresh_from_db()
    assert request.status == ExtractionStatus.INVITING and not request.assignments.exists()
    services.venue_invitation_answer(
        acting_user=w.staff_of(venues[1].centre_id), venue=venues[1], accept=True
    )
    request.refresh_from_db()
    assert request.status == ExtractionStatus.CONFIRMING
    for a in request.assignments.select_related("expert", "demand__venue__centre"):
        assert a.expert.region == a.demand.venue.centre.region  # the venue's regional pool
    notified = w.notified(request)
    assert len(notified) == 5
    w.accept_all_experts(request)
    request.refresh_from_db()
    assert request.status == ExtractionStatus.COMPLETE

    clock.set_now(EVAL_START - dt.timedelta(minutes=20))
    members = w.check_in_all(request)
    request.refresh_from_db()
    assert request.status == ExtractionStatus.EVALUATING
    assert len(members) == 5 and len({m.seat_id for m in members}) == 5
    for m in members:
        assert m.seat is not None and m.seat.room_id == m.venue.room_id
        if m.venue.role == VenueRole.SECONDARY:
            assert m.seat.is_remote_evaluation
    for m in members:
        services.committee_member_declare(acting_user=user_of(m), member=m)
    leader = members[0]
    for m in members[:3]:
        services.committee_vote(acting_user=user_of(m), member=m, candidate=leader)
    request.refresh_from_db()
    assert request.leader_id == leader.pk
    assert LogEvent.objects.filter(action=services.CommitteeAction.LEADER_ELECTED).count() == 1


# ---- check-in -----------------------------------------------------------------------------------


def test_check_in_needs_a_complete_extraction_identity_and_devices(w: RemoteWorld) -> None:
    request = w.create(secondary=1)
    w.accept_all_venues(request)
    request.refresh_from_db()
    first = w.notified(request)[0]
    assignment_reply(assignment=first, accept=True, channel="page", acting_user=first.expert.user)
    staff = w.staff_of(first.demand.venue.centre_id)
    with pytest.raises(Conflict) as caught:
        services.committee_check_in(
            acting_user=staff, assignment=first, identity_confirmed=True, devices_stored=True
        )
    assert caught.value.code == "check_in_not_open"
    w.accept_all_experts(request)
    clock.set_now(EVAL_START - dt.timedelta(minutes=30))
    with pytest.raises(ValidationFailed) as caught:
        services.committee_check_in(
            acting_user=staff, assignment=first, identity_confirmed=False, devices_stored=True
        )
    assert caught.value.code == "identity_not_confirmed"
    with pytest.raises(ValidationFailed) as caught:
        services.committee_check_in(
            acting_user=staff, assignment=first, identity_confirmed=True, devices_stored=False
        )
    assert caught.value.code == "devices_not_stored"
    # Staff of another venue cannot check this expert in.
    secondary_staff = w.staff_of(secondary_venues(request)[0].centre_id)
    with pytest.raises(NotFound):
        services.committee_check_in(
            acting_user=secondary_staff, assignment=first, identity_confirmed=True, devices_stored=True
        )
    member = services.committee_check_in(
        acting_user=staff, assignment=first, identity_confirmed=True, devices_stored=True
    )
    assert member.identity_confirmed and member.devices_stored and member.seat is not None
    with pytest.raises(Conflict) as caught:
        services.committee_check_in(
            acting_user=staff, assignment=first, identity_confirmed=True, devices_stored=True
        )
    assert caught.value.code == "already_checked_in"


def test_check_in_opens_two_hours_before_the_evaluation(w: RemoteWorld) -> None:
    request = w.ready(secondary=1)
    clock.set_now(EVAL_START - dt.timedelta(hours=3))
    a = request.assignments.filter(status=AssignmentStatus.ACCEPTED).first()
    assert a is not None
    with pytest.raises(Conflict) as caught:
        services.committee_check_in(
            acting_user=w.staff_of(a.demand.venue.centre_id),
            assignment=a,
            identity_confirmed=True,
            devices_stored=True,
        )
    assert caught.value.code == "check_in_too_early"


def test_the_main_venue_starts_the_evaluation_explicitly(w: RemoteWorld) -> None:
    request = w.ready(secondary=1)
    [venue] = secondary_venues(request)
    with pytest.raises(NotFound):
        services.evaluation_start(acting_user=w.staff_of(venue.centre_id), request=request)
    services.evaluation_start(acting_user=w.staff, request=request)
    request.refresh_from_db()
    assert request.status == ExtractionStatus.EVALUATING
    with pytest.raises(Conflict):
        services.evaluation_start(acting_user=w.staff, request=request)


def test_seats_are_allocated_at_random(w: RemoteWorld) -> None:
    """Over many check-ins of a lone expert, more than one seat comes up (a fixed rule would give one)."""
    request = w.ready(secondary=1)
    a = request.assignments.filter(
        status=AssignmentStatus.ACCEPTED, demand__venue__role=VenueRole.MAIN
    ).first()
    assert a is not None
    seen = set()
    for _ in range(40):
        member = services.committee_check_in(
            acting_user=w.staff, assignment=a, identity_confirmed=True, devices_stored=True
        )
        seen.add(member.seat_id)
        CommitteeMember.objects.filter(pk=member.pk).delete()
    assert len(seen) > 1


# ---- declarations, recusal, leader --------------------------------------------------------------


def test_a_recusal_calls_the_next_reserve_who_checks_in(w: RemoteWorld) -> None:
    request = w.seated(secondary=1)
    member = request.members.select_related("assignment__demand").first()
    assert member is not None and member.assignment is not None
    demand = member.assignment.demand
    with pytest.raises(ValidationFailed):
        services.committee_member_recuse(acting_user=user_of(member), member=member, reason="")
    services.committee_member_recuse(acting_user=user_of(member), member=member, reason="与投标人有亲属关系")
    member.refresh_from_db()
    member.assignment.refresh_from_db()
    assert member.recused_at is not None and member.assignment.status == AssignmentStatus.RECUSED
    [called] = [a for a in w.notified(request) if a.demand_id == demand.pk]
    assert called.rank >= demand.count
    request.refresh_from_db()
    assert request.status == ExtractionStatus.EVALUATING
    assert not selectors.committee_places(request)["complete"]
    # The committee is not formed: nobody can vote yet.
    other = request.members.filter(recused_at__isnull=True).first()
    assert other is not None
    with pytest.raises(Conflict) as caught:
        services.committee_vote(acting_user=user_of(other), member=other, candidate=other)
    assert caught.value.code == "committee_incomplete"
    assignment_reply(assignment=called, accept=True, channel="page", acting_user=called.expert.user)
    [replacement] = w.check_in_all(request)
    services.committee_member_declare(acting_user=user_of(replacement), member=replacement)
    assert selectors.committee_places(request)["complete"]
    # A recused member can neither declare nor vote.
    with pytest.raises(Conflict):
        services.committee_member_declare(acting_user=user_of(member), member=member)


def test_staff_record_a_recusal_only_at_their_own_venue(w: RemoteWorld) -> None:
    request = w.seated(secondary=1)
    member = request.members.filter(venue__role=VenueRole.MAIN).first()
    assert member is not None
    secondary_staff = w.staff_of(secondary_venues(request)[0].centre_id)
    with pytest.raises(NotFound):
        services.committee_member_recuse(acting_user=secondary_staff, member=member, reason="x")
    services.committee_member_recuse(acting_user=w.staff, member=member, reason="身份不符")
    member.refresh_from_db()
    assert member.recused_at is not None


def test_an_expert_acts_only_for_themself(w: RemoteWorld) -> None:
    request = w.ready(secondary=1)
    w.check_in_all(request)
    first, second = list(request.members.order_by("pk"))[:2]
    with pytest.raises(NotFound):
        services.committee_member_declare(acting_user=user_of(second), member=first)
    with pytest.raises(PermissionDenied):
        services.committee_member_declare(acting_user=w.agent, member=first)


def test_the_leader_needs_a_strict_majority_and_a_void_round_starts_over(w: RemoteWorld) -> None:
    request = w.seated(secondary=1)
    members = list(request.members.order_by("pk"))
    a, b = members[0], members[1]
    # 2 for a, 2 for b, 1 for the fifth member: everyone voted, nobody has 3 of 5.
    for voter, candidate in zip(members, [a, a, b, b, members[4]], strict=True):
        services.committee_vote(acting_user=user_of(voter), member=voter, candidate=candidate)
    request.refresh_from_db()
    assert request.leader_id is None
    assert not CommitteeMember.objects.filter(request=request, vote_for__isnull=False).exists()
    assert LogEvent.objects.filter(action=services.CommitteeAction.ROUND_VOID).count() == 1
    # A vote may change before the round ends; three of five elect.
    services.committee_vote(acting_user=user_of(members[0]), member=members[0], candidate=b)
    services.committee_vote(acting_user=user_of(members[0]), member=members[0], candidate=a)
    services.committee_vote(acting_user=user_of(members[1]), member=members[1], candidate=a)
    request.refresh_from_db()
    assert request.leader_id is None
    services.committee_vote(acting_user=user_of(members[2]), member=members[2], candidate=a)
    request.refresh_from_db()
    assert request.leader_id == a.pk
    with pytest.raises(Conflict) as caught:
        services.committee_vote(acting_user=user_of(members[3]), member=members[3], candidate=b)
    assert caught.value.code == "leader_elected"
    # The committee still sits: a member may recuse after the election (条例 Art 46); not the
    # leader, so the leader stays.
    services.committee_member_recuse(acting_user=user_of(members[3]), member=members[3], reason="x")
    request.refresh_from_db()
    assert request.leader_id == a.pk


def check_in_representative(w: RemoteWorld, request: ExtractionRequest, user: User) -> CommitteeMember:
    """The main venue's staff check in a tenderer's representative, identity and devices checked."""
    return services.committee_representative_check_in(
        acting_user=w.staff,
        request=request,
        representative=user,
        identity_confirmed=True,
        devices_stored=True,
    )


def elect(request: ExtractionRequest, leader: CommitteeMember) -> list[CommitteeMember]:
    """Three of the five seated members vote for ``leader``; the seated members, by pk."""
    members = list(request.members.filter(recused_at__isnull=True).order_by("pk"))
    for voter in members[:3]:
        services.committee_vote(acting_user=user_of(voter), member=voter, candidate=leader)
    request.refresh_from_db()
    assert request.leader_id == leader.pk
    return members


def events(action: str) -> list[dict[str, object]]:
    return [json.loads(e.payload)["data"] for e in LogEvent.objects.filter(action=action).order_by("index")]


def test_a_member_recuses_after_the_election_and_the_leader_stays(w: RemoteWorld) -> None:
    request = w.seated(secondary=1)
    leader = request.members.order_by("pk").first()
    assert leader is not None
    members = elect(request, leader)
    member = CommitteeMember.objects.select_related("assignment__demand").get(pk=members[3].pk)
    assert member.assignment is not None
    demand = member.assignment.demand
    services.committee_member_recuse(
        acting_user=user_of(member), member=member, reason="发现与投标人有利害关系"
    )
    request.refresh_from_db()
    member.refresh_from_db()
    assert member.recused_at is not None
    assert request.leader_id == leader.pk and request.status == ExtractionStatus.EVALUATING
    assert not selectors.leader_vacant(request)
    [recused] = events(services.CommitteeAction.RECUSED)
    assert recused["request"] == request.pk and recused["leader"] is False and recused["by"] == "member"
    assert not LogEvent.objects.filter(action=services.CommitteeAction.LEADER_VACATED).exists()
    with pytest.raises(Conflict) as caught:  # once is enough
        services.committee_member_recuse(acting_user=user_of(member), member=member, reason="again")
    assert caught.value.code == "member_recused"
    # The next reserve of the same demand is called, checks in and declares; no new election.
    [called] = [a for a in w.notified(request) if a.demand_id == demand.pk]
    assignment_reply(assignment=called, accept=True, channel="page", acting_user=called.expert.user)
    [replacement] = w.check_in_all(request)
    services.committee_member_declare(acting_user=user_of(replacement), member=replacement)
    assert selectors.committee_places(request)["complete"]
    request.refresh_from_db()
    assert request.leader_id == leader.pk
    with pytest.raises(Conflict) as caught:
        services.committee_vote(acting_user=user_of(replacement), member=replacement, candidate=replacement)
    assert caught.value.code == "leader_elected"


def test_the_leader_recuses_after_the_election_and_the_committee_elects_again(w: RemoteWorld) -> None:
    request = w.seated(secondary=1)
    leader = CommitteeMember.objects.select_related("assignment__demand").order_by("pk").first()
    assert leader is not None and leader.assignment is not None
    members = elect(request, leader)
    demand = leader.assignment.demand
    # The leader's venue staff record it (or the leader themself: the same rule).
    staff = w.staff_of(leader.venue.centre_id)
    services.committee_member_recuse(acting_user=staff, member=leader, reason="组长发现与投标人有利害关系")
    request.refresh_from_db()
    assert request.leader_id is None and request.status == ExtractionStatus.EVALUATING
    assert not CommitteeMember.objects.filter(request=request, vote_for__isnull=False).exists()
    assert not CommitteeMember.objects.filter(request=request, voted_at__isnull=False).exists()
    [recused] = events(services.CommitteeAction.RECUSED)
    assert recused["leader"] is True and recused["by"] == "staff"
    [vacated] = events(services.CommitteeAction.LEADER_VACATED)
    assert vacated == {"request": request.pk, "former_leader_member": leader.pk}
    assert selectors.LEADER_VACATED_ACTION == services.CommitteeAction.LEADER_VACATED
    assert selectors.leader_vacant(request)
    data = selectors.committee_as_dict(selectors.committee_for_user(w.supervisor, request.pk))
    assert data["leader"] is None and data["leader_vacant"] is True
    # No vote until the committee is formed again.
    others = members[1:]
    with pytest.raises(Conflict) as caught:
        services.committee_vote(acting_user=user_of(others[0]), member=others[0], candidate=others[0])
    assert caught.value.code == "committee_incomplete"
    [called] = [a for a in w.notified(request) if a.demand_id == demand.pk]
    assignment_reply(assignment=called, accept=True, channel="page", acting_user=called.expert.user)
    [replacement] = w.check_in_all(request)
    # Checked in, not declared yet: still not formed.
    with pytest.raises(Conflict) as caught:
        services.committee_vote(acting_user=user_of(others[0]), member=others[0], candidate=others[0])
    assert caught.value.code == "committee_incomplete"
    services.committee_member_declare(acting_user=user_of(replacement), member=replacement)
    # A strict majority of the five elects again; the replacement votes too.
    new_leader = others[0]
    for voter in (others[0], replacement):
        services.committee_vote(acting_user=user_of(voter), member=voter, candidate=new_leader)
        request.refresh_from_db()
        assert request.leader_id is None and selectors.leader_vacant(request)
    services.committee_vote(acting_user=user_of(others[1]), member=others[1], candidate=new_leader)
    request.refresh_from_db()
    assert request.leader_id == new_leader.pk
    assert not selectors.leader_vacant(request)
    [first, second] = events(services.CommitteeAction.LEADER_ELECTED)
    assert first["leader_member"] == leader.pk and second["leader_member"] == new_leader.pk
    assert second["members"] == 5


def test_a_representative_leader_recuses_and_another_representative_fills_the_place(
    w: RemoteWorld,
) -> None:
    demands = [[DemandSpec("A0101", 1, 1), DemandSpec("C0101", 1, 1)], [DemandSpec("A0101", 2, 1)]]
    request = w.ready(secondary=1, demands=demands, tenderer_representatives=1)
    w.check_in_all(request)
    rep = check_in_representative(w, request, w.tenderer)
    for m in request.members.all():
        services.committee_member_declare(acting_user=user_of(m), member=m)
    members = elect(request, rep)
    notified_before = len(w.notified(request))
    services.committee_member_recuse(acting_user=w.tenderer, member=rep, reason="与投标人存在关联关系")
    request.refresh_from_db()
    assert request.leader_id is None
    assert not CommitteeMember.objects.filter(request=request, vote_for__isnull=False).exists()
    [vacated] = events(services.CommitteeAction.LEADER_VACATED)
    assert vacated == {"request": request.pk, "former_leader_member": rep.pk}
    assert len(w.notified(request)) == notified_before  # no reserve: a representative is not drawn
    experts = [m for m in members if m.pk != rep.pk]
    with pytest.raises(Conflict) as caught:
        services.committee_vote(acting_user=user_of(experts[0]), member=experts[0], candidate=experts[0])
    assert caught.value.code == "committee_incomplete"
    colleague = UserFactory(role=Role.TENDERER, organization=w.tenderer.organization)
    new_rep = check_in_representative(w, request, colleague)
    services.committee_member_declare(acting_user=colleague, member=new_rep)
    for voter in (experts[0], experts[1], new_rep):
        services.committee_vote(acting_user=user_of(voter), member=voter, candidate=experts[0])
    request.refresh_from_db()
    assert request.leader_id == experts[0].pk
    # A representative who is not the leader recuses: the leader stays.
    services.committee_member_recuse(acting_user=colleague, member=new_rep, reason="临时发现关联关系")
    request.refresh_from_db()
    assert request.leader_id == experts[0].pk
    # A representative who recused cannot come back as their own replacement (条例 Art 46).
    with pytest.raises(Conflict) as caught:
        check_in_representative(w, request, colleague)
    assert caught.value.code == "representative_recused"
    assert LogEvent.objects.filter(action=services.CommitteeAction.LEADER_VACATED).count() == 1


def test_no_recusal_once_the_committee_no_longer_sits(w: RemoteWorld) -> None:
    request = w.seated(secondary=1)
    leader = request.members.order_by("pk").first()
    assert leader is not None
    members = elect(request, leader)
    extraction_result_decide(acting_user=w.staff, request=request)
    request.refresh_from_db()
    assert request.status == ExtractionStatus.DECIDED
    recusals = LogEvent.objects.filter(action=services.CommitteeAction.RECUSED).count()
    for member, actor in ((leader, user_of(leader)), (members[3], w.staff_of(members[3].venue.centre_id))):
        with pytest.raises(Conflict) as caught:
            services.committee_member_recuse(acting_user=actor, member=member, reason="评标已结束")
        assert caught.value.code == "evaluation_not_running"
    request.refresh_from_db()
    assert request.leader_id == leader.pk
    assert not request.members.filter(recused_at__isnull=False).exists()
    assert LogEvent.objects.filter(action=services.CommitteeAction.RECUSED).count() == recusals
    assert not LogEvent.objects.filter(action=services.CommitteeAction.LEADER_VACATED).exists()


def test_a_tenderers_representative_sits_on_the_committee(w: RemoteWorld) -> None:
    # 4 experts + 1 representative = 5 (法 Art 37: experts 4/5 ≥ 2/3).
    demands = [[DemandSpec("A0101", 1, 1), DemandSpec("C0101", 1, 1)], [DemandSpec("A0101", 2, 1)]]
    request = w.ready(secondary=1, demands=demands, tenderer_representatives=1)
    w.check_in_all(request)
    with pytest.raises(ValidationFailed):
        check_in_representative(w, request, w.agent)
    rep = check_in_representative(w, request, w.tenderer)
    assert rep.venue.role == VenueRole.MAIN and rep.seat is not None
    with pytest.raises(Conflict):
        check_in_representative(w, request, w.tenderer)
    for m in request.members.all():
        services.committee_member_declare(acting_user=user_of(m), member=m)
    members = list(request.members.order_by("pk"))
    for voter in members[:3]:
        services.committee_vote(acting_user=user_of(voter), member=voter, candidate=rep)
    request.refresh_from_db()
    assert request.leader_id == rep.pk


def test_more_representatives_than_allowed_break_the_rules(w: RemoteWorld) -> None:
    # 3 experts + 2 representatives: experts 3/5 < 2/3 (法 Art 37), refused before any draw.
    demands = [[DemandSpec("A0101", 1, 0), DemandSpec("C0101", 1, 0)], [DemandSpec("A0101", 1, 0)]]
    with pytest.raises(ValidationFailed):
        w.create(secondary=1, demands=demands, tenderer_representatives=2)
    assert not ExtractionRequest.objects.exists()


# ---- who sees what ------------------------------------------------------------------------------


def test_secondary_staff_see_the_alias_until_the_evaluation_starts(w: RemoteWorld) -> None:
    request = w.ready(secondary=1)
    [venue] = secondary_venues(request)
    staff = w.staff_of(venue.centre_id)
    view = selectors.committee_for_user(staff, request.pk)
    data = selectors.committee_as_dict(view)
    assert view.role == "venue" and data["section"] is None and data["members"] == []
    assert w.section.code not in str(data)
    w.check_in_all(request)
    view = selectors.committee_for_user(staff, request.pk)
    data = selectors.committee_as_dict(view)
    assert data["section"]["code"] == w.section.code
    assert {m["venue_id"] for m in data["members"]} == {venue.pk}


def test_agents_see_counts_never_names_and_others_nothing(w: RemoteWorld) -> None:
    request = w.ready(secondary=1)
    w.check_in_all(request)
    data = selectors.committee_as_dict(selectors.committee_for_user(w.agent, request.pk))
    assert data["viewer"] == "status" and data["members"] == [] and data["to_check_in"] == []
    names = [e.name for experts in w.experts.values() for e in experts]
    assert not any(name in str(data) for name in names)
    for outsider in (w.other_agent, w.bidder, w.auditor, w.operator):
        with pytest.raises(NotFound):
            selectors.committee_for_user(outsider, request.pk)
    # An expert who was not drawn sees nothing either.
    undrawn = next(e for e in w.experts[HOME] if not request.assignments.filter(expert=e).exists())
    with pytest.raises(NotFound):
        selectors.committee_for_user(undrawn.user, request.pk)


def test_the_log_does_not_link_the_project_code_to_the_section(w: RemoteWorld) -> None:
    """四不知: every centre's staff read the log; before the evaluation starts no event of this part
    names the alias or ties the request to its section."""
    request = w.create(secondary=2)
    alias = request.venues.first().project_alias  # type: ignore[union-attr]
    events = LogEvent.objects.filter(action__startswith="experts.remote.")
    assert events.count() >= 4
    for event in events:
        assert alias not in event.payload
        data = json.loads(event.payload)["data"]
        assert data.get("section") != w.section.pk and w.section.code not in event.payload
    created = json.loads(events.get(action=services.CommitteeAction.REMOTE_CREATED).payload)
    assert created["data"]["request"] == request.pk and "sealed" in created["data"]
