"""Sign-in throttling, instead of locking accounts.

Every attempt (console or API) is recorded (``LoginAttempt``). Before a password is checked, the failures of the
last ``WINDOW`` are counted:

* from the address (``MAX_PER_ADDRESS``): one machine cannot guess across many accounts;
* for the typed username from the address (``MAX_PER_USERNAME_AT_ADDRESS``): one machine cannot guess one account;
* for the typed username from all addresses (``MAX_PER_USERNAME``): many machines cannot guess one account
  quickly -- except from an address this account signed in from in the last ``KNOWN_ADDRESS_DAYS``, so that no
  one can keep the real person out.

Past a limit the attempt is refused with how long to wait, before the password is looked at, and not recorded
(refusals do not extend the wait). The username counts as typed, whether or not it names an account, so the
answers never tell which accounts exist. Addresses are the connecting ones (the service reads no forwarded
headers): behind a reverse proxy, the proxy must pass the client's address for the per-address limits to be
per person.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.models import LoginAttempt
from api.db import utcnow
from api.errors import TooManyRequests

WINDOW = timedelta(minutes=15)
MAX_PER_ADDRESS = 20
MAX_PER_USERNAME_AT_ADDRESS = 5
MAX_PER_USERNAME = 50
KNOWN_ADDRESS_DAYS = 30
KEEP = timedelta(days=90)  # attempts older than this are deleted


class LoginThrottled(TooManyRequests):
    code = "login_throttled"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(f"로그인 시도가 너무 많습니다. {minutes}분 후 다시 시도해 주세요.")
        self.retry_after = retry_after


def normalise_username(username: str) -> str:
    return (username or "").strip()[:64]


def _address(ip: str | None) -> str:
    return (ip or "unknown")[:64]


async def _wait(session: AsyncSession, condition, limit: int, now: datetime) -> int:
    """Seconds until fewer than ``limit`` failures match ``condition`` in the window (0: not over the limit)."""
    since = now - WINDOW
    times = list((await session.scalars(
        select(LoginAttempt.at).where(condition, LoginAttempt.success.is_(False), LoginAttempt.at > since)
        .order_by(LoginAttempt.at.desc()).limit(limit))).all())
    if len(times) < limit:
        return 0
    return max(1, math.ceil((times[-1] + WINDOW - now).total_seconds()))


async def check(session: AsyncSession, *, username: str, ip: str | None, now: datetime | None = None) -> None:
    """Raise ``LoginThrottled`` (with the seconds to wait) when an attempt from ``ip`` for ``username`` is over a
    limit."""
    now = now or utcnow()
    name, address = normalise_username(username), _address(ip)
    waits = [await _wait(session, LoginAttempt.ip == address, MAX_PER_ADDRESS, now),
             await _wait(session, (LoginAttempt.ip == address) & (LoginAttempt.username == name),
                         MAX_PER_USERNAME_AT_ADDRESS, now)]
    known = await session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.username == name, LoginAttempt.ip == address, LoginAttempt.success.is_(True),
        LoginAttempt.at > now - timedelta(days=KNOWN_ADDRESS_DAYS)))
    if not known:
        waits.append(await _wait(session, LoginAttempt.username == name, MAX_PER_USERNAME, now))
    wait = max(waits)
    if wait:
        raise LoginThrottled(wait)


async def record(session: AsyncSession, *, username: str, ip: str | None, user_agent: str, staff_id: int | None,
                 success: bool, now: datetime | None = None) -> None:
    """Record an attempt (and forget attempts older than ``KEEP``); flush only."""
    now = now or utcnow()
    session.add(LoginAttempt(at=now, username=normalise_username(username), ip=_address(ip), staff_id=staff_id,
                             success=success, user_agent=(user_agent or "")[:300]))
    await session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP))
    await session.flush()


async def recent_failures(session: AsyncSession, *, staff_id: int, since: datetime | None = None,
                          limit: int = 10) -> list[LoginAttempt]:
    """Failed attempts on the staff member's account (the typed username was theirs), newest first."""
    query = select(LoginAttempt).where(LoginAttempt.staff_id == staff_id, LoginAttempt.success.is_(False))
    if since is not None:
        query = query.where(LoginAttempt.at > since)
    return list((await session.scalars(query.order_by(LoginAttempt.id.desc()).limit(limit))).all())


async def failures_since_previous_sign_in(session: AsyncSession, *, staff_id: int) -> list[LoginAttempt]:
    """Right after a sign-in: the failed attempts on the account since the sign-in before it, newest first."""
    previous = await session.scalar(
        select(LoginAttempt.id).where(LoginAttempt.staff_id == staff_id, LoginAttempt.success.is_(True))
        .order_by(LoginAttempt.id.desc()).offset(1).limit(1))
    query = select(LoginAttempt).where(LoginAttempt.staff_id == staff_id, LoginAttempt.success.is_(False))
    if previous is not None:
        query = query.where(LoginAttempt.id > previous)
    return list((await session.scalars(query.order_by(LoginAttempt.id.desc()).limit(100))).all())
