"""Errors reaching the console are Korean pages in its layout, never the API's JSON: input the database cannot
store (a NUL typed into a form), unknown URLs and methods, the database being down or its pool exhausted,
PostgreSQL refusing a value, and a bug. The JSON API under /api keeps its envelope."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, OperationalError
from starlette.requests import Request

from api.app import create_app
from api.centers.models import Center
from api.console import security
from api.console.models import CannedResponse
from api.console.web import ConsoleRoute
from api.db import make_engine, make_sessionmaker
from api.errors import ErrorReply, _error_pages, error_response, register_error_page
from api.kb import entries as kb_entries
from api.kb.models import KbEntry, KbRevision, KbSynonym
from api.staff.models import Staff
from tests.conftest import SECRET_KEY, make_settings
from tests.console.conftest import PASSWORD, SOURCE, csrf_from, login, make_entry, post_form, text_of

HANGUL = re.compile(r"[가-힣]")
UNSTORABLE = "입력에 저장할 수 없는 값이 있습니다"
LEAKS = ("Traceback", "sqlalchemy", "psycopg", "SELECT", "INSERT", "OperationalError", "DataError", '{"error"')


def assert_console_page(response: httpx.Response, status: int, *phrases: str) -> str:
    """A Korean HTML page in the console's layout with ``status``, saying ``phrases``, showing no internals."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    page = text_of(response)
    assert '<html lang="ko">' in page and 'class="topbar"' in page and HANGUL.search(page)
    for phrase in phrases:
        assert phrase in page, (phrase, page[:2000])
    for leak in LEAKS:
        assert leak not in page, leak
    return page


# -- input the database cannot store ----------------------------------------------------------------------

async def _canned(db, center_id: int) -> list[tuple[str, str]]:
    rows = await db.execute(select(CannedResponse.title, CannedResponse.body)
                            .where(CannedResponse.center_id == center_id).order_by(CannedResponse.id))
    return [tuple(r) for r in rows.all()]


@pytest.mark.parametrize("field", ["title", "body"])
async def test_a_nul_in_a_canned_response_is_a_422_page_and_nothing_is_stored(admin_client, db, field):
    center_id = await db.scalar(select(Center.id).where(Center.code == "busan"))
    page = "/console/admin/centers/busan"
    saved = await post_form(admin_client, page, f"{page}/canned", {"title": "신청 안내", "body": "공고를 확인해 주세요."})
    assert saved.status_code == 303
    before = await _canned(db, center_id)
    canned_id = await db.scalar(select(CannedResponse.id).where(CannedResponse.center_id == center_id))

    typed = {"title": "서류 안내", "body": "사업자등록증을 보내 주세요."}
    typed[field] = typed[field][:2] + "\x00" + typed[field][2:]
    response = await post_form(admin_client, page, f"{page}/canned", typed)  # a new one
    html = assert_console_page(response, 422, "입력 확인 필요", UNSTORABLE, "보낸 내용은 저장되지 않았습니다")
    assert f'href="{page}" data-history-back' in html  # back to the form (the browser keeps what was typed)
    response = await post_form(admin_client, page, f"{page}/canned", {**typed, "canned_id": str(canned_id)})
    assert_console_page(response, 422, UNSTORABLE)  # an edit of the existing one
    assert await _canned(db, center_id) == before  # nothing added, the existing one unchanged

    # The page still works and the same form without the NUL is saved.
    clean = {k: v.replace("\x00", "") for k, v in typed.items()}
    response = await post_form(admin_client, page, f"{page}/canned", clean, follow_redirects=True)
    assert response.status_code == 200 and "상용구를 저장했습니다" in text_of(response)
    assert await _canned(db, center_id) == [*before, (clean["title"], clean["body"])]


