"""Who may call which endpoint and open which page of the projects app.

Every API route and page is listed with its class of access; the completeness tests fail when a
route appears that is not listed. A bidder sees nothing; an agent never sees or changes another
agent's project (404, never 403: nobody learns what exists); supervisors read but do not review."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tenderhall.accounts.models import Role, User
from tenderhall.core.errors import PROBLEM_CONTENT_TYPE
from tenderhall.core.models import LogEvent
from tenderhall.projects import services
from tenderhall.projects import urls as project_urls
from tenderhall.projects.api import router
from tenderhall.projects.models import ChecklistItem, Project, ProjectDocument
from tests.factories import UserFactory
from tests.projects.conftest import login
from tests.projects.factories import register_project, required_items, section_spec, upload

ACTORS = [
    "anonymous",
    "bidder",
    "expert",
    "other_agent",
    "supervisor",
    "auditor",
    "staff_elsewhere",
    "staff",
    "agent",
    "tenderer",
]

OK = "ok"  # the route's success status
LIST = {"anonymous": 401, "bidder": 403, "expert": 403} | {a: OK for a in ACTORS[3:]}
CREATE = {a: 403 for a in ACTORS} | {"anonymous": 401, "agent": OK, "tenderer": OK}
READ = {"anonymous": 401, "bidder": 404, "expert": 404, "other_agent": 404} | {a: OK for a in ACTORS[4:]}
WRITE = READ | {"supervisor": 403, "auditor": 403, "staff_elsewhere": 403, "staff": 403}
REVIEW = WRITE | {"agent": 403, "tenderer": 403, "staff": OK}
SIGNED_IN = {a: OK for a in ACTORS} | {"anonymous": 401}
STAFF_ONLY = {a: 403 for a in ACTORS} | {"anonymous": 401, "staff": OK, "staff_elsewhere": OK}


@dataclass
class World:
    users: dict[str, User]
    draft: Project  # the agent's, for the tenderer; two sections, one document
    submitted: Project  # the agent's, every document present, waiting for review
    document: ProjectDocument
    item: ChecklistItem

    def titles(self) -> list[str]:
        return [self.draft.title, self.submitted.title]


@pytest.fixture
def world(
    certified, checklist, agent, other_agent, tenderer, staff, supervisor, auditor, bidder, expert
) -> World:
    draft = register_project(
        agent,
        tenderer.organization,
        title="草稿中的体育馆项目",
        sections=[section_spec(), section_spec(name="二标段")],
    )
    item = required_items(draft)[0]
    document = upload(agent, draft, item)
    submitted = register_project(agent, tenderer.organization, title="待审核的污水处理项目")
    for required in required_items(submitted):
        upload(agent, submitted, required)
    services.project_submit(acting_user=agent, project=submitted)
    users = {
        "bidder": bidder,
        "expert": expert,
        "other_agent": other_agent,
        "supervisor": supervisor,
        "auditor": auditor,
        "staff_elsewhere": UserFactory(role=Role.STAFF, username="staff_elsewhere"),
        "staff": staff,
        "agent": agent,
        "tenderer": tenderer,
    }
    return World(users=users, draft=draft, submitted=submitted, document=document, item=item)


# ---- the API ------------------------------------------------------------------------------------


def _project_body(w: World) -> dict[str, Any]:
    return {
        "title": "新登记的项目",
        "category": "construction",
        "procedure": "open",
        "tenderer_id": w.users["tenderer"].organization_id,
        "agent_id": w.users["agent"].organization_id,
        "centre_id": w.users["staff"].organization_id,
        "sections": [
            {
                "name": "一标段",
                "estimated_price": "100000",
                "bond_amount": "2000",
                "evaluation_method": "lowest_evaluated_price",
            }
        ],
    }


def _section_body(w: World) -> dict[str, Any]:
    return {
        "name": "三标段",
        "estimated_price": "100000",
        "bond_amount": "2000",
        "evaluation_method": "lowest_evaluated_price",
    }


# route → (access, success status, path values, body)
API_ROUTES: dict[tuple[str, str], tuple[dict[str, Any], int]] = {
    ("GET", "/projects"): (LIST, 200),
    ("POST", "/projects"): (CREATE, 201),
    ("GET", "/projects/{project_id}"): (READ, 200),
    ("PATCH", "/projects/{project_id}"): (WRITE, 200),
    ("POST", "/projects/{project_id}/sections"): (WRITE, 201),
    ("GET", "/sections/{section_id}"): (READ, 200),
    ("PATCH", "/sections/{section_id}"): (WRITE, 200),
    ("DELETE", "/sections/{section_id}"): (WRITE, 204),
    ("POST", "/projects/{project_id}/documents"): (WRITE, 201),
    ("GET", "/projects/{project_id}/missing"): (READ, 200),
    ("POST", "/projects/{project_id}/submit"): (WRITE, 200),
    ("POST", "/projects/{project_id}/return"): (REVIEW, 200),
    ("POST", "/projects/{project_id}/confirm"): (REVIEW, 200),
    ("GET", "/checklist"): (SIGNED_IN, 200),
    ("POST", "/checklist"): (STAFF_ONLY, 201),
    ("PATCH", "/checklist/{item_id}"): (STAFF_ONLY, 200),
}
REVIEW_ROUTES = {("POST", "/projects/{project_id}/return"), ("POST", "/projects/{project_id}/confirm")}
BODIES = {
    ("POST", "/projects"): _project_body,
    ("PATCH", "/projects/{project_id}"): lambda w: {"title": "改过的名称"},
    ("POST", "/projects/{project_id}/sections"): _section_body,
    ("PATCH", "/sections/{section_id}"): lambda w: {"name": "改过的标段"},
    ("POST", "/projects/{project_id}/return"): lambda w: {"item_ids": [], "note": "请核对标段划分"},
    ("POST", "/projects/{project_id}/confirm"): lambda w: {},
    ("POST", "/checklist"): lambda w: {"category": "construction", "name": "新材料"},
    ("PATCH", "/checklist/{item_id}"): lambda w: {"description": "说明"},
}


def _client(w: World, actor: str) -> tuple[Client, dict[str, str]]:
    client = Client(raise_request_exception=False)
    if actor == "anonymous":
        return client, {}
    from tenderhall.accounts.services import api_token_issue

    raw, _ = api_token_issue(user=w.users[actor])
    return client, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def call_api(w: World, route: tuple[str, str], actor: str):
    method, template = route
    project = w.submitted if route in REVIEW_ROUTES else w.draft
    path = "/api/v1" + template.format(
        project_id=project.pk,
        section_id=w.draft.sections.order_by("number").last().pk,
        item_id=w.item.pk,
    )
    client, headers = _client(w, actor)
    if route == ("POST", "/projects/{project_id}/documents"):
        return client.post(
            path, {"checklist_item_id": w.item.pk, "file": SimpleUploadedFile("b.pdf", b"%PDF")}, **headers
        )
    if method == "GET":
        return client.get(path, **headers)
    body = BODIES.get(route, lambda w: None)(w)
    data = json.dumps(body) if body is not None else ""
    return client.generic(method, path, data, content_type="application/json", **headers)


def state() -> int:
    return LogEvent.objects.filter(action__startswith="projects.").count()


def test_every_api_route_is_classified():
    routes = {
        (method, path)
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    assert routes == set(API_ROUTES)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", sorted(API_ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_api_access(world, route, actor):
    access, success = API_ROUTES[route]
    expected = success if access[actor] == OK else access[actor]
    before = state()
    response = call_api(world, route, actor)
    assert response.status_code == expected, (response.status_code, response.content[:400])
    if expected >= 400:
        assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
        assert state() == before  # a refusal changes nothing
        body = response.content.decode()
        for title in world.titles():
            assert title not in body
    elif route[0] != "GET" and route != ("GET", "/checklist"):
        assert state() > before  # every change is logged


def test_a_bidder_lists_nothing(world):
    client, headers = _client(world, "bidder")
    assert client.get("/api/v1/projects", **headers).status_code == 403


def test_lists_hold_only_what_the_user_may_see(world):
    for actor, expected in (
        ("agent", {world.draft.pk, world.submitted.pk}),
        ("other_agent", set()),
        ("supervisor", {world.draft.pk, world.submitted.pk}),
    ):
        client, headers = _client(world, actor)
        assert {p["id"] for p in client.get("/api/v1/projects", **headers).json()} == expected


# ---- the pages ----------------------------------------------------------------------------------

PAGE_ROUTES: dict[str, tuple[str, dict[str, Any], int]] = {
    "": ("GET", LIST, 200),
    "new/": ("GET", CREATE | {"other_agent": OK}, 200),  # any agent registers its own projects
    "checklist/": ("GET", STAFF_ONLY, 200),
    "<int:pk>/": ("GET", READ, 200),
    "<int:pk>/edit/": ("GET", WRITE, 200),
    "<int:pk>/documents/": ("POST", WRITE, 302),
    "<int:pk>/documents/<int:doc_pk>/": ("GET", READ, 200),
    "<int:pk>/submit/": ("POST", WRITE, 302),
    "<int:pk>/return/": ("POST", REVIEW, 302),
    "<int:pk>/confirm/": ("POST", REVIEW, 302),
}
PAGE_REVIEW = {"<int:pk>/return/", "<int:pk>/confirm/"}


def call_page(w: World, route: str, actor: str):
    method, _, _ = PAGE_ROUTES[route]
    project = w.submitted if route in PAGE_REVIEW else w.draft
    path = "/projects/" + route.replace("<int:pk>", str(project.pk)).replace(
        "<int:doc_pk>", str(w.document.pk)
    )
    client = Client(raise_request_exception=False) if actor == "anonymous" else login(w.users[actor])
    if method == "GET":
        return client.get(path)
    data: dict[str, Any] = {}
    if route == "<int:pk>/documents/":
        data = {"checklist_item_id": w.item.pk, "file": SimpleUploadedFile("c.pdf", b"%PDF")}
    elif route == "<int:pk>/return/":
        data = {"note": "请核对"}
    elif route == "<int:pk>/confirm/":
        data = {"responsible_staff": str(w.users["staff"].pk)}
    return client.post(path, data)


def test_every_page_is_classified():
    assert sorted(str(p.pattern) for p in project_urls.urlpatterns) == sorted(PAGE_ROUTES)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", sorted(PAGE_ROUTES))
def test_page_access(world, route, actor):
    method, access, success = PAGE_ROUTES[route]
    expected = success if access[actor] == OK else access[actor]
    before = state()
    response = call_page(world, route, actor)
    if expected == 401:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert state() == before
        return
    assert response.status_code == expected, (response.status_code, response.content[:400])
    if expected >= 400:
        assert state() == before
        body = response.content.decode()
        for title in world.titles():
            assert title not in body
    elif method == "POST":
        assert state() > before
