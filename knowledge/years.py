"""Programme years: which year an answer describes, and which year the owner asks about.

The knowledge base keeps one *current* entry per question and, as *history* entries, the rules of earlier
years that are worth keeping (``Entry.history_of`` names the current entry). History entries are never
matched; they are served when the owner names their year, and they explain changes. Everything here is a
plain function of its arguments (the programme year comes from the caller's settings).

* ``matchable(entries)``: the entries a matcher is built from (no history).
* ``History.of(entries)``: current entry -> {year: history entry}.
* ``named_year(text, programme_year)``: the programme year a question names ("2025년에", "작년에는"), or None.
* ``for_year(entry, year, history)``: the entry to serve for that year (its history entry when one exists).
* ``year_note(entry, programme_year, current)`` / ``answer_text(...)``: the first line that says an answer
  describes an older year than the programme year, and the answer with it.
* ``stale_reasons(...)``: why an entry needs an admin's look (older year than the programme year, review older
  than a year, never reviewed).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from .loader import Entry

__all__ = ["History", "STALE_REASONS", "answer_text", "for_year", "matchable", "named_year",
           "one_year_before", "stale_reasons", "year_note"]

NOTICE_SITE = "1st.smart-factory.kr"
FIRST_PROGRAMME_YEAR = 2014  # the smart factory programme's first year: earlier "years" are something else

STALE_REASONS = {"year": "예전 사업연도", "review": "검토 1년 지남", "unreviewed": "검토일 없음"}


# --------------------------------------------------------------------------- which entries are matched

def matchable(entries: Iterable[Entry]) -> list[Entry]:
    """The current entries (history entries are served only through ``for_year``)."""
    return [e for e in entries if e.history_of is None]


@dataclass(frozen=True)
class History:
    """Earlier years' entries of each current entry: ``by_current[current_id][year]``."""

    by_current: Mapping[str, Mapping[int, Entry]] = field(default_factory=dict)
    entries: Mapping[str, Entry] = field(default_factory=dict)  # every entry by id (current and history)

    @classmethod
    def of(cls, entries: Iterable[Entry]) -> "History":
        all_entries = {e.id: e for e in entries}
        by_current: dict[str, dict[int, Entry]] = {}
        for e in all_entries.values():
            if e.history_of is not None and e.year is not None and e.history_of in all_entries:
                by_current.setdefault(e.history_of, {})[e.year] = e
        return cls(by_current, all_entries)

    def current_of(self, entry: Entry) -> Entry | None:
        """The current entry of a history entry (the entry itself when it is current)."""
        if entry.history_of is None:
            return entry
        return self.entries.get(entry.history_of)

    def years_of(self, entry: Entry) -> list[int]:
        """The years of the history entries of ``entry``'s current entry, newest first."""
        current = self.current_of(entry)
        return sorted(self.by_current.get(current.id, {}), reverse=True) if current is not None else []


def for_year(entry: Entry, year: int | None, history: History, *, today: dt.date | None = None) -> Entry:
    """The entry to serve when the owner asked about ``year``: the history entry of that year when the entry's
    current entry has one (and it may be served ``today``), else the current entry (whose answer describes the
    change)."""
    if year is None:
        return entry
    current = history.current_of(entry) or entry
    if current.year == year:
        return current
    older = history.by_current.get(current.id, {}).get(year)
    if older is None or (today is not None and not older.is_valid_on(today)):
        return current
    return older


# --------------------------------------------------------------------------- the year a question names

_FOUR_DIGIT = re.compile(r"(?<![\d,.])(20\d\d)(?![\d,.])\s*(년도|년|학년)?")
_TWO_DIGIT = re.compile(r"(?<![\d,.'’])['’]?(\d\d)\s*년\s*(도|에|엔|기준|공고|꺼|거|때|당시|사업|한도|까지)")
_APOSTROPHE = re.compile(r"['’](\d\d)(?!\d)")
# A year that dates the company's own story ("2015년에 창업한", "2021년에 스마트공장 구축했는데", "19년부터") is not the
# programme year asked about: such a year is skipped (the current entry, which explains changes, is served).
_COMPANY_EVENT = re.compile(r"^(?:년도|년)?[^.?!,\n]{0,10}?(?:창업|설립|개업|법인|입주|이전|준공|세운|지은|지었|시작|부터|들어와|입사|"
                            r"인수|사업자|구축했|구축한|도입했|도입한|했는데|했을|했던|받았|받은|참여했|선정됐|선정된|설치했|깔았|들였)")
