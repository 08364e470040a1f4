"""Fitting the matcher's gate (``knowledge.gate``): its four models and its thresholds.

Run as ``python -m knowledge.evaluate --fit --chitchat FILE``; it writes ``knowledge/gate.json``. No evaluation
question (``shared/eval/*``, ``knowledge/eval/*``) is used:

* in-domain: every KB paraphrase asked against a matcher built without it (5 folds, ``loo_folds``), and each
  again behind a context sentence (``CONTEXTS``) the way owners describe their company before asking;
* out-of-scope business: ``knowledge/negatives.yaml``'s ``business`` and ``uncovered`` questions, also behind
  context sentences;
* everyday: its ``everyday`` questions and the odd-numbered lines of ``shared/eval/chitchat_ko.txt`` (the even
  ones built ``background.tsv``).

The negatives also feed the matcher's word models (everyday talk, the programme's neighbours), so each
negative is asked against a matcher built without it (5 folds, ``negative_folds``).

The models:

* rank, a conditional logit (softmax over each question's candidates) on candidate features; the right
  candidate is the held-out paraphrase's concept;
* right, on the best candidate's decision features and their pairwise products; label: in-domain and its topic
  is right;
* scope, on the same; label: in-domain;
* everyday, on question features; label: everyday (against in-domain and business);

each with the in-domain, business and everyday groups weighted equally. The thresholds:

* ``answer_min``: the lowest at which at most ``MAX_OOS_ANSWERED`` of the business questions and
  ``MAX_EVERYDAY_ANSWERED`` of the everyday ones are answered, and the in-domain answers are at least
  ``MIN_PRECISION`` right;
* ``everyday_min``: the lowest at which at most ``MAX_IN_EVERYDAY`` of the in-domain questions and
  ``MAX_OOS_EVERYDAY`` of the business ones that are not answered are labelled everyday chatter;
* ``clarify_min``: the highest at which at most ``MAX_IN_ESCALATED`` of the in-domain questions are escalated
  (as a question or as chatter);
* ``chatter_min``: the lowest at which at most ``MAX_OOS_EVERYDAY`` of the business questions that would be
  escalated are labelled chatter instead (never put before a person).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence

import numpy as np

from .gate import SIGNALS, Gate, quadratic, sigmoid
from .loader import Entry
from .matcher import ANSWER_MIN_UNITS, Analysis, Matcher, decision_row, everyday_row

MAX_OOS_ANSWERED = 0.02
MAX_EVERYDAY_ANSWERED = 0.002
MIN_PRECISION = 0.97
MAX_IN_ESCALATED = 0.03
MAX_IN_EVERYDAY = 0.01
MAX_OOS_EVERYDAY = 0.05
GROUPS = ("in", "oos", "everyday")

# Sentences owners put before their question (company, situation). Written for calibration.
CONTEXTS = (
    "저희는 경기 시흥에서 금속 가공하는 직원 30명 회사예요.",
    "대구 성서공단에서 자동차 부품 만드는 회사입니다.",
    "충남 천안에서 식품 포장 공장을 하고 있어요.",
    "직원은 열다섯 명 정도고 주로 플라스틱 사출을 해요.",
    "작년에 대표가 바뀌어서 제가 이것저것 알아보고 있습니다.",
    "제가 이런 쪽은 처음이라 잘 몰라서 여쭤봐요.",
    "거래처에서 자꾸 권해서 알아보는 중인데요,",
    "공장장님이 한번 물어보라고 하셔서요.",
    "요즘 일손 구하기가 너무 힘들어서 고민이 많아요.",
    "아버지 회사를 물려받은 지 얼마 안 됐어요.",
    "창원에서 기계 부품 가공을 20년째 하고 있습니다.",
    "저희 회사는 화학 원료를 소분해서 납품하는 곳이에요.",
    "광주 하남산단에서 금형 만드는 작은 회사인데요.",
    "인천 남동공단에 공장이 있고 직원은 40명입니다.",
    "경리 담당이 그만둬서 제가 대신 챙기고 있어요.",
    "올해 매출이 좀 줄어서 비용을 아껴야 하는 상황이에요.",
    "밤에 일 끝나고 짬 내서 물어봅니다.",
    "전북 익산에서 떡이랑 한과 만드는 공장을 해요.",
    "저희는 3교대로 공장을 돌리는 섬유 회사입니다.",
    "지인이 알려줘서 처음 들어와 봤어요.",
)


@dataclass
class Sample:
    """One calibration question's analysis (``Matcher.analyse``) with its label."""

    text: str
    topic: str  # gold topic or "OOD"
    concept: int | None  # gold concept (index of its current entry) or None
    group: str  # "in", "oos", "everyday"
    analysis: Analysis


