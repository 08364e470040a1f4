"""The API's authorisation matrix: every route of the app × {anonymous, bot service token, agent of centre A,
agent of centre B, admin}.

The routes come from the application itself (``app.routes``), so a route added without a row in ``MATRIX``
fails ``test_route_authorisation`` for that route. Each row says who may call the route; the request is a
valid one built for the route with real objects (a ticket of centre A, a leased outbox message, a published
KB entry, ...), made afresh for every caller so one caller's success cannot change what the next one sees.
Only the intended callers may succeed; the others get 401 (no credentials), 403 (the wrong kind of caller,
or an agent doing an admin's job) or 404 (an agent reaching for another centre's ticket).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.models import Center
from api.chats.service import Recipient
from api.db import utcnow
from api.outbox import delivery
from api.outbox.models import OutboxMessage
from api.outbox.service import enqueue
from api.staff.models import Staff
from api.tickets.models import Ticket, TicketEvent
from tests.conftest import SERVICE_TOKEN, bearer_for, make_settings
from tests.hardening.objects import (ADDRESS, PASSWORD, SOURCE, fresh, new_ask_log, new_entry, new_staff,
                                     new_suggestion, new_synonym, new_ticket, served_routes)

ROLES = ("anonymous", "service", "agent_a", "agent_b", "admin")
CENTRE_A, CENTRE_B = "seoul", "busan"
HANGUL = re.compile(r"[가-힣]")

OK = "ok"
PUBLIC = dict.fromkeys(ROLES, OK)
BOT = {"anonymous": 401, "service": OK, "agent_a": 403, "agent_b": 403, "admin": 403}
STAFF = {"anonymous": 401, "service": 403, "agent_a": OK, "agent_b": OK, "admin": OK}
ADMIN = {"anonymous": 401, "service": 403, "agent_a": 403, "agent_b": 403, "admin": OK}
# Cookie sessions (the web chat) and Kakao's shared secret: a bearer token, whoever's, is no way in.
NOBODY = dict.fromkeys(ROLES, 401)
KAKAO_SECRET = "kakao-skill-secret-authz-0123456789"
# A ticket (or another object) of centre A: its agents and admins; agent B must not even learn it exists.
OWN_CENTRE = {"anonymous": 401, "service": 403, "agent_a": OK, "agent_b": 404, "admin": OK}

@dataclass(frozen=True)
class Member:
    id: int
    username: str
    telegram_user_id: int | None
    headers: dict[str, str]


@dataclass
class Call:
    method: str
    url: str
    json: Any = None
    data: dict | None = None
    params: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)


class World:
    """Real objects in the test's database: an agent of centre A (seoul) and one of centre B (busan), an admin,
    and factories for fresh tickets, KB entries, question logs and outbox messages. Only plain values are kept:
    a refused request rolls the shared session back, which expires ORM objects."""

    def __init__(self, db: AsyncSession):
        self.db = db
        self.members: dict[str, Member] = {}

    async def setup(self) -> "World":
        for role, kind, centre in (("agent_a", "agent", CENTRE_A), ("agent_b", "agent", CENTRE_B),
                                   ("admin", "admin", None)):
            self.members[role] = await self.staff(kind, centre, telegram=True)
        return self

    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        if role == "service":
            return {"Authorization": f"Bearer {SERVICE_TOKEN}"}
        return self.members[role].headers

    async def commit(self) -> None:
        await self.db.commit()  # a savepoint of the test's transaction: survives a later error response

    async def staff(self, role: str, centre: str | None, *, telegram: bool = False) -> Member:
        staff = await new_staff(self.db, role, centre, telegram=telegram)
        member = Member(id=staff.id, username=staff.username, telegram_user_id=staff.telegram_user_id,
                        headers=bearer_for(staff))
        await self.commit()
        return member

    async def staff_row(self, role: str) -> Staff:
        return await self.db.get(Staff, self.members[role].id, populate_existing=True)

    # --- tickets ------------------------------------------------------------------------------------------------

    async def ticket(self, centre: str = CENTRE_A, *, resolved: bool = False) -> tuple[int, int]:
        """A new ticket of ``centre`` (open, or resolved by the admin); returns (ticket id, owner chat id)."""
        made = await new_ticket(self.db, centre=centre, admin=await self.staff_row("admin"), resolved=resolved)
        await self.commit()
        return made

    # --- knowledge base -------------------------------------------------------------------------------------------

    async def entry(self, *, publish: bool = False, revisions: int = 1) -> str:
        entry_id = await new_entry(self.db, publish=publish, revisions=revisions)
        await self.commit()
        return entry_id

    async def ask_log(self, *, outcome: str = "escalate") -> int:
        log_id = await new_ask_log(self.db, outcome=outcome)
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

    # --- the bot's plumbing ---------------------------------------------------------------------------------------

    async def leased(self) -> tuple[int, str]:
        """A message in the outbox, leased as the bot's drainer would; returns (outbox id, lease token)."""
        chat_id = 8_300_000_000 + fresh()
        message = await enqueue(self.db, to=Recipient.telegram(chat_id), text="권한 시험 발송", kind="message")
        (leased,) = await delivery.lease_due(self.db, channel="telegram", address=str(chat_id), limit=1)
        await self.commit()
        assert leased.id == message.id
        return leased.id, leased.lease_token


