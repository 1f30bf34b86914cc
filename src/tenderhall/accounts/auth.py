"""API authentication: the session (pages, with CSRF) or a bearer token (the bidder tool)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from tenderhall.accounts.services import user_for_api_token
from tenderhall.core.errors import DomainError


class CsrfFailed(DomainError):
    status = 403

    def __init__(self) -> None:
        super().__init__(
            "csrf_failed",
            "请求缺少有效的 CSRF 令牌（请刷新页面后重试）",
            "the request has no valid CSRF token (reload the page and try again)",
        )


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_api_token(token)
        if user is not None:
            request.user = user
        return user


class SessionCookieAuth(APIKeyCookie):
    """Django's session, with the CSRF check — but only when a session cookie is present, so a
    caller with no session gets 401 (sign in), not a confusing CSRF 403."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        key = request.COOKIES.get(self.param_name)
        if key and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise CsrfFailed()
        return key

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return request.user if key and request.user.is_authenticated else None


api_auth = [ApiTokenAuth(), SessionCookieAuth()]
