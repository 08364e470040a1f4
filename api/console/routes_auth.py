"""Sign-in, sign-out and the staff member's own password."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import throttle
from api.auth.security import verify_password
from api.auth.throttle import LoginThrottled
from api.console import security
from api.console.web import (ConsoleDB, ConsoleRoute, CsrfFailed, CurrentUser, PostUser, cookie_secure, fmt_dt, redirect,
                             render, safe_next)
from api.db import utcnow
from api.errors import Unauthorized, Unprocessable
from api.staff import service as staff_service
from api.staff.models import Staff

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

LOGIN_CSRF_MAX_AGE = 2 * 60 * 60


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


def set_session_cookie(request: Request, response: Response, cookie: str) -> None:
    response.set_cookie(security.SESSION_COOKIE, cookie, max_age=int(security.SESSION_LIFETIME.total_seconds()),
                        httponly=True, samesite="lax", secure=cookie_secure(request), path="/console")


def _login_page(request: Request, *, status_code: int = 200, error: str | None = None, username: str = "",
                next_url: str = "") -> Response:
    token = security.new_token()
    response = render(request, "login.html", status_code=status_code, error=error, username=username,
                      next_url=next_url, login_csrf=token)
    response.set_cookie(security.LOGIN_CSRF_COOKIE,
                        security.sign({"c": token}, secret=_secret(request), purpose="login",
                                      max_age=LOGIN_CSRF_MAX_AGE),
                        max_age=LOGIN_CSRF_MAX_AGE, httponly=True, samesite="lax", secure=cookie_secure(request),
                        path="/console")
    return response


@router.get("/console")
async def console_home(request: Request) -> Response:
    return RedirectResponse("/console/queue", status_code=303)


@router.get("/console/login")
async def login_form(request: Request, db: ConsoleDB, next: str = "") -> Response:
    if await security.load_session(db, request.cookies.get(security.SESSION_COOKIE), secret=_secret(request)):
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_url=safe_next(next, ""))


@router.post("/console/login")
async def login(request: Request, db: ConsoleDB,
                username: Annotated[str, Form(max_length=64)] = "",
                password: Annotated[str, Form(max_length=256)] = "",
                csrf_token: Annotated[str, Form(max_length=200)] = "",
                next: Annotated[str, Form(max_length=500)] = "") -> Response:
    expected = security.unsign(request.cookies.get(security.LOGIN_CSRF_COOKIE), secret=_secret(request),
                               purpose="login")
    if expected is None or not isinstance(expected.get("c"), str) or not security.tokens_match(csrf_token,
                                                                                              expected["c"]):
        raise CsrfFailed("로그인 화면이 만료되었습니다. 로그인 페이지를 새로 고친 뒤 다시 시도해 주세요.")
    if not username.strip() or not password:
        return _login_page(request, status_code=422, error="사용자 이름과 비밀번호를 입력해 주세요.",
                           username=username, next_url=safe_next(next, ""))
    ip = request.client.host if request.client else None
    try:
        staff = await staff_service.authenticate(db, username=username, password=password, ip=ip,
                                                 user_agent=request.headers.get("user-agent", ""))
    except Unauthorized as exc:
        # Returning normally commits the request's session: the recorded failure (what the throttle counts) is kept.
        return _login_page(request, status_code=401, error=exc.detail, username=username,
                           next_url=safe_next(next, ""))
    except LoginThrottled as exc:
        response = _login_page(request, status_code=429, error=exc.detail, username=username,
                               next_url=safe_next(next, ""))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Unprocessable as exc:
        # Something the database cannot store was typed (a NUL, say): the form comes back with the message.
        await db.rollback()
        return _login_page(request, status_code=exc.status_code, error=exc.detail,
                           username=username.replace("\x00", ""), next_url=safe_next(next, ""))
    new = await security.start_session(db, staff, secret=_secret(request), ip=ip,
                                       user_agent=request.headers.get("user-agent", ""))
    welcome = f"{staff.display_name or staff.username}님, 환영합니다."
    failures = await throttle.failures_since_previous_sign_in(db, staff_id=staff.id)
    if failures:
        last = failures[0]
        welcome += (f" 지난 로그인 이후 이 계정에 로그인 실패가 {len(failures)}번 있었습니다 (마지막 {fmt_dt(last.at)}, "
                    f"{last.ip}). 본인이 아니라면 비밀번호를 바꿔 주세요. (내 계정에서 자세히 보기)")
    response = redirect(request, safe_next(next), welcome, "info" if failures else "ok")
    set_session_cookie(request, response, new.cookie)
    response.delete_cookie(security.LOGIN_CSRF_COOKIE, path="/console")
    return response



@router.post("/console/logout")
async def logout(request: Request, db: ConsoleDB, user: PostUser) -> Response:
    """Sign out: this browser's session ends, and the API tokens issued to the account until now stop working."""
    row = await db.get(security.ConsoleSession, user.session_id)
    if row is not None:
        await security.end_session(db, row)
    staff = await db.get(Staff, user.id)
    staff.tokens_revoked_at = utcnow()
    response = redirect(request, "/console/login", "로그아웃했습니다.")
    response.delete_cookie(security.SESSION_COOKIE, path="/console")
    return response


@router.get("/console/account")
async def account(request: Request, db: ConsoleDB, user: CurrentUser) -> Response:
    failures = await throttle.recent_failures(db, staff_id=user.id, since=utcnow() - timedelta(days=30))
    return render(request, "account.html", failures=failures)


@router.post("/console/account/password")
async def change_password(request: Request, db: ConsoleDB, user: PostUser,
                          current_password: Annotated[str, Form(max_length=256)] = "",
                          new_password: Annotated[str, Form(max_length=256)] = "",
                          new_password2: Annotated[str, Form(max_length=256)] = "") -> Response:
    staff = await db.get(Staff, user.id)
    if not verify_password(current_password, staff.password_hash):
        raise Unprocessable("현재 비밀번호가 올바르지 않습니다.")
    if new_password != new_password2:
        raise Unprocessable("새 비밀번호 두 칸이 서로 다릅니다.")
    if new_password == current_password:
        raise Unprocessable("새 비밀번호는 현재 비밀번호와 달라야 합니다.")
    await staff_service.set_password(db, staff, new_password)
    # Every session of this account ends (other browsers included); this browser gets a new one.
    await security.end_all_sessions(db, staff.id)
    new = await security.start_session(db, staff, secret=_secret(request),
                                       ip=request.client.host if request.client else None,
                                       user_agent=request.headers.get("user-agent", ""))
    response = redirect(request, "/console/account", "비밀번호를 바꿨습니다. 다른 기기에서는 다시 로그인해야 합니다.")
    set_session_cookie(request, response, new.cookie)
    return response
