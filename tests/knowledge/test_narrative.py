"""Splitting the company's self-introduction from the question (knowledge.narrative), and what it changes for
matching on the real knowledge base. The messages were written for these tests."""
from __future__ import annotations

import pytest

from knowledge import Matcher, load_entries, load_synonyms
from knowledge.narrative import CompanyFacts, place_names, split_narrative
from knowledge.normalize import clean


def split(text: str):
    return split_narrative(clean(text))


def test_introduction_is_taken_out_and_its_facts_kept():
    n = split("경남 진주에서 항공 부품 가공하는 중소기업입니다. 직원은 40명이고요. "
              "도에서 기업 부담을 덜어주는 예산이 따로 있나요?")
    assert n.question == "도에서 기업 부담을 덜어주는 예산이 따로 있나요?"
    assert n.introduction == "경남 진주에서 항공 부품 가공하는 중소기업입니다. 직원은 40명이고요."
    assert n.facts == CompanyFacts(region="경남 진주", industry="항공 부품 가공", employees=40)


def test_company_name_region_and_years():
    n = split("회사는 대흥정밀이고요 부천에서 정밀 가공을 20년째 하고 있습니다. 신청은 어디서 하나요?")
    assert n.question == "신청은 어디서 하나요?"
    assert n.facts.as_dict() == {"region": "부천", "company": "대흥정밀", "industry": "정밀 가공", "years": 20}


def test_opener_before_a_short_question():
    n = split("경기 화성 금형 공장인데요, 자부담 현물로 돼요?")
    assert n.question == "자부담 현물로 돼요?"
    assert (n.facts.region, n.facts.industry) == ("경기 화성", "금형")


@pytest.mark.parametrize("text, employees", [
    ("직원은 열다섯 명 정도고 주로 플라스틱 사출을 해요. 공고 언제 나와요?", 15),
    ("저희는 직원 8명인 작은 공장이에요. 지원 받을 수 있나요?", 8),
    ("상시 근로자 120인 규모 회사입니다. 한도가 얼마예요?", 120),
])
def test_employees_in_figures_and_in_words(text, employees):
    assert split(text).facts.employees == employees


def test_industrial_complex_is_a_region():
    n = split("저희는 인천 남동공단에서 볼트 만드는 작은 업체예요. 자부담을 현물로 내도 되나요?")
    assert n.facts.region == "인천 남동공단" and n.question == "자부담을 현물로 내도 되나요?"


def test_a_clause_about_the_programme_stays_in_the_question():
    text = "저희는 2020년에 스마트공장 기초로 한 번 했던 회사예요. 다시 신청해도 되나요?"
    n = split(text)
    assert n.question == clean(text) and n.introduction == ""


def test_a_message_without_introduction_is_unchanged():
    for text in ("지원 한도가 얼마예요?", "파주 공장은 어느 센터 담당이에요?", "그럼 한도는요?"):
        assert split(text).question == clean(text)
    assert split("파주 공장은 어느 센터 담당이에요?").facts.region == "파주"


def test_only_an_introduction_is_kept_whole():
    """Nothing but a self-introduction: there is no question to separate, so nothing is taken out."""
    text = "창원에서 기계 부품 가공하는 회사입니다."
    n = split(text)
    assert n.question == clean(text) and n.introduction == ""
    assert n.facts.region == "창원"


def test_place_names_come_with_and_without_their_suffix():
    names = place_names()
    assert {"경남", "진주", "진주시", "화성", "파주", "포항시", "남양주"} <= names
    assert "시" not in names and "구" not in names


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_entries(), load_synonyms())


@pytest.mark.parametrize("question, topic", [
    ("자부담을 현물로 내도 되나요?", "company-share"),
    ("테스트베드 견학 신청할 수 있어요?", "testbed"),
    ("스마트공장 지원사업 신청은 어느 사이트에서 해요?", "how-to-apply"),
])
def test_a_long_introduction_does_not_cost_the_answer(matcher, question, topic):
    """The same question behind a long self-introduction is matched like the question alone: not penalised
    for the introduction's length, and the facts come back with the result."""
    alone = matcher.match(question)
    long = matcher.match("안녕하세요. 저희는 경북 구미에서 자동차 부품을 가공하는 직원 35명 회사예요. "
                         "아버지 때부터 30년째 하고 있고요. 회사는 한결정밀이에요. " + question)
    assert alone.outcome == "answered" and alone.entry.topic == topic
    assert (long.outcome, long.entry, long.score) == (alone.outcome, alone.entry, alone.score)
    assert long.facts == CompanyFacts(region="경북 구미", company="한결정밀", industry="자동차 부품 가공",
                                      employees=35, years=30)
    assert long.question == alone.question
