"""Knowledge-base entries in the database: their immutable revisions, validation, publication, rollback
and diffs.

An entry's content lives only in ``kb_revisions`` (never updated or deleted); ``kb_entries.
published_revision_id`` points at what is served. Every change writes a ``kb_events`` row (``api.kb.changes``),
whose stamp the matcher cache of each process polls (``api.kb.cache``).

Revision *numbers* (1, 2, 3 ... per entry) are what people and these functions use to name a revision.

All functions are keyword-only and async, take an ``AsyncSession`` and only flush; the caller commits.
Errors are ``api.errors`` types with Korean details. Synonyms, previews and the unanswered-questions report
have modules of their own (``api.kb.synonyms``, ``api.kb.preview``, ``api.kb.unanswered``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import utcnow
from api.errors import Conflict, NotFound, Unprocessable
from api.kb.changes import actor, flush, record_event
from api.kb.models import KbEntry, KbEvent, KbRevision
from api.staff.models import Staff
from knowledge.loader import (MAX_ANSWER_CHARS, MAX_TITLE_CHARS, MULTILINE_FIELDS, Entry, KnowledgeError, canonical,
                              default_topics_file, history_problems, load_topics, valid_url)
from knowledge.normalize import compact
from knowledge.years import stale_reasons

KST = ZoneInfo("Asia/Seoul")
CONTENT_FIELDS = ("title", "paraphrases", "keywords", "answer", "source_title", "source_url", "year",
                  "valid_from", "valid_to", "reviewed_on", "history_of")
# What staff read for each field (console, diffs); a field without a label shows its name.
FIELD_LABELS = {"title": "질문 제목", "paraphrases": "질문 표현", "keywords": "키워드", "answer": "답변",
                "source_title": "출처 제목", "source_url": "출처 링크", "year": "사업연도", "valid_from": "게시 시작일",
                "valid_to": "게시 종료일", "topic": "주제", "reviewed_on": "검토일", "history_of": "이력 대상"}
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
                 source_url=rev.source_url or "", year=rev.year, valid_from=rev.valid_from, valid_to=rev.valid_to,
                 reviewed_on=rev.reviewed_on, history_of=rev.history_of)


def _revision_values(e: Entry) -> dict[str, Any]:
    return {"title": e.title, "paraphrases": list(e.paraphrases), "keywords": list(e.keywords),
            "answer": e.answer, "source_title": e.source_title, "source_url": e.source_url, "year": e.year,
            "valid_from": e.valid_from, "valid_to": e.valid_to, "reviewed_on": e.reviewed_on,
            "history_of": e.history_of}


# --------------------------------------------------------------------------- validation


_topics_cache: tuple[float, dict[str, str]] | None = None


def known_topics() -> dict[str, str] | None:
    """``{slug: title}`` from the topics file, or ``None`` when it cannot be read (then slugs are not checked)."""
    global _topics_cache
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


def _check_list(values: tuple[str, ...], *, what: str, max_chars: int, max_items: int) -> None:
    for v in values:
        if len(v) > max_chars:
            raise Unprocessable(f"{what}은(는) {max_chars}자 이내로 입력해 주세요: {v[:30]}…")
    if len(values) > max_items:
        raise Unprocessable(f"{what}은(는) {max_items}개까지 입력할 수 있습니다.")


def _normalised(e: Entry) -> Entry:
    """The entry in the stored form (``knowledge.loader.canonical``, exactly what an import stores: line endings,
    spaces, repeated items), validated (422 with a Korean message)."""
    for name in ("paraphrases", "keywords"):
        if any(not isinstance(v, str) for v in getattr(e, name)):
            raise Unprocessable(f"{FIELD_LABELS[name]}은(는) 글자로 입력해 주세요.")
    e = canonical(e)
    if e.history_of == "":  # an empty form field: no history link
        e = replace(e, history_of=None)
    if not e.title:
        raise Unprocessable("질문 제목을 입력해 주세요.")
    if len(e.title) > MAX_TITLE_CHARS:
        raise Unprocessable(f"질문 제목은 {MAX_TITLE_CHARS}자 이내로 입력해 주세요. (지금 {len(e.title)}자)")
    if not e.answer:
        raise Unprocessable("답변을 입력해 주세요.")
    if len(e.answer) > MAX_ANSWER_CHARS:
        raise Unprocessable(f"답변은 휴대폰 화면에 맞게 {MAX_ANSWER_CHARS}자 이내로 입력해 주세요. (지금 {len(e.answer)}자)")
    if not SLUG_RE.match(e.topic or ""):
        raise Unprocessable("주제(topic)는 영문 소문자와 숫자, '-'로 된 이름이어야 합니다.")
    topics = known_topics()
    if topics is not None and e.topic not in topics:
        raise Unprocessable(f"알 수 없는 주제입니다: {e.topic}")
    if e.source_url and not valid_url(e.source_url):
        raise Unprocessable("출처 링크는 http:// 또는 https://로 시작하는 주소여야 합니다.")
    if e.year is not None and not 2000 <= e.year <= 2100:
        raise Unprocessable("사업연도가 올바르지 않습니다.")
    if e.valid_from and e.valid_to and e.valid_from > e.valid_to:
        raise Unprocessable("게시 시작일이 종료일보다 늦습니다.")
    if e.reviewed_on is not None and e.reviewed_on > kst_today():
        raise Unprocessable("검토일은 오늘이나 그 이전 날짜여야 합니다.")
    if e.history_of is not None and not ID_RE.match(e.history_of):
        raise Unprocessable("이력 대상(history_of)은 현재 항목의 ID여야 합니다.")
    _check_list(e.paraphrases, what="질문 표현", max_chars=MAX_PARAPHRASE_CHARS, max_items=MAX_PARAPHRASES)
    _check_list(e.keywords, what="키워드", max_chars=MAX_KEYWORD_CHARS, max_items=MAX_KEYWORDS)
    return e


HISTORY_MESSAGES = {
    "history-self": "자기 자신의 이력 항목이 될 수는 없습니다.",
    "history-unknown": "이력 대상으로 지정한 현재 항목이 없습니다: {target}",
    "history-chain": "이력 대상({target})도 이력 항목입니다. 현재 항목을 지정해 주세요.",
    "history-has-history": "이 항목에 딸린 이력 항목이 있어 이력 항목으로 바꿀 수 없습니다.",
    "history-topic": "이력 항목은 현재 항목({target})과 같은 주제여야 합니다.",
    "history-not-older": "이력 항목의 사업연도는 현재 항목({target})의 사업연도보다 이전이어야 합니다.",
}


async def _check_history(session: AsyncSession, e: Entry) -> None:
    """An entry's history link must name a current entry of its topic and an earlier year (422 otherwise); an
    entry that other entries name as theirs cannot become a history entry."""
    if e.history_of is None:
        return
    latest = await latest_entries(session)
    has_own = any(other.history_of == e.id for other in latest.values() if other.id != e.id)
    for code in history_problems(e, latest.get(e.history_of), has_own_history=has_own):
        raise Unprocessable(HISTORY_MESSAGES[code].format(target=e.history_of))


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


async def latest_entries(session: AsyncSession) -> dict[str, Entry]:
    """Every entry's latest revision (published or not), by id."""
    latest_no = (select(KbRevision.entry_id, func.max(KbRevision.number).label("n"))
                 .group_by(KbRevision.entry_id).subquery())
    rows = await session.execute(
        select(KbEntry.id, KbEntry.topic, KbRevision)
        .join(latest_no, latest_no.c.entry_id == KbEntry.id)
        .join(KbRevision, (KbRevision.entry_id == KbEntry.id) & (KbRevision.number == latest_no.c.n)))
    return {eid: revision_entry(eid, topic, rev) for eid, topic, rev in rows.all()}


