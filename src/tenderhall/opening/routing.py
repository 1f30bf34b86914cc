"""WebSocket routes of the opening hall (mounted in tenderhall.asgi)."""

from __future__ import annotations

from django.urls import path

from tenderhall.opening.consumers import HallConsumer

websocket_urlpatterns = [path("ws/hall/<int:section_id>/", HallConsumer.as_asgi())]
