"""End to end over HTTP: fake Telegram Bot API ⇄ the real bot runner ⇄ the real API ⇄ a real database.

Every test uses its own owner (Telegram user) ids; the API and its database are shared by the module.
Waiting is always on a condition with a bounded timeout (``FakeTelegram.wait_for``), never on a fixed sleep.
"""

from __future__ import annotations

import asyncio
import itertools
import socket

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.centers.models import Center
from api.conversations import texts
from api.conversations.models import ChannelUpdate
from api.kb.models import AskLog
from api.outbox.models import OutboxMessage
from api.staff.models import Staff
from api.telegram_staff import texts as staff_texts
from api.tickets.models import Ticket, TicketEvent, TicketMessage

# PTB itself reads RetryAfter.retry_after (deprecated int) when Telegram answers 429.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
from tests.bot.conftest import LiveApi, eventually, find_question
from tests.servers import die_with_parent, serve

_owners = itertools.count(5_000_000_001)
_groups = itertools.count(-1_001_000_000_001, -1)
_staff_ids = itertools.count(6_000_000_001)

ANSWERED = ["정부지원 비율은 얼마인가요?", "자부담 비율 얼마예요", "지원금 비율이 총사업비의 얼마예요",
            "어떤 기업이 신청할 수 있나요?"]
CLARIFY = ["지원금", "비용", "지원 받으려면", "사업 문의", "직원 채용 인건비 지원 문의"]
ESCALATE = ["스마트공장", "신청", "공장 폐수 처리 허가 문의드립니다", "부가세 신고 기한 언제예요"]


def owner() -> int:
    return next(_owners)


async def create_ticket(api: LiveApi, chat_id: int, text: str, address: str = "서울 강남구") -> dict:
    r = await api.http.post("/api/v1/tickets", json={"chat_id": chat_id, "text": text, "address": address},
                            headers=api.service_headers)
    assert r.status_code == 201, r.text
    return r.json()


async def count_to(fake, chat_id: int, contains: str) -> int:
    return sum(1 for m in fake.messages_to(chat_id) if contains in m.text)


# --- owners ---------------------------------------------------------------------------------------------------------


async def test_question_answered_with_source_and_feedback(fake_tg, start_bot, live_api):
    question = await find_question(live_api, "answered", ANSWERED)
    await start_bot(typing_delay=0)  # "typing…" at once, however quick the answer
    me = owner()
    await fake_tg.owner_says(me, "/start")
    await fake_tg.wait_for_message(me, "바로 질문")
    await fake_tg.owner_says(me, question)
    answer = await fake_tg.wait_for_message(me, "🔗")
    assert "년 사업 기준" in answer.text and "http" in answer.text
    assert answer.button_texts == [texts.BTN_HELPFUL, texts.BTN_NOT_HELPFUL]
    assert any(a["chat_id"] == str(me) for a in fake_tg.chat_actions)  # "typing…" while the API answers
    up = answer.data_for("👍")
    await fake_tg.press(me, answer, up)
    await fake_tg.wait_for_message(me, texts.FEEDBACK_THANKS)
    log = await live_api.scalar(select(AskLog).where(AskLog.chat_id == me, AskLog.text == question))
    assert log.feedback == "up" and log.channel == "telegram"
    # the used keyboard was taken away, and the button press was acknowledged
    await fake_tg.wait_for(lambda: answer.buttons == [], what="keyboard removed")
    assert fake_tg.callback_answers


async def test_greeting_gets_a_friendly_reply_not_a_rule(fake_tg, start_bot):
    await start_bot()
    me = owner()
    await fake_tg.owner_says(me, "안녕하세요")
    m = await fake_tg.wait_for_message(me, "안녕하세요!")
    assert m.text == texts.GREETING and m.buttons == []


