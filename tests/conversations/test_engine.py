"""The conversation engine, step by step, without a database or HTTP: answers, clarify, the escalation with its
steps, follow-ups on an open ticket, status and ratings."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from api import contract
from api.conversations import texts
from api.conversations.model import (AppendToTicket, Attachment, CreateTicket, Facts, Incoming, LogAsk,
                                     RateTicket, RecordFeedback, RecordPick, Routing, Text)
from api.conversations.state import ChatState
from tests.conversations.fakes import (AS, GOSEONG, HWASEONG, NOW, POHANG, RATIO, Chat, FakeContext, answered,
                                       clarify, press, ticket)


def test_an_answer_carries_its_source_year_and_feedback_buttons():
    chat = Chat(FakeContext(results={"자부담 얼마예요": answered(RATIO)}))
    turn = chat.text("자부담 얼마예요")
    [log] = chat.effects(LogAsk)
    assert log.text == "자부담 얼마예요" and log.match.outcome == "answered"
    [reply] = turn.replies
    assert RATIO.text in reply.text and "2026년 사업 기준" in reply.text and RATIO.source_url in reply.text
    assert chat.labels() == [texts.BTN_HELPFUL, texts.BTN_NOT_HELPFUL]
    assert chat.state.asks[-1].entry_id == RATIO.entry_id


def test_an_older_years_answer_says_so_first():
    old = RATIO.__class__(**{**RATIO.__dict__, "year": 2025, "year_note": "2025년 기준 안내예요."})
    chat = Chat(FakeContext(results={"한도": answered(old)}))
    chat.text("한도")
    assert chat.said.startswith("2025년 기준 안내예요.")


def test_thumbs_up_records_feedback_and_thumbs_down_starts_an_escalation():
    chat = Chat(FakeContext(results={"자부담 얼마예요": answered(RATIO)}))
    chat.text("자부담 얼마예요")
    log_id = chat.state.asks[-1].log_id
    chat.tap("도움이 됐어요")
    assert chat.effects() == [RecordFeedback(log_id=log_id, helpful=True)] and chat.said == texts.FEEDBACK_THANKS
    chat.text("자부담 얼마예요")
    chat.tap("해결 안 됨")
    assert chat.effects()[0] == RecordFeedback(log_id=chat.state.asks[-1].log_id, helpful=False)
    assert texts.NOT_HELPFUL in chat.said and texts.ASK_ADDRESS in chat.said
    assert chat.state.escalation.question == "자부담 얼마예요"


def test_clarify_offers_candidates_and_a_pick_answers_and_is_recorded():
    chat = Chat(FakeContext(results={"지원": clarify(RATIO, AS)}))
    chat.text("지원")
    assert chat.said == texts.CLARIFY
    assert chat.labels() == [RATIO.title, AS.title, texts.BTN_HUMAN]
    log_id = chat.state.asks[-1].log_id
    chat.tap(AS.title)
    assert chat.effects() == [RecordPick(log_id=log_id, entry_id=AS.entry_id, text="지원")]
    assert AS.text in chat.said and chat.state.asks[-1].entry_id == AS.entry_id


def test_a_stale_or_forged_button_is_answered_politely():
    chat = Chat()
    for data in ("pick:99:0", "fb:up:42", "garbage", "claim:7", "x" * 80):
        chat(press(data))
        assert chat.said == texts.STALE_BUTTON


def test_the_whole_escalation_from_question_to_ticket():
    ctx = FakeContext().routes("화성", HWASEONG)
    chat = Chat(ctx)
    chat.text("세금계산서 발행 오류 났어요")
    assert texts.ESCALATE_INTRO in chat.said and texts.ASK_ADDRESS in chat.said
    chat.text("경기 화성시 장안면")
    assert "경기스마트제조혁신센터에서 담당해요" in chat.said and "031-000-0000" in chat.said
    assert texts.ASK_COMPANY in chat.said
    chat.text("회사는 대흥정밀이에요")
    assert texts.ASK_BUSINESS_NUMBER in chat.said
    chat.text("123-45-67891")
    assert "• 회사: 대흥정밀" in chat.said and "• 사업자등록번호: 123-45-67891" in chat.said
    chat.tap("접수하기")
    [create] = chat.effects(CreateTicket)
    assert create.question == "세금계산서 발행 오류 났어요" and create.place == HWASEONG
    assert (create.company_name, create.business_number, create.display_name) == ("대흥정밀", "1234567891", "김대표")
    assert create.ask_log_id == chat.state.asks[-1].log_id
    assert chat.state.escalation is None
    assert chat.state.profile.place == HWASEONG and chat.state.profile.company_name == "대흥정밀"


def test_yes_confirms_no_cancels_and_other_text_is_added_to_the_question():
    ctx = FakeContext().routes("화성", HWASEONG)
    chat = Chat(ctx)
    chat.text("세금계산서 발행 오류")
    chat.text("화성")
    chat.tap("건너뛰기")
    chat.tap("건너뛰기")
    chat.text("그리고 전자세금계산서 연동도 문의드려요")
    assert chat.said.startswith(texts.ADDED_TO_QUESTION)
    assert chat.state.escalation.question.endswith("그리고 전자세금계산서 연동도 문의드려요")
    chat.text("네")
    assert chat.effects(CreateTicket)
    chat.text("다른 문의입니다")
    chat.text("화성")
    chat.tap("건너뛰기")
    chat.tap("건너뛰기")
    chat.text("아니요")
    assert chat.said == texts.CANCELLED and chat.state.escalation is None


def test_ambiguous_places_are_offered_and_the_last_place_can_be_reused():
    ctx = FakeContext()
    ctx.places["고성"] = Routing("ambiguous", options=GOSEONG)
    ctx.routes("포항", POHANG)
    chat = Chat(ctx)
    chat.text("설비 문의")
    chat.text("고성")
    assert chat.said.startswith(texts.ADDRESS_AMBIGUOUS)
    chat.tap("경상남도 고성군")
    assert "경남스마트제조혁신센터에서 담당해요" in chat.said
    chat.text("대흥정밀")
    chat.text("123-45-67891")
    chat.tap("접수하기")
    chat.text("또 다른 설비 문의")
    chat.tap("지난번과 같아요")
    # the same factory as last time: its company and business number are not asked again
    assert "• 회사: 대흥정밀" in chat.said and "123-45-67891" in chat.said
    assert chat.state.escalation.step == "confirm"


def test_the_centre_a_web_chat_came_from_is_offered_as_the_place():
    chat = Chat(FakeContext())
    chat(Incoming(event=Text("설비 문의"), at=NOW, centre_hint="gyeongnam"))
    assert texts.ASK_ADDRESS in chat.said and "📍 경상남도에 공장이 있어요" in chat.labels()
    chat.tap("경상남도에 공장이 있어요")
    assert "경상남도 — 경남스마트제조혁신센터에서 담당해요" in chat.said
    assert chat.state.escalation.place.center_code == "gyeongnam" and chat.state.escalation.step == "company"
    # no hint, or a centre sharing its province: no such button, and a stale tap does nothing
    plain_chat = Chat(FakeContext())
    plain_chat(Incoming(event=Text("설비 문의"), at=NOW, centre_hint="gyeonggi"))
    assert not any("공장이 있어요" in label for label in plain_chat.labels())
    plain_chat(press("addr:0"))
    assert plain_chat.said.startswith(texts.STALE_BUTTON) and plain_chat.state.escalation.place is None


def test_a_place_or_company_in_the_question_is_not_asked_again():
    ctx = FakeContext().routes("포항", POHANG)
    chat = Chat(ctx)
    chat.text("포항에 공장있는데 회사는 대흥정밀이에요. 설비 교체 일정이 궁금해요")
    assert "질문에 적어 주신 경상북도 포항시" in chat.said and "🏢 회사: 대흥정밀" in chat.said
    assert texts.ASK_ADDRESS not in chat.said and texts.ASK_COMPANY not in chat.said
    assert texts.ASK_BUSINESS_NUMBER in chat.said
    chat.tap("건너뛰기")
    assert chat.state.escalation.step == "confirm" and "• 회사: 대흥정밀" in chat.said
    chat.tap("지역 다시 입력")
    assert texts.ASK_ADDRESS in chat.said


def test_what_the_owner_said_about_the_company_before_is_used_when_a_later_question_goes_to_a_person():
    introduced = dataclasses.replace(answered(RATIO), facts=Facts(region_text="경북 포항", company_name="대흥정밀"))
    ctx = FakeContext(results={"경북 포항에서 금형하는 대흥정밀입니다. 정부지원 비율은요?": introduced}).routes("포항", POHANG)
    chat = Chat(ctx)
    chat.text("경북 포항에서 금형하는 대흥정밀입니다. 정부지원 비율은요?")
    assert (chat.state.asks[-1].region, chat.state.asks[-1].company) == ("경북 포항", "대흥정밀")
    chat.text("설비 교체 일정이 궁금해요")  # unknown to the knowledge base: a person answers
    assert "경상북도 포항시" in chat.said and "🏢 회사: 대흥정밀" in chat.said
    assert texts.ASK_ADDRESS not in chat.said and texts.ASK_COMPANY not in chat.said


def test_a_follow_up_is_read_with_the_answer_just_given_and_teaches_no_phrasing():
    followed = dataclasses.replace(answered(AS), followed=True)
    ctx = FakeContext(results={"정부지원 비율": answered(RATIO), "그럼 AS는요?": followed})
    chat = Chat(ctx)
    chat.text("정부지원 비율")
    chat.text("그럼 AS는요?")
    assert ctx.asked[-1] == ("그럼 AS는요?", chat.state.asks[-2])  # the previous answer is the context
    assert chat.state.asks[-1].followed
    chat.tap("도움이 됐어요")
    [feedback] = chat.effects(RecordFeedback)
    assert feedback.helpful and not feedback.suggest
    chat.text("세금 신고는 어떻게 해요")  # not answered ...
    chat.text("그럼 부가세는요?")  # ... so the next message follows nothing
    assert ctx.asked[-1] == ("그럼 부가세는요?", None)


def test_status_shows_each_tickets_real_state():
    answered_at = datetime(2026, 12, 5, 5, 30, tzinfo=timezone.utc)
    ctx = FakeContext(tickets=[
        ticket(id=3, number="SF-2026-000003", status="resolved", responded=answered_at, resolved=answered_at),
        ticket(id=2, number="SF-2026-000002", status="assigned", responded=answered_at),
        ticket(id=1, number="SF-2026-000001", status="open")])
    chat = Chat(ctx)
    chat.text("/status")
    said = chat.said
    assert "SF-2026-000003 — ✅ 답변 완료 (12월 5일(토) 14:30)" in said
    assert "SF-2026-000002 — 💬 답변 도착 (12월 5일(토) 14:30)" in said
    assert "SF-2026-000001 — 📥 접수됨 · 담당자 배정 전" in said and "오늘 오후 3시까지 답변 예정" in said
    assert said.count("답변 예정") == 1


def test_no_tickets_and_unknown_commands():
    chat = Chat()
    chat.text("/status")
    assert chat.said == texts.NO_TICKETS
    chat.text("/frobnicate")
    assert chat.said == texts.UNKNOWN_COMMAND
    chat.text("/start")
    assert chat.said == texts.WELCOME


def test_rating_then_an_optional_comment():
    ctx = FakeContext(tickets=[ticket(id=5, status="resolved", resolved=NOW, rating=None)])
    chat = Chat(ctx)
    chat(press(contract.encode(contract.Rate(5, 4))))
    assert chat.effects() == [RateTicket(ticket_id=5, stars=4)] and "★★★★☆" in chat.said
    ctx.tickets = [ticket(id=5, status="resolved", resolved=NOW, rating=4)]
    chat.tap("의견 남기기")
    assert chat.said == texts.ASK_COMMENT and chat.state.comment_for == 5
    chat.text("빠른 답변 감사했어요")
    assert chat.effects() == [RateTicket(ticket_id=5, stars=4, comment="빠른 답변 감사했어요")]
    assert chat.said == texts.RATING_COMMENT_THANKS and chat.state.comment_for is None


def test_rating_a_ticket_that_is_not_resolved_or_not_this_chats():
    chat = Chat(FakeContext(tickets=[ticket(id=5, status="assigned")]))
    chat(press(contract.encode(contract.Rate(5, 3))))
    assert chat.said == texts.RATING_INVALID and not chat.effects()
    chat(press(contract.encode(contract.Rate(6, 3))))
    assert chat.said == texts.RATING_INVALID


def test_attachments_go_to_the_open_ticket_only():
    chat = Chat()
    chat(Incoming(event=Attachment(kind="photo", meta={"file_id": "F"}), at=NOW))
    assert chat.said == texts.NON_TEXT
    chat.ctx.tickets = [ticket()]
    chat(Incoming(event=Attachment(kind="photo", meta={"file_id": "F"}, caption="불량 사진"), at=NOW))
    assert chat.effects() == [AppendToTicket(ticket_id=1, text="불량 사진", attachment={"type": "photo", "file_id": "F"})]
    assert "사진을(를) 문의(SF-2026-000001)에 첨부" in chat.said


def test_too_long_and_empty_messages_get_a_reply():
    chat = Chat(FakeContext(max_text_chars=100))
    chat.text("가" * 101)
    assert "메시지가 너무 길어요. (101자)" in chat.said
    chat.text("   ")
    assert chat.said == texts.EMPTY


def test_the_state_survives_a_round_trip_through_json():
    ctx = FakeContext().routes("화성", HWASEONG)
    chat = Chat(ctx)
    chat.text("세금 문의")
    chat.text("화성")
    restored = ChatState.load(chat.state.dump())
    assert restored == chat.state
