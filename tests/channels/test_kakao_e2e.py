"""KakaoTalk end to end over HTTP: a fake Kakao chatbot platform (skill requests, callbacks, Event API) ⇄ the real
API (uvicorn) ⇄ a real database. Every skill response is checked against Kakao's documented limits by the fake."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from api.centers.models import Center
from api.chats.models import Chat
from api.conversations import texts
from api.kb.models import AskLog
from api.outbox.models import OutboxMessage
from api.tickets.models import Ticket, TicketEvent
from tests.bot.conftest import LiveApi, eventually, find_question, serve_live_api
from tests.bot.test_e2e import ANSWERED, CLARIFY, ESCALATE
from tests.channels import fake_kakao
from tests.channels.fake_kakao import FakeKakao

_users = itertools.count(1)


def user() -> str:
    return f"botuser{next(_users):05d}"


@pytest.fixture(scope="module")
async def kakao() -> AsyncIterator[FakeKakao]:
    fake = await FakeKakao().start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture(scope="module")
async def api(template_url, kakao) -> AsyncIterator[LiveApi]:
    async with serve_live_api(template_url, kakao_skill_secret=fake_kakao.SECRET, kakao_rest_key=fake_kakao.REST_KEY,
                              kakao_bot_id=fake_kakao.BOT_ID, kakao_event_name=fake_kakao.EVENT_NAME,
                              kakao_api_base_url=kakao.base_url, kakao_outbox_interval=0.05,
                              outbox_backoff_seconds=0.1) as live:
        kakao.skill_url = f"{live.url}/api/v1/channels/kakao/skill"
        yield live


async def chat_id(api: LiveApi, key: str) -> int:
    return await api.scalar(select(Chat.id).where(Chat.channel == "kakao", Chat.address == key))


def chat_of(api: LiveApi, key: str):
    return select(Chat.id).where(Chat.channel == "kakao", Chat.address == key).scalar_subquery()


async def ticket_in_seoul(kakao: FakeKakao, api: LiveApi, me: str) -> Ticket:
    """The owner asks what the KB cannot answer and files it for a factory in Seoul (no business number)."""
    question = await find_question(api, "escalate", ESCALATE)
    await kakao.say(me, question)
    await kakao.say(me, "서울 강남구")
    bizno = await kakao.say(me, "대흥정밀")
    confirm = await kakao.press(me, bizno.button(texts.BTN_SKIP))
    await kakao.press(me, confirm.button("접수하기"))
    return await api.scalar(select(Ticket).where(Ticket.chat_id == await chat_id(api, me)))


async def test_answered_question_with_source_and_feedback(kakao, api):
    question = await find_question(api, "answered", ANSWERED)
    me = user()
    shown = await kakao.say(me, question)
    assert "🔗" in shown.text and "년 사업 기준" in shown.text
    assert shown.labels == [texts.BTN_HELPFUL, texts.BTN_NOT_HELPFUL]
    up = shown.button("도움이 됐어요")
    assert up["action"] == "block" and up["blockId"] == fake_kakao.SKILL_BLOCK and up["extra"]["data"].startswith("fb:up:")
    thanks = await kakao.press(me, up)
    assert thanks.text == texts.FEEDBACK_THANKS
    log = await api.scalar(select(AskLog).where(AskLog.chat_id == await chat_id(api, me), AskLog.text == question))
    assert log.feedback == "up" and log.channel == "kakao"


async def test_clarify_tap_answers_the_picked_entry(kakao, api):
    question = await find_question(api, "clarify", CLARIFY)
    me = user()
    clarify = await kakao.say(me, question)
    assert "혹시 이 질문이신가요?" in clarify.text
    # long entry titles are numbered: the text lists them in full, the labels fit Kakao's 14 characters
    assert texts.CHOICES_HEAD in clarify.text and clarify.labels[0].startswith("1. ")
    assert clarify.labels[-1] == texts.BTN_HUMAN
    answer = await kakao.press(me, clarify.quick[0])
    assert "🔗" in answer.text and answer.labels == [texts.BTN_HELPFUL, texts.BTN_NOT_HELPFUL]


async def test_escalation_reaches_the_right_centre_and_status_works(kakao, api):
    question = await find_question(api, "escalate", ESCALATE)
    me = user()
    ask_place = await kakao.say(me, question)
    assert "공장이 있는 지역" in ask_place.text
    pick = await kakao.say(me, "고성")
    assert "여러 곳" in pick.text and texts.CHOICES_HEAD in pick.text
    company = await kakao.press(me, pick.button("경상남도"))
    assert "회사 이름" in company.text
    bizno = await kakao.say(me, "(주)고성정밀")
    assert "사업자등록번호도" in bizno.text
    confirm = await kakao.press(me, bizno.button(texts.BTN_SKIP))
    assert "경남 스마트제조혁신센터" in confirm.text and "(주)고성정밀" in confirm.text
    ack = await kakao.press(me, confirm.button("접수하기"))
    ticket = await api.scalar(select(Ticket).where(Ticket.chat_id == await chat_id(api, me)))
    assert ticket.number in ack.text and "답변드릴게요" in ack.text
    assert await api.scalar(select(Center.code).where(Center.id == ticket.center_id)) == "gyeongnam"
    status = await kakao.press(me, ack.button("처리 상황"))
    assert "내 문의 처리 상황" in status.text and ticket.number in status.text
    typed = await kakao.say(me, "/status")
    assert ticket.number in typed.text


async def test_staff_reply_once_through_the_event_api_and_rating(kakao, api):
    me = user()
    ticket = await ticket_in_seoul(kakao, api, me)
    _, agent = await api.agent("seoul")
    r = await api.http.post(f"/api/v1/tickets/{ticket.id}/replies", json={"body": "다음 주 화요일에 방문 예정입니다."},
                            headers=agent)
    assert r.status_code == 201, r.text
    reply = await kakao.wait_for(me, "다음 주 화요일에 방문 예정입니다.")
    assert reply.via == "event" and ticket.number in reply.text
    [event] = [e for e in kakao.events_to(me) if "화요일" in e["event"]["data"]["text"]]
    assert event["user"] == [{"type": "botUserKey", "id": me}] and event["event"]["name"] == fake_kakao.EVENT_NAME
    assert kakao.events[-1]["authorization"] == f"KakaoAK {fake_kakao.REST_KEY}"
    await eventually(lambda: api.scalar(select(OutboxMessage.status).where(
        OutboxMessage.ticket_id == ticket.id, OutboxMessage.kind == "staff_reply")), what="reply sent")
    await asyncio.sleep(0.5)  # the deliverer keeps running: nothing more may go out
    assert len(kakao.events_to(me)) == 1 and kakao.count(me, "화요일에 방문") == 1

    r = await api.http.post(f"/api/v1/tickets/{ticket.id}/resolve", headers=agent)
    assert r.status_code == 200, r.text
    ask = await kakao.wait_for(me, "평가해 주세요")
    assert ask.labels == ["1점", "2점", "3점", "4점", "5점"]
    assert ask.quick[4]["blockId"] == fake_kakao.EVENT_BLOCK  # the event block's skill answers the tap too
    rated = await kakao.press(me, ask.button("5점"))
    assert "★★★★★" in rated.text
    comment = await kakao.press(me, rated.button("의견 남기기"))
    assert comment.text == texts.ASK_COMMENT
    thanks = await kakao.say(me, "친절한 답변 감사합니다")
    assert thanks.text == texts.RATING_COMMENT_THANKS
    ticket = await api.scalar(select(Ticket).where(Ticket.id == ticket.id))
    assert ticket.rating == 5 and ticket.rating_comment == "친절한 답변 감사합니다"
    assert len(kakao.events_to(me)) == 2  # the reply and the rating request: one Event API call each


async def test_a_blocked_owner_is_recorded_on_the_ticket_and_not_retried(kakao, api):
    me = user()
    ticket = await ticket_in_seoul(kakao, api, me)
    kakao.refuse_users[me] = (400, {"status": "FAIL", "message": "blocked user"})
    _, agent = await api.agent("seoul")
    r = await api.http.post(f"/api/v1/tickets/{ticket.id}/replies", json={"body": "전화 드리겠습니다."}, headers=agent)
    assert r.status_code == 201
    event = await eventually(lambda: api.scalar(select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "undelivered")), what="refusal recorded")
    assert event.data["channel"] == "kakao" and "blocked user" in event.data["error"]
    row = await api.scalar(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id,
                                                       OutboxMessage.kind == "staff_reply"))
    assert row.status == "failed"
    await asyncio.sleep(0.4)
    assert len(kakao.events_to(me)) == 1  # refused once, never retried


async def test_a_repeated_request_is_answered_once(kakao, api):
    question = await find_question(api, "escalate", ESCALATE)
    me = user()
    payload = kakao.payload(me, question)
    first, again = await asyncio.gather(kakao.post_skill(payload), kakao.post_skill(payload))
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    chat = await chat_id(api, me)
    assert len(await api.scalars(select(AskLog).where(AskLog.chat_id == chat))) == 1


async def test_the_secret_is_required(kakao, api):
    payload = kakao.payload(user(), "안녕하세요")
    for secret in ("", "wrong-secret"):
        r = await kakao.post_skill(payload, secret=secret)
        assert r.status_code == 401 and r.json()["error"] == "invalid_skill_secret"
    r = await kakao.http.post(kakao.skill_url, json={"userRequest": {}}, headers={})
    assert r.status_code == 401  # before the body is even read
    r = await kakao.post_skill({"userRequest": {"utterance": "x"}})
    assert r.status_code == 422 and "detail" in r.json()


@pytest.fixture
def slow_answers(api):
    """The skill's time for an answer cut to nothing: every answer is late."""
    skill = api.app.state.kakao_skill
    saved = skill.answer_seconds
    skill.answer_seconds = 0.000001
    yield
    skill.answer_seconds = saved


