"""The bot pipeline's throughput: updates per second from the Bot API to answered messages.

Run by hand (not a test):

    .venv/bin/python benchmarks/bot_pipeline.py [--owners 200] [--questions 3] [--conversations 20]
        [--rate 300 --seconds 10] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/hl_bot_bench]
        [--sqlite-only] [--profile DIR] [--api-only] [--api-workers 1]

Three processes, as deployed: the API (``uvicorn api.app:create_app``, its own database with the centres and the
knowledge base), the bot (``python -m api.cli bot``, long polling) and this script, which runs the fake Telegram
Bot API of the tests (tests/bot/fake_telegram.py, real HTTP) and plays the owners.

Measurements per database:

* burst: ``--owners`` owners each send ``--questions`` questions at once (all queued for ``getUpdates``);
  the clock runs from the first update queued until the last answer (``sendMessage`` with the source link)
  arrives; updates/s = updates / that time (target >= 300/s on PostgreSQL). Latency is queue time plus handling.
* paced: owners' questions arrive at ``--rate`` per second for ``--seconds`` (each owner asks one question at
  a time): the latency from an update's arrival at the Bot API to its answer's, at that rate (target: p99 under
  200 ms at 300/s).
* conversations: ``--conversations`` owners each ask, wait for the answer, and ask again (``--questions``
  times): the throughput of that many people chatting at once, and the latency one of them sees.
* ``--api-only``: the API's side alone: 16 clients post one owner's update each (``POST
  /api/v1/channels/telegram/updates`` with the replies leased back), the one call the bot makes per update.

Every question is one the knowledge base answers (checked through the API first), so every update takes the
whole path: the one API call (claim, the chat's turn, the conversation engine, the ask log, the state, the reply
stored in the outbox and leased back to the bot), the reply sent, its delivery reported. ``--profile DIR``
records py-spy flame graphs of the bot and the API during the burst (``pip install py-spy``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from api import migrate  # noqa: E402
from api.bootstrap import seed  # noqa: E402
from api.db import make_engine, make_sessionmaker, sync_url  # noqa: E402
from knowledge.loader import load_entries  # noqa: E402
from tests.bot.fake_telegram import FakeTelegram, Sent  # noqa: E402

SERVICE_TOKEN = "bench-service-token-0123456789"
SECRET_KEY = "bench-secret-key-0123456789abcdef"
ANSWER_MARK = "🔗"  # every knowledge-base answer ends with its source link


class TimedTelegram(FakeTelegram):
    """The fake Bot API, noting when each message arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[int, list[float]] = {}  # chat -> arrival times of answers
        self.others: list[Sent] = []  # anything else the owners were sent (should stay empty)

    def _record(self, chat_id, text, markup, reply_to, caller=""):
        sent = super()._record(chat_id, text, markup, reply_to, caller)
        if ANSWER_MARK in text:
            self.arrived.setdefault(chat_id, []).append(time.perf_counter())
        else:
            self.others.append(sent)
        return sent

    def answers(self, chat_id: int) -> int:
        return len(self.arrived.get(chat_id, ()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recreate_and_migrate(url: str) -> None:
    u = make_url(sync_url(url))
    if u.get_backend_name() == "postgresql":
        admin = sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT",
                                 poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{u.database}"')
        admin.dispose()
    migrate.upgrade(url)


async def prepare_database(url: str) -> None:
    """A new database: migrated, with the centres and the knowledge base."""
    await asyncio.to_thread(recreate_and_migrate, url)
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session:
        report = await seed(session)
        await session.commit()
    await engine.dispose()
    if any("NOT imported" in line for line in report):
        raise SystemExit("\n".join(report))


@dataclass
class Processes:
    api: subprocess.Popen
    bot: subprocess.Popen
    api_url: str
    logs: Path

    def stop(self) -> None:
        """The bot first (it records its last updates done on the way out), then the API."""
        for process in (self.bot, self.api):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update({"PYTHONPATH": str(ROOT), "HOTLINE_ENV": "production", "HOTLINE_DATABASE_URL": database_url,
                "HOTLINE_SERVICE_TOKEN": SERVICE_TOKEN, "HOTLINE_SECRET_KEY": SECRET_KEY,
                "HOTLINE_RUN_SCHEDULER": "false", "HOTLINE_CHAT_RATE_LIMIT": "1000"})
    env.update(extra)
    return env


async def start_processes(database_url: str, fake: TimedTelegram, logs: Path, *, concurrent: int,
                          api_workers: int) -> Processes:
    """The API and the bot; owners are never flood-limited here (the benchmark's owners ask fast on purpose)."""
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    api = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
                            "--port", str(port), "--log-level", "warning", "--no-access-log",
                            "--workers", str(api_workers)],
                           cwd=ROOT, env=environment(database_url), stdout=open(logs / "api.log", "w"),
                           stderr=subprocess.STDOUT)
    async with httpx.AsyncClient() as client:
        deadline = time.monotonic() + 120
        while True:
            if api.poll() is not None:
                raise SystemExit(f"the API stopped: see {logs / 'api.log'}")
            try:
                if (await client.get(f"{api_url}/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the API did not start")
            await asyncio.sleep(0.2)
    bot_env = environment(database_url, HOTLINE_TELEGRAM_TOKEN=fake.token, HOTLINE_TELEGRAM_BASE_URL=fake.base_url,
                          HOTLINE_API_URL=api_url, HOTLINE_POLL_TIMEOUT="10", HOTLINE_OUTBOX_INTERVAL="1",
                          HOTLINE_CONCURRENT_SENDS=str(concurrent))
    bot = subprocess.Popen([sys.executable, "-m", "api.cli", "bot"], cwd=logs, env=bot_env,
                           stdout=open(logs / "bot.log", "w"), stderr=subprocess.STDOUT)
    return Processes(api=api, bot=bot, api_url=api_url, logs=logs)


async def answered_questions(api_url: str, wanted: int = 12) -> list[str]:
    """Entry titles the API answers (outcome ``answered``), so every measured update takes the whole path."""
    found = []
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
                                 timeout=30) as client:
        for entry in load_entries():
            r = await client.post("/api/v1/ask", json={"text": entry.title})
            if r.status_code == 200 and r.json()["outcome"] == "answered":
                found.append(entry.title)
                if len(found) == wanted:
                    break
    if not found:
        raise SystemExit("no question is answered by the knowledge base")
    return found


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds so far) of every process (Linux /proc)."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        found[int(entry.name)] = (int(fields[1]), head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / tick)
    return found


