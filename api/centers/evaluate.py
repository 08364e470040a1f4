"""Score address routing against labelled addresses (an evaluation command, not a test).

usage: python -m api.centers.evaluate ADDRESSES.jsonl [...]

Each line is ``{"address": "...", "center": "<centre code>"}`` (for example the shared development set
``../shared/eval/routing_dev.jsonl``). Prints, per file, how many addresses routed to the labelled centre,
to another centre, came back ambiguous (candidates to choose from) or did not route, and every miss.
Exit status 1 when an address routed to a wrong centre (an ambiguous or unroutable address asks the owner
again, which is not wrong).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from api.centers.routing import resolve


@dataclass
class RoutingScore:
    counts: Counter = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def score(items: list[dict]) -> RoutingScore:
    """``items``: ``{"address", "center"}`` mappings."""
    result = RoutingScore()
    for item in items:
        address, expected = item["address"], item["center"]
        resolution = resolve(address)
        if resolution.route is not None:
            ok = resolution.route.center_code == expected
            result.counts["right" if ok else "wrong"] += 1
            if not ok:
                result.misses.append(f"wrong: {address!r} -> {resolution.route.center_code} (expected {expected})")
        elif resolution.candidates:
            result.counts["ambiguous"] += 1
            codes = ", ".join(c.center_code for c in resolution.candidates)
            result.misses.append(f"ambiguous: {address!r} -> [{codes}] (expected {expected})")
        else:
            result.counts["unroutable"] += 1
            result.misses.append(f"unroutable: {address!r} (expected {expected})")
    return result


def read_items(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    wrong = 0
    print("| file | addresses | right | wrong | ambiguous | unroutable |")
    print("|---|---|---|---|---|---|")
    results = []
    for name in argv:
        result = score(read_items(Path(name)))
        c = result.counts
        print(f"| {name} | {result.total} | {c['right']} | {c['wrong']} | {c['ambiguous']} | {c['unroutable']} |")
        results.append(result)
        wrong += c["wrong"]
    for result in results:
        for miss in result.misses:
            print(miss)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
