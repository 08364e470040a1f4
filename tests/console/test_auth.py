"""Console sign-in: cookies, CSRF, the sign-in throttle, failed attempts shown to staff, and sessions (and API
tokens) that end with logout, password change, deactivation."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from api.auth import throttle
from api.auth.models import LoginAttempt
from api.console.models import ConsoleSession
from api.console.router import AREAS
from api.console.security import SESSION_COOKIE, sign
from api.db import utcnow
from api.staff.models import Staff
from api.staff.service import set_password
from tests.conftest import SECRET_KEY
from tests.console.conftest import PASSWORD, csrf_from, login, post_form

PAGES = ["/console/queue", "/console/dashboard", "/console/kb", "/console/kb/new", "/console/kb/synonyms",
         "/console/unanswered", "/console/admin/staff", "/console/admin/centers", "/console/admin/centers/seoul",
         "/console/account", "/console/tickets/1", "/console/kb/entries/x"]


async def test_pages_need_a_login(client):
    for page in PAGES:
        response = await client.get(page + "?a=1")
        assert response.status_code == 303, page
        assert response.headers["location"].startswith("/console/login?next=%2Fconsole%2F"), page


async def test_login_sets_a_protected_session_cookie_and_goes_to_next(client, agent):
    response = await login(client, agent.username, next_url="/console/queue?view=mine")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/queue?view=mine"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "path=/console" in cookie.lower()
    page = await client.get("/console/queue")
    assert page.status_code == 200
    assert "서울 스마트제조혁신센터 대기열" in page.text


async def test_next_must_stay_in_the_console(client, agent):
    for target in ("https://evil.example/", "//evil.example/console", "/api/v1/tickets", "/console\\@evil"):
        client.cookies.clear()
        response = await login(client, agent.username, next_url=target)
        assert response.headers["location"] == "/console/queue", target


async def test_login_form_needs_its_csrf_token(client, agent):
    await client.get("/console/login")
    response = await client.post("/console/login", data={"username": agent.username, "password": PASSWORD,
                                                         "csrf_token": "forged"})
    assert response.status_code == 403
    assert "로그인 화면이 만료되었습니다" in response.text
    assert SESSION_COOKIE not in response.cookies
    fresh = httpx.AsyncClient(transport=client._transport, base_url="http://test")
    async with fresh:  # no login-form cookie at all
        response = await fresh.post("/console/login", data={"username": agent.username, "password": PASSWORD,
                                                            "csrf_token": "x"})
        assert response.status_code == 403


async def test_wrong_password_shows_a_korean_message(client, agent):
    response = await login(client, agent.username, "wrong-password")
    assert response.status_code == 401
    assert "사용자 이름 또는 비밀번호가 올바르지 않습니다" in response.text
    assert (await client.get("/console/queue")).status_code == 303


def browser(app, ip: str) -> httpx.AsyncClient:
    """A client connecting from ``ip``."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 50000)), base_url="http://test")


async def test_failures_are_throttled_not_locked_and_unknown_names_get_the_same_answers(app, client, db, agent):
    async with browser(app, "203.0.113.9") as attacker:
        for name in (agent.username, "no-such-user"):
            answers = []
            for _ in range(throttle.MAX_PER_USERNAME_AT_ADDRESS):
                response = await login(attacker, name, "wrong-password")
                answers.append((response.status_code, "사용자 이름 또는 비밀번호가 올바르지 않습니다" in response.text))
            assert answers == [(401, True)] * throttle.MAX_PER_USERNAME_AT_ADDRESS, name
            response = await login(attacker, name, PASSWORD)  # now even the right password waits
            assert response.status_code == 429 and "로그인 시도가 너무 많습니다. 15분 후 다시 시도해 주세요" in response.text
            assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    # The account is not locked: its owner, elsewhere, signs in.
    response = await login(client, agent.username, PASSWORD)
    assert response.status_code == 303
    assert await db.scalar(select(func.count()).select_from(LoginAttempt)
                           .where(LoginAttempt.ip == "203.0.113.9", LoginAttempt.success.is_(False))) == 10


