"""The Telegram channel, API side: raw updates read with python-telegram-bot's types, owners' and staff members'
updates processed once each, and staff acting only as themselves in their own centre's group."""

from __future__ import annotations

import itertools
import time

import pytest
from sqlalchemy import select, update

from api.centers.models import Center
from api.channels import telegram
from api.contract import Action
from api.conversations import texts
from api.kb import entries as kb_entries
from api.kb.models import KbSuggestion
from api.outbox.delivery import report, Sent
from api.outbox.models import OutboxMessage
from api.sla import SlaPolicy
from api.staff.service import create_staff
from api.telegram_staff import texts as staff_texts
from api.tickets.models import Ticket, TicketEvent
from api.tickets.owner_actions import create_ticket

_ids = itertools.count(8_800_000_001)
_groups = itertools.count(-1_008_800_000_001, -1)


def user(user_id: int) -> dict:
    return {"id": user_id, "is_bot": False, "first_name": "김"}


def message(chat: dict, sender: int, text: str | None = None, **content) -> dict:
    body = {"message_id": next(_ids) % 100_000, "date": int(time.time()), "chat": chat, "from": user(sender),
            **content}
    if text is not None:
        body["text"] = text
        if text.startswith("/"):
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": next(_ids), "message": body}


def private(user_id: int) -> dict:
    return {"id": user_id, "type": "private", "first_name": "김"}


def group(chat_id: int) -> dict:
    return {"id": chat_id, "type": "supergroup", "title": "센터 상담방"}


def press(chat: dict, sender: int, data: str, message_id: int = 5, markup: bool = True) -> dict:
    shown = {"message_id": message_id, "date": int(time.time()), "chat": chat,
             "from": {"id": 7, "is_bot": True, "first_name": "봇"}, "text": "안내"}
    if markup:
        shown["reply_markup"] = {"inline_keyboard": [[{"text": "버튼", "callback_data": data}]]}
    return {"update_id": next(_ids), "callback_query": {"id": f"q{next(_ids)}", "from": user(sender),
                                                        "chat_instance": "c", "message": shown, "data": data}}


def reply_to(chat: dict, sender: int, text: str, post_id: int) -> dict:
    replied = {"message_id": post_id, "date": int(time.time()), "chat": chat,
               "from": {"id": 7, "is_bot": True, "first_name": "봇"}, "text": "새 문의"}
    return message(chat, sender, text, reply_to_message=replied)


async def process(db, knowledge, *updates, lease_seconds=None):
    result = await telegram.process_updates(db, raw_updates=list(updates), knowledge=knowledge, policy=SlaPolicy(),
                                            max_text_chars=1000, secret="test-secret-key-0123456789abcdef",
                                            lease_seconds=lease_seconds)
    await db.commit()
    return result


async def sent_to(db, chat_id: int) -> list[OutboxMessage]:
    return list((await db.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
                                  .order_by(OutboxMessage.id))).all())


def test_what_updates_mean():
    me = next(_ids)
    assert telegram.understand(message(private(me), me, "/status")).owner.incoming.event.name == "status"
    photo = telegram.understand(message(private(me), me, photo=[{"file_id": "A", "file_unique_id": "a", "width": 1,
                                                                 "height": 1}], caption="불량"))
    assert photo.owner.incoming.event.kind == "photo" and photo.owner.incoming.event.caption == "불량"
    pressed = telegram.understand(press(private(me), me, "fb:up:1"))
    assert pressed.owner.incoming.event.data == "fb:up:1"
    assert [a.type for a in pressed.actions] == ["answer_button", "clear_buttons"]
    assert telegram.understand(message(private(me), me, "/link ABC")).staff.kind == "link_account"
    chat = group(next(_groups))
    assert telegram.understand(message(chat, me, "/link busan")).staff.text == "busan"
    assert telegram.understand(message(chat, me, "잡담입니다")).staff is None  # the group's own conversation
    assert telegram.understand(reply_to(chat, me, "답변입니다", 3)).staff.kind == "reply"
    assert telegram.understand(press(chat, me, "claim:12")).staff.ticket_id == 12
    edited = {"update_id": next(_ids), "edited_message": message(private(me), me, "고침")["message"]}
    assert telegram.understand(edited).owner is None


