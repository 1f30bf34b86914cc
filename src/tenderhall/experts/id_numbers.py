"""居民身份证号码 (citizen identity number) per GB 11643-1999.

Pure functions, no Django: used by the expert import, the forms, the API and the test factories.

Layout of the 18 characters::

    1-6    address code (行政区划代码, GB/T 2260)
    7-14   date of birth YYYYMMDD
    15-17  sequence code (odd for men, even for women)
    18     check character: ISO 7064 MOD 11-2 over positions 1-17 with weights 2**(17-i) mod 11,
           ``(12 - sum mod 11) mod 11``, the value 10 written ``X``

Canonical form is ASCII digits with an upper-case ``X``; :func:`normalize_id_number` produces it.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

__all__ = [
    "ID_NUMBER_LENGTH",
    "id_number_check_character",
    "id_number_problem",
    "is_valid_id_number",
    "make_id_number",
    "mask_id_number",
    "normalize_id_number",
]

ID_NUMBER_LENGTH = 18
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, ...
_CHECK = "10X98765432"  # index = sum mod 11
# First two digits: province-level codes of GB/T 2260 (incl. 71 台湾, 81 香港, 82 澳门).
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
     53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)  # fmt: skip

Problem = tuple[str, str]  # (Chinese, English)


def normalize_id_number(raw: str) -> str:
    """Canonical form of user input: NFKC (full-width digits → ASCII), outer spaces stripped,
    ``x`` upper-cased."""
    return unicodedata.normalize("NFKC", raw).strip().upper()


def id_number_check_character(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits (``ValueError`` on anything else)."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError(f"need 17 ASCII digits, got {first17!r}")
    total = sum(int(ch) * weight for ch, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def id_number_problem(value: str, *, today: dt.date | None = None) -> Problem | None:
    """Why ``value`` (canonical form) is not a valid identity number, or None if it is.

    ``today`` bounds the date of birth (no one is born in the future)."""
    if len(value) != ID_NUMBER_LENGTH:
        return (
            f"身份证号应为18位，实为{len(value)}位",
            f"ID number must have 18 characters, not {len(value)}",
        )
    body, check = value[:17], value[17]
    if not (body.isascii() and body.isdigit()) or not (check.isdigit() or check == "X"):
        return ("身份证号只能包含数字，末位可为X", "ID number must be digits, the last may be X")
    if int(body[:2]) not in _PROVINCES:
        return ("身份证号地址码无效", "ID number has an unknown address code")
    try:
        born = dt.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return ("身份证号出生日期无效", "ID number has an impossible date of birth")
    if born.year < 1900 or (today is not None and born > today):
        return ("身份证号出生日期无效", "ID number has an impossible date of birth")
    if id_number_check_character(body) != check:
        return ("身份证号校验码错误（GB 11643）", "ID number check character is wrong (GB 11643)")
    return None


def is_valid_id_number(value: str) -> bool:
    return id_number_problem(value) is None


def make_id_number(*, address: str = "320102", born: dt.date, sequence: int) -> str:
    """A valid number for demo data and factories (``sequence`` 0-999)."""
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be 0-999")
    first17 = f"{address}{born:%Y%m%d}{sequence:03d}"
    return first17 + id_number_check_character(first17)


def mask_id_number(value: str) -> str:
    """Address code and the last four characters stay, the rest is starred: 110101********123X.

    Shorter or odd values (never stored, but shown in import reports) keep at most their first
    and last character."""
    if len(value) == ID_NUMBER_LENGTH:
        return value[:6] + "*" * 8 + value[-4:]
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]
