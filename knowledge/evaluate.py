"""Score the matcher in-process, with the metrics of ``shared/scripts/ask_eval.py``.

usage: python -m knowledge.evaluate [QUESTIONS.jsonl ...] [--chitchat FILE] [--show-misses]
                                    [--entries DIR] [--synonyms FILE] [--loo] [--today DATE] [--fit]

  QUESTIONS.jsonl  lines of {"q": ..., "topic": <slug or "OOD">}; default: shared dev.jsonl
                   and knowledge/eval/heldout.jsonl when it exists
  --chitchat FILE  one everyday question a line; reports the share of its odd-numbered lines
                   answered (target <= 0.01; the even lines built knowledge/background.tsv)
  --loo            also score leave-one-out: every KB paraphrase asked against a matcher built
                   without it (5 folds), the in-domain calibration set that is not dev.jsonl
  --fit            fit the weights and threshold (knowledge/calibration.py; uses --chitchat)

Metrics: precision = answered right / answered; answered-correct = answered right / in-domain;
resolved = (answered right or right topic among the first 3 clarify candidates) / in-domain;
out-of-scope = OOD answered / OOD. Targets: precision >= 0.95, answered-correct >= 0.80,
resolved >= 0.90, out-of-scope <= 0.05, chit-chat <= 0.01.

Calibration of the thresholds in ``knowledge.matcher`` (recorded there) was done with this
script: ``--loo`` and the chit-chat file for choosing them, dev.jsonl and heldout.jsonl only to
check the result.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections import Counter
from pathlib import Path

from . import calibration
from .background import split_lines
from .loader import DEFAULT_ENTRIES_DIR, KNOWLEDGE_DIR, Entry, load_entries, load_synonyms
from .matcher import Matcher, MatchResult
from .years import matchable

SHARED_EVAL = KNOWLEDGE_DIR.parent.parent / "shared" / "eval"
DEFAULT_SETS = [SHARED_EVAL / "dev.jsonl", KNOWLEDGE_DIR / "eval" / "heldout.jsonl"]


def read_questions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def score(results: list[tuple[dict, MatchResult]]) -> tuple[Counter, list[str]]:
    c, misses = Counter(), []
    for item, r in results:
        topic = r.entry.topic if r.entry else None
        cands = [x.topic for x in r.candidates[:3]]
        if item["topic"] == "OOD":
            c["ood"] += 1
            if r.outcome == "answered":
                c["ood_answered"] += 1
                misses.append(f"OOD answered as {topic} ({r.score:.2f}): {item['q']}")
            continue
        c["in"] += 1
        if r.outcome == "answered":
            c["answered"] += 1
            if topic == item["topic"]:
                c["ok"] += 1
            else:
                misses.append(f"{item['topic']} answered as {topic} ({r.score:.2f}): {item['q']}")
        elif r.outcome == "clarify" and item["topic"] in cands:
            c["clarify_ok"] += 1
        else:
            misses.append(f"{item['topic']} -> {r.outcome} {cands} ({r.score:.2f}): {item['q']}")
    return c, misses


def report(name: str, c: Counter) -> str:
    lines = [f"{name}: in-domain {c['in']}: precision {c['ok'] / max(c['answered'], 1):.3f}  "
             f"answered-correct {c['ok'] / max(c['in'], 1):.3f}  "
             f"resolved {(c['ok'] + c['clarify_ok']) / max(c['in'], 1):.3f}"]
    if c["ood"]:
        lines.append(f"{name}: out-of-scope {c['ood']}: answered {c['ood_answered'] / c['ood']:.3f}")
    return "\n".join(lines)


def collect_samples(entries: list[Entry], synonyms, chitchat: Path | None, today: dt.date | None):
    """Calibration samples (see knowledge.calibration) and the questions asked per group."""
    samples, totals = [], Counter()

    def add(matcher, text, topic, group, entry_id=None):
        totals[group] += 1
        s = calibration.sample(matcher, text, topic, group, entry_id, today)
        if s is not None:
            samples.append(s)

    for kept, asked in calibration.loo_folds(entries):
        m = Matcher(kept, synonyms)
        texts = [p for p, _ in asked]
        for text, (_, e) in zip(texts + calibration.with_context(texts), asked + asked):
            add(m, text, e.topic, "in", e.id)
    full = Matcher(entries, synonyms)
    oos = list(calibration.OUT_OF_SCOPE)
    for text in oos + calibration.with_context(oos, seed=11):
        add(full, text, "OOD", "oos")
    if chitchat is not None:
        _, held_out = split_lines(chitchat)
        for text in held_out:
            add(full, text, "OOD", "chitchat")
    return samples, totals


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m knowledge.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("questions", nargs="*", type=Path)
    p.add_argument("--chitchat", type=Path)
    p.add_argument("--show-misses", action="store_true")
    p.add_argument("--entries", type=Path, default=DEFAULT_ENTRIES_DIR)
    p.add_argument("--synonyms", type=Path, default=None)
    p.add_argument("--loo", action="store_true")
    p.add_argument("--today", type=dt.date.fromisoformat, default=None)
    p.add_argument("--fit", action="store_true",
                   help="fit the ranking/confidence weights and the threshold (see knowledge."
                        "calibration) and print the constants for knowledge/matcher.py")
    a = p.parse_args(argv)

    entries = matchable(load_entries(a.entries))  # history entries are served by year, never matched
    synonyms = load_synonyms(a.synonyms)
    t0 = time.perf_counter()
    matcher = Matcher(entries, synonyms)
    print(f"{len(entries)} entries, {len({e.topic for e in entries})} topics, "
          f"{len(synonyms)} synonym groups; index built in {time.perf_counter() - t0:.2f} s")
    sets = a.questions or [s for s in DEFAULT_SETS if s.exists()]
    for path in sets:
        items = read_questions(path)
        results = [(it, matcher.match(it["q"], today=a.today)) for it in items]
        c, misses = score(results)
        if a.show_misses and misses:
            print("\n".join(misses))
        print(report(path.name, c))
    if a.loo:
        total = Counter()
        all_misses = []
        for kept, asked in calibration.loo_folds(entries):
            m = Matcher(kept, synonyms)
            c, misses = score([({"q": p, "topic": e.topic}, m.match(p, today=a.today))
                               for p, e in asked])
            total.update(c)
            all_misses.extend(misses)
        if a.show_misses:
            print("\n".join(all_misses))
        print(report("leave-one-out paraphrases", total))
    if a.chitchat:
        _, held_out = split_lines(a.chitchat)
        results = [(q, matcher.match(q, today=a.today)) for q in held_out]
        answered = [(q, r) for q, r in results if r.outcome == "answered"]
        if a.show_misses:
            for q, r in answered:
                print(f"chit-chat answered as {r.entry.id} ({r.score:.2f}): {q}")
        kinds = Counter(r.kind for _, r in results)
        print(f"chit-chat {len(held_out)} (odd lines, not used by background.tsv): answered "
              f"{len(answered) / len(held_out):.4f}  clarify "
              f"{sum(r.outcome == 'clarify' for _, r in results) / len(held_out):.4f}  "
              f"kinds {dict(sorted(kinds.items()))}")
    if a.fit:
        samples, totals = collect_samples(entries, synonyms, a.chitchat, a.today)
        print(f"calibration questions: {dict(totals)}")
        print(calibration.format_constants(calibration.fit(samples, totals)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
