"""The ticket domain's errors (``api.errors`` types with Korean details)."""

from __future__ import annotations

from api.errors import Conflict, NotFound


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    detail = "문의를 찾을 수 없습니다."


class NoOpenTicket(NotFound):
    code = "no_open_ticket"
    detail = "이 대화에는 진행 중인 문의가 없습니다. 새 문의로 접수해 주세요."


class TicketResolved(Conflict):
    code = "ticket_resolved"
    detail = "이미 답변 완료된 문의입니다. 필요하면 먼저 다시 열어 주세요."


class TicketNotResolved(Conflict):
    code = "ticket_not_resolved"
    detail = "답변 완료된 문의가 아닙니다."


class AlreadyClaimed(Conflict):
    code = "already_claimed"
    detail = "다른 직원이 이미 담당하고 있는 문의입니다."
