"""The unanswered-questions report: what owners asked that the knowledge base did not answer well, grouped
by similarity, and its two actions (add a group's questions as paraphrases of an entry, previewed first, or
draft a new entry)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import utcnow
from api.errors import NotFound
from api.kb.cache import in_match_thread
from api.kb.entries import (MAX_PARAPHRASE_CHARS, EntryDetail, get_entry, publish, published_entries,
                            save_revision)
from api.kb.models import AskLog, KbEntry, KbRevision
from api.kb.preview import preview_many
from api.staff.models import Staff
from api.tickets.models import Ticket
from knowledge.loader import MAX_TITLE_CHARS
from knowledge import morph
from knowledge.normalize import clean, compact


GROUP_SIMILARITY = 75  # rapidfuzz score (0..100) on normalised text that puts two questions in one group
# Or: the share of their content words they have in common, each word weighted by how rare it is among the
# knowledge base's texts (cosine of the weighted word sets), so that "폐수처리 허가 문의요" and "공장 폐수 처리 허가
# 받으려면 어디로 가요" are one group though their wording differs. Words the knowledge base never uses weigh most:
# they are what it lacks, which is what the questions the bot could not answer are about.
GROUP_WORDS_SIMILARITY = 0.4
# Words any question may have, which say nothing about what it is about.
GENERIC_WORDS = frozenset(("문의", "질문", "궁금", "방법", "어디", "언제", "무엇", "얼마", "정도", "가능", "필요", "관련",
                           "경우", "해당", "지원", "신청", "사업", "공장", "스마트", "기업", "회사", "우리", "저희",
                           # what any support question asks for, whatever it is about
                           "보조금", "보조", "지원금", "비용", "설치", "도입"))
REPORT_MAX_LOGS = 2000
# An entry is suggested for a group when the matcher's candidate scores for it (0..1, the ranking probability
# logged with each question), averaged over the group's questions, reach this: the matcher ranked it as more
# likely than not. An entry an owner marked 👎 counts 0 for that question. Otherwise the group suggests a new entry.
SUGGEST_MIN_SCORE = 0.5


@dataclass
class UnansweredGroup:
    count: int
    escalated: int  # the bot found nothing and offered a person
    clarified: int  # the bot asked back with candidates instead of answering
    to_staff: int  # the owner then asked for a person: a ticket was made from the question
    thumbs_down: int
    examples: list[str]  # distinct questions, most asked first (at most 5)
    ask_log_ids: list[int]
    last_asked_at: dt.datetime
    suggested_entry_id: str | None  # an entry the matcher's candidates support (None: write a new entry)
    suggested_entry_title: str | None
    suggestion_score: float | None  # the support, 0..1 (see SUGGEST_MIN_SCORE)
    actions: list[dict] = field(default_factory=list)  # {"action", "label", "entry_id"?}


def _closest(key: str, compact_key: str, keys: list[str], compact_keys: list[str], threshold: float) -> int | None:
    """Index of the most similar earlier question: ``ratio`` on the spacing-free text (typos, spacing) or
    ``token_sort_ratio`` on the words (word order), whichever clears ``threshold``."""
    best = None
    for query, choices, scorer in ((compact_key, compact_keys, fuzz.ratio), (key, keys, fuzz.token_sort_ratio)):
        found = process.extractOne(query, choices, scorer=scorer, score_cutoff=threshold)
        if found is not None and (best is None or found[1] > best[1]):
            best = found
    return best[2] if best is not None else None


def suggestion(members: list[AskLog], published: set[str]) -> tuple[str | None, float]:
    """The published entry the group's logged candidates support most, with that support (the mean of its
    candidate score over the group's questions; 0 for a question whose owner marked that entry 👎)."""
    support: dict[str, float] = {}
    for m in members:
        for c in m.candidates or []:
            eid = c.get("entry_id")
            if not eid or eid not in published or (m.feedback == "down" and eid == m.entry_id):
                continue
            support[eid] = support.get(eid, 0.0) + float(c.get("score") or 0.0)
    if not support:
        return None, 0.0
    best = max(support, key=lambda eid: (support[eid], eid))
    return best, support[best] / len(members)