async def published_entries(session: AsyncSession) -> list[Entry]:
    """Every published entry (expired ones included; the matcher skips them), in creation order."""
    rows = await session.execute(
        select(KbEntry.id, KbEntry.topic, KbRevision)
        .join(KbRevision, KbRevision.id == KbEntry.published_revision_id)
        .order_by(KbEntry.created_at, KbEntry.id))
    return [revision_entry(eid, topic, rev) for eid, topic, rev in rows.all()]




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
    year: int | None = None
    reviewed_on: dt.date | None = None
    history_of: str | None = None

    def stale(self, programme_year: int, today: dt.date) -> tuple[str, ...]:
        """Why the entry's latest revision needs a look (``knowledge.years.stale_reasons``)."""
        return stale_reasons(year=self.year, reviewed_on=self.reviewed_on, history_of=self.history_of,
                             programme_year=programme_year, today=today)


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


def entry_summary(entry: KbEntry, latest: KbRevision, published_number: int | None, today: dt.date) -> EntrySummary:
    return EntrySummary(
        id=entry.id, topic=entry.topic, title=latest.title,
        status="published" if entry.published_revision_id is not None else "unpublished",
        published_revision=published_number, latest_revision=latest.number,
        has_unpublished_changes=published_number != latest.number,
        expired=latest.valid_to is not None and latest.valid_to < today, valid_to=latest.valid_to,
        paraphrase_count=len(latest.paraphrases or ()), updated_at=entry.updated_at, year=latest.year,
        reviewed_on=latest.reviewed_on, history_of=latest.history_of)


