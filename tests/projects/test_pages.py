"""The projects pages, driven as the browser test will: agent registers → staff returns with the
missing items → agent uploads them → staff confirms."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tenderhall.core.models import Notification
from tenderhall.projects import services
from tenderhall.projects.models import ChecklistItem, Project, ProjectStatus
from tests.projects.conftest import login
from tests.projects.factories import register_project, required_items, upload


def text(response) -> str:
    return html.unescape(response.content.decode())


def project_post(tenderer, agent=None, **sections: Any) -> dict[str, Any]:
    """The new-project form: a project and its first section; the other four forms stay blank."""
    data = {
        "title": "示范市体育馆维修",
        "category": "construction",
        "procedure": "open",
        "tenderer": str(tenderer.organization_id),
        "agent": str(agent.organization_id) if agent else "",
        "centre": "",
        "region": "示范市",
        "description": "",
        "sections-TOTAL_FORMS": "5",
        "sections-INITIAL_FORMS": "0",
        "sections-MIN_NUM_FORMS": "0",
        "sections-MAX_NUM_FORMS": "5",
    }
    for i in range(5):
        data[f"sections-{i}-custodian_threshold"] = "2"  # the blank forms' initial value
    first = {
        "name": "主体工程",
        "estimated_price": "2000000",
        "bond_amount": "40000",
        "evaluation_method": "comprehensive",
        "weight_price": "40",
        "weight_technical": "50",
        "weight_business": "10",
    }
    first.update(sections)
    for key, value in first.items():
        data[f"sections-0-{key}"] = value
    return data


@pytest.fixture
def centre_post(centre):
    def fill(data: dict[str, Any]) -> dict[str, Any]:
        data["centre"] = str(centre.pk)
        return data

    return fill


def test_the_list_page_for_an_agent(project, agent):
    page = login(agent).get("/projects/")
    assert page.status_code == 200
    body = text(page)
    assert project.code in body and 'data-testid="new-project"' in body
    assert 'data-testid="review-queue"' not in body


def test_the_list_page_for_staff_has_the_queue(project, agent, staff):
    services.project_submit(acting_user=agent, project=project)
    body = text(login(staff).get("/projects/"))
    assert 'data-testid="review-queue"' in body and 'data-testid="queue-row"' in body
    assert 'data-testid="due-today"' in body and "0 h 00 min" in body
    assert 'data-testid="new-project"' not in body and 'data-testid="edit-checklist"' in body
    row = f'data-testid="project-row" data-project-id="{project.pk}"'
    assert row in text(login(staff).get("/projects/?status=submitted"))
    assert row not in text(login(staff).get("/projects/?status=draft"))


def test_the_new_page_shows_five_section_forms(certified, checklist, agent):
    page = login(agent).get("/projects/new/")
    assert page.status_code == 200
    body = text(page)
    assert body.count('data-testid="section-form"') == 5
    assert 'data-testid="save-project"' in body and 'name="sections-4-name"' in body
    assert "encryption certificate ✓" in body


def test_an_agent_registers_a_project_on_the_page(certified, checklist, agent, tenderer, centre_post):
    response = login(agent).post("/projects/new/", centre_post(project_post(tenderer, agent)))
    assert response.status_code == 302, text(response)[:3000]
    project = Project.objects.get()
    assert response["Location"] == f"/projects/{project.pk}/"
    (section,) = project.sections.all()
    assert section.evaluation_params == {"weights": {"price": "40", "technical": "50", "business": "10"}}
    assert section.custodians.count() == 3


def test_a_tenderer_registers_without_an_agent(certified, checklist, tenderer, centre_post):
    response = login(tenderer).post("/projects/new/", centre_post(project_post(tenderer)))
    assert response.status_code == 302
    assert Project.objects.get().agent is None


def test_a_refused_bond_is_shown_on_its_section(certified, checklist, agent, tenderer, centre_post):
    page = login(agent).post(
        "/projects/new/", centre_post(project_post(tenderer, agent, bond_amount="40000.01"))
    )
    assert page.status_code == 200
    body = text(page)
    assert "条例 Art 26" in body and "2%" in body
    assert Project.objects.count() == 0


def test_named_custodians_on_the_page(certified, checklist, agent, tenderer, staff, supervisor, centre_post):
    data = centre_post(project_post(tenderer, agent))
    data["sections-0-custodians"] = [str(staff.pk), str(supervisor.pk)]
    assert login(agent).post("/projects/new/", data).status_code == 302
    assert [c.user for c in Project.objects.get().sections.get().custodians.order_by("order")] == [
        staff,
        supervisor,
    ]


def test_a_form_with_no_section_is_refused(certified, checklist, agent, tenderer, centre_post):
    data = centre_post(
        project_post(
            tenderer,
            agent,
            name="",
            estimated_price="",
            bond_amount="",
            evaluation_method="",
            weight_price="",
            weight_technical="",
            weight_business="",
        )
    )
    page = login(agent).post("/projects/new/", data)
    assert page.status_code == 200 and "at least one section" in text(page)


def test_the_detail_page_for_the_agent(project, agent):
    body = text(login(agent).get(f"/projects/{project.pk}/"))
    for testid in (
        "project-status",
        "submit-project",
        "edit-project",
        "checklist-row",
        "upload-document",
        "missing-now",
        "custodians",
        "review-history",
    ):
        assert f'data-testid="{testid}"' in body, testid
    assert 'data-testid="review-panel"' not in body
    assert 'data-status="draft"' in body


def test_upload_submit_return_upload_confirm_on_the_pages(project, agent, staff):
    party, reviewer = login(agent), login(staff)
    r1, r2 = required_items(project)
    response = party.post(
        f"/projects/{project.pk}/documents/",
        {"checklist_item_id": r1.pk, "file": SimpleUploadedFile("申请表.pdf", b"%PDF-1")},
    )
    assert response.status_code == 302
    party.post(f"/projects/{project.pk}/submit/")
    project.refresh_from_db()
    assert project.status == ProjectStatus.SUBMITTED

    body = text(reviewer.get(f"/projects/{project.pk}/"))
    assert 'data-testid="review-panel"' in body and 'data-testid="return-project"' in body
    # the missing item is checked in advance, the present one is not
    assert re.search(rf'<input[^>]*value="{r2.pk}"[^>]*checked', body)
    assert not re.search(rf'<input[^>]*value="{r1.pk}"[^>]*checked', body)
    assert 'data-testid="confirm-project" disabled' in body

    refused = reviewer.post(f"/projects/{project.pk}/return/", {"note": "x"}, follow=True)
    assert "6.2.3" in text(refused) and r2.name in text(refused)
    reviewer.post(f"/projects/{project.pk}/return/", {"item_ids": [str(r2.pk)], "note": "请补交备案表"})
    project.refresh_from_db()
    assert project.status == ProjectStatus.RETURNED
    assert Notification.objects.filter(recipient=agent, body__contains="请补交备案表").count() == 2

    body = text(party.get(f"/projects/{project.pk}/"))
    assert 'data-testid="review-missing"' in body and "请补交备案表" in body
    party.post(
        f"/projects/{project.pk}/documents/",
        {"checklist_item_id": r2.pk, "file": SimpleUploadedFile("备案表.pdf", b"%PDF-2")},
    )
    party.post(f"/projects/{project.pk}/submit/")

    body = text(reviewer.get(f"/projects/{project.pk}/"))
    assert "(new since the last return)" in body
    response = reviewer.post(
        f"/projects/{project.pk}/confirm/", {"responsible_staff": str(staff.pk)}, follow=True
    )
    assert response.status_code == 200
    project.refresh_from_db()
    assert project.status == ProjectStatus.REGISTERED and project.responsible_staff == staff
    assert 'data-status="registered"' in text(response)


def test_a_refused_upload_is_a_message(project, agent, monkeypatch):
    monkeypatch.setattr(services, "MAX_DOCUMENT_BYTES", 3)
    item = required_items(project)[0]
    response = login(agent).post(
        f"/projects/{project.pk}/documents/",
        {"checklist_item_id": item.pk, "file": SimpleUploadedFile("a.pdf", b"1234")},
        follow=True,
    )
    assert "MiB" in text(response)


def test_the_document_downloads_as_an_attachment(project, agent, staff):
    doc = upload(agent, project, required_items(project)[0], b"<html><script>alert(1)</script>", "x.html")
    response = login(staff).get(f"/projects/{project.pk}/documents/{doc.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == b"<html><script>alert(1)</script>"


def test_the_edit_page_changes_the_project_and_its_sections(project, agent):
    client = login(agent)
    page = client.get(f"/projects/{project.pk}/edit/")
    assert page.status_code == 200
    section = project.sections.get()
    data = {
        "title": "新的名称",
        "category": "construction",
        "procedure": "invited",
        "tenderer": str(project.tenderer_id),
        "agent": str(project.agent_id),
        "centre": str(project.centre_id),
        "region": "示范市",
        "description": "",
        "sections-TOTAL_FORMS": "5",
        "sections-INITIAL_FORMS": "1",
        "sections-MIN_NUM_FORMS": "0",
        "sections-MAX_NUM_FORMS": "5",
        "sections-0-id": str(section.pk),
        "sections-0-name": section.name,
        "sections-0-estimated_price": "1000000.00",
        "sections-0-bond_amount": "15000.00",
        "sections-0-evaluation_method": "lowest_evaluated_price",
        "sections-0-custodians": [str(c.user_id) for c in section.custodians.all()],
        "sections-0-custodian_threshold": "2",
        "sections-1-name": "新增标段",
        "sections-1-estimated_price": "300000",
        "sections-1-bond_amount": "6000",
        "sections-1-evaluation_method": "benchmark_price",
        "sections-1-k_min": "0.95",
        "sections-1-k_max": "0.98",
        "sections-1-custodian_threshold": "2",
    }
    for i in range(2, 5):
        data[f"sections-{i}-custodian_threshold"] = "2"
    response = client.post(f"/projects/{project.pk}/edit/", data)
    assert response.status_code == 302, text(response)[:3000]
    project.refresh_from_db()
    assert project.title == "新的名称" and project.procedure == "invited"
    first, second = project.sections.order_by("number")
    assert first.evaluation_method == "lowest_evaluated_price" and first.evaluation_params == {}
    assert second.name == "新增标段" and second.evaluation_params == {"k_min": "0.95", "k_max": "0.98"}

    data["title"] = "再改一次"
    data["sections-1-name"] = ""  # a blank extra form: nothing
    data["sections-0-bond_amount"] = "20000.01"
    data["sections-TOTAL_FORMS"] = "5"
    data["sections-INITIAL_FORMS"] = "2"
    data["sections-1-id"] = str(second.pk)
    data["sections-1-name"] = second.name
    page = client.post(f"/projects/{project.pk}/edit/", data)
    assert page.status_code == 200 and "条例 Art 26" in text(page)
    project.refresh_from_db()
    assert project.title == "新的名称"  # all or nothing


def test_the_edit_page_of_a_submitted_project_sends_back(project, agent):
    services.project_submit(acting_user=agent, project=project)
    response = login(agent).get(f"/projects/{project.pk}/edit/")
    assert response.status_code == 302 and response["Location"] == f"/projects/{project.pk}/"


def test_the_checklist_page(checklist, staff):
    client = login(staff)
    page = client.get("/projects/checklist/")
    assert page.status_code == 200 and "委托拍卖合同（如有）" in text(page)
    response = client.post(
        "/projects/checklist/",
        {
            "action": "add",
            "category": "construction",
            "name": "资格预审文件",
            "description": "",
            "required": "on",
        },
    )
    assert response.status_code == 302
    item = ChecklistItem.objects.get(name="资格预审文件")
    assert item.required and item.order == 3
    client.post(
        "/projects/checklist/",
        {
            "action": "update",
            "item_id": item.pk,
            "name": "资格预审文件（如有）",
            "description": "",
            "is_active": "on",
        },
    )
    item.refresh_from_db()
    assert item.name == "资格预审文件（如有）" and not item.required and item.is_active
    client.post("/projects/checklist/", {"action": "move", "item_id": item.pk, "offset": "-1"})
    names = [i.name for i in ChecklistItem.objects.filter(category="construction").order_by("order")]
    assert names[1] == "资格预审文件（如有）"
    page = client.post("/projects/checklist/", {"action": "add", "category": "construction", "name": ""})
    assert page.status_code == 200 and 'data-testid="add-item-form"' in text(page)


def test_the_project_page_of_a_registered_project_has_no_actions(project, agent, staff):
    for item in required_items(project):
        upload(agent, project, item)
    services.project_submit(acting_user=agent, project=project)
    services.project_confirm(acting_user=staff, project=project)
    for user in (agent, staff):
        body = text(login(user).get(f"/projects/{project.pk}/"))
        assert 'data-testid="submit-project"' not in body and 'data-testid="review-panel"' not in body
        assert 'data-testid="upload-document"' not in body


def test_a_second_project_for_the_same_tenderer_by_another_agent_is_not_listed(
    certified, checklist, project, other_agent, tenderer, agent
):
    rival = register_project(other_agent, tenderer.organization, title="别家项目")
    body = text(login(agent).get("/projects/"))
    assert rival.code not in body and "别家项目" not in body