async def test_a_nul_in_the_kb_editor_comes_back_in_the_form_and_changes_nothing(admin_client, db):
    await make_entry(db)
    entry = "/console/kb/entries/ratio-government"
    detail = await kb_entries.get_entry(db, entry_id="ratio-government")
    rev = detail.latest
    form = {"topic": detail.entry.topic, "title": rev.title, "paraphrases": "\n".join(rev.paraphrases),
            "keywords": ", ".join(rev.keywords), "answer": "새 답변\x00초안", "source_title": rev.source_title,
            "source_url": rev.source_url, "year": str(rev.year), "valid_from": rev.valid_from.isoformat(),
            "valid_to": "", "base_revision": str(rev.number), "publish": "1"}
    response = await post_form(admin_client, entry, entry, form)
    html = assert_console_page(response, 422, UNSTORABLE, "새 답변")  # the editor again, with the typed text
    assert 'name="answer"' in html
    assert await db.scalar(select(func.count()).select_from(KbRevision)
                           .where(KbRevision.entry_id == "ratio-government")) == 1

    new = {"entry_id": "mes-cost", "topic": "support-limits", "title": "MES 도입\x00 비용은?", "paraphrases": "MES 얼마",
           "keywords": "MES", "answer": "센터에 문의해 주세요.", "source_title": SOURCE[0], "source_url": SOURCE[1],
           "year": "2025", "publish": "1"}
    response = await post_form(admin_client, "/console/kb/new", "/console/kb/new", new)
    assert_console_page(response, 422, UNSTORABLE, "센터에 문의해 주세요.")
    assert await db.get(KbEntry, "mes-cost") is None


async def test_unstorable_input_in_other_forms_is_a_422_page(admin_client, db):
    response = await post_form(admin_client, "/console/kb/synonyms", "/console/kb/synonyms",
                               {"term": "스마트\x00공장", "variant": "스공"})
    assert_console_page(response, 422, UNSTORABLE)
    assert await db.scalar(select(func.count()).select_from(KbSynonym)) == 0
    # A number beyond 64 bits in a form field, and in the address.
    response = await post_form(admin_client, "/console/admin/staff", "/console/admin/staff",
                               {"username": "kim.new", "password": "long-enough-1", "role": "agent", "center": "seoul",
                                "telegram_user_id": str(2**64)})
    assert_console_page(response, 422, UNSTORABLE)
    assert await db.scalar(select(Staff).where(Staff.username == "kim.new")) is None
    assert_console_page(await admin_client.get(f"/console/tickets/{2**70}"), 422, UNSTORABLE)


async def test_a_nul_in_the_login_form_comes_back_in_the_form(client, agent):
    username = agent.username
    page = await client.get("/console/login")
    response = await client.post("/console/login", data={"username": username + "\x00", "password": PASSWORD,
                                                         "csrf_token": csrf_from(page.text)})
    html = assert_console_page(response, 422, UNSTORABLE)
    assert f'value="{username}"' in html and 'name="password"' in html
    assert security.SESSION_COOKIE not in response.cookies
    assert (await login(client, username)).status_code == 303  # signing in works


# -- unknown addresses and methods -------------------------------------------------------------------------

async def test_unknown_console_urls_are_the_korean_404_page(client, agent_client):
    for c, signed_in in ((client, False), (agent_client, True)):
        for url in ("/console/no-such-page", "/console/tickets/1/no-such-action", "/console/kb/entries/x/y/z"):
            html = assert_console_page(await c.get(url), 404, "찾을 수 없음", "페이지를 찾을 수 없습니다", "대기열로")
            # Signed in: the menu, to find the way; signed out: the way to the login page.
            assert ('href="/console/login"' in html) is not signed_in
            assert ('href="/console/account"' in html) is signed_in
        assert_console_page(await c.post("/console/no-such-page", data={"x": "1"}), 404)
        assert_console_page(await c.get("/console/static/missing.css"), 404)
    assert (await agent_client.get("/console/")).headers["location"] == "/console/queue"


async def test_a_wrong_method_is_the_korean_405_page(agent_client):
    for method in ("PUT", "DELETE", "PATCH"):
        response = await agent_client.request(method, "/console/queue")
        assert_console_page(response, 405, "허용되지 않는 요청")
        assert "GET" in response.headers["allow"]


