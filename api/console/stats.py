"""Dashboard figures: per-centre queue health and the knowledge base's outcome shares over time.

Counts and averages are computed in SQL; the median first-response time needs each ticket's business
time (the centre's calendar: hours, public holidays, extra closures), so it is computed in Python over
the tickets of the chosen period only.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.models import Center, CenterClosure
from api.chats.models import Chat
from api.chats.service import LOCAL_CHAT_MIN
from api.contract import CHANNELS
from api.kb.models import AskLog
from api.sla import BusinessCalendar
from api.tickets.models import Ticket
from api.tickets.base import overdue_condition  # the queue's own definition

KST = ZoneInfo("Asia/Seoul")
OUTCOMES = ("answered", "clarify", "escalate")


@dataclass
class CenterStats:
    center_id: int
    code: str
    name: str
    open: int = 0
    overdue: int = 0
    created: int = 0
    responded: int = 0
    median_first_response: float | None = None  # business seconds
    outside_hours: int = 0  # first responses sent outside the centre's business hours (0 business seconds later)
    first_response_on_time: float | None = None  # share of tickets whose first-response due time has come
    resolution_on_time: float | None = None
    rating_avg: float | None = None
    rating_count: int = 0


@dataclass
class Totals:
    open: int = 0
    overdue: int = 0
    created: int = 0
    median_first_response: float | None = None
    outside_hours: int = 0
    first_response_on_time: float | None = None
    rating_avg: float | None = None
    rating_count: int = 0


@dataclass
class OutcomeBucket:
    label: str
    start: date
    counts: dict[str, int] = field(default_factory=lambda: {o: 0 for o in OUTCOMES})

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, outcome: str) -> float:
        return self.counts[outcome] / self.total if self.total else 0.0


def calendar_for(center: Center, closures: list[date]) -> BusinessCalendar:
    return BusinessCalendar(opens=center.opens, closes=center.closes, closures=closures)


async def center_stats(db: AsyncSession, *, since: datetime, now: datetime,
                       center_ids: list[int] | None = None) -> tuple[list[CenterStats], Totals]:
    """Queue health of each centre: live open/overdue counts, and for tickets created since ``since``:
    the median first-response time in business hours, SLA compliance and the average rating."""
    centers_q = select(Center).order_by(Center.id)
    if center_ids is not None:
        centers_q = centers_q.where(Center.id.in_(center_ids))
    centers = list((await db.scalars(centers_q)).all())
    stats = {c.id: CenterStats(center_id=c.id, code=c.code, name=c.name) for c in centers}
    ids = list(stats)

    live = await db.execute(
        select(Ticket.center_id, func.count(),
               func.sum(case((overdue_condition(now), 1), else_=0)))
        .where(Ticket.status != "resolved", Ticket.center_id.in_(ids)).group_by(Ticket.center_id))
    for center_id, open_count, overdue in live.all():
        stats[center_id].open = open_count
        stats[center_id].overdue = int(overdue or 0)

    first_due_passed = or_(Ticket.first_responded_at.is_not(None), Ticket.first_response_due < now)
    first_on_time = and_(Ticket.first_responded_at.is_not(None),
                         Ticket.first_responded_at <= Ticket.first_response_due)
    resolution_due_passed = or_(Ticket.resolved_at.is_not(None), Ticket.resolution_due < now)
    resolution_on_time = and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at <= Ticket.resolution_due)
    period = await db.execute(
        select(Ticket.center_id, func.count(),
               func.sum(case((first_due_passed, 1), else_=0)),
               func.sum(case((first_on_time, 1), else_=0)),
               func.sum(case((resolution_due_passed, 1), else_=0)),
               func.sum(case((resolution_on_time, 1), else_=0)),
               func.avg(Ticket.rating), func.count(Ticket.rating))
        .where(Ticket.created_at >= since, Ticket.center_id.in_(ids)).group_by(Ticket.center_id))
    all_first_due = all_first_ok = 0
    rating_sum = 0.0
    for center_id, created, f_due, f_ok, r_due, r_ok, rating_avg, rating_count in period.all():
        s = stats[center_id]
        s.created = created
        f_due, f_ok, r_due, r_ok = (int(v or 0) for v in (f_due, f_ok, r_due, r_ok))
        s.first_response_on_time = f_ok / f_due if f_due else None
        s.resolution_on_time = r_ok / r_due if r_due else None
        s.rating_avg = float(rating_avg) if rating_avg is not None else None
        s.rating_count = rating_count
        all_first_due += f_due
        all_first_ok += f_ok
        rating_sum += (s.rating_avg or 0) * rating_count

    closures: dict[int, list[date]] = defaultdict(list)
    for center_id, day in (await db.execute(select(CenterClosure.center_id, CenterClosure.day)
                                            .where(CenterClosure.center_id.in_(ids)))).all():
        closures[center_id].append(day)
    calendars = {c.id: calendar_for(c, closures[c.id]) for c in centers}
    durations: dict[int, list[float]] = defaultdict(list)
    responded = await db.execute(
        select(Ticket.center_id, Ticket.created_at, Ticket.first_responded_at)
        .where(Ticket.created_at >= since, Ticket.first_responded_at.is_not(None), Ticket.center_id.in_(ids)))
    for center_id, created_at, responded_at in responded.all():
        seconds = calendars[center_id].business_seconds_between(created_at, responded_at)
        durations[center_id].append(max(0.0, seconds))
        if not calendars[center_id].is_open(responded_at):
            stats[center_id].outside_hours += 1
    everything: list[float] = []
    for center_id, values in durations.items():
        stats[center_id].responded = len(values)
        stats[center_id].median_first_response = statistics.median(values)
        everything.extend(values)

    rows = [stats[c.id] for c in centers]
    rating_count = sum(s.rating_count for s in rows)
    totals = Totals(open=sum(s.open for s in rows), overdue=sum(s.overdue for s in rows),
                    created=sum(s.created for s in rows),
                    median_first_response=statistics.median(everything) if everything else None,
                    outside_hours=sum(s.outside_hours for s in rows),
                    first_response_on_time=all_first_ok / all_first_due if all_first_due else None,
                    rating_avg=rating_sum / rating_count if rating_count else None, rating_count=rating_count)
    return rows, totals


def _kst_day(db: AsyncSession):
    """The Korean calendar day of ``ask_logs.created_at`` as an SQL expression (text 'YYYY-MM-DD')."""
    if db.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Seoul", AskLog.created_at), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", AskLog.created_at, "+9 hours")


async def outcome_series(db: AsyncSession, *, since: date, until: date, by: str = "day") -> list[OutcomeBucket]:
    """Questions asked per day or per week (Korean dates, Monday-based weeks) by outcome; chit-chat excluded."""
    start = datetime.combine(since, datetime.min.time(), tzinfo=KST)
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), tzinfo=KST)
    day = _kst_day(db).label("day")
    rows = await db.execute(
        select(day, AskLog.outcome, func.count())
        .where(AskLog.created_at >= start, AskLog.created_at < end, AskLog.kind == "question",
               AskLog.outcome.in_(OUTCOMES))
        .group_by(day, AskLog.outcome))
    per_day: dict[date, dict[str, int]] = defaultdict(lambda: {o: 0 for o in OUTCOMES})
    for day_text, outcome, count in rows.all():
        per_day[date.fromisoformat(day_text)][outcome] += count
    buckets: list[OutcomeBucket] = []
    if by == "week":
        first = since - timedelta(days=since.weekday())
        cursor = first
        while cursor <= until:
            bucket = OutcomeBucket(label=f"{cursor.month}/{cursor.day}주", start=cursor)
            for offset in range(7):
                d = cursor + timedelta(days=offset)
                for outcome, count in per_day.get(d, {}).items():
                    bucket.counts[outcome] += count
            buckets.append(bucket)
            cursor += timedelta(days=7)
    else:
        cursor = since
        while cursor <= until:
            bucket = OutcomeBucket(label=f"{cursor.month}/{cursor.day}", start=cursor)
            for outcome, count in per_day.get(cursor, {}).items():
                bucket.counts[outcome] += count
            buckets.append(bucket)
            cursor += timedelta(days=1)
    return buckets


@dataclass
class ChannelStats:
    """One door's traffic over a period: questions by outcome, and the tickets opened from it."""

    channel: str
    counts: dict[str, int] = field(default_factory=lambda: {o: 0 for o in OUTCOMES})
    tickets: int = 0

    @property
    def questions(self) -> int:
        return sum(self.counts.values())


