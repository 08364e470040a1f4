"""The traps owners fell into (issue 11), each as a test: no message is swallowed at a step that expects data,
chatter never becomes a ticket, an open ticket does not eat new questions, what was said is not asked again,
business numbers are checked helpfully, /status tells the truth, an empty message is answered."""

from __future__ import annotations

import pytest

from api import contract
from api.companies.validation import normalize_business_number
from api.conversations import parsing, texts
from api.conversations.model import AppendToTicket, CreateTicket, LogAsk, RateTicket
from tests.conversations.fakes import AS, HWASEONG, NOW, RATIO, Chat, FakeContext, answered, kind, press, ticket

AS_QUESTION = "스마트공장 AS 지원은 누가 받을수있어요"


def knowing() -> FakeContext:
    ctx = FakeContext(results={AS_QUESTION: answered(AS), "지원금 얼마예요": answered(RATIO),
                               "자부담 비율": answered(RATIO)})
    return ctx.routes("화성", HWASEONG)


def at_step(step: str) -> Chat:
    """A chat whose escalation waits at ``step``."""
    chat = Chat(knowing())
    chat.text("세금계산서 발행 오류 났어요")
    if step in ("company", "bizno", "confirm"):
        chat.text("경기 화성시")
    if step in ("bizno", "confirm"):
        chat.tap("건너뛰기")
    if step == "confirm":
        chat.tap("건너뛰기")
    assert chat.state.escalation.step == step
    return chat


@pytest.mark.parametrize("step", ["address", "company", "bizno", "confirm"])
def test_a_question_at_a_data_step_is_answered_and_the_step_waits(step):
    chat = at_step(step)
    chat.text(AS_QUESTION)
    assert AS.text in chat.said
    assert texts.BTN_RESUME in chat.labels()  # the way back to the step
    assert chat.state.escalation.suspended and chat.state.escalation.question == "세금계산서 발행 오류 났어요"
    chat.tap("접수 이어서 하기")
    assert chat.state.escalation.step == step and not chat.state.escalation.suspended
    assert chat.said.startswith(texts.RESUMED)


@pytest.mark.parametrize("step", ["address", "company", "bizno", "confirm"])
def test_commands_work_at_every_step_and_cancel_leaves(step):
    chat = at_step(step)
    chat.text("/status")
    assert chat.said == texts.NO_TICKETS
    chat.text("/help")
    assert chat.said == texts.HELP
    chat.text("/cancel")
    assert chat.said == texts.CANCELLED and chat.state.escalation is None
    chat.text("/cancel")
    assert chat.said == texts.NOTHING_TO_CANCEL


def test_new_question_button_leaves_every_mode():
    chat = at_step("company")
    chat.state.held = None
    chat(press(contract.encode(contract.Simple("new_question"))))
    assert chat.said == texts.NEW_QUESTION and chat.state.escalation is None
    chat.text(AS_QUESTION)
    assert AS.text in chat.said and texts.BTN_RESUME not in chat.labels()


def test_a_statement_the_address_step_cannot_read_is_kept_and_asked_with_one_tap():
    chat = at_step("address")
    chat.text("전자세금계산서 연동 오류")
    assert chat.said == texts.ADDRESS_NOT_FOUND
    assert chat.state.escalation.step == "address"  # not lost, not guessed
    chat.tap("이 내용으로 질문하기")
    [log] = chat.effects(LogAsk)
    assert log.text == "전자세금계산서 연동 오류"
    assert chat.state.escalation.question == "전자세금계산서 연동 오류"  # unanswerable: it is the new question


def test_the_rating_comment_step_does_not_swallow_a_question():
    ctx = knowing()
    ctx.tickets = [ticket(id=5, status="resolved", resolved=NOW, rating=5)]
    chat = Chat(ctx)
    chat(press(contract.encode(contract.Comment(5))))
    chat.text(AS_QUESTION)
    assert AS.text in chat.said and not chat.effects(RateTicket)
    assert chat.state.comment_for is None


def test_after_a_rating_the_next_question_is_a_question():
    ctx = knowing()
    ctx.tickets = [ticket(id=5, status="resolved", resolved=NOW)]
    chat = Chat(ctx)
    chat(press(contract.encode(contract.Rate(5, 5))))
    chat.text("지원금 얼마예요")
    assert RATIO.text in chat.said and not chat.effects(RateTicket)


@pytest.mark.parametrize("line,label", [("오늘 날씨 어때", "out_of_scope"), ("내일 비온대요?", "out_of_scope"),
                                        ("점심 뭐먹지", "chitchat"), ("어제 야구 봤어요?", "chitchat"),
                                        ("허리가 너무 아파요", "out_of_scope")])