async def test_clarify_and_pick(fake_tg, start_bot, live_api):
    question = await find_question(live_api, "clarify", CLARIFY)
    await start_bot()
    me = owner()
    await fake_tg.owner_says(me, question)
    clarify = await fake_tg.wait_for_message(me, "혹시 이 질문이신가요?")
    assert 2 <= len(clarify.buttons) <= 4 and clarify.button_texts[-1] == texts.BTN_HUMAN
    first = clarify.buttons[0][0]
    await fake_tg.press(me, clarify, first["callback_data"])
    answer = await fake_tg.wait_for_message(me, "🔗")
    assert answer.button_texts == [texts.BTN_HELPFUL, texts.BTN_NOT_HELPFUL]


async def test_escalate_with_ambiguous_place_creates_ticket_in_the_right_centre(fake_tg, start_bot, live_api):
    question = await find_question(live_api, "escalate", ESCALATE)
    await start_bot()
    me = owner()
    await fake_tg.owner_says(me, question)
    await fake_tg.wait_for_message(me, "공장이 있는 지역")
    await fake_tg.owner_says(me, "우리 동네")
    await fake_tg.wait_for_message(me, "찾지 못했")
    await fake_tg.owner_says(me, "고성")
    pick = await fake_tg.wait_for_message(me, "여러 곳")
    assert any("강원" in t for t in pick.button_texts) and any("경상남도" in t for t in pick.button_texts)
    await fake_tg.press(me, pick, pick.data_for("경상남도"))
    await fake_tg.wait_for_message(me, "회사 이름")
    await fake_tg.owner_says(me, "(주)고성정밀")
    await fake_tg.wait_for_message(me, "사업자등록번호도")
    await fake_tg.owner_says(me, "123-45-67890")
    ask_again = await fake_tg.wait_for_message(me, "검증번호")  # ten digits: the check digit is what failed
    await fake_tg.press(me, ask_again, ask_again.data_for(texts.BTN_SKIP))
    confirm = await fake_tg.wait_for_message(me, "접수할까요")
    assert "경남 스마트제조혁신센터" in confirm.text and "(주)고성정밀" in confirm.text
    await fake_tg.press(me, confirm, confirm.data_for("접수하기"))
    ack = await fake_tg.wait_for_message(me, "접수번호")
    ticket = await live_api.scalar(select(Ticket).where(Ticket.chat_id == me))
    assert ticket.number in ack.text and "경남 스마트제조혁신센터" in ack.text and "답변드릴게요" in ack.text
    centre = await live_api.scalar(select(Center.code).where(Center.id == ticket.center_id))
    assert centre == "gyeongnam" and ticket.region_sigungu == "고성군" and ticket.company_name == "(주)고성정밀"
    assert ticket.text == question and ticket.ask_log_id is not None
    # /status shows it
    await fake_tg.owner_says(me, "/status")
    status = await fake_tg.wait_for_message(me, "내 문의 처리 상황")
    assert ticket.number in status.text


