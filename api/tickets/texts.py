"""What centre staff read about tickets (Korean), and the button that goes with it. Owners' wording is in
``api.conversations.texts``. Kept apart from the rules so the wording can be reviewed in one place; pure."""

from __future__ import annotations

from datetime import datetime

from api.companies.validation import format_business_number
from api.contract import Button, Claim, Keyboard, encode
from api.conversations.texts import excerpt as _excerpt
from api.conversations.texts import local_time

EXCERPT_CHARS = 120
NOTICE_TEXT_CHARS = 1500

STATUS_LABELS = {"open": "접수됨 (담당자 배정 전)", "assigned": "담당자 확인 중", "resolved": "답변 완료"}


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    return _excerpt(text, limit)


def _clip(text: str, limit: int = NOTICE_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def claim_keyboard(ticket_id: int) -> Keyboard:
    return ((Button(text="담당하기", data=encode(Claim(ticket_id))),),)


def _company_line(company_name: str | None, business_number: str | None) -> str | None:
    if not company_name and not business_number:
        return None
    name = company_name or "(상호 미입력)"
    return f"업체: {name}" + (f" ({format_business_number(business_number)})" if business_number else "")


def _contact_line(contact_name: str | None, phone: str | None) -> str | None:
    parts = [p for p in (contact_name, phone) if p]
    return f"연락처: {' '.join(parts)}" if parts else None


def _region(sido: str | None, sigungu: str | None, address: str) -> str:
    return address or " ".join(p for p in (sido, sigungu) if p)


def staff_new_ticket(*, number: str, text: str, company_name: str | None, business_number: str | None,
                     contact_name: str | None, phone: str | None, address: str, sido: str | None,
                     sigungu: str | None, first_response_due: datetime, bot_tried: str | None) -> str:
    lines = [f"🆕 새 문의 {number}"]
    for line in (_company_line(company_name, business_number), _contact_line(contact_name, phone)):
        if line:
            lines.append(line)
    lines.append(f"소재지: {_region(sido, sigungu, address)}")
    lines.append(f"첫 답변 기한: {local_time(first_response_due)}")
    if bot_tried:
        lines.append(f"봇이 찾은 후보: {bot_tried}")
    lines += ["", _clip(text)]
    return "\n".join(lines)


def staff_transferred(*, number: str, from_center: str, reason: str, text: str,
                      first_response_due: datetime) -> str:
    return "\n".join([f"↪️ 이관된 문의 {number} ({from_center}에서 이관)", f"사유: {reason}",
                      f"첫 답변 기한: {local_time(first_response_due)}", "", _clip(text)])


def staff_owner_followup(*, number: str, text: str, has_attachment: bool) -> str:
    body = _clip(text) if text else ""
    if has_attachment:
        body = (body + "\n" if body else "") + "(첨부 파일 있음 — 콘솔에서 확인)"
    return f"💬 추가 메시지 {number}\n\n{body}"


def staff_overdue(*, number: str, first_response_due: datetime, assignee: str | None) -> str:
    who = f"담당: {assignee}" if assignee else "담당자 미배정"
    return (f"⏰ 첫 답변 기한 초과 {number}\n기한: {local_time(first_response_due)}\n{who}\n"
            "가능한 한 빨리 답변해 주세요.")


def admin_alert(*, number: str, center_name: str, resolution_due: datetime, assignee: str | None,
                first_responded: bool) -> str:
    state = "첫 답변은 보냄" if first_responded else "아직 첫 답변 없음"
    who = f"담당: {assignee}" if assignee else "담당자 미배정"
    return (f"🚨 해결 기한 초과 {number} ({center_name})\n기한: {local_time(resolution_due)}\n{who}, {state}\n"
            "센터와 확인해 주세요.")
