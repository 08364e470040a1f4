"""The outbox drain API: leasing, per-chat order, group limits, sent/failed with backoff and retry_after."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.db import utcnow
from api.outbox import delivery
from api.outbox.models import OutboxMessage
from api.outbox.service import enqueue

BUTTONS = [[{"text": "1점", "callback_data": "rate:1:1"}, {"text": "5점", "callback_data": "rate:1:5"}]]


async def _lease(client, headers, **body):
    r = await client.post("/api/v1/outbox/lease", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_lease_send_and_never_again(client, db, service_headers):
    m = await enqueue(db, chat_id=4242, text="답변입니다", buttons=BUTTONS, kind="staff_reply")
    await db.commit()
    leased = await _lease(client, service_headers)
    assert [x["id"] for x in leased] == [m.id]
    assert leased[0]["buttons"] == BUTTONS and leased[0]["text"] == "답변입니다"
    # leased: nobody else gets it meanwhile
    assert await _lease(client, service_headers) == []
    r = await client.post(f"/api/v1/outbox/{m.id}/sent", json={"telegram_message_id": 77}, headers=service_headers)
    assert r.json()["status"] == "sent" and r.json()["telegram_message_id"] == 77
    # reported twice: harmless
    r = await client.post(f"/api/v1/outbox/{m.id}/sent", json={"telegram_message_id": 77}, headers=service_headers)
    assert r.status_code == 200 and r.json()["status"] == "sent"
    assert await _lease(client, service_headers) == []


async def test_messages_to_one_chat_go_in_order(client, db, service_headers):
    first = await enqueue(db, chat_id=4243, text="첫째", kind="message")
    second = await enqueue(db, chat_id=4243, text="둘째", kind="message")
    other = await enqueue(db, chat_id=4244, text="다른 방", kind="message")
    await db.commit()
    leased = await _lease(client, service_headers)
    assert {x["id"] for x in leased} == {first.id, other.id}
    lease = next(x for x in leased if x["id"] == first.id)
    # the first fails and waits for a retry: the second must wait behind it
    r = await client.post(f"/api/v1/outbox/{first.id}/failed",
                          json={"lease_token": lease["lease_token"], "error": "502 Bad Gateway"}, headers=service_headers)
    assert r.json()["attempts"] == 1 and r.json()["status"] == "pending"
    assert await _lease(client, service_headers) == []
    rows = await delivery.lease_due(db, now=utcnow() + timedelta(seconds=5))
    assert [x.id for x in rows] == [first.id]
    await delivery.mark_sent(db, message_id=first.id, telegram_message_id=1)
    rows = await delivery.lease_due(db, now=utcnow() + timedelta(seconds=5))
    assert [x.id for x in rows] == [second.id]


async def test_backoff_grows_and_gives_up(db):
    m = await enqueue(db, chat_id=4245, text="x", kind="message")
    now = utcnow()
    waits = []
    for _ in range(delivery.MAX_ATTEMPTS):
        leased = await delivery.lease_due(db, now=now, chat_id=4245)
        assert [x.id for x in leased] == [m.id]
        row = await delivery.mark_failed(db, message_id=m.id, lease_token=leased[0].lease_token, error="boom",
                                         now=now)
        waits.append((row.next_attempt_at - now).total_seconds())
        now = row.next_attempt_at
    assert row.status == "failed" and row.attempts == delivery.MAX_ATTEMPTS
    assert waits[:4] == [1, 2, 4, 8] and max(waits) == delivery.BACKOFF_CAP_SECONDS
    assert await delivery.lease_due(db, now=now + timedelta(days=1), chat_id=4245) == []


async def test_retry_after_is_honoured_and_not_an_attempt(client, db, service_headers):
    m = await enqueue(db, chat_id=4246, text="x", kind="message")
    await db.commit()
    lease = (await _lease(client, service_headers))[0]
    r = await client.post(f"/api/v1/outbox/{m.id}/failed",
                          json={"lease_token": lease["lease_token"], "error": "429", "retry_after": 30},
                          headers=service_headers)
    assert r.json()["attempts"] == 0
    row = await db.scalar(select(OutboxMessage).where(OutboxMessage.id == m.id).execution_options(
        populate_existing=True))
    assert timedelta(seconds=29) < row.next_attempt_at - utcnow() <= timedelta(seconds=30)


async def test_permanent_failure_and_stale_lease(client, db, service_headers):
    message_id = (await enqueue(db, chat_id=4247, text="x", kind="message")).id
    await db.commit()
    lease = (await _lease(client, service_headers))[0]
    r = await client.post(f"/api/v1/outbox/{message_id}/failed", json={"lease_token": "not-mine", "error": "x"},
                          headers=service_headers)
    assert r.status_code == 409 and r.json()["error"] == "lease_lost"
    r = await client.post(f"/api/v1/outbox/{message_id}/failed",
                          json={"lease_token": lease["lease_token"], "error": "Forbidden: bot was blocked by the user",
                                "permanent": True}, headers=service_headers)
    assert r.json()["status"] == "failed"
    r = await client.post("/api/v1/outbox/999999/sent", json={}, headers=service_headers)
    assert r.status_code == 404


async def test_expired_lease_makes_the_message_due_again(db):
    m = await enqueue(db, chat_id=4248, text="x", kind="message")
    now = utcnow()
    first = await delivery.lease_due(db, now=now, lease_seconds=10, chat_id=4248)
    assert await delivery.lease_due(db, now=now + timedelta(seconds=5), chat_id=4248) == []
    again = await delivery.lease_due(db, now=now + timedelta(seconds=11), chat_id=4248)
    assert [x.id for x in again] == [m.id] and again[0].lease_token != first[0].lease_token
    # the first holder's late failure report no longer counts
    try:
        await delivery.mark_failed(db, message_id=m.id, lease_token=first[0].lease_token, error="late")
        raise AssertionError("a stale lease must not report")
    except delivery.LeaseLost:
        pass


async def test_release_gives_the_message_back(client, db, service_headers):
    m = await enqueue(db, chat_id=4249, text="x", kind="message")
    await db.commit()
    lease = (await _lease(client, service_headers))[0]
    r = await client.post(f"/api/v1/outbox/{m.id}/release", json={"lease_token": lease["lease_token"]},
                          headers=service_headers)
    assert r.status_code == 204
    assert [x["id"] for x in await _lease(client, service_headers)] == [m.id]


async def test_group_chats_get_at_most_twenty_a_minute(db):
    group = -100555
    for i in range(25):
        await enqueue(db, chat_id=group, text=f"알림 {i}", kind="staff_notice")
    now = utcnow()
    sent = 0
    for _ in range(30):
        leased = await delivery.lease_due(db, now=now, chat_id=group)
        if not leased:
            break
        for x in leased:
            await delivery.mark_sent(db, message_id=x.id, telegram_message_id=sent + 1, now=now)
            sent += 1
    assert sent == delivery.GROUP_SENDS_PER_MINUTE
    later = await delivery.lease_due(db, now=now + timedelta(seconds=61), chat_id=group)
    assert len(later) == 1


async def test_local_chats_are_left_to_the_terminal(client, db, service_headers):
    local = delivery.LOCAL_CHAT_MIN + 7
    m = await enqueue(db, chat_id=local, text="터미널 답변", kind="staff_reply")
    await db.commit()
    assert all(x["id"] != m.id for x in await _lease(client, service_headers))
    assert [x["id"] for x in await _lease(client, service_headers, chat_id=local)] == [m.id]


async def test_post_lookup_finds_the_ticket_of_a_staff_group_post(client, db, service_headers):
    r = await client.get("/api/v1/outbox/posts", params={"chat_id": -100777, "message_id": 5}, headers=service_headers)
    assert r.status_code == 200 and r.json()["ticket_id"] is None


async def test_outbox_needs_the_service_token(client):
    assert (await client.post("/api/v1/outbox/lease", json={})).status_code == 401
    assert (await client.post("/api/v1/outbox/lease", json={"limit": 0},
                              headers={"Authorization": "Bearer nope"})).status_code == 401
