"""Linking Telegram to the hotline: a staff member's Telegram account, and a centre's Telegram staff group.

A staff member gets a short-lived link code (console or API), then sends ``/link <code>`` to the bot in a private
chat (the update reaches ``api.telegram_staff.group`` with the sender's Telegram user id). The code is stateless: the staff id, an expiry and an
HMAC over them (keyed with the service's secret key, bound to the member's current Telegram link and password
stamp), so it works once and dies with a password change. A linked staff member then types ``/link`` in their
centre's group (an admin: ``/link <centre code>``) to make it the centre's staff group; only an admin re-points
a centre that already has a group.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.security import password_stamp
from api.centers.models import Center
from api.centers.service import get_center_by_code
from api.db import utcnow
from api.errors import Conflict, Forbidden, Unprocessable
from api.staff.models import Staff

LINK_CODE_TTL = timedelta(minutes=30)
_CODE_RE = re.compile(r"^(\d{1,19})-(\d{1,12})-([A-Z2-7]{16})$")


class InvalidLinkCode(Unprocessable):
    code = "invalid_link_code"
    detail = "연결 코드가 올바르지 않거나 만료되었습니다. 콘솔에서 새 코드를 받아 다시 시도해 주세요."


class UnlinkedTelegramUser(Forbidden):
    code = "unlinked_telegram_user"
    detail = "이 텔레그램 계정은 직원 계정에 연결되어 있지 않습니다."


@dataclass(frozen=True)
class LinkCode:
    code: str
    expires_at: datetime


def _mac(secret: str, staff: Staff, expires: int) -> str:
    message = f"tg-link:{staff.id}:{expires}:{staff.telegram_user_id or 0}:{password_stamp(staff.password_changed_at)}"
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:16]


def make_link_code(staff: Staff, *, secret: str, now: datetime | None = None) -> LinkCode:
    now = now or utcnow()
    expires = int((now + LINK_CODE_TTL).timestamp())
    return LinkCode(code=f"{staff.id}-{expires}-{_mac(secret, staff, expires)}",
                    expires_at=datetime.fromtimestamp(expires, tz=now.tzinfo))


async def link_staff_account(session: AsyncSession, *, secret: str, telegram_user_id: int, code: str,
                             now: datetime | None = None) -> Staff:
    """Link ``telegram_user_id`` to the staff member the code was made for (taking it from anyone else)."""
    now = now or utcnow()
    match = _CODE_RE.match((code or "").strip().upper())
    if match is None:
        raise InvalidLinkCode()
    staff_id, expires, mac = int(match[1]), int(match[2]), match[3]
    staff = await session.get(Staff, staff_id, populate_existing=True)
    if (staff is None or not staff.is_active or expires < now.timestamp()
            or not hmac.compare_digest(_mac(secret, staff, expires), mac)):
        raise InvalidLinkCode()
    if staff.telegram_user_id == telegram_user_id:
        return staff
    await session.execute(update(Staff).where(Staff.telegram_user_id == telegram_user_id, Staff.id != staff.id)
                          .values(telegram_user_id=None).execution_options(synchronize_session=False))
    await session.flush()
    staff.telegram_user_id = telegram_user_id
    await session.flush()
    return staff


async def staff_by_telegram(session: AsyncSession, telegram_user_id: int) -> Staff:
    staff = await session.scalar(select(Staff).where(Staff.telegram_user_id == telegram_user_id,
                                                     Staff.is_active.is_(True)))
    if staff is None:
        raise UnlinkedTelegramUser()
    return staff


async def link_group(session: AsyncSession, *, telegram_user_id: int, chat_id: int,
                     center_code: str | None = None) -> Center:
    """Make ``chat_id`` (a Telegram group) the staff group of a centre: an agent's own centre, or the centre an
    admin names. A group serves one centre; moving a group linked to another centre, or pointing a centre that
    has a group at another one, takes an admin (a staff member's link alone must not redirect a centre's
    notices)."""
    if chat_id >= 0:
        raise Unprocessable("상담방 연결은 텔레그램 그룹에서만 할 수 있습니다.", code="not_a_group")
    staff = await staff_by_telegram(session, telegram_user_id)
    if staff.role == "admin":
        if not center_code:
            raise Unprocessable("관리자는 연결할 센터 코드를 함께 보내 주세요. 예) /link seoul", code="center_required")
        center = await get_center_by_code(session, center_code.strip().lower())
    else:
        center = await session.get(Center, staff.center_id)
        if center_code and center_code.strip().lower() != center.code:
            raise Forbidden("소속 센터의 상담방만 연결할 수 있습니다.")
    current = await session.scalar(select(Center).where(Center.telegram_chat_id == chat_id))
    if current is not None and current.id == center.id:
        return center
    if staff.role != "admin" and center.telegram_chat_id is not None:
        raise Conflict(f"{center.name}에는 이미 다른 상담방이 연결되어 있습니다. 상담방을 바꾸려면 관리자에게 요청해 주세요.",
                       code="group_repoint_needs_admin")
    if current is not None:
        if staff.role != "admin":
            raise Conflict(f"이 대화방은 이미 {current.name} 상담방으로 연결되어 있습니다. 관리자에게 문의해 주세요.",
                           code="group_taken")
        current.telegram_chat_id = None
        await session.flush()
    center.telegram_chat_id = chat_id
    await session.flush()
    return center
