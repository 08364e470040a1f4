"""The web chat's API (``/api/v1/channels/web/...``), called by the page at ``/chat`` (``api.webchat``): the
session is the ``hl_chat`` cookie; the rules are in ``api.channels.web``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.deps import SessionDep
from api.centers.service import UnknownCenter, get_center_by_code
from api.channels import web
from api.channels.endpoints import SettingsDep, knowledge
from api.channels.models import WebSession
from api.channels.schemas import WebItemOut, WebItemsOut, WebMessageIn, WebStartIn
from api.config import Settings
from api.contract import OutboxRecord, keyboard_to_json
from api.db import storable, utcnow, write_sessionmaker
from api.errors import NotFound, TooManyRequests, Unauthorized, Unprocessable
from api.tickets.base import policy_from_settings

router = APIRouter(prefix="/api/v1/channels/web", tags=["channels"])

WEB_CLIENT_HEADER = "X-Hotline-Chat"  # sent by the page's script: other sites' forms and scripts cannot send it
STREAM_SECONDS = 300  # an event stream is closed after this; the page reconnects at once
STREAM_POLL_SECONDS = 1.0
STREAM_PING_SECONDS = 15.0


def _limited(verdict, what: str) -> None:
    if not verdict.allowed:
        error = TooManyRequests(f"{what} {verdict.retry_after}초 후에 다시 시도해 주세요.")
        error.retry_after = verdict.retry_after
        raise error


async def web_caller(request: Request, settings: SettingsDep) -> None:
    """The web chat page: the chat is on, a change comes from its script (a header other sites cannot send
    without the CORS permission this API never gives), the address is within its limit."""
    if not settings.web_chat:
        raise NotFound("웹 채팅을 사용하지 않도록 설정되어 있습니다.", code="channel_disabled")
    if request.method != "GET" and request.headers.get(WEB_CLIENT_HEADER) != "1":  # reads need no proof
        raise Unauthorized("채팅 페이지에서 보낸 요청이 아닙니다.", code="not_from_chat_page")
    _limited(await request.app.state.rate_limits.web_by_ip(request.client.host if request.client else "unknown"),
             "요청이 너무 많습니다.")


WebCaller = Depends(web_caller)


async def current_web(request: Request, session: AsyncSession) -> WebSession:
    settings = request.app.state.settings
    found = await web.find(session, address=web.read_session(request.cookies.get(web.COOKIE),
                                                              secret=settings.secret_key))
    if found is None:
        raise Unauthorized("채팅 세션이 없습니다. 페이지를 새로 고친 뒤 안내에 동의해 주세요.", code="no_chat_session")
    return found


def _item_of_message(message: OutboxRecord, at) -> WebItemOut:
    return WebItemOut(id=f"b{message.id}", mine=False, text=message.text,
                      buttons=[[b for b in row if "data" in b] for row in keyboard_to_json(message.buttons) or []],
                      at=at.isoformat())


def _items(said: list[web.Said]) -> WebItemsOut:
    return WebItemsOut(messages=[
        WebItemOut(id=f"o{s.mine.id}", mine=True, text=s.mine.text, at=s.at.isoformat()) if s.mine is not None
        else _item_of_message(s.message, s.at) for s in said])


async def _engine(request: Request, session: AsyncSession, settings: Settings) -> web.Engine:
    return web.Engine(knowledge=await knowledge(request, session), policy=policy_from_settings(settings),
                      max_text_chars=settings.max_text_chars, limits=request.app.state.rate_limits)


@router.post("/session", response_model=WebItemsOut, status_code=201, dependencies=[WebCaller])
async def web_session(body: WebStartIn, request: Request, response: Response, session: SessionDep,
                      settings: SettingsDep) -> WebItemsOut:
    """Start a web chat session once the owner agreed (``consent``); the session is in the ``hl_chat`` cookie.
    The answer is the conversation's welcome."""
    if not body.consent:
        raise Unprocessable("개인정보 수집·이용에 동의하셔야 채팅 상담을 시작할 수 있습니다.", code="consent_required")
    centre = None
    if body.centre:
        try:
            centre = (await get_center_by_code(session, body.centre)).code
        except UnknownCenter:
            centre = None  # a hint only: an unknown centre is no reason to refuse
    started, welcome = await web.start(session, centre_code=centre, engine=await _engine(request, session, settings))
    secure = request.url.scheme == "https"
    response.set_cookie(web.COOKIE, web.sign_session(started.address, secret=settings.secret_key),
                        max_age=web.COOKIE_MAX_AGE, httponly=True, secure=secure, path="/",
                        samesite="none" if secure else "lax", partitioned=secure)
    return _items([web.Said(at=started.consented_at, message=m) for m in welcome])


@router.post("/messages", response_model=WebItemsOut, dependencies=[WebCaller])
async def web_message(body: WebMessageIn, request: Request, session: SessionDep,
                      settings: SettingsDep) -> WebItemsOut:
    """The owner's message (``text``) or pressed button (``button`` with its ``label``): the owner's line and the
    replies. A ``key`` sent before gets the same replies."""
    if (body.text is None) == (body.button is None):
        raise Unprocessable("text와 button 중 하나만 보내 주세요.", code="validation_error")
    current = await current_web(request, session)
    _limited(await request.app.state.rate_limits.web_by_session(current.address), "메시지가 너무 많습니다.")
    mine_id, replies = await web.send(session, web=current, key=body.key, text=storable(body.text),
                                      button=body.button, label=storable(body.label or ""),
                                      engine=await _engine(request, session, settings))
    said = [web.Said(at=current.last_seen_at, message=m) for m in replies]
    mine = WebItemOut(id=f"o{mine_id}", mine=True, text=storable((body.label if body.button else body.text) or ""),
                      at=current.last_seen_at.isoformat())
    return WebItemsOut(messages=[mine, *_items(said).messages])


@router.get("/history", response_model=WebItemsOut, dependencies=[WebCaller])
async def web_history(request: Request, session: SessionDep) -> WebItemsOut:
    """The whole conversation of the session, oldest first (replies that waited for the owner included)."""
    current = await current_web(request, session)
    return _items(await web.history(session, web=current))


@router.get("/events", dependencies=[WebCaller])
async def web_events(request: Request, session: SessionDep) -> StreamingResponse:
    """Server-sent events: each message for the session as it comes (``event: message``, JSON like the history's
    items). The stream ends after a few minutes; the page's EventSource reconnects."""
    current = await current_web(request, session)
    sessionmaker = request.app.state.sessionmaker  # the stream outlives the request's session
    writer = write_sessionmaker(sessionmaker)

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        loop = asyncio.get_running_loop()
        started = last = loop.time()
        while loop.time() - started < STREAM_SECONDS and not await request.is_disconnected():
            async with sessionmaker() as session:
                waiting = await web.has_new(session, web=current)
            if waiting:
                async with writer() as session:
                    messages = await web.take_new(session, web=current)
                    await session.commit()
                for message in messages:
                    item = _item_of_message(message, utcnow()).model_dump()
                    yield f"id: {message.id}\nevent: message\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"
                last = loop.time()
            elif loop.time() - last > STREAM_PING_SECONDS:
                yield ": ping\n\n"
                last = loop.time()
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
