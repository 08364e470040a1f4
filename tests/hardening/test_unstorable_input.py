"""Input the database cannot store the same way on SQLite and PostgreSQL (NUL in text, lone surrogates, integers
beyond 64 bits, values over a column's limits) is a 422 with a Korean message on every route — never a 500.

These are the cases the schema fuzzer found; the guard in ``api.db`` and the ``DataError`` handler in
``api.errors`` are the safety net behind each endpoint's own checks."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from api.kb.models import KbSynonym

BIG = 2**70


def raw_json(client, method: str, url: str, body, headers):
    """ASCII JSON, so that "\\ud800" escapes reach the server as lone surrogates."""
    return client.request(method, url, content=json.dumps(body),
                          headers={**headers, "content-type": "application/json"})


def assert_422_korean(response) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] and any("\uac00" <= ch <= "\ud7a3" for ch in body["detail"])


@pytest.mark.parametrize("text", ["질문\x00입니다", "질문\ud800입니다"])
async def test_ask_with_nul_or_lone_surrogate(client, service_headers, text):
    assert_422_korean(await raw_json(client, "POST", "/api/v1/ask", {"text": text}, service_headers))


@pytest.mark.parametrize("term", ["스마트\x00공장", "스마트\udc00공장"])
async def test_synonym_with_nul_or_lone_surrogate(client, make_staff, db, term):
    _, admin = await make_staff("admin", None)
    r = await raw_json(client, "POST", "/api/v1/admin/kb/synonyms", {"term": term, "variant": "스공"}, admin)
    assert_422_korean(r)
    assert await db.scalar(select(func.count()).select_from(KbSynonym)) == 0


async def test_login_with_nul_in_the_username(client):
    r = await client.post("/api/v1/auth/token", data={"username": "ad\x00min", "password": "password-123"})
    assert_422_korean(r)


async def test_update_claim_with_nul_in_the_claimer(client, service_headers):
    r = await raw_json(client, "POST", "/api/v1/telegram/updates/5/claim", {"claimer": "bot\x00"}, service_headers)
    assert_422_korean(r)


async def test_conversation_state_with_a_lone_surrogate_or_a_huge_version(client, service_headers):
    r = await raw_json(client, "PUT", "/api/v1/conversations/5", {"state": {"step": "\ud800"}, "version": 0},
                       service_headers)
    assert_422_korean(r)
    r = await raw_json(client, "PUT", "/api/v1/conversations/5", {"state": {}, "version": 3_000_000_000},
                       service_headers)
    assert_422_korean(r)  # the column is a 32-bit INTEGER on PostgreSQL
    ok = await raw_json(client, "PUT", "/api/v1/conversations/5", {"state": {"step": "주소"}, "version": 0},
                        service_headers)
    assert ok.status_code == 200 and ok.json()["version"] == 1


@pytest.mark.parametrize("method,url,body", [
    ("POST", f"/api/v1/ask/{BIG}/feedback", {"helpful": True}),
    ("POST", f"/api/v1/outbox/{BIG}/sent", {"telegram_message_id": 1}),
    ("POST", "/api/v1/outbox/1/sent", {"telegram_message_id": BIG}),
    ("POST", f"/api/v1/outbox/{BIG}/failed", {"lease_token": "x"}),
    ("POST", f"/api/v1/outbox/{BIG}/release", {"lease_token": "x"}),
    ("POST", "/api/v1/outbox/lease", {"chat_id": BIG}),
])
async def test_ids_beyond_64_bits_from_the_bot(client, service_headers, method, url, body):
    assert_422_korean(await raw_json(client, method, url, body, service_headers))


@pytest.mark.parametrize("method,url,body", [
    ("DELETE", f"/api/v1/admin/kb/synonyms/{BIG}", None),
    ("POST", "/api/v1/admin/kb/unanswered/dismiss", {"ask_log_ids": [BIG]}),
    ("POST", "/api/v1/admin/kb/unanswered/draft", {"ask_log_ids": [1, -BIG]}),
    ("POST", "/api/v1/admin/kb/unanswered/add-paraphrases", {"ask_log_ids": [BIG], "entry_id": "x"}),
])
async def test_ids_beyond_64_bits_from_an_admin(client, make_staff, method, url, body):
    _, admin = await make_staff("admin", None)
    if body is None:
        r = await client.request(method, url, headers=admin)
    else:
        r = await raw_json(client, method, url, body, admin)
    assert_422_korean(r)


async def test_the_guard_covers_every_write_path(db):
    """Below the endpoints: a service writing such a value gets the same 422 (as a typed error)."""
    from api.errors import Unprocessable

    for bad in ("a\x00b", "a\udfffb"):
        db.add(KbSynonym(term=bad, variant="v"))
        with pytest.raises(Unprocessable) as caught:
            await db.flush()
        assert caught.value.code == "unstorable_input"
        await db.rollback()
    db.add(KbSynonym(term="정상", variant="v"))
    await db.flush()  # ordinary text passes


async def test_a_value_the_database_refuses_is_a_422(app, client, caplog):
    """PostgreSQL's data errors (a value too long for its column, out of an INTEGER's range) that an endpoint
    failed to check: a 422 with a Korean message, and a warning for the developers (no parameters logged)."""
    from fastapi import APIRouter
    from sqlalchemy.exc import DataError

    router = APIRouter()

    @router.post("/_probe/data-error")
    async def probe() -> None:
        raise DataError("INSERT INTO t (name) VALUES (%(name)s)", {"name": "홍길동 010-1234-5678"},
                        Exception("value too long for type character varying(100)"))

    app.include_router(router)
    r = await client.post("/_probe/data-error")
    assert_422_korean(r)
    assert r.json()["error"] == "unstorable_input"
    warning = [rec for rec in caplog.records if rec.name == "api.errors"]
    assert warning and "value too long" in warning[0].getMessage()
    assert "010-1234-5678" not in caplog.text
