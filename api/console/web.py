"""Console plumbing shared by every page: templates, the signed-in user, CSRF, error pages, flash messages.

Errors of every request under /console become Korean pages in the console's layout (:func:`render_error`,
registered with api.errors) instead of the API's JSON; :class:`ConsoleRoute` only sends a request without a
live session to the login page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.models import Center
from api.console import security
from api.db import get_session, utcnow
from api.errors import GENERIC_500_DETAIL, ErrorReply, Forbidden, HotlineError, Unauthorized, Unprocessable
from api.kb.changes import author_display

BASE = Path(__file__).resolve().parent
TEMPLATES_DIR = BASE / "templates"
STATIC_DIR = BASE / "static"
KST = ZoneInfo("Asia/Seoul")
WEEKDAYS = "월화수목금토일"


class LoginRequired(Unauthorized):
    code = "login_required"
    detail = "로그인이 필요합니다."


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    detail = "보안 토큰이 없거나 만료되었습니다. 페이지를 새로 고친 뒤 다시 시도해 주세요."


class AdminOnly(Forbidden):
    code = "admin_only"
    detail = "관리자만 볼 수 있는 페이지입니다."


@dataclass(frozen=True)
class UserView:
    """The signed-in staff member as plain data (safe to use after a rollback)."""

    id: int
    username: str
    display_name: str
    role: str
    center_id: int | None
    center_name: str | None
    session_id: int
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def label(self) -> str:
        return self.display_name or self.username


# -- formatting ----------------------------------------------------------------------------------

def to_kst(value: datetime) -> datetime:
    return value.astimezone(KST)


def fmt_dt(value: datetime | None, style: str = "short") -> str:
    if value is None:
        return "-"
    local = to_kst(value)
    wd = WEEKDAYS[local.weekday()]
    if style == "full":
        return f"{local.year}. {local.month}. {local.day}.({wd}) {local:%H:%M}"
    if style == "date":
        return f"{local.year}. {local.month}. {local.day}.({wd})"
    now = to_kst(utcnow())
    if local.year != now.year:
        return f"{local.year}. {local.month}. {local.day}. {local:%H:%M}"
    return f"{local.month}. {local.day}.({wd}) {local:%H:%M}"


def fmt_date(value: date | None) -> str:
    return value.isoformat() if value else ""


def fmt_duration(seconds: float | None) -> str:
    """A duration in Korean, minutes precision: "2일 3시간", "1시간 20분", "5분"."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}일 {hours}시간" if hours else f"{days}일"
    if hours:
        return f"{hours}시간 {mins}분" if mins else f"{hours}시간"
    return f"{mins}분" if mins else "1분 미만"


def fmt_business_hours(seconds: float | None) -> str:
    """Business time in hours and minutes (a business day is not 24 hours, so no days)."""
    if seconds is None:
        return "-"
    minutes = int(round(seconds / 60))
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours}시간 {mins}분"
    if hours:
        return f"{hours}시간"
    return f"{mins}분"


@dataclass(frozen=True)
class DueView:
    text: str
    css: str


def due_view(due: datetime | None, now: datetime | None = None, *, done: bool = False) -> DueView:
    """How a due time reads in the queue: "2시간 10분 남음" / "45분 지남", with a colour class."""
    if due is None:
        return DueView("-", "muted")
    if done:
        return DueView("완료", "muted")
    now = now or utcnow()
    left = (due - now).total_seconds()
    if left < 0:
        return DueView(f"{fmt_duration(-left)} 지남", "overdue")
    if left <= 3600:
        return DueView(f"{fmt_duration(left)} 남음", "soon")
    return DueView(f"{fmt_duration(left)} 남음", "ok")


# -- owner text: isolated, never steering the page ---------------------------------------------------------------

