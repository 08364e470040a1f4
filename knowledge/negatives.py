"""The out-of-scope questions written for calibration (``knowledge/negatives.yaml``).

``load_negatives()`` returns the three groups of the file as lists: ``business`` (other SME support and
business administration, by area in the file), ``uncovered`` (smart-factory questions no topic covers) and
``everyday`` (chatter: weather, food, sports, health, other). ``load_negatives(by_area=True)`` keeps the areas
(``{"business": {"employment": [...], ...}, "uncovered": {"uncovered": [...]}, "everyday": {...}}``).

The matcher reads the file once per process for its everyday-versus-business word model; the fit
(``knowledge.calibration``) asks every line against the knowledge base.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

__all__ = ["NEGATIVES_FILE", "GROUPS", "load_negatives"]

NEGATIVES_FILE = Path(__file__).resolve().parent / "negatives.yaml"
GROUPS = ("business", "uncovered", "everyday")


@lru_cache(maxsize=4)
def _read(path: Path) -> dict[str, dict[str, tuple[str, ...]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for group in GROUPS:
        value = (data or {}).get(group) or {}
        areas = value if isinstance(value, dict) else {group: value}
        out[group] = {area: tuple(str(q) for q in questions or ()) for area, questions in areas.items()}
    return out


def load_negatives(path: Path | None = None, *, by_area: bool = False):
    """The negatives of ``path`` (default: the shipped file); an absent file gives empty groups."""
    data = _read(Path(path) if path is not None else NEGATIVES_FILE)
    if by_area:
        return {group: dict(areas) for group, areas in data.items()}
    return {group: [q for questions in areas.values() for q in questions] for group, areas in data.items()}
