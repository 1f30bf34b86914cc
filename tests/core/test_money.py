"""Money is Decimal yuan with 2 places, never a float; ROUND_HALF_UP only where a rule says (DESIGN §3)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenderhall.core.errors import ValidationFailed
from tenderhall.core.money import CENT, format_yuan, parse_yuan, round_yuan

CENTS = st.integers(min_value=-(10**20), max_value=10**20)


def written(cents: int, *, grouped: bool = False) -> str:
    """``cents`` written as a person would: 1234567 -> "12345.67" (or "12,345.67")."""
    whole, frac = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}{whole:,}.{frac:02d}" if grouped else f"{sign}{whole}.{frac:02d}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.1", "0.10"),
        ("0.10", "0.10"),
        ("1234.5", "1234.50"),
        ("1,234,567.89", "1234567.89"),
        ("  88  ", "88.00"),
        ("1.500", "1.50"),  # trailing zeros are not extra precision
        (5, "5.00"),
        (Decimal("19999999.99"), "19999999.99"),
        ("99999999999999999999.99", "99999999999999999999.99"),
        ("-3.2", "-3.20"),
    ],
)
def test_parse_yuan_is_exact(value: str | int | Decimal, expected: str) -> None:
    amount = parse_yuan(value)
    assert isinstance(amount, Decimal)
    assert str(amount) == expected
    assert amount.as_tuple().exponent == -2


def test_parse_yuan_adds_up_without_float_error() -> None:
    assert parse_yuan("0.1") + parse_yuan("0.2") == parse_yuan("0.3")


@pytest.mark.parametrize("value", ["1.005", "0.001", "12.345", Decimal("3.14159"), "1e-3"])
def test_more_than_two_decimal_places_is_refused(value: str | Decimal) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        parse_yuan(value, field="price")
    assert excinfo.value.code == "money_precision"
    assert excinfo.value.status == 422
    assert set(excinfo.value.fields) == {"price"}
    assert str(value) in excinfo.value.message_en
    assert "两位小数" in excinfo.value.message_zh


@pytest.mark.parametrize(
    "value",
    ["", "abc", "¥100", "1.2.3", "NaN", "sNaN", "Infinity", "-inf", "1e30", "9" * 27 + ".5", "12 345"],
)
def test_things_that_are_not_amounts_are_refused(value: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        parse_yuan(value)
    assert excinfo.value.code == "money_invalid"
    assert set(excinfo.value.fields) == {"amount"}
    assert f"not an amount: {value}" == excinfo.value.message_en


@pytest.mark.parametrize("value", [0.1, 100.0, 1e-9, float("nan")])
def test_floats_are_refused(value: float) -> None:
    with pytest.raises(TypeError, match="float"):
        parse_yuan(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("2.345", "2.35"),
        ("2.344999", "2.34"),
        ("2.335", "2.34"),  # half up, not half even
        ("2.325", "2.33"),
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("-2.345", "-2.35"),  # half away from zero
        ("7", "7.00"),
        ("1.1", "1.10"),
    ],
)
def test_round_yuan_is_half_up(amount: str, expected: str) -> None:
    assert str(round_yuan(Decimal(amount))) == expected


def test_format_yuan() -> None:
    assert format_yuan(Decimal("1234567.5")) == "¥1,234,567.50"
    assert format_yuan(parse_yuan("0")) == "¥0.00"


# ---- properties ---------------------------------------------------------------------------------


@given(CENTS, st.booleans())
def test_any_amount_in_cents_parses_exactly(cents: int, grouped: bool) -> None:
    amount = parse_yuan(written(cents, grouped=grouped))
    assert amount == Decimal(cents).scaleb(-2)
    assert amount.as_tuple().exponent == -2
    assert parse_yuan(str(amount)) == amount
    assert round_yuan(amount) == amount


@given(CENTS, st.integers(min_value=1, max_value=9), st.integers(min_value=0, max_value=5))
def test_any_third_decimal_place_is_refused(cents: int, digit: int, zeros: int) -> None:
    text = written(cents) + "0" * zeros + str(digit)
    with pytest.raises(ValidationFailed) as excinfo:
        parse_yuan(text)
    assert excinfo.value.code == "money_precision"


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_is_a_type_error(value: float) -> None:
    with pytest.raises(TypeError):
        parse_yuan(value)  # type: ignore[arg-type]


@given(
    st.text(max_size=40)
    | st.from_regex(r"-?[0-9,]{0,32}(\.[0-9]{0,4})?([eE][+-]?[0-9]{1,3})?", fullmatch=True)
)
def test_any_text_is_an_amount_or_a_validation_error(text: str) -> None:
    """Bad input is never a 500: the only exception is the domain's own refusal."""
    try:
        amount = parse_yuan(text)
    except ValidationFailed as exc:
        assert exc.code in {"money_invalid", "money_precision"}
    else:
        assert amount.is_finite()
        assert amount.as_tuple().exponent == -2


@given(st.decimals(min_value=-(10**15), max_value=10**15, places=6, allow_nan=False, allow_infinity=False))
def test_round_yuan_is_nearest_cent_with_halves_away_from_zero(value: Decimal) -> None:
    rounded = round_yuan(value)
    assert rounded.as_tuple().exponent == -2
    error = abs(rounded - value)
    assert error <= CENT / 2
    if error == CENT / 2:
        assert abs(rounded) > abs(value)
    assert round_yuan(rounded) == rounded
