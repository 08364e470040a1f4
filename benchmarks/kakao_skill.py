"""The KakaoTalk skill's answer time under load: 32 owners (KakaoTalk users) sending skill requests at once, against
Kakao's 5-second skill timeout.

usage: python benchmarks/kakao_skill.py [--clients 32] [--duration 20] [--warmup 3] [--workers 1]
                                        [--database sqlite|postgres] [--pg-url URL] [--answer-seconds 3.5]

The script creates a fresh database (an SQLite file, or a PostgreSQL database ``hl_bench_kakao`` on the server of
``--pg-url``, dropped afterwards), runs ``hotline init`` (schema, centres, knowledge base) and starts ``hotline
serve`` as deployed (access log, scheduler) with the skill enabled. Each client is one KakaoTalk user: it POSTs a
SkillPayload exactly as Kakao's chatbot does (secret header, fallback block, botUserKey) and sends its next
utterance when the answer arrives (a closed loop), for ``--duration`` seconds after ``--warmup`` seconds. Every
utterance is a different question: a held-out question of the project's own (``knowledge/eval/heldout.jsonl``)
behind a random "<region> <industry> 공장인데요," as real traffic is; some start an escalation, whose next steps
(place, company) the same user then answers.

Reported: answers per second, latency percentiles, the share answered within Kakao's 5 s, and how many came back
as ``useCallback`` (late: the engine's answer took longer than ``--answer-seconds``). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-kakao-skill-secret-0123456789"
SERVICE_TOKEN = "bench-service-token-0123456789"
SECRET_KEY = "bench-secret-key-0123456789abcdef"
PG_DB = "hl_bench_kakao"
KAKAO_LIMIT_SECONDS = 5.0
REGIONS = ["경기 화성", "경남 창원", "부산 사하구", "대구 달서구", "충북 청주", "전남 여수", "강원 원주", "인천 남동구"]
INDUSTRIES = ["금속가공", "식품", "플라스틱 사출", "자동차 부품", "섬유", "전자부품"]


def questions() -> list[str]:
    lines = (ROOT / "knowledge" / "eval" / "heldout.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()]


def payload(user: str, utterance: str, extra: dict | None = None) -> dict:
    return {"intent": {"id": "fallback", "name": "폴백 블록"},
            "userRequest": {"timezone": "Asia/Seoul", "block": {"id": "fallback", "name": "폴백 블록"},
                            "utterance": utterance, "lang": None,
                            "user": {"id": user, "type": "botUserKey", "properties": {"botUserKey": user}}},
            "bot": {"id": "bench-bot", "name": "bench"},
            "action": {"name": "hotline", "clientExtra": extra, "params": {}, "id": "a", "detailParams": {}}}


async def client(http: httpx.AsyncClient, url: str, user: str, pool: list[str], measure_from: float,
                 stop_at: float, latencies: list[float], counts: dict[str, int]) -> None:
    rng = random.Random(user)
    follow_up = None
    while time.monotonic() < stop_at:
        if follow_up is not None:
            utterance, extra = follow_up
        else:
            utterance, extra = f"{rng.choice(REGIONS)} {rng.choice(INDUSTRIES)} 공장인데요, {rng.choice(pool)}", None
        started = time.monotonic()
        try:
            response = await http.post(url, json=payload(user, utterance, extra), headers={"X-Hotline-Kakao-Secret": SECRET})
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            counts["errors"] += 1
            counts.setdefault("error_kinds", {}).setdefault(type(exc).__name__, 0)
            counts["error_kinds"][type(exc).__name__] += 1
            follow_up = None
            continue
        elapsed = time.monotonic() - started
        if started >= measure_from:
            latencies.append(elapsed)
            counts["status_" + str(response.status_code)] = counts.get("status_" + str(response.status_code), 0) + 1
            if body.get("useCallback") or "준비하고" in json.dumps(body, ensure_ascii=False):
                counts["late"] += 1
        follow_up = None
        quick = (body.get("template") or {}).get("quickReplies") or []
        texts = " ".join(o.get("simpleText", {}).get("text", "") for o in (body.get("template") or {}).get("outputs", []))
        skip = next((q for q in quick if q["label"] == "건너뛰기"), None)
        submit = next((q for q in quick if "접수하기" in q["label"]), None)
        if "공장이 있는 지역" in texts:
            follow_up = (rng.choice(REGIONS), None)
        elif skip is not None:
            follow_up = (skip["messageText"], skip["extra"])
        elif submit is not None and rng.random() < 0.5:
            follow_up = (submit["messageText"], submit["extra"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(kind: str, pg_url: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    subprocess.run(["psql", pg_url, "-qc", f"DROP DATABASE IF EXISTS {PG_DB}"], check=True)
    subprocess.run(["psql", pg_url, "-qc", f"CREATE DATABASE {PG_DB}"], check=True)
    base = pg_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{PG_DB}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--answer-seconds", type=float, default=3.5)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hl-bench-kakao-"))
    database_url = prepare_database(args.database, args.pg_url, workdir)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")},
           "HOTLINE_DATABASE_URL": database_url, "HOTLINE_SERVICE_TOKEN": SERVICE_TOKEN,
           "HOTLINE_SECRET_KEY": SECRET_KEY, "HOTLINE_KAKAO_SKILL_SECRET": SECRET,
           "HOTLINE_KAKAO_ANSWER_SECONDS": str(args.answer_seconds), "HOTLINE_CHAT_RATE_LIMIT": "1000"}
    hotline = str(Path(sys.executable).parent / "hotline")
    subprocess.run([hotline, "init"], env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    port = free_port()
    command = [hotline, "serve", "--port", str(port)] + (["--workers", str(args.workers)] if args.workers > 1 else [])
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=open(workdir / "server.log", "w"),
                              stderr=subprocess.STDOUT)
    print(f"server log: {workdir / 'server.log'}")
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        load_before = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
        pool = questions()
        latencies: list[float] = []
        counts = {"errors": 0, "late": 0}

        async def run() -> None:
            limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
            async with httpx.AsyncClient(timeout=30, limits=limits) as http:
                now = time.monotonic()
                measure_from, stop_at = now + args.warmup, now + args.warmup + args.duration
                await asyncio.gather(*(client(http, f"{base}/api/v1/channels/kakao/skill", f"bench-user-{n:03d}",
                                              pool, measure_from, stop_at, latencies, counts)
                                       for n in range(args.clients)))

        asyncio.run(run())
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.database == "postgres":
            subprocess.run(["psql", args.pg_url, "-qc", f"DROP DATABASE IF EXISTS {PG_DB}"], check=False)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    within = sum(1 for x in latencies if x < KAKAO_LIMIT_SECONDS) / len(latencies)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average before: {load_before}")
    print(f"database: {args.database}, workers: {args.workers}, clients: {args.clients}, "
          f"{args.duration:.0f} s after {args.warmup:.0f} s warm-up, skill answer time {args.answer_seconds} s")
    print()
    print("| clients | answers/s | p50 ms | p90 ms | p99 ms | max ms | within 5 s | late (useCallback/wait) | errors |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.clients} | {len(latencies) / args.duration:,.0f} | {pct(0.5):,.1f} | {pct(0.9):,.1f} | "
          f"{pct(0.99):,.1f} | {latencies[-1] * 1000:,.1f} | {within:.2%} | {counts['late']} | {counts['errors']} |")
    statuses = {k: v for k, v in counts.items() if k.startswith("status_")}
    print(f"\nerrors: {counts.get('error_kinds', {})}; statuses: {statuses}; mean {statistics.mean(latencies) * 1000:.1f} ms over {len(latencies):,} answers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
