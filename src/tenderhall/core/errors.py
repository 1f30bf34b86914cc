"""Domain errors and their RFC 9457 problem+json form (DESIGN §3).

Every refusal names its rule: a stable ``code``, a Chinese and an English message, the law article
where one applies, and field errors. Views show the same message; the API answers problem+json.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://tenderhall.invalid/problems/"


class DomainError(Exception):
    """A refusal by a rule. ``code`` is stable; messages are shown to people."""

    status: int = 400

    def __init__(
        self,
        code: str,
        message_zh: str,
        message_en: str,
        *,
        status: int | None = None,
        article: str = "",
        fields: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        if status is not None:
            self.status = status
        self.article = article
        self.fields = dict(fields or {})
        self.extra = dict(extra or {})

    @property
    def message(self) -> str:
        """Both languages, Chinese first, as pages show it."""
        suffix = f"（{self.article}）" if self.article else ""
        return f"{self.message_zh}{suffix} / {self.message_en}"

    def field_message(self, name: str) -> str:
        """``fields`` maps a field to its own message; an empty one means this error's message."""
        return self.fields.get(name) or self.message

    def as_problem(self, instance: str = "") -> dict[str, Any]:
        problem: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.message_en,
            "status": self.status,
            "detail": self.message,
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }
        if self.article:
            problem["article"] = self.article
        if self.fields:
            problem["errors"] = [{"field": name, "message": self.field_message(name)} for name in self.fields]
        if instance:
            problem["instance"] = instance
        problem.update(self.extra)
        return problem


class NotFound(DomainError):
    status = 404

    def __init__(self, what_zh: str = "对象", what_en: str = "object") -> None:
        # Also used where an object exists but the user may not see it: never confirm existence.
        super().__init__(
            "not_found", f"{what_zh}不存在或无权查看", f"{what_en} not found or not visible to you"
        )


class PermissionDenied(DomainError):
    status = 403

    def __init__(self, permission: str = "") -> None:
        super().__init__(
            "permission_denied",
            f"无权执行此操作（{permission}）" if permission else "无权执行此操作",
            f"You are not allowed to do this ({permission})"
            if permission
            else "You are not allowed to do this",
            extra={"permission": permission} if permission else None,
        )


class NotAuthenticated(DomainError):
    status = 401

    def __init__(self) -> None:
        super().__init__("not_authenticated", "请先登录", "Sign in first")


class Conflict(DomainError):
    status = 409


class ValidationFailed(DomainError):
    status = 422
