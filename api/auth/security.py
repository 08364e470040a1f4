"""Password hashing (Argon2 via pwdlib) and signed access tokens (JWT, HS256)."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta, timezone

import jwt
from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()
# Verified against when the username is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
ALGORITHM = "HS256"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def password_stamp(password_changed_at: datetime) -> int:
    """Microseconds since the epoch: a token carries it, and a later password change makes the token stale."""
    return (password_changed_at - _EPOCH) // timedelta(microseconds=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # a malformed stored hash must not become a 500 or a success
        return False


def create_access_token(*, staff_id: int, password_changed_at: datetime, secret: str, minutes: int,
                        now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    claims = {
        "sub": str(staff_id),
        "pwd": password_stamp(password_changed_at),
        "iat": now.timestamp(),  # to the microsecond: a sign-out revokes exactly the tokens issued before it
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> dict | None:
    """The token's claims, or None when it is forged, expired or malformed."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "pwd"]})
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access" or not str(claims.get("sub", "")).isdigit():
        return None
    return claims


def issued_before(claims: dict, revoked_at: datetime | None) -> bool:
    """Whether the token was issued at or before ``revoked_at`` (the staff member signed out since)."""
    if revoked_at is None:
        return False
    return float(claims.get("iat") or 0) <= revoked_at.timestamp()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
