"""Unicode normalisation for colloquial Korean typed on phones.

Three levels, each building on the previous one:

``normalize(text)``
    Canonical Unicode form. NFKC is applied everywhere *except* to Hangul compatibility
    jamo (U+3131..U+318E: ㅋㅋ, ㅎㅎ, ㅠㅠ ...). NFKC maps those to *conjoining* jamo, and a
    compatibility consonant followed by a compatibility vowel (``ㅎㅏ``) would then compose
    into a syllable (``하``); laughter such as ``ㅋㅋ`` would become invisible conjoining
    letters that no tokenizer understands. Halfwidth (U+FFA0..) and circled/parenthesised
    jamo are mapped to compatibility jamo as well, so every stand-alone jamo ends up in
    one block. Decomposed (NFD) syllables are composed (NFC), orphan conjoining jamo are
    mapped to compatibility jamo, zero-width/format characters and emoji are removed,
    Hangul fillers become spaces, Latin is case-folded, runs of the same punctuation
    (``???``, ``!!!``, ``~~~``) collapse to one and whitespace is collapsed.

``clean(text)``
    ``normalize`` plus removal of jamo noise (laughter/emotion: ㅋㅋ, ㅎㅎ, ㅠㅠ, ㅜㅜ, ㄷㄷ,
    ㅡㅡ ...). A few jamo abbreviations that carry meaning for the hotline (ㄱㅅ/ㄳ = 감사,
    ㅎㅇ = 하이, ㅇㅋ = 오케이) are spelled out first. This is what the matcher analyses.

``compact(text)``
    ``clean`` without any whitespace or punctuation: the spacing-insensitive form used for
    character n-grams and fuzzy comparison (``스마트 공장`` == ``스마트공장``).
"""
from __future__ import annotations

import re
import unicodedata

__all__ = [
    "normalize",
    "clean",
    "compact",
    "is_compat_jamo",
    "jamo_noise",
]

_COMPAT_JAMO_FIRST, _COMPAT_JAMO_LAST = 0x3131, 0x318E
_HANGUL_FILLERS = {"\u3164", "\u115f", "\u1160", "\uffa0"}


def is_compat_jamo(ch: str) -> bool:
    """True for a Hangul compatibility jamo (U+3131..U+318E)."""
    return _COMPAT_JAMO_FIRST <= ord(ch) <= _COMPAT_JAMO_LAST


def _build_jamo_tables() -> tuple[dict[str, str], dict[str, str]]:
    """(to_compat for characters that must never go through NFKC, orphan conjoining -> compat)."""
    conj_to_compat: dict[str, str] = {}
    for cp in range(_COMPAT_JAMO_FIRST, _COMPAT_JAMO_LAST + 1):
        ch = chr(cp)
        if ch in _HANGUL_FILLERS:
            continue
        conj = unicodedata.normalize("NFKC", ch)
        if len(conj) == 1 and conj != ch:
            conj_to_compat.setdefault(conj, ch)
    # Jongseong / extended conjoining letters share names with the compatibility letters.
    for block in (range(0x1100, 0x1200), range(0xA960, 0xA980), range(0xD7B0, 0xD800)):
        for cp in block:
            ch = chr(cp)
            if ch in conj_to_compat or ch in _HANGUL_FILLERS:
                continue
            name = unicodedata.name(ch, "")
            for part in ("CHOSEONG ", "JUNGSEONG ", "JONGSEONG "):
                if part in name:
                    try:
                        conj_to_compat[ch] = unicodedata.lookup(
                            "HANGUL LETTER " + name.split(part, 1)[1])
                    except KeyError:
                        pass
                    break
    # Halfwidth and enclosed jamo decompose (NFKC) to conjoining jamo: send them to the
    # compatibility block directly instead.
    pre: dict[str, str] = {}
    for block in (range(0xFFA1, 0xFFDD), range(0x3200, 0x320E), range(0x3260, 0x326E)):
        for cp in block:
            ch = chr(cp)
            decomposed = unicodedata.normalize("NFKC", ch).strip("()")
            if len(decomposed) == 1 and decomposed in conj_to_compat:
                pre[ch] = conj_to_compat[decomposed]
    return pre, conj_to_compat


_PRE_MAP, _CONJ_TO_COMPAT = _build_jamo_tables()

# Characters whose NFKC form must not be computed: compatibility jamo (kept), plus the
# halfwidth/enclosed jamo mapped above. Splitting on them keeps NFKC from composing
# compatibility letters into syllables.
_PROTECTED_RE = re.compile("([\u3131-\u318e]+)")
_WS_RE = re.compile(r"\s+")
# The same punctuation/symbol character repeated: ???, !!!, ~~~, ...., ,,,
_PUNCT_RUN_RE = re.compile(r"([^\w\s])\1+")
# Runs of compatibility jamo (after abbreviation expansion): laughter/emotion noise.
_JAMO_RUN_RE = re.compile("[\u3131-\u318e]+")
_NON_WORD_RE = re.compile(r"[\W_]+")

