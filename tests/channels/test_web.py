"""The web chat's API over HTTP (the real app served by uvicorn, a real database): consent before anything is
kept, signed-cookie sessions, one turn per message key, limits per session and per address, live messages by
server-sent events, history, the page's security headers, retention."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from api.app import create_app
from api.channels import web
from api.channels.models import WebMessage, WebSession
from api.chats.service import Recipient
from api.db import make_engine, make_sessionmaker, utcnow
from api.outbox.models import OutboxMessage
from api.outbox.service import enqueue
from tests.conftest import SECRET_KEY, make_settings
from tests.servers import serve

HEADERS = {"X-Hotline-Chat": "1"}


@pytest.fixture
async def site(fresh_database_url):
    servers = []
    engine = make_engine(fresh_database_url)

    async def start(**overrides) -> httpx.AsyncClient:
        server, task, port = await serve(create_app(make_settings(fresh_database_url, **overrides)))
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
        servers.append((server, task, client))
        return client

    start.sessionmaker = make_sessionmaker(engine)
    yield start
    for server, task, client in servers:
        await client.aclose()
        server.should_exit = True
        await task
    await engine.dispose()


async def begin(client: httpx.AsyncClient, centre: str | None = None) -> dict:
    r = await client.post("/api/v1/channels/web/session", json={"consent": True, "centre": centre}, headers=HEADERS)
    assert r.status_code == 201, r.text
    return r.json()


async def test_nothing_is_kept_without_consent_or_from_another_page(site):
    client = await site()
    r = await client.post("/api/v1/channels/web/session", json={"consent": False}, headers=HEADERS)
    assert r.status_code == 422 and r.json()["error"] == "consent_required" and "동의" in r.json()["detail"]
    r = await client.post("/api/v1/channels/web/session", json={"consent": True})  # no page header: a forged form
    assert r.status_code == 401 and r.json()["error"] == "not_from_chat_page"
    async with site.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(WebSession)) == 0
    assert "hl_chat" not in client.cookies
    for path in ("/api/v1/channels/web/history",):
        r = await client.get(path)
        assert r.status_code == 401 and r.json()["error"] == "no_chat_session"
    client.cookies.set("hl_chat", "forged.value")
    r = await client.get("/api/v1/channels/web/history")
    assert r.status_code == 401


async def test_a_session_its_messages_once_and_its_history(site):
    client = await site()
    welcome = await begin(client, centre="경남")
    assert "상담 창구" in welcome["messages"][0]["text"]
    cookie = client.cookies["hl_chat"]
    async with site.sessionmaker() as db:
        session = await db.scalar(select(WebSession))
        assert session.centre_code == "gyeongnam" and session.consented_at is not None
        assert web.read_session(cookie, secret=SECRET_KEY) == session.address
    body = {"key": "msg-000000001", "text": "폐수 처리 허가 문의드립니다"}
    first = await client.post("/api/v1/channels/web/messages", json=body, headers=HEADERS)
    again = await client.post("/api/v1/channels/web/messages", json=body, headers=HEADERS)
    assert first.status_code == again.status_code == 200
    assert first.json()["messages"][1:] == again.json()["messages"][1:]
    mine, *replies = first.json()["messages"]
    assert mine["mine"] and mine["text"] == body["text"]
    assert any(b["text"] == "📍 경상남도에 공장이 있어요" for row in replies[-1]["buttons"] for b in row)
    pressed = await client.post("/api/v1/channels/web/messages", headers=HEADERS, json={
        "key": "msg-000000002", "button": "cancel", "label": "취소"})
    assert "취소했어요" in pressed.json()["messages"][-1]["text"]
    history = (await client.get("/api/v1/channels/web/history")).json()["messages"]
    assert [m["mine"] for m in history] == [False, True, False, True, False]
    assert [m["text"] for m in history if m["mine"]] == [body["text"], "취소"]
    async with site.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(WebMessage)) == 2
    r = await client.post("/api/v1/channels/web/messages", headers=HEADERS, json={"key": "msg-000000003"})
    assert r.status_code == 422


async def test_live_messages_by_server_sent_events_exactly_once(site):
    client = await site()
    await begin(client)
    async with site.sessionmaker() as db:
        session = await db.scalar(select(WebSession))
        await enqueue(db, to=Recipient(chat_id=session.chat_id, channel="web", address=session.address),
                      text="[경남 답변] 내일 방문합니다.", kind="staff_reply")
        await db.commit()
    events = []
    async with client.stream("GET", "/api/v1/channels/web/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                break
    assert events[0]["text"] == "[경남 답변] 내일 방문합니다." and not events[0]["mine"]
    async with site.sessionmaker() as db:
        assert await db.scalar(select(OutboxMessage.status).where(OutboxMessage.kind == "staff_reply")) == "sent"
    history = (await client.get("/api/v1/channels/web/history")).json()["messages"]
    assert sum(1 for m in history if "내일 방문합니다" in m["text"]) == 1


async def test_limits_per_session_and_per_address(site):
    client = await site(web_session_rate_per_minute=3, web_ip_rate_per_minute=12)
    await begin(client)
    codes = []
    for n in range(5):
        r = await client.post("/api/v1/channels/web/messages", headers=HEADERS,
                              json={"key": f"limit-{n:08d}", "text": "안녕하세요"})
        codes.append(r.status_code)
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    assert int(r.headers["retry-after"]) >= 1 and "초 후에" in r.json()["detail"]
    for _ in range(12):
        r = await client.get("/api/v1/channels/web/history")
    assert r.status_code == 429  # the address's limit covers every request of the chat


async def test_the_page_may_be_framed_by_centres_sites_and_the_console_never(site):
    client = await site(web_frame_ancestors="https://www.gntp.or.kr https://*.tp.or.kr")
    page = await client.get("/chat?centre=gyeongnam")
    assert page.status_code == 200 and "경남 스마트제조혁신센터" in page.text
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors https://www.gntp.or.kr https://*.tp.or.kr" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "x-frame-options" not in page.headers
    assert "<script>" not in page.text and "style=" not in page.text  # no inline code or style
    embed = await client.get("/chat/embed.js")
    assert embed.status_code == 200 and embed.headers["content-type"].startswith("text/javascript")
    console = await client.get("/console/login")
    assert "frame-ancestors 'none'" in console.headers["content-security-policy"]
    assert console.headers["x-frame-options"] == "DENY"
    off = await site(web_chat=False)
    assert (await off.get("/chat")).status_code == 404
    r = await off.post("/api/v1/channels/web/session", json={"consent": True}, headers=HEADERS)
    assert r.status_code == 404 and r.json()["error"] == "channel_disabled"


async def test_retention_forgets_idle_sessions_and_what_they_wrote(site):
    client = await site()
    await begin(client)
    await client.post("/api/v1/channels/web/messages", headers=HEADERS, json={"key": "keep-00000001", "text": "안녕"})
    async with site.sessionmaker() as db:
        assert await web.forget_idle(db, untouched_since=utcnow() - timedelta(days=1)) == 0
        assert await web.forget_idle(db, untouched_since=utcnow() + timedelta(seconds=1)) == 1
        await db.commit()
        assert await db.scalar(select(func.count()).select_from(WebMessage)) == 0
    assert (await client.get("/api/v1/channels/web/history")).status_code == 401


def test_the_framing_sites_are_sources_only():
    from pydantic import ValidationError

    from api.config import Settings

    assert Settings(_env_file=None, web_frame_ancestors=" https://a.or.kr   https://b.or.kr ").web_frame_ancestors == (
        "https://a.or.kr https://b.or.kr")
    for bad in ("*; script-src *", "https://a.or.kr\nX-Evil: 1", " "):
        with pytest.raises(ValidationError):
            Settings(_env_file=None, web_frame_ancestors=bad)