def loo_folds(entries: Sequence[Entry], folds: int = 5) -> list[tuple[list[Entry], list[tuple[str, Entry]]]]:
    """(entries without fold k's paraphrases, [(paraphrase, its entry)]) for k < folds."""
    out = []
    for k in range(folds):
        kept, asked = [], []
        for e in entries:
            keep = []
            for j, p in enumerate(e.paraphrases):
                if (j + len(e.id)) % folds == k:  # deterministic, spread over entries
                    asked.append((p, e))
                else:
                    keep.append(p)
            kept.append(replace(e, paraphrases=tuple(keep)))
        out.append((kept, asked))
    return out


def negative_folds(negatives: Mapping[str, Sequence[str]], folds: int = 5
                   ) -> list[tuple[dict[str, list[str]], list[tuple[str, str]]]]:
    """(negatives without fold k, [(group, question)] of fold k) for k < folds."""
    out = []
    for k in range(folds):
        kept: dict[str, list[str]] = {group: [] for group in negatives}
        asked = []
        for group, questions in negatives.items():
            for j, q in enumerate(questions):
                if j % folds == k:
                    asked.append((group, q))
                else:
                    kept[group].append(q)
        out.append((kept, asked))
    return out


def with_context(texts: Iterable[str], seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"{CONTEXTS[int(rng.integers(len(CONTEXTS)))]} {t}" for t in texts]


def sample(matcher: Matcher, text: str, topic: str, group: str, entry_id: str | None = None,
           today: dt.date | None = None) -> Sample | None:
    """The calibration sample of one question, or None when it never reaches ranking."""
    a = matcher.analyse(text, today=today)
    if a is None:
        return None
    concept = matcher.concept_of(entry_id) if entry_id is not None else None
    return Sample(text, topic, concept, group, a)


def fit_logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-3,
                 iters: int = 50) -> tuple[np.ndarray, float]:
    """Weighted logistic regression with an L2 penalty (not on the bias), by Newton's method."""
    Xb = np.hstack([X.astype(np.float64), np.ones((len(X), 1))])
    w = w / w.sum()
    penalty = np.full(Xb.shape[1], l2)
    penalty[-1] = 0.0
    beta = np.zeros(Xb.shape[1])
    for _ in range(iters):
        p = sigmoid(Xb @ beta)
        gradient = Xb.T @ ((p - y) * w) + penalty * beta
        hessian = (Xb * (w * p * (1 - p))[:, None]).T @ Xb + np.diag(penalty) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-7:
            break
    return beta[:-1].astype(np.float32), float(beta[-1])


def fit_conditional_logit(X: np.ndarray, y: np.ndarray, groups: np.ndarray, l2: float = 1e-3,
                          iters: int = 50) -> np.ndarray:
    """Weights of a conditional logit (a softmax over each group's rows; ``y`` marks the right rows) by Newton's
    method: the ranking model, fitted for what it is used for, putting the right candidate first."""
    X = X.astype(np.float64)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    positives = np.bincount(groups, weights=y, minlength=n_groups)
    keep = positives[groups] > 0  # a question whose right entry is not among its candidates teaches nothing
    X, y, groups = X[keep], y[keep], groups[keep]
    y = y / positives[groups]
    used = int((positives > 0).sum())
    w = np.zeros(X.shape[1])
    for _ in range(iters):
        logit = X @ w
        logit -= np.bincount(groups, weights=logit, minlength=n_groups)[groups] / np.maximum(
            np.bincount(groups, minlength=n_groups)[groups], 1)
        e = np.exp(np.clip(logit, -50, 50))
        p = e / np.bincount(groups, weights=e, minlength=n_groups)[groups]
        gradient = X.T @ (p - y) / used + l2 * w
        mean = np.stack([np.bincount(groups, weights=p * X[:, k], minlength=n_groups) for k in range(X.shape[1])], 1)
        hessian = ((X * p[:, None]).T @ X - mean.T @ mean) / used + l2 * np.eye(X.shape[1])
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w.astype(np.float32)


def _group_weights(groups: np.ndarray, which: Sequence[str] = GROUPS) -> np.ndarray:
    w = np.zeros(len(groups))
    for g in which:
        mask = groups == g
        if mask.any():
            w[mask] = 1.0 / mask.sum()
    return w


