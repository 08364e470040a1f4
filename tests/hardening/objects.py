"""Real objects for the authorisation matrices (API and console): each call makes a fresh one in the test's
database and returns plain values (a refused request rolls the shared session back, which expires ORM objects).
Callers commit. Also what both matrices check themselves against: the routes the application serves."""

from __future__ import annotations

import functools
import itertools
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.auth.security import hash_password
from api.centers.models import Center
from api.db import utcnow
from api.kb import entries as kb_entries
from api.kb import suggestions as kb_suggestions
from api.kb import synonyms as kb_synonyms
from api.kb.models import AskLog, KbSuggestion
from api.staff.models import Staff
from api.tickets import owner_actions as tickets_owner_actions
from api.tickets import staff_actions as tickets_staff_actions

ADDRESS = {"seoul": "서울 금천구 가산동", "busan": "부산 사하구 신평동"}
PASSWORD = "password-123"
SOURCE = ("중소벤처기업부 스마트공장 보급·확산 사업 공고", "https://www.mss.go.kr/site/smba/main.do")

_ids = itertools.count(1)


def served_routes(*, console: bool) -> list[str]:
    """Every ``"METHOD /path"`` the application serves under /console (``console``) or outside it, from
    ``app.routes``; a mounted application is ``"MOUNT /path"``."""
    from tests.conftest import make_settings

    app = create_app(make_settings("sqlite+aiosqlite:///unused.db"))
    keys = set()
    for route in app.routes:
        # FastAPI keeps included routers as branches; their routes are the effective route contexts
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for r in contexts:
            # a mounted application's context has an empty path; its route (starlette's Mount) has the real one
            path = (getattr(r, "path", "") or getattr(getattr(r, "starlette_route", None), "path", "")
                    or getattr(getattr(r, "original_route", None), "path", ""))
            if path.startswith("/console") != console:
                continue
            methods = getattr(r, "methods", None)
            if not methods:
                keys.add(f"MOUNT {path}")
            for method in sorted(methods or ()):
                if method != "HEAD":
                    keys.add(f"{method} {path}")
    return sorted(keys)


def fresh() -> int:
    return next(_ids)


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)  # Argon2 is slow on purpose: hash once for all the staff made here


async def new_staff(db: AsyncSession, role: str, centre: str | None, *, telegram: bool = False) -> Staff:
    n = fresh()
    centre_id = await db.scalar(select(Center.id).where(Center.code == centre)) if centre else None
    staff = Staff(username=f"authz-{role}-{centre or 'all'}-{n}", display_name=f"권한 {n}",
                  password_hash=password_hash(), role=role, center_id=centre_id, password_changed_at=utcnow(),
                  telegram_user_id=6_500_000_000 + n if telegram else None)
    db.add(staff)
    await db.flush()
    return staff


async def new_ticket(db: AsyncSession, *, centre: str, admin: Staff, resolved: bool = False,
                     replied: bool = False) -> tuple[int, int]:
    """A ticket of ``centre``, optionally answered and/or resolved by ``admin``: (ticket id, owner chat id)."""
    n = fresh()
    chat_id = 8_100_000_000 + n
    created = await tickets_owner_actions.create_ticket(db, chat_id=chat_id, text=f"스마트공장 구축 일정 문의 {n}번",
                                          address=ADDRESS[centre])
    ticket_id = created.ticket.id
    if replied:
        await tickets_staff_actions.reply_to_ticket(db, staff=admin, ticket_id=ticket_id, body="일정은 센터로 문의해 주세요.")
    if resolved:
        await tickets_staff_actions.resolve_ticket(db, staff=admin, ticket_id=ticket_id)
    return ticket_id, chat_id


async def new_entry(db: AsyncSession, *, publish: bool = False, revisions: int = 1) -> str:
    n = fresh()
    entry_id = f"authz-entry-{n}"
    await kb_entries.create_entry(db, entry_id=entry_id, topic="support-ratio", title=f"권한 시험 질문 {n}번",
                                  paraphrases=[f"권한 시험 다른 표현 {n}번"], answer=f"권한 시험 답변 {n}번입니다.",
                                  source_title=SOURCE[0], source_url=SOURCE[1], year=2025, valid_from=date(2019, 1, 1),
                                  author=None, publish=publish)
    for i in range(2, revisions + 1):
        await kb_entries.save_revision(db, entry_id=entry_id, author=None, publish=publish,
                                       title=f"권한 시험 질문 {n}번 ({i}판)", answer=f"권한 시험 답변 {n}번 {i}판입니다.")
    return entry_id


async def new_ask_log(db: AsyncSession, *, outcome: str = "escalate") -> int:
    n = fresh()
    row = AskLog(text=f"권한 시험 미답변 질문 {n}번 공장 폐수 허가", outcome=outcome, kind="question",
                 chat_id=8_200_000_000 + n, channel="bot", score=0.1, candidates=[])
    db.add(row)
    await db.flush()
    return row.id


async def new_suggestion(db: AsyncSession) -> int:
    """A suggested paraphrase (new) of a fresh published entry."""
    entry_id = await new_entry(db, publish=True)
    await kb_suggestions.suggest(db, entry_id=entry_id, question=f"권한 시험 제안 표현 {fresh()}번이요", source="pick")
    return await db.scalar(select(KbSuggestion.id).where(KbSuggestion.entry_id == entry_id))


async def new_synonym(db: AsyncSession) -> int:
    row = await kb_synonyms.add_synonym(db, term="스마트공장", variant=f"권한시험변형{fresh()}", author=None)
    return row.id
