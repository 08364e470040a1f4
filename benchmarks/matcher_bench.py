"""Matcher CPU per distinct question on the real KB, and latency and memory on the KB grown to 1k and 50k entries.

usage: python benchmarks/matcher_bench.py [--sizes 1000 50000] [--queries N] [--repeat R]

First table (the real KB, issue 15's question mix): every labelled dev question behind a random opener
"<region> <industry> 공장인데요, " as owners write (each text distinct, the morpheme and result caches cleared:
Kiwi and every signal run each time), and the follow-up turns of knowledge/eval/followups_dev.jsonl matched
with their context. CPU is time.process_time per question on one core (target <= 1.0 ms for the openers).

Synthetic entries are variations of the real ones (knowledge/entries): each copy keeps its
topic, gets a reworded title and paraphrases (a region, an industry, a year, a word of
another entry put in, a word dropped) and keeps two of the original paraphrases verbatim,
so the index holds many near-duplicates - the hard case for the prefilter. Queries are the
dev/held-out questions and chit-chat lines; each is timed once with the morpheme cache
cleared (cold: Kiwi runs every time), pinned to one core. RSS is read from /proc: "index
MB" is the growth while building that index (Kiwi, ~0.3 GB, is loaded and warm before).
Targets: p50 <= 1 ms at 1k entries, <= 5 ms at 50k.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge import Context, Entry, Matcher, load_entries, load_synonyms, matchable  # noqa: E402
from knowledge import morph  # noqa: E402

REGIONS = ("서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "강원", "충북", "충남",
           "전북", "전남", "경북", "경남", "제주", "창원", "김해", "안산", "시흥", "화성", "평택", "구미")
INDUSTRIES = ("금형", "사출", "도장", "주물", "열처리", "프레스", "용접", "식품", "화장품", "섬유", "가구",
              "전자부품", "자동차부품", "조선기자재", "의료기기", "제약", "인쇄", "포장", "물류", "철강")
SHARED = ROOT.parent / "shared" / "eval"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def vary(text: str, rng: random.Random, words: list[str]) -> str:
    parts = text.split()
    roll = rng.random()
    if roll < 0.3 and len(parts) > 2:
        del parts[rng.randrange(len(parts))]
    elif roll < 0.6:
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(words))
    prefix = rng.choice((f"{rng.choice(REGIONS)} {rng.choice(INDUSTRIES)} 공장인데",
                         f"{rng.randint(2015, 2030)}년", rng.choice(INDUSTRIES), ""))
    return f"{prefix} {' '.join(parts)}".strip()


def synthetic(entries: list[Entry], size: int, seed: int = 1) -> list[Entry]:
    rng = random.Random(seed)
    words = sorted({w for e in entries for p in e.paraphrases for w in p.split() if len(w) > 1})
    out = list(entries)
    i = 0
    while len(out) < size:
        base = entries[i % len(entries)]
        i += 1
        kept = list(base.paraphrases[:2])
        varied = [vary(p, rng, words) for p in rng.sample(base.paraphrases, min(3, len(base.paraphrases)))]
        out.append(replace(base, id=f"{base.id}-syn{i}", title=vary(base.title, rng, words),
                           paraphrases=tuple(kept + varied),
                           keywords=tuple(base.keywords[:3]) + (rng.choice(INDUSTRIES),)))
    return out[:size]


def queries(limit: int) -> list[str]:
    qs = []
    for name in (SHARED / "dev.jsonl", ROOT / "knowledge" / "eval" / "heldout.jsonl"):
        if name.exists():
            qs += [json.loads(line)["q"] for line in name.read_text(encoding="utf-8").splitlines() if line.strip()]
    chat = SHARED / "chitchat_ko.txt"
    if chat.exists():
        lines = [q for q in chat.read_text(encoding="utf-8").split("\n") if q.strip()]
        qs += random.Random(3).sample(lines, min(300, len(lines)))
    return qs[:limit]


def opener_questions(repeat: int, seed: int = 15) -> list[str]:
    """Dev questions behind a random "<region> <industry> 공장인데요, " (as benchmarks/api_load.py sends them)."""
    rng = random.Random(seed)
    dev = [json.loads(line)["q"] for line in (SHARED / "dev.jsonl").read_text(encoding="utf-8").splitlines()
           if line.strip()]
    return [f"{rng.choice(REGIONS)} {rng.choice(INDUSTRIES)} 공장인데요, {q}" for _ in range(repeat) for q in dev]


def followup_turns() -> list[tuple[str, str]]:
    """(previous turn, follow-up) of the development follow-up set."""
    path = ROOT / "knowledge" / "eval" / "followups_dev.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            turns = [t["q"] for t in json.loads(line)["turns"]]
            out += list(zip(turns, turns[1:]))
    return out


def cpu_per_question(matcher: Matcher, texts: list[str], contexts: list | None = None) -> tuple[float, list[float]]:
    """Mean CPU ms per question (caches cleared before each) and the wall-clock ms of each."""
    contexts = contexts or [None] * len(texts)
    for text, context in list(zip(texts, contexts))[:20]:  # warm-up
        matcher.match(text, use_cache=False, context=context)
    wall, cpu = [], 0.0
    for text, context in zip(texts, contexts):
        morph.clear_cache()
        c, t = time.process_time(), time.perf_counter()
        matcher.match(text, use_cache=False, context=context)
        wall.append((time.perf_counter() - t) * 1000)
        cpu += time.process_time() - c
    return cpu / len(texts) * 1000, wall


def real_kb_table(repeat: int) -> None:
    entries, synonyms = matchable(load_entries()), load_synonyms()
    matcher = Matcher(entries, synonyms)
    pin()
    rows = []
    openers = opener_questions(repeat)
    rows.append(("dev questions behind an opener", openers, None))
    pairs = followup_turns()
    contexts = []
    for previous, _ in pairs:
        r = matcher.match(previous)
        entry = r.entry or (matcher.get(r.candidates[0].entry_id) if r.candidates else None)
        contexts.append(Context(entry_id=entry.id) if entry else None)
    rows.append(("follow-ups with their context", [f for _, f in pairs], contexts))
    kiwi = []
    for text in openers:
        morph.clear_cache()
        c = time.process_time()
        morph.terms(text)
        kiwi.append((time.process_time() - c) * 1000)
    print(f"real KB: {len(entries)} entries; CPU per distinct question, one core, caches cleared "
          f"(target <= 1.0 ms for the openers)")
    print(f"{'question mix':<34} {'questions':>9} {'CPU ms':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for name, texts, ctx in rows:
        cpu, wall = cpu_per_question(matcher, texts, ctx)
        print(f"{name:<34} {len(texts):>9} {cpu:>7.3f} {percentile(wall, 50):>7.3f} {percentile(wall, 99):>7.3f}")
    print(f"{'(Kiwi alone on the whole opener text)':<34} {len(openers):>9} {statistics.mean(kiwi):>7.3f}")
    unpin()


def pin() -> None:
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        pass


def unpin() -> None:
    try:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    except (AttributeError, OSError):
        pass


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 50000],
                    help="grown KB sizes for the second table (none: only the real KB)")
    ap.add_argument("--queries", type=int, default=700)
    ap.add_argument("--repeat", type=int, default=5, help="openers per dev question in the first table")
    a = ap.parse_args()
    real_kb_table(a.repeat)
    if not a.sizes:
        return 0

    base = matchable(load_entries())
    synonyms = load_synonyms()
    qs = queries(a.queries)
    Matcher(base, synonyms)  # loads Kiwi and lets it allocate its analysis buffers (~0.3 GB)
    gc.collect()
    rss_base = rss_mb()
    rows = []
    for size in a.sizes:
        entries = synthetic(base, size)
        gc.collect()
        rss0 = rss_mb()
        t0 = time.perf_counter()
        matcher = Matcher(entries, synonyms)
        build = time.perf_counter() - t0
        rss1 = rss_mb()
        pin()
        for q in qs[:20]:  # warm-up (first-call costs, allocator)
            matcher.match(q, use_cache=False)
        cold, warm, kiwi = [], [], []
        for q in qs:
            morph.clear_cache()
            t = time.perf_counter()
            matcher.match(q, use_cache=False)
            cold.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            matcher.match(q, use_cache=False)  # the morpheme cache answers, the match is scored again
            warm.append((time.perf_counter() - t) * 1000)
            morph.clear_cache()
            t = time.perf_counter()
            morph.terms(q)
            kiwi.append((time.perf_counter() - t) * 1000)
        unpin()
        rows.append((size, len(qs), build, percentile(cold, 50), percentile(cold, 99),
                     statistics.mean(cold), percentile(warm, 50), percentile(kiwi, 50),
                     rss1 - rss0, rss1))
        del matcher, entries
        gc.collect()
    print(f"process RSS with Kiwi loaded and warm: {rss_base:.0f} MB")
    print(f"{'entries':>8} {'queries':>7} {'build s':>8} {'p50 ms':>7} {'p99 ms':>7} {'mean ms':>8} "
          f"{'warm p50':>8} {'kiwi p50':>8} {'index MB':>8} {'RSS MB':>7}")
    for r in rows:
        print(f"{r[0]:>8} {r[1]:>7} {r[2]:>8.1f} {r[3]:>7.2f} {r[4]:>7.2f} {r[5]:>8.2f} "
              f"{r[6]:>8.2f} {r[7]:>8.2f} {r[8]:>8.0f} {r[9]:>7.0f}")
    print("cold = morpheme cache cleared before each query (Kiwi runs); warm = the same text "
          "again (cached analysis); kiwi = Kiwi analysis alone; one core; targets p50 <= 1 ms "
          "(1k), <= 5 ms (50k)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