async def test_each_update_is_processed_once_whatever_it_is(db, knowledge):
    me = next(_ids)
    batch = [message(private(me), me, "/help"), message(group(next(_groups)), me, "잡담"),
             {"update_id": next(_ids), "poll": {"id": "p"}}]
    first = await process(db, knowledge, *batch)
    assert sorted(first.processed) == sorted(u["update_id"] for u in batch) and first.duplicates == ()
    again = await process(db, knowledge, *batch)
    assert again.processed == () and sorted(again.duplicates) == sorted(u["update_id"] for u in batch)
    assert [m.text for m in await sent_to(db, me)] == [texts.HELP]


async def test_replies_are_leased_to_the_caller_and_buttons_acknowledged(db, knowledge):
    me = next(_ids)
    result = await process(db, knowledge, message(private(me), me, "정부지원 비율은 얼마인가요?"), lease_seconds=30)
    [leased] = result.messages
    assert leased.address == str(me) and leased.lease_token and "🔗" in leased.text
    result = await process(db, knowledge, press(private(me), me, leased.buttons[0][0].data, message_id=44),
                           lease_seconds=30)
    assert result.messages == ()  # the chat's answer is still leased (not yet reported sent): this one waits
    assert [a.type for a in result.actions] == ["answer_button", "clear_buttons"]
    assert result.actions[1] == Action(type="clear_buttons", channel="telegram", address=str(me), message_id=44)


async def test_unreadable_updates_are_claimed_and_skipped(db, knowledge):
    odd = {"update_id": next(_ids), "message": {"message_id": "x", "chat": 5}}
    result = await process(db, knowledge, odd)
    assert result.processed == (odd["update_id"],) and result.messages == ()


@pytest.fixture
async def centre_group(db):
    """Centre daejeon with a linked group, an agent of daejeon and one of busan, linked to Telegram accounts."""
    chat_id = next(_groups)
    await db.execute(update(Center).where(Center.code == "daejeon").values(telegram_chat_id=chat_id))
    agent = await create_staff(db, username=f"tg-agent-{chat_id}", password="password-123", role="agent",
                               center_code="daejeon")
    agent.telegram_user_id = next(_ids)
    other = await create_staff(db, username=f"tg-other-{chat_id}", password="password-123", role="agent",
                               center_code="busan")
    other.telegram_user_id = next(_ids)
    admin = await create_staff(db, username=f"tg-admin-{chat_id}", password="password-123", role="admin")
    admin.telegram_user_id = next(_ids)
    await db.commit()
    yield chat_id, agent, other, admin
    await db.execute(update(Center).where(Center.code == "daejeon").values(telegram_chat_id=None))
    await db.commit()


async def notice_of(db, chat_id: int, ticket_id: int) -> int:
    """The staff group's notice of a ticket, reported sent as Telegram message 900 + ticket id."""
    row = await db.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id,
                                                      OutboxMessage.ticket_id == ticket_id))
    await report(db, sent=[Sent(row.id, 900 + ticket_id)])
    await db.commit()
    return 900 + ticket_id


