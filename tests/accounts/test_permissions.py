""" "A bidder cannot read another organization's data through any endpoint."

Every route of the Ninja API and every page is listed below with the class of access it must
enforce. The completeness tests fail as soon as a route appears that is not listed here: a new
endpoint must be classified (and so tested) before the suite passes again.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tenderhall.accounts import services
from tenderhall.accounts.models import Certificate, Organization, Role, User
from tenderhall.api import api as ninja_api
from tenderhall.core import clock, ids
from tenderhall.core.crypto import certs
from tenderhall.core.errors import PROBLEM_CONTENT_TYPE
from tenderhall.core.models import CalendarDay, LogEvent, Notification, NotificationChannel
from tenderhall.core.notifications import notification_enqueue
from tests.accounts.conftest import Issued, Pki
from tests.factories import UserFactory

# ---- classes of access --------------------------------------------------------------------------

PUBLIC = "public"  # anyone, signed in or not; carries no organization's data
SIGN_IN = "sign_in"  # anyone; answers a token for the right credentials only
SELF = "self"  # signed in; about the caller
SIGN_OUT = "sign_out"  # signed in; ends the caller's own session or token, nothing else
OWN_LIST = "own_list"  # signed in; a list scoped to the caller (own organization, own people)
SCOPED_READ = "scoped_read"  # takes an organization/user id: another organization's is "not found"
SCOPED_WRITE = "scoped_write"  # a bidder writes for its own organization only; read-only roles 403
STAFF_WRITE = "staff_write"  # trading-centre staff only: 403 for bidder, supervisor, auditor
AUDIT_READ = "audit_read"  # audit roles (staff, supervisor, auditor): 403 for a bidder
OWN_OBJECT_WRITE = "own_object_write"  # acts on the caller's own object; anybody else's is 404
NOT_AN_ENDPOINT = "not_an_endpoint"  # Ninja's bare root: 404

API = "/api/v1"
API_ROUTES: dict[tuple[str, str], str] = {
    ("GET", f"{API}/openapi.json"): PUBLIC,
    ("GET", f"{API}/"): NOT_AN_ENDPOINT,
    ("POST", f"{API}/auth/challenge"): SIGN_IN,
    ("POST", f"{API}/auth/certificate"): SIGN_IN,
    ("POST", f"{API}/auth/password"): SIGN_IN,
    ("GET", f"{API}/auth/me"): SELF,
    ("POST", f"{API}/auth/logout"): SIGN_OUT,
    ("GET", f"{API}/organizations"): OWN_LIST,
    ("POST", f"{API}/organizations"): STAFF_WRITE,
    ("GET", f"{API}/organizations/{{organization_id}}"): SCOPED_READ,
    ("GET", f"{API}/users"): OWN_LIST,
    ("POST", f"{API}/users"): STAFF_WRITE,
    ("GET", f"{API}/users/{{user_id}}"): SCOPED_READ,
    ("GET", f"{API}/organizations/{{organization_id}}/certificates"): SCOPED_READ,
    ("POST", f"{API}/organizations/{{organization_id}}/certificates"): SCOPED_WRITE,
    ("GET", f"{API}/log/key"): PUBLIC,
    ("GET", f"{API}/log/sth"): PUBLIC,
    ("GET", f"{API}/log/proof/inclusion"): PUBLIC,
    ("GET", f"{API}/log/proof/consistency"): PUBLIC,
    ("GET", f"{API}/log/events"): AUDIT_READ,
    ("GET", f"{API}/log/events/{{index}}"): AUDIT_READ,
    ("GET", f"{API}/calendar/{{year}}"): PUBLIC,
    ("PUT", f"{API}/calendar/days/{{day}}"): STAFF_WRITE,
    ("DELETE", f"{API}/calendar/days/{{day}}"): STAFF_WRITE,
    ("GET", f"{API}/notifications"): OWN_LIST,
    ("POST", f"{API}/notifications/{{notification_id}}/read"): OWN_OBJECT_WRITE,
}

# Pages (Django URL routes, as written in the urlconfs), with the method that does the work.
PAGE_PUBLIC = "page_public"  # anyone
PAGE_SELF = "page_self"  # signed in; the caller's own things
PAGE_VIEW_ALL = "page_view_all"  # staff, supervisors, auditors: 403 for a bidder
PAGE_SCOPED = "page_scoped"  # takes an organization id: another organization's is a 404 page
PAGE_AUDIT = "page_audit"  # audit roles: 403 for a bidder
PAGE_OWN_OBJECT_POST = "page_own_object_post"  # POST on the caller's own object; anybody else's 404

PAGE_ROUTES: dict[str, tuple[str, str]] = {
    "accounts/login/": ("GET", PAGE_PUBLIC),
    "accounts/logout/": ("POST", PAGE_PUBLIC),
    "accounts/security/": ("GET", PAGE_SELF),
    "accounts/organizations/": ("GET", PAGE_VIEW_ALL),
    "accounts/organizations/<int:pk>/": ("GET", PAGE_SCOPED),
    "accounts/users/": ("GET", PAGE_VIEW_ALL),
    "audit/": ("GET", PAGE_AUDIT),
    "audit/events/<int:index>/": ("GET", PAGE_AUDIT),
    "log/": ("GET", PAGE_PUBLIC),
    "calendar/<int:year>/": ("GET", PAGE_PUBLIC),
    "notifications/": ("GET", PAGE_SELF),
    "notifications/<int:pk>/read/": ("POST", PAGE_OWN_OBJECT_POST),
    "": ("GET", PAGE_PUBLIC),
}
# Included urlconfs that are not ours to classify route by route (each app's own permission tests
# classify its routes; tests/test_route_coverage.py checks that every route is classified somewhere).
FOREIGN_PREFIXES = (
    "api/v1/",
    "i18n/",
    "django-admin/",
    "projects/",
    "notices/",
    "disputes/",
    "venues/",
    "bids/",
    "opening/",
    "experts/",
)
# The API paths of the accounts and core routers, which this file classifies.
OWN_API_PREFIXES = tuple(
    f"{API}/{p}"
    for p in ("openapi.json", "auth/", "organizations", "users", "log/", "calendar/", "notifications")
)

STRONG = "Lantern-quiet-47"
RIVAL_NAME = "隔壁竞争者路桥工程有限公司"


# ---- the world: our bidder and a rival organization with data of every kind ---------------------


@dataclass
class World:
    pki: Pki
    staff: User
    bidder: User
    colleague: User
    supervisor: User
    auditor: User
    rival: User
    rival_colleague: User
    rival_cert: Issued
    own_note: Notification
    rival_note: Notification
    rival_event: LogEvent

    @property
    def own_org(self) -> Organization:
        return self.bidder.organization  # type: ignore[return-value]

    @property
    def rival_org(self) -> Organization:
        return self.rival.organization  # type: ignore[return-value]

    def markers(self) -> list[str]:
        """Strings that identify the rival: none may reach our bidder."""
        return [
            RIVAL_NAME,
            self.rival_org.uscc,
            self.rival.username,
            self.rival_colleague.username,
            certs.fingerprint_sha256(self.rival_cert.certificate),
            self.rival_note.subject,
        ]

    def ids(self, target: str) -> dict[str, Any]:
        """Path and query values pointing at the rival's objects ("rival") or at our own ("own")."""
        rival = target == "rival"
        return {
            "organization_id": (self.rival_org if rival else self.own_org).pk,
            "user_id": (self.rival_colleague if rival else self.colleague).pk,
            "notification_id": (self.rival_note if rival else self.own_note).pk,
            "index": self.rival_event.index,
            "year": 2026,
            "day": "2026-10-08",
        }

    def fresh_certificate_pem(self, org: Organization) -> str:
        return self.pki.issue(uscc=org.uscc, organization_name=org.name).pem


