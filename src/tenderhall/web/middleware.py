"""Pages show a refused rule the same way the API does: code, Chinese and English message."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

from tenderhall.core.errors import PROBLEM_CONTENT_TYPE, DomainError, NotAuthenticated


def _api_problem(request: HttpRequest, status: int) -> HttpResponse:
    if status == 404:
        error = DomainError(
            "no_such_endpoint", "没有这个接口", f"no API endpoint at {request.path}", status=404
        )
    else:
        error = DomainError(
            "method_not_allowed",
            f"该接口不支持 {request.method} 方法",
            f"{request.method} is not allowed here",
            status=405,
        )
    return JsonResponse(
        error.as_problem(instance=request.path),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


class DomainErrorPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code in (404, 405)
            and response.get("Content-Type", "") != PROBLEM_CONTENT_TYPE
        ):
            # Unknown API paths and methods answer problem+json like every other API refusal.
            return _api_problem(request, response.status_code)
        return response

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
