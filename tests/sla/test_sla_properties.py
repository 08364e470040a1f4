"""Property tests: business_seconds_between vs add_business_hours vs a brute-force reference."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from api.sla import BusinessCalendar, describe_due

KST = ZoneInfo("Asia/Seoul")
ZONES = [UTC, KST, ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")]
# A bridge-day closure right after the 2025 추석 block and a Tuesday closure in 2026.
CLOSURES = frozenset({date(2025, 10, 10), date(2026, 2, 24)})
CALENDARS = [
    BusinessCalendar(),
    BusinessCalendar(opens=time(8, 30), closes=time(17, 30), closures=CLOSURES),
    BusinessCalendar(opens=time(10), closes=time(16)),
]
KR = holidays.country_holidays("KR", years=range(2023, 2028))

calendars = st.sampled_from(CALENDARS)
instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.sampled_from(ZONES)
)
hour_amounts = st.integers(min_value=0, max_value=300 * 3600).map(lambda seconds: seconds / 3600)
SETTINGS = settings(max_examples=300, deadline=None)


@SETTINGS
@given(cal=calendars, start=instants, hours=hour_amounts)
def test_add_then_measure_round_trips(cal: BusinessCalendar, start: datetime, hours: float) -> None:
    due = cal.add_business_hours(start, hours)
    assert due >= start
    assert due.tzinfo == cal.tz
    assert cal.business_time_between(start, due) == timedelta(hours=hours)
    if hours > 0:
        # minimal: the last microsecond before the due time is business time
        assert cal.is_open(due - timedelta(microseconds=1))


@SETTINGS
@given(cal=calendars, a=instants, b=instants)
def test_antisymmetric_and_bounded(cal: BusinessCalendar, a: datetime, b: datetime) -> None:
    forward = cal.business_seconds_between(a, b)
    assert cal.business_seconds_between(b, a) == -forward
    lo, hi = sorted((a, b))
    assert 0 <= cal.business_seconds_between(lo, hi) <= (hi - lo).total_seconds()


@SETTINGS
@given(cal=calendars, points=st.lists(instants, min_size=3, max_size=3))
def test_additive(cal: BusinessCalendar, points: list[datetime]) -> None:
    a, b, c = sorted(points)
    assert cal.business_time_between(a, b) + cal.business_time_between(b, c) == cal.business_time_between(a, c)


@SETTINGS
@given(cal=calendars, start=instants, days=st.integers(min_value=0, max_value=30))
def test_add_business_days_lands_on_closing_time(cal: BusinessCalendar, start: datetime, days: int) -> None:
    due = cal.add_business_days(start, days)
    local = due.astimezone(cal.tz)
    assert local.time() == cal.closes
    assert cal.is_business_day(local.date())
    day_seconds = cal.business_seconds_between(cal.opening_time(local.date()), due)
    # `days` full business days after the receiving day, plus what is left of that day
    measured = cal.business_seconds_between(start, due)
    assert days * day_seconds < measured <= (days + 1) * day_seconds
    if days:
        assert cal.add_business_days(start, days - 1) < due


@SETTINGS
@given(cal=calendars, at=instants)
def test_next_opening(cal: BusinessCalendar, at: datetime) -> None:
    opening = cal.next_opening(at)
    assert opening >= at
    assert cal.is_open(opening)
    assert cal.business_seconds_between(at, opening) == 0
    assert (opening == at) == cal.is_open(at)


def reference_is_open(cal: BusinessCalendar, at: datetime) -> bool:
    """Independent definition from the spec (uses the holidays package directly)."""
    local = at.astimezone(KST)
    d = local.date()
    closed_day = d.weekday() >= 5 or d in KR or d in cal.closures
    return not closed_day and cal.opens <= local.time().replace(tzinfo=None) < cal.closes


@settings(max_examples=40, deadline=None)
@given(
    cal=calendars,
    start_minute=st.integers(min_value=0, max_value=3 * 366 * 24 * 60),
    span_minutes=st.integers(min_value=0, max_value=8 * 24 * 60),
)
def test_matches_minute_by_minute_reference(cal: BusinessCalendar, start_minute: int, span_minutes: int) -> None:
    base = datetime(2024, 1, 1, tzinfo=KST)
    a = base + timedelta(minutes=start_minute)
    b = a + timedelta(minutes=span_minutes)
    expected = sum(reference_is_open(cal, a + timedelta(minutes=i)) for i in range(span_minutes)) * 60
    assert cal.business_seconds_between(a, b) == expected
    assert cal.is_open(a) == reference_is_open(cal, a)


@SETTINGS
@given(cal=calendars, now=instants, hours=hour_amounts)
def test_describe_due_never_promises_a_closed_day(cal: BusinessCalendar, now: datetime, hours: float) -> None:
    due = cal.add_business_hours(now, max(hours, 0.01))
    phrase = describe_due(due, now, cal)
    due_day = due.astimezone(cal.tz).date()
    today = now.astimezone(cal.tz).date()
    weekday = "월화수목금토일"[due_day.weekday()]
    if due_day == today:
        assert phrase.startswith("오늘 ") and phrase.endswith("까지")
    elif due_day == today + timedelta(days=1):
        assert phrase.startswith(f"내일({weekday}) ")
    else:
        assert f"{due_day.month}월 {due_day.day}일({weekday}) " in phrase
    assert phrase.endswith(("까지", "오전 중", "오후 중"))
