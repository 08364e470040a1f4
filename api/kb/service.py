"""The knowledge base in the database: entries and their immutable revisions, publication, synonyms,
previews, feedback on logged questions and the unanswered-questions report (the ask log itself is written by
``api.kb.asklog``).

An entry's content lives only in ``kb_revisions`` (never updated or deleted); ``kb_entries.
published_revision_id`` points at what is served. Every change writes a ``kb_events`` row (who did what,
when), which is also the version stamp the matcher cache of each process polls (``api.kb.cache``).

Revision *numbers* (1, 2, 3 ... per entry) are what people and these functions use to name a revision.

All functions are keyword-only and async, take an ``AsyncSession`` and only flush; the caller commits.
Errors are ``api.errors`` types with Korean details.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import utcnow
from api.errors import Conflict, NotFound, Unprocessable
from api.kb.models import AskLog, KbEntry, KbEvent, KbRevision, KbSynonym
from api.staff.models import Staff
from knowledge.loader import MAX_ANSWER_CHARS, MAX_TITLE_CHARS, Entry, KnowledgeError, load_topics, valid_url
from knowledge.matcher import Matcher, MatchResult
from knowledge.normalize import clean, compact

KST = ZoneInfo("Asia/Seoul")
IMPORT_LABEL = "import"
CONTENT_FIELDS = ("title", "paraphrases", "keywords", "answer", "source_title", "source_url", "year",
                  "valid_from", "valid_to")
MAX_QUESTION_CHARS = 2000
MAX_PARAPHRASE_CHARS = 300
MAX_PARAPHRASES = 300
MAX_KEYWORD_CHARS = 60
MAX_KEYWORDS = 60
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_RE = ID_RE


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()
"""Default of ``save_revision``'s content arguments: keep the latest revision's value."""


def kst_today() -> dt.date:
    """Today in Korea: the day validity dates are compared with."""
    return dt.datetime.now(KST).date()


# --------------------------------------------------------------------------- conversions


def revision_entry(entry_id: str, topic: str, rev: KbRevision) -> Entry:
    """The loader/matcher ``Entry`` of one revision."""
    return Entry(id=entry_id, topic=topic, title=rev.title, paraphrases=tuple(rev.paraphrases or ()),
                 keywords=tuple(rev.keywords or ()), answer=rev.answer, source_title=rev.source_title or "",
                 source_url=rev.source_url or "", year=rev.year, valid_from=rev.valid_from, valid_to=rev.valid_to)


def _revision_values(e: Entry) -> dict[str, Any]:
    return {"title": e.title, "paraphrases": list(e.paraphrases), "keywords": list(e.keywords),
            "answer": e.answer, "source_title": e.source_title, "source_url": e.source_url, "year": e.year,
            "valid_from": e.valid_from, "valid_to": e.valid_to}


def _actor(author: Staff | None, label: str | None = None) -> tuple[int | None, str]:
    if author is None:
        return None, label or IMPORT_LABEL
    return author.id, label or author.display_name or author.username


# --------------------------------------------------------------------------- validation


_topics_cache: tuple[float, dict[str, str]] | None = None


def known_topics() -> dict[str, str] | None:
    """``{slug: title}`` from the topics file, or ``None`` when it cannot be read (then slugs are not checked)."""
    global _topics_cache
    from knowledge.loader import default_topics_file

    path = default_topics_file()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    if _topics_cache is None or _topics_cache[0] != mtime:
        try:
            _topics_cache = (mtime, load_topics(path))
        except (OSError, ValueError, KnowledgeError):
            return None
    return _topics_cache[1]


def _text_list(values: Any, *, what: str, max_chars: int, max_items: int) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for v in values:
        if not isinstance(v, str):
            raise Unprocessable(f"{what}은(는) 글자로 입력해 주세요.")
        v = " ".join(v.split())
        if not v or v in out:
            continue
        if len(v) > max_chars:
            raise Unprocessable(f"{what}은(는) {max_chars}자 이내로 입력해 주세요: {v[:30]}…")
        out.append(v)
    if len(out) > max_items:
        raise Unprocessable(f"{what}은(는) {max_items}개까지 입력할 수 있습니다.")
    return tuple(out)


def _normalised(e: Entry) -> Entry:
    """Trim and de-duplicate an entry's fields and validate them (422 with a Korean message)."""
    title = " ".join((e.title or "").split())
    answer = (e.answer or "").strip()
    if not title:
        raise Unprocessable("질문 제목을 입력해 주세요.")
    if len(title) > MAX_TITLE_CHARS:
        raise Unprocessable(f"질문 제목은 {MAX_TITLE_CHARS}자 이내로 입력해 주세요. (지금 {len(title)}자)")
    if not answer:
        raise Unprocessable("답변을 입력해 주세요.")
    if len(answer) > MAX_ANSWER_CHARS:
        raise Unprocessable(f"답변은 휴대폰 화면에 맞게 {MAX_ANSWER_CHARS}자 이내로 입력해 주세요. (지금 {len(answer)}자)")
    if not SLUG_RE.match(e.topic or ""):
        raise Unprocessable("주제(topic)는 영문 소문자와 숫자, '-'로 된 이름이어야 합니다.")
    topics = known_topics()
    if topics is not None and e.topic not in topics:
        raise Unprocessable(f"알 수 없는 주제입니다: {e.topic}")
    source_url = (e.source_url or "").strip()
    if source_url and not valid_url(source_url):
        raise Unprocessable("출처 링크는 http:// 또는 https://로 시작하는 주소여야 합니다.")
    if e.year is not None and not 2000 <= e.year <= 2100:
        raise Unprocessable("사업연도가 올바르지 않습니다.")
    if e.valid_from and e.valid_to and e.valid_from > e.valid_to:
        raise Unprocessable("게시 시작일이 종료일보다 늦습니다.")
    return replace(
        e, title=title, answer=answer, source_url=source_url, source_title=" ".join((e.source_title or "").split()),
        paraphrases=tuple(p for p in _text_list(e.paraphrases, what="질문 표현", max_chars=MAX_PARAPHRASE_CHARS,
                                                  max_items=MAX_PARAPHRASES) if p != title),
        keywords=_text_list(e.keywords, what="키워드", max_chars=MAX_KEYWORD_CHARS, max_items=MAX_KEYWORDS))


