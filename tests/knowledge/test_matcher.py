"""Matcher behaviour on a small knowledge base written for the tests."""
from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from knowledge.loader import Entry
from knowledge.matcher import Candidate, Matcher, MatchResult, SynonymMap

TODAY = dt.date(2025, 6, 1)


def entry(id_, topic, title, paraphrases, keywords=(), *, valid_from=dt.date(2019, 1, 1),
          valid_to=None) -> Entry:
    return Entry(id=id_, topic=topic, title=title, paraphrases=tuple(paraphrases),
                 keywords=tuple(keywords), answer=f"{title} 답변입니다.", source_title="테스트 출처",
                 source_url="https://www.example.kr/source", year=2025, valid_from=valid_from,
                 valid_to=valid_to)


ENTRIES = [
    entry("ratio-government", "support-ratio", "정부지원 비율은 얼마인가요?", [
        "정부가 몇 퍼센트 지원해줘요", "국비 비율 몇프로임", "지원금 비율이 총사업비의 얼마예요",
        "정부지원 50% 맞나요", "보조금 절반만 나오는 거예요?", "전액 지원 아니에요?",
        "우리가 내야 하는 돈은 몇 프로?", "정부 매칭 비율이 어떻게 돼", "지원율 얼마나 돼요",
        "총 사업비 중 정부 부담 비율"], ["지원비율", "정부지원금", "50%"]),
    entry("apply-online", "how-to-apply", "신청은 어디서 하나요?", [
        "신청 방법 알려주세요", "어디서 신청해요", "온라인으로 접수하나요", "신청 사이트 주소 알려줘",
        "신청서는 어디에 내요", "스마트공장 1번가에서 신청하는 거 맞아요?", "회원가입부터 해야 돼요?",
        "접수 어떻게 해요", "신청절차 알려주세요", "직접 신청하려면 어떻게 해요"],
          ["신청", "사업관리시스템", "1번가"]),
    entry("schedule-when", "application-schedule", "공고는 언제 나오나요?", [
        "올해 공고 언제 떠요", "모집 시기가 언제예요", "접수 기간이 언제까지예요", "공고 몇 월에 나와요",
        "내년 모집은 언제 시작해요", "신청 마감 언제야", "상반기 모집 있어요?", "공고일정 알려주세요",
        "접수 시작일이 언제죠", "하반기에도 공고 나와요?"], ["공고", "접수 기간", "모집 시기"]),
    entry("testbed-visit", "testbed", "테스트베드 견학할 수 있나요?", [
        "테스트베드 가서 직접 볼 수 있어요", "테스트베드 체험 신청 방법", "동주대 테스트베드 견학",
        "부산 테스트베드에서 뭐 시연해요", "비전검사 시연 볼 수 있나요", "테스트베드 방문 예약",
        "테스트베드 운영 시간", "AR 작업지시 체험 가능해요?", "테스트베드는 어디 있어요",
        "테스트베드 이용료 있어요?"], ["테스트베드", "견학", "시연"]),
    entry("limits-2019", "support-limits", "2019년 지원 한도는 얼마였나요?", [
        "2019년 신규 구축 한도", "2019년에는 최대 얼마 받았어요", "2019 고도화 한도 1.5억 맞아요",
        "예전 한도 5천만원에서 1억으로 올랐다던데", "2019년 지원금 상한", "19년도 한도 얼마",
        "2019년 기초 구축 최대 금액", "2019년 한도 확대", "2019년 지원 한도 변경",
        "2019년에 1억까지 나왔어요?"], ["2019", "한도"], valid_to=dt.date(2019, 12, 31)),
    entry("limits-current", "support-limits", "지원 한도는 최대 얼마인가요?", [
        "최대 얼마까지 지원돼요", "고도화 한도 얼마예요", "지원금 상한이 얼마예요", "기초 수준 한도",
        "한 회사당 얼마까지 받아요", "지원금 최대치", "고도화1 고도화2 한도 차이", "한도 2억 맞나요",
        "지원 한도 금액 알려주세요", "최대 지원 금액"], ["한도", "최대", "상한"],
          valid_from=dt.date(2025, 1, 1)),
    # A careless entry whose paraphrases are courtesy phrases: they must still never be served.
    entry("courtesy-trap", "hotline-contact", "상담 채널 안내", [
        "안녕하세요", "감사합니다", "고마워요", "안녕히 계세요", "상담 채널 운영 시간", "상담원 연결",
        "상담 전화번호", "상담 가능 시간", "주말 상담 되나요", "야간 상담 되나요"], ["상담"]),
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(ENTRIES, {"스마트공장": ["스공", "스마트 팩토리"], "정부지원금": ["국비"]})


def ask(matcher: Matcher, text: str, today: dt.date = TODAY) -> MatchResult:
    result = matcher.match(text, today=today)
    assert 0.0 <= result.score <= 1.0
    assert len(result.candidates) <= 3
    assert len({c.entry_id for c in result.candidates}) == len(result.candidates)
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(c, Candidate) and 0.0 <= c.score <= 1.0 for c in result.candidates)
    if result.outcome == "answered":
        assert result.entry is not None and result.kind == "question"
        assert result.candidates[0].entry_id == result.entry.id
    else:
        assert result.entry is None
    return result


@pytest.mark.parametrize("text, entry_id", [
    ("정부지원 비율이 몇 프로예요?", "ratio-government"),
    ("테스트베드 견학 가능해요?", "testbed-visit"),
    ("신청은 어디서 하나요", "apply-online"),
])
def test_clear_questions_are_answered(matcher, text, entry_id):
    result = ask(matcher, text)
    assert (result.outcome, result.kind) == ("answered", "question")
    assert result.entry.id == entry_id


