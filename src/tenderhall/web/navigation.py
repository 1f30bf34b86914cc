"""The menu: only entries the user may open."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from tenderhall.core.permissions import Permission, has_permission


def menu_for(user: Any) -> list[dict[str, str]]:
    if not getattr(user, "is_authenticated", False):
        return []
    items: list[dict[str, str]] = [{"url": reverse("web:home"), "label": _("Home")}]
    if getattr(user, "organization_id", None):
        items.append(
            {
                "url": reverse("accounts:organization", args=[user.organization_id]),
                "label": _("My organization"),
            }
        )
    if has_permission(user, Permission.ORGANIZATION_VIEW_ALL):
        items.append({"url": reverse("accounts:organizations"), "label": _("Organizations")})
        items.append({"url": reverse("accounts:users"), "label": _("Users")})
    if has_permission(user, Permission.AUDIT_VIEW):
        items.append({"url": reverse("core:audit"), "label": _("Audit log")})
    items.append({"url": reverse("core:calendar", args=[_current_year()]), "label": _("Calendar")})
    items.append({"url": reverse("core:notifications"), "label": _("Notifications")})
    items.append({"url": reverse("accounts:security"), "label": _("Security")})
    return items


def _current_year() -> int:
    from tenderhall.core import clock

    return clock.today_local().year
