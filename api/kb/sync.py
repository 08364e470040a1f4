"""Knowledge files <-> database: ``hotline kb import`` / ``hotline init`` and ``hotline kb export``.

Import rules (idempotent; nothing is ever overwritten without history):

* an entry not in the database is created (revision 1, author "import") and published;
* an entry whose file content equals its latest revision is left alone ("unchanged");
* an entry whose file content changed gets a new revision (author "import") that is published
  ("updated") -- unless the console touched the entry since the last import:
  - a console revision after the last imported one and a file that still equals that imported
    revision: the console's edit is newer, kept ("kept");
  - a console revision and a changed file: both sides changed, the entry is skipped with a
    warning ("skipped"); ``--force`` imports the file anyway (a new revision on top, the console
    revisions stay in the history);
  - an entry an admin unpublished: the changed file becomes a new revision but stays unpublished
    (``--force`` publishes it, and publishes an unchanged file's revision too);
* entries only in the database (created in the console) are left alone and counted.

Synonyms: the file's pairs are added; pairs that came from the file (``created_by`` null) and are no
longer in it are removed; pairs admins added (``created_by`` set) are never touched.

Files are read into ``knowledge.loader.canonical`` form, the form console edits are saved in, so saving an
imported entry unchanged in the console changes nothing.

Export writes the *published* entries back into the files (one per topic) with a YAML round trip: order,
comments, quoting and indentation are kept and only values that changed are rewritten, so a console edit
reads as a small diff. The synonyms file is round-tripped the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.kb import changes as kb_changes
from api.kb import entries as kb_entries
from api.kb import synonyms as kb_synonyms
from api.kb.models import KbEntry, KbRevision, KbSynonym
from knowledge.loader import (DEFAULT_ENTRIES_DIR, DEFAULT_SYNONYMS_FILE, Entry, KnowledgeError, Problem, canonical,
                              check, dump_entries, load_entries, load_synonyms, write_synonyms_file)
from knowledge.normalize import compact


def default_synonyms_file(entries_dir: str | os.PathLike[str] | None) -> Path:
    """``knowledge/synonyms.yaml`` for the default entries directory, else ``<dir>/../synonyms.yaml``."""
    if entries_dir is None or Path(entries_dir).resolve() == DEFAULT_ENTRIES_DIR.resolve():
        return DEFAULT_SYNONYMS_FILE
    return Path(entries_dir).resolve().parent / "synonyms.yaml"


class ImportRefused(Exception):
    """The files have errors (``problems``); nothing was imported."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the knowledge files")


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # console edits newer than an unchanged file
    skipped: list[str] = field(default_factory=list)  # changed in the file and in the console
    left_unpublished: list[str] = field(default_factory=list)
    db_only: list[str] = field(default_factory=list)
    synonyms_added: int = 0
    synonyms_removed: int = 0
    synonyms_file: str | None = None
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        head = f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged"
        extra = [f"{n} {what}" for n, what in ((len(self.kept), "kept (console edits are newer)"),
                                               (len(self.skipped), "skipped (changed in the console too)"),
                                               (len(self.db_only), "only in the database"))
                 if n]
        out = ["knowledge: " + ", ".join([head, *extra])]
        if self.synonyms_file is not None:
            out.append(f"synonyms: {self.synonyms_added} added, {self.synonyms_removed} removed")
        out += [f"warning: {w}" for w in self.warnings]
        return out


def _blocking(problems: list[Problem]) -> list[Problem]:
    # An unreadable topics file (a deployment without ../shared) does not block the import.
    return [p for p in problems if p.severity == "error" and p.code != "topics-file"]