def _require_source(e: Entry) -> None:
    if not e.source_title or not e.source_url:
        raise Unprocessable("게시하려면 출처(제목과 링크)를 입력해 주세요.")


async def _ensure_no_duplicate_questions(session: AsyncSession, e: Entry) -> None:
    """The same question (spacing/punctuation aside) must not belong to two published entries."""
    mine = {}
    for q in (e.title, *e.paraphrases):
        key = compact(q)
        if key:
            mine.setdefault(key, q)
    if not mine:
        return
    for other in await published_entries(session):
        if other.id == e.id:
            continue
        for q in (other.title, *other.paraphrases):
            if compact(q) in mine:
                raise Conflict(f"'{mine[compact(q)]}'은(는) 이미 다른 항목({other.id})의 질문입니다. "
                               "한 질문은 한 항목에만 둘 수 있습니다.", code="duplicate_question")


# --------------------------------------------------------------------------- reading


async def published_entries(session: AsyncSession) -> list[Entry]:
    """Every published entry (expired ones included; the matcher skips them), in creation order."""
    rows = await session.execute(
        select(KbEntry.id, KbEntry.topic, KbRevision)
        .join(KbRevision, KbRevision.id == KbEntry.published_revision_id)
        .order_by(KbEntry.created_at, KbEntry.id))
    return [revision_entry(eid, topic, rev) for eid, topic, rev in rows.all()]


async def synonyms_map(session: AsyncSession) -> dict[str, list[str]]:
    """``{term: [variants]}`` of every synonym row (file-imported and admin-added), oldest first."""
    out: dict[str, list[str]] = {}
    for term, variant in (await session.execute(
            select(KbSynonym.term, KbSynonym.variant).order_by(KbSynonym.id))).all():
        out.setdefault(term, []).append(variant)
    return out


async def kb_stamp(session: AsyncSession) -> tuple:
    """A cheap value that changes with every committed KB change (see ``api.kb.cache``).

    ``count(kb_events)`` catches events committed out of id order; the synonym and revision figures
    also catch rows written without an event."""
    row = (await session.execute(select(
        select(func.count()).select_from(KbEvent).scalar_subquery(),
        select(func.max(KbEvent.id)).scalar_subquery(),
        select(func.count()).select_from(KbSynonym).scalar_subquery(),
        select(func.max(KbSynonym.id)).scalar_subquery(),
        select(func.max(KbRevision.id)).scalar_subquery(),
    ))).one()
    return tuple(row)


@dataclass(frozen=True)
class EntrySummary:
    id: str
    topic: str
    title: str
    status: str  # "published" | "unpublished"
    published_revision: int | None
    latest_revision: int
    has_unpublished_changes: bool
    expired: bool
    valid_to: dt.date | None
    paraphrase_count: int
    updated_at: dt.datetime


@dataclass(frozen=True)
class EntryDetail:
    summary: EntrySummary
    entry: KbEntry
    revisions: list[KbRevision]  # oldest first
    events: list[KbEvent]  # oldest first

    def revision(self, number: int) -> KbRevision | None:
        return next((r for r in self.revisions if r.number == number), None)

    @property
    def latest(self) -> KbRevision:
        return self.revisions[-1]


