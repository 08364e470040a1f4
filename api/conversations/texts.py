"""Every word company owners read, in every channel, in one place for review. Korean; pure functions and
constants, standard library only (channel adapters import it for the few words they say themselves).

Staff-facing wording lives with the staff features (``api.tickets.texts``, ``api.telegram_staff.texts``).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from api.contract import Button, Keyboard, Rate, encode

SEOUL = ZoneInfo("Asia/Seoul")
_WEEKDAYS = "월화수목금토일"
EXAMPLE_BUSINESS_NUMBER = "123-45-67891"  # the familiar placeholder, with its check digit right (a test checks it)


def local_time(moment: datetime) -> str:
    """``"11월 25일(수) 13:00"`` in Seoul time."""
    local = moment.astimezone(SEOUL)
    return f"{local.month}월 {local.day}일({_WEEKDAYS[local.weekday()]}) {local:%H:%M}"


def excerpt(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- greeting, help, commands ------------------------------------------------------------------------------------

WELCOME = (
    "안녕하세요! 스마트공장 보급·확산 사업 상담 창구입니다. 🏭\n\n"
    "지원 대상, 지원금과 기업부담금, 신청 방법과 일정 같은 사업 규정을 물어보시면 출처와 함께 바로 안내해 드려요. "
    "제가 답하기 어려운 질문은 공장 소재지 관할 스마트제조혁신센터 상담원이 이 대화방으로 직접 답변드립니다.\n\n"
    "가입 절차 없이 지금 바로 질문해 주세요. 예) \"자부담 비율이 얼마예요?\""
)

HELP = (
    "이렇게 이용하세요.\n"
    "• 궁금한 점을 평소 말투로 보내 주세요. 예) \"스공 보조금 얼마까지 나와요?\"\n"
    "• 답변이 맞지 않으면 👎를 누르거나 \"상담원 연결\"을 누르면 센터 상담원에게 넘겨 드려요.\n"
    "• /status 내 문의 처리 상황 보기\n"
    "• /cancel 진행 중인 단계 그만두기 (언제든 새 질문을 보내셔도 돼요)\n"
    "• /help 이 안내 다시 보기\n\n"
    "상담원 답변은 평일 업무 시간에 이 대화방으로 옵니다."
)

UNKNOWN_COMMAND = "모르는 명령어예요. 아래 안내를 참고해 주세요.\n\n" + HELP
EMPTY = "내용이 비어 있어요. 궁금한 점을 글로 적어 보내 주세요."
STALE_BUTTON = "이전 안내의 버튼이라 지금은 처리할 수 없어요. 궁금한 점을 다시 보내 주세요."
SOMETHING_WRONG = "죄송해요, 처리 중에 문제가 생겼어요. 잠시 후 다시 시도해 주세요."
# Said by a channel adapter itself when the API cannot be reached (the message is kept and handled later).
UNAVAILABLE = ("지금 상담 시스템 연결이 원활하지 않아요. 잠시 후 다시 시도해 주세요.\n"
               "보내 주신 내용은 받아 두었다가 연결되는 대로 이어서 처리해 드릴게요.")
RATE_LIMITED = "메시지가 너무 빠르게 오고 있어요. 잠시 숨 돌리신 뒤 30초쯤 후에 다시 보내 주세요. 🙏"


def too_long(length: int, limit: int) -> str:
    return f"메시지가 너무 길어요. ({length:,}자)\n{limit:,}자 이내로 핵심만 나누어 보내 주세요."


# --- small talk and scope (never a rule, never a ticket) ----------------------------------------------------------

GREETING = "안녕하세요! 😊 스마트공장 사업에 대해 궁금한 점을 편하게 물어보세요."
THANKS = "도움이 되었다니 다행이에요. 더 궁금한 점이 있으면 언제든 물어보세요! 🙂"
OUT_OF_SCOPE = ("저는 스마트공장 보급·확산 사업 상담을 돕고 있어서 그 이야기는 답해 드리기 어려워요. 🙂\n"
                "지원 대상, 지원금, 신청 방법처럼 스마트공장 사업에 관한 궁금한 점을 물어봐 주세요.")

# --- answers -----------------------------------------------------------------------------------------------------

BTN_HELPFUL = "👍 도움이 됐어요"
BTN_NOT_HELPFUL = "👎 해결 안 됨"
BTN_HUMAN = "🙋 상담원 연결"
CLARIFY = "혹시 이 질문이신가요? 아래에서 골라 주세요.\n맞는 것이 없으면 \"상담원 연결\"을 눌러 주세요."
FEEDBACK_THANKS = "도움이 되어 다행이에요! 더 궁금한 점이 있으면 언제든 물어보세요."
NOT_HELPFUL = "원하시는 답을 드리지 못해 죄송해요. 센터 상담원이 직접 답변드리도록 연결해 드릴게요."
ENTRY_GONE = "이 안내는 지금 제공되지 않아요. 궁금한 점을 다시 보내 주시거나 \"상담원 연결\"을 눌러 주세요."


def answer(text: str, *, year: int | None, year_note: str | None, source_title: str, source_url: str) -> str:
    """An answer from the knowledge base: ``year_note`` (an answer describing an earlier programme year says so
    first), the answer, then the year and the source."""
    lines = [year_note.strip(), ""] if year_note else []
    lines.append(text.strip())
    meta = []
    if year:
        meta.append(f"📅 {year}년 사업 기준")
    if source_url or source_title:
        label = source_title or "출처"
        meta.append(f"🔗 {label}: {source_url}" if source_url else f"🔗 {label}")
    if meta:
        lines += ["", *meta]
    return "\n".join(lines)


# --- escalation: place, company, business number, confirmation -------------------------------------------------

ESCALATE_INTRO = "이 질문은 센터 상담원이 직접 답변드릴게요."
ASK_QUESTION_FOR_HUMAN = "상담원에게 전달할 질문을 한두 문장으로 적어 주세요."
ASK_ADDRESS = ("공장이 있는 지역을 알려 주세요. 관할 스마트제조혁신센터로 연결해 드려요.\n"
               "시·군·구까지면 충분해요. 예) 경기 화성시, 경남 창원시 성산구")
BTN_SAME_ADDRESS = "지난번과 같아요 ({address})"
BTN_HINTED_ADDRESS = "📍 {region}에 공장이 있어요"
ADDRESS_AMBIGUOUS = ("같은 이름의 지역이 여러 곳 있어요. 공장이 있는 곳을 골라 주세요.\n"
                     "(목록에 없으면 시·도와 함께 다시 적어 주세요.)")
ADDRESS_NOT_FOUND = ("입력하신 내용에서 공장 지역을 찾지 못했어요. 시·군·구를 함께 적어 주세요. 예) 경기 포천시\n"
                     "방금 보내신 내용이 새 질문이었다면 \"이 내용으로 질문하기\"를 눌러 주세요.")
BTN_ASK_UNPARSED = "📝 이 내용으로 질문하기"
ASK_COMPANY = "회사 이름을 알려 주시면 상담원이 더 빨리 도와드릴 수 있어요. (선택 사항)"
ASK_BUSINESS_NUMBER = f"사업자등록번호도 알려 주시겠어요? (선택 사항) 예) {EXAMPLE_BUSINESS_NUMBER}"
COMPANY_TOO_LONG = "회사 이름은 100자 이내로 적어 주세요."
BTN_SKIP = "건너뛰기"
BTN_SUBMIT = "✅ 접수하기"
BTN_CHANGE_ADDRESS = "📍 지역 다시 입력"
BTN_CANCEL = "취소"
BTN_RESUME = "↩️ 접수 이어서 하기"
ADDED_TO_QUESTION = "보내 주신 내용을 질문에 덧붙였어요."


def business_number_digits(count: int) -> str:
    return (f"사업자등록번호는 숫자 10자리인데 {count}자리를 보내 주셨어요. 다시 확인해 주세요. "
            f"예) {EXAMPLE_BUSINESS_NUMBER}\n모르시면 \"건너뛰기\"를 눌러 주세요.")


BUSINESS_NUMBER_CHECKSUM = ("10자리는 맞는데 마지막 자리(검증번호)가 맞지 않아요. 숫자 하나가 바뀌었는지 확인해 주세요.\n"
                            "모르시면 \"건너뛰기\"를 눌러 주세요.")
BUSINESS_NUMBER_NOT_A_NUMBER = (f"사업자등록번호는 숫자 10자리예요. 예) {EXAMPLE_BUSINESS_NUMBER}\n"
                                "모르시면 \"건너뛰기\"를 눌러 주세요.")


def address_routed(region: str, center_name: str, contact: str | None = None) -> str:
    line = f"📍 {region} — {center_name}에서 담당해요."
    return f"{line}\n{contact}" if contact else line


def address_from_question(region: str, center_name: str) -> str:
    return f"📍 질문에 적어 주신 {region} 기준으로 {center_name}에 연결할게요. 다르면 \"지역 다시 입력\"을 눌러 주세요."


def company_from_question(name: str) -> str:
    return f"🏢 회사: {name} (질문에 적어 주신 이름이에요)"


def confirm(*, question: str, region: str, center_name: str, company_name: str | None,
            business_number: str | None) -> str:
    lines = [f"아래 내용으로 {center_name}에 문의를 접수할까요?", "", f"• 질문: {excerpt(question, 200)}",
             f"• 공장 지역: {region}"]
    if company_name:
        lines.append(f"• 회사: {company_name}")
    if business_number:
        lines.append(f"• 사업자등록번호: {business_number}")
    return "\n".join(lines)


CANCELLED = "진행 중이던 접수를 취소했어요. 궁금한 점을 다시 물어봐 주세요."
NOTHING_TO_CANCEL = "지금 진행 중인 단계가 없어요. 궁금한 점을 편하게 물어보세요."
NEW_QUESTION = "네, 새 질문을 보내 주세요. 처음부터 새로 찾아 드릴게요."
SUSPENDED_HINT = "(진행하던 상담원 접수는 잠시 멈춰 두었어요. 이어서 하려면 \"접수 이어서 하기\"를 눌러 주세요.)"
RESUMED = "접수를 이어서 할게요."

# --- after a ticket exists: acknowledgement, follow-ups, status -------------------------------------------------


def acknowledgement(*, number: str, center_name: str, promise: str | None, hours: str,
                    contact: str | None = None, duplicate: bool = False) -> str:
    """The owner's receipt: ticket number, centre, in plain Korean when a person will answer (``promise``; None
    when staff already answered), the centre's hours and the contact that is known."""
    head = "이미 접수된 문의입니다." if duplicate else "문의가 접수되었습니다."
    lines = [f"{head} (접수번호 {number})", f"담당 센터: {center_name}"]
    if promise is None:
        lines.append("담당자가 이미 답변을 보냈습니다. 위의 답변을 확인해 주세요.")
    else:
        lines.append(f"담당자가 {promise} 답변드릴게요.")
    lines.append(f"(상담 시간: {hours})")
    lines.append("답변은 이 대화방으로 와요. 처리 상황은 /status 로 언제든 볼 수 있어요.")
    if contact:
        lines += ["", contact]
    return "\n".join(lines)


