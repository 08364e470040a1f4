"""Property-based tests (hypothesis) for the pure functions that take whatever people type: the normaliser, the
question matcher, address routing and business-number validation.

"Any Unicode input" includes what Python strings can hold and JSON can carry: control characters, NUL, lone
surrogates, conjoining jamo, Hangul fillers, emoji with joiners. Time is bounded by bounding the input size
(the API accepts at most 2,000 characters for a question), never by a timed assertion (``deadline=None``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from api.centers import routing
from api.companies.validation import (InvalidBusinessNumber, InvalidPhone, business_number_check_digit,
                                      format_business_number, is_valid_business_number, normalize_business_number,
                                      normalize_phone)
from knowledge.matcher import Matcher
from knowledge.normalize import clean, compact, normalize

# HOTLINE_PROPERTY_EXAMPLES=2000 for a deeper run by hand.
EXAMPLES = int(os.environ.get("HOTLINE_PROPERTY_EXAMPLES", "150"))
PROPERTY = settings(deadline=None, max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
# Long inputs: no shrinking (it can take minutes on 2,000 characters); the failing input is printed as is.
SLOW_PROPERTY = settings(deadline=None, max_examples=max(EXAMPLES // 5, 10),
                         suppress_health_check=[HealthCheck.too_slow],
                         phases=[Phase.explicit, Phase.reuse, Phase.generate])

# --- strategies ---------------------------------------------------------------------------------------------

_SPECIAL = ["\x00", "\t", "\n", "\r", "\u200b", "\u200d", "\ufeff", "\u00ad", "\u3164", "\u115f", "\u1160",
            "\uffa0", "\ufe0f", "\U0001f600", "\U0001f44d\U0001f3fb", "㈜", "℃", "ｓｍａｒｔ", "！", "？", "~", "·", " "]
any_piece = st.one_of(
    st.characters(),                                                  # any code point except surrogates
    st.characters(categories=["Cs"]),                                 # lone surrogates
    st.characters(categories=["Cc"]),                                 # control characters, NUL
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),        # Hangul syllables
    st.characters(min_codepoint=0x3131, max_codepoint=0x318E),        # compatibility jamo (ㅋㅋ, ㅠㅠ)
    st.characters(min_codepoint=0x1100, max_codepoint=0x11FF),        # conjoining jamo
    st.sampled_from(_SPECIAL),
)
any_text = st.lists(any_piece, max_size=300).map("".join)
korean_words = st.lists(st.sampled_from(["스마트공장", "신청", "지원", "비율", "자부담", "어디서", "하나요", "얼마",
                                         "정부", "국비", "ㅋㅋ", "ㅠㅠ", "감사합니다", "안녕하세요", "?", "스공"]),
                        max_size=12).map(" ".join)
question_text = st.one_of(any_text, korean_words, st.tuples(korean_words, any_text).map("".join))


# --- the normaliser -----------------------------------------------------------------------------------------

@PROPERTY
@given(any_text)
@example("ＡＢＣ　스마트\u200b공장！！！")
@example("\ud800\x00ㅋㅋ")
def test_normalize_never_raises_and_is_canonical(text):
    normal = normalize(text)
    assert isinstance(normal, str)
    assert normal == normal.strip() and "  " not in normal
    assert not any(ch.isascii() and ch.isupper() for ch in normal)  # Latin is case-folded
    assert "\u200b" not in normal and "\ufeff" not in normal      # zero-width characters are removed
    assert not any(unicodedata.category(ch) == "Cs" for ch in normal)  # lone surrogates too (no tokenizer takes them)
    cleaned = clean(text)
    assert isinstance(cleaned, str) and cleaned == cleaned.strip()
    squeezed = compact(text)
    assert not any(ch.isspace() for ch in squeezed)
    assert compact(cleaned, cleaned=True) == squeezed


@PROPERTY
@given(korean_words)
def test_compact_ignores_spacing_between_words(words):
    assert compact(words) == compact(words.replace(" ", ""))


# --- the matcher --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def matcher() -> Matcher:
    from tests.kb.helpers import sample_entries

    return Matcher(sample_entries(), {"스마트공장": ["스공", "스마트 팩토리"]})


OUTCOMES = {"answered", "clarify", "escalate"}
KINDS = {"question", "greeting", "thanks", "chitchat", "empty"}


def _check_result(matcher: Matcher, text: str) -> None:
    result = matcher.match(text, today=dt.date(2026, 3, 2))
    assert result.outcome in OUTCOMES and result.kind in KINDS
    assert 0.0 <= result.score <= 1.0
    ids = {e.id for e in matcher.entries}
    if result.outcome == "answered":
        assert result.kind == "question" and result.entry is not None and result.entry.id in ids
    if result.kind != "question":  # courtesy and chatter are never answered, nor offered as choices
        assert result.outcome == "escalate" and not result.candidates
    assert len(result.candidates) <= 3 and all(c.entry_id in ids for c in result.candidates)
    assert matcher.match(text, today=dt.date(2026, 3, 2)) == result  # deterministic


@PROPERTY
@given(question_text)
@example("")
@example("\ud800")
@example("\x00\x00\x00")
@example("스마트공장 신청은 어디서 하나요?\ud83d")
def test_matcher_never_raises_on_any_text(matcher, text):
    _check_result(matcher, text)


@SLOW_PROPERTY
@given(st.lists(any_piece, min_size=1500, max_size=2000).map(lambda parts: "".join(parts)[:2000]))
def test_matcher_on_questions_of_the_maximum_length(matcher, text):
    _check_result(matcher, text)


# --- address routing ----------------------------------------------------------------------------------------

_REGIONS = json.loads((Path(routing.__file__).with_name("regions.json")).read_text(encoding="utf-8"))
ALL_CENTERS = set(routing.SIDO_CENTER.values()) | {"gyeonggi", "gyeonggi-daejin", "gyeongbuk", "pohang"}
OFFICIAL_PAIRS = sorted((sido, sigungu) for sido, names in _REGIONS["sigungu"].items() for sigungu in names)


@PROPERTY
@given(st.one_of(any_text, korean_words))
@example("경기")
@example("고성")
@example("\x00서울\ud800")
def test_resolve_never_raises_and_is_consistent(address):
    result = routing.resolve(address)
    assert result.status in ("routed", "ambiguous", "unknown")
    if result.route is not None:
        assert not result.candidates
        assert result.route.center_code in ALL_CENTERS
        assert result.route.region.sido in _REGIONS["sido"]
        assert result.route.center_code in routing.centers_for(result.route.region)
    else:
        assert len(result.candidates) != 1  # ambiguity means two or more
        assert len({c.center_code for c in result.candidates}) == len(result.candidates)
        assert all(c.center_code in ALL_CENTERS for c in result.candidates)


@PROPERTY
@given(st.sampled_from(OFFICIAL_PAIRS), st.sampled_from(["", " 1", " 123-45", " 산업로 77", " 2층"]))
def test_an_official_province_and_district_always_routes_by_the_rules(pair, rest):
    sido, sigungu = pair
    result = routing.resolve(f"{sido} {sigungu}{rest}")
    assert result.route is not None, (sido, sigungu, result)
    assert result.route.region.sido == sido
    assert result.route.center_code in routing.centers_for(routing.Region(sido, sigungu))


# --- business numbers and phone numbers ---------------------------------------------------------------------

nine_digits = st.text("0123456789", min_size=9, max_size=9)


def _with_check_digit(first_nine: str) -> str:
    return first_nine + str(business_number_check_digit(first_nine))


@PROPERTY
@given(nine_digits, st.sampled_from(["plain", "hyphens", "spaces", "fullwidth"]))
def test_a_number_with_its_check_digit_is_accepted(first_nine, form):
    digits = _with_check_digit(first_nine)
    typed = {"plain": digits, "hyphens": format_business_number(digits),
             "spaces": f"{digits[:3]} {digits[3:5]} {digits[5:]}",
             "fullwidth": digits.translate(str.maketrans("0123456789", "０１２３４５６７８９"))}[form]
    assert normalize_business_number(typed) == digits
    assert is_valid_business_number(typed)
    assert normalize_business_number(format_business_number(digits)) == digits


@PROPERTY
@given(nine_digits, st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_change_is_rejected(first_nine, position, delta):
    digits = _with_check_digit(first_nine)
    changed = digits[:position] + str((int(digits[position]) + delta) % 10) + digits[position + 1:]
    assert changed != digits
    assert not is_valid_business_number(changed)
    with pytest.raises(InvalidBusinessNumber):
        normalize_business_number(format_business_number(changed))


@PROPERTY
@given(st.one_of(any_text, st.text("0123456789-. ", max_size=16)))
def test_business_number_and_phone_validation_only_ever_refuse_with_a_422(raw):
    try:
        digits = normalize_business_number(raw)
    except InvalidBusinessNumber as exc:
        assert exc.status_code == 422 and exc.detail
    else:
        assert len(digits) == 10 and digits.isascii() and digits.isdigit()
        assert normalize_business_number(digits) == digits
    try:
        phone = normalize_phone(raw)
    except InvalidPhone as exc:
        assert exc.status_code == 422 and exc.detail
    else:
        assert phone.replace("-", "").isascii() and phone.replace("-", "").isdigit()
        assert normalize_phone(phone) == phone  # canonical


@PROPERTY
@given(st.sampled_from(["010", "011", "016", "017", "018", "019", "02", "031", "051", "064", "070"]),
       st.sampled_from([3, 4]), st.data(), st.sampled_from(["-", " ", "", "."]))
def test_korean_phone_numbers_in_any_usual_spelling(prefix, width, data, sep):
    width = 4 if prefix == "010" else width
    middle = data.draw(st.text("0123456789", min_size=width, max_size=width))
    last = data.draw(st.text("0123456789", min_size=4, max_size=4))
    typed = f"{prefix}{sep}{middle}{sep}{last}"
    canonical = normalize_phone(typed)
    assert canonical == f"{prefix}-{middle}-{last}"
    assert normalize_phone(f"+82 {prefix[1:]}{sep}{middle}{sep}{last}") == canonical
