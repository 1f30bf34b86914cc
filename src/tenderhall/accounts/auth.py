"""API authentication: the session (pages, with CSRF) or a bearer token (the bidder tool)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from tenderhall.accounts.services import user_for_api_token


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_api_token(token)
        if user is not None:
            request.user = user
        return user


api_auth = [ApiTokenAuth(), django_auth]
