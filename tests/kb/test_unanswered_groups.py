"""How the unanswered-questions report groups questions: the same text, a close spelling, or the same content in
other words; questions about different things stay apart."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from api.kb.unanswered import content_words, group_questions


@pytest.fixture
def grouped(real_matcher):
    """The questions' groups, as the report makes them over the project's own knowledge base."""
    def group(*questions: str) -> list[list[str]]:
        logs = [SimpleNamespace(text=q) for q in questions]
        return [[log.text for log in members] for members in group_questions(logs, rarity=real_matcher.kb_rarity)]
    return group


def test_the_same_need_in_other_words_is_one_group(grouped):
    assert grouped("공장 폐수 처리 허가 받으려면 어디로 가요", "폐수처리 허가 문의요",
                   "스마트공장 하고 나서 보안 인증 받아야 하나요", "보안 인증 필요한가요 스마트공장") == [
        ["공장 폐수 처리 허가 받으려면 어디로 가요", "폐수처리 허가 문의요"],
        ["스마트공장 하고 나서 보안 인증 받아야 하나요", "보안 인증 필요한가요 스마트공장"]]


def test_spelling_variants_group_and_a_shared_generic_word_does_not(grouped):
    assert grouped("세금계산서 발행 오류 났어요", "세금 계산서 발행오류 났어요!!") == [
        ["세금계산서 발행 오류 났어요", "세금 계산서 발행오류 났어요!!"]]
    # "문의" and "지원" say nothing about what is asked
    assert len(grouped("폐수처리 허가 문의요", "법인세 신고 문의", "외국인 직원 비자 연장 문의")) == 3
    assert "문의" not in content_words("폐수처리 허가 문의요") and "폐수" in content_words("폐수처리 허가 문의요")


def test_what_a_question_asks_for_does_not_join_groups_about_different_things(grouped):
    # "보조금", "설치" and "비용" are what any support question asks for: solar panels and waste water stay apart,
    # and two questions about solar panels are one group though they share one word besides
    assert grouped("공장 폐수 처리시설 설치하는데 보조금 있나요", "공장 지붕 태양광 설치 보조금",
                   "태양광 패널 공장에 다는거 지원돼요?", "보안 인증 비용 지원 있나요") == [
        ["공장 폐수 처리시설 설치하는데 보조금 있나요"],
        ["공장 지붕 태양광 설치 보조금", "태양광 패널 공장에 다는거 지원돼요?"],
        ["보안 인증 비용 지원 있나요"]]


def test_words_the_knowledge_base_lacks_weigh_most(grouped, real_matcher):
    # "리스" is in no KB text, "장비", "설비", "계약" and "인정" are: weighted by their rarity among the KB's texts, the
    # one word the two leasing questions share outweighs the KB's common words they do not
    questions = ("설비 리스 계약도 인정되나요", "장비를 리스로 들여와도 되나요", "ISMS 보안 인증 받으려면 어떻게 해요")
    assert real_matcher.kb_rarity("리스") > real_matcher.kb_rarity("설비")
    assert grouped(*questions) == [list(questions[:2]), [questions[2]]]