async def channel_stats(db: AsyncSession, *, since: datetime) -> list[ChannelStats]:
    """Questions (by outcome, chit-chat excluded) and tickets created since ``since``, per channel; every channel
    listed, busiest first. A ticket's channel is its chat's (chats that predate the chats table: Telegram, or
    local from ``LOCAL_CHAT_MIN``)."""
    out = {c: ChannelStats(channel=c) for c in CHANNELS}
    asked = await db.execute(
        select(AskLog.channel, AskLog.outcome, func.count())
        .where(AskLog.created_at >= since, AskLog.kind == "question", AskLog.outcome.in_(OUTCOMES))
        .group_by(AskLog.channel, AskLog.outcome))
    for channel, outcome, count in asked.all():
        out.setdefault(channel, ChannelStats(channel=channel)).counts[outcome] += count
    channel = func.coalesce(Chat.channel, case((Ticket.chat_id >= LOCAL_CHAT_MIN, "local"), else_="telegram"))
    opened = await db.execute(select(channel, func.count()).select_from(Ticket)
                              .outerjoin(Chat, Chat.id == Ticket.chat_id)
                              .where(Ticket.created_at >= since).group_by(channel))
    for name, count in opened.all():
        out.setdefault(name, ChannelStats(channel=name)).tickets += count
    return sorted(out.values(), key=lambda c: (-(c.questions + c.tickets), CHANNELS.index(c.channel)
                                                if c.channel in CHANNELS else len(CHANNELS)))
