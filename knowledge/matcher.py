"""Match a colloquial Korean question to a knowledge-base entry.

``Matcher(entries, synonyms)`` builds an index once; ``matcher.match(text)`` returns a
``MatchResult`` whose ``outcome`` is

* ``"answered"``: one entry fits with confidence (``entry`` is set);
* ``"clarify"``: plausible entries, best first (``candidates``, at most 3) for buttons;
* ``"escalate"``: nothing fits; a person should answer.

``kind`` says what the message is: ``"question"``, ``"greeting"``, ``"thanks"`` (thanks,
farewell, acknowledgement), ``"chitchat"`` (everyday chatter with no business content) or
``"empty"``. Only questions are ever answered or clarified; the other kinds come back as
``escalate`` with no candidates, and the caller replies with a fixed courtesy text instead
of queueing them for a person.

Pipeline
    1. ``normalize.clean`` (Unicode, jamo noise, case), synonyms canonicalised
       (``스공`` -> ``스마트공장``), a greeting/thanks wrapped around the question removed.
    2. Kiwi morphemes (units + compounds, ``morph.terms``) and character 2/3-grams of the
       spacing-free text (typo and spacing tolerance).
    3. Prefilter: BM25 over entries (each entry = title + paraphrases + keywords), on
       morpheme terms plus down-weighted character grams, through an inverted index; the
       ``RERANK_K`` best live entries go on.
    4. Re-rank: for each candidate entry, the best of its questions (title, paraphrases,
       keywords) by IDF-weighted morpheme overlap (Dice), by character-gram overlap and by
       ``rapidfuzz`` ``ratio`` on the spacing-free text, plus the share of the question's
       IDF mass that the entry knows at all (unknown words - another programme's name,
       another tax - pull this down). A weighted sum gives the entry's score in 0..1.
    5. Decide: answered only when the score is high, the morpheme and character signals
       agree on the same best entry, and the best entry leads the runner-up by a margin.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
from rapidfuzz import fuzz, process

from . import morph
from .chitchat import is_small_talk, small_talk_kind, strip_courtesy
from .loader import Entry
from .normalize import clean, compact

__all__ = ["Matcher", "MatchResult", "Candidate", "SynonymMap"]

# --------------------------------------------------------------------------- constants
# Retrieval.
RERANK_K = 20  # live entries re-ranked after the BM25 prefilter
BM25_K1, BM25_B = 1.2, 0.75
GRAM_SIZES = (2, 3)
PREFILTER_GRAM_WEIGHT = 0.3  # character grams vs morpheme terms in the prefilter
# Terms in more than this share of entries are skipped by the prefilter (they barely
# discriminate and their postings dominate the cost on a large KB); they still count in
# the re-ranking.
PREFILTER_MAX_DF = 0.3
# Weight of a query word the KB has never seen, relative to the rarest known word. Such
# words are what out-of-scope business questions are made of (수출바우처, 고용유지지원금).
UNKNOWN_TERM_WEIGHT = 1.0

# Confidence = logistic(features . _WEIGHTS + _BIAS), features as in FEATURES.
_WEIGHTS = np.array([2.0, 1.0, 1.0, 2.0, 1.0, 2.0, 2.0, 1.0, 1.0], np.float32)
_BIAS = -5.0

# Decision thresholds (calibrated by knowledge.evaluate, see the module docstring there).
ANSWER_MIN_SCORE = 0.55
ANSWER_MIN_MARGIN = 0.08
CLARIFY_MIN_SCORE = 0.25
CANDIDATES = 3


# --------------------------------------------------------------------------- results

@dataclass(frozen=True)
class Candidate:
    entry_id: str
    topic: str
    title: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    outcome: str  # "answered" | "clarify" | "escalate"
    kind: str  # "question" | "greeting" | "thanks" | "chitchat" | "empty"
    entry: Entry | None
    candidates: list[Candidate]
    score: float  # confidence of the best entry, 0..1
    signals: Mapping[str, float] = field(default_factory=dict, compare=False)


# --------------------------------------------------------------------------- synonyms

class SynonymMap:
    """Rewrites variants to their canonical term, insensitive to spacing and case."""

    def __init__(self, synonyms: Mapping[str, Iterable[str]] | None = None):
        self._canon: dict[str, str] = {}
        for canonical, variants in (synonyms or {}).items():
            target = clean(canonical)
            if not target:
                continue
            for variant in variants:
                key = compact(variant)
                if key and key != compact(target):
                    self._canon.setdefault(key, target)
        if not self._canon:
            self._re = None
            return
        parts = []
        for key in sorted(self._canon, key=len, reverse=True):
            body = r"\s*".join(re.escape(ch) for ch in key)
            if key[0].isascii() and key[0].isalnum():
                body = r"(?<![a-z0-9])" + body
            if key[-1].isascii() and key[-1].isalnum():
                body += r"(?![a-z0-9])"
            parts.append(body)
        self._re = re.compile("|".join(parts))

    def __len__(self) -> int:
        return len(self._canon)

    def apply(self, cleaned: str) -> str:
        """``cleaned`` text with every variant replaced by its canonical term."""
        if self._re is None or not cleaned:
            return cleaned
        return self._re.sub(lambda m: " " + self._canon[re.sub(r"\s+", "", m.group(0))] + " ",
                            cleaned).strip()


# --------------------------------------------------------------------------- index

def _grams(text: str) -> list[str]:
    out = []
    for n in GRAM_SIZES:
        out.extend(text[i:i + n] for i in range(len(text) - n + 1))
    if len(text) < min(GRAM_SIZES) and text:
        out.append(text)
    return out


class _Vocab:
    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def add(self, term: str) -> int:
        i = self.ids.get(term)
        if i is None:
            i = self.ids[term] = len(self.ids)
        return i


def _idf(df: np.ndarray, n: int) -> np.ndarray:
    return np.log1p((n - df + 0.5) / (df + 0.5))


class _Csr:
    """Rows of (id, weight) pairs; ``weights`` are the ids' IDF."""

    def __init__(self, rows: list[list[int]], idf: np.ndarray):
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        self.ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.ptr[1:])
        flat = [i for r in rows for i in r]
        self.ids = np.asarray(flat, dtype=np.int32)
        self.w = idf[self.ids].astype(np.float32) if len(flat) else np.zeros(0, np.float32)
        self.total = np.add.reduceat(self.w, self.ptr[:-1]) if len(flat) else np.zeros(len(rows))
        self.total = np.where(lengths > 0, self.total, 0.0).astype(np.float32)

    def overlap(self, rows: np.ndarray, query_ids: np.ndarray) -> np.ndarray:
        """IDF mass each row shares with ``query_ids`` (sorted, unique)."""
        if len(rows) == 0:
            return np.zeros(0, np.float32)
        starts, ends = self.ptr[rows], self.ptr[rows + 1]
        lengths = ends - starts
        idx = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths) \
            + np.arange(lengths.sum())
        ids = self.ids[idx]
        pos = np.searchsorted(query_ids, ids)
        pos[pos >= len(query_ids)] = 0
        hit = (query_ids[pos] == ids) if len(query_ids) else np.zeros(len(ids), bool)
        w = np.where(hit, self.w[idx], 0.0)
        out = np.zeros(len(rows), np.float32)
        nonempty = lengths > 0
        if nonempty.any():
            offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            sums = np.add.reduceat(w, offsets[nonempty]) if len(w) else 0.0
            out[nonempty] = sums
        return out