Builder = Callable[[World, str], Awaitable[Call]]


@dataclass(frozen=True)
class Rule:
    access: dict[str, Any]
    build: Builder
    status: int = 200  # the status of a success


def get(url: str, **params) -> Builder:
    async def build(w: World, role: str) -> Call:
        return Call("GET", url, params=params or None)

    return build


def post(url: str) -> Builder:
    async def build(w: World, role: str) -> Call:
        return Call("POST", url)

    return build


async def _token(w: World, role: str) -> Call:
    return Call("POST", "/api/v1/auth/token", data={"username": w.members["agent_a"].username, "password": PASSWORD})


async def _ask(w: World, role: str) -> Call:
    return Call("POST", "/api/v1/ask", json={"text": "스마트공장 정부지원 비율은 얼마인가요?"})


async def _feedback(w: World, role: str) -> Call:
    return Call("POST", f"/api/v1/ask/{await w.ask_log(outcome='answered')}/feedback", json={"helpful": True})


async def _public_entry(w: World, role: str) -> Call:
    return Call("GET", f"/api/v1/kb/entries/{await w.entry(publish=True)}")


def _entry_body(n: int) -> dict:
    return {"title": f"권한 시험 새 질문 {n}번", "answer": f"권한 시험 새 답변 {n}번입니다.", "paraphrases": [],
            "keywords": [], "source_title": SOURCE[0], "source_url": SOURCE[1], "year": 2025}


async def _create_entry(w: World, role: str) -> Call:
    n = fresh()
    return Call("POST", "/api/v1/admin/kb/entries",
                json={"id": f"authz-new-{n}", "topic": "support-ratio", **_entry_body(n)})


async def _get_entry(w: World, role: str) -> Call:
    return Call("GET", f"/api/v1/admin/kb/entries/{await w.entry()}")


async def _save_revision(w: World, role: str) -> Call:
    return Call("POST", f"/api/v1/admin/kb/entries/{await w.entry()}/revisions", json=_entry_body(fresh()))


async def _publish(w: World, role: str) -> Call:
    return Call("POST", f"/api/v1/admin/kb/entries/{await w.entry()}/publish", json={})


async def _unpublish(w: World, role: str) -> Call:
    return Call("POST", f"/api/v1/admin/kb/entries/{await w.entry(publish=True)}/unpublish")


async def _rollback(w: World, role: str) -> Call:
    return Call("POST", f"/api/v1/admin/kb/entries/{await w.entry(revisions=2)}/rollback",
                json={"to_revision": 1, "publish": False})


async def _diff(w: World, role: str) -> Call:
    return Call("GET", f"/api/v1/admin/kb/entries/{await w.entry(revisions=2)}/diff", params={"from": 1, "to": 2})


async def _preview(w: World, role: str) -> Call:
    return Call("POST", "/api/v1/admin/kb/preview", json={"text": "지원 비율이 궁금해요"})


async def _add_synonym(w: World, role: str) -> Call:
    return Call("POST", "/api/v1/admin/kb/synonyms", json={"term": "스마트공장", "variant": f"권한변형{fresh()}"})


async def _accept_suggestion(w: World, role: str) -> Call:
    return Call("POST", f"/api/v1/admin/kb/suggestions/{await w.suggestion()}/accept", json={})


async def _reject_suggestion(w: World, role: str) -> Call:
    return Call("POST", f"/api/v1/admin/kb/suggestions/{await w.suggestion()}/reject")


