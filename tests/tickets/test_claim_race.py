"""Two agents claiming the same ticket at the same moment: exactly one wins, the other gets 409.

Real concurrency: separate connections to a database of the test's own, both transactions started before
either claims (a barrier), on PostgreSQL (row lock) and SQLite (guarded update, locked writer).
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from api.app import create_app
from api.db import make_engine, make_sessionmaker
from api.errors import Conflict
from api.staff.models import Staff
from api.staff.service import create_staff
from api.tickets import owner_actions as tickets_owner_actions
from api.tickets import staff_actions as tickets_staff_actions
from api.tickets.models import Ticket, TicketEvent
from tests.conftest import bearer_for, make_settings

ROUNDS = 5


async def _setup(sessionmaker, rounds: int) -> tuple[list[int], list[int]]:
    async with sessionmaker() as session:
        agents = [await create_staff(session, username=f"racer{i}", password="password-123", role="agent",
                                     center_code="seoul") for i in range(2)]
        tickets = []
        for n in range(rounds):
            created = await tickets_owner_actions.create_ticket(session, chat_id=1000 + n, text=f"경쟁 문의 {n}",
                                                  address="서울 금천구 가산동")
            tickets.append(created.ticket.id)
        await session.commit()
        return [a.id for a in agents], tickets


async def _outcome(sessionmaker, ticket_id: int) -> tuple[int | None, int]:
    async with sessionmaker() as session:
        assignee = await session.scalar(select(Ticket.assignee_id).where(Ticket.id == ticket_id))
        claims = await session.scalar(select(func.count()).select_from(TicketEvent)
                                      .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "claimed"))
        return assignee, claims


async def test_service_claim_race(fresh_database_url):
    engine = make_engine(fresh_database_url)
    sessionmaker = make_sessionmaker(engine)
    try:
        agent_ids, ticket_ids = await _setup(sessionmaker, ROUNDS)
        for ticket_id in ticket_ids:
            barrier = asyncio.Barrier(2)

            async def claim(agent_id: int) -> str:
                async with sessionmaker() as session:
                    staff = await session.get(Staff, agent_id)  # the transaction has begun and read
                    await barrier.wait()
                    try:
                        await tickets_staff_actions.claim_ticket(session, staff=staff, ticket_id=ticket_id)
                        await session.commit()
                        return "won"
                    except Conflict as exc:
                        await session.rollback()
                        assert exc.status_code == 409
                        return "conflict"

            results = await asyncio.gather(*(claim(a) for a in agent_ids))
            assert sorted(results) == ["conflict", "won"], results
            winner = agent_ids[results.index("won")]
            assert await _outcome(sessionmaker, ticket_id) == (winner, 1)
    finally:
        await engine.dispose()


async def test_http_claim_race(fresh_database_url):
    app = create_app(make_settings(fresh_database_url))
    engine = make_engine(fresh_database_url)
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    try:
        agent_ids, ticket_ids = await _setup(app.state.sessionmaker, ROUNDS)
        async with app.state.sessionmaker() as session:
            headers = [bearer_for(await session.get(Staff, a)) for a in agent_ids]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            for ticket_id in ticket_ids:
                responses = await asyncio.gather(*(client.post(f"/api/v1/tickets/{ticket_id}/claim", headers=h)
                                                   for h in headers))
                codes = sorted(r.status_code for r in responses)
                assert codes == [200, 409], [r.text for r in responses]
                loser = next(r for r in responses if r.status_code == 409)
                assert loser.json()["error"] == "already_claimed" and loser.json()["detail"]
                winner = next(r for r in responses if r.status_code == 200).json()["assignee"]["id"]
                assert await _outcome(app.state.sessionmaker, ticket_id) == (winner, 1)
    finally:
        await engine.dispose()
