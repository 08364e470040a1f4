"""Loading, checking and writing the knowledge base."""
from __future__ import annotations

import datetime as dt
import difflib
import shutil
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.loader import (MAX_ANSWER_CHARS, Entry, KnowledgeError, canonical, check, default_topics_file,
                              dump_entries, load_entries, load_synonyms, load_topics, write_synonyms_file,
                              write_topic_file)

TOPICS = """\
topics:
  - slug: support-ratio
    title: 정부지원 비율과 기업부담
  - slug: how-to-apply
    title: 신청 방법
"""

RATIO = """\
topic: support-ratio
entries:
  - id: support-ratio-government
    title: 정부지원 비율은 얼마인가요?
    paraphrases:
      - 정부에서 몇프로 지원해줘요
      - 국비 비율 얼마임
    keywords: [지원비율, 50%, "2025"]
    answer: |
      총사업비의 50% 이내를 정부가 지원해요 (2025년 공고 기준).
      나머지는 도입기업이 부담해요.
    source:
      title: 정책브리핑 (2025)
      url: https://www.korea.kr/briefing/pressReleaseView.do?newsId=156513772
    year: 2025
    reviewed_on: 2026-11-30
    valid_from: 2019-01-01
    valid_to: null
"""

APPLY = """\
topic: how-to-apply
entries:
  - id: how-to-apply-online
    title: 신청은 어디서 하나요?
    paraphrases: [신청 방법 알려주세요, 어디서 신청해요]
    keywords: [신청, 스마트공장 1번가]
    answer: 스마트공장 사업관리시스템에서 온라인으로 신청해요.
    source: {title: 전북일보, url: "https://www.jbnews.com/news/articleView.html?idxno=1354658"}
    year: 2025
    reviewed_on: 2025-01-02
    valid_from: 2025-01-01
    valid_to: 2025-12-31
"""


def write(dirpath: Path, name: str, text: str) -> Path:
    path = dirpath / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def kb(tmp_path: Path) -> tuple[Path, Path]:
    entries = tmp_path / "entries"
    entries.mkdir()
    write(entries, "support-ratio.yaml", RATIO)
    write(entries, "how-to-apply.yaml", APPLY)
    topics = write(tmp_path, "topics.yaml", TOPICS)
    return entries, topics


def codes(problems) -> list[str]:
    return sorted(p.code for p in problems)


# ----------------------------------------------------------------------------- loading

def test_load_entries_reads_every_field(kb):
    entries, _ = kb
    loaded = load_entries(entries)
    assert [e.id for e in loaded] == ["how-to-apply-online", "support-ratio-government"]
    ratio = loaded[1]
    assert isinstance(ratio, Entry)
    assert ratio.topic == "support-ratio"
    assert ratio.paraphrases == ("정부에서 몇프로 지원해줘요", "국비 비율 얼마임")
    assert ratio.keywords == ("지원비율", "50%", "2025")
    assert ratio.answer.startswith("총사업비의 50%") and ratio.answer.endswith("부담해요.")
    assert ratio.source_url.startswith("https://www.korea.kr/")
    assert ratio.year == 2025
    assert ratio.valid_from == dt.date(2019, 1, 1) and ratio.valid_to is None
    assert loaded[0].valid_to == dt.date(2025, 12, 31)
    with pytest.raises(Exception):
        ratio.title = "changed"  # frozen


