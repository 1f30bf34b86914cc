"""The notices tests' world: a registered project (tenderer + agent) with two sections, their
custodians (agent, centre staff, supervisor) holding encryption certificates, the 2026 calendar,
and bidders. Time is fixed at T0 = Monday 2 March 2026, 10:00 Beijing time.

With the documents on sale 2026-03-02 .. 03-10 and the deadline 2026-03-24 09:30:
earliest lawful deadline 03-22 (法 Art 24), questions and on-time clarifications until 03-09
(法 Art 23), objections until 03-14 (条例 Art 22)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tenderhall.accounts.models import Role, User
from tenderhall.accounts.services import api_token_issue
from tenderhall.core import clock
from tenderhall.core.calendar import bundled_year_data, calendar_year_load
from tenderhall.notices import services
from tenderhall.notices.models import Notice, NoticeKind, TenderDocument
from tenderhall.projects.models import Project, Section
from tests.factories import PASSWORD, UserFactory
from tests.notices.factories import Custodian, ProjectFactory, SectionFactory, add_custodians

LOCAL = clock.LOCAL_TZ
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=LOCAL)
SALE_START = dt.date(2026, 3, 2)
SALE_END = dt.date(2026, 3, 10)
DEADLINE = dt.datetime(2026, 3, 24, 9, 30, tzinfo=LOCAL)


def at(day: int, hour: int = 10, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=LOCAL)


@dataclass
class World:
    project: Project
    sections: list[Section]
    agent: User
    tenderer: User
    staff: User
    supervisor: User
    auditor: User
    bidder: User
    other_bidder: User
    custodians: dict[int, list[Custodian]] = field(default_factory=dict)
    # a second project with another agent and tenderer: "another organization's object"
    rival_project: Project | None = None
    rival_agent: User | None = None

    @property
    def section(self) -> Section:
        return self.sections[0]

    def refresh(self) -> None:
        for s in self.sections:
            s.refresh_from_db()


@pytest.fixture
def t0() -> Iterator[dt.datetime]:
    clock.set_now(T0)
    yield T0


@pytest.fixture
def world(
    db: None, t0: dt.datetime, staff: User, supervisor: User, auditor: User, bidder: User, other_bidder: User
) -> World:
    calendar_year_load(acting_user=None, year=2026, data=bundled_year_data(2026))
    project = ProjectFactory(code="CY2026-0001", title="朝阳市双塔区道路改造工程")
    agent = UserFactory(role=Role.AGENT, username="agent", organization=project.agent)
    tenderer = UserFactory(role=Role.TENDERER, username="tenderer", organization=project.tenderer)
    sections = [
        SectionFactory(project=project, number=1, name="土建标段"),
        SectionFactory(project=project, number=2, name="绿化标段"),
    ]
    w = World(
        project=project,
        sections=sections,
        agent=agent,
        tenderer=tenderer,
        staff=staff,
        supervisor=supervisor,
        auditor=auditor,
        bidder=bidder,
        other_bidder=other_bidder,
    )
    identities: dict = {}
    for section in sections:
        w.custodians[section.pk] = add_custodians(section, [agent, staff, supervisor], identities)
    rival = ProjectFactory(code="CY2026-0099", title="另一个项目")
    w.rival_project = rival
    w.rival_agent = UserFactory(role=Role.AGENT, username="rival_agent", organization=rival.agent)
    SectionFactory(project=rival, number=1, name="他人标段")
    return w


def draft_tender(w: World, **overrides: Any) -> Notice:
    values: dict[str, Any] = {
        "acting_user": w.agent,
        "project": w.project,
        "kind": NoticeKind.TENDER,
        "title": "朝阳市双塔区道路改造工程招标公告",
        "body": "一、招标条件\n本项目已登记，现进行公开招标。\n二、投标截止时间见下。",
        "section_ids": [s.pk for s in w.sections],
        "docs_sale_start": SALE_START,
        "docs_sale_end": SALE_END,
        "bid_deadline": DEADLINE,
    }
    values.update(overrides)
    return services.notice_draft(**values)


def announce(w: World, **overrides: Any) -> Notice:
    notice = services.notice_publish(acting_user=w.agent, notice=draft_tender(w, **overrides))
    w.refresh()
    return notice


def upload(
    w: World,
    section: Section | None = None,
    content: bytes = b"%PDF-1.7 tender documents v1",
    name: str = "招标文件.pdf",
) -> TenderDocument:
    return services.document_publish(
        acting_user=w.agent,
        section=section or w.section,
        file=SimpleUploadedFile(name, content),
        filename=name,
        note="",
    )


@pytest.fixture
def announced(world: World) -> World:
    """The tender announcement published and version 1 of section 1's documents online."""
    announce(world)
    upload(world)
    return world


@pytest.fixture
def obtained(announced: World) -> World:
    """The bidder obtained section 1's documents."""
    services.document_obtain(acting_user=announced.bidder, section=announced.section)
    return announced


def client_for(user: User | None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        assert client.login(username=user.username, password=PASSWORD)
    return client


def bearer_for(user: User) -> dict[str, str]:
    raw, _ = api_token_issue(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