async def test_a_late_answer_goes_to_the_callback_url(kakao, api, slow_answers):
    question = await find_question(api, "answered", ANSWERED)
    me = user()
    waiting = await kakao.say(me, question, callback=True)
    assert waiting.via == "wait" and waiting.raw["useCallback"] is True and waiting.text == texts.KAKAO_WAIT
    answer = await kakao.wait_for(me, "🔗")
    assert answer.via == "callback" and answer.labels == [texts.BTN_HELPFUL, texts.BTN_NOT_HELPFUL]
    [used] = [c for c in kakao.callbacks.values() if c["user"] == me]
    assert used["used"]
    rows = await eventually(lambda: api.scalars(select(OutboxMessage).where(
        OutboxMessage.chat_id == chat_of(api, me), OutboxMessage.status == "sent")), what="recorded sent")
    assert rows and not kakao.events_to(me)  # the callback carried it: no Event API message


async def test_a_late_answer_without_a_callback_comes_through_the_event_api(kakao, api, slow_answers):
    question = await find_question(api, "answered", ANSWERED)
    me = user()
    waiting = await kakao.say(me, question)
    assert waiting.text == texts.KAKAO_WAIT and waiting.via == "skill"
    answer = await kakao.wait_for(me, "🔗")
    assert answer.via == "event"
    assert len(kakao.events_to(me)) == 1


