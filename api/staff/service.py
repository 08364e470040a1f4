"""Staff accounts: creation, authentication (throttled, never locked: ``api.auth.throttle``), lookups. Services
flush; callers commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import throttle
from api.auth.security import hash_password, verify_password
from api.centers.service import get_center_by_code
from api.db import utcnow
from api.errors import Conflict, Unauthorized, Unprocessable
from api.staff.models import ROLES, Staff

MIN_PASSWORD_LENGTH = 8
INVALID_CREDENTIALS = "사용자 이름 또는 비밀번호가 올바르지 않습니다."


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable(f"비밀번호는 {MIN_PASSWORD_LENGTH}자 이상이어야 합니다.", code="weak_password")


async def create_staff(session: AsyncSession, *, username: str, password: str, role: str,
                       center_code: str | None = None, display_name: str = "") -> Staff:
    username = username.strip()
    if not username:
        raise Unprocessable("사용자 이름을 입력해 주세요.", code="invalid_username")
    if role not in ROLES:
        raise Unprocessable("역할은 admin 또는 agent 여야 합니다.", code="invalid_role")
    validate_password(password)
    center_id = None
    if center_code:
        center_id = (await get_center_by_code(session, center_code)).id  # a code or a Korean name
    if role == "agent" and center_id is None:
        raise Unprocessable("상담원(agent)은 소속 센터가 필요합니다.", code="center_required")
    if await session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise Conflict(f"'{username}' 사용자가 이미 있습니다.", code="username_taken")
    staff = Staff(username=username, password_hash=hash_password(password), role=role, center_id=center_id,
                  display_name=display_name or username, password_changed_at=utcnow())
    session.add(staff)
    await session.flush()
    return staff


async def set_password(session: AsyncSession, staff: Staff, password: str) -> None:
    validate_password(password)
    staff.password_hash = hash_password(password)
    staff.password_changed_at = utcnow()
    await session.flush()


async def authenticate(session: AsyncSession, *, username: str, password: str, ip: str | None,
                       user_agent: str = "", now: datetime | None = None) -> Staff:
    """The active staff member with these credentials. Unknown names, inactive accounts and wrong passwords get
    the same answer; too many failures from an address or for a name are throttled (``api.auth.throttle``,
    ``LoginThrottled``, 429) before the password is looked at. Every attempt checked is recorded; flush only."""
    now = now or utcnow()
    await throttle.check(session, username=username, ip=ip, now=now)
    staff = await session.scalar(select(Staff).where(Staff.username == throttle.normalise_username(username)))
    if staff is None:
        verify_password(password, None)  # as slow as a real check
        ok = False
    else:
        ok = verify_password(password, staff.password_hash) and staff.is_active
    await throttle.record(session, username=username, ip=ip, user_agent=user_agent,
                          staff_id=staff.id if staff is not None else None, success=ok, now=now)
    if not ok:
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    return staff


async def get_active_staff(session: AsyncSession, staff_id: int) -> Staff | None:
    staff = await session.get(Staff, staff_id)
    return staff if staff is not None and staff.is_active else None
