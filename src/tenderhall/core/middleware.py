"""Puts the request's actor, source IP and user agent where the transparency log can read them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from tenderhall.core.context import RequestContext, bind_request_context


def client_ip(request: HttpRequest) -> str:
    """The caller's address. X-Real-IP is believed only from a configured proxy
    (TENDERHALL_TRUSTED_PROXIES): from anyone else it would let a caller pick its own address and
    slip past the per-address limits and the audit record."""
    remote = request.META.get("REMOTE_ADDR") or ""
    if remote in getattr(settings, "TENDERHALL_TRUSTED_PROXIES", ()):
        return request.META.get("HTTP_X_REAL_IP") or remote
    return remote


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        context = RequestContext(
            source_ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:400],
        )
        with bind_request_context(context):
            return self.get_response(request)
