"""What owners and staff read about tickets (Korean), and the inline buttons that go with it.

Kept apart from the rules so the wording can be reviewed in one place. Every function is pure.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from api.companies.validation import format_business_number
from api.sla import BusinessCalendar, describe_due, describe_hours

SEOUL = ZoneInfo("Asia/Seoul")
_WEEKDAYS = "월화수목금토일"
EXCERPT_CHARS = 120
NOTICE_TEXT_CHARS = 1500

STATUS_LABELS = {"open": "접수됨 (담당자 배정 전)", "assigned": "담당자 확인 중", "resolved": "답변 완료"}


def local_time(dt: datetime) -> str:
    """``"11월 25일(수) 13:00"`` in Seoul time."""
    local = dt.astimezone(SEOUL)
    return f"{local.month}월 {local.day}일({_WEEKDAYS[local.weekday()]}) {local:%H:%M}"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _clip(text: str, limit: int = NOTICE_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def claim_button(ticket_id: int) -> list[list[dict[str, str]]]:
    return [[{"text": "담당하기", "callback_data": f"claim:{ticket_id}"}]]


def rating_buttons(ticket_id: int) -> list[list[dict[str, str]]]:
    return [[{"text": f"{n}점", "callback_data": f"rate:{ticket_id}:{n}"} for n in range(1, 6)]]


def acknowledgement(*, number: str, center_name: str, first_response_due: datetime, now: datetime,
                    calendar: BusinessCalendar, duplicate: bool = False, answered: bool = False,
                    contact: str = "") -> str:
    """The owner's receipt: ticket number, centre and, in plain Korean, when a person will answer; ``contact``
    (``api.centers.contact.format_contact`` of the centre, empty when nothing is known) closes it."""
    head = "이미 접수된 문의입니다." if duplicate else "문의가 접수되었습니다."
    lines = [f"{head} (접수번호 {number})", f"담당 센터: {center_name}"]
    if answered:
        lines.append("담당자가 이미 답변을 보냈습니다. 위의 답변을 확인해 주세요.")
    else:
        lines.append(f"담당자가 {describe_due(first_response_due, now, calendar)} 답변드릴게요.")
    lines.append(f"(상담 시간: {describe_hours(calendar)})")
    if contact:
        lines += ["", contact]
    return "\n".join(lines)


def owner_reply(*, center_name: str, number: str, body: str) -> str:
    return f"[{center_name} 답변] 접수번호 {number}\n\n{body}"


def owner_transferred(*, number: str, center_name: str, promise: str) -> str:
    return (f"[안내] 문의(접수번호 {number})를 {center_name}에서 이어서 담당하게 되었습니다.\n"
            f"담당자가 {promise} 답변드릴게요.")


def rating_request(*, center_name: str, number: str) -> str:
    return (f"[{center_name}] 문의(접수번호 {number})가 답변 완료로 처리되었습니다.\n"
            "답변이 도움이 되셨나요? 1점(불만족)부터 5점(매우 만족)까지 눌러 평가해 주세요.\n"
            "더 궁금한 점이 있으면 언제든 다시 질문해 주세요.")


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