# Jamo abbreviations that carry meaning for greeting/thanks detection. Keys are whole
# jamo runs; anything else made of compatibility jamo is noise.
_JAMO_ABBREVIATIONS = {
    "ㄱㅅ": "감사",
    "ㄳ": "감사",
    "ㄱㅅㄱㅅ": "감사",
    "ㄳㄳ": "감사",
    "ㄱㅅㅎㄴㄷ": "감사합니다",
    "ㄱㅅㅎㅂㄴㄷ": "감사합니다",
    "ㄱㅁ": "고마워",
    "ㅎㅇ": "하이",
    "ㅎㅇㅎㅇ": "하이",
    "ㅇㅋ": "오케이",
    "ㅇㅋㅇㅋ": "오케이",
    "ㅇㅇ": "응",
    "ㄴㄴ": "아니",
    "ㅂㅇ": "바이",
    "ㅂㅂ": "바이",
    "ㅈㅅ": "죄송",
}


def _drop_char(ch: str, *, after_nfkc: bool = True) -> bool:
    """Zero-width/format characters, variation selectors, emoji and pictographs.

    Before NFKC (``after_nfkc=False``) a symbol with a compatibility decomposition
    (㈜ -> (주), ℃ -> °C) is kept so that NFKC can spell it out.
    """
    cat = unicodedata.category(ch)
    if cat in ("Cf", "Cs"):  # ZWSP, ZWJ, ZWNJ, word joiner, BOM, soft hyphen, bidi marks; lone surrogates
        return True
    cp = ord(ch)
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:  # variation selectors
        return True
    if 0x1F3FB <= cp <= 0x1F3FF:  # emoji skin tones (category Sk)
        return True
    if cat == "So":  # emoji, dingbats, hearts, stars ... (enclosed jamo handled before)
        return after_nfkc or not unicodedata.decomposition(ch)
    return False


# Text made only of these needs no per-character work (most messages): printable ASCII,
# Hangul syllables, the middle dot.
_PLAIN_RE = re.compile("[\u0020-\u007e\uac00-\ud7a3\u00b7]*")


def normalize(text: str) -> str:
    """Canonical Unicode form of ``text`` (see module docstring). Never raises on str input."""
    if not text:
        return ""
    if _PLAIN_RE.fullmatch(text):
        text = _PUNCT_RUN_RE.sub(r"\1", text.lower())
        return _WS_RE.sub(" ", text).strip()
    chars = []
    for ch in text:
        mapped = _PRE_MAP.get(ch)
        if mapped is not None:
            chars.append(mapped)
        elif ch in _HANGUL_FILLERS:
            chars.append(" ")
        elif _drop_char(ch, after_nfkc=False):
            continue
        else:
            chars.append(ch)
    text = "".join(chars)
    # NFKC outside the compatibility-jamo runs only.
    parts = _PROTECTED_RE.split(text)
    for i in range(0, len(parts), 2):  # even indices: unprotected text
        if parts[i]:
            part = unicodedata.normalize("NFKC", parts[i])
            # Orphan conjoining jamo (typed half-syllables, archaic letters) -> compatibility.
            if any("\u1100" <= c <= "\u11ff" or "\ua960" <= c <= "\ua97f"
                   or "\ud7b0" <= c <= "\ud7ff" for c in part):
                part = "".join(_CONJ_TO_COMPAT.get(c, c) for c in part)
                part = "".join(" " if c in _HANGUL_FILLERS else c for c in part)
            # NFKC can expose format characters or emoji hidden in compatibility forms.
            parts[i] = "".join(c for c in part if not _drop_char(c))
    text = "".join(parts).casefold()
    text = _PUNCT_RUN_RE.sub(r"\1", text)
    return _WS_RE.sub(" ", text).strip()


def _expand_or_drop_jamo(match: re.Match[str]) -> str:
    word = _JAMO_ABBREVIATIONS.get(match.group(0))
    return f" {word} " if word else " "


def clean(text: str) -> str:
    """``normalize`` + jamo abbreviations spelled out + jamo noise (ㅋㅋ, ㅠㅠ ...) removed."""
    text = _JAMO_RUN_RE.sub(_expand_or_drop_jamo, normalize(text))
    return _WS_RE.sub(" ", text).strip()


def compact(text: str, *, cleaned: bool = False) -> str:
    """Spacing- and punctuation-insensitive form of ``clean(text)``.

    Pass ``cleaned=True`` when ``text`` already is the output of ``clean`` (saves the work).
    """
    return _NON_WORD_RE.sub("", text if cleaned else clean(text))


def jamo_noise(text: str) -> int:
    """Number of compatibility jamo in ``normalize(text)`` that ``clean`` drops as noise."""
    n = 0
    for m in _JAMO_RUN_RE.finditer(normalize(text)):
        if m.group(0) not in _JAMO_ABBREVIATIONS:
            n += len(m.group(0))
    return n
