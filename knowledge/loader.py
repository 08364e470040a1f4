"""Load, validate and write the knowledge base (``knowledge/entries/*.yaml``).

File format: see ``knowledge/README.md``. One YAML file per topic::

    topic: support-ratio
    entries:
      - id: support-ratio-government
        title: 정부지원 비율은 얼마인가요?
        paraphrases: [...]
        keywords: [...]
        answer: |
          ...
        source: {title: ..., url: https://...}
        year: 2025
        reviewed_on: 2026-12-06
        valid_from: 2019-01-01
        valid_to: null
      - id: support-ratio-government-2024    # an earlier year's rule, kept as history
        history_of: support-ratio-government
        ...

``load_entries`` is strict about structure (a file that is not a mapping, an entry without
id/title/answer, a date that is not a date: ``KnowledgeError``) and lenient about content,
which ``check`` reports in full. Command line::

    python -m knowledge.loader check [ENTRIES_DIR] [--topics FILE]   # exit 1 on errors
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import sys
import unicodedata
from dataclasses import dataclass, field, fields, replace
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

import yaml
from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import LiteralScalarString, ScalarString
from ruamel.yaml.tokens import CommentToken

from .normalize import compact

__all__ = [
    "Entry",
    "Problem",
    "KnowledgeError",
    "DEFAULT_ENTRIES_DIR",
    "DEFAULT_SYNONYMS_FILE",
    "MAX_ANSWER_CHARS",
    "MAX_TITLE_CHARS",
    "MIN_PARAPHRASES",
    "default_topics_file",
    "load_entries",
    "load_synonyms",
    "load_topics",
    "canonical",
    "check",
    "dump_entries",
    "history_problems",
    "write_synonyms_file",
    "write_topic_file",
]

KNOWLEDGE_DIR = Path(__file__).resolve().parent
DEFAULT_ENTRIES_DIR = KNOWLEDGE_DIR / "entries"
DEFAULT_SYNONYMS_FILE = KNOWLEDGE_DIR / "synonyms.yaml"
TOPICS_ENV_VAR = "HOTLINE_TOPICS_FILE"

# Limits from knowledge/README.md: a clarify button shows the title (<= 40 chars); an
# answer must fit a phone screen (<= ~600 chars); owners phrase a question 10+ ways.
MAX_TITLE_CHARS = 40
MAX_ANSWER_CHARS = 600
MIN_PARAPHRASES = 10

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_REQUIRED = ("id", "title", "answer")


@dataclass(frozen=True)
class Entry:
    """One question/answer of the knowledge base."""

    id: str
    topic: str
    title: str
    paraphrases: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str
    source_title: str
    source_url: str
    year: int | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    reviewed_on: dt.date | None = None  # when someone last checked the answer against its source
    history_of: str | None = None  # the current entry this earlier year's rule belongs to (None: current)

    @property
    def is_history(self) -> bool:
        return self.history_of is not None

    def is_valid_on(self, day: dt.date) -> bool:
        """True when the entry may be served on ``day``."""
        if self.valid_from is not None and self.valid_from > day:
            return False
        if self.valid_to is not None and self.valid_to < day:
            return False
        return True


@dataclass(frozen=True)
class Problem:
    """A problem found by ``check``. ``code`` is stable; ``message`` is for people."""

    code: str
    message: str
    path: str | None = None
    entry_id: str | None = None
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = self.path or "-"
        if self.entry_id:
            where += f" [{self.entry_id}]"
        return f"{self.severity}: {where}: {self.code}: {self.message}"


class KnowledgeError(ValueError):
    """The knowledge base cannot be loaded; ``problems`` says why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def default_topics_file() -> Path:
    """``$HOTLINE_TOPICS_FILE`` if set, else ``knowledge/topics.yaml`` (the project carries its own copy)."""
    env = os.environ.get(TOPICS_ENV_VAR)
    if env:
        return Path(env)
    return KNOWLEDGE_DIR / "topics.yaml"


# --------------------------------------------------------------------------- reading

@dataclass
class _RawEntry:
    path: str
    index: int
    data: dict[str, Any]
    file_topic: Any


