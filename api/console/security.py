"""Console sign-in: signed cookies, server-side sessions, CSRF tokens.

The session cookie carries a random token signed with the app's secret key (HMAC-SHA256); the
database keeps only the token's SHA-256 hash, so a leaked table does not let anyone sign in and a
forged cookie is refused before any query. A session ends when it expires, is idle too long, on
logout, when the account is deactivated and when the password changes (sessions created before
``password_changed_at`` no longer count).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.console.models import ConsoleSession
from api.db import utcnow
from api.staff.models import Staff

SESSION_COOKIE = "hl_session"
LOGIN_CSRF_COOKIE = "hl_login_csrf"
FLASH_COOKIE = "hl_flash"
SESSION_LIFETIME = timedelta(hours=12)
IDLE_TIMEOUT = timedelta(hours=2)
TOUCH_EVERY = timedelta(minutes=1)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, payload: str) -> str:
    key = hashlib.sha256(f"hotline-console:{purpose}:{secret}".encode()).digest()
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def sign(value: dict, *, secret: str, purpose: str, max_age: int) -> str:
    """``value`` as a cookie-safe string, signed for one purpose and valid for ``max_age`` seconds."""
    payload = _b64(json.dumps({"v": value, "exp": int(time.time()) + max_age}, separators=(",", ":"),
                              ensure_ascii=False).encode())
    return f"{payload}.{_mac(secret, purpose, payload)}"


def unsign(signed: str | None, *, secret: str, purpose: str) -> dict | None:
    """The value of a string made by :func:`sign`, or None when it is forged, expired or malformed."""
    if not signed or "." not in signed or len(signed) > 4096:
        return None
    payload, _, mac = signed.rpartition(".")
    if not hmac.compare_digest(mac.encode(), _mac(secret, purpose, payload).encode()):
        return None
    try:
        data = json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), int) or data["exp"] < time.time():
        return None
    value = data.get("v")
    return value if isinstance(value, dict) else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_match(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class NewSession:
    row: ConsoleSession
    cookie: str


async def start_session(db: AsyncSession, staff: Staff, *, secret: str, ip: str | None, user_agent: str,
                        now: datetime | None = None) -> NewSession:
    now = now or utcnow()
    token = new_token()
    row = ConsoleSession(token_hash=token_hash(token), staff_id=staff.id, csrf_token=new_token(),
                         created_at=now, last_seen_at=now, expires_at=now + SESSION_LIFETIME,
                         ip=(ip or "")[:64] or None, user_agent=(user_agent or "")[:300])
    db.add(row)
    await db.flush()
    cookie = sign({"t": token}, secret=secret, purpose="session", max_age=int(SESSION_LIFETIME.total_seconds()))
    return NewSession(row=row, cookie=cookie)


async def load_session(db: AsyncSession, cookie: str | None, *, secret: str,
                       now: datetime | None = None) -> tuple[ConsoleSession, Staff] | None:
    """The live session and its active staff member for a cookie, or None (the caller asks to sign in)."""
    value = unsign(cookie, secret=secret, purpose="session")
    if value is None or not isinstance(value.get("t"), str):
        return None
    now = now or utcnow()
    row = await db.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == token_hash(value["t"])))
    if row is None:
        return None
    staff = await db.get(Staff, row.staff_id)
    if (row.expires_at <= now or row.last_seen_at + IDLE_TIMEOUT <= now or staff is None or not staff.is_active
            or row.created_at < staff.password_changed_at):
        await db.delete(row)
        await db.flush()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        await db.flush()
    return row, staff


async def end_session(db: AsyncSession, row: ConsoleSession) -> None:
    await db.delete(row)
    await db.flush()


async def end_all_sessions(db: AsyncSession, staff_id: int, *, keep: int | None = None) -> None:
    """Sign a staff member out everywhere (password reset, deactivation), optionally keeping one session."""
    query = delete(ConsoleSession).where(ConsoleSession.staff_id == staff_id)
    if keep is not None:
        query = query.where(ConsoleSession.id != keep)
    await db.execute(query)
    await db.flush()
