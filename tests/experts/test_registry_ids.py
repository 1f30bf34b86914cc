"""GB 11643 identity numbers: check character, validation, masking."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenderhall.experts.id_numbers import (
    id_number_check_character,
    id_number_problem,
    is_valid_id_number,
    make_id_number,
    mask_id_number,
    normalize_id_number,
)
from tests.experts.factories import expert_id_number


def test_the_standard_worked_example_passes() -> None:
    # GB 11643-1999 appendix example and a widely published one with an X check character.
    assert is_valid_id_number("11010519491231002X")
    assert id_number_check_character("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("value", "word"),
    [
        ("110105194912310021", "校验码"),  # wrong check character
        ("11010519491231002", "18位"),
        ("1101051949123100XX", "数字"),
        ("990105194912310029", "地址码"),  # no province 99
        ("110105194902300027", "出生日期"),  # 30 February
        ("110105189912310028", "出生日期"),  # before 1900
    ],
)
def test_bad_numbers_say_why(value: str, word: str) -> None:
    problem = id_number_problem(value)
    assert problem is not None and word in problem[0]


def test_a_birth_date_after_today_is_refused() -> None:
    value = make_id_number(born=dt.date(2030, 1, 1), sequence=1)
    assert id_number_problem(value) is None
    assert id_number_problem(value, today=dt.date(2026, 1, 1)) is not None


def test_normalize_accepts_full_width_and_lower_x() -> None:
    assert normalize_id_number(" １１０１０５１９４９１２３１００２x ") == "11010519491231002X"


def test_mask_keeps_address_and_last_four() -> None:
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("12345") == "1***5"
    assert mask_id_number("") == ""


@given(st.integers(min_value=0, max_value=2_000_000))
def test_factory_numbers_are_valid_and_distinct(n: int) -> None:
    assert is_valid_id_number(expert_id_number(n))
    assert expert_id_number(n) != expert_id_number(n + 1)


@given(st.integers(min_value=0, max_value=16), st.integers(min_value=0, max_value=9))
def test_any_single_digit_change_is_detected(position: int, digit: int) -> None:
    valid = "11010519491231002X"
    changed = valid[:position] + str(digit) + valid[position + 1 :]
    if changed != valid:
        assert id_number_check_character(changed[:17]) != "X"