# Bidirectional formatting controls: Korean text never needs them, and in a name or a message they can make text
# read backwards to staff (U+202E). Stripped wherever owner text is shown.
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
# Zero-width characters: meant only inside a message (a joined emoji); stripped from one-line text (names,
# excerpts), where they only hide differences.
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def owner_text(value: object) -> Markup:
    """Text an owner wrote, whole (a message): bidi controls stripped, isolated from the page in ``<bdi>``."""
    text = "" if value is None else str(value)
    return Markup('<bdi class="owner">{}</bdi>').format(text.translate(BIDI_CONTROLS))


def excerpt_text(value: object, limit: int = 120) -> str:
    """One line of owner text for lists and headings: controls and zero-width characters stripped, spaces
    collapsed, at most ``limit`` characters (a long unbroken line cannot squeeze a list's columns)."""
    text = " ".join(("" if value is None else str(value)).translate(BIDI_CONTROLS).translate(ZERO_WIDTH).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def excerpt(value: object, limit: int = 120) -> Markup:
    """``excerpt_text`` isolated in ``<bdi>``."""
    return Markup('<bdi class="owner">{}</bdi>').format(excerpt_text(value, limit))


def _csrf_field(context_user: UserView | None, login_csrf: str | None = None) -> Markup:
    token = context_user.csrf if context_user is not None else (login_csrf or "")
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(token)



CHANNEL_NAMES = {"telegram": "텔레그램", "kakao": "카카오톡", "web": "웹 채팅", "local": "터미널 채팅"}  # where owners asked

env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)
env.filters["dt"] = fmt_dt
env.filters["d"] = fmt_date
env.filters["duration"] = fmt_duration
env.filters["bhours"] = fmt_business_hours
env.filters["due"] = due_view
env.filters["pct"] = lambda v: "-" if v is None else f"{v * 100:.0f}%"
env.globals["csrf_field"] = _csrf_field
env.globals["channel_names"] = CHANNEL_NAMES
env.filters["author"] = author_display
env.filters["owner"] = owner_text
env.filters["excerpt"] = excerpt

STATUS_LABELS = {"open": "접수", "assigned": "처리 중", "resolved": "해결됨"}
OUTCOME_LABELS = {"answered": "답변", "clarify": "되묻기", "escalate": "상담 연결"}
env.globals["STATUS_LABELS"] = STATUS_LABELS
env.globals["OUTCOME_LABELS"] = OUTCOME_LABELS


# -- flash messages (a short-lived signed cookie) ---------------------------------------------------

def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


def read_flash(request: Request) -> list[dict[str, str]]:
    value = security.unsign(request.cookies.get(security.FLASH_COOKIE), secret=_secret(request), purpose="flash")
    items = (value or {}).get("m", [])
    return [m for m in items if isinstance(m, dict) and isinstance(m.get("text"), str)][:5]


def cookie_secure(request: Request) -> bool:
    """Secure cookies over https, and always in production (where TLS usually ends at a proxy in front)."""
    return request.url.scheme == "https" or request.app.state.settings.env == "production"


def set_flash(request: Request, response: Response, text: str, kind: str = "ok") -> None:
    items = [{"kind": kind, "text": text[:500]}]
    response.set_cookie(security.FLASH_COOKIE, security.sign({"m": items}, secret=_secret(request), purpose="flash",
                                                             max_age=120),
                        max_age=120, httponly=True, samesite="lax", path="/console",
                        secure=cookie_secure(request))


# -- responses -------------------------------------------------------------------------------------

def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user: UserView | None = getattr(request.state, "console_user", None)
    flashes = read_flash(request)
    context.setdefault("now", utcnow())
    html = env.get_template(template).render(request=request, user=user, flashes=flashes, path=request.url.path,
                                              **context)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    if flashes:
        response.delete_cookie(security.FLASH_COOKIE, path="/console")
    return response


def redirect(request: Request, url: str, flash: str | None = None, kind: str = "ok") -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash:
        set_flash(request, response, flash, kind)
    return response


def safe_next(url: str | None, default: str = "/console/queue") -> str:
    """Only same-site console paths may be redirect targets (no open redirects)."""
    if not url:
        return default
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console") or "\\" in url:
        return default
    return url


