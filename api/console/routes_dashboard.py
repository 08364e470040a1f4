"""Admin dashboard: every centre's queue health and the knowledge base's outcomes over time."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.console import stats
from api.console.web import KST, AdminUser, ConsoleDB, ConsoleRoute, render
from api.db import utcnow
from api.kb import entries as kb_entries

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PERIODS = {7: "최근 7일", 30: "최근 30일", 90: "최근 90일"}


@router.get("/console/dashboard")
async def dashboard(request: Request, db: ConsoleDB, user: AdminUser, days: int = 30) -> Response:
    if days not in PERIODS:
        days = 30
    now = utcnow()
    today = now.astimezone(KST).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=KST)
    rows, totals = await stats.center_stats(db, since=since, now=now)
    channels = await stats.channel_stats(db, since=since)
    series = await stats.outcome_series(db, since=first_day, until=today, by="week" if days > 30 else "day")
    asked = {o: sum(b.counts[o] for b in series) for o in stats.OUTCOMES}
    asked_total = sum(asked.values())
    worst = max((r.median_first_response or 0 for r in rows), default=0)
    programme_year = request.app.state.settings.current_programme_year()
    stale = await kb_entries.count_stale(db, programme_year=programme_year, today=today)
    return render(request, "dashboard.html", rows=rows, totals=totals, series=series, days=days, periods=PERIODS,
                  asked=asked, asked_total=asked_total, worst_median=worst, outcomes=stats.OUTCOMES,
                  first_day=first_day, today=today, stale_entries=stale, programme_year=programme_year,
                  channels=channels)