def test_plausible_but_unsure_question_is_clarified(matcher):
    result = ask(matcher, "지원금 얼마나 받을 수 있어요")
    assert result.outcome == "clarify" and result.kind == "question"
    assert {c.topic for c in result.candidates} & {"support-ratio", "support-limits"}


@pytest.mark.parametrize("text", ["부가세 예정신고 기한이 언제까지인가요", "공장 화재보험 어디가 싸요"])
def test_out_of_scope_business_question_is_not_answered(matcher, text):
    result = ask(matcher, text)
    assert result.outcome != "answered"
    assert result.kind == "question"  # a person at the centre should see it


@pytest.mark.parametrize("text", ["점심 뭐 먹지", "심심하다 ㅋㅋ", "오늘 너무 피곤하다"])
def test_chitchat_is_escalated_without_candidates(matcher, text):
    result = ask(matcher, text)
    assert (result.outcome, result.kind, result.candidates) == ("escalate", "chitchat", [])


@pytest.mark.parametrize("text, kind", [
    ("안녕하세요", "greeting"), ("안녕 하세요~~", "greeting"), ("하이", "greeting"),
    ("감사합니다", "thanks"), ("감사합니다!!ㅎㅎ", "thanks"), ("ㄱㅅㄱㅅ", "thanks"),
    ("네 정말 고마워요", "thanks"), ("안녕히 계세요", "thanks"),
])
def test_greetings_and_thanks_are_never_answered(matcher, text, kind):
    # "courtesy-trap" has these very texts as paraphrases: they still must not be served.
    result = ask(matcher, text)
    assert (result.outcome, result.kind, result.entry, result.candidates) == ("escalate", kind, None, [])


@pytest.mark.parametrize("text", ["", "   ", "ㅋㅋㅋ", "ㅠㅠ", "😀👍", "\u200b\u3164"])
def test_empty_or_noise_only(matcher, text):
    assert ask(matcher, text).kind == "empty"
    assert ask(matcher, text).outcome == "escalate"


def test_greeting_around_a_question_does_not_hide_it(matcher):
    result = ask(matcher, "안녕하세요, 테스트베드 견학 가능한가요? 감사합니다")
    assert result.kind == "question"
    assert result.outcome == "answered" and result.entry.id == "testbed-visit"


def test_expired_entry_is_never_served(matcher):
    text = "2019년 지원 한도는 얼마였나요?"
    result = ask(matcher, text)  # today = 2025-06-01, limits-2019 expired 2019-12-31
    assert "limits-2019" not in [c.entry_id for c in result.candidates]
    assert result.entry is None or result.entry.id != "limits-2019"
    then = ask(matcher, text, today=dt.date(2019, 6, 1))
    assert then.candidates[0].entry_id == "limits-2019"


def test_entry_not_yet_valid_is_never_served(matcher):
    text = "지원 한도는 최대 얼마인가요?"
    assert ask(matcher, text).candidates[0].entry_id == "limits-current"
    before = ask(matcher, text, today=dt.date(2024, 6, 1))
    assert "limits-current" not in [c.entry_id for c in before.candidates]
    assert before.entry is None or before.entry.id != "limits-current"


def test_no_live_entries_escalates():
    m = Matcher([ENTRIES[4]])  # only the expired entry
    result = m.match("2019년 지원 한도는 얼마였나요?", today=TODAY)
    assert (result.outcome, result.candidates) == ("escalate", [])


def test_empty_knowledge_base():
    result = Matcher([]).match("신청은 어디서 하나요?")
    assert (result.outcome, result.kind, result.candidates) == ("escalate", "question", [])


@pytest.mark.parametrize("variant", [
    unicodedata.normalize("NFD", "테스트베드 견학 가능해요?"),
    "테스트베드\u200b 견학\u200d 가능해요？",
    "ＴＢ 아니고 테스트베드 견학 가능해요 ㅋㅋㅋ".replace("ＴＢ 아니고 ", ""),
    "테스트베드견학가능해요",
    "테스트베드 견학 가능해요???!!! 😀",
])
def test_typing_variants_give_the_same_answer(matcher, variant):
    plain = ask(matcher, "테스트베드 견학 가능해요?")
    result = ask(matcher, variant)
    assert (result.outcome, result.entry) == (plain.outcome, plain.entry)
    assert result.entry.id == "testbed-visit"


def test_synonyms_canonicalise_variants(matcher):
    result = ask(matcher, "국비 비율 몇 프로예요")
    assert result.outcome == "answered" and result.entry.topic == "support-ratio"


def test_synonym_map_is_spacing_and_case_insensitive():
    syn = SynonymMap({"스마트공장": ["스공", "스마트 팩토리"], "AS": ["에이에스", "a/s"], "MES": ["mes"]})
    assert syn.apply("스공 신청") == "스마트공장 신청"
    assert syn.apply("스마트팩토리 지원") == "스마트공장 지원"
    assert syn.apply("스마트   팩토리") == "스마트공장"
    assert syn.apply("에이에스 지원") == "as 지원"
    assert syn.apply("was 그대로") == "was 그대로"  # Latin variants only match whole words
    assert len(syn) == 3  # "mes" and "a/s" only differ from their canonical form by case/punctuation


def test_typo_still_finds_the_entry(matcher):
    result = ask(matcher, "테스트베트 견학 되나여")
    assert result.outcome in ("answered", "clarify")
    assert result.candidates[0].entry_id == "testbed-visit"
