"""WebSocket routes of the experts app (mounted in tenderhall.asgi)."""

from __future__ import annotations

from django.urls import path

from tenderhall.experts.consumers import ExtractionConsumer

websocket_urlpatterns = [path("ws/extraction/<int:request_id>/", ExtractionConsumer.as_asgi())]
