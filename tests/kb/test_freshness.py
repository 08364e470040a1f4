"""Programme years over the API: /ask answers with the history entry of the year an owner names and says when an
answer is from an older year; the public entry (a clarify tap) says so too; the admin API carries reviewed_on and
history_of, validates them and lists stale entries; the import and export keep them."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from api.kb import entries as kb_entries
from api.kb.cache import get_cache
from api.kb.models import AskLog
from api.kb.sync import export_entries, import_knowledge
from knowledge.loader import load_entries
from tests.kb.helpers import SOURCE, entry, sample_entries, write_kb

REVIEWED = dt.date(2026, 12, 1)
CURRENT_TITLE = "정부지원 비율은 얼마인가요?"


def kb_with_history() -> list:
    """The sample KB with the ratio entry as this year's rule and two earlier years kept as history."""
    out = []
    for e in sample_entries():
        if e.id == "ratio-government":
            e = replace(e, year=2026, reviewed_on=REVIEWED,
                        answer="2026년 공고 기준으로 총사업비의 50% 이내를 정부가 지원해요. 공고문을 확인해 주세요.")
        out.append(e)
    history = [
        replace(entry("ratio-government-2025", "support-ratio", "2025년 정부지원 비율은?", [],
                      "2025년 공고 기준으로 총사업비의 50% 이내였어요.", year=2025),
                history_of="ratio-government", reviewed_on=REVIEWED),
        replace(entry("ratio-government-2019", "support-ratio", "2019년 정부지원 비율은?", [],
                      "2019년에는 총사업비의 50% 이내였고, 센터장들이 비율 상향을 건의했어요.", year=2019),
                history_of="ratio-government", reviewed_on=REVIEWED),
    ]
    return out + history


@pytest.fixture
async def history_kb(db, tmp_path):
    entries_dir = write_kb(tmp_path / "kb", kb_with_history())
    report = await import_knowledge(db, entries_dir=entries_dir)
    await db.commit()
    assert set(report.added) >= {"ratio-government-2025", "ratio-government-2019"}
    return entries_dir


