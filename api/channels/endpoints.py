"""Channel endpoints: each takes a channel's own updates and answers with what to deliver. One call per update
(or per batch), one transaction; the rules are in ``api.conversations`` and ``api.telegram_staff``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.deps import ServicePrincipal, SessionDep, get_app_settings
from api.channels import local, telegram
from api.channels.schemas import LocalMessageIn, OutboxRecordOut, TelegramUpdatesIn, UpdateResultOut
from api.config import Settings
from api.conversations.runner import Knowledge
from api.db import storable
from api.errors import Unprocessable
from api.kb.cache import get_cache
from api.kb.entries import kst_today
from api.tickets.base import policy_from_settings

router = APIRouter(prefix="/api/v1/channels", tags=["channels"])
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def knowledge(request: Request, session: AsyncSession) -> Knowledge:
    cache = get_cache(request.app)
    matcher = await cache.get(session)
    return Knowledge(matcher=matcher, today=kst_today(), history=cache.history,
                     programme_year=request.app.state.settings.current_programme_year())


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
