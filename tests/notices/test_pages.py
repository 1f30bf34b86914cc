"""The notices pages: the publisher's draft → preview → publish, the section page of the parties,
of a bidder and of the trading centre, and the flow the browser test drives."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from tenderhall.core import clock
from tenderhall.notices import services
from tenderhall.notices.models import Clarification, Notice, NoticeStatus, OpeningKey, Question
from tenderhall.projects.models import SectionStatus
from tests.notices.conftest import World, at, client_for, draft_tender


def text_of(response) -> str:
    return response.content.decode()


def draft_form(w: World, **overrides: str) -> dict:
    data = {
        "project": str(w.project.pk),
        "kind": "tender",
        "title": "双塔区道路改造工程招标公告",
        "body": "公告正文：欢迎投标。",
        "sections": [str(s.pk) for s in w.sections],
        "docs_sale_start": "2026-03-02",
        "docs_sale_end": "2026-03-10",
        "bid_deadline": "2026-03-24T09:30",
        "opening_at": "",
        "corrects": "",
    }
    data.update(overrides)
    return data


def test_the_publisher_drafts_previews_and_publishes(world: World):
    agent = client_for(world.agent)
    page = agent.get("/notices/manage/")
    assert 'data-testid="new-notice"' in text_of(page)
    created = agent.post("/notices/manage/", draft_form(world, bid_deadline="2026-03-20T09:30"))
    assert created.status_code == 302
    notice = Notice.objects.get()
    assert notice.bid_deadline == at(20, 9, 30)  # form times are Beijing time
    manage = agent.get(created["Location"])
    html = text_of(manage)
    assert 'data-testid="timeline-rules"' in html and 'data-testid="publish-notice"' in html
    assert "法 Art 24" in html and "2026-03-22" in html  # the rule that will refuse, with its date
    refused = agent.post(created["Location"], {"action": "publish"})
    assert refused.status_code == 422
    assert 'data-testid="publish-refusal"' in text_of(refused) and "法 Art 24" in text_of(refused)
    assert Notice.objects.get().status == NoticeStatus.DRAFT
    # preview the corrected dates before saving: the table changes, nothing is stored
    preview = agent.post(
        created["Location"],
        {**draft_form(world, bid_deadline="2026-03-24T09:30"), "action": "preview"},
    )
    assert "preview of the unsaved dates" in text_of(preview) or "预览" in text_of(preview)
    assert re.search(r'data-rule="bid_preparation_period">.*?2026-03-24.*?class="ok"', text_of(preview), re.S)
    assert Notice.objects.get().bid_deadline == at(20, 9, 30)
    saved = agent.post(
        created["Location"], {**draft_form(world, bid_deadline="2026-03-24T09:30"), "action": "save"}
    )
    assert saved.status_code == 302
    published = agent.post(created["Location"], {"action": "publish"})
    assert published.status_code == 302 and published["Location"] == f"/notices/{notice.pk}/"
    public = client_for(None).get(published["Location"])
    recipient = OpeningKey.objects.get(section=world.section).recipient
    assert recipient in text_of(public) and 'data-testid="opening-recipient"' in text_of(public)
    world.refresh()
    assert world.section.status == SectionStatus.ANNOUNCED


def test_a_bad_draft_shows_the_refusal_on_the_form(world: World):
    agent = client_for(world.agent)
    response = agent.post("/notices/manage/", draft_form(world, kind="candidate_publicity"))
    assert response.status_code == 200
    assert "notice_timeline_not_applicable" not in text_of(response)  # the message, not the code
    assert "只有招标" in text_of(response)
    assert not Notice.objects.exists()


def test_a_published_notice_has_no_edit_form(world: World):
    notice = draft_tender(world)
    services.notice_publish(acting_user=world.agent, notice=notice)
    page = text_of(client_for(world.agent).get(f"/notices/manage/{notice.pk}/"))
    assert 'data-testid="edit-notice"' not in page and 'data-testid="publish-notice"' not in page
    # a forged post cannot change it either
    response = client_for(world.agent).post(f"/notices/manage/{notice.pk}/", {"action": "publish"})
    assert response.status_code == 409 and "notice_immutable" not in text_of(response)
    assert "更正公告" in text_of(response)


def test_the_parties_section_page(obtained: World):
    w = obtained
    services.question_ask(acting_user=w.bidder, section=w.section, text="工期？")
    services.document_objection_raise(acting_user=w.bidder, section=w.section, text="异议")
    page = text_of(client_for(w.agent).get(f"/notices/sections/{w.section.pk}/"))
    for testid in (
        "question-list",
        "clarification-list",
        "publish-clarification",
        "upload-documents",
        "objection-count",
        "objection-flag",
    ):
        assert f'data-testid="{testid}"' in page, testid
    assert "工期？" in page
    assert 'data-testid="asker"' not in page and w.bidder.username not in page
    assert 'data-testid="obtain-documents"' not in page and 'data-testid="ask-question"' not in page
    assert re.search(r'data-testid="objection-count">.*?<strong>1</strong>', page, re.S)


def test_a_bidders_section_page_before_and_after_obtaining(announced: World):
    w = announced
    bidder = client_for(w.bidder)
    page = text_of(bidder.get(f"/notices/sections/{w.section.pk}/"))
    assert 'data-testid="obtain-documents"' in page
    assert 'data-testid="ask-question"' not in page and 'data-testid="raise-objection"' not in page
    assert 'data-testid="clarification-list"' not in page and 'data-testid="download-v1"' not in page
    assert bidder.post(f"/notices/sections/{w.section.pk}/obtain/").status_code == 302
    page = text_of(bidder.get(f"/notices/sections/{w.section.pk}/"))
    for testid in (
        "ask-question",
        "raise-objection",
        "clarification-list",
        "download-v1",
        "has-latest",
        "opening-recipient",
    ):
        assert f'data-testid="{testid}"' in page, testid
    assert 'data-testid="obtain-documents"' not in page
    assert 'data-testid="upload-documents"' not in page and 'data-testid="publish-clarification"' not in page


def test_a_refused_obtainment_shows_the_article(announced: World):
    clock.set_now(at(11))
    response = client_for(announced.bidder).post(f"/notices/sections/{announced.section.pk}/obtain/")
    assert response.status_code == 409
    assert 'data-testid="obtain-refusal"' in text_of(response) and "条例 Art 16" in text_of(response)


def test_staff_see_the_asker(obtained: World):
    services.question_ask(acting_user=obtained.bidder, section=obtained.section, text="问")
    page = text_of(client_for(obtained.staff).get(f"/notices/sections/{obtained.section.pk}/"))
    assert 'data-testid="asker"' in page and obtained.bidder.organization.name in page


def test_a_late_clarification_on_the_page_names_the_earliest_date(obtained: World):
    clock.set_now(at(12))
    agent = client_for(obtained.agent)
    url = f"/notices/sections/{obtained.section.pk}/clarifications/"
    response = agent.post(url, {"text": "修改评分办法", "affects_bid_preparation": "on"})
    assert response.status_code == 422
    assert "2026-03-27" in text_of(response) and "法 Art 23" in text_of(response)
    moved = agent.post(
        url, {"text": "修改评分办法", "affects_bid_preparation": "on", "new_deadline": "2026-03-27T09:30"}
    )
    assert moved.status_code == 302
    page = text_of(client_for(obtained.bidder).get(f"/notices/sections/{obtained.section.pk}/"))
    assert "2026-03-27 09:30" in page


def test_upload_through_the_page(announced: World):
    agent = client_for(announced.agent)
    url = f"/notices/sections/{announced.section.pk}/documents/"
    response = agent.post(url, {"file": SimpleUploadedFile("第二版.pdf", b"v2"), "note": "修改了工期"})
    assert response.status_code == 302
    page = text_of(agent.get(f"/notices/sections/{announced.section.pk}/"))
    assert "第二版.pdf" in page and "修改了工期" in page
    empty = agent.post(url, {"file": SimpleUploadedFile("empty.pdf", b""), "note": ""})
    assert empty.status_code == 422


def test_the_browser_flow(world: World):
    """What the Playwright test drives: agent publishes → anonymous finds it → bidder obtains and
    asks → agent answers → the bidder reads the answer."""
    agent = client_for(world.agent)
    created = agent.post("/notices/manage/", draft_form(world))
    notice = Notice.objects.get()
    assert agent.post(created["Location"], {"action": "publish"}).status_code == 302
    services.document_publish(
        acting_user=world.agent,
        section=world.section,
        file=SimpleUploadedFile("f.pdf", b"doc"),
        filename="f.pdf",
    )
    portal = text_of(client_for(None).get("/notices/?q=道路改造"))
    assert f'href="/notices/{notice.pk}/"' in portal
    bidder = client_for(world.bidder)
    assert bidder.post(f"/notices/sections/{world.section.pk}/obtain/").status_code == 302
    assert (
        bidder.post(
            f"/notices/sections/{world.section.pk}/questions/", {"text": "是否接受联合体投标？"}
        ).status_code
        == 302
    )
    question = Question.objects.get()
    agent_page = text_of(agent.get(f"/notices/sections/{world.section.pk}/"))
    assert "是否接受联合体投标？" in agent_page
    answered = agent.post(
        f"/notices/sections/{world.section.pk}/clarifications/",
        {"text": "不接受联合体投标。", "questions": [str(question.pk)], "affects_bid_preparation": "on"},
    )
    assert answered.status_code == 302
    assert Clarification.objects.get().questions.get() == question
    page = text_of(bidder.get(f"/notices/sections/{world.section.pk}/"))
    clarifications = page[page.index('data-testid="clarification-list"') :]
    assert "不接受联合体投标。" in clarifications and "是否接受联合体投标？" in clarifications


def test_the_objection_flag_on_the_publishers_list(obtained: World):
    agent = client_for(obtained.agent)
    assert 'data-testid="objection-flag"' not in text_of(agent.get("/notices/manage/"))
    services.document_objection_raise(acting_user=obtained.bidder, section=obtained.section, text="异议")
    assert text_of(agent.get("/notices/manage/")).count('data-testid="objection-flag"') == 1