# -- the database is down ------------------------------------------------------------------------------

def _app_on(url: str, **engine_options):
    """An app whose database is ``url`` (no lifespan: the engine is made here, like the lifespan would)."""
    app = create_app(make_settings(url))
    engine = make_engine(url, **engine_options)
    app.state.engine, app.state.sessionmaker = engine, make_sessionmaker(engine)
    return app, engine


def _signed_in_cookie() -> str:
    """A validly signed session cookie: the console has to ask the database whether the session lives."""
    return security.sign({"t": security.new_token()}, secret=SECRET_KEY, purpose="session", max_age=3600)


async def _assert_503_pages(app) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        c.cookies.set(security.SESSION_COOKIE, _signed_in_cookie(), path="/console")
        response = await c.get("/console/queue?view=mine", headers={"referer": "http://test/console/queue"})
        html = assert_console_page(response, 503, "잠시 사용할 수 없음", "잠시 후 다시 시도해 주세요")
        assert response.headers["retry-after"] == "5"
        assert 'href="/console/queue?view=mine">다시 시도' in html and 'href="/console/queue" data-history-back' in html
        response = await c.post("/console/tickets/1/reply", data={"body": "답변", "csrf_token": "x"})
        assert_console_page(response, 503, "저장되지 않았을 수 있습니다")
        assert response.headers["retry-after"] == "5"
        c.cookies.clear()
        login_page = await c.get("/console/login")  # needs no database: the form shows
        assert login_page.status_code == 200
        response = await c.post("/console/login", data={"username": "kim", "password": PASSWORD,
                                                        "csrf_token": csrf_from(login_page.text)})
        assert_console_page(response, 503, "잠시 후 다시 시도해 주세요")
        # The API says the same in its JSON envelope.
        response = await c.get("/api/v1/centers")
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert response.json()["error"] == "database_unavailable"


@pytest.mark.parametrize("where", ["postgresql", "sqlite"])
async def test_an_unreachable_database_is_the_korean_503_page(tmp_path, where):
    url = {"postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/hotline",  # nothing listens on port 1
           "sqlite": f"sqlite:///{tmp_path / 'no-such-folder' / 'hotline.db'}"}[where]
    app, engine = _app_on(url)
    try:
        await _assert_503_pages(app)
    finally:
        await engine.dispose()


