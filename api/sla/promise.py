"""Plain-Korean phrases that tell an owner when a person will answer.

The phrases are meant to be dropped into a sentence such as
"담당자가 {phrase} 답변드릴게요." and are computed from the centre's calendar:

* due today (calendar zone)        -> "오늘 오후 3시까지" (clock time rounded *up* to 10 minutes,
                                       never past that day's closing time)
* due tomorrow                     -> "내일(화) 오전 중" / "내일(화) 오후 중"
* due later                        -> "11월 27일(목) 오후 중"; the year is added when the due
                                       date is more than 180 days ahead ("2027년 1월 4일(월) ...")
* a holiday/closure block lies between now and a due date later than tomorrow, and the
  block ends at most 7 days before the due date (so that it explains the wait)
                                   -> prefix naming the last such block:
                                       "추석 연휴 이후 10월 10일(금) 오전 중", "설 연휴 이후 …",
                                       "광복절 연휴 이후 …", "한글날 이후 …", "연휴 이후 …",
                                       "휴무일 이후 …" (admin closures only)
* due time already passed          -> "곧"

"오전 중" is used when the due clock time is at or before noon, "오후 중" otherwise.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from api.sla.calendar import BusinessCalendar

__all__ = ["describe_due", "describe_hours"]

_WEEKDAYS = "월화수목금토일"
_ROUND_MINUTES = 10
_YEAR_SHOWN_AFTER_DAYS = 180
# A holiday block is mentioned only when it ends at most this many days before the due date.
_BLOCK_RELEVANCE_DAYS = 7
# Suffixes the holidays package appends to a holiday's Korean name ("추석 대체 휴일", "설날 전날").
_NAME_SUFFIXES = (" 대체 휴일", " 전날", " 다음날", "연휴")
_NAME_ALIASES = {"설날": "설"}
_BIG_HOLIDAYS = ("추석", "설")


def describe_due(due: datetime, now: datetime, calendar: BusinessCalendar) -> str:
    """When a person will answer, relative to ``now``, in plain Korean (see module doc)."""
    for value, name in ((due, "due"), (now, "now")):
        if not isinstance(value, datetime):
            raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    due_local = due.astimezone(calendar.tz)
    now_local = now.astimezone(calendar.tz)
    if due_local <= now_local:
        return "곧"
    today = now_local.date()
    due_day = due_local.date()
    if due_day == today:
        return f"오늘 {_clock(_rounded_clock(due_local, calendar))}까지"
    part = "오전 중" if due_local.time() <= time(12) else "오후 중"
    weekday = _WEEKDAYS[due_day.weekday()]
    if due_day == today + timedelta(days=1):
        return f"내일({weekday}) {part}"
    label = f"{due_day.month}월 {due_day.day}일({weekday})"
    if (due_day - today).days > _YEAR_SHOWN_AFTER_DAYS:
        label = f"{due_day.year}년 {label}"
    block = _last_closed_block(today, due_day, calendar)
    prefix = f"{_block_name(block, calendar)} 이후 " if block else ""
    return f"{prefix}{label} {part}"


def describe_hours(calendar: BusinessCalendar) -> str:
    """Opening hours, e.g. "평일 09:00~18:00 (공휴일 제외)"."""
    opens = calendar.opens.strftime("%H:%M")
    closes = calendar.closes.strftime("%H:%M")
    return f"평일 {opens}~{closes} (공휴일 제외)"


def _rounded_clock(due_local: datetime, calendar: BusinessCalendar) -> time:
    """Due clock time rounded up to ``_ROUND_MINUTES``, capped at closing time / end of day.

    Rounding up keeps the promise true (the answer comes no later than the stated time)
    while avoiding odd times such as "오후 2시 3분".
    """
    clock = due_local.time().replace(tzinfo=None)
    minutes = clock.hour * 60 + clock.minute
    if clock.second or clock.microsecond:
        minutes += 1
    minutes = -(-minutes // _ROUND_MINUTES) * _ROUND_MINUTES
    closes = calendar.closes
    closes_minutes = closes.hour * 60 + closes.minute
    exact_close = not (closes.second or closes.microsecond)
    if exact_close and clock <= closes and minutes > closes_minutes:
        minutes = closes_minutes
    if minutes >= 24 * 60:
        # Only reachable for a due time after 23:50; say "11시 59분" rather than "자정".
        minutes = 24 * 60 - 1
    return time(minutes // 60, minutes % 60)


def _clock(t: time) -> str:
    if t.hour == 0 and t.minute == 0:
        return "자정"
    if t.hour == 12 and t.minute == 0:
        return "낮 12시"
    if t.hour < 12:
        text = f"오전 {t.hour if t.hour else 12}시"
    else:
        text = f"오후 {t.hour - 12 if t.hour > 12 else 12}시"
    if t.minute:
        text += f" {t.minute}분"
    return text


def _last_closed_block(today: date, due_day: date, calendar: BusinessCalendar) -> list[date]:
    """The last run of consecutive closed days within [today, due_day) that contains a
    holiday or an admin closure (weekend-only runs don't count), or [] if there is none or
    it ends more than ``_BLOCK_RELEVANCE_DAYS`` days before ``due_day``."""
    d = due_day - timedelta(days=1)
    while d >= today:
        if calendar.is_business_day(d):
            d -= timedelta(days=1)
            continue
        run: list[date] = []
        while d >= today and not calendar.is_business_day(d):
            run.append(d)
            d -= timedelta(days=1)
        if any(calendar.is_holiday(x) or calendar.is_closure(x) for x in run):
            if (due_day - run[0]).days > _BLOCK_RELEVANCE_DAYS:
                return []
            # Extend past ``today`` so the block's length/name describes the whole holiday.
            while not calendar.is_business_day(d) and (today - d).days < 31:
                run.append(d)
                d -= timedelta(days=1)
            return sorted(run)
    return []


def _base_name(name: str) -> str:
    for suffix in _NAME_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    name = name.strip()
    return _NAME_ALIASES.get(name, name)


def _block_name(block: list[date], calendar: BusinessCalendar) -> str:
    names: list[str] = []
    for d in block:
        full = calendar.holiday_name(d)
        if not full:
            continue
        for part in full.split(";"):
            base = _base_name(part.strip())
            if base and base not in names:
                names.append(base)
    for big in _BIG_HOLIDAYS:
        if big in names:
            return f"{big} 연휴"
    if not names:
        return "휴무일"
    if len(names) == 1:
        return f"{names[0]} 연휴" if len(block) >= 3 else names[0]
    return "연휴"
