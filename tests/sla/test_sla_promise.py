"""Owner-facing Korean due phrases at tricky moments (holiday nights, Friday evening, Sunday)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from api.sla import BusinessCalendar, SlaPolicy, compute_due, describe_due, describe_hours

KST = ZoneInfo("Asia/Seoul")


def kst(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=KST)


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar()


def phrases(now: datetime, cal: BusinessCalendar) -> tuple[str, str]:
    """Phrases for the first-response and resolution due times of a ticket created ``now``."""
    first, resolution = compute_due(now, cal, SlaPolicy())
    return describe_due(first, now, cal), describe_due(resolution, now, cal)


# -- full flow: ticket created at `now`, phrases for both due times -------------------------


@pytest.mark.parametrize(
    ("now", "first_phrase", "resolution_phrase"),
    [
        # 3 a.m. on 추석 2025 (Mon 10-06): answer after the whole block (through 한글날)
        (kst(2025, 10, 6, 3), "추석 연휴 이후 10월 10일(금) 오후 중", "추석 연휴 이후 10월 15일(수) 오후 중"),
        # 3 a.m. on the last day of the block: tomorrow is a business day
        (kst(2025, 10, 9, 3), "내일(금) 오후 중", "추석 연휴 이후 10월 15일(수) 오후 중"),
        # Thursday 17:30 before the 2025 block: 30 minutes today, the rest on Fri 10-10
        (kst(2025, 10, 2, 17, 30), "추석 연휴 이후 10월 10일(금) 오후 중", "추석 연휴 이후 10월 14일(화) 오후 중"),
        # Friday 17:30 before 2024 추석 (Mon..Wed)
        (kst(2024, 9, 13, 17, 30), "추석 연휴 이후 9월 19일(목) 오후 중", "추석 연휴 이후 9월 23일(월) 오후 중"),
        # Friday 17:30, ordinary weekend: no holiday wording
        (kst(2025, 11, 21, 17, 30), "11월 24일(월) 오후 중", "11월 26일(수) 오후 중"),
        # Sunday noon, ordinary weekend
        (kst(2025, 11, 23, 12), "내일(월) 오후 중", "11월 27일(목) 오후 중"),
        # Sunday noon before the 광복절 substitute Monday (2026-08-17)
        (kst(2026, 8, 16, 12), "광복절 연휴 이후 8월 18일(화) 오후 중", "광복절 연휴 이후 8월 21일(금) 오후 중"),
        # Friday 17:00 before 설 2026 (Mon..Wed)
        (kst(2026, 2, 13, 17), "설 연휴 이후 2월 19일(목) 오전 중", "설 연휴 이후 2월 23일(월) 오후 중"),
        # 3 a.m. on 설날 2026
        (kst(2026, 2, 17, 3), "설 연휴 이후 2월 19일(목) 오후 중", "설 연휴 이후 2월 24일(화) 오후 중"),
        # Friday 17:00 before 설 2025 (임시공휴일 Mon + Tue..Thu)
        (kst(2025, 1, 24, 17), "설 연휴 이후 1월 31일(금) 오전 중", "설 연휴 이후 2월 4일(화) 오후 중"),
        # business morning: exact clock time today
        (kst(2025, 11, 24, 10), "오늘 오후 2시까지", "11월 27일(목) 오후 중"),
        # 3 a.m. on a business day
        (kst(2025, 11, 24, 3), "오늘 오후 1시까지", "11월 27일(목) 오후 중"),
        # late afternoon: due tomorrow morning
        (kst(2025, 11, 24, 17), "내일(화) 오전 중", "11월 27일(목) 오후 중"),  # Tue 12:00
        (kst(2025, 11, 24, 17, 30), "내일(화) 오후 중", "11월 27일(목) 오후 중"),  # Tue 12:30
    ],
)
def test_phrases_for_new_ticket(
    cal: BusinessCalendar, now: datetime, first_phrase: str, resolution_phrase: str
) -> None:
    assert phrases(now, cal) == (first_phrase, resolution_phrase)


# -- today: rounded clock time --------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (kst(2025, 11, 24, 15), "오늘 오후 3시까지"),
        (kst(2025, 11, 24, 14, 3, 27), "오늘 오후 2시 10분까지"),
        (kst(2025, 11, 24, 14, 30), "오늘 오후 2시 30분까지"),
        (kst(2025, 11, 24, 14, 30, 1), "오늘 오후 2시 40분까지"),
        (kst(2025, 11, 24, 11), "오늘 오전 11시까지"),
        (kst(2025, 11, 24, 11, 55), "오늘 낮 12시까지"),
        (kst(2025, 11, 24, 12), "오늘 낮 12시까지"),
        (kst(2025, 11, 24, 12, 20), "오늘 오후 12시 20분까지"),
        (kst(2025, 11, 24, 9, 30), "오늘 오전 9시 30분까지"),
        (kst(2025, 11, 24, 17, 55), "오늘 오후 6시까지"),
        (kst(2025, 11, 24, 18), "오늘 오후 6시까지"),
    ],
)
def test_due_today(cal: BusinessCalendar, due: datetime, expected: str) -> None:
    assert describe_due(due, kst(2025, 11, 24, 8, 45), cal) == expected


def test_rounding_never_passes_closing_time() -> None:
    cal = BusinessCalendar(closes=time(17, 45))
    assert describe_due(kst(2025, 11, 24, 17, 41), kst(2025, 11, 24, 9), cal) == "오늘 오후 5시 45분까지"


def test_tomorrow_morning_boundary(cal: BusinessCalendar) -> None:
    now = kst(2025, 11, 24, 17)
    assert describe_due(kst(2025, 11, 25, 12), now, cal) == "내일(화) 오전 중"
    assert describe_due(kst(2025, 11, 25, 12, 0, 1), now, cal) == "내일(화) 오후 중"


# -- holiday wording ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "due", "expected"),
    [
        # single weekday holiday: 한글날 2024 (Wed)
        (kst(2024, 10, 8, 17), kst(2024, 10, 10, 12), "한글날 이후 10월 10일(목) 오전 중"),
        # holiday in the middle of a resolution period
        (kst(2024, 10, 7, 10), kst(2024, 10, 11, 18), "한글날 이후 10월 11일(금) 오후 중"),
        # 현충일 2025 (Fri) + weekend: a three-day block of one holiday
        (kst(2025, 6, 5, 17), kst(2025, 6, 9, 12), "현충일 연휴 이후 6월 9일(월) 오전 중"),
        # 2025-05-05 부처님오신날·어린이날 + substitute: several names -> plain 연휴
        (kst(2025, 5, 2, 17), kst(2025, 5, 7, 12), "연휴 이후 5월 7일(수) 오전 중"),
        # 2026 개천절 (Sat) + substitute Mon 10-05
        (kst(2026, 10, 2, 17), kst(2026, 10, 6, 12), "개천절 연휴 이후 10월 6일(화) 오전 중"),
        # 신정 2026 (Thu); the package calls it "신정연휴"
        (kst(2025, 12, 31, 17), kst(2026, 1, 2, 12), "신정 이후 1월 2일(금) 오전 중"),
    ],
)
def test_holiday_block_wording(
    cal: BusinessCalendar, now: datetime, due: datetime, expected: str
) -> None:
    assert describe_due(due, now, cal) == expected


def test_admin_closure_wording() -> None:
    cal = BusinessCalendar(closures=[date(2025, 11, 24)])
    now = kst(2025, 11, 21, 17)
    first, _ = compute_due(now, cal, SlaPolicy())
    assert first == kst(2025, 11, 25, 12)
    assert describe_due(first, now, cal) == "휴무일 이후 11월 25일(화) 오전 중"


def test_distant_holiday_is_not_mentioned_and_year_is_shown(cal: BusinessCalendar) -> None:
    # 현충일 2026 (06-06, Sat) ends 24 days before the due date: no holiday wording
    assert describe_due(kst(2026, 7, 1, 10), kst(2025, 11, 24, 10), cal) == "2026년 7월 1일(수) 오전 중"


def test_overdue_is_soon(cal: BusinessCalendar) -> None:
    due = kst(2025, 11, 24, 14)
    assert describe_due(due, due, cal) == "곧"
    assert describe_due(due, kst(2025, 11, 25, 9), cal) == "곧"


def test_other_time_zones(cal: BusinessCalendar) -> None:
    # now: 18:00 UTC Sunday = 03:00 KST Monday; due 04:00 UTC = 13:00 KST Monday
    now = datetime(2025, 11, 23, 18, 0, tzinfo=UTC)
    first, _ = compute_due(now, cal, SlaPolicy())
    assert describe_due(first.astimezone(UTC), now, cal) == "오늘 오후 1시까지"


def test_naive_input_rejected(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError):
        describe_due(datetime(2025, 11, 24, 14), kst(2025, 11, 24, 10), cal)
    with pytest.raises(ValueError):
        describe_due(kst(2025, 11, 24, 14), datetime(2025, 11, 24, 10), cal)


# -- describe_hours ------------------------------------------------------------------------------


def test_describe_hours() -> None:
    assert describe_hours(BusinessCalendar()) == "평일 09:00~18:00 (공휴일 제외)"
    assert describe_hours(BusinessCalendar(opens=time(8, 30), closes=time(17, 30))) == (
        "평일 08:30~17:30 (공휴일 제외)"
    )
