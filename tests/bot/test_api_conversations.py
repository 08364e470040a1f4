"""The bot-facing API: conversation state with optimistic versions, and exactly-once update claims."""

from __future__ import annotations

from datetime import timedelta

from api.conversations import service
from api.db import utcnow


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
