"""What a question would match, with an admin's draft applied as if it were published (nothing is saved)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Unprocessable
from api.kb.asklog import MAX_QUESTION_CHARS
from api.kb.entries import CONTENT_FIELDS, kst_today, published_entries, revision_entry
from api.kb.models import KbEntry, KbRevision
from api.kb.synonyms import synonyms_map
from knowledge.loader import Entry
from knowledge.matcher import Matcher, MatchResult
from knowledge.years import matchable


@dataclass(frozen=True)
class PreviewResult:
    result: MatchResult
    draft_entry_id: str | None
    draft_rank: int | None  # 1-based place of the draft among the candidates (None: not among them)


_DRAFT_KEYS = frozenset(("entry_id", "topic", *CONTENT_FIELDS))


def _question(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Unprocessable("미리 볼 질문을 입력해 주세요.")
    if len(text) > MAX_QUESTION_CHARS:
        raise Unprocessable(f"질문은 {MAX_QUESTION_CHARS}자 이내로 입력해 주세요.")
    return text


async def _draft_matcher(session: AsyncSession, draft: dict | None) -> tuple[Matcher, str | None]:
    """A matcher over the published KB with ``draft`` applied as if published, and the draft's entry id."""
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
    return await asyncio.to_thread(Matcher, matchable(entries), synonyms), draft_id


def _result(matcher: Matcher, draft_id: str | None, text: str, today: dt.date) -> PreviewResult:
    result = matcher.match(text, today=today)
    rank = None
    if draft_id is not None:
        rank = next((i + 1 for i, c in enumerate(result.candidates) if c.entry_id == draft_id), None)
    return PreviewResult(result, draft_id, rank)


async def preview(session: AsyncSession, *, text: str, draft: dict | None = None,
                  today: dt.date | None = None) -> PreviewResult:
    """What ``text`` would match against the published KB with ``draft`` applied.

    ``draft``: ``entry_id`` (an existing entry, whose latest revision the other keys override, or a new
    id) plus any of ``topic``, ``title``, ``paraphrases``, ``keywords``, ``answer``, ``source_title``,
    ``source_url``, ``year``, ``valid_from``, ``valid_to``, ``reviewed_on``, ``history_of`` (``None`` values are
    ignored). The draft is served as if published; history entries are not matched (as on ``/ask``)."""
    text = _question(text)
    matcher, draft_id = await _draft_matcher(session, draft)
    return _result(matcher, draft_id, text, today or kst_today())


async def preview_many(session: AsyncSession, *, texts: list[str], draft: dict | None = None,
                       today: dt.date | None = None) -> list[PreviewResult]:
    """``preview`` for several questions against one draft (the matcher is built once)."""
    questions = [_question(t) for t in texts]
    matcher, draft_id = await _draft_matcher(session, draft)
    day = today or kst_today()
    return await asyncio.to_thread(lambda: [_result(matcher, draft_id, q, day) for q in questions])
