"""Follow-up questions read with the previous answer's topic (knowledge.followup, Matcher.match(context=...)), on
the real knowledge base. Exchanges written for these tests (not from the evaluation sets)."""
from __future__ import annotations

import pytest

from knowledge import Context, Matcher, load_entries, load_synonyms
from knowledge.followup import context_words, is_followup


@pytest.mark.parametrize("text", ["그럼 한도는요?", "그건 언제까지예요?", "소공인도요?", "고양은요?", "비용은?",
                                  "거기서 뭘 볼 수 있어요?", "그러면 회사 부담은 얼마나 돼요"])
def test_follow_up_forms(text):
    assert is_followup(text)


@pytest.mark.parametrize("text", ["스마트공장 지원사업은 어디서 신청하나요?", "테스트베드 견학 신청할 수 있어요?",
                                  "기업부담금을 현물로 내도 되는지 궁금합니다"])
def test_questions_that_stand_alone(text):
    assert not is_followup(text)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_entries(), load_synonyms())


def answered(matcher: Matcher, text: str, topic: str):
    result = matcher.match(text)
    assert result.outcome == "answered" and result.entry.topic == topic, (text, result.outcome, result.candidates)
    return Context(entry_id=result.entry.id)


@pytest.mark.parametrize("first, first_topic, follow, topic", [
    ("스마트공장 AS 지원은 어떤 건가요?", "as-support", "얼마까지 받아요?", "as-support"),
    ("스마트 마이스터가 어떤 지원이에요?", "smart-meister", "회사는 얼마 내요?", "smart-meister"),
    ("로봇활용 제조혁신 지원사업은 어떤 내용이에요?", "robot-support", "몇 억까지 받아요?", "robot-support"),
    ("상담 운영 시간이 어떻게 돼요?", "hotline-contact", "공휴일은요?", "hotline-contact"),
])
def test_an_ellipsis_is_read_with_the_previous_topic(matcher, first, first_topic, follow, topic):
    context = answered(matcher, first, first_topic)
    alone = matcher.match(follow)
    result = matcher.match(follow, context=context)
    assert result.followup == "followed"
    top = result.entry.topic if result.entry else result.candidates[0].topic
    assert top == topic
    # read with the previous entry's words, unless it already had that topic alone
    words = context_words(matcher.get(context.entry_id)).lower()
    assert result.question.startswith(follow.rstrip("?"))
    assert words in result.question or (alone.outcome == "answered" and alone.entry.topic == topic)
    assert alone.followup is None  # without a context nothing is read into it


@pytest.mark.parametrize("first, first_topic, follow, topic", [
    ("스마트공장 정부지원 비율이 몇 퍼센트예요?", "support-ratio", "그럼 한도는요?", "support-limits"),
    ("스마트공장 지원금 최대 얼마까지 받을 수 있어요?", "support-limits", "소공인도요?", "smart-workshop"),
])
def test_a_follow_up_that_names_another_topic_moves_to_it(matcher, first, first_topic, follow, topic):
    """One decisive word the previous topic does not know: its own topic, answered in the conversation even
    though alone it would only be clarified."""
    context = answered(matcher, first, first_topic)
    result = matcher.match(follow, context=context)
    assert (result.outcome, result.entry.topic, result.followup) == ("answered", topic, "changed")


def test_a_complete_question_on_another_topic_is_a_change(matcher):
    context = answered(matcher, "스마트공장 정부지원 비율이 몇 퍼센트예요?", "support-ratio")
    result = matcher.match("테스트베드 견학 신청할 수 있어요?", context=context)
    assert result.outcome == "answered" and result.entry.topic == "testbed" and result.followup == "changed"


def test_chatter_and_other_programmes_after_an_answer_are_changes(matcher):
    context = answered(matcher, "스마트공장 지원금 최대 얼마까지 받을 수 있어요?", "support-limits")
    chat = matcher.match("그건 그렇고 오늘 점심 뭐 먹지", context=context)
    assert (chat.outcome, chat.kind, chat.followup) == ("escalate", "chitchat", "changed")
    other = matcher.match("그럼 정책자금 대출 한도는요?", context=context)
    assert other.outcome != "answered" and other.followup == "changed"


def test_results_are_cached_per_context(matcher):
    ratio = answered(matcher, "스마트공장 정부지원 비율이 몇 퍼센트예요?", "support-ratio")
    hours = answered(matcher, "상담 운영 시간이 어떻게 돼요?", "hotline-contact")
    a = matcher.match("주말에도요?", context=hours)
    b = matcher.match("주말에도요?", context=ratio)
    assert matcher.cached("주말에도요?", context=hours) is a
    assert matcher.cached("주말에도요?", context=ratio) is b
    assert matcher.cached("주말에도요?") is None  # never asked without a context


def test_unknown_context_is_ignored(matcher):
    plain = matcher.match("신청은 어디서 해요?")
    result = matcher.match("신청은 어디서 해요?", context=Context(entry_id="no-such-entry"))
    assert (result.outcome, result.entry, result.candidates) == (plain.outcome, plain.entry, plain.candidates)


def test_without_the_followup_signal_the_context_is_not_used():
    m = Matcher(load_entries(), load_synonyms(), signals={"narrative", "topics", "everyday", "neighbours"})
    context = answered(m, "상담 운영 시간이 어떻게 돼요?", "hotline-contact")
    assert m.match("공휴일은요?", context=context).followup is None