async def test_staff_reply_delivered_followup_appended_and_rating(fake_tg, start_bot, live_api):
    await start_bot()
    me = owner()
    created = await create_ticket(live_api, me, "스마트공장 사후관리 점검 일정 문의드립니다")
    _, agent = await live_api.agent("seoul")
    r = await live_api.http.post(f"/api/v1/tickets/{created['id']}/replies", json={"body": "다음 주 화요일에 방문 예정입니다."},
                                 headers=agent)
    assert r.status_code == 201, r.text
    reply = await fake_tg.wait_for_message(me, "다음 주 화요일에 방문 예정입니다.")
    assert created["number"] in reply.text
    sent = await eventually(lambda: live_api.scalar(select(OutboxMessage).where(
        OutboxMessage.chat_id == me, OutboxMessage.status == "sent")))
    assert sent.channel_message_id == reply.message_id

    # the owner's follow-up goes to the open ticket, when the owner says so
    await fake_tg.owner_says(me, "방문 시간은 오전 열 시 이후로 부탁드려요")
    offer = await fake_tg.wait_for_message(me, "이 문의에 덧붙여")
    assert created["number"] in offer.text
    await fake_tg.press(me, offer, offer.data_for("문의에 덧붙이기"))
    await fake_tg.wait_for_message(me, f"문의({created['number']})에 덧붙여")
    bodies = await live_api.scalars(select(TicketMessage.body).where(TicketMessage.ticket_id == created["id"])
                                    .order_by(TicketMessage.id))
    assert bodies[-1] == "방문 시간은 오전 열 시 이후로 부탁드려요"

    # resolved: the rating request arrives as buttons; a rating and a comment are stored
    r = await live_api.http.post(f"/api/v1/tickets/{created['id']}/resolve", headers=agent)
    assert r.status_code == 200, r.text
    ask = await fake_tg.wait_for_message(me, "평가해 주세요")
    assert len(ask.button_texts) == 5
    await fake_tg.press(me, ask, ask.data_for("5점"))
    rated = await fake_tg.wait_for_message(me, "★★★★★")
    await fake_tg.press(me, rated, rated.data_for("의견 남기기"))
    await fake_tg.wait_for_message(me, texts.ASK_COMMENT)
    await fake_tg.owner_says(me, "친절한 답변 감사합니다")
    await fake_tg.wait_for_message(me, texts.RATING_COMMENT_THANKS)
    ticket = await live_api.scalar(select(Ticket).where(Ticket.id == created["id"]))
    assert ticket.rating == 5 and ticket.rating_comment == "친절한 답변 감사합니다"


async def test_telegram_429_and_502_on_send_still_deliver_exactly_once(fake_tg, start_bot, live_api):
    await start_bot()
    me = owner()
    created = await create_ticket(live_api, me, "협약 변경 신청 서류 문의")
    _, agent = await live_api.agent("seoul")
    fake_tg.fail_next("sendMessage", status=429, retry_after=1)
    fake_tg.fail_next("sendMessage", status=502)
    r = await live_api.http.post(f"/api/v1/tickets/{created['id']}/replies", json={"body": "변경 신청서는 센터로 보내 주세요."},
                                 headers=agent)
    assert r.status_code == 201
    reply = await fake_tg.wait_for_message(me, "변경 신청서는 센터로 보내 주세요.", timeout=20)
    row = await eventually(lambda: live_api.scalar(select(OutboxMessage).where(
        OutboxMessage.chat_id == me, OutboxMessage.status == "sent")))
    assert row.channel_message_id == reply.message_id
    assert row.attempts == 1  # the 502 counted; the 429 was a wait, not an attempt
    sends = [p for method, p in fake_tg.calls if method == "sendMessage" and p.get("chat_id") == str(me)]
    assert len(sends) == 3  # 429, 502, then accepted
    await asyncio.sleep(0.3)  # the drainer keeps running: nothing more may arrive
    assert await count_to(fake_tg, me, "변경 신청서는 센터로 보내 주세요.") == 1


class SlowAsk(httpx.AsyncHTTPTransport):
    """The API as the bot reaches it, answering updates after ``delay`` seconds."""

    def __init__(self, delay: float):
        super().__init__()
        self.delay = delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/channels/telegram/updates":
            await asyncio.sleep(self.delay)
        return await super().handle_async_request(request)


@pytest.mark.parametrize("typing_delay,slow_ask,typing_shown", [(0.05, 1.0, True), (10, 0, False)])
async def test_typing_is_shown_only_when_the_answer_is_slow(fake_tg, live_api, typing_delay, slow_ask,
                                                            typing_shown):
    from bot.client import ApiClient
    from bot.main import BotRunner
    from tests.bot.conftest import bot_settings

    question = await find_question(live_api, "answered", ANSWERED)
    settings = bot_settings(fake_tg, live_api.url, typing_delay=typing_delay)
    runner = BotRunner(settings, api=ApiClient(settings.api_url, settings.service_token,
                                               transport=SlowAsk(slow_ask)))
    await runner.start()
    try:
        me = owner()
        await fake_tg.owner_says(me, question)
        await fake_tg.wait_for_message(me, "🔗", timeout=20)
        actions = [a for a in fake_tg.chat_actions if a["chat_id"] == str(me)]
        assert bool(actions) is typing_shown
        if typing_shown:
            assert actions[0]["action"] == "typing"
    finally:
        await runner.stop()