def test_everyday_chatter_gets_a_scope_reply_and_never_a_ticket(line, label):
    chat = Chat(FakeContext(results={line: kind(label)}))
    chat.text(line)
    assert chat.said == texts.OUT_OF_SCOPE and chat.state.escalation is None
    assert not [b for b in chat.labels() if "상담원" in b]


def test_while_a_ticket_is_open_the_knowledge_base_still_answers():
    ctx = knowing()
    ctx.tickets = [ticket()]
    chat = Chat(ctx)
    chat.text(AS_QUESTION)
    assert AS.text in chat.said and not chat.effects(AppendToTicket) and chat.state.held is None


@pytest.mark.parametrize("line", ["1", "설비가 또 멈췄어요", "?"])
def test_while_a_ticket_is_open_nothing_is_added_without_asking(line):
    ctx = knowing()
    ctx.tickets = [ticket()]
    chat = Chat(ctx)
    chat.text(line)
    assert not chat.effects(AppendToTicket)
    assert "SF-2026-000001" in chat.said and texts.BTN_APPEND in chat.labels()
    chat.tap("문의에 덧붙이기")
    assert chat.effects(AppendToTicket) == [AppendToTicket(ticket_id=1, text=line)]
    chat.text(line)  # the same again
    assert chat.said == texts.already_appended("SF-2026-000001") and not chat.effects(AppendToTicket)


def test_while_a_ticket_is_open_a_new_matter_becomes_a_new_ticket_when_asked():
    ctx = knowing()
    ctx.tickets = [ticket()]
    chat = Chat(ctx)
    chat.text("사무실 이전 문의")
    chat.tap("새 문의로 접수")
    assert texts.ASK_ADDRESS in chat.said and chat.state.escalation.question == "사무실 이전 문의"
    chat.text("화성")
    chat.tap("건너뛰기")
    chat.tap("건너뛰기")
    chat.tap("접수하기")
    assert chat.effects(CreateTicket)[0].question == "사무실 이전 문의"


def test_cancel_leaves_a_held_message():
    ctx = knowing()
    ctx.tickets = [ticket()]
    chat = Chat(ctx)
    chat.text("설비가 또 멈췄어요")
    chat.text("/cancel")
    assert chat.said == texts.CANCELLED and chat.state.held is None
    chat(press(contract.encode(contract.Simple("append"))))
    assert chat.said == texts.NOTHING_TO_APPEND and not chat.effects(AppendToTicket)


def test_a_company_name_in_the_question_is_not_asked_again():
    chat = Chat(knowing())
    chat.text("회사는 대흥정밀이에요. 세금계산서 발행 오류가 났는데 어디에 물어봐야 하나요")
    chat.text("경기 화성시")
    assert texts.ASK_COMPANY not in chat.said and texts.ASK_BUSINESS_NUMBER in chat.said
    chat.tap("건너뛰기")
    assert "• 회사: 대흥정밀" in chat.said


def test_the_example_business_number_is_valid():
    assert normalize_business_number(texts.EXAMPLE_BUSINESS_NUMBER) == texts.EXAMPLE_BUSINESS_NUMBER.replace("-", "")
    assert texts.EXAMPLE_BUSINESS_NUMBER in texts.ASK_BUSINESS_NUMBER


def test_a_wrong_business_number_says_which_check_failed():
    chat = at_step("bizno")
    chat.text("123-45-6789")
    assert chat.said == texts.business_number_digits(9) and "9자리" in chat.said
    chat.text("123-45-67890")  # ten digits, wrong check digit
    assert chat.said == texts.BUSINESS_NUMBER_CHECKSUM and "검증번호" in chat.said
    assert chat.state.escalation.step == "bizno"
    chat.text("몰라요")
    assert chat.state.escalation.step == "confirm" and chat.state.escalation.business_number is None


def test_status_after_staff_answered_is_not_still_checking():
    ctx = FakeContext(tickets=[ticket(status="assigned", responded=NOW)])
    chat = Chat(ctx)
    chat.text("/status")
    assert "답변 도착" in chat.said and "담당자 확인 중" not in chat.said


def test_an_empty_message_gets_a_reply():
    chat = Chat()
    chat.text("")
    assert chat.said == texts.EMPTY
    chat.text("\n\t ")
    assert chat.said == texts.EMPTY


def test_question_form_reading():
    for text in ("지원금 얼마예요", "신청할 수 있나요", "내일 비온대요?", "누가 받아요", "오늘 날씨 어때"):
        assert parsing.question_form(text), text
    for text in ("대흥정밀이에요", "경기 화성시", "123-45-67891", "네"):
        assert not parsing.question_form(text), text
