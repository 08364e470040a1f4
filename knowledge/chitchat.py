"""Greetings, thanks and small talk: messages that are not programme questions.

The matcher never answers these with a knowledge-base entry. ``small_talk_kind`` tells a
message that is *only* a greeting / thanks / farewell (possibly with fillers such as
네, 넵, 정말, 많이 and laughter) from a question; ``strip_courtesy`` removes a greeting or
thanks wrapped around a real question (``안녕하세요, 신청은 어디서 해요? 감사합니다``) so it
does not disturb matching; ``is_small_talk`` tells everyday chatter (``점심 뭐 먹지``,
``심심하다``) from an out-of-scope *business* question (``부가세 신고 기한``), which a person
at the centre should still see.
"""
from __future__ import annotations

import re

from .normalize import compact

__all__ = ["small_talk_kind", "strip_courtesy", "is_small_talk", "BUSINESS_WORDS"]

_GREETINGS = (
    "안녕하세요", "안녕하십니까", "안녕하세여", "안녕하세용", "안녕하신가요", "안녕", "안뇽", "하이",
    "하이요", "헬로", "hello", "hi", "hey", "반가워요", "반갑습니다", "반가워", "처음뵙겠습니다",
    "좋은아침", "좋은아침입니다", "좋은아침이에요", "좋은하루", "여보세요", "계세요", "계신가요",
    "저기요", "실례합니다", "수고하십니다", "수고많으십니다", "수고많으세요", "문의드립니다",
    "문의드려요", "질문있어요", "질문있습니다", "질문좀", "물어볼게있어요", "궁금한게있어요",
)
_THANKS = (
    "감사합니다", "감사해요", "감사드립니다", "감사드려요", "감사", "감사요", "감사염", "고마워요",
    "고마워", "고맙습니다", "고마워용", "고맙네요", "땡큐", "thankyou", "thanks", "thank", "thx",
    "수고하세요", "수고하셨습니다", "수고하셨어요", "수고많으셨습니다", "수고", "잘알겠습니다",
    "알겠습니다", "알겠어요", "알겠어", "알았어요", "알았어", "이해했어요", "이해했습니다",
    "안녕히계세요", "안녕히가세요", "좋은하루되세요", "좋은하루보내세요", "덕분에", "도움이됐어요",
    "도움이되었습니다", "도움됐어요", "도움이많이됐어요", "오케이", "ok", "okay", "좋아요", "좋네요",
    "확인했습니다", "확인했어요", "바이", "bye",
)
_FILLERS = (
    "네", "넵", "넹", "예", "응", "아", "아하", "오", "와", "우와", "음", "저", "정말", "진짜", "너무",
    "많이", "대단히", "매우", "아주", "요", "님", "상담원님", "선생님", "여러분", "그럼", "그럼요",
    "혹시", "다들", "잘", "또", "하하", "헤헤", "히히", "앞으로도", "오늘도", "항상",
    "친절한", "답변", "설명", "빠른",
)


def _alternation(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_GREET_ALT = _alternation(_GREETINGS)
_THANKS_ALT = _alternation(_THANKS)
_ONLY_COURTESY_RE = re.compile(
    f"(?:{_THANKS_ALT}|{_GREET_ALT}|{_alternation(_FILLERS)})+")
_HAS_THANKS_RE = re.compile(_THANKS_ALT)


def small_talk_kind(text: str, *, cleaned: bool = False) -> str | None:
    """``"greeting"``, ``"thanks"`` (thanks, farewell, acknowledgement) or ``None``.

    ``text`` is raw user text (or the output of ``clean``, with ``cleaned=True``); the
    decision is made on its compact form, so ``안녕 하세요~~``, ``감사합니다ㅎㅎ`` and ``ㄱㅅ`` are
    recognised; a message with anything beyond courtesy words and fillers is not small talk.
    """
    c = compact(text, cleaned=cleaned)
    if not c or not _ONLY_COURTESY_RE.fullmatch(c):
        return None
    if _HAS_THANKS_RE.search(c):  # thanks, farewell (안녕히 계세요), acknowledgement
        return "thanks"
    if re.search(_GREET_ALT, c):
        return "greeting"
    return None  # fillers only (네, 음 ...)


def _spaced(word: str) -> str:
    return r"\s*".join(re.escape(ch) for ch in word)


_COURTESY_PHRASE = "|".join(_spaced(w) for w in sorted(set(_GREETINGS + _THANKS), key=len,
                                                        reverse=True) if len(w) > 2)
_SEP = r"[\s,.!?~^;:]*"
_LEADING_RE = re.compile(rf"^(?:(?:{_COURTESY_PHRASE}){_SEP})+")
_TRAILING_RE = re.compile(rf"(?:{_SEP}(?:{_COURTESY_PHRASE}))+{_SEP}$")


def strip_courtesy(text: str) -> str:
    """Cleaned ``text`` without a leading greeting or trailing thanks around a question.

    Only courtesy phrases of 3+ characters are stripped (``감사`` alone may mean an audit).
    Returns ``text`` unchanged when nothing else would be left.
    """
    out = _LEADING_RE.sub("", text, count=1)
    out = _TRAILING_RE.sub("", out, count=1).strip()
    return out if compact(out, cleaned=True) else text


# Words of business/administration. A message with none of them and no programme
# vocabulary is everyday chatter (kind "chitchat"); with one it stays a question that a
# person at the centre sees (kind "question", escalated).
BUSINESS_WORDS: tuple[str, ...] = (
    "회사", "기업", "업체", "공장", "사업", "지원", "신청", "세금", "세무", "부가세", "소득세", "법인",
    "대출", "자금", "융자", "보증", "인증", "특허", "고용", "채용", "근로", "직원", "급여", "임금",
    "보험", "연금", "계약", "수출", "수입", "납품", "제조", "생산", "설비", "장비", "정부", "정책",
    "공고", "보조금", "지원금", "센터", "담당", "상담", "서류", "등록", "허가", "신고", "매출",
    "비용", "견적", "예산", "협약", "구축", "시스템", "솔루션", "컨설팅", "교육", "노무", "인사",
    "공단", "산단", "산업", "단지", "중소", "중견", "벤처", "창업", "바우처", "과제", "기관", "부처",
    "시청", "구청", "도청", "공공", "입찰", "조달", "품질", "안전", "환경", "에너지", "스마트",
    "mes", "erp", "iso", "as", "r&d", "로봇", "자동화", "디지털", "데이터", "플랫폼", "기술",
)
_BUSINESS_RE = re.compile("|".join(re.escape(w) for w in BUSINESS_WORDS))


def is_small_talk(text: str) -> bool:
    """True when ``text`` (cleaned) has no business or administration vocabulary."""
    return _BUSINESS_RE.search(compact(text, cleaned=True)) is None
