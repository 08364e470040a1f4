"""API throughput and latency under load: ``POST /api/v1/ask`` (the bot's call, service token) against
``GET /healthz`` on the same server in the same run, with 1 and 2 uvicorn workers.

usage: python benchmarks/api_load.py [--workers 1 2] [--clients 32] [--duration 15] [--warmup 3]
                                     [--database sqlite|postgres] [--pg-url URL] [--out FILE.json]

For each worker count the script creates a fresh database (SQLite file, or a PostgreSQL database named
``hl_bench_api`` on the server of ``--pg-url``, dropped afterwards), runs ``hotline init`` (schema, centres,
knowledge base), starts ``hotline serve --workers N`` exactly as deployed (access log on, scheduler on) and
drives it with ``--clients`` concurrent keep-alive connections in a closed loop (each client sends its next
request when the previous answer arrives) for ``--duration`` seconds after ``--warmup`` seconds. The client is a
small asyncio HTTP/1.1 client in this process (much lighter than httpx, so it saturates the server rather than
itself); it shares the machine with the server, which the table states.

Questions: the labelled dev questions (``../shared/eval/dev.jsonl``), each from one of 1,000 chats; ``ask`` makes
every question different (as real traffic is), ``ask-repeated`` cycles the 107 as they are (morpheme cache warm).
Targets (issue 7): /ask throughput ≥ 0.5 × /healthz, /ask p99 < 50 ms with one worker.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval"
SERVICE_TOKEN = "bench-service-token-0123456789"
SECRET_KEY = "bench-secret-key-0123456789abcdef"
PG_DB = "hl_bench_api"  # --pg-db changes it (two copies of the benchmark on one server)
LOAD_BEFORE = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


# --- a minimal HTTP/1.1 keep-alive client -------------------------------------------------------------------

@dataclass
class PhaseResult:
    endpoint: str
    workers: int
    clients: int
    seconds: float
    requests: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    server_cpu_s: float = 0.0   # CPU time of the API process(es) during the measured seconds
    client_cpu_s: float = 0.0   # CPU time of this (client) process during the measured seconds
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def server_cpu_ms_per_request(self) -> float:
        return 1000 * self.server_cpu_s / self.requests if self.requests else float("nan")

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked, close = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            close = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(length) if length else b""
    return status, body, close


def _request(method: str, path: str, host: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _client(host: str, port: int, next_request, measure_from: float, stop_at: float,
                  result: PhaseResult) -> None:
    reader = writer = None
    while time.perf_counter() < stop_at:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        request = next_request()
        started = time.perf_counter()
        try:
            writer.write(request)
            status, _, close = await _read_response(reader)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            writer.close()
            reader = writer = None
            if started >= measure_from:
                result.errors += 1
            continue
        ended = time.perf_counter()
        if started >= measure_from and ended <= stop_at:
            result.requests += 1
            result.latencies_ms.append((ended - started) * 1000)
            result.statuses[str(status)] = result.statuses.get(str(status), 0) + 1
            if status >= 400:
                result.errors += 1
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


REGIONS = ("서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "강원", "충북", "충남", "전북", "전남",
           "경북", "경남", "제주", "창원", "김해", "안산", "시흥", "화성", "평택", "구미")
INDUSTRIES = ("금형", "사출", "도장", "주물", "열처리", "프레스", "용접", "식품", "화장품", "섬유", "가구", "전자부품",
              "자동차부품", "조선기자재", "의료기기", "제약", "인쇄", "포장", "물류", "철강")


def question_stream(endpoint: str):
    """``ask``: every question different (a dev question after a random "<region> <industry> 공장인데요," as owners
    write them), so Kiwi analyses each one as in real traffic; ``ask-repeated``: the 107 dev questions cycled
    (after the first round every analysis comes from the morpheme cache: the cheapest case)."""
    questions = [json.loads(line)["q"] for line in (SHARED / "dev.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    if endpoint == "ask-repeated":
        return itertools.cycle(questions)
    rng = random.Random(11)
    combos = [(r, i, q) for r in REGIONS for i in INDUSTRIES for q in questions]
    rng.shuffle(combos)
    return itertools.cycle(f"{r} {i} 공장인데요, {q}" for r, i, q in combos)


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (from /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def serving_pids(process: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    return [process.pid] + ([int(p) for p in children.read_text().split()] if children.exists() else [])


async def _sample_cpu(pids: list[int], measure_from: float, stop_at: float, result: PhaseResult) -> None:
    await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
    server0, client0 = cpu_seconds(pids), time.process_time()
    await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
    result.server_cpu_s = cpu_seconds(pids) - server0
    result.client_cpu_s = time.process_time() - client0


async def run_phase(endpoint: str, port: int, *, workers: int, clients: int, warmup: float,
                    duration: float, pids: list[int] | None = None) -> PhaseResult:
    host = "127.0.0.1"
    if endpoint == "healthz":
        fixed = _request("GET", "/healthz", host)

        def next_request() -> bytes:
            return fixed
    else:
        texts = question_stream(endpoint)
        rng = random.Random(7)
        auth = {"Authorization": f"Bearer {SERVICE_TOKEN}"}

        def next_request() -> bytes:
            body = json.dumps({"text": next(texts), "chat_id": rng.randrange(1, 1001)}, ensure_ascii=False).encode()
            return _request("POST", "/api/v1/ask", host, body, auth)

    result = PhaseResult(endpoint=endpoint, workers=workers, clients=clients, seconds=duration)
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + duration
    await asyncio.gather(_sample_cpu(pids or [], measure_from, stop_at, result),
                         *(_client(host, port, next_request, measure_from, stop_at, result) for _ in range(clients)))
    return result


# --- the server under test ----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_admin(pg_url: str):
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from api.db import sync_url

    return sa.create_engine(make_url(sync_url(pg_url)).set(database="postgres"), isolation_level="AUTOCOMMIT",
                            poolclass=sa.pool.NullPool)


def prepare_database(kind: str, pg_url: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    from sqlalchemy.engine import make_url

    admin = _pg_admin(pg_url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{PG_DB}"')
    admin.dispose()
    return make_url(pg_url).set(database=PG_DB).render_as_string(hide_password=False)


def drop_database(kind: str, pg_url: str) -> None:
    if kind == "postgres":
        admin = _pg_admin(pg_url)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        admin.dispose()


def server_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(PYTHONPATH=str(ROOT), HOTLINE_ENV="development", HOTLINE_DATABASE_URL=database_url,
               HOTLINE_SERVICE_TOKEN=SERVICE_TOKEN, HOTLINE_SECRET_KEY=SECRET_KEY)
    return env


def start_server(database_url: str, workers: int, log_path: Path) -> tuple[subprocess.Popen, int]:
    env = server_env(database_url)
    subprocess.run([sys.executable, "-m", "api.cli", "init"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    port = _free_port()
    log = open(log_path, "wb")
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port),
                                "--workers", str(workers)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    import httpx

    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"the server exited: see {log_path}")
        time.sleep(0.1)
    else:
        raise SystemExit(f"the server never became ready: see {log_path}")
    # Every worker answers /readyz before the matcher is warm in all of them: give the others a moment too.
    time.sleep(2 * workers)
    return process, port


def start_profile(directory: str | None, process: subprocess.Popen, workers: int, endpoint: str, warmup: float,
                  duration: float) -> list[subprocess.Popen]:
    """py-spy recorders (one per worker) that start after the warm-up and stop with the measured phase."""
    if not directory:
        return []
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    Path(directory).mkdir(parents=True, exist_ok=True)
    pids = [pid for pid in serving_pids(process) if workers == 1 or pid != process.pid]
    command = ("sleep {warmup}; exec {spy} record --gil --rate 200 --format speedscope --duration {duration} "
               "--pid {pid} --output {out} --nonblocking")
    return [subprocess.Popen(["sh", "-c", command.format(
        warmup=warmup, spy=spy, duration=int(duration), pid=pid,
        out=Path(directory) / f"w{workers}-{endpoint}-{pid}.speedscope.json")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for pid in pids]


def finish_profile(recorders: list[subprocess.Popen]) -> None:
    for recorder in recorders:
        recorder.wait(timeout=60)


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def worker_rss_mb(process: subprocess.Popen) -> list[float]:
    """RSS of the serving processes: the uvicorn workers (children) or the single process."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    pids = [int(p) for p in children.read_text().split()] if children.exists() else []
    # With --workers, the children include a multiprocessing resource tracker: keep the big ones.
    out = []
    for pid in pids or [process.pid]:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
        out.append(kb / 1024)
    big = [mb for mb in out if mb > 100]
    return big or out


