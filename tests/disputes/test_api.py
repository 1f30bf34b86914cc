"""The objections API over HTTP: lists, one objection, answers; problem+json refusals."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.accounts.services import api_token_issue
from tenderhall.core import clock
from tenderhall.core.errors import PROBLEM_CONTENT_TYPE
from tenderhall.disputes.models import Objection, ObjectionStatus
from tests.disputes.conftest import ANSWER_DUE, BID_DEADLINE, OBJECTOR_NAME, TEXT, World

pytestmark = pytest.mark.django_db

API = "/api/v1"


def call(user: User | None, method: str, path: str, body: Any = None) -> Any:
    headers = {}
    if user is not None:
        raw, _ = api_token_issue(user=user)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    client = Client(raise_request_exception=False)
    data = json.dumps(body) if body is not None else None
    return getattr(client, method.lower())(API + path, data=data, content_type="application/json", **headers)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == code and body["message_zh"] and body["message_en"]
    return body


def test_the_agent_reads_the_text_but_not_the_objector(world: World) -> None:
    objection = world.raise_objection()
    [item] = call(world.agent, "GET", "/objections").json()
    assert item["id"] == objection.pk and item["text"] == TEXT
    assert item["section_code"] == world.section.code and item["stage"] == "tender_documents"
    assert item["status"] == "raised" and item["overdue"] is False and item["suspends_section"] is True
    assert item["objector"] is None and item["objector_uscc"] is None
    assert item["answer_due"].startswith("2026-03-05T01:00:00")
    response = call(world.agent, "GET", f"/objections/{objection.pk}")
    assert OBJECTOR_NAME not in response.content.decode()
    assert world.bidder.organization.uscc not in response.content.decode()


def test_the_objector_sees_its_own_name_and_a_supervisor_after_the_deadline(world: World) -> None:
    objection = world.raise_objection()
    assert call(world.bidder, "GET", f"/objections/{objection.pk}").json()["objector"] == OBJECTOR_NAME
    assert call(world.supervisor, "GET", f"/objections/{objection.pk}").json()["objector"] is None
    clock.set_now(BID_DEADLINE + dt.timedelta(minutes=1))
    body = call(world.supervisor, "GET", f"/objections/{objection.pk}").json()
    assert body["objector"] == OBJECTOR_NAME and body["objector_uscc"] == world.bidder.organization.uscc


def test_the_agent_answers(world: World) -> None:
    objection = world.raise_objection()
    response = call(world.agent, "POST", f"/objections/{objection.pk}/answer", {"answer": "已澄清。"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "answered" and body["answer"] == "已澄清。" and body["answered_late"] is False
    assert call(world.bidder, "GET", f"/objections/{objection.pk}").json()["answer"] == "已澄清。"
    problem(
        call(world.tenderer, "POST", f"/objections/{objection.pk}/answer", {"answer": "再答"}),
        409,
        "objection_not_open",
    )


def test_answer_refusals(world: World) -> None:
    objection = world.raise_objection()
    problem(
        call(world.agent, "POST", f"/objections/{objection.pk}/answer", {"answer": " "}),
        422,
        "answer_required",
    )
    problem(call(world.agent, "POST", f"/objections/{objection.pk}/answer", {}), 422, "request_invalid")
    problem(call(world.agent, "POST", "/objections/999999/answer", {"answer": "x"}), 404, "not_found")
    assert Objection.objects.get().status == ObjectionStatus.RAISED


def test_overdue_and_late_are_shown(world: World) -> None:
    objection = world.raise_objection()
    clock.set_now(ANSWER_DUE + dt.timedelta(hours=1))
    assert call(world.agent, "GET", f"/objections/{objection.pk}").json()["overdue"] is True
    body = call(world.agent, "POST", f"/objections/{objection.pk}/answer", {"answer": "迟复。"}).json()
    assert body["overdue"] is False and body["answered_late"] is True


def test_filters(world: World) -> None:
    first = world.raise_objection()
    world.raise_objection(by=world.other_bidder, section=world.other_section, text="另一异议")
    call(world.agent, "POST", f"/objections/{first.pk}/answer", {"answer": "已答。"})
    assert [
        o["id"] for o in call(world.staff, "GET", f"/objections?section_id={world.section.pk}").json()
    ] == [first.pk]
    assert [o["status"] for o in call(world.staff, "GET", "/objections?status=raised").json()] == ["raised"]
    problem(call(world.staff, "GET", "/objections?section_id=abc"), 422, "request_invalid")
