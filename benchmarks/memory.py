"""Memory per API worker with the question matcher loaded (target: RSS ≤ 400 MB).

usage: python benchmarks/memory.py [--workers 1 2] [--requests 3000] [--database sqlite|postgres]

For each worker count: a fresh database with the knowledge base (``hotline init``), ``hotline serve --workers N``
as deployed, then the RSS (and PSS/USS from ``/proc/<pid>/smaps_rollup``) of every serving process right after
startup (the matcher is built during startup) and after ``--requests`` questions to ``POST /api/v1/ask``
(32 concurrent clients; morpheme caches and thread pools grown). A breakdown in fresh interpreters shows
where a worker's memory goes: the interpreter and the service's imports, Kiwi (the morphological analyser),
and the matcher index over the knowledge base.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import api_load  # noqa: E402  (the server helpers and the load client)


def memory_mb(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        values = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in rollup[1:] if line.split()[-1] == "kB"}
        out["Pss"] = values.get("Pss", float("nan"))
        out["USS"] = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
    except FileNotFoundError:
        pass
    return out


def worker_pids(process: subprocess.Popen, workers: int) -> list[int]:
    """The processes that serve requests: the single process, or uvicorn's worker children (not the
    supervisor nor multiprocessing's resource tracker, which hold no app)."""
    if workers == 1:
        return [process.pid]
    pids = api_load.serving_pids(process)[1:]
    return [p for p in pids if memory_mb(p).get("VmRSS", 0) > 150]


BREAKDOWN = r"""
import json, os, sys
sys.path.insert(0, {root!r})
def rss():
    return int([l for l in open(f"/proc/{{os.getpid()}}/status") if l.startswith("VmRSS")][0].split()[1]) / 1024
steps = [("interpreter", rss())]
import api.app, api.models  # noqa: the service's imports (FastAPI, SQLAlchemy, psycopg, pydantic ...)
steps.append(("service imports", rss()))
from knowledge import morph
morph.get_kiwi().tokenize("스마트공장 신청은 어디서 하나요?")
steps.append(("Kiwi model loaded", rss()))
from knowledge import Matcher, load_entries, load_synonyms
m = Matcher(load_entries(), load_synonyms())
m.match("스마트공장 신청은 어디서 하나요?")
steps.append((f"matcher over the KB ({{len(m.entries)}} entries)", rss()))
print(json.dumps(steps))
"""


def breakdown() -> list[tuple[str, float]]:
    done = subprocess.run([sys.executable, "-c", BREAKDOWN.format(root=str(ROOT))], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--requests", type=int, default=3000, help="questions asked before the second reading")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    print(f"machine: {api_load.machine()}; database: {args.database}\n")
    steps = breakdown()
    print("| where a worker's memory goes (fresh interpreter) | RSS MB | + MB |")
    print("|---|---:|---:|")
    previous = 0.0
    for name, mb in steps:
        print(f"| {name} | {mb:.0f} | {mb - previous:+.0f} |")
        previous = mb
    print()

    rows = []
    workdir = Path(tempfile.mkdtemp(prefix="hotline-mem-"))
    try:
        for workers in args.workers:
            (workdir / f"w{workers}").mkdir()
            url = api_load.prepare_database(args.database, args.pg_url, workdir / f"w{workers}")
            process, port = api_load.start_server(url, workers, workdir / f"server-w{workers}.log")
            try:
                pids = worker_pids(process, workers)
                started = {pid: memory_mb(pid) for pid in pids}
                # Enough seconds for --requests at the measured /ask rate (about 200/s per worker) plus warm-up.
                seconds = max(5.0, args.requests / (150.0 * workers))
                result = asyncio.run(api_load.run_phase("ask", port, workers=workers, clients=32, warmup=1.0,
                                                        duration=seconds))
                loaded = {pid: memory_mb(pid) for pid in pids}
                for i, pid in enumerate(pids, 1):
                    rows.append((workers, i, started[pid], loaded[pid], result.requests))
            finally:
                api_load.stop_server(process)
                api_load.drop_database(args.database, args.pg_url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print("| workers | worker | RSS after startup MB | RSS after load MB | peak RSS MB | PSS MB | USS MB "
          "| questions asked (all workers) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for workers, i, start, end, asked in rows:
        print(f"| {workers} | {i} | {start.get('VmRSS', 0):.0f} | {end.get('VmRSS', 0):.0f} | "
              f"{end.get('VmHWM', 0):.0f} | {end.get('Pss', 0):.0f} | {end.get('USS', 0):.0f} | {asked:,} |")
    print("\ntarget: RSS ≤ 400 MB per worker with the matcher loaded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
