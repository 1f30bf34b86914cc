"""The projects API over HTTP: the registration flow and its problem+json refusals."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tenderhall.accounts.services import api_token_issue
from tenderhall.core.errors import PROBLEM_CONTENT_TYPE
from tenderhall.projects.models import ChecklistItem, Project, ProjectStatus, Section
from tests.projects.factories import required_items

API = "/api/v1"


class As:
    """A client signed in with a bearer token."""

    def __init__(self, user: Any) -> None:
        raw, _ = api_token_issue(user=user)
        self.client = Client(raise_request_exception=False)
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def get(self, path: str, **query: Any):
        return self.client.get(API + path, query, **self.headers)

    def send(self, method: str, path: str, body: Any = None):
        data = json.dumps(body) if body is not None else ""
        return self.client.generic(method, API + path, data, content_type="application/json", **self.headers)

    def post(self, path: str, body: Any = None):
        return self.send("POST", path, body if body is not None else {})

    def patch(self, path: str, body: Any):
        return self.send("PATCH", path, body)

    def delete(self, path: str):
        return self.send("DELETE", path)

    def upload(self, project_id: int, item_id: int, content: bytes = b"%PDF test", name: str = "doc.pdf"):
        return self.client.post(
            f"{API}/projects/{project_id}/documents",
            {"checklist_item_id": item_id, "file": SimpleUploadedFile(name, content)},
            **self.headers,
        )


def problem(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == code, body
    assert body["message_zh"] and body["message_en"]
    return body


def section_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "一标段",
        "estimated_price": "1000000.00",
        "bond_amount": "20000.00",
        "evaluation_method": "benchmark_price",
        "evaluation_params": {"k_min": "0.95", "k_max": "0.98"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def body(agent, tenderer) -> dict[str, Any]:
    return {
        "title": "示范市污水处理厂改造",
        "category": "construction",
        "procedure": "open",
        "tenderer_id": tenderer.organization_id,
        "agent_id": agent.organization_id,
        "region": "示范市",
        "sections": [section_body(), section_body(name="二标段", bond_amount=5000)],
    }


def test_register_a_project(certified, checklist, agent, body, staff, supervisor):
    response = As(agent).post("/projects", body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "draft" and data["code"].startswith("XM2026")
    assert [s["name"] for s in data["sections"]] == ["一标段", "二标段"]
    first = data["sections"][0]
    assert first["estimated_price"] == "1000000.00" and first["bond_amount"] == "20000.00"
    assert first["evaluation_params"] == {"k_min": "0.95", "k_max": "0.98"}
    assert [c["username"] for c in first["custodians"]] == ["agent", "staff", "supervisor"]
    assert data["sections"][1]["bond_amount"] == "5000.00"
    assert [row["item"]["name"] for row in data["checklist"]] == [
        "公共资源进场交易申请表",
        "市招标投标监管网项目备案表",
    ]
    assert all(row["missing"] and row["document"] is None for row in data["checklist"])


def test_a_bond_above_two_percent_is_a_problem_with_its_article(certified, checklist, agent, body):
    body["sections"][1]["bond_amount"] = "20000.01"
    body["sections"][1]["estimated_price"] = "1000000"
    data = problem(As(agent).post("/projects", body), 422, "bond_above_limit")
    assert data["article"] == "条例 Art 26"
    assert data["section_index"] == 1 and "二标段" in data["message_zh"]
    assert data["errors"] == [{"field": "bond_amount", "message": data["detail"]}]
    assert Project.objects.count() == 0


def test_floats_are_refused_for_money_and_parameters(certified, checklist, agent, body):
    body["sections"][0]["estimated_price"] = 1000000.5
    problem(As(agent).post("/projects", body), 422, "request_invalid")
    body["sections"][0]["estimated_price"] = "1000000"
    body["sections"][0]["evaluation_params"] = {"k_min": 0.95, "k_max": "0.98"}
    problem(As(agent).post("/projects", body), 422, "evaluation_params_invalid")


def test_a_custodian_without_an_encryption_certificate_is_named(checklist, agent, body, staff, supervisor):
    from tests.projects.factories import encryption_certificate

    encryption_certificate(agent)
    encryption_certificate(supervisor)
    data = problem(As(agent).post("/projects", body), 422, "custodian_no_encryption_certificate")
    assert data["custodian"] == "staff"


def test_bad_input_is_never_a_500(certified, checklist, agent, body):
    client = As(agent)
    for broken in (
        {**body, "tenderer_id": "x"},
        {**body, "sections": "none"},
        {**body, "sections": [{"name": "缺字段"}]},
        {**body, "category": None},
        {**body, "sections": [section_body(estimated_price="1e400")]},
        {**body, "sections": [section_body(custodian_ids=["a"])]},
    ):
        response = client.post("/projects", broken)
        assert 400 <= response.status_code < 500, (broken, response.content[:300])
        assert response["Content-Type"] == PROBLEM_CONTENT_TYPE


def test_get_list_and_patch(project, agent, tenderer):
    client = As(agent)
    assert [p["id"] for p in client.get("/projects").json()] == [project.pk]
    assert client.get("/projects", status="registered").json() == []
    data = client.get(f"/projects/{project.pk}").json()
    assert data["tenderer_name"] == tenderer.organization.name
    patched = client.patch(f"/projects/{project.pk}", {"title": "改名后的项目", "description": "补充说明"})
    assert patched.status_code == 200 and patched.json()["title"] == "改名后的项目"
    assert patched.json()["agent_id"] == agent.organization_id  # not given: unchanged


def test_patch_agent_null_removes_the_agent_for_a_tenderer(project, tenderer):
    response = As(tenderer).patch(f"/projects/{project.pk}", {"agent_id": None})
    assert response.status_code == 200 and response.json()["agent_id"] is None


def test_sections_endpoints(project, agent, staff, supervisor):
    client = As(agent)
    created = client.post(f"/projects/{project.pk}/sections", section_body(name="三标段"))
    assert created.status_code == 201
    section_id = created.json()["id"]
    assert client.get(f"/sections/{section_id}").json()["number"] == 2
    patched = client.patch(
        f"/sections/{section_id}",
        {"bond_amount": "1000.00", "custodian_ids": [staff.pk, supervisor.pk], "custodian_threshold": 2},
    )
    assert patched.status_code == 200
    assert patched.json()["bond_amount"] == "1000.00"
    assert [c["username"] for c in patched.json()["custodians"]] == ["staff", "supervisor"]
    problem(
        client.patch(f"/sections/{section_id}", {"custodian_threshold": 3}),
        422,
        "custodian_threshold_invalid",
    )
    assert client.delete(f"/sections/{section_id}").status_code == 204
    assert Section.objects.filter(pk=section_id).count() == 0
    last = project.sections.get().pk
    problem(client.delete(f"/sections/{last}"), 409, "last_section")


def test_upload_documents_and_the_missing_list(project, agent):
    client = As(agent)
    r1, r2 = required_items(project)
    assert [i["id"] for i in client.get(f"/projects/{project.pk}/missing").json()] == [r1.pk, r2.pk]
    response = client.upload(project.pk, r1.pk, b"application form", "申请表.pdf")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["sha256"] == hashlib.sha256(b"application form").hexdigest() and data["size"] == 16
    assert data["filename"] == "申请表.pdf" and data["uploaded_by"] == "agent"
    assert [i["id"] for i in client.get(f"/projects/{project.pk}/missing").json()] == [r2.pk]
    problem(client.upload(project.pk, 999999), 422, "checklist_item_invalid")
    problem(client.upload(project.pk, r2.pk, b""), 422, "document_empty")


def test_upload_without_a_file_is_a_problem(project, agent):
    client = As(agent)
    response = client.client.post(
        f"{API}/projects/{project.pk}/documents", {"checklist_item_id": 1}, **client.headers
    )
    problem(response, 422, "request_invalid")


def test_the_review_flow(project, agent, staff):
    party, reviewer = As(agent), As(staff)
    r1, r2 = required_items(project)
    party.upload(project.pk, r1.pk)
    assert party.post(f"/projects/{project.pk}/submit").json()["status"] == "submitted"
    omitted = problem(
        reviewer.post(f"/projects/{project.pk}/return", {"item_ids": []}), 422, "missing_items_omitted"
    )
    assert omitted["article"] == "朝阳市公共资源交易平台服务标准 6.2.3" and omitted["omitted"] == [r2.pk]
    returned = reviewer.post(f"/projects/{project.pk}/return", {"item_ids": [r2.pk], "note": "缺备案表"})
    assert returned.status_code == 200
    assert returned.json()["status"] == "returned"
    assert returned.json()["reviews"][0]["missing_item_ids"] == [r2.pk]
    party.upload(project.pk, r2.pk)
    party.post(f"/projects/{project.pk}/submit")
    late = problem(
        reviewer.post(f"/projects/{project.pk}/return", {"item_ids": [r1.pk]}), 422, "one_time_notice"
    )
    assert late["article"] == "朝阳市公共资源交易平台服务标准 6.2.3"
    confirmed = reviewer.post(f"/projects/{project.pk}/confirm", {})
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "registered"
    assert confirmed.json()["responsible_staff_id"] == staff.pk
    assert {s["status"] for s in confirmed.json()["sections"]} == {"registered"}
    problem(reviewer.post(f"/projects/{project.pk}/confirm", {}), 409, "project_not_submitted")


def test_confirm_with_missing_documents_and_a_named_responsible(project, agent, staff, colleague_staff):
    party, reviewer = As(agent), As(staff)
    party.post(f"/projects/{project.pk}/submit")
    data = problem(reviewer.post(f"/projects/{project.pk}/confirm", {}), 422, "documents_missing")
    assert len(data["missing"]) == 2
    Project.objects.filter(pk=project.pk).update(status=ProjectStatus.RETURNED)
    for item in required_items(project):
        party.upload(project.pk, item.pk)
    party.post(f"/projects/{project.pk}/submit")
    problem(
        reviewer.post(f"/projects/{project.pk}/confirm", {"responsible_staff_id": agent.pk}),
        422,
        "responsible_staff_invalid",
    )
    ok = reviewer.post(f"/projects/{project.pk}/confirm", {"responsible_staff_id": colleague_staff.pk})
    assert ok.json()["responsible_staff_id"] == colleague_staff.pk


def test_the_checklist_endpoints(checklist, staff, agent):
    items = As(agent).get("/checklist", category="state_assets").json()
    assert [(i["name"], i["required"]) for i in items][-1] == ("委托拍卖合同（如有）", False)
    created = As(staff).post("/checklist", {"category": "land_mining", "name": "规划条件"})
    assert created.status_code == 201 and created.json()["order"] == 3
    item_id = created.json()["id"]
    patched = As(staff).patch(f"/checklist/{item_id}", {"is_active": False, "order": 1})
    assert patched.json()["is_active"] is False and patched.json()["order"] == 1
    assert item_id not in [i["id"] for i in As(agent).get("/checklist").json()]
    assert item_id in [i["id"] for i in As(staff).get("/checklist").json()]
    problem(As(staff).patch("/checklist/999999", {"name": "x"}), 404, "not_found")
    assert ChecklistItem.objects.get(pk=item_id).name == "规划条件"


def test_a_large_upload_streams_from_a_temporary_file(project, agent):
    # Above Django's 2.5 MB in-memory limit the upload arrives as a temporary file on disk.
    content = bytes(range(256)) * (12 * 1024)  # 3 MiB
    response = As(agent).upload(project.pk, required_items(project)[0].pk, content, "scan.pdf")
    assert response.status_code == 201, response.content[:300]
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert response.json()["size"] == len(content)