async def test_staff_act_as_themselves_in_their_own_centres_group_only(db, knowledge, centre_group):
    chat_id, agent, other, admin = centre_group
    owner = next(_ids)
    made = await create_ticket(db, chat_id=owner, text="대전 공장 설비 문의", address="대전 유성구")
    await db.commit()
    post = await notice_of(db, chat_id, made.ticket.id)
    room = group(chat_id)
    # an agent of another centre, in this group: refused, nothing changes
    refused = await process(db, knowledge, press(room, other.telegram_user_id, f"claim:{made.ticket.id}",
                                                 message_id=post))
    assert refused.actions[0].alert and refused.actions[0].text == staff_texts.NOT_THIS_GROUP
    await process(db, knowledge, reply_to(room, other.telegram_user_id, "제가 답합니다", post))
    ticket = await db.scalar(select(Ticket).where(Ticket.id == made.ticket.id).execution_options(populate_existing=True))
    assert ticket.assignee_id is None and ticket.first_responded_at is None
    # the centre's own agent: claims and answers; the owner gets the answer
    claimed = await process(db, knowledge, press(room, agent.telegram_user_id, f"claim:{made.ticket.id}",
                                                 message_id=post))
    assert [a.type for a in claimed.actions] == ["answer_button", "clear_buttons"]
    await process(db, knowledge, reply_to(room, agent.telegram_user_id, "다음 주에 방문드립니다.", post))
    assert "다음 주에 방문드립니다." in (await sent_to(db, owner))[-1].text
    events = list((await db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == made.ticket.id)
                                    .order_by(TicketEvent.id))).all())
    assert [(e.kind, e.actor_id, e.data.get("via")) for e in events] == [
        ("created", None, None), ("claimed", agent.id, "telegram"), ("replied", agent.id, "telegram")]
    # an admin may act in any centre's group
    await process(db, knowledge, reply_to(room, admin.telegram_user_id, "/resolve", post))
    ticket = await db.scalar(select(Ticket).where(Ticket.id == made.ticket.id).execution_options(populate_existing=True))
    assert ticket.status == "resolved"


async def test_a_staff_link_cannot_repoint_a_centres_group(db, knowledge, centre_group):
    chat_id, agent, _, admin = centre_group
    elsewhere = group(next(_groups))
    await process(db, knowledge, message(elsewhere, agent.telegram_user_id, "/link"))
    assert await db.scalar(select(Center.telegram_chat_id).where(Center.code == "daejeon")) == chat_id
    assert "관리자" in (await sent_to(db, elsewhere["id"]))[-1].text
    await process(db, knowledge, message(elsewhere, admin.telegram_user_id, "/link daejeon"))
    assert await db.scalar(select(Center.telegram_chat_id).where(Center.code == "daejeon")) == elsewhere["id"]


async def test_resolve_in_the_group_may_cite_the_kb_entry_the_answer_came_from(db, knowledge, centre_group):
    chat_id, agent, _, _ = centre_group
    await kb_entries.create_entry(db, entry_id="group-cited", topic="support-ratio", title="정부지원 비율은 얼마인가요?",
                                  paraphrases=["국비 비율 얼마임"], answer="총사업비의 50% 이내를 정부가 지원해요.",
                                  author=None, publish=True, source_title="공고", source_url="https://www.mss.go.kr/")
    owner = next(_ids)
    made = await create_ticket(db, chat_id=owner, text="대전인데 나라에서 대주는 돈이 몇 퍼센트예요", address="대전 유성구")
    await db.commit()
    post = await notice_of(db, chat_id, made.ticket.id)
    room = group(chat_id)
    await process(db, knowledge, reply_to(room, agent.telegram_user_id, "/resolve no-such-entry", post))
    ticket = await db.scalar(select(Ticket).where(Ticket.id == made.ticket.id).execution_options(populate_existing=True))
    assert ticket.status != "resolved"
    assert "no-such-entry" in (await sent_to(db, chat_id))[-1].text
    await process(db, knowledge, reply_to(room, agent.telegram_user_id, "/resolve group-cited", post))
    ticket = await db.scalar(select(Ticket).where(Ticket.id == made.ticket.id).execution_options(populate_existing=True))
    assert ticket.status == "resolved"
    assert "group-cited" in (await sent_to(db, chat_id))[-1].text
    row = await db.scalar(select(KbSuggestion).where(KbSuggestion.ticket_id == made.ticket.id))
    assert (row.entry_id, row.source) == ("group-cited", "staff")
