"""Every API operation and every page is classified by some app's permission tests.

Each app's tests/<app>/test_permissions.py holds the detailed table for its own routes and
checks them for every role; this test makes sure no route is left out of all of them: a new
endpoint or page cannot land without a permission test naming it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from tenderhall.api import api as ninja_api

TESTS = Path(__file__).resolve().parent
# An API operation counts when some app's tests call it by path (each app's test_permissions.py
# holds its detailed role table; a few endpoints are tested role by role in their feature's file).
PERMISSION_TESTS = "\n".join(p.read_text(encoding="utf-8") for p in sorted(TESTS.glob("*/test_*.py")))
NOT_OURS = ("api/v1/", "i18n/", "django-admin/")
MOUNTED_APPS = {"bids": "bidding"}  # url prefix → app, where they differ


def _mentioned(path: str) -> bool:
    """A route counts as classified when its path (any placeholder names) appears in a table."""
    pattern = re.escape(path)
    pattern = re.sub(r"\\\{\w+\\\}", r"(\\{\\w+\\}|<(\\w+:)?\\w+>|\\{\\{\\w+\\}\\})", pattern)
    pattern = re.sub(r"<(?:\w+:)?\w+>", r"(\\{\\w+\\}|<(\\w+:)?\\w+>|\\{\\{\\w+\\}\\})", pattern)
    return re.search(pattern, PERMISSION_TESTS) is not None


def test_every_api_operation_is_in_a_permission_test() -> None:
    schema = ninja_api.get_openapi_schema()
    missing = []
    for path in schema["paths"]:
        relative = path.removeprefix("/api/v1")
        # some tables key a section's routes by what follows /sections/{id}/ ("hall/record")
        tail = relative.split("}/", 1)[1] if "}/" in relative else None
        if not (_mentioned(path) or _mentioned(relative) or (tail and f'"{tail}"' in PERMISSION_TESTS)):
            missing.append(path)
    assert not missing, f"no permission test classifies: {missing}"


def _pages(patterns: list[Any], prefix: str = "") -> list[str]:
    found = []
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if not route.startswith(NOT_OURS):
                found += _pages(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            found.append(route)
    return found


def _page_classified(route: str) -> bool:
    """Pages of an app are keyed app-relative in tests/<app>/test_permissions.py; the kernel's and
    accounts' pages by their full route in tests/accounts/test_permissions.py."""
    app, _, rest = route.partition("/")
    # an app's table may be split by part: test_permissions.py, test_permissions_<part>.py
    own = sorted((TESTS / MOUNTED_APPS.get(app, app)).glob("test_permissions*.py"))
    if own and app != "accounts":
        text = "\n".join(p.read_text(encoding="utf-8") for p in own)
        placeholder = r"(<(\w+:)?\w+>|\{\w+\})"
        full = re.sub(r"<(?:\w+:)?\w+>", lambda _m: placeholder, re.escape("/" + route).replace("\\<", "<"))
        return f'"{rest}"' in text or re.search(f'"{full}"', text) is not None
    return f'"{route}"' in (TESTS / "accounts" / "test_permissions.py").read_text(encoding="utf-8")


def test_every_page_is_in_a_permission_test() -> None:
    missing = [route for route in _pages(get_resolver().url_patterns) if not _page_classified(route)]
    assert not missing, f"no permission test classifies these pages: {missing}"


def test_the_coverage_check_can_fail() -> None:
    assert not _page_classified("notices/no-such-page/<int:pk>/")
    assert not _page_classified("no-such-page/")
    assert not _mentioned("/api/v1/no/such/{thing}")
    assert _page_classified("notices/sections/<int:pk>/obtain/") and _mentioned("/auth/challenge")