def _back_url(request: Request) -> str | None:
    referer = request.headers.get("referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.url.netloc:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if path.startswith("/console") and not path.startswith("/console/login") else None


ERROR_TITLES = {400: "잘못된 요청", 401: "로그인 필요", 403: "권한 없음", 404: "찾을 수 없음", 405: "허용되지 않는 요청",
                409: "충돌", 413: "내용이 너무 큼", 422: "입력 확인 필요", 429: "요청이 너무 많음", 500: "일시적 오류",
                503: "잠시 사용할 수 없음"}
# What to do next, shown under the message (the messages themselves say what happened).
ERROR_HINTS = {400: "이전 화면으로 돌아가 입력한 내용을 고친 뒤 다시 보내 주세요.",
               404: "주소가 바뀌었거나 볼 수 없는 항목입니다. 대기열이나 메뉴에서 다시 찾아 주세요.",
               405: "이 주소는 이런 방식으로 열 수 없습니다. 화면의 링크나 버튼을 이용해 주세요.",
               409: "이전 화면을 새로 고쳐 최신 내용을 확인한 뒤 다시 시도해 주세요.",
               413: "내용을 줄이거나 나누어 다시 보내 주세요.",
               422: "이전 화면으로 돌아가 입력한 내용을 고친 뒤 다시 보내 주세요.",
               429: "잠시 후 다시 시도해 주세요.",
               500: "문제가 계속되면 시스템 관리자에게 알려 주세요.",
               503: "문제가 계속되면 시스템 관리자에게 알려 주세요."}
INVALID_INPUT = "입력 형식이 올바르지 않습니다. 입력한 값을 확인해 주세요."
PAGE_NOT_FOUND = "요청한 페이지를 찾을 수 없습니다. 주소를 확인해 주세요."
KEPT_HEADERS = ("retry-after", "allow")


def error_page(request: Request, status_code: int, detail: str, *,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    """The console's error page: what happened, what to do, and the way back (the previous page when it was a
    console page, and the queue). Nothing but the Korean message: no codes of the database, no traces."""
    posted = request.method not in ("GET", "HEAD")
    notes = []
    if posted and 400 <= status_code < 500 and status_code not in (401, 403, 404, 405):
        notes.append("보낸 내용은 저장되지 않았습니다.")
    elif posted and status_code >= 500:
        notes.append("보낸 내용이 저장되지 않았을 수 있습니다. 잠시 후 이전 화면을 새로 고쳐 확인해 주세요.")
    if not posted and status_code in (400, 422):
        notes.append("주소나 검색 조건을 확인해 주세요.")  # nothing was typed into a form
    elif hint := ERROR_HINTS.get(status_code):
        notes.append(hint)
    retry = None
    if not posted and status_code in (429, 500, 503):
        retry = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = render(request, "error.html", status_code=status_code, status=status_code,
                      title=ERROR_TITLES.get(status_code, "오류"), detail=detail, notes=notes,
                      back=_back_url(request), retry=retry, offer_login=status_code in (401, 403, 404))
    for name, value in (headers or {}).items():
        if name.lower() in KEPT_HEADERS:
            response.headers[name] = value
    return response


def login_redirect(request: Request) -> Response:
    """Where a request without a live session goes: the login page (back to this page afterwards, for a GET)."""
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)
    return redirect(request, "/console/login", "로그인이 필요합니다. 다시 로그인해 주세요.", "error")


async def render_error(request: Request, reply: ErrorReply) -> Response:
    """Every error of a request under /console, whatever raised it (a console route, the database guard, the
    database being down, routing, a bug), as the console's page. Registered with api.errors in one place
    (api.console.router); the handlers there keep one code path per error type and the API keeps its JSON.

    By the time this runs the request's session has rolled back (the error went through the session
    dependency), so a failed form post stored nothing. Routes that can show their form again with the message
    and the typed values (the KB editor, the login form) catch the error themselves instead."""
    exc = reply.exc
    if isinstance(exc, LoginRequired):
        return login_redirect(request)
    status, detail = reply.status_code, reply.detail
    if isinstance(exc, RequestValidationError):
        status, detail = 400, INVALID_INPUT
    elif status == 404 and not isinstance(exc, HotlineError):
        detail = PAGE_NOT_FOUND
    elif status >= 500 and status != 503:
        detail = GENERIC_500_DETAIL
    return error_page(request, status, detail, headers=reply.headers)


class ConsoleRoute(APIRoute):
    """Console routes: a request without a live session is sent to the login page.

    Signing in is not an error: the redirect is the route's normal answer, so the request's session commits and
    the clean-up of a dead session (deleted by ``security.load_session``) is kept. Every other error leaves the
    route, rolls the session back and becomes the console's error page in :func:`render_error`."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return login_redirect(request)

        return console_handler


# -- dependencies ------------------------------------------------------------------------------------

async def console_db(request: Request,
                     db: Annotated[AsyncSession, Depends(get_session, scope="function")]) -> AsyncSession:
    """The request's session. Function scope: it commits when the handler returns, *before* the response is
    sent, so the page a redirect leads to already sees the change (FastAPI's default for dependencies with
    yield is to clean up after the response has gone out)."""
    return db


ConsoleDB = Annotated[AsyncSession, Depends(console_db)]


async def current_user(request: Request, db: ConsoleDB) -> UserView:
    loaded = await security.load_session(db, request.cookies.get(security.SESSION_COOKIE), secret=_secret(request))
    if loaded is None:
        raise LoginRequired()
    row, staff = loaded
    center_name = None
    if staff.center_id is not None:
        center_name = await db.scalar(select(Center.name).where(Center.id == staff.center_id))
    user = UserView(id=staff.id, username=staff.username, display_name=staff.display_name, role=staff.role,
                    center_id=staff.center_id, center_name=center_name, session_id=row.id, csrf=row.csrf_token)
    request.state.console_user = user
    request.state.staff = staff
    return user


async def admin_user(request: Request, user: Annotated[UserView, Depends(current_user)]) -> UserView:
    if not user.is_admin:
        raise AdminOnly()
    return user


async def _check_csrf(request: Request, user: UserView) -> None:
    given = request.headers.get("x-csrf-token")
    if given is None:
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not security.tokens_match(given, user.csrf):
        raise CsrfFailed()
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise CsrfFailed("다른 사이트에서 보낸 요청은 처리하지 않습니다.")


async def post_user(request: Request, user: Annotated[UserView, Depends(current_user)]) -> UserView:
    await _check_csrf(request, user)
    return user


async def post_admin(request: Request, user: Annotated[UserView, Depends(admin_user)]) -> UserView:
    await _check_csrf(request, user)
    return user


CurrentUser = Annotated[UserView, Depends(current_user)]
AdminUser = Annotated[UserView, Depends(admin_user)]
PostUser = Annotated[UserView, Depends(post_user)]
PostAdmin = Annotated[UserView, Depends(post_admin)]


def staff_principal(request: Request):
    """The signed-in staff member as the API's Principal, for calling the ticket and KB services."""
    from api.auth.deps import Principal

    staff = getattr(request.state, "staff", None)
    if staff is None:
        raise LoginRequired()
    return Principal("staff", staff)


def page_window(page: int, pages: int, width: int = 2) -> list[int]:
    lo, hi = max(1, page - width), min(pages, page + width)
    return list(range(lo, hi + 1))


def parse_date(value: str | None, field: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Unprocessable(f"{field} 날짜 형식이 올바르지 않습니다. (예: 2026-03-01)") from None


def parse_int(value: str | None, field: str, *, required: bool = False) -> int | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise Unprocessable(f"{field}을(를) 입력해 주세요.")
        return None
    try:
        return int(value)
    except ValueError:
        raise Unprocessable(f"{field}은(는) 숫자로 입력해 주세요.") from None


__all__ = ["AdminUser", "ConsoleDB", "ConsoleRoute", "CurrentUser", "PostAdmin", "PostUser", "UserView", "env",
           "error_page", "redirect", "render", "render_error", "safe_next"]
