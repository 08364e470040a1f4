from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from api.auth.deps import SessionDep, StaffPrincipal
from api.auth.security import create_access_token
from api.errors import Unauthorized
from api.staff import service as staff_service

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    center_id: int | None


@router.post("/token", response_model=TokenOut)
async def issue_token(request: Request, session: SessionDep,
                      username: Annotated[str, Form(max_length=64)],
                      password: Annotated[str, Form(max_length=256)]) -> TokenOut:
    """OAuth2 password flow for staff. Failed sign-ins are throttled per address and per username (429 with
    ``Retry-After``); an unknown name and a wrong password get the same 401."""
    try:
        staff = await staff_service.authenticate(session, username=username, password=password,
                                                 ip=request.client.host if request.client else None,
                                                 user_agent=request.headers.get("user-agent", ""))
    except Unauthorized:
        await session.commit()  # keep the recorded failure the throttle counts
        raise
    settings = request.app.state.settings
    token = create_access_token(staff_id=staff.id, password_changed_at=staff.password_changed_at,
                                secret=settings.secret_key, minutes=settings.access_token_minutes)
    return TokenOut(access_token=token, expires_in=settings.access_token_minutes * 60)


@router.get("/me", response_model=MeOut)
async def me(principal: StaffPrincipal) -> MeOut:
    s = principal.staff
    return MeOut(id=s.id, username=s.username, display_name=s.display_name, role=s.role, center_id=s.center_id)
