"""Pages show a service's refusal where it belongs: on the field it concerns, or above the form."""

from __future__ import annotations

from typing import Any

from tenderhall.core.errors import DomainError


def show_refusal(form: Any, error: DomainError) -> None:
    placed = False
    for field in error.fields:
        if field in form.fields:
            form.add_error(field, error.field_message(field))
            placed = True
    if not placed:
        form.add_error(None, error.message)
