"""Pages show a refused rule the same way the API does: code, Chinese and English message."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from tenderhall.core.errors import DomainError, NotAuthenticated


class DomainErrorPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith("/api/") or not isinstance(exception, DomainError):
            return None
        if isinstance(exception, NotAuthenticated):
            return redirect_to_login(request.get_full_path())
        response = TemplateResponse(
            request,
            "web/error.html",
            {
                "status": exception.status,
                "code": exception.code,
                "message_zh": exception.message_zh,
                "message_en": exception.message_en,
                "article": exception.article,
            },
            status=exception.status,
        )
        return response.render()
