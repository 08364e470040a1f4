"""The topic-aware decision (knowledge.gate, knowledge.matcher.decision_row): concepts (an entry and the entries
keeping its earlier programme years), topic agreement, the fitted gate file, and the labels of out-of-scope
messages on the real knowledge base. Questions written for these tests."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest

from knowledge import Matcher, load_entries, load_synonyms
from knowledge.gate import DECISION_FEATURES, GATE_FILE, RANK_FEATURES, Gate, load_gate
from knowledge.loader import Entry
from knowledge.matcher import Analysis, decision_row

TODAY = dt.date(2026, 3, 2)


@dataclasses.dataclass(frozen=True)
class HistoryEntry(Entry):
    """An entry with the knowledge base's ``history_of`` field (the id of the current entry it keeps a year of)."""

    history_of: str | None = None


def entry(id_, topic, title, paraphrases, keywords=(), year=2026, history_of=None) -> HistoryEntry:
    return HistoryEntry(id=id_, topic=topic, title=title, paraphrases=tuple(paraphrases), keywords=tuple(keywords),
                        answer=f"{title} ({year}년 기준) 답변입니다.", source_title="테스트 출처",
                        source_url="https://www.example.kr/source", year=year, valid_from=dt.date(2019, 1, 1),
                        history_of=history_of)


LIMITS = [
    "지원금 최대 얼마까지 받을 수 있어요", "한도가 얼마예요", "기업당 지원 한도", "최대 지원 금액 알려주세요",
    "정부지원금 상한이 얼마예요", "지원한도 얼마임", "한 회사에 얼마까지 나와요", "지원금 최고 얼마",
    "스마트공장 지원 한도 금액", "지원금 한도 알려줘요",
]
ENTRIES = [
    entry("limits", "support-limits", "지원금은 최대 얼마까지 받나요?", LIMITS, ["한도", "최대 금액"]),
    # The same question for earlier years: one concept with "limits".
    entry("limits-2023", "support-limits", "2023년 지원 한도는 얼마였나요?", [f"2023년 {p}" for p in LIMITS],
          ["한도", "2023년"], year=2023, history_of="limits"),
    entry("limits-2022", "support-limits", "2022년 지원 한도는 얼마였나요?", [f"2022년 {p}" for p in LIMITS],
          ["한도", "2022년"], year=2022, history_of="limits"),
    entry("apply", "how-to-apply", "신청은 어디서 하나요?", [
        "신청 방법 알려주세요", "어디서 신청해요", "온라인으로 접수하나요", "신청 사이트 주소 알려줘",
        "신청서는 어디에 내요", "회원가입부터 해야 돼요?", "접수 어떻게 해요", "신청절차 알려주세요",
        "직접 신청하려면 어떻게 해요", "인터넷으로 신청해요"], ["신청", "사업관리시스템"]),
    entry("ratio", "support-ratio", "정부지원 비율은 얼마인가요?", [
        "정부가 몇 퍼센트 지원해줘요", "국비 비율 몇프로임", "지원금 비율이 총사업비의 얼마예요",
        "정부지원 50% 맞나요", "보조금 절반만 나오는 거예요?", "우리가 내야 하는 돈은 몇 프로?",
        "정부 매칭 비율이 어떻게 돼", "지원율 얼마나 돼요", "총 사업비 중 정부 부담 비율", "반반 내는 거예요?"],
          ["지원비율", "50%"]),
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(ENTRIES, {"정부지원금": ["국비", "보조금"]})


def test_a_concept_is_one_candidate_answered_with_its_current_entry(matcher):
    result = matcher.match("2023년 지원 한도 얼마였어요?", today=TODAY)
    ids = [c.entry_id for c in result.candidates]
    assert "limits-2023" not in ids and "limits-2022" not in ids  # shown as the concept's current entry
    assert ids[0] == "limits" and len(ids) == len(set(ids))
    if result.outcome == "answered":
        assert result.entry.id == "limits"  # the year-choice step may swap in the history entry afterwards
    assert matcher.current("limits-2022").id == "limits"
    assert matcher.concept_of("limits-2023") == matcher.concept_of("limits") == 0
    assert matcher.current("no-such-entry") is None and matcher.concept_of("no-such-entry") is None


def test_a_history_entry_stands_in_when_the_current_one_is_not_live():
    """Before the current entry is valid, its concept is shown and answered as the live history entry."""
    current = dataclasses.replace(ENTRIES[0], valid_from=dt.date(2026, 1, 1))
    m = Matcher([current, *ENTRIES[1:]])
    result = m.match("2023년 지원 한도 얼마였어요?", today=dt.date(2025, 6, 1))
    assert result.candidates[0].entry_id == "limits-2023"
    assert "limits" not in [c.entry_id for c in result.candidates]
    assert result.entry is None or result.entry.id == "limits-2023"


def test_entries_of_one_concept_do_not_compete_for_the_margin(matcher):
    """The margin is taken against the best candidate of another concept: two years of the same answer are
    agreement, not ambiguity."""
    a = matcher.analyse("지원금 한도 최대 얼마예요", today=TODAY)
    logit = matcher.gate.rank_logits(a.feats)
    row, order = decision_row(a, logit)
    features = dict(zip(DECISION_FEATURES, row))
    top = order[0]
    other = max(logit[j] for j in order if a.concepts[j] != a.concepts[top])
    assert features["margin"] == pytest.approx(min(float(logit[top] - other), 5.0) / 5.0, abs=1e-5)
    same_concept = [j for j in order[1:] if a.concepts[j] == a.concepts[top]]
    assert same_concept, "the history entries are among the candidates"


def _analysis(topics, concepts, topic_first, feats=None) -> Analysis:
    n = len(topics)
    return Analysis("질문", np.arange(n), feats if feats is not None else np.zeros((n, len(RANK_FEATURES)), np.float32),
                    np.full(n, 3.0), list(topics), np.array(concepts), np.array(concepts), n_units=4, known=1.0, domain=0.8, everyday=0.2,
                    neighbour=0.3, business_word=1.0, topic_first=topic_first, topic_lead=0.4)


def test_topic_agreement_features():
    logit = np.array([2.0, 1.5, 1.0, -1.0])
    row, order = decision_row(_analysis(["a", "a", "a", "b"], [0, 1, 2, 3], "a"), logit)
    f = dict(zip(DECISION_FEATURES, row))
    assert list(order) == [0, 1, 2, 3]
    assert f["topic_agree"] == 1.0 and f["topic_lead"] == pytest.approx(0.4)
    share = np.exp(logit - 2.0)
    assert f["topic_share"] == pytest.approx(share[:3].sum() / share.sum(), rel=1e-5)
    assert f["margin"] == pytest.approx(0.1) and f["margin_topic"] == pytest.approx(0.6)

    row, _ = decision_row(_analysis(["a", "b", "b", "b"], [0, 1, 2, 3], "b"), logit)
    f = dict(zip(DECISION_FEATURES, row))
    assert f["topic_agree"] == 0.0 and f["topic_share"] < 0.5 and f["margin_topic"] == pytest.approx(0.1)


def test_the_shipped_gate_matches_the_code_and_round_trips(tmp_path):
    gate = load_gate()
    assert 0 < gate.clarify_min < gate.answer_min < 1 and 0 < gate.chatter_min <= gate.everyday_min < 1
    copy = tmp_path / "gate.json"
    gate.save(copy)
    again = load_gate(copy)
    assert again.answer_min == gate.answer_min and again.signals == gate.signals
    np.testing.assert_allclose(again.right_weights, gate.right_weights, atol=1e-4)

    data = json.loads(GATE_FILE.read_text(encoding="utf-8"))
    data["right"]["weights"] = data["right"]["weights"][:-1]
    copy.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="refit"):
        load_gate(copy)


