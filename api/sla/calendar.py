"""Business calendar of a regional centre and the SLA arithmetic built on it.

A centre answers tickets on weekdays between ``opens`` and ``closes`` (wall-clock time
in the calendar's time zone, Asia/Seoul by default). It is closed on Saturdays,
Sundays, Korean public holidays including substitute holidays (대체공휴일) as given by
the ``holidays`` package, and on extra dates the admins close the centre (``closures``).

Conventions used throughout this module:

* Every datetime argument must be timezone-aware (any zone); a naive datetime raises
  ``ValueError``. Every datetime returned is expressed in the calendar's time zone.
* A business day's window is the half-open interval ``[opens, closes)``: the centre is
  open at exactly ``opens`` and closed at exactly ``closes``. A due time may still fall
  exactly on ``closes`` ("by 18:00").
* Durations are measured in real elapsed time (UTC arithmetic), so the module stays
  correct for zones with daylight saving time even though Asia/Seoul has none.
* Spans are processed one calendar day at a time (never minute by minute); a ten-year
  span costs a few thousand cheap iterations. Holiday tables are built lazily, once per
  year, and shared by all calendars.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "BusinessCalendar",
    "SlaPolicy",
    "compute_due",
    "korean_holidays",
]

_ONE_DAY = timedelta(days=1)
# Longest run of consecutive closed days tolerated before we conclude that the calendar
# has no business day at all (e.g. an admin closed the centre "forever").
_MAX_CLOSED_RUN_DAYS = 3 * 366


@lru_cache(maxsize=None)
def korean_holidays(year: int) -> dict[date, str]:
    """Korean public holidays of ``year`` (incl. 대체공휴일 and election days), Korean names.

    Several holidays on one date are joined with "; " (e.g. "부처님오신날; 어린이날").
    """
    table = holidays.country_holidays("KR", years=year, language="ko")
    return {d: name for d, name in table.items() if d.year == year}


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")


class BusinessCalendar:
    """Opening hours, holidays and extra closures of one centre."""

    def __init__(
        self,
        *,
        opens: time = time(9),
        closes: time = time(18),
        closures: Iterable[date] = (),
        tz: str = "Asia/Seoul",
    ) -> None:
        if opens.tzinfo is not None or closes.tzinfo is not None:
            raise ValueError("opens/closes are wall-clock times and must not carry a tzinfo")
        if not opens < closes:
            raise ValueError(f"opens ({opens}) must be earlier than closes ({closes})")
        try:
            self._zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone: {tz!r}") from exc
        frozen: set[date] = set()
        for d in closures:
            if isinstance(d, datetime) or not isinstance(d, date):
                raise TypeError(f"closures must contain dates, got {d!r}")
            frozen.add(d)
        self._opens = opens
        self._closes = closes
        self._closures = frozenset(frozen)
        self._tz_name = tz

    # -- configuration -------------------------------------------------------------

    @property
    def opens(self) -> time:
        return self._opens

    @property
    def closes(self) -> time:
        return self._closes

    @property
    def closures(self) -> frozenset[date]:
        return self._closures

    @property
    def tz(self) -> ZoneInfo:
        return self._zone

    @property
    def tz_name(self) -> str:
        return self._tz_name

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar(opens={self._opens!r}, closes={self._closes!r}, "
            f"closures=<{len(self._closures)} dates>, tz={self._tz_name!r})"
        )

    # -- days ------------------------------------------------------------------------

    def holiday_name(self, d: date) -> str | None:
        """Korean name of the public holiday on ``d`` ("추석", "추석 대체 휴일", ...) or None."""
        return korean_holidays(d.year).get(d)

    def is_holiday(self, d: date) -> bool:
        return d in korean_holidays(d.year)

    def is_closure(self, d: date) -> bool:
        """True when admins closed the centre on ``d`` (an extra closure date)."""
        return d in self._closures

    def is_business_day(self, d: date) -> bool:
        if isinstance(d, datetime):
            raise TypeError("is_business_day expects a date; use is_open for a datetime")
        return d.weekday() < 5 and d not in self._closures and not self.is_holiday(d)

    def next_business_day(self, d: date) -> date:
        """First business day strictly after ``d``."""
        return self._first_business_day(d + _ONE_DAY)

    def _first_business_day(self, d: date) -> date:
        """First business day on or after ``d``."""
        for _ in range(_MAX_CLOSED_RUN_DAYS):
            if self.is_business_day(d):
                return d
            d += _ONE_DAY
        raise ValueError(f"no business day within {_MAX_CLOSED_RUN_DAYS} days of {d}")

    def _window(self, d: date) -> tuple[datetime, datetime]:
        """Opening and closing instants (UTC) of business day ``d``."""
        start = datetime.combine(d, self._opens, tzinfo=self._zone).astimezone(UTC)
        end = datetime.combine(d, self._closes, tzinfo=self._zone).astimezone(UTC)
        return start, end

    def _local(self, at: datetime, name: str = "at") -> datetime:
        _require_aware(at, name)
        return at.astimezone(self._zone)

    def _out(self, instant: datetime) -> datetime:
        return instant.astimezone(self._zone)

    def opening_time(self, d: date) -> datetime:
        """Opening instant of day ``d`` in the calendar zone (whether or not ``d`` is a business day)."""
        return self._out(self._window(d)[0])

    def closing_time(self, d: date) -> datetime:
        """Closing instant of day ``d`` in the calendar zone (whether or not ``d`` is a business day)."""
        return self._out(self._window(d)[1])

    # -- instants ------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` lies in a business day's window ``[opens, closes)``."""
        local = self._local(at)
        d = local.date()
        if not self.is_business_day(d):
            return False
        start, end = self._window(d)
        return start <= local.astimezone(UTC) < end

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself (in the calendar zone) when open, else the next opening instant."""
        local = self._local(at)
        d = local.date()
        instant = local.astimezone(UTC)
        if self.is_business_day(d):
            start, end = self._window(d)
            if instant < start:
                return self._out(start)
            if instant < end:
                return local
        return self._out(self._window(self.next_business_day(d))[0])

    # -- arithmetic ----------------------------------------------------------------

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """The earliest instant by which ``hours`` of business time have elapsed since ``start``.

        Time outside business windows does not count. For ``hours > 0`` the result always
        lies inside a window, possibly exactly at closing time (Mon 15:00 + 3 h = Mon
        18:00, not Tue 09:00). ``hours == 0`` returns ``start`` unchanged (converted to the
        calendar zone). Precision is one microsecond. Negative or non-finite hours raise
        ``ValueError``.
        """
        local = self._local(start, "start")
        if isinstance(hours, bool) or not isinstance(hours, (int, float)):
            raise TypeError(f"hours must be a number, got {hours!r}")
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours must be a finite number >= 0, got {hours!r}")
        remaining = timedelta(hours=hours)
        if not remaining:
            return local
        cursor = local.astimezone(UTC)
        d = local.date()
        for _ in range(10_000_000):
            if self.is_business_day(d):
                window_start, window_end = self._window(d)
                segment_start = max(cursor, window_start)
                if segment_start < window_end:
                    available = window_end - segment_start
                    if remaining <= available:
                        return self._out(segment_start + remaining)
                    remaining -= available
            d += _ONE_DAY
        raise ValueError("hours span is too large")  # pragma: no cover - ~27,000 years

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """Closing time of the ``days``-th business day after the day a ticket is received.

        The *receiving day* is the business day of ``next_opening(start)``: a ticket
        created during business hours or before opening on a business day is received
        that day; one created at/after closing time or on a closed day is received on the
        next business day. The result is the closing instant of the business day that
        comes ``days`` business days after the receiving day (``days == 0``: closing time
        of the receiving day itself).

        Examples (default calendar): Mon 10:00 + 3 -> Thu 18:00; Mon 08:00 + 3 -> Thu
        18:00; Fri 20:00 + 3 -> Thu 18:00 (received Mon); Mon 18:00 + 1 -> Wed 18:00.
        """
        local = self._local(start, "start")
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError(f"days must be an int, got {days!r}")
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        d = self.next_opening(local).date()
        for _ in range(days):
            d = self.next_business_day(d)
        return self._out(self._window(d)[1])

    def business_seconds_between(self, a: datetime, b: datetime) -> float:
        """Seconds of business time in the span between ``a`` and ``b``.

        Antisymmetric: ``business_seconds_between(b, a) == -business_seconds_between(a, b)``,
        so a negative value means ``b`` is earlier than ``a``.
        """
        la = self._local(a, "a")
        lb = self._local(b, "b")
        if la > lb:
            return -self._business_time(lb, la).total_seconds()
        return self._business_time(la, lb).total_seconds()

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Exact (microsecond) business time between ``a`` and ``b`` (negative if b < a)."""
        la = self._local(a, "a")
        lb = self._local(b, "b")
        if la > lb:
            return -self._business_time(lb, la)
        return self._business_time(la, lb)

    def _business_time(self, lo: datetime, hi: datetime) -> timedelta:
        lo_utc = lo.astimezone(UTC)
        hi_utc = hi.astimezone(UTC)
        total = timedelta(0)
        for d in _date_range(lo.date(), hi.date()):
            if not self.is_business_day(d):
                continue
            window_start, window_end = self._window(d)
            overlap = min(hi_utc, window_end) - max(lo_utc, window_start)
            if overlap > timedelta(0):
                total += overlap
        return total