async def test_duplicate_update_is_processed_once(fake_tg, start_bot, live_api):
    await start_bot()
    me = owner()
    update_id = await fake_tg.owner_says(me, "/help")
    await fake_tg.wait_for_message(me, "/status")
    # Telegram delivers the same update again (e.g. after a crash before the offset was confirmed)
    await fake_tg.redeliver(update_id)
    await fake_tg.owner_says(me, "/start")
    await fake_tg.wait_for_message(me, "바로 질문")
    assert await count_to(fake_tg, me, "/status") == 1
    assert await live_api.scalar(select(ChannelUpdate.key).where(ChannelUpdate.channel == "telegram",
                                                                 ChannelUpdate.key == str(update_id)))


async def test_two_bot_processes_never_handle_an_update_twice(fake_tg, start_bot, live_api):
    await start_bot()
    await start_bot()  # both poll the same bot: each update reaches both
    me = owner()
    for _ in range(3):
        await fake_tg.owner_says(me, "/help")
    await fake_tg.wait_for(lambda: len(fake_tg.messages_to(me)) >= 3, what="three replies")
    await asyncio.sleep(0.5)
    assert len(fake_tg.messages_to(me)) == 3


async def test_restart_mid_flow_continues_in_a_new_application(fake_tg, start_bot, live_api):
    question = await find_question(live_api, "escalate", ESCALATE)
    first = await start_bot()
    me = owner()
    await fake_tg.owner_says(me, question)
    await fake_tg.wait_for_message(me, "공장이 있는 지역")
    await fake_tg.owner_says(me, "경기 화성시")
    await fake_tg.wait_for_message(me, "회사 이름")
    await first.stop()

    await start_bot()  # a new process: nothing in memory
    await fake_tg.owner_says(me, "화성테크")
    await fake_tg.wait_for_message(me, "사업자등록번호도")
    await fake_tg.owner_says(me, "220-81-62517")
    confirm = await fake_tg.wait_for_message(me, "접수할까요")
    assert "화성테크" in confirm.text and "경기 스마트제조혁신센터" in confirm.text
    await fake_tg.press(me, confirm, confirm.data_for("접수하기"))
    await fake_tg.wait_for_message(me, "접수번호")
    ticket = await live_api.scalar(select(Ticket).where(Ticket.chat_id == me))
    assert ticket.business_number == "2208162517" and ticket.company_name == "화성테크"


async def test_non_text_and_too_long(fake_tg, start_bot):
    await start_bot()
    me = owner()
    await fake_tg.owner_sends(me, sticker={"file_id": "CAAC", "file_unique_id": "u1", "type": "regular",
                                           "width": 512, "height": 512, "is_animated": False, "is_video": False})
    await fake_tg.wait_for_message(me, "글로 적어")
    await fake_tg.owner_says(me, "가" * 1500)
    await fake_tg.wait_for_message(me, "너무 길어요")


class FlakyProxy:
    """A reverse proxy to the API that can be switched off (answers 503 then), to simulate an API outage."""

    def __init__(self, target: str):
        self.target = target
        self.down = False
        self.client = httpx.AsyncClient(base_url=target, timeout=30)

    async def __call__(self, request: Request) -> Response:
        if self.down:
            return Response('{"error": "unavailable"}', status_code=503, media_type="application/json")
        upstream = await self.client.request(request.method, request.url.path, params=request.query_params,
                                             content=await request.body(),
                                             headers={k: v for k, v in request.headers.items() if k != "host"})
        return Response(upstream.content, status_code=upstream.status_code,
                        headers={k: v for k, v in upstream.headers.items()
                                 if k not in ("content-length", "transfer-encoding", "content-encoding")})


