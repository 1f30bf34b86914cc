"""Who may call each notices endpoint and open each page: anonymous → 401 (API) or the sign-in
page, the wrong role → 403, another organization's object → 404, the right user → success.

And the secrecy of 法 Art 22: before the bid deadline nobody — not staff, not the agent, not a
supervisor — learns who obtained the documents or how many did; a bidder never sees who else
obtained them or asked questions. Checked on every endpoint and page of this app."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tenderhall.accounts.models import Role
from tenderhall.api import api as ninja_api
from tenderhall.core import clock
from tenderhall.core.models import LogEvent
from tenderhall.notices import services
from tenderhall.notices.models import NoticeKind, TenderDocument
from tests.factories import UserFactory
from tests.notices.conftest import DEADLINE, World, announce, client_for, draft_tender, upload

API = "/api/v1"


@dataclass
class Ids:
    notice: int  # the published tender notice
    draft: int  # a draft of the same project
    section: int  # announced section 1
    hidden_section: int  # the rival project's section: registered, never announced
    document: int  # version 1 of section 1


@pytest.fixture
def ids(world: World) -> Ids:
    notice = announce(world, section_ids=[world.section.pk])
    draft = draft_tender(
        world,
        kind=NoticeKind.TERMINATION,
        docs_sale_start=None,
        docs_sale_end=None,
        bid_deadline=None,
        section_ids=[],
    )
    document = upload(world)
    return Ids(
        notice=notice.pk,
        draft=draft.pk,
        section=world.section.pk,
        hidden_section=world.rival_project.sections.get().pk,
        document=document.pk,
    )


def _json(client: Client, method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body) if body is not None else ""
    return getattr(client, method.lower())(url, data, content_type="application/json")


def _upload(client: Client, url: str) -> Any:
    return client.post(url, {"file": SimpleUploadedFile("v.pdf", b"new version"), "note": ""})


# ---- the API --------------------------------------------------------------------------------------


@dataclass
class ApiCase:
    method: str
    path: str  # formatted with Ids
    body: Any = None
    multipart: bool = False


def call(client: Client, case: ApiCase, ids: Ids, **override: int) -> Any:
    values = {**ids.__dict__, **override}
    url = API + case.path.format(**values)
    if case.multipart:
        return _upload(client, url)
    if case.method == "GET":
        return client.get(url)
    body = case.body(values) if callable(case.body) else case.body
    return _json(client, case.method, url, body)


def _notice_body(values: dict[str, int]) -> dict[str, Any]:
    return {"project_id": values["project"], "kind": "termination", "title": "终止公告", "body": "终止"}


ROUTES: dict[str, ApiCase] = {
    "list notices": ApiCase("GET", "/notices"),
    "draft a notice": ApiCase("POST", "/notices", body=_notice_body),
    "read a notice": ApiCase("GET", "/notices/{notice}"),
    "edit a draft": ApiCase("PATCH", "/notices/{draft}", body={"title": "新"}),
    "publish a draft": ApiCase("POST", "/notices/{draft}/publish"),
    "timeline": ApiCase("GET", "/sections/{section}/timeline"),
    "opening key": ApiCase("GET", "/sections/{section}/opening-key"),
    "list documents": ApiCase("GET", "/sections/{section}/documents"),
    "upload documents": ApiCase("POST", "/sections/{section}/documents", multipart=True),
    "obtain documents": ApiCase("POST", "/sections/{section}/obtain"),
    "who obtained": ApiCase("GET", "/sections/{section}/obtainments"),
    "download": ApiCase("GET", "/documents/{document}/download"),
    "list questions": ApiCase("GET", "/sections/{section}/questions"),
    "ask": ApiCase("POST", "/sections/{section}/questions", body={"text": "问题"}),
    "list clarifications": ApiCase("GET", "/sections/{section}/clarifications"),
    "clarify": ApiCase("POST", "/sections/{section}/clarifications", body={"text": "澄清"}),
    "object": ApiCase("POST", "/sections/{section}/objections", body={"text": "异议"}),
}
PUBLIC_ROUTES = {"list notices", "read a notice", "opening key"}


def test_every_route_of_the_app_is_in_the_table():
    schema = ninja_api.get_openapi_schema()
    ours = {
        (method.upper(), path)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if "notices" in op.get("tags", [])
    }
    listed = {(c.method, API + re.sub(r"\{(\w+)\}", "{x}", c.path)) for c in ROUTES.values()}
    normalized = {(m, re.sub(r"\{(\w+)\}", "{x}", p)) for m, p in ours}
    assert normalized == listed


@pytest.fixture
def ids_with_project(ids: Ids, world: World) -> Ids:
    ids.project = world.project.pk  # type: ignore[attr-defined]
    return ids


@pytest.mark.parametrize("name", sorted(set(ROUTES) - PUBLIC_ROUTES))
def test_anonymous_gets_401(ids_with_project: Ids, name: str):
    response = call(Client(), ROUTES[name], ids_with_project)
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("name", sorted(PUBLIC_ROUTES))
def test_public_routes_answer_anonymous(ids_with_project: Ids, name: str):
    assert call(Client(), ROUTES[name], ids_with_project).status_code == 200


# (route, user attribute of World, expected status, expected code)
WRONG_ROLE = [
    ("draft a notice", "bidder", 403, "permission_denied"),
    ("draft a notice", "staff", 403, "permission_denied"),
    ("draft a notice", "supervisor", 403, "permission_denied"),
    ("edit a draft", "bidder", 403, "permission_denied"),
    ("publish a draft", "staff", 403, "permission_denied"),
    ("upload documents", "bidder", 403, "permission_denied"),
    ("upload documents", "staff", 403, "permission_denied"),
    ("obtain documents", "agent", 403, "permission_denied"),
    ("obtain documents", "staff", 403, "permission_denied"),
    ("obtain documents", "supervisor", 403, "permission_denied"),
    ("who obtained", "agent", 403, "permission_denied"),
    ("who obtained", "bidder", 403, "permission_denied"),
    ("ask", "agent", 403, "permission_denied"),
    ("ask", "staff", 403, "permission_denied"),
    ("clarify", "bidder", 403, "permission_denied"),
    ("clarify", "supervisor", 403, "permission_denied"),
    ("object", "agent", 403, "permission_denied"),
    ("object", "staff", 403, "permission_denied"),
    ("upload documents", "rival_agent", 403, "permission_denied"),  # a visible section, not theirs
    ("clarify", "rival_agent", 403, "permission_denied"),
]


@pytest.mark.parametrize(("name", "who", "status", "code"), WRONG_ROLE)
def test_the_wrong_role_gets_403(
    ids_with_project: Ids, world: World, name: str, who: str, status: int, code: str
):
    response = call(client_for(getattr(world, who)), ROUTES[name], ids_with_project)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code


# Another organization's object: the rival agent and bidders reach nothing of the unannounced
# section, the draft or an unobtained document; an anonymous caller no draft.
FOREIGN = [
    ("draft a notice", "rival_agent", {}),
    ("read a notice", "rival_agent", {"notice": "draft"}),
    ("read a notice", "bidder", {"notice": "draft"}),
    ("edit a draft", "rival_agent", {}),
    ("publish a draft", "rival_agent", {}),
    ("timeline", "agent", {"section": "hidden_section"}),
    ("timeline", "bidder", {"section": "hidden_section"}),
    ("opening key", "bidder", {"section": "hidden_section"}),
    ("list documents", "bidder", {"section": "hidden_section"}),
    ("upload documents", "agent", {"section": "hidden_section"}),
    ("obtain documents", "bidder", {"section": "hidden_section"}),
    ("who obtained", "staff", {"section": "missing"}),
    ("download", "bidder", {}),
    ("download", "rival_agent", {}),
    ("list questions", "bidder", {"section": "hidden_section"}),
    ("ask", "bidder", {"section": "hidden_section"}),
    ("list clarifications", "bidder", {"section": "hidden_section"}),
    ("clarify", "agent", {"section": "hidden_section"}),
    ("object", "bidder", {"section": "hidden_section"}),
]


@pytest.mark.parametrize(("name", "who", "swap"), FOREIGN)
def test_another_organizations_object_is_not_found(
    ids_with_project: Ids, world: World, name: str, who: str, swap: dict
):
    override: dict[str, int] = {}
    for key, source in swap.items():
        override[key] = 999_999 if source == "missing" else getattr(ids_with_project, source)
    response = call(client_for(getattr(world, who)), ROUTES[name], ids_with_project, **override)
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"


RIGHT_USER = [
    ("list notices", "bidder", 200),
    ("draft a notice", "agent", 201),
    ("draft a notice", "tenderer", 201),
    ("read a notice", "bidder", 200),
    ("edit a draft", "tenderer", 200),
    ("publish a draft", "agent", 200),
    ("timeline", "bidder", 200),
    ("opening key", "bidder", 200),
    ("list documents", "bidder", 200),
    ("list documents", "agent", 200),
    ("upload documents", "agent", 201),
    ("obtain documents", "bidder", 200),
    ("list questions", "staff", 200),
    ("list clarifications", "agent", 200),
    ("list clarifications", "supervisor", 200),
    ("download", "agent", 200),
    ("download", "staff", 200),
]


@pytest.mark.parametrize(("name", "who", "status"), RIGHT_USER)
def test_the_right_user_succeeds(ids_with_project: Ids, world: World, name: str, who: str, status: int):
    response = call(client_for(getattr(world, who)), ROUTES[name], ids_with_project)
    assert response.status_code == status, response.content


def test_the_bidders_own_steps_succeed(ids_with_project: Ids, world: World):
    bidder = client_for(world.bidder)
    assert call(bidder, ROUTES["obtain documents"], ids_with_project).status_code == 200
    assert call(bidder, ROUTES["download"], ids_with_project).status_code == 200
    assert call(bidder, ROUTES["ask"], ids_with_project).status_code == 201
    assert call(bidder, ROUTES["list clarifications"], ids_with_project).status_code == 200
    assert call(bidder, ROUTES["object"], ids_with_project).status_code == 201
    assert call(client_for(world.agent), ROUTES["clarify"], ids_with_project).status_code == 201


def test_who_obtained_is_for_readers_after_the_deadline(ids_with_project: Ids, world: World):
    services.document_obtain(acting_user=world.bidder, section=world.section)
    for who in ("staff", "supervisor", "auditor"):
        response = call(client_for(getattr(world, who)), ROUTES["who obtained"], ids_with_project)
        assert response.status_code == 403 and response.json()["code"] == "obtainments_secret"
    clock.set_now(DEADLINE)
    for who in ("staff", "supervisor", "auditor"):
        response = call(client_for(getattr(world, who)), ROUTES["who obtained"], ids_with_project)
        assert response.status_code == 200 and len(response.json()) == 1
    for who in ("agent", "tenderer", "bidder"):
        assert (
            call(client_for(getattr(world, who)), ROUTES["who obtained"], ids_with_project).status_code == 403
        )


# ---- pages ----------------------------------------------------------------------------------------

PAGES_PUBLIC = ["/notices/", "/notices/feed.atom", "/notices/{notice}/"]
PAGES_SIGNED_IN = ["/notices/sections/{section}/", "/notices/documents/{document}/download/"]
PAGES_PUBLISHER = ["/notices/manage/", "/notices/manage/{draft}/"]
POSTS = {
    "upload": "/notices/sections/{section}/documents/",
    "obtain": "/notices/sections/{section}/obtain/",
    "ask": "/notices/sections/{section}/questions/",
    "clarify": "/notices/sections/{section}/clarifications/",
    "object": "/notices/sections/{section}/objections/",
}


def test_every_page_is_in_the_table():
    from django.urls import get_resolver

    resolver = get_resolver()
    notices = next(p for p in resolver.url_patterns if str(p.pattern) == "notices/")
    routes = {str(p.pattern) for p in notices.url_patterns}
    listed = {
        re.sub(r"\{(\w+)\}", "<int:pk>", p.removeprefix("/notices/"))
        for p in PAGES_PUBLIC + PAGES_SIGNED_IN + PAGES_PUBLISHER + list(POSTS.values())
    }
    assert routes == listed


@pytest.mark.parametrize("page", PAGES_PUBLIC)
def test_public_pages_open_without_signing_in(ids: Ids, page: str):
    assert Client().get(page.format(**ids.__dict__)).status_code == 200


@pytest.mark.parametrize("page", PAGES_SIGNED_IN + PAGES_PUBLISHER + list(POSTS.values()))
def test_anonymous_is_sent_to_sign_in(ids: Ids, page: str):
    url = page.format(**ids.__dict__)
    response = Client().post(url) if page in POSTS.values() else Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_a_draft_has_no_public_page(ids: Ids, world: World):
    assert Client().get(f"/notices/{ids.draft}/").status_code == 404
    assert client_for(world.agent).get(f"/notices/{ids.draft}/").status_code == 404


@pytest.mark.parametrize("page", PAGES_PUBLISHER)
@pytest.mark.parametrize("who", ["bidder", "staff", "supervisor"])
def test_publisher_pages_are_403_to_other_roles(ids: Ids, world: World, page: str, who: str):
    assert client_for(getattr(world, who)).get(page.format(**ids.__dict__)).status_code == 403


def test_publisher_pages_for_the_parties(ids: Ids, world: World):
    for who in ("agent", "tenderer"):
        for page in PAGES_PUBLISHER:
            assert client_for(getattr(world, who)).get(page.format(**ids.__dict__)).status_code == 200
    assert client_for(world.rival_agent).get(f"/notices/manage/{ids.draft}/").status_code == 404
    assert client_for(world.rival_agent).get("/notices/manage/").status_code == 200


def test_section_pages(ids: Ids, world: World):
    for who in (
        "agent",
        "tenderer",
        "bidder",
        "other_bidder",
        "staff",
        "supervisor",
        "auditor",
        "rival_agent",
    ):
        assert client_for(getattr(world, who)).get(f"/notices/sections/{ids.section}/").status_code == 200
    for who in ("agent", "bidder", "staff"):
        response = client_for(getattr(world, who)).get(f"/notices/sections/{ids.hidden_section}/")
        expected = 200 if who == "staff" else 404
        assert response.status_code == expected
    assert client_for(world.rival_agent).get(f"/notices/sections/{ids.hidden_section}/").status_code == 200


def test_downloads_by_page(ids: Ids, world: World):
    url = f"/notices/documents/{ids.document}/download/"
    assert client_for(world.bidder).get(url).status_code == 404
    services.document_obtain(acting_user=world.bidder, section=world.section)
    assert client_for(world.bidder).get(url).status_code == 200
    assert client_for(world.other_bidder).get(url).status_code == 404
    assert client_for(world.agent).get(url).status_code == 200
    assert client_for(world.rival_agent).get(url).status_code == 404


POST_WRONG_ROLE = [
    ("upload", "bidder"),
    ("upload", "staff"),
    ("obtain", "agent"),
    ("ask", "agent"),
    ("clarify", "bidder"),
    ("clarify", "staff"),
    ("object", "agent"),
    ("object", "supervisor"),
]


@pytest.mark.parametrize(("action", "who"), POST_WRONG_ROLE)
def test_page_posts_refuse_the_wrong_role(ids: Ids, world: World, action: str, who: str):
    url = POSTS[action].format(**ids.__dict__)
    client = client_for(getattr(world, who))
    response = _upload(client, url) if action == "upload" else client.post(url, {"text": "x"})
    assert response.status_code == 403


@pytest.mark.parametrize("action", sorted(POSTS))
def test_page_posts_to_a_hidden_section_are_404(ids: Ids, world: World, action: str):
    who = world.agent if action in ("upload", "clarify") else world.bidder
    url = POSTS[action].format(section=ids.hidden_section)
    response = (
        _upload(client_for(who), url) if action == "upload" else client_for(who).post(url, {"text": "x"})
    )
    assert response.status_code == 404


def test_page_posts_work_for_the_right_user(ids: Ids, world: World):
    section_url = f"/notices/sections/{ids.section}/"
    bidder, agent = client_for(world.bidder), client_for(world.agent)
    for url, client, data in (
        (POSTS["obtain"], bidder, {}),
        (POSTS["ask"], bidder, {"text": "问题"}),
        (POSTS["clarify"], agent, {"text": "澄清", "affects_bid_preparation": "on"}),
        (POSTS["object"], bidder, {"text": "异议"}),
    ):
        response = client.post(url.format(**ids.__dict__), data)
        assert response.status_code == 302 and response["Location"] == section_url, response.content[:400]
    response = _upload(agent, POSTS["upload"].format(**ids.__dict__))
    assert response.status_code == 302
    assert TenderDocument.objects.filter(section_id=ids.section).count() == 2


# ---- secrecy (法 Art 22) ---------------------------------------------------------------------------

_TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def _normalized(response: Any) -> bytes:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return _TOKEN.sub(b"", content)


def _everything(ids: Ids) -> list[str]:
    """Every GET of the app (API and pages) that a signed-in user may try."""
    api = [
        API + c.path.format(**ids.__dict__)
        for c in ROUTES.values()
        if c.method == "GET" and "download" not in c.path
    ]
    api += [f"{API}/notices/{ids.notice}", f"{API}/notices?kind=tender"]
    pages = [p.format(**ids.__dict__) for p in PAGES_PUBLIC + PAGES_PUBLISHER] + [
        f"/notices/sections/{ids.section}/"
    ]
    return api + pages


VIEWERS = [
    "agent",
    "tenderer",
    "staff",
    "supervisor",
    "auditor",
    "bidder",
    "other_bidder",
    "rival_agent",
    None,
]


def _snapshot(world: World, ids: Ids) -> dict[tuple[str | None, str], tuple[int, bytes]]:
    shots = {}
    for who in VIEWERS:
        client = client_for(getattr(world, who)) if who else Client()
        for url in _everything(ids):
            response = client.get(url)
            shots[(who, url)] = (response.status_code, _normalized(response))
    return shots


def test_before_the_deadline_nothing_changes_when_someone_obtains(ids: Ids, world: World):
    """Every page and endpoint looks exactly the same to everyone else before and after another
    bidder obtains the documents: neither who nor how many can be learned (法 Art 22)."""
    services.document_obtain(acting_user=world.bidder, section=world.section)
    before = _snapshot(world, ids)
    third = UserFactory(role=Role.BIDDER, username="third_bidder")
    services.document_obtain(acting_user=world.other_bidder, section=world.section)
    services.document_obtain(acting_user=third, section=world.section)
    after = _snapshot(world, ids)
    changed = {key for key in before if before[key] != after[key]}
    # only the other bidder's own view changes (it now holds the documents)
    assert {who for who, _ in changed} == {"other_bidder"}, sorted(changed)
    for (who, url), (_status, body) in after.items():
        if who == "other_bidder":
            continue
        for secret in (
            b"third_bidder",
            world.other_bidder.username.encode(),
            third.organization.name.encode(),
            world.other_bidder.organization.name.encode(),
        ):
            assert secret not in body, (who, url)


def test_a_bidder_never_sees_who_else_obtained_or_asked(ids: Ids, world: World):
    for bidder in (world.bidder, world.other_bidder):
        services.document_obtain(acting_user=bidder, section=world.section)
    services.question_ask(acting_user=world.other_bidder, section=world.section, text="对手的问题")
    clock.set_now(DEADLINE)  # even after the deadline
    client = client_for(world.bidder)
    rival_marks = (
        world.other_bidder.username.encode(),
        world.other_bidder.organization.name.encode(),
        world.other_bidder.organization.uscc.encode(),
        "对手的问题".encode(),
    )
    for url in _everything(ids):
        body = _normalized(client.get(url))
        for mark in rival_marks:
            assert mark not in body, url


def test_the_parties_see_question_text_but_never_the_asker(ids: Ids, world: World):
    services.document_obtain(acting_user=world.bidder, section=world.section)
    services.question_ask(acting_user=world.bidder, section=world.section, text="招标控制价是否含税？")
    for who in ("agent", "tenderer"):
        client = client_for(getattr(world, who))
        page = client.get(f"/notices/sections/{ids.section}/").content.decode()
        assert "招标控制价是否含税？" in page
        for url in _everything(ids):
            body = _normalized(client.get(url))
            assert (
                world.bidder.username.encode() not in body
                and world.bidder.organization.name.encode() not in body
            ), url
    staff_page = client_for(world.staff).get(f"/notices/sections/{ids.section}/").content.decode()
    assert world.bidder.organization.name in staff_page


def test_the_log_does_not_reveal_obtainers_to_audit_readers(ids: Ids, world: World):
    services.document_obtain(acting_user=world.bidder, section=world.section)
    event = LogEvent.objects.filter(action="notices.document.obtained").get()
    assert world.bidder.username not in event.payload and world.bidder.organization.uscc not in event.payload
    assert event.actor_username == "" and event.org_uscc == ""
    page = client_for(world.supervisor).get(f"/audit/events/{event.index}/").content.decode()
    assert world.bidder.username not in page and world.bidder.organization.uscc not in page


def test_after_the_deadline_readers_see_who_obtained_on_the_section_page(ids: Ids, world: World):
    services.document_obtain(acting_user=world.bidder, section=world.section)
    page = client_for(world.staff).get(f"/notices/sections/{ids.section}/").content.decode()
    assert 'data-testid="obtainments-secret"' in page and world.bidder.organization.name not in page
    clock.set_now(DEADLINE)
    page = client_for(world.supervisor).get(f"/notices/sections/{ids.section}/").content.decode()
    assert 'data-testid="obtainments"' in page and world.bidder.organization.name in page
    agent_page = client_for(world.agent).get(f"/notices/sections/{ids.section}/").content.decode()
    assert world.bidder.organization.name not in agent_page
