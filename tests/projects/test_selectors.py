"""Reads and access helpers: who sees which project, the review queue, the checklist status."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser

from tenderhall.accounts.models import Role
from tenderhall.core import clock
from tenderhall.core.errors import NotAuthenticated, NotFound
from tenderhall.projects import selectors, services
from tenderhall.projects.models import ChecklistItem
from tests.factories import UserFactory
from tests.projects.factories import encryption_certificate, register_project, required_items, upload


@pytest.fixture
def rival_project(certified, checklist, other_agent, tenderer):
    """Another agent's project, for the same tenderer."""
    return register_project(other_agent, tenderer.organization, title="隔壁代理的项目")


def test_read_roles_see_every_project(project, rival_project, staff, supervisor, auditor):
    for user in (staff, supervisor, auditor):
        assert set(selectors.projects_for_user(user)) == {project, rival_project}
        assert selectors.project_for_user(user, rival_project.pk) == rival_project


def test_an_agent_sees_only_the_projects_it_is_party_to(project, rival_project, agent, other_agent):
    assert list(selectors.projects_for_user(agent)) == [project]
    assert list(selectors.projects_for_user(other_agent)) == [rival_project]
    with pytest.raises(NotFound):
        selectors.project_for_user(agent, rival_project.pk)


def test_the_tenderer_sees_every_project_it_tenders(project, rival_project, tenderer):
    assert set(selectors.projects_for_user(tenderer)) == {project, rival_project}


def test_a_colleague_of_the_agent_sees_its_projects(project, agent):
    colleague = UserFactory(role=Role.AGENT, organization=agent.organization)
    assert list(selectors.projects_for_user(colleague)) == [project]


@pytest.mark.parametrize("role", [Role.BIDDER, Role.EXPERT, Role.OPERATOR])
def test_bidders_and_experts_see_no_project_here(project, role):
    user = UserFactory(role=role)
    assert list(selectors.projects_for_user(user)) == []
    assert list(selectors.sections_for_user(user)) == []
    with pytest.raises(NotFound):
        selectors.project_for_user(user, project.pk)
    with pytest.raises(NotFound):
        selectors.section_for_user(user, project.sections.get().pk)


def test_nobody_signed_out_sees_anything(project):
    with pytest.raises(NotAuthenticated):
        selectors.projects_for_user(AnonymousUser())
    with pytest.raises(NotAuthenticated):
        selectors.section_for_user(AnonymousUser(), project.sections.get().pk)


def test_sections_follow_their_projects(project, rival_project, agent, staff):
    own = project.sections.get()
    rival = rival_project.sections.get()
    assert list(selectors.sections_for_user(agent)) == [own]
    assert selectors.section_for_user(agent, own.pk) == own
    with pytest.raises(NotFound):
        selectors.section_for_user(agent, rival.pk)
    assert list(selectors.sections_for_user(staff, project_id=rival_project.pk)) == [rival]


def test_missing_items_and_checklist_status(project, agent, staff):
    r1, r2 = required_items(project)
    assert selectors.missing_items(project) == [r1, r2]
    upload(agent, project, r1)
    assert selectors.missing_items(project) == [r2]
    services.project_submit(acting_user=agent, project=project)
    services.project_return(acting_user=staff, project=project, item_ids=[r2.pk])
    upload(agent, project, r2)
    project.refresh_from_db()
    rows = {row.item.pk: row for row in selectors.checklist_status(project)}
    assert rows[r1.pk].document is not None and not rows[r1.pk].changed_since_return
    assert rows[r2.pk].changed_since_return and rows[r2.pk].cited_last_time
    assert not any(row.missing for row in rows.values())


def test_what_a_later_return_may_cite(project, agent, staff):
    r1, r2 = required_items(project)
    assert selectors.citable_after_return(project) is None
    upload(agent, project, r1)
    services.project_submit(acting_user=agent, project=project)
    services.project_return(acting_user=staff, project=project, item_ids=[r2.pk])
    project.refresh_from_db()
    assert selectors.citable_after_return(project) == {r2.pk}
    upload(agent, project, r1, b"changed")
    assert selectors.citable_after_return(project) == {r1.pk, r2.pk}


def test_the_review_queue_is_oldest_first_with_the_same_day_marker(
    certified, checklist, agent, tenderer, staff
):
    first = register_project(agent, tenderer.organization, title="先提交")
    second = register_project(agent, tenderer.organization, title="后提交")
    services.project_submit(acting_user=agent, project=second)  # Monday 10:00 Beijing
    clock.advance(dt.timedelta(hours=1, minutes=5))
    services.project_submit(acting_user=agent, project=first)
    clock.advance(dt.timedelta(minutes=30))
    queue = selectors.review_queue(staff)
    assert [e.project for e in queue] == [second, first]
    assert [e.waited for e in queue] == [dt.timedelta(hours=1, minutes=35), dt.timedelta(minutes=30)]
    assert queue[0].waited_display == "1 h 35 min"
    assert all(e.due_today and not e.overdue for e in queue)
    clock.advance(dt.timedelta(days=1))
    late = selectors.review_queue(staff)
    assert all(e.overdue and not e.due_today for e in late)
    assert late[0].waited_display == "1 d 1 h 35 min"


def test_the_day_is_the_local_day(certified, checklist, agent, tenderer, staff):
    clock.set_now(dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.UTC))  # 23:30 in Beijing
    project = register_project(agent, tenderer.organization)
    services.project_submit(acting_user=agent, project=project)
    clock.advance(dt.timedelta(hours=1))  # 00:30 the next day in Beijing, still 2 March in UTC
    (entry,) = selectors.review_queue(staff)
    assert entry.overdue and not entry.due_today


def test_staff_queue_holds_their_centres_projects_and_readers_see_all(project, agent, staff, supervisor):
    services.project_submit(acting_user=agent, project=project)
    elsewhere = UserFactory(role=Role.STAFF)
    assert selectors.review_queue(elsewhere) == []
    assert [e.project for e in selectors.review_queue(staff)] == [project]
    assert [e.project for e in selectors.review_queue(supervisor)] == [project]


def test_encryption_certificate_prefers_the_holders_own(checklist, agent):
    org_wide = encryption_certificate(agent, holder=False)
    assert selectors.encryption_certificate_for(agent) == org_wide
    own = encryption_certificate(agent)
    assert selectors.encryption_certificate_for(agent) == own
    colleague = UserFactory(role=Role.AGENT, organization=agent.organization)
    assert selectors.encryption_certificate_for(colleague) == org_wide


def test_eligible_custodians(project, agent, tenderer, staff, supervisor, bidder, other_agent):
    people = set(
        selectors.eligible_custodians(
            tenderer_id=project.tenderer_id, agent_id=project.agent_id, centre_id=project.centre_id
        )
    )
    assert people == {agent, tenderer, staff, supervisor}


def test_the_checklist_shows_inactive_items_to_staff_only(checklist, staff, agent):
    item = ChecklistItem.objects.first()
    services.checklist_item_update(acting_user=staff, item=item, is_active=False)
    assert item in selectors.checklist_for_user(staff)
    assert item not in selectors.checklist_for_user(agent)
    assert {i.category for i in selectors.checklist_for_user(agent, category="land_mining")} == {
        "land_mining"
    }
