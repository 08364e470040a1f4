"""Unanswered questions (admins): every question the bot did not answer (escalated, clarified, 👎, or passed
to a person) grouped by similarity, and staff FAQ candidates.
This is where the knowledge base learns from the hotline; grouping and edits are api.kb.unanswered's and api.kb.entries'."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.console import service
from api.console.web import (AdminUser, ConsoleDB, ConsoleRoute, PostAdmin, parse_int, redirect, render,
                             staff_principal)
from api.errors import Unprocessable
from api.kb import entries as kb_entries
from api.kb import unanswered as kb_unanswered
from api.kb.cache import get_cache

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PERIODS = {7: "최근 7일", 30: "최근 30일", 90: "최근 90일"}


def _ids(value: str) -> list[int]:
    ids = []
    for part in (value or "").split(","):
        part = part.strip()
        if part:
            if not part.isdigit():
                raise Unprocessable("질문 기록 번호가 올바르지 않습니다.")
            ids.append(int(part))
    if not ids:
        raise Unprocessable("처리할 질문이 없습니다.")
    return ids[:2000]


@router.get("/console/unanswered")
async def unanswered(request: Request, db: ConsoleDB, user: AdminUser, days: int = 30) -> Response:
    if days not in PERIODS:
        days = 30
    matcher = await get_cache(request.app).get(db)
    groups = await kb_unanswered.unanswered_report(db, days=days, rarity=matcher.kb_rarity)
    candidates = await service.list_faq_candidates(db, status="new")
    entries = await kb_entries.list_entries(db, limit=1000)
    return render(request, "unanswered.html", groups=groups, candidates=candidates, entries=entries, days=days,
                  periods=PERIODS)


@router.post("/console/unanswered/paraphrases/preview")
async def preview_paraphrases(request: Request, db: ConsoleDB, user: PostAdmin,
                              entry_id: Annotated[str, Form(max_length=100)] = "",
                              ask_log_ids: Annotated[str, Form(max_length=20000)] = "") -> Response:
    """Step 1 of adding a group's questions as paraphrases: what the new revision would hold, and how the bot
    would then answer each question; nothing is saved."""
    if not entry_id:
        raise Unprocessable("질문 표현을 더할 항목을 골라 주세요.")
    ids = _ids(ask_log_ids)
    preview = await kb_unanswered.preview_paraphrases(db, entry_id=entry_id, ask_log_ids=ids)
    return render(request, "unanswered_preview.html", preview=preview, ask_log_ids=",".join(map(str, ids)))


@router.post("/console/unanswered/paraphrases")
async def add_paraphrases(request: Request, db: ConsoleDB, user: PostAdmin,
                          entry_id: Annotated[str, Form(max_length=100)] = "",
                          ask_log_ids: Annotated[str, Form(max_length=20000)] = "",
                          base_revision: Annotated[str, Form(max_length=10)] = "",
                          publish: Annotated[str, Form(max_length=3)] = "") -> Response:
    """Step 2: one new revision of the entry with the questions as paraphrases (the questions leave the report)."""
    if not entry_id:
        raise Unprocessable("질문 표현을 더할 항목을 골라 주세요.")
    result = await kb_unanswered.add_paraphrases_from_logs(db, entry_id=entry_id, ask_log_ids=_ids(ask_log_ids),
                                                           author=staff_principal(request).staff, publish=publish == "1",
                                                           base_revision=parse_int(base_revision, "기준 판"))
    message = f"'{result.revision.title}' 항목에 질문 표현 {len(result.added)}개를 더했습니다 ({result.revision.number}판"
    message += ", 게시함)." if publish == "1" else ", 아직 게시 안 함)."
    if result.skipped:
        message += f" 이미 있는 표현 {len(result.skipped)}개는 건너뛰었습니다."
    return redirect(request, "/console/unanswered", message)


@router.post("/console/unanswered/dismiss")
async def dismiss(request: Request, db: ConsoleDB, user: PostAdmin,
                  ask_log_ids: Annotated[str, Form(max_length=20000)] = "") -> Response:
    count = await kb_unanswered.mark_reviewed(db, ask_log_ids=_ids(ask_log_ids))
    return redirect(request, "/console/unanswered", f"질문 {count}개를 검토 완료로 표시했습니다.")


@router.post("/console/unanswered/candidates/{candidate_id}/paraphrase")
async def candidate_to_paraphrase(request: Request, db: ConsoleDB, user: PostAdmin, candidate_id: int,
                                  entry_id: Annotated[str, Form(max_length=100)] = "",
                                  question: Annotated[str, Form(max_length=300)] = "",
                                  publish: Annotated[str, Form(max_length=3)] = "") -> Response:
    candidate = await service.get_faq_candidate(db, candidate_id)
    if not entry_id:
        raise Unprocessable("질문 표현을 더할 항목을 골라 주세요.")
    text = " ".join(question.split())
    if not text:
        raise Unprocessable("추가할 질문 표현을 입력해 주세요.")
    detail = await kb_entries.get_entry(db, entry_id=entry_id)
    rev = await kb_entries.save_revision(db, entry_id=entry_id, author=staff_principal(request).staff,
                                         publish=publish == "1", paraphrases=[*detail.latest.paraphrases, text],
                                         base_revision=detail.latest.number, note=f"직원 FAQ 후보 #{candidate.id}에서 추가")
    await service.close_faq_candidate(db, candidate=candidate, status="used", actor_id=user.id, entry_id=entry_id)
    return redirect(request, "/console/unanswered",
                    f"'{rev.title}' 항목에 질문 표현을 더했습니다 ({rev.number}판" + (", 게시함)." if publish == "1" else ")."))


@router.post("/console/unanswered/candidates/{candidate_id}/dismiss")
async def candidate_dismiss(request: Request, db: ConsoleDB, user: PostAdmin, candidate_id: int) -> Response:
    candidate = await service.get_faq_candidate(db, candidate_id)
    await service.close_faq_candidate(db, candidate=candidate, status="dismissed", actor_id=user.id)
    return redirect(request, "/console/unanswered", "FAQ 후보를 반영하지 않고 닫았습니다.")