def content_words(text: str) -> frozenset[str]:
    """The nouns of a question that say what it is about (``GENERIC_WORDS`` and one-letter words left out)."""
    units, _ = morph.terms(clean(text))
    return frozenset(u for u in units if not u.endswith("/V") and len(u) > 1 and u not in GENERIC_WORDS)


class _WordLinks:
    """Earlier questions by content word, and the weight of each word: ``rarity`` squared (rarer: heavier)."""

    def __init__(self, rarity: Callable[[str], float]):
        self.rarity = rarity
        self.weight: dict[str, float] = {}
        self.index: dict[str, list[int]] = defaultdict(list)
        self.words: list[frozenset[str]] = []

    def _weight(self, word: str) -> float:
        weight = self.weight.get(word)
        if weight is None:
            weight = self.weight[word] = self.rarity(word) ** 2
        return weight

    def _norm(self, words: frozenset[str]) -> float:
        return math.sqrt(sum(self._weight(w) for w in words))

    def closest(self, words: frozenset[str], threshold: float) -> int | None:
        """The earlier question sharing the largest weighted share of ``words`` (at least ``threshold``)."""
        norm = self._norm(words)
        if not norm:
            return None
        shared: dict[int, float] = defaultdict(float)
        for w in words:
            for i in self.index.get(w, ()):
                shared[i] += self._weight(w)
        best, best_score = None, threshold
        for i, common in shared.items():
            score = common / (norm * self._norm(self.words[i]))
            if score >= best_score:
                best, best_score = i, score
        return best

    def add(self, words: frozenset[str]) -> None:
        for w in words:
            self.index[w].append(len(self.words))
        self.words.append(words)


def group_questions(logs: list[AskLog], *, rarity: Callable[[str], float], threshold: float = GROUP_SIMILARITY,
                    words_threshold: float = GROUP_WORDS_SIMILARITY) -> list[list[AskLog]]:
    """Each question joins the group of its most similar earlier question: the same text, a close spelling
    (``_closest``) or the same content (``content_words``, each word weighted by ``rarity``, the matcher's
    ``kb_rarity``: how rare it is among the knowledge base's texts). Analyses text with Kiwi: run it off the
    event loop."""
    groups: list[list[AskLog]] = []
    keys: list[str] = []  # normalised text of every distinct question grouped so far
    compact_keys: list[str] = []
    owner: list[int] = []  # group index of keys[i]
    exact: dict[str, int] = {}
    cleaned = [clean(log.text) for log in logs]
    words = [content_words(key) if key else frozenset() for key in cleaned]
    links = _WordLinks(rarity)
    for log, key, content in zip(logs, cleaned, words):
        c = compact(key, cleaned=True)
        if not c:
            continue
        g = exact.get(c)
        if g is None and keys:
            i = _closest(key, c, keys, compact_keys, threshold)
            if i is None:
                i = links.closest(content, words_threshold)
            if i is not None:
                g = owner[i]
        if g is None:
            g = len(groups)
            groups.append([])
        groups[g].append(log)
        if c not in exact:
            exact[c] = g
            keys.append(key)
            compact_keys.append(c)
            owner.append(g)
            links.add(content)
    return groups


