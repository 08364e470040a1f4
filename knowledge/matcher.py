"""Match a colloquial Korean question to a knowledge-base entry.

``Matcher(entries, synonyms)`` builds an index once; ``matcher.match(text)`` returns a
``MatchResult`` whose ``outcome`` is

* ``"answered"``: one entry fits with confidence (``entry`` is set);
* ``"clarify"``: plausible entries, best first (``candidates``, at most 3) for buttons;
* ``"escalate"``: nothing fits; a person should answer.

``kind`` says what the message is: ``"question"``, ``"greeting"``, ``"thanks"`` (thanks,
farewell, acknowledgement), ``"chitchat"`` (everyday chatter with no business content: weather,
food, sports, health …) or ``"empty"``. Only questions are ever answered or clarified; the other
kinds come back as ``escalate`` with no candidates, and the caller replies with a fixed courtesy
text instead of queueing them for a person. ``in_scope`` is the chance that the question is about
the programme at all (an escalated question with a low one is another subject: 고용지원금, 세무 …).

``facts`` holds what the owner said about the company before the question (region, company name,
industry, employees, years: ``knowledge.narrative``), for routing and so the conversation need not
ask again. ``match(text, context=Context(entry_id=...))`` reads a short follow-up (``그럼 한도는요?``,
``그건 언제까지예요?``) with the previous answer's topic; ``followup`` says whether it did
(``"followed"``) or recognised a change of subject (``"changed"``).

Pipeline
    1. ``normalize.clean`` (Unicode, jamo noise, case); a greeting/thanks wrapped around the
       question removed; the company's self-introduction split off (``narrative.split_narrative``:
       only the question is analysed); synonyms canonicalised (``스공`` -> ``스마트공장``).
    2. Kiwi morphemes (units + compounds, ``morph.terms``) and character 2/3-grams of the
       spacing-free text (typo and spacing tolerance).
    3. Prefilter: BM25 over entries (each entry = title + paraphrases + keywords), on
       morpheme terms plus down-weighted character grams, through an inverted index; the
       ``RERANK_K`` best live entries go on. The same BM25 over topics (each topic = all its
       entries' texts) ranks the topics.
    4. Re-rank: for each candidate entry, the best of its questions (title, paraphrases,
       keywords) by IDF-weighted morpheme overlap (Dice), by character-gram overlap and by
       ``rapidfuzz`` ``ratio`` on the spacing-free text, the share of the question's IDF mass
       the entry knows at all (unknown words - another programme's name, another tax - pull
       this down) and its topic's place in the topic ranking; a logistic model
       (``knowledge.gate``) orders them.
    5. Decide (``knowledge.gate``): entries of one concept (an entry and the entries that keep its
       earlier programme years, ``history_of``) count as one candidate, answered with the current
       entry. The best candidate's features - its scores, its margin over other concepts and other
       topics, whether the topic ranking agrees, how much of the question it covers - give the
       chance that its topic is right (answer) and that the question is in scope at all (clarify
       or escalate); an everyday-versus-business word model tells chatter from business.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

import numpy as np
from rapidfuzz import fuzz, process

from . import morph
from .background import Background, load_background
from .chitchat import is_small_talk, small_talk_kind, strip_courtesy
from .followup import FOLLOWUP_MAX_CHARS, context_words, is_followup
from .gate import DECISION_FEATURES, RANK_FEATURES, SIGNALS, Gate, load_gate
from .loader import Entry
from .narrative import CompanyFacts, Narrative, split_narrative
from .negatives import load_negatives
from .normalize import clean, compact

__all__ = ["Matcher", "MatchResult", "Candidate", "Context", "SynonymMap", "Analysis", "decision_row",
           "everyday_row"]

# --------------------------------------------------------------------------- constants
# Retrieval.
RERANK_K = 12  # live entries re-ranked after the BM25 prefilter
BM25_K1, BM25_B = 1.2, 0.75
GRAM_SIZES = (2, 3)
PREFILTER_GRAM_WEIGHT = 0.3  # character grams vs morpheme terms in the prefilter
# Terms in more than this share of entries are skipped by the prefilter (they barely
# discriminate and their postings dominate the cost on a large KB); they still count in
# the re-ranking.
PREFILTER_MAX_DF = 0.3
CANDIDATES = 3
KNN_DOCS = 10  # the nearest KB texts whose topics vote (feature knn_topic)
FUZZ_DOCS = 4  # questions per candidate entry compared by fuzzy ratio
# A follow-up whose own words lean this far to the programme's neighbours (the "neighbour" feature) is another
# subject ("정책자금 대출 한도는요?"), not a question about the previous answer.
FOLLOWUP_NEIGHBOUR_MAX = 0.6
# A follow-up is about an aspect of the previous topic when one of that topic's entries knows at least this share
# of its words ("공휴일은요?" after the hours); otherwise it is about something else ("그럼 한도는요?" after the ratio).
FOLLOWUP_ASPECT_COVER = 0.5

# Unknown words (in no KB text) weigh like the rarest known word: they are what
# out-of-scope business questions are made of (수출바우처, 고용유지지원금).
UNKNOWN_TERM_WEIGHT = 1.0

# An answer needs at least this many distinct content units of the query found in the
# entry: a single word (테스트, 시간, 전화) is too little to commit to one entry.
ANSWER_MIN_UNITS = 2
# The word models (everyday talk, the programme's neighbours): a question's summed log-odds, squashed to 0..1
# with this scale.
WORD_MODEL_SCALE = 4.0


def _squash(llr: float) -> float:
    return 1.0 / (1.0 + math.exp(-llr / WORD_MODEL_SCALE)) if llr else 0.5


# --------------------------------------------------------------------------- results

@dataclass(frozen=True)
class Candidate:
    entry_id: str
    topic: str
    title: str
    score: float


@dataclass(frozen=True)
class Context:
    """The previous turn of a conversation: the entry the owner was answered with (or picked), or its topic."""

    entry_id: str | None = None
    topic: str | None = None


@dataclass(frozen=True)
class MatchResult:
    outcome: str  # "answered" | "clarify" | "escalate"
    kind: str  # "question" | "greeting" | "thanks" | "chitchat" | "empty"
    entry: Entry | None
    candidates: list[Candidate]
    score: float  # chance that the best entry's topic is right, 0..1
    signals: Mapping[str, float] = field(default_factory=dict, compare=False)
    facts: CompanyFacts = field(default_factory=CompanyFacts)  # what the owner said about the company
    in_scope: float = 0.0  # chance that the question is about the programme, 0..1
    followup: str | None = None  # with a context: "followed" (read with it) or "changed" (another subject)
    question: str = ""  # the text that was matched (without the introduction; with the context's words)


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
    """Rows of ids (sorted, unique) with a weight per id: ``weights[k][id]``.

    With ``inverted``, it also keeps the inverse (id -> rows holding it): ``overlap`` then walks whichever is
    shorter, the rows' ids or the query ids' rows (a short question against many candidate texts)."""

    def __init__(self, lengths: np.ndarray, ids: np.ndarray, *weights: np.ndarray, n_ids: int,
                 inverted: bool = False):
        """``lengths[r]`` ids per row, ``ids`` all rows' ids one after the other."""
        lengths = np.asarray(lengths, np.int64)
        self.ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.ptr[1:])
        self.ids = np.asarray(ids, np.int32)
        self.n_ids = n_ids
        self.n_rows = len(lengths)
        self.w = [w[self.ids].astype(np.float32) for w in weights]
        self.total = []
        for w in self.w:
            total = np.zeros(len(lengths), np.float32)
            nonempty = lengths > 0
            if nonempty.any():
                total[nonempty] = np.add.reduceat(w, self.ptr[:-1][nonempty])
            self.total.append(total)
        self._inverted = inverted
        if inverted:
            self._id_w = [np.asarray(w, np.float32) for w in weights]
            order = np.argsort(self.ids, kind="stable")
            self._inv_rows = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)[order]
            self._inv_ptr = np.zeros(n_ids + 1, np.int64)
            np.cumsum(np.bincount(self.ids, minlength=n_ids), out=self._inv_ptr[1:])
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
        if self._inverted:
            q_starts = self._inv_ptr[query_ids]
            q_lengths = self._inv_ptr[query_ids + 1] - q_starts
            q_total = int(q_lengths.sum())
            if q_total < total:
                return self._overlap_inverted(rows, query_ids, q_starts, q_lengths, q_total)
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

    def _overlap_inverted(self, rows: np.ndarray, query_ids: np.ndarray, q_starts: np.ndarray,
                          q_lengths: np.ndarray, q_total: int) -> list[np.ndarray]:
        if q_total == 0:
            return [np.zeros(len(rows), np.float32) for _ in self.w]
        offsets = np.zeros(len(query_ids), np.int64)
        np.cumsum(q_lengths[:-1], out=offsets[1:])
        idx = np.repeat(q_starts - offsets, q_lengths) + np.arange(q_total)
        holders = self._inv_rows[idx]
        return [np.bincount(holders, weights=np.repeat(w[query_ids], q_lengths),
                            minlength=self.n_rows)[rows].astype(np.float32) for w in self._id_w]


