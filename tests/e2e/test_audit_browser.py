"""Sign in, open the audit browser, see an event's inclusion proof verified (server and browser)."""

from __future__ import annotations

from typing import Any

import pytest

from tenderhall.accounts import services
from tenderhall.accounts.models import OrganizationKind, Role
from tenderhall.core.models import LogEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_auditor_sees_event_proof_verified(live_server: Any, page: Any) -> None:
    staff = UserFactory(role=Role.STAFF, username="e2e-staff")
    services.organization_register(
        acting_user=staff,
        name="浏览器测试投标人有限公司",
        uscc="91440300708461136T",
        kind=OrganizationKind.BIDDER,
    )
    UserFactory(role=Role.AUDITOR, username="e2e-auditor")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "e2e-auditor")
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=password-login] button[type=submit]")
    page.wait_for_selector("[data-testid=who]")

    page.goto(f"{live_server.url}/audit/")
    table = page.locator("[data-testid=audit-events]")
    assert "accounts.organization.registered" in table.inner_text()
    assert "accounts.login.succeeded" in table.inner_text()

    event = LogEvent.objects.get(action="accounts.organization.registered")
    page.click(f"[data-testid=audit-events] a[href='/audit/events/{event.index}/']")
    assert page.locator("[data-testid=leaf-hash]").inner_text() == event.leaf_hash
    assert "✓" in page.locator("[data-testid=server-proof]").inner_text()
    assert "✓" in page.locator("[data-testid=server-signature]").inner_text()
    # The browser recomputes the proof and the Ed25519 signature itself (WebCrypto).
    page.wait_for_selector("[data-testid=browser-proof][data-state=ok]")
    page.wait_for_selector("[data-testid=browser-signature][data-state=ok]")
    assert "91440300708461136T" in page.locator("[data-testid=payload]").inner_text()


def test_tampered_event_fails_in_browser(live_server: Any, page: Any) -> None:
    """The browser check is real: a payload edited in the database no longer verifies."""
    staff = UserFactory(role=Role.STAFF, username="e2e-staff2")
    services.organization_register(
        acting_user=staff, name="篡改测试有限公司", uscc="914403001922038216", kind=OrganizationKind.BIDDER
    )
    event = LogEvent.objects.get(action="accounts.organization.registered")
    LogEvent.objects.filter(pk=event.pk).update(payload=event.payload.replace("篡改测试", "改过的"))

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "e2e-staff2")
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=password-login] button[type=submit]")
    page.wait_for_selector("[data-testid=who]")
    page.goto(f"{live_server.url}/audit/events/{event.index}/")
    assert "✗" in page.locator("[data-testid=server-proof]").inner_text()
    page.wait_for_selector("[data-testid=browser-proof][data-state=bad]")
