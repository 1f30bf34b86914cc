"""The JSON API at /api/v1/ (Django Ninja); OpenAPI at /api/v1/openapi.json.

Every error is RFC 9457 problem+json (core.errors)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from tenderhall.accounts.api import router as accounts_router
from tenderhall.accounts.auth import api_auth
from tenderhall.bidding.api import router as bidding_router
from tenderhall.core.api import calendar_router, notifications_router
from tenderhall.core.api import router as log_router
from tenderhall.core.errors import PROBLEM_CONTENT_TYPE, DomainError, NotAuthenticated
from tenderhall.disputes.api import router as disputes_router
from tenderhall.experts.api import router as experts_router
from tenderhall.notices.api import router as notices_router
from tenderhall.opening.api import router as opening_router
from tenderhall.projects.api import router as projects_router
from tenderhall.venues.api import router as venues_router

api = NinjaAPI(
    title="tenderhall API",
    version="1",
    urls_namespace="api",
    auth=api_auth,
    docs_url=None,  # Swagger UI loads from a CDN, which our CSP (and a closed network) forbids
)
api.add_router("/", accounts_router)
api.add_router("/", log_router)
api.add_router("/", calendar_router)
api.add_router("/", notifications_router)
api.add_router("/", projects_router)
api.add_router("/", notices_router)
api.add_router("/", disputes_router)
api.add_router("/", venues_router)
api.add_router("/", bidding_router)
api.add_router("/", opening_router)
api.add_router("/", experts_router)


def _json(request: HttpRequest, body: dict[str, Any], status: int) -> HttpResponse:
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = PROBLEM_CONTENT_TYPE
    return response


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _json(request, exc.as_problem(instance=request.path), exc.status)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    error = NotAuthenticated()
    return _json(request, error.as_problem(instance=request.path), error.status)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields = {}
    for item in exc.errors:
        loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query", "path")]
        fields[".".join(loc) or "body"] = str(item.get("msg", ""))
    error = DomainError(
        "request_invalid",
        "请求内容不符合要求：" + "；".join(f"{k}: {v}" for k, v in fields.items()),
        "the request is not valid: " + "; ".join(f"{k}: {v}" for k, v in fields.items()),
        status=422,
        fields=fields,
    )
    return _json(request, error.as_problem(instance=request.path), 422)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    error = DomainError("http_error", str(exc), str(exc), status=exc.status_code)
    return _json(request, error.as_problem(instance=request.path), exc.status_code)
