"""Fact audit: for each topic of the topics file, the entry that answers for the programme year.

``topics.yaml`` names, per topic, a ``current`` block: the entry (``entry``), whether the programme year's rule is
public (``status: published``) or left open by the year's notices (``status: not-published``), the ``fact`` and the
``source`` address. ``audit`` checks that block against the knowledge base:

* the entry exists, belongs to the topic and is a current entry (not history);
* it describes the programme year (``year``) and carries that source and a review date;
* a "not published" entry says so in its answer (``확인되지 않`` / ``나오지 않``) and points to the notice (공고).

usage: python -m knowledge.audit [--entries DIR] [--topics FILE]   # prints the table; exit 1 on problems
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from .loader import DEFAULT_ENTRIES_DIR, Entry, default_topics_file, load_entries

__all__ = ["AuditRow", "audit", "markdown"]

STATUSES = ("published", "not-published")
_UNPUBLISHED = re.compile(r"확인되지 않|나오지 않|밝히지 않")


@dataclass(frozen=True)
class AuditRow:
    topic: str
    title: str
    entry_id: str
    status: str
    fact: str
    source: str
    problems: tuple[str, ...]


def _topics(path: Path) -> tuple[int | None, list[dict]]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return doc.get("programme_year"), [t for t in doc.get("topics") or [] if isinstance(t, dict)]


def audit(entries: list[Entry], topics_file: str | os.PathLike[str] | None = None) -> tuple[int | None, list[AuditRow]]:
    """The programme year of the topics file and one row per topic, with what is wrong with it (empty when fine)."""
    year, topics = _topics(Path(topics_file) if topics_file is not None else default_topics_file())
    by_id = {e.id: e for e in entries}
    rows = []
    for t in topics:
        current = t.get("current") if isinstance(t.get("current"), dict) else {}
        eid, status = str(current.get("entry") or ""), str(current.get("status") or "")
        fact, source = str(current.get("fact") or ""), str(current.get("source") or "")
        problems = []
        if year is None:
            problems.append("the topics file names no programme_year")
        if not eid:
            problems.append("no current entry named")
        if status not in STATUSES:
            problems.append(f"status {status!r} is not one of {STATUSES}")
        if not fact or not source:
            problems.append("the current block needs a fact and a source")
        e = by_id.get(eid)
        if eid and e is None:
            problems.append(f"entry {eid!r} is not in the knowledge base")
        if e is not None:
            if e.topic != t.get("slug"):
                problems.append(f"entry {eid!r} belongs to topic {e.topic!r}")
            if e.history_of is not None:
                problems.append(f"entry {eid!r} is a history entry")
            if year is not None and e.year != year:
                problems.append(f"entry {eid!r} describes {e.year}, not the programme year {year}")
            if e.source_url != source:
                problems.append(f"entry {eid!r} cites {e.source_url!r}, the topics file {source!r}")
            if e.reviewed_on is None:
                problems.append(f"entry {eid!r} has no reviewed_on")
            if status == "not-published" and not (_UNPUBLISHED.search(e.answer) and "공고" in e.answer):
                problems.append(f"entry {eid!r} must say the rule is not published and point to the notice (공고문)")
        rows.append(AuditRow(str(t.get("slug")), str(t.get("title") or ""), eid, status, fact, source,
                             tuple(problems)))
    return year, rows


def markdown(year: int | None, rows: list[AuditRow]) -> str:
    """The audit as a Markdown table: topic, the programme year's fact (or "not published"), source."""
    lines = [f"| topic | {year} fact | source | entry |", "|---|---|---|---|"]
    for r in rows:
        fact = r.fact if r.status == "published" else f"**not published**: {r.fact}"
        lines.append(f"| {r.topic} ({r.title}) | {fact.replace('|', '/')} | {r.source} | `{r.entry_id}` |")
    return "\n".join(lines)


def _main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m knowledge.audit", description="Print the programme-year fact audit.")
    p.add_argument("--entries", type=Path, default=DEFAULT_ENTRIES_DIR)
    p.add_argument("--topics", type=Path, default=None)
    a = p.parse_args(argv)
    year, rows = audit(load_entries(a.entries), a.topics)
    print(markdown(year, rows))
    bad = [r for r in rows if r.problems]
    for r in bad:
        for problem in r.problems:
            print(f"{r.topic}: {problem}", file=sys.stderr)
    published = sum(r.status == "published" for r in rows)
    print(f"\n{len(rows)} topics: {published} with the {year} rule, {len(rows) - published} not published, "
          f"{len(bad)} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
