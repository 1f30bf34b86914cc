"""{{ amount|yuan }}: Decimal yuan with thousands separators, never through a float."""

from __future__ import annotations

from decimal import Decimal

from django import template

from tenderhall.core.money import CENT

register = template.Library()


@register.filter
def yuan(value: Decimal | None) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value).quantize(CENT):,}"
