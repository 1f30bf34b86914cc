"""Reads of the disputes app, and the guard other apps use: must this section's steps wait?"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tenderhall.core import clock
from tenderhall.core.errors import NotFound
from tenderhall.core.permissions import Permission, has_permission, require
from tenderhall.disputes.models import Objection, ObjectionStatus


def pending_objections(*, section_id: int, stage: str | None = None) -> QuerySet[Objection]:
    objections = Objection.objects.filter(section_id=section_id, status=ObjectionStatus.RAISED)
    return objections.filter(stage=stage) if stage else objections


def section_waits_for_objection(section_id: int) -> bool:
    """条例 Art 22: until an objection to the documents is answered, the tender's steps wait."""
    return pending_objections(section_id=section_id).filter(suspends_section=True).exists()


def objections_for_user(user: Any, *, section_id: int | None = None) -> QuerySet[Objection]:
    """Staff and supervisors see all; the project's tenderer and agent see those on their projects;
    a bidder sees its own organization's."""
    require(user, Permission.ORGANIZATION_VIEW)
    objections = Objection.objects.select_related("section__project", "organization").order_by(
        "-raised_at", "-pk"
    )
    if section_id is not None:
        objections = objections.filter(section_id=section_id)
    if has_permission(user, Permission.OBJECTION_VIEW_ALL):
        return objections
    if getattr(user, "organization_id", None) is None:
        # Without this, "agent_id = NULL" would match every project without an agent.
        return objections.none()
    if has_permission(user, Permission.OBJECTION_ANSWER):
        return objections.filter(
            Q(section__project__tenderer_id=user.organization_id)
            | Q(section__project__agent_id=user.organization_id)
        )
    return objections.filter(organization_id=user.organization_id)


def objection_for_user(user: Any, pk: int) -> Objection:
    objection = objections_for_user(user).filter(pk=pk).first()
    if objection is None:
        raise NotFound("异议", "objection")
    return objection


def bid_deadline_passed(section: Any) -> bool:
    return section.bid_deadline is not None and section.bid_deadline < clock.now()


def objector_shown_to(user: Any, objection: Objection) -> bool:
    """Whether this user may see who raised the objection, now."""
    return objector_visible_to(user, objection, deadline_passed=bid_deadline_passed(objection.section))


def objector_visible_to(user: Any, objection: Objection, *, deadline_passed: bool) -> bool:
    """Before the bid deadline no bidder's identity is shown to anyone but that bidder (法 Art 22).
    After it, the readers of every objection and the project's own parties (to whom it was raised,
    条例 Art 22) may see who objected."""
    if user.organization_id == objection.organization_id:
        return True
    if not deadline_passed:
        return False
    if has_permission(user, Permission.OBJECTION_VIEW_ALL):
        return True
    project = objection.section.project
    return has_permission(user, Permission.OBJECTION_ANSWER) and user.organization_id in (
        project.tenderer_id,
        project.agent_id,
    )