async def _remove_synonym(w: World, role: str) -> Call:
    return Call("DELETE", f"/api/v1/admin/kb/synonyms/{await w.synonym()}")


async def _add_paraphrases(w: World, role: str) -> Call:
    return Call("POST", "/api/v1/admin/kb/unanswered/add-paraphrases",
                json={"entry_id": await w.entry(), "ask_log_ids": [await w.ask_log()], "publish": False})


async def _preview_paraphrases(w: World, role: str) -> Call:
    return Call("POST", "/api/v1/admin/kb/unanswered/add-paraphrases/preview",
                json={"entry_id": await w.entry(), "ask_log_ids": [await w.ask_log()]})


async def _draft(w: World, role: str) -> Call:
    return Call("POST", "/api/v1/admin/kb/unanswered/draft", json={"ask_log_ids": [await w.ask_log()]})


async def _dismiss(w: World, role: str) -> Call:
    return Call("POST", "/api/v1/admin/kb/unanswered/dismiss", json={"ask_log_ids": [await w.ask_log()]})


async def _telegram_updates(w: World, role: str) -> Call:
    chat_id = 8_400_000_000 + fresh()
    update = {"update_id": 9_100_000_000 + fresh(),
              "message": {"message_id": 1, "date": 1_765_000_000, "text": "/help",
                          "chat": {"id": chat_id, "type": "private"},
                          "from": {"id": chat_id, "is_bot": False, "first_name": "권한"}}}
    return Call("POST", "/api/v1/channels/telegram/updates", json={"updates": [update]})


async def _local_message(w: World, role: str) -> Call:
    return Call("POST", "/api/v1/channels/local/messages",
                json={"address": str(2**53 + fresh()), "key": f"authz-{fresh()}", "text": "/help"})


async def _lease(w: World, role: str) -> Call:
    return Call("POST", "/api/v1/outbox/lease", json={"channel": "telegram", "limit": 5, "lease_seconds": 30})


async def _report(w: World, role: str) -> Call:
    sent_id, _ = await w.leased()
    failed_id, token = await w.leased()
    return Call("POST", "/api/v1/outbox/report", json={"sent": [{"id": sent_id, "message_id": 42}],
                                                       "failed": [{"id": failed_id, "lease_token": token,
                                                                   "error": "502"}]})


async def _create_ticket(w: World, role: str) -> Call:
    n = fresh()
    return Call("POST", "/api/v1/tickets", json={"chat_id": 8_500_000_000 + n, "text": f"스마트공장 사후관리 문의 {n}번",
                                                 "address": ADDRESS[CENTRE_A]})


async def _kakao_skill(w: World, role: str) -> Call:
    user = {"id": f"authz-{fresh()}", "type": "botUserKey"}
    return Call("POST", "/api/v1/channels/kakao/skill", json={"userRequest": {"utterance": "안녕하세요", "user": user}})


WEB = {"X-Hotline-Chat": "1"}


async def _web_session(w: World, role: str) -> Call:
    return Call("POST", "/api/v1/channels/web/session", json={"consent": True}, headers=WEB)


async def _web_message(w: World, role: str) -> Call:
    return Call("POST", "/api/v1/channels/web/messages", json={"key": f"authz-{fresh():08d}", "text": "안녕"},
                headers=WEB)


def on_ticket(action: str, body: dict | None = None, *, resolved: bool = False) -> Builder:
    async def build(w: World, role: str) -> Call:
        ticket_id, _ = await w.ticket(CENTRE_A, resolved=resolved)
        return Call("GET" if action == "" else "POST", f"/api/v1/tickets/{ticket_id}{action}", json=body)

    return build


