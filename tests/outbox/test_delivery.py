"""The outbox drain API: leasing per channel, per-chat order, group limits, reports (sent, failed with backoff or
retry_after, released), and messages leased with an update's processing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.chats.service import Recipient
from api.contract import Button
from api.db import utcnow
from api.outbox import delivery
from api.outbox.models import OutboxMessage
from api.outbox.service import enqueue

BUTTONS = ((Button("1점", data="rate:1:1"), Button("5점", data="rate:1:5")),)


def to(chat_id: int) -> Recipient:
    return Recipient.telegram(chat_id)


async def _lease(client, headers, **body):
    r = await client.post("/api/v1/outbox/lease", json={"channel": "telegram", **body}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _report(client, headers, **body):
    r = await client.post("/api/v1/outbox/report", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _row(db, message_id: int) -> OutboxMessage:
    return await db.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id)
                           .execution_options(populate_existing=True))


async def test_lease_send_and_never_again(client, db, service_headers):
    m = await enqueue(db, to=to(4242), text="답변입니다", buttons=BUTTONS, kind="staff_reply")
    await db.commit()
    leased = await _lease(client, service_headers)
    assert [x["id"] for x in leased] == [m.id]
    assert leased[0]["buttons"] == [[{"text": "1점", "data": "rate:1:1", "url": None},
                                     {"text": "5점", "data": "rate:1:5", "url": None}]]
    assert (leased[0]["channel"], leased[0]["address"], leased[0]["text"]) == ("telegram", "4242", "답변입니다")
    assert await _lease(client, service_headers) == []  # leased: nobody else gets it meanwhile
    assert (await _report(client, service_headers, sent=[{"id": m.id, "message_id": 77}]))["sent"] == 1
    row = await _row(db, m.id)
    assert (row.status, row.channel_message_id) == ("sent", 77)
    await _report(client, service_headers, sent=[{"id": m.id, "message_id": 77}])  # reported twice: harmless
    assert await _lease(client, service_headers) == []


async def test_messages_to_one_chat_go_in_order_and_are_leased_together(client, db, service_headers):
    first = await enqueue(db, to=to(4243), text="첫째", kind="message")
    second = await enqueue(db, to=to(4243), text="둘째", kind="message")
    other = await enqueue(db, to=to(4244), text="다른 방", kind="message")
    await db.commit()
    leased = await _lease(client, service_headers)
    assert [x["id"] for x in leased] == [first.id, second.id, other.id]
    token = leased[0]["lease_token"]
    # the first fails and waits for a retry; the second, given back, must wait behind it
    outcome = await _report(client, service_headers, failed=[{"id": first.id, "lease_token": token, "error": "502"}],
                            released=[{"id": second.id, "lease_token": token}])
    assert outcome == {"sent": 0, "failed": 1, "released": 1, "lease_lost": []}
    assert (await _row(db, first.id)).attempts == 1
    assert await _lease(client, service_headers) == []
    rows = await delivery.lease_due(db, channel="telegram", now=utcnow() + timedelta(seconds=5))
    assert [x.id for x in rows] == [first.id, second.id]


async def test_a_chat_whose_head_is_leased_elsewhere_is_not_leased(db):
    first = await enqueue(db, to=to(4250), text="첫째", kind="message")
    now = utcnow()
    [held] = await delivery.lease_due(db, channel="telegram", address="4250", now=now)
    second = await enqueue(db, to=to(4250), text="둘째", kind="message")
    assert await delivery.lease_due(db, channel="telegram", address="4250", now=now) == []
    # and a message just queued for that chat is not handed over with the update either
    assert await delivery.lease_new(db, ids=[second.id], lease_seconds=30, now=now) == []
    await delivery.report(db, sent=[delivery.Sent(held.id, 1)], now=now)
    later = now + timedelta(seconds=1)
    assert [r.id for r in await delivery.lease_due(db, channel="telegram", address="4250", now=later)] == [second.id]
    assert held.id == first.id


async def test_backoff_grows_and_gives_up(db):
    m = await enqueue(db, to=to(4245), text="x", kind="message")
    now = utcnow()
    waits = []
    policy = delivery.RetryPolicy()
    for _ in range(policy.max_attempts):
        [leased] = await delivery.lease_due(db, channel="telegram", address="4245", now=now)
        await delivery.report(db, failed=[delivery.Failed(m.id, leased.lease_token, "boom")], now=now)
        row = await _row(db, m.id)
        waits.append((row.next_attempt_at - now).total_seconds())
        now = row.next_attempt_at
    assert row.status == "failed" and row.attempts == policy.max_attempts
    assert waits[:4] == [1, 2, 4, 8] and max(waits) == policy.backoff_cap_seconds
    short = delivery.RetryPolicy(max_attempts=2, backoff_seconds=5, backoff_cap_seconds=7)
    assert [short.backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 7, 7]
    assert await delivery.lease_due(db, channel="telegram", address="4245", now=now + timedelta(days=1)) == []


async def test_retry_after_is_honoured_and_not_an_attempt(client, db, service_headers):
    m = await enqueue(db, to=to(4246), text="x", kind="message")
    await db.commit()
    lease = (await _lease(client, service_headers))[0]
    await _report(client, service_headers,
                  failed=[{"id": m.id, "lease_token": lease["lease_token"], "error": "429", "retry_after": 30}])
    row = await _row(db, m.id)
    assert row.attempts == 0
    assert timedelta(seconds=29) < row.next_attempt_at - utcnow() <= timedelta(seconds=30)


async def test_permanent_failure_and_a_lost_lease(client, db, service_headers):
    message_id = (await enqueue(db, to=to(4247), text="x", kind="message")).id
    await db.commit()
    lease = (await _lease(client, service_headers))[0]
    outcome = await _report(client, service_headers, failed=[{"id": message_id, "lease_token": "not-mine",
                                                              "error": "x"}])
    assert outcome["lease_lost"] == [message_id] and (await _row(db, message_id)).attempts == 0
    await _report(client, service_headers, failed=[{"id": message_id, "lease_token": lease["lease_token"],
                                                    "error": "Forbidden: bot was blocked by the user",
                                                    "permanent": True}])
    assert (await _row(db, message_id)).status == "failed"
    assert (await _report(client, service_headers, sent=[{"id": 999_999}]))["sent"] == 1  # unknown: nothing to do


async def test_a_message_sent_after_its_lease_ran_out_is_still_recorded_sent(db):
    m = await enqueue(db, to=to(4248), text="x", kind="message")
    now = utcnow()
    [first] = await delivery.lease_due(db, channel="telegram", address="4248", now=now, lease_seconds=10)
    assert await delivery.lease_due(db, channel="telegram", address="4248", now=now + timedelta(seconds=5)) == []
    [again] = await delivery.lease_due(db, channel="telegram", address="4248", now=now + timedelta(seconds=11))
    assert again.id == m.id and again.lease_token != first.lease_token
    # the first holder's late failure no longer counts; its late "sent" does (it went out: never again)
    late = await delivery.report(db, failed=[delivery.Failed(m.id, first.lease_token, "late")])
    assert late.lease_lost == [m.id]
    await delivery.report(db, sent=[delivery.Sent(m.id, 5)])
    assert (await _row(db, m.id)).status == "sent"
    assert await delivery.lease_due(db, channel="telegram", address="4248", now=now + timedelta(minutes=5)) == []


async def test_group_chats_get_at_most_twenty_a_minute(db):
    group = -100555
    for i in range(25):
        await enqueue(db, to=to(group), text=f"알림 {i}", kind="staff_notice")
    now = utcnow()
    sent = 0
    for _ in range(30):
        leased = await delivery.lease_due(db, channel="telegram", address=str(group), now=now)
        if not leased:
            break
        for x in leased[:1]:  # one by one, as the limit counts what was sent
            await delivery.report(db, sent=[delivery.Sent(x.id, sent + 1)],
                                  released=[delivery.Released(r.id, r.lease_token) for r in leased[1:]], now=now)
            sent += 1
    assert sent == delivery.GROUP_SENDS_PER_MINUTE
    later = await delivery.lease_due(db, channel="telegram", address=str(group), now=now + timedelta(seconds=61))
    assert len(later) >= 1


async def test_each_channel_leases_its_own(client, db, service_headers):
    local = Recipient(chat_id=2**53 + 7, channel="local", address=str(2**53 + 7))
    m = await enqueue(db, to=local, text="터미널 답변", kind="staff_reply")
    await db.commit()
    assert all(x["id"] != m.id for x in await _lease(client, service_headers))
    r = await client.post("/api/v1/outbox/lease", json={"channel": "local", "address": local.address},
                          headers=service_headers)
    assert [x["id"] for x in r.json()] == [m.id]
    bad = await client.post("/api/v1/outbox/lease", json={"channel": "fax"}, headers=service_headers)
    assert bad.status_code == 422


async def test_the_ticket_of_a_staff_group_post(db):
    m = await enqueue(db, to=to(-100777), text="새 문의", kind="staff_notice")
    await delivery.report(db, sent=[delivery.Sent(m.id, 5)])
    assert await delivery.ticket_for_post(db, chat_id=-100777, message_id=5) is None  # not about a ticket
    assert await delivery.ticket_for_post(db, chat_id=-100777, message_id=6) is None


async def test_outbox_needs_the_service_token(client):
    assert (await client.post("/api/v1/outbox/lease", json={"channel": "telegram"})).status_code == 401
    assert (await client.post("/api/v1/outbox/report", json={},
                              headers={"Authorization": "Bearer nope"})).status_code == 401