async def import_knowledge(session: AsyncSession, *, entries_dir: str | os.PathLike[str] = DEFAULT_ENTRIES_DIR,
                           synonyms_file: str | os.PathLike[str] | None = None, force: bool = False,
                           topics_file: str | os.PathLike[str] | None = None) -> ImportReport:
    """Load the knowledge files into the database (see the module docstring); flush only.

    Raises ``ImportRefused`` when ``knowledge.loader.check`` finds errors (nothing is written)."""
    problems = check(entries_dir, topics_file)
    if _blocking(problems):
        raise ImportRefused(_blocking(problems))
    try:
        entries = [canonical(e) for e in load_entries(entries_dir)]  # stored as the console stores an edit
    except KnowledgeError as exc:
        raise ImportRefused(exc.problems) from exc
    report = ImportReport()
    if any(p.code == "topics-file" for p in problems):
        report.warnings.append("topics file not readable: topics were not verified")

    ids = [e.id for e in entries]
    existing = {e.id: e for e in (await session.execute(select(KbEntry))).scalars()}
    revisions: dict[str, list[KbRevision]] = {}
    if existing:
        for rev in (await session.execute(
                select(KbRevision).where(KbRevision.entry_id.in_(list(existing))).order_by(KbRevision.number)
        )).scalars():
            revisions.setdefault(rev.entry_id, []).append(rev)

    for file_entry in entries:
        entry = existing.get(file_entry.id)
        if entry is None:
            await kb_entries.create_entry_as_is(session, content=file_entry, author=None, publish=False,
                                                author_label=kb_changes.IMPORT_LABEL)
            report.added.append(file_entry.id)
            continue
        revs = revisions[file_entry.id]
        latest = revs[-1]
        if kb_entries.revision_entry(entry.id, entry.topic, latest) == file_entry:
            if force and entry.published_revision_id != latest.id:
                report.updated.append(file_entry.id)  # --force: the file's content is what is served
            else:
                report.unchanged.append(file_entry.id)
            continue
        last_import = next((r for r in reversed(revs) if _is_import(r)), None)
        console_since = [r for r in revs if not _is_import(r) and (last_import is None or r.number > last_import.number)]
        if console_since and not force:
            newest = console_since[-1]
            who = newest.author_label or "console"
            if last_import is not None and kb_entries.revision_entry(entry.id, entry.topic, last_import) == \
                    _with_topic(file_entry, entry.topic):
                report.kept.append(file_entry.id)
                continue
            report.skipped.append(file_entry.id)
            report.warnings.append(
                f"{file_entry.id}: changed in the file and edited in the console (revision {newest.number} by {who}); "
                "skipped -- export the console's version (`hotline kb export`) and merge, or import with --force")
            continue
        unpublished = entry.published_revision_id is None
        detail = kb_entries.EntryDetail(kb_entries.entry_summary(entry, latest, None, kb_entries.kst_today()), entry, revs, [])
        await kb_entries.save_revision_as_is(session, detail=detail, content=file_entry, author=None, publish=False,
                                             author_label=kb_changes.IMPORT_LABEL,
                                             note="--force: 콘솔에서 고친 내용 위에 파일 내용을 가져옴" if console_since else "")
        report.updated.append(file_entry.id)
        if unpublished and not force:
            report.left_unpublished.append(file_entry.id)
            report.warnings.append(f"{file_entry.id}: unpublished in the console; the new revision was saved "
                                   "but not published (publish it in the console, or import with --force)")

    # Publish what the import added or updated (after every revision exists, so that the duplicate-question
    # check sees the imported state of all entries rather than a half-imported one).
    to_publish = set(report.added) | (set(report.updated) - set(report.left_unpublished))
    for entry_id in ids:
        if entry_id in to_publish:
            entry = await session.get(KbEntry, entry_id)
            latest = (await session.execute(select(KbRevision).where(KbRevision.entry_id == entry_id)
                                            .order_by(KbRevision.number.desc()).limit(1))).scalar_one()
            await kb_entries.set_published(session, entry=entry, rev=latest, author=None, label=kb_changes.IMPORT_LABEL)
    report.db_only = sorted(set(existing) - set(ids))
    if report.db_only:
        report.warnings += await _clashes_with_console_entries(session, entries, set(report.db_only))

    syn_path = Path(synonyms_file) if synonyms_file is not None else default_synonyms_file(entries_dir)
    if syn_path.exists():
        report.synonyms_file = str(syn_path)
        try:
            wanted = load_synonyms(syn_path)
        except KnowledgeError as exc:
            raise ImportRefused(exc.problems) from exc
        await _sync_synonyms(session, wanted, report)
    return report


async def _clashes_with_console_entries(session: AsyncSession, entries: list[Entry], db_only: set[str]) -> list[str]:
    """Questions of the files that a published console-only entry also has (the files were checked among
    themselves, not against the database)."""
    theirs: dict[str, str] = {}
    for e in await kb_entries.published_entries(session):
        if e.id in db_only:
            for q in (e.title, *e.paraphrases):
                theirs.setdefault(compact(q), e.id)
    out = []
    for e in entries:
        for q in (e.title, *e.paraphrases):
            other = theirs.get(compact(q))
            if other is not None:
                out.append(f"{e.id}: question {q!r} is also a question of console entry {other!r}")
    return out


