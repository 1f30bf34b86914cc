"""From registration to a published tender, in real chromium with four people at once:
the agent registers a project → staff return it naming what is missing → the agent completes it →
staff confirm → the agent publishes the announcement → an anonymous visitor finds it on the portal →
a bidder obtains the documents and asks a question → the agent answers → the bidder sees the answer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tenderhall.accounts.models import Role
from tenderhall.core import clock
from tenderhall.core.calendar import bundled_year_data, calendar_year_load, stored_calendar
from tenderhall.notices import timeline
from tenderhall.projects.models import Project, ProjectStatus, SectionStatus
from tests.factories import PASSWORD, OrganizationFactory, UserFactory
from tests.projects.factories import encryption_certificate, ensure_checklist

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "浏览器测试市政道路改造工程"
QUESTION = "工程量清单中的沥青面层厚度以哪一张图纸为准？"
ANSWER = "以施工图 S-03 为准，面层厚度 5 厘米。"


def sign_in(browser: Any, live_server: Any, username: str) -> Any:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=password-login] button[type=submit]")
    page.wait_for_selector("[data-testid=who]")
    return page


def upload(page: Any, row: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(f"{name}\n示范文件\n", encoding="utf-8")
    row.locator("[data-testid=document-file]").set_input_files(str(path))
    row.locator("[data-testid=upload-document]").click()
    page.wait_for_load_state()


def test_registration_to_published_tender(live_server: Any, browser: Any, tmp_path: Path) -> None:
    ensure_checklist()
    for year in (2025, 2026):
        calendar_year_load(acting_user=None, year=year, data=bundled_year_data(year))
    staff = UserFactory(role=Role.STAFF, username="e2e-staff")
    agent = UserFactory(role=Role.AGENT, username="e2e-agent")
    supervisor = UserFactory(role=Role.SUPERVISOR, username="e2e-supervisor")
    tenderer = OrganizationFactory(kind="tenderer", name="浏览器测试城投公司")
    bidder = UserFactory(role=Role.BIDDER, username="e2e-bidder")
    for custodian in (staff, agent, supervisor):  # the opening key's default custodians
        encryption_certificate(custodian)

    # 1. The agent registers the project with one section and uploads one of two documents.
    agent_page = sign_in(browser, live_server, agent.username)
    agent_page.goto(f"{live_server.url}/projects/new/")
    agent_page.fill("#id_title", TITLE)
    agent_page.select_option("#id_category", "construction")
    agent_page.select_option("#id_procedure", "open")
    agent_page.select_option("#id_tenderer", str(tenderer.pk))
    agent_page.fill("#id_sections-0-name", "道路改造标段")
    agent_page.fill("#id_sections-0-estimated_price", "5000000.00")
    agent_page.fill("#id_sections-0-bond_amount", "100000.00")
    agent_page.select_option("#id_sections-0-evaluation_method", "lowest_evaluated_price")
    agent_page.click("[data-testid=save-project]")
    agent_page.wait_for_selector("[data-testid=project-status]")
    project = Project.objects.get(title=TITLE)
    rows = agent_page.locator("[data-testid=checklist-row]")
    assert rows.count() == 2
    upload(agent_page, rows.nth(0), tmp_path, "进场交易申请表.txt")
    agent_page.click("[data-testid=submit-project]")
    agent_page.wait_for_selector("[data-testid=project-status][data-status=submitted]")

    # 2. Staff return it: the missing document is pre-checked, named once and for all.
    staff_page = sign_in(browser, live_server, staff.username)
    staff_page.goto(f"{live_server.url}/projects/{project.pk}/")
    missing = staff_page.locator("[data-testid=missing-items] input[type=checkbox]:checked")
    assert missing.count() == 1
    staff_page.fill("[data-testid=return-note]", "请补充项目备案表。")
    staff_page.click("[data-testid=return-project]")
    staff_page.wait_for_selector("[data-testid=project-status][data-status=returned]")

    # 3. The agent sees what is missing, completes it and submits again.
    agent_page.reload()
    assert "备案表" in agent_page.locator("[data-testid=review-history]").inner_text()
    missing_row = agent_page.locator("[data-testid=checklist-row]:has([data-status=missing])")
    upload(agent_page, missing_row, tmp_path, "项目备案表.txt")
    agent_page.click("[data-testid=submit-project]")
    agent_page.wait_for_selector("[data-testid=project-status][data-status=submitted]")

    # 4. Staff confirm the registration.
    staff_page.reload()
    staff_page.click("[data-testid=confirm-project]")
    staff_page.wait_for_selector("[data-testid=project-status][data-status=registered]")
    section = project.sections.get()
    assert Project.objects.get(pk=project.pk).status == ProjectStatus.REGISTERED

    # 5. The agent drafts and publishes the tender announcement with a lawful timeline.
    today = clock.today_local()
    plan = timeline.compute_timeline(procedure="open", docs_issued=today, calendar=stored_calendar())
    sale_end = plan.rule(timeline.DOCS_SALE_PERIOD).earliest
    deadline = dt.datetime.combine(plan.earliest_deadline + dt.timedelta(days=1), dt.time(9, 30))
    agent_page.goto(f"{live_server.url}/notices/manage/")
    form = agent_page.locator("[data-testid=new-notice]")
    form.locator("#id_project").select_option(str(project.pk))
    form.locator("#id_kind").select_option("tender")
    form.locator("#id_title").fill(f"{TITLE}招标公告")
    form.locator("#id_body").fill("本工程已具备招标条件，现对施工进行公开招标。")
    form.locator(f"input[name=sections][value='{section.pk}']").check()
    form.locator("#id_docs_sale_start").fill(today.isoformat())
    form.locator("#id_docs_sale_end").fill(sale_end.isoformat())
    form.locator("#id_bid_deadline").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    form.locator("button[type=submit]").click()
    agent_page.click("[data-testid=publish-notice]")
    agent_page.wait_for_load_state()
    section.refresh_from_db()
    assert section.status == SectionStatus.ANNOUNCED
    assert section.opening_key.recipient.startswith("age1")

    # 6. An anonymous visitor finds it on the portal, with the opening key to encrypt bids to.
    visitor = browser.new_context(locale="zh-CN").new_page()
    visitor.goto(f"{live_server.url}/notices/?q=道路改造")
    results = visitor.locator("[data-testid=portal-results]")
    assert f"{TITLE}招标公告" in results.inner_text()
    results.get_by_text(f"{TITLE}招标公告").click()
    assert visitor.locator("[data-testid=notice-title]").inner_text() == f"{TITLE}招标公告"
    assert (
        visitor.locator("[data-testid=opening-recipient]").first.inner_text().strip()
        == section.opening_key.recipient
    )

    # 7. The agent uploads the tender documents; the bidder obtains them and asks a question.
    agent_page.goto(f"{live_server.url}/notices/sections/{section.pk}/")
    documents = tmp_path / "招标文件.txt"
    documents.write_text("招标文件 第一版\n", encoding="utf-8")
    upload_form = agent_page.locator("[data-testid=upload-documents]")
    upload_form.locator("input[type=file]").set_input_files(str(documents))
    upload_form.locator("button[type=submit]").click()
    agent_page.wait_for_load_state()

    bidder_page = sign_in(browser, live_server, bidder.username)
    bidder_page.goto(f"{live_server.url}/notices/sections/{section.pk}/")
    bidder_page.click("[data-testid=obtain-documents]")
    bidder_page.wait_for_load_state()
    ask = bidder_page.locator("[data-testid=ask-question]")
    ask.locator("textarea").fill(QUESTION)
    ask.locator("button[type=submit]").click()
    bidder_page.wait_for_load_state()

    # 8. The agent sees the question — not who asked — and answers with a clarification.
    agent_page.reload()
    questions = agent_page.locator("[data-testid=question-list]").inner_text()
    assert QUESTION in questions and bidder.username not in questions
    assert bidder.organization.name not in agent_page.content()
    clarify = agent_page.locator("[data-testid=publish-clarification]")
    clarify.locator("textarea").fill(ANSWER)
    clarify.locator("input[type=checkbox][name=questions]").first.check()
    affects = clarify.locator("input[name=affects_bid_preparation]")
    if affects.count() and affects.is_checked():
        affects.uncheck()
    clarify.locator("button[type=submit]").click()
    agent_page.wait_for_load_state()

    # 9. The answer is visible to the bidder.
    bidder_page.reload()
    assert ANSWER in bidder_page.locator("[data-testid=clarification-list]").inner_text()
