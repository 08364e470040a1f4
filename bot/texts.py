"""Everything the bot says to company owners and staff, in Korean, in one place for review. Pure functions."""

from __future__ import annotations

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
    "• /cancel 진행 중인 접수 단계 그만두기\n"
    "• /help 이 안내 다시 보기\n\n"
    "상담원 답변은 평일 업무 시간에 이 대화방으로 옵니다."
)

EMPTY = "내용이 비어 있어요. 궁금한 점을 글로 적어 보내 주세요."
UNAVAILABLE = ("지금 상담 시스템 연결이 원활하지 않아요. 잠시 후 다시 시도해 주세요.\n"
               "보내 주신 내용은 받아 두었다가 연결되는 대로 이어서 처리해 드릴게요.")
RATE_LIMITED = "메시지가 너무 빠르게 오고 있어요. 잠시 숨 돌리신 뒤 30초쯤 후에 다시 보내 주세요. 🙏"
STALE_BUTTON = "이전 안내의 버튼이라 지금은 처리할 수 없어요. 궁금한 점을 다시 보내 주세요."
UNKNOWN_BUTTON = "이 버튼은 지금 처리할 수 없어요. 궁금한 점을 다시 보내 주세요."
SOMETHING_WRONG = "죄송해요, 처리 중에 문제가 생겼어요. 잠시 후 다시 시도해 주세요."

NON_TEXT = ("사진·파일·음성 같은 메시지는 아직 읽을 수 없어요. 궁금한 점을 글로 적어 보내 주시겠어요?\n"
            "(상담원에게 문의가 접수된 뒤에 보내 주신 사진·파일은 담당자에게 전달됩니다.)")
NON_TEXT_ATTACHED = "보내 주신 {what}을(를) 문의({number})에 첨부해 담당자에게 전달했어요."
ATTACHMENT_NAMES = {"photo": "사진", "document": "파일", "voice": "음성 메시지", "audio": "음성 파일",
                    "video": "동영상", "video_note": "동영상", "sticker": "스티커", "animation": "움짤",
                    "location": "위치", "contact": "연락처"}

# --- small talk (never a rule, never a ticket offer) ------------------------------------------------------------------

GREETING = "안녕하세요! 😊 스마트공장 사업에 대해 궁금한 점을 편하게 물어보세요."
THANKS = "도움이 되었다니 다행이에요. 더 궁금한 점이 있으면 언제든 물어보세요! 🙂"
CHITCHAT = ("저는 스마트공장 보급·확산 사업 상담을 돕고 있어요. 지원 대상, 지원금, 신청 방법처럼 "
            "사업에 관한 궁금한 점을 물어봐 주세요.")

# --- answers ---------------------------------------------------------------------------------------------------------

BTN_HELPFUL = "👍 도움이 됐어요"
BTN_NOT_HELPFUL = "👎 해결 안 됨"
BTN_HUMAN = "🙋 상담원 연결"
CLARIFY = "혹시 이 질문이신가요? 아래에서 골라 주세요.\n맞는 것이 없으면 \"상담원 연결\"을 눌러 주세요."
FEEDBACK_THANKS = "도움이 되어 다행이에요! 더 궁금한 점이 있으면 언제든 물어보세요."
NOT_HELPFUL = "원하시는 답을 드리지 못해 죄송해요. 센터 상담원이 직접 답변드리도록 연결해 드릴게요."


def answer(text: str, *, year: int | None, source_title: str, source_url: str) -> str:
    lines = [text.strip()]
    meta = []
    if year:
        meta.append(f"📅 {year}년 사업 기준")
    if source_url or source_title:
        label = source_title or "출처"
        meta.append(f"🔗 {label}: {source_url}" if source_url else f"🔗 {label}")
    if meta:
        lines += ["", *meta]
    return "\n".join(lines)


# --- escalation ------------------------------------------------------------------------------------------------------

ESCALATE_INTRO = "이 질문은 센터 상담원이 직접 답변드릴게요."
ASK_ADDRESS = ("공장이 있는 지역을 알려 주세요. 관할 스마트제조혁신센터로 연결해 드려요.\n"
               "시·군·구까지면 충분해요. 예) 경기 화성시, 경남 창원시 성산구")
BTN_SAME_ADDRESS = "지난번과 같아요 ({address})"
ADDRESS_AMBIGUOUS = "같은 이름의 지역이 여러 곳 있어요. 공장이 있는 곳을 골라 주세요."
ADDRESS_RETRY_HINT = "\n(다른 질문을 하시려면 /cancel 을 눌러 주세요.)"
ASK_COMPANY = "회사 이름을 알려 주시면 상담원이 더 빨리 도와드릴 수 있어요. (선택 사항)"
ASK_BUSINESS_NUMBER = "사업자등록번호도 알려 주시겠어요? (선택 사항) 예) 123-45-67890"
INVALID_BUSINESS_NUMBER = ("사업자등록번호가 올바르지 않은 것 같아요. 10자리 숫자를 다시 확인해 주세요. 예) 123-45-67890\n"
                           "모르시면 \"건너뛰기\"를 눌러 주세요.")
