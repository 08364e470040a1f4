"""Memory per API worker with the question matcher loaded (target: ≤ 400 MB per worker).

usage: python benchmarks/memory.py [--workers 1 2] [--requests 3000] [--database postgres|sqlite]
                                   [--kiwi-options] [--no-servers]

1. Where a worker's memory goes, step by step in a fresh interpreter that does what a worker does: the service's
   imports and app, Kiwi (``knowledge.morph.get_kiwi``), the matcher over the knowledge base, then 4,096 distinct
   questions on one thread and on the event loop's executor threads (the morpheme and result caches fill up,
   every analysing thread keeps its allocator arenas).
2. For each worker count: a fresh database with the knowledge base (``hotline init``), ``hotline serve --workers N``
   as deployed, then RSS, PSS and USS (``/proc/<pid>/smaps_rollup``) of every process of the server right after
   startup (the matcher is built during startup) and after ``--requests`` distinct questions to
   ``POST /api/v1/ask`` (32 concurrent clients). With N > 1 the server is a parent that loaded Kiwi and N workers
   forked from it (``api.prefork``): RSS counts the shared pages in full in every process, so the fair figure
   per worker is PSS (each shared page divided among the processes that map it), and the summary divides the
   PSS of all processes, parent included, by N.
3. ``--kiwi-options``: Kiwi's memory with each constructor option, each in a fresh interpreter, before and after
   giving freed memory back (glibc ``malloc_trim``, mimalloc ``mi_collect``), and on how many of ~14k texts (the
   knowledge base, the eval sets, the chit-chat file) the analysis differs from ``get_kiwi``'s.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import api_load  # noqa: E402  (the server helpers and the load client)

PG_DB = "hl_bench_memory"  # not api_load's database: both benchmarks may run at the same time


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
        out["Shared"] = values.get("Shared_Clean", 0) + values.get("Shared_Dirty", 0)
    except FileNotFoundError:
        pass
    return out


def server_processes(process: subprocess.Popen, workers: int) -> list[tuple[str, int]]:
    """(role, pid) of the server's processes: the single process, or the parent and its forked workers."""
    if workers == 1:
        return [("single process", process.pid)]
    pids = api_load.serving_pids(process)
    return [("parent (gunicorn)", pids[0])] + [(f"worker {i}", pid) for i, pid in enumerate(pids[1:], 1)]


# --- 1. where a worker's memory goes ------------------------------------------------------------------------

BREAKDOWN = r"""
import json, os, sys
sys.path.insert(0, {root!r}); sys.path.insert(0, {benchmarks!r})
def rss():
    return int([l for l in open(f"/proc/{{os.getpid()}}/status") if l.startswith("VmRSS")][0].split()[1]) / 1024
steps = [("interpreter", rss())]
import importlib
from api.app import create_app
from api.prefork import PRELOAD_MODULES
app = create_app()
for name in PRELOAD_MODULES:
    importlib.import_module(name)
steps.append(("the service's imports and app (FastAPI, SQLAlchemy, psycopg, pydantic, numpy ...)", rss()))
from knowledge import Matcher, heap, load_entries, load_synonyms, matchable, morph
morph.get_kiwi()
steps.append(("Kiwi loaded (`get_kiwi()`)", rss()))
matcher = Matcher(matchable(load_entries()), load_synonyms())
matcher.match("스마트공장 신청은 어디서 하나요?")
heap.malloc_trim()
steps.append((f"matcher over the KB ({{len(matcher.entries)}} entries), build temporaries given back", rss()))
import itertools, api_load
questions = api_load.question_stream("ask")
for text in itertools.islice(questions, 4096):
    matcher.match(text)
steps.append(("4,096 distinct questions on one thread (morpheme and result caches full)", rss()))
from concurrent.futures import ThreadPoolExecutor
threads = min(32, (os.cpu_count() or 1) + 4)  # asyncio's default executor, which runs asyncio.to_thread
with ThreadPoolExecutor(threads) as pool:
    list(pool.map(lambda text: matcher.match(text), itertools.islice(questions, 4096)))
steps.append((f"4,096 more on {{threads}} threads (asyncio's default executor, as `asyncio.to_thread` in a worker)",
              rss()))
print(json.dumps(steps))
"""


