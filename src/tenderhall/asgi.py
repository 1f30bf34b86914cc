"""ASGI entry: HTTP through Django, WebSocket through Channels (live pages come with later apps)."""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tenderhall.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import CookieMiddleware, SessionMiddleware  # noqa: E402

from tenderhall.core import live  # noqa: E402
from tenderhall.opening.routing import websocket_urlpatterns as opening_ws  # noqa: E402

websocket_urlpatterns: list = [*opening_ws]

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            CookieMiddleware(SessionMiddleware(AuthMiddleware(URLRouter(websocket_urlpatterns))))
        ),
    }
)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The router, after noting this process's event loop for sends from other threads."""
    live.remember_server_loop()
    await router(scope, receive, send)