async def test_many_addresses_cannot_keep_the_real_person_out(app, client, db, agent, monkeypatch):
    monkeypatch.setattr(throttle, "MAX_PER_USERNAME", 6)
    assert (await login(client, agent.username, PASSWORD)).status_code == 303  # the usual place (127.0.0.1)
    for n in range(3):  # a distributed guess, under each address's own limit
        async with browser(app, f"198.51.100.{n + 1}") as guesser:
            for _ in range(2):
                assert (await login(guesser, agent.username, "wrong-password")).status_code == 401
    async with browser(app, "192.0.2.77") as new_place:
        response = await login(new_place, agent.username, PASSWORD)
        assert response.status_code == 429  # the account is being guessed: new places wait
    async with browser(app, "127.0.0.1") as usual:
        assert (await login(usual, agent.username, PASSWORD)).status_code == 303  # known places never do


async def test_the_throttle_window_passes(db, agent):
    t0 = utcnow()
    for i in range(throttle.MAX_PER_ADDRESS):
        await throttle.record(db, username=f"user{i}", ip="203.0.113.50", user_agent="", staff_id=None, success=False,
                              now=t0 + timedelta(seconds=i))
    with pytest.raises(throttle.LoginThrottled) as err:
        await throttle.check(db, username="anyone", ip="203.0.113.50", now=t0 + timedelta(seconds=30))
    assert err.value.retry_after == int((throttle.WINDOW - timedelta(seconds=30)).total_seconds())
    await throttle.check(db, username="anyone", ip="203.0.113.50", now=t0 + throttle.WINDOW + timedelta(seconds=1))
    await throttle.check(db, username="anyone", ip="203.0.113.51", now=t0 + timedelta(seconds=30))


async def test_staff_see_their_failed_attempts(app, client, db, agent):
    async with browser(app, "203.0.113.20") as other:
        for _ in range(2):
            await login(other, agent.username, "wrong-password", )
    response = await login(client, agent.username, PASSWORD)
    page = await client.get(response.headers["location"])
    assert "지난 로그인 이후 이 계정에 로그인 실패가 2번 있었습니다" in page.text and "203.0.113.20" in page.text
    account = await client.get("/console/account")
    assert account.text.count("203.0.113.20") == 2 and "최근 로그인 실패 (30일)" in account.text
    # Signed in again: the failures before the previous sign-in are no news.
    await post_form(client, "/console/queue", "/console/logout")
    response = await login(client, agent.username, PASSWORD)
    assert "로그인 실패" not in (await client.get(response.headers["location"])).text


async def test_logout_revokes_the_api_tokens_issued_before_it(client, db, agent):
    issued = await client.post("/api/v1/auth/token", data={"username": agent.username, "password": PASSWORD})
    token = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert (await client.get("/api/v1/auth/me", headers=token)).status_code == 200
    await login(client, agent.username)
    await post_form(client, "/console/queue", "/console/logout")
    refused = await client.get("/api/v1/auth/me", headers=token)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
    again = await client.post("/api/v1/auth/token", data={"username": agent.username, "password": PASSWORD})
    assert (await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {again.json()['access_token']}"})
            ).status_code == 200


async def test_the_api_token_endpoint_is_throttled_with_the_same_answers(app, agent):
    async with browser(app, "203.0.113.30") as c:
        bodies = set()
        for name in (agent.username, "nobody-here"):
            for _ in range(throttle.MAX_PER_USERNAME_AT_ADDRESS):
                r = await c.post("/api/v1/auth/token", data={"username": name, "password": "wrong-password"})
                bodies.add((r.status_code, r.text))
            r = await c.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
            assert r.status_code == 429 and r.json()["error"] == "login_throttled" and r.headers["retry-after"]
        assert len(bodies) == 1  # one answer, whether or not the name exists


async def test_logout_ends_the_session_for_good(client, db, agent):
    await login(client, agent.username)
    stolen = client.cookies.get(SESSION_COOKIE)
    response = await post_form(client, "/console/queue", "/console/logout")
    assert response.status_code == 303 and response.headers["location"] == "/console/login"
    assert await db.scalar(select(func.count()).select_from(ConsoleSession)
                           .where(ConsoleSession.staff_id == agent.id)) == 0
    client.cookies.set(SESSION_COOKIE, stolen, path="/console")
    assert (await client.get("/console/queue")).status_code == 303


