"""Input the database cannot store the same way on SQLite and PostgreSQL (NUL in text, lone surrogates, integers
beyond 64 bits, values over a column's limits) is a 422 with a Korean message on every route — never a 500.

These are the cases the schema fuzzer found; the guard in ``api.db`` and the ``DataError`` handler in
``api.errors`` are the safety net behind each endpoint's own checks."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from api.kb.models import AskLog, KbSynonym

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


async def test_nul_or_lone_surrogates_in_a_telegram_update_are_cleaned_not_refused(client, service_headers, db):
    """What owners type reaches the API as Telegram sent it; an unstorable character must not refuse the whole
    batch (the bot would offer it forever): it is dropped and the message is handled."""
    update = {"update_id": 5_500_000_001,
              "message": {"message_id": 1, "date": 1_765_000_000, "text": "자부담\x00 비율\ud800 얼마예요",
                          "chat": {"id": 5_500_000_001, "type": "private", "first_name": "\udc00"},
                          "from": {"id": 5_500_000_001, "is_bot": False, "first_name": "김\x00"}}}
    r = await raw_json(client, "POST", "/api/v1/channels/telegram/updates", {"updates": [update]}, service_headers)
    assert r.status_code == 200, r.text
    assert r.json()["processed"] == [5_500_000_001]
    logged = await db.scalar(select(AskLog.text).where(AskLog.chat_id == 5_500_000_001))
    assert logged == "자부담 비율 얼마예요"


@pytest.mark.parametrize("method,url,body", [
    ("POST", f"/api/v1/ask/{BIG}/feedback", {"helpful": True}),
    ("POST", "/api/v1/outbox/report", {"sent": [{"id": BIG}]}),
    ("POST", "/api/v1/outbox/report", {"sent": [{"id": 1, "message_id": BIG}]}),
    ("POST", "/api/v1/outbox/report", {"failed": [{"id": BIG, "lease_token": "x"}]}),
    ("POST", "/api/v1/outbox/report", {"released": [{"id": BIG, "lease_token": "x"}]}),
    ("POST", "/api/v1/outbox/lease", {"channel": "telegram", "address": "\x00"}),
    ("POST", "/api/v1/channels/telegram/updates", {"updates": [{"update_id": BIG}]}),
    ("POST", "/api/v1/channels/local/messages", {"address": "9007199254740993", "key": "k\x00", "text": "a"}),
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