BTN_APPEND = "📎 문의에 덧붙이기"
BTN_NEW_TICKET = "🆕 새 문의로 접수"
BTN_NEW_QUESTION = "🆕 새 질문하기"
BTN_STATUS = "📋 처리 상황"


def offer_append(*, number: str, center_name: str) -> str:
    return (f"진행 중인 문의({number}, {center_name})가 있어요. 방금 보내신 내용을 이 문의에 덧붙여 담당자에게 "
            "전달할까요?\n전혀 다른 질문이면 \"새 문의로 접수\"를 눌러 주세요.")


def appended(*, number: str, center_name: str) -> str:
    return f"문의({number})에 덧붙여 {center_name} 담당자에게 전달했어요."


def already_appended(number: str) -> str:
    return f"같은 내용이 이미 문의({number})에 전달되어 있어요."


NOTHING_TO_APPEND = "덧붙일 내용이 없어요. 전달할 내용을 보내 주세요."
NON_TEXT = ("사진·파일·음성 같은 메시지는 아직 읽을 수 없어요. 궁금한 점을 글로 적어 보내 주시겠어요?\n"
            "(상담원에게 문의가 접수된 뒤에 보내 주신 사진·파일은 담당자에게 전달됩니다.)")
NON_TEXT_DURING_ESCALATION = ("사진·파일은 문의 접수가 끝난 뒤에 보내 주시면 담당자에게 전달돼요. "
                              "먼저 위의 접수를 마쳐 주세요.")
