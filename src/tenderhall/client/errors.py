"""The bidder tool's local refusals (exit status 1); server refusals are ``client.api.ApiError``."""

from __future__ import annotations

from tenderhall.core.errors import DomainError


class ToolError(DomainError):
    """A local problem: a file, a key, the profile, the bid package (exit 1)."""
