"""Processing owners' updates against a real database and the real knowledge base: claims, order, effects,
state and the outbox, in the caller's transaction."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from api import contract
from api.chats.models import Chat
from api.contract import LOCAL, TELEGRAM
from api.conversations import runner, texts
from api.conversations.model import Incoming, Press, typed
from api.conversations.models import ChannelUpdate, Conversation
from api.conversations.state import ChatState, Escalation, Place
from api.db import utcnow
from api.kb.models import AskLog
from api.outbox.models import OutboxMessage
from api.sla import SlaPolicy
from api.tickets.models import Ticket, TicketMessage

_chats = itertools.count(7_100_000_001)
_keys = itertools.count(1)


def update(address: str, text: str | None = None, *, button: str | None = None) -> runner.OwnerUpdate:
    event = Press(button) if button is not None else typed(text)
    return runner.OwnerUpdate(key=f"k{next(_keys)}", address=address,
                              incoming=Incoming(event=event, at=utcnow(), display_name="김대표"))


async def run(db, knowledge, updates, *, channel=TELEGRAM) -> runner.Processed:
    taken = await runner.claim(db, channel=channel, keys=[u.key for u in updates])
    processed = await runner.process(db, channel=channel, updates=[u for u in updates if u.key in taken],
                                     knowledge=knowledge, policy=SlaPolicy(), max_text_chars=1000)
    await db.commit()
    return processed


async def texts_to(db, chat_id: int) -> list[str]:
    return list((await db.scalars(select(OutboxMessage.text).where(OutboxMessage.chat_id == chat_id)
                                  .order_by(OutboxMessage.id))).all())


async def test_a_question_is_answered_into_the_outbox_with_its_ask_log(db, knowledge):
    chat = str(next(_chats))
    processed = await run(db, knowledge, [update(chat, "정부지원 비율은 얼마인가요?")])
    [outbox_id] = processed.outbox_ids
    row = await db.get(OutboxMessage, outbox_id)
    assert (row.channel, row.address, row.chat_id, row.kind, row.status) == (TELEGRAM, chat, int(chat), "reply",
                                                                              "pending")
    assert "🔗" in row.text and [b["text"] for b in row.buttons[0]] == [texts.BTN_HELPFUL, texts.BTN_NOT_HELPFUL]
    log = await db.scalar(select(AskLog).where(AskLog.chat_id == int(chat)))
    assert log.outcome == "answered" and log.channel == TELEGRAM
    state = ChatState.load((await db.get(Conversation, int(chat))).state)
    assert state.asks[-1].log_id == log.id
    assert (await db.get(Chat, int(chat))).channel == TELEGRAM


async def test_an_update_is_processed_once(db, knowledge):
    chat = str(next(_chats))
    first = update(chat, "정부지원 비율은 얼마인가요?")
    await run(db, knowledge, [first])
    again = await run(db, knowledge, [first])
    assert again.outbox_ids == []
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)
                           .where(OutboxMessage.chat_id == int(chat))) == 1
    assert await db.scalar(select(func.count()).select_from(ChannelUpdate).where(ChannelUpdate.key == first.key)) == 1


async def test_a_batch_is_handled_in_order_per_chat_and_a_ticket_is_seen_at_once(db, knowledge):
    chat = str(next(_chats))
    steps = [update(chat, "공장 폐수 처리 허가 문의드립니다"), update(chat, "경남 진주시"),
             update(chat, button=contract.encode(contract.Skip("company"))),
             update(chat, button=contract.encode(contract.Skip("bizno"))),
             update(chat, button=contract.encode(contract.Simple("submit"))), update(chat, "/status")]
    await run(db, knowledge, steps)
    said = await texts_to(db, int(chat))
    assert texts.ASK_ADDRESS in said[0] and "경남" in said[1] and texts.ASK_BUSINESS_NUMBER in said[2]
    assert "접수할까요" in said[3] and "접수번호" in said[4]
    ticket = await db.scalar(select(Ticket).where(Ticket.chat_id == int(chat)))
    assert ticket.text == "공장 폐수 처리 허가 문의드립니다" and ticket.region_sigungu == "진주시"
    assert ticket.number in said[4] and ticket.number in said[5] and "접수됨" in said[5]
    assert ticket.ask_log_id is not None


async def test_a_refused_ticket_keeps_the_owners_escalation(db, knowledge):
    chat = next(_chats)
    nowhere = Place(address="어딘지 모를 곳", region="어딘지 모를 곳", center_code="seoul", center_name="서울")
    state = ChatState(escalation=Escalation(step="confirm", question="설비 문의", place=nowhere, company_done=True,
                                            bizno_done=True))
    db.add(Conversation(chat_id=chat, state=state.dump(), version=1, updated_at=utcnow()))
    await db.commit()
    await run(db, knowledge, [update(str(chat), button=contract.encode(contract.Simple("submit")))])
    assert (await texts_to(db, chat)) == [texts.SOMETHING_WRONG]
    assert await db.scalar(select(func.count()).select_from(Ticket).where(Ticket.chat_id == chat)) == 0
    kept = ChatState.load((await db.get(Conversation, chat, populate_existing=True)).state)
    assert kept.escalation.question == "설비 문의" and kept.escalation.step == "confirm"


async def test_an_open_ticket_gets_a_follow_up_only_when_the_owner_says_so(db, knowledge):
    chat = str(next(_chats))
    await run(db, knowledge, [update(chat, "공장 폐수 처리 허가 문의드립니다"), update(chat, "서울 금천구"),
                              update(chat, button="skip:company"), update(chat, button="skip:bizno"),
                              update(chat, button="submit")])
    ticket = await db.scalar(select(Ticket).where(Ticket.chat_id == int(chat)))
    await run(db, knowledge, [update(chat, "서류 목록도 알려주세요 폐수 관련")])
    assert await db.scalar(select(func.count()).select_from(TicketMessage)
                           .where(TicketMessage.ticket_id == ticket.id)) == 1
    await run(db, knowledge, [update(chat, button=contract.encode(contract.Simple("append")))])
    bodies = list((await db.scalars(select(TicketMessage.body).where(TicketMessage.ticket_id == ticket.id)
                                    .order_by(TicketMessage.id))).all())
    assert bodies == ["공장 폐수 처리 허가 문의드립니다", "서류 목록도 알려주세요 폐수 관련"]


async def test_the_local_channel_answers_in_the_response_and_repeats_it(db, knowledge):
    from api.channels import local

    address = str(2**53 + next(_chats))
    first = await local.process_message(db, address=address, key="local-1", text="정부지원 비율은 얼마인가요?",
                                        button=None, display_name="터미널", knowledge=knowledge,
                                        policy=SlaPolicy(), max_text_chars=1000)
    await db.commit()
    again = await local.process_message(db, address=address, key="local-1", text="정부지원 비율은 얼마인가요?",
                                        button=None, display_name="터미널", knowledge=knowledge,
                                        policy=SlaPolicy(), max_text_chars=1000)
    assert [r.id for r in again] == [r.id for r in first] and "🔗" in first[0].text
    row = await db.get(OutboxMessage, first[0].id)
    assert row.status == "sent" and row.channel == LOCAL


@pytest.mark.parametrize("line", ["오늘 날씨 어때", "내일 비온대요?", "점심 뭐먹지", "어제 축구 봤어요?", "요즘 허리가 아파요"])
async def test_everyday_chatter_never_starts_an_escalation_with_the_real_knowledge_base(db, knowledge, line):
    chat = str(next(_chats))
    await run(db, knowledge, [update(chat, line)])
    [said] = await texts_to(db, int(chat))
    assert texts.ASK_ADDRESS not in said and texts.ESCALATE_INTRO not in said
    state = ChatState.load((await db.get(Conversation, int(chat))).state)
    assert state.escalation is None


async def test_a_follow_up_is_read_with_the_previous_answer_and_an_introduction_is_kept(db, knowledge):
    chat = str(next(_chats))
    await run(db, knowledge, [update(chat, "경남 진주에서 항공 부품 가공하는 중소기업입니다. 정부지원 비율이 어떻게 되나요?")])
    state = ChatState.load((await db.get(Conversation, int(chat))).state)
    assert state.asks[-1].outcome == "answered" and state.asks[-1].region == "경남 진주"
    alone = knowledge.matcher.match("그럼 한도는요?", today=knowledge.today)
    assert alone.outcome != "answered"  # alone it is too little to answer ...
    await run(db, knowledge, [update(chat, "그럼 한도는요?")])
    state = ChatState.load((await db.get(Conversation, int(chat), populate_existing=True)).state)
    assert state.asks[-1].outcome == "answered"  # ... after an answer it is read in the conversation
    assert "🔗" in (await texts_to(db, int(chat)))[-1]
