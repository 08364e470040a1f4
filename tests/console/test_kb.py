"""Knowledge-base editor, unanswered questions and FAQ candidates, through the console's forms."""

from __future__ import annotations

import difflib
import shutil

from sqlalchemy import select

from api.console.models import FaqCandidate
from api.kb import entries as kb_entries
from api.kb import suggestions as kb_suggestions
from api.kb import synonyms as kb_synonyms
from api.kb.models import AskLog, KbEntry, KbRevision, KbSuggestion
from api.kb.sync import export_entries, import_knowledge
from api.tickets.models import TicketMessage
from knowledge.loader import DEFAULT_ENTRIES_DIR, DEFAULT_SYNONYMS_FILE, load_entries
from tests.console.conftest import SOURCE, make_entry, make_ticket, post_form, text_of

ENTRY = "/console/kb/entries/ratio-government"


def form_of(detail) -> dict:
    rev = detail.latest
    return {"topic": detail.entry.topic, "title": rev.title, "paraphrases": "\n".join(rev.paraphrases),
            "keywords": ", ".join(rev.keywords), "answer": rev.answer, "source_title": rev.source_title,
            "source_url": rev.source_url, "year": str(rev.year or ""),
            "valid_from": rev.valid_from.isoformat() if rev.valid_from else "", "valid_to": "",
            "reviewed_on": rev.reviewed_on.isoformat() if rev.reviewed_on else "", "history_of": rev.history_of or "",
            "base_revision": str(rev.number)}


async def revisions(db, entry_id: str) -> list[KbRevision]:
    return list((await db.scalars(select(KbRevision).where(KbRevision.entry_id == entry_id)
                                  .order_by(KbRevision.number))).all())


async def published_number(db, entry_id: str) -> int | None:
    entry = await db.scalar(select(KbEntry).where(KbEntry.id == entry_id).execution_options(populate_existing=True))
    if entry.published_revision_id is None:
        return None
    return await db.scalar(select(KbRevision.number).where(KbRevision.id == entry.published_revision_id))


async def test_list_and_search(admin_client, db):
    await make_entry(db)
    page = await admin_client.get("/console/kb")
    assert page.status_code == 200 and "정부지원 비율은 얼마인가요?" in page.text and "게시 중 · 1판" in page.text
    assert "정부지원 비율" in (await admin_client.get("/console/kb", params={"q": "국비비율"})).text
    assert "조건에 맞는 항목이 없습니다" in (await admin_client.get("/console/kb", params={"q": "용접로봇"})).text
    assert "조건에 맞는 항목이 없습니다" in (await admin_client.get("/console/kb?status=unpublished")).text


async def test_edit_preview_publish_history_diff_and_rollback(admin_client, db, admin):
    admin_name = admin.display_name
    await make_entry(db)
    detail = await kb_entries.get_entry(db, entry_id="ratio-government")
    form = form_of(detail)

    # Save a draft (not published): a new revision with the author; the live answer is unchanged.
    form.update(answer="2026년 공고 기준으로 총사업비의 50% 이내를 정부가 지원해요.", note="2026년 공고 반영",
                paraphrases=form["paraphrases"] + "\n스공 국비 얼마 나와요")
    response = await post_form(admin_client, ENTRY, ENTRY, {**form, "publish": ""}, follow_redirects=True)
    assert "2판을 저장했습니다" in response.text and "아직 게시하지 않았습니다" in response.text
    assert "최신 2판 미게시" in response.text
    revs = await revisions(db, "ratio-government")
    assert [r.number for r in revs] == [1, 2] and revs[1].author_label == admin_name
    assert revs[1].note == "2026년 공고 반영"
    assert await published_number(db, "ratio-government") == 1

    # Test a question against the draft before publishing: outcome, candidates and scores are shown.
    response = await post_form(admin_client, ENTRY, f"{ENTRY}/preview",
                               {**form, "title": "정부지원 비율은 얼마인가요?", "question": "정부 지원금 비율 알려주세요"})
    assert response.status_code == 200
    html = text_of(response)
    assert "“정부 지원금 비율 알려주세요” →" in html and "신뢰도" in html
    assert "ratio-government" in html and "초안" in html
    assert "이 초안으로 답합니다" in html or "이 초안은 후보 1위입니다" in html
    assert form["answer"] in html  # the draft stays in the form
    response = await post_form(admin_client, ENTRY, f"{ENTRY}/preview", {**form, "question": ""})
    assert "미리 볼 질문을 입력해 주세요" in text_of(response)

    # Publish the latest revision.
    response = await post_form(admin_client, ENTRY, f"{ENTRY}/publish", follow_redirects=True)
    assert "2판을 게시했습니다" in response.text
    assert await published_number(db, "ratio-government") == 2

    # History with a diff per revision.
    page = await admin_client.get(f"{ENTRY}/diff?to=2")
    assert page.status_code == 200
    html = text_of(page)
    assert "1판 → 2판" in html and "답변" in html and "질문 표현" in html
    assert '<span class="ins">' in html and "2026년 공고 기준으로" in html and '<span class="del">' in html

    # Roll back to revision 1: a new revision 3 with revision 1's content, published (it was live).
    response = await post_form(admin_client, ENTRY, f"{ENTRY}/rollback", {"to_revision": "1"}, follow_redirects=True)
    assert "1판 내용으로 3판을 만들었습니다" in response.text
    revs = await revisions(db, "ratio-government")
    assert [r.number for r in revs] == [1, 2, 3] and revs[2].answer == revs[0].answer
    assert await published_number(db, "ratio-government") == 3

    # Unpublish.
    response = await post_form(admin_client, ENTRY, f"{ENTRY}/unpublish", follow_redirects=True)
    assert "게시를 중단했습니다" in response.text
    assert await published_number(db, "ratio-government") is None