class _Postings:
    """Inverted index for entry-level BM25: term id -> (entry indices, weights), as CSR."""

    def __init__(self, entries: np.ndarray, terms: np.ndarray, tfs: np.ndarray, n: int,
                 n_terms: int, *, dense: bool = False):
        """One row per (entry, term) pair with its frequency ``tfs`` in the entry; ``dense`` for few columns."""
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
        self._dense = None
        if dense:  # few columns (topics): a term x column matrix answers with one gather
            matrix = np.zeros((n_terms, max(n, 1)), np.float32)
            kept = self.df[terms] <= self._limit
            np.add.at(matrix, (terms[kept], self.entries[kept]), self.weights[kept])
            self._dense = matrix

    def score(self, term_ids: np.ndarray) -> np.ndarray:
        """BM25 score of every entry for ``term_ids`` (skipping terms too common to matter)."""
        if self._dense is not None:
            return self._dense[term_ids].sum(axis=0) if len(term_ids) else np.zeros(self.n, np.float32)
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
    everyday: float  # everyday-vs-business log-odds of the units, squashed to 0..1
    neighbour: float  # neighbours-vs-programme log-odds of the units, squashed to 0..1


@dataclass
class Analysis:
    """A question's candidates and what the decision needs: ``decision_row`` turns it into features."""

    question: str  # the text matched
    cand: np.ndarray  # candidate entry indices
    feats: np.ndarray  # RANK_FEATURES of each candidate
    units_found: np.ndarray  # distinct query units found in each candidate
    topics: list[str]  # each candidate's topic
    concepts: np.ndarray  # each candidate's concept (the index of its current entry)
    shown: np.ndarray  # the entry each candidate is shown and answered as: its concept's current one if live
    n_units: int
    known: float
    domain: float
    everyday: float
    neighbour: float
    business_word: float
    topic_first: str | None  # first topic of the topic-level ranking
    topic_lead: float


