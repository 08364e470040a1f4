"""Checks the bot makes on what owners type before sending it on (the API validates again)."""

from __future__ import annotations

import re
import unicodedata

_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―.·()/]+")


def normalise_business_number(raw: str) -> str | None:
    """The 10 digits of a valid 사업자등록번호 (hyphens, spaces and full-width digits allowed), or None."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or "").strip())
    if len(text) != 10 or not text.isascii() or not text.isdigit():
        return None
    digits = [int(c) for c in text]
    total = sum(d * w for d, w in zip(digits[:9], _WEIGHTS)) + (digits[8] * 5) // 10
    return text if (10 - total % 10) % 10 == digits[9] else None


def format_business_number(digits: str) -> str:
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}" if len(digits) == 10 else digits