MATRIX: dict[str, Rule] = {
    # documentation and health: public
    "GET /openapi.json": Rule(PUBLIC, get("/openapi.json")),
    "GET /docs": Rule(PUBLIC, get("/docs")),
    "GET /docs/oauth2-redirect": Rule(PUBLIC, get("/docs/oauth2-redirect")),
    "GET /redoc": Rule(PUBLIC, get("/redoc")),
    "GET /healthz": Rule(PUBLIC, get("/healthz")),
    "GET /readyz": Rule(PUBLIC, get("/readyz")),
    # signing in is for anyone holding a password; "me" is a staff member's
    "POST /api/v1/auth/token": Rule(PUBLIC, _token),
    "GET /api/v1/auth/me": Rule(STAFF, get("/api/v1/auth/me")),
    # public knowledge
    "GET /api/v1/centers": Rule(PUBLIC, get("/api/v1/centers")),
    "GET /api/v1/centers/resolve": Rule(PUBLIC, get("/api/v1/centers/resolve", address=ADDRESS[CENTRE_A])),
    "POST /api/v1/ask": Rule(PUBLIC, _ask),
    "POST /api/v1/ask/{ask_log_id}/feedback": Rule(BOT, _feedback),
    "GET /api/v1/kb/entries/{entry_id}": Rule(PUBLIC, _public_entry),
    # the knowledge-base editor: admins only
    "GET /api/v1/admin/kb/entries": Rule(ADMIN, get("/api/v1/admin/kb/entries")),
    "POST /api/v1/admin/kb/entries": Rule(ADMIN, _create_entry, 201),
    "GET /api/v1/admin/kb/entries/{entry_id}": Rule(ADMIN, _get_entry),
    "POST /api/v1/admin/kb/entries/{entry_id}/revisions": Rule(ADMIN, _save_revision),
    "POST /api/v1/admin/kb/entries/{entry_id}/publish": Rule(ADMIN, _publish),
    "POST /api/v1/admin/kb/entries/{entry_id}/unpublish": Rule(ADMIN, _unpublish),
    "POST /api/v1/admin/kb/entries/{entry_id}/rollback": Rule(ADMIN, _rollback),
    "GET /api/v1/admin/kb/entries/{entry_id}/diff": Rule(ADMIN, _diff),
    "POST /api/v1/admin/kb/preview": Rule(ADMIN, _preview),
    "GET /api/v1/admin/kb/synonyms": Rule(ADMIN, get("/api/v1/admin/kb/synonyms")),
    "POST /api/v1/admin/kb/synonyms": Rule(ADMIN, _add_synonym, 201),
    "DELETE /api/v1/admin/kb/synonyms/{synonym_id}": Rule(ADMIN, _remove_synonym, 204),
    "GET /api/v1/admin/kb/unanswered": Rule(ADMIN, get("/api/v1/admin/kb/unanswered")),
    "POST /api/v1/admin/kb/unanswered/add-paraphrases": Rule(ADMIN, _add_paraphrases),
    "POST /api/v1/admin/kb/unanswered/add-paraphrases/preview": Rule(ADMIN, _preview_paraphrases),
    "POST /api/v1/admin/kb/unanswered/draft": Rule(ADMIN, _draft),
    "POST /api/v1/admin/kb/unanswered/dismiss": Rule(ADMIN, _dismiss, 204),
    "GET /api/v1/admin/kb/suggestions": Rule(ADMIN, get("/api/v1/admin/kb/suggestions")),
    "POST /api/v1/admin/kb/suggestions/{suggestion_id}/accept": Rule(ADMIN, _accept_suggestion),
    "POST /api/v1/admin/kb/suggestions/{suggestion_id}/reject": Rule(ADMIN, _reject_suggestion, 204),
    # the channel adapters' plumbing: the service token only
    "POST /api/v1/channels/telegram/updates": Rule(BOT, _telegram_updates),
    "POST /api/v1/channels/local/messages": Rule(BOT, _local_message),
    "POST /api/v1/outbox/lease": Rule(BOT, _lease),
    "POST /api/v1/outbox/report": Rule(BOT, _report),
    "POST /api/v1/tickets": Rule(BOT, _create_ticket, 201),
    # KakaoTalk's chatbot proves itself with the skill's secret header (tests/channels/test_kakao_e2e.py)
    "POST /api/v1/channels/kakao/skill": Rule(NOBODY, _kakao_skill),
    # the web chat: anyone may start a session (after consenting); the rest is that session's (its cookie)
    "POST /api/v1/channels/web/session": Rule(PUBLIC, _web_session, 201),
    "POST /api/v1/channels/web/messages": Rule(NOBODY, _web_message),
    "GET /api/v1/channels/web/history": Rule(NOBODY, get("/api/v1/channels/web/history")),
    "GET /api/v1/channels/web/events": Rule(NOBODY, get("/api/v1/channels/web/events")),
    "GET /chat": Rule(PUBLIC, get("/chat", centre="seoul")),
    "GET /chat/embed.js": Rule(PUBLIC, get("/chat/embed.js")),
    "MOUNT /chat/static": Rule(PUBLIC, get("/chat/static/chat.js")),
    # staff: the queue is scoped (see test_queue_is_scoped_to_the_centre); a ticket of centre A is centre A's
    "GET /api/v1/tickets": Rule(STAFF, get("/api/v1/tickets")),
    "GET /api/v1/tickets/{ticket_id}": Rule(OWN_CENTRE, on_ticket("")),
    "POST /api/v1/tickets/{ticket_id}/claim": Rule(OWN_CENTRE, on_ticket("/claim")),
    "POST /api/v1/tickets/{ticket_id}/replies": Rule(OWN_CENTRE, on_ticket("/replies", {"body": "답변드립니다."}), 201),
    "POST /api/v1/tickets/{ticket_id}/transfer": Rule(OWN_CENTRE, on_ticket("/transfer", {"center": "daegu",
                                                                                          "reason": "공장이 대구에 있음"})),
    "POST /api/v1/tickets/{ticket_id}/resolve": Rule(OWN_CENTRE, on_ticket("/resolve", {"note": "안내 완료"})),
    "POST /api/v1/tickets/{ticket_id}/reopen": Rule(OWN_CENTRE, on_ticket("/reopen", {"reason": "추가 문의"},
                                                                          resolved=True)),
    "POST /api/v1/telegram/link-code": Rule(STAFF, post("/api/v1/telegram/link-code")),
}


