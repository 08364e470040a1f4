"""The bot-facing API: conversation state with optimistic versions, and exactly-once update claims."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from api.conversations import service
from api.conversations.models import ProcessedUpdate
from api.db import utcnow
from api.tickets.models import Ticket


async def test_unknown_chat_has_empty_state_at_version_zero(client, service_headers):
    r = await client.get("/api/v1/conversations/555", headers=service_headers)
    assert r.status_code == 200
    assert r.json()["state"] == {} and r.json()["version"] == 0


async def test_save_then_read_back_and_stale_write_is_409(client, service_headers):
    r = await client.put("/api/v1/conversations/556", json={"state": {"step": "address"}, "version": 0},
                         headers=service_headers)
    assert r.status_code == 200 and r.json()["version"] == 1
    r = await client.put("/api/v1/conversations/556", json={"state": {"step": "company"}, "version": 1},
                         headers=service_headers)
    assert r.json()["version"] == 2
    # a second bot process that read version 1 must not overwrite
    r = await client.put("/api/v1/conversations/556", json={"state": {"step": "other"}, "version": 1},
                         headers=service_headers)
    assert r.status_code == 409 and r.json()["error"] == "version_conflict"
    assert "다시" in r.json()["detail"]
    # creating again from version 0 is a conflict too
    r = await client.put("/api/v1/conversations/556", json={"state": {}, "version": 0}, headers=service_headers)
    assert r.status_code == 409
    r = await client.get("/api/v1/conversations/556", headers=service_headers)
    assert r.json()["state"] == {"step": "company"} and r.json()["version"] == 2


async def test_conversation_needs_the_service_token(client, make_staff, db):
    _, staff_headers = await make_staff("agent", "seoul")
    await db.commit()  # an error response rolls back what was not committed
    assert (await client.get("/api/v1/conversations/1")).status_code == 401
    assert (await client.get("/api/v1/conversations/1", headers=staff_headers)).status_code == 403


async def test_oversized_state_is_refused(client, service_headers):
    r = await client.put("/api/v1/conversations/557", json={"state": {"x": "가" * 7000}, "version": 0},
                         headers=service_headers)
    assert r.status_code == 413 and r.json()["error"] == "state_too_large"
    assert (await client.get("/api/v1/conversations/557", headers=service_headers)).json()["version"] == 0


async def test_negative_group_chat_ids_work(client, service_headers):
    r = await client.put("/api/v1/conversations/-1001234567890", json={"state": {"a": 1}, "version": 0},
                         headers=service_headers)
    assert r.status_code == 200 and r.json()["chat_id"] == -1001234567890


async def test_update_is_claimed_once(client, service_headers):
    r = await client.post("/api/v1/telegram/updates/9001/claim", headers=service_headers)
    assert r.json() == {"update_id": 9001, "claimed": True, "status": "processing"}
    r = await client.post("/api/v1/telegram/updates/9001/claim", headers=service_headers)
    assert r.json()["claimed"] is False and r.json()["status"] == "processing"
    r = await client.post("/api/v1/telegram/updates/9001/done", headers=service_headers)
    assert r.json()["status"] == "done"
    r = await client.post("/api/v1/telegram/updates/9001/done", headers=service_headers)
    assert r.status_code == 200 and r.json()["status"] == "done"
    r = await client.post("/api/v1/telegram/updates/9001/claim", headers=service_headers)
    assert r.json() == {"update_id": 9001, "claimed": False, "status": "done"}


async def test_the_same_claimer_gets_its_claim_again(client, service_headers):
    body = {"claimer": "bot-a"}
    url = "/api/v1/telegram/updates/9004/claim"
    assert (await client.post(url, json=body, headers=service_headers)).json()["claimed"] is True
    # the response was lost and bot-a asks again: still its claim; another process is refused
    assert (await client.post(url, json=body, headers=service_headers)).json()["claimed"] is True
    assert (await client.post(url, json={"claimer": "bot-b"}, headers=service_headers)).json()["claimed"] is False
    assert (await client.post(url, headers=service_headers)).json()["claimed"] is False
    # a release by someone else does nothing; by the holder it frees the update
    await client.delete(url + "?claimer=bot-b", headers=service_headers)
    assert (await client.post(url, json={"claimer": "bot-b"}, headers=service_headers)).json()["claimed"] is False
    await client.delete(url + "?claimer=bot-a", headers=service_headers)
    assert (await client.post(url, json={"claimer": "bot-b"}, headers=service_headers)).json()["claimed"] is True


async def test_released_claim_can_be_claimed_again_but_a_done_one_cannot(client, service_headers):
    await client.post("/api/v1/telegram/updates/9002/claim", headers=service_headers)
    r = await client.delete("/api/v1/telegram/updates/9002/claim", headers=service_headers)
    assert r.status_code == 204
    r = await client.post("/api/v1/telegram/updates/9002/claim", headers=service_headers)
    assert r.json()["claimed"] is True
    await client.post("/api/v1/telegram/updates/9002/done", headers=service_headers)
    await client.delete("/api/v1/telegram/updates/9002/claim", headers=service_headers)
    assert (await client.post("/api/v1/telegram/updates/9002/claim", headers=service_headers)).json()["claimed"] is False


async def test_stale_claim_of_a_dead_process_is_taken_over(db):
    long_ago = utcnow() - service.STALE_CLAIM - timedelta(seconds=5)
    first = await service.claim_update(db, update_id=9003, now=long_ago)
    assert first.claimed
    assert (await service.claim_update(db, update_id=9003, now=long_ago + timedelta(seconds=10))).claimed is False
    assert (await service.claim_update(db, update_id=9003)).claimed is True
    await service.complete_update(db, update_id=9003)
    assert (await service.claim_update(db, update_id=9003, now=utcnow() + timedelta(hours=1))).claimed is False


async def test_prune_forgets_old_done_updates_only(db):
    old = utcnow() - timedelta(days=8)
    await service.claim_update(db, update_id=9010, now=old)
    await service.complete_update(db, update_id=9010, now=old)
    await service.claim_update(db, update_id=9011)
    await service.complete_update(db, update_id=9011)
    assert await service.prune_updates(db) == 1
    assert (await service.claim_update(db, update_id=9011)).claimed is False


async def test_bad_ids_are_422_not_500(client, service_headers):
    assert (await client.post("/api/v1/telegram/updates/-1/claim", headers=service_headers)).status_code == 422
    assert (await client.get("/api/v1/conversations/abc", headers=service_headers)).status_code == 422
    r = await client.put("/api/v1/conversations/5", json={"state": [1, 2], "version": 0}, headers=service_headers)
    assert r.status_code == 422


# --- the claim that brings the chat's conversation, and completions carried by claims ---------------------------------


async def claim(client, headers, update_id: int, **body):
    r = await client.post(f"/api/v1/telegram/updates/{update_id}/claim", json={"claimer": "bot-a", **body},
                          headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_claim_naming_the_chat_brings_its_conversation_and_open_ticket(client, service_headers, db):
    chat = 5_550_001
    first = await claim(client, service_headers, 9101, chat_id=chat)
    assert first["claimed"] is True
    assert first["conversation"] == {"chat_id": chat, "state": {}, "version": 0, "updated_at": None}
    assert first["open_ticket"] is False

    r = await client.put(f"/api/v1/conversations/{chat}", json={"state": {"asks": [1]}, "version": 0},
                         headers=service_headers)
    assert r.status_code == 200
    r = await client.post("/api/v1/tickets", json={"chat_id": chat, "text": "설비 고장 문의", "address": "서울 강남구"},
                          headers=service_headers)
    assert r.status_code == 201, r.text
    ticket_id = r.json()["id"]
    second = await claim(client, service_headers, 9102, chat_id=chat)
    assert second["conversation"]["state"] == {"asks": [1]} and second["conversation"]["version"] == 1
    assert second["conversation"]["updated_at"] is not None
    assert second["open_ticket"] is True
    # the same rule as the follow-up endpoint: it finds the ticket too
    r = await client.post(f"/api/v1/chats/{chat}/messages", json={"text": "추가 문의"}, headers=service_headers)
    assert r.status_code == 201

    await db.execute(update(Ticket).where(Ticket.id == ticket_id).values(status="resolved"))
    await db.commit()
    third = await claim(client, service_headers, 9103, chat_id=chat)
    assert third["open_ticket"] is False
    r = await client.post(f"/api/v1/chats/{chat}/messages", json={"text": "또 문의"}, headers=service_headers)
    assert r.status_code == 404 and r.json()["error"] == "no_open_ticket"
    # another chat's ticket is not this chat's
    assert (await claim(client, service_headers, 9104, chat_id=chat + 1))["open_ticket"] is False


async def test_a_refused_claim_brings_nothing_and_old_claims_answer_as_before(client, service_headers):
    await claim(client, service_headers, 9110)
    refused = await claim(client, service_headers, 9110, claimer="bot-b", chat_id=5_550_010)
    assert refused == {"update_id": 9110, "claimed": False, "status": "processing"}
    again = await claim(client, service_headers, 9110, chat_id=5_550_010)  # the holder asking again
    assert again["claimed"] is True and again["conversation"]["version"] == 0


async def test_a_claim_records_the_completed_updates_first(client, service_headers, db):
    for update_id in (9120, 9121):
        await claim(client, service_headers, update_id)
    # 9122 was never claimed (its claim's answer was lost, say): recorded done all the same; 9123 is the new one
    r = await claim(client, service_headers, 9123, completed=[9120, 9121, 9122, 9121])
    assert r["claimed"] is True
    statuses = dict((await db.execute(select(ProcessedUpdate.update_id, ProcessedUpdate.status)
                                      .where(ProcessedUpdate.update_id.between(9120, 9123)))).all())
    assert statuses == {9120: "done", 9121: "done", 9122: "done", 9123: "processing"}
    # a claim refused (another process holds the update) still records what it carried
    r = await claim(client, service_headers, 9123, claimer="bot-b", completed=[9125])
    assert r == {"update_id": 9123, "claimed": False, "status": "processing"}
    assert await db.scalar(select(ProcessedUpdate.status).where(ProcessedUpdate.update_id == 9125)) == "done"
    # recording again is harmless; an update in its own completed list is not processed again
    r = await claim(client, service_headers, 9124, completed=[9120, 9124])
    assert r == {"update_id": 9124, "claimed": False, "status": "done"}


async def test_completions_are_bounded_and_validated(client, service_headers):
    url = "/api/v1/telegram/updates/9130/claim"
    r = await client.post(url, json={"completed": list(range(1, 102))}, headers=service_headers)
    assert r.status_code == 422
    r = await client.post(url, json={"completed": [-5]}, headers=service_headers)
    assert r.status_code == 422
    r = await client.post("/api/v1/telegram/updates/done", json={"update_ids": []}, headers=service_headers)
    assert r.status_code == 422
    r = await client.post("/api/v1/telegram/updates/done", json={"update_ids": list(range(1, 102))},
                          headers=service_headers)
    assert r.status_code == 422
    # nothing was taken by the refused requests
    assert (await claim(client, service_headers, 9130))["claimed"] is True


async def test_batch_done_records_updates_once(client, service_headers, db):
    await claim(client, service_headers, 9140)
    for _ in range(2):
        r = await client.post("/api/v1/telegram/updates/done", json={"update_ids": [9140, 9141]},
                              headers=service_headers)
        assert r.status_code == 204
    for update_id in (9140, 9141):
        assert (await claim(client, service_headers, update_id))["status"] == "done"
    recorded = select(func.count()).select_from(ProcessedUpdate).where(
        ProcessedUpdate.update_id.in_([9140, 9141]), ProcessedUpdate.done_at.is_not(None))
    assert await db.scalar(recorded) == 2


async def test_completing_many_in_the_service(db):
    await service.claim_update(db, update_id=9150, claimer="x")
    await service.complete_updates(db, update_ids=[9150, 9151])
    await service.complete_updates(db, update_ids=[])
    assert (await service.claim_update(db, update_id=9151, claimer="x")).claimed is False
    snapshot = (await service.claim_update(db, update_id=9152, claimer="x", chat_id=77, completed=[9152])).snapshot
    assert snapshot is None  # its own id was in the list: recorded done, not claimed