async def test_a_failed_save_keeps_the_typed_text_and_changes_nothing(admin_client, db):
    await make_entry(db)
    detail = await kb_entries.get_entry(db, entry_id="ratio-government")
    form = form_of(detail)
    response = await post_form(admin_client, ENTRY, ENTRY, {**form, "answer": "새 답변 초안", "source_url": "not a url",
                                                            "publish": "1"})
    assert response.status_code == 422
    html = text_of(response)
    assert "출처 링크는 http:// 또는 https://로 시작하는 주소여야 합니다" in html and "새 답변 초안" in html
    # Someone else saved meanwhile: the stale editor gets a conflict, not a silent overwrite.
    await kb_entries.save_revision(db, entry_id="ratio-government", author=None, publish=False, answer="다른 사람 수정")
    await db.commit()
    response = await post_form(admin_client, ENTRY, ENTRY, {**form, "answer": "내 수정"})
    assert response.status_code == 409 and "다른 사람이 먼저 이 항목을 수정했습니다" in text_of(response)
    assert [r.number for r in await revisions(db, "ratio-government")] == [1, 2]


async def test_create_a_new_entry_with_preview(admin_client, db):
    await make_entry(db)
    form = {"entry_id": "mes-cost", "topic": "support-limits", "title": "MES 도입 비용은 얼마나 드나요?",
            "paraphrases": "엠이에스 비용\nMES 얼마", "keywords": "MES", "answer": "규모에 따라 달라요. 센터에 문의해 주세요.",
            "source_title": SOURCE[0], "source_url": SOURCE[1], "year": "2025", "valid_from": "", "valid_to": ""}
    response = await post_form(admin_client, "/console/kb/new", "/console/kb/new/preview",
                               {**form, "question": "MES 도입 비용은 얼마나 드나요?"})
    assert response.status_code == 200 and "mes-cost" in response.text and "신뢰도" in response.text
    assert await db.get(KbEntry, "mes-cost") is None  # a preview saves nothing
    response = await post_form(admin_client, "/console/kb/new", "/console/kb/new", {**form, "publish": "1"},
                               follow_redirects=True)
    assert "새 항목을 만들고 게시했습니다" in response.text
    assert await published_number(db, "mes-cost") == 1
    response = await post_form(admin_client, "/console/kb/new", "/console/kb/new", {**form, "publish": ""})
    assert response.status_code == 409 and "이미 있는 항목 ID입니다" in text_of(response)


async def test_synonyms(admin_client, db):
    response = await post_form(admin_client, "/console/kb/synonyms", "/console/kb/synonyms",
                               {"term": "스마트공장", "variant": "스마트팩토리"}, follow_redirects=True)
    assert "동의어를 추가했습니다" in response.text and "스마트팩토리" in response.text
    response = await post_form(admin_client, "/console/kb/synonyms", "/console/kb/synonyms",
                               {"term": "스마트공장", "variant": "스마트팩토리"}, follow_redirects=True)
    assert "이미" in text_of(response)
    row = (await kb_synonyms.list_synonyms(db))[0]
    await post_form(admin_client, "/console/kb/synonyms", f"/console/kb/synonyms/{row.id}/delete")
    assert await kb_synonyms.list_synonyms(db) == []


