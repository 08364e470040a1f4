"""Linking staff Telegram accounts (one-time codes) and centre staff groups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from api.centers.models import Center
from api.db import utcnow
from api.errors import Conflict, Forbidden, Unprocessable
from api.staff.models import Staff
from api.telegram_staff import service
from tests.conftest import SECRET_KEY


async def test_link_code_links_the_account_once(client, db, make_staff, service_headers):
    staff, headers = await make_staff("agent", "seoul")
    await db.commit()
    r = await client.post("/api/v1/telegram/link-code", headers=headers)
    assert r.status_code == 200 and "/link" in r.json()["instruction"]
    code = r.json()["code"]
    r = await client.post("/api/v1/telegram/staff-links", json={"telegram_user_id": 111, "code": code},
                          headers=service_headers)
    assert r.status_code == 200 and r.json()["center_code"] == "seoul"
    assert await db.scalar(select(Staff.telegram_user_id).where(Staff.id == staff.id)) == 111
    # linked now: the same code no longer matches (it was bound to the unlinked state)
    r = await client.post("/api/v1/telegram/staff-links", json={"telegram_user_id": 222, "code": code},
                          headers=service_headers)
    assert r.status_code == 422 and r.json()["error"] == "invalid_link_code"


async def test_link_code_endpoints_need_the_right_caller(client, db, make_staff, service_headers):
    _, headers = await make_staff("agent", "seoul")
    await db.commit()
    assert (await client.post("/api/v1/telegram/link-code", headers=service_headers)).status_code == 403
    r = await client.post("/api/v1/telegram/staff-links", json={"telegram_user_id": 1, "code": "x"}, headers=headers)
    assert r.status_code == 403


async def test_bad_expired_and_forged_codes(db, make_staff):
    staff, _ = await make_staff("agent", "busan")
    made = service.make_link_code(staff, secret=SECRET_KEY, now=utcnow() - service.LINK_CODE_TTL - timedelta(1))
    for code in ("", "garbage", made.code, made.code[:-1] + ("A" if made.code[-1] != "A" else "B")):
        with pytest.raises(Unprocessable):
            await service.link_staff_account(db, secret=SECRET_KEY, telegram_user_id=5, code=code)
    fresh = service.make_link_code(staff, secret=SECRET_KEY)
    with pytest.raises(Unprocessable):
        await service.link_staff_account(db, secret="another-secret-key-0000000000", telegram_user_id=5,
                                         code=fresh.code)
    linked = await service.link_staff_account(db, secret=SECRET_KEY, telegram_user_id=5, code=fresh.code.lower())
    assert linked.telegram_user_id == 5


async def test_a_telegram_account_moves_to_the_newly_linked_staff(db, make_staff):
    first, _ = await make_staff("agent", "busan")
    second, _ = await make_staff("agent", "busan")
    await service.link_staff_account(db, secret=SECRET_KEY, telegram_user_id=77,
                                     code=service.make_link_code(first, secret=SECRET_KEY).code)
    await service.link_staff_account(db, secret=SECRET_KEY, telegram_user_id=77,
                                     code=service.make_link_code(second, secret=SECRET_KEY).code)
    owners = await db.scalars(select(Staff.id).where(Staff.telegram_user_id == 77))
    assert list(owners) == [second.id]


async def test_group_linking_rules(db, make_staff):
    agent, _ = await make_staff("agent", "ulsan")
    other, _ = await make_staff("agent", "jeju")
    admin, _ = await make_staff("admin", None)
    agent.telegram_user_id, other.telegram_user_id, admin.telegram_user_id = 901, 902, 903
    await db.flush()
    with pytest.raises(Forbidden):
        await service.link_group(db, telegram_user_id=999, chat_id=-100, center_code=None)  # not linked
    with pytest.raises(Unprocessable):
        await service.link_group(db, telegram_user_id=901, chat_id=55, center_code=None)  # not a group
    center = await service.link_group(db, telegram_user_id=901, chat_id=-100900, center_code=None)
    assert center.code == "ulsan" and center.telegram_chat_id == -100900
    with pytest.raises(Forbidden):
        await service.link_group(db, telegram_user_id=901, chat_id=-100900, center_code="jeju")
    with pytest.raises(Conflict):  # another centre's agent cannot take it over
        await service.link_group(db, telegram_user_id=902, chat_id=-100900, center_code=None)
    with pytest.raises(Unprocessable):  # an admin names the centre
        await service.link_group(db, telegram_user_id=903, chat_id=-100900, center_code=None)
    moved = await service.link_group(db, telegram_user_id=903, chat_id=-100900, center_code="jeju")
    assert moved.code == "jeju"
    ulsan = await db.scalar(select(Center).where(Center.code == "ulsan").execution_options(populate_existing=True))
    assert ulsan.telegram_chat_id is None
    with pytest.raises(Forbidden):
        await service.unlink_group(db, telegram_user_id=901, chat_id=-100900)
    assert (await service.unlink_group(db, telegram_user_id=902, chat_id=-100900)).code == "jeju"
    assert await service.unlink_group(db, telegram_user_id=902, chat_id=-100900) is None
