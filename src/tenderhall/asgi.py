"""ASGI entry: HTTP through Django, WebSocket through Channels (live pages come with later apps)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tenderhall.settings")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

# A request thread that waits on SQLite or the network gets the GIL back only when the running
# thread (a decryption, the fan-out) yields it — by default every 5 ms, so a query of a few
# statements waited tens of ms under load. A shorter interval costs a little throughput.
sys.setswitchinterval(settings.TENDERHALL_GIL_SWITCH_INTERVAL)

from channels.auth import AuthMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import CookieMiddleware, SessionMiddleware  # noqa: E402

from tenderhall.core import live  # noqa: E402
from tenderhall.experts.routing import websocket_urlpatterns as experts_ws  # noqa: E402
from tenderhall.opening.routing import websocket_urlpatterns as opening_ws  # noqa: E402

websocket_urlpatterns: list = [*opening_ws, *experts_ws]

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            CookieMiddleware(SessionMiddleware(AuthMiddleware(URLRouter(websocket_urlpatterns))))
        ),
    }
)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The router, after noting this process's event loop for sends from other threads; HTTP
    requests wait for a slot (core.live.http_slot) until their response starts."""
    live.remember_server_loop()
    if scope["type"] != "http":
        await router(scope, receive, send)
        return
    async with live.http_slot() as slot:

        async def send_releasing(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                slot.release()
            await send(message)

        await router(scope, receive, send_releasing)