async def _escalated(db, text: str, candidates: list[dict]) -> int:
    log = AskLog(text=text, outcome="escalate", kind="question", chat_id=900, channel="telegram",
                 score=0.2, candidates=candidates)
    db.add(log)
    await db.flush()
    return log.id


async def test_unanswered_groups_become_paraphrases(admin_client, db):
    await make_entry(db)
    candidate = [{"entry_id": "ratio-government", "topic": "support-ratio", "title": "정부지원 비율은 얼마인가요?",
                  "score": 0.7}]
    ids = [await _escalated(db, "나라에서 돈 얼마나 대줘요", candidate),
           await _escalated(db, "나라에서 돈 얼마나 대 줘요?", candidate),
           await _escalated(db, "용접 로봇 렌탈도 되나요", [{**candidate[0], "score": 0.04}])]
    await db.commit()
    page = await admin_client.get("/console/unanswered")
    html = text_of(page)
    assert page.status_code == 200 and "나라에서 돈 얼마나 대줘요" in html and "2회" in html
    flat = " ".join(html.split())
    assert "추천: <strong>정부지원 비율은 얼마인가요?</strong> 항목의 질문 표현으로 추가" in flat
    assert '<span class="badge ok">점수 0.70</span>' in html
    # A weak candidate is no support: that group suggests a new entry.
    assert "용접 로봇 렌탈도 되나요" in html and "<strong>새 항목</strong>" in html

    # Step 1, the preview: what the new revision holds and how the bot would answer; nothing is saved.
    form = {"entry_id": "ratio-government", "ask_log_ids": f"{ids[0]},{ids[1]}"}
    response = await post_form(admin_client, "/console/unanswered", "/console/unanswered/paraphrases/preview", form)
    preview = text_of(response)
    assert response.status_code == 200 and "2판에 질문 표현 1개를 더합니다" in preview
    assert "건너뜀" in preview and "이 항목으로 답합니다" in preview and 'name="base_revision" value="1"' in preview
    assert [r.number for r in await revisions(db, "ratio-government")] == [1]
    # Step 2: one revision.
    response = await post_form(admin_client, "/console/unanswered", "/console/unanswered/paraphrases",
                               {**form, "base_revision": "1", "publish": "1"}, follow_redirects=True)
    # The two spellings are one question to the KB (spacing and punctuation aside): one added, one skipped.
    assert "질문 표현 1개를 더했습니다 (2판, 게시함). 이미 있는 표현 1개는 건너뛰었습니다" in text_of(response)
    latest = (await revisions(db, "ratio-government"))[-1]
    assert "나라에서 돈 얼마나 대줘요" in latest.paraphrases and latest.number == 2
    assert await published_number(db, "ratio-government") == 2
    assert "나라에서 돈 얼마나 대줘요" not in text_of(await admin_client.get("/console/unanswered"))

    # Start a new entry from the other group: the form is prefilled; saving marks the questions reviewed.
    page = await admin_client.get(f"/console/kb/new?logs={ids[2]}")
    assert "용접 로봇 렌탈도 되나요" in text_of(page)
    response = await post_form(admin_client, f"/console/kb/new?logs={ids[2]}", "/console/kb/new",
                               {"entry_id": "robot-rental", "topic": "robot-support", "title": "용접 로봇 렌탈도 되나요?",
                                "paraphrases": "", "keywords": "", "answer": "센터에 문의해 주세요.", "source_title": "",
                                "source_url": "", "year": "", "valid_from": "", "valid_to": "", "logs": str(ids[2])},
                               follow_redirects=True)
    assert "새 항목을 만들었습니다" in response.text
    assert (await db.get(AskLog, ids[2], populate_existing=True)).reviewed is True

    ids2 = [await _escalated(db, "그냥 무시할 질문입니다", [])]
    await db.commit()
    response = await post_form(admin_client, "/console/unanswered", "/console/unanswered/dismiss",
                               {"ask_log_ids": str(ids2[0])}, follow_redirects=True)
    assert "검토 완료로 표시했습니다" in response.text
    assert (await db.get(AskLog, ids2[0], populate_existing=True)).reviewed is True


