"""Linking a staff member's Telegram account: a one-time code to send to the bot (``/link <code>``); the link itself
and everything staff do in Telegram arrive as Telegram updates (``api.telegram_staff.group``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth.deps import StaffPrincipal, get_app_settings
from api.config import Settings
from api.telegram_staff import service
from api.telegram_staff.schemas import LinkCodeOut

router = APIRouter(prefix="/api/v1/telegram", tags=["telegram staff"])
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


@router.post("/link-code", response_model=LinkCodeOut)
async def link_code(principal: StaffPrincipal, settings: SettingsDep) -> LinkCodeOut:
    """A one-time code (30 minutes) that links the caller's Telegram account: send ``/link <code>`` to the bot."""
    made = service.make_link_code(principal.staff, secret=settings.secret_key)
    return LinkCodeOut(code=made.code, expires_at=made.expires_at,
                       instruction=f"텔레그램에서 봇과의 1:1 대화에 /link {made.code} 를 보내 주세요. (30분 안에)")