def fit(samples: list[Sample], totals: dict[str, int], signals: Iterable[str] = SIGNALS) -> Gate:
    """Fit the gate on ``samples``; ``totals``: questions asked per group (a question that never reached ranking
    has no sample and counts as not answered)."""
    ins = [s for s in samples if s.group == "in"]
    X = np.vstack([s.analysis.feats for s in ins])
    y = np.concatenate([[1.0 if c == s.concept else 0.0 for c in s.analysis.concepts] for s in ins])
    groups = np.concatenate([np.full(len(s.analysis.concepts), i) for i, s in enumerate(ins)])
    rank_w = fit_conditional_logit(X, y, groups)
    # The bias does not change the order; it sets the candidates' shown scores: a candidate at the mean of the
    # right ones comes out at 0.5.
    rank_b = -float((X[y > 0] @ rank_w).mean())

    rows, everyday_rows, right_y, tops = [], [], [], []
    for s in samples:
        row, order = decision_row(s.analysis, s.analysis.feats @ rank_w + rank_b)
        top = int(order[0])
        rows.append(row)
        everyday_rows.append(everyday_row(s.analysis, row))
        right_y.append(1.0 if s.group == "in" and s.analysis.topics[top] == s.topic else 0.0)
        tops.append(top)
    R, E, Y = quadratic(np.vstack(rows)), np.vstack(everyday_rows), np.array(right_y)
    G = np.array([s.group for s in samples])
    weights = _group_weights(G)
    right_w, right_b = fit_logistic(R, Y, weights)
    scope_w, scope_b = fit_logistic(R, (G == "in").astype(float), weights)
    everyday_w, everyday_b = fit_logistic(E, (G == "everyday").astype(float), weights)
    right = sigmoid(R @ right_w + right_b)
    scope = sigmoid(R @ scope_w + scope_b)
    everyday = sigmoid(E @ everyday_w + everyday_b)
    units_ok = np.array([s.analysis.units_found[t] >= ANSWER_MIN_UNITS for s, t in zip(samples, tops)])
    inn = G == "in"

    def share(mask: np.ndarray, group: str) -> float:
        return float(mask[G == group].sum()) / max(totals.get(group, 0), 1)

    answer_min = 0.99
    for t in np.arange(0.30, 0.99, 0.01):
        answered = (right >= t) & units_ok
        precision = float(Y[inn & answered].mean()) if (inn & answered).any() else 1.0
        if (share(answered, "everyday") <= MAX_EVERYDAY_ANSWERED and share(answered, "oos") <= MAX_OOS_ANSWERED
                and precision >= MIN_PRECISION):
            answer_min = round(float(t), 2)
            break
    answered = (right >= answer_min) & units_ok
    everyday_min = 0.99
    for t in np.arange(0.30, 0.99, 0.01):
        labelled = ~answered & (everyday >= t)
        if (float((inn & labelled).sum()) <= MAX_IN_EVERYDAY * totals.get("in", 0)
                and float((labelled & (G == "oos")).sum()) <= MAX_OOS_EVERYDAY * totals.get("oos", 0)):
            everyday_min = round(float(t), 2)
            break
    chatter = ~answered & (everyday >= everyday_min)
    clarify_min = 0.01
    escalated_allowed = MAX_IN_ESCALATED * totals.get("in", 0) - (totals.get("in", 0) - int(inn.sum()))
    for t in np.arange(0.01, answer_min, 0.01):
        if float((inn & ~answered & ~chatter & (scope < t)).sum()) <= escalated_allowed - float((inn & chatter).sum()):
            clarify_min = round(float(t), 2)
    clarified = ~answered & ~chatter & (scope >= clarify_min)
    escalated = ~answered & ~chatter & ~clarified
    chatter_min = everyday_min
    for t in np.arange(0.05, everyday_min, 0.01):
        if float((escalated & (G == "oos") & (everyday >= t)).sum()) <= MAX_OOS_EVERYDAY * totals.get("oos", 0):
            chatter_min = round(float(t), 2)
            break
    chatter |= escalated & (everyday >= chatter_min)
    figures = {
        "in-domain first topic right": share(Y > 0, "in"),
        "in-domain answered": share(answered & (Y > 0), "in"),
        "in-domain precision": float(Y[inn & answered].mean()) if (inn & answered).any() else 0.0,
        "in-domain resolved": share((answered & (Y > 0)) | (clarified & inn), "in"),
        "business answered": share(answered, "oos"),
        "business clarified": share(clarified, "oos"),
        "everyday answered": share(answered, "everyday"),
        "everyday labelled everyday": share(chatter, "everyday"),
        "everyday clarified": share(clarified, "everyday"),
        "business labelled everyday": share(chatter, "oos"),
        "everyday escalated as a question": share(escalated & ~chatter, "everyday"),
    }
    figures = {k: round(v, 4) for k, v in figures.items()}
    figures["questions"] = dict(totals)
    return Gate(rank_w, rank_b, right_w, right_b, scope_w, scope_b, everyday_w, everyday_b,
                answer_min=answer_min, clarify_min=clarify_min, everyday_min=everyday_min, chatter_min=chatter_min,
                signals=frozenset(signals), figures=figures)
