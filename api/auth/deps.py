"""Who is calling: the bot (service token), a staff member (bearer JWT) or nobody (anonymous)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.security import constant_time_equals, decode_access_token, issued_before, password_stamp
from api.config import Settings
from api.db import SessionDep, SessionOpenerDep
from api.errors import Forbidden, Unauthorized
from api.staff.models import Staff
from api.staff.service import get_active_staff


@dataclass(frozen=True)
class Principal:
    kind: Literal["anonymous", "service", "staff"]
    staff: Staff | None = None

    @property
    def is_service(self) -> bool:
        return self.kind == "service"

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_admin(self) -> bool:
        return self.staff is not None and self.staff.role == "admin"

    @property
    def center_id(self) -> int | None:
        return self.staff.center_id if self.staff is not None else None


ANONYMOUS = Principal("anonymous")


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("인증 헤더 형식이 올바르지 않습니다. 'Bearer <토큰>' 형식으로 보내 주세요.")
    return token.strip()


async def principal_from_token(session: AsyncSession, settings: Settings, token: str) -> Principal:
    if constant_time_equals(token, settings.service_token):
        return Principal("service")
    claims = decode_access_token(token, secret=settings.secret_key)
    if claims is None:
        raise Unauthorized("토큰이 유효하지 않거나 만료되었습니다. 다시 로그인해 주세요.", code="invalid_token")
    staff = await get_active_staff(session, int(claims["sub"]))
    if (staff is None or password_stamp(staff.password_changed_at) != claims["pwd"]
            or issued_before(claims, staff.tokens_revoked_at)):
        raise Unauthorized("토큰이 유효하지 않거나 만료되었습니다. 다시 로그인해 주세요.", code="invalid_token")
    return Principal("staff", staff)


async def get_principal(request: Request, session: SessionDep) -> Principal:
    """The caller; anonymous when no Authorization header is sent, 401 when one is sent and invalid."""
    token = _bearer(request)
    if token is None:
        return ANONYMOUS
    return await principal_from_token(session, request.app.state.settings, token)


async def get_caller(request: Request, open_session: SessionOpenerDep) -> Principal:
    """``get_principal`` for an endpoint that has no session of its own: the service token and anonymous callers
    need no database; a staff token is checked in a short session (its ``staff`` is then detached: read only)."""
    token = _bearer(request)
    if token is None:
        return ANONYMOUS
    settings = request.app.state.settings
    if constant_time_equals(token, settings.service_token):
        return Principal("service")
    async with open_session() as session:
        return await principal_from_token(session, settings, token)


async def require_service(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if principal.kind == "anonymous":
        raise Unauthorized()
    if not principal.is_service:
        raise Forbidden("봇 서비스 전용 기능입니다.")
    return principal


async def require_staff(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if principal.kind == "anonymous":
        raise Unauthorized()
    if not principal.is_staff:
        raise Forbidden("직원 계정으로 로그인해야 합니다.")
    return principal


async def require_admin(principal: Annotated[Principal, Depends(require_staff)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("관리자만 할 수 있는 작업입니다.")
    return principal


async def require_authenticated(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if principal.kind == "anonymous":
        raise Unauthorized()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
CallerPrincipal = Annotated[Principal, Depends(get_caller)]
ServicePrincipal = Annotated[Principal, Depends(require_service)]
StaffPrincipal = Annotated[Principal, Depends(require_staff)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]
AuthenticatedPrincipal = Annotated[Principal, Depends(require_authenticated)]