@pytest.fixture
def world(pki: Pki, trusted_ca, staff, bidder, other_bidder, supervisor, auditor) -> World:
    Organization.objects.filter(pk=other_bidder.organization_id).update(name=RIVAL_NAME)
    other_bidder.refresh_from_db()
    colleague = UserFactory(role=Role.BIDDER, organization=bidder.organization, username="colleague")
    rival_colleague = UserFactory(
        role=Role.BIDDER, organization=other_bidder.organization, username="rival_colleague"
    )
    own_cert = pki.issue_for(bidder)
    pki.register(bidder, own_cert)
    rival_cert = pki.issue_for(other_bidder)
    pki.register(other_bidder, rival_cert, acting_user=staff)
    rival_event = LogEvent.objects.filter(
        action="accounts.certificate.registered", org_uscc=other_bidder.organization.uscc
    ).get()
    own_note = notification_enqueue(
        recipient=bidder, channel=NotificationChannel.IN_APP, subject="您的通知", body="…"
    )
    rival_note = notification_enqueue(
        recipient=other_bidder,
        channel=NotificationChannel.IN_APP,
        subject=f"{RIVAL_NAME}的开标提醒",
        body="…",
    )
    return World(
        pki=pki,
        staff=staff,
        bidder=bidder,
        colleague=colleague,
        supervisor=supervisor,
        auditor=auditor,
        rival=other_bidder,
        rival_colleague=rival_colleague,
        rival_cert=rival_cert,
        own_note=own_note,
        rival_note=rival_note,
        rival_event=rival_event,
    )


