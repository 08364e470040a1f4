"""Channel endpoints: each takes a channel's own updates and answers with what to deliver. One call per update
(or per batch), one transaction; the rules are in ``api.conversations`` and ``api.telegram_staff``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.deps import ServicePrincipal, SessionDep, get_app_settings
from api.auth.security import constant_time_equals
from api.channels import kakao, local, telegram
from api.channels.schemas import KakaoSkillIn, LocalMessageIn, OutboxRecordOut, TelegramUpdatesIn, UpdateResultOut
from api.config import Settings
from api.conversations.runner import Knowledge
from api.db import storable
from api.errors import NotFound, Unauthorized, Unprocessable
from api.kb.cache import get_cache
from api.kb.entries import kst_today
from api.tickets.base import policy_from_settings

router = APIRouter(prefix="/api/v1/channels", tags=["channels"])
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def knowledge_of(app: FastAPI, session: AsyncSession) -> Knowledge:
    """What the conversation answers from, in this process, today."""
    cache = get_cache(app)
    matcher = await cache.get(session)
    return Knowledge(matcher=matcher, today=kst_today(), history=cache.history,
                     programme_year=app.state.settings.current_programme_year())


async def knowledge(request: Request, session: AsyncSession) -> Knowledge:
    return await knowledge_of(request.app, session)


def kakao_caller(request: Request, settings: SettingsDep) -> None:
    """Kakao's chatbot, proven by the secret header configured in the skill (compared in constant time)."""
    if not settings.kakao_skill_secret:
        raise NotFound("카카오톡 채널이 설정되어 있지 않습니다. (HOTLINE_KAKAO_SKILL_SECRET)", code="channel_disabled")
    given = request.headers.get(kakao.SECRET_HEADER)
    if not given or not constant_time_equals(given, settings.kakao_skill_secret):
        raise Unauthorized("스킬 인증 값이 올바르지 않습니다.", code="invalid_skill_secret")


@router.post("/telegram/updates", response_model=UpdateResultOut)
async def telegram_updates(body: TelegramUpdatesIn, request: Request, session: SessionDep, _: ServicePrincipal,
                           settings: SettingsDep) -> UpdateResultOut:
    """Telegram updates, as the Bot API sent them, from the bot process (service token). Each is processed once
    (a repeat is listed in ``duplicates``); owners' updates run through the conversation, staff members' through
    their group actions; every reply is stored in the outbox first."""
    result = await telegram.process_updates(
        session, raw_updates=[u.model_dump() for u in body.updates], knowledge=await knowledge(request, session),
        policy=policy_from_settings(settings), max_text_chars=settings.max_text_chars, secret=settings.secret_key,
        lease_seconds=body.lease_seconds, limits=request.app.state.rate_limits)
    return UpdateResultOut.of(result)


@router.post("/local/messages", response_model=list[OutboxRecordOut])
async def local_message(body: LocalMessageIn, request: Request, session: SessionDep, _: ServicePrincipal,
                        settings: SettingsDep) -> list[OutboxRecordOut]:
    """A message (``text``) or a pressed button (``button``) in a local terminal chat; the replies come back at
    once. Later messages (staff answers) wait in the outbox (channel ``local``)."""
    if (body.text is None) == (body.button is None):
        raise Unprocessable("text와 button 중 하나만 보내 주세요.", code="validation_error")
    replies = await local.process_message(
        session, address=body.address, key=body.key, text=storable(body.text), button=body.button,
        display_name=storable(body.display_name), knowledge=await knowledge(request, session),
        policy=policy_from_settings(settings), max_text_chars=settings.max_text_chars,
        limits=request.app.state.rate_limits)
    return [OutboxRecordOut.of(r) for r in replies]


@router.post("/kakao/skill", dependencies=[Depends(kakao_caller)])
async def kakao_skill(body: KakaoSkillIn, request: Request) -> dict[str, Any]:
    """A Kakao i OpenBuilder skill request (SkillPayload, with the secret header ``X-Hotline-Kakao-Secret``);
    the answer is a SkillResponse version 2.0 within Kakao's limits (see ``api.channels.kakao``)."""
    return await request.app.state.kakao_skill.answer(kakao.read_skill(storable(body.model_dump())))