async def test_an_exhausted_pool_is_the_korean_503_page(database_url):
    app, engine = _app_on(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        async with engine.connect() as held:  # the only connection is busy
            await held.exec_driver_sql("SELECT 1")
            await _assert_503_pages(app)
    finally:
        await engine.dispose()


# -- other errors: PostgreSQL refusing a value, a bug, the body size limit --------------------------------------

@pytest.fixture
def probe_client(app):
    """The test app with console and API routes that fail the way the database or a bug would."""
    console, api = APIRouter(route_class=ConsoleRoute), APIRouter()
    failures = {"data": lambda: DataError("INSERT INTO kb_revisions ...", {}, Exception("integer out of range")),
                "db": lambda: OperationalError("SELECT 1", {}, Exception("server closed the connection")),
                "bug": lambda: RuntimeError("SELECT secret FROM staff WHERE password_hash = ...")}

    @console.post("/console/_probe/{kind}")
    @api.post("/api/v1/_probe/{kind}")
    async def probe(kind: str) -> None:
        raise failures[kind]()

    app.include_router(api)
    app.router.routes[:0] = console.routes  # before the console's catch-all 404
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a bug is re-raised for the server log
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_a_value_postgresql_refuses_and_a_bug_are_korean_pages_without_internals(probe_client):
    async with probe_client as c:
        assert_console_page(await c.post("/console/_probe/data"), 422, "허용 범위를 벗어나")
        assert_console_page(await c.post("/console/_probe/db"), 503, "잠시 후 다시 시도해 주세요")
        html = assert_console_page(await c.post("/console/_probe/bug"), 500, "일시적 오류",
                                   "시스템 관리자에게 알려 주세요")
        assert "secret" not in html and "password_hash" not in html
        # The API: its JSON envelope, and Starlette's plain 500 for a bug.
        response = await c.post("/api/v1/_probe/data")
        assert response.status_code == 422 and response.json()["error"] == "unstorable_input"
        response = await c.post("/api/v1/_probe/db")
        assert response.status_code == 503 and response.json()["error"] == "database_unavailable"
        response = await c.post("/api/v1/_probe/bug")
        assert response.status_code == 500 and response.text == "Internal Server Error"


async def test_error_response_renders_the_console_page_for_a_refused_body(app):
    """What the body size limit (api.app.BodySizeLimit) can send through ``error_response``: the 413 page."""
    reply = ErrorReply(413, {"error": "payload_too_large", "detail": "요청 내용이 너무 큽니다. (64KB 이하로 보내 주세요.)"})

    def request(path: str) -> Request:
        return Request({"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
                        "headers": [(b"host", b"test"), (b"referer", b"http://test/console/admin/centers/busan")],
                        "scheme": "http", "server": ("test", 80), "app": app})

    page = await error_response(request("/console/admin/centers/busan/canned"), reply)
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    html = page.body.decode()
    assert "64KB 이하로 보내 주세요" in html and "내용을 줄이거나 나누어" in html and "data-history-back" in html
    api = await error_response(request("/api/v1/ask"), reply)
    assert api.status_code == 413 and api.headers["content-type"] == "application/json"


async def test_a_failing_error_page_falls_back_to_a_bare_korean_page(app):
    async def broken(request, reply):
        raise RuntimeError("template missing")

    register_error_page("/_broken", broken)
    request = Request({"type": "http", "method": "GET", "path": "/_broken/x", "raw_path": b"/_broken/x",
                       "query_string": b"", "headers": [], "scheme": "http", "server": ("test", 80), "app": app})
    try:
        page = await error_response(request, ErrorReply(503, {"error": "database_unavailable",
                                                              "detail": "잠시 후 다시"}, {"Retry-After": "5"}))
    finally:
        del _error_pages["/_broken"]
    assert page.status_code == 503 and page.headers["retry-after"] == "5"
    assert "잠시 후 다시" in page.body.decode() and "template missing" not in page.body.decode()


# -- the API keeps its JSON ----------------------------------------------------------------------------

async def test_api_errors_stay_json(client, service_headers):
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.json() == {"error": "not_found", "detail": "요청한 주소를 찾을 수 없습니다."}
    response = await client.put("/api/v1/centers")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"
    response = await client.post("/api/v1/ask", json={"text": "질문\x00입니다"}, headers=service_headers)
    assert response.status_code == 422 and response.json()["error"] == "unstorable_input"
    response = await client.post("/api/v1/ask", json={}, headers=service_headers)
    assert response.status_code == 422 and response.json()["error"] == "validation_error"
    assert response.json()["errors"]


async def test_an_oversized_form_post_is_the_korean_413_page_and_nothing_is_stored(admin_client, db):
    """The body size limit answers before the route runs: a page for a person, the JSON envelope for /api."""
    center_id = await db.scalar(select(Center.id).where(Center.code == "busan"))
    page = "/console/admin/centers/busan"
    before = await _canned(db, center_id)
    response = await post_form(admin_client, page, f"{page}/canned", {"title": "큰 상용구", "body": "가" * 200_000})
    html = assert_console_page(response, 413, "KB 이하로 보내 주세요")
    assert "<html" in html.lower()
    assert await _canned(db, center_id) == before
    api = await admin_client.post("/api/v1/ask", content=b"{" + b" " * 300_000 + b"}",
                                  headers={"content-type": "application/json"})
    assert api.status_code == 413 and api.json()["error"] == "payload_too_large"
