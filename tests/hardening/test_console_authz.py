"""The staff console's authorisation matrix: every console route of the app (pages and form posts) ×
{anonymous, agent of centre A, agent of centre B, admin}.

Routes come from ``app.routes`` (a new console route without a row in ``MATRIX`` fails). Form posts carry the
signed-in session's valid CSRF token (forged or missing tokens are tests/console/test_auth.py's subject), and
every request is a valid one built with fresh real objects for each caller. Anonymous callers are sent to the
login page; an agent gets 404 for another centre's ticket and 403 for an admin page; a success is the page
(200) or, after a form post, a redirect carrying a success message (not an error flash, not the login page).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from api.console import security
from api.console import service as console_service
from api.console.security import SESSION_COOKIE
from api.staff.models import Staff
from api.tickets import queue as tickets_queue
from tests.conftest import SECRET_KEY
from tests.console.conftest import csrf_from
from tests.hardening.objects import (PASSWORD, SOURCE, fresh, new_ask_log, new_entry, new_staff, new_suggestion,
                                     new_synonym,
                                     new_ticket, served_routes)

ROLES = ("anonymous", "agent_a", "agent_b", "admin")
CENTRE_A, CENTRE_B = "seoul", "busan"
HANGUL = re.compile(r"[가-힣]")

OK = "ok"
LOGIN = "login"  # anonymous: sent to the login page
PUBLIC = dict.fromkeys(ROLES, OK)
STAFF = {"anonymous": LOGIN, "agent_a": OK, "agent_b": OK, "admin": OK}
ADMIN = {"anonymous": LOGIN, "agent_a": 403, "agent_b": 403, "admin": OK}
OWN_CENTRE = {"anonymous": LOGIN, "agent_a": OK, "agent_b": 404, "admin": OK}
NOWHERE = dict.fromkeys(ROLES, 404)

@dataclass(frozen=True)
class Member:
    id: int
    username: str
    cookie: str
    csrf: str


@dataclass
class Call:
    method: str
    url: str
    data: dict[str, str] = field(default_factory=dict)
    signed_out: bool = False  # sent from a browser without a console session (the login form)
    cookies: dict[str, str] = field(default_factory=dict)


class World:
    """An agent of centre A (seoul), one of centre B (busan) and an admin, each signed in (a console session),
    and factories for fresh objects. Only plain values are kept: a refused request rolls the session back."""

    def __init__(self, db: AsyncSession):
        self.db = db
        self.members: dict[str, Member] = {}

    async def setup(self) -> "World":
        for role, kind, centre in (("agent_a", "agent", CENTRE_A), ("agent_b", "agent", CENTRE_B),
                                   ("admin", "admin", None)):
            self.members[role] = await self.staff(kind, centre, signed_in=True)
        return self

    async def commit(self) -> None:
        await self.db.commit()

    async def staff(self, role: str = "agent", centre: str | None = CENTRE_A, *, signed_in: bool = False) -> Member:
        staff = await new_staff(self.db, role, centre)
        cookie = csrf = ""
        if signed_in:
            session = await security.start_session(self.db, staff, secret=SECRET_KEY, ip="127.0.0.1",
                                                   user_agent="authz-matrix")
            cookie, csrf = session.cookie, session.row.csrf_token
        member = Member(id=staff.id, username=staff.username, cookie=cookie, csrf=csrf)
        await self.commit()
        return member

    async def staff_row(self, role: str) -> Staff:
        return await self.db.get(Staff, self.members[role].id, populate_existing=True)

    async def ticket(self, centre: str = CENTRE_A, *, resolved: bool = False, replied: bool = False) -> int:
        ticket_id, _ = await new_ticket(self.db, centre=centre, admin=await self.staff_row("admin"),
                                        resolved=resolved, replied=replied)
        await self.commit()
        return ticket_id

    async def staff_reply(self) -> tuple[int, int]:
        """A centre-A ticket with a staff reply: (ticket id, the reply's message id)."""
        ticket_id = await self.ticket(replied=True)
        detail = await tickets_queue.get_ticket_detail(self.db, staff=await self.staff_row("admin"), ticket_id=ticket_id)
        message_id = next(m.id for m in detail.messages if m.direction == "staff")
        return ticket_id, message_id

    async def faq_candidate(self) -> int:
        ticket_id, message_id = await self.staff_reply()
        ticket = await tickets_queue.get_ticket_detail(self.db, staff=await self.staff_row("admin"), ticket_id=ticket_id)
        candidate = await console_service.propose_faq_candidate(self.db, ticket=ticket.ticket, message_id=message_id,
                                                                actor_id=self.members["agent_a"].id)
        await self.commit()
        return candidate.id

    async def entry(self, *, publish: bool = False, revisions: int = 1) -> str:
        entry_id = await new_entry(self.db, publish=publish, revisions=revisions)
        await self.commit()
        return entry_id

    async def ask_log(self) -> int:
        log_id = await new_ask_log(self.db)
        await self.commit()
        return log_id

    async def suggestion(self) -> int:
        suggestion_id = await new_suggestion(self.db)
        await self.commit()
        return suggestion_id

    async def synonym(self) -> int:
        synonym_id = await new_synonym(self.db)
        await self.commit()
        return synonym_id

    async def closure(self) -> int:
        centre = await console_service.get_center(self.db, CENTRE_A)
        row = await console_service.add_closure(self.db, center=centre, day=date.today() + timedelta(days=40 + fresh()),
                                                reason="창립기념일")
        await self.commit()
        return row.id

    async def canned(self) -> int:
        centre = await console_service.get_center(self.db, CENTRE_A)
        row = await console_service.save_canned(self.db, center_id=centre.id, canned_id=None,
                                                title=f"서류 안내 {fresh()}", body="필요 서류는 사업자등록증 사본입니다.",
                                                actor_id=self.members["admin"].id)
        await self.commit()
        return row.id


Builder = Callable[[World, str], Awaitable[Call]]


@dataclass(frozen=True)
class Rule:
    access: dict[str, Any]
    build: Builder
    status: int | None = None  # a success: 200 for a page, 303 (with a success message) after a form post
    check: Callable[[str, httpx.Response], str | None] | None = None  # a success's own extra check


def page(url: str) -> Builder:
    async def build(w: World, role: str) -> Call:
        return Call("GET", url)

    return build


def form(url: str, **data: str) -> Builder:
    async def build(w: World, role: str) -> Call:
        return Call("POST", url, dict(data))

    return build


def on_ticket(action: str = "", *, resolved: bool = False, **data: str) -> Builder:
    async def build(w: World, role: str) -> Call:
        ticket_id = await w.ticket(resolved=resolved)
        return Call("POST" if action else "GET", f"/console/tickets/{ticket_id}{action}", dict(data))

    return build


async def _login(w: World, role: str) -> Call:
    return Call("POST", "/console/login", {"username": w.members["agent_a"].username, "password": PASSWORD},
                signed_out=True)


async def _faq_candidate(w: World, role: str) -> Call:
    ticket_id, message_id = await w.staff_reply()
    return Call("POST", f"/console/tickets/{ticket_id}/faq-candidate", {"message_id": str(message_id)})


def _draft(n: int) -> dict[str, str]:
    return {"topic": "support-ratio", "title": f"콘솔 권한 새 질문 {n}번", "answer": f"콘솔 권한 새 답변 {n}번입니다.",
            "paraphrases": f"콘솔 권한 새 표현 {n}번", "source_title": SOURCE[0], "source_url": SOURCE[1], "year": "2025"}


async def _kb_create(w: World, role: str) -> Call:
    n = fresh()
    return Call("POST", "/console/kb/new", {"entry_id": f"cauthz-new-{n}", **_draft(n)})


async def _kb_new_preview(w: World, role: str) -> Call:
    n = fresh()
    return Call("POST", "/console/kb/new/preview", {"entry_id": f"cauthz-new-{n}", "question": "새 질문 미리보기",
                                                    **_draft(n)})


def on_entry(action: str = "", *, method: str = "POST", publish: bool = False, revisions: int = 1,
             query: str = "", **data: str) -> Builder:
    async def build(w: World, role: str) -> Call:
        entry_id = await w.entry(publish=publish, revisions=revisions)
        return Call(method, f"/console/kb/entries/{entry_id}{action}{query}", dict(data))

    return build


async def _kb_save(w: World, role: str) -> Call:
    entry_id = await w.entry()
    return Call("POST", f"/console/kb/entries/{entry_id}", {**_draft(fresh()), "base_revision": "1"})


async def _kb_preview(w: World, role: str) -> Call:
    entry_id = await w.entry()
    return Call("POST", f"/console/kb/entries/{entry_id}/preview", {**_draft(fresh()), "question": "미리보기 질문"})


async def _synonym_delete(w: World, role: str) -> Call:
    return Call("POST", f"/console/kb/synonyms/{await w.synonym()}/delete")


async def _suggestion_accept(w: World, role: str) -> Call:
    return Call("POST", f"/console/kb/suggestions/{await w.suggestion()}/accept")


async def _suggestion_reject(w: World, role: str) -> Call:
    return Call("POST", f"/console/kb/suggestions/{await w.suggestion()}/reject")


async def _synonym_add(w: World, role: str) -> Call:
    return Call("POST", "/console/kb/synonyms", {"term": "스마트공장", "variant": f"콘솔변형{fresh()}"})


async def _add_paraphrases(w: World, role: str) -> Call:
    return Call("POST", "/console/unanswered/paraphrases", {"entry_id": await w.entry(),
                                                            "ask_log_ids": str(await w.ask_log())})


async def _preview_paraphrases(w: World, role: str) -> Call:
    return Call("POST", "/console/unanswered/paraphrases/preview", {"entry_id": await w.entry(),
                                                                    "ask_log_ids": str(await w.ask_log())})


async def _dismiss(w: World, role: str) -> Call:
    return Call("POST", "/console/unanswered/dismiss", {"ask_log_ids": str(await w.ask_log())})


async def _candidate_paraphrase(w: World, role: str) -> Call:
    candidate_id = await w.faq_candidate()
    return Call("POST", f"/console/unanswered/candidates/{candidate_id}/paraphrase",
                {"entry_id": await w.entry(), "question": f"정산 서류 어디로 보내요 {fresh()}"})


async def _candidate_dismiss(w: World, role: str) -> Call:
    return Call("POST", f"/console/unanswered/candidates/{await w.faq_candidate()}/dismiss")


async def _staff_create(w: World, role: str) -> Call:
    return Call("POST", "/console/admin/staff", {"username": f"cauthz-made-{fresh()}", "password": "password-456",
                                                 "role": "agent", "center": CENTRE_A})


def on_member(action: str, **data: str) -> Builder:
    async def build(w: World, role: str) -> Call:
        member = await w.staff("agent", CENTRE_A)
        return Call("POST", f"/console/admin/staff/{member.id}/{action}", dict(data))

    return build


async def _closure_add(w: World, role: str) -> Call:
    day = (date.today() + timedelta(days=400 + fresh())).isoformat()
    return Call("POST", f"/console/admin/centers/{CENTRE_A}/closures", {"day": day, "reason": "임시 휴무"})


async def _closure_delete(w: World, role: str) -> Call:
    return Call("POST", f"/console/admin/centers/{CENTRE_A}/closures/{await w.closure()}/delete")


async def _canned_save(w: World, role: str) -> Call:
    return Call("POST", f"/console/admin/centers/{CENTRE_A}/canned", {"title": f"방문 안내 {fresh()}",
                                                                     "body": "방문 전에 전화 주세요."})


async def _canned_delete(w: World, role: str) -> Call:
    return Call("POST", f"/console/admin/centers/{CENTRE_A}/canned/{await w.canned()}/delete")


def _goes_to_queue(role: str, response: httpx.Response) -> str | None:
    return None if response.headers.get("location") == "/console/queue" else "not sent to the queue"


def _login_page(role: str, response: httpx.Response) -> str | None:
    # the form for someone signed out; the queue for someone already signed in
    if role == "anonymous":
        return None if response.status_code == 200 and 'name="password"' in response.text else "no login form"
    if response.status_code == 303 and response.headers.get("location") == "/console/queue":
        return None
    return f"a signed-in {role} was not sent on to the queue: {response.status_code}"


def _signed_in(role: str, response: httpx.Response) -> str | None:
    cookies = response.headers.get_list("set-cookie")
    if response.headers.get("location") == "/console/queue" and any(
            c.startswith(f"{SESSION_COOKIE}=") and len(c.split(";")[0]) > len(SESSION_COOKIE) + 3 for c in cookies):
        return None
    return f"no new session: {response.headers.get('location')} {cookies}"


def _signed_out(role: str, response: httpx.Response) -> str | None:
    cookies = response.headers.get_list("set-cookie")
    if response.headers.get("location") == "/console/login" and any(
            c.startswith(f'{SESSION_COOKIE}=""') or c.startswith(f"{SESSION_COOKIE}=;") for c in cookies):
        return None
    return f"the session cookie was not cleared: {cookies}"


MATRIX: dict[str, Rule] = {
    "GET /console": Rule(PUBLIC, page("/console"), 303, _goes_to_queue),
    "GET /console/login": Rule(PUBLIC, page("/console/login"), check=_login_page),
    "POST /console/login": Rule(PUBLIC, _login, 303, _signed_in),
    "POST /console/logout": Rule(STAFF, form("/console/logout"), 303, _signed_out),
    "GET /console/account": Rule(STAFF, page("/console/account")),
    "POST /console/account/password": Rule(STAFF, form("/console/account/password", current_password=PASSWORD,
                                                       new_password="password-789", new_password2="password-789")),
    # the queue and tickets: every member, scoped to the centre
    "GET /console/queue": Rule(STAFF, page("/console/queue")),
    "GET /console/tickets/{ticket_id}": Rule(OWN_CENTRE, on_ticket()),
    "POST /console/tickets/{ticket_id}/claim": Rule(OWN_CENTRE, on_ticket("/claim")),
    "POST /console/tickets/{ticket_id}/reply": Rule(OWN_CENTRE, on_ticket("/reply", body="서류는 센터로 보내 주세요.")),
    "POST /console/tickets/{ticket_id}/transfer": Rule(OWN_CENTRE, on_ticket("/transfer", center="daegu",
                                                                             reason="공장이 대구에 있습니다")),
    "POST /console/tickets/{ticket_id}/resolve": Rule(OWN_CENTRE, on_ticket("/resolve", note="안내 완료")),
    "POST /console/tickets/{ticket_id}/reopen": Rule(OWN_CENTRE, on_ticket("/reopen", resolved=True,
                                                                           reason="추가 문의")),
    "POST /console/tickets/{ticket_id}/faq-candidate": Rule(OWN_CENTRE, _faq_candidate),
    # admins only
    "GET /console/dashboard": Rule(ADMIN, page("/console/dashboard")),
    "GET /console/kb": Rule(ADMIN, page("/console/kb")),
    "GET /console/kb/new": Rule(ADMIN, page("/console/kb/new")),
    "POST /console/kb/new": Rule(ADMIN, _kb_create),
    "POST /console/kb/new/preview": Rule(ADMIN, _kb_new_preview, 200),
    "GET /console/kb/entries/{entry_id}": Rule(ADMIN, on_entry(method="GET")),
    "POST /console/kb/entries/{entry_id}": Rule(ADMIN, _kb_save),
    "POST /console/kb/entries/{entry_id}/preview": Rule(ADMIN, _kb_preview, 200),
    "POST /console/kb/entries/{entry_id}/publish": Rule(ADMIN, on_entry("/publish")),
    "POST /console/kb/entries/{entry_id}/unpublish": Rule(ADMIN, on_entry("/unpublish", publish=True)),
    "POST /console/kb/entries/{entry_id}/rollback": Rule(ADMIN, on_entry("/rollback", revisions=2, to_revision="1")),
    "GET /console/kb/entries/{entry_id}/diff": Rule(ADMIN, on_entry("/diff", method="GET", revisions=2,
                                                                    query="?to=2")),
    "GET /console/kb/suggestions": Rule(ADMIN, page("/console/kb/suggestions")),
    "POST /console/kb/suggestions/{suggestion_id}/accept": Rule(ADMIN, _suggestion_accept),
    "POST /console/kb/suggestions/{suggestion_id}/reject": Rule(ADMIN, _suggestion_reject),
    "GET /console/kb/synonyms": Rule(ADMIN, page("/console/kb/synonyms")),
    "POST /console/kb/synonyms": Rule(ADMIN, _synonym_add),
    "POST /console/kb/synonyms/{synonym_id}/delete": Rule(ADMIN, _synonym_delete),
    "GET /console/unanswered": Rule(ADMIN, page("/console/unanswered")),
    "POST /console/unanswered/paraphrases": Rule(ADMIN, _add_paraphrases),
    "POST /console/unanswered/paraphrases/preview": Rule(ADMIN, _preview_paraphrases, 200),
    "POST /console/unanswered/dismiss": Rule(ADMIN, _dismiss),
    "POST /console/unanswered/candidates/{candidate_id}/paraphrase": Rule(ADMIN, _candidate_paraphrase),
    "POST /console/unanswered/candidates/{candidate_id}/dismiss": Rule(ADMIN, _candidate_dismiss),
    "GET /console/admin/staff": Rule(ADMIN, page("/console/admin/staff")),
    "POST /console/admin/staff": Rule(ADMIN, _staff_create),
    "POST /console/admin/staff/{staff_id}/active": Rule(ADMIN, on_member("active", active="0")),
    "POST /console/admin/staff/{staff_id}/password": Rule(ADMIN, on_member("password", password="password-999")),
    "POST /console/admin/staff/{staff_id}/telegram": Rule(ADMIN, on_member("telegram",
                                                                           telegram_user_id="6700000001")),
    "GET /console/admin/centers": Rule(ADMIN, page("/console/admin/centers")),
    # an agent's own centre is still an admin page
    "GET /console/admin/centers/{code}": Rule(ADMIN, page(f"/console/admin/centers/{CENTRE_A}")),
    "POST /console/admin/centers/{code}": Rule(ADMIN, form(f"/console/admin/centers/{CENTRE_A}", phone="02-123-4567",
                                                           opens="09:00", closes="18:00")),
    "POST /console/admin/centers/{code}/closures": Rule(ADMIN, _closure_add),
    "POST /console/admin/centers/{code}/closures/{closure_id}/delete": Rule(ADMIN, _closure_delete),
    "POST /console/admin/centers/{code}/canned": Rule(ADMIN, _canned_save),
    "POST /console/admin/centers/{code}/canned/{canned_id}/delete": Rule(ADMIN, _canned_delete),
    # static files are public; anything else under /console is a Korean 404 for everyone
    "MOUNT /console/static": Rule(PUBLIC, page("/console/static/console.css")),
    "GET /console/{rest:path}": Rule(NOWHERE, page("/console/no-such-page")),
    "POST /console/{rest:path}": Rule(NOWHERE, form("/console/no-such-page")),
}


ROUTES = served_routes(console=True)


@pytest.fixture
async def world(db) -> World:
    return await World(db).setup()


@pytest.fixture
async def browsers(app, world):
    """One browser per role: anonymous has no cookies, the others carry their console session."""
    clients = {}
    for role in ROLES:
        cookies = {SESSION_COOKIE: world.members[role].cookie} if role != "anonymous" else {}
        clients[role] = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                          cookies=cookies)
    yield clients
    for c in clients.values():
        await c.aclose()