async def list_entries(session: AsyncSession, *, q: str | None = None, topic: str | None = None,
                       status: str | None = None, limit: int = 200, offset: int = 0,
                       programme_year: int | None = None) -> list[EntrySummary]:
    """Entries with their latest revision, by id. ``q`` searches id, title, paraphrases, keywords and answer
    (spacing- and case-insensitive); ``status``: "published", "unpublished", "changed" (latest revision not
    published), "expired" or "stale" (an older year than ``programme_year`` -- default this year in Korea --
    or a review more than a year old: ``EntrySummary.stale``)."""
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
        s = entry_summary(entry, latest, numbers.get(entry.published_revision_id), today)
        if status == "changed" and not s.has_unpublished_changes:
            continue
        if status == "expired" and not s.expired:
            continue
        if status == "stale" and not s.stale(programme_year or today.year, today):
            continue
        out.append(s)
    return out[offset:offset + limit]


async def count_stale(session: AsyncSession, *, programme_year: int, today: dt.date | None = None) -> int:
    """How many served entries (published and valid today) need a look (``EntrySummary.stale``): the admin
    dashboard's count."""
    today = today or kst_today()
    return sum(1 for e in await published_entries(session)
               if e.is_valid_on(today) and stale_reasons(year=e.year, reviewed_on=e.reviewed_on,
                                                         history_of=e.history_of, programme_year=programme_year,
                                                         today=today))


async def public_answer(session: AsyncSession, *, entry_id: str, today: dt.date | None = None
                        ) -> tuple[Entry, Entry | None]:
    """A servable entry (``get_public_entry``) and, for a history entry, its current entry when that is servable
    too (None otherwise): what the year note names."""
    entry = await get_public_entry(session, entry_id=entry_id, today=today)
    if entry.history_of is None:
        return entry, entry
    try:
        return entry, await get_public_entry(session, entry_id=entry.history_of, today=today)
    except NotFound:
        return entry, None


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
    return EntryDetail(entry_summary(entry, revisions[-1], published, kst_today()), entry, revisions, events)


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



async def _add_revision(session: AsyncSession, *, entry: KbEntry, content: Entry, number: int,
                        author: Staff | None, label: str | None, note: str) -> KbRevision:
    actor_id, actor_label = actor(author, label)
    rev = KbRevision(entry_id=entry.id, number=number, author_id=actor_id, author_label=actor_label, note=note,
                     **_revision_values(content))
    session.add(rev)
    await flush(session)
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
    await flush(session)


