"""Console-specific operations: staff administration, centre settings, canned responses, FAQ candidates.

Plain keyword-only async functions on an AsyncSession; they flush, the request commits. Ticket and
knowledge-base rules live in the ``api.tickets`` modules and the ``api.kb`` modules; nothing here repeats them.
"""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.models import Center, CenterClosure
from api.centers.service import get_center_by_code
from api.console.models import FAQ_CANDIDATE_STATUSES, CannedResponse, FaqCandidate
from api.console.security import end_all_sessions
from api.db import utcnow
from api.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.staff import service as staff_service
from api.staff.models import Staff
from api.tickets.models import Ticket, TicketMessage

MAX_CANNED_TITLE = 100
MAX_CANNED_BODY = 4000


# -- staff ---------------------------------------------------------------------------------------------

async def list_staff(db: AsyncSession) -> list[tuple[Staff, str | None]]:
    rows = await db.execute(select(Staff, Center.name).outerjoin(Center, Center.id == Staff.center_id)
                            .order_by(Staff.is_active.desc(), Staff.role, Center.name, Staff.username))
    return [(staff, center_name) for staff, center_name in rows.all()]


async def get_staff(db: AsyncSession, staff_id: int) -> Staff:
    staff = await db.get(Staff, staff_id)
    if staff is None:
        raise NotFound("직원 계정을 찾을 수 없습니다.")
    return staff


async def set_staff_active(db: AsyncSession, *, staff_id: int, active: bool, actor_id: int) -> Staff:
    """Deactivate (signing the account out everywhere) or reactivate a staff account."""
    staff = await get_staff(db, staff_id)
    if not active and staff.id == actor_id:
        raise Forbidden("자기 자신의 계정은 비활성화할 수 없습니다.")
    if not active and staff.role == "admin" and staff.is_active:
        active_admins = await db.scalar(select(func.count()).select_from(Staff)
                                        .where(Staff.role == "admin", Staff.is_active.is_(True)))
        if active_admins <= 1:
            raise Conflict("활성 관리자가 한 명뿐이라 비활성화할 수 없습니다.")
    staff.is_active = active
    if not active:
        await end_all_sessions(db, staff.id)
    await db.flush()
    return staff


async def reset_staff_password(db: AsyncSession, *, staff_id: int, password: str) -> Staff:
    """A new password set by an admin; it signs the account out everywhere."""
    staff = await get_staff(db, staff_id)
    await staff_service.set_password(db, staff, password)
    await end_all_sessions(db, staff.id)
    return staff


async def link_telegram(db: AsyncSession, *, staff_id: int, telegram_user_id: int | None) -> Staff:
    staff = await get_staff(db, staff_id)
    if telegram_user_id is not None:
        if telegram_user_id <= 0:
            raise Unprocessable("텔레그램 사용자 ID는 양의 정수입니다.")
        other = await db.scalar(select(Staff).where(Staff.telegram_user_id == telegram_user_id,
                                                    Staff.id != staff.id))
        if other is not None:
            raise Conflict(f"이 텔레그램 사용자 ID는 이미 '{other.username}' 계정에 연결되어 있습니다.")
    staff.telegram_user_id = telegram_user_id
    await db.flush()
    return staff


# -- centres ---------------------------------------------------------------------------------------------

async def get_center(db: AsyncSession, code: str) -> Center:
    """A centre by code or Korean name (``api.centers.service.get_center_by_code``)."""
    return await get_center_by_code(db, code)


async def list_closures(db: AsyncSession, center_id: int, *, since: date | None = None) -> list[CenterClosure]:
    query = select(CenterClosure).where(CenterClosure.center_id == center_id)
    if since is not None:
        query = query.where(CenterClosure.day >= since)
    return list((await db.scalars(query.order_by(CenterClosure.day))).all())


async def add_closure(db: AsyncSession, *, center: Center, day: date, reason: str) -> CenterClosure:
    reason = reason.strip()[:200]
    exists = await db.scalar(select(CenterClosure).where(CenterClosure.center_id == center.id,
                                                         CenterClosure.day == day))
    if exists is not None:
        raise Conflict(f"{day.isoformat()}은(는) 이미 휴무일로 등록되어 있습니다.")
    closure = CenterClosure(center_id=center.id, day=day, reason=reason)
    db.add(closure)
    await db.flush()
    return closure


async def remove_closure(db: AsyncSession, *, center: Center, closure_id: int) -> None:
    closure = await db.get(CenterClosure, closure_id)
    if closure is None or closure.center_id != center.id:
        raise NotFound("휴무일을 찾을 수 없습니다.")
    await db.delete(closure)
    await db.flush()


# -- canned responses ----------------------------------------------------------------------------------------

async def list_canned(db: AsyncSession, center_id: int) -> list[CannedResponse]:
    return list((await db.scalars(select(CannedResponse).where(CannedResponse.center_id == center_id)
                                  .order_by(CannedResponse.title))).all())