async def ask(client, text, headers):
    r = await client.post("/api/v1/ask", json={"text": text}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_named_year_is_answered_with_that_years_rule(client, db, history_kb, service_headers):
    now = await ask(client, "국비 비율 얼마에요?", service_headers)
    assert now["outcome"] == "answered"
    answer = now["answer"]
    assert answer["entry_id"] == "ratio-government" and answer["year"] == 2026 and answer["year_note"] is None
    assert answer["text"].startswith("2026년 공고 기준") and answer["reviewed_on"] == "2026-12-01"

    then = await ask(client, "2019년에는 국비 비율 얼마였어요?", service_headers)
    assert then["outcome"] == "answered"
    answer = then["answer"]
    assert (answer["entry_id"], answer["year"], answer["history_of"]) == ("ratio-government-2019", 2019,
                                                                           "ratio-government")
    note = f"2019년 기준 안내예요. 2026년 공고 기준은 '{CURRENT_TITLE}'를 물어보시면 안내해 드려요."
    assert answer["year_note"] == note and answer["text"] == note + "\n2019년에는 총사업비의 50% 이내였고, 센터장들이 비율 상향을 건의했어요."
    log = await db.get(AskLog, then["ask_log_id"])
    assert (log.entry_id, log.topic) == ("ratio-government-2019", "support-ratio")  # the entry served

    last_year = await ask(client, "작년에는 국비 비율 얼마였어요?", service_headers)  # 2026 - 1
    assert last_year["answer"]["entry_id"] == "ratio-government-2025"
    no_rule = await ask(client, "2022년 국비 비율 얼마였어요?", service_headers)  # no 2022 rule kept
    assert no_rule["answer"]["entry_id"] == "ratio-government"


async def test_history_entries_are_never_matched(app, client, db, history_kb, service_headers):
    matcher = await get_cache(app).get(db)
    assert {e.id for e in matcher.entries} == {e.id for e in kb_with_history() if e.history_of is None}
    assert set(get_cache(app).history.by_current["ratio-government"]) == {2025, 2019}
    body = await ask(client, "2025년 정부지원 비율은?", service_headers)  # the history entry's own title
    assert all(not c["entry_id"].startswith("ratio-government-") for c in body["candidates"])


async def test_the_programme_year_moves_on(app, client, history_kb, service_headers):
    app.state.settings = app.state.settings.model_copy(update={"programme_year": 2027})
    answer = (await ask(client, "국비 비율 얼마에요?", service_headers))["answer"]
    assert answer["programme_year"] == 2027
    assert answer["text"].startswith("2026년 기준 안내예요. 2027년 공고 기준은 아직 확인되지 않았으니")
    assert answer["text"].split("\n", 1)[1].startswith("2026년 공고 기준")


async def test_a_clarify_tap_shows_the_year_note(client, history_kb):
    r = await client.get("/api/v1/kb/entries/ratio-government-2025")
    assert r.status_code == 200
    body = r.json()
    assert body["year_note"].startswith("2025년 기준 안내예요. 2026년 공고 기준은 '정부지원 비율은 얼마인가요?'")
    assert body["text"].startswith(body["year_note"] + "\n")
    current = (await client.get("/api/v1/kb/entries/ratio-government")).json()
    assert current["year_note"] is None and current["history_of"] is None
    old = (await client.get("/api/v1/kb/entries/share-company")).json()  # a 2025 current entry: no newer rule
    assert old["year_note"].startswith("2025년 기준 안내예요. 2026년 공고 기준은 아직 확인되지 않았으니")


async def test_admin_api_carries_review_and_history(client, history_kb, admin):
    _, headers = admin
    base = {"topic": "support-ratio", "paraphrases": [], "answer": "2024년에는 50%였어요.",
            "source_title": SOURCE[0], "source_url": SOURCE[1], "year": 2024, "reviewed_on": "2026-11-30"}
    r = await client.post("/api/v1/admin/kb/entries", headers=headers, json={
        **base, "id": "ratio-government-2024", "title": "2024년 정부지원 비율은?", "history_of": "ratio-government",
        "publish": True})
    assert r.status_code == 201, r.text
    detail = r.json()
    assert detail["summary"]["history_of"] == "ratio-government" and detail["summary"]["stale"] == []
    assert detail["revisions"][0]["reviewed_on"] == "2026-11-30"

    for extra, message in (
            ({"history_of": "no-such-entry"}, "이력 대상으로 지정한 현재 항목이 없습니다"),
            ({"history_of": "ratio-government-2024"}, "이력 항목입니다. 현재 항목을 지정해 주세요"),
            ({"history_of": "apply-online"}, "같은 주제여야 합니다"),
            ({"history_of": "ratio-government", "year": 2026}, "사업연도보다 이전이어야 합니다"),
            ({"history_of": "Bad Id"}, "현재 항목의 ID여야 합니다"),
            ({"reviewed_on": "2999-01-01"}, "검토일은 오늘이나 그 이전 날짜여야 합니다")):
        r = await client.post("/api/v1/admin/kb/entries", headers=headers,
                              json={**base, "id": "ratio-x", "title": "다른 질문", **extra})
        assert r.status_code == 422 and message in r.json()["detail"], (extra, r.text)

    # An entry that has history entries cannot become one.
    r = await client.post("/api/v1/admin/kb/entries/ratio-government/revisions", headers=headers, json={
        "title": CURRENT_TITLE, "answer": "x", "topic": "support-ratio", "year": 2026,
        "history_of": "share-company"})
    assert r.status_code == 422 and "딸린 이력 항목이 있어" in r.json()["detail"]


async def test_stale_entries_are_listed(client, db, history_kb, admin):
    staff, headers = admin
    listed = (await client.get("/api/v1/admin/kb/entries", params={"status": "stale"}, headers=headers)).json()
    stale = {e["id"]: e["stale"] for e in listed}
    # The 2025 sample entries have no review date and an older year; this year's entry and its history do not.
    assert stale == {"share-company": ["year", "unreviewed"], "apply-online": ["year", "unreviewed"],
                     "schedule-2019": ["year", "unreviewed"]}
    assert await kb_entries.count_stale(db, programme_year=2026) == 2  # served ones (not the expired one)

    await kb_entries.save_revision(db, entry_id="share-company", author=staff, publish=True, year=2026,
                                   reviewed_on=kb_entries.kst_today())
    await kb_entries.save_revision(db, entry_id="ratio-government", author=staff, publish=True,
                                   reviewed_on=kb_entries.kst_today() - dt.timedelta(days=400))
    await db.commit()
    listed = (await client.get("/api/v1/admin/kb/entries", params={"status": "stale"}, headers=headers)).json()
    assert {e["id"]: e["stale"] for e in listed} == {"ratio-government": ["review"],
                                                    "apply-online": ["year", "unreviewed"],
                                                    "schedule-2019": ["year", "unreviewed"]}
    everything = (await client.get("/api/v1/admin/kb/entries", headers=headers)).json()
    assert {e["id"]: e["year"] for e in everything}["ratio-government-2019"] == 2019


async def test_import_and_export_keep_review_and_history(db, history_kb, tmp_path):
    out = tmp_path / "exported"
    await export_entries(db, entries_dir=out)
    assert {e.id: (e.history_of, e.reviewed_on) for e in load_entries(out) if e.topic == "support-ratio"} == {
        "ratio-government": (None, REVIEWED), "ratio-government-2025": ("ratio-government", REVIEWED),
        "ratio-government-2019": ("ratio-government", REVIEWED)}
    report = await import_knowledge(db, entries_dir=history_kb)  # nothing changed
    assert report.added == [] and report.updated == []
    rows = await kb_entries.latest_entries(db)
    assert rows["ratio-government-2019"].history_of == "ratio-government"
