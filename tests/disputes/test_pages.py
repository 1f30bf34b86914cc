"""The objections pages: the list (status, stage, section, answer due, overdue) and the answer form."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.core import clock
from tenderhall.disputes.models import Objection, ObjectionStatus
from tests.disputes.conftest import ANSWER_DUE, OBJECTOR_NAME, TEXT, World

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def signed_in(user: User) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def by_testid(page: str, name: str, tag: str = "td|p") -> list[str]:
    found = re.findall(rf'<[^>]*data-testid="{name}"[^>]*>(.*?)</(?:{tag})>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", m)).strip() for m in found]


def test_the_list_shows_status_stage_section_and_due(world: World) -> None:
    objection = world.raise_objection()
    page = signed_in(world.agent).get("/disputes/", **EN).content.decode()
    assert f'data-objection="{objection.pk}"' in page and world.section.code in page
    assert by_testid(page, "objection-status") == ["待答复 / Awaiting answer"]
    assert by_testid(page, "objection-due") == ["2026-03-05 09:00"]
    assert "招标文件 / Tender documents" in page
    assert by_testid(page, "objection-objector") == ["not disclosed"]
    assert OBJECTOR_NAME not in page


def test_overdue_objections_are_marked(world: World) -> None:
    world.raise_objection()
    clock.set_now(ANSWER_DUE + dt.timedelta(minutes=1))
    page = signed_in(world.staff).get("/disputes/", **EN).content.decode()
    assert 'data-testid="objection-due" class="bad"' in page
    assert by_testid(page, "objection-due") == ["2026-03-05 09:00 · overdue"]


def test_the_agent_answers_on_the_detail_page(world: World) -> None:
    objection = world.raise_objection()
    client = signed_in(world.agent)
    page = client.get(f"/disputes/{objection.pk}/", **EN).content.decode()
    assert by_testid(page, "objection-text") == [TEXT]
    assert 'data-testid="objection-answer-form"' in page and 'data-testid="objection-answer"' in page
    assert OBJECTOR_NAME not in page
    response = client.post(f"/disputes/{objection.pk}/", {"answer": "资格条件已按规定调整。"})
    assert response.status_code == 302 and response["Location"] == f"/disputes/{objection.pk}/"
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.ANSWERED and objection.answered_by == world.agent
    page = client.get(f"/disputes/{objection.pk}/").content.decode()
    assert 'data-testid="objection-answer-form"' not in page
    assert by_testid(page, "objection-answer-text") == ["资格条件已按规定调整。"]


def test_an_empty_answer_shows_on_the_form(world: World) -> None:
    objection = world.raise_objection()
    response = signed_in(world.agent).post(f"/disputes/{objection.pk}/", {"answer": "  "}, **EN)
    assert response.status_code == 200
    assert Objection.objects.get().status == ObjectionStatus.RAISED


def test_a_refused_second_answer_shows_on_the_form(world: World) -> None:
    objection = world.raise_objection()
    signed_in(world.agent).post(f"/disputes/{objection.pk}/", {"answer": "第一次。"})
    response = signed_in(world.tenderer).post(f"/disputes/{objection.pk}/", {"answer": "第二次。"})
    assert response.status_code == 200 and "already answered" in response.content.decode()
    assert Objection.objects.get().answer == "第一次。"


def test_the_objector_sees_its_name_the_answer_and_no_form(world: World) -> None:
    objection = world.raise_objection()
    signed_in(world.agent).post(f"/disputes/{objection.pk}/", {"answer": "已答复。"})
    page = signed_in(world.bidder).get(f"/disputes/{objection.pk}/").content.decode()
    assert by_testid(page, "objection-objector") == [OBJECTOR_NAME]
    assert by_testid(page, "objection-answer-text") == ["已答复。"]
    assert 'data-testid="objection-answer-form"' not in page


def test_a_late_answer_is_marked(world: World) -> None:
    objection = world.raise_objection()
    clock.set_now(ANSWER_DUE + dt.timedelta(days=1))
    signed_in(world.agent).post(f"/disputes/{objection.pk}/", {"answer": "迟复。"})
    page = signed_in(world.staff).get("/disputes/", **EN).content.decode()
    assert by_testid(page, "objection-status") == ["已答复 / Answered late"]
