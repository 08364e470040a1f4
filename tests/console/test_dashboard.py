"""Dashboard figures: per-centre queue health in business hours, KB outcome shares per Korean day."""

from __future__ import annotations

import hashlib
import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from api.centers.models import Center, CenterClosure
from api.chats.models import Chat
from api.console import stats
from api.db import utcnow
from api.kb.models import AskLog
from api.tickets.models import Ticket
from tests.console.conftest import text_of

KST = ZoneInfo("Asia/Seoul")
_numbers = itertools.count(1)


def kst(*args) -> datetime:
    return datetime(*args, tzinfo=KST)


async def center_id(db, code: str) -> int:
    return await db.scalar(select(Center.id).where(Center.code == code))


async def add_ticket(db, center: int, *, created: datetime, first_due: datetime, responded: datetime | None = None,
                     resolved: datetime | None = None, resolution_due: datetime | None = None,
                     rating: int | None = None) -> Ticket:
    n = next(_numbers)
    ticket = Ticket(number=f"T-DASH-{n}", center_id=center, chat_id=10_000 + n,
                    status="resolved" if resolved else ("assigned" if responded else "open"), text=f"문의 {n}",
                    text_hash=hashlib.sha256(str(n).encode()).hexdigest(), created_at=created, updated_at=created,
                    first_response_due=first_due, resolution_due=resolution_due or first_due + timedelta(days=3),
                    first_responded_at=responded, resolved_at=resolved, rating=rating)
    db.add(ticket)
    await db.flush()
    return ticket


async def test_centre_stats_use_business_hours_and_the_due_times(db):
    seoul = await center_id(db, "seoul")
    now = kst(2026, 11, 23, 16, 0)
    # Monday 10:00 → 12:00: two business hours, on time.
    await add_ticket(db, seoul, created=kst(2026, 11, 23, 10), first_due=kst(2026, 11, 23, 14),
                     responded=kst(2026, 11, 23, 12), resolved=kst(2026, 11, 23, 13),
                     resolution_due=kst(2026, 11, 26, 18), rating=5)
    # Friday 17:00 → Monday 11:00: one hour on Friday, two on Monday (the weekend does not count); late.
    await add_ticket(db, seoul, created=kst(2026, 11, 20, 17), first_due=kst(2026, 11, 23, 10),
                     responded=kst(2026, 11, 23, 11), resolved=kst(2026, 11, 27, 9),
                     resolution_due=kst(2026, 11, 25, 18), rating=3)
    # Monday 10:00 → 10:30, on time, still open.
    await add_ticket(db, seoul, created=kst(2026, 11, 23, 10), first_due=kst(2026, 11, 23, 14),
                     responded=kst(2026, 11, 23, 10, 30))
    # Unanswered and past its first-response due time: a breach, and overdue.
    await add_ticket(db, seoul, created=kst(2026, 11, 23, 9), first_due=kst(2026, 11, 23, 13))
    # Unanswered, due later: neither a breach nor overdue yet.
    await add_ticket(db, seoul, created=kst(2026, 11, 23, 15), first_due=kst(2026, 11, 23, 19))
    # Before the period: not counted in the period figures (but it is open, so it is in the live counts).
    await add_ticket(db, seoul, created=kst(2026, 10, 1, 10), first_due=kst(2026, 10, 1, 14),
                     responded=kst(2026, 10, 5, 10), resolution_due=kst(2026, 12, 31, 18))

    rows, totals = await stats.center_stats(db, since=kst(2026, 11, 1), now=now)
    s = next(r for r in rows if r.code == "seoul")
    assert s.created == 5 and s.responded == 3
    assert s.median_first_response == 2 * 3600  # of 2 h, 3 h and 30 min
    assert s.first_response_on_time == 2 / 4  # two on time, one late, one unanswered past due
    assert s.resolution_on_time == 1 / 2
    assert s.rating_avg == 4.0 and s.rating_count == 2
    assert s.open == 4 and s.overdue == 1
    assert totals.open == 4 and totals.median_first_response == 2 * 3600
    busan = next(r for r in rows if r.code == "busan")
    assert busan.created == 0 and busan.median_first_response is None and busan.first_response_on_time is None


