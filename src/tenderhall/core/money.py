"""Money is Decimal yuan with 2 places; rounding ROUND_HALF_UP only where a rule names it (DESIGN §3)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from tenderhall.core.errors import ValidationFailed

CENT = Decimal("0.01")


def parse_yuan(value: str | int | Decimal, *, field: str = "amount") -> Decimal:
    """Parse an amount in yuan exactly; more than 2 decimal places or a float is refused."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        amount = Decimal("NaN")
    try:
        # quantize raises InvalidOperation past the context precision (28 digits): bad input, not a 500
        cents = amount.quantize(CENT) if amount.is_finite() else None
    except InvalidOperation:
        cents = None
    if cents is None:
        raise ValidationFailed(
            "money_invalid", f"金额格式不正确：{value}", f"not an amount: {value}", fields={field: ""}
        )
    if amount != cents:
        raise ValidationFailed(
            "money_precision",
            f"金额最多两位小数：{value}",
            f"amounts have at most 2 decimal places: {value}",
            fields={field: ""},
        )
    return cents


def round_yuan(amount: Decimal) -> Decimal:
    """Round half up to the cent, for the points where a rule says to round."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_yuan(amount: Decimal) -> str:
    return f"¥{amount.quantize(CENT):,}"