def test_an_untrained_gate_never_answers():
    m = Matcher(ENTRIES, gate=Gate.untrained())
    result = m.match("신청은 어디서 하나요?", today=TODAY)
    assert result.outcome == "clarify" and "apply" in [c.entry_id for c in result.candidates]


def test_unknown_signal_is_refused():
    with pytest.raises(ValueError, match="unknown matcher signals"):
        Matcher(ENTRIES, signals={"topics", "telepathy"})


# --------------------------------------------------------------------------- the real knowledge base


@pytest.fixture(scope="module")
def real() -> Matcher:
    return Matcher(load_entries(), load_synonyms())


@pytest.mark.parametrize("text", [
    "내일 아침에 비 와요?", "점심에 짜장면 먹을까 짬뽕 먹을까", "어제 축구 몇 대 몇이었어",
    "허리가 너무 아픈데 파스 붙이면 나아요?", "오늘 너무 더워서 일하기 싫다",
])
def test_everyday_chatter_is_labelled_and_never_escalated(real, text):
    result = real.match(text)
    assert (result.outcome, result.kind, result.candidates) == ("escalate", "chitchat", [])


@pytest.mark.parametrize("text", [
    "고용유지지원금 신청할 때 서류 뭐 내요?", "수출바우처 선정되면 통번역 비용도 써도 돼요?",
    "정책자금 대출 금리가 요즘 몇 프로예요", "부가세 예정신고 기한이 언제까지예요",
])
def test_the_programmes_neighbours_are_not_answered_and_stay_questions(real, text):
    """Business questions next to the programme use its words (신청, 지원금, 한도) but are never answered; they stay
    questions (a person may point the owner elsewhere), never chatter."""
    result = real.match(text)
    assert result.outcome != "answered" and result.kind == "question"


def test_in_scope_is_high_for_a_programme_question(real):
    result = real.match("스마트공장 정부지원 비율이 몇 퍼센트예요?")
    assert result.outcome == "answered" and result.in_scope > 0.9
    assert result.signals["topic_agree"] == 1.0