def _date_range(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += _ONE_DAY


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Service levels of a centre: first answer within N business hours, resolution
    by the end of the M-th business day after the ticket is received."""

    first_response_hours: float = 4
    resolution_days: int = 3

    def __post_init__(self) -> None:
        hours = self.first_response_hours
        if isinstance(hours, bool) or not isinstance(hours, (int, float)):
            raise TypeError(f"first_response_hours must be a number, got {hours!r}")
        if not math.isfinite(hours) or hours <= 0:
            raise ValueError(f"first_response_hours must be > 0, got {hours!r}")
        days = self.resolution_days
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError(f"resolution_days must be an int, got {days!r}")
        if days < 0:
            raise ValueError(f"resolution_days must be >= 0, got {days}")


def compute_due(
    created_at: datetime, calendar: BusinessCalendar, policy: SlaPolicy
) -> tuple[datetime, datetime]:
    """``(first_response_due, resolution_due)`` for a ticket created at ``created_at``.

    first_response_due = ``calendar.add_business_hours(created_at, policy.first_response_hours)``;
    resolution_due = ``calendar.add_business_days(created_at, policy.resolution_days)``, but
    never earlier than the first-response due time. Both are in the calendar zone.
    """
    first = calendar.add_business_hours(created_at, policy.first_response_hours)
    resolution = calendar.add_business_days(created_at, policy.resolution_days)
    return first, max(first, resolution)
