"""Revisions, publication, rollback and their history; validation of what the console saves."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from api.db import sync_url
from api.errors import Conflict, NotFound, Unprocessable
from api.kb import entries as kb_entries
from api.kb.models import KbEntry
from tests.kb.helpers import SOURCE

BASE = dict(topic="support-limits", title="지원 한도는 얼마인가요?", paraphrases=["최대 얼마까지 지원", "한도 얼마"],
            answer="2025년 공고 기준 기초 단계는 최대 1억 원까지 지원해요.", source_title=SOURCE[0], source_url=SOURCE[1],
            year=2025)


async def test_revisions_publish_rollback_and_history(db, admin):
    staff, _ = admin
    entry, r1 = await kb_entries.create_entry(db, entry_id="limits-basic", author=staff, publish=True, **BASE)
    assert (r1.number, r1.author_id, r1.author_label) == (1, staff.id, staff.username)
    assert entry.published_revision_id == r1.id

    r2 = await kb_entries.save_revision(db, entry_id="limits-basic", author=staff, publish=False,
                                        answer="2025년 공고 기준 최대 1억 5천만 원까지 지원해요.", base_revision=1)
    detail = await kb_entries.get_entry(db, entry_id="limits-basic")
    assert r2.number == 2 and r2.title == BASE["title"]  # omitted fields kept
    assert detail.summary.published_revision == 1 and detail.summary.has_unpublished_changes
    assert {e.id: e for e in await kb_entries.published_entries(db)}["limits-basic"].answer == BASE["answer"]

    await kb_entries.publish(db, entry_id="limits-basic", author=staff)
    assert (await kb_entries.get_entry(db, entry_id="limits-basic")).summary.published_revision == 2

    r3 = await kb_entries.rollback(db, entry_id="limits-basic", to_revision=1, author=staff)
    assert r3.number == 3 and r3.answer == BASE["answer"] and "1판" in r3.note
    await kb_entries.unpublish(db, entry_id="limits-basic", author=staff)

    detail = await kb_entries.get_entry(db, entry_id="limits-basic")
    assert [r.number for r in detail.revisions] == [1, 2, 3]
    assert detail.summary.status == "unpublished"
    assert [(e.action, e.detail.get("revision"), e.actor_id) for e in detail.events] == [
        ("created", 1, staff.id), ("published", 1, staff.id), ("revised", 2, staff.id), ("published", 2, staff.id),
        ("rolled_back", 3, staff.id), ("published", 3, staff.id), ("unpublished", None, staff.id)]
    assert detail.events[2].detail["changed"] == ["answer"]
    assert "limits-basic" not in {e.id for e in await kb_entries.published_entries(db)}

    d = await kb_entries.diff(db, entry_id="limits-basic", from_revision=1, to_revision=2)
    assert d.changed == ["answer"]
    assert "-  " + BASE["answer"] in d.diff and "+  2025년 공고 기준 최대 1억 5천만 원까지 지원해요." in d.diff
    assert (await kb_entries.diff(db, entry_id="limits-basic", from_revision=1, to_revision=3)).changed == []


async def test_stale_base_revision_and_identical_saves(db, admin):
    staff, _ = admin
    await kb_entries.create_entry(db, entry_id="limits-basic", author=staff, publish=True, **BASE)
    await kb_entries.save_revision(db, entry_id="limits-basic", author=staff, publish=True, keywords=["한도"])
    with pytest.raises(Conflict) as exc:
        await kb_entries.save_revision(db, entry_id="limits-basic", author=staff, publish=True, answer="다른 답변",
                                       base_revision=1)
    assert exc.value.code == "stale_revision" and "2판" in exc.value.detail
    same = await kb_entries.save_revision(db, entry_id="limits-basic", author=staff, publish=True, keywords=["한도"])
    assert same.number == 2  # nothing changed: no new revision


async def test_topic_change_applies_to_the_entry(db, admin):
    staff, _ = admin
    await kb_entries.create_entry(db, entry_id="limits-basic", author=staff, publish=True, **BASE)
    rev = await kb_entries.save_revision(db, entry_id="limits-basic", author=staff, publish=True, topic="support-ratio")
    assert (await db.get(KbEntry, "limits-basic")).topic == "support-ratio"
    assert "support-limits → support-ratio" in rev.note


@pytest.mark.parametrize("override, message", [
    ({"title": "가" * 41}, "40자"),
    ({"title": "  "}, "질문 제목"),
    ({"answer": "나" * 601}, "600자"),
    ({"topic": "no-such-topic"}, "알 수 없는 주제"),
    ({"source_url": "ftp://example.com"}, "출처 링크"),
])
async def test_invalid_content_is_refused_in_korean(db, admin, override, message):
    staff, _ = admin
    with pytest.raises(Unprocessable) as exc:
        await kb_entries.create_entry(db, entry_id="limits-basic", author=staff, publish=False, **{**BASE, **override})
    assert message in exc.value.detail


async def test_publishing_needs_a_source_and_unique_questions(db, admin):
    staff, _ = admin
    with pytest.raises(Unprocessable) as exc:
        await kb_entries.create_entry(db, entry_id="no-source", author=staff, publish=True,
                                      **{**BASE, "source_title": "", "source_url": ""})
    assert "출처" in exc.value.detail
    draft, _ = await kb_entries.create_entry(db, entry_id="no-source", author=staff, publish=False,
                                             **{**BASE, "source_title": "", "source_url": ""})
    assert draft.published_revision_id is None  # a draft may lack its source

    await kb_entries.create_entry(db, entry_id="limits-basic", author=staff, publish=True, **BASE)
    with pytest.raises(Conflict) as exc:
        await kb_entries.create_entry(db, entry_id="limits-copy", author=staff, publish=True,
                                      **{**BASE, "title": "지원 한도가 궁금해요", "paraphrases": ["한도  얼마?"]})
    assert exc.value.code == "duplicate_question" and "limits-basic" in exc.value.detail
    with pytest.raises(Conflict):
        await kb_entries.create_entry(db, entry_id="limits-basic", author=staff, publish=False, **BASE)


async def test_unknown_entries_and_revisions_are_404(db, admin):
    staff, _ = admin
    with pytest.raises(NotFound):
        await kb_entries.get_entry(db, entry_id="nope")
    await kb_entries.create_entry(db, entry_id="limits-basic", author=staff, publish=True, **BASE)
    with pytest.raises(NotFound):
        await kb_entries.rollback(db, entry_id="limits-basic", to_revision=7, author=staff)
    with pytest.raises(NotFound):
        await kb_entries.publish(db, entry_id="limits-basic", revision=7, author=staff)


async def test_list_and_search_entries(db, imported, admin):
    staff, _ = admin
    await kb_entries.save_revision(db, entry_id="share-company", author=staff, publish=False, keywords=["자부담", "현물"])
    all_ids = [s.id for s in await kb_entries.list_entries(db)]
    assert all_ids == sorted(all_ids) and len(all_ids) == 4
    assert [s.id for s in await kb_entries.list_entries(db, q="사업 관리시스템")] == ["apply-online"]  # spacing
    assert [s.id for s in await kb_entries.list_entries(db, status="changed")] == ["share-company"]
    assert [s.id for s in await kb_entries.list_entries(db, status="expired")] == ["schedule-2019"]
    assert [s.id for s in await kb_entries.list_entries(db, topic="support-ratio")] == ["ratio-government"]


async def test_revisions_and_events_are_append_only(fresh_database_url):
    engine = sa.create_engine(sync_url(fresh_database_url))
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO kb_entries (id, topic, created_at, updated_at) "
                             "VALUES ('e1', 'support-ratio', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO kb_revisions (entry_id, number, title, paraphrases, keywords, answer, source_title, "
            "source_url, author_label, note, created_at) VALUES ('e1', 1, 't', '[]', '[]', 'a', '', '', 'x', '', "
            "CURRENT_TIMESTAMP)"))
        conn.execute(sa.text("INSERT INTO kb_events (entry_id, action, actor_label, detail, created_at) "
                             "VALUES ('e1', 'created', 'x', '{}', CURRENT_TIMESTAMP)"))
    for statement in ("UPDATE kb_revisions SET answer='b'", "DELETE FROM kb_revisions",
                      "UPDATE kb_events SET action='x'", "DELETE FROM kb_events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
    engine.dispose()
