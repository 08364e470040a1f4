"""Programme years: the year a question names, the entry served for it, the first line that says an answer is
from an older year, and why an entry is stale."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from knowledge.loader import Entry
from knowledge.years import (History, answer_text, for_year, matchable, named_year, one_year_before, stale_reasons,
                             year_note)

P = 2026


def entry(id: str, year: int | None, *, history_of: str | None = None, topic: str = "support-limits",
          answer: str = "답변", title: str = "질문") -> Entry:
    return Entry(id=id, topic=topic, title=title, paraphrases=(), keywords=(), answer=answer, source_title="s",
                 source_url="https://www.korea.kr/a", year=year, history_of=history_of)


CURRENT = entry("limits", 2026, title="지원금은 최대 얼마까지 받나요?", answer="2026년 한도는 회당 2억원이에요.")
H2025 = entry("limits-2025", 2025, history_of="limits", answer="2025년 한도는 2억원이었어요.")
H2023 = entry("limits-2023", 2023, history_of="limits", answer="2023년 선도형 한도는 2억원이었어요.")
OTHER = entry("ratio", 2026, topic="support-ratio")
ALL = [CURRENT, OTHER, H2025, H2023]


@pytest.mark.parametrize("text, year", [
    ("2025년에는 지원 한도가 얼마였어요?", 2025),
    ("2023년도 선도형 한도", 2023),
    ("23년도 한도 얼마였나요", 2023),
    ("25년 기준으로 알려줘요", 2025),
    ("'24 공고 한도", 2024),
    ("작년에는 얼마였어요", 2025),
    ("지난해 한도랑 같아요?", 2025),
    ("재작년 한도", 2024),
    ("올해 한도 얼마예요", 2026),
    ("내년 공고는 언제 나와요", 2027),
    ("2026 한도", 2026),
    ("작년에 스마트공장 했는데 올해도 또 돼요?", 2026),  # last year is the company's story; this year is asked
    ("2025년 부처협업형은 몇 개사 뽑았어요", 2025),
])
def test_named_year(text, year):
    assert named_year(text, P) == year


@pytest.mark.parametrize("text", [
    "지원 한도 얼마예요",
    "최대 2억 맞아요?",
    "총사업비 2,000만원이면 얼마 받아요",
    "2015년에 창업한 회사인데 한도가 얼마예요",      # the company's story, not the year asked about
    "19년부터 운영하는 공장입니다. 지원금 얼마까지 나와요",
    "2021년에 스마트공장 구축했는데 고장 나서 AS 받을 수 있나요",
    "23년에 지원받은 회사인데 또 신청돼요?",
    "3년 참여제한 받나요",
    "10년 넘은 로봇 교체도 돼요?",
    "2019년이랑 2023년 한도 차이",                  # two years: the current answer explains the change
    "2031년 계획은요",                              # not a programme year yet
    "2010년 자료",                                  # before the programme existed
])
def test_no_named_year(text):
    assert named_year(text, P) is None


def test_history_of_entries():
    history = History.of(ALL)
    assert history.by_current["limits"] == {2025: H2025, 2023: H2023}
    assert history.current_of(H2025) is CURRENT and history.current_of(CURRENT) is CURRENT
    assert history.years_of(H2023) == [2025, 2023]
    assert history.current_of(entry("orphan-2020", 2020, history_of="gone")) is None
    assert matchable(ALL) == [CURRENT, OTHER]


def test_for_year_picks_the_history_entry_of_the_named_year():
    history = History.of(ALL)
    assert for_year(CURRENT, 2025, history) is H2025
    assert for_year(CURRENT, 2023, history) is H2023
    assert for_year(CURRENT, None, history) is CURRENT
    assert for_year(CURRENT, 2026, history) is CURRENT
    assert for_year(CURRENT, 2024, history) is CURRENT  # no rule kept for 2024: the current answer
    assert for_year(OTHER, 2025, history) is OTHER  # no history at all
    assert for_year(H2025, 2023, history) is H2023  # from a history entry, through its current entry
    assert for_year(H2025, 2026, history) is CURRENT
    expired = History.of([CURRENT, replace(H2025, valid_to=dt.date(2026, 1, 31))])
    assert for_year(CURRENT, 2025, expired, today=dt.date(2026, 12, 6)) is CURRENT  # an expired rule is not served
    assert for_year(CURRENT, 2025, expired, today=dt.date(2026, 1, 2)).id == "limits-2025"


def test_year_note_says_an_answer_is_from_an_older_year():
    assert year_note(CURRENT, P) is None
    assert year_note(entry("x", None), P) is None
    assert year_note(entry("x", 2027), P) is None
    note = year_note(H2025, P, CURRENT)
    assert note == "2025년 기준 안내예요. 2026년 공고 기준은 '지원금은 최대 얼마까지 받나요?'를 물어보시면 안내해 드려요."
    stale = year_note(entry("x", 2024), P)
    assert stale.startswith("2024년 기준 안내예요. 2026년 공고 기준은 아직 확인되지 않았으니") and "1st.smart-factory.kr" in stale
    # A current entry that is itself old names no other entry.
    assert year_note(entry("x", 2024), P, entry("x", 2024)) == stale
    assert answer_text(H2025, P, CURRENT) == f"{note}\n{H2025.answer}"
    assert answer_text(CURRENT, P) == CURRENT.answer
    # The programme year moves on: this year's entry becomes "2026 기준" in 2027.
    assert answer_text(CURRENT, 2027).startswith("2026년 기준 안내예요. 2027년 공고 기준은")


def test_stale_reasons():
    today = dt.date(2026, 12, 6)
    fresh = dict(reviewed_on=dt.date(2026, 12, 1), history_of=None, programme_year=P, today=today)
    assert stale_reasons(year=2026, **fresh) == ()
    assert stale_reasons(year=2025, **fresh) == ("year",)
    assert stale_reasons(year=None, **fresh) == ("year",)
    assert stale_reasons(year=2023, **{**fresh, "history_of": "limits"}) == ()  # history is old by design
    assert stale_reasons(year=2026, **{**fresh, "reviewed_on": dt.date(2025, 12, 6)}) == ()  # a year exactly
    assert stale_reasons(year=2026, **{**fresh, "reviewed_on": dt.date(2025, 12, 5)}) == ("review",)
    assert stale_reasons(year=2025, **{**fresh, "reviewed_on": None}) == ("year", "unreviewed")
    assert stale_reasons(year=2023, **{**fresh, "history_of": "limits", "reviewed_on": dt.date(2024, 1, 1)}) == \
        ("review",)


def test_one_year_before():
    assert one_year_before(dt.date(2026, 12, 6)) == dt.date(2025, 12, 6)
    assert one_year_before(dt.date(2028, 2, 29)) == dt.date(2027, 2, 28)
