"""The staff queue at scale: PostgreSQL with 1,000,000 tickets, latency of the queue pages staff open most.

Run by hand (not a test):

    .venv/bin/python benchmarks/queue_bench.py \
        --url postgresql+psycopg://postgres@127.0.0.1:5432/hl_queue_bench [--tickets 1000000] [--runs 300]

The database is (re)created, migrated and filled with ``generate_series`` (``--reuse`` keeps an already
filled one). Tickets are spread over 19 centres and ~3 years; 93 % resolved, 4 % open, 3 % assigned, as a
queue looks after a few years. Each measured call is one ``api.tickets.queue.list_queue`` in a fresh
session (page query plus the total), as a request does; the HTTP row goes through the whole app (bearer
token check, staff lookup, JSON). Target: p95 of an agent's first page < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from api import migrate  # noqa: E402
from api.app import create_app  # noqa: E402
from api.auth.security import create_access_token  # noqa: E402
from api.bootstrap import seed_centres_only  # noqa: E402
from api.config import Settings  # noqa: E402
from api.db import make_engine, make_sessionmaker, sync_url  # noqa: E402
from api.staff.models import Staff  # noqa: E402
from api.staff.service import create_staff  # noqa: E402
from api.tickets import queue as tickets_queue
from api.tickets.models import Ticket  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"
FILL_SQL = """
INSERT INTO tickets (number, center_id, company_id, chat_id, status, text, text_hash, address, region_sido,
                     region_sigungu, company_name, business_number, contact_name, phone, assignee_id, ask_log_id,
                     created_at, updated_at, first_response_due, resolution_due, first_responded_at, resolved_at,
                     overdue_at, admin_alerted_at, rating, rating_comment, rated_at, anonymised_at)
SELECT 'SF-' || extract(year FROM g.created) || '-' || lpad(g.i::text, 7, '0'),
       g.center_id, NULL, 10000000 + (g.i % 200000), g.status,
       '스마트공장 지원사업 문의 ' || g.i || ': MES 도입 비용, 기업 부담금과 정산 서류를 알고 싶습니다.',
       md5(g.i::text), '', '서울특별시', '금천구', '벤치회사' || (g.i % 50000), NULL, NULL, NULL,
       CASE WHEN g.status = 'assigned' THEN g.agent_id END, NULL,
       g.created, g.created, g.created + interval '4 hours', g.created + interval '3 days',
       CASE WHEN g.status <> 'open' THEN g.created + interval '2 hours' END,
       CASE WHEN g.status = 'resolved' THEN g.created + interval '1 day' END,
       NULL, NULL, CASE WHEN g.status = 'resolved' THEN 1 + g.i % 5 END, NULL, NULL, NULL