async def create_entry(session: AsyncSession, *, entry_id: str, topic: str, title: str, answer: str,
                       paraphrases: list[str] | tuple[str, ...] = (), keywords: list[str] | tuple[str, ...] = (),
                       source_title: str = "", source_url: str = "", year: int | None = None,
                       valid_from: dt.date | None = None, valid_to: dt.date | None = None,
                       reviewed_on: dt.date | None = None, history_of: str | None = None,
                       author: Staff | None, publish: bool = False, note: str = "") -> tuple[KbEntry, KbRevision]:
    """A new entry with revision 1 (published when ``publish``). 409 when the id exists, 422 when invalid."""
    entry_id = (entry_id or "").strip()
    if not ID_RE.match(entry_id) or len(entry_id) > 100:
        raise Unprocessable("항목 ID는 영문 소문자, 숫자와 '-'로 100자 이내로 입력해 주세요. (예: support-ratio-2025)")
    content = _normalised(Entry(id=entry_id, topic=(topic or "").strip(), title=title, paraphrases=tuple(paraphrases),
                                keywords=tuple(keywords), answer=answer, source_title=source_title,
                                source_url=source_url, year=year, valid_from=valid_from, valid_to=valid_to,
                                reviewed_on=reviewed_on, history_of=history_of))
    await _check_history(session, content)
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
    await flush(session)
    rev = await _add_revision(session, entry=entry, content=content, number=1, author=author, label=author_label,
                              note=note)
    record_event(session, action="created", entry_id=content.id, revision_id=rev.id, author=author, label=author_label,
           detail={"revision": 1})
    await flush(session)
    if publish:
        await set_published(session, entry=entry, rev=rev, author=author, label=author_label)
    return entry, rev


async def save_revision(session: AsyncSession, *, entry_id: str, author: Staff | None, publish: bool,
                        title: str = KEEP, paraphrases: list[str] = KEEP, keywords: list[str] = KEEP,
                        answer: str = KEEP, source_title: str = KEEP, source_url: str = KEEP, year: int | None = KEEP,
                        valid_from: dt.date | None = KEEP, valid_to: dt.date | None = KEEP,
                        reviewed_on: dt.date | None = KEEP, history_of: str | None = KEEP, topic: str = KEEP,
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
             "valid_to": valid_to, "reviewed_on": reviewed_on, "history_of": history_of, "topic": topic}
    changes = {k: (tuple(v) if k in ("paraphrases", "keywords") else v) for k, v in given.items() if v is not KEEP}
    content = _normalised(replace(current, **changes))
    await _check_history(session, content)
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
    await flush(session)
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
    await flush(session)
    if publish:
        await set_published(session, entry=detail.entry, rev=rev, author=author)
    return rev


# --------------------------------------------------------------------------- diff


def _render(rev: KbRevision | Entry) -> list[str]:
    """A revision as lines under Korean field labels, one list item or answer line per line (what the diff
    compares)."""
    lines = []
    for name in CONTENT_FIELDS:
        label, value = FIELD_LABELS.get(name, name), getattr(rev, name)
        if isinstance(value, (list, tuple)):
            lines.append(f"{label}:")
            lines += [f"  - {v}" for v in value]
        elif name in MULTILINE_FIELDS:
            lines.append(f"{label}:")
            lines += ["  " + line for line in value.splitlines()]
        else:
            lines.append(f"{label}: {'' if value is None else value}")
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


async def diff(session: AsyncSession, *, entry_id: str, from_revision: int, to_revision: int,
               context: int = 3) -> RevisionDiff:
    """What changed between two revisions of an entry (``difflib`` unified diff with ``context`` lines around each
    change, plus the changed fields)."""
    detail = await get_entry(session, entry_id=entry_id)
    a, b = detail.revision(from_revision), detail.revision(to_revision)
    if a is None or b is None:
        raise NotFound(f"{from_revision if a is None else to_revision}판이 없습니다.")
    text = "\n".join(difflib.unified_diff(_render(a), _render(b), fromfile=f"{entry_id} {from_revision}판",
                                          tofile=f"{entry_id} {to_revision}판", lineterm="", n=context))
    return RevisionDiff(entry_id, from_revision, to_revision, _changed_fields(a, b), text)