def _is_import(rev: KbRevision) -> bool:
    return rev.author_id is None and rev.author_label == kb_changes.IMPORT_LABEL


def _with_topic(e: Entry, topic: str) -> Entry:
    return replace(e, topic=topic)


async def _sync_synonyms(session: AsyncSession, wanted: dict[str, list[str]], report: ImportReport) -> None:
    pairs = [(" ".join(t.split()), " ".join(v.split())) for t, vs in wanted.items() for v in vs]
    rows = list((await session.execute(select(KbSynonym).order_by(KbSynonym.id))).scalars())
    have = {(r.term, r.variant): r for r in rows}
    wanted_set = set(pairs)
    for row in rows:
        if row.created_by is None and (row.term, row.variant) not in wanted_set:
            kb_changes.record_event(session, action="synonym_removed", label=kb_changes.IMPORT_LABEL,
                           detail={"id": row.id, "term": row.term, "variant": row.variant})
            await session.delete(row)
            report.synonyms_removed += 1
    await session.flush()
    for term, variant in dict.fromkeys(pairs):
        if (term, variant) in have or not term or not variant:
            continue
        row = KbSynonym(term=term, variant=variant, created_by=None)
        session.add(row)
        await session.flush()
        kb_changes.record_event(session, action="synonym_added", label=kb_changes.IMPORT_LABEL,
                       detail={"id": row.id, "term": term, "variant": variant})
        report.synonyms_added += 1
    await session.flush()


# --------------------------------------------------------------------------- export


@dataclass
class ExportReport:
    entries: int = 0
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    stale: list[Path] = field(default_factory=list)  # topic files in the directory with no published entry
    synonyms_file: Path | None = None
    synonyms_written: bool = False

    def lines(self) -> list[str]:
        out = [f"exported {self.entries} published entries: {len(self.written)} files written, "
               f"{len(self.unchanged)} unchanged"]
        if self.synonyms_file is not None:
            out.append(f"synonyms: {'written to' if self.synonyms_written else 'unchanged in'} {self.synonyms_file}")
        out += [f"note: {p} has no published entry (left as it is)" for p in self.stale]
        return out


async def export_entries(session: AsyncSession, *, entries_dir: str | os.PathLike[str] = DEFAULT_ENTRIES_DIR,
                         synonyms_file: str | os.PathLike[str] | None = None) -> ExportReport:
    """Write the published entries (and the synonyms, when ``synonyms_file``) back into the files. Files are
    round-tripped (``knowledge.loader.write_topic_file``): only the values that changed are rewritten, so a file
    whose entries did not change is not touched and one added paraphrase is a one-line diff."""
    directory = Path(entries_dir)
    entries = await _published_in_file_order(session)
    report = ExportReport(entries=len(entries))
    by_topic: dict[str, list[Entry]] = {}
    for e in entries:
        by_topic.setdefault(e.topic, []).append(e)
    report.written = dump_entries(entries, directory)
    report.unchanged = [directory / f"{topic}.yaml" for topic in by_topic
                        if directory / f"{topic}.yaml" not in report.written]
    if directory.is_dir():
        report.stale = sorted(p for p in directory.glob("*.yaml") if p.stem not in by_topic)
    if synonyms_file is not None:
        report.synonyms_file = Path(synonyms_file)
        report.synonyms_written = write_synonyms_file(report.synonyms_file, await kb_synonyms.synonyms_map(session))
    return report


async def _published_in_file_order(session: AsyncSession) -> list[Entry]:
    """Published entries in the order they were first created (the files' order after an import)."""
    first = (select(KbRevision.entry_id, func.min(KbRevision.id).label("first_id"))
             .group_by(KbRevision.entry_id).subquery())
    rows = await session.execute(
        select(KbEntry.id, KbEntry.topic, KbRevision)
        .join(KbRevision, KbRevision.id == KbEntry.published_revision_id)
        .join(first, first.c.entry_id == KbEntry.id)
        .order_by(first.c.first_id))
    return [kb_entries.revision_entry(eid, topic, rev) for eid, topic, rev in rows.all()]
