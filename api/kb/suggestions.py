"""Suggested paraphrases: phrasings owners used for an entry, learned from traffic and never published by
themselves.

Three signals say that a question meant an entry:

- ``pick``: the owner tapped the entry among a clarify's candidates;
- ``helpful``: the owner gave 👍 to the entry's answer;
- ``staff``: a staff member resolved a ticket citing the entry (console, API, or ``/resolve <entry>`` in the
  centre's Telegram group).

Each records the question (its question part when it opens with the company's introduction, personal data
masked) as a suggestion for the entry, once per entry and phrasing; a phrasing that comes up again counts
``seen``. Admins accept a suggestion in one click — a new revision of the entry with the phrasing added to its
paraphrases, published when the entry's latest revision was the one served (a pending draft stays a draft),
so preview, diff and rollback work as for any edit — or reject it, and a rejected phrasing does not come back.

Functions are keyword-only, take an ``AsyncSession`` and only flush; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import dialect_insert, utcnow
from api.errors import Conflict, NotFound, Unprocessable
from api.kb import entries
from api.kb.models import AskLog, KbEntry, KbRevision, KbSuggestion
from api.logging import mask_text
from api.privacy import ANONYMISED_TEXT
from api.staff.models import Staff
from knowledge.narrative import split_narrative
from knowledge.normalize import compact

SOURCES = ("pick", "helpful", "staff")
SOURCE_LABELS = {"pick": "되묻기 후보 선택", "helpful": "'도움 됨' 누름", "staff": "직원이 근거로 해결"}
STATUSES = ("new", "accepted", "rejected")
MIN_CHARS = 4  # "네", "한도?": too short to teach the matcher anything


def suggestion_text(question: str) -> str | None:
    """What a question would add to an entry's paraphrases: its question part (a company introduction taken
    out), personal data masked, within the paraphrase limit; ``None`` when nothing worth suggesting is left."""
    text = " ".join((question or "").split())
    if not text or text == ANONYMISED_TEXT:
        return None
    text = " ".join(split_narrative(text).question.split()) or text
    text = mask_text(text)
    if len(text) > entries.MAX_PARAPHRASE_CHARS or len(compact(text)) < MIN_CHARS:
        return None
    return text


def phrasing_key(text: str) -> str:
    """Two phrasings are one suggestion when they differ only in spacing, punctuation and case. A digest, so
    that a rejected phrasing is still recognised after retention has removed its text."""
    return hashlib.sha256(compact(text).encode()).hexdigest()


async def suggest(session: AsyncSession, *, entry_id: str, question: str, source: str,
                  ask_log_id: int | None = None, ticket_id: int | None = None,
                  now: dt.datetime | None = None) -> bool:
    """Record ``question`` as a suggested paraphrase of ``entry_id``; whether it was recorded or counted.

    Nothing is recorded for an unknown entry, for a phrasing the entry already has (its title or a paraphrase
    of its latest revision), or for a question with nothing left to suggest (``suggestion_text``). A phrasing
    suggested before counts once more, whatever its status (a rejected one stays rejected)."""
    if source not in SOURCES:
        raise ValueError(f"unknown suggestion source {source!r}")
    text = suggestion_text(question)
    if text is None:
        return False
    key = phrasing_key(text)
    latest = (await session.execute(
        select(KbRevision.title, KbRevision.paraphrases).join(KbEntry, KbEntry.id == KbRevision.entry_id)
        .where(KbRevision.entry_id == entry_id).order_by(KbRevision.number.desc()).limit(1))).one_or_none()
    if latest is None:
        return False
    if key in {phrasing_key(t) for t in (latest.title, *latest.paraphrases)}:
        return False
    insert = dialect_insert(session)
    statement = (insert(KbSuggestion)
                 .values(entry_id=entry_id, text=text, key=key, source=source, seen=1, status="new",
                         ask_log_id=ask_log_id, ticket_id=ticket_id, created_at=now or utcnow())
                 .on_conflict_do_update(index_elements=[KbSuggestion.entry_id, KbSuggestion.key],
                                        set_={"seen": KbSuggestion.seen + 1}))
    await session.execute(statement)
    return True


async def learn_from_feedback(session: AsyncSession, *, ask_log: AskLog, now: dt.datetime | None = None) -> bool:
    """A 👍 on an answer suggests the question for the entry answered (a 👎 teaches nothing here: the
    question goes to the unanswered-questions report)."""
    if ask_log.feedback != "up" or ask_log.entry_id is None:
        return False
    return await suggest(session, entry_id=ask_log.entry_id, question=ask_log.text, source="helpful",
                         ask_log_id=ask_log.id, now=now)


@dataclass(frozen=True)
class SuggestionView:
    id: int
    entry_id: str
    entry_title: str
    text: str
    source: str
    seen: int
    status: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    revision_id: int | None

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)


async def list_suggestions(session: AsyncSession, *, status: str = "new", entry_id: str | None = None,
                           limit: int = 50, offset: int = 0) -> tuple[list[SuggestionView], int]:
    """Suggestions with ``status`` (most seen first, then newest), with the entry's current title; and how
    many there are in all."""
    if status not in STATUSES:
        raise ValueError(f"unknown suggestion status {status!r}")
    where = [KbSuggestion.status == status]
    if entry_id is not None:
        where.append(KbSuggestion.entry_id == entry_id)
    total = (await session.execute(select(func.count()).select_from(KbSuggestion).where(*where))).scalar_one()
    latest = (select(KbRevision.entry_id, func.max(KbRevision.number).label("number"))
              .group_by(KbRevision.entry_id).subquery())
    rows = (await session.execute(
        select(KbSuggestion, KbRevision.title)
        .join(latest, latest.c.entry_id == KbSuggestion.entry_id)
        .join(KbRevision, (KbRevision.entry_id == latest.c.entry_id) & (KbRevision.number == latest.c.number))
        .where(*where)
        .order_by(KbSuggestion.seen.desc(), KbSuggestion.id.desc()).limit(limit).offset(offset))).all()
    views = [SuggestionView(id=s.id, entry_id=s.entry_id, entry_title=title, text=s.text, source=s.source, seen=s.seen,
                            status=s.status, created_at=s.created_at, decided_at=s.decided_at,
                            revision_id=s.revision_id) for s, title in rows]
    return views, total


async def count_new(session: AsyncSession) -> int:
    return (await session.execute(
        select(func.count()).select_from(KbSuggestion).where(KbSuggestion.status == "new"))).scalar_one()


async def _undecided(session: AsyncSession, suggestion_id: int) -> KbSuggestion:
    row = (await session.execute(
        select(KbSuggestion).where(KbSuggestion.id == suggestion_id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one_or_none()
    if row is None:
        raise NotFound("해당 제안을 찾을 수 없습니다.")
    if row.status != "new":
        done = "반영" if row.status == "accepted" else "거절"
        raise Conflict(f"이미 {done} 처리된 제안입니다.", code="suggestion_decided")
    return row


@dataclass(frozen=True)
class Accepted:
    entry_id: str
    revision: int
    published: bool  # False: the entry has a newer draft (or is not served), so the revision waits as a draft


async def accept(session: AsyncSession, *, suggestion_id: int, author: Staff, text: str | None = None,
                 now: dt.datetime | None = None) -> Accepted:
    """Add the suggestion (or the admin's edit of it, ``text``) to the entry's paraphrases as a new revision.

    The revision is published when the entry's latest revision is the one being served; otherwise (a draft
    is pending, or the entry is not served) it is saved as a draft so that nothing unreviewed goes live with
    it. 409 when the suggestion was decided already or the phrasing belongs to another entry; 422 when the
    edit is empty or too long."""
    row = await _undecided(session, suggestion_id)
    phrasing = " ".join((text if text is not None else row.text).split())
    if not phrasing:
        raise Unprocessable("반영할 질문 표현을 입력해 주세요.")
    detail = await entries.get_entry(session, entry_id=row.entry_id, for_update=True)
    live = detail.entry.published_revision_id is not None and detail.entry.published_revision_id == detail.latest.id
    paraphrases = list(detail.latest.paraphrases)
    if phrasing_key(phrasing) not in {phrasing_key(p) for p in (detail.latest.title, *paraphrases)}:
        paraphrases.append(phrasing)
    rev = await entries.save_revision(session, entry_id=row.entry_id, author=author, publish=live,
                                      paraphrases=paraphrases, base_revision=detail.latest.number,
                                      note=f"제안 #{row.id} 반영 ({SOURCE_LABELS.get(row.source, row.source)})")
    row.status = "accepted"
    row.decided_at = now or utcnow()
    row.decided_by = author.id
    row.revision_id = rev.id
    await session.flush()
    return Accepted(entry_id=row.entry_id, revision=rev.number, published=live)


async def reject(session: AsyncSession, *, suggestion_id: int, author: Staff, now: dt.datetime | None = None) -> None:
    """Reject the suggestion; the phrasing is not suggested for the entry again."""
    row = await _undecided(session, suggestion_id)
    row.status = "rejected"
    row.decided_at = now or utcnow()
    row.decided_by = author.id
    await session.flush()


async def forget_old_suggestions(session: AsyncSession, *, created_before: dt.datetime) -> int:
    """Retention: owners' phrasings not accepted into the knowledge base go with the questions they came from
    (a rejected one keeps its key, so it still does not come back)."""
    removed = await session.execute(
        delete(KbSuggestion).where(KbSuggestion.created_at < created_before, KbSuggestion.status == "new")
        .execution_options(synchronize_session=False))
    anonymised = await session.execute(
        update(KbSuggestion).where(KbSuggestion.created_at < created_before, KbSuggestion.status == "rejected",
                                   KbSuggestion.text != ANONYMISED_TEXT)
        .values(text=ANONYMISED_TEXT).execution_options(synchronize_session=False))
    return removed.rowcount + anonymised.rowcount
