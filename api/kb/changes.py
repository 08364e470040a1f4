"""Every change to the knowledge base: the append-only ``kb_events`` row, the in-process signal, and the
version stamp every process's matcher cache polls (``api.kb.cache``).

A change written here is seen by this process's cache at once (``notify_changed``) and by every other process
within the cache's check interval (``kb_stamp`` changes with every committed change).
"""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict
from api.kb.models import KbEvent, KbRevision, KbSynonym
from api.staff.models import Staff

IMPORT_LABEL = "import"
# How staff read the author of a change made by ``hotline kb import``/``init`` (stored as ``IMPORT_LABEL``).
IMPORT_DISPLAY = "파일 가져오기"

_changed_at = float("-inf")


def notify_changed() -> None:
    """Called by every KB write of this process: caches poll the stamp on each request for a while."""
    global _changed_at
    _changed_at = time.monotonic()


def changed_within(seconds: float, *, now: float | None = None) -> bool:
    """Whether this process changed the knowledge base in the last ``seconds`` (monotonic clock)."""
    return (time.monotonic() if now is None else now) - _changed_at < seconds


def actor(author: Staff | None, label: str | None = None) -> tuple[int | None, str]:
    """The (staff id, label) a revision or event records: the staff member, or ``label`` (default "import")."""
    if author is None:
        return None, label or IMPORT_LABEL
    return author.id, label or author.display_name or author.username


def author_display(label: str | None) -> str:
    """The author of a revision or event as staff read it: the staff member's name, or "파일 가져오기"."""
    if label == IMPORT_LABEL:
        return IMPORT_DISPLAY
    return label or "-"


def record_event(session: AsyncSession, *, action: str, entry_id: str | None = None, revision_id: int | None = None,
                 author: Staff | None = None, label: str | None = None, detail: dict | None = None) -> None:
    actor_id, actor_label = actor(author, label)
    session.add(KbEvent(action=action, entry_id=entry_id, revision_id=revision_id, actor_id=actor_id,
                              actor_label=actor_label, detail=detail or {}))
    notify_changed()


async def flush(session: AsyncSession) -> None:
    """Flush a KB write; a unique-key race with another writer becomes a 409 with a Korean message."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("다른 사람이 같은 항목을 동시에 수정했습니다. 새로 고친 뒤 다시 시도해 주세요.") from exc


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

