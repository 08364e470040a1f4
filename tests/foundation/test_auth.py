from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import jwt
import pytest

from api.auth.security import create_access_token, password_stamp
from api.staff.service import set_password
from tests.conftest import SECRET_KEY, SERVICE_TOKEN, bearer_for


async def test_token_for_valid_credentials(client, make_staff):
    staff, _ = await make_staff("agent", "busan", username="kim", password="correct-horse")
    r = await client.post("/api/v1/auth/token", data={"username": "kim", "password": "correct-horse"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "kim" and me.json()["role"] == "agent"


@pytest.mark.parametrize("username,password", [("kim", "wrong-password"), ("nobody", "correct-horse")])
async def test_wrong_credentials_are_401_in_korean(client, make_staff, username, password):
    await make_staff("agent", "busan", username="kim", password="correct-horse")
    r = await client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_credentials"
    assert "비밀번호" in r.json()["detail"]


async def test_repeated_failures_are_throttled_not_locked(app, client, make_staff):
    await make_staff("agent", "busan", username="kim", password="correct-horse")
    for _ in range(5):
        r = await client.post("/api/v1/auth/token", data={"username": "kim", "password": "nope-nope"})
        assert r.status_code == 401 and r.json()["error"] == "invalid_credentials"
    r = await client.post("/api/v1/auth/token", data={"username": "kim", "password": "correct-horse"})
    assert r.status_code == 429 and r.json()["error"] == "login_throttled" and int(r.headers["retry-after"]) > 0
    # Only this address waits: from elsewhere the right password still works.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("192.0.2.10", 5000)),
                                 base_url="http://test") as elsewhere:
        r = await elsewhere.post("/api/v1/auth/token", data={"username": "kim", "password": "correct-horse"})
        assert r.status_code == 200


async def test_missing_form_fields_are_422(client):
    r = await client.post("/api/v1/auth/token", data={"username": "kim"})
    assert r.status_code == 422
    assert r.json()["error"] == "validation_error"


async def test_expired_token_is_401(client, make_staff):
    staff, _ = await make_staff("agent", "seoul")
    token = create_access_token(staff_id=staff.id, password_changed_at=staff.password_changed_at, secret=SECRET_KEY,
                                minutes=5, now=datetime.now(timezone.utc) - timedelta(hours=1))
    r = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"


async def test_forged_token_is_401(client, make_staff):
    staff, _ = await make_staff("admin", None)
    claims = {"sub": str(staff.id), "pwd": password_stamp(staff.password_changed_at), "typ": "access",
              "exp": int((datetime.now(timezone.utc) + timedelta(hours=1)).timestamp())}
    forged = jwt.encode(claims, "some-other-secret-key-of-length-32b", algorithm="HS256")
    r = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    r = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {unsigned}"})
    assert r.status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer garbage.token.here", "bearer "])
async def test_malformed_authorization_is_401(client, header):
    r = await client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert r.status_code == 401


async def test_password_change_revokes_old_tokens(client, db, make_staff):
    staff, headers = await make_staff("agent", "seoul")
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    await set_password(db, staff, "a-brand-new-password")
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
    await db.refresh(staff)  # the 401 rolled the shared test session back, expiring its objects
    assert (await client.get("/api/v1/auth/me", headers=bearer_for(staff))).status_code == 200


async def test_deactivated_staff_token_is_401(client, db, make_staff):
    staff, headers = await make_staff("agent", "seoul")
    staff.is_active = False
    await db.flush()
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_service_token_is_not_a_staff_member(client):
    r = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    assert r.status_code == 403