ATTACHMENT_NAMES = {"photo": "사진", "document": "파일", "voice": "음성 메시지", "audio": "음성 파일",
                    "video": "동영상", "video_note": "동영상", "sticker": "스티커", "animation": "움짤",
                    "location": "위치", "contact": "연락처"}


def attachment_added(*, what: str, number: str) -> str:
    return f"보내 주신 {what}을(를) 문의({number})에 첨부해 담당자에게 전달했어요."


NO_TICKETS = "아직 상담원에게 접수된 문의가 없어요. 궁금한 점을 물어보시면 바로 안내해 드릴게요."
STATUS_HEAD = "📋 내 문의 처리 상황"


def status_label(*, status: str, responded_at: datetime | None, resolved_at: datetime | None) -> str:
    """What happened to a ticket, from the owner's side."""
    if status == "resolved":
        return f"✅ 답변 완료 ({local_time(resolved_at)})" if resolved_at else "✅ 답변 완료"
    if responded_at is not None:
        return f"💬 답변 도착 ({local_time(responded_at)}) · 추가 확인 중"
    if status == "assigned":
        return "👀 담당자 확인 중"
    return "📥 접수됨 · 담당자 배정 전"


def status_item(*, number: str, label: str, center_name: str, created_at: datetime, question: str,
                promise: str | None) -> list[str]:
    lines = [f"• {number} — {label}", f"  {center_name} · {local_time(created_at)} 접수", f"  \"{excerpt(question, 40)}\""]
    if promise:
        lines.append(f"  ⏰ {promise} 답변 예정")
    return lines