class _Postings:
    """Inverted index entry-level BM25: term id -> (entry indices, weights)."""

    def __init__(self, entry_counts: list[Counter], n_terms: int):
        n = len(entry_counts)
        lengths = np.array([sum(c.values()) for c in entry_counts], dtype=np.float64)
        avg = lengths.mean() if n and lengths.mean() > 0 else 1.0
        df = np.zeros(n_terms, dtype=np.int64)
        per_term: list[list[tuple[int, int]]] = [[] for _ in range(n_terms)]
        for e, counts in enumerate(entry_counts):
            for t, tf in counts.items():
                per_term[t].append((e, tf))
                df[t] += 1
        self.df = df
        self.n = n
        idf = _idf(df, max(n, 1))
        self.idf = idf
        self.unknown_idf = float(_idf(np.array([0]), max(n, 1))[0])
        self.entries: list[np.ndarray] = []
        self.weights: list[np.ndarray] = []
        for t, plist in enumerate(per_term):
            es = np.fromiter((e for e, _ in plist), dtype=np.int32, count=len(plist))
            tf = np.fromiter((f for _, f in plist), dtype=np.float64, count=len(plist))
            norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[es] / avg)
            self.entries.append(es)
            self.weights.append((idf[t] * tf * (BM25_K1 + 1) / (tf + norm)).astype(np.float32))

    def score(self, term_ids: Iterable[int], out: np.ndarray) -> None:
        """Add the BM25 score of each entry for ``term_ids`` to ``out``."""
        limit = PREFILTER_MAX_DF * self.n
        for t in term_ids:
            if self.df[t] <= limit or self.n < 20:
                out[self.entries[t]] += self.weights[t]

    def ceiling(self, term_ids: Iterable[int], n_unknown: int) -> float:
        """Largest BM25 score the query can get (every term, saturated): the normaliser."""
        known = float(self.idf[list(term_ids)].sum()) if term_ids else 0.0
        return (known + n_unknown * self.unknown_idf) * (BM25_K1 + 1)


