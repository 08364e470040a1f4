"""Helpers for the ticket tests: a pinned request clock, ticket creation through the API, centre groups."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from api.centers.models import Center
from api.db import utcnow
from api.outbox.models import OutboxMessage
from api.tickets.endpoints import request_now

KST = ZoneInfo("Asia/Seoul")

# One factory address per centre, and the centre it must route to.
ADDRESS_FOR = {
    "seoul": "서울 금천구 가산동",
    "busan": "부산 사하구 신평동",
    "daegu": "대구 북구 노원동",
    "gwangju": "광주 광산구 평동",
    "incheon": "인천 서구 가좌동",
    "daejeon": "대전 서구 관저동",
    "ulsan": "울산 남구 여천동",
    "sejong": "세종시 소정면",
    "gyeonggi": "경기 수원시 권선구",
    "gangwon": "강원특별자치도 강릉시 옥계면",
    "chungbuk": "충북 진천군 덕산읍",
    "chungnam": "충남 아산시 탕정면",
    "jeonbuk": "전북 익산시",
    "jeonnam": "전남 광양시 태인동",
    "gyeongbuk": "경북 김천시 어모면",
    "gyeongnam": "경남 진주시 정촌면",
    "jeju": "제주 제주시 조천읍",
    "gyeonggi-daejin": "경기 포천시 내촌면",
    "pohang": "경북 포항시 남구 대송면",
}


def kst(*args) -> datetime:
    return datetime(*args, tzinfo=KST)


class Clock:
    """The request clock of the app under test: ``clock.now = kst(2026, 9, 25, 3)``; None means real time."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now or utcnow()


@pytest.fixture
def clock(app) -> Clock:
    c = Clock()
    app.dependency_overrides[request_now] = c
    return c


@pytest.fixture
def create_ticket(client, service_headers):
    """POST /api/v1/tickets as the bot; returns the response (status asserted by the caller)."""
    counter = iter(range(1, 100_000))

    async def factory(*, center: str = "seoul", chat_id: int | None = None, text: str | None = None, **fields):
        n = next(counter)
        body = {"chat_id": chat_id if chat_id is not None else 7_000_000 + n,
                "text": text or f"스마트공장 지원사업 관련 문의드립니다. ({n})",
                "address": ADDRESS_FOR[center]}
        body.update(fields)
        return await client.post("/api/v1/tickets", json=body, headers=service_headers)

    return factory


@pytest.fixture
def new_ticket(create_ticket):
    """Create a ticket and return its JSON (asserting 201)."""

    async def factory(**kwargs) -> dict:
        r = await create_ticket(**kwargs)
        assert r.status_code == 201, r.text
        return r.json()

    return factory


async def set_staff_group(db, code: str, chat_id: int) -> Center:
    center = await db.scalar(select(Center).where(Center.code == code))
    center.telegram_chat_id = chat_id
    await db.commit()
    return center


async def outbox_rows(db, **where) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(OutboxMessage, key) == value)
    return list((await db.scalars(stmt)).all())


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def make_staff(make_staff, db):
    """The shared factory, committed (a savepoint release): an error response later in the test rolls the
    request back, and must not take the test's staff with it."""

    async def factory(*args, **kwargs):
        result = await make_staff(*args, **kwargs)
        await db.commit()
        return result

    return factory
