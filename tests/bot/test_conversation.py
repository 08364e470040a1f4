"""Unit tests of the transport-agnostic owner conversation (bot/conversation.py) against an in-memory API."""

from __future__ import annotations

import pytest

from bot import texts
from bot.client import ApiError, ApiUnavailable
from bot.conversation import ChatRateLimiter, ChatSnapshot, Conversation, Incoming, Reply

ANSWER = {"entry_id": "support-ratio", "topic": "support-ratio", "title": "정부지원금 비율은?",
          "text": "정부지원금은 총사업비의 50% 이내입니다.", "source": "https://www.smart-factory.kr/notice/1",
          "source_title": "2025년 스마트공장 보급확산사업 공고", "year": 2025, "valid_from": None, "valid_to": None}
CANDIDATES = [{"entry_id": f"e{i}", "topic": f"t{i}", "title": f"후보 질문 {i}", "score": 0.5} for i in range(3)]
ROUTES = {
    "경기 화성시": {"center": {"code": "gyeonggi", "name": "경기 스마트제조혁신센터"},
                "region": {"sido": "경기도", "sigungu": "화성시"}, "candidates": []},
    "고성": {"center": None, "region": None, "candidates": [
        {"center": {"code": "gangwon", "name": "강원 스마트제조혁신센터"}, "region": {"sido": "강원특별자치도", "sigungu": "고성군"}},
        {"center": {"code": "gyeongnam", "name": "경남 스마트제조혁신센터"}, "region": {"sido": "경상남도", "sigungu": "고성군"}},
    ]},
}


class FakeApi:
    """The few API calls the conversation makes, in memory, with switches for failures."""

    def __init__(self):
        self.conversations: dict[int, dict] = {}
        self.asks: list[dict] = []
        self.outcomes: dict[str, dict] = {}
        self.feedback: list[tuple[int, bool]] = []
        self.tickets: list[dict] = []
        self.open_ticket: dict[int, dict] = {}
        self.followups: list[dict] = []
        self.ratings: list[tuple] = []
        self.down = False
        self.conflicts = 0  # the next N saves lose a race
        self.calls: list[str] = []  # the conversation's reads and writes, in order

    def _check(self, call: str = ""):
        if call:
            self.calls.append(call)
        if self.down:
            raise ApiUnavailable("ConnectError")

    async def get_conversation(self, chat_id):
        self._check("get")
        c = self.conversations.get(chat_id, {"state": {}, "version": 0})
        return {"chat_id": chat_id, "state": dict(c["state"]), "version": c["version"]}

    async def save_conversation(self, chat_id, state, version):
        self._check("save")
        current = self.conversations.get(chat_id, {"state": {}, "version": 0})
        if self.conflicts:
            self.conflicts -= 1
            self.conversations[chat_id] = {"state": current["state"], "version": current["version"] + 1}
            raise ApiError(409, "version_conflict", "충돌")
        if current["version"] != version:
            raise ApiError(409, "version_conflict", "충돌")
        self.conversations[chat_id] = {"state": state, "version": version + 1}
        return {"chat_id": chat_id, "state": state, "version": version + 1}

    async def ask(self, text, *, chat_id, key=""):
        self._check("ask")
        log_id = len(self.asks) + 1
        self.asks.append({"id": log_id, "text": text, "chat_id": chat_id})
        result = self.outcomes.get(text, {"outcome": "escalate", "kind": "question", "answer": None,
                                          "candidates": [], "score": 0.1})
        return {**result, "ask_log_id": log_id}

    async def ask_feedback(self, ask_log_id, *, helpful):
        self.feedback.append((ask_log_id, helpful))
        return {}

    async def kb_entry(self, entry_id):
        if entry_id == "gone":
            raise ApiError(404, "not_found", "없음")
        return {**ANSWER, "entry_id": entry_id, "text": f"{entry_id}에 대한 답변"}

    async def resolve_address(self, address):
        self._check()
        if address in ROUTES:
            return ROUTES[address]
        if address == "경상남도 고성군":
            c = ROUTES["고성"]["candidates"][1]
            return {"center": c["center"], "region": c["region"], "candidates": []}
        raise ApiError(422, "unroutable_address", "입력하신 주소로 담당 센터를 찾지 못했습니다.")

    async def create_ticket(self, *, chat_id, text, address, company_name=None, business_number=None,
                            ask_log_id=None, display_name=None, key=""):
        self._check()
        number = f"SF-2026-{len(self.tickets) + 1:06d}"
        center = (await self.resolve_address(address))["center"]
        ticket = {"id": len(self.tickets) + 1, "number": number, "chat_id": chat_id, "text": text,
                  "address": address, "company_name": company_name, "business_number": business_number,
                  "ask_log_id": ask_log_id, "center": center,
                  "acknowledgement": f"문의가 접수되었습니다. (접수번호 {number})\n담당 센터: {center['name']}"}
        self.tickets.append(ticket)
        self.open_ticket[chat_id] = ticket
        return ticket

    async def append_owner_message(self, chat_id, *, text, attachment=None, key=""):
        self._check("followup")
        ticket = self.open_ticket.get(chat_id)
        if ticket is None:
            raise ApiError(404, "no_open_ticket", "진행 중인 문의가 없습니다.")
        self.followups.append({"ticket": ticket["number"], "text": text, "attachment": attachment})
        return {"message_id": len(self.followups), "ticket": {"number": ticket["number"], "center": ticket["center"]}}

    async def chat_tickets(self, chat_id, *, limit=20):
        return [{"number": t["number"], "status": "open", "status_label": "접수됨 (담당자 배정 전)",
                 "center": t["center"], "excerpt": t["text"], "created_at": "2026-11-24T01:00:00Z",
                 "promise": "오늘 오후 중"} for t in self.tickets if t["chat_id"] == chat_id]

    async def rate_ticket(self, chat_id, ticket_id, rating, *, comment=None):
        if ticket_id == 999:
            raise ApiError(409, "ticket_not_resolved", "답변 완료된 문의만 평가할 수 있습니다.")
        self.ratings.append((chat_id, ticket_id, rating, comment))
        return {}


