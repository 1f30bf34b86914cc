"""统一社会信用代码 (GB 32100-2015) validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenderhall.core.ids import (
    USCC_CHARSET,
    USCC_WEIGHTS,
    is_valid_uscc,
    make_uscc,
    normalize_uscc,
    org_code_check_character,
    uscc_check_character,
    uscc_problem,
)

# Published codes, each checked by hand against both algorithms and found in public sources.
REAL_CODES = [
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 腾讯科技（深圳）有限公司
    "91330100799655058B",  # 阿里巴巴（中国）有限公司
    "9111000071093123XX",  # 国家电网有限公司 (org-code check character X, then check character X)
    "91350100M000100Y43",  # the worked example in GB 32100-2015
    # from python-stdnum's corpus of codes found online (tests/test_cn_uscc.doctest):
    "91110000600037341L",
    "91110000710926094P",
    "121200004013590816",  # category 12: public institution (事业单位)
    "91310115MA1K3BTP2B",  # post-2015 "MA" organization code
    "91340600MA2PBM9HXD",
    "92340603MA2PBQ16XJ",  # category 92: individual business (个体工商户)
    "91620105L015101280",
    "9144030071526726XG",
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert uscc_problem(code) is None
    assert is_valid_uscc(code)
    assert uscc_check_character(code[:17]) == code[17]
    assert org_code_check_character(code[8:16]) == code[16]
    assert make_uscc(code[:17]) == code
    assert make_uscc(code[:16]) == code


def test_weights_are_powers_of_three_mod_31() -> None:
    assert USCC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(USCC_CHARSET) == 31 and not set("IOZSV") & set(USCC_CHARSET)


def test_check_character_31_is_written_0() -> None:
    # sum of values * weights is ≡ 0 (mod 31) for an all-zero prefix: 31 - 0 = 31 → "0"
    assert uscc_check_character("0" * 17) == "0"


@pytest.mark.parametrize("code", ["", "9144030019220382", "91440300192203821", "9144030019220382166"])
def test_wrong_length(code: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None
    assert "18位" in problem[0] and f"{len(code)}位" in problem[0]
    assert "18 characters" in problem[1]
    assert not is_valid_uscc(code)


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_excluded_letters(letter: str) -> None:
    code = "91440300708461136" + letter
    problem = uscc_problem(code)
    assert problem is not None
    assert "第18位" in problem[0] and letter in problem[0]
    assert "Position 18" in problem[1] and "I, O, Z, S or V" in problem[1]


@pytest.mark.parametrize(
    ("code", "position", "zh", "en"),
    [
        ("91440300708461136t", 18, "小写", "lower-case"),
        ("91440300O922038216", 9, "I、O、Z、S、V", "I, O, Z, S or V"),
        ("91440300 922038216", 9, "空白", "whitespace"),
        ("91440300\t922038216", 9, "空白", "whitespace"),
        ("91440300-922038216", 9, "不是有效字符", "not allowed"),
        ("91440300１922038216", 9, "全角", "full-width"),
        ("9144030０1922038216", 8, "全角", "full-width"),
        ("91440300×922038216", 9, "不是有效字符", "not allowed"),
    ],
)
def test_bad_characters_name_their_position(code: str, position: int, zh: str, en: str) -> None:
    assert len(code) == 18
    problem = uscc_problem(code)
    assert problem is not None
    assert f"第{position}位" in problem[0] and zh in problem[0]
    assert f"Position {position}" in problem[1] and en in problem[1]
    assert not is_valid_uscc(code)


def test_lowercase_is_rejected_but_normalizes() -> None:
    assert not is_valid_uscc("91440300708461136t")
    assert not is_valid_uscc("91340600ma2pbm9hxd")
    assert normalize_uscc("  91340600ma2pbm9hxd\n") == "91340600MA2PBM9HXD"
    assert normalize_uscc("\u3000９１３４０６００ＭＡ２ＰＢＭ９ＨＸＤ ") == "91340600MA2PBM9HXD"
    assert is_valid_uscc(normalize_uscc("91340600ma2pbm9hxd"))


def test_division_code_must_be_digits() -> None:
    code = make_uscc("9144030" + "0" + "19220382")
    assert is_valid_uscc(code)
    bad = "91A" + code[3:17]
    bad += uscc_check_character(bad)
    problem = uscc_problem(bad)
    assert problem is not None
    assert "第3位" in problem[0] and "行政区划码" in problem[0]
    assert "position 3" in problem[1]


def test_letters_allowed_in_positions_1_and_2() -> None:
    # e.g. registration authority N (农业) with category 2; the division code stays numeric
    assert is_valid_uscc(make_uscc("N2440300" + "MA5FXXXX"))


def test_wrong_check_character_names_the_expected_one() -> None:
    problem = uscc_problem("914403001922038217")
    assert problem == (
        "校验码不符：按前17位计算，第18位应为“6”，实际为“7”。请核对是否有字符抄错。",
        "Check character mismatch: from the first 17 characters, position 18 should be '6', not '7'. "
        "Check the code for a mistyped character.",
    )


def test_wrong_org_code_check_character() -> None:
    # a code whose GB 32100 check character is right but whose organization code does not check
    first17 = "91440300192203820"
    code = first17 + uscc_check_character(first17)
    problem = uscc_problem(code)
    assert problem is not None
    assert "第17位应为“1”" in problem[0] and "position 17 should be '1'" in problem[1]
    assert not is_valid_uscc(code)


def test_make_uscc_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="17"):
        uscc_check_character("9144030019220382")
    with pytest.raises(ValueError):
        uscc_check_character("9144030019220382I")
    with pytest.raises(ValueError, match="16 or 17"):
        make_uscc("91440300")
    with pytest.raises(ValueError, match="position 17"):
        make_uscc("91440300192203820")  # wrong organization-code check character
    with pytest.raises(ValueError, match="Positions 3-8"):
        make_uscc("914A0300" + "19220382")
    with pytest.raises(ValueError):
        org_code_check_character("1922038")


# -- properties -------------------------------------------------------------------------------------

_chars = st.sampled_from(USCC_CHARSET)
_digits = st.sampled_from("0123456789")
prefixes16 = st.tuples(
    st.text(_chars, min_size=2, max_size=2),
    st.text(_digits, min_size=6, max_size=6),
    st.text(_chars, min_size=8, max_size=8),
).map("".join)


@given(prefixes16)
def test_make_uscc_is_always_valid(prefix: str) -> None:
    code = make_uscc(prefix)
    assert code.startswith(prefix) and len(code) == 18
    assert uscc_problem(code) is None
    assert make_uscc(code[:17]) == code


@given(prefixes16, st.integers(0, 17), _chars)
def test_any_single_substitution_is_detected(prefix: str, index: int, replacement: str) -> None:
    code = make_uscc(prefix)
    if code[index] == replacement:
        return
    changed = code[:index] + replacement + code[index + 1 :]
    assert not is_valid_uscc(changed)


@given(prefixes16, st.integers(0, 16), st.integers(0, 16))
def test_any_swap_within_the_first_17_is_detected(prefix: str, i: int, j: int) -> None:
    code = make_uscc(prefix)
    if code[i] == code[j]:
        return
    chars = list(code)
    chars[i], chars[j] = chars[j], chars[i]
    assert not is_valid_uscc("".join(chars))


@given(st.text(max_size=20))
def test_problem_and_validity_agree_on_any_text(text: str) -> None:
    problem = uscc_problem(text)
    assert is_valid_uscc(text) is (problem is None)
    if problem is not None:
        zh, en = problem
        assert zh and en
