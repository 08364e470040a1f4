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
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
from rapidfuzz import fuzz, process

from . import morph
from .chitchat import is_small_talk, small_talk_kind, strip_courtesy
from .background import Background, load_background
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
CANDIDATES = 3

# Features of a candidate entry (each about 0..1), in this order:
FEATURES = (
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
)
# Features of the best entry for the confidence (FEATURES, then these):
CONFIDENCE_FEATURES = FEATURES + (
    "margin",        # rank logit of the best minus the runner-up, /5, capped at 1
    "margin_topic",  # the same against the best entry of another topic
    "agree_terms",   # 1 if the best entry by dice_terms is the best entry
    "agree_chars",   # 1 if the best entry by max(dice_grams, fuzz) is the best entry
    "length",        # log(1 + content units) / log(20), capped at 1
    "known",         # share of the query's unit IDF mass the KB knows
    "query_domain",  # the query's specificity-weighted share of its IDF mass
)

# Unknown words (in no KB text) weigh like the rarest known word: they are what
# out-of-scope business questions are made of (수출바우처, 고용유지지원금).
UNKNOWN_TERM_WEIGHT = 1.0

# Fitted by ``python -m knowledge.evaluate --fit`` (logistic regressions, see
# knowledge/calibration.py): ranking on leave-one-out KB paraphrases; confidence on those
# (plus copies behind a context sentence) against the chit-chat background-free half and
# the hand-written out-of-scope business questions.
RANK_WEIGHTS = np.array([0.820, 0.680, 4.387, 0.407, 0.462, 0.495, 0.585, -0.041, 2.282, 0.390, 1.231], np.float32)
RANK_BIAS = -6.966
CONFIDENCE_WEIGHTS = np.array([2.330, 1.199, 0.096, -1.311, -0.845, 0.370, 1.384, -0.952, 3.517, 2.012, 2.677, -1.120, 2.183, -0.386, 0.443, 1.971, 1.758, 1.140], np.float32)
CONFIDENCE_BIAS = -8.261

# Decision thresholds on the confidence (calibrated by knowledge.evaluate --fit).
ANSWER_MIN_CONFIDENCE = 0.64
# An answer needs at least this many distinct content units of the query found in the
# entry: a single word (테스트, 시간, 전화) is too little to commit to one entry.
ANSWER_MIN_UNITS = 2
CLARIFY_MIN_CONFIDENCE = 0.05


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

_WS = re.compile(r"\s+")


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
        out = self._re.sub(lambda m: " " + self._canon[_WS.sub("", m.group(0))] + " ", cleaned)
        return _WS.sub(" ", out).strip()


# --------------------------------------------------------------------------- index

def _grams(text: str) -> list[str]:
    out = []
    for n in GRAM_SIZES:
        out.extend(text[i:i + n] for i in range(len(text) - n + 1))
    if len(text) < min(GRAM_SIZES) and text:
        out.append(text)
    return out