# --------------------------------------------------------------------------- matcher

@dataclass
class _Query:
    text: str  # cleaned, canonicalised
    compact: str
    term_ids: np.ndarray  # known units and compounds (sorted, unique)
    weight: float  # IDF mass of the query, unknown units included
    n_unknown: int  # units the KB has never seen
    gram_ids: np.ndarray  # known character grams (sorted, unique)
    gram_weight: float
    n_unknown_grams: int
    known_share: float  # share of the units' IDF mass the KB knows


FEATURES = ("bm25_terms", "bm25_grams", "relative", "dice_terms", "dice_grams", "cover",
            "fuzz", "query_cover", "doc_cover")


class Matcher:
    """Question -> entry matcher over a fixed list of entries (build once, query often)."""

    def __init__(self, entries: Sequence[Entry], synonyms: Mapping[str, Iterable[str]] | None = None):
        self.entries: list[Entry] = list(entries)
        self._by_id = {e.id: e for e in self.entries}
        self.synonyms = SynonymMap(synonyms)
        self._build()

    def get(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)

    # ------------------------------------------------------------------ build
    def _prepare(self, text: str) -> str:
        return self.synonyms.apply(clean(text))

    def _build(self) -> None:
        texts: list[str] = []
        doc_entry: list[int] = []
        doc_question: list[bool] = []  # title/paraphrase (fuzzy-compared) vs keywords
        starts, ends = [], []
        for i, e in enumerate(self.entries):
            starts.append(len(texts))
            seen = set()
            for q in (e.title, *e.paraphrases):
                p = self._prepare(q)
                if p and p not in seen:
                    seen.add(p)
                    texts.append(p)
                    doc_entry.append(i)
                    doc_question.append(True)
            if e.keywords:
                texts.append(self._prepare(" ".join(e.keywords)))
                doc_entry.append(i)
                doc_question.append(False)
            ends.append(len(texts))
        analysed = morph.terms_many(texts)

        vocab, gvocab = _Vocab(), _Vocab()
        doc_terms: list[list[int]] = []
        doc_grams: list[list[int]] = []
        self._doc_compact: list[str] = []
        for text, (units, comps) in zip(texts, analysed):
            doc_terms.append(sorted({vocab.add(t) for t in (*units, *comps)}))
            c = compact(text, cleaned=True)
            self._doc_compact.append(c)
            doc_grams.append(sorted({gvocab.add(g) for g in _grams(c)}))
        self._vocab, self._gvocab = vocab.ids, gvocab.ids
        nd = len(texts)
        df = np.zeros(len(vocab.ids), np.int64)
        for row in doc_terms:
            df[row] += 1
        gdf = np.zeros(len(gvocab.ids), np.int64)
        for row in doc_grams:
            gdf[row] += 1
        self._idf = _idf(df, max(nd, 1))
        self._gidf = _idf(gdf, max(nd, 1))
        self._unknown_idf = float(_idf(np.array([0]), max(nd, 1))[0]) * UNKNOWN_TERM_WEIGHT
        self._unknown_gidf = float(_idf(np.array([0]), max(nd, 1))[0])
        self._docs = _Csr(doc_terms, self._idf)
        self._gdocs = _Csr(doc_grams, self._gidf)
        self._doc_entry = np.asarray(doc_entry, np.int32)
        self._doc_question = np.asarray(doc_question, bool)
        self._entry_start = np.asarray(starts, np.int64)
        self._entry_end = np.asarray(ends, np.int64)

        # Entry level: BM25 postings (terms with counts over all the entry's texts) and
        # the entry's vocabulary (for coverage).
        ne = len(self.entries)
        term_counts = [Counter() for _ in range(ne)]
        gram_counts = [Counter() for _ in range(ne)]
        for d, (units, comps) in enumerate(analysed):
            e = doc_entry[d]
            term_counts[e].update(vocab.ids[t] for t in (*units, *comps))
            gram_counts[e].update(gvocab.ids[g] for g in _grams(self._doc_compact[d]))
        self._post = _Postings(term_counts, len(vocab.ids))
        self._gpost = _Postings(gram_counts, len(gvocab.ids))
        self._entry_terms = _Csr([sorted(c) for c in term_counts], self._idf)

        far = dt.date.max.toordinal()
        self._valid_from = np.array([e.valid_from.toordinal() if e.valid_from else 0
                                     for e in self.entries], np.int64)
        self._valid_to = np.array([e.valid_to.toordinal() if e.valid_to else far
                                   for e in self.entries], np.int64)
        self._alive_cache: tuple[int, np.ndarray] | None = None

    def _alive(self, today: dt.date) -> np.ndarray:
        day = today.toordinal()
        cached = self._alive_cache
        if cached is not None and cached[0] == day:
            return cached[1]
        alive = (self._valid_from <= day) & (self._valid_to >= day)
        self._alive_cache = (day, alive)
        return alive

    # ------------------------------------------------------------------ query
    def _query(self, text: str) -> _Query:
        units, comps = morph.terms(text)
        ids: set[int] = set()
        weight = known = 0.0
        n_unknown = 0
        for t in set(units):
            i = self._vocab.get(t)
            if i is None:
                n_unknown += 1
            else:
                ids.add(i)
                known += float(self._idf[i])
        unit_weight = known + n_unknown * self._unknown_idf
        weight = unit_weight
        for t in set(comps):  # an unknown compound says nothing its parts do not
            i = self._vocab.get(t)
            if i is not None and i not in ids:
                ids.add(i)
                weight += float(self._idf[i])
        c = compact(text, cleaned=True)
        gids: set[int] = set()
        gweight = 0.0
        n_unknown_g = 0
        for g in set(_grams(c)):
            i = self._gvocab.get(g)
            if i is None:
                n_unknown_g += 1
            else:
                gids.add(i)
                gweight += float(self._gidf[i])
        gweight += n_unknown_g * self._unknown_gidf
        return _Query(text, c, np.array(sorted(ids), np.int32), weight, n_unknown,
                      np.array(sorted(gids), np.int32), gweight, n_unknown_g,
                      known / unit_weight if unit_weight > 0 else 0.0)

    def match(self, text: str, *, today: dt.date | None = None) -> MatchResult:
        """Match one user message (any Unicode; see module docstring)."""
        cleaned = clean(text or "")
        if not compact(cleaned, cleaned=True):
            return MatchResult("escalate", "empty", None, [], 0.0)
        courtesy = small_talk_kind(cleaned)
        if courtesy:
            return MatchResult("escalate", courtesy, None, [], 0.0)
        if not self.entries:
            return MatchResult("escalate", "question", None, [], 0.0)
        q = self._query(self.synonyms.apply(strip_courtesy(cleaned)))
        cand, feats = self._features(q, today or dt.date.today())
        return self._decide(q, cand, feats, cleaned)

    def _features(self, q: _Query, today: dt.date) -> tuple[np.ndarray, np.ndarray]:
        """Candidate entry indices and their feature rows (columns: ``FEATURES``)."""
        ne = len(self.entries)
        alive = self._alive(today)
        bm_t = np.zeros(ne, np.float32)
        bm_g = np.zeros(ne, np.float32)
        self._post.score(q.term_ids.tolist(), bm_t)
        self._gpost.score(q.gram_ids.tolist(), bm_g)
        bm_t /= max(self._post.ceiling(q.term_ids.tolist(), q.n_unknown), 1e-9)
        bm_g /= max(self._gpost.ceiling(q.gram_ids.tolist(), q.n_unknown_grams), 1e-9)
        pre = bm_t + PREFILTER_GRAM_WEIGHT * bm_g
        pre[~alive] = -1.0
        k = min(RERANK_K, ne)
        cand = np.argpartition(-pre, k - 1)[:k] if ne > k else np.arange(ne)
        cand = cand[pre[cand] > 0]
        if len(cand) == 0:
            return cand, np.zeros((0, len(FEATURES)), np.float32)

        # Documents (title, paraphrases, keywords) of the candidate entries.
        lengths = self._entry_end[cand] - self._entry_start[cand]
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        docs = np.repeat(self._entry_start[cand] - offsets, lengths) + np.arange(lengths.sum())
        owner = np.repeat(np.arange(len(cand)), lengths)

        ov = self._docs.overlap(docs, q.term_ids)
        dtotal = self._docs.total[docs]
        dice_t = 2 * ov / np.maximum(q.weight + dtotal, 1e-9)
        qcov = ov / max(q.weight, 1e-9)
        dcov = ov / np.maximum(dtotal, 1e-9)
        gov = self._gdocs.overlap(docs, q.gram_ids)
        dice_g = 2 * gov / np.maximum(q.gram_weight + self._gdocs.total[docs], 1e-9)
        fz = np.zeros(len(docs), np.float32)
        is_q = self._doc_question[docs]
        if is_q.any() and q.compact:
            choices = [self._doc_compact[d] for d in docs[is_q]]
            fz[is_q] = process.cdist([q.compact], choices, scorer=fuzz.ratio,
                                     dtype=np.float32, workers=1)[0] / 100.0
        n = len(cand)
        best = np.zeros((5, n), np.float32)
        for row, values in enumerate((dice_t, dice_g, fz, qcov, dcov)):
            np.maximum.at(best[row], owner, values)
        cover = self._entry_terms.overlap(cand.astype(np.int64), q.term_ids) / max(q.weight, 1e-9)
        relative = pre[cand] / max(float(pre[cand].max()), 1e-9)
        feats = np.stack([bm_t[cand], bm_g[cand], relative, best[0], best[1], cover,
                          best[2], best[3], best[4]], axis=1).astype(np.float32)
        return cand, feats

    def _decide(self, q: _Query, cand: np.ndarray, feats: np.ndarray, cleaned: str) -> MatchResult:
        if len(cand) == 0:
            kind = "chitchat" if is_small_talk(cleaned) else "question"
            return MatchResult("escalate", kind, None, [], 0.0)
        logit = feats @ _WEIGHTS + _BIAS
        prob = 1.0 / (1.0 + np.exp(-logit))
        order = np.argsort(-prob, kind="stable")
        top = order[0]
        top_p = float(prob[top])
        second_p = float(prob[order[1]]) if len(order) > 1 else 0.0
        # Agreement: the best entry by morphemes is also the best by characters.
        agree = (int(np.argmax(feats[:, 3])) == top
                 and int(np.argmax(np.maximum(feats[:, 4], feats[:, 6]))) == top)
        margin = top_p - second_p
        signals = {name: float(feats[top, j]) for j, name in enumerate(FEATURES)}
        signals.update(margin=margin, agree=float(agree), known=q.known_share)
        candidates = [Candidate(self.entries[cand[j]].id, self.entries[cand[j]].topic,
                                self.entries[cand[j]].title, round(float(prob[j]), 4))
                      for j in order[:CANDIDATES]]
        if top_p >= ANSWER_MIN_SCORE and margin >= ANSWER_MIN_MARGIN and agree:
            return MatchResult("answered", "question", self.entries[cand[top]], candidates,
                               top_p, signals)
        if top_p >= CLARIFY_MIN_SCORE:
            return MatchResult("clarify", "question", None, candidates, top_p, signals)
        kind = "chitchat" if is_small_talk(cleaned) and q.known_share < 0.5 else "question"
        return MatchResult("escalate", kind, None, candidates if kind == "question" else [],
                           top_p, signals)