def more_tickets(count: int) -> str:
    return f"외 {count}건"


# --- messages that come later (staff replies, transfers, rating requests) ----------------------------------------


def owner_reply(*, center_name: str, number: str, body: str) -> str:
    return f"[{center_name} 답변] 접수번호 {number}\n\n{body}"


def owner_transferred(*, number: str, center_name: str, promise: str) -> str:
    return (f"[안내] 문의(접수번호 {number})를 {center_name}에서 이어서 담당하게 되었습니다.\n"
            f"담당자가 {promise} 답변드릴게요.")


def rating_request(*, center_name: str, number: str) -> str:
    return (f"[{center_name}] 문의(접수번호 {number})가 답변 완료로 처리되었습니다.\n"
            "답변이 도움이 되셨나요? 1점(불만족)부터 5점(매우 만족)까지 눌러 평가해 주세요.\n"
            "더 궁금한 점이 있으면 언제든 다시 질문해 주세요.")


def rating_keyboard(ticket_id: int) -> Keyboard:
    return (tuple(Button(text=f"{n}점", data=encode(Rate(ticket_id, n))) for n in range(1, 6)),)


# --- ratings -----------------------------------------------------------------------------------------------------

BTN_COMMENT = "💬 의견 남기기"


def rated(stars: int) -> str:
    return (f"평가 감사합니다! {'★' * stars}{'☆' * (5 - stars)}\n"
            "덧붙이고 싶은 말씀이 있으면 \"의견 남기기\"를 눌러 주세요.")


ASK_COMMENT = "의견을 적어 보내 주세요. 담당 센터에 전달돼요."
RATING_COMMENT_THANKS = "소중한 의견 감사합니다. 더 나은 상담이 되도록 반영할게요."
RATING_INVALID = "평가를 저장하지 못했어요. 아직 답변 완료 전이거나 이 대화방의 문의가 아닐 수 있어요."


# --- channel adapters' own words ------------------------------------------------------------------------------------

# KakaoTalk: said at once when an answer takes longer than the skill may wait (the answer follows).
KAKAO_WAIT = "답변을 준비하고 있어요. 잠시만 기다려 주세요. ⏳"
CHOICES_HEAD = "아래 번호 버튼으로 골라 주세요."