_ANALYSIS_CHUNK = 4096


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
    """Rows of ids (sorted, unique) with a weight per id: ``weights[k][id]``."""

    def __init__(self, lengths: np.ndarray, ids: np.ndarray, *weights: np.ndarray, n_ids: int):
        """``lengths[r]`` ids per row, ``ids`` all rows' ids one after the other."""
        lengths = np.asarray(lengths, np.int64)
        self.ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.ptr[1:])
        self.ids = np.asarray(ids, np.int32)
        self.n_ids = n_ids
        self.w = [w[self.ids].astype(np.float32) for w in weights]
        self.total = []
        for w in self.w:
            total = np.zeros(len(lengths), np.float32)
            nonempty = lengths > 0
            if nonempty.any():
                total[nonempty] = np.add.reduceat(w, self.ptr[:-1][nonempty])
            self.total.append(total)
        self._local = threading.local()  # per-thread query mask (see overlap)

    def overlap(self, rows: np.ndarray, query_ids: np.ndarray) -> list[np.ndarray]:
        """Per weighting: the weight each row shares with ``query_ids``."""
        out = [np.zeros(len(rows), np.float32) for _ in self.w]
        if len(rows) == 0 or len(query_ids) == 0:
            return out
        starts = self.ptr[rows]
        lengths = self.ptr[rows + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return out
        offsets = np.zeros(len(rows), np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        idx = np.repeat(starts - offsets, lengths) + np.arange(total)
        mask = getattr(self._local, "mask", None)
        if mask is None:
            mask = self._local.mask = np.zeros(self.n_ids, bool)
        mask[query_ids] = True
        try:
            hit = mask[self.ids[idx]]
        finally:
            mask[query_ids] = False
        nonempty = lengths > 0
        starts_ne = offsets[nonempty]
        for k, w in enumerate(self.w):
            out[k][nonempty] = np.add.reduceat(np.where(hit, w[idx], 0.0), starts_ne)
        return out


class _Postings:
    """Inverted index for entry-level BM25: term id -> (entry indices, weights), as CSR."""

    def __init__(self, entries: np.ndarray, terms: np.ndarray, tfs: np.ndarray, n: int,
                 n_terms: int):
        """One row per (entry, term) pair with its frequency ``tfs`` in the entry."""
        lengths = np.bincount(entries, weights=tfs, minlength=n) if n else np.zeros(0)
        avg = lengths.mean() if n and lengths.mean() > 0 else 1.0
        order = np.argsort(terms, kind="stable")
        terms, tfs, entries = terms[order], tfs[order].astype(np.float64), entries[order]
        self.df = np.bincount(terms, minlength=n_terms)
        self.ptr = np.zeros(n_terms + 1, np.int64)
        np.cumsum(self.df, out=self.ptr[1:])
        self.n = n
        self.idf = _idf(self.df, max(n, 1))
        self.unknown_idf = float(_idf(np.array([0]), max(n, 1))[0])
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[entries] / avg)
        self.entries = entries.astype(np.int32)
        self.weights = (self.idf[terms] * tfs * (BM25_K1 + 1) / (tfs + norm)).astype(np.float32)
        self._limit = PREFILTER_MAX_DF * n if n >= 20 else float("inf")

    def score(self, term_ids: np.ndarray) -> np.ndarray:
        """BM25 score of every entry for ``term_ids`` (skipping terms too common to matter)."""
        if len(term_ids):
            term_ids = term_ids[self.df[term_ids] <= self._limit]
        if len(term_ids) == 0:
            return np.zeros(self.n, np.float32)
        starts = self.ptr[term_ids]
        lengths = self.ptr[term_ids + 1] - starts
        offsets = np.zeros(len(term_ids), np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        idx = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
        return np.bincount(self.entries[idx], self.weights[idx], minlength=self.n).astype(np.float32)

    def ceiling(self, term_ids: np.ndarray, n_unknown: int) -> float:
        """Largest BM25 score the query can get (every term, saturated): the normaliser."""
        known = float(self.idf[term_ids].sum()) if len(term_ids) else 0.0
        return (known + n_unknown * self.unknown_idf) * (BM25_K1 + 1)


# --------------------------------------------------------------------------- matcher

@dataclass
class _Query:
    text: str  # cleaned, canonicalised
    compact: str
    term_ids: np.ndarray  # known units and compounds (sorted, unique)
    unit_ids: np.ndarray  # known units only (sorted, unique)
    weight: float  # IDF mass of the query, unknown units included
    domain_weight: float  # the same, each term weighted by its specificity
    n_units: int  # distinct content units
    n_unknown: int  # units the KB has never seen
    gram_ids: np.ndarray  # known character grams (sorted, unique)
    gram_weight: float
    n_unknown_grams: int
    known_share: float  # share of the units' IDF mass the KB knows


def confidence_row(feats: np.ndarray, topics: Sequence[str], logit: np.ndarray, n_units: int,
                   known: float, domain: float) -> tuple[np.ndarray, np.ndarray]:
    """Confidence features (``CONFIDENCE_FEATURES``) of the best candidate, and the ranking."""
    order = np.argsort(-logit, kind="stable")
    top = order[0]
    second = logit[order[1]] if len(order) > 1 else logit[top] - 5.0
    other = next((logit[j] for j in order[1:] if topics[j] != topics[top]), logit[top] - 5.0)
    row = np.concatenate([feats[top], [
        min(float(logit[top] - second), 5.0) / 5.0,
        min(float(logit[top] - other), 5.0) / 5.0,
        float(int(np.argmax(feats[:, 3])) == top),
        float(int(np.argmax(np.maximum(feats[:, 4], feats[:, 6]))) == top),
        min(math.log1p(n_units) / math.log(20), 1.0),
        known,
        domain,
    ]]).astype(np.float32)
    return row, order


_default_background: Background | None = None


def _shipped_background() -> Background:
    global _default_background
    if _default_background is None:
        _default_background = load_background()
    return _default_background


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


RESULT_CACHE_SIZE = 4096


class _ResultCache:
    """A small thread-safe LRU map (``match`` runs in worker threads)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            if len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Matcher:
    """Question -> entry matcher over a fixed list of entries (build once, query often).

    ``background`` (everyday term frequencies, see ``knowledge.background``) defaults to
    the shipped table.
    """

    def __init__(self, entries: Sequence[Entry], synonyms: Mapping[str, Iterable[str]] | None = None,
                 *, background: Background | None = None):
        self.entries: list[Entry] = list(entries)
        self._by_id = {e.id: e for e in self.entries}
        self.synonyms = SynonymMap(synonyms)
        self._background = background if background is not None else _shipped_background()
        self._results = _ResultCache(RESULT_CACHE_SIZE)
        self._build()

    def get(self, entry_id: str) -> Entry | None:
        """The entry with this id (live or not), or None."""
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

        # Flat arrays (a Python list or Counter per text costs ~10x the memory at 50k entries).
        vocab, gvocab = _Vocab(), _Vocab()
        self._doc_compact: list[str] = []
        t_ids, t_len, g_ids, g_len = array("i"), array("q"), array("i"), array("q")
        et_ent, et_ids, eg_ent, eg_ids = array("i"), array("i"), array("i"), array("i")
        unit_ids: set[int] = set()
        for d, text in enumerate(texts):
            if d % _ANALYSIS_CHUNK == 0:  # analyse in chunks: Kiwi's output is bulky
                analysed = morph.terms_many(texts[d:d + _ANALYSIS_CHUNK])
            units, comps = analysed[d % _ANALYSIS_CHUNK]
            e = doc_entry[d]
            ids = [vocab.add(t) for t in units]
            unit_ids.update(ids)
            ids += [vocab.add(t) for t in comps]
            unique = sorted(set(ids))
            t_ids.extend(unique)
            t_len.append(len(unique))
            et_ids.extend(ids)
            et_ent.extend([e] * len(ids))
            c = compact(text, cleaned=True)
            self._doc_compact.append(c)
            gids = [gvocab.add(g) for g in _grams(c)]
            unique = sorted(set(gids))
            g_ids.extend(unique)
            g_len.append(len(unique))
            eg_ids.extend(gids)
            eg_ent.extend([e] * len(gids))
        self._vocab, self._gvocab = vocab.ids, gvocab.ids
        nv, ng = len(vocab.ids), len(gvocab.ids)
        t_ids_a = np.frombuffer(t_ids, np.int32) if len(t_ids) else np.zeros(0, np.int32)
        g_ids_a = np.frombuffer(g_ids, np.int32) if len(g_ids) else np.zeros(0, np.int32)
        nd = max(len(texts), 1)
        df = np.bincount(t_ids_a, minlength=nv)
        gdf = np.bincount(g_ids_a, minlength=ng)
        self._idf = _idf(df, nd)
        self._gidf = _idf(gdf, nd)
        self._unknown_idf = float(_idf(np.array([0]), nd)[0]) * UNKNOWN_TERM_WEIGHT
        self._unknown_gidf = float(_idf(np.array([0]), nd)[0])
        # Specificity of each term against everyday language (background.py).
        bg = self._background
        r_kb = (df + 0.5) / (nd + 1)
        r_bg = np.array([(bg.df(t) + 0.5) / (bg.documents + 1) for t in vocab.ids], np.float64)
        self._spec = r_kb / (r_kb + r_bg) if bg.documents else np.ones(nv)
        self._r0 = 0.5 / (nd + 1)
        self._bg_rate = lambda term: (bg.df(term) + 0.5) / (bg.documents + 1)
        self._domain_idf = self._idf * self._spec
        self._docs = _Csr(np.frombuffer(t_len, np.int64) if len(t_len) else np.zeros(0, np.int64),
                          t_ids_a, self._idf, n_ids=nv)
        self._gdocs = _Csr(np.frombuffer(g_len, np.int64) if len(g_len) else np.zeros(0, np.int64),
                           g_ids_a, self._gidf, n_ids=ng)
        self._doc_entry = np.asarray(doc_entry, np.int32)
        self._doc_question = np.asarray(doc_question, bool)
        self._entry_start = np.asarray(starts, np.int64)
        self._entry_end = np.asarray(ends, np.int64)

        # Entry level: BM25 postings (terms counted over all the entry's texts) and the
        # entry's vocabulary (for coverage).
        ne = len(self.entries)

        def entry_pairs(ent: array, ids: array, n_ids: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            if not len(ids):
                return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
            key = np.frombuffer(ent, np.int32).astype(np.int64) * n_ids + np.frombuffer(ids, np.int32)
            uniq, counts = np.unique(key, return_counts=True)
            return uniq // n_ids, uniq % n_ids, counts

        e_ent, e_term, e_tf = entry_pairs(et_ent, et_ids, max(nv, 1))
        del et_ent, et_ids
        self._post = _Postings(e_ent, e_term, e_tf, ne, nv)
        is_unit = np.zeros(nv, np.float64)  # to count the query units found
        is_unit[list(unit_ids)] = 1.0
        self._entry_terms = _Csr(np.bincount(e_ent, minlength=ne), e_term, self._idf,
                                 self._domain_idf, is_unit, n_ids=nv)
        e_ent, e_gram, e_gtf = entry_pairs(eg_ent, eg_ids, max(ng, 1))
        del eg_ent, eg_ids
        self._gpost = _Postings(e_ent, e_gram, e_gtf, ne, ng)

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
        unit_ids: set[int] = set()
        known = domain = unknown_domain = 0.0
        n_unknown = 0
        unique_units = set(units)
        for t in unique_units:
            i = self._vocab.get(t)
            if i is None:
                n_unknown += 1
                # An unknown word common in everyday talk (여자친구) is not a programme word.
                unknown_domain += self._unknown_idf * self._r0 / (self._r0 + self._bg_rate(t))
            else:
                ids.add(i)
                unit_ids.add(i)
                known += float(self._idf[i])
                domain += float(self._domain_idf[i])
        unit_weight = known + n_unknown * self._unknown_idf
        weight = unit_weight
        domain += unknown_domain
        for t in set(comps):  # an unknown compound says nothing its parts do not
            i = self._vocab.get(t)
            if i is not None and i not in ids:
                ids.add(i)
                weight += float(self._idf[i])
                domain += float(self._domain_idf[i])
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
        return _Query(text, c, np.array(sorted(ids), np.int32), np.array(sorted(unit_ids), np.int32),
                      weight, domain, len(unique_units), n_unknown,
                      np.array(sorted(gids), np.int32), gweight, n_unknown_g,
                      known / unit_weight if unit_weight > 0 else 0.0)

    def _analyse(self, text: str, today: dt.date):
        """(query, candidates, features, units found) of a question; None for courtesy/empty."""
        cleaned = clean(text or "")
        if (not compact(cleaned, cleaned=True) or small_talk_kind(cleaned, cleaned=True)
                or not self.entries):
            return None
        q = self._query(self.synonyms.apply(strip_courtesy(cleaned)))
        cand, feats, units_found = self._features(q, today)
        if len(cand) == 0:
            return None
        return q, cand, feats, units_found

    def cached(self, text: str, *, today: dt.date | None = None) -> MatchResult | None:
        """The result ``match`` gave for the same cleaned text on the same day, or None (no analysis is done)."""
        return self._results.get((clean(text or ""), (today or dt.date.today()).toordinal()))

    def match(self, text: str, *, today: dt.date | None = None, use_cache: bool = True) -> MatchResult:
        """Match one user message (any Unicode; see module docstring).

        ``today`` (default: the current date) decides which entries are live. Results are remembered per
        cleaned text and day (the same question asked again is not analysed again); a result is shared
        between callers, so treat it as read-only.
        """
        cleaned = clean(text or "")
        day = today or dt.date.today()
        key = (cleaned, day.toordinal())
        if use_cache:
            hit = self._results.get(key)
            if hit is not None:
                return hit
        result = self._match_cleaned(cleaned, day)
        self._results.put(key, result)
        return result

    def _match_cleaned(self, cleaned: str, today: dt.date) -> MatchResult:
        if not compact(cleaned, cleaned=True):
            return MatchResult("escalate", "empty", None, [], 0.0)
        courtesy = small_talk_kind(cleaned, cleaned=True)
        if courtesy:
            return MatchResult("escalate", courtesy, None, [], 0.0)
        if not self.entries:
            return MatchResult("escalate", "question", None, [], 0.0)
        q = self._query(self.synonyms.apply(strip_courtesy(cleaned)))
        cand, feats, units_found = self._features(q, today)
        return self._decide(q, cand, feats, units_found, cleaned)

    def _features(self, q: _Query, today: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate entry indices, their feature rows (``FEATURES``) and matched units."""
        ne = len(self.entries)
        alive = self._alive(today)
        bm_t = self._post.score(q.term_ids)
        bm_g = self._gpost.score(q.gram_ids)
        bm_t /= max(self._post.ceiling(q.term_ids, q.n_unknown), 1e-9)
        bm_g /= max(self._gpost.ceiling(q.gram_ids, q.n_unknown_grams), 1e-9)
        pre = bm_t + PREFILTER_GRAM_WEIGHT * bm_g
        pre[~alive] = -1.0
        k = min(RERANK_K, ne)
        cand = np.argpartition(-pre, k - 1)[:k] if ne > k else np.arange(ne)
        cand = cand[pre[cand] > 0]
        if len(cand) == 0:
            return cand, np.zeros((0, len(FEATURES)), np.float32), np.zeros(0)

        # Documents (title, paraphrases, keywords) of the candidate entries.
        lengths = self._entry_end[cand] - self._entry_start[cand]
        offsets = np.zeros(len(cand), np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        docs = np.repeat(self._entry_start[cand] - offsets, lengths) + np.arange(int(lengths.sum()))
        owner = np.repeat(np.arange(len(cand)), lengths)

        (ov,) = self._docs.overlap(docs, q.term_ids)
        dtotal = self._docs.total[0][docs]
        dice_t = 2 * ov / np.maximum(q.weight + dtotal, 1e-9)
        qcov = ov / max(q.weight, 1e-9)
        dcov = ov / np.maximum(dtotal, 1e-9)
        (gov,) = self._gdocs.overlap(docs, q.gram_ids)
        dice_g = 2 * gov / np.maximum(q.gram_weight + self._gdocs.total[0][docs], 1e-9)
        fz = np.zeros(len(docs), np.float32)
        is_q = self._doc_question[docs]
        if is_q.any() and q.compact:
            choices = [self._doc_compact[d] for d in docs[is_q]]
            fz[is_q] = process.cdist([q.compact], choices, scorer=fuzz.ratio,
                                     dtype=np.float32, workers=1)[0] / 100.0
        n = len(cand)
        best = np.zeros((6, n), np.float32)
        kw = np.where(is_q, 0.0, qcov)
        for row, values in enumerate((dice_t, dice_g, fz, qcov, dcov, kw)):
            np.maximum.at(best[row], owner, values)
        cover, domain, units_found = self._entry_terms.overlap(cand.astype(np.int64), q.term_ids)
        relative = pre[cand] / max(float(pre[cand].max()), 1e-9)
        feats = np.stack([bm_t[cand], bm_g[cand], relative, best[0], best[1],
                          cover / max(q.weight, 1e-9), best[2], best[3], best[4],
                          domain / max(q.weight, 1e-9), best[5]], axis=1).astype(np.float32)
        return cand, feats, units_found

    def _decide(self, q: _Query, cand: np.ndarray, feats: np.ndarray, units_found: np.ndarray,
                cleaned: str) -> MatchResult:
        if len(cand) == 0:
            kind = "chitchat" if is_small_talk(cleaned) else "question"
            return MatchResult("escalate", kind, None, [], 0.0)
        logit = feats @ RANK_WEIGHTS + RANK_BIAS
        row, order = confidence_row(feats, [self.entries[c].topic for c in cand], logit,
                                    q.n_units, q.known_share, q.domain_weight / max(q.weight, 1e-9))
        top = order[0]
        confidence = float(_sigmoid(float(row @ CONFIDENCE_WEIGHTS) + CONFIDENCE_BIAS))
        signals = {name: float(v) for name, v in zip(CONFIDENCE_FEATURES, row)}
        signals["units_found"] = float(units_found[top])
        prob = _sigmoid(logit)
        candidates = [Candidate(self.entries[cand[j]].id, self.entries[cand[j]].topic,
                                self.entries[cand[j]].title, round(float(prob[j]), 4))
                      for j in order[:CANDIDATES]]
        if confidence >= ANSWER_MIN_CONFIDENCE and units_found[top] >= ANSWER_MIN_UNITS:
            return MatchResult("answered", "question", self.entries[cand[top]], candidates,
                               confidence, signals)
        if confidence >= CLARIFY_MIN_CONFIDENCE:
            return MatchResult("clarify", "question", None, candidates, confidence, signals)
        kind = "chitchat" if is_small_talk(cleaned) and q.known_share < 0.5 else "question"
        return MatchResult("escalate", kind, None, candidates if kind == "question" else [],
                           confidence, signals)