# ---- how to call each API route -----------------------------------------------------------------

Body = Callable[[World, str], dict[str, Any] | None]


def _user_body(w: World, target: str) -> dict[str, Any]:
    org = w.rival_org if target == "rival" else w.own_org
    return {"username": "newbie", "password": STRONG, "role": "bidder", "organization_id": org.pk}


def _certificate_body(w: World, target: str) -> dict[str, Any]:
    return {"certificate_pem": w.fresh_certificate_pem(w.rival_org if target == "rival" else w.own_org)}


BODIES: dict[tuple[str, str], Body] = {
    ("POST", f"{API}/auth/challenge"): lambda w, t: {"username": w.bidder.username},
    ("POST", f"{API}/auth/certificate"): lambda w, t: {
        "username": w.rival.username,
        "nonce": "N" * 32,
        "certificate_pem": "",
        "signature": "",
    },
    ("POST", f"{API}/auth/password"): lambda w, t: {
        "username": w.rival.username,
        "password": "Wrong-password-1",
    },
    ("POST", f"{API}/organizations"): lambda w, t: {
        "name": "新登记有限公司",
        "uscc": ids.make_uscc("91440300MA000001"),
        "kind": "bidder",
    },
    ("POST", f"{API}/users"): _user_body,
    ("POST", f"{API}/organizations/{{organization_id}}/certificates"): _certificate_body,
    ("PUT", f"{API}/calendar/days/{{day}}"): lambda w, t: {"kind": "holiday", "name": "测试假日"},
}
QUERIES: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    ("GET", f"{API}/log/proof/inclusion"): lambda w: {"leaf_hash": w.rival_event.leaf_hash},
    ("GET", f"{API}/log/proof/consistency"): lambda w: {"first": 1},
    ("GET", f"{API}/log/events"): lambda w: {"org": w.rival_org.uscc},
}


def call(client: Client, route: tuple[str, str], w: World, target: str = "rival", **headers: str):
    method, template = route
    path = template.format(**w.ids(target))
    body = BODIES.get(route, lambda w, t: None)(w, target)
    query = QUERIES.get(route, lambda w: {})(w)
    if method == "GET":
        return client.get(path, query, **headers)
    if body is None:
        return client.generic(method, path, **headers)
    return client.generic(method, path, json.dumps(body), content_type="application/json", **headers)