async def test_an_extra_closure_is_not_business_time(db):
    seoul = await center_id(db, "seoul")
    db.add(CenterClosure(center_id=seoul, day=date(2026, 11, 23), reason="휴무"))
    # Friday 17:00 → Tuesday 10:00 with Monday closed: one hour Friday + one hour Tuesday.
    await add_ticket(db, seoul, created=kst(2026, 11, 20, 17), first_due=kst(2026, 11, 24, 12),
                     responded=kst(2026, 11, 24, 10))
    rows, _ = await stats.center_stats(db, since=kst(2026, 11, 1), now=kst(2026, 11, 24, 12),
                                       center_ids=[seoul])
    assert rows[0].median_first_response == 2 * 3600


async def test_outcome_series_counts_by_korean_day_and_skips_small_talk(db):
    def log(at: datetime, outcome: str, kind: str = "question") -> AskLog:
        return AskLog(text="q", outcome=outcome, kind=kind, created_at=at, score=0.5, candidates=[])

    db.add_all([
        log(kst(2026, 11, 23, 23, 30), "answered"),  # 14:30 UTC on the 23rd
        log(kst(2026, 11, 24, 0, 30), "escalate"),  # 15:30 UTC on the 23rd, but the 24th in Korea
        log(kst(2026, 11, 24, 9), "clarify"),
        log(kst(2026, 11, 24, 9), "answered"),
        log(kst(2026, 11, 24, 10), "escalate", kind="chitchat"),  # not a question
        log(kst(2026, 11, 25, 0, 1), "answered"),  # after the range
    ])
    await db.flush()
    days = await stats.outcome_series(db, since=date(2026, 11, 23), until=date(2026, 11, 24))
    assert [b.start for b in days] == [date(2026, 11, 23), date(2026, 11, 24)]
    assert days[0].counts == {"answered": 1, "clarify": 0, "escalate": 0}
    assert days[1].counts == {"answered": 1, "clarify": 1, "escalate": 1}
    assert days[1].share("escalate") == 1 / 3
    weeks = await stats.outcome_series(db, since=date(2026, 11, 23), until=date(2026, 11, 24), by="week")
    assert len(weeks) == 1 and weeks[0].start == date(2026, 11, 23) and weeks[0].total == 4


async def test_dashboard_page(admin_client, db):
    seoul = await center_id(db, "seoul")
    now = utcnow()
    await add_ticket(db, seoul, created=now - timedelta(hours=1), first_due=now - timedelta(minutes=10))
    db.add(AskLog(text="q", outcome="answered", kind="question", created_at=now, score=0.9, candidates=[]))
    db.add(AskLog(text="q", outcome="escalate", kind="question", created_at=now, score=0.1, candidates=[]))
    await db.commit()
    page = await admin_client.get("/console/dashboard?days=7")
    assert page.status_code == 200
    html = text_of(page)
    assert "센터별 현황" in html and ">서울</a>" in html and "지식베이스 응답 결과" in html
    assert "기간 내 질문 2건" in html and "답변 1건 (50%)" in html and "상담 연결 1건 (50%)" in html
    assert '<svg class="chart"' in html and 'class="badge overdue">1<' in html
    assert (await admin_client.get("/console/dashboard?days=90")).status_code == 200
    assert (await admin_client.get("/console/dashboard?days=abc")).status_code == 400