def cpu_seconds(root: int | None = None, *, name: str | None = None) -> float:
    """CPU seconds of a process and its descendants (uvicorn's workers), or of every process called ``name``
    (the PostgreSQL server's backends)."""
    table = _processes()
    if name is not None:
        return sum(cpu for _, comm, cpu in table.values() if comm == name)
    members, grew = {root}, True
    while grew:
        more = {pid for pid, (parent, _, _) in table.items() if parent in members} - members
        members |= more
        grew = bool(more)
    return sum(table[pid][2] for pid in members if pid in table)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Result:
    database: str
    mode: str
    owners: int
    updates: int
    seconds: float
    latencies: list[float]
    unexpected: int
    cpu: dict[str, float] | None = None  # process -> share of one core during the run

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def row(self) -> str:
        ms = [v * 1000 for v in self.latencies]
        return (f"| {self.database} | {self.mode} | {self.owners} | {self.updates} | {self.seconds:.2f} | "
                f"**{self.rate:.0f}** | {percentile(ms, 0.5):.0f} | {percentile(ms, 0.95):.0f} | "
                f"{percentile(ms, 0.99):.0f} | {max(ms):.0f} | {self.unexpected} | " +
                " / ".join(f"{self.cpu[k] * 100:.0f}%" for k in ("api", "bot", "driver", "postgres")) + " |")


