"""The unanswered-questions report: what owners asked that the knowledge base did not answer well, grouped
by similarity, and its two actions (add a group's questions as paraphrases of an entry, or draft a new entry)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import utcnow
from api.errors import NotFound
from api.kb.entries import (MAX_PARAPHRASE_CHARS, EntryDetail, get_entry, publish, published_entries,
                            save_revision)
from api.kb.models import AskLog, KbEntry, KbRevision
from api.staff.models import Staff
from knowledge.loader import MAX_TITLE_CHARS
from knowledge.normalize import clean, compact


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
