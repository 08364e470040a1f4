"""Business-calendar and SLA arithmetic with exact expected datetimes.

Holiday facts used below come from the pinned `holidays` package (Korean calendar):
  2024 설: 02-09 (Fri) .. 02-11 (Sun) + 대체공휴일 02-12 (Mon); 추석: 09-16 (Mon) .. 09-18 (Wed)
  2025 설: 임시공휴일 01-27 (Mon) + 01-28 .. 01-30 (Thu); 추석 block: 개천절 10-03 (Fri),
       추석 10-05 (Sun) .. 10-07 (Tue), 대체공휴일 10-08 (Wed), 한글날 10-09 (Thu)
  2026 설: 02-16 (Mon) .. 02-18 (Wed); 추석: 09-24 (Thu) .. 09-26 (Sat);
       광복절 08-15 (Sat) + 대체공휴일 08-17 (Mon); 개천절 10-03 (Sat) + 대체공휴일 10-05 (Mon)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.sla import BusinessCalendar, SlaPolicy, compute_due, korean_holidays

KST = ZoneInfo("Asia/Seoul")
NINE_HOURS = 9 * 3600


def kst(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=KST)


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar()


def assert_same(actual: datetime, expected: datetime) -> None:
    """Equal instant and expressed in the calendar zone (Asia/Seoul, UTC+9)."""
    assert actual == expected
    assert actual.utcoffset() == timedelta(hours=9)


# -- holiday data ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "closed",
    [
        # 2024 설 + 대체공휴일, 2024 추석
        date(2024, 2, 9), date(2024, 2, 12), date(2024, 9, 16), date(2024, 9, 17), date(2024, 9, 18),
        # 2025 설 incl. 임시공휴일, 2025 개천절..한글날 block
        date(2025, 1, 27), date(2025, 1, 28), date(2025, 1, 29), date(2025, 1, 30),
        date(2025, 10, 3), date(2025, 10, 6), date(2025, 10, 7), date(2025, 10, 8), date(2025, 10, 9),
        # 2026 설, 추석, substitute holidays
        date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18),
        date(2026, 9, 24), date(2026, 9, 25),
        date(2026, 3, 2), date(2026, 5, 25), date(2026, 8, 17), date(2026, 10, 5),
        # weekend
        date(2025, 11, 22), date(2025, 11, 23),
    ],
)
def test_closed_days(cal: BusinessCalendar, closed: date) -> None:
    assert cal.is_business_day(closed) is False


@pytest.mark.parametrize(
    "open_day",
    [
        date(2024, 2, 8), date(2024, 2, 13), date(2024, 9, 13), date(2024, 9, 19),
        date(2025, 1, 24), date(2025, 1, 31), date(2025, 10, 2), date(2025, 10, 10),
        date(2026, 2, 13), date(2026, 2, 19), date(2026, 9, 23), date(2026, 9, 28),
        date(2025, 11, 24),
    ],
)
def test_business_days_around_blocks(cal: BusinessCalendar, open_day: date) -> None:
    assert cal.is_business_day(open_day) is True


def test_holiday_names_are_korean(cal: BusinessCalendar) -> None:
    assert cal.holiday_name(date(2025, 10, 6)) == "추석"
    assert cal.holiday_name(date(2025, 10, 8)) == "추석 대체 휴일"
    assert cal.holiday_name(date(2026, 2, 17)) == "설날"
    assert cal.holiday_name(date(2026, 8, 17)) == "광복절 대체 휴일"
    assert cal.holiday_name(date(2025, 11, 24)) is None


def test_holidays_for_far_years_are_built_lazily(cal: BusinessCalendar) -> None:
    # 2035 추석: 09-15 (Sat) .. 09-17 (Mon) + 대체공휴일 09-18 (Tue)
    assert [cal.is_business_day(date(2035, 9, d)) for d in range(14, 20)] == [
        True, False, False, False, False, True,
    ]
    assert date(2040, 1, 1) in korean_holidays(2040)
    assert all(d.year == 2040 for d in korean_holidays(2040))


def test_business_days_in_2025_count(cal: BusinessCalendar) -> None:
    # 261 weekdays minus 17 weekday holidays: 01-01, 01-27..30, 03-03, 05-05, 05-06, 06-03,
    # 06-06, 08-15, 10-03, 10-06..09, 12-25.
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(365)]
    assert sum(cal.is_business_day(d) for d in days) == 244
    span = cal.business_seconds_between(kst(2025, 1, 1), kst(2026, 1, 1))
    assert span == 244 * NINE_HOURS


# -- add_business_hours across holiday blocks ------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # 2024 설: Thu 16:00 + 4h = 2h Thu, then Tue 02-13 11:00
        (kst(2024, 2, 8, 16), 4, kst(2024, 2, 13, 11)),
        # 2024 추석: Fri 15:00 + 4h = 3h Fri, Mon..Wed closed, Thu 09-19 10:00
        (kst(2024, 9, 13, 15), 4, kst(2024, 9, 19, 10)),
        # 2025 설: Fri 17:00 + 4h = 1h Fri, Mon..Thu closed, Fri 01-31 12:00
        (kst(2025, 1, 24, 17), 4, kst(2025, 1, 31, 12)),
        # 2025 추석: Thu 17:30 + 4h = 0.5h Thu, Fri 10-03 .. Thu 10-09 closed, Fri 10-10 12:30
        (kst(2025, 10, 2, 17, 30), 4, kst(2025, 10, 10, 12, 30)),
        # 9h Thu + 9h Fri 10-10 + 2h Mon 10-13
        (kst(2025, 10, 2, 9), 20, kst(2025, 10, 13, 11)),
        # 2026 설: Fri 17:00 + 4h = 1h Fri, Mon..Wed closed, Thu 02-19 12:00
        (kst(2026, 2, 13, 17), 4, kst(2026, 2, 19, 12)),
        # 2026 추석: Wed 16:30 + 4h = 1.5h Wed, Thu/Fri closed, Mon 09-28 11:30
        (kst(2026, 9, 23, 16, 30), 4, kst(2026, 9, 28, 11, 30)),
    ],
)
def test_add_business_hours_across_holiday_blocks(
    cal: BusinessCalendar, start: datetime, hours: float, expected: datetime
) -> None:
    assert_same(cal.add_business_hours(start, hours), expected)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # 2026 광복절 (Sat) -> 대체공휴일 Mon 08-17
        (kst(2026, 8, 14, 17), 4, kst(2026, 8, 18, 12)),
        # 2026 개천절 (Sat) -> 대체공휴일 Mon 10-05
        (kst(2026, 10, 2, 17), 4, kst(2026, 10, 6, 12)),
        # 2025 삼일절 (Sat) -> 대체공휴일 Mon 03-03
        (kst(2025, 2, 28, 16), 4, kst(2025, 3, 4, 11)),
        # 2024 어린이날 (Sun) -> 대체공휴일 Mon 05-06
        (kst(2024, 5, 3, 17), 4, kst(2024, 5, 7, 12)),
    ],
)
def test_substitute_holidays(
    cal: BusinessCalendar, start: datetime, hours: float, expected: datetime
) -> None:
    assert_same(cal.add_business_hours(start, hours), expected)


# -- add_business_days -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # received Thu 10-02; +1 Fri 10-10, +2 Mon 10-13, +3 Tue 10-14
        (kst(2025, 10, 2, 10), 3, kst(2025, 10, 14, 18)),
        # Fri 20:00 is after hours: received Thu 02-19 (after 설); +3 -> Tue 02-24
        (kst(2026, 2, 13, 20), 3, kst(2026, 2, 24, 18)),
        # received Fri 09-13; next business day is Thu 09-19 (after 추석)
        (kst(2024, 9, 13, 10), 1, kst(2024, 9, 19, 18)),
        # 0 days: closing time of the receiving day
        (kst(2025, 11, 24, 10), 0, kst(2025, 11, 24, 18)),
        (kst(2025, 11, 22, 10), 0, kst(2025, 11, 24, 18)),
        # before opening on a business day: received that day
        (kst(2025, 11, 24, 8), 3, kst(2025, 11, 27, 18)),
        (kst(2025, 11, 24, 10), 3, kst(2025, 11, 27, 18)),
        # exactly at opening / at closing
        (kst(2025, 11, 24, 9), 1, kst(2025, 11, 25, 18)),
        (kst(2025, 11, 24, 18), 1, kst(2025, 11, 26, 18)),
        # Friday evening: received Monday
        (kst(2025, 11, 21, 20), 3, kst(2025, 11, 27, 18)),
    ],
)
def test_add_business_days(
    cal: BusinessCalendar, start: datetime, days: int, expected: datetime
) -> None:
    assert_same(cal.add_business_days(start, days), expected)


def test_add_business_days_rejects_bad_input(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_business_days(kst(2025, 11, 24, 10), -1)
    with pytest.raises(TypeError):
        cal.add_business_days(kst(2025, 11, 24, 10), 1.5)  # type: ignore[arg-type]


# -- extra closures and custom hours ---------------------------------------------------


def test_extra_closure_is_skipped() -> None:
    cal = BusinessCalendar(closures=[date(2025, 11, 24)])
    assert cal.is_business_day(date(2025, 11, 24)) is False
    assert cal.is_closure(date(2025, 11, 24)) is True
    assert cal.is_open(kst(2025, 11, 24, 10)) is False
    assert_same(cal.add_business_hours(kst(2025, 11, 21, 17), 4), kst(2025, 11, 25, 12))
    assert_same(cal.add_business_days(kst(2025, 11, 21, 10), 1), kst(2025, 11, 25, 18))
    assert_same(cal.next_opening(kst(2025, 11, 22, 12)), kst(2025, 11, 25, 9))
    assert cal.business_seconds_between(kst(2025, 11, 24), kst(2025, 11, 25)) == 0


def test_bridge_day_closure_extends_holiday_block() -> None:
    cal = BusinessCalendar(closures={date(2025, 10, 10)})
    assert_same(cal.add_business_hours(kst(2025, 10, 2, 17, 30), 4), kst(2025, 10, 13, 12, 30))


def test_closures_belong_to_one_calendar(cal: BusinessCalendar) -> None:
    BusinessCalendar(closures=[date(2025, 11, 24)])
    assert cal.is_business_day(date(2025, 11, 24)) is True


def test_custom_hours() -> None:
    early = BusinessCalendar(opens=time(8, 30), closes=time(17, 30))
    # 1.5h Mon, then Tue 08:30 + 2.5h
    assert_same(early.add_business_hours(kst(2025, 11, 24, 16), 4), kst(2025, 11, 25, 11))
    assert_same(early.add_business_days(kst(2025, 11, 24, 10), 1), kst(2025, 11, 25, 17, 30))
    assert early.is_open(kst(2025, 11, 24, 8, 30)) is True
    assert early.is_open(kst(2025, 11, 24, 17, 30)) is False

    short = BusinessCalendar(opens=time(10), closes=time(16))
    # 6h Mon (10-16), then Tue 10:00 + 2h
    assert_same(short.add_business_hours(kst(2025, 11, 24, 9), 8), kst(2025, 11, 25, 12))
    assert short.is_open(kst(2025, 11, 24, 9, 59)) is False
    assert short.is_open(kst(2025, 11, 24, 10)) is True
    assert short.is_open(kst(2025, 11, 24, 16)) is False
    assert short.business_seconds_between(kst(2025, 11, 24), kst(2025, 11, 29)) == 5 * 6 * 3600


def test_other_calendar_time_zone() -> None:
    tokyo_hours = BusinessCalendar(tz="Asia/Tokyo")
    due = tokyo_hours.add_business_hours(datetime(2025, 11, 24, 0, 0, tzinfo=UTC), 1)
    assert due == datetime(2025, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 JST + 1h
    assert due.tzinfo == ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"opens": time(18), "closes": time(9)},
        {"opens": time(9), "closes": time(9)},
        {"tz": "Mars/Olympus"},
    ],
)
def test_invalid_calendar(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        BusinessCalendar(**kwargs)


def test_closures_must_be_dates() -> None:
    with pytest.raises(TypeError):
        BusinessCalendar(closures=[datetime(2025, 11, 24, tzinfo=KST)])


# -- weekend and overnight starts ------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (kst(2025, 11, 22, 14), 4, kst(2025, 11, 24, 13)),  # Saturday afternoon
        (kst(2025, 11, 23, 23, 59), 1, kst(2025, 11, 24, 10)),  # Sunday just before midnight
        (kst(2025, 11, 24, 2), 4, kst(2025, 11, 24, 13)),  # Monday 02:00
        (kst(2025, 11, 25, 22), 4, kst(2025, 11, 26, 13)),  # Tuesday night
        (kst(2025, 11, 21, 18, 30), 4, kst(2025, 11, 24, 13)),  # Friday evening
    ],
)
def test_weekend_and_overnight_starts(
    cal: BusinessCalendar, start: datetime, hours: float, expected: datetime
) -> None:
    assert_same(cal.add_business_hours(start, hours), expected)


def test_inputs_in_other_zones_are_converted(cal: BusinessCalendar) -> None:
    # 00:00 UTC Monday = 09:00 KST Monday
    due = cal.add_business_hours(datetime(2025, 11, 24, 0, 0, tzinfo=UTC), 1)
    assert_same(due, kst(2025, 11, 24, 10))
    assert due.tzinfo == KST
    # 19:00 EST Sunday = 09:00 KST Monday
    new_york = datetime(2025, 11, 23, 19, 0, tzinfo=ZoneInfo("America/New_York"))
    assert cal.is_open(new_york) is True
    assert_same(cal.next_opening(new_york), kst(2025, 11, 24, 9))
    # 23:30 UTC Sunday is already Monday 08:30 KST: before opening, not a weekend
    assert_same(
        cal.next_opening(datetime(2025, 11, 23, 23, 30, tzinfo=UTC)), kst(2025, 11, 24, 9)
    )


# -- boundaries --------------------------------------------------------------------------


def test_is_open_boundaries(cal: BusinessCalendar) -> None:
    assert cal.is_open(kst(2025, 11, 24, 9)) is True
    assert cal.is_open(kst(2025, 11, 24, 9) - timedelta(microseconds=1)) is False
    assert cal.is_open(kst(2025, 11, 24, 17, 59, 59)) is True
    assert cal.is_open(kst(2025, 11, 24, 18)) is False
    assert cal.is_open(kst(2025, 10, 6, 12)) is False  # 추석
    assert cal.is_open(kst(2025, 11, 23, 12)) is False  # Sunday


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (kst(2025, 11, 24, 9), kst(2025, 11, 24, 9)),
        (kst(2025, 11, 24, 13, 17, 5), kst(2025, 11, 24, 13, 17, 5)),
        (kst(2025, 11, 24, 8), kst(2025, 11, 24, 9)),
        (kst(2025, 11, 24, 18), kst(2025, 11, 25, 9)),
        (kst(2025, 11, 21, 18), kst(2025, 11, 24, 9)),
        (kst(2025, 10, 6, 3), kst(2025, 10, 10, 9)),
        (kst(2026, 2, 13, 23), kst(2026, 2, 19, 9)),
    ],
)
def test_next_opening(cal: BusinessCalendar, at: datetime, expected: datetime) -> None:
    assert_same(cal.next_opening(at), expected)


def test_add_business_hours_boundaries(cal: BusinessCalendar) -> None:
    # a due time may fall exactly on closing time
    assert_same(cal.add_business_hours(kst(2025, 11, 24, 15), 3), kst(2025, 11, 24, 18))
    assert_same(cal.add_business_hours(kst(2025, 11, 24, 9), 9), kst(2025, 11, 24, 18))
    # one second more rolls over to the next opening
    assert_same(
        cal.add_business_hours(kst(2025, 11, 24, 9), 32401 / 3600), kst(2025, 11, 25, 9, 0, 1)
    )
    # starting exactly at closing time
    assert_same(cal.add_business_hours(kst(2025, 11, 24, 18), 1), kst(2025, 11, 25, 10))
    # zero hours: start unchanged, in the calendar zone
    assert_same(cal.add_business_hours(datetime(2025, 11, 22, 1, tzinfo=UTC), 0), kst(2025, 11, 22, 10))
    # fractional hours
    assert_same(cal.add_business_hours(kst(2025, 11, 24, 17), 1.25), kst(2025, 11, 25, 9, 15))


def test_add_business_hours_rejects_bad_hours(cal: BusinessCalendar) -> None:
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            cal.add_business_hours(kst(2025, 11, 24, 10), bad)


def test_long_span(cal: BusinessCalendar) -> None:
    # 244 business days in 2025 -> exactly the end of the year's last business day
    assert_same(cal.add_business_hours(kst(2025, 1, 1), 244 * 9), kst(2025, 12, 31, 18))
    assert_same(cal.add_business_hours(kst(2025, 1, 1), 244 * 9 + 1), kst(2026, 1, 2, 10))


# -- business_seconds_between ----------------------------------------------------------


def test_business_seconds_between(cal: BusinessCalendar) -> None:
    # 2025 추석: only Thu 10-02 and Fri 10-10 count
    assert cal.business_seconds_between(kst(2025, 10, 2, 9), kst(2025, 10, 10, 18)) == 2 * NINE_HOURS
    assert cal.business_seconds_between(kst(2025, 10, 10, 18), kst(2025, 10, 2, 9)) == -2 * NINE_HOURS
    assert cal.business_seconds_between(kst(2025, 11, 24, 18), kst(2025, 11, 25, 9)) == 0
    assert cal.business_seconds_between(kst(2025, 11, 24, 17), kst(2025, 11, 25, 10)) == 7200
    assert cal.business_seconds_between(kst(2025, 11, 24, 10), kst(2025, 11, 24, 10)) == 0
    # 2026 설 week: Fri 02-13 16:00 .. Thu 02-19 11:30 -> 2h + 2.5h
    assert cal.business_seconds_between(kst(2026, 2, 13, 16), kst(2026, 2, 19, 11, 30)) == 4.5 * 3600
    assert cal.business_time_between(kst(2026, 2, 13, 16), kst(2026, 2, 19, 11, 30)) == timedelta(
        hours=4, minutes=30
    )


# -- naive datetimes ---------------------------------------------------------------------


def test_naive_datetimes_are_rejected(cal: BusinessCalendar) -> None:
    naive = datetime(2025, 11, 24, 10)
    aware = kst(2025, 11, 24, 10)
    calls = [
        lambda: cal.is_open(naive),
        lambda: cal.next_opening(naive),
        lambda: cal.add_business_hours(naive, 1),
        lambda: cal.add_business_days(naive, 1),
        lambda: cal.business_seconds_between(naive, aware),
        lambda: cal.business_seconds_between(aware, naive),
        lambda: compute_due(naive, cal, SlaPolicy()),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()


# -- SlaPolicy / compute_due ------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "first", "resolution"),
    [
        (kst(2025, 11, 24, 10), kst(2025, 11, 24, 14), kst(2025, 11, 27, 18)),
        (kst(2025, 11, 21, 17, 30), kst(2025, 11, 24, 12, 30), kst(2025, 11, 26, 18)),
        (kst(2025, 10, 2, 17, 30), kst(2025, 10, 10, 12, 30), kst(2025, 10, 14, 18)),
        (kst(2025, 10, 6, 3), kst(2025, 10, 10, 13), kst(2025, 10, 15, 18)),
        (kst(2026, 2, 13, 17), kst(2026, 2, 19, 12), kst(2026, 2, 23, 18)),
        (kst(2025, 1, 24, 17), kst(2025, 1, 31, 12), kst(2025, 2, 4, 18)),
        (kst(2024, 9, 13, 15), kst(2024, 9, 19, 10), kst(2024, 9, 23, 18)),
    ],
)
def test_compute_due_default_policy(
    cal: BusinessCalendar, created: datetime, first: datetime, resolution: datetime
) -> None:
    got_first, got_resolution = compute_due(created, cal, SlaPolicy())
    assert_same(got_first, first)
    assert_same(got_resolution, resolution)


def test_compute_due_resolution_never_before_first_response(cal: BusinessCalendar) -> None:
    policy = SlaPolicy(first_response_hours=40, resolution_days=0)
    first, resolution = compute_due(kst(2025, 11, 24, 9), cal, policy)
    # 9h Mon..Thu = 36h, +4h Fri
    assert_same(first, kst(2025, 11, 28, 13))
    assert_same(resolution, kst(2025, 11, 28, 13))


def test_sla_policy_defaults_and_validation() -> None:
    assert SlaPolicy() == SlaPolicy(first_response_hours=4, resolution_days=3)
    with pytest.raises(ValueError):
        SlaPolicy(first_response_hours=0)
    with pytest.raises(ValueError):
        SlaPolicy(resolution_days=-1)
    with pytest.raises(TypeError):
        SlaPolicy(resolution_days=1.5)  # type: ignore[arg-type]
