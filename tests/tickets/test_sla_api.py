"""Due times and the owner's promise through the API, across 추석, 설 and substitute holidays."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from api.centers.models import Center, CenterClosure
from tests.conftest import make_settings
from tests.tickets.conftest import kst


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(timezone.utc)


@pytest.mark.parametrize("created,first_due,resolution_due,promise", [
    # Tuesday morning: 4 business hours the same day; 3 business days → Friday 18:00.
    (kst(2026, 11, 24, 10), kst(2026, 11, 24, 14), kst(2026, 11, 27, 18), "오늘 오후 2시까지"),
    # Wednesday before 추석 2026 (Thu 24 – Sat 26): 2 h on Wed, 2 h on Mon 28.
    (kst(2026, 9, 23, 16), kst(2026, 9, 28, 11), kst(2026, 9, 30, 18), "추석 연휴 이후 9월 28일(월) 오전 중"),
    # 3 a.m. on 추석 itself: nothing counts until Monday 09:00.
    (kst(2026, 9, 25, 3), kst(2026, 9, 28, 13), kst(2026, 10, 1, 18), "추석 연휴 이후 9월 28일(월) 오후 중"),
    # Friday before 설 2026 (Mon 16 – Wed 18 Feb): 1 h on Friday, 3 h on Thursday 19.
    (kst(2026, 2, 13, 17), kst(2026, 2, 19, 12), kst(2026, 2, 23, 18), "설 연휴 이후 2월 19일(목) 오전 중"),
    # 설 2027 falls on Sat 6 – Mon 8 Feb; the substitute holiday Tue 9 is closed too.
    (kst(2027, 2, 5, 15), kst(2027, 2, 10, 10), kst(2027, 2, 12, 18), "설 연휴 이후 2월 10일(수) 오전 중"),
    # 3 a.m. on that substitute holiday: Wednesday is "tomorrow".
    (kst(2027, 2, 9, 3), kst(2027, 2, 10, 13), kst(2027, 2, 15, 18), "내일(수) 오후 중"),
    # Friday evening before 개천절 (Sat 3 Oct 2026) and its substitute Monday: Tuesday 13:00; 한글날 (Fri 9)
    # is skipped on the way to the resolution due time.
    (kst(2026, 10, 2, 19), kst(2026, 10, 6, 13), kst(2026, 10, 12, 18), "개천절 연휴 이후 10월 6일(화) 오후 중"),
])
async def test_due_times_and_promise(created, first_due, resolution_due, promise, new_ticket, clock):
    clock.now = created
    t = await new_ticket(center="busan")
    assert utc(t["first_response_due"]) == first_due
    assert utc(t["resolution_due"]) == resolution_due
    assert f"담당자가 {promise} 답변드릴게요." in t["acknowledgement"]


async def test_centre_closures_push_the_due_time(new_ticket, clock, db):
    busan = await db.scalar(select(Center).where(Center.code == "busan"))
    db.add(CenterClosure(center_id=busan.id, day=date(2026, 11, 25), reason="센터 워크숍"))
    await db.commit()
    clock.now = kst(2026, 11, 24, 16)
    t = await new_ticket(center="busan")
    assert utc(t["first_response_due"]) == kst(2026, 11, 26, 11)  # Wed closed: 2 h Tue + 2 h Thu
    assert "휴무일 이후 11월 26일(목) 오전 중" in t["acknowledgement"]
    other = await new_ticket(center="seoul")  # another centre is open on Wednesday
    assert utc(other["first_response_due"]) == kst(2026, 11, 25, 11)


async def test_centre_hours_are_used(new_ticket, clock, db):
    jeju = await db.scalar(select(Center).where(Center.code == "jeju"))
    jeju.opens, jeju.closes = jeju.opens.replace(hour=8), jeju.closes.replace(hour=17)
    await db.commit()
    clock.now = kst(2026, 11, 24, 15)
    t = await new_ticket(center="jeju")
    assert utc(t["first_response_due"]) == kst(2026, 11, 25, 10)  # 2 h today, 2 h from 08:00
    assert "평일 08:00~17:00" in t["acknowledgement"]


async def test_sla_policy_comes_from_settings(app, new_ticket, clock, database_url):
    app.state.settings = make_settings(database_url, first_response_hours=9, resolution_days=5)
    clock.now = kst(2026, 11, 24, 10)
    t = await new_ticket()
    assert utc(t["first_response_due"]) == kst(2026, 11, 25, 10)
    assert utc(t["resolution_due"]) == kst(2026, 12, 1, 18)