async def test_staff_faq_candidates_reach_the_unanswered_page(admin_client, agent_client, db):
    await make_entry(db)
    ticket = await make_ticket(db, "seoul", chat_id=61, text="스공 사후관리 몇 년 해요?")
    url = f"/console/tickets/{ticket.id}"
    await post_form(agent_client, url, f"{url}/reply", {"body": "사후관리는 2년입니다."})
    message_id = await db.scalar(select(TicketMessage.id).where(TicketMessage.ticket_id == ticket.id,
                                                               TicketMessage.direction == "staff"))
    await post_form(agent_client, url, f"{url}/faq-candidate", {"message_id": str(message_id)})
    candidate_id = await db.scalar(select(FaqCandidate.id).where(FaqCandidate.ticket_id == ticket.id))

    html = text_of(await admin_client.get("/console/unanswered"))
    assert "직원이 올린 FAQ 후보" in html and "스공 사후관리 몇 년 해요?" in html and "사후관리는 2년입니다." in html
    assert ticket.number in html
    page = text_of(await admin_client.get(f"/console/kb/new?candidate={candidate_id}"))
    assert 'value="스공 사후관리 몇 년 해요?"' in page and "사후관리는 2년입니다." in page

    response = await post_form(admin_client, "/console/unanswered",
                               f"/console/unanswered/candidates/{candidate_id}/paraphrase",
                               {"entry_id": "ratio-government", "question": "스공 사후관리 몇 년 해요?", "publish": ""},
                               follow_redirects=True)
    assert "질문 표현을 더했습니다" in text_of(response)
    candidate = await db.get(FaqCandidate, candidate_id, populate_existing=True)
    assert candidate.status == "used" and candidate.entry_id == "ratio-government"
    assert "스공 사후관리 몇 년 해요?" in (await revisions(db, "ratio-government"))[-1].paraphrases
    assert "직원이 올린 FAQ 후보" not in text_of(await admin_client.get("/console/unanswered"))


async def test_stale_entries_in_the_list_and_on_the_dashboard(admin_client, db, admin):
    await make_entry(db)  # a 2025 answer never reviewed: stale for the 2026 programme year (tests/conftest.py)
    today = kb_entries.kst_today()
    await kb_entries.create_entry(db, entry_id="ratio-now", topic="support-ratio", title="올해 비율은?",
                                  paraphrases=["올해 국비 비율"], answer="2026년 공고 기준 50%예요.",
                                  source_title=SOURCE[0], source_url=SOURCE[1], year=2026, reviewed_on=today,
                                  author=admin, publish=True)
    await kb_entries.create_entry(db, entry_id="ratio-now-2024", topic="support-ratio", title="2024년 비율은?",
                                  answer="2024년에는 50%였어요.", source_title=SOURCE[0], source_url=SOURCE[1],
                                  year=2024, reviewed_on=today, history_of="ratio-now", author=admin, publish=True)
    await db.commit()

    html = text_of(await admin_client.get("/console/kb", params={"status": "stale"}))
    assert "정부지원 비율은 얼마인가요?" in html and "예전 사업연도" in html and "검토일 없음" in html
    assert "올해 비율은?" not in html and "2024년 비율은?" not in html  # fresh, and history is old by design
    everything = text_of(await admin_client.get("/console/kb"))
    assert "이력 항목 → " in everything and f"{today.isoformat()} 검토" in everything
    assert "현재 사업연도 2026년 기준" in everything

    dashboard = text_of(await admin_client.get("/console/dashboard"))
    assert 'id="kpi-stale" href="/console/kb?status=stale"' in dashboard
    assert '<div class="v warn">1</div><div class="l">점검 필요 지식 항목 (2026년 기준)</div>' \
        in dashboard

    # Reviewing the entry for 2026 clears it.
    detail = await kb_entries.get_entry(db, entry_id="ratio-government")
    form = {**form_of(detail), "year": "2026", "reviewed_on": today.isoformat(), "history_of": "", "publish": "1"}
    response = await post_form(admin_client, ENTRY, ENTRY, form, follow_redirects=True)
    assert "2판을 저장했습니다" in response.text
    assert (await kb_entries.get_entry(db, entry_id="ratio-government")).latest.reviewed_on == today
    assert "조건에 맞는 항목이 없습니다" in text_of(await admin_client.get("/console/kb", params={"status": "stale"}))
    dashboard = text_of(await admin_client.get("/console/dashboard"))
    assert '<div class="v">0</div><div class="l">점검 필요 지식 항목 (2026년 기준)</div>' in dashboard


