"""The public portal (no sign-in): search, pages, the Atom feed, and the public API — which all
show the same content (seed 001 §6.4.1)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.test import Client

from tenderhall.accounts.models import Role
from tenderhall.core import clock
from tenderhall.notices import selectors, services
from tenderhall.notices.models import Notice, NoticeKind
from tenderhall.projects.models import Category, Procedure, Project
from tests.factories import UserFactory
from tests.notices.conftest import World, announce, at
from tests.notices.factories import ProjectFactory

ATOM = "{http://www.w3.org/2005/Atom}"


def publish_plain(
    project: Project, *, title: str, kind: str = NoticeKind.CANDIDATE_PUBLICITY, when: dt.datetime
) -> Notice:
    agent = project.agent.users.first() or UserFactory(role=Role.AGENT, organization=project.agent)
    clock.set_now(when)
    notice = services.notice_draft(
        acting_user=agent, project=project, kind=kind, title=title, body=f"{title}的正文"
    )
    return services.notice_publish(acting_user=agent, notice=notice)


@pytest.fixture
def catalogue(world: World) -> dict[str, Notice]:
    """Notices across regions, categories, procedures, kinds and days."""
    procurement = ProjectFactory(
        code="CY2026-0200",
        title="办公设备采购",
        region="朝阳市龙城区",
        category=Category.GOVERNMENT_PROCUREMENT,
        procedure=Procedure.COMPETITIVE_NEGOTIATION,
    )
    land = ProjectFactory(
        code="CY2026-0300",
        title="国有土地出让",
        region="北票市",
        category=Category.LAND_MINING,
        procedure=Procedure.OPEN,
    )
    notices = {
        "tender": announce(world),  # 2 March, 10:00
        "candidates": publish_plain(world.project, title="道路改造工程中标候选人公示", when=at(25)),
        "procurement": publish_plain(
            procurement, title="办公设备采购成交结果公示", kind=NoticeKind.DEAL_PUBLICITY, when=at(10)
        ),
        "land": publish_plain(land, title="国有土地使用权出让结果", kind=NoticeKind.DEAL, when=at(5, 23, 30)),
    }
    clock.set_now(at(26))
    return notices


def titles_on_page(query: str) -> list[str]:
    response = Client().get(f"/notices/?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    table = html[
        html.index('data-testid="portal-results"') : html.index(
            "</table>", html.index('data-testid="portal-results"')
        )
    ]
    return [n.title for n in Notice.objects.all() if f">{n.title}</a>" in table]


def titles_by_api(query: str) -> list[str]:
    response = Client().get(f"/api/v1/notices?{query}")
    assert response.status_code == 200, response.content
    return [n["title"] for n in response.json()["items"]]


SEARCHES = [
    ("q=道路改造", {"tender", "candidates"}),
    ("q=CY2026-0200", {"procurement"}),
    ("region=龙城", {"procurement"}),
    ("region=北票", {"land"}),
    ("category=construction", {"tender", "candidates"}),
    ("category=land_mining", {"land"}),
    ("procedure=competitive_negotiation", {"procurement"}),
    ("procedure=open", {"tender", "candidates", "land"}),
    ("kind=tender", {"tender"}),
    ("kind=deal_publicity", {"procurement"}),
    ("published_from=2026-03-05&published_to=2026-03-10", {"procurement", "land"}),
    ("published_from=2026-03-06", {"procurement", "candidates"}),
    ("published_to=2026-03-05", {"tender", "land"}),  # 23:30 Beijing time on the 5th is the 5th
    ("published_from=2026-03-11&published_to=2026-03-24", set()),
    ("q=道路&kind=candidate_publicity", {"candidates"}),
    ("", {"tender", "candidates", "procurement", "land"}),
]


@pytest.mark.parametrize(("query", "expected"), SEARCHES)
def test_searching_the_portal_and_the_api(catalogue: dict[str, Notice], query: str, expected: set[str]):
    wanted = {catalogue[k].title for k in expected}
    assert set(titles_on_page(query)) == wanted
    assert set(titles_by_api(query)) == wanted


def test_newest_first(catalogue: dict[str, Notice]):
    assert titles_by_api("") == [catalogue[k].title for k in ("candidates", "procurement", "land", "tender")]


def test_drafts_never_reach_the_portal(catalogue: dict[str, Notice], world: World):
    services.notice_draft(
        acting_user=world.agent,
        project=world.project,
        kind=NoticeKind.FAILED,
        title="未发布的流标公告",
        body="草稿",
    )
    assert "未发布的流标公告" not in Client().get("/notices/").content.decode()
    assert "未发布的流标公告" not in titles_by_api("")
    assert "未发布的流标公告" not in Client().get("/notices/feed.atom").content.decode()


def test_a_bad_filter_is_shown_not_crashed(world: World):
    response = Client().get("/notices/?published_from=someday&kind=nonsense")
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()


def test_pagination(world: World):
    for i in range(23):
        publish_plain(world.project, title=f"公示第{i:02d}号", when=at(3) + dt.timedelta(minutes=i))
    first = Client().get("/notices/?q=公示第").content.decode()
    second = Client().get("/notices/?q=公示第&page=2").content.decode()
    assert first.count('href="/notices/') - second.count('href="/notices/') == 17  # 20 vs 3 results
    assert (
        "公示第22号" in first
        and "公示第02号" in second
        and "q=%E5%85%AC%E7%A4%BA%E7%AC%AC&amp;page=2" in first
    )
    api = Client().get("/api/v1/notices?q=公示第&page=2&page_size=10").json()
    assert api["count"] == 23 and api["pages"] == 3 and len(api["items"]) == 10


def test_the_feed_holds_the_latest_fifty(world: World):
    for i in range(52):
        publish_plain(world.project, title=f"公告{i:02d}", when=at(3) + dt.timedelta(minutes=i))
    response = Client().get("/notices/feed.atom")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    titles = [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]
    assert len(titles) == 50 and titles[0] == "公告51" and "公告01" not in titles


def test_portal_page_feed_and_api_agree(world: World):
    """Seed 001 §6.4.1: the same title, body, body hash and dates wherever it is published."""
    notice = announce(world)
    api = Client().get(f"/api/v1/notices/{notice.pk}").json()
    listed = next(n for n in Client().get("/api/v1/notices").json()["items"] if n["id"] == notice.pk)
    assert api == listed
    page = Client().get(f"/notices/{notice.pk}/").content.decode()
    feed = ET.fromstring(Client().get("/notices/feed.atom").content)
    entry = next(e for e in feed.iter(f"{ATOM}entry") if e.findtext(f"{ATOM}title") == api["title"])
    summary = entry.findtext(f"{ATOM}summary") or ""
    from django.utils.html import escape

    assert api["title"] == notice.title and api["body"] == notice.body
    assert api["body_sha256"] == notice.body_sha256 and len(api["body_sha256"]) == 64
    assert escape(api["title"]) in page
    for line in api["body"].splitlines():
        assert escape(line) in page and line in summary
    assert api["body_sha256"] in page and api["body_sha256"] in summary
    for field in ("bid_deadline", "opening_at", "published_at"):
        shown = dt.datetime.fromisoformat(api[field]).astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        assert shown in page and shown in summary, field
    assert api["bid_deadline"] == "2026-03-24T09:30:00+08:00"
    for field in ("docs_sale_start", "docs_sale_end"):
        assert api[field] in page and api[field] in summary
    for section in api["sections"]:
        assert section["opening_recipient"] in page and section["opening_recipient"] in summary
        # the page shows amounts with thousands separators, the API as plain decimal strings
        assert (
            f"{Decimal(section['estimated_price']):,}" in page
            and f"{Decimal(section['bond_amount']):,}" in page
        )
    assert entry.find(f"{ATOM}link").get("href").endswith(f"/notices/{notice.pk}/")  # type: ignore[union-attr]
    # the one source of all three
    assert selectors.notice_public_data(notice)["body_sha256"] == api["body_sha256"]


def test_corrections_are_linked_both_ways(world: World):
    original = announce(world)
    correction = services.notice_draft(
        acting_user=world.agent,
        project=world.project,
        kind=NoticeKind.CORRECTION,
        title="道路改造工程更正公告",
        body="投标截止时间顺延。",
        corrects=original,
        bid_deadline=at(31, 9, 30),
    )
    services.notice_publish(acting_user=world.agent, notice=correction)
    original_page = Client().get(f"/notices/{original.pk}/").content.decode()
    correction_page = Client().get(f"/notices/{correction.pk}/").content.decode()
    assert (
        f'href="/notices/{correction.pk}/"' in original_page and 'data-testid="corrections"' in original_page
    )
    assert (
        f'href="/notices/{original.pk}/"' in correction_page
        and 'data-testid="corrects-link"' in correction_page
    )
    assert "2026-03-31 09:30" in original_page  # the sections show their current deadline


def test_the_objection_flag_is_on_the_public_pages(obtained: World):
    services.document_objection_raise(acting_user=obtained.bidder, section=obtained.section, text="异议")
    notice = Notice.objects.get(kind=NoticeKind.TENDER)
    assert 'data-testid="objection-flag"' in Client().get(f"/notices/{notice.pk}/").content.decode()
    assert (
        "objection" in Client().get("/notices/").content.decode()
        or "异议" in Client().get("/notices/").content.decode()
    )