ROUTES = served_routes(console=False)  # the console's: tests/hardening/test_console_authz.py


@pytest.fixture
def settings(database_url):
    # Anonymous /ask is limited per IP; this module calls it for every role.
    return make_settings(database_url, ask_rate_per_minute=10_000, kakao_skill_secret=KAKAO_SECRET)


@pytest.fixture
async def world(db) -> World:
    return await World(db).setup()


def test_the_app_has_routes_and_the_matrix_has_no_stale_rows():
    assert len(ROUTES) >= 40 and "GET /api/v1/tickets/{ticket_id}" in ROUTES
    assert sorted(set(MATRIX) - set(ROUTES)) == [], "rows for routes the app no longer has"


async def send(client: httpx.AsyncClient, call: Call, headers: dict[str, str]) -> httpx.Response:
    return await client.request(call.method, call.url, json=call.json, data=call.data, params=call.params,
                                 headers={**headers, **call.headers})


def check(response: httpx.Response, expected: Any, success: int, what: str) -> str | None:
    """None when the response is what the matrix says, else a line describing the difference."""
    got = response.status_code
    if expected == OK:
        if got != success:
            return f"{what}: expected {success}, got {got} {response.text[:200]}"
        return None
    if got != expected:
        return f"{what}: expected {expected}, got {got} {response.text[:200]}"
    body = response.json()
    if not (isinstance(body, dict) and body.get("error") and HANGUL.search(str(body.get("detail", "")))):
        return f"{what}: {got} without the error envelope and a Korean message: {response.text[:200]}"
    return None


@pytest.mark.parametrize("route", ROUTES)
async def test_route_authorisation(route, client, world):
    rule = MATRIX.get(route)
    if rule is None:
        pytest.fail(f"{route} has no row in MATRIX: say who may call it (and add a valid request for it)")
    problems = []
    for role in ROLES:
        call = await rule.build(world, role)
        response = await send(client, call, world.headers(role))
        problem = check(response, rule.access[role], rule.status, f"{role} {call.method} {call.url}")
        if problem:
            problems.append(problem)
    assert not problems, "\n".join(problems)


# --- what the matrix's rows mean in more detail ----------------------------------------------------------------------


async def test_queue_is_scoped_to_the_centre(client, world):
    ticket_a, _ = await world.ticket(CENTRE_A)
    ticket_b, _ = await world.ticket(CENTRE_B)

    async def queue(role: str, **params) -> httpx.Response:
        return await client.get("/api/v1/tickets", params={"status": "all", "limit": 100, **params},
                                headers=world.headers(role))

    def ids(response: httpx.Response) -> set[int]:
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert ticket_a in ids(await queue("agent_a")) and ticket_b not in ids(await queue("agent_a"))
    assert ticket_b in ids(await queue("agent_b")) and ticket_a not in ids(await queue("agent_b"))
    assert {ticket_a, ticket_b} <= ids(await queue("admin"))
    assert ticket_a in ids(await queue("admin", center=CENTRE_A))
    # an agent asking for another centre's queue is told no, not shown an empty page
    refused = await queue("agent_b", center=CENTRE_A)
    assert refused.status_code == 403 and refused.json()["error"] == "other_center"
    # nor does a search by the ticket's number find it
    number = (await client.get(f"/api/v1/tickets/{ticket_a}", headers=world.headers("agent_a"))).json()["number"]
    assert ids(await queue("agent_b", q=number)) == set()
    assert ids(await queue("agent_a", q=number)) == {ticket_a}