def signed_in(user: User, how: str) -> tuple[Client, dict[str, str]]:
    client = Client(raise_request_exception=False)
    if how == "session":
        client.force_login(user)
        return client, {}
    raw, _ = services.api_token_issue(user=user)
    return client, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def assert_problem(response, status: int | set[int], code: str | None = None) -> dict[str, Any]:
    statuses = {status} if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["status"] == response.status_code and body["message_zh"] and body["message_en"]
    if code is not None:
        assert body["code"] == code
    return body


def assert_no_leak(response, w: World) -> None:
    text = response.content.decode("utf-8", "replace")
    try:
        text += json.dumps(json.loads(text), ensure_ascii=False)  # also the \\u-escaped JSON, decoded
    except ValueError:
        pass
    for marker in w.markers():
        assert marker not in text, f"{marker!r} leaked to {response.wsgi_request.path}"


def state(w: World) -> tuple[Any, ...]:
    """What a refused request must not change."""
    w.rival_note.refresh_from_db()
    return (
        Organization.objects.count(),
        User.objects.count(),
        Certificate.objects.count(),
        CalendarDay.objects.count(),
        w.rival_note.read_at,
    )


# ---- completeness: every route is classified ----------------------------------------------------


def _normalize(route: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def test_every_api_route_is_classified():
    schema = ninja_api.get_openapi_schema()
    operations = {
        (method.upper(), path)
        for path, ops in schema["paths"].items()
        for method in ops
        if path.startswith(OWN_API_PREFIXES)
    }
    extra = {(m, p) for (m, p), cls in API_ROUTES.items() if p not in schema["paths"]}
    assert operations | extra == set(API_ROUTES), "classify the new API route in API_ROUTES"
    # and no URL of the API escapes the schema (each Django pattern is a schema path or an extra)
    known_paths = set(schema["paths"]) | {p for _, p in extra}
    for pattern in ninja_api.urls[0]:
        assert f"{API}/" + _normalize(str(pattern.pattern)) in known_paths


def test_the_published_openapi_document_lists_the_same_routes(api):
    document = api.get(f"{API}/openapi.json").json()
    published = {
        (m.upper(), p) for p, ops in document["paths"].items() for m in ops if p.startswith(OWN_API_PREFIXES)
    }
    assert published == {route for route, cls in API_ROUTES.items() if route[1] in document["paths"]}
    assert len(published) == len(API_ROUTES) - 2  # all but openapi.json and the bare root


def _page_routes(patterns: list[Any], prefix: str = "") -> list[str]:
    found = []
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith(FOREIGN_PREFIXES):
                continue
            found += _page_routes(entry.url_patterns, route)
        else:
            assert isinstance(entry, URLPattern)
            found.append(route)
    return found


def test_every_page_is_classified():
    top = {str(entry.pattern) for entry in get_resolver().url_patterns}
    assert top == {
        "api/v1/",
        "i18n/",
        "accounts/",
        "",
        "django-admin/",
        "projects/",
        "notices/",
        "disputes/",
        "venues/",
        "bids/",
        "opening/",
        "experts/",
    }, "classify the new urlconf"
    assert sorted(_page_routes(get_resolver().url_patterns)) == sorted(PAGE_ROUTES)


# ---- the API, as our bidder, aimed at the rival -------------------------------------------------

API_EXPECTED_FOR_BIDDER: dict[str, set[int]] = {
    PUBLIC: {200},
    SIGN_IN: {200, 400, 401},
    SELF: {200},
    SIGN_OUT: {204},
    OWN_LIST: {200},
    SCOPED_READ: {404},
    SCOPED_WRITE: {404},
    STAFF_WRITE: {403, 404},  # 404 where the body names the rival organization (POST /users)
    AUDIT_READ: {403},
    OWN_OBJECT_WRITE: {404},
    NOT_AN_ENDPOINT: {404},
}


@pytest.mark.parametrize("how", ["session", "bearer"])
@pytest.mark.parametrize("route", sorted(API_ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_a_bidder_reaches_nothing_of_the_rival_through_the_api(world, route, how):
    client, headers = signed_in(world.bidder, how)
    before = state(world)
    response = call(client, route, world, "rival", **headers)
    cls = API_ROUTES[route]
    assert response.status_code in API_EXPECTED_FOR_BIDDER[cls], (
        response.status_code,
        response.content[:300],
    )
    if response.status_code >= 400 and cls != NOT_AN_ENDPOINT:
        assert_problem(response, response.status_code)
    assert_no_leak(response, world)
    assert state(world) == before


@pytest.mark.parametrize("how", ["session", "bearer"])
def test_list_endpoints_hold_only_the_bidders_own(world, how):
    client, headers = signed_in(world.bidder, how)
    orgs = client.get(f"{API}/organizations", **headers).json()
    assert [o["id"] for o in orgs] == [world.own_org.pk]
    people = client.get(f"{API}/users", **headers).json()
    assert sorted(u["username"] for u in people) == ["bidder", "colleague"]
    notes = client.get(f"{API}/notifications", **headers).json()
    assert [n["id"] for n in notes] == [world.own_note.pk]
    own_certs = client.get(f"{API}/organizations/{world.own_org.pk}/certificates", **headers).json()
    assert {c["subject"].count(world.own_org.uscc) for c in own_certs} == {1}
    assert client.get(f"{API}/auth/me", **headers).json()["organization_uscc"] == world.own_org.uscc


@pytest.mark.parametrize(
    "route", [r for r, cls in API_ROUTES.items() if cls in (SCOPED_READ, OWN_OBJECT_WRITE)], ids=str
)
def test_the_same_routes_answer_for_the_bidders_own_ids(world, route):
    """The 404s above are scoping, not broken routes."""
    client, headers = signed_in(world.bidder, "bearer")
    response = call(client, route, world, "own", **headers)
    assert response.status_code == 200, response.content[:300]
    assert_no_leak(response, world)


def test_a_bidder_registers_a_certificate_for_its_own_organization_only(world):
    route = ("POST", f"{API}/organizations/{{organization_id}}/certificates")
    client, headers = signed_in(world.bidder, "bearer")
    assert call(client, route, world, "own", **headers).status_code == 201
    assert_problem(call(client, route, world, "rival", **headers), 404, "not_found")
    # holder_id of the rival's person: not found either
    response = client.post(
        f"{API}/organizations/{world.own_org.pk}/certificates",
        json.dumps(
            {
                "certificate_pem": world.fresh_certificate_pem(world.own_org),
                "holder_id": world.rival_colleague.pk,
            }
        ),
        content_type="application/json",
        **headers,
    )
    assert_problem(response, 404, "not_found")
    assert_no_leak(response, world)


@pytest.mark.parametrize("who", ["supervisor", "auditor"])
def test_read_only_roles_register_no_certificate(world, who):
    route = ("POST", f"{API}/organizations/{{organization_id}}/certificates")
    client, headers = signed_in(getattr(world, who), "bearer")
    before = state(world)
    assert_problem(call(client, route, world, "rival", **headers), 403, "permission_denied")
    assert state(world) == before


@pytest.mark.parametrize("who", ["supervisor", "auditor", "staff"])
def test_supervisors_auditors_and_staff_read_everything(world, who):
    client, headers = signed_in(getattr(world, who), "bearer")
    for route, cls in API_ROUTES.items():
        if cls in (SCOPED_READ, AUDIT_READ, OWN_LIST) and route[0] == "GET":
            response = call(client, route, world, "rival", **headers)
            assert response.status_code == 200, (route, response.content[:300])
    orgs = client.get(f"{API}/organizations", **headers).json()
    assert {world.own_org.pk, world.rival_org.pk} <= {o["id"] for o in orgs}


# ---- staff-only writes --------------------------------------------------------------------------

STAFF_ROUTES = sorted(r for r, cls in API_ROUTES.items() if cls == STAFF_WRITE)


@pytest.mark.parametrize("who", ["bidder", "supervisor", "auditor"])
@pytest.mark.parametrize("route", STAFF_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_staff_writes_are_refused_to_everybody_else(world, route, who):
    client, headers = signed_in(getattr(world, who), "bearer")
    before = state(world)
    body = assert_problem(call(client, route, world, "own", **headers), 403, "permission_denied")
    assert body["permission"].startswith(("accounts:", "core:"))
    assert state(world) == before


@pytest.mark.parametrize("route", STAFF_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_staff_writes_work_for_staff(world, route):
    """The same requests succeed for staff: the 403s above are about the role, not the request."""
    client, headers = signed_in(world.staff, "bearer")
    if route[0] == "DELETE":
        call(client, ("PUT", route[1]), world, "own", **headers)
    response = call(client, route, world, "own", **headers)
    assert response.status_code in (200, 201, 204), response.content[:300]


# ---- anonymous ----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", sorted(API_ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_anonymous_gets_401_on_every_non_public_route(world, route):
    client = Client(raise_request_exception=False)
    before = state(world)
    response = call(client, route, world, "rival")
    cls = API_ROUTES[route]
    assert response.status_code < 500
    if cls in (PUBLIC, NOT_AN_ENDPOINT):
        assert response.status_code != 401
    elif cls == SIGN_IN:
        if response.status_code >= 400:  # refused for the credentials, not for being anonymous
            assert assert_problem(response, response.status_code)["code"] != "not_authenticated"
    else:
        assert_problem(response, 401, "not_authenticated")
    assert_no_leak(response, world)
    assert state(world) == before


@pytest.mark.parametrize(
    "route",
    sorted(r for r, cls in API_ROUTES.items() if cls not in (PUBLIC, SIGN_IN, NOT_AN_ENDPOINT)),
    ids=str,
)
def test_a_bad_token_is_anonymous(world, route):
    client = Client(raise_request_exception=False)
    assert_problem(
        call(client, route, world, "rival", HTTP_AUTHORIZATION="Bearer forged"), 401, "not_authenticated"
    )


def test_an_expired_token_is_anonymous(world):
    client, headers = signed_in(world.bidder, "bearer")
    clock.advance(dt.timedelta(hours=services.API_TOKEN_HOURS, seconds=1))
    assert_problem(client.get(f"{API}/organizations", **headers), 401, "not_authenticated")


# ---- pages --------------------------------------------------------------------------------------

PAGE_EXPECTED_FOR_BIDDER = {
    PAGE_PUBLIC: {200, 302},  # logout redirects
    PAGE_SELF: {200},
    PAGE_VIEW_ALL: {403},
    PAGE_SCOPED: {404},
    PAGE_AUDIT: {403},
    PAGE_OWN_OBJECT_POST: {404},
}


def page_url(route: str, w: World, target: str = "rival") -> str:
    values = {
        "pk": (w.rival_org if target == "rival" else w.own_org).pk,
        "index": w.rival_event.index,
        "year": 2026,
    }
    if route.startswith("notifications/"):
        values["pk"] = (w.rival_note if target == "rival" else w.own_note).pk
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)


@pytest.mark.parametrize("route", sorted(PAGE_ROUTES), ids=lambda r: r or "home")
def test_a_bidder_reaches_nothing_of_the_rival_through_the_pages(world, route):
    method, cls = PAGE_ROUTES[route]
    client = Client(raise_request_exception=False)
    client.force_login(world.bidder)
    before = state(world)
    url = page_url(route, world)
    response = client.get(url) if method == "GET" else client.post(url)
    assert response.status_code in PAGE_EXPECTED_FOR_BIDDER[cls], (
        response.status_code,
        response.content[:300],
    )
    if response.status_code in (403, 404):
        html = response.content.decode()
        assert 'data-testid="error-message"' in html
        assert ("not_found" if response.status_code == 404 else "permission_denied") in html
    assert_no_leak(response, world)
    assert state(world) == before


@pytest.mark.parametrize(
    "route",
    sorted(r for r, (m, cls) in PAGE_ROUTES.items() if cls in (PAGE_SCOPED, PAGE_OWN_OBJECT_POST)),
    ids=str,
)
def test_the_same_pages_work_for_the_bidders_own_ids(world, route):
    method, _ = PAGE_ROUTES[route]
    client = Client(raise_request_exception=False)
    client.force_login(world.bidder)
    url = page_url(route, world, "own")
    response = client.get(url) if method == "GET" else client.post(url)
    assert response.status_code in (200, 302)
    assert_no_leak(response, world)


@pytest.mark.parametrize("route", sorted(PAGE_ROUTES), ids=lambda r: r or "home")
def test_anonymous_pages(world, route):
    method, cls = PAGE_ROUTES[route]
    client = Client(raise_request_exception=False)
    url = page_url(route, world)
    response = client.get(url) if method == "GET" else client.post(url)
    if cls == PAGE_PUBLIC:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    assert_no_leak(response, world)


@pytest.mark.parametrize("who", ["supervisor", "auditor"])
def test_read_only_roles_see_the_staff_pages_but_register_nothing(world, who):
    client = Client(raise_request_exception=False)
    client.force_login(getattr(world, who))
    before = state(world)
    for route, (_method, cls) in PAGE_ROUTES.items():
        if cls in (PAGE_VIEW_ALL, PAGE_SCOPED, PAGE_AUDIT):
            assert client.get(page_url(route, world)).status_code == 200, route
    form = {"name": "新登记有限公司", "uscc": ids.make_uscc("91440300MA000001"), "kind": "bidder"}
    assert client.post("/accounts/organizations/", form).status_code == 403
    user_form = {"username": "newbie", "role": "bidder", "organization": world.own_org.pk, "password": STRONG}
    assert client.post("/accounts/users/", user_form).status_code == 403
    pem = world.fresh_certificate_pem(world.rival_org)
    page = client.post(f"/accounts/organizations/{world.rival_org.pk}/", {"certificate_pem": pem})
    assert page.status_code == 403  # the form is not offered to them; a forged post is refused
    assert state(world) == before


def test_a_bidder_posting_to_the_staff_pages_changes_nothing(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.bidder)
    before = state(world)
    form = {"name": "新登记有限公司", "uscc": ids.make_uscc("91440300MA000001"), "kind": "bidder"}
    assert client.post("/accounts/organizations/", form).status_code == 403
    user_form = {"username": "newbie", "role": "bidder", "organization": world.own_org.pk, "password": STRONG}
    assert client.post("/accounts/users/", user_form).status_code == 403
    pem = world.fresh_certificate_pem(world.rival_org)
    response = client.post(f"/accounts/organizations/{world.rival_org.pk}/", {"certificate_pem": pem})
    assert response.status_code == 404
    assert_no_leak(response, world)
    client.post("/calendar/2026/", {"date": "2026-10-08", "kind": "holiday", "name": "x"})
    assert state(world) == before


def test_the_django_admin_is_closed_to_a_bidder(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.bidder)
    response = client.get(f"/django-admin/accounts/organization/{world.rival_org.pk}/change/")
    assert response.status_code == 302 and "/django-admin/login/" in response["Location"]
    assert_no_leak(response, world)


def test_the_menu_offers_a_bidder_only_its_own_pages(world):
    client = Client()
    client.force_login(world.bidder)
    html = client.get("/").content.decode()
    assert f"/accounts/organizations/{world.own_org.pk}/" in html
    assert (
        '/accounts/organizations/"' not in html and "/accounts/users/" not in html and "/audit/" not in html
    )