CHAT = 1001


@pytest.fixture
def api():
    return FakeApi()


@pytest.fixture
def conv(api):
    return Conversation(api, max_text_chars=200)


async def say(conv, text, chat=CHAT) -> list[Reply]:
    return await conv.handle(Incoming.message(chat, text, display_name="김대표", key=text[:10]))


async def press(conv, data, chat=CHAT) -> list[Reply]:
    return await conv.handle(Incoming(chat_id=chat, kind="button", data=data, key=data))


def datas(reply: Reply) -> list[str]:
    return [b.data for row in reply.buttons for b in row]


def labels(reply: Reply) -> list[str]:
    return [b.text for row in reply.buttons for b in row]


async def test_start_and_help_are_korean_and_need_no_registration(conv):
    [r] = await say(conv, "/start")
    assert "바로 질문" in r.text and "상담원" in r.text
    [r] = await say(conv, "/help")
    assert "/status" in r.text and "/cancel" in r.text
    [r] = await say(conv, "/whatever")
    assert "모르는 명령어" in r.text


async def test_answered_shows_answer_year_source_and_feedback_buttons(conv, api):
    api.outcomes["자부담 얼마예요"] = {"outcome": "answered", "kind": "question", "answer": ANSWER,
                                  "candidates": [], "score": 0.9}
    [r] = await say(conv, "자부담 얼마예요")
    assert ANSWER["text"] in r.text and "2025년" in r.text and ANSWER["source"] in r.text
    assert datas(r) == ["fb:up:1", "fb:down:1"]
    [r] = await press(conv, "fb:up:1")
    assert r.text == texts.FEEDBACK_THANKS and api.feedback == [(1, True)]


@pytest.mark.parametrize("kind,expected", [("greeting", texts.GREETING), ("thanks", texts.THANKS),
                                           ("chitchat", texts.CHITCHAT)])
async def test_small_talk_gets_a_friendly_reply_and_no_ticket_offer(conv, api, kind, expected):
    api.outcomes["말"] = {"outcome": "escalate", "kind": kind, "answer": None, "candidates": [], "score": 0}
    [r] = await say(conv, "말")
    assert r.text == expected and r.buttons == []
    assert "flow" not in api.conversations.get(CHAT, {"state": {}})["state"]


async def test_clarify_offers_three_candidates_and_a_person(conv, api):
    api.outcomes["지원"] = {"outcome": "clarify", "kind": "question", "answer": None,
                          "candidates": CANDIDATES + [{**CANDIDATES[0], "entry_id": "e9"}], "score": 0.4}
    [r] = await say(conv, "지원")
    assert r.text.startswith("혹시 이 질문이신가요?")
    assert labels(r) == ["후보 질문 0", "후보 질문 1", "후보 질문 2", texts.BTN_HUMAN]
    assert datas(r) == ["pick:1:0", "pick:1:1", "pick:1:2", "human:1"]
    [r] = await press(conv, "pick:1:1")
    assert "e1에 대한 답변" in r.text and datas(r) == ["fb:up:1", "fb:down:1"]
    # a button of a question no longer remembered
    [r] = await press(conv, "pick:77:0")
    assert r.text == texts.STALE_BUTTON