async def test_the_editor_validates_review_dates_and_history_links(admin_client, db):
    await make_entry(db)
    form = {"entry_id": "ratio-government-2023", "topic": "support-ratio", "title": "2023년 비율은?",
            "paraphrases": "", "keywords": "", "answer": "2023년에는 50%였어요.", "source_title": SOURCE[0],
            "source_url": SOURCE[1], "year": "2023", "valid_from": "", "valid_to": "", "reviewed_on": "2026-12-01",
            "history_of": "no-such-entry"}
    response = await post_form(admin_client, "/console/kb/new", "/console/kb/new", form)
    assert response.status_code == 422 and "이력 대상으로 지정한 현재 항목이 없습니다" in text_of(response)
    assert 'value="no-such-entry"' in text_of(response)  # what was typed stays
    response = await post_form(admin_client, "/console/kb/new", "/console/kb/new",
                               {**form, "history_of": "ratio-government", "reviewed_on": "2026-13-01"})
    assert response.status_code == 422 and "검토일" in text_of(response)
    response = await post_form(admin_client, "/console/kb/new", "/console/kb/new",
                               {**form, "history_of": "ratio-government", "publish": "1"}, follow_redirects=True)
    assert "새 항목을 만들고 게시했습니다" in response.text and "2023년 이력 항목" in text_of(response)
    rev = (await kb_entries.get_entry(db, entry_id="ratio-government-2023")).latest
    assert (rev.history_of, rev.reviewed_on.isoformat()) == ("ratio-government", "2026-12-01")


# --- saves are stored like imports; exports are reviewable diffs ------------------------------------------------

def _multi_line_entry() -> str:
    """An entry of knowledge/entries with a multi-line answer (the case browsers turn into \r\n)."""
    return next(e for e in load_entries(DEFAULT_ENTRIES_DIR) if "\n" in e.answer).id


def _browser_form(detail) -> dict:
    """What a browser posts for an entry opened and saved unchanged: textareas come back with \r\n."""
    form = form_of(detail)
    form["paraphrases"] = form["paraphrases"].replace("\n", "\r\n") + "\r\n"
    form["answer"] = form["answer"].replace("\n", "\r\n")
    return form


async def test_saving_unchanged_fields_from_a_browser_changes_nothing(admin_client, db):
    await import_knowledge(db, entries_dir=DEFAULT_ENTRIES_DIR)
    entry_id = _multi_line_entry()
    detail = await kb_entries.get_entry(db, entry_id=entry_id)
    url = f"/console/kb/entries/{entry_id}"
    response = await post_form(admin_client, url, url, _browser_form(detail), follow_redirects=True)
    assert "바뀐 내용이 없어 새 판을 만들지 않았습니다" in text_of(response)
    assert [r.number for r in await revisions(db, entry_id)] == [1]


