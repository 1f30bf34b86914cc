"""Who may call each bidding endpoint and open each page: anonymous → 401 (API) or the sign-in
page, the wrong role → 403, another organization's object → 404, the right user → success.

And the secrecy of the bids (法 Art 22, DESIGN §4): before the deadline no page, API answer or log
event shows anyone but the bidder itself who bid or how many did — not staff, not the agent, not
supervisors; a bidder sees only its own uploads and bids. The bidders' source addresses are shown to
supervisors only, and only after the deadline."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tenderhall.api import api as ninja_api
from tenderhall.bidding.models import Bid
from tenderhall.core import clock
from tenderhall.core.models import LogEvent
from tests.bidding.conftest import DEADLINE, Api
from tests.bidding.factories import sealed_bid
from tests.notices.conftest import World, client_for

API = "/api/v1"
NOT_BIDDERS = ["staff", "agent", "tenderer", "supervisor", "auditor"]


@dataclass
class Ids:
    section: int  # announced section 1 (both bidders obtained the documents)
    hidden_section: int  # the rival project's section: never announced
    upload: int | str  # the bidder's open upload
    bid: int  # the bidder's live bid


def from_afar(api: Api) -> Api:
    api.client.defaults.update(REMOTE_ADDR="203.0.113.50", HTTP_USER_AGENT="tenderhall-bid/1.0")
    return api


@pytest.fixture
def ids(ready: World) -> Ids:
    api = from_afar(Api(ready.bidder))
    assert api.submit(ready.section.pk, sealed_bid(ready.section)).status_code == 201
    upload = api.create(ready.section.pk, 1000).json()["upload_id"]
    return Ids(
        section=ready.section.pk,
        hidden_section=ready.rival_project.sections.get().pk,  # type: ignore[union-attr]
        upload=upload,
        bid=Bid.objects.get().pk,
    )


@dataclass
class ApiCase:
    method: str
    path: str  # formatted with Ids
    body: Any = None
    raw: bool = False


ROUTES: dict[str, ApiCase] = {
    "create upload": ApiCase("POST", "/sections/{section}/uploads", body={"size": 1000}),
    "upload status": ApiCase("GET", "/uploads/{upload}"),
    "append chunk": ApiCase("PUT", "/uploads/{upload}/chunks?offset=0", body=b"x" * 100, raw=True),
    "finalize": ApiCase("POST", "/uploads/{upload}/finalize"),
    "abort": ApiCase("DELETE", "/uploads/{upload}"),
    "my bid": ApiCase("GET", "/sections/{section}/bid"),
    "withdraw": ApiCase("POST", "/sections/{section}/bid/withdraw"),
}


def call(client: Client, case: ApiCase, ids: Ids, **override: Any) -> Any:
    url = API + case.path.format(**{**ids.__dict__, **override})
    if case.raw:
        return client.generic(case.method, url, case.body, content_type="application/octet-stream")
    data = json.dumps(case.body) if case.body is not None else ""
    return client.generic(case.method, url, data, content_type="application/json")


def test_every_route_of_the_app_is_in_the_table():
    schema = ninja_api.get_openapi_schema()
    ours = {
        (method.upper(), re.sub(r"\{(\w+)\}", "{x}", path))
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if "bidding" in op.get("tags", [])
    }
    listed = {(c.method, API + re.sub(r"\{(\w+)\}", "{x}", c.path.split("?")[0])) for c in ROUTES.values()}
    assert ours == listed


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_anonymous_gets_401(ids: Ids, name: str):
    response = call(Client(), ROUTES[name], ids)
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_other_roles_get_403(ids: Ids, ready: World, name: str):
    for who in NOT_BIDDERS:
        response = call(client_for(getattr(ready, who)), ROUTES[name], ids)
        assert response.status_code == 403, (who, response.content)
        assert response.json()["code"] == "permission_denied"


# Another organization's object: the other bidder reaches none of the bidder's uploads; an
# unannounced section is nobody's to bid on.
FOREIGN = [
    ("upload status", {}),
    ("append chunk", {}),
    ("finalize", {}),
    ("abort", {}),
    ("create upload", {"section": "hidden_section"}),
    ("my bid", {"section": "hidden_section"}),
    ("withdraw", {"section": "hidden_section"}),
]


@pytest.mark.parametrize(("name", "swap"), FOREIGN)
def test_another_organizations_object_is_not_found(ids: Ids, ready: World, name: str, swap: dict[str, str]):
    override = {key: getattr(ids, source) for key, source in swap.items()}
    response = call(client_for(ready.other_bidder), ROUTES[name], ids, **override)
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"


def test_another_bidder_has_no_bid_to_see_or_withdraw(ids: Ids, ready: World):
    other = client_for(ready.other_bidder)
    for name in ("my bid", "withdraw"):
        response = call(other, ROUTES[name], ids)
        assert response.status_code == 404 and response.json()["code"] == "no_bid"
    assert Bid.objects.get().status == "submitted"


RIGHT_USER = [
    ("upload status", 200),
    ("append chunk", 200),
    ("my bid", 200),
    ("create upload", 201),
    ("abort", 204),
    ("withdraw", 200),
]


@pytest.mark.parametrize(("name", "status"), RIGHT_USER)
def test_the_right_user_succeeds(ids: Ids, ready: World, name: str, status: int):
    response = call(client_for(ready.bidder), ROUTES[name], ids)  # the session, with CSRF
    assert response.status_code == status, response.content


def test_finalize_by_the_right_user(ids: Ids, ready: World):
    api = Api(ready.bidder)
    upload_id = api.upload_all(ready.section.pk, sealed_bid(ready.section))
    assert call(client_for(ready.bidder), ROUTES["finalize"], ids, upload=upload_id).status_code == 201


def test_a_colleague_of_the_same_organization_sees_the_upload(ids: Ids, ready: World):
    from tests.factories import UserFactory

    colleague = UserFactory(role="bidder", organization=ready.bidder.organization)
    assert call(client_for(colleague), ROUTES["upload status"], ids).status_code == 200


def test_the_session_needs_csrf(ids: Ids, ready: World):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ready.bidder)
    response = call(client, ROUTES["withdraw"], ids)
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"


# ---- pages -----------------------------------------------------------------------------------------

PAGES_BIDDER = ["/bids/", "/bids/sections/{section}/", "/bids/{bid}/receipt.json"]
PAGE_POSTS = {"withdraw": "/bids/sections/{section}/withdraw/"}
PAGES_SUPERVISOR = ["/bids/sections/{section}/evidence/"]


def test_every_page_is_in_the_table():
    from django.urls import get_resolver

    bids = next(p for p in get_resolver().url_patterns if str(p.pattern) == "bids/")
    routes = {str(p.pattern) for p in bids.url_patterns}  # type: ignore[attr-defined]
    listed = {
        re.sub(r"\{(\w+)\}", "<int:pk>", p.removeprefix("/bids/"))
        for p in PAGES_BIDDER + PAGES_SUPERVISOR + list(PAGE_POSTS.values())
    }
    assert routes == listed


@pytest.mark.parametrize("page", PAGES_BIDDER + PAGES_SUPERVISOR + list(PAGE_POSTS.values()))
def test_anonymous_is_sent_to_sign_in(ids: Ids, page: str):
    url = page.format(**ids.__dict__)
    response = Client().post(url) if page in PAGE_POSTS.values() else Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("page", PAGES_BIDDER + list(PAGE_POSTS.values()))
def test_bidder_pages_are_403_to_other_roles(ids: Ids, ready: World, page: str):
    url = page.format(**ids.__dict__)
    for who in NOT_BIDDERS:
        client = client_for(getattr(ready, who))
        response = client.post(url, {"confirm": "on"}) if page in PAGE_POSTS.values() else client.get(url)
        assert response.status_code == 403, who


def test_bidder_pages_for_the_bidder(ids: Ids, ready: World):
    bidder = client_for(ready.bidder)
    for page in PAGES_BIDDER:
        assert bidder.get(page.format(**ids.__dict__)).status_code == 200
    response = bidder.post(f"/bids/sections/{ids.section}/withdraw/", {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == f"/bids/sections/{ids.section}/"


def test_another_bidder_reaches_neither_the_receipt_nor_a_hidden_section(ids: Ids, ready: World):
    other = client_for(ready.other_bidder)
    assert other.get(f"/bids/{ids.bid}/receipt.json").status_code == 404
    assert other.get(f"/bids/sections/{ids.hidden_section}/").status_code == 404
    assert client_for(ready.bidder).get(f"/bids/sections/{ids.hidden_section}/").status_code == 404
    # the other bidder's own pages say nothing of the bidder's bid
    assert other.get(f"/bids/sections/{ids.section}/").status_code == 200


@pytest.mark.parametrize("who", ["staff", "agent", "bidder", "auditor"])
def test_evidence_is_for_supervisors_only(ids: Ids, ready: World, who: str):
    clock.set_now(DEADLINE)
    assert client_for(getattr(ready, who)).get(f"/bids/sections/{ids.section}/evidence/").status_code == 403


def test_evidence_after_the_deadline_only(ids: Ids, ready: World):
    supervisor = client_for(ready.supervisor)
    url = f"/bids/sections/{ids.section}/evidence/"
    before = supervisor.get(url)
    assert before.status_code == 403
    assert "bids_sealed" in before.content.decode()
    assert ready.bidder.organization.name not in before.content.decode()
    clock.set_now(DEADLINE)
    after = client_for(ready.supervisor).get(url)
    assert after.status_code == 200
    text = after.content.decode()
    assert ready.bidder.organization.name in text and "203.0.113.50" in text
    assert (
        client_for(ready.supervisor).get(f"/bids/sections/{ids.hidden_section}/evidence/").status_code == 404
    )


# ---- secrecy before the deadline --------------------------------------------------------------------


def _identities(w: World) -> list[str]:
    out = []
    for user in (w.bidder, w.other_bidder):
        org = user.organization
        out += [org.uscc, org.name, user.username]
    return [*out, "203.0.113.50", "tenderhall-bid/1.0"]


def _normalized(content: bytes) -> str:
    text = content.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    return re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?Z?", "", text)


def _everything_they_can_read(w: World, who: str, section: int) -> dict[str, str]:
    client = client_for(getattr(w, who))
    urls = [
        "/bids/",
        f"/bids/sections/{section}/",
        f"/bids/sections/{section}/evidence/",
        f"/notices/sections/{section}/",
        f"{API}/sections/{section}/bid",
        f"{API}/sections/{section}/documents",
        f"{API}/sections/{section}/opening-key",
    ]
    return {url: _normalized(client.get(url).content) for url in urls}


@pytest.mark.parametrize("who", NOT_BIDDERS)
def test_nobody_learns_who_bid_or_how_many_before_the_deadline(ready: World, who: str):
    section = ready.section.pk
    before = _everything_they_can_read(ready, who, section)
    from_afar(Api(ready.bidder)).submit(section, sealed_bid(ready.section))
    from_afar(Api(ready.other_bidder)).submit(section, sealed_bid(ready.section))
    from_afar(Api(ready.other_bidder)).create(section, 5000)
    after = _everything_they_can_read(ready, who, section)
    assert after == before  # nothing they can read changed with two bids and an upload
    # The home page shows the log's size, which grows with every step anybody takes (only).
    after["/"] = client_for(getattr(ready, who)).get("/").content.decode()
    for url, text in after.items():
        for secret in _identities(ready):
            assert secret not in text, (url, secret)


@pytest.mark.parametrize("who", ["staff", "supervisor", "auditor"])
def test_the_log_names_no_bidder_before_the_deadline(ids: Ids, ready: World, who: str):
    """Every bidding step is one sealed tag with a commitment: a reader can tell neither who
    took it nor whether it was a bid, a chunk, an abort or a withdrawal."""
    client = client_for(getattr(ready, who))
    listed = client.get(f"{API}/log/events?limit=500").json()
    events = [e for e in listed if e["payload"]["action"].startswith("bidding.")]
    assert len(events) == LogEvent.objects.filter(action__startswith="bidding.").count() > 3
    pages = [json.dumps(events, ensure_ascii=False)]
    for event in events:
        payload = event["payload"]
        assert payload["action"] == "bidding.sealed_step"
        assert set(payload["data"]) == {"bid_commitment", "sealed"}, payload
        assert (payload["actor"], payload["org"], payload["source_ip"]) == ("", "", "")
        pages.append(client.get(f"/audit/events/{event['index']}/").content.decode())
    for text in pages:
        assert "bidding.bid.submitted" not in text
        for secret in _identities(ready):
            assert secret not in text


def test_a_bidder_sees_only_its_own(ids: Ids, ready: World):
    Api(ready.other_bidder).submit(ready.section.pk, sealed_bid(ready.section))
    other_org = ready.other_bidder.organization
    for url in ("/bids/", f"/bids/sections/{ids.section}/", f"{API}/sections/{ids.section}/bid"):
        text = client_for(ready.bidder).get(url).content.decode()
        assert other_org.name not in text and other_org.uscc not in text
    mine = client_for(ready.bidder).get(f"{API}/sections/{ids.section}/bid").json()
    assert mine["receipt"]["bidder"]["uscc"] == ready.bidder.organization.uscc
