"""The web chat in a real browser (Debian's chromium, Playwright) against the app served by uvicorn, with the
real knowledge base: the owner's whole journey at desktop width, the same page at phone width, and the embed
script on another site.

Set ``HOTLINE_SCREENSHOT_DIR`` to keep desktop and phone-width screenshots.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from api.centers.models import Center
from api.channels import web
from api.chats.models import Chat
from api.conversations import texts
from api.outbox.models import OutboxMessage
from api.tickets.models import Ticket
from tests.bot.conftest import LiveApi, eventually, find_question, serve_live_api
from tests.bot.test_e2e import ANSWERED, CLARIFY, ESCALATE
from tests.conftest import SECRET_KEY
from tests.browser import DESKTOP, PHONE, launched, needs_chromium
from tests.servers import serve

pytestmark = needs_chromium


@pytest.fixture(scope="module")
async def api(template_url):
    async with serve_live_api(template_url) as live:
        yield live


@pytest.fixture
async def browser():
    async with launched() as chromium:
        yield chromium


async def shot(page, name: str, size: dict) -> None:
    folder = os.environ.get("HOTLINE_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        label = "phone" if size is PHONE else "desktop"
        await page.screenshot(path=str(Path(folder) / f"webchat-{name}-{label}.png"))


def bot(page, contains: str):
    return page.locator(".msg.bot .bubble", has_text=contains)


async def last_buttons(page) -> list[str]:
    return await page.locator(".msg.bot").last.locator(".buttons button").all_inner_texts()


async def tap(page, label: str) -> None:
    await page.locator(".msg.bot .buttons button:not([disabled])", has_text=label).last.click()


async def type_(page, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    await page.locator(".msg.me .bubble", has_text=text).last.wait_for()


async def web_chat_id(api: LiveApi, page) -> int:
    """The chat of the page's session (its signed cookie)."""
    [cookie] = [c["value"] for c in await page.context.cookies() if c["name"] == web.COOKIE]
    address = web.read_session(cookie, secret=SECRET_KEY)
    return await api.scalar(select(Chat.id).where(Chat.channel == "web", Chat.address == address))


async def test_the_owners_journey_at_desktop_width(api, browser):
    answered = await find_question(api, "answered", ANSWERED)
    clarify = await find_question(api, "clarify", CLARIFY, after=answered)
    picked = (await api.ask(clarify))["candidates"][0]["entry_id"]  # tapped below: the context of what follows
    escalate = await find_question(api, "escalate", ESCALATE, after_entry=picked)
    context = await browser.new_context(viewport=DESKTOP, locale="ko-KR", timezone_id="Asia/Seoul")
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(f"{api.url}/chat?centre=gyeongnam")
    assert "경남 스마트제조혁신센터" in await page.inner_text(".bar")
    assert await page.locator("#consent").is_visible() and not await page.locator("#composer").is_visible()
    await shot(page, "consent", DESKTOP)
    assert not await page.context.cookies()  # nothing kept before the owner agrees
    await page.click("#agree")
    await bot(page, "상담 창구입니다").wait_for()
    assert [c["name"] for c in await page.context.cookies()] == ["hl_chat"]

    # an answered question, with its source, and feedback
    await type_(page, answered)
    await bot(page, "🔗").wait_for()
    assert await last_buttons(page) == [texts.BTN_HELPFUL, texts.BTN_NOT_HELPFUL]
    assert await page.locator(".msg.bot .bubble a[href^='http']").count() >= 1  # the source is a link
    await tap(page, "도움이 됐어요")
    await bot(page, texts.FEEDBACK_THANKS).wait_for()

    # a clarify, and a tap on a candidate
    await type_(page, clarify)
    await bot(page, "혹시 이 질문이신가요?").wait_for()
    candidates = await last_buttons(page)
    assert candidates[-1] == texts.BTN_HUMAN and len(candidates) >= 2
    await tap(page, candidates[0])
    await page.locator(".msg.bot .bubble", has_text="🔗").nth(1).wait_for()

    # an escalation: the centre whose website this is, in one tap
    await type_(page, escalate)
    await bot(page, "공장이 있는 지역").wait_for()
    assert "📍 경상남도에 공장이 있어요" in await last_buttons(page)
    await tap(page, "경상남도에 공장이 있어요")
    await bot(page, "회사 이름").wait_for()
    await type_(page, "(주)창원정밀")
    await bot(page, "사업자등록번호도").wait_for()
    await tap(page, texts.BTN_SKIP)
    await bot(page, "접수할까요").wait_for()
    await shot(page, "confirm", DESKTOP)
    await tap(page, "접수하기")
    ack = await bot(page, "접수번호").inner_text()
    assert "답변드릴게요" in ack and "상담 시간" in ack  # the promise of when a person answers
    chat = await web_chat_id(api, page)
    ticket = await api.scalar(select(Ticket).where(Ticket.chat_id == chat))
    assert await api.scalar(select(Center.code).where(Center.id == ticket.center_id)) == "gyeongnam"
    assert ticket.company_name == "(주)창원정밀"
    await tap(page, "처리 상황")
    await bot(page, "내 문의 처리 상황").wait_for()

    # a staff reply reaches the open page at once, exactly once
    _, agent = await api.agent("gyeongnam")
    r = await api.http.post(f"/api/v1/tickets/{ticket.id}/replies", json={"body": "담당자가 내일 전화드리겠습니다."},
                            headers=agent)
    assert r.status_code == 201, r.text
    await bot(page, "담당자가 내일 전화드리겠습니다.").wait_for(timeout=10_000)
    await shot(page, "staff-reply", DESKTOP)
    assert await bot(page, "담당자가 내일 전화드리겠습니다.").count() == 1
    row = await eventually(lambda: api.scalar(select(OutboxMessage).where(
        OutboxMessage.ticket_id == ticket.id, OutboxMessage.kind == "staff_reply", OutboxMessage.status == "sent")))
    assert row.channel == "web"

    # resolved: the rating buttons come live; a rating is stored
    r = await api.http.post(f"/api/v1/tickets/{ticket.id}/resolve", headers=agent)
    assert r.status_code == 200
    await bot(page, "평가해 주세요").wait_for(timeout=10_000)
    await tap(page, "5점")
    await bot(page, "★★★★★").wait_for()
    assert (await api.scalar(select(Ticket.rating).where(Ticket.id == ticket.id))) == 5

    # the owner comes back later: the whole conversation is there, each message once
    await page.reload()
    await bot(page, "담당자가 내일 전화드리겠습니다.").wait_for()
    assert not await page.locator("#consent").is_visible()
    assert await bot(page, "담당자가 내일 전화드리겠습니다.").count() == 1
    assert await page.locator(".msg.me .bubble", has_text=escalate).count() == 1
    assert await page.locator(".msg.me .bubble", has_text="5점").count() == 1
    await shot(page, "history", DESKTOP)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    await context.close()