async def test_a_one_paraphrase_console_edit_exports_as_a_one_line_diff(admin_client, db, tmp_path):
    entries_dir = tmp_path / "entries"
    shutil.copytree(DEFAULT_ENTRIES_DIR, entries_dir)
    shutil.copy(DEFAULT_SYNONYMS_FILE, tmp_path / "synonyms.yaml")
    await import_knowledge(db, entries_dir=entries_dir)
    before = {p.name: p.read_text(encoding="utf-8") for p in entries_dir.iterdir()}
    report = await export_entries(db, entries_dir=entries_dir, synonyms_file=tmp_path / "synonyms.yaml")
    assert report.written == [] and not report.synonyms_written  # export after import: byte-identical

    entry_id = _multi_line_entry()
    detail = await kb_entries.get_entry(db, entry_id=entry_id)
    file_name = f"{detail.entry.topic}.yaml"
    form = _browser_form(detail)
    form.update(paraphrases=form["paraphrases"] + "구축기간은 몇개월?\r\n", publish="1")
    url = f"/console/kb/entries/{entry_id}"
    response = await post_form(admin_client, url, url, form, follow_redirects=True)
    assert "2판을 저장했습니다" in text_of(response)
    diff_page = text_of(await admin_client.get(f"{url}/diff", params={"to": 2}))
    assert "바뀐 항목: <span class=\"chip\">질문 표현</span> </p>" in diff_page  # nothing else changed
    assert "+" not in "".join(line for line in diff_page.splitlines() if "class=\"del\"" in line)

    report = await export_entries(db, entries_dir=entries_dir, synonyms_file=tmp_path / "synonyms.yaml")
    assert [p.name for p in report.written] == [file_name]
    after = (entries_dir / file_name).read_text(encoding="utf-8")
    changes = [line for line in difflib.unified_diff(before[file_name].splitlines(),
                                                     after.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changes == ["+      - 구축기간은 몇개월?"]


async def test_the_diff_page_speaks_korean(admin_client, db, admin):
    await import_knowledge(db, entries_dir=DEFAULT_ENTRIES_DIR)
    entry_id = _multi_line_entry()
    detail = await kb_entries.get_entry(db, entry_id=entry_id)
    await kb_entries.save_revision(db, entry_id=entry_id, author=admin, publish=False,
                                   keywords=[*detail.latest.keywords, "점검 순서"], answer=detail.latest.answer + "\n끝.")
    url = f"/console/kb/entries/{entry_id}"
    page = text_of(await admin_client.get(f"{url}/diff", params={"to": 2}))
    assert "키워드:" in page and "답변:" in page and "질문 표현:" in page
    assert "keywords:" not in page and "answer:" not in page and "paraphrases:" not in page
    assert admin.display_name in page
    history = text_of(await admin_client.get(url))
    assert "파일 가져오기" in history and "· import ·" not in history
    first = text_of(await admin_client.get(f"{url}/diff", params={"to": 2, "from": 1}))
    assert admin.display_name in first


async def test_suggested_paraphrases_are_accepted_or_rejected_in_one_click(admin_client, db, admin):
    await make_entry(db)
    for text in ("나랏돈 몇 퍼 나와요", "국가가 대주는 몫이 얼마죠"):
        await kb_suggestions.suggest(db, entry_id="ratio-government", question=text, source="pick")
    await kb_suggestions.suggest(db, entry_id="ratio-government", question="나랏돈 몇퍼 나와요", source="helpful")
    await db.commit()
    listing = await admin_client.get("/console/kb")
    assert "질문 표현 제안" in listing.text
    entry_page = await admin_client.get(ENTRY)
    assert "질문 표현 제안 2건" in entry_page.text
    page = await admin_client.get("/console/kb/suggestions")
    assert page.status_code == 200
    html = text_of(page)
    assert "나랏돈 몇 퍼 나와요" in html and "2회" in html and "되묻기 후보 선택" in html and "지금 챗봇은" in html
    first, second = (await db.scalars(select(KbSuggestion).order_by(KbSuggestion.id))).all()
    first_id, second_id = first.id, second.id
    before = len(await revisions(db, "ratio-government"))

    accepted = await post_form(admin_client, "/console/kb/suggestions", f"/console/kb/suggestions/{first_id}/accept",
                               {"text": "나랏돈 몇 퍼센트 나와요"}, follow_redirects=True)
    assert f"{before + 1}판으로 게시했습니다" in text_of(accepted)
    revs = await revisions(db, "ratio-government")
    assert len(revs) == before + 1 and revs[-1].paraphrases[-1] == "나랏돈 몇 퍼센트 나와요"
    assert await published_number(db, "ratio-government") == revs[-1].number
    history = await admin_client.get(ENTRY)
    assert f"제안 #{first_id} 반영" in text_of(history)  # the revision's note, in the entry's history

    rejected = await post_form(admin_client, "/console/kb/suggestions", f"/console/kb/suggestions/{second_id}/reject",
                               follow_redirects=True)
    assert "거절했습니다" in text_of(rejected) and "검토할 제안이 없습니다" in text_of(rejected)
    assert len(await revisions(db, "ratio-government")) == before + 1
    done = text_of(await admin_client.get("/console/kb/suggestions?status=rejected"))
    assert "국가가 대주는 몫이 얼마죠" in done

    again = await post_form(admin_client, "/console/kb/suggestions", f"/console/kb/suggestions/{first_id}/accept")
    assert again.status_code == 409
