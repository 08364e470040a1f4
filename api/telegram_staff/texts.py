"""What centre staff read in Telegram (their centre's group and their private chat with the bot). Korean; pure."""

from __future__ import annotations

NOT_LINKED = ("텔레그램 계정이 상담원 계정에 연결되어 있지 않아 처리할 수 없어요. "
              "콘솔에서 연결 코드를 받아 봇과의 1:1 대화에서 /link <코드> 를 보내 주세요.")
NOT_THIS_GROUP = ("이 대화방은 회원님 센터의 상담방으로 연결되어 있지 않아 처리할 수 없어요. "
                  "소속 센터의 상담방에서 처리해 주세요.")
TICKET_NOT_FOUND = "이 문의를 찾을 수 없거나 처리 권한이 없어요."
REPLY_UNKNOWN_POST = "어느 문의에 대한 답변인지 알 수 없어요. 문의 알림 메시지에 '답장'으로 적어 주세요."
RESOLVE_HOW = ("답변 완료로 처리할 문의 알림에 '답장'으로 /resolve 를 보내 주세요. "
               "답변의 근거가 된 지식 항목이 있으면 항목 ID를 함께 적어 주세요. 예) /resolve support-ratio")
LINK_USAGE = "콘솔에서 받은 연결 코드를 함께 보내 주세요. 예) /link 12-1767225600-ABCDEFGHJKLMNOPQ"
ADDED_TO_GROUP = ("안녕하세요! 이 대화방을 센터 상담방으로 쓰려면 텔레그램 계정이 연결된 상담원이 /link 를 보내 주세요. "
                  "새 문의가 오면 이곳에 알려 드리고, 알림에 '답장'하면 대표님께 전달돼요.")
CLAIMED_ALERT = "담당자로 지정되었어요."
NOT_AN_OWNER_COMMAND = "상담원용 명령어예요. 궁금한 점은 평소 말투로 물어봐 주세요."


def linked(name: str) -> str:
    return f"{name} 님의 텔레그램 계정이 상담원 계정에 연결되었어요."


def group_linked(center: str) -> str:
    return f"이 대화방이 {center} 상담방으로 연결되었어요. 새 문의 알림이 이곳에 올라옵니다."


def claimed(*, name: str, number: str) -> str:
    return f"{name} 님이 {number} 문의를 담당합니다."


def reply_sent(number: str) -> str:
    return f"✅ 대표님께 답변을 전달했어요. ({number})"


def resolved(number: str, entry_id: str | None = None) -> str:
    cited = f" (근거 지식 항목: {entry_id})" if entry_id else ""
    return f"✅ {number} 문의를 답변 완료로 처리했어요. 대표님께 만족도 평가를 요청합니다.{cited}"