def _clean_canned(title: str, body: str) -> tuple[str, str]:
    title, body = title.strip(), body.strip()
    if not title or not body:
        raise Unprocessable("상용구의 제목과 내용을 모두 입력해 주세요.")
    if len(title) > MAX_CANNED_TITLE:
        raise Unprocessable(f"상용구 제목은 {MAX_CANNED_TITLE}자 이내로 입력해 주세요.")
    if len(body) > MAX_CANNED_BODY:
        raise Unprocessable(f"상용구 내용은 {MAX_CANNED_BODY}자 이내로 입력해 주세요.")
    return title, body


async def save_canned(db: AsyncSession, *, center_id: int, canned_id: int | None, title: str, body: str,
                      actor_id: int) -> CannedResponse:
    title, body = _clean_canned(title, body)
    clash = select(CannedResponse.id).where(CannedResponse.center_id == center_id, CannedResponse.title == title)
    if canned_id is not None:
        clash = clash.where(CannedResponse.id != canned_id)
    if await db.scalar(clash) is not None:
        raise Conflict(f"'{title}' 제목의 상용구가 이미 있습니다.")
    if canned_id is None:
        canned = CannedResponse(center_id=center_id, title=title, body=body, created_by=actor_id)
        db.add(canned)
    else:
        canned = await db.get(CannedResponse, canned_id)
        if canned is None or canned.center_id != center_id:
            raise NotFound("상용구를 찾을 수 없습니다.")
        canned.title, canned.body = title, body
    await db.flush()
    return canned


async def delete_canned(db: AsyncSession, *, center_id: int, canned_id: int) -> None:
    canned = await db.get(CannedResponse, canned_id)
    if canned is None or canned.center_id != center_id:
        raise NotFound("상용구를 찾을 수 없습니다.")
    await db.delete(canned)
    await db.flush()


# -- FAQ candidates ----------------------------------------------------------------------------------------

async def propose_faq_candidate(db: AsyncSession, *, ticket: Ticket, message_id: int,
                                actor_id: int) -> FaqCandidate:
    """Mark a staff reply, with the owner's question(s) before it, as a candidate for the knowledge base."""
    reply = await db.get(TicketMessage, message_id)
    if reply is None or reply.ticket_id != ticket.id or reply.direction != "staff":
        raise NotFound("답변 메시지를 찾을 수 없습니다.")
    if await db.scalar(select(FaqCandidate.id).where(FaqCandidate.message_id == reply.id)) is not None:
        raise Conflict("이 답변은 이미 FAQ 후보로 올렸습니다.")
    owner_lines = (await db.scalars(
        select(TicketMessage.body).where(TicketMessage.ticket_id == ticket.id, TicketMessage.direction == "owner",
                                         TicketMessage.id < reply.id).order_by(TicketMessage.id))).all()
    question = "\n".join(line for line in owner_lines if line.strip()) or ticket.text
    candidate = FaqCandidate(ticket_id=ticket.id, message_id=reply.id, center_id=ticket.center_id,
                             question=question, answer=reply.body, status="new", created_by=actor_id,
                             created_at=utcnow())
    db.add(candidate)
    await db.flush()
    return candidate


async def faq_candidate_message_ids(db: AsyncSession, ticket_id: int) -> set[int]:
    rows = await db.scalars(select(FaqCandidate.message_id).where(FaqCandidate.ticket_id == ticket_id))
    return {r for r in rows.all() if r is not None}


async def list_faq_candidates(db: AsyncSession, *, status: str = "new", limit: int = 100) -> list[dict]:
    rows = await db.execute(
        select(FaqCandidate, Ticket.number, Center.name, Staff.display_name, Staff.username)
        .join(Ticket, Ticket.id == FaqCandidate.ticket_id)
        .join(Center, Center.id == FaqCandidate.center_id)
        .outerjoin(Staff, Staff.id == FaqCandidate.created_by)
        .where(FaqCandidate.status == status)
        .order_by(FaqCandidate.created_at.desc(), FaqCandidate.id.desc()).limit(limit))
    return [{"candidate": c, "ticket_number": number, "center_name": center, "author": name or username or "-"}
            for c, number, center, name, username in rows.all()]


async def get_faq_candidate(db: AsyncSession, candidate_id: int) -> FaqCandidate:
    candidate = await db.get(FaqCandidate, candidate_id)
    if candidate is None:
        raise NotFound("FAQ 후보를 찾을 수 없습니다.")
    return candidate


async def close_faq_candidate(db: AsyncSession, *, candidate: FaqCandidate, status: str, actor_id: int,
                              entry_id: str | None = None) -> FaqCandidate:
    if status not in FAQ_CANDIDATE_STATUSES or status == "new":
        raise Unprocessable("FAQ 후보 상태가 올바르지 않습니다.")
    if candidate.status != "new":
        raise Conflict("이미 처리한 FAQ 후보입니다.")
    candidate.status = status
    candidate.entry_id = entry_id
    candidate.handled_by = actor_id
    candidate.handled_at = utcnow()
    await db.flush()
    return candidate


def parse_time(value: str, field: str) -> time:
    try:
        parsed = time.fromisoformat((value or "").strip())
    except ValueError:
        raise Unprocessable(f"{field} 시각 형식이 올바르지 않습니다. (예: 09:00)") from None
    return parsed.replace(second=0, microsecond=0, tzinfo=None)
