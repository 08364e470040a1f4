"""Linking staff Telegram accounts and centre staff groups (see ``api.telegram_staff.service``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from api.auth.deps import ServicePrincipal, SessionDep, StaffPrincipal, get_app_settings
from api.centers.models import Center
from api.config import Settings
from api.telegram_staff import service
from api.telegram_staff.schemas import (CenterRefOut, GroupLinkIn, GroupLinkOut, LinkCodeOut, StaffLinkIn,
                                        StaffLinkOut)

router = APIRouter(prefix="/api/v1/telegram", tags=["telegram staff"])
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


@router.post("/link-code", response_model=LinkCodeOut)
async def link_code(principal: StaffPrincipal, settings: SettingsDep) -> LinkCodeOut:
    """A one-time code (30 minutes) that links the caller's Telegram account: send ``/link <code>`` to the bot."""
    made = service.make_link_code(principal.staff, secret=settings.secret_key)
    return LinkCodeOut(code=made.code, expires_at=made.expires_at,
                       instruction=f"텔레그램에서 봇과의 1:1 대화에 /link {made.code} 를 보내 주세요. (30분 안에)")


@router.post("/staff-links", response_model=StaffLinkOut)
async def link_staff(body: StaffLinkIn, session: SessionDep, _: ServicePrincipal,
                     settings: SettingsDep) -> StaffLinkOut:
    """The bot relays ``/link <code>`` from a private chat (service token)."""
    staff = await service.link_staff_account(session, secret=settings.secret_key,
                                             telegram_user_id=body.telegram_user_id, code=body.code)
    code = await session.scalar(select(Center.code).where(Center.id == staff.center_id)) if staff.center_id else None
    return StaffLinkOut(staff_id=staff.id, display_name=staff.display_name or staff.username, role=staff.role,
                        center_code=code)


@router.post("/group-links", response_model=GroupLinkOut)
async def link_group(body: GroupLinkIn, session: SessionDep, _: ServicePrincipal) -> GroupLinkOut:
    """The bot relays ``/link [centre code]`` typed in a group by a linked staff member (service token)."""
    center = await service.link_group(session, telegram_user_id=body.telegram_user_id, chat_id=body.chat_id,
                                      center_code=body.center_code)
    return GroupLinkOut(chat_id=body.chat_id, center=CenterRefOut(code=center.code, name=center.name))


@router.delete("/group-links/{chat_id}", response_model=GroupLinkOut)
async def unlink_group(chat_id: int, session: SessionDep, _: ServicePrincipal,
                       telegram_user_id: Annotated[int, Query(ge=1, le=2**63 - 1)]) -> GroupLinkOut:
    center = await service.unlink_group(session, telegram_user_id=telegram_user_id, chat_id=chat_id)
    return GroupLinkOut(chat_id=chat_id,
                        center=CenterRefOut(code=center.code, name=center.name) if center else None)
