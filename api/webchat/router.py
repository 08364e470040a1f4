"""The web chat page for centres' websites: ``/chat`` (Korean, mobile first, this origin's script and stylesheet
only), its static files, and ``/chat/embed.js``, the script a centre pastes into its site.

The page talks to the web chat API (``/api/v1/channels/web/...``, ``api.channels.web``). It may be framed by the
sites in ``HOTLINE_WEB_FRAME_ANCESTORS`` (``api.headers``); the console never.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.contact import contact_lines
from api.centers.models import Center
from api.centers.service import UnknownCenter, get_center_by_code
from api.channels import web
from api.db import SessionDep
from api.errors import NotFound

BASE = Path(__file__).resolve().parent
STATIC_DIR = BASE / "static"
EMBED_MAX_AGE = 3600

router = APIRouter(include_in_schema=False)
router.mount("/chat/static", StaticFiles(directory=STATIC_DIR), name="chat-static")
env = Environment(loader=FileSystemLoader(str(BASE / "templates")), autoescape=select_autoescape(["html"]))


def retention_words(days: int) -> str:
    """``1095`` → ``"3년"``; ``90`` → ``"90일"``."""
    return f"{days // 365}년" if days % 365 == 0 else f"{days}일"


async def _centre(session: AsyncSession, hint: str) -> Center | None:
    if not hint:
        return None
    try:
        return await get_center_by_code(session, hint[:40])
    except UnknownCenter:
        return None


@router.get("/chat")
async def chat_page(request: Request, session: SessionDep, centre: str = "") -> HTMLResponse:
    """The chat: the consent notice first, or the conversation of the owner's session."""
    settings = request.app.state.settings
    if not settings.web_chat:
        raise NotFound("웹 채팅을 사용하지 않도록 설정되어 있습니다.", code="channel_disabled")
    center = await _centre(session, centre)
    current = await web.find(session, address=web.read_session(request.cookies.get(web.COOKIE),
                                                              secret=settings.secret_key))
    page = env.get_template("chat.html").render(
        centre=center, contacts=contact_lines(center) if center is not None else [],
        has_session=current is not None, retention=retention_words(settings.retention_days))
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.get("/chat/embed.js")
async def embed_script() -> FileResponse:
    """What a centre pastes into its website: ``<script src=".../chat/embed.js" data-centre="gyeongnam" async>``."""
    return FileResponse(STATIC_DIR / "embed.js", media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": f"public, max-age={EMBED_MAX_AGE}"})