async def test_api_outage_keeps_the_question_and_answers_later(fake_tg, start_bot, live_api):
    question = await find_question(live_api, "answered", ANSWERED)
    proxy = FlakyProxy(live_api.url)

    async def forward(request: Request) -> Response:
        return await proxy(request)

    app = Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "PUT", "DELETE"])])
    server, task, port = await serve(app)
    try:
        await start_bot(api_url=f"http://127.0.0.1:{port}", api_retries=1)
        me = owner()
        proxy.down = True
        await fake_tg.owner_says(me, question)
        await fake_tg.wait_for_message(me, "잠시 후 다시 시도해 주세요")
        proxy.down = False
        answer = await fake_tg.wait_for_message(me, "🔗")
        assert answer.button_texts == [texts.BTN_HELPFUL, texts.BTN_NOT_HELPFUL]
        assert await count_to(fake_tg, me, "잠시 후 다시 시도해 주세요") == 1
    finally:
        server.should_exit = True
        await task
        await proxy.client.aclose()


# --- staff groups ---------------------------------------------------------------------------------------------------


async def test_linking_a_staff_account_and_a_centre_group(fake_tg, start_bot, live_api):
    await start_bot()
    staff_tg, group = next(_staff_ids), next(_groups)
    staff, agent = await live_api.agent("busan")
    code = (await live_api.http.post("/api/v1/telegram/link-code", headers=agent)).json()["code"]
    # in the group before linking: refused politely
    await fake_tg.group_reply(group, staff_tg, "/link", None)
    await fake_tg.wait_for_message(group, staff_texts.NOT_LINKED)
    await fake_tg.owner_says(staff_tg, f"/link {code}")
    await fake_tg.wait_for_message(staff_tg, "연결되었어요")
    assert await live_api.scalar(select(Staff.telegram_user_id).where(Staff.id == staff.id)) == staff_tg
    await fake_tg.group_reply(group, staff_tg, "/link", None)
    await fake_tg.wait_for_message(group, "부산 스마트제조혁신센터 상담방으로 연결")
    assert await live_api.scalar(select(Center.telegram_chat_id).where(Center.code == "busan")) == group
    # a used code does not work again
    await fake_tg.owner_says(staff_tg + 1, f"/link {code}")
    await fake_tg.wait_for_message(staff_tg + 1, "올바르지 않거나 만료")
    await live_api.link_group("busan", None)


async def test_staff_group_claim_and_reply_reach_the_owner(fake_tg, start_bot, live_api):
    await start_bot()
    me, group = owner(), next(_groups)
    linked_tg, stranger_tg = next(_staff_ids), next(_staff_ids)
    await live_api.link_group("daegu", group)
    try:
        staff, _ = await live_api.agent("daegu", telegram_user_id=linked_tg)
        created = await create_ticket(live_api, me, "스마트공장 구축 후 AS 기간 문의", address="대구 달서구")
        post = await fake_tg.wait_for_message(group, created["number"])
        assert post.button_texts == ["담당하기"]

        # someone not linked cannot claim or answer
        await fake_tg.press(stranger_tg, post, post.data_for("담당하기"), chat=fake_tg.group_chat(group))
        await fake_tg.wait_for(lambda: any(a.get("show_alert") in ("true", "True", True)
                                           for a in fake_tg.callback_answers), what="a refusal alert")
        await fake_tg.group_reply(group, stranger_tg, "제가 답할게요", post)
        await fake_tg.wait_for_message(group, staff_texts.NOT_LINKED)

        await fake_tg.press(linked_tg, post, post.data_for("담당하기"), chat=fake_tg.group_chat(group))
        await fake_tg.wait_for_message(group, "담당합니다")
        ticket = await live_api.scalar(select(Ticket).where(Ticket.id == created["id"]))
        assert ticket.assignee_id == staff.id and ticket.status == "assigned"

        await fake_tg.group_reply(group, linked_tg, "AS는 구축 완료 후 1년간 무상입니다.", post)
        await fake_tg.wait_for_message(group, "답변을 전달했어요")
        reply = await fake_tg.wait_for_message(me, "AS는 구축 완료 후 1년간 무상입니다.")
        assert created["number"] in reply.text
        events = await live_api.scalars(select(TicketEvent).where(TicketEvent.ticket_id == created["id"])
                                        .order_by(TicketEvent.id))
        assert [e.kind for e in events] == ["created", "claimed", "replied"]
        assert events[2].actor_id == staff.id and events[2].data.get("via") == "telegram"
        staff_messages = await live_api.scalar(select(func.count()).select_from(TicketMessage).where(
            TicketMessage.ticket_id == created["id"], TicketMessage.direction == "staff"))
        assert staff_messages == 1  # the stranger's message did not become a reply

        # /resolve as a reply to the post: the owner is asked for a rating
        await fake_tg.group_reply(group, linked_tg, "/resolve", post)
        await fake_tg.wait_for_message(group, "답변 완료로 처리")
        await fake_tg.wait_for_message(me, "평가해 주세요")
    finally:
        await live_api.link_group("daegu", None)