async def test_many_new_owners_at_once(kakao, api):
    """32 owners writing for the first time at the same moment: each gets a chat of their own and an answer."""
    question = await find_question(api, "answered", ANSWERED)
    users = [user() for _ in range(32)]
    shown = await asyncio.gather(*(kakao.say(u, question) for u in users))
    assert all("🔗" in s.text for s in shown)
    chats = await api.scalars(select(Chat.id).where(Chat.channel == "kakao", Chat.address.in_(users)))
    assert len(set(chats)) == 32


async def test_an_event_call_shows_only_the_owners_own_message(kakao, api):
    me, other = user(), user()
    await kakao.say(me, "안녕하세요")
    mine = await api.scalar(select(OutboxMessage.id).where(OutboxMessage.chat_id == chat_of(api, me)))
    stranger = await kakao._ask(other, kakao.payload(other, "", block=fake_kakao.EVENT_BLOCK,
                                                     params={"hotline_message": str(mine)}), via="event")
    assert stranger.text == texts.STALE_BUTTON  # someone else's message is never shown
    own = await kakao._ask(me, kakao.payload(me, "", block=fake_kakao.EVENT_BLOCK,
                                             params={"hotline_message": str(mine)}), via="event")
    assert own.text == texts.GREETING


async def test_kakaos_server_errors_are_retried_and_the_message_still_goes_once(kakao, api):
    me = user()
    await kakao.say(me, "안녕하세요")
    chat = await chat_id(api, me)
    created = await api.http.post("/api/v1/tickets", json={"chat_id": chat, "text": "설비 점검 문의", "address": "서울 중구"},
                                  headers=api.service_headers)
    assert created.status_code == 201, created.text
    _, agent = await api.agent("seoul")
    kakao.fail_next += [(500, {"status": "ERROR"}), (429, {"status": "FAIL", "message": "too many"})]
    r = await api.http.post(f"/api/v1/tickets/{created.json()['id']}/replies", json={"body": "점검은 목요일입니다."},
                            headers=agent)
    assert r.status_code == 201
    await kakao.wait_for(me, "점검은 목요일입니다.", timeout=15)
    row = await eventually(lambda: api.scalar(select(OutboxMessage).where(
        OutboxMessage.chat_id == chat, OutboxMessage.kind == "staff_reply", OutboxMessage.status == "sent")))
    assert row.attempts == 1  # the 500 counted; the 429 was a wait
    assert len(kakao.events_to(me)) == 3 and kakao.count(me, "점검은 목요일입니다.") == 1