async def test_a_reply_outside_business_hours_is_labelled_so(admin_client, db):
    seoul = await center_id(db, "seoul")
    # Asked on the last Saturday and answered on the Sunday after it: no business time passed ("0분").
    today = utcnow().astimezone(KST).date()
    sunday = today - timedelta(days=(today.weekday() - 6) % 7 or 7)
    saturday = sunday - timedelta(days=1)
    await add_ticket(db, seoul, created=kst(saturday.year, saturday.month, saturday.day, 10),
                     first_due=kst(sunday.year, sunday.month, sunday.day, 23),
                     responded=kst(sunday.year, sunday.month, sunday.day, 11))
    page = " ".join(text_of(await admin_client.get("/console/dashboard")).split())
    assert "열린 문의" in page and "티켓" not in page
    assert "첫 응답까지 걸린 업무 시간 (중앙값)" in page and "첫 응답 기한 준수율 (업무 시간 기준)" in page
    assert "업무 시간 밖에 보낸 답은 0분으로 셉니다" in page
    assert "업무 시간 외 응답 1건 포함" in page and "업무 시간 0분 <span class=\"badge muted\">업무 시간 외 응답 1건</span>" in page


async def test_outside_hours_replies_are_counted(db):
    seoul = await center_id(db, "seoul")
    # Friday 17:50 → Sunday 11:00: counted as 10 business minutes, sent outside business hours.
    await add_ticket(db, seoul, created=kst(2026, 11, 20, 17, 50), first_due=kst(2026, 11, 23, 13, 50),
                     responded=kst(2026, 11, 22, 11))
    # Monday 10:00 → 10:30: inside business hours.
    await add_ticket(db, seoul, created=kst(2026, 11, 23, 10), first_due=kst(2026, 11, 23, 14),
                     responded=kst(2026, 11, 23, 10, 30))
    rows, totals = await stats.center_stats(db, since=kst(2026, 11, 1), now=kst(2026, 11, 23, 16))
    s = next(r for r in rows if r.code == "seoul")
    assert (s.responded, s.outside_hours, totals.outside_hours) == (2, 1, 1)


async def test_questions_and_tickets_are_split_by_channel(admin_client, db):
    seoul = await center_id(db, "seoul")
    now = utcnow()
    kakao_chat = Chat(id=2**60 + 9001, channel="kakao", address="botuser-dash")
    web_chat = Chat(id=2**60 + 9002, channel="web", address="websession-dash")
    db.add_all([kakao_chat, web_chat])
    await db.flush()
    for chat_id in (kakao_chat.id, kakao_chat.id, web_chat.id, 10_500):  # 10_500: a Telegram chat of old
        ticket = await add_ticket(db, seoul, created=now - timedelta(hours=1), first_due=now + timedelta(hours=3))
        ticket.chat_id = chat_id
    for channel, outcome in (("kakao", "answered"), ("kakao", "escalate"), ("web", "clarify"),
                             ("telegram", "answered")):
        db.add(AskLog(text="q", outcome=outcome, kind="question", channel=channel, created_at=now, score=0.5,
                      candidates=[]))
    await db.commit()
    rows = {c.channel: c for c in await stats.channel_stats(db, since=now - timedelta(days=1))}
    assert rows["kakao"].counts == {"answered": 1, "clarify": 0, "escalate": 1} and rows["kakao"].tickets == 2
    assert rows["web"].questions == 1 and rows["web"].tickets == 1
    assert rows["telegram"].questions == 1 and rows["telegram"].tickets == 1
    assert rows["local"].questions == 0 and rows["local"].tickets == 0
    page = " ".join(text_of(await admin_client.get("/console/dashboard?days=7")).split())
    assert "문의 경로별" in page and "카카오톡" in page and "웹 채팅" in page
    queue = text_of(await admin_client.get("/console/queue"))
    assert "카카오톡" in queue and "웹 채팅" in queue and "텔레그램" in queue
    ticket_id = await db.scalar(select(Ticket.id).where(Ticket.chat_id == web_chat.id))
    detail = " ".join(text_of(await admin_client.get(f"/console/tickets/{ticket_id}")).split())
    assert "문의 경로 웹 채팅" in detail or "문의 경로</dt><dd class=\"channel\">웹 채팅" in detail
