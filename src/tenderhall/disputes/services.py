"""Writes of the disputes app. Raising is called by the stage's own app (e.g. notices for tender
documents), which first checks who may object and until when; answering is generic."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from tenderhall.core import clock
from tenderhall.core.canonical import sha256_hex
from tenderhall.core.errors import Conflict, PermissionDenied, ValidationFailed
from tenderhall.core.models import NotificationChannel
from tenderhall.core.notifications import notification_enqueue
from tenderhall.core.permissions import Permission, require
from tenderhall.core.transparency import log_append
from tenderhall.disputes.events import DisputesAction
from tenderhall.disputes.models import Objection, ObjectionStage, ObjectionStatus


def _party_users(section: Any) -> list[Any]:
    """The people of the project's tenderer and agent, who must answer."""
    project = section.project
    users = list(project.tenderer.users.filter(is_active=True))
    if project.agent_id:
        users += list(project.agent.users.filter(is_active=True))
    return users


@transaction.atomic
def objection_raise(
    *,
    acting_user: Any,
    section: Any,
    stage: str,
    text: str,
    answer_due: dt.datetime,
    suspends_section: bool = True,
) -> Objection:
    """Record an objection. The caller (the stage's app) has checked eligibility and the cutoff."""
    require(acting_user, Permission.OBJECTION_RAISE)
    if acting_user.organization_id is None:
        # An objection is raised by a bidder organization (法 Art 65: 投标人或者其他利害关系人).
        raise PermissionDenied(str(Permission.OBJECTION_RAISE))
    if answer_due.tzinfo is None or answer_due.utcoffset() is None:
        raise ValidationFailed(
            "answer_due_naive", "答复期限须注明时区", "the answer deadline must carry a time zone"
        )
    if stage not in ObjectionStage.values:
        raise ValidationFailed("objection_stage_invalid", f"异议阶段无效：{stage}", f"unknown stage: {stage}")
    text = text.strip()
    if not text:
        raise ValidationFailed(
            "objection_text_required", "请写明异议内容", "write what you object to", fields={"text": ""}
        )
    objection = Objection.objects.create(
        section=section,
        stage=stage,
        organization=acting_user.organization,
        raised_by=acting_user,
        text=text,
        raised_at=clock.now(),
        answer_due=answer_due,
        suspends_section=suspends_section,
    )
    # Before the deadline an objector is a potential bidder, whose identity log readers must not
    # learn (法 Art 22): the event is sealed then.
    deadline = getattr(section, "bid_deadline", None)
    log_append(
        action=DisputesAction.OBJECTION_RAISED,
        actor=acting_user,
        obj=objection,
        sealed=deadline is None or deadline > clock.now(),
        data={
            "section": section.pk,
            "stage": stage,
            "text_sha256": sha256_hex(text),
            "answer_due": answer_due,
            "suspends_section": suspends_section,
        },
    )
    for user in _party_users(section):
        # The objector is not named: before the deadline no bidder's identity is shown (法 Art 22).
        notification_enqueue(
            recipient=user,
            channel=NotificationChannel.IN_APP,
            subject=f"异议待答复 / Objection to answer: {section.code}",
            body=f"{text}\n\n答复期限 / answer by: {answer_due.astimezone(clock.LOCAL_TZ):%Y-%m-%d %H:%M}",
        )
    return objection


@transaction.atomic
def objection_answer(*, acting_user: Any, objection: Objection, answer: str) -> Objection:
    require(acting_user, Permission.OBJECTION_ANSWER)
    objection = (
        Objection.objects.select_for_update(of=("self",))
        .select_related("section__project", "raised_by")
        .get(pk=objection.pk)
    )
    project = objection.section.project
    if acting_user.organization_id not in (project.tenderer_id, project.agent_id):
        raise PermissionDenied(str(Permission.OBJECTION_ANSWER))
    if not objection.can_answer():
        raise Conflict(
            "objection_not_open", "该异议已答复或已撤回", "this objection is already answered or withdrawn"
        )
    answer = answer.strip()
    if not answer:
        raise ValidationFailed("answer_required", "请填写答复内容", "write the answer", fields={"answer": ""})
    now = clock.now()
    objection.answer = answer
    objection.answered_by = acting_user
    objection.answered_at = now
    objection.status = ObjectionStatus.ANSWERED
    objection.save(update_fields=["answer", "answered_by", "answered_at", "status"])
    log_append(
        action=DisputesAction.OBJECTION_ANSWERED,
        actor=acting_user,
        obj=objection,
        data={"answer_sha256": sha256_hex(answer), "late": now > objection.answer_due},
    )
    notification_enqueue(
        recipient=objection.raised_by,
        channel=NotificationChannel.IN_APP,
        subject=f"异议已答复 / Your objection was answered: {objection.section.code}",
        body=answer,
    )
    for user in _party_users(objection.section):  # the other party (tenderer or agent) learns it too
        if user.pk != acting_user.pk:
            notification_enqueue(
                recipient=user,
                channel=NotificationChannel.IN_APP,
                subject=f"异议已答复 / An objection was answered: {objection.section.code}",
                body=answer,
            )
    return objection