async def test_escalation_with_an_ambiguous_place_business_number_and_confirm(conv, api):
    [r] = await say(conv, "우리 공장 설비 고장 보험 처리 문의")
    assert texts.ESCALATE_INTRO in r.text and "지역" in r.text
    [r] = await say(conv, "부산 어딘가요")
    assert "찾지 못했" in r.text  # unroutable: the API's polite message, asked again
    [r] = await say(conv, "고성")
    assert r.text.startswith(texts.ADDRESS_AMBIGUOUS)
    assert datas(r)[:2] == ["addr:0", "addr:1"] and "경상남도 고성군" in labels(r)[1]
    [r] = await press(conv, "addr:1")
    assert "경남 스마트제조혁신센터" in r.text and texts.ASK_COMPANY in r.text and datas(r) == ["skip:company"]
    [r] = await say(conv, "(주)고성정밀")
    assert r.text == texts.ASK_BUSINESS_NUMBER
    [r] = await say(conv, "123-45-67890")
    assert r.text == texts.INVALID_BUSINESS_NUMBER
    [r] = await say(conv, "220-81-62517")
    assert "접수할까요" in r.text and "(주)고성정밀" in r.text and "220-81-62517" in r.text
    assert datas(r) == ["submit", "readdr", "cancel"]
    [r] = await press(conv, "submit")
    assert "SF-2026-000001" in r.text and "경남 스마트제조혁신센터" in r.text
    [t] = api.tickets
    assert t["address"] == "경상남도 고성군" and t["business_number"] == "2208162517"
    assert t["company_name"] == "(주)고성정밀" and t["ask_log_id"] == 1 and t["text"] == "우리 공장 설비 고장 보험 처리 문의"
    assert api.conversations[CHAT]["state"].get("flow") is None
    # a submit pressed twice does not make a second ticket
    [r] = await press(conv, "submit")
    assert r.text == texts.STALE_BUTTON and len(api.tickets) == 1


async def test_thumbs_down_leads_to_a_person_and_skips_are_allowed(conv, api):
    api.outcomes["신청 언제"] = {"outcome": "answered", "kind": "question", "answer": ANSWER, "candidates": [],
                              "score": 0.9}
    await say(conv, "신청 언제")
    [r] = await press(conv, "fb:down:1")
    assert texts.NOT_HELPFUL in r.text and api.feedback == [(1, False)]
    await say(conv, "경기 화성시")
    [r] = await press(conv, "skip:company")
    assert r.text == texts.ASK_BUSINESS_NUMBER
    [r] = await press(conv, "skip:bizno")
    assert "접수할까요" in r.text and "회사" not in r.text
    [r] = await say(conv, "네")
    assert "접수번호" in r.text
    assert api.tickets[0]["text"] == "신청 언제" and api.tickets[0]["company_name"] is None


async def test_human_button_without_a_known_question_asks_for_it(conv, api):
    [r] = await press(conv, "human:555")
    assert r.text == texts.ASK_QUESTION_FOR_HUMAN
    [r] = await say(conv, "보조금 환수 관련 문의")
    assert r.text == texts.ASK_ADDRESS


async def test_cancel_leaves_the_flow(conv, api):
    await say(conv, "설비 문의")
    [r] = await say(conv, "/cancel")
    assert r.text == texts.CANCELLED
    [r] = await say(conv, "/cancel")
    assert r.text == texts.NOTHING_TO_CANCEL
    [r] = await say(conv, "경기 화성시")  # no longer an address answer: a new question
    assert texts.ESCALATE_INTRO in r.text


async def test_followups_go_to_the_open_ticket_until_a_new_question(conv, api):
    await say(conv, "설비 문의")
    await say(conv, "경기 화성시")
    await press(conv, "skip:company")
    await press(conv, "skip:bizno")
    await press(conv, "submit")
    [r] = await say(conv, "추가로 견적서도 있어요")
    assert "SF-2026-000001" in r.text and "덧붙여" in r.text and datas(r) == ["newq", "status"]
    assert api.followups[-1]["text"] == "추가로 견적서도 있어요"
    [r] = await press(conv, "newq")
    assert r.text == texts.NEW_QUESTION
    asks_before = len(api.asks)
    await say(conv, "다른 질문입니다")
    assert len(api.asks) == asks_before + 1 and len(api.followups) == 1