async def test_phone_width_and_a_reply_waiting_for_the_owner(api, browser):
    context = await browser.new_context(viewport=PHONE, locale="ko-KR", timezone_id="Asia/Seoul", is_mobile=True,
                                        has_touch=True)
    page = await context.new_page()
    await page.goto(f"{api.url}/chat")
    assert "스마트제조혁신센터" in await page.inner_text(".bar")
    await shot(page, "consent", PHONE)
    await page.click("#disagree")  # declining keeps nothing and says where else to ask
    assert await page.locator("#declined").is_visible() and not await page.context.cookies()
    await page.click("#agree")
    await bot(page, "상담 창구입니다").wait_for()
    question = await find_question(api, "answered", ANSWERED)
    await type_(page, question)
    await bot(page, "🔗").wait_for()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing wider than the phone
    await shot(page, "answer", PHONE)

    # a reply that comes while the page is closed waits for the owner
    await type_(page, await find_question(api, "escalate", ESCALATE, after=question))
    await bot(page, "공장이 있는 지역").wait_for()
    await type_(page, "서울 금천구")
    await bot(page, "회사 이름").wait_for()
    await tap(page, texts.BTN_SKIP)
    await tap(page, texts.BTN_SKIP)
    await tap(page, "접수하기")
    await bot(page, "접수번호").wait_for()
    ticket = await api.scalar(select(Ticket).where(Ticket.chat_id == await web_chat_id(api, page)))
    cookies = await context.cookies()
    await page.close()
    _, agent = await api.agent("seoul")
    r = await api.http.post(f"/api/v1/tickets/{ticket.id}/replies", json={"body": "인허가는 구청 환경과 소관입니다."},
                            headers=agent)
    assert r.status_code == 201
    assert (await api.scalar(select(OutboxMessage.status).where(OutboxMessage.ticket_id == ticket.id,
                                                                OutboxMessage.kind == "staff_reply"))) == "pending"
    page = await context.new_page()
    assert await context.cookies() == cookies
    await page.goto(f"{api.url}/chat")
    await bot(page, "인허가는 구청 환경과 소관입니다.").wait_for()
    await shot(page, "reply-waiting", PHONE)
    assert await bot(page, "인허가는 구청 환경과 소관입니다.").count() == 1
    await context.close()


async def test_the_embed_script_opens_the_chat_on_a_centres_website(api, browser):
    async def home(request):
        return HTMLResponse("<!doctype html><html lang='ko'><head><meta charset='utf-8'><title>경남센터</title></head>"
                            "<body><h1>경남 스마트제조혁신센터</h1>"
                            f"<script src='{api.url}/chat/embed.js' data-centre='gyeongnam' async></script>"
                            "</body></html>")

    server, task, port = await serve(Starlette(routes=[Route("/", home)]))
    try:
        context = await browser.new_context(viewport=DESKTOP, locale="ko-KR", timezone_id="Asia/Seoul")
        page = await context.new_page()
        await page.goto(f"http://localhost:{port}/")  # another origin than the hotline's
        await page.click("button.hotline-chat-button")
        frame_element = await page.wait_for_selector("iframe.hotline-chat-panel")
        frame = await frame_element.content_frame()
        await frame.wait_for_selector("#agree")
        assert "경남 스마트제조혁신센터" in await frame.inner_text(".bar")
        await shot(page, "embedded", DESKTOP)
        # the console, by contrast, refuses to be framed
        r = await api.http.get("/console/login")
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        await context.close()
    finally:
        server.should_exit = True
        await task