def test_the_app_has_console_routes_and_the_matrix_has_no_stale_rows():
    assert len(ROUTES) >= 45 and "GET /console/tickets/{ticket_id}" in ROUTES
    assert sorted(set(MATRIX) - set(ROUTES)) == [], "rows for routes the app no longer has"


async def send(app, browsers: dict, world: World, role: str, call: Call) -> httpx.Response:
    if call.signed_out:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as bare:
            login_page = await bare.get("/console/login")
            return await bare.post(call.url, data={**call.data, "csrf_token": csrf_from(login_page.text)})
    data = dict(call.data)
    if call.method == "POST":
        data["csrf_token"] = world.members[role].csrf if role != "anonymous" else "no-session"
    return await browsers[role].request(call.method, call.url, data=data or None)


def flash_kinds(response: httpx.Response) -> list[str]:
    signed = response.cookies.get(security.FLASH_COOKIE)
    value = security.unsign(signed, secret=SECRET_KEY, purpose="flash") if signed else None
    return [m.get("kind") for m in (value or {}).get("m", [])]


def check(rule: Rule, role: str, call: Call, response: httpx.Response) -> str | None:
    expected = rule.access[role]
    got = response.status_code
    what = f"{role} {call.method} {call.url}"
    location = response.headers.get("location", "")
    if expected == LOGIN:
        wanted = "/console/login?next=" if call.method == "GET" else "/console/login"
        if got != 303 or not (location.startswith(wanted) if call.method == "GET" else location == wanted):
            return f"{what}: expected a redirect to the login page, got {got} {location}"
        return None
    if expected == OK:
        if rule.check is not None and rule.status is None:
            problem = rule.check(role, response)
            return f"{what}: {problem}" if problem else None
        success = rule.status or (200 if call.method == "GET" else 303)
        if got != success:
            return f"{what}: expected {success}, got {got} {location} {response.text[:300]}"
        if got == 303:
            if location.startswith("/console/login") and rule.check is None:
                return f"{what}: sent to the login page"
            if "error" in flash_kinds(response):
                return f"{what}: redirected with an error message"
        if rule.check is not None:
            problem = rule.check(role, response)
            return f"{what}: {problem}" if problem else None
        return None
    if got != expected:
        return f"{what}: expected {expected}, got {got} {location} {response.text[:300]}"
    if not HANGUL.search(response.text) or "<html" not in response.text.lower():
        return f"{what}: {got} is not a Korean error page"
    return None