@dataclass
class _Raw:
    entries: list[_RawEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _yaml_files(entries_dir: Path) -> list[Path]:
    return sorted(p for p in entries_dir.iterdir()
                  if p.is_file() and p.suffix in (".yaml", ".yml") and not p.name.startswith("."))


def _read_raw(entries_dir: Path) -> _Raw:
    raw = _Raw()
    entries_dir = Path(entries_dir)
    if not entries_dir.is_dir():
        raw.problems.append(Problem("missing-dir", f"entries directory not found: {entries_dir}",
                                    str(entries_dir)))
        return raw
    for path in _yaml_files(entries_dir):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:  # ValueError: 2025-13-45
            raw.problems.append(Problem("yaml-error", f"cannot parse YAML: {exc}", str(path)))
            continue
        if doc is None:
            continue  # an empty file holds no entries
        if not isinstance(doc, dict) or not isinstance(doc.get("entries", []), list):
            raw.problems.append(Problem(
                "invalid-file", "expected a mapping with `topic` and a list `entries`", str(path)))
            continue
        for i, item in enumerate(doc.get("entries") or []):
            if not isinstance(item, dict):
                raw.problems.append(Problem("invalid-entry", f"entry #{i + 1} is not a mapping",
                                            str(path)))
                continue
            raw.entries.append(_RawEntry(str(path), i, item, doc.get("topic")))
    return raw


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).strip()
    raise TypeError(f"expected text, got {type(value).__name__}")


def _texts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    out = tuple(_text(v) for v in value)
    return tuple(v for v in out if v)


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip())
    raise TypeError(f"expected an ISO date, got {value!r}")


def _year(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError("expected a year")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise TypeError(f"expected a year, got {value!r}")


def _build(item: _RawEntry) -> tuple[Entry | None, list[Problem]]:
    d, path = item.data, item.path
    label = d.get("id") if isinstance(d.get("id"), str) else f"#{item.index + 1}"
    missing = [k for k in _REQUIRED if d.get(k) in (None, "", [])]
    topic = d.get("topic", item.file_topic)
    if topic in (None, ""):
        missing.append("topic")
    if missing:
        return None, [Problem("missing-field", f"missing required field(s): {', '.join(missing)}",
                              path, label)]
    source = d.get("source") or {}
    if not isinstance(source, dict):
        return None, [Problem("invalid-field", "`source` must be a mapping with title and url",
                              path, label)]
    try:
        entry = Entry(
            id=_text(d["id"]),
            topic=_text(topic),
            title=_text(d["title"]),
            paraphrases=_texts(d.get("paraphrases")),
            keywords=_texts(d.get("keywords")),
            answer=_text(d["answer"]),
            source_title=_text(source.get("title")),
            source_url=_text(source.get("url")),
            year=_year(d.get("year")),
            valid_from=_date(d.get("valid_from")),
            valid_to=_date(d.get("valid_to")),
            reviewed_on=_date(d.get("reviewed_on")),
            history_of=_text(d.get("history_of")) or None,
        )
    except (TypeError, ValueError) as exc:
        return None, [Problem("invalid-field", str(exc), path, label)]
    return entry, []


def load_entries(path: str | os.PathLike[str] = DEFAULT_ENTRIES_DIR) -> list[Entry]:
    """All entries of ``path`` (files sorted by name, entries in file order).

    Raises ``KnowledgeError`` when a file or entry cannot be read into an ``Entry``.
    """
    raw = _read_raw(Path(path))
    problems = list(raw.problems)
    entries: list[Entry] = []
    for item in raw.entries:
        entry, found = _build(item)
        problems.extend(found)
        if entry is not None:
            entries.append(entry)
    if problems:
        raise KnowledgeError(problems)
    return entries


def load_synonyms(path: str | os.PathLike[str] | None = None) -> dict[str, list[str]]:
    """``{canonical: [variants]}`` from a synonyms YAML file.

    With ``path=None`` the repository's ``knowledge/synonyms.yaml`` is read if it exists
    (an absent default file means no synonyms); an explicit path must exist.
    """
    if path is None:
        if not DEFAULT_SYNONYMS_FILE.exists():
            return {}
        path = DEFAULT_SYNONYMS_FILE
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict):
        raise KnowledgeError([Problem("invalid-file", "synonyms must be a mapping "
                                      "`canonical: [variants]`", str(path))])
    out: dict[str, list[str]] = {}
    for key, value in doc.items():
        try:
            canonical = _text(key)
            variants = [v for v in _texts(value) if v != canonical]
        except TypeError as exc:
            raise KnowledgeError([Problem("invalid-field", f"{key!r}: {exc}", str(path))]) from exc
        if canonical:
            merged = out.setdefault(canonical, [])
            merged.extend(v for v in variants if v not in merged)
    return out


