"""The matcher's fitted models and its decision: answer, clarify or escalate, and what kind of message it is.

Four logistic regressions, fitted by ``python -m knowledge.evaluate --fit`` (``knowledge.calibration``) and stored
in ``gate.json`` beside this module, so that a knowledge-base change is followed by one command, not by editing
code:

* **rank** (``RANK_FEATURES`` of each candidate entry): how well an entry fits the question; the candidates are
  ordered by it.
* **right** (``DECISION_FEATURES`` of the best candidate, with their pairwise products: ``quadratic``): the
  chance that its topic is the question's. The question is answered when it reaches ``answer_min``.
* **scope** (the same): the chance that the question is about the programme at all. Below ``clarify_min`` it is
  escalated instead of clarified.
* **everyday** (``EVERYDAY_FEATURES`` of the question): the chance that it is everyday chatter (weather, food,
  sports, health …) rather than business. At ``everyday_min`` a question that is not answered is labelled
  ``chitchat`` (no clarify buttons); one that would be escalated needs only ``chatter_min``. Chatter is never
  put before a person.

The thresholds are chosen by the fit on calibration data only (leave-one-out paraphrases, the negatives of
``knowledge/negatives.yaml`` and chit-chat), never on an evaluation set.

``SIGNALS`` names the parts of the matcher that an ablation can switch off (``Matcher(..., signals=...)``,
``python -m knowledge.evaluate --ablate``); a switched-off signal's features are 0 and the gate is refitted
without it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["GATE_FILE", "RANK_FEATURES", "DECISION_FEATURES", "EVERYDAY_FEATURES", "SIGNALS", "Gate",
           "load_gate", "quadratic", "sigmoid"]

GATE_FILE = Path(__file__).resolve().parent / "gate.json"

# Features of a candidate entry (each about 0..1), in this order:
RANK_FEATURES = (
    "bm25_terms",    # entry BM25 on morpheme terms / the query's BM25 ceiling
    "bm25_grams",    # the same on character 2/3-grams of the spacing-free text
    "relative",      # prefilter score / best candidate's prefilter score
    "dice_terms",    # best question of the entry: IDF-weighted Dice of morpheme terms
    "dice_grams",    # best question: IDF-weighted Dice of character grams
    "cover",         # share of the query's IDF mass found anywhere in the entry
    "fuzz",          # best question: rapidfuzz ratio of the spacing-free texts
    "query_cover",   # best question: share of the query's IDF mass it contains
    "doc_cover",     # best question: share of its IDF mass found in the query
    "domain_cover",  # like cover, each term weighted by its specificity (background.py)
    "keyword_cover", # share of the query's IDF mass among the entry's keywords
    "topic_score",   # the entry's topic in the topic-level ranking: its score / the best topic's
    "knn_topic",     # share of the 10 most similar KB texts' similarity that is on the entry's topic
)
# Features of the best candidate for the decision (RANK_FEATURES, then these):
DECISION_FEATURES = RANK_FEATURES + (
    "margin",        # rank logit of the best minus the runner-up of another concept, /5, capped at 1
    "margin_topic",  # the same against the best entry of another topic
    "agree_terms",   # 1 if the best entry by dice_terms is the best entry
    "agree_chars",   # 1 if the best entry by max(dice_grams, fuzz) is the best entry
    "length",        # log(1 + content units) / log(20), capped at 1
    "known",         # share of the query's unit IDF mass the KB knows
    "query_domain",  # the query's specificity-weighted share of its IDF mass
    "topic_agree",   # 1 if the best entry's topic is first in the topic-level ranking
    "topic_lead",    # topic-level ranking: (first - second) / first
    "topic_share",   # share of the candidates' rank probability mass on the best entry's topic
    "everyday",      # log-odds that the words are everyday talk rather than business, squashed to 0..1
    "neighbour",     # log-odds that the words are another subject's (the business negatives) than the KB's
)
# Features of the question for the everyday model:
EVERYDAY_FEATURES = ("everyday", "neighbour", "known", "query_domain", "business_word", "cover", "length")

# What an ablation can switch off.
SIGNALS = frozenset({
    "narrative",  # split the company's introduction off before matching (knowledge.narrative)
    "topics",     # the topic-level ranking (topic_score, topic_agree, topic_lead) and topic_share
    "knn",        # the vote of the most similar KB texts for each candidate's topic (knn_topic)
    "everyday",   # the everyday-vs-business word model (else: only chitchat.is_small_talk)
    "neighbours", # the word model of the programme's neighbours (knowledge/negatives.yaml's business questions)
    "followup",   # read a short follow-up with the previous answer's topic as context
})


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


_PAIRS = np.triu_indices(len(DECISION_FEATURES))
QUADRATIC_SIZE = len(DECISION_FEATURES) + len(_PAIRS[0])


def quadratic(rows: np.ndarray) -> np.ndarray:
    """Decision rows (one, or one per line) with their pairwise products appended: the right and scope models'
    inputs. The products let a linear model say "the topics agree *and* the margin is wide"."""
    rows = np.asarray(rows, np.float32)
    flat = rows.reshape(-1, rows.shape[-1])
    products = (flat[:, :, None] * flat[:, None, :])[:, _PAIRS[0], _PAIRS[1]]
    out = np.concatenate([flat, products], axis=1)
    return out[0] if rows.ndim == 1 else out


@dataclass(frozen=True)
class Gate:
    rank_weights: np.ndarray
    rank_bias: float
    right_weights: np.ndarray
    right_bias: float
    scope_weights: np.ndarray
    scope_bias: float
    everyday_weights: np.ndarray
    everyday_bias: float
    answer_min: float
    clarify_min: float
    everyday_min: float = 0.5
    chatter_min: float = 0.5
    signals: frozenset[str] = SIGNALS  # the signals it was fitted with
    figures: dict = field(default_factory=dict, compare=False)  # calibration figures of the fit (information)

    @classmethod
    def untrained(cls) -> "Gate":
        """A gate that never answers (all weights 0): what the fit builds its matchers with."""
        return cls(np.zeros(len(RANK_FEATURES), np.float32), 0.0, np.zeros(QUADRATIC_SIZE, np.float32),
                   0.0, np.zeros(QUADRATIC_SIZE, np.float32), 0.0,
                   np.zeros(len(EVERYDAY_FEATURES), np.float32), 0.0, answer_min=1.01, clarify_min=0.0,
                   everyday_min=1.01, chatter_min=1.01)

    def rank_logits(self, feats: np.ndarray) -> np.ndarray:
        return feats @ self.rank_weights + self.rank_bias

    def right(self, row: np.ndarray) -> float:
        """Chance that the best candidate's topic is right, from its decision row."""
        return float(sigmoid(float(quadratic(row) @ self.right_weights) + self.right_bias))

    def scope(self, row: np.ndarray) -> float:
        """Chance that the question is about the programme, from the best candidate's decision row."""
        return float(sigmoid(float(quadratic(row) @ self.scope_weights) + self.scope_bias))

    def everyday(self, row: np.ndarray) -> float:
        return float(sigmoid(float(row @ self.everyday_weights) + self.everyday_bias))

    def to_json(self) -> str:
        def vec(v: np.ndarray) -> list[float]:
            return [round(float(x), 4) for x in v]

        return json.dumps({
            "rank": {"features": list(RANK_FEATURES), "weights": vec(self.rank_weights),
                     "bias": round(self.rank_bias, 4)},
            "right": {"features": list(DECISION_FEATURES), "quadratic": True,
                      "weights": vec(self.right_weights), "bias": round(self.right_bias, 4)},
            "scope": {"features": list(DECISION_FEATURES), "quadratic": True,
                      "weights": vec(self.scope_weights), "bias": round(self.scope_bias, 4)},
            "everyday": {"features": list(EVERYDAY_FEATURES), "weights": vec(self.everyday_weights),
                         "bias": round(self.everyday_bias, 4)},
            "answer_min": self.answer_min, "clarify_min": self.clarify_min, "everyday_min": self.everyday_min,
            "chatter_min": self.chatter_min,
            "signals": sorted(self.signals), "figures": self.figures,
        }, ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Gate":
        data = json.loads(text)

        def model(name: str, features: tuple[str, ...], size: int) -> tuple[np.ndarray, float]:
            part = data[name]
            weights = np.asarray(part["weights"], np.float32)
            if tuple(part["features"]) != features or len(weights) != size:
                raise ValueError(f"gate.json: the {name} model was fitted on other features; refit with "
                                 "python -m knowledge.evaluate --fit")
            return weights, float(part["bias"])

        rank = model("rank", RANK_FEATURES, len(RANK_FEATURES))
        right = model("right", DECISION_FEATURES, QUADRATIC_SIZE)
        scope = model("scope", DECISION_FEATURES, QUADRATIC_SIZE)
        everyday = model("everyday", EVERYDAY_FEATURES, len(EVERYDAY_FEATURES))
        return cls(*rank, *right, *scope, *everyday, answer_min=float(data["answer_min"]),
                   clarify_min=float(data["clarify_min"]), everyday_min=float(data.get("everyday_min", 0.5)),
                   chatter_min=float(data.get("chatter_min", 0.5)),
                   signals=frozenset(data.get("signals", SIGNALS)), figures=data.get("figures", {}))

    def save(self, path: Path = GATE_FILE) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")


_shipped: Gate | None = None


def load_gate(path: Path | None = None) -> Gate:
    """The gate in ``path`` (default: the shipped ``gate.json``, read once per process)."""
    global _shipped
    if path is not None:
        return Gate.from_json(Path(path).read_text(encoding="utf-8"))
    if _shipped is None:
        _shipped = Gate.from_json(GATE_FILE.read_text(encoding="utf-8"))
    return _shipped