def breakdown(env: dict[str, str]) -> list[tuple[str, float]]:
    done = subprocess.run([sys.executable, "-c", BREAKDOWN.format(root=str(ROOT), benchmarks=str(ROOT / "benchmarks"))],
                          capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- 3. Kiwi's constructor options --------------------------------------------------------------------------

KIWI_OPTIONS = r"""
import json, os, sys, warnings
sys.path.insert(0, {root!r})
warnings.simplefilter("ignore")
def rss():
    return int([l for l in open(f"/proc/{{os.getpid()}}/status") if l.startswith("VmRSS")][0].split()[1]) / 1024
options = json.loads({options!r})
from knowledge import heap, morph
if options is None:
    kiwi = morph.get_kiwi()
    loaded = None
else:
    from kiwipiepy import Kiwi
    kiwi = Kiwi(**options)
    for word in morph.DOMAIN_TERMS:
        kiwi.add_user_word(word, "NNG", 0.0)
    kiwi.tokenize("")
    loaded = rss()
    heap.collect_kiwi()
    heap.malloc_trim()
given_back = rss()
texts = json.load(open({texts!r}, encoding="utf-8"))
terms = [morph._term_lists(kiwi.tokenize(t)) for t in texts]
json.dump([[list(u), list(c)] for u, c in terms], open({out!r}, "w"), ensure_ascii=False)
print(json.dumps([loaded, given_back]))
"""

OPTION_SETS: list[tuple[str, dict | None, dict[str, str]]] = [
    ("`get_kiwi()`: `load_multi_dict=False, num_workers=0`, `MIMALLOC_PURGE_DELAY=0`, given back", None, {}),
    ("`Kiwi(load_multi_dict=False)` (before)", {"load_multi_dict": False}, {}),
    ("`Kiwi()` (every dictionary)", {}, {}),
    ("`load_multi_dict=False, num_workers=0`", {"load_multi_dict": False, "num_workers": 0}, {}),
    ("`load_multi_dict=False`, `MIMALLOC_PURGE_DELAY=0`", {"load_multi_dict": False}, {"MIMALLOC_PURGE_DELAY": "0"}),
    ("`load_multi_dict=False, load_typo_dict=False`", {"load_multi_dict": False, "load_typo_dict": False}, {}),
    ("`load_multi_dict=False, load_default_dict=False`", {"load_multi_dict": False, "load_default_dict": False}, {}),
    ("`load_multi_dict=False, model_type=\"cong-global\"`", {"load_multi_dict": False, "model_type": "cong-global"},
     {}),
]


def analysis_texts() -> list[str]:
    from knowledge.loader import load_entries

    texts: set[str] = set()
    for entry in load_entries():
        texts.update((entry.title, *entry.paraphrases, entry.answer))
    for path in (api_load.SHARED / "dev.jsonl", ROOT / "knowledge" / "eval" / "heldout.jsonl"):
        if path.exists():
            texts.update(json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    chitchat = api_load.SHARED / "chitchat_ko.txt"
    if chitchat.exists():
        texts.update(line.strip() for line in chitchat.read_text(encoding="utf-8").splitlines())
    return sorted(t for t in texts if t)


def kiwi_options(env: dict[str, str], workdir: Path) -> None:
    texts = analysis_texts()
    (workdir / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    print("| Kiwi (fresh interpreter, `DOMAIN_TERMS` added, model loaded) | RSS loaded MB "
          "| RSS after giving back MB | texts analysed differently |")
    print("|---|---:|---:|---:|")
    reference = None
    for i, (name, options, extra_env) in enumerate(OPTION_SETS):
        out = workdir / f"terms-{i}.json"
        script = KIWI_OPTIONS.format(root=str(ROOT), options=json.dumps(options), texts=str(workdir / "texts.json"),
                                     out=str(out))
        run_env = {k: v for k, v in env.items() if not k.startswith("MIMALLOC_")} | extra_env
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT,
                              env=run_env)
        loaded, given_back = json.loads(done.stdout.strip().splitlines()[-1])
        terms = json.loads(out.read_text(encoding="utf-8"))
        if reference is None:
            reference = terms
        differ = sum(1 for a, b in zip(reference, terms) if a != b)
        print(f"| {name} | {'–' if loaded is None else f'{loaded:.0f}'} | {given_back:.0f} | "
              f"{differ:,} of {len(texts):,} |")
    print()


# --- 2. the server --------------------------------------------------------------------------------------------

def ask_until(port: int, workers: int, requests: int, limit_s: float = 300.0) -> int:
    """Distinct questions to /ask from 32 clients until ``requests`` were answered (or ``limit_s`` passed)."""
    asked, started = 0, time.monotonic()
    while asked < requests and time.monotonic() - started < limit_s:
        result = asyncio.run(api_load.run_phase("ask", port, workers=workers, clients=32, warmup=0.0, duration=3.0))
        asked += result.requests
    return asked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--requests", type=int, default=3000, help="questions asked before the second reading")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--kiwi-options", action="store_true", help="also measure Kiwi's constructor options")
    parser.add_argument("--no-servers", action="store_true", help="only the in-process tables")
    args = parser.parse_args()
    api_load.PG_DB = PG_DB

    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(PYTHONPATH=str(ROOT), HOTLINE_DATABASE_URL="sqlite:///:memory:",
               HOTLINE_SERVICE_TOKEN=api_load.SERVICE_TOKEN, HOTLINE_SECRET_KEY=api_load.SECRET_KEY)
    print(f"machine: {api_load.machine()}; database: {args.database}\n")
    workdir = Path(tempfile.mkdtemp(prefix="hotline-mem-"))
    try:
        if args.kiwi_options:
            kiwi_options(env, workdir)
        print("| where a worker's memory goes (fresh interpreter) | RSS MB | + MB |")
        print("|---|---:|---:|")
        previous = 0.0
        for name, mb in breakdown(env):
            print(f"| {name} | {mb:.0f} | {mb - previous:+.0f} |")
            previous = mb
        print()
        if args.no_servers:
            return 0

        rows, totals = [], []
        for workers in args.workers:
            (workdir / f"w{workers}").mkdir()
            url = api_load.prepare_database(args.database, args.pg_url, workdir / f"w{workers}")
            process, port = api_load.start_server(url, workers, workdir / f"server-w{workers}.log")
            try:
                processes = server_processes(process, workers)
                started = {pid: memory_mb(pid) for _, pid in processes}
                asked = ask_until(port, workers, args.requests)
                loaded = {pid: memory_mb(pid) for _, pid in processes}
                for role, pid in processes:
                    rows.append((workers, role, started[pid], loaded[pid], asked))
                totals.append((workers, sum(loaded[pid].get("Pss", 0) for _, pid in processes),
                               sum(loaded[pid].get("VmRSS", 0) for _, pid in processes), asked))
            finally:
                api_load.stop_server(process)
                api_load.drop_database(args.database, args.pg_url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print("| workers | process | RSS after startup MB | RSS after load MB | peak RSS MB | PSS MB | USS MB "
          "| shared MB | questions asked (all workers) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for workers, role, start, end, asked in rows:
        print(f"| {workers} | {role} | {start.get('VmRSS', 0):.0f} | {end.get('VmRSS', 0):.0f} | "
              f"{end.get('VmHWM', 0):.0f} | {end.get('Pss', 0):.0f} | {end.get('USS', 0):.0f} | "
              f"{end.get('Shared', 0):.0f} | {asked:,} |")
    print()
    print("| workers | PSS of all processes MB | per worker (PSS ÷ workers) MB | sum of RSS MB |")
    print("|---:|---:|---:|---:|")
    for workers, pss, rss, _ in totals:
        print(f"| {workers} | {pss:.0f} | **{pss / workers:.0f}** | {rss:.0f} |")
    print("\ntarget: ≤ 400 MB per worker with the matcher loaded (PSS, after load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