async def unanswered_report(session: AsyncSession, *, rarity: Callable[[str], float], days: int = 30,
                            threshold: float = GROUP_SIMILARITY, include_reviewed: bool = False,
                            limit: int = 50) -> list[UnansweredGroup]:
    """Every question the bot did not answer, from the last ``days`` days: escalated and clarified questions (not
    greetings or chit-chat), answers the owner marked 👎, and questions that became a ticket (the owner asked for
    a person, after a clarify or even an answer). Grouped by similar text or content (``group_questions``),
    biggest group first. A group suggests adding its questions as paraphrases of an entry only when the matcher's candidates
    support that entry (``suggestion``, ``SUGGEST_MIN_SCORE``); otherwise a new entry (``draft_from_logs``)."""
    since = utcnow() - dt.timedelta(days=days)
    ticketed = select(Ticket.ask_log_id).where(Ticket.ask_log_id.is_not(None))
    stmt = (select(AskLog)
            .where(AskLog.created_at >= since,
                   (AskLog.outcome.in_(("escalate", "clarify")) & (AskLog.kind == "question"))
                   | (AskLog.feedback == "down") | AskLog.id.in_(ticketed))
            .order_by(AskLog.id.desc()).limit(REPORT_MAX_LOGS))
    if not include_reviewed:
        stmt = stmt.where(AskLog.reviewed.is_(False))
    logs = list((await session.execute(stmt)).scalars())
    with_ticket = set((await session.execute(
        select(Ticket.ask_log_id).where(Ticket.ask_log_id.in_([log.id for log in logs])))).scalars()) if logs else set()

    titles = dict((await session.execute(
        select(KbEntry.id, KbRevision.title).join(KbRevision, KbRevision.id == KbEntry.published_revision_id)
    )).all())
    out = []
    for members in await in_match_thread(group_questions, logs, rarity=rarity, threshold=threshold):
        texts = Counter(" ".join(m.text.split()) for m in members)
        best, score = suggestion(members, set(titles))
        suggested = best if best is not None and score >= SUGGEST_MIN_SCORE else None
        actions = []
        if suggested:
            actions.append({"action": "add_paraphrases", "entry_id": suggested,
                            "label": f"'{titles[suggested]}' 항목의 질문 표현으로 추가 (점수 {score:.2f})"})
        actions.append({"action": "new_entry", "label": "이 질문들로 새 항목 작성"})
        out.append(UnansweredGroup(
            count=len(members), escalated=sum(m.outcome == "escalate" for m in members),
            clarified=sum(m.outcome == "clarify" for m in members),
            to_staff=sum(m.id in with_ticket for m in members),
            thumbs_down=sum(m.feedback == "down" for m in members),
            examples=[t for t, _ in texts.most_common(5)], ask_log_ids=sorted(m.id for m in members),
            last_asked_at=max(m.created_at for m in members), suggested_entry_id=suggested,
            suggested_entry_title=titles.get(suggested) if suggested else None,
            suggestion_score=round(score, 2) if suggested else None, actions=actions))
    out.sort(key=lambda g: (-g.count, -g.last_asked_at.timestamp()))
    return out[:limit]


async def _logs(session: AsyncSession, ask_log_ids: list[int]) -> list[AskLog]:
    ids = sorted(set(ask_log_ids))
    logs = list((await session.execute(select(AskLog).where(AskLog.id.in_(ids)).order_by(AskLog.id))).scalars())
    if len(logs) != len(ids):
        raise NotFound("질문 기록 일부를 찾을 수 없습니다.")
    return logs


async def mark_reviewed(session: AsyncSession, *, ask_log_ids: list[int], reviewed: bool = True) -> int:
    """Take questions out of (or back into) the unanswered report."""
    logs = await _logs(session, ask_log_ids)
    for log in logs:
        log.reviewed = reviewed
    await session.flush()
    return len(logs)


@dataclass(frozen=True)
class ParaphrasesAdded:
    entry_id: str
    revision: KbRevision
    added: list[str]
    skipped: list[str]  # already a question of this or another entry


async def _new_paraphrases(session: AsyncSession, detail: EntryDetail,
                           logs: list[AskLog]) -> tuple[list[str], list[str]]:
    """The logged questions that would be new paraphrases of the entry, and those skipped because they are
    already a question of this or another published entry (or repeat one another)."""
    latest = detail.latest
    taken = {compact(q) for q in (latest.title, *latest.paraphrases)}
    for other in await published_entries(session):
        if other.id != detail.entry.id:
            taken |= {compact(q) for q in (other.title, *other.paraphrases)}
    added, skipped = [], []
    for log in logs:
        text = " ".join(log.text.split())[:MAX_PARAPHRASE_CHARS]
        key = compact(text)
        if not key or key in taken:
            if text not in skipped and text not in added:
                skipped.append(text)
            continue
        taken.add(key)
        added.append(text)
    return added, skipped


@dataclass(frozen=True)
class QuestionPreview:
    text: str
    outcome: str  # what the bot would do with the new paraphrases published
    answered_by: str | None  # the entry that would answer (None unless answered)
    rank: int | None  # the entry's place among the candidates


