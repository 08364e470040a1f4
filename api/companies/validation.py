"""Validation and normalisation of what owners type about their company: 사업자등록번호 and phone numbers.

Both functions accept whatever people type (hyphens, spaces, dots, full-width digits, ``+82``) and return
one canonical form, or raise a typed 422 with a Korean message that says what is wrong.
"""

from __future__ import annotations

import re
import unicodedata

from api.errors import Unprocessable

BUSINESS_NUMBER_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
# Separators people put between digit groups; anything else is an error, not silently dropped.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―.·()/]+")
_MAX_INPUT = 40


class InvalidBusinessNumber(Unprocessable):
    code = "invalid_business_number"
    detail = "사업자등록번호가 올바르지 않습니다. 10자리 숫자(예: 123-45-67890)를 확인해 주세요."


class InvalidPhone(Unprocessable):
    code = "invalid_phone"
    detail = "전화번호 형식이 올바르지 않습니다. 예: 010-1234-5678, 02-123-4567"


def _digits(raw: str, *, allow_plus: bool = False) -> str | None:
    """The digits of ``raw`` after removing separators, or None if anything else is in it."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if len(text) > _MAX_INPUT:
        return None
    if allow_plus and text.startswith("+"):
        text = "+" + _SEPARATORS.sub("", text[1:])
    else:
        text = _SEPARATORS.sub("", text)
    body = text[1:] if allow_plus and text.startswith("+") else text
    if not body or not body.isascii() or not body.isdigit():
        return None
    return text


def business_number_check_digit(first_nine: str) -> int:
    """The 10th digit of a 사업자등록번호 computed from its first nine (National Tax Service scheme)."""
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise ValueError("nine ASCII digits expected")
    digits = [int(c) for c in first_nine]
    total = sum(d * w for d, w in zip(digits, BUSINESS_NUMBER_WEIGHTS))
    total += (digits[8] * 5) // 10
    return (10 - total % 10) % 10


def is_valid_business_number(raw: str) -> bool:
    try:
        normalize_business_number(raw)
    except InvalidBusinessNumber:
        return False
    return True


def normalize_business_number(raw: str) -> str:
    """``"123-45-67891"`` → ``"1234567891"``; 422 unless it is 10 digits with a correct check digit."""
    if not isinstance(raw, str):
        raise InvalidBusinessNumber()
    digits = _digits(raw)
    if digits is None or len(digits) != 10:
        raise InvalidBusinessNumber("사업자등록번호는 숫자 10자리입니다. (예: 123-45-67890)")
    if business_number_check_digit(digits[:9]) != int(digits[9]):
        raise InvalidBusinessNumber("사업자등록번호의 마지막 자리(검증번호)가 맞지 않습니다. 번호를 다시 확인해 주세요.")
    return digits


def format_business_number(digits: str) -> str:
    """``"1234567891"`` → ``"123-45-67891"`` (display form)."""
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}" if len(digits) == 10 else digits


# Korean area codes (지역번호) other than Seoul's 02.
_AREA_CODES = frozenset({"031", "032", "033", "041", "042", "043", "044", "051", "052", "053", "054", "055",
                         "061", "062", "063", "064"})
_MOBILE_PREFIXES = frozenset({"010", "011", "016", "017", "018", "019"})
# 대표번호 (1588-xxxx etc.): eight digits starting with 15, 16 or 18.
_REPRESENTATIVE = re.compile(r"^1[568]\d{6}$")


def normalize_phone(raw: str) -> str:
    """A Korean phone number in its usual hyphenated form (``"010-1234-5678"``, ``"02-123-4567"``,
    ``"031-123-4567"``, ``"070-1234-5678"``, ``"1588-1234"``); ``+82`` is understood. 422 otherwise."""
    if not isinstance(raw, str):
        raise InvalidPhone()
    text = _digits(raw, allow_plus=True)
    if text is None:
        raise InvalidPhone()
    if text.startswith("+"):
        if not text.startswith("+82"):
            raise InvalidPhone("국내 전화번호만 입력할 수 있습니다. (예: 010-1234-5678)")
        rest = text[3:]
        text = rest if rest.startswith("0") else "0" + rest
    elif text.startswith("82") and len(text) in (11, 12) and text[2] != "0":
        text = "0" + text[2:]
    if _REPRESENTATIVE.match(text):
        return f"{text[:4]}-{text[4:]}"
    if text.startswith("02"):
        rest = text[2:]
        if len(rest) == 7:
            return f"02-{rest[:3]}-{rest[3:]}"
        if len(rest) == 8:
            return f"02-{rest[:4]}-{rest[4:]}"
        raise InvalidPhone()
    prefix, rest = text[:3], text[3:]
    if prefix in _MOBILE_PREFIXES:
        if prefix == "010" and len(rest) == 8:
            return f"010-{rest[:4]}-{rest[4:]}"
        if prefix != "010" and len(rest) in (7, 8):
            return f"{prefix}-{rest[:-4]}-{rest[-4:]}"
        raise InvalidPhone()
    if prefix in _AREA_CODES or prefix == "070":
        if len(rest) in (7, 8):
            return f"{prefix}-{rest[:-4]}-{rest[-4:]}"
        raise InvalidPhone()
    raise InvalidPhone()
