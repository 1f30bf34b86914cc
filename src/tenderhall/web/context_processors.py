from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Menu entries the signed-in user may open (filled in by web.navigation)."""
    from tenderhall.web.navigation import menu_for

    return {"nav_menu": menu_for(request.user)}
