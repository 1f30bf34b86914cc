"""The notices API: every route works for the right caller and refuses with problem+json."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.test import Client

from tenderhall.core import clock
from tenderhall.core.errors import PROBLEM_CONTENT_TYPE
from tenderhall.notices import opening_key
from tenderhall.notices.models import KeyShare, Notice, NoticeKind, NoticeStatus, OpeningKey, Question
from tests.notices.conftest import (
    DEADLINE,
    SALE_END,
    SALE_START,
    World,
    at,
    bearer_for,
    client_for,
    draft_tender,
)

API = "/api/v1"


def post_json(client: Client, url: str, body: Any = None, **headers: str) -> Any:
    return client.post(
        url, json.dumps(body) if body is not None else "", content_type="application/json", **headers
    )


def patch_json(client: Client, url: str, body: Any, **headers: str) -> Any:
    return client.patch(url, json.dumps(body), content_type="application/json", **headers)


def problem(response: Any, status: int, code: str, article: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == code, body
    assert body["message_zh"] and body["message_en"]
    if article is not None:
        assert article in body["article"]
    return body


def tender_body(w: World, **overrides: Any) -> dict:
    body = {
        "project_id": w.project.pk,
        "kind": "tender",
        "title": "道路改造工程招标公告",
        "body": "招标公告正文",
        "section_ids": [s.pk for s in w.sections],
        "docs_sale_start": SALE_START.isoformat(),
        "docs_sale_end": SALE_END.isoformat(),
        "bid_deadline": DEADLINE.isoformat(),
    }
    body.update(overrides)
    return body


# ---- notices --------------------------------------------------------------------------------------


def test_draft_edit_and_publish_through_the_api(world: World):
    agent = client_for(world.agent)
    created = post_json(agent, f"{API}/notices", tender_body(world))
    assert created.status_code == 201, created.content
    notice = created.json()
    assert notice["status"] == "draft" and notice["opening_at"] == "2026-03-24T09:30:00+08:00"
    assert notice["body_sha256"] == ""
    patched = patch_json(agent, f"{API}/notices/{notice['id']}", {"title": "新标题"})
    assert patched.status_code == 200 and patched.json()["title"] == "新标题"
    published = post_json(agent, f"{API}/notices/{notice['id']}/publish")
    assert published.status_code == 200, published.content
    data = published.json()
    assert data["status"] == "published"
    assert data["body_sha256"] == hashlib.sha256("招标公告正文".encode()).hexdigest()
    recipients = {s["id"]: s["opening_recipient"] for s in data["sections"]}
    assert all(r.startswith("age1") for r in recipients.values())
    for section in world.sections:
        assert OpeningKey.objects.get(section=section).recipient == recipients[section.pk]


def test_a_bearer_token_works_like_the_session(world: World):
    client = Client()
    created = post_json(client, f"{API}/notices", tender_body(world), **bearer_for(world.agent))
    assert created.status_code == 201
    # the draft is visible to its party through the optional-auth read, with the token too
    assert client.get(f"{API}/notices/{created.json()['id']}", **bearer_for(world.agent)).status_code == 200
    assert client.get(f"{API}/notices/{created.json()['id']}").status_code == 404


def test_a_published_notice_refuses_every_edit(world: World):
    agent = client_for(world.agent)
    notice = post_json(agent, f"{API}/notices", tender_body(world)).json()
    post_json(agent, f"{API}/notices/{notice['id']}/publish")
    problem(patch_json(agent, f"{API}/notices/{notice['id']}", {"body": "改"}), 409, "notice_immutable")
    problem(post_json(agent, f"{API}/notices/{notice['id']}/publish"), 409, "notice_immutable")


def test_a_timeline_violation_names_rule_and_article(world: World):
    agent = client_for(world.agent)
    notice = post_json(
        agent, f"{API}/notices", tender_body(world, bid_deadline="2026-03-20T09:30:00+08:00")
    ).json()
    body = problem(
        post_json(agent, f"{API}/notices/{notice['id']}/publish"), 422, "timeline_violation", "法 Art 24"
    )
    assert body["rule"] == "bid_preparation_period" and body["earliest"] == "2026-03-22"
    assert Notice.objects.get(pk=notice["id"]).status == NoticeStatus.DRAFT
    assert not OpeningKey.objects.exists()


def test_bad_input_is_a_422_not_a_500(world: World):
    agent = client_for(world.agent)
    problem(post_json(agent, f"{API}/notices", {"project_id": "x"}), 422, "request_invalid")
    problem(post_json(agent, f"{API}/notices", tender_body(world, kind="bogus")), 422, "notice_kind_invalid")
    problem(post_json(agent, f"{API}/notices", tender_body(world, title="")), 422, "title_required")
    problem(
        post_json(agent, f"{API}/notices", tender_body(world, bid_deadline="tomorrow")),
        422,
        "request_invalid",
    )
    problem(Client().get(f"{API}/notices?published_from=yesterday"), 422, "filter_invalid")
    problem(Client().get(f"{API}/notices?kind=nonsense"), 422, "filter_invalid")
    problem(Client().get(f"{API}/notices?page_size=1000"), 422, "page_invalid")


def test_a_naive_deadline_is_beijing_time(world: World):
    agent = client_for(world.agent)
    notice = post_json(agent, f"{API}/notices", tender_body(world, bid_deadline="2026-03-24T09:30:00")).json()
    assert notice["bid_deadline"] == "2026-03-24T09:30:00+08:00"


def test_correcting_through_the_api(announced: World):
    w = announced
    agent = client_for(w.agent)
    original = Notice.objects.get(kind=NoticeKind.TENDER)
    clock.set_now(at(12))
    correction = post_json(
        agent,
        f"{API}/notices",
        {
            "project_id": w.project.pk,
            "kind": "correction",
            "title": "更正公告",
            "body": "评分办法修改",
            "corrects_id": original.pk,
            "bid_deadline": "2026-03-26T09:30:00+08:00",
        },
    ).json()
    body = problem(
        post_json(agent, f"{API}/notices/{correction['id']}/publish"),
        422,
        "correction_needs_postponement",
        "法 Art 23",
    )
    assert body["earliest_deadline"] == "2026-03-27"
    patch_json(agent, f"{API}/notices/{correction['id']}", {"bid_deadline": "2026-03-27T09:30:00+08:00"})
    published = post_json(agent, f"{API}/notices/{correction['id']}/publish")
    assert published.status_code == 200
    assert published.json()["corrects"] == {"id": original.pk, "title": original.title}
    detail = Client().get(f"{API}/notices/{original.pk}").json()
    assert [c["id"] for c in detail["corrections"]] == [correction["id"]]
    assert all(s["bid_deadline"] == "2026-03-27T09:30:00+08:00" for s in detail["sections"])


def test_the_public_list_holds_published_notices_only(world: World):
    draft_tender(world, title="草稿公告")
    agent = client_for(world.agent)
    published = post_json(agent, f"{API}/notices", tender_body(world, title="已发布公告")).json()
    post_json(agent, f"{API}/notices/{published['id']}/publish")
    listing = Client().get(f"{API}/notices").json()
    assert [n["title"] for n in listing["items"]] == ["已发布公告"]
    assert listing["count"] == 1 and listing["page"] == 1


# ---- sections -------------------------------------------------------------------------------------


def test_the_timeline_route_shows_the_rules(announced: World):
    data = client_for(announced.bidder).get(f"{API}/sections/{announced.section.pk}/timeline").json()
    rules = {r["code"]: r for r in data["rules"]}
    assert rules["bid_preparation_period"]["earliest"] == "2026-03-22"
    assert rules["clarification_cutoff"]["latest"] == "2026-03-09"
    assert rules["objection_cutoff"]["latest"] == "2026-03-14"
    assert data["complies"] is True


def test_the_timeline_of_an_unannounced_section_is_refused(world: World):
    problem(
        client_for(world.agent).get(f"{API}/sections/{world.section.pk}/timeline"), 422, "timeline_not_set"
    )


def test_the_opening_key_is_public_with_its_commitments(announced: World):
    response = Client().get(f"{API}/sections/{announced.section.pk}/opening-key")
    assert response.status_code == 200
    data = response.json()
    key = OpeningKey.objects.get(section=announced.section)
    assert data["recipient"] == key.recipient and (data["threshold"], data["share_count"]) == (2, 3)
    stored = {s.share_index: (s.share_sha256, s.log_index) for s in KeyShare.objects.filter(opening_key=key)}
    assert {s["index"]: (s["share_sha256"], s["log_index"]) for s in data["shares"]} == stored
    # anyone can check a commitment against the public log: the event at log_index carries it
    from tenderhall.core.models import LogEvent

    for share in data["shares"]:
        payload = json.loads(LogEvent.objects.get(index=share["log_index"]).payload)
        assert payload["data"]["share_sha256"] == share["share_sha256"]


def test_no_opening_key_before_the_announcement(world: World):
    problem(Client().get(f"{API}/sections/{world.section.pk}/opening-key"), 404, "not_found")


def upload_via_api(
    client: Client, section_id: int, content: bytes = b"%PDF v2", name: str = "文件.pdf"
) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        f"{API}/sections/{section_id}/documents",
        {"file": SimpleUploadedFile(name, content), "note": "第二版"},
    )


def test_documents_upload_list_obtain_download(announced: World):
    w = announced
    agent, bidder = client_for(w.agent), client_for(w.bidder)
    created = upload_via_api(agent, w.section.pk)
    assert created.status_code == 201, created.content
    assert (
        created.json()["version"] == 2 and created.json()["sha256"] == hashlib.sha256(b"%PDF v2").hexdigest()
    )
    before = bidder.get(f"{API}/sections/{w.section.pk}/documents").json()
    assert [(d["version"], d["downloadable"], d["obtained_at"]) for d in before] == [
        (1, False, None),
        (2, False, None),
    ]
    problem(bidder.get(before[1]["download_url"]), 404, "not_found")
    obtained = post_json(bidder, f"{API}/sections/{w.section.pk}/obtain")
    assert obtained.status_code == 200 and obtained.json()["version"] == 2
    after = bidder.get(f"{API}/sections/{w.section.pk}/documents").json()
    assert [(d["version"], d["downloadable"]) for d in after] == [(1, False), (2, True)]
    assert after[1]["obtained_at"] is not None
    download = bidder.get(after[1]["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF v2"
    assert download["X-Content-SHA256"] == hashlib.sha256(b"%PDF v2").hexdigest()
    problem(bidder.get(after[0]["download_url"]), 404, "not_found")  # v1 was not obtained
    assert agent.get(after[0]["download_url"]).status_code == 200


def test_obtaining_out_of_the_sale_period_names_the_article(announced: World):
    clock.set_now(at(11))
    body = problem(
        post_json(client_for(announced.bidder), f"{API}/sections/{announced.section.pk}/obtain"),
        409,
        "documents_sale_closed",
        "条例 Art 16",
    )
    assert body["docs_sale_end"] == "2026-03-10"


def test_questions_and_clarifications(obtained: World):
    w = obtained
    bidder, other, agent, staff = (client_for(u) for u in (w.bidder, w.other_bidder, w.agent, w.staff))
    asked = post_json(bidder, f"{API}/sections/{w.section.pk}/questions", {"text": "工期？"})
    assert asked.status_code == 201
    assert asked.json()["asker"] == "bidder"  # the asker sees its own
    assert agent.get(f"{API}/sections/{w.section.pk}/questions").json()[0]["asker"] == ""
    assert agent.get(f"{API}/sections/{w.section.pk}/questions").json()[0]["asker_organization"] == ""
    assert staff.get(f"{API}/sections/{w.section.pk}/questions").json()[0]["asker"] == "bidder"
    assert other.get(f"{API}/sections/{w.section.pk}/questions").json() == []
    problem(
        post_json(other, f"{API}/sections/{w.section.pk}/questions", {"text": "?"}),
        403,
        "documents_not_obtained",
    )
    published = post_json(
        agent,
        f"{API}/sections/{w.section.pk}/clarifications",
        {"text": "工期180天", "question_ids": [asked.json()["id"]]},
    )
    assert published.status_code == 201, published.content
    assert published.json()["questions"] == ["工期？"]
    seen = bidder.get(f"{API}/sections/{w.section.pk}/clarifications").json()
    assert [c["text"] for c in seen] == ["工期180天"]
    assert bidder.get(f"{API}/sections/{w.section.pk}/questions").json()[0]["status"] == "answered"
    problem(other.get(f"{API}/sections/{w.section.pk}/clarifications"), 403, "documents_not_obtained")


def test_a_late_question_names_the_article(obtained: World):
    clock.set_now(at(10))
    problem(
        post_json(
            client_for(obtained.bidder), f"{API}/sections/{obtained.section.pk}/questions", {"text": "?"}
        ),
        409,
        "question_after_cutoff",
        "法 Art 23",
    )


def test_a_late_clarification_must_postpone(obtained: World):
    clock.set_now(at(12))
    agent = client_for(obtained.agent)
    url = f"{API}/sections/{obtained.section.pk}/clarifications"
    body = problem(
        post_json(agent, url, {"text": "修改"}), 422, "clarification_needs_postponement", "法 Art 23"
    )
    assert body["earliest_deadline"] == "2026-03-27"
    moved = post_json(agent, url, {"text": "修改", "new_deadline": "2026-03-27T09:30:00+08:00"})
    assert moved.status_code == 201 and moved.json()["deadline_after"] == "2026-03-27T09:30:00+08:00"


def test_objections(obtained: World):
    w = obtained
    url = f"{API}/sections/{w.section.pk}/objections"
    raised = post_json(client_for(w.bidder), url, {"text": "资格条件排斥潜在投标人"})
    assert raised.status_code == 201, raised.content
    assert raised.json()["stage"] == "tender_documents" and raised.json()["status"] == "raised"
    assert (
        Client().get(f"{API}/notices/{Notice.objects.get().pk}").json()["sections"][0]["waits_for_objection"]
        is True
    )
    clock.set_now(at(15))
    problem(
        post_json(client_for(w.bidder), url, {"text": "再提"}), 409, "objection_after_cutoff", "条例 Art 22"
    )
    problem(post_json(client_for(w.other_bidder), url, {"text": "x"}), 403, "documents_not_obtained")


def test_obtainments_are_secret_until_the_deadline(obtained: World):
    staff = client_for(obtained.staff)
    url = f"{API}/sections/{obtained.section.pk}/obtainments"
    problem(staff.get(url), 403, "obtainments_secret", "法 Art 22")
    clock.set_now(DEADLINE)
    listed = staff.get(url).json()
    assert [(o["user"], o["version"]) for o in listed] == [("bidder", 1)]
    problem(client_for(obtained.agent).get(url), 403, "permission_denied")


def test_no_question_ever_names_its_asker_to_the_parties(obtained: World):
    post_json(client_for(obtained.bidder), f"{API}/sections/{obtained.section.pk}/questions", {"text": "问"})
    body = (
        client_for(obtained.tenderer).get(f"{API}/sections/{obtained.section.pk}/questions").content.decode()
    )
    assert "bidder" not in body and obtained.bidder.organization.name not in body
    assert Question.objects.get().asked_by == obtained.bidder


def test_the_opening_key_from_the_api_opens_a_bid_envelope(announced: World):
    """A bid encrypted to the published recipient opens with the key k custodians rebuild."""
    from tenderhall.core.crypto import age

    recipient = Client().get(f"{API}/sections/{announced.section.pk}/opening-key").json()["recipient"]
    sealed = age.encrypt_bytes([age.X25519Recipient.from_string(recipient)], b"bid package")
    shares = KeyShare.objects.filter(opening_key__section=announced.section).order_by("share_index")[:2]
    custodians = {c.user.pk: c.identity for c in announced.custodians[announced.section.pk]}
    opened = [opening_key.open_share(bytes(s.encrypted_share), custodians[s.custodian_id]) for s in shares]
    seed = opening_key.combine_shares(opened, k=2, committed={s.share_index: s.share_sha256 for s in shares})
    identity = opening_key.derive_identity(seed, section_id=announced.section.pk)
    assert age.decrypt_bytes([identity], sealed) == b"bid package"


@pytest.mark.parametrize("route", ["/notices/{n}", "/notices/{n}/publish"])
def test_a_rival_agent_cannot_touch_the_draft(world: World, route: str):
    notice = draft_tender(world)
    client = client_for(world.rival_agent)
    url = API + route.format(n=notice.pk)
    response = patch_json(client, url, {"title": "x"}) if route.endswith("{n}") else post_json(client, url)
    problem(response, 404, "not_found")


def test_null_fields_in_a_patch_are_refusals_not_crashes(world: World):
    agent = client_for(world.agent)
    notice = post_json(agent, f"{API}/notices", tender_body(world)).json()
    assert patch_json(agent, f"{API}/notices/{notice['id']}", {"section_ids": None}).status_code == 200
    problem(patch_json(agent, f"{API}/notices/{notice['id']}", {"title": None}), 422, "title_required")
    published = post_json(agent, f"{API}/notices/{notice['id']}/publish")
    problem(published, 422, "notice_sections_required")
