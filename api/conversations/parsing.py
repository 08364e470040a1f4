"""Reading what owners type at the steps that expect data: a business number, a company name, yes or no, and
whether a message reads as a question rather than as the data asked for. Pure functions."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from api.companies.validation import business_number_check_digit

MAX_COMPANY_NAME = 100

YES = frozenset({"네", "예", "응", "ㅇㅇ", "넵", "네네", "접수", "접수해주세요", "접수해줘", "접수요", "좋아요", "확인", "그래요",
                 "맞아요", "yes", "ok", "y"})
NO = frozenset({"아니요", "아니오", "아뇨", "아니", "ㄴㄴ", "취소", "취소할게요", "안할게요", "no", "n"})
DONT_KNOW = frozenset({"몰라요", "모름", "모르겠어요", "없어요", "없음", "패스", "건너뛰기", "스킵", "skip", "나중에"})

# Questions end like this (after the punctuation is gone), or carry one of these words.
_QUESTION_END = re.compile(r"(나요|까요|까|가요|인가요|은가요|는가요|던가요|는지요|는지|을지|ㄹ지|니|냐|건가|건지|래요|대요|죠)$")
_INTERROGATIVE = re.compile(r"(뭐|뭔|뭘|무엇|무슨|어떻게|어떡|어떤|어때|어느|언제|얼마|어디|왜|누가|누구|몇|되나|있나|없나|하나|할까|될까|가능)")
_COMPANY_AFFIXES = re.compile(r"^(저희\s*)?(회사\s*(이름|명)?\s*(은|는|이|가)?|상호\s*(는|은)?|업체\s*(명|이름)?\s*(은|는)?)\s*")
_COMPANY_TAIL = re.compile(r"\s*(이라고\s*합니다|라고\s*합니다|입니다|이에요|예요|이요|요|임|이고요|이구요)\s*[.!~]*$")


def compact(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", unicodedata.normalize("NFKC", text)).lower()


def is_yes(text: str) -> bool:
    return compact(text) in {compact(w) for w in YES}


def is_no(text: str) -> bool:
    return compact(text) in {compact(w) for w in NO}


def is_dont_know(text: str) -> bool:
    return compact(text) in {compact(w) for w in DONT_KNOW}


def question_form(text: str) -> bool:
    """Whether ``text`` is worded as a question: a question mark, an interrogative word, or a question ending
    (``"대흥정밀이에요"`` is not; ``"지원금 얼마예요"``, ``"신청할 수 있나요"`` are)."""
    flat = unicodedata.normalize("NFKC", text).strip()
    if "?" in flat or "？" in flat:
        return True
    if _INTERROGATIVE.search(flat):
        return True
    return _QUESTION_END.search(re.sub(r"[\s.!~…ㅠㅜㅎㅋ^]+$", "", flat)) is not None


@dataclass(frozen=True)
class BusinessNumber:
    """What was typed at the business-number step."""

    status: Literal["ok", "digits", "checksum", "not_a_number"]
    digits: str = ""
    count: int = 0  # digits found (status "digits": not ten)


def read_business_number(text: str) -> BusinessNumber:
    """A 사업자등록번호 as typed (hyphens, spaces, full-width digits): valid, the wrong number of digits, a wrong
    check digit, or no number at all."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isascii() and ch.isdigit())
    if not digits:
        return BusinessNumber("not_a_number")
    if len(digits) != 10:
        return BusinessNumber("digits", count=len(digits))
    if business_number_check_digit(digits[:9]) != int(digits[9]):
        return BusinessNumber("checksum", digits=digits, count=10)
    return BusinessNumber("ok", digits=digits, count=10)


def company_name(text: str) -> str:
    """The company name in ``"회사는 대흥정밀이에요"`` (``"대흥정밀"``); the text itself when it is just a name."""
    name = unicodedata.normalize("NFC", text).strip()
    name = _COMPANY_AFFIXES.sub("", name)
    name = _COMPANY_TAIL.sub("", name).strip(" .,!~\"'“”‘’")
    return name or text.strip()


_NAMED_COMPANY = re.compile(
    r"(?:회사\s*(?:이름|명)?\s*(?:은|는)|상호\s*(?:는|은)|업체\s*(?:명|이름)\s*(?:은|는))\s*"
    r"([^\s,.!?]{2,30}?)\s*(?:이에요|예요|입니다|이고|이구요|인데요?|이요)(?=[\s,.!?]|$)"
    r"|(\(주\)\s*[^\s,.!?]{2,30}|주식회사\s*[^\s,.!?]{2,30}|[^\s,.!?]{2,30}\s*\(주\))")


def company_in_question(text: str) -> str | None:
    """A company name the owner gave inside a question ("회사는 대흥정밀이에요", "(주)대흥정밀인데요"), or None."""
    match = _NAMED_COMPANY.search(unicodedata.normalize("NFC", text))
    if match is None:
        return None
    name = (match.group(1) or match.group(2) or "").strip()
    name = re.sub(r"(인데요?|이에요|예요|입니다|이고|에서)$", "", name).strip()
    return name if 2 <= len(name) <= MAX_COMPANY_NAME else None