def decision_row(a: Analysis, logit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``DECISION_FEATURES`` of the best candidate, and the candidates' order (best first)."""
    order = np.argsort(-logit, kind="stable")
    top = order[0]
    second = next((logit[j] for j in order[1:] if a.concepts[j] != a.concepts[top]), logit[top] - 5.0)
    other = next((logit[j] for j in order[1:] if a.topics[j] != a.topics[top]), logit[top] - 5.0)
    prob = np.exp(logit - logit[top])
    share = float(prob[[t == a.topics[top] for t in a.topics]].sum() / prob.sum())
    row = np.concatenate([a.feats[top], [
        min(float(logit[top] - second), 5.0) / 5.0,
        min(float(logit[top] - other), 5.0) / 5.0,
        float(int(np.argmax(a.feats[:, 3])) == top),
        float(int(np.argmax(np.maximum(a.feats[:, 4], a.feats[:, 6]))) == top),
        min(math.log1p(a.n_units) / math.log(20), 1.0),
        a.known,
        a.domain,
        float(a.topic_first is not None and a.topic_first == a.topics[top]),
        a.topic_lead,
        share if a.topic_first is not None else 0.0,
        a.everyday,
        a.neighbour,
    ]]).astype(np.float32)
    return row, order


def everyday_row(a: Analysis, row: np.ndarray | None) -> np.ndarray:
    """``EVERYDAY_FEATURES`` of a question (``row``: its ``decision_row``, None without candidates)."""
    cover = float(row[RANK_FEATURES.index("cover")]) if row is not None else 0.0
    return np.array([a.everyday, a.neighbour, a.known, a.domain, a.business_word, cover,
                     min(math.log1p(a.n_units) / math.log(20), 1.0)], np.float32)


_default_background: Background | None = None


def _shipped_background() -> Background:
    global _default_background
    if _default_background is None:
        _default_background = load_background()
    return _default_background


@lru_cache(maxsize=16)
def _unit_df(texts: tuple[str, ...]) -> tuple[int, dict[str, int]]:
    """(documents, document frequency of each unit) of some questions (the negatives; cached per set)."""
    df: dict[str, int] = {}
    for units, _ in morph.terms_many([clean(t) for t in texts]):
        for u in set(units):
            df[u] = df.get(u, 0) + 1
    return len(texts), df


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

    ``background`` (everyday term frequencies, see ``knowledge.background``) defaults to the shipped table,
    ``negatives`` (out-of-scope questions by group, ``knowledge.negatives``) to the shipped file, ``gate`` (the
    fitted models and thresholds, ``knowledge.gate``) to the shipped ``gate.json``. ``signals`` (a subset of
    ``gate.SIGNALS``) switches parts off for ablations.
    """

    def __init__(self, entries: Sequence[Entry], synonyms: Mapping[str, Iterable[str]] | None = None,
                 *, background: Background | None = None, negatives: Mapping[str, Sequence[str]] | None = None,
                 gate: Gate | None = None, signals: Iterable[str] = SIGNALS):
        self.entries: list[Entry] = list(entries)
        self._by_id = {e.id: e for e in self.entries}
        self._index_of = {e.id: i for i, e in enumerate(self.entries)}
        self.synonyms = SynonymMap(synonyms)
        self._background = background if background is not None else _shipped_background()
        self._negatives = negatives if negatives is not None else load_negatives()
        self.gate = gate if gate is not None else load_gate()
        self.signals = frozenset(signals)
        unknown = self.signals - SIGNALS
        if unknown:
            raise ValueError(f"unknown matcher signals: {sorted(unknown)}")
        self._results = _ResultCache(RESULT_CACHE_SIZE)
        self._build()

    def get(self, entry_id: str) -> Entry | None:
        """The entry with this id (live or not), or None."""
        return self._by_id.get(entry_id)

    def concept_of(self, entry_id: str) -> int | None:
        """The index (in ``entries``) of ``entry_id``'s current entry, or None for an unknown id."""
        i = self._index_of.get(entry_id)
        return None if i is None else int(self._concept[i])

    def current(self, entry_id: str) -> Entry | None:
        """The current entry of ``entry_id``'s concept (the entry itself unless it keeps an earlier year)."""
        i = self._index_of.get(entry_id)
        return None if i is None else self.entries[int(self._concept[i])]

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
        doc_compact: list[str] = []
        t_ids, t_len, g_ids, g_len = array("i"), array("q"), array("i"), array("q")
        et_ent, et_ids, eg_ent, eg_ids = array("i"), array("i"), array("i"), array("i")
        unit_ids: set[int] = set()
        unit_df: dict[int, int] = {}
        for d, text in enumerate(texts):
            if d % _ANALYSIS_CHUNK == 0:  # analyse in chunks: Kiwi's output is bulky
                analysed = morph.terms_many(texts[d:d + _ANALYSIS_CHUNK])
            units, comps = analysed[d % _ANALYSIS_CHUNK]
            e = doc_entry[d]
            ids = [vocab.add(t) for t in units]
            unit_ids.update(ids)
            for i in set(ids):
                unit_df[i] = unit_df.get(i, 0) + 1
            ids += [vocab.add(t) for t in comps]
            unique = sorted(set(ids))
            t_ids.extend(unique)
            t_len.append(len(unique))
            et_ids.extend(ids)
            et_ent.extend([e] * len(ids))
            c = compact(text, cleaned=True)
            doc_compact.append(c)
            gids = [gvocab.add(g) for g in _grams(c)]
            unique = sorted(set(gids))
            g_ids.extend(unique)
            g_len.append(len(unique))
            eg_ids.extend(gids)
            eg_ent.extend([e] * len(gids))
        self._vocab, self._gvocab = vocab.ids, gvocab.ids
        self._doc_compact = np.array(doc_compact, dtype=object)
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
        self._build_word_models(vocab.ids, unit_df, nd)
        self._docs = _Csr(np.frombuffer(t_len, np.int64) if len(t_len) else np.zeros(0, np.int64),
                          t_ids_a, self._idf, n_ids=nv, inverted=True)
        self._gdocs = _Csr(np.frombuffer(g_len, np.int64) if len(g_len) else np.zeros(0, np.int64),
                           g_ids_a, self._gidf, n_ids=ng, inverted=True)
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

        def topic_pairs(ent: np.ndarray, ids: np.ndarray, tfs: np.ndarray, n_ids: int):
            if not len(ids):
                return ent, ids, tfs
            key = self._entry_topic[ent].astype(np.int64) * n_ids + ids
            uniq, inverse = np.unique(key, return_inverse=True)
            return uniq // n_ids, uniq % n_ids, np.bincount(inverse, weights=tfs)

        self.topics = sorted({e.topic for e in self.entries})
        topic_index = {t: i for i, t in enumerate(self.topics)}
        self._entry_topic = np.array([topic_index[e.topic] for e in self.entries], np.int32)
        self._topic_rows = {t: np.flatnonzero(self._entry_topic == i).astype(np.int64) for i, t in enumerate(self.topics)}
        e_ent, e_term, e_tf = entry_pairs(et_ent, et_ids, max(nv, 1))
        del et_ent, et_ids
        self._post = _Postings(e_ent, e_term, e_tf, ne, nv)
        self._tpost = _Postings(*topic_pairs(e_ent, e_term, e_tf, max(nv, 1)), len(self.topics), nv, dense=True)
        is_unit = np.zeros(nv, np.float64)  # to count the query units found
        is_unit[list(unit_ids)] = 1.0
        self._entry_terms = _Csr(np.bincount(e_ent, minlength=ne), e_term, self._idf,
                                 self._domain_idf, is_unit, n_ids=nv)
        e_ent, e_gram, e_gtf = entry_pairs(eg_ent, eg_ids, max(ng, 1))
        del eg_ent, eg_ids
        self._gpost = _Postings(e_ent, e_gram, e_gtf, ne, ng)
        self._tgpost = _Postings(*topic_pairs(e_ent, e_gram, e_gtf, max(ng, 1)), len(self.topics), ng, dense=True)

        # Concepts: an entry that keeps an earlier programme year (``history_of``) belongs to its current entry.
        self._concept = np.arange(ne, dtype=np.int32)
        for i, e in enumerate(self.entries):
            root = self._index_of.get(getattr(e, "history_of", None) or "")
            if root is not None and root != i:
                self._concept[i] = root

        far = dt.date.max.toordinal()
        self._valid_from = np.array([e.valid_from.toordinal() if e.valid_from else 0
                                     for e in self.entries], np.int64)
        self._valid_to = np.array([e.valid_to.toordinal() if e.valid_to else far
                                   for e in self.entries], np.int64)
        self._alive_cache: tuple[int, np.ndarray] | None = None

    def _build_word_models(self, vocab: Mapping[str, int], unit_df: Mapping[int, int], nd: int) -> None:
        """Two word models, as per-unit log-odds (an array over the KB's units, a function for the others):

        * everyday: everyday talk (background + the everyday negatives) against business questions (the KB and
          the business negatives);
        * neighbours: the business negatives (other SME support, tax, labour …) against the KB.
        """
        n_biz, biz_df = _unit_df(tuple(self._negatives.get("business", ())) + tuple(self._negatives.get("uncovered", ())))
        n_day, day_df = _unit_df(tuple(self._negatives.get("everyday", ())))
        bg = self._background
        biz_docs, day_docs = nd + n_biz + 1, bg.documents + n_day + 1

        def everyday(term: str, kb_df: int) -> float:
            day = (bg.df(term) + day_df.get(term, 0) + 0.5) / day_docs
            biz = (kb_df + biz_df.get(term, 0) + 0.5) / biz_docs
            return math.log(day / biz)

        def neighbour(term: str, kb_df: int) -> float:
            return math.log(((biz_df.get(term, 0) + 0.5) / (n_biz + 1)) / ((kb_df + 0.5) / (nd + 1)))

        self._everyday_llr = np.array([everyday(t, unit_df.get(i, 0)) for t, i in vocab.items()], np.float64)
        self._everyday_rate = lambda term: everyday(term, 0)
        self._neighbour_llr = np.array([neighbour(t, unit_df.get(i, 0)) for t, i in vocab.items()], np.float64)
        self._neighbour_rate = lambda term: neighbour(term, 0)

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
        known = domain = unknown_domain = everyday = neighbour = 0.0
        n_unknown = 0
        unique_units = set(units)
        for t in unique_units:
            i = self._vocab.get(t)
            if i is None:
                n_unknown += 1
                # An unknown word common in everyday talk (여자친구) is not a programme word.
                unknown_domain += self._unknown_idf * self._r0 / (self._r0 + self._bg_rate(t))
                everyday += self._everyday_rate(t)
                neighbour += self._neighbour_rate(t)
            else:
                ids.add(i)
                unit_ids.add(i)
                known += float(self._idf[i])
                domain += float(self._domain_idf[i])
                everyday += float(self._everyday_llr[i])
                neighbour += float(self._neighbour_llr[i])
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
        if "everyday" not in self.signals:
            everyday = 0.0
        if "neighbours" not in self.signals:
            neighbour = 0.0
        return _Query(text, c, np.array(sorted(ids), np.int32), np.array(sorted(unit_ids), np.int32),
                      weight, domain, len(unique_units), n_unknown,
                      np.array(sorted(gids), np.int32), gweight, n_unknown_g,
                      known / unit_weight if unit_weight > 0 else 0.0,
                      _squash(everyday), _squash(neighbour))

    def _split(self, cleaned: str) -> Narrative:
        """The question of a cleaned message (courtesy and the company's introduction removed) and its facts."""
        text = strip_courtesy(cleaned)
        if "narrative" not in self.signals:
            return Narrative(text)
        return split_narrative(text)

    def analyse(self, text: str, *, today: dt.date | None = None,
                context: Context | None = None) -> Analysis | None:
        """The candidates and features of a question (None for courtesy, empty text or no candidate): what the
        decision sees (``knowledge.calibration`` fits the gate on it). With ``context``, a follow-up is read
        with the previous entry's words, as ``match`` does when it takes that reading."""
        cleaned = clean(text or "")
        if (not compact(cleaned, cleaned=True) or small_talk_kind(cleaned, cleaned=True)
                or not self.entries):
            return None
        question = self.synonyms.apply(self._split(cleaned).question)
        if context is not None:
            question = self._with_context(question, context) or question
        return self._analyse(question, today or dt.date.today())

    def _analyse(self, question: str, today: dt.date) -> Analysis | None:
        q = self._query(question)
        cand, feats, units_found, topic_first, topic_lead = self._features(q, today)
        if len(cand) == 0:
            return None
        concepts = self._concept[cand]
        shown = np.where(self._alive(today)[concepts], concepts, cand)
        return Analysis(question, cand, feats, units_found, [self.entries[c].topic for c in cand],
                        concepts, shown, q.n_units, q.known_share, q.domain_weight / max(q.weight, 1e-9),
                        q.everyday, q.neighbour, 0.0 if is_small_talk(question) else 1.0, topic_first, topic_lead)

    def kb_rarity(self, term: str) -> float:
        """How rare ``term`` (a unit of ``morph.terms``) is among the knowledge base's texts: its idf there, the
        highest for a term the knowledge base never uses."""
        i = self._vocab.get(term)
        return float(self._idf[i]) if i is not None else self._unknown_gidf  # the idf of a count of 0

    def cached(self, text: str, *, today: dt.date | None = None, context: Context | None = None) -> MatchResult | None:
        """The result ``match`` gave for the same cleaned text (and context) on the same day, or None (no analysis
        is done)."""
        return self._results.get(self._key(clean(text or ""), today or dt.date.today(), context))

    def _key(self, cleaned: str, day: dt.date, context: Context | None) -> tuple:
        if context is None or "followup" not in self.signals:
            return cleaned, day.toordinal()
        return cleaned, day.toordinal(), context.entry_id, context.topic

    def match(self, text: str, *, today: dt.date | None = None, use_cache: bool = True,
              context: Context | None = None) -> MatchResult:
        """Match one user message (any Unicode; see module docstring).

        ``today`` (default: the current date) decides which entries are live. ``context`` is the previous turn
        of the conversation (the entry answered or picked): a follow-up is read with it. Results are remembered
        per cleaned text, context and day (the same question asked again is not analysed again); a result is
        shared between callers, so treat it as read-only.
        """
        cleaned = clean(text or "")
        day = today or dt.date.today()
        key = self._key(cleaned, day, context)
        if use_cache:
            hit = self._results.get(key)
            if hit is not None:
                return hit
        result = self._match_cleaned(cleaned, day, context if "followup" in self.signals else None)
        self._results.put(key, result)
        return result

    def _match_cleaned(self, cleaned: str, today: dt.date, context: Context | None) -> MatchResult:
        if not compact(cleaned, cleaned=True):
            return MatchResult("escalate", "empty", None, [], 0.0)
        courtesy = small_talk_kind(cleaned, cleaned=True)
        if courtesy:
            return MatchResult("escalate", courtesy, None, [], 0.0)
        if not self.entries:
            return MatchResult("escalate", "question", None, [], 0.0)
        narrative = self._split(cleaned)
        question = self.synonyms.apply(narrative.question)
        plain = self._decide(self._analyse(question, today), question, narrative.facts)
        if context is None:
            return plain
        return self._follow(plain, question, narrative.facts, context, today)

    # ------------------------------------------------------------------ follow-ups
    def _context_entry(self, context: Context) -> Entry | None:
        if context.entry_id:
            return self.current(context.entry_id)
        if context.topic:
            return next((e for e in self.entries if e.topic == context.topic), None)
        return None

    def _with_context(self, question: str, context: Context) -> str | None:
        """``question`` read with the context's words, or None when it is no follow-up or the context unknown."""
        entry = self._context_entry(context)
        if entry is None or not is_followup(question):
            return None
        return f"{question} {self._prepare(context_words(entry))}"

    def _follow(self, plain: MatchResult, question: str, facts: CompanyFacts, context: Context,
                today: dt.date) -> MatchResult:
        """The result for a message that follows ``context`` (``followup``: "followed" when it is read as being
        about the previous topic, "changed" when it is about something else).

        * A message that stands alone keeps its own reading.
        * Chatter and another programme's words ("정책자금 대출 한도는요?") are a change of subject.
        * An ellipsis about something the previous topic does not cover ("그럼 한도는요?" after the support ratio,
          "소공인도요?" after the limits) keeps its own reading; in a conversation one decisive word is enough to
          answer it.
        * An ellipsis about an aspect of the previous topic ("몇 억까지 받아요?" after robots, "공휴일은요?" after the
          hours) is read together with the previous entry's words.
        """
        entry = self._context_entry(context)
        if entry is None:  # an unknown (or no longer published) entry: no context
            return plain
        topic = entry.topic

        def changed(result: MatchResult) -> MatchResult:
            best = result.entry.topic if result.entry else (result.candidates[0].topic if result.candidates else None)
            if best is None or best == topic:
                return result
            return _replace(result, followup="changed")

        expanded = self._with_context(question, context)
        if expanded is None:  # a message that stands alone
            return changed(plain) if plain.kind == "question" else _replace(plain, followup="changed")
        if plain.outcome == "answered" and plain.entry.topic == topic:
            return _replace(plain, followup="followed")
        short = len(compact(question, cleaned=True)) <= FOLLOWUP_MAX_CHARS
        if plain.kind == "chitchat" and not short:  # "그건 그렇고 오늘 점심 뭐 먹지"
            return _replace(plain, followup="changed")
        if plain.kind == "question" and plain.signals.get("neighbour", 0.0) >= FOLLOWUP_NEIGHBOUR_MAX:
            return _replace(plain, followup="changed")
        if self._topic_cover(topic, question) < FOLLOWUP_ASPECT_COVER:
            if plain.outcome == "clarify" and plain.score >= self.gate.answer_min and plain.candidates:
                return _replace(plain, outcome="answered", entry=self.get(plain.candidates[0].entry_id),
                                followup="changed")  # held back only by its single word
            return changed(plain)
        read = self._decide(self._analyse(expanded, today), expanded, facts)
        if plain.outcome == "answered" and not (read.outcome == "answered" and read.entry.topic == topic
                                                and read.score > plain.score):
            return changed(plain)
        return _replace(read, followup="followed")

    def _topic_cover(self, topic: str, question: str) -> float:
        """The largest share of ``question``'s weight that one entry of ``topic`` knows."""
        rows = self._topic_rows.get(topic)
        if rows is None:
            return 0.0
        q = self._query(question)
        (cover, *_) = self._entry_terms.overlap(rows, q.term_ids)
        return float(cover.max()) / max(q.weight, 1e-9) if len(cover) else 0.0

    # ------------------------------------------------------------------ features
    def _features(self, q: _Query, today: dt.date):
        """Candidate entry indices, their feature rows (``RANK_FEATURES``), matched units, the topic ranking's
        first topic and its lead."""
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
            return cand, np.zeros((0, len(RANK_FEATURES)), np.float32), np.zeros(0), None, 0.0

        # Topic level: the same BM25 over each topic's pooled texts.
        if "topics" in self.signals:
            ts = (self._tpost.score(q.term_ids) / max(self._tpost.ceiling(q.term_ids, q.n_unknown), 1e-9)
                  + PREFILTER_GRAM_WEIGHT * self._tgpost.score(q.gram_ids)
                  / max(self._tgpost.ceiling(q.gram_ids, q.n_unknown_grams), 1e-9))
            first = int(np.argmax(ts))
            best = float(ts[first])
            runner = float(np.partition(ts, -2)[-2]) if len(ts) > 1 else 0.0
            topic_score = ts[self._entry_topic[cand]] / max(best, 1e-9)
            topic_first, topic_lead = self.topics[first], (best - runner) / max(best, 1e-9)
        else:
            topic_score, topic_first, topic_lead = np.zeros(len(cand)), None, 0.0

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
        # Fuzzy ratio of the spacing-free texts, on each candidate's FUZZ_DOCS questions most similar by overlap
        # (where its best ratio is, nearly always; the ratio of every text would cost more than the rest).
        fz = np.zeros(len(docs), np.float32)
        is_q = self._doc_question[docs]
        if is_q.any() and q.compact:
            order = np.lexsort((-(dice_t + dice_g), ~is_q, owner))
            rank = np.arange(len(order)) - np.searchsorted(owner[order], owner[order])
            pick = order[(rank < FUZZ_DOCS) & is_q[order]]
            fz[pick] = process.cdist([q.compact], self._doc_compact[docs[pick]].tolist(), scorer=fuzz.ratio,
                                     dtype=np.float32, workers=1)[0] / 100.0
        n = len(cand)
        best_q = np.zeros((6, n), np.float32)
        kw = np.where(is_q, 0.0, qcov)
        for row, values in enumerate((dice_t, dice_g, fz, qcov, dcov, kw)):
            np.maximum.at(best_q[row], owner, values)
        cover, domain, units_found = self._entry_terms.overlap(cand.astype(np.int64), q.term_ids)
        relative = pre[cand] / max(float(pre[cand].max()), 1e-9)
        # Nearest questions: the share of the KNN_DOCS most similar texts' similarity that is on each candidate's
        # topic (a vote of the paraphrases, not of the entries' best one alone).
        similarity = dice_t + dice_g
        nearest = np.argpartition(-similarity, KNN_DOCS - 1)[:KNN_DOCS] if len(docs) > KNN_DOCS else np.arange(len(docs))
        cand_topic = self._entry_topic[cand]
        votes = np.bincount(cand_topic[owner[nearest]], weights=similarity[nearest], minlength=len(self.topics))
        knn = votes[cand_topic] / max(float(votes.sum()), 1e-9) if "knn" in self.signals else np.zeros(n)
        feats = np.stack([bm_t[cand], bm_g[cand], relative, best_q[0], best_q[1],
                          cover / max(q.weight, 1e-9), best_q[2], best_q[3], best_q[4],
                          domain / max(q.weight, 1e-9), best_q[5], topic_score, knn], axis=1).astype(np.float32)
        return cand, feats, units_found, topic_first, topic_lead

    # ------------------------------------------------------------------ decision
    def _everyday_kind(self, question: str, a: Analysis | None, row: np.ndarray | None, *,
                       escalating: bool = False) -> bool:
        """Is the message everyday chatter? Before clarifying, the everyday model must be sure
        (``everyday_min``); a message that would be escalated needs less (``chatter_min``)."""
        if "everyday" not in self.signals or a is None:
            known = a.known if a is not None else 0.0
            return is_small_talk(question) and known < 0.5
        p = self.gate.everyday(everyday_row(a, row))
        return p >= (self.gate.chatter_min if escalating else self.gate.everyday_min)

    def _decide(self, a: Analysis | None, question: str, facts: CompanyFacts) -> MatchResult:
        if a is None:
            kind = "chitchat" if self._everyday_kind(question, self._analyse_empty(question), None,
                                                     escalating=True) else "question"
            return MatchResult("escalate", kind, None, [], 0.0, facts=facts, question=question)
        gate = self.gate
        logit = gate.rank_logits(a.feats)
        row, order = decision_row(a, logit)
        top = order[0]
        right, scope = gate.right(row), gate.scope(row)
        signals = {name: float(v) for name, v in zip(DECISION_FEATURES, row)}
        signals.update(units_found=float(a.units_found[top]), in_scope=scope)
        prob = 1.0 / (1.0 + np.exp(-logit))
        candidates, seen = [], set()
        for j in order:  # one candidate per concept, shown as its current entry
            concept = int(a.concepts[j])
            if concept in seen:
                continue
            seen.add(concept)
            shown = self.entries[int(a.shown[j])]
            candidates.append(Candidate(shown.id, shown.topic, shown.title, round(float(prob[j]), 4)))
            if len(candidates) == CANDIDATES:
                break
        common = dict(signals=signals, facts=facts, in_scope=round(scope, 4), question=question)
        if right >= gate.answer_min and a.units_found[top] >= ANSWER_MIN_UNITS:
            return MatchResult("answered", "question", self.entries[int(a.shown[top])], candidates, right,
                               **common)
        if self._everyday_kind(question, a, row):
            return MatchResult("escalate", "chitchat", None, [], right, **common)
        if scope >= gate.clarify_min:
            return MatchResult("clarify", "question", None, candidates, right, **common)
        if self._everyday_kind(question, a, row, escalating=True):  # out of scope: chatter is not for a person
            return MatchResult("escalate", "chitchat", None, [], right, **common)
        return MatchResult("escalate", "question", None, candidates, right, **common)

    def _analyse_empty(self, question: str) -> Analysis:
        """The query-level values of a question that reached no candidate (for the everyday decision)."""
        q = self._query(question)
        return Analysis(question, np.zeros(0, np.int64), np.zeros((0, len(RANK_FEATURES)), np.float32),
                        np.zeros(0), [], np.zeros(0, np.int32), np.zeros(0, np.int32), q.n_units, q.known_share,
                        q.domain_weight / max(q.weight, 1e-9), q.everyday, q.neighbour,
                        0.0 if is_small_talk(question) else 1.0, None, 0.0)


def _replace(result: MatchResult, **changes) -> MatchResult:
    return MatchResult(**{**result.__dict__, **changes})