async def test_second_escalation_offers_the_previous_place(conv, api):
    await say(conv, "설비 문의")
    await say(conv, "경기 화성시")
    await say(conv, "화성기계")
    await press(conv, "skip:bizno")
    await press(conv, "submit")
    api.open_ticket.clear()
    [r] = await say(conv, "두 번째 문의")
    assert "addr:prev" in datas(r) and "경기도 화성시" in labels(r)[0]
    [r] = await press(conv, "addr:prev")
    assert "접수할까요" in r.text and "화성기계" in r.text
    await press(conv, "submit")
    assert api.tickets[1]["address"] == "경기 화성시" and api.tickets[1]["company_name"] == "화성기계"


async def test_status_lists_tickets(conv, api):
    [r] = await say(conv, "/status")
    assert r.text == texts.NO_TICKETS
    await say(conv, "설비 문의")
    await say(conv, "경기 화성시")
    await press(conv, "skip:company")
    await press(conv, "skip:bizno")
    await press(conv, "submit")
    [r] = await press(conv, "status")
    assert "SF-2026-000001" in r.text and "접수됨" in r.text and "오늘 오후 중" in r.text and "11월 24일" in r.text


async def test_rating_then_optional_comment(conv, api):
    [r] = await press(conv, "rate:7:4")
    assert "★★★★☆" in r.text and datas(r) == ["ratec:skip"]
    [r] = await say(conv, "빨리 답해 주셔서 좋았어요")
    assert r.text == texts.RATING_COMMENT_THANKS
    assert api.ratings == [(CHAT, 7, 4, None), (CHAT, 7, 4, "빨리 답해 주셔서 좋았어요")]
    [r] = await press(conv, "rate:7:5")
    [r] = await press(conv, "ratec:skip")
    assert r.text == texts.RATING_DONE
    [r] = await press(conv, "rate:999:5")
    assert r.text == texts.RATING_INVALID
    [r] = await press(conv, "rate:7:9")
    assert r.text == texts.UNKNOWN_BUTTON


async def test_non_text_is_explained_or_attached_to_the_open_ticket(conv, api):
    photo = {"type": "photo", "file_id": "AgAD"}
    [r] = await conv.handle(Incoming(chat_id=CHAT, kind="attachment", attachment=photo, key="p1"))
    assert r.text == texts.NON_TEXT
    api.open_ticket[CHAT] = {"number": "SF-2026-000042", "center": {"name": "서울 스마트제조혁신센터"}}
    [r] = await conv.handle(Incoming(chat_id=CHAT, kind="attachment", attachment=photo, text="고장 부위", key="p2"))
    assert "사진" in r.text and "SF-2026-000042" in r.text
    assert api.followups == [{"ticket": "SF-2026-000042", "text": "고장 부위", "attachment": photo}]


async def test_empty_and_too_long_messages(conv, api):
    [r] = await say(conv, "   ")
    assert r.text == texts.EMPTY
    [r] = await say(conv, "가" * 201)
    assert "너무 길어요" in r.text and "200자" in r.text
    assert api.asks == []


async def test_unknown_and_malformed_buttons(conv):
    for data in ("zzz", "fb:up", "pick:x", "addr:0", "skip:company", "rate:a:b", ""):
        [r] = await press(conv, data)
        assert r.text in (texts.UNKNOWN_BUTTON, texts.STALE_BUTTON)


async def test_api_down_raises_unavailable_and_the_same_input_works_later(conv, api):
    api.down = True
    with pytest.raises(ApiUnavailable):
        await say(conv, "설비 문의")
    api.down = False
    [r] = await say(conv, "설비 문의")
    assert texts.ESCALATE_INTRO in r.text


async def test_a_lost_race_runs_the_turn_again_on_fresh_state(conv, api):
    api.conflicts = 1
    [r] = await say(conv, "설비 문의")
    assert texts.ESCALATE_INTRO in r.text
    assert api.conversations[CHAT]["state"]["flow"] == "escalate" and api.conversations[CHAT]["version"] == 2


async def test_chats_are_independent(conv, api):
    await say(conv, "설비 문의", chat=1)
    [r] = await say(conv, "경기 화성시", chat=2)
    assert texts.ESCALATE_INTRO in r.text  # chat 2 is not in chat 1's flow
    [r] = await say(conv, "경기 화성시", chat=1)
    assert texts.ASK_COMPANY in r.text


def test_rate_limiter_warns_once_then_drops_then_recovers():
    now = [0.0]
    limiter = ChatRateLimiter(3, 10, clock=lambda: now[0])
    assert [limiter.check(1) for _ in range(5)] == ["ok", "ok", "ok", "warn", "drop"]
    assert limiter.check(2) == "ok"
    now[0] = 10.5
    assert limiter.check(1) == "ok"