def _summary(entry: KbEntry, latest: KbRevision, published_number: int | None, today: dt.date) -> EntrySummary:
    return EntrySummary(
        id=entry.id, topic=entry.topic, title=latest.title,
        status="published" if entry.published_revision_id is not None else "unpublished",
        published_revision=published_number, latest_revision=latest.number,
        has_unpublished_changes=published_number != latest.number,
        expired=latest.valid_to is not None and latest.valid_to < today, valid_to=latest.valid_to,
        paraphrase_count=len(latest.paraphrases or ()), updated_at=entry.updated_at)


async def list_entries(session: AsyncSession, *, q: str | None = None, topic: str | None = None,
                       status: str | None = None, limit: int = 200, offset: int = 0) -> list[EntrySummary]:
    """Entries with their latest revision, by id. ``q`` searches id, title, paraphrases, keywords and answer
    (spacing- and case-insensitive); ``status``: "published", "unpublished", "changed" (latest revision not
    published) or "expired"."""
    latest_no = (select(KbRevision.entry_id, func.max(KbRevision.number).label("n"))
                 .group_by(KbRevision.entry_id).subquery())
    stmt = (select(KbEntry, KbRevision)
            .join(latest_no, latest_no.c.entry_id == KbEntry.id)
            .join(KbRevision, (KbRevision.entry_id == KbEntry.id) & (KbRevision.number == latest_no.c.n))
            .order_by(KbEntry.id))
    if topic:
        stmt = stmt.where(KbEntry.topic == topic)
    if status == "published":
        stmt = stmt.where(KbEntry.published_revision_id.is_not(None))
    elif status == "unpublished":
        stmt = stmt.where(KbEntry.published_revision_id.is_(None))
    rows = (await session.execute(stmt)).all()
    pub_ids = [e.published_revision_id for e, _ in rows if e.published_revision_id is not None]
    numbers: dict[int, int] = {}
    if pub_ids:
        numbers = dict((await session.execute(
            select(KbRevision.id, KbRevision.number).where(KbRevision.id.in_(pub_ids)))).all())
    needle = compact(q) if q else ""
    today = kst_today()
    out = []
    for entry, latest in rows:
        if needle:
            hay = compact(" ".join((entry.id, latest.title, *latest.paraphrases, *latest.keywords, latest.answer)))
            if needle not in hay:
                continue
        s = _summary(entry, latest, numbers.get(entry.published_revision_id), today)
        if status == "changed" and not s.has_unpublished_changes:
            continue
        if status == "expired" and not s.expired:
            continue
        out.append(s)
    return out[offset:offset + limit]