# --- the report ---------------------------------------------------------------------------------------------

def machine() -> str:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GB RAM, Python {platform.python_version()}, "
            f"{platform.system()}")


def print_table(results: list[PhaseResult], rss: dict[int, list[float]], database: str) -> None:
    print(f"\nmachine: {machine()}; load average before the run {LOAD_BEFORE}\ndatabase: {database}; client: "
          f"{results[0].clients} keep-alive connections, closed loop, in one Python process on the same machine\n")
    print("| workers | endpoint | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | API CPU ms/req | ask/healthz "
          "| worker RSS MB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    by_workers: dict[int, dict[str, PhaseResult]] = {}
    for r in results:
        by_workers.setdefault(r.workers, {})[r.endpoint] = r
    for workers, phases in sorted(by_workers.items()):
        for name in ("healthz", "ask", "ask-repeated"):
            r = phases.get(name)
            if r is None:
                continue
            ratio = ""
            if name != "healthz" and "healthz" in phases and phases["healthz"].rps:
                ratio = f"{r.rps / phases['healthz'].rps:.2f}"
            mem = ", ".join(f"{m:.0f}" for m in rss.get(workers, [])) if name == "healthz" else ""
            label = {"healthz": "GET /healthz", "ask": "POST /api/v1/ask (distinct questions)",
                     "ask-repeated": "POST /api/v1/ask (107 questions repeated)"}[name]
            print(f"| {workers} | {label} | {r.rps:,.0f} | "
                  f"{r.pct(50):.1f} | {r.pct(90):.1f} | {r.pct(99):.1f} | {max(r.latencies_ms, default=0):.1f} | "
                  f"{r.errors} | {r.server_cpu_ms_per_request:.2f} | {ratio} | {mem} |")
    print("\ntargets: ask/healthz ≥ 0.5 and /ask p99 < 50 ms with one worker")


def main() -> int:
    global PG_DB
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each measurement")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="server for --database postgres (a database --pg-db is created and dropped there)")
    parser.add_argument("--pg-db", default="hl_bench_api", help="the name of that database")
    parser.add_argument("--endpoints", nargs="+", default=["healthz", "ask", "ask-repeated"],
                        choices=["healthz", "ask", "ask-repeated"])
    parser.add_argument("--keep-logs", action="store_true", help="keep the server logs (printed path)")
    parser.add_argument("--out", help="also write the raw figures as JSON")
    parser.add_argument("--profile", metavar="DIR",
                        help="record a py-spy profile (speedscope JSON, --gil) of the serving processes during each "
                             "measured phase into DIR (pip install py-spy)")
    args = parser.parse_args()
    PG_DB = args.pg_db

    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    results: list[PhaseResult] = []
    rss: dict[int, list[float]] = {}
    try:
        for workers in args.workers:
            (workdir / f"w{workers}").mkdir(exist_ok=True)
            url = prepare_database(args.database, args.pg_url, workdir / f"w{workers}")
            process, port = start_server(url, workers, workdir / f"server-w{workers}.log")
            try:
                for endpoint in args.endpoints:
                    spy = start_profile(args.profile, process, workers, endpoint, args.warmup, args.duration)
                    r = asyncio.run(run_phase(endpoint, port, workers=workers, clients=args.clients,
                                              warmup=args.warmup, duration=args.duration,
                                              pids=serving_pids(process)))
                    finish_profile(spy)
                    print(f"workers={workers} {endpoint}: {r.rps:,.0f} req/s, p50 {r.pct(50):.1f} ms, "
                          f"p99 {r.pct(99):.1f} ms, API CPU {r.server_cpu_ms_per_request:.2f} ms/request "
                          f"({r.server_cpu_s / r.seconds:.0%} of a core), client CPU {r.client_cpu_s / r.seconds:.0%}, "
                          f"statuses {r.statuses}, errors {r.errors}", flush=True)
                    results.append(r)
                rss[workers] = worker_rss_mb(process)
            finally:
                stop_server(process)
                drop_database(args.database, args.pg_url)
    finally:
        if args.keep_logs:
            print(f"server logs: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(results, rss, args.database)
    if args.out:
        Path(args.out).write_text(json.dumps(
            {"machine": machine(), "database": args.database, "rss_mb": rss,
             "results": [{**{k: v for k, v in asdict(r).items() if k != "latencies_ms"}, "rps": r.rps,
                          "server_cpu_ms_per_request": r.server_cpu_ms_per_request,
                          "p50": r.pct(50), "p90": r.pct(90), "p99": r.pct(99)} for r in results]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