async def test_forged_or_tampered_cookies_are_refused(client, agent):
    await login(client, agent.username)
    good = client.cookies.get(SESSION_COOKIE)
    client.cookies.clear()
    for cookie in (good[:-2] + "xx", sign({"t": "guess"}, secret=SECRET_KEY, purpose="session", max_age=60),
                   sign({"t": good}, secret="another-secret", purpose="session", max_age=60), "garbage"):
        client.cookies.set(SESSION_COOKIE, cookie, path="/console")
        assert (await client.get("/console/queue")).status_code == 303


async def test_password_reset_elsewhere_ends_the_session(client, db, agent):
    await login(client, agent.username)
    assert (await client.get("/console/queue")).status_code == 200
    await set_password(db, agent, "another-password-1")  # e.g. the CLI
    await db.commit()
    assert (await client.get("/console/queue")).status_code == 303


async def test_deactivation_ends_the_session(client, db, agent):
    await login(client, agent.username)
    agent.is_active = False
    await db.commit()
    assert (await client.get("/console/queue")).status_code == 303
    response = await login(client, agent.username)
    assert response.status_code == 401


async def test_expired_and_idle_sessions_end(client, db, agent):
    await login(client, agent.username)
    row = await db.scalar(select(ConsoleSession).where(ConsoleSession.staff_id == agent.id))
    row.last_seen_at = utcnow() - timedelta(hours=3)
    await db.commit()
    assert (await client.get("/console/queue")).status_code == 303
    await login(client, agent.username)
    row = await db.scalar(select(ConsoleSession).where(ConsoleSession.staff_id == agent.id))
    row.expires_at = utcnow() - timedelta(seconds=1)
    await db.commit()
    assert (await client.get("/console/queue")).status_code == 303


async def test_own_password_change_keeps_this_browser_and_ends_the_others(app, client, db, agent):
    await login(client, agent.username)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as other:
        await login(other, agent.username)
        assert (await other.get("/console/queue")).status_code == 200
        response = await post_form(client, "/console/account", "/console/account/password",
                                   {"current_password": PASSWORD, "new_password": "brand-new-pass",
                                    "new_password2": "brand-new-pass"})
        assert response.status_code == 303 and response.headers["location"] == "/console/account"
        page = await client.get("/console/account")
        assert page.status_code == 200 and "비밀번호를 바꿨습니다" in page.text
        assert (await other.get("/console/queue")).status_code == 303
    await db.refresh(agent)
    client.cookies.clear()
    assert (await login(client, agent.username, "brand-new-pass")).status_code == 303


async def test_own_password_change_checks_the_current_password(client, agent):
    username = agent.username
    await login(client, username)
    response = await post_form(client, "/console/account", "/console/account/password",
                               {"current_password": "nope-nope", "new_password": "brand-new-pass",
                                "new_password2": "brand-new-pass"}, follow_redirects=True)
    assert "현재 비밀번호가 올바르지 않습니다" in response.text
    client.cookies.clear()
    assert (await login(client, username)).status_code == 303  # the password did not change


def _post_routes():
    for area in AREAS:
        for route in area.router.routes:
            if "POST" in route.methods and route.path != "/console/login":
                yield route.path


@pytest.mark.parametrize("path", sorted(set(_post_routes())))
async def test_every_form_post_needs_the_csrf_token(admin_client, db, path):
    url = (path.replace("{ticket_id}", "1").replace("{staff_id}", "1").replace("{code}", "seoul")
           .replace("{closure_id}", "1").replace("{canned_id}", "1").replace("{entry_id}", "x")
           .replace("{synonym_id}", "1").replace("{candidate_id}", "1"))
    before = await db.scalar(select(func.count()).select_from(Staff))
    for data in ({}, {"csrf_token": "forged"}):
        response = await admin_client.post(url, data={**data, "username": "mallory", "password": "password-123",
                                                      "role": "admin"})
        assert response.status_code == 403, (url, response.status_code)
        assert "보안 토큰" in response.text
    assert await db.scalar(select(func.count()).select_from(Staff)) == before


async def test_a_cross_site_origin_is_refused_even_with_the_token(admin_client):
    page = await admin_client.get("/console/admin/staff")
    response = await admin_client.post("/console/admin/staff",
                                       data={"csrf_token": csrf_from(page.text), "username": "mallory",
                                             "password": "password-123", "role": "admin"},
                                       headers={"origin": "https://evil.example"})
    assert response.status_code == 403
