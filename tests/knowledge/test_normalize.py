"""Normalisation traps of phone-typed Korean."""
from __future__ import annotations

import unicodedata

from hypothesis import given, strategies as st

from knowledge.normalize import clean, compact, is_compat_jamo, jamo_noise, normalize


def test_laughter_and_emotion_jamo_are_noise():
    assert clean("심심하다 ㅋㅋㅋㅋ") == "심심하다"
    assert clean("구축 기간 연장 ㅠㅠ 되나요") == "구축 기간 연장 되나요"
    assert clean("ㅎㅎ 신청했어요ㅋ") == "신청했어요"
    assert jamo_noise("ㅋㅋㅋ 네") == 3


def test_compat_jamo_stay_compat_jamo_not_conjoining():
    # NFKC would turn ㅋ (U+314B) into the conjoining choseong U+110F.
    out = normalize("ㅋㅋ")
    assert out == "ㅋㅋ"
    assert all(is_compat_jamo(ch) for ch in out)
    assert unicodedata.normalize("NFKC", "ㅋㅋ") != out  # the trap this guards against


def test_compat_consonant_and_vowel_do_not_compose_into_a_syllable():
    # NFKC composes ㅎ + ㅏ into 하; typed jamo must stay letters (and are noise in clean).
    assert normalize("ㅎㅏ") == "ㅎㅏ"
    assert clean("ㅎㅏ") == ""


def test_nfd_input_becomes_nfc_syllables():
    composed = "스마트공장 지원금 얼마예요"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert normalize(decomposed) == composed
    assert compact(decomposed) == compact(composed)


def test_orphan_conjoining_jamo_become_compat_jamo():
    # A half-typed syllable (conjoining choseong alone) ends up in the compatibility block.
    assert normalize("신청\u1100") == "신청ㄱ"
    assert clean("신청\u1100") == "신청"


def test_halfwidth_and_enclosed_jamo_map_to_compat_jamo():
    assert normalize("\uffa1\uffa1") == "ㄱㄱ"  # halfwidth kiyeok
    assert normalize("\u3260") == "ㄱ"  # circled kiyeok


def test_full_width_forms_and_case():
    assert normalize("ＭＥＳ　도입　가능？") == "mes 도입 가능?"
    assert normalize("ERP랑 Mes") == "erp랑 mes"
    assert compact("ＭＥＳ") == compact("mes") == "mes"


def test_compatibility_symbols_are_spelled_out():
    assert normalize("㈜한국 ①번") == "(주)한국 1번"


def test_zero_width_and_format_characters_are_removed():
    assert normalize("스마트\u200b공장\u200d지원\ufeff금\u00ad") == "스마트공장지원금"
    assert normalize("\u2060신청\u200c방법") == "신청방법"


def test_hangul_filler_is_a_space():
    assert normalize("\u3164\u3164안녕\u3164하세요") == "안녕 하세요"


def test_emoji_removed_and_punctuation_runs_collapse():
    assert normalize("신청방법 😀👍🏻 알려주세요!!!") == "신청방법 알려주세요!"
    assert normalize("언제요???") == "언제요?"
    assert normalize("네~~~ ❤️") == "네~"


def test_spacing_insensitive_form():
    assert compact("스마트 공장 지원금 얼마?") == compact("스마트공장지원금얼마") == "스마트공장지원금얼마"
    assert compact("  정부 지원 비율, 50%!") == "정부지원비율50"


def test_meaningful_jamo_abbreviations_are_spelled_out():
    assert clean("ㄱㅅ") == "감사"
    assert clean("ㄳㄳ") == "감사"
    assert clean("ㅎㅇ") == "하이"


@given(st.text(max_size=40))
def test_normalisation_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once
    cleaned = clean(text)
    assert clean(cleaned) == cleaned
    assert compact(cleaned, cleaned=True) == compact(text)
    assert not any(ch.isspace() for ch in compact(text))


@given(st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), max_size=20))
def test_nfd_round_trip_on_syllables(text):
    assert normalize(unicodedata.normalize("NFD", text)) == text
