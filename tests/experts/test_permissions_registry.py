"""Every expert-database endpoint and page, for every kind of caller.

The database (list, detail) is for extraction staff and supervisors only (法 Art 37: identities
secret); staff alone change it and see full ID numbers; an expert reaches only their own profile;
the specialty tree is reference data for any signed-in user. Anonymous callers get 401 (API) or
the sign-in page. The completeness test fails when a registry route appears that is not listed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tenderhall.accounts.models import Role, User
from tenderhall.accounts.services import api_token_issue
from tenderhall.api import api as ninja_api
from tenderhall.core import clock
from tenderhall.experts.models import Expert, ExpertLeave, ExpertRelationship, ImportBatch
from tenderhall.experts.services.registry import expert_import
from tests.experts.factories import (
    ExpertFactory,
    ExpertLeaveFactory,
    ExpertRelationshipFactory,
    expert_employer_uscc,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
ROLES = ("anonymous", "staff", "supervisor", "auditor", "operator", "agent", "tenderer", "bidder", "expert")

# expected status per role; "*" = every signed-in role not named
DB_READ = {"staff": 200, "supervisor": 200, "*": 403}
STAFF = {"staff": 200, "*": 403}
STAFF_CREATE = {"staff": 201, "*": 403}
OWN = {"expert": 200, "*": 403}
OWN_CREATE = {"expert": 201, "*": 403}
OWN_DELETE = {"expert": 204, "*": 403}
ANY_SIGNED_IN = {"*": 200}

API_ROUTES: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/experts"): DB_READ,
    ("POST", "/experts/import"): STAFF_CREATE,
    ("GET", "/experts/imports"): STAFF,
    ("GET", "/experts/imports/{batch_id}"): STAFF,
    ("GET", "/experts/specialties"): ANY_SIGNED_IN,
    ("GET", "/experts/me"): OWN,
    ("PATCH", "/experts/me"): OWN,
    ("POST", "/experts/me/leaves"): OWN_CREATE,
    ("DELETE", "/experts/me/leaves/{leave_id}"): OWN_DELETE,
    ("POST", "/experts/me/relationships"): OWN_CREATE,
    ("DELETE", "/experts/me/relationships/{relationship_id}"): OWN_DELETE,
    ("GET", "/experts/{expert_id}"): DB_READ,
    ("PATCH", "/experts/{expert_id}"): STAFF,
    ("POST", "/experts/{expert_id}/status"): STAFF,
    ("POST", "/experts/{expert_id}/bad-behaviour"): STAFF_CREATE,
    ("POST", "/experts/{expert_id}/account"): STAFF_CREATE,
}

# Pages, keyed app-relative (mounted at /experts/); GET, plus POST where the page has forms.
PAGES: dict[tuple[str, str], dict[str, int]] = {
    ("GET", ""): DB_READ,
    ("GET", "<int:pk>/"): DB_READ,
    ("POST", "<int:pk>/"): {"staff": 302, "*": 403},
    ("GET", "import/"): STAFF,
    ("POST", "import/"): {"staff": 302, "*": 403},
    ("GET", "imports/<int:pk>/"): STAFF,
    ("GET", "me/"): OWN,
    ("POST", "me/"): {"expert": 302, "*": 403},
    ("GET", "specialties/"): ANY_SIGNED_IN,
}

REGISTRY_PATHS = {path for _, path in API_ROUTES}


def test_every_registry_api_route_is_classified() -> None:
    schema = ninja_api.get_openapi_schema()
    ours = {
        (method.upper(), path.removeprefix(API))
        for path, ops in schema["paths"].items()
        for method in ops
        if path.removeprefix(API) in REGISTRY_PATHS
        or path.removeprefix(API).startswith(("/experts/me", "/experts/imports", "/experts/import"))
        or (path.removeprefix(API).startswith("/experts/{expert_id}"))
    }
    assert ours == set(API_ROUTES)


def test_every_registry_page_is_classified() -> None:
    from tenderhall.experts.views.registry import urlpatterns

    assert {str(p.pattern) for p in urlpatterns} == {page for _, page in PAGES}


@dataclass
class World:
    users: dict[str, User | None]
    expert: Expert  # someone else in the database
    own: Expert  # the signed-in expert's row
    batch: ImportBatch
    leave: ExpertLeave
    relationship: ExpertRelationship


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    clock.set_now(dt.datetime(2026, 3, 2, 9, 0, tzinfo=clock.LOCAL_TZ))
    yield


CSV = (
    "姓名,身份证号,工作单位,统一社会信用代码,地区,专业,手机\n"
    "王五,11010519491231002X,某设计院,{uscc},示范市,A0101,13700000001\n"
)


@pytest.fixture
def world(staff: User) -> World:
    users: dict[str, User | None] = {"anonymous": None, "staff": staff}
    for role in ("supervisor", "auditor", "operator", "agent", "tenderer", "bidder"):
        users[role] = UserFactory(role=role, username=f"p_{role}")
    own = ExpertFactory(with_account=True)
    users["expert"] = own.user
    batch = expert_import(
        acting_user=staff, filename="seed.csv", data=CSV.format(uscc=expert_employer_uscc(1)).encode()
    )
    return World(
        users=users,
        expert=ExpertFactory(),
        own=own,
        batch=batch,
        leave=ExpertLeaveFactory(expert=own, starts_on=dt.date(2026, 3, 10), ends_on=dt.date(2026, 3, 11)),
        relationship=ExpertRelationshipFactory(expert=own),
    )


def expected(table: dict[str, int], role: str) -> int:
    return table.get(role, table["*"])


def api_body(world: World, method: str, path: str) -> dict[str, Any] | None:
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("PATCH", "/experts/me"): {"title": "教授级高工"},
        ("POST", "/experts/me/leaves"): {
            "starts_on": "2026-04-01",
            "ends_on": "2026-04-02",
            "reason": "出差",
        },
        ("POST", "/experts/me/relationships"): {
            "organization_uscc": expert_employer_uscc(5),
            "relation": "近亲属",
        },
        ("PATCH", "/experts/{expert_id}"): {"region": "邻市"},
        ("POST", "/experts/{expert_id}/status"): {"status": "suspended", "reason": "体检"},
        ("POST", "/experts/{expert_id}/bad-behaviour"): {"description": "迟到", "occurred_on": "2026-03-01"},
        ("POST", "/experts/{expert_id}/account"): {"username": "new_expert", "password": "Correct-horse-9"},
    }
    return bodies.get((method, path))


def call_api(world: World, role: str, method: str, path: str) -> Any:
    url = API + path.format(
        expert_id=world.expert.pk,
        batch_id=world.batch.pk,
        leave_id=world.leave.pk,
        relationship_id=world.relationship.pk,
    )
    headers = {}
    user = world.users[role]
    if user is not None:
        raw, _ = api_token_issue(user=user)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    client = Client(raise_request_exception=False)
    if path == "/experts/import":
        upload = io.BytesIO(CSV.format(uscc=expert_employer_uscc(2)).replace("王五", "王六").encode())
        upload.name = "more.csv"
        return client.post(url, {"file": upload}, **headers)
    body = api_body(world, method, path)
    return getattr(client, method.lower())(
        url, data=json.dumps(body) if body is not None else None, content_type="application/json", **headers
    )


ROUTES = sorted(API_ROUTES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_api_route_per_role(world: World, route: tuple[str, str], role: str) -> None:
    response = call_api(world, role, *route)
    want = 401 if role == "anonymous" else expected(API_ROUTES[route], role)
    assert response.status_code == want, response.content
    if want == 403:
        assert response.json()["permission"].startswith("experts:")


def page_data(world: World, page: str) -> dict[str, Any]:
    if page == "<int:pk>/":
        return {"action": "status", "status-status": "suspended", "status-reason": "体检"}
    if page == "import/":
        upload = io.BytesIO(CSV.format(uscc=expert_employer_uscc(3)).replace("王五", "王七").encode())
        upload.name = "page.csv"
        return {"file": upload}
    return {"action": "leave", "leave-starts_on": "2026-04-01", "leave-ends_on": "2026-04-01"}


PAGE_ROUTES = sorted(PAGES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", PAGE_ROUTES, ids=[f"{m} {p or 'list'}" for m, p in PAGE_ROUTES])
def test_page_per_role(world: World, route: tuple[str, str], role: str) -> None:
    method, page = route
    pk = world.batch.pk if page.startswith("imports/") else world.expert.pk
    url = "/experts/" + page.replace("<int:pk>", str(pk))
    client = Client(raise_request_exception=False)
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    response = client.post(url, page_data(world, page)) if method == "POST" else client.get(url)
    if role == "anonymous":
        assert response.status_code == 302 and "login" in response["Location"]
        return
    assert response.status_code == expected(PAGES[route], role), response.content[:500]


def test_an_expert_role_without_a_profile_gets_404(world: World) -> None:
    lonely = UserFactory(role=Role.EXPERT)
    raw, _ = api_token_issue(user=lonely)
    response = Client().get(API + "/experts/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 404
    client = Client(raise_request_exception=False)
    client.force_login(lonely)
    assert client.get("/experts/me/").status_code == 404


def test_an_expert_cannot_reach_another_experts_leave(world: World) -> None:
    other = ExpertLeaveFactory(expert=world.expert)
    raw, _ = api_token_issue(user=world.users["expert"])  # type: ignore[arg-type]
    response = Client().delete(f"{API}/experts/me/leaves/{other.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 404
    assert ExpertLeave.objects.filter(pk=other.pk).exists()
