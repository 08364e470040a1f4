"""Synonyms: the variants owners type for a term (스공 → 스마트공장), from ``knowledge/synonyms.yaml`` and
added by admins. Every change is a ``kb_events`` row; the matcher expands questions with them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, NotFound, Unprocessable
from api.kb.changes import flush, record_event
from api.kb.models import KbSynonym
from api.staff.models import Staff
from knowledge.normalize import compact


async def synonyms_map(session: AsyncSession) -> dict[str, list[str]]:
    """``{term: [variants]}`` of every synonym row (file-imported and admin-added), oldest first."""
    out: dict[str, list[str]] = {}
    for term, variant in (await session.execute(
            select(KbSynonym.term, KbSynonym.variant).order_by(KbSynonym.id))).all():
        out.setdefault(term, []).append(variant)
    return out



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
    await flush(session)
    record_event(session, action="synonym_added", author=author, detail={"id": row.id, "term": term, "variant": variant})
    await flush(session)
    return row


async def remove_synonym(session: AsyncSession, *, synonym_id: int, author: Staff | None) -> None:
    row = await session.get(KbSynonym, synonym_id)
    if row is None:
        raise NotFound("해당 동의어를 찾을 수 없습니다.")
    record_event(session, action="synonym_removed", author=author,
           detail={"id": row.id, "term": row.term, "variant": row.variant})
    await session.delete(row)
    await flush(session)