async def test_flood_gets_one_polite_reply(api):
    conv = Conversation(api, limiter=ChatRateLimiter(2, 30))
    await say(conv, "/help")
    await say(conv, "/help")
    [r] = await say(conv, "/help")
    assert r.text == texts.RATE_LIMITED
    assert await say(conv, "/help") == []


def test_commands_are_parsed():
    m = Incoming.message(1, "/start@hotline_bot payload")
    assert m.kind == "command" and m.command == "start" and m.text == "payload"
    assert Incoming.message(1, "/ 슬래시로 시작하는 질문").kind == "text"
    assert Incoming.message(1, "1/2 지원되나요").kind == "text"


# --- the state the claim brought (the Telegram bot): no read, no follow-up probe when there is no ticket -------------


def snapshot_of(api: FakeApi, chat: int = CHAT, *, open_ticket: bool | None) -> ChatSnapshot:
    c = api.conversations.get(chat, {"state": {}, "version": 0})
    return ChatSnapshot(state=dict(c["state"]), version=c["version"], open_ticket=open_ticket)


async def test_a_question_with_the_claims_snapshot_is_ask_and_save_only(conv, api):
    api.outcomes["자부담 얼마예요"] = {"outcome": "answered", "kind": "question", "answer": ANSWER,
                                  "candidates": [], "score": 0.9}
    [r] = await conv.handle(Incoming.message(CHAT, "자부담 얼마예요", key="u1"),
                            snapshot=snapshot_of(api, open_ticket=False))
    assert ANSWER["text"] in r.text
    assert api.calls == ["ask", "save"]
    # the next turn starts from the snapshot too (the saved state, its version)
    api.calls.clear()
    [r] = await conv.handle(Incoming(chat_id=CHAT, kind="button", data="fb:up:1", key="u2"),
                            snapshot=snapshot_of(api, open_ticket=False))
    assert r.text == texts.FEEDBACK_THANKS and api.calls == []
    # without a snapshot (the terminal chat) the state is read and the follow-up tried
    await say(conv, "자부담 얼마예요")
    assert api.calls == ["get", "followup", "ask", "save"]


async def test_a_flow_continues_from_the_snapshot(conv, api):
    await say(conv, "설비 문의")
    api.calls.clear()
    [r] = await conv.handle(Incoming.message(CHAT, "경기 화성시", key="u3"),
                            snapshot=snapshot_of(api, open_ticket=False))
    assert texts.ASK_COMPANY in r.text and api.calls == ["save"]
    assert api.conversations[CHAT]["state"]["esc"]["step"] == "company"


async def test_an_open_ticket_in_the_snapshot_takes_the_followup(conv, api):
    await say(conv, "설비 문의")
    await say(conv, "경기 화성시")
    await press(conv, "skip:company")
    await press(conv, "skip:bizno")
    await press(conv, "submit")
    api.calls.clear()
    [r] = await conv.handle(Incoming.message(CHAT, "견적서도 있어요", key="u4"),
                            snapshot=snapshot_of(api, open_ticket=True))
    assert "덧붙여" in r.text and api.calls == ["followup"]
    # a snapshot saying "no ticket" is believed: the text is a new question
    for text in ("다른 질문", "또 다른 질문"):
        api.outcomes[text] = {"outcome": "answered", "kind": "question", "answer": ANSWER, "candidates": [],
                              "score": 0.9}
    api.calls.clear()
    await conv.handle(Incoming.message(CHAT, "다른 질문", key="u5"), snapshot=snapshot_of(api, open_ticket=False))
    assert api.calls == ["ask", "save"]
    # a ticket closed since the claim: the follow-up answers 404 and the text is asked
    api.open_ticket.clear()
    api.calls.clear()
    await conv.handle(Incoming.message(CHAT, "또 다른 질문", key="u6"), snapshot=snapshot_of(api, open_ticket=True))
    assert api.calls == ["followup", "ask", "save"]


async def test_a_lost_race_after_a_snapshot_reads_the_state_and_runs_again(conv, api):
    stale = snapshot_of(api, open_ticket=False)
    await say(conv, "설비 문의")  # another process moved the chat on meanwhile (version 1)
    api.calls.clear()
    [r] = await conv.handle(Incoming.message(CHAT, "경기 화성시", key="u7"), snapshot=stale)
    # the stale snapshot's turn treated the text as a question; the save lost; the turn ran again on the state read
    assert api.calls == ["ask", "save", "get", "save"]
    assert texts.ASK_COMPANY in r.text and api.conversations[CHAT]["version"] == 2
