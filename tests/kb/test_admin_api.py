"""The admin KB API: entries and revisions, preview with a draft, synonyms, the unanswered report."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from api.db import utcnow
from api.kb import entries as kb_entries
from api.kb import unanswered as kb_unanswered
from api.kb.models import AskLog
from api.tickets import owner_actions as tickets
from tests.kb.helpers import SOURCE

NEW = {"id": "limits-basic", "topic": "support-limits", "title": "지원 한도는 얼마인가요?",
       "paraphrases": ["최대 얼마까지 지원", "한도 얼마"], "keywords": ["한도"],
       "answer": "2025년 공고 기준 기초 단계는 최대 1억 원까지 지원해요.", "source_title": SOURCE[0],
       "source_url": SOURCE[1], "year": 2025}


async def test_only_admins(client, db, make_staff):
    _, agent = await make_staff("agent", "seoul")
    await db.commit()
    assert (await client.get("/api/v1/admin/kb/entries")).status_code == 401
    r = await client.get("/api/v1/admin/kb/entries", headers=agent)
    assert r.status_code == 403 and r.json()["detail"] == "관리자만 할 수 있는 작업입니다."
    assert (await client.post("/api/v1/admin/kb/preview", json={"text": "국비"}, headers=agent)).status_code == 403


async def test_entry_lifecycle_over_http(client, admin):
    staff, headers = admin
    r = await client.post("/api/v1/admin/kb/entries", json={**NEW, "publish": True}, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["summary"]["published_revision"] == 1
    assert (await client.post("/api/v1/admin/kb/entries", json=NEW, headers=headers)).status_code == 409

    url = "/api/v1/admin/kb/entries/limits-basic"
    r = await client.post(url + "/revisions", headers=headers, json={
        **{k: v for k, v in NEW.items() if k not in ("id", "topic")},
        "answer": "2025년 공고 기준 최대 1억 5천만 원까지 지원해요.", "base_revision": 1, "publish": True, "note": "한도 수정"})
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["summary"]["published_revision"] == 2 and detail["revisions"][-1]["note"] == "한도 수정"
    assert detail["revisions"][-1]["author_id"] == staff.id

    stale = await client.post(url + "/revisions", headers=headers, json={
        **{k: v for k, v in NEW.items() if k not in ("id", "topic")}, "base_revision": 1})
    assert stale.status_code == 409 and stale.json()["error"] == "stale_revision"

    r = await client.post(url + "/rollback", json={"to_revision": 1}, headers=headers)
    assert r.json()["summary"]["published_revision"] == 3 and r.json()["revisions"][-1]["answer"] == NEW["answer"]
    r = await client.post(url + "/unpublish", headers=headers)
    assert r.json()["summary"]["status"] == "unpublished"
    r = await client.post(url + "/publish", json={"revision": 2}, headers=headers)
    assert r.json()["summary"]["published_revision"] == 2
    assert [e["action"] for e in r.json()["events"]] == [
        "created", "published", "revised", "published", "rolled_back", "published", "unpublished", "published"]

    d = (await client.get(url + "/diff", params={"from": 1, "to": 2}, headers=headers)).json()
    assert d["changed"] == ["answer"] and "1억 5천만" in d["diff"]
    listed = (await client.get("/api/v1/admin/kb/entries", params={"q": "한도"}, headers=headers)).json()
    assert [e["id"] for e in listed] == ["limits-basic"]
    assert (await client.get("/api/v1/admin/kb/entries/nope", headers=headers)).status_code == 404
    bad = await client.post("/api/v1/admin/kb/entries", json={**NEW, "id": "Bad Id"}, headers=headers)
    assert bad.status_code == 422 and "항목 ID" in bad.json()["detail"]


async def test_preview_with_a_draft(client, imported, admin):
    _, headers = admin
    question = "인건비도 지원금으로 쓸 수 있어요?"
    before = (await client.post("/api/v1/admin/kb/preview", json={"text": question}, headers=headers)).json()
    assert before["outcome"] != "answered" and before["draft_entry_id"] is None

    draft = {"entry_id": "cost-labour", "topic": "solution-scope", "title": "인건비도 지원되나요?",
             "paraphrases": ["인건비도 지원금으로 쓸 수 있어요", "직원 월급도 지원돼요"]}
    after = (await client.post("/api/v1/admin/kb/preview", json={"text": question, "draft": draft},
                               headers=headers)).json()
    assert after["outcome"] == "answered" and after["entry_id"] == "cost-labour"
    assert after["draft_entry_id"] == "cost-labour" and after["draft_rank"] == 1
    assert after["signals"] and all(isinstance(v, float) for v in after["signals"].values())

    # A draft of an existing entry replaces it (its other fields come from the latest revision).
    edit = {"entry_id": "share-company", "paraphrases": ["인건비도 지원금으로 쓸 수 있어요"]}
    replaced = (await client.post("/api/v1/admin/kb/preview", json={"text": question, "draft": edit},
                                  headers=headers)).json()
    assert replaced["entry_id"] == "share-company" and replaced["title"] == "기업 자부담은 얼마인가요?"
    assert (await client.post("/api/v1/admin/kb/preview", json={"text": " "}, headers=headers)).status_code == 422
    # Nothing was saved.
    asked = (await client.post("/api/v1/ask", json={"text": question})).json()
    assert asked["outcome"] != "answered" and "cost-labour" not in {c["entry_id"] for c in asked["candidates"]}


async def test_synonyms_over_http(client, imported, admin):
    staff, headers = admin
    question = {"text": "나라 보조 비율 얼마임"}
    before = (await client.post("/api/v1/admin/kb/preview", json=question, headers=headers)).json()
    r = await client.post("/api/v1/admin/kb/synonyms", json={"term": "국비", "variant": "나라 보조"}, headers=headers)
    assert r.status_code == 201 and r.json()["created_by"] == staff.id
    assert (await client.post("/api/v1/admin/kb/synonyms", json={"term": "국비", "variant": "나라보조"},
                              headers=headers)).status_code == 409
    assert (await client.post("/api/v1/admin/kb/synonyms", json={"term": "국비", "variant": " "},
                              headers=headers)).status_code == 422
    rows = (await client.get("/api/v1/admin/kb/synonyms", headers=headers)).json()
    assert {(s["term"], s["variant"]) for s in rows} >= {("국비", "나라 보조"), ("스마트공장", "스공")}
    with_synonym = (await client.post("/api/v1/admin/kb/preview", json=question, headers=headers)).json()
    assert with_synonym["candidates"][0]["entry_id"] == "ratio-government"
    assert with_synonym["score"] > before["score"]

    assert (await client.delete(f"/api/v1/admin/kb/synonyms/{r.json()['id']}", headers=headers)).status_code == 204
    assert (await client.delete(f"/api/v1/admin/kb/synonyms/{r.json()['id']}", headers=headers)).status_code == 404
    again = (await client.post("/api/v1/admin/kb/preview", json=question, headers=headers)).json()
    assert again["score"] == before["score"]


async def _log(db, text, *, outcome="escalate", kind="question", feedback=None, candidates=(), entry_id=None,
               days_ago=0, score=0.8):
    """An ask log; ``candidates``: entry ids, or (entry id, score) pairs (a bare id scores ``score``)."""
    pairs = [c if isinstance(c, tuple) else (c, score) for c in candidates]
    row = AskLog(text=text, outcome=outcome, kind=kind, feedback=feedback, entry_id=entry_id,
                 candidates=[{"entry_id": c, "topic": "t", "title": c, "score": s} for c, s in pairs],
                 created_at=utcnow() - dt.timedelta(days=days_ago))
    db.add(row)
    await db.flush()
    return row.id


async def test_unanswered_report_groups_similar_questions(client, db, imported, admin):
    staff, headers = admin
    labour = [await _log(db, t, candidates=["share-company"]) for t in (
        "인건비도 지원되나요?", "인건비 도 지원 되나요", "인건비도 지원돼요??", "인건비도지원되나요")]
    down = await _log(db, "자부담을 장비로 내도 되나요", outcome="answered", feedback="down", entry_id="ratio-government",
                      candidates=["ratio-government", "share-company"])
    down2 = await _log(db, "자부담 장비로 내도 돼요?", candidates=["share-company"])
    await _log(db, "안녕하세요", kind="greeting")  # courtesy is not "unanswered"
    await _log(db, "오늘 날씨 어때", kind="chitchat")
    await _log(db, "국비 비율", outcome="answered", feedback="up", entry_id="ratio-government")
    await _log(db, "인건비 지원 되나요 옛날", days_ago=90)  # outside the window

    r = await client.get("/api/v1/admin/kb/unanswered", headers=headers)
    assert r.status_code == 200, r.text
    groups = r.json()
    assert [g["count"] for g in groups] == [4, 2]
    first, second = groups
    assert sorted(first["ask_log_ids"]) == sorted(labour) and first["escalated"] == 4
    assert len(first["examples"]) == 4 and "인건비도 지원되나요?" in first["examples"]
    assert sorted(second["ask_log_ids"]) == sorted([down, down2])
    assert (second["thumbs_down"], second["escalated"]) == (1, 1)
    assert second["suggested_entry_id"] == "share-company"  # not the entry the owner marked 👎
    assert second["suggestion_score"] == 0.8
    assert [a["action"] for a in second["actions"]] == ["add_paraphrases", "new_entry"]
    assert second["actions"][0]["entry_id"] == "share-company" and "기업 자부담" in second["actions"][0]["label"]
    assert "(점수 0.80)" in second["actions"][0]["label"]

    # Action 1, previewed: nothing saved; then one new published revision, and the questions leave the report.
    body = {"entry_id": "share-company", "ask_log_ids": second["ask_log_ids"]}
    p = (await client.post("/api/v1/admin/kb/unanswered/add-paraphrases/preview", headers=headers, json=body)).json()
    assert p["latest_revision"] == 1 and set(p["added"]) == {"자부담을 장비로 내도 되나요", "자부담 장비로 내도 돼요?"}
    assert {(q["outcome"], q["answered_by"]) for q in p["questions"]} == {("answered", "share-company")}
    assert len((await kb_entries.get_entry(db, entry_id="share-company")).revisions) == 1
    r = await client.post("/api/v1/admin/kb/unanswered/add-paraphrases", headers=headers,
                          json={**body, "base_revision": p["latest_revision"]})
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 2
    assert set(r.json()["added"]) == {"자부담을 장비로 내도 되나요", "자부담 장비로 내도 돼요?"}
    ask = (await client.post("/api/v1/ask", json={"text": "자부담을 장비로 내도 되나요"})).json()
    assert ask["outcome"] == "answered" and ask["answer"]["entry_id"] == "share-company"

    # Action 2: a prefilled new entry; nothing saved until created; dismissing empties the report.
    d = (await client.post("/api/v1/admin/kb/unanswered/draft", json={"ask_log_ids": first["ask_log_ids"]},
                           headers=headers)).json()
    assert d["title"] == "인건비도 지원되나요?" and d["paraphrases"] == ["인건비도 지원돼요??"]  # spacing variants merged
    assert d["suggested_topic"] == "t" and sorted(d["ask_log_ids"]) == sorted(labour)
    assert (await client.post("/api/v1/admin/kb/unanswered/dismiss", json={"ask_log_ids": labour},
                              headers=headers)).status_code == 204
    assert (await client.get("/api/v1/admin/kb/unanswered", headers=headers)).json() == []
    reviewed = (await db.execute(select(AskLog.reviewed).where(AskLog.id.in_(labour)))).scalars().all()
    assert reviewed == [True] * 4


async def test_every_unanswered_kind_is_reported_and_suggestions_need_support(client, db, imported, admin):
    staff, headers = admin
    clarify = await _log(db, "스마트공장 하면 세금 혜택 있어요", outcome="clarify",
                         candidates=[("ratio-government", 0.36), ("share-company", 0.31)])
    clarify_to_staff = await _log(db, "스마트공장하면 세금혜택 있나요", outcome="clarify",
                                  candidates=[("ratio-government", 0.30)])
    answered_to_staff = await _log(db, "신청은 어디서 해요 담당자랑 통화하고 싶어요", outcome="answered",
                                   entry_id="apply-online", candidates=[("apply-online", 0.9)])
    await _log(db, "신청 어디서 해요", outcome="answered", entry_id="apply-online")  # answered: not reported
    for chat_id, log_id in ((7101, clarify_to_staff), (7102, answered_to_staff)):  # the owner asked for a person
        await tickets.create_ticket(db, chat_id=chat_id, text="담당자와 상담하고 싶어요",
                                    address="서울특별시 금천구 가산디지털1로 100", ask_log_id=log_id)
    down = await _log(db, "구축기간은 몇개월?", outcome="answered", feedback="down", entry_id="ratio-government",
                      candidates=[("ratio-government", 0.97), ("share-company", 0.04)])

    groups = {tuple(g["ask_log_ids"]): g for g in
              (await client.get("/api/v1/admin/kb/unanswered", headers=headers)).json()}
    tax = groups[tuple(sorted([clarify, clarify_to_staff]))]
    assert (tax["count"], tax["clarified"], tax["to_staff"], tax["escalated"]) == (2, 2, 1, 0)
    # The candidates were weak (0.36 and 0.30 for the best, 0.33 on average): no entry is suggested.
    assert tax["suggested_entry_id"] is None and tax["suggestion_score"] is None
    assert [a["action"] for a in tax["actions"]] == ["new_entry"]
    assert groups[(answered_to_staff,)]["to_staff"] == 1
    assert groups[(answered_to_staff,)]["suggested_entry_id"] == "apply-online"
    # 👎 on the only strong candidate: the weak runner-up is not offered instead.
    assert groups[(down,)]["thumbs_down"] == 1 and groups[(down,)]["suggested_entry_id"] is None


async def test_paraphrases_already_elsewhere_are_skipped(db, imported, admin):
    staff, _ = admin
    log_id = await _log(db, "국비 비율 얼마임")  # a question of ratio-government already
    result = await kb_unanswered.add_paraphrases_from_logs(db, entry_id="share-company", ask_log_ids=[log_id], author=staff)
    assert result.added == [] and result.skipped == ["국비 비율 얼마임"] and result.revision.number == 1
