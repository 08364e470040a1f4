"""The real knowledge base (knowledge/entries, knowledge/synonyms.yaml) with the matcher."""
from __future__ import annotations

import pytest

from knowledge import Matcher, load_entries, load_synonyms, load_topics, matchable


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    entries = load_entries()
    assert len(entries) >= 29, "the knowledge base should cover every topic"
    return Matcher(matchable(entries), load_synonyms())


def test_every_topic_has_a_live_entry(matcher):
    topics = set(load_topics())
    live = {e.topic for e in matcher.entries if e.valid_to is None}
    assert topics <= live, f"topics without a live entry: {sorted(topics - live)}"


# Clear questions written for this test (not taken from the evaluation sets).
@pytest.mark.parametrize("text, topic", [
    ("스마트공장 지원사업 신청은 어느 사이트에서 해요?", "how-to-apply"),
    ("정부 지원금 비율이 총사업비의 몇 퍼센트예요?", "support-ratio"),
    ("기업부담금을 현물로 내도 되나요?", "company-share"),
    ("스마트공장 AS 지원 받으려면 조건이 뭐예요?", "as-support"),
    ("테스트베드 견학 신청할 수 있어요?", "testbed"),
    ("스마트 마이스터가 뭐 하는 사업이에요?", "smart-meister"),
    ("협약 위반하면 지원금 환수되나요?", "sanctions"),
    ("상생형 스마트공장이 뭐예요?", "win-win-type"),
    ("고양시 공장은 어느 센터 담당이에요?", "regional-centers"),
    ("공고 보통 몇 월에 나와요?", "application-schedule"),
    ("사전진단 받을 수 있나요?", "pre-diagnosis"),
    ("상담 운영 시간이 어떻게 돼요?", "hotline-contact"),
])
def test_clear_questions_are_answered_with_the_right_topic(matcher, text, topic):
    result = matcher.match(text)
    assert result.outcome == "answered", (result.outcome, result.candidates)
    assert result.entry.topic == topic


@pytest.mark.parametrize("text", ["안녕하세요", "감사합니다~", "점심 뭐 먹지", "헤어진 여자친구 연락 올까",
                                  "주말에 영화 볼까", "사무실 복합기 렌탈은 어디가 싸요?"])
def test_small_talk_and_out_of_scope_are_not_answered(matcher, text):
    assert matcher.match(text).outcome != "answered"
