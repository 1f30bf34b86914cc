"""An extraction request watched live in real browsers (no reloads): the supervisor sees the experts'
answers arrive, the project's agent sees the counts change and no name until the result is
decided, then the names. Served by uvicorn with the real ASGI application (the opening hall's
browser test explains why)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from tenderhall.experts.models import AssignmentStatus, ExtractionAssignment
from tenderhall.experts.services.extraction import assignment_reply, extraction_result_decide
from tests.e2e.test_opening_hall import AsgiServer, asgi, in_thread, open_page  # noqa: F401 - fixture
from tests.experts.factories_extraction import World, build_world
from tests.experts.live_helpers import specialty_tree

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(transactional_db: None) -> Iterator[World]:
    specialty_tree()
    yield build_world()


def live(page: Any) -> None:
    page.wait_for_selector("[data-testid=extraction-connection][data-state=live]")


def test_the_request_page_follows_the_draw_live(world: World, asgi: AsgiServer, browser: Any) -> None:  # noqa: F811
    request = world.create()
    names = [
        a.expert.name for a in ExtractionAssignment.objects.filter(request=request).select_related("expert")
    ]
    called = list(
        ExtractionAssignment.objects.filter(request=request, status=AssignmentStatus.NOTIFIED)
        .select_related("expert__user")
        .order_by("pk")
    )
    url = f"{asgi.url}/experts/extractions/{request.pk}/"
    supervisor = open_page(browser, asgi.url, world.supervisor.username)
    agent = open_page(browser, asgi.url, world.agent.username)
    staff = open_page(browser, asgi.url, world.staff.username)
    for page in (supervisor, agent, staff):
        page.goto(url)
        live(page)
    assert supervisor.locator("[data-testid=expert-row][data-status=accepted]").count() == 0
    assert not any(n in agent.content() for n in names)

    pages = (supervisor, agent, staff)

    def settled(before: list[str]) -> list[str]:
        """Every page shows a newer version than ``before`` (one write at a time: the in-memory
        test database locks a table while another thread reads it)."""
        for page, version in zip(pages, before, strict=True):
            page.wait_for_function(
                "v => document.getElementById('extraction-live').dataset.version !== v", arg=version
            )
        return [p.get_attribute("#extraction-live", "data-version") for p in pages]

    versions = [p.get_attribute("#extraction-live", "data-version") for p in pages]
    for done, a in enumerate(called, start=1):
        in_thread(
            partial(assignment_reply, assignment=a, accept=True, channel="page", acting_user=a.expert.user)
        )
        versions = settled(versions)
        assert supervisor.locator("[data-testid=expert-row][data-status=accepted]").count() == done
    for page in pages:
        page.wait_for_selector("[data-testid=extraction-status][data-status=complete]")
    assert not any(n in agent.content() for n in names)
    assert agent.locator("[data-testid=expert-list]").count() == 0
    # The "result decided" button appears on the staff page without a reload.
    staff.wait_for_selector("#extraction-decide:not([hidden])")
    assert supervisor.locator("#extraction-decide").count() == 0  # supervisors change nothing
    in_thread(lambda: extraction_result_decide(acting_user=world.staff, request=request))
    settled(versions)
    for page in pages:
        page.wait_for_selector("[data-testid=extraction-status][data-status=decided]")
    assert all(a.expert.name in agent.inner_text("[data-testid=extraction-live]") for a in called)
    staff.wait_for_selector("#extraction-decide[hidden]", state="attached")
    for page in pages:
        page.context.close()