def test_entry_validity_window():
    e = Entry("a", "t", "T", (), (), "A", "s", "https://x.kr", 2025,
              dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert e.is_valid_on(dt.date(2025, 6, 1))
    assert not e.is_valid_on(dt.date(2024, 12, 31))
    assert not e.is_valid_on(dt.date(2026, 1, 1))


def test_load_entries_rejects_an_entry_without_id(tmp_path):
    write(tmp_path, "x.yaml", "topic: support-ratio\nentries:\n  - title: 질문\n    answer: 답\n")
    with pytest.raises(KnowledgeError) as err:
        load_entries(tmp_path)
    assert codes(err.value.problems) == ["missing-field"]
    assert "id" in str(err.value)


@pytest.mark.parametrize("value, code", [("2025-13-45", "yaml-error"), ("'2025-13-45'", "invalid-field"),
                                         ("soon", "invalid-field")])
def test_load_entries_rejects_a_bad_date(tmp_path, value, code):
    write(tmp_path, "x.yaml", "topic: t\nentries:\n  - id: a\n    title: 질문\n    answer: 답\n"
                              f"    valid_from: {value}\n")
    with pytest.raises(KnowledgeError) as err:
        load_entries(tmp_path)
    assert codes(err.value.problems) == [code]


def test_round_trip_load_dump_load(kb, tmp_path):
    entries, _ = kb
    first = load_entries(entries)
    out = tmp_path / "out"
    written = dump_entries(first, out)
    assert sorted(p.name for p in written) == ["how-to-apply.yaml", "support-ratio.yaml"]
    second = load_entries(out)
    assert second == first
    # Writing again gives byte-identical files (stable format).
    before = {p.name: p.read_text(encoding="utf-8") for p in written}
    dump_entries(second, out)
    assert {p.name: p.read_text(encoding="utf-8") for p in written} == before
    text = before["support-ratio.yaml"]
    # The layout of the hand-written files: list items indented under their key, literal answers, blank lines.
    assert text.startswith("topic: support-ratio\nentries:\n  - id: support-ratio-government\n"
                           "    title: 정부지원 비율은 얼마인가요?\n    paraphrases:\n      - ")
    assert "    answer: |\n      " in text  # multi-line answers stay literal blocks
    assert "keywords: [지원비율, 50%, '2025']" in text
    assert "valid_to: null" in text


def test_round_trip_of_the_real_knowledge_base(tmp_path):
    real = load_entries()
    assert real, "knowledge/entries holds no entries"
    dump_entries(real, tmp_path)
    again = load_entries(tmp_path)
    assert sorted(again, key=lambda e: e.id) == sorted(real, key=lambda e: e.id)


def test_load_synonyms(tmp_path):
    path = write(tmp_path, "synonyms.yaml",
                 "스마트공장: [스공, 스마트팩토리, 스마트 팩토리]\n기업부담금: 자부담\n")
    assert load_synonyms(path) == {"스마트공장": ["스공", "스마트팩토리", "스마트 팩토리"],
                                   "기업부담금": ["자부담"]}
    with pytest.raises(FileNotFoundError):
        load_synonyms(tmp_path / "missing.yaml")


def test_topics_file_from_environment(monkeypatch, kb):
    _, topics = kb
    monkeypatch.setenv("HOTLINE_TOPICS_FILE", str(topics))
    assert default_topics_file() == topics
    assert load_topics() == {"support-ratio": "정부지원 비율과 기업부담", "how-to-apply": "신청 방법"}
    monkeypatch.delenv("HOTLINE_TOPICS_FILE")
    assert default_topics_file() == Path(__file__).resolve().parents[2] / "knowledge" / "topics.yaml"  # the project's own
    assert default_topics_file().is_file()


# ----------------------------------------------------------------------------- checking

TODAY = dt.date(2025, 6, 1)


def entry_yaml(**overrides) -> str:
    fields = {
        "id": "support-ratio-x",
        "title": "정부지원 비율은?",
        "paraphrases": "[" + ", ".join(f"질문 {i}번" for i in range(10)) + "]",
        "answer": "정부가 50%를 지원해요.",
        "source": "{title: 정책브리핑, url: 'https://www.korea.kr/a'}",
        "year": "2025",
        "reviewed_on": "2025-05-30",
        "valid_from": "2019-01-01",
        "valid_to": "null",
    }
    fields.update(overrides)
    body = "\n".join(f"    {k}: {v}" for k, v in fields.items() if v is not None)
    return "  - " + body.lstrip() + "\n"


def check_one(tmp_path: Path, *items: str, topic: str = "support-ratio") -> list[str]:
    entries = tmp_path / "entries"
    entries.mkdir(exist_ok=True)
    write(entries, f"{topic}.yaml", f"topic: {topic}\nentries:\n" + "".join(items))
    topics = write(tmp_path, "topics.yaml", TOPICS)
    return codes(check(entries, topics, today=TODAY))


def test_clean_kb_has_no_problems(tmp_path):
    assert check_one(tmp_path, entry_yaml()) == []


def test_check_unknown_topic(tmp_path):
    assert check_one(tmp_path, entry_yaml(), topic="no-such-topic") == ["unknown-topic"]


def test_check_missing_source_url(tmp_path):
    assert check_one(tmp_path, entry_yaml(source="{title: 정책브리핑}")) == ["missing-source-url"]


@pytest.mark.parametrize("url", ["ftp://www.korea.kr/a", "korea.kr/a", "https://localhost/a",
                                 "'https://www.korea .kr/a'"])
def test_check_invalid_source_url(tmp_path, url):
    source = "{title: 정책브리핑, url: " + url + "}"
    assert check_one(tmp_path, entry_yaml(source=source)) == ["invalid-source-url"]


def test_check_duplicate_id(tmp_path):
    other = entry_yaml(title="다른 질문", paraphrases="[" + ", ".join(f"다른 {i}" for i in range(10)) + "]")
    assert check_one(tmp_path, entry_yaml(), other) == ["duplicate-id"]


def test_check_duplicate_paraphrase_after_normalisation(tmp_path):
    first = entry_yaml(paraphrases="[" + ", ".join(f"질문 {i}번" for i in range(9)) + ", 스마트공장 지원 비율]")
    second = entry_yaml(id="support-ratio-y", title="다른 질문",
                        paraphrases="[" + ", ".join(f"다른 {i}" for i in range(9)) + ", 'ＳＭＡＲＴ 스마트 공장지원비율??']")
    assert check_one(tmp_path, first, second) == []  # different text, different question
    second = entry_yaml(id="support-ratio-y", title="다른 질문",
                        paraphrases="[" + ", ".join(f"다른 {i}" for i in range(9)) + ", '스마트 공장지원 비율??ㅋㅋ']")
    assert check_one(tmp_path, first, second) == ["duplicate-paraphrase"]


def test_check_expired_entry_is_a_warning(tmp_path):
    problems = check(*_kb_with(tmp_path, entry_yaml(valid_to="2024-12-31")), today=TODAY)
    assert [(p.code, p.severity) for p in problems] == [("expired", "warning")]
    assert "2024-12-31" in problems[0].message


def test_check_missing_fields(tmp_path):
    assert check_one(tmp_path, entry_yaml(answer=None)) == ["missing-field"]
    assert check_one(tmp_path, entry_yaml(year=None)) == ["missing-field"]


def test_check_answer_too_long(tmp_path):
    long_answer = "가" * (MAX_ANSWER_CHARS + 1)
    assert check_one(tmp_path, entry_yaml(answer=long_answer)) == ["answer-too-long"]
    assert check_one(tmp_path, entry_yaml(answer="가" * MAX_ANSWER_CHARS)) == []


def test_check_title_too_long_bad_id_and_dates(tmp_path):
    assert check_one(tmp_path, entry_yaml(title="가" * 41)) == ["title-too-long"]
    assert check_one(tmp_path, entry_yaml(id="Support_Ratio")) == ["invalid-id"]
    assert check_one(tmp_path, entry_yaml(valid_from="2026-01-01", valid_to="2025-12-31")) == [
        "invalid-dates"]


def test_check_few_paraphrases_is_a_warning(tmp_path):
    problems = check(*_kb_with(tmp_path, entry_yaml(paraphrases="[하나, 둘]")), today=TODAY)
    assert [(p.code, p.severity) for p in problems] == [("few-paraphrases", "warning")]


def test_check_unreadable_yaml(tmp_path):
    entries = tmp_path / "entries"
    entries.mkdir()
    write(entries, "broken.yaml", "topic: support-ratio\nentries: [\n")
    problems = check(entries, write(tmp_path, "topics.yaml", TOPICS), today=TODAY)
    assert codes(problems) == ["yaml-error"]
    assert "broken.yaml" in str(problems[0])


def test_check_messages_name_file_and_entry(tmp_path):
    entries, topics = _kb_with(tmp_path, entry_yaml(), topic="nope")
    (problem,) = check(entries, topics, today=TODAY)
    text = str(problem)
    assert "nope.yaml" in text and "support-ratio-x" in text and "'nope'" in text


def test_real_knowledge_base_has_no_errors():
    errors = [p for p in check() if p.severity == "error"]
    assert errors == [], "\n".join(map(str, errors))


def _kb_with(tmp_path: Path, *items: str, topic: str = "support-ratio") -> tuple[Path, Path]:
    entries = tmp_path / "entries"
    entries.mkdir(exist_ok=True)
    write(entries, f"{topic}.yaml", f"topic: {topic}\nentries:\n" + "".join(items))
    return entries, write(tmp_path, "topics.yaml", TOPICS)


# ----------------------------------------------------------------------------- freshness and history

def history_yaml(**overrides) -> str:
    fields = {"id": "support-ratio-x-2023", "history_of": "support-ratio-x", "title": "2023년 비율은?",
              "answer": "2023년에는 50%였어요.", "source": "{title: 정책브리핑, url: 'https://www.korea.kr/b'}",
              "year": "2023", "reviewed_on": "2025-05-30"}
    fields.update(overrides)
    body = "\n".join(f"    {k}: {v}" for k, v in fields.items() if v is not None)
    return "  - " + body.lstrip() + "\n"


def test_a_history_entry_needs_no_paraphrases(tmp_path):
    assert check_one(tmp_path, entry_yaml(), history_yaml()) == []


@pytest.mark.parametrize("overrides, code", [
    ({"history_of": "no-such-entry"}, "history-unknown"),
    ({"history_of": "support-ratio-x-2023"}, "history-self"),
    ({"year": "2025"}, "history-not-older"),  # the same year as its current entry
    ({"year": "2026"}, "history-not-older"),  # newer than its current entry
    ({"year": None}, "missing-field"),
])
def test_check_history_links(tmp_path, overrides, code):
    assert code in check_one(tmp_path, entry_yaml(), history_yaml(**overrides))


def test_check_history_of_a_history_entry_and_across_topics(tmp_path):
    chained = history_yaml(id="support-ratio-x-2022", history_of="support-ratio-x-2023", year="2022",
                           title="2022년 비율은?")
    assert set(check_one(tmp_path, entry_yaml(), history_yaml(), chained)) >= {"history-chain",
                                                                              "history-has-history"}
    entries = tmp_path / "entries"
    write(entries, "how-to-apply.yaml", "topic: how-to-apply\nentries:\n" + history_yaml(
        id="how-to-apply-2023", title="2023년 신청은?"))
    problems = check(entries, write(tmp_path, "topics.yaml", TOPICS), today=TODAY)
    assert ("history-topic", "how-to-apply-2023") in {(p.code, p.entry_id) for p in problems}


def test_check_reviewed_on(tmp_path):
    problems = check(*_kb_with(tmp_path, entry_yaml(reviewed_on=None)), today=TODAY)
    assert [(p.code, p.severity) for p in problems] == [("missing-reviewed-on", "warning")]
    problems = check(*_kb_with(tmp_path, entry_yaml(reviewed_on="2025-06-02")), today=TODAY)
    assert [(p.code, p.severity) for p in problems] == [("invalid-dates", "error")]


def test_history_and_review_fields_survive_a_round_trip(tmp_path):
    entries, _ = _kb_with(tmp_path, entry_yaml(), history_yaml())
    current, old = load_entries(entries)
    assert (current.reviewed_on, current.history_of, current.is_history) == (dt.date(2025, 5, 30), None, False)
    assert (old.history_of, old.year, old.paraphrases, old.is_history) == ("support-ratio-x", 2023, (), True)
    out = tmp_path / "out"
    dump_entries([current, old], out)
    assert load_entries(out) == [current, old]
    text = (out / "support-ratio.yaml").read_text(encoding="utf-8")
    assert "history_of: support-ratio-x\n" in text and "reviewed_on: 2025-05-30" in text


# --- the stored form and round-trip writing -------------------------------------------------------------------

def test_canonical_form_is_what_import_and_console_store():
    e = Entry(id="x", topic="t", title="  정부지원  비율은? ", paraphrases=(" 국비 비율\r\n", "국비  비율", "", "정부지원 비율은?",
                                                                      "e\u0301"),
              keywords=("국비", "국비 "), answer="첫 줄  \r\n둘째 줄\r\n\r\n  - 목록 \r\n", source_title=" 출처 ",
              source_url="https://example.go.kr ")
    c = canonical(e)
    assert c.title == "정부지원 비율은?"
    assert c.paraphrases == ("국비 비율", "\u00e9")  # repeated, empty and title-equal items dropped, NFC
    assert c.keywords == ("국비",)
    assert c.answer == "첫 줄\n둘째 줄\n\n  - 목록"  # \n endings, no trailing spaces, indentation inside kept
    assert (c.source_title, c.source_url) == ("출처", "https://example.go.kr")
    assert canonical(c) == c


def _copy_real_kb(tmp_path: Path) -> Path:
    root = Path(__file__).resolve().parents[2] / "knowledge"
    shutil.copytree(root / "entries", tmp_path / "entries")
    shutil.copy(root / "synonyms.yaml", tmp_path / "synonyms.yaml")
    return tmp_path / "entries"


def test_writing_the_real_knowledge_base_back_changes_no_byte(tmp_path):
    entries_dir = _copy_real_kb(tmp_path)
    before = {p.name: p.read_bytes() for p in entries_dir.iterdir()}
    entries = load_entries(entries_dir)
    assert entries and all(canonical(e) == e for e in entries)  # the files are in the stored form
    for topic in {e.topic for e in entries}:  # every file goes through the merge, changed or not
        assert not write_topic_file(entries_dir / f"{topic}.yaml", topic, [e for e in entries if e.topic == topic])
    assert dump_entries(entries, entries_dir) == []
    assert {p.name: p.read_bytes() for p in entries_dir.iterdir()} == before
    synonyms = tmp_path / "synonyms.yaml"
    text = synonyms.read_bytes()
    assert not write_synonyms_file(synonyms, load_synonyms(synonyms))
    assert synonyms.read_bytes() == text


def _diff(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_one_added_paraphrase_is_a_one_line_diff(tmp_path):
    entries_dir = _copy_real_kb(tmp_path)
    entries = load_entries(entries_dir)
    target = next(e for e in entries if e.topic == "build-and-inspection")
    path = entries_dir / "build-and-inspection.yaml"
    before = path.read_text(encoding="utf-8")
    edited = [replace(e, paraphrases=(*e.paraphrases, "구축기간은 몇개월?")) if e.id == target.id else e for e in entries]
    assert dump_entries(edited, entries_dir) == [path]
    assert _diff(before, path.read_text(encoding="utf-8")) == ["+      - 구축기간은 몇개월?"]
    assert load_entries(entries_dir) == edited


COMMENTED = """\
# Support ratios. Reviewed 2026-11.
topic: support-ratio
entries:
  # the government share
  - id: ratio
    title: "정부지원 비율은?"   # quoted on purpose
    paraphrases:
      - 국비 비율   # most asked
      - '정부 몇 %'
    keywords: [국비, "50%"]
    answer: |
      50% 이내예요.
      공고를 확인해 주세요.
    source: {title: 정책브리핑, url: "https://www.korea.kr/x"}
    year: 2025
    reviewer_note: keep this
    valid_from: 2019-01-01

  - id: other
    topic: company-share
    title: 자부담은?
    answer: 50% 이상이에요.
    source: {title: 공고, url: https://www.mss.go.kr/y}
    year: 2025
"""


def test_writing_keeps_comments_quoting_layout_and_unknown_keys(tmp_path):
    path = write(tmp_path, "support-ratio.yaml", COMMENTED)
    ratio, other = load_entries(tmp_path)
    assert not write_topic_file(path, "support-ratio", [ratio, other])
    assert path.read_text(encoding="utf-8") == COMMENTED

    ratio = replace(ratio, answer="50% 이내예요.\n2026년 공고를 확인해 주세요.", keywords=("국비", "50%", "정부지원금"),
                    source_url="https://www.korea.kr/z")
    other = replace(other, topic="support-ratio", paraphrases=("자부담 몇 프로",))
    assert write_topic_file(path, "support-ratio", [ratio, other])
    after = path.read_text(encoding="utf-8")
    assert _diff(COMMENTED, after) == [
        '-    keywords: [국비, "50%"]', '+    keywords: [국비, "50%", 정부지원금]',
        "-      공고를 확인해 주세요.", '-    source: {title: 정책브리핑, url: "https://www.korea.kr/x"}',
        "+      2026년 공고를 확인해 주세요.", '+    source: {title: 정책브리핑, url: "https://www.korea.kr/z"}',
        "-    topic: company-share",  # back in the file's own topic
        "+    paraphrases:", "+      - 자부담 몇 프로",
    ]
    assert '    title: "정부지원 비율은?"   # quoted on purpose\n' in after and "      - 국비 비율   # most asked\n" in after
    assert load_entries(tmp_path) == [ratio, other]  # unknown keys (reviewer_note) stay, comments too


def test_entries_leave_and_join_a_file_with_its_layout(tmp_path):
    path = write(tmp_path, "support-ratio.yaml", COMMENTED)
    ratio, _ = load_entries(tmp_path)
    new = replace(ratio, id="ratio-2026", title="2026년 비율은?", paraphrases=("올해 비율",), answer="한 줄 답변",
                  valid_to=None)
    assert write_topic_file(path, "support-ratio", [ratio, new])
    text = path.read_text(encoding="utf-8")
    assert "  - id: other" not in text
    assert text.endswith("    valid_from: 2019-01-01\n\n  - id: ratio-2026\n    title: 2026년 비율은?\n"
                         "    paraphrases:\n      - 올해 비율\n    keywords: [국비, 50%]\n    answer: 한 줄 답변\n"
                         "    source:\n      title: 정책브리핑\n      url: https://www.korea.kr/x\n    year: 2025\n"
                         "    valid_from: 2019-01-01\n    valid_to: null\n")
    assert load_entries(tmp_path) == [ratio, new]


def test_synonyms_file_round_trip(tmp_path):
    path = write(tmp_path, "synonyms.yaml", "# owners' words\n스마트공장: [스공, 스마트팩토리]  # common\n국비: [나랏돈]\n")
    assert write_synonyms_file(path, {"스마트공장": ["스공", "스마트팩토리", "스팩"], "자부담": ["자부담금"]})
    assert path.read_text(encoding="utf-8") == ("# owners' words\n스마트공장: [스공, 스마트팩토리, 스팩] # common\n"
                                                "자부담: [자부담금]\n")
    fresh = tmp_path / "new" / "synonyms.yaml"
    assert write_synonyms_file(fresh, {"국비": ["나랏돈"]})
    assert fresh.read_text(encoding="utf-8") == "# canonical term: [variants owners type]\n국비: [나랏돈]\n"
