"""`hotline kb import` / `export` / `check`: idempotent import, change reporting, console edits kept, round-trip."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from api.kb import entries as kb_entries
from api.kb import synonyms as kb_synonyms
from api.kb.models import KbEntry, KbEvent, KbRevision, KbSynonym
from api.kb.sync import ImportRefused, export_entries, import_knowledge
from knowledge.loader import DEFAULT_ENTRIES_DIR, load_entries, load_synonyms
from tests.kb.helpers import SYNONYMS, changed, entry, sample_entries, write_kb


async def revisions_of(db, entry_id):
    return list((await db.execute(select(KbRevision).where(KbRevision.entry_id == entry_id)
                                  .order_by(KbRevision.number))).scalars())


async def test_import_adds_publishes_and_is_idempotent(db, kb_dir):
    first = await import_knowledge(db, entries_dir=kb_dir)
    assert (len(first.added), len(first.updated), len(first.unchanged)) == (4, 0, 0)
    assert first.lines()[0] == "knowledge: 4 added, 0 updated, 0 unchanged"
    assert (first.synonyms_added, first.synonyms_removed) == (5, 0)
    published = {e.id: e for e in await kb_entries.published_entries(db)}
    assert published == {e.id: e for e in sample_entries()}  # stored verbatim
    rev = (await revisions_of(db, "ratio-government"))[0]
    assert (rev.number, rev.author_label, rev.author_id) == (1, "import", None)

    second = await import_knowledge(db, entries_dir=kb_dir)
    assert (len(second.added), len(second.updated), len(second.unchanged)) == (0, 0, 4)
    assert (second.synonyms_added, second.synonyms_removed) == (0, 0)
    assert len(await revisions_of(db, "ratio-government")) == 1
    assert await kb_synonyms.synonyms_map(db) == SYNONYMS


async def test_import_reports_changed_and_new_entries(db, tmp_path, kb_dir):
    await import_knowledge(db, entries_dir=kb_dir)
    entries = sample_entries()
    entries[0] = changed(entries[0], answer=entries[0].answer + " 자세한 내용은 지역센터에 문의해 주세요.")
    entries.append(entry("apply-documents", "how-to-apply", "신청할 때 어떤 서류가 필요한가요?",
                         ["필요 서류", "제출 서류 뭐예요"], "사업계획서 등 공고문에 적힌 서류를 내요."))
    write_kb(tmp_path / "kb", entries)
    report = await import_knowledge(db, entries_dir=kb_dir)
    assert report.lines()[0] == "knowledge: 1 added, 1 updated, 3 unchanged"
    assert report.added == ["apply-documents"] and report.updated == ["ratio-government"]
    revs = await revisions_of(db, "ratio-government")
    assert [(r.number, r.author_label) for r in revs] == [(1, "import"), (2, "import")]
    entry_row = await db.get(KbEntry, "ratio-government")
    assert entry_row.published_revision_id == revs[1].id
    actions = (await db.execute(select(KbEvent.action).where(KbEvent.entry_id == "ratio-government")
                                .order_by(KbEvent.id))).scalars().all()
    assert actions == ["created", "published", "revised", "published"]


async def test_console_edits_are_not_overwritten_without_force(db, tmp_path, kb_dir, admin):
    staff, _ = admin
    await import_knowledge(db, entries_dir=kb_dir)
    await kb_entries.save_revision(db, entry_id="share-company", author=staff, publish=True,
                                   answer="콘솔에서 고친 답변입니다. 2025년 공고를 확인해 주세요.")

    # The file did not change since the import: the console's newer edit is kept, silently.
    report = await import_knowledge(db, entries_dir=kb_dir)
    assert report.kept == ["share-company"] and not report.warnings
    assert (await revisions_of(db, "share-company"))[-1].author_id == staff.id

    # Both sides changed: skipped with a warning naming the console revision.
    entries = sample_entries()
    entries[1] = changed(entries[1], answer="파일에서 고친 답변입니다.")
    write_kb(tmp_path / "kb", entries)
    report = await import_knowledge(db, entries_dir=kb_dir)
    assert report.skipped == ["share-company"]
    assert "skipped (changed in the console too)" in report.lines()[0]
    assert any("share-company" in w and "revision 2" in w and "--force" in w for w in report.warnings)
    published = {e.id: e for e in await kb_entries.published_entries(db)}
    assert published["share-company"].answer.startswith("콘솔에서")

    # --force: the file wins as a new revision on top; the console revision stays in the history.
    report = await import_knowledge(db, entries_dir=kb_dir, force=True)
    assert report.updated == ["share-company"]
    revs = await revisions_of(db, "share-company")
    assert [(r.number, r.author_label) for r in revs] == [(1, "import"), (2, staff.username), (3, "import")]
    assert {e.id: e for e in await kb_entries.published_entries(db)}["share-company"].answer == "파일에서 고친 답변입니다."


async def test_unpublished_entry_is_not_republished_by_import(db, tmp_path, kb_dir, admin):
    staff, _ = admin
    await import_knowledge(db, entries_dir=kb_dir)
    await kb_entries.unpublish(db, entry_id="apply-online", author=staff)
    assert (await import_knowledge(db, entries_dir=kb_dir)).unchanged.count("apply-online") == 1

    entries = sample_entries()
    entries[2] = changed(entries[2], title="신청은 어디서 어떻게 하나요?")
    write_kb(tmp_path / "kb", entries)
    report = await import_knowledge(db, entries_dir=kb_dir)
    assert report.left_unpublished == ["apply-online"] and any("unpublished" in w for w in report.warnings)
    assert (await db.get(KbEntry, "apply-online")).published_revision_id is None
    assert len(await revisions_of(db, "apply-online")) == 2

    await import_knowledge(db, entries_dir=kb_dir, force=True)
    assert (await db.get(KbEntry, "apply-online")).published_revision_id is not None


async def test_synonym_import_keeps_admin_synonyms(db, tmp_path, kb_dir, admin):
    staff, _ = admin
    await import_knowledge(db, entries_dir=kb_dir)
    await kb_synonyms.add_synonym(db, term="스마트공장", variant="스마트공장사업", author=staff)
    write_kb(tmp_path / "kb", synonyms={"스마트공장": ["스공"], "자부담": ["자부담금", "기업부담금"]})
    report = await import_knowledge(db, entries_dir=kb_dir)
    assert (report.synonyms_added, report.synonyms_removed) == (0, 2)  # 스마트팩토리, 나랏돈 left the file
    rows = {(r.term, r.variant): r.created_by for r in (await db.execute(select(KbSynonym))).scalars()}
    assert rows == {("스마트공장", "스공"): None, ("자부담", "자부담금"): None, ("자부담", "기업부담금"): None,
                    ("스마트공장", "스마트공장사업"): staff.id}


async def test_import_refuses_files_with_errors(db, tmp_path):
    entries = sample_entries()
    entries[0] = changed(entries[0], topic="no-such-topic")
    bad = write_kb(tmp_path / "bad", entries)
    with pytest.raises(ImportRefused) as exc:
        await import_knowledge(db, entries_dir=bad)
    assert any(p.code == "unknown-topic" for p in exc.value.problems)
    assert (await db.execute(select(KbEntry))).first() is None


async def test_export_round_trip(db, tmp_path, kb_dir, admin):
    staff, _ = admin
    await import_knowledge(db, entries_dir=kb_dir)
    out = tmp_path / "out" / "entries"
    report = await export_entries(db, entries_dir=out, synonyms_file=out.parent / "synonyms.yaml")
    assert report.entries == 4 and len(report.written) == 4 and report.synonyms_written
    assert load_entries(out) == load_entries(kb_dir)
    assert load_synonyms(out.parent / "synonyms.yaml") == SYNONYMS

    again = await export_entries(db, entries_dir=out, synonyms_file=out.parent / "synonyms.yaml")
    assert again.written == [] and len(again.unchanged) == 4 and not again.synonyms_written

    # A console edit goes out to its topic file only; importing the export back changes nothing.
    await kb_entries.save_revision(db, entry_id="ratio-government", author=staff, publish=True,
                                   paraphrases=[*sample_entries()[0].paraphrases, "국비 얼마까지 줘요"])
    third = await export_entries(db, entries_dir=out, synonyms_file=out.parent / "synonyms.yaml")
    assert [p.name for p in third.written] == ["support-ratio.yaml"]
    assert "국비 얼마까지 줘요" in {e.id: e for e in load_entries(out)}["ratio-government"].paraphrases
    back = await import_knowledge(db, entries_dir=out)
    assert len(back.unchanged) == 4 and not back.updated and not back.skipped


async def test_unpublished_entries_are_not_exported(db, tmp_path, kb_dir, admin):
    staff, _ = admin
    await import_knowledge(db, entries_dir=kb_dir)
    await kb_entries.unpublish(db, entry_id="share-company", author=staff)
    out = tmp_path / "out"
    report = await export_entries(db, entries_dir=out)
    assert report.entries == 3
    assert "share-company" not in {e.id for e in load_entries(out)}


def _check(*args):
    from api.cli import main

    return CliRunner().invoke(main, ["kb", "check", *args])


def test_check_reports_problems_with_exit_code_1(tmp_path):
    entries = sample_entries()
    entries[0] = changed(entries[0], topic="no-such-topic")
    entries[1] = changed(entries[1], source_url="")
    entries[2] = changed(entries[2], paraphrases=(*entries[2].paraphrases, "국비 비율 얼마임"))  # entry 0's
    bad = write_kb(tmp_path / "bad", entries)
    result = _check("--dir", str(bad))
    assert result.exit_code == 1
    out = result.output
    assert "unknown-topic" in out and "'no-such-topic'" in out
    assert "missing-source-url" in out and "[share-company]" in out
    assert "duplicate-paraphrase" in out and "'국비 비율 얼마임'" in out
    assert "expired" in out and "[schedule-2019]" in out
    assert "3 errors" in out


def test_check_warnings_fail_only_when_strict(tmp_path):
    good = write_kb(tmp_path / "good")  # schedule-2019 is expired: a warning
    assert _check("--dir", str(good)).exit_code == 0
    strict = _check("--dir", str(good), "--strict")
    assert strict.exit_code == 1 and "expired" in strict.output


def test_the_repository_knowledge_base_is_clean():
    result = _check("--quiet")
    assert result.exit_code == 0, result.output
    assert " 0 errors" in result.output


def test_cli_import_and_export(fresh_database_url, tmp_path, monkeypatch):
    from api.cli import main
    from api.config import get_settings

    kb = write_kb(tmp_path / "kb")
    monkeypatch.setenv("HOTLINE_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        first = runner.invoke(main, ["kb", "import", "--dir", str(kb)])
        assert first.exit_code == 0, first.output
        assert "knowledge: 4 added, 0 updated, 0 unchanged" in first.output
        assert "synonyms: 5 added, 0 removed" in first.output
        second = runner.invoke(main, ["kb", "import", "--dir", str(kb)])
        assert "knowledge: 0 added, 0 updated, 4 unchanged" in second.output

        out = tmp_path / "exported" / "entries"
        exported = runner.invoke(main, ["kb", "export", "--dir", str(out)])
        assert exported.exit_code == 0, exported.output
        assert "exported 4 published entries: 4 files written" in exported.output
        assert load_entries(out) == load_entries(kb)
        assert load_synonyms(out.parent / "synonyms.yaml") == SYNONYMS

        entries = sample_entries()
        entries[0] = changed(entries[0], topic="nope")
        write_kb(tmp_path / "kb", entries)
        refused = runner.invoke(main, ["kb", "import", "--dir", str(kb)])
        assert refused.exit_code == 1 and "nothing imported" in refused.output
    finally:
        get_settings.cache_clear()


async def test_the_repository_knowledge_base_imports_idempotently(db):
    report = await import_knowledge(db, entries_dir=DEFAULT_ENTRIES_DIR)
    n = len(load_entries(DEFAULT_ENTRIES_DIR))
    assert len(report.added) == n and not report.warnings
    again = await import_knowledge(db, entries_dir=DEFAULT_ENTRIES_DIR)
    assert len(again.unchanged) == n and not again.added and not again.updated
    expired = {e.id for e in load_entries(DEFAULT_ENTRIES_DIR) if e.valid_to and e.valid_to < dt.date.today()}
    assert {e.id for e in await kb_entries.published_entries(db)} >= {e.id for e in load_entries(DEFAULT_ENTRIES_DIR)} - expired