@pytest.mark.parametrize("route", ROUTES)
async def test_console_route_authorisation(route, app, world, browsers):
    rule = MATRIX.get(route)
    if rule is None:
        pytest.fail(f"{route} has no row in MATRIX: say who may use it (and add a valid request for it)")
    problems = []
    for role in ROLES:
        call = await rule.build(world, role)
        response = await send(app, browsers, world, role, call)
        problem = check(rule, role, call, response)
        if problem:
            problems.append(problem)
    assert not problems, "\n".join(problems)


async def test_another_centres_ticket_never_shows_up_for_an_agent(world, browsers):
    """Agent B's queue, search and views show nothing of centre A; the ticket page is a 404 that names nothing."""
    ticket_a = await world.ticket(CENTRE_A)
    page_a = await browsers["agent_a"].get(f"/console/tickets/{ticket_a}")
    number = re.search(r"SF-\d{4}-\d+", page_a.text).group(0)
    link = f'href="/console/tickets/{ticket_a}"'
    assert link in (await browsers["agent_a"].get(f"/console/queue?view=all&q={number}")).text
    assert link in (await browsers["admin"].get(f"/console/queue?view=all&q={number}")).text
    for url in ("/console/queue", "/console/queue?view=all", f"/console/queue?view=all&q={number}",
                "/console/queue?view=unassigned"):
        page_b = await browsers["agent_b"].get(url)
        assert page_b.status_code == 200 and link not in page_b.text, url
    refused = await browsers["agent_b"].get(f"/console/tickets/{ticket_a}")
    assert refused.status_code == 404 and number not in refused.text
    other_queue = await browsers["agent_b"].get(f"/console/queue?center={CENTRE_A}")
    assert other_queue.status_code == 403 and link not in other_queue.text
