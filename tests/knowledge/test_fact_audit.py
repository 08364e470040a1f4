"""The fact audit of the real knowledge base: every topic answers for the programme year, or says with a source
that the year's rule is not published (the table is printed by ``python -m knowledge.audit``)."""
from __future__ import annotations

import textwrap

import pytest

from knowledge.audit import audit, markdown
from knowledge.loader import load_entries, load_topics


@pytest.fixture(scope="module")
def real_audit():
    return audit(load_entries())


def test_every_topic_has_a_current_entry_for_the_programme_year(real_audit):
    year, rows = real_audit
    assert year == 2026
    assert {r.topic for r in rows} == set(load_topics()), "every topic of the topics file is audited"
    problems = {r.topic: r.problems for r in rows if r.problems}
    assert not problems, problems
    table = markdown(year, rows)
    print("\n" + table)  # the audit (pytest -s shows it; `python -m knowledge.audit` prints it too)
    assert len(table.splitlines()) == len(rows) + 2


def test_the_new_2026_programmes_have_topics_of_their_own(real_audit):
    _, rows = real_audit
    by_topic = {r.topic: r for r in rows}
    for slug in ("ai-specialized-factory", "autonomous-factory", "winwin-ai-track", "ministry-collab"):
        assert by_topic[slug].status == "published" and not by_topic[slug].problems


def test_not_published_topics_say_so(real_audit):
    _, rows = real_audit
    unpublished = [r for r in rows if r.status == "not-published"]
    assert unpublished, "the 2026 notices leave some topics open"
    entries = {e.id: e for e in load_entries()}
    for r in unpublished:
        answer = entries[r.entry_id].answer
        assert "2026년" in answer and "확인" in answer and "센터" in answer, r.topic


ENTRY = """\
topic: support-ratio
entries:
  - id: ratio-now
    title: 정부지원 비율은?
    paraphrases: [비율 얼마예요]
    answer: 2026년 공고 기준은 아직 확인되지 않았어요. 공고문과 센터에서 확인해 주세요.
    source: {title: 보도자료, url: "https://www.korea.kr/a"}
    year: 2026
    reviewed_on: 2026-12-01
  - id: ratio-now-2025
    history_of: ratio-now
    title: 2025년 비율은?
    answer: 2025년에는 50%였어요.
    source: {title: 보도자료, url: "https://www.korea.kr/b"}
    year: 2025
    reviewed_on: 2026-12-01
"""


def _topics(tmp_path, current: str) -> str:
    path = tmp_path / "topics.yaml"
    path.write_text("programme_year: 2026\ntopics:\n  - slug: support-ratio\n    title: 비율\n"
                    + textwrap.indent(current, "    "), encoding="utf-8")
    return str(path)


@pytest.fixture
def kb(tmp_path):
    d = tmp_path / "entries"
    d.mkdir()
    (d / "support-ratio.yaml").write_text(ENTRY, encoding="utf-8")
    return load_entries(d)


def test_a_not_published_entry_that_says_so_passes(tmp_path, kb):
    topics = _topics(tmp_path, "current: {entry: ratio-now, status: not-published, fact: 미공개, "
                               "source: 'https://www.korea.kr/a'}\n")
    _, (row,) = audit(kb, topics)
    assert row.problems == ()


@pytest.mark.parametrize("current, problem", [
    ("current: {entry: ratio-now-2025, status: published, fact: 50%, source: 'https://www.korea.kr/b'}\n",
     "is a history entry"),
    ("current: {entry: nope, status: published, fact: x, source: 'https://www.korea.kr/a'}\n",
     "is not in the knowledge base"),
    ("current: {entry: ratio-now, status: published, fact: x, source: 'https://other.kr/a'}\n", "cites"),
    ("current: {entry: ratio-now, status: maybe, fact: x, source: 'https://www.korea.kr/a'}\n", "status"),
    ("facts: []\n", "no current entry named"),
])
def test_the_audit_finds_what_is_wrong(tmp_path, kb, current, problem):
    _, (row,) = audit(kb, _topics(tmp_path, current))
    assert any(problem in p for p in row.problems), row.problems


def test_an_entry_of_an_older_year_fails_the_audit(tmp_path, kb):
    old = [e if e.id != "ratio-now" else type(e)(**{**e.__dict__, "year": 2025}) for e in kb]
    _, (row,) = audit(old, _topics(tmp_path, "current: {entry: ratio-now, status: published, fact: x, "
                                             "source: 'https://www.korea.kr/a'}\n"))
    assert any("describes 2025, not the programme year 2026" in p for p in row.problems)