async def test_staff_actions_need_a_staff_token_the_service_token_is_not_one(client, world):
    """The bot's service token cannot act on tickets, whatever header it adds: staff act from Telegram only
    through their centre's group (api.telegram_staff.group), where their own link is checked."""
    service = world.headers("service")
    ticket_a, _ = await world.ticket(CENTRE_A)
    for action, body in (("/claim", None), ("/replies", {"body": "답변드립니다."}), ("/resolve", None)):
        for headers in (service, {**service, "X-Acting-Telegram-User-Id": str(world.members["agent_a"].telegram_user_id)}):
            r = await client.post(f"/api/v1/tickets/{ticket_a}{action}", json=body, headers=headers)
            assert r.status_code == 403, (action, r.text)


async def test_refused_calls_change_nothing(client, world, db):
    """Everything agent B and the bare service token try on centre A's ticket leaves no trace."""
    ticket_a, chat_id = await world.ticket(CENTRE_A)
    resolved_a, _ = await world.ticket(CENTRE_A, resolved=True)
    before = await db.scalar(select(func.count()).select_from(TicketEvent))
    outbox_before = await db.scalar(select(func.count()).select_from(OutboxMessage))
    for role in ("agent_b", "service", "anonymous"):
        headers = world.headers(role)
        for action, body in (("/claim", None), ("/replies", {"body": "몰래 답변"}), ("/resolve", None),
                             ("/transfer", {"center": "busan", "reason": "가져가기"})):
            r = await client.post(f"/api/v1/tickets/{ticket_a}{action}", json=body, headers=headers)
            assert r.status_code in (401, 403, 404), (role, action, r.status_code)
        r = await client.post(f"/api/v1/tickets/{resolved_a}/reopen", json={}, headers=headers)
        assert r.status_code in (401, 403, 404), (role, "reopen", r.status_code)
    assert await db.scalar(select(func.count()).select_from(TicketEvent)) == before
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == outbox_before
    ticket = await db.scalar(select(Ticket).where(Ticket.id == ticket_a).execution_options(populate_existing=True))
    centre = await db.scalar(select(Center.code).where(Center.id == ticket.center_id))
    assert (ticket.status, ticket.assignee_id, centre) == ("open", None, CENTRE_A)


async def test_only_the_bot_may_tie_a_question_to_a_chat(client, world):
    body = {"text": "스마트공장 정부지원 비율은 얼마인가요?", "chat_id": 8_600_000_001}
    r = await client.post("/api/v1/ask", json=body, headers=world.headers("service"))
    assert r.status_code == 200
    for role in ("agent_a", "admin"):
        r = await client.post("/api/v1/ask", json=body, headers=world.headers(role))
        assert r.status_code == 403, (role, r.text)
    r = await client.post("/api/v1/ask", json=body)
    assert r.status_code == 401, r.text


async def test_stale_or_forged_credentials_are_401_everywhere(client, world, db):
    """A deactivated member's token, a token from before a password change and a forged one are refused with
    401 on every protected route kind (not treated as anonymous on public ones either)."""
    member = await world.staff("agent", CENTRE_A)
    staff = await db.get(Staff, member.id)
    stale = dict(member.headers)
    staff.password_changed_at = utcnow()
    await world.commit()
    deactivated_member = await world.staff("agent", CENTRE_A)
    row = await db.get(Staff, deactivated_member.id)
    row.is_active = False
    await world.commit()
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}
    ticket_a, _ = await world.ticket(CENTRE_A)
    for headers in (stale, deactivated_member.headers, forged, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
        for method, url, body in (("GET", "/api/v1/tickets", None), ("GET", f"/api/v1/tickets/{ticket_a}", None),
                                  ("GET", "/api/v1/admin/kb/entries", None), ("GET", "/api/v1/auth/me", None),
                                  ("POST", "/api/v1/outbox/lease", {}), ("POST", "/api/v1/ask", {"text": "신청 방법"})):
            r = await client.request(method, url, json=body, headers=headers)
            assert r.status_code == 401, (headers, method, url, r.status_code, r.text)
            assert HANGUL.search(r.json()["detail"])
