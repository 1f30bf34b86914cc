"""Disputes API: objections (异议) and their answers.

Objections are raised through the stage's own app (e.g. the notices app for tender documents,
条例 Art 22), which checks who may object and until when. Here they are read and answered. Who
raised one is shown only where ``selectors.objector_visible_to`` allows it: before the bid
deadline, to nobody but the objector's own organization (法 Art 22).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from tenderhall.core import clock
from tenderhall.core.permissions import Permission, require
from tenderhall.disputes import selectors, services
from tenderhall.disputes.models import Objection

router = Router(tags=["disputes"])


def _user(request: HttpRequest) -> Any:
    # Authenticated by accounts.auth (session or bearer token) before any handler runs.
    return request.user


class ObjectionOut(Schema):
    id: int
    section_id: int
    section_code: str
    project_title: str
    stage: str
    status: str
    text: str
    raised_at: dt.datetime
    answer_due: dt.datetime
    overdue: bool  # still unanswered after the answer deadline
    suspends_section: bool
    answer: str
    answered_at: dt.datetime | None
    answered_late: bool
    objector: str | None  # the objecting organization, where the viewer may know it
    objector_uscc: str | None


def objection_view(user: Any, objection: Objection) -> dict[str, Any]:
    shown = selectors.objector_shown_to(user, objection)
    section = objection.section
    return {
        "id": objection.pk,
        "section_id": section.pk,
        "section_code": section.code,
        "project_title": section.project.title,
        "stage": objection.stage,
        "status": objection.status,
        "text": objection.text,
        "raised_at": objection.raised_at,
        "answer_due": objection.answer_due,
        "overdue": objection.can_answer() and objection.answer_due < clock.now(),
        "suspends_section": objection.suspends_section,
        "answer": objection.answer,
        "answered_at": objection.answered_at,
        "answered_late": objection.answered_at is not None and objection.answered_at > objection.answer_due,
        "objector": objection.organization.name if shown else None,
        "objector_uscc": objection.organization.uscc if shown else None,
    }


class AnswerIn(Schema):
    answer: str


@router.get("/objections", response=list[ObjectionOut], summary="Objections I may see")
def objections_list(
    request: HttpRequest, section_id: int | None = None, status: str = ""
) -> list[dict[str, Any]]:
    user = _user(request)
    objections = selectors.objections_for_user(user, section_id=section_id)
    if status:
        objections = objections.filter(status=status)
    return [objection_view(user, o) for o in objections]


@router.get("/objections/{objection_id}", response=ObjectionOut, summary="One objection")
def objections_get(request: HttpRequest, objection_id: int) -> dict[str, Any]:
    user = _user(request)
    return objection_view(user, selectors.objection_for_user(user, objection_id))


@router.post(
    "/objections/{objection_id}/answer",
    response=ObjectionOut,
    summary="Answer an objection (the project's tenderer or agent)",
)
def objections_answer(request: HttpRequest, objection_id: int, body: AnswerIn) -> dict[str, Any]:
    user = _user(request)
    require(user, Permission.OBJECTION_ANSWER)  # before any lookup: the answer must not depend on the id
    objection = selectors.objection_for_user(user, objection_id)
    services.objection_answer(acting_user=user, objection=objection, answer=body.answer)
    return objection_view(user, selectors.objection_for_user(user, objection_id))
