"""Everyday-language term frequencies: how *programme-specific* a matched word is.

A word can be rare in the knowledge base (high IDF) and still be everyday Korean: 전화,
시간, 보다, 모르다, 기다리다. Chit-chat (``보고싶어``, ``모르겠어``, ``기다리고 있어``) matches
short KB paraphrases through exactly such words. The matcher weighs each term by its
*specificity*, the chance that an occurrence comes from programme questions rather than
everyday talk::

    spec(t) = r_kb(t) / (r_kb(t) + r_bg(t))     r = (document frequency + 0.5) / (documents + 1)

``background.tsv`` holds the document frequencies of the terms (``morph.terms``) of everyday
questions: the even-numbered lines (0, 2, 4 ...) of ``shared/eval/chitchat_ko.txt`` (from
songys/Chatbot_data, MIT licence). The odd-numbered lines are never used to build it, so
the chit-chat figures of ``knowledge.evaluate`` on them are out-of-sample. Regenerate with::

    python -m knowledge.background build [CHITCHAT_FILE]
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from .morph import terms_many
from .normalize import clean

__all__ = ["BACKGROUND_FILE", "Background", "load_background", "build_background", "split_lines"]

BACKGROUND_FILE = Path(__file__).resolve().parent / "background.tsv"
DEFAULT_SOURCE = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "chitchat_ko.txt"
MIN_DF = 2  # terms seen once are left out (noise; the smoothing covers them)


class Background:
    """Document frequencies of everyday questions: ``df(term)``, ``documents``."""

    def __init__(self, documents: int, df: dict[str, int]):
        self.documents = documents
        self._df = df

    def df(self, term: str) -> int:
        return self._df.get(term, 0)

    def __len__(self) -> int:
        return len(self._df)


def split_lines(path: Path) -> tuple[list[str], list[str]]:
    """(background half, held-out half) of a one-question-per-line file."""
    lines = [q for q in path.read_text(encoding="utf-8").split("\n") if q.strip()]
    return lines[0::2], lines[1::2]


def build_background(questions: list[str]) -> Background:
    df: Counter[str] = Counter()
    for units, compounds in terms_many(clean(q) for q in questions):
        df.update(set(units) | set(compounds))
    return Background(len(questions), {t: n for t, n in df.items() if n >= MIN_DF})


def load_background(path: Path | None = BACKGROUND_FILE) -> Background:
    """The shipped table; an empty background (every term fully specific) if it is absent."""
    if path is None or not Path(path).exists():
        return Background(0, {})
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    documents = int(lines[0].split("\t")[1])  # header: "#documents\tN"
    df = {}
    for line in lines[1:]:
        term, _, n = line.rpartition("\t")
        if term:
            df[term] = int(n)
    return Background(documents, df)


def _main(argv: list[str]) -> int:
    if not argv or argv[0] != "build":
        print("usage: python -m knowledge.background build [CHITCHAT_FILE]", file=sys.stderr)
        return 2
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    half, _ = split_lines(source)
    bg = build_background(half)
    rows = sorted(bg._df.items(), key=lambda kv: (-kv[1], kv[0]))
    text = f"#documents\t{bg.documents}\n" + "".join(f"{t}\t{n}\n" for t, n in rows)
    BACKGROUND_FILE.write_text(text, encoding="utf-8")
    print(f"{BACKGROUND_FILE}: {len(rows)} terms from {bg.documents} questions")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