# --- webhook --------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_mode_checks_the_secret_and_processes_once(fake_tg, start_bot):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    runner = await start_bot(webhook_url=url, port=port, webhook_secret="s3cret-token_value")
    assert fake_tg.webhook == {"url": url, "secret_token": "s3cret-token_value"}
    me = owner()
    update = {"update_id": 777_000_001, "message": {
        "message_id": 1, "date": 1_700_000_000, "text": "/help",
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        "chat": {"id": me, "type": "private", "first_name": "대표"},
        "from": {"id": me, "is_bot": False, "first_name": "대표"}}}
    assert (await fake_tg.deliver_to_webhook(update, secret=None)).status_code == 403
    assert (await fake_tg.deliver_to_webhook(update, secret="wrong")).status_code == 403
    assert fake_tg.messages_to(me) == []
    assert (await fake_tg.deliver_to_webhook(update, secret="s3cret-token_value")).status_code == 200
    await fake_tg.wait_for_message(me, "/status")
    assert (await fake_tg.deliver_to_webhook(update, secret="s3cret-token_value")).status_code == 200
    update2 = {**update, "update_id": 777_000_002, "message": {**update["message"], "message_id": 2, "text": "/start",
                                                               "entities": [{"type": "bot_command", "offset": 0,
                                                                             "length": 6}]}}
    await fake_tg.deliver_to_webhook(update2, secret="s3cret-token_value")
    await fake_tg.wait_for_message(me, "바로 질문")
    assert await count_to(fake_tg, me, "/status") == 1
    assert runner.webhook_port == port


# --- the real process -----------------------------------------------------------------------------------------------


async def test_hotline_bot_command_runs_and_stops_cleanly(fake_tg, live_api, tmp_path):
    """``hotline bot`` as its own process (long polling), stopped with SIGTERM."""
    import os
    import signal
    import sys
    from pathlib import Path

    from tests.conftest import SERVICE_TOKEN

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "HOTLINE_TELEGRAM_TOKEN": fake_tg.token,
           "HOTLINE_TELEGRAM_BASE_URL": fake_tg.base_url, "HOTLINE_API_URL": live_api.url,
           "HOTLINE_SERVICE_TOKEN": SERVICE_TOKEN, "HOTLINE_POLL_TIMEOUT": "1", "HOTLINE_OUTBOX_INTERVAL": "0.2"}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "api.cli", "bot", cwd=tmp_path, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                                                   preexec_fn=die_with_parent)
    try:
        me = owner()
        await fake_tg.owner_says(me, "/start")
        await fake_tg.wait_for_message(me, "바로 질문", timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0, output.decode(errors="replace")[-2000:]
    assert b"bot running: long polling" in output
