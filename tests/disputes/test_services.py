"""Objection services: raising (as the stage's app calls it), answering, the log, notifications,
and the guard other apps ask: must the section's steps wait?"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.auth.models import AnonymousUser

from tenderhall.accounts.models import Role
from tenderhall.core import clock
from tenderhall.core.canonical import sha256_hex
from tenderhall.core.errors import Conflict, DomainError, NotAuthenticated, PermissionDenied
from tenderhall.core.models import LogEvent, Notification
from tenderhall.disputes import selectors, services
from tenderhall.disputes.events import DisputesAction
from tenderhall.disputes.models import Objection, ObjectionStage, ObjectionStatus
from tests.disputes.conftest import ANSWER_DUE, OBJECTOR_NAME, TEXT, World
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def payloads(action: str) -> list[dict]:
    return [json.loads(e.payload) for e in LogEvent.objects.filter(action=action).order_by("index")]


# ---- raising ------------------------------------------------------------------------------------


def test_a_bidder_raises_an_objection_logged_with_a_hash(world: World) -> None:
    objection = world.raise_objection()
    assert objection.status == ObjectionStatus.RAISED and objection.organization == world.bidder.organization
    assert objection.raised_at == clock.now() and objection.answer_due == ANSWER_DUE
    [event] = payloads(DisputesAction.OBJECTION_RAISED)
    # Before the deadline the event is sealed: it names neither the objector nor the objection.
    assert event["actor"] == event["org"] == "" and event["object"] == {"type": "", "id": ""}
    assert set(event["data"]) == {"sealed"}
    assert TEXT not in json.dumps(event, ensure_ascii=False)
    assert world.bidder.username not in json.dumps(event, ensure_ascii=False)


def test_the_parties_are_told_without_the_objectors_name(world: World) -> None:
    world.raise_objection()
    told = set(Notification.objects.values_list("recipient__username", flat=True))
    assert told == {world.tenderer.username, world.agent.username, world.agent_colleague.username}
    for note in Notification.objects.all():
        assert world.section.code in note.subject and TEXT in note.body
        assert OBJECTOR_NAME not in note.subject + note.body
        assert world.bidder.organization.uscc not in note.subject + note.body


@pytest.mark.parametrize("who", ["agent", "tenderer", "staff", "supervisor", "auditor"])
def test_raising_needs_the_raise_permission(world: World, who: str) -> None:
    with pytest.raises(PermissionDenied) as info:
        world.raise_objection(by=getattr(world, who))
    assert info.value.extra["permission"] == "disputes:objection:raise"
    assert not Objection.objects.exists()


def test_raising_refuses_anonymous_empty_text_unknown_stage_naive_deadline(world: World) -> None:
    with pytest.raises(NotAuthenticated):
        world.raise_objection(by=AnonymousUser())  # type: ignore[arg-type]
    for kwargs, code in [
        ({"text": "  "}, "objection_text_required"),
        ({"stage": "lunch"}, "objection_stage_invalid"),
        ({"answer_due": dt.datetime(2026, 3, 5, 9)}, "answer_due_naive"),
    ]:
        with pytest.raises(DomainError) as info:
            world.raise_objection(**kwargs)
        assert info.value.code == code
    assert not Objection.objects.exists() and not Notification.objects.exists()


def test_a_bidder_without_an_organization_cannot_raise(world: World) -> None:
    loner = UserFactory(role=Role.BIDDER, organization=None)
    with pytest.raises(PermissionDenied):
        world.raise_objection(by=loner)


# ---- answering ----------------------------------------------------------------------------------


def test_the_agent_answers_and_the_objector_is_told(world: World) -> None:
    objection = world.raise_objection()
    Notification.objects.all().delete()
    clock.advance(dt.timedelta(days=1))
    answered = services.objection_answer(
        acting_user=world.agent, objection=objection, answer="已修改资格条件。"
    )
    assert answered.status == ObjectionStatus.ANSWERED and answered.answered_by == world.agent
    assert answered.answered_at == clock.now()
    note = Notification.objects.get(recipient=world.bidder)
    assert "已修改资格条件" in note.body and world.section.code in note.subject
    # the other party (the tenderer) is told as well; the answering agent is not told of its own answer
    told = set(Notification.objects.values_list("recipient__username", flat=True))
    assert world.tenderer.username in told and world.agent.username not in told
    [event] = payloads(DisputesAction.OBJECTION_ANSWERED)
    assert event["data"] == {"answer_sha256": sha256_hex("已修改资格条件。"), "late": False}


def test_the_tenderer_answers_too(world: World) -> None:
    objection = world.raise_objection()
    services.objection_answer(acting_user=world.tenderer, objection=objection, answer="维持原文件。")
    assert Objection.objects.get().status == ObjectionStatus.ANSWERED


def test_a_late_answer_is_flagged_in_the_log(world: World) -> None:
    objection = world.raise_objection()
    clock.set_now(ANSWER_DUE + dt.timedelta(seconds=1))
    services.objection_answer(acting_user=world.agent, objection=objection, answer="迟复。")
    assert payloads(DisputesAction.OBJECTION_ANSWERED)[0]["data"]["late"] is True


def test_an_answer_exactly_at_the_deadline_is_on_time(world: World) -> None:
    objection = world.raise_objection()
    clock.set_now(ANSWER_DUE)
    services.objection_answer(acting_user=world.agent, objection=objection, answer="按时。")
    assert payloads(DisputesAction.OBJECTION_ANSWERED)[0]["data"]["late"] is False


@pytest.mark.parametrize("who", ["other_agent", "staff", "supervisor", "bidder"])
def test_only_the_projects_tenderer_or_agent_answers(world: World, who: str) -> None:
    objection = world.raise_objection()
    with pytest.raises(PermissionDenied):
        services.objection_answer(acting_user=getattr(world, who), objection=objection, answer="越权答复")
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.RAISED and objection.answer == ""
    assert not LogEvent.objects.filter(action=DisputesAction.OBJECTION_ANSWERED).exists()


def test_an_objection_is_answered_once(world: World) -> None:
    objection = world.raise_objection()
    services.objection_answer(acting_user=world.agent, objection=objection, answer="第一次。")
    with pytest.raises(Conflict) as info:
        services.objection_answer(acting_user=world.tenderer, objection=objection, answer="第二次。")
    assert info.value.code == "objection_not_open"
    assert Objection.objects.get().answer == "第一次。"


def test_an_empty_answer_is_refused(world: World) -> None:
    objection = world.raise_objection()
    with pytest.raises(DomainError) as info:
        services.objection_answer(acting_user=world.agent, objection=objection, answer="   ")
    assert info.value.code == "answer_required" and info.value.fields == {"answer": ""}


# ---- the guard other apps use -------------------------------------------------------------------


def test_the_section_waits_until_the_objection_is_answered(world: World) -> None:
    assert not selectors.section_waits_for_objection(world.section.pk)
    objection = world.raise_objection()
    assert selectors.section_waits_for_objection(world.section.pk)
    assert not selectors.section_waits_for_objection(world.other_section.pk)
    services.objection_answer(acting_user=world.agent, objection=objection, answer="已答复。")
    assert not selectors.section_waits_for_objection(world.section.pk)


def test_an_objection_that_does_not_suspend_does_not_hold_the_section(world: World) -> None:
    world.raise_objection(stage=ObjectionStage.OPENING, suspends_section=False)
    assert not selectors.section_waits_for_objection(world.section.pk)
    assert (
        selectors.pending_objections(section_id=world.section.pk, stage=ObjectionStage.OPENING).count() == 1
    )
    assert not selectors.pending_objections(
        section_id=world.section.pk, stage=ObjectionStage.TENDER_DOCUMENTS
    ).exists()