COMPANY_TOO_LONG = "회사 이름은 100자 이내로 적어 주세요."
BTN_SKIP = "건너뛰기"
BTN_SUBMIT = "✅ 접수하기"
BTN_CHANGE_ADDRESS = "📍 지역 다시 입력"
BTN_CANCEL = "취소"
CREATED_FOLLOWUP_HINT = "추가로 보내시는 메시지는 이 문의에 이어서 담당자에게 전달돼요."


def confirm(*, question: str, region: str, center_name: str, company_name: str | None,
            business_number: str | None) -> str:
    lines = [f"아래 내용으로 {center_name}에 문의를 접수할까요?", "", f"• 질문: {_excerpt(question, 200)}",
             f"• 공장 지역: {region}"]
    if company_name:
        lines.append(f"• 회사: {company_name}")
    if business_number:
        lines.append(f"• 사업자등록번호: {business_number}")
    return "\n".join(lines)


def address_routed(region: str, center_name: str) -> str:
    return f"{region} — {center_name}에서 담당해요."


CANCELLED = "진행 중이던 접수를 취소했어요. 궁금한 점을 다시 물어봐 주세요."
NOTHING_TO_CANCEL = "지금 진행 중인 단계가 없어요. 궁금한 점을 편하게 물어보세요."
NO_QUESTION = "상담원에게 전달할 질문을 먼저 적어 주세요."
ASK_QUESTION_FOR_HUMAN = "상담원에게 전달할 질문을 한두 문장으로 적어 주세요."

# --- open ticket: follow-ups -----------------------------------------------------------------------------------------

BTN_NEW_QUESTION = "🆕 새 질문하기"
BTN_STATUS = "📋 처리 상황"


def followup_added(number: str, center_name: str) -> str:
    return (f"문의({number})에 덧붙여 {center_name} 담당자에게 전달했어요.\n"
            "전혀 다른 질문이라면 \"새 질문하기\"를 누른 뒤 보내 주세요.")


NEW_QUESTION = "새 질문을 보내 주세요. 이번 질문은 새로 찾아 드릴게요."

# --- status ----------------------------------------------------------------------------------------------------------

NO_TICKETS = "아직 상담원에게 접수된 문의가 없어요. 궁금한 점을 물어보시면 바로 안내해 드릴게요."
STATUS_HEAD = "📋 내 문의 처리 상황"
STATUS_LABELS = {"open": "접수됨 · 담당자 배정 전", "assigned": "담당자 확인 중", "resolved": "답변 완료"}


def status_line(*, number: str, status: str, center_name: str, created: str, excerpt: str) -> str:
    label = STATUS_LABELS.get(status, status)
    return f"• {number} — {label}\n  {center_name} · {created}\n  \"{_excerpt(excerpt, 40)}\""


# --- ratings ---------------------------------------------------------------------------------------------------------


def rated(stars: int) -> str:
    return (f"평가 감사합니다! {'★' * stars}{'☆' * (5 - stars)}\n"
            "덧붙이고 싶은 말씀이 있으면 적어 주세요. 없으면 \"건너뛰기\"를 눌러 주세요.")


RATING_COMMENT_THANKS = "소중한 의견 감사합니다. 더 나은 상담이 되도록 반영할게요."
RATING_DONE = "평가해 주셔서 감사합니다. 더 궁금한 점이 있으면 언제든 물어보세요."
RATING_INVALID = "평가를 저장하지 못했어요. 이미 평가하셨거나 아직 답변 완료 전인 문의일 수 있어요."

# --- staff (group) ---------------------------------------------------------------------------------------------------

STAFF_NOT_LINKED = ("텔레그램 계정이 상담원 계정에 연결되어 있지 않아 처리할 수 없어요. "
                    "콘솔에서 연결 코드를 받아 봇과의 1:1 대화에서 /link <코드> 를 보내 주세요.")
STAFF_CLAIMED = "{name} 님이 {number} 문의를 담당합니다."
STAFF_CLAIM_TAKEN = "이미 다른 분이 담당하고 있는 문의예요."
STAFF_REPLY_SENT = "✅ 대표님께 답변을 전달했어요. ({number})"
STAFF_REPLY_UNKNOWN_POST = "어느 문의에 대한 답변인지 알 수 없어요. 문의 알림 메시지에 '답장'으로 적어 주세요."
STAFF_TICKET_NOT_FOUND = "이 문의를 찾을 수 없거나 처리 권한이 없어요."
STAFF_LINKED = "{name} 님의 텔레그램 계정이 상담원 계정에 연결되었어요."
STAFF_LINK_USAGE = "콘솔에서 받은 연결 코드를 함께 보내 주세요. 예) /link 12-1767225600-ABCDEFGHJKLM"
GROUP_LINKED = "이 대화방이 {center} 상담방으로 연결되었어요. 새 문의 알림이 이곳에 올라옵니다."
GROUP_LINK_USAGE = "관리자는 센터 코드를 함께 보내 주세요. 예) /link seoul"


def _excerpt(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
