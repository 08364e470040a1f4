"""Score the matcher in-process, with the metrics of ``shared/scripts/ask_eval.py``; fit its gate.

usage: python -m knowledge.evaluate [QUESTIONS.jsonl ...] [--chitchat FILE] [--followups FILE ...]
                                    [--show-misses] [--entries DIR] [--synonyms FILE] [--loo] [--today DATE]
                                    [--fit] [--gate FILE] [--ablate SIGNAL ...]

  QUESTIONS.jsonl  lines of {"q": ..., "topic": <slug or "OOD">[, "style": ...]}; default: shared dev.jsonl,
                   knowledge/eval/heldout.jsonl and knowledge/eval/styles.jsonl where they exist. A set with
                   styles is also reported by style; OOD lines of style everyday-* must never be escalated
                   as a question (they are chit-chat).
  --chitchat FILE  one everyday question a line; reports the share of its odd-numbered lines answered
                   (target <= 0.005) and escalated as a question (the even lines built knowledge/background.tsv)
  --followups FILE exchanges {"turns": [{"q", "topic"}, ...]} played as a conversation: each turn after the
                   first is matched with the previous answer as context (default: knowledge/eval/followups.jsonl;
                   repeat the option for several files)
  --loo            also score leave-one-out: every KB paraphrase asked against a matcher built without it
                   (5 folds), the in-domain calibration set
  --fit            fit the gate (knowledge/calibration.py; uses --chitchat) and write it to --gate (default
                   knowledge/gate.json), then score with it
  --ablate SIGNAL  for each SIGNAL (knowledge.gate.SIGNALS; "none" for the full matcher) refit the gate
                   without it (in memory, uses --chitchat) and score every set: what the signal adds
  --negatives FILE calibration negatives instead of knowledge/negatives.yaml (for ablations: fewer negatives)
  --entries DIR    another knowledge base (for ablations: the entries before new paraphrases)

Metrics: precision = answered right / answered; answered-correct = answered right / in-domain;
resolved = (answered right or right topic among the first 3 clarify candidates) / in-domain;
out-of-scope = OOD answered / OOD. Follow-ups: right topic = answered with the right topic, or clarify with it
first (an OOD turn: not answered). Targets (issue 15): precision >= 0.97, answered-correct >= 0.85, resolved >=
0.95, out-of-scope <= 0.03, chit-chat answered <= 0.005, no everyday line escalated, follow-ups >= 0.85.

The gate is fitted on calibration data only (leave-one-out paraphrases, knowledge/negatives.yaml, chit-chat);
the evaluation sets only check the result.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from . import calibration
from .background import split_lines
from .gate import GATE_FILE, SIGNALS, Gate
from .loader import DEFAULT_ENTRIES_DIR, KNOWLEDGE_DIR, Entry, load_entries, load_synonyms
from .matcher import Context, Matcher, MatchResult
from .negatives import load_negatives
from .years import matchable

SHARED_EVAL = KNOWLEDGE_DIR.parent.parent / "shared" / "eval"
OWN_EVAL = KNOWLEDGE_DIR / "eval"
DEFAULT_SETS = [SHARED_EVAL / "dev.jsonl", OWN_EVAL / "heldout.jsonl", OWN_EVAL / "styles.jsonl"]
DEFAULT_FOLLOWUPS = [OWN_EVAL / "followups.jsonl"]


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
            if str(item.get("style", "")).startswith("everyday"):
                c["everyday"] += 1
                if r.outcome == "escalate" and r.kind == "question":
                    c["everyday_escalated"] += 1
                    misses.append(f"everyday line escalated as a question: {item['q']}")
                elif r.outcome == "clarify":
                    c["everyday_clarified"] += 1
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
            if cands[0] == item["topic"]:
                c["clarify_first"] += 1
        else:
            misses.append(f"{item['topic']} -> {r.outcome} {cands} ({r.score:.2f}): {item['q']}")
    return c, misses


def figures(c: Counter) -> dict[str, float]:
    out = {"precision": c["ok"] / max(c["answered"], 1), "answered-correct": c["ok"] / max(c["in"], 1),
           "resolved": (c["ok"] + c["clarify_ok"]) / max(c["in"], 1)}
    if c["ood"]:
        out["out-of-scope answered"] = c["ood_answered"] / c["ood"]
    if c["everyday"]:
        out["everyday escalated"] = c["everyday_escalated"]
    return out


def report(name: str, c: Counter) -> str:
    f = figures(c)
    lines = [f"{name}: in-domain {c['in']}: precision {f['precision']:.3f}  answered-correct "
             f"{f['answered-correct']:.3f}  resolved {f['resolved']:.3f}  (clarify with the right topic first "
             f"{c['clarify_first'] / max(c['in'], 1):.3f})"]
    if c["ood"]:
        extra = (f"  everyday lines escalated as a question: {c['everyday_escalated']} of {c['everyday']} "
                 f"(clarified {c['everyday_clarified']})") if c["everyday"] else ""
        lines.append(f"{name}: out-of-scope {c['ood']}: answered {c['ood_answered'] / c['ood']:.3f}{extra}")
    return "\n".join(lines)


def by_style(items: list[dict], results: list[MatchResult]) -> list[str]:
    groups: dict[str, list] = defaultdict(list)
    for item, r in zip(items, results):
        if "style" in item:
            groups[item["style"] if item["topic"] != "OOD" else "OOD " + item["style"].split("-")[0]].append((item, r))
    lines = []
    for style, pairs in sorted(groups.items()):
        c, _ = score(pairs)
        if c["in"]:
            lines.append(f"  {style:<12} n={c['in']:<4} answered-correct {c['ok'] / c['in']:.3f}  clarify right "
                         f"topic first {c['clarify_first'] / c['in']:.3f}  resolved "
                         f"{(c['ok'] + c['clarify_ok']) / c['in']:.3f}  wrong {c['answered'] - c['ok']}")
        else:
            lines.append(f"  {style:<12} n={c['ood']:<4} answered {c['ood_answered'] / c['ood']:.3f}"
                         + (f"  escalated as a question {c['everyday_escalated']}  clarified {c['everyday_clarified']}"
                            if c["everyday"] else ""))
    return lines


def play_followups(matcher: Matcher, path: Path, today: dt.date | None) -> tuple[Counter, list[str]]:
    """Play each exchange as a conversation; score the turns after the first."""
    c, misses = Counter(), []
    for line in read_questions(path):
        if "turns" not in line:
            raise SystemExit(f"{path}: not a follow-up set (lines need \"turns\")")
        context: Context | None = None
        for i, turn in enumerate(line["turns"]):
            r = matcher.match(turn["q"], today=today, context=context)
            gold = turn["topic"]
            top = r.entry.topic if r.outcome == "answered" else (
                r.candidates[0].topic if r.outcome == "clarify" and r.candidates else None)
            if i > 0:
                c["turns"] += 1
                if gold == "OOD":
                    ok = r.outcome != "answered"
                    c["answered_ok"] += ok
                else:
                    ok = top == gold
                    c["answered_ok"] += r.outcome == "answered" and ok
                c["right"] += ok
                c["answered"] += r.outcome == "answered"
                if not ok:
                    misses.append(f"follow-up {gold} -> {r.outcome} {top} [{r.followup}]: "
                                  + " / ".join(t["q"] for t in line["turns"][:i + 1]))
            if r.outcome == "answered":
                context = Context(entry_id=r.entry.id)
            elif r.outcome == "clarify" and gold in [x.topic for x in r.candidates]:
                context = Context(entry_id=next(x.entry_id for x in r.candidates if x.topic == gold))
            else:
                context = None
    return c, misses


def chitchat_counts(matcher: Matcher, path: Path, today: dt.date | None) -> tuple[Counter, list[str]]:
    _, held_out = split_lines(path)
    c, answered = Counter(), []
    for q in held_out:
        r = matcher.match(q, today=today)
        c["n"] += 1
        c[r.outcome] += 1
        c["kind " + r.kind] += 1
        c["escalated as a question"] += r.outcome == "escalate" and r.kind == "question"
        if r.outcome == "answered":
            answered.append(f"chit-chat answered as {r.entry.id} ({r.score:.2f}): {q}")
    return c, answered


def collect_samples(entries: list[Entry], synonyms, chitchat: Path | None, today: dt.date | None,
                    signals=SIGNALS, negatives_file: Path | None = None):
    """Calibration samples (see knowledge.calibration) and the questions asked per group."""
    samples, totals = [], Counter()
    untrained = Gate.untrained()

    def add(matcher, text, topic, group, entry_id=None):
        totals[group] += 1
        s = calibration.sample(matcher, text, topic, group, entry_id, today)
        if s is not None:
            samples.append(s)

    negatives = load_negatives(negatives_file)
    for kept, asked in calibration.loo_folds(entries):
        m = Matcher(kept, synonyms, negatives=negatives, gate=untrained, signals=signals)
        texts = [p for p, _ in asked]
        for text, (_, e) in zip(texts + calibration.with_context(texts), asked + asked):
            add(m, text, e.topic, "in", e.id)
    # Each negative is asked against a matcher whose word models were built without it (5 folds).
    for kept, asked in calibration.negative_folds(negatives):
        m = Matcher(entries, synonyms, negatives=kept, gate=untrained, signals=signals)
        business = [q for group, q in asked if group != "everyday"]
        for text in business + calibration.with_context(business, seed=11):
            add(m, text, "OOD", "oos")
        for text in (q for group, q in asked if group == "everyday"):
            add(m, text, "OOD", "everyday")
    if chitchat is not None:
        full = Matcher(entries, synonyms, negatives=negatives, gate=untrained, signals=signals)
        for text in split_lines(chitchat)[1]:
            add(full, text, "OOD", "everyday")
    return samples, totals


def evaluate_all(matcher: Matcher, entries: list[Entry], synonyms, a, *, quiet: bool = False) -> dict:
    """Score every requested set with ``matcher``; print the report unless ``quiet``; return the figures."""
    out: dict = {}

    def say(text: str) -> None:
        if not quiet:
            print(text)

    for path in a.questions or [s for s in DEFAULT_SETS if s.exists()]:
        items = read_questions(path)
        results = [matcher.match(it["q"], today=a.today) for it in items]
        c, misses = score(list(zip(items, results)))
        if a.show_misses and misses:
            say("\n".join(misses))
        say(report(path.name, c))
        for line in by_style(items, results):
            say(line)
        out[path.name] = figures(c)
    for path in a.followups or [p for p in DEFAULT_FOLLOWUPS if p.exists()]:
        c, misses = play_followups(matcher, path, a.today)
        if a.show_misses and misses:
            say("\n".join(misses))
        say(f"{path.name}: {c['turns']} follow-up turns: right topic {c['right'] / max(c['turns'], 1):.3f}  "
            f"answered right {c['answered_ok'] / max(c['turns'], 1):.3f}")
        out[path.name] = {"right topic": c["right"] / max(c["turns"], 1),
                          "answered right": c["answered_ok"] / max(c["turns"], 1)}
    if a.loo:
        total = Counter()
        all_misses = []
        for kept, asked in calibration.loo_folds(entries):
            m = Matcher(kept, synonyms, gate=matcher.gate, signals=matcher.signals)
            c, misses = score([({"q": p, "topic": e.topic}, m.match(p, today=a.today)) for p, e in asked])
            total.update(c)
            all_misses.extend(misses)
        if a.show_misses:
            say("\n".join(all_misses))
        say(report("leave-one-out paraphrases", total))
        out["leave-one-out"] = figures(total)
    if a.chitchat:
        c, answered = chitchat_counts(matcher, a.chitchat, a.today)
        if a.show_misses and answered:
            say("\n".join(answered))
        say(f"chit-chat {c['n']} (odd lines, not used by background.tsv): answered {c['answered'] / c['n']:.4f}  "
            f"clarify {c['clarify'] / c['n']:.4f}  escalated as a question "
            f"{c['escalated as a question'] / c['n']:.4f}  kinds "
            f"{ {k[5:]: v for k, v in sorted(c.items()) if k.startswith('kind ')} }")
        out["chit-chat"] = {"answered": c["answered"] / c["n"], "clarify": c["clarify"] / c["n"],
                            "escalated as a question": c["escalated as a question"] / c["n"]}
    return out


def _fit(entries, synonyms, a, signals) -> Gate:
    t0 = time.perf_counter()
    samples, totals = collect_samples(entries, synonyms, a.chitchat, a.today, signals, a.negatives)
    gate = calibration.fit(samples, totals, signals)
    print(f"fitted on {dict(totals)} in {time.perf_counter() - t0:.0f} s: answer >= {gate.answer_min}, "
          f"clarify >= {gate.clarify_min}, everyday >= {gate.everyday_min}; calibration {gate.figures}",
          file=sys.stderr)
    return gate


def ablate(entries, synonyms, a) -> None:
    rows = []
    for name in a.ablate:
        signals = SIGNALS if name == "none" else SIGNALS - {name}
        gate = _fit(entries, synonyms, a, signals)
        matcher = Matcher(entries, synonyms, gate=gate, signals=signals, negatives=load_negatives(a.negatives))
        rows.append((name, evaluate_all(matcher, entries, synonyms, a, quiet=True)))
    print("signal switched off | set | figures")
    for name, result in rows:
        for set_name, figs in result.items():
            shown = "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in figs.items())
            print(f"{name:<10} | {set_name:<26} | {shown}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m knowledge.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("questions", nargs="*", type=Path)
    p.add_argument("--chitchat", type=Path)
    p.add_argument("--followups", action="append", type=Path, default=None,
                   help="a follow-up set (repeat the option for several)")
    p.add_argument("--show-misses", action="store_true")
    p.add_argument("--entries", type=Path, default=DEFAULT_ENTRIES_DIR)
    p.add_argument("--synonyms", type=Path, default=None)
    p.add_argument("--loo", action="store_true")
    p.add_argument("--today", type=dt.date.fromisoformat, default=None)
    p.add_argument("--fit", action="store_true", help="fit the gate and write it to --gate")
    p.add_argument("--gate", type=Path, default=GATE_FILE, help="the gate file to write (--fit) or read")
    p.add_argument("--ablate", nargs="+", choices=sorted(SIGNALS | {"none"}), default=None)
    p.add_argument("--negatives", type=Path, default=None,
                   help="calibration negatives (default knowledge/negatives.yaml): --fit and --ablate fit with them "
                        "and the matcher's word models use them")
    a = p.parse_args(argv)

    entries = matchable(load_entries(a.entries))  # history entries are served by year, never matched
    synonyms = load_synonyms(a.synonyms)
    if a.ablate:
        ablate(entries, synonyms, a)
        return 0
    if a.fit:
        gate = _fit(entries, synonyms, a, SIGNALS)
        gate.save(a.gate)
        print(f"wrote {a.gate}")
    else:
        gate = Gate.from_json(a.gate.read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    matcher = Matcher(entries, synonyms, gate=gate, negatives=load_negatives(a.negatives))
    print(f"{len(entries)} entries, {len({e.topic for e in entries})} topics, "
          f"{len(synonyms)} synonym groups; index built in {time.perf_counter() - t0:.2f} s")
    evaluate_all(matcher, entries, synonyms, a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