FROM (
    SELECT i,
           (:centers)[(i % 19) + 1] AS center_id,
           (:agents)[(i % 19) + 1] AS agent_id,
           CASE WHEN i % 100 < 93 THEN 'resolved' WHEN i % 100 < 97 THEN 'open' ELSE 'assigned' END AS status,
           :t0 + i * (:span / :n) * interval '1 second' AS created
    FROM generate_series(1, :n) AS i
) AS g
"""


def recreate_database(url: str) -> None:
    u = make_url(sync_url(url))
    admin = sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{u.database}"')
    admin.dispose()


async def fill(url: str, n: int) -> None:
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    async with sm() as session:
        await seed_centres_only(session)
        centers = (await session.execute(sa.text("SELECT id, code FROM centers ORDER BY id"))).all()
        agents = []
        for center_id, code in centers:
            staff = await create_staff(session, username=f"bench-{code}", password="password-123", role="agent",
                                       center_code=code)
            agents.append(staff.id)
        await create_staff(session, username="bench-admin", password="password-123", role="admin")
        await session.commit()
    span = 3 * 365 * 24 * 3600
    t0 = datetime.now(timezone.utc) - timedelta(seconds=span)
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(sa.text(FILL_SQL), {"centers": [c for c, _ in centers], "agents": agents, "t0": t0,
                                               "span": span, "n": n})
    print(f"inserted {n:,} tickets in {time.perf_counter() - started:.1f} s")
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE tickets")
    await engine.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def measure(label: str, fn, runs: int) -> tuple[str, float, float, float, float]:
    for _ in range(min(20, runs)):  # warm up connections, caches and plans
        await fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - started) * 1000)
    return label, statistics.median(times), percentile(times, 95), percentile(times, 99), max(times)


async def run(url: str, runs: int) -> list[tuple]:
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    async with sm() as session:
        agents = (await session.scalars(sa.select(Staff).where(Staff.role == "agent"))).all()
        admin = await session.scalar(sa.select(Staff).where(Staff.role == "admin"))
        total = await session.scalar(sa.text("SELECT count(*) FROM tickets"))
        active = await session.scalar(sa.text("SELECT count(*) FROM tickets WHERE status <> 'resolved'"))
        sample_number = await session.scalar(sa.text("SELECT number FROM tickets WHERE status <> 'resolved' "
                                                     "ORDER BY id DESC LIMIT 1"))
        plan = (await session.execute(sa.text(
            "EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF, SUMMARY ON) SELECT tickets.id FROM tickets "
            "WHERE tickets.center_id = :c AND tickets.status <> 'resolved' "
            "ORDER BY tickets.first_response_due, tickets.id LIMIT 50"), {"c": agents[0].center_id})).scalars().all()
    print(f"tickets: {total:,} ({active:,} not resolved, ~{active // 19:,} per centre)")
    print("plan of an agent's first page:\n  " + "\n  ".join(plan))

    def pick() -> Staff:
        return random.choice(agents)

    def page(who: str = "agent", **params):
        async def call():
            async with sm() as session:
                await tickets_queue.list_queue(session, staff=admin if who == "admin" else pick(), **params)
        return call

    first_ids = {}
    async with sm() as session:
        for a in agents:
            first_ids[a.center_id] = await session.scalar(sa.select(Ticket.id).where(Ticket.center_id == a.center_id)
                                                          .order_by(Ticket.id.desc()).limit(1))

    async def detail():
        async with sm() as session:
            staff = pick()
            await tickets_queue.get_ticket_detail(session, staff=staff, ticket_id=first_ids[staff.center_id])

    rows = [
        await measure("agent: first page (default: not resolved, by due)", page(), runs),
        await measure("agent: page 5 (offset 200)", page(offset=200), runs),
        await measure("agent: overdue", page(overdue=True), runs),
        await measure("agent: mine", page(mine=True), runs),
        await measure("agent: unassigned", page(unassigned=True), runs),
        await measure("agent: resolved (newest first)", page(status="resolved"), runs),
        await measure("agent: search by ticket number", page(q=sample_number), runs),
        await measure("agent: search text '정산 서류' (scan of the centre)", page(q="정산 서류"), max(30, runs // 10)),
        await measure("admin: all centres, first page", page(who="admin"), runs),
        await measure("admin: all centres, status=all", page(who="admin", status="all"), runs),
        await measure("agent: ticket detail", detail, runs),
    ]

    app = create_app(Settings(env="test", database_url=url, secret_key=SECRET, service_token="bench-service-token-x",
                              run_scheduler=False))
    app.state.engine = engine
    app.state.sessionmaker = sm
    tokens = [{"Authorization": "Bearer " + create_access_token(staff_id=a.id, password_changed_at=a.password_changed_at,
                                                                 secret=SECRET, minutes=60)} for a in agents]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        async def http_page():
            r = await client.get("/api/v1/tickets", headers=random.choice(tokens))
            assert r.status_code == 200, r.text

        rows.append(await measure("HTTP GET /api/v1/tickets (agent, first page)", http_page, runs))
    await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/hl_queue_bench")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--reuse", action="store_true", help="keep an already filled database")
    parser.add_argument("--drop", action="store_true", help="drop the database afterwards")
    args = parser.parse_args()
    if make_url(args.url).get_backend_name() != "postgresql":
        parser.error("this benchmark is for PostgreSQL")
    if not args.reuse:
        recreate_database(args.url)
        migrate.upgrade(args.url)
        asyncio.run(fill(args.url, args.tickets))
    random.seed(4)
    rows = asyncio.run(run(args.url, args.runs))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'query':<{width}}  {'p50 ms':>7}  {'p95 ms':>7}  {'p99 ms':>7}  {'max ms':>7}")
    print("-" * (width + 38))
    for label, p50, p95, p99, worst in rows:
        print(f"{label:<{width}}  {p50:7.2f}  {p95:7.2f}  {p99:7.2f}  {worst:7.2f}")
    target = rows[0][2]
    print(f"\nagent first page p95 = {target:.2f} ms (target < 20 ms): {'OK' if target < 20 else 'MISSED'}")
    if args.drop:
        u = make_url(sync_url(args.url))
        admin = sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
