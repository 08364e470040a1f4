"""Helpers for the console tests: signing in through the login form, CSRF tokens from pages, sample data."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.kb import entries as kb_entries
from api.kb.models import AskLog
from api.staff.models import Staff
from api.tickets import owner_actions as tickets_owner_actions
from api.tickets.models import Ticket

PASSWORD = "password-123"
SOURCE = ("중소벤처기업부 스마트공장 보급·확산 사업 공고", "https://www.mss.go.kr/site/smba/main.do")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]*)"')

# Factory addresses that route to the named centres.
ADDRESSES = {"seoul": "서울특별시 금천구 가산디지털1로 100", "busan": "부산광역시 강서구 녹산산업중로 50",
             "gyeonggi": "경기도 화성시 향남읍 발안공단로 10"}


def text_of(response: httpx.Response) -> str:
    """The page's HTML with entities decoded (Jinja escapes quotes in messages)."""
    return html.unescape(response.text)


def csrf_from(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD, *,
                next_url: str = "") -> httpx.Response:
    page = await client.get("/console/login")
    assert page.status_code == 200
    return await client.post("/console/login", data={"username": username, "password": password,
                                                      "csrf_token": csrf_from(page.text), "next": next_url})


async def post_form(client: httpx.AsyncClient, page_url: str, action: str, data: dict | None = None,
                    **kwargs) -> httpx.Response:
    """Open ``page_url`` (for its CSRF token, as a browser would) and post ``data`` to ``action``."""
    page = await client.get(page_url)
    assert page.status_code == 200, page.text[:500]
    form = {"csrf_token": csrf_from(page.text), **(data or {})}
    return await client.post(action, data=form, headers={"referer": f"http://test{page_url}"}, **kwargs)


@pytest.fixture
def console_login():
    return login


@pytest.fixture
async def agent(make_staff) -> Staff:
    staff, _ = await make_staff("agent", "seoul")
    return staff


@pytest.fixture
async def admin(make_staff) -> Staff:
    staff, _ = await make_staff("admin", None)
    return staff


@pytest.fixture
async def agent_client(app, agent) -> httpx.AsyncClient:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        response = await login(c, agent.username)
        assert response.status_code == 303, response.text[:500]
        yield c


@pytest.fixture
async def admin_client(app, admin) -> httpx.AsyncClient:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        response = await login(c, admin.username)
        assert response.status_code == 303, response.text[:500]
        yield c


@dataclass(frozen=True)
class TicketRef:
    """Plain values of a ticket: they stay readable after a failed request rolled the shared session back."""

    id: int
    number: str
    center_id: int


async def make_ticket(db: AsyncSession, center: str = "seoul", *, chat_id: int = 5001, text: str = "스마트공장 지원사업 문의",
                      company_name: str | None = "가산정밀", candidates: list[dict] | None = None, **kwargs):
    ask_log_id = None
    if candidates is not None:
        log = AskLog(text=text, outcome="escalate", kind="question", chat_id=chat_id, channel="telegram",
                     score=candidates[0]["score"] if candidates else 0.0, candidates=candidates)
        db.add(log)
        await db.flush()
        ask_log_id = log.id
    created = await tickets_owner_actions.create_ticket(db, chat_id=chat_id, text=text, address=ADDRESSES[center],
                                          company_name=company_name, ask_log_id=ask_log_id, **kwargs)
    await db.commit()
    t = created.ticket
    return TicketRef(id=t.id, number=t.number, center_id=t.center_id)


async def load_ticket(db: AsyncSession, ref: TicketRef) -> Ticket:
    """The ticket row, freshly read."""
    return await db.scalar(select(Ticket).where(Ticket.id == ref.id).execution_options(populate_existing=True))


async def make_entry(db: AsyncSession, entry_id: str = "ratio-government", *, publish: bool = True,
                     author: Staff | None = None):
    entry, rev = await kb_entries.create_entry(
        db, entry_id=entry_id, topic="support-ratio", title="정부지원 비율은 얼마인가요?",
        paraphrases=["정부에서 몇 프로 지원해 줘요", "국비 비율 얼마임", "정부 지원금 비율 알려주세요", "보조금 비율이 어떻게 돼요"],
        keywords=["지원비율", "국비"],
        answer="2025년 공고 기준으로 총사업비의 50% 이내를 정부가 지원해요. 올해 공고를 확인해 주세요.",
        source_title=SOURCE[0], source_url=SOURCE[1], year=2025, valid_from=date(2019, 1, 1), author=author,
        publish=publish)
    await db.commit()
    return entry, rev
