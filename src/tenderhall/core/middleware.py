"""Puts the request's actor, source IP and user agent where the transparency log can read them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tenderhall.core.context import RequestContext, bind_request_context


def client_ip(request: HttpRequest) -> str:
    # Behind nginx (cluster profile) the proxy sets X-Real-IP; REMOTE_ADDR is the proxy then.
    return request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR") or ""


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