async def wait_for(check, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def measured(run, processes: Processes):
    """``await run()`` (a Result), noting how busy the API, the bot and this process (fake Telegram) were."""
    def sample() -> dict[str, float]:
        return {"api": cpu_seconds(processes.api.pid), "bot": cpu_seconds(processes.bot.pid),
                "driver": sum(os.times()[:2]), "postgres": cpu_seconds(name="postgres")}

    before = sample()
    started = time.perf_counter()
    result = await run()
    wall = time.perf_counter() - started
    after = sample()
    # (PostgreSQL backends that exit during the run take their CPU time with them: a lower bound, never < 0)
    result.cpu = {k: max(0.0, (after[k] - before[k]) / wall) for k in before}
    return result


async def burst(fake: TimedTelegram, questions: list[str], *, first_chat: int, owners: int, per_owner: int,
                database: str) -> Result:
    chats = [first_chat + i for i in range(owners)]
    queued: dict[int, list[float]] = {c: [] for c in chats}
    others = len(fake.others)
    started = time.perf_counter()
    for k in range(per_owner):
        for i, chat in enumerate(chats):
            queued[chat].append(time.perf_counter())
            await fake.owner_says(chat, questions[(i + k) % len(questions)])
    total = owners * per_owner
    await wait_for(lambda: sum(fake.answers(c) for c in chats) >= total, timeout=60 + total * 0.5,
                   what=f"{total} answers")
    elapsed = max(fake.arrived[c][-1] for c in chats) - started
    latencies = [fake.arrived[c][k] - queued[c][k] for c in chats for k in range(per_owner)]
    return Result(database, "burst", owners, total, elapsed, latencies, len(fake.others) - others)


async def conversations(fake: TimedTelegram, questions: list[str], *, first_chat: int, owners: int, per_owner: int,
                        database: str) -> Result:
    latencies: list[float] = []
    others = len(fake.others)

    async def owner(i: int) -> None:
        chat = first_chat + i
        for k in range(per_owner):
            asked = time.perf_counter()
            await fake.owner_says(chat, questions[(i + k) % len(questions)])
            await wait_for(lambda: fake.answers(chat) > k, timeout=60, what=f"an answer to {chat}")
            latencies.append(fake.arrived[chat][k] - asked)

    started = time.perf_counter()
    await asyncio.gather(*(owner(i) for i in range(owners)))
    elapsed = time.perf_counter() - started
    return Result(database, "conversations", owners, owners * per_owner, elapsed, latencies,
                  len(fake.others) - others)


async def paced(fake: TimedTelegram, questions: list[str], *, first_chat: int, rate: float, seconds: float,
                database: str) -> Result:
    """Questions arriving at ``rate`` per second, each from an owner with nothing pending (new owners as
    needed): the latency each sees at that rate."""
    total = int(rate * seconds)
    chats = [first_chat + i for i in range(total)]
    queued: dict[int, float] = {}
    others = len(fake.others)
    started = time.perf_counter()
    for i, chat in enumerate(chats):
        due = started + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        queued[chat] = time.perf_counter()
        await fake.owner_says(chat, questions[i % len(questions)])
    await wait_for(lambda: sum(fake.answers(c) for c in chats) >= total, timeout=60 + total * 0.1,
                   what=f"{total} answers")
    elapsed = max(fake.arrived[c][-1] for c in chats) - started
    latencies = [fake.arrived[c][0] - queued[c] for c in chats]
    return Result(database, f"paced {rate:.0f}/s", total, total, elapsed, latencies, len(fake.others) - others)


async def api_only(api_url: str, question: str, *, clients: int, updates: int, database: str,
                   first_chat: int) -> Result:
    """The bot's one call per update, without the bot and Telegram: ``clients`` in a closed loop, each posting one
    owner's update (a new chat each time) with the reply leased back. What the API alone allows."""
    latencies: list[float] = []
    left = [updates]
    counter = iter(range(first_chat, first_chat + updates + 1))

    def update(chat: int) -> dict:
        return {"update_id": chat, "message": {"message_id": 1, "date": int(time.time()), "text": question,
                                               "chat": {"id": chat, "type": "private", "first_name": "대표"},
                                               "from": {"id": chat, "is_bot": False, "first_name": "대표"}}}

    async def client_loop(client: httpx.AsyncClient) -> None:
        while left[0] > 0:
            left[0] -= 1
            chat = next(counter)
            started = time.perf_counter()
            response = await client.post("/api/v1/channels/telegram/updates",
                                         json={"updates": [update(chat)], "lease_seconds": 30})
            if response.status_code != 200 or not response.json()["messages"]:
                raise SystemExit(f"updates: {response.status_code} {response.text[:200]}")
            latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
                                 timeout=60, limits=httpx.Limits(max_connections=clients)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return Result(database, "API only: one update per call", clients, updates, elapsed, latencies, 0)


def start_profilers(processes: Processes, directory: Path, seconds: int) -> list[subprocess.Popen]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    directory.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([spy, "record", "--pid", str(p.pid), "--duration", str(seconds), "--rate", "250",
                              "--format", "speedscope", "--output", str(directory / f"{name}.speedscope.json")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            for name, p in (("bot", processes.bot), ("api", processes.api))]


async def run(database_url: str, label: str, args, logs: Path) -> list[Result]:
    print(f"\n== {label}: preparing {make_url(database_url).render_as_string(hide_password=True)}", flush=True)
    await prepare_database(database_url)
    fake = await TimedTelegram().start()
    processes = await start_processes(database_url, fake, logs, concurrent=args.concurrent_sends,
                                      api_workers=args.api_workers)
    results = []
    try:
        questions = await answered_questions(processes.api_url)
        # warm up: the bot's first getUpdates, connections, the matcher's first calls
        await burst(fake, questions, first_chat=9_000_000_000, owners=10, per_owner=2, database=label)
        profilers = start_profilers(processes, Path(args.profile) / label, 20) if args.profile else []
        results.append(await measured(lambda: burst(fake, questions, first_chat=9_100_000_000, owners=args.owners,
                                                    per_owner=args.questions, database=label), processes))
        for p in profilers:
            p.wait()
        if args.rate:
            results.append(await measured(lambda: paced(fake, questions, first_chat=9_400_000_000, rate=args.rate,
                                                        seconds=args.seconds, database=label), processes))
        results.append(await measured(lambda: conversations(fake, questions, first_chat=9_200_000_000,
                                                            owners=args.conversations, per_owner=args.questions,
                                                            database=label), processes))
        if args.api_only:
            results.append(await measured(lambda: api_only(
                processes.api_url, questions[0], clients=16, updates=args.owners * args.questions, database=label,
                first_chat=9_300_000_000), processes))
    finally:
        processes.stop()
        await fake.stop()
    for r in results:
        print(r.row(), flush=True)
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--owners", type=int, default=200, help="owners in the burst")
    parser.add_argument("--questions", type=int, default=3, help="questions per owner")
    parser.add_argument("--conversations", type=int, default=20, help="owners chatting at once")
    parser.add_argument("--rate", type=float, default=0, help="paced mode: updates per second (0: not run)")
    parser.add_argument("--seconds", type=float, default=10, help="paced mode: for how long")
    parser.add_argument("--concurrent-sends", type=int, default=16, help="the bot's HOTLINE_CONCURRENT_SENDS")
    parser.add_argument("--api-workers", type=int, default=1, help="uvicorn workers of the API")
    parser.add_argument("--api-only", action="store_true",
                        help="also post updates to the API without the bot (one call per update), 16 clients")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL database (dropped and re-created)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL even if --postgres is given")
    parser.add_argument("--profile", help="record py-spy profiles of the bot and the API here during the burst")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="hotline-bot-bench-"))
    results = await run(f"sqlite+aiosqlite:///{logs / 'bench.db'}", "SQLite", args, logs)
    if args.postgres and not args.sqlite_only:
        results += await run(args.postgres, "PostgreSQL", args, logs)
    print(f"\nmachine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; logs in {logs}\n")
    print("| database | mode | owners | updates | seconds | updates/s | p50 ms | p95 ms | p99 ms | max ms "
          "| other replies | CPU: API / bot / fake Telegram / PostgreSQL (100% = one core) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(r.row())


if __name__ == "__main__":
    asyncio.run(main())