async def get_entry(session: AsyncSession, *, entry_id: str, for_update: bool = False) -> EntryDetail:
    """An entry with all its revisions and its history (events); 404 when unknown."""
    stmt = select(KbEntry).where(KbEntry.id == entry_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    entry = (await session.execute(stmt)).scalar_one_or_none()
    if entry is None:
        raise NotFound("해당 지식 항목을 찾을 수 없습니다.")
    revisions = list((await session.execute(
        select(KbRevision).where(KbRevision.entry_id == entry_id).order_by(KbRevision.number))).scalars())
    events = list((await session.execute(
        select(KbEvent).where(KbEvent.entry_id == entry_id).order_by(KbEvent.id))).scalars())
    published = next((r.number for r in revisions if r.id == entry.published_revision_id), None)
    return EntryDetail(_summary(entry, revisions[-1], published, kst_today()), entry, revisions, events)


async def get_public_entry(session: AsyncSession, *, entry_id: str, today: dt.date | None = None) -> Entry:
    """The published content of an entry that may be served today; 404 otherwise."""
    row = (await session.execute(
        select(KbEntry.id, KbEntry.topic, KbRevision)
        .join(KbRevision, KbRevision.id == KbEntry.published_revision_id)
        .where(KbEntry.id == entry_id))).one_or_none()
    if row is None or not revision_entry(*row).is_valid_on(today or kst_today()):
        raise NotFound("해당 안내를 찾을 수 없습니다.")
    return revision_entry(*row)


# --------------------------------------------------------------------------- writing


def record_event(session: AsyncSession, *, action: str, entry_id: str | None = None, revision_id: int | None = None,
           author: Staff | None = None, label: str | None = None, detail: dict | None = None) -> None:
    actor_id, actor_label = _actor(author, label)
    session.add(KbEvent(action=action, entry_id=entry_id, revision_id=revision_id, actor_id=actor_id,
                        actor_label=actor_label, detail=detail or {}))
    from api.kb.cache import notify_changed

    notify_changed()


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("다른 사람이 같은 항목을 동시에 수정했습니다. 새로 고친 뒤 다시 시도해 주세요.") from exc


async def _add_revision(session: AsyncSession, *, entry: KbEntry, content: Entry, number: int,
                        author: Staff | None, label: str | None, note: str) -> KbRevision:
    actor_id, actor_label = _actor(author, label)
    rev = KbRevision(entry_id=entry.id, number=number, author_id=actor_id, author_label=actor_label, note=note,
                     **_revision_values(content))
    session.add(rev)
    await _flush(session)
    return rev


async def set_published(session: AsyncSession, *, entry: KbEntry, rev: KbRevision | None,
                        author: Staff | None, label: str | None = None) -> None:
    """Point the entry at ``rev`` (``None``: unpublish) and record the event; no validation."""
    new_id = rev.id if rev is not None else None
    if entry.published_revision_id == new_id:
        return
    entry.published_revision_id = new_id
    entry.updated_at = utcnow()
    record_event(session, action="published" if rev is not None else "unpublished", entry_id=entry.id,
           revision_id=new_id, author=author, label=label,
           detail={"revision": rev.number} if rev is not None else {})
    await _flush(session)


async def create_entry(session: AsyncSession, *, entry_id: str, topic: str, title: str, answer: str,
                       paraphrases: list[str] | tuple[str, ...] = (), keywords: list[str] | tuple[str, ...] = (),
                       source_title: str = "", source_url: str = "", year: int | None = None,
                       valid_from: dt.date | None = None, valid_to: dt.date | None = None,
                       author: Staff | None, publish: bool = False, note: str = "") -> tuple[KbEntry, KbRevision]:
    """A new entry with revision 1 (published when ``publish``). 409 when the id exists, 422 when invalid."""
    entry_id = (entry_id or "").strip()
    if not ID_RE.match(entry_id) or len(entry_id) > 100:
        raise Unprocessable("항목 ID는 영문 소문자, 숫자와 '-'로 100자 이내로 입력해 주세요. (예: support-ratio-2025)")
    content = _normalised(Entry(id=entry_id, topic=(topic or "").strip(), title=title, paraphrases=tuple(paraphrases),
                                keywords=tuple(keywords), answer=answer, source_title=source_title,
                                source_url=source_url, year=year, valid_from=valid_from, valid_to=valid_to))
    if publish:
        _require_source(content)
        await _ensure_no_duplicate_questions(session, content)
    return await create_entry_as_is(session, content=content, author=author, publish=publish, note=note)


async def create_entry_as_is(session: AsyncSession, *, content: Entry, author: Staff | None, publish: bool,
                             note: str = "", author_label: str | None = None) -> tuple[KbEntry, KbRevision]:
    """``create_entry`` for content that is already validated (the import: files are stored verbatim)."""
    if await session.get(KbEntry, content.id) is not None:
        raise Conflict(f"이미 있는 항목 ID입니다: {content.id}")
    entry = KbEntry(id=content.id, topic=content.topic)
    session.add(entry)
    await _flush(session)
    rev = await _add_revision(session, entry=entry, content=content, number=1, author=author, label=author_label,
                              note=note)
    record_event(session, action="created", entry_id=content.id, revision_id=rev.id, author=author, label=author_label,
           detail={"revision": 1})
    await _flush(session)
    if publish:
        await set_published(session, entry=entry, rev=rev, author=author, label=author_label)
    return entry, rev


async def save_revision(session: AsyncSession, *, entry_id: str, author: Staff | None, publish: bool,
                        title: str = KEEP, paraphrases: list[str] = KEEP, keywords: list[str] = KEEP,
                        answer: str = KEEP, source_title: str = KEEP, source_url: str = KEEP, year: int | None = KEEP,
                        valid_from: dt.date | None = KEEP, valid_to: dt.date | None = KEEP, topic: str = KEEP,
                        note: str = "", base_revision: int | None = None) -> KbRevision:
    """A new revision of an entry; omitted fields keep the latest revision's values.

    ``base_revision``: the revision number the editor started from; 409 when a newer one was saved since.
    Content identical to the latest revision makes no new revision (the latest is returned, and published
    when ``publish``). A topic change applies to the entry (topics are not versioned; the revision's note
    records it)."""
    detail = await get_entry(session, entry_id=entry_id, for_update=True)
    latest = detail.latest
    if base_revision is not None and base_revision != latest.number:
        raise Conflict(f"다른 사람이 먼저 이 항목을 수정했습니다 (현재 {latest.number}판). 새로 고친 뒤 다시 저장해 주세요.",
                       code="stale_revision")
    current = revision_entry(entry_id, detail.entry.topic, latest)
    given = {"title": title, "paraphrases": paraphrases, "keywords": keywords, "answer": answer,
             "source_title": source_title, "source_url": source_url, "year": year, "valid_from": valid_from,
             "valid_to": valid_to, "topic": topic}
    changes = {k: (tuple(v) if k in ("paraphrases", "keywords") else v) for k, v in given.items() if v is not KEEP}
    content = _normalised(replace(current, **changes))
    if publish:
        _require_source(content)
        await _ensure_no_duplicate_questions(session, content)
    return await save_revision_as_is(session, detail=detail, content=content, author=author, publish=publish,
                                     note=note)


async def save_revision_as_is(session: AsyncSession, *, detail: EntryDetail, content: Entry, author: Staff | None,
                              publish: bool, note: str = "", author_label: str | None = None) -> KbRevision:
    """``save_revision`` for content that is already validated (the import stores files verbatim)."""
    latest = detail.latest
    current = revision_entry(detail.entry.id, detail.entry.topic, latest)
    if content == current:
        if publish:
            await set_published(session, entry=detail.entry, rev=latest, author=author, label=author_label)
        return latest
    if content.topic != detail.entry.topic:
        note = (note + " " if note else "") + f"(topic: {detail.entry.topic} → {content.topic})"
        detail.entry.topic = content.topic
    detail.entry.updated_at = utcnow()
    rev = await _add_revision(session, entry=detail.entry, content=content, number=latest.number + 1, author=author,
                              label=author_label, note=note)
    record_event(session, action="revised", entry_id=detail.entry.id, revision_id=rev.id, author=author, label=author_label,
           detail={"revision": rev.number, "changed": _changed_fields(current, content)})
    await _flush(session)
    if publish:
        await set_published(session, entry=detail.entry, rev=rev, author=author, label=author_label)
    return rev


async def publish(session: AsyncSession, *, entry_id: str, author: Staff | None,
                  revision: int | None = None) -> KbRevision:
    """Serve revision number ``revision`` (default: the latest) of the entry."""
    detail = await get_entry(session, entry_id=entry_id, for_update=True)
    rev = detail.latest if revision is None else detail.revision(revision)
    if rev is None:
        raise NotFound(f"{revision}판이 없습니다.")
    content = revision_entry(entry_id, detail.entry.topic, rev)
    _require_source(content)
    await _ensure_no_duplicate_questions(session, content)
    await set_published(session, entry=detail.entry, rev=rev, author=author)
    return rev


async def unpublish(session: AsyncSession, *, entry_id: str, author: Staff | None) -> None:
    """Stop serving the entry (its revisions stay)."""
    detail = await get_entry(session, entry_id=entry_id, for_update=True)
    await set_published(session, entry=detail.entry, rev=None, author=author)


async def rollback(session: AsyncSession, *, entry_id: str, to_revision: int, author: Staff | None,
                   publish: bool = True, note: str = "") -> KbRevision:
    """A new revision copying revision number ``to_revision`` (history is never rewritten)."""
    detail = await get_entry(session, entry_id=entry_id, for_update=True)
    old = detail.revision(to_revision)
    if old is None:
        raise NotFound(f"{to_revision}판이 없습니다.")
    content = revision_entry(entry_id, detail.entry.topic, old)
    if publish:
        _require_source(content)
        await _ensure_no_duplicate_questions(session, content)
    latest = detail.latest
    rev = await _add_revision(session, entry=detail.entry, content=content, number=latest.number + 1, author=author,
                              label=None, note=note or f"{to_revision}판으로 되돌림")
    detail.entry.updated_at = utcnow()
    record_event(session, action="rolled_back", entry_id=entry_id, revision_id=rev.id, author=author,
           detail={"revision": rev.number, "from_revision": to_revision})
    await _flush(session)
    if publish:
        await set_published(session, entry=detail.entry, rev=rev, author=author)
    return rev


# --------------------------------------------------------------------------- diff


def _render(rev: KbRevision | Entry) -> list[str]:
    lines = [f"title: {rev.title}", "paraphrases:"]
    lines += [f"  - {p}" for p in rev.paraphrases]
    lines.append("keywords: " + ", ".join(rev.keywords))
    lines.append("answer:")
    lines += ["  " + line for line in rev.answer.splitlines()]
    lines.append(f"source: {rev.source_title} <{rev.source_url}>")
    lines.append(f"year: {rev.year if rev.year is not None else ''}")
    lines.append(f"valid: {rev.valid_from or ''} ~ {rev.valid_to or ''}")
    return lines


def _changed_fields(a: KbRevision | Entry, b: KbRevision | Entry) -> list[str]:
    out = []
    for f in CONTENT_FIELDS:
        va, vb = getattr(a, f), getattr(b, f)
        if f in ("paraphrases", "keywords"):
            va, vb = tuple(va or ()), tuple(vb or ())
        if va != vb:
            out.append(f)
    return out


@dataclass(frozen=True)
class RevisionDiff:
    entry_id: str
    from_revision: int
    to_revision: int
    changed: list[str]
    diff: str  # unified diff of the two revisions rendered as text


async def diff(session: AsyncSession, *, entry_id: str, from_revision: int, to_revision: int) -> RevisionDiff:
    """What changed between two revisions of an entry (``difflib`` unified diff plus the changed fields)."""
    detail = await get_entry(session, entry_id=entry_id)
    a, b = detail.revision(from_revision), detail.revision(to_revision)
    if a is None or b is None:
        raise NotFound(f"{from_revision if a is None else to_revision}판이 없습니다.")
    text = "\n".join(difflib.unified_diff(_render(a), _render(b), fromfile=f"{entry_id} r{from_revision}",
                                          tofile=f"{entry_id} r{to_revision}", lineterm=""))
    return RevisionDiff(entry_id, from_revision, to_revision, _changed_fields(a, b), text)


# --------------------------------------------------------------------------- synonyms


async def list_synonyms(session: AsyncSession) -> list[KbSynonym]:
    return list((await session.execute(select(KbSynonym).order_by(KbSynonym.term, KbSynonym.id))).scalars())


async def add_synonym(session: AsyncSession, *, term: str, variant: str, author: Staff | None) -> KbSynonym:
    """A variant owners type for ``term`` (스공 → 스마트공장). 409 when it exists."""
    term, variant = " ".join((term or "").split()), " ".join((variant or "").split())
    if not term or not variant:
        raise Unprocessable("기준 용어와 동의어를 모두 입력해 주세요.")
    if len(term) > 100 or len(variant) > 100:
        raise Unprocessable("용어는 100자 이내로 입력해 주세요.")
    if compact(term) == compact(variant):
        raise Unprocessable("기준 용어와 동의어가 같습니다.")
    for other_term, other_variant in (await session.execute(select(KbSynonym.term, KbSynonym.variant))).all():
        if compact(other_variant) == compact(variant):
            raise Conflict(f"'{variant}'은(는) 이미 '{other_term}'의 동의어로 등록되어 있습니다.")
    row = KbSynonym(term=term, variant=variant, created_by=author.id if author else None)
    session.add(row)
    await _flush(session)
    record_event(session, action="synonym_added", author=author, detail={"id": row.id, "term": term, "variant": variant})
    await _flush(session)
    return row


async def remove_synonym(session: AsyncSession, *, synonym_id: int, author: Staff | None) -> None:
    row = await session.get(KbSynonym, synonym_id)
    if row is None:
        raise NotFound("해당 동의어를 찾을 수 없습니다.")
    record_event(session, action="synonym_removed", author=author,
           detail={"id": row.id, "term": row.term, "variant": row.variant})
    await session.delete(row)
    await _flush(session)


# --------------------------------------------------------------------------- preview


@dataclass(frozen=True)
class PreviewResult:
    result: MatchResult
    draft_entry_id: str | None
    draft_rank: int | None  # 1-based place of the draft among the candidates (None: not among them)


_DRAFT_KEYS = frozenset(("entry_id", "topic", *CONTENT_FIELDS))


async def preview(session: AsyncSession, *, text: str, draft: dict | None = None,
                  today: dt.date | None = None) -> PreviewResult:
    """What ``text`` would match against the published KB with ``draft`` applied.

    ``draft``: ``entry_id`` (an existing entry, whose latest revision the other keys override, or a new
    id) plus any of ``topic``, ``title``, ``paraphrases``, ``keywords``, ``answer``, ``source_title``,
    ``source_url``, ``year``, ``valid_from``, ``valid_to`` (``None`` values are ignored). The draft is
    served as if published."""
    text = (text or "").strip()
    if not text:
        raise Unprocessable("미리 볼 질문을 입력해 주세요.")
    if len(text) > MAX_QUESTION_CHARS:
        raise Unprocessable(f"질문은 {MAX_QUESTION_CHARS}자 이내로 입력해 주세요.")
    entries = await published_entries(session)
    synonyms = await synonyms_map(session)
    draft_id = None
    if draft:
        unknown = set(draft) - _DRAFT_KEYS
        if unknown:
            raise Unprocessable(f"알 수 없는 항목입니다: {', '.join(sorted(unknown))}")
        values = {k: v for k, v in draft.items() if v is not None}
        draft_id = (values.pop("entry_id", None) or "").strip() or "draft"
        existing = await session.get(KbEntry, draft_id)
        if existing is not None:
            latest = (await session.execute(select(KbRevision).where(KbRevision.entry_id == draft_id)
                                            .order_by(KbRevision.number.desc()).limit(1))).scalar_one()
            base = revision_entry(draft_id, existing.topic, latest)
        else:
            base = Entry(id=draft_id, topic=values.get("topic") or "draft", title="", paraphrases=(), keywords=(),
                         answer="", source_title="", source_url="")
        for k in ("paraphrases", "keywords"):
            if k in values:
                values[k] = tuple(values[k])
        content = replace(base, **values)
        if not content.title:
            raise Unprocessable("미리 보려면 질문 제목을 입력해 주세요.")
        content = replace(content, answer=content.answer or "(미리보기)")
        entries = [e for e in entries if e.id != draft_id] + [content]
    matcher = await asyncio.to_thread(Matcher, entries, synonyms)
    result = matcher.match(text, today=today or kst_today())
    rank = None
    if draft_id is not None:
        rank = next((i + 1 for i, c in enumerate(result.candidates) if c.entry_id == draft_id), None)
    return PreviewResult(result, draft_id, rank)


# --------------------------------------------------------------------------- asks


async def set_feedback(session: AsyncSession, *, ask_log_id: int, helpful: bool) -> AskLog:
    """The owner's 👍 (``helpful``) or 👎 on an answer; the last one counts."""
    row = await session.get(AskLog, ask_log_id)
    if row is None:
        raise NotFound("해당 질문 기록을 찾을 수 없습니다.")
    row.feedback = "up" if helpful else "down"
    await session.flush()
    return row


# --------------------------------------------------------------------------- unanswered report

GROUP_SIMILARITY = 75  # rapidfuzz score (0..100) on normalised text that puts two questions in one group
REPORT_MAX_LOGS = 2000


@dataclass
class UnansweredGroup:
    count: int
    escalated: int
    thumbs_down: int
    examples: list[str]  # distinct questions, most asked first (at most 5)
    ask_log_ids: list[int]
    last_asked_at: dt.datetime
    suggested_entry_id: str | None  # the entry these questions most often came close to
    suggested_entry_title: str | None
    actions: list[dict] = field(default_factory=list)  # {"action", "label", "entry_id"?}


def _closest(key: str, compact_key: str, keys: list[str], compact_keys: list[str], threshold: float) -> int | None:
    """Index of the most similar earlier question: ``ratio`` on the spacing-free text (typos, spacing) or
    ``token_sort_ratio`` on the words (word order), whichever clears ``threshold``."""
    best = None
    for query, choices, scorer in ((compact_key, compact_keys, fuzz.ratio), (key, keys, fuzz.token_sort_ratio)):
        found = process.extractOne(query, choices, scorer=scorer, score_cutoff=threshold)
        if found is not None and (best is None or found[1] > best[1]):
            best = found
    return best[2] if best is not None else None


async def unanswered_report(session: AsyncSession, *, days: int = 30, threshold: float = GROUP_SIMILARITY,
                            include_reviewed: bool = False, limit: int = 50) -> list[UnansweredGroup]:
    """Questions nobody answered well: escalated questions (not greetings/chit-chat) and answers the owner
    marked 👎, from the last ``days`` days, grouped by similarity of their normalised text, biggest group
    first. Each group offers two actions: add its questions as paraphrases of an entry
    (``add_paraphrases_from_logs``) or start a new entry from them (``draft_from_logs``)."""
    since = utcnow() - dt.timedelta(days=days)
    stmt = (select(AskLog)
            .where(AskLog.created_at >= since,
                   ((AskLog.outcome == "escalate") & (AskLog.kind == "question")) | (AskLog.feedback == "down"))
            .order_by(AskLog.id.desc()).limit(REPORT_MAX_LOGS))
    if not include_reviewed:
        stmt = stmt.where(AskLog.reviewed.is_(False))
    logs = list((await session.execute(stmt)).scalars())
    groups: list[list[AskLog]] = []
    keys: list[str] = []  # normalised text of every distinct question grouped so far
    compact_keys: list[str] = []
    owner: list[int] = []  # group index of keys[i]
    exact: dict[str, int] = {}
    for log in logs:
        key = clean(log.text)
        c = compact(key, cleaned=True)
        if not c:
            continue
        g = exact.get(c)
        if g is None and keys:
            i = _closest(key, c, keys, compact_keys, threshold)
            if i is not None:
                g = owner[i]
        if g is None:
            g = len(groups)
            groups.append([])
        groups[g].append(log)
        if c not in exact:
            exact[c] = g
            keys.append(key)
            compact_keys.append(c)
            owner.append(g)

    titles = dict((await session.execute(
        select(KbEntry.id, KbRevision.title).join(KbRevision, KbRevision.id == KbEntry.published_revision_id)
    )).all())
    out = []
    for members in groups:
        texts = Counter(" ".join(m.text.split()) for m in members)
        votes: Counter[str] = Counter()
        for m in members:
            cands = [c.get("entry_id") for c in (m.candidates or []) if c.get("entry_id")]
            if m.feedback == "down" and m.entry_id:
                cands = [c for c in cands if c != m.entry_id] or [m.entry_id]
            if cands:
                votes[cands[0]] += 1
        suggested = next((eid for eid, _ in votes.most_common() if eid in titles), None)
        actions = []
        if suggested:
            actions.append({"action": "add_paraphrases", "entry_id": suggested,
                            "label": f"'{titles[suggested]}' 항목의 질문 표현으로 추가"})
        actions.append({"action": "new_entry", "label": "이 질문들로 새 항목 작성"})
        out.append(UnansweredGroup(
            count=len(members), escalated=sum(m.outcome == "escalate" for m in members),
            thumbs_down=sum(m.feedback == "down" for m in members),
            examples=[t for t, _ in texts.most_common(5)], ask_log_ids=sorted(m.id for m in members),
            last_asked_at=max(m.created_at for m in members), suggested_entry_id=suggested,
            suggested_entry_title=titles.get(suggested) if suggested else None, actions=actions))
    out.sort(key=lambda g: (-g.count, -g.last_asked_at.timestamp()))
    return out[:limit]


async def _logs(session: AsyncSession, ask_log_ids: list[int]) -> list[AskLog]:
    ids = sorted(set(ask_log_ids))
    logs = list((await session.execute(select(AskLog).where(AskLog.id.in_(ids)).order_by(AskLog.id))).scalars())
    if len(logs) != len(ids):
        raise NotFound("질문 기록 일부를 찾을 수 없습니다.")
    return logs


async def mark_reviewed(session: AsyncSession, *, ask_log_ids: list[int], reviewed: bool = True) -> int:
    """Take questions out of (or back into) the unanswered report."""
    logs = await _logs(session, ask_log_ids)
    for log in logs:
        log.reviewed = reviewed
    await session.flush()
    return len(logs)


@dataclass(frozen=True)
class ParaphrasesAdded:
    entry_id: str
    revision: KbRevision
    added: list[str]
    skipped: list[str]  # already a question of this or another entry


async def add_paraphrases_from_logs(session: AsyncSession, *, entry_id: str, ask_log_ids: list[int],
                                    author: Staff | None, publish: bool = True) -> ParaphrasesAdded:
    """The report's first action: the logged questions become paraphrases of ``entry_id`` (a new revision,
    published when ``publish``); the logs are marked reviewed."""
    logs = await _logs(session, ask_log_ids)
    detail = await get_entry(session, entry_id=entry_id)
    latest = detail.latest
    taken = {compact(q) for q in (latest.title, *latest.paraphrases)}
    for other in await published_entries(session):
        if other.id != entry_id:
            taken |= {compact(q) for q in (other.title, *other.paraphrases)}
    added, skipped = [], []
    for log in logs:
        text = " ".join(log.text.split())[:MAX_PARAPHRASE_CHARS]
        key = compact(text)
        if not key or key in taken:
            if text not in skipped and text not in added:
                skipped.append(text)
            continue
        taken.add(key)
        added.append(text)
    rev = latest
    if added:
        rev = await save_revision(session, entry_id=entry_id, author=author, publish=publish,
                                  paraphrases=[*latest.paraphrases, *added],
                                  note=f"미답변 질문 {len(added)}개를 질문 표현으로 추가")
    elif publish:
        rev = await publish_latest_if_needed(session, detail=detail, author=author)
    await mark_reviewed(session, ask_log_ids=ask_log_ids)
    return ParaphrasesAdded(entry_id, rev, added, skipped)


async def publish_latest_if_needed(session: AsyncSession, *, detail: EntryDetail, author: Staff | None) -> KbRevision:
    if detail.entry.published_revision_id != detail.latest.id:
        return await publish(session, entry_id=detail.entry.id, author=author)
    return detail.latest


@dataclass(frozen=True)
class EntryDraft:
    title: str
    paraphrases: list[str]
    keywords: list[str]
    suggested_topic: str | None
    ask_log_ids: list[int]


async def draft_from_logs(session: AsyncSession, *, ask_log_ids: list[int]) -> EntryDraft:
    """The report's second action: a prefilled new entry (title and paraphrases from the questions, the
    topic the matcher leaned to); nothing is saved. Create it with ``create_entry`` and then
    ``mark_reviewed`` the logs."""
    logs = await _logs(session, ask_log_ids)
    texts: list[str] = []
    seen = set()
    for text in Counter(" ".join(log.text.split()) for log in logs):
        key = compact(text)
        if key and key not in seen:
            seen.add(key)
            texts.append(text[:MAX_PARAPHRASE_CHARS])
    by_count = Counter(" ".join(log.text.split()) for log in logs)
    texts.sort(key=lambda t: (-by_count[t], len(t)))
    title = next((t for t in texts if len(t) <= MAX_TITLE_CHARS), texts[0][:MAX_TITLE_CHARS] if texts else "")
    topics = Counter(c.get("topic") for log in logs for c in (log.candidates or [])[:1] if c.get("topic"))
    words = Counter(w for t in texts for w in clean(t).split() if len(w) >= 2)
    return EntryDraft(title=title, paraphrases=[t for t in texts if t != title],
                      keywords=[w for w, n in words.most_common(5) if n > 1],
                      suggested_topic=topics.most_common(1)[0][0] if topics else None,
                      ask_log_ids=[log.id for log in logs])
