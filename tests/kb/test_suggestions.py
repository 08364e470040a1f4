"""Suggested paraphrases: recorded from taps, 👍 and tickets resolved citing an entry; accepted or rejected by an
admin, never published by themselves."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api import contract
from api.conversations import runner
from api.conversations.model import Incoming, Press, typed
from api.conversations.models import Conversation
from api.conversations.state import AskMemo, ChatState
from api.db import utcnow
from api.errors import Conflict, Unprocessable
from api.kb import entries as kb_entries
from api.kb import suggestions
from api.kb.models import AskLog, KbEntry, KbRevision, KbSuggestion
from api.kb.sync import import_knowledge
from api.privacy import ANONYMISED_TEXT
from api.retention import forget_stale_personal_data
from api.sla import SlaPolicy
from knowledge.loader import DEFAULT_ENTRIES_DIR

RATIO = "ratio-government"


async def rows(db, entry_id: str = RATIO) -> list[KbSuggestion]:
    return list((await db.scalars(select(KbSuggestion).where(KbSuggestion.entry_id == entry_id)
                                  .order_by(KbSuggestion.id).execution_options(populate_existing=True))).all())


async def latest(db, entry_id: str = RATIO) -> KbRevision:
    return await db.scalar(select(KbRevision).where(KbRevision.entry_id == entry_id)
                           .order_by(KbRevision.number.desc()).limit(1).execution_options(populate_existing=True))


async def published_number(db, entry_id: str = RATIO) -> int | None:
    entry = await db.scalar(select(KbEntry).where(KbEntry.id == entry_id).execution_options(populate_existing=True))
    return await db.scalar(select(KbRevision.number).where(KbRevision.id == entry.published_revision_id))


# --------------------------------------------------------------------------- what is recorded


async def test_a_new_phrasing_is_recorded_once_and_counted_again(db, imported):
    assert await suggestions.suggest(db, entry_id=RATIO, question="나라에서 얼마나 대주는지 알고싶어요", source="pick")
    assert await suggestions.suggest(db, entry_id=RATIO, question="나라에서 얼마나  대주는지, 알고싶어요!",
                                     source="helpful")
    [row] = await rows(db)
    assert (row.text, row.source, row.seen, row.status) == ("나라에서 얼마나 대주는지 알고싶어요", "pick", 2, "new")


@pytest.mark.parametrize("question", [
    "정부에서 몇 프로 지원해 줘요",  # already a paraphrase
    "정부에서 몇프로 지원해줘요?",  # the same, spacing and punctuation aside
    "정부지원 비율은 얼마인가요",  # the title
    "네",  # too short to teach anything
    ANONYMISED_TEXT,
    "가" * 400,  # longer than a paraphrase may be
])
async def test_nothing_is_recorded_that_would_teach_nothing(db, imported, question):
    assert not await suggestions.suggest(db, entry_id=RATIO, question=question, source="pick")
    assert await rows(db) == []


async def test_an_unknown_entry_records_nothing(db, imported):
    assert not await suggestions.suggest(db, entry_id="no-such-entry", question="나라 돈 얼마 나와요", source="pick")


async def test_personal_data_is_masked_and_the_introduction_left_out(db, imported):
    question = ("경남 진주에서 항공 부품 가공하는 중소기업입니다. 연락은 010-1234-5678로 주세요. "
                "나라에서 얼마나 대주는지 알고싶어요")
    assert await suggestions.suggest(db, entry_id=RATIO, question=question, source="staff")
    [row] = await rows(db)
    assert "1234" not in row.text and "나라에서 얼마나 대주는지" in row.text
    assert "진주" not in row.text and "항공" not in row.text


# --------------------------------------------------------------------------- accepting and rejecting


async def test_accepting_adds_a_published_revision_and_rejecting_keeps_the_phrasing_out(db, imported, admin):
    staff, _ = admin
    await suggestions.suggest(db, entry_id=RATIO, question="나랏돈 몇 퍼 나와요", source="pick")
    await suggestions.suggest(db, entry_id=RATIO, question="국가가 대주는 몫이 얼마죠", source="helpful")
    first, second = await rows(db)
    before = await latest(db)

    done = await suggestions.accept(db, suggestion_id=first.id, author=staff)
    rev = await latest(db)
    assert done == suggestions.Accepted(entry_id=RATIO, revision=before.number + 1, published=True)
    assert list(rev.paraphrases) == [*before.paraphrases, "나랏돈 몇 퍼 나와요"]
    assert rev.author_id == staff.id and f"제안 #{first.id}" in rev.note
    assert await published_number(db) == rev.number
    with pytest.raises(Conflict):
        await suggestions.accept(db, suggestion_id=first.id, author=staff)

    await suggestions.reject(db, suggestion_id=second.id, author=staff)
    assert (await latest(db)).number == rev.number  # rejecting changes no content
    assert await suggestions.suggest(db, entry_id=RATIO, question="국가가 대주는 몫이 얼마죠?", source="pick")
    row = (await rows(db))[1]
    assert (row.status, row.seen) == ("rejected", 2)
    listed, total = await suggestions.list_suggestions(db, status="new")
    assert (listed, total) == ([], 0)

    # An accepted phrasing is in the entry now: asking it again suggests nothing.
    assert not await suggestions.suggest(db, entry_id=RATIO, question="나랏돈 몇퍼 나와요", source="pick")


async def test_accepting_beside_a_pending_draft_saves_a_draft(db, imported, admin):
    staff, _ = admin
    served = await published_number(db)
    await kb_entries.save_revision(db, entry_id=RATIO, author=staff, publish=False, answer="고치는 중인 답변입니다.")
    await suggestions.suggest(db, entry_id=RATIO, question="나랏돈 몇 퍼 나와요", source="pick")
    [row] = await rows(db)
    done = await suggestions.accept(db, suggestion_id=row.id, author=staff)
    assert not done.published and await published_number(db) == served
    rev = await latest(db)
    assert rev.answer == "고치는 중인 답변입니다." and "나랏돈 몇 퍼 나와요" in rev.paraphrases


async def test_the_admin_may_correct_the_phrasing_but_not_empty_it(db, imported, admin):
    staff, _ = admin
    await suggestions.suggest(db, entry_id=RATIO, question="나랏돈 몇퍼 나와요ㅎㅎ", source="pick")
    [row] = await rows(db)
    with pytest.raises(Unprocessable):
        await suggestions.accept(db, suggestion_id=row.id, author=staff, text="   ")
    await suggestions.accept(db, suggestion_id=row.id, author=staff, text=" 나랏돈 몇 퍼센트 나와요 ")
    assert (await latest(db)).paraphrases[-1] == "나랏돈 몇 퍼센트 나와요"


async def test_a_phrasing_another_entry_has_is_refused(db, imported, admin):
    staff, _ = admin
    await suggestions.suggest(db, entry_id=RATIO, question="자부담 몇 프로예요 국비는요", source="pick")
    [row] = await rows(db)
    with pytest.raises(Conflict):
        await suggestions.accept(db, suggestion_id=row.id, author=staff, text="자부담 몇 프로예요")
    assert (await rows(db))[0].status == "new"


async def test_retention_removes_phrasings_nobody_accepted(db, imported, admin):
    staff, _ = admin
    for text in ("나랏돈 몇 퍼 나와요", "국가가 대주는 몫이 얼마죠", "정부 돈 비율 어케 돼"):
        await suggestions.suggest(db, entry_id=RATIO, question=text, source="pick")
    new, accepted, rejected = await rows(db)
    await suggestions.accept(db, suggestion_id=accepted.id, author=staff)
    await suggestions.reject(db, suggestion_id=rejected.id, author=staff)
    counts = await forget_stale_personal_data(db, now=utcnow(), older_than_days=-1)
    assert counts["suggestions"] == 2
    left = await rows(db)
    assert [(r.status, r.text) for r in left] == [("accepted", "국가가 대주는 몫이 얼마죠"), ("rejected", ANONYMISED_TEXT)]
    # The rejected phrasing is still recognised (by its digest): it does not come back as new.
    await suggestions.suggest(db, entry_id=RATIO, question="정부 돈 비율 어케 돼", source="pick")
    assert [r.status for r in await rows(db)] == ["accepted", "rejected"]


# --------------------------------------------------------------------------- from the conversation


def _update(address: str, text: str | None = None, *, button: str | None = None, key: str) -> runner.OwnerUpdate:
    event = Press(button) if button is not None else typed(text)
    return runner.OwnerUpdate(key=key, address=address, incoming=Incoming(event=event, at=utcnow(), display_name="김"))


async def _run(db, knowledge, updates) -> None:
    taken = await runner.claim(db, channel=contract.TELEGRAM, keys=[u.key for u in updates])
    await runner.process(db, channel=contract.TELEGRAM, updates=[u for u in updates if u.key in taken],
                         knowledge=knowledge, policy=SlaPolicy(), max_text_chars=1000)
    await db.commit()


@pytest.fixture
async def real_kb(db):
    """The real knowledge base imported into the database (where suggestions look entries up)."""
    await import_knowledge(db, entries_dir=DEFAULT_ENTRIES_DIR)
    await db.commit()


async def test_a_thumbs_up_in_the_chat_suggests_the_question_and_a_thumbs_down_does_not(db, knowledge, real_kb):
    chat = "7300000001"
    await _run(db, knowledge, [_update(chat, "정부 지원금 비율은 어떻게 되나요", key="s1")])
    log = await db.scalar(select(AskLog).where(AskLog.chat_id == int(chat)))
    assert log.outcome == "answered", log.outcome
    await _run(db, knowledge, [_update(chat, button=contract.encode(contract.Feedback(1, True)), key="s2")])
    row = await db.scalar(select(KbSuggestion).where(KbSuggestion.ask_log_id == log.id))
    assert (row.entry_id, row.source, row.status) == (log.entry_id, "helpful", "new")

    await _run(db, knowledge, [_update(chat, "정부지원금 비율 알려주세요 부탁드려요", key="s3")])
    other = await db.scalar(select(AskLog).where(AskLog.chat_id == int(chat)).order_by(AskLog.id.desc()).limit(1))
    await _run(db, knowledge, [_update(chat, button=contract.encode(contract.Feedback(2, False)), key="s4")])
    assert await db.scalar(select(func.count()).select_from(KbSuggestion)
                           .where(KbSuggestion.ask_log_id == other.id)) == 0


async def test_tapping_a_clarify_candidate_suggests_the_question_for_that_entry(db, knowledge, real_kb):
    chat = 7300000002
    memo = AskMemo(ref=1, text="현물로 내는 거 되는지 알려줘요 부탁", outcome="clarify",
                   candidates=["company-share-cash-inkind"])
    db.add(Conversation(chat_id=chat, state=ChatState(asks=[memo], next_ref=2).dump(), version=1, updated_at=utcnow()))
    await db.commit()
    await _run(db, knowledge, [_update(str(chat), button=contract.encode(contract.Pick(1, 0)), key="p1")])
    [row] = await rows(db, "company-share-cash-inkind")
    assert (row.text, row.source) == ("현물로 내는 거 되는지 알려줘요 부탁", "pick")
