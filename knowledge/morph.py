"""Korean morphological analysis (Kiwi) for the matcher.

One ``Kiwi`` per process, created lazily on first use with ``load_multi_dict=False``
(about 0.5-1 s and ~270 MB) and shared by every ``Matcher``. A small built-in user
dictionary keeps programme terms whole (``자부담`` would otherwise be read as the
interjection 자 + 부담, ``등대공장`` as 등 + 대 + 공장). Kiwi runs without its own thread
pool, so a process that loaded it can fork workers that share the model's pages
(``hotline serve --workers N``); see ``get_kiwi``.

``terms(text)`` turns already-cleaned text into index terms, ``(units, compounds)``:

* content morphemes: nouns, numbers, Latin words, roots, verb/adjective stems (``form/V``),
  adverbs and the question words that tell what is asked (얼마, 언제, 어디, 몇, 무슨 ...);
* compounds: 2-3 adjacent noun-like morphemes joined (``정부 지원 비율`` -> ``정부지원``,
  ``지원비율``, ``정부지원비율``), so spacing does not matter; a noun with its suffix or
  prefix (``상생형``, ``고도화``, ``재신청``).
"""
from __future__ import annotations

import os
import threading
import warnings
from functools import lru_cache
from typing import Iterable, Sequence

__all__ = ["get_kiwi", "terms", "terms_many", "clear_cache", "DOMAIN_TERMS"]

# Programme vocabulary Kiwi (kiwipiepy 0.24) misreads without help: 자부담 -> interjection
# 자 + 부담, 스공 -> verb 스 + 공, 총사업비 -> determiner 총 + 사업비. Words Kiwi already splits
# into meaningful nouns (스마트 공장, 등대 공장) are left alone: compounds rejoin them.
DOMAIN_TERMS: tuple[str, ...] = (
    "자부담", "자부담금", "스공", "총사업비", "소공인", "스마트공방",
)

_NOUN_TAGS = frozenset({"NNG", "NNP", "NR", "SL", "SN", "SH", "XR"})
_VERB_TAGS = frozenset({"VV", "VA", "VV-I", "VA-I", "VV-R", "VA-R"})
# Bound nouns that carry meaning in questions (몇 시, 두 번, 몇 개, 몇 명, 몇 월, 며칠).
_NNB_KEEP = frozenset({"시", "번", "개", "명", "월", "일", "년", "원", "인", "곳", "회", "분"})
# Question words: what is asked matters (amount vs date vs place).
_WH = frozenset({"얼마", "언제", "어디", "몇", "무슨", "어느", "누구", "무엇", "뭐", "며칠", "왜"})

_lock = threading.Lock()
_kiwi = None


def get_kiwi():
    """The process-wide Kiwi instance (created and loaded on first call, with ``DOMAIN_TERMS``).

    Memory (see benchmarks/README.md, "Memory per API worker"):

    * ``num_workers=0``: no thread pool of Kiwi's own. Threads do not survive ``fork``: a worker forked from
      a process whose Kiwi had a pool would hang on its first batch. A batch (``terms_many``) is analysed one
      text after another instead, as fast on this 2-core machine and with the same tokens.
    * Kiwi's mimalloc gives freed pages back at once (``MIMALLOC_PURGE_DELAY=0``, unless the environment sets
      it; read when Kiwi's library loads), and the load's temporaries are returned to the OS right after it
      (``knowledge.heap``): about 30 MB less per process.
    * The dictionaries stay as they were: without the default dictionary (-45 to -50 MB) the analysis of 36 of
      14k test texts changes (건축면적 -> 건축 + 면적, 경기대진 -> 경기대 + 진) and a matcher figure drops;
      the typo dictionary costs nothing measurable.
    """
    global _kiwi
    if _kiwi is None:
        with _lock:
            if _kiwi is None:
                os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")
                from kiwipiepy import Kiwi

                from . import heap

                class SerialKiwi(Kiwi):
                    """Kiwi without a thread pool: a batch is tokenized text by text (a list comes back)."""

                    def tokenize(self, text, *args, **kwargs):
                        if isinstance(text, str):
                            return super().tokenize(text, *args, **kwargs)
                        results = []
                        for one in text:
                            results.append(super().tokenize(one, *args, **kwargs))
                        return results

                with warnings.catch_warnings():  # "num_workers=0 changed meaning in 0.21": single thread, as meant
                    warnings.simplefilter("ignore", DeprecationWarning)
                    kiwi = SerialKiwi(load_multi_dict=False, num_workers=0)
                for word in DOMAIN_TERMS:
                    kiwi.add_user_word(word, "NNG", 0.0)
                kiwi.tokenize("")  # Kiwi loads lazily: load the model now, then give its temporaries back
                heap.collect_kiwi()
                heap.malloc_trim()
                _kiwi = kiwi
    return _kiwi


def _term_lists(tokens: Sequence) -> tuple[tuple[str, ...], tuple[str, ...]]:
    units: list[str] = []
    compounds: list[str] = []
    run: list[str] = []  # current run of adjacent compound parts

    def flush() -> None:
        if len(run) > 1:
            for i in range(len(run)):
                for j in range(i + 2, min(len(run), i + 3) + 1):  # 2..3 parts
                    compounds.append("".join(run[i:j]))
        run.clear()

    prev_end = -1
    prefix = ""  # an XPN (재, 소 ...) waiting for its noun
    for tok in tokens:
        tag = tok.tag
        form = tok.form.lower() if tag == "SL" else tok.form
        adjacent = tok.start <= prev_end + 1  # at most one space apart
        prev_end = tok.start + tok.len
        if tag == "XSN" and run and adjacent:  # 상생+형, 고도+화: extend the last part
            run[-1] += form
            compounds.append(run[-1])
            continue
        if tag == "XPN":
            flush()
            prefix = form
            continue
        if tag in _NOUN_TAGS and form not in _WH:
            if run and not adjacent:
                flush()
            if prefix:
                form_p = prefix + form
                compounds.append(form_p)
                run.append(form_p)
            else:
                run.append(form)
        else:
            flush()
        prefix = ""
        if tag in _NOUN_TAGS:
            units.append(form)
        elif tag in _VERB_TAGS:
            units.append(form + "/V")
        elif tag == "MAG" or form in _WH:
            units.append(form)
        elif tag == "NNB" and form in _NNB_KEEP:
            units.append(form)
    flush()
    return tuple(units), tuple(compounds)


Terms = tuple[tuple[str, ...], tuple[str, ...]]
_EMPTY: Terms = ((), ())


@lru_cache(maxsize=4096)
def _terms_cached(text: str) -> Terms:
    return _term_lists(get_kiwi().tokenize(text))


def terms(text: str) -> Terms:
    """``(units, compounds)`` of cleaned ``text`` (see module docstring); repeats kept."""
    if not text:
        return _EMPTY
    return _terms_cached(text)


def terms_many(texts: Iterable[str]) -> list[Terms]:
    """``terms`` for many texts at once (batch analysis; used when building an index)."""
    texts = list(texts)
    todo = sorted({t for t in texts if t})
    done: dict[str, Terms] = {}
    if todo:
        for text, tokens in zip(todo, get_kiwi().tokenize(todo)):
            done[text] = _term_lists(tokens)
    return [done.get(t, _EMPTY) for t in texts]


def clear_cache() -> None:
    """Forget cached analyses (benchmarks measure uncached latency)."""
    _terms_cached.cache_clear()
