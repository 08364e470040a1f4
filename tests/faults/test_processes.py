"""Faults with real processes: two API processes and two bot processes on one database, owners in 20 chats asking
5 questions each through the fake Bot API, while processes are killed (SIGKILL) at chosen moments and, on
PostgreSQL, the database is restarted (a throwaway cluster of the test's own, never the shared server).

Every answer must reach its chat exactly once and in the order the questions were sent:
- a bot killed right after Telegram handed it a batch (nothing confirmed: the other bot gets the batch);
- a bot killed while sending a reply, before Telegram took it (the lease runs out: the other bot sends it);
- an API process killed amid the traffic (its transactions roll back: the bot offers the batch again);
- the database restarted amid the traffic (PostgreSQL), or the other API process killed (SQLite).

The one window no protocol closes (Telegram took a message and its bot died before reporting it: the Bot API
cannot tell afterwards whether a message was delivered) is counted apart: a bot killed at one of these moments
may have other chats' sends in flight, accepted and not yet reported, and those are sent again once their lease
runs out. A copy counts as such only when its first send was accepted by the killed bot at most
``IN_DOUBT_SECONDS`` before it was dead; every other duplicate fails the test. The report prints both counts.
``HOTLINE_FAULT_SEED`` picks which process dies at each moment and the owners' timing (the closing note reports
several seeds).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.conversations import texts
from api.db import make_engine, make_sessionmaker
from api.outbox.models import OutboxMessage
from tests import dbutil
from tests.bot.fake_telegram import FakeTelegram
from tests.faults.cluster import ThrowawayPostgres, free_port, postgres_bin
from tests.faults.processes import ROOT, ApiProcess, BotProcess

SERVICE_TOKEN = "fault-test-service-token-0123456789"
CHATS = 20
QUESTIONS_PER_CHAT = 5
LEASE_SECONDS = 5
IN_DOUBT_SECONDS = 0.5  # a send accepted this shortly before its bot was killed may have gone unreported
CANDIDATES = ["정부지원 비율은 얼마인가요?", "어떤 기업이 신청할 수 있나요?", "스마트공장 중간점검은 누가 나와요",
              "AS 지원은 누가 받을 수 있나요?", "스마트공장 신청은 어디서 하나요?", "공급기업은 어떻게 고르나요?",
              "기업부담금은 현금으로 내야 하나요?", "스마트공장 수준 확인은 어떻게 하나요?", "사후관리는 어떻게 받나요?",
              "테스트베드가 뭐예요?", "스마트 마이스터가 뭐예요?", "대중소 상생형이 뭐예요?"]

_owners = itertools.count(9_900_000_001)


def seed_value() -> int:
    return int(os.environ.get("HOTLINE_FAULT_SEED", "20261206"))


def answered_questions(matcher) -> list[tuple[str, str]]:
    """Five questions the knowledge base answers, each from a different entry: (question, a line of its answer)."""
    chosen, entries = [], set()
    for question in CANDIDATES:
        result = matcher.match(question)
        if result.outcome == "answered" and result.entry.id not in entries:
            entries.add(result.entry.id)
            first_line = next(line for line in result.entry.answer.splitlines() if line.strip())
            chosen.append((question, first_line.strip()[:40]))
        if len(chosen) == QUESTIONS_PER_CHAT:
            return chosen
    raise AssertionError(f"the knowledge base answers too few of the candidate questions: {chosen}")


@pytest.fixture(scope="module")
def fault_database(tmp_path_factory):
    """The database the processes share: a throwaway PostgreSQL cluster in the PostgreSQL run, a SQLite file in
    the SQLite run; migrated and loaded with ``hotline init``."""
    cluster = None
    if dbutil.is_postgres():
        if postgres_bin() is None:
            pytest.skip("PostgreSQL's initdb is not installed")
        cluster = ThrowawayPostgres().start()
        url = cluster.create_database("hotline_fault")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('fault') / 'hotline.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOTLINE_DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-m", "api.cli", "init"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        yield url, cluster
    finally:
        if cluster is not None:
            cluster.stop()


class World:
    def __init__(self, url: str, cluster: ThrowawayPostgres | None, logs: Path):
        self.url = url
        self.cluster = cluster
        self.fake = FakeTelegram()
        self.fake.exclusive_polling = True
        ports = [free_port(), free_port()]
        self.apis = [ApiProcess(f"api{i + 1}", port=port, database_url=url, service_token=SERVICE_TOKEN, logs=logs)
                     for i, port in enumerate(ports)]
        self.bots: list[BotProcess] = []
        self.logs = logs
        self.events: list[str] = []
        self.bot_kills: list[tuple[str, float]] = []  # (bot, when it was dead) of every bot killed
        self.restarts: list[asyncio.Task] = []

    async def start(self) -> None:
        await self.fake.start()
        await asyncio.gather(*(api.start() for api in self.apis))
        # each bot prefers its own API process and fails over to the other (HOTLINE_API_URL lists both)
        self.bots = [BotProcess(f"bot{i + 1}", telegram_token=self.fake.token,
                                telegram_base_url=self.fake.base_url_for(f"bot{i + 1}"),
                                api_url=",".join(a.url for a in (api, *[x for x in self.apis if x is not api])),
                                service_token=SERVICE_TOKEN, logs=self.logs, lease_seconds=LEASE_SECONDS)
                     for i, api in enumerate(self.apis)]
        await asyncio.gather(*(bot.start() for bot in self.bots))

    def bot(self, name: str) -> BotProcess:
        return next(b for b in self.bots if b.name == name)

    def restart_later(self, process, delay: float = 1.5) -> None:
        async def again() -> None:
            await asyncio.sleep(delay)
            await process.start()
            self.events.append(f"{time.monotonic():.1f} {process.name} restarted")

        self.restarts.append(asyncio.create_task(again()))

    async def stop(self) -> None:
        for task in self.restarts:
            try:
                await task
            except Exception:  # a restart racing the end of the test
                pass
        await asyncio.gather(*(p.stop() for p in (*self.bots, *self.apis)))
        await self.fake.stop()


async def test_two_apis_two_bots_lose_nothing_duplicate_nothing_keep_order(fault_database, real_matcher, tmp_path):
    url, cluster = fault_database
    rng = random.Random(seed_value())
    questions = answered_questions(real_matcher)
    world = World(url, cluster, tmp_path)
    await world.start()
    owners = [next(_owners) for _ in range(CHATS)]
    try:
        fault_batch = asyncio.Event()
        fault_send = asyncio.Event()

        async def kill_holder_of_a_batch(caller: str, updates: list[dict]) -> None:
            if fault_batch.is_set() and caller:
                fault_batch.clear()
                bot = world.bot(caller)
                world.events.append(f"{time.monotonic():.1f} {caller} killed holding updates "
                                    f"{[u['update_id'] for u in updates][:5]}")
                await bot.killed()  # the batch goes nowhere: Telegram keeps it unconfirmed
                world.bot_kills.append((caller, time.monotonic()))  # dead by now
                world.restart_later(bot)

        async def kill_a_sender(caller: str, params: dict) -> bool:
            if fault_send.is_set() and caller and int(params["chat_id"]) in owners:
                fault_send.clear()
                bot = world.bot(caller)
                world.events.append(f"{time.monotonic():.1f} {caller} killed sending to {params['chat_id']}")
                await bot.killed()
                world.bot_kills.append((caller, time.monotonic()))  # dead by now
                world.restart_later(bot)
                return False  # never reached Telegram
            return True

        world.fake.on_updates = kill_holder_of_a_batch
        world.fake.send_gate = kill_a_sender

        async def owner(chat_id: int) -> None:
            for question, _ in questions:
                await world.fake.owner_says(chat_id, question)
                await asyncio.sleep(rng.uniform(0.05, 1.2))

        async def faults() -> None:
            await asyncio.sleep(0.3)
            fault_batch.set()
            await asyncio.sleep(1.2)
            fault_send.set()
            await asyncio.sleep(1.5)
            victim = rng.choice(world.apis)
            world.events.append(f"{time.monotonic():.1f} {victim.name} killed")
            await victim.killed()
            world.restart_later(victim)
            await asyncio.sleep(1.5)
            if cluster is not None:
                world.events.append(f"{time.monotonic():.1f} PostgreSQL restarting")
                await asyncio.to_thread(cluster.restart)
                world.events.append(f"{time.monotonic():.1f} PostgreSQL back")
            else:
                other = world.apis[1] if victim is world.apis[0] else world.apis[0]
                world.events.append(f"{time.monotonic():.1f} {other.name} killed")
                await other.killed()
                world.restart_later(other)

        await asyncio.gather(*(owner(chat) for chat in owners), faults())

        expected = [snippet for _, snippet in questions]

        def answers(chat_id: int) -> list[str]:
            return [next(s for s in expected if s in m.text) for m in world.fake.messages_to(chat_id)
                    if any(s in m.text for s in expected)]

        def complete() -> bool:
            return all(len(answers(chat)) >= len(expected) for chat in owners)

        try:
            await world.fake.wait_for(complete, timeout=150, what="every answer delivered")
        except AssertionError:
            pass  # counted below
        await asyncio.sleep(LEASE_SECONDS + 2)  # anything sent twice after a lease ran out would arrive by now

        def in_doubt(caller: str, at: float) -> bool:
            """Accepted by Telegram just before its bot was killed, hence never reported: the window no protocol
            closes (the Bot API cannot tell whether a message was delivered). It is sent again."""
            return any(bot == caller and 0 <= dead - at <= IN_DOUBT_SECONDS for bot, dead in world.bot_kills)

        lost = duplicated = out_of_order = window = 0
        copies = []  # every duplicate: (chat, snippet, [(caller, time) of each copy])
        for chat in owners:
            got = answers(chat)
            lost += sum(max(0, 1 - got.count(s)) for s in expected)
            for snippet in expected:
                sends = [m for m in world.fake.messages_to(chat) if snippet in m.text]
                if len(sends) > 1:
                    copies.append((chat, snippet[:12], [(m.caller, round(m.at, 2)) for m in sends]))
                    if len(sends) == 2 and in_doubt(sends[0].caller, sends[0].at):
                        window += 1
                    else:
                        duplicated += len(sends) - 1
            firsts = sorted(set(got), key=got.index)
            out_of_order += firsts != [s for s in expected if s in firsts]
            unexpected = [m.text[:40] for m in world.fake.messages_to(chat)
                          if not any(s in m.text for s in expected) and m.text != texts.UNAVAILABLE]
            assert not unexpected, (chat, unexpected)
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session:
            not_sent = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                            .where(OutboxMessage.status != "sent"))
        await engine.dispose()
        report = (f"seed {seed_value()}: {CHATS} chats x {QUESTIONS_PER_CHAT} questions, "
                  f"{'PostgreSQL' if cluster else 'SQLite'}: lost {lost}, duplicated {duplicated} "
                  f"(besides {window} sent again after their bot died between Telegram's acceptance and its report), "
                  f"out of order {out_of_order}, outbox not sent {not_sent}; faults: {world.events}"
                  + (f"; duplicates: {copies}" if copies else ""))
        print(report)
        (Path(os.environ.get("HOTLINE_FAULT_REPORT", tmp_path / "report.txt"))).write_text(report + "\n")
        assert (lost, duplicated, out_of_order, not_sent) == (0, 0, 0, 0), report
        assert sum(p.starts for p in (*world.apis, *world.bots)) >= 7, world.events  # the faults did happen
    except BaseException:
        for process in (*world.apis, *world.bots):
            print(f"----- {process.name} -----\n{process.output()[-4000:]}")
        raise
    finally:
        await world.stop()
