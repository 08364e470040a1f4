"""The queue and the ticket page. Every rule (scoping, claiming, replies, transfers) is in api.tickets."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.centers.service import list_centers
from api.chats.service import channels_of
from api.console import service
from api.console.web import (ConsoleDB, ConsoleRoute, CurrentUser, PostUser, page_window, redirect, render,
                             staff_principal)
from api.db import utcnow
from api.kb import entries as kb_entries
from api.tickets import base as tickets_base
from api.tickets import queue as tickets_queue
from api.tickets import staff_actions as tickets_staff_actions
from api.tickets.models import Ticket

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 30
VIEWS = {
    "active": ("처리할 문의", {"status": "active"}),
    "mine": ("내 담당", {"status": "active", "mine": True}),
    "unassigned": ("미배정", {"status": "active", "unassigned": True}),
    "overdue": ("기한 초과", {"status": "active", "overdue": True}),
    "resolved": ("해결됨", {"status": "resolved"}),
    "all": ("전체", {"status": "all"}),
}
COUNTED_VIEWS = ("active", "mine", "unassigned", "overdue")
EVENT_LABELS = {"created": "접수", "claimed": "담당 지정", "replied": "답변", "transferred": "센터 이관",
                "resolved": "해결 처리", "reopened": "다시 열림", "owner_message": "추가 문의", "rated": "만족도 평가",
                "overdue": "응답 기한 초과", "escalated": "관리자 알림", "anonymised": "개인정보 삭제",
                "undelivered": "메시지 전달 실패"}


def _staff(request: Request):
    return staff_principal(request).staff


@router.get("/console/queue")
async def queue(request: Request, db: ConsoleDB, user: CurrentUser, view: str = "active", q: str = "",
                center: str = "", page: int = 1) -> Response:
    staff = _staff(request)
    if view not in VIEWS:
        view = "active"
    page = max(1, min(page, 10_000))
    center_code = center.strip() or None
    query = q.strip()
    _, filters = VIEWS[view]
    now = utcnow()
    result = await tickets_queue.list_queue(db, staff=staff, center_code=center_code, q=query or None, limit=PAGE_SIZE,
                                      offset=(page - 1) * PAGE_SIZE, now=now, **filters)
    counts = {}
    for name in COUNTED_VIEWS:
        if name == view:
            counts[name] = result.total
        else:
            counts[name] = (await tickets_queue.list_queue(db, staff=staff, center_code=center_code, q=query or None,
                                                     limit=1, now=now, **VIEWS[name][1])).total
    pages = max(1, -(-result.total // PAGE_SIZE))

    def link(**changes) -> str:
        params = {"view": view, "q": query, "center": center_code or "", "page": 1}
        params.update(changes)
        if params["page"] == 1:
            del params["page"]
        return "/console/queue?" + urlencode({k: v for k, v in params.items() if v != ""})

    centers = await list_centers(db) if user.is_admin else []
    return render(request, "queue.html", result=result, items=result.items, view=view, views=VIEWS, counts=counts,
                  q=query, center_code=center_code, centers=centers, page=page, pages=pages,
                  window=page_window(page, pages), link=link, now=now,
                  overdue_ids={i.ticket.id for i in result.items if tickets_base.is_overdue(i.ticket, now)},
                  channels=await channels_of(db, chat_ids=[i.ticket.chat_id for i in result.items]))


async def _detail(request: Request, db, ticket_id: int):
    return await tickets_queue.get_ticket_detail(db, staff=_staff(request), ticket_id=ticket_id)


@router.get("/console/tickets/{ticket_id}")
async def ticket_page(request: Request, db: ConsoleDB, user: CurrentUser, ticket_id: int) -> Response:
    detail = await _detail(request, db, ticket_id)
    ticket: Ticket = detail.ticket
    canned = await service.list_canned(db, ticket.center_id)
    centers = [c for c in await list_centers(db) if c.id != ticket.center_id]
    proposed = await service.faq_candidate_message_ids(db, ticket.id)
    kb_choices = [(e.id, e.title) for e in await kb_entries.published_entries(db) if e.history_of is None]
    now = utcnow()
    return render(request, "ticket.html", d=detail, t=ticket, canned=canned, centers=centers, proposed=proposed,
                  kb_choices=kb_choices,
                  event_labels=EVENT_LABELS, now=now, overdue=tickets_base.is_overdue(ticket, now),
                  channel=(await channels_of(db, chat_ids=[ticket.chat_id]))[ticket.chat_id],
                  centre_names={c.code: c.name for c in await list_centers(db)})


def _back(ticket_id: int) -> str:
    return f"/console/tickets/{ticket_id}"


@router.post("/console/tickets/{ticket_id}/claim")
async def claim(request: Request, db: ConsoleDB, user: PostUser, ticket_id: int) -> Response:
    ticket = await tickets_staff_actions.claim_ticket(db, staff=_staff(request), ticket_id=ticket_id, via="console")
    return redirect(request, _back(ticket_id), f"{ticket.number} 문의를 담당합니다.")


@router.post("/console/tickets/{ticket_id}/reply")
async def reply(request: Request, db: ConsoleDB, user: PostUser, ticket_id: int,
                body: Annotated[str, Form(max_length=20000)] = "") -> Response:
    ticket, _ = await tickets_staff_actions.reply_to_ticket(db, staff=_staff(request), ticket_id=ticket_id, body=body,
                                              via="console")
    return redirect(request, _back(ticket_id) + "#thread",
                    f"답변을 보냈습니다. {ticket.number} 문의자의 텔레그램 대화방으로 전달됩니다.")


@router.post("/console/tickets/{ticket_id}/transfer")
async def transfer(request: Request, db: ConsoleDB, user: PostUser, ticket_id: int,
                   center: Annotated[str, Form(max_length=32)] = "",
                   reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    settings = request.app.state.settings
    ticket = await tickets_staff_actions.transfer_ticket(db, staff=_staff(request), ticket_id=ticket_id, center_code=center,
                                           reason=reason, policy=tickets_base.policy_from_settings(settings))
    if not user.is_admin and ticket.center_id != user.center_id:
        # The ticket left this agent's centre: its page is no longer theirs to see.
        return redirect(request, "/console/queue", f"{ticket.number} 문의를 이관했습니다.")
    return redirect(request, _back(ticket_id), f"{ticket.number} 문의를 이관했습니다.")


@router.post("/console/tickets/{ticket_id}/resolve")
async def resolve(request: Request, db: ConsoleDB, user: PostUser, ticket_id: int,
                  note: Annotated[str, Form(max_length=2000)] = "",
                  entry_id: Annotated[str, Form(max_length=100)] = "") -> Response:
    ticket = await tickets_staff_actions.resolve_ticket(db, staff=_staff(request), ticket_id=ticket_id, note=note or None,
                                                        entry_id=entry_id or None, via="console")
    return redirect(request, _back(ticket_id),
                    f"{ticket.number} 문의를 해결 처리했습니다. 문의자에게 만족도 평가를 요청합니다.")


@router.post("/console/tickets/{ticket_id}/reopen")
async def reopen(request: Request, db: ConsoleDB, user: PostUser, ticket_id: int,
                 reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    settings = request.app.state.settings
    ticket = await tickets_staff_actions.reopen_ticket(db, staff=_staff(request), ticket_id=ticket_id, reason=reason or None,
                                         policy=tickets_base.policy_from_settings(settings), via="console")
    return redirect(request, _back(ticket_id), f"{ticket.number} 문의를 다시 열었습니다.")


@router.post("/console/tickets/{ticket_id}/faq-candidate")
async def faq_candidate(request: Request, db: ConsoleDB, user: PostUser, ticket_id: int,
                        message_id: Annotated[int, Form()]) -> Response:
    detail = await _detail(request, db, ticket_id)  # scoping: another centre's ticket is a 404
    await service.propose_faq_candidate(db, ticket=detail.ticket, message_id=message_id, actor_id=user.id)
    return redirect(request, _back(ticket_id) + "#thread",
                    "FAQ 후보로 올렸습니다. 관리자가 '미답변 질문' 화면에서 지식베이스에 반영합니다.")