_RELATIVE = (
    (re.compile(r"재작년|지지난\s*해"), -2),
    (re.compile(r"작년|지난\s*해|전년도|저번\s*해|昨年"), -1),
    (re.compile(r"내년|다음\s*해|명년"), 1),
    (re.compile(r"올해|금년|올\s*해|이번\s*해|이번\s*년도|올해\s*년도"), 0),
)


def named_year(text: str, programme_year: int) -> int | None:
    """The programme year ``text`` asks about: "2025년", "25년도", "'24", "작년" (the programme year - 1),
    "재작년", "올해", "내년"; ``None`` when it names none, or several different ones. Years that date the
    company's own story ("2015년에 창업한", "19년부터 운영") are not asked about."""
    text = text or ""
    years: set[int] = set()
    for pattern in (_FOUR_DIGIT, _TWO_DIGIT, _APOSTROPHE):
        for m in pattern.finditer(text):
            if pattern is _FOUR_DIGIT and m.group(2) == "학년":
                continue
            value = int(m.group(1))
            year = value if value >= 100 else 2000 + value
            if not FIRST_PROGRAMME_YEAR <= year <= programme_year + 1:
                continue
            if _COMPANY_EVENT.match(text[m.end(1):m.end(1) + 12]):
                continue
            years.add(year)
    rest = text
    for pattern, offset in _RELATIVE:  # longest first: "재작년" is not also "작년"
        for m in pattern.finditer(rest):
            if not _COMPANY_EVENT.match(rest[m.end():m.end() + 12]):
                years.add(programme_year + offset)
        rest = pattern.sub(lambda m: " " * len(m.group()), rest)
    return years.pop() if len(years) == 1 else None


# --------------------------------------------------------------------------- saying which year an answer is for

def year_note(entry: Entry, programme_year: int, current: Entry | None = None) -> str | None:
    """The first line of an answer that describes an older year than ``programme_year``; None otherwise.

    ``current``: for a history entry, its current entry (named when it describes the programme year)."""
    if entry.year is None or entry.year >= programme_year:
        return None
    head = f"{entry.year}년 기준 안내예요."
    if current is not None and current is not entry and current.year is not None and current.year >= programme_year:
        return f"{head} {programme_year}년 공고 기준은 '{current.title}'를 물어보시면 안내해 드려요."
    return (f"{head} {programme_year}년 공고 기준은 아직 확인되지 않았으니 공고문({NOTICE_SITE})과 "
            "지역 스마트제조혁신센터에서 꼭 확인해 주세요.")


def answer_text(entry: Entry, programme_year: int, current: Entry | None = None) -> str:
    """The answer as owners see it: the year note (if any) on its first line, then the entry's answer."""
    note = year_note(entry, programme_year, current)
    return f"{note}\n{entry.answer}" if note else entry.answer


# --------------------------------------------------------------------------- freshness

def one_year_before(day: dt.date) -> dt.date:
    """The same calendar day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def stale_reasons(*, year: int | None, reviewed_on: dt.date | None, history_of: str | None, programme_year: int,
                  today: dt.date) -> tuple[str, ...]:
    """Why an entry needs a look (keys of ``STALE_REASONS``); ``()`` when it is fresh.

    A current entry is stale when it describes an older year than the programme year (or no year); any entry
    when its review is more than a year old, or it was never reviewed. History entries describe older years
    by design."""
    out = []
    if history_of is None and (year is None or year < programme_year):
        out.append("year")
    if reviewed_on is None:
        out.append("unreviewed")
    elif reviewed_on < one_year_before(today):
        out.append("review")
    return tuple(out)