def load_topics(topics_file: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """``{slug: title}`` of the programme topics."""
    path = Path(topics_file) if topics_file is not None else default_topics_file()
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    topics = doc.get("topics") if isinstance(doc, dict) else None
    if not isinstance(topics, list):
        raise KnowledgeError([Problem("invalid-file", "expected a list `topics`", str(path))])
    return {str(t["slug"]): str(t.get("title", "")) for t in topics
            if isinstance(t, dict) and t.get("slug")}


# --------------------------------------------------------------------------- history links

HISTORY_PROBLEMS = {
    "history-self": "history_of names the entry itself",
    "history-unknown": "history_of names no entry",
    "history-chain": "history_of names a history entry (name the current entry)",
    "history-has-history": "a history entry cannot have history entries of its own",
    "history-topic": "a history entry must have the topic of its current entry",
    "history-not-older": "a history entry must describe an earlier year than its current entry",
}


def history_problems(entry: Entry, target: Entry | None, *, has_own_history: bool) -> list[str]:
    """What is wrong with ``entry.history_of`` (keys of ``HISTORY_PROBLEMS``), given the entry it names (None:
    no such entry) and whether other entries name ``entry`` as theirs. ``[]`` for a current entry."""
    if entry.history_of is None:
        return []
    if entry.history_of == entry.id:
        return ["history-self"]
    if target is None:
        return ["history-unknown"]
    out = []
    if target.history_of is not None:
        out.append("history-chain")
    if has_own_history:
        out.append("history-has-history")
    if target.topic != entry.topic:
        out.append("history-topic")
    if entry.year is None or target.year is None or entry.year >= target.year:
        out.append("history-not-older")
    return out


# --------------------------------------------------------------------------- checking

def valid_url(url: str) -> bool:
    """An absolute http(s) link with a dotted host."""
    if not url or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and "." in host and not host.startswith(".")


def check(entries_dir: str | os.PathLike[str] = DEFAULT_ENTRIES_DIR,
          topics_file: str | os.PathLike[str] | None = None,
          *, today: dt.date | None = None) -> list[Problem]:
    """Every problem of the knowledge base, errors and warnings; ``[]`` when it is clean.

    Errors: unreadable file, missing/invalid field, unknown topic, missing or invalid
    source url, duplicate id, the same question (after normalisation) in two entries,
    answer longer than ``MAX_ANSWER_CHARS``, title longer than ``MAX_TITLE_CHARS``,
    bad id, ``valid_from`` after ``valid_to``, missing year, ``reviewed_on`` after ``today``, a
    ``history_of`` that names no entry or is not an earlier year of its current entry (see
    ``HISTORY_PROBLEMS``). Warnings: expired entry (``valid_to`` before ``today``), no ``reviewed_on``,
    fewer than ``MIN_PARAPHRASES`` paraphrases (history entries need none), file not named after its topic.
    """
    today = today or dt.date.today()
    raw = _read_raw(Path(entries_dir))
    problems = list(raw.problems)
    try:
        topics = load_topics(topics_file)
    except (OSError, yaml.YAMLError, KnowledgeError) as exc:
        problems.append(Problem("topics-file", f"cannot read topics file: {exc}",
                                str(topics_file or default_topics_file())))
        topics = None

    seen_ids: dict[str, str] = {}
    built: list[tuple[str, Entry]] = []
    seen_questions: dict[str, tuple[str, str]] = {}  # compact question -> (entry id, original)
    for item in raw.entries:
        entry, found = _build(item)
        problems.extend(found)
        if entry is None:
            continue
        path, eid = item.path, entry.id
        built.append((path, entry))

        def add(code: str, message: str, severity: str = "error") -> None:
            problems.append(Problem(code, message, path, eid, severity))

        if not _ID_RE.match(eid):
            add("invalid-id", f"id {eid!r} is not kebab-case (a-z, 0-9, single dashes)")
        if eid in seen_ids:
            add("duplicate-id", f"id {eid!r} is also used in {seen_ids[eid]}")
        else:
            seen_ids[eid] = path
        if topics is not None and entry.topic not in topics:
            add("unknown-topic", f"topic {entry.topic!r} is not in the topics file")
        if item.file_topic not in (None, "") and Path(path).stem != str(item.file_topic):
            add("file-name", f"file is not named after its topic {item.file_topic!r}", "warning")
        if not entry.source_title:
            add("missing-field", "missing source.title")
        if not entry.source_url:
            add("missing-source-url", "missing source.url")
        elif not valid_url(entry.source_url):
            add("invalid-source-url", f"source.url {entry.source_url!r} is not an http(s) link")
        if len(entry.answer) > MAX_ANSWER_CHARS:
            add("answer-too-long",
                f"answer has {len(entry.answer)} characters (at most {MAX_ANSWER_CHARS})")
        if len(entry.title) > MAX_TITLE_CHARS:
            add("title-too-long",
                f"title has {len(entry.title)} characters (at most {MAX_TITLE_CHARS})")
        if len(entry.paraphrases) < MIN_PARAPHRASES and entry.history_of is None:
            add("few-paraphrases", f"{len(entry.paraphrases)} paraphrases "
                f"(at least {MIN_PARAPHRASES} recommended)", "warning")
        if entry.year is None:
            add("missing-field", "missing year (the programme year the answer describes)")
        if entry.reviewed_on is None:
            add("missing-reviewed-on", "missing reviewed_on (the day the answer was checked against its source)",
                "warning")
        elif entry.reviewed_on > today:
            add("invalid-dates", f"reviewed_on {entry.reviewed_on} is in the future")
        if entry.valid_from and entry.valid_to and entry.valid_from > entry.valid_to:
            add("invalid-dates", f"valid_from {entry.valid_from} is after valid_to {entry.valid_to}")
        if entry.valid_to is not None and entry.valid_to < today:
            add("expired", f"expired on {entry.valid_to}: never served", "warning")
        own: set[str] = set()
        for question in (entry.title, *entry.paraphrases):
            key = compact(question)
            if not key or key in own:
                continue
            own.add(key)
            other = seen_questions.get(key)
            if other is None:
                seen_questions[key] = (eid, question)
            elif other[0] != eid:
                add("duplicate-paraphrase",
                    f"{question!r} is the same question as {other[1]!r} of entry {other[0]!r}")
    by_id = {e.id: e for _, e in built}
    targets = {e.history_of for _, e in built if e.history_of is not None}
    for path, entry in built:
        for code in history_problems(entry, by_id.get(entry.history_of or ""), has_own_history=entry.id in targets):
            problems.append(Problem(code, f"{HISTORY_PROBLEMS[code]} ({entry.history_of!r})", path, entry.id))
    return problems


# --------------------------------------------------------------------------- canonical form

# Fields whose text keeps its lines (every other text field is one line).
MULTILINE_FIELDS = frozenset({"answer"})


def _one_line(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _lines(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def canonical(entry: Entry) -> Entry:
    """The form an entry is stored in, whether it comes from a file or from the console: NFC text, ``\\n`` line
    endings, no trailing spaces; one-line fields with single spaces; lists without empty or repeated items; no
    paraphrase equal to the title. Applying it twice changes nothing, so saving unchanged fields changes nothing."""
    changes: dict[str, Any] = {}
    for f in fields(entry):
        value = getattr(entry, f.name)
        if isinstance(value, str):
            changes[f.name] = _lines(value) if f.name in MULTILINE_FIELDS else _one_line(value)
        elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            items: list[str] = []
            for v in map(_one_line, value):
                if v and v not in items:
                    items.append(v)
            changes[f.name] = tuple(items)
    out = replace(entry, **changes)
    if out.title in out.paraphrases:
        out = replace(out, paraphrases=tuple(p for p in out.paraphrases if p != out.title))
    return out


# --------------------------------------------------------------------------- writing
#
# Files are written with ruamel.yaml's round trip: an existing file keeps its order, comments, quoting and
# indentation, and only the values that changed are rewritten (a paraphrase added is a one-line diff). New files
# and new entries take the layout of the hand-written files: two-space mappings, list items indented under their
# key, keywords in flow style, answers as literal blocks, a blank line between entries.

class _Flow(list):
    """A list written in flow style: ``[a, b]``."""


def _round_trip_yaml() -> YAML:
    rt = YAML()  # round trip
    rt.preserve_quotes = True
    rt.width = 1_000_000  # never fold a long line
    rt.indent(mapping=2, sequence=4, offset=2)
    rt.representer.add_representer(
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null"))
    return rt


def _entry_doc(entry: Entry, file_topic: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": entry.id}
    if entry.topic != file_topic:
        doc["topic"] = entry.topic
    doc.update({
        "title": entry.title,
        "paraphrases": list(entry.paraphrases),
        "keywords": _Flow(entry.keywords),
        "answer": entry.answer,
        "source": {"title": entry.source_title, "url": entry.source_url},
        "year": entry.year,
    })
    if entry.reviewed_on is not None:
        doc["reviewed_on"] = entry.reviewed_on
    doc.update({"valid_from": entry.valid_from, "valid_to": entry.valid_to})
    if entry.history_of is not None:
        doc["history_of"] = entry.history_of
    return doc


def _new_node(value: Any) -> Any:
    """A value as a fresh round-trip node in the files' layout."""
    if isinstance(value, dict):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = _new_node(item)
        return node
    if isinstance(value, list):
        seq = CommentedSeq(_new_node(v) for v in value)
        if isinstance(value, _Flow):
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value + "\n")
    return value


def _same_item(old: Any, new: Any) -> bool:
    return isinstance(old, (str, int, float)) and not isinstance(old, bool) and _one_line(str(old)) == new


def _merge_seq(seq: CommentedSeq, new: list) -> None:
    """Make ``seq`` hold ``new``, touching only the items that differ (their neighbours keep their comments)."""
    old = [_one_line(str(v)) if isinstance(v, (str, int, float)) else repr(v) for v in seq]
    ops = SequenceMatcher(a=old, b=[str(v) for v in new], autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in reversed(ops):
        if tag == "equal":
            continue
        del seq[i1:i2]
        for k, value in enumerate(new[j1:j2]):
            seq.insert(i1 + k, _new_node(value))


def _updated(node: Any, value: Any, old: Any) -> Any:
    """The node for a changed value, in the style of the node it replaces."""
    if isinstance(value, dict) and isinstance(node, CommentedMap):
        _merge_map(node, value, old if isinstance(old, dict) else None, removable=set(value))
        return node
    if isinstance(value, list) and isinstance(node, CommentedSeq):
        _merge_seq(node, value)
        return node
    if isinstance(value, str):
        if "\n" in value:
            keep_final_newline = not (isinstance(node, LiteralScalarString) and not str(node).endswith("\n"))
            return LiteralScalarString(value + ("\n" if keep_final_newline else ""))
        if isinstance(node, ScalarString) and not isinstance(node, LiteralScalarString):
            return type(node)(value)  # keeps its quotes
        return value
    return _new_node(value)


def _merge_map(node: CommentedMap, new: dict[str, Any], old: dict[str, Any] | None, *,
               removable: set[str]) -> None:
    """Write ``new`` into ``node``: a key whose value is unchanged (``old``, read from the node the way the loader
    reads it, equals ``new``) keeps its node untouched; keys the writer knows (``removable``) and ``new`` lacks
    are dropped; keys the writer does not know are kept; an empty value is not added."""
    for key in [k for k in node if k in removable and k not in new]:
        del node[key]
    position = 0
    for key, value in new.items():
        if key in node:
            if old is None or key not in old or old[key] != value:
                node[key] = _updated(node[key], value, None if old is None else old.get(key))
            position = list(node).index(key) + 1
        elif value not in (None, "", [], {}):
            node.insert(position, key, _new_node(value))
            position += 1


def _file_doc(item: Any, file_topic: str) -> dict[str, Any] | None:
    """What the writer would write for an entry as the file has it now (None when it cannot be read)."""
    if not isinstance(item, dict):
        return None
    entry, _ = _build(_RawEntry("", 0, item, file_topic))
    return _entry_doc(canonical(entry), file_topic) if entry is not None else None


_BLANK_LINE = "\n\n"


def _separate_entries(seq: CommentedSeq) -> None:
    """A blank line between entries (after the last key of each entry but the last), none after the last."""
    for i, item in enumerate(seq):
        if not isinstance(item, CommentedMap) or not item:
            continue
        last = list(item)[-1]
        slot = item.ca.items.get(last)
        after = slot[2] if slot and len(slot) > 2 else None
        if i < len(seq) - 1 and after is None:
            item.ca.items[last] = [None, None, CommentToken(_BLANK_LINE, CommentMark(0), None), None]
        elif i == len(seq) - 1 and after is not None and not after.value.strip():
            slot[2] = None


def _dump(doc: Any, rt: YAML) -> str:
    out = io.StringIO()
    rt.dump(doc, out)
    return out.getvalue()


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _load_round_trip(path: Path, rt: YAML) -> tuple[str | None, Any]:
    if not path.exists():
        return None, None
    text = path.read_text(encoding="utf-8")
    try:
        return text, rt.load(text)
    except YAMLError:
        return text, None  # unreadable: written anew


def write_topic_file(path: str | os.PathLike[str], topic: str, entries: Iterable[Entry]) -> bool:
    """Make ``path`` hold exactly ``entries`` of ``topic`` (in that order for entries the file does not have yet);
    only what changed is rewritten. Returns whether the file changed."""
    path, rt = Path(path), _round_trip_yaml()
    before, doc = _load_round_trip(path, rt)
    if not isinstance(doc, CommentedMap) or not isinstance(doc.get("entries"), CommentedSeq):
        doc = CommentedMap([("topic", topic), ("entries", CommentedSeq())])
    elif doc.get("topic") != topic:
        doc["topic"] = topic
    seq: CommentedSeq = doc["entries"]
    entries = list(entries)
    wanted = {e.id for e in entries}
    for i in reversed(range(len(seq))):
        if not isinstance(seq[i], dict) or seq[i].get("id") not in wanted:
            del seq[i]
    in_file = {item.get("id"): item for item in seq}
    for entry in entries:
        new = _entry_doc(canonical(entry), topic)
        item = in_file.get(entry.id)
        if item is None:
            seq.append(_new_node(new))
        else:
            _merge_map(item, new, _file_doc(item, topic), removable=set(_entry_doc(entry, "")))
    _separate_entries(seq)
    text = _dump(doc, rt)
    if text == before:
        return False
    _write_text(path, text)
    return True


def dump_entries(entries: Iterable[Entry], directory: str | os.PathLike[str]) -> list[Path]:
    """Write ``entries`` as ``<directory>/<topic>.yaml`` files (the format ``load_entries`` reads), each topic file
    holding exactly its entries (``write_topic_file``). Returns the paths that changed."""
    directory = Path(directory)
    by_topic: dict[str, list[Entry]] = {}
    for entry in entries:
        by_topic.setdefault(entry.topic, []).append(entry)
    return [directory / f"{topic}.yaml" for topic, items in by_topic.items()
            if write_topic_file(directory / f"{topic}.yaml", topic, items)]


SYNONYMS_HEADER = "# canonical term: [variants owners type]\n"


def write_synonyms_file(path: str | os.PathLike[str], synonyms: dict[str, list[str]]) -> bool:
    """Make the synonyms file hold ``synonyms`` (``{term: [variants]}``), touching only the terms that changed
    (new terms at the end, in flow style). Returns whether the file changed."""
    path, rt = Path(path), _round_trip_yaml()
    before, doc = _load_round_trip(path, rt)
    if not isinstance(doc, CommentedMap):
        doc = CommentedMap()
        if before is None:
            doc.yaml_set_start_comment(SYNONYMS_HEADER.removeprefix("# ").rstrip("\n"))
    for key in [k for k in doc if _one_line(str(k)) not in synonyms]:
        del doc[key]
    present = {_one_line(str(k)): k for k in doc}
    for term, variants in synonyms.items():
        key = present.get(term)
        if key is None:
            doc[term] = _new_node(_Flow(variants))
            continue
        node = doc[key]
        if not isinstance(node, CommentedSeq):
            doc[key] = _new_node(_Flow(variants))
        elif [_one_line(str(v)) for v in node] != list(variants):
            _merge_seq(node, list(variants))
    text = _dump(doc, rt)
    if text == before:
        return False
    _write_text(path, text)
    return True


# --------------------------------------------------------------------------- CLI

def _main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m knowledge.loader",
                                     description="Validate the knowledge base.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="report problems; exit 1 when there are errors")
    p_check.add_argument("entries_dir", nargs="?", default=str(DEFAULT_ENTRIES_DIR))
    p_check.add_argument("--topics", default=None, help="topics.yaml (default: "
                         f"${TOPICS_ENV_VAR} or ../shared/knowledge/topics.yaml)")
    p_check.add_argument("--no-warnings", action="store_true", help="print errors only")
    args = parser.parse_args(argv)
    problems = check(args.entries_dir, args.topics)
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        if p.severity == "error" or not args.no_warnings:
            print(p)
    n_entries = len(_read_raw(Path(args.entries_dir)).entries)
    print(f"{n_entries} entries: {len(errors)} errors, {len(problems) - len(errors)} warnings")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
