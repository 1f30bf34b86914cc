"""The menu: only entries the user may open."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from tenderhall.core import clock
from tenderhall.core.permissions import Permission, has_permission


def menu_for(user: Any) -> list[dict[str, str]]:
    # The public portal is for everybody, signed in or not.
    items: list[dict[str, str]] = [{"url": reverse("notices:portal"), "label": _("Announcements")}]
    if not getattr(user, "is_authenticated", False):
        return items
    items.insert(0, {"url": reverse("web:home"), "label": _("Home")})

    def add(url_name: str, label: str, *permissions: Permission, args: list[Any] | None = None) -> None:
        if not permissions or any(has_permission(user, p) for p in permissions):
            items.append({"url": reverse(url_name, args=args), "label": label})

    add("projects:list", _("Projects"), Permission.PROJECT_CREATE, Permission.PROJECT_VIEW_ALL)
    add("notices:manage", _("Notices"), Permission.NOTICE_PUBLISH)
    add("bidding:my_sections", _("My bids"), Permission.BID_SUBMIT)
    add(
        "opening:halls",
        _("Opening hall"),
        Permission.OPENING_HOST,
        Permission.OPENING_SIGN_IN,
        Permission.PROJECT_VIEW_ALL,
    )
    add("experts:registry_list", _("Expert database"), Permission.EXPERT_VIEW_ALL)
    add(
        "experts:extractions",
        _("Expert extractions"),
        Permission.EXTRACTION_REQUEST,
        Permission.EXTRACTION_WATCH,
        Permission.EXTRACTION_STATUS_VIEW,
    )
    add("experts:remote_list", _("Remote evaluations"), Permission.EXTRACTION_WATCH, Permission.COMMITTEE_SIT)
    add("experts:invitations", _("Venue invitations"), Permission.VENUE_INVITATION_ANSWER)
    add("experts:centres", _("Trading centres"), Permission.VENUE_VIEW)
    add("experts:assignments", _("My evaluation calls"), Permission.COMMITTEE_SIT)
    add("experts:registry_me", _("My expert profile"), Permission.EXPERT_PROFILE_OWN)
    add("disputes:objections", _("Objections"))
    add("venues:calendar", _("Venues"), Permission.VENUE_VIEW)
    add("venues:bookings", _("Bookings"), Permission.BOOKING_REQUEST, Permission.BOOKING_DECIDE)
    add("venues:rooms", _("Rooms"), Permission.ROOM_MANAGE)
    if getattr(user, "organization_id", None):
        add("accounts:organization", _("My organization"), args=[user.organization_id])
    add("accounts:organizations", _("Organizations"), Permission.ORGANIZATION_VIEW_ALL)
    add("accounts:users", _("Users"), Permission.ORGANIZATION_VIEW_ALL)
    add("core:audit", _("Audit log"), Permission.AUDIT_VIEW)
    add("core:calendar", _("Calendar"), args=[clock.today_local().year])
    add("core:notifications", _("Notifications"))
    add("accounts:security", _("Security"))
    return items