@dataclass(frozen=True)
class ParaphrasePreview:
    entry_id: str
    entry_title: str
    latest_revision: int
    added: list[str]
    skipped: list[str]
    questions: list[QuestionPreview]


async def preview_paraphrases(session: AsyncSession, *, entry_id: str, ask_log_ids: list[int]) -> ParaphrasePreview:
    """What ``add_paraphrases_from_logs`` would do, saving nothing: the paraphrases it would add and skip, and how
    the bot would then answer each question."""
    logs = await _logs(session, ask_log_ids)
    detail = await get_entry(session, entry_id=entry_id)
    added, skipped = await _new_paraphrases(session, detail, logs)
    texts = list(dict.fromkeys(" ".join(log.text.split())[:MAX_PARAPHRASE_CHARS] for log in logs))
    results = await preview_many(session, texts=texts, draft={"entry_id": entry_id,
                                                             "paraphrases": [*detail.latest.paraphrases, *added]})
    questions = [QuestionPreview(text, r.result.outcome, r.result.entry.id if r.result.entry else None, r.draft_rank)
                 for text, r in zip(texts, results, strict=True)]
    return ParaphrasePreview(entry_id, detail.latest.title, detail.latest.number, added, skipped, questions)


async def add_paraphrases_from_logs(session: AsyncSession, *, entry_id: str, ask_log_ids: list[int],
                                    author: Staff | None, publish: bool = True,
                                    base_revision: int | None = None) -> ParaphrasesAdded:
    """The report's first action: the logged questions become paraphrases of ``entry_id`` in one new revision
    (published when ``publish``); the logs are marked reviewed. ``base_revision``: the revision a preview showed
    (409 when the entry changed since)."""
    logs = await _logs(session, ask_log_ids)
    detail = await get_entry(session, entry_id=entry_id)
    latest = detail.latest
    added, skipped = await _new_paraphrases(session, detail, logs)
    rev = latest
    if added:
        rev = await save_revision(session, entry_id=entry_id, author=author, publish=publish,
                                  paraphrases=[*latest.paraphrases, *added], base_revision=base_revision,
                                  note=f"미답변 질문 {len(added)}개를 질문 표현으로 추가")
    elif publish:
        rev = await publish_latest_if_needed(session, detail=detail, author=author)
    await mark_reviewed(session, ask_log_ids=ask_log_ids)
    return ParaphrasesAdded(entry_id, rev, added, skipped)


async def publish_latest_if_needed(session: AsyncSession, *, detail: EntryDetail, author: Staff | None) -> KbRevision:
    if detail.entry.published_revision_id != detail.latest.id:
        return await publish(session, entry_id=detail.entry.id, author=author)
    return detail.latest


@dataclass(frozen=True)
class EntryDraft:
    title: str
    paraphrases: list[str]
    keywords: list[str]
    suggested_topic: str | None
    ask_log_ids: list[int]


async def draft_from_logs(session: AsyncSession, *, ask_log_ids: list[int]) -> EntryDraft:
    """The report's second action: a prefilled new entry (title and paraphrases from the questions, the
    topic the matcher leaned to); nothing is saved. Create it with ``create_entry`` and then
    ``mark_reviewed`` the logs."""
    logs = await _logs(session, ask_log_ids)
    texts: list[str] = []
    seen = set()
    for text in Counter(" ".join(log.text.split()) for log in logs):
        key = compact(text)
        if key and key not in seen:
            seen.add(key)
            texts.append(text[:MAX_PARAPHRASE_CHARS])
    by_count = Counter(" ".join(log.text.split()) for log in logs)
    texts.sort(key=lambda t: (-by_count[t], len(t)))
    title = next((t for t in texts if len(t) <= MAX_TITLE_CHARS), texts[0][:MAX_TITLE_CHARS] if texts else "")
    topics = Counter(c.get("topic") for log in logs for c in (log.candidates or [])[:1] if c.get("topic"))
    words = Counter(w for t in texts for w in clean(t).split() if len(w) >= 2)
    return EntryDraft(title=title, paraphrases=[t for t in texts if t != title],
                      keywords=[w for w, n in words.most_common(5) if n > 1],
                      suggested_topic=topics.most_common(1)[0][0] if topics else None,
                      ask_log_ids=[log.id for log in logs])
