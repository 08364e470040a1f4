"""Knowledge-base editor (admins): list, edit, preview against the draft, publish, history, diff, rollback,
synonyms, suggested paraphrases. Every rule is in api.kb (entries, preview, synonyms); this module only turns forms into its calls."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from api.console import service as console_service
from api.console.web import (AdminUser, ConsoleDB, ConsoleRoute, PostAdmin, page_window, parse_date, parse_int,
                             redirect, render, staff_principal)
from api.errors import HotlineError, Unprocessable
from api.kb import entries as kb_entries
from api.kb import preview as kb_preview
from api.kb import suggestions as kb_suggestions
from api.kb import synonyms as kb_synonyms
from api.kb.cache import get_cache, in_match_thread
from api.kb import unanswered as kb_unanswered
from knowledge.years import STALE_REASONS

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

STATUS_FILTERS = {"": "전체", "published": "게시 중", "unpublished": "게시 안 함", "changed": "게시 안 된 변경",
                  "expired": "기간 만료", "stale": "점검 필요 (예전 연도·검토 1년 지남)"}
ACTION_LABELS = {"created": "작성", "revised": "수정", "published": "게시", "unpublished": "게시 중단",
                 "rolled_back": "되돌림"}


def _author(request: Request):
    return staff_principal(request).staff


@dataclass
class Draft:
    """The editor's form values (what is shown in the form and what a preview tests)."""

    entry_id: str = ""
    topic: str = ""
    title: str = ""
    paraphrases: str = ""
    keywords: str = ""
    answer: str = ""
    source_title: str = ""
    source_url: str = ""
    year: str = ""
    valid_from: str = ""
    valid_to: str = ""
    reviewed_on: str = ""
    history_of: str = ""
    note: str = ""

    @classmethod
    def from_revision(cls, entry_id: str, topic: str, rev) -> "Draft":
        return cls(entry_id=entry_id, topic=topic, title=rev.title, paraphrases="\n".join(rev.paraphrases or ()),
                   keywords=", ".join(rev.keywords or ()), answer=rev.answer, source_title=rev.source_title or "",
                   source_url=rev.source_url or "", year=str(rev.year) if rev.year is not None else "",
                   valid_from=rev.valid_from.isoformat() if rev.valid_from else "",
                   valid_to=rev.valid_to.isoformat() if rev.valid_to else "",
                   reviewed_on=rev.reviewed_on.isoformat() if rev.reviewed_on else "", history_of=rev.history_of or "")

    def paraphrase_list(self) -> list[str]:
        return [line.strip() for line in self.paraphrases.splitlines() if line.strip()]

    def keyword_list(self) -> list[str]:
        return [k.strip() for k in re.split(r"[,\n]", self.keywords) if k.strip()]

    def year_value(self) -> int | None:
        return parse_int(self.year, "사업연도")

    def dates(self) -> tuple[date | None, date | None]:
        return parse_date(self.valid_from, "게시 시작일"), parse_date(self.valid_to, "게시 종료일")

    def content(self) -> dict:
        valid_from, valid_to = self.dates()
        return {"title": self.title, "paraphrases": self.paraphrase_list(), "keywords": self.keyword_list(),
                "answer": self.answer, "source_title": self.source_title, "source_url": self.source_url,
                "year": self.year_value(), "valid_from": valid_from, "valid_to": valid_to,
                "reviewed_on": parse_date(self.reviewed_on, "검토일"), "history_of": self.history_of.strip() or None}


def draft_form(new_id: Annotated[str, Form(max_length=100, alias="entry_id")] = "",
              topic: Annotated[str, Form(max_length=64)] = "",
              title: Annotated[str, Form(max_length=500)] = "",
              paraphrases: Annotated[str, Form(max_length=60000)] = "",
              keywords: Annotated[str, Form(max_length=5000)] = "",
              answer: Annotated[str, Form(max_length=10000)] = "",
              source_title: Annotated[str, Form(max_length=500)] = "",
              source_url: Annotated[str, Form(max_length=1000)] = "",
              year: Annotated[str, Form(max_length=8)] = "",
              valid_from: Annotated[str, Form(max_length=10)] = "",
              valid_to: Annotated[str, Form(max_length=10)] = "",
              reviewed_on: Annotated[str, Form(max_length=10)] = "",
              history_of: Annotated[str, Form(max_length=100)] = "",
              note: Annotated[str, Form(max_length=500)] = "") -> Draft:
    return Draft(entry_id=new_id.strip(), topic=topic.strip(), title=title, paraphrases=paraphrases,
                 keywords=keywords, answer=answer, source_title=source_title, source_url=source_url, year=year,
                 valid_from=valid_from, valid_to=valid_to, reviewed_on=reviewed_on, history_of=history_of, note=note)


DraftDep = Annotated[Draft, Depends(draft_form)]


def _topics() -> dict[str, str]:
    return kb_entries.known_topics() or {}


# -- list ---------------------------------------------------------------------------------------------------

@router.get("/console/kb")
async def kb_list(request: Request, db: ConsoleDB, user: AdminUser, q: str = "", status: str = "",
                  topic: str = "") -> Response:
    if status not in STATUS_FILTERS:
        status = ""
    programme_year = request.app.state.settings.current_programme_year()
    entries = await kb_entries.list_entries(db, q=q.strip() or None, status=status or None, topic=topic or None,
                                            limit=1000, programme_year=programme_year)
    today = kb_entries.kst_today()
    return render(request, "kb_list.html", entries=entries, q=q.strip(), status=status, topic=topic,
                  statuses=STATUS_FILTERS, topics=_topics(), today=today, programme_year=programme_year,
                  stale={e.id: e.stale(programme_year, today) for e in entries}, stale_labels=STALE_REASONS,
                  suggestion_count=await kb_suggestions.count_new(db))


# -- new entry -----------------------------------------------------------------------------------------------

def _ids(value: str) -> list[int]:
    out = []
    for part in (value or "").replace(" ", "").split(","):
        if part:
            if not part.isdigit():
                raise Unprocessable("질문 기록 번호가 올바르지 않습니다.")
            out.append(int(part))
    return out[:500]


@router.get("/console/kb/new")
async def kb_new(request: Request, db: ConsoleDB, user: AdminUser, logs: str = "", candidate: int | None = None,
                 topic: str = "") -> Response:
    draft = Draft(topic=topic)
    ask_log_ids = _ids(logs)
    if ask_log_ids:
        prefill = await kb_unanswered.draft_from_logs(db, ask_log_ids=ask_log_ids)
        draft = Draft(topic=prefill.suggested_topic or topic, title=prefill.title,
                      paraphrases="\n".join(prefill.paraphrases), keywords=", ".join(prefill.keywords))
    if candidate is not None:
        c = await console_service.get_faq_candidate(db, candidate)
        lines = [line.strip() for line in c.question.splitlines() if line.strip()]
        draft = Draft(topic=topic, title=lines[0] if lines else "", paraphrases="\n".join(lines[1:]),
                      answer=c.answer)
    return render(request, "kb_edit.html", new=True, draft=draft, detail=None, topics=_topics(),
                  logs=",".join(map(str, ask_log_ids)), candidate=candidate, preview=None)


@router.post("/console/kb/new")
async def kb_create(request: Request, db: ConsoleDB, user: PostAdmin, draft: DraftDep,
                    publish: Annotated[str, Form(max_length=3)] = "",
                    logs: Annotated[str, Form(max_length=5000)] = "",
                    candidate: Annotated[str, Form(max_length=20)] = "") -> Response:
    author = _author(request)
    try:
        entry, _ = await kb_entries.create_entry(db, entry_id=draft.entry_id, topic=draft.topic, author=author,
                                                 publish=publish == "1", note=draft.note, **draft.content())
        ask_log_ids = _ids(logs)
        if ask_log_ids:
            await kb_unanswered.mark_reviewed(db, ask_log_ids=ask_log_ids)
        candidate_id = parse_int(candidate, "FAQ 후보 번호")
        if candidate_id is not None:
            c = await console_service.get_faq_candidate(db, candidate_id)
            await console_service.close_faq_candidate(db, candidate=c, status="used", actor_id=user.id,
                                                      entry_id=entry.id)
    except HotlineError as exc:
        # Keep what the admin typed: the page comes back with the message instead of a redirect.
        await db.rollback()
        return render(request, "kb_edit.html", status_code=exc.status_code, new=True, draft=draft, detail=None,
                      topics=_topics(), logs=logs, candidate=candidate or None, preview=None, form_error=exc.detail)
    message = "새 항목을 만들고 게시했습니다." if publish == "1" else "새 항목을 만들었습니다. 아직 게시하지 않았습니다."
    return redirect(request, f"/console/kb/entries/{entry.id}", message)


@router.post("/console/kb/new/preview")
async def kb_new_preview(request: Request, db: ConsoleDB, user: PostAdmin, draft: DraftDep,
                         question: Annotated[str, Form(max_length=2000)] = "",
                         logs: Annotated[str, Form(max_length=5000)] = "",
                         candidate: Annotated[str, Form(max_length=20)] = "") -> Response:
    result, error = await _try_preview(db, draft, question)
    return render(request, "kb_edit.html", new=True, draft=draft, detail=None, topics=_topics(), logs=logs,
                  candidate=candidate or None, preview=result, preview_error=error, question=question)


# -- one entry --------------------------------------------------------------------------------------------

@dataclass
class PreviewView:
    question: str
    outcome: str
    kind: str
    score: float
    candidates: list
    answer_entry_id: str | None
    answer_entry_title: str | None
    draft_entry_id: str | None
    draft_rank: int | None


async def _preview(db, draft: Draft, question: str) -> PreviewView:
    values = {"entry_id": draft.entry_id or None, "topic": draft.topic or None, **draft.content()}
    result = await kb_preview.preview(db, text=question, draft=values)
    match = result.result
    return PreviewView(question=question, outcome=match.outcome, kind=match.kind, score=match.score,
                       candidates=list(match.candidates), answer_entry_id=match.entry.id if match.entry else None,
                       answer_entry_title=match.entry.title if match.entry else None,
                       draft_entry_id=result.draft_entry_id, draft_rank=result.draft_rank)


async def _try_preview(db, draft: Draft, question: str) -> tuple[PreviewView | None, str | None]:
    try:
        return await _preview(db, draft, question), None
    except HotlineError as exc:
        return None, exc.detail


async def _entry_page(request: Request, db, entry_id: str, *, draft: Draft | None = None,
                      preview: PreviewView | None = None, question: str = "", status_code: int = 200,
                      preview_error: str | None = None, form_error: str | None = None) -> Response:
    detail = await kb_entries.get_entry(db, entry_id=entry_id)
    draft = draft or Draft.from_revision(entry_id, detail.entry.topic, detail.latest)
    draft.entry_id = entry_id
    programme_year = request.app.state.settings.current_programme_year()
    _, suggestion_count = await kb_suggestions.list_suggestions(db, entry_id=entry_id, limit=1)
    return render(request, "kb_edit.html", status_code=status_code, new=False, detail=detail, draft=draft,
                  suggestion_count=suggestion_count,
                  stale=detail.summary.stale(programme_year, kb_entries.kst_today()), stale_labels=STALE_REASONS,
                  programme_year=programme_year, topics=_topics(), preview=preview, question=question,
                  action_labels=ACTION_LABELS,
                  preview_error=preview_error, form_error=form_error,
                  field_labels=kb_entries.FIELD_LABELS, revisions=list(reversed(detail.revisions)))


@router.get("/console/kb/entries/{entry_id}")
async def kb_entry(request: Request, db: ConsoleDB, user: AdminUser, entry_id: str) -> Response:
    return await _entry_page(request, db, entry_id)


@router.post("/console/kb/entries/{entry_id}")
async def kb_save(request: Request, db: ConsoleDB, user: PostAdmin, entry_id: str, draft: DraftDep,
                  base_revision: Annotated[str, Form(max_length=10)] = "",
                  publish: Annotated[str, Form(max_length=3)] = "") -> Response:
    base = parse_int(base_revision, "기준 판")
    try:
        rev = await kb_entries.save_revision(db, entry_id=entry_id, author=_author(request), publish=publish == "1",
                                             base_revision=base, note=draft.note, topic=draft.topic or kb_entries.KEEP,
                                             **draft.content())
    except HotlineError as exc:
        if exc.status_code == 404:
            raise
        await db.rollback()
        return await _entry_page(request, db, entry_id, draft=draft, status_code=exc.status_code,
                                 form_error=exc.detail)
    if base is not None and rev.number == base:
        message = "바뀐 내용이 없어 새 판을 만들지 않았습니다." + (" 이 판을 게시했습니다." if publish == "1" else "")
    else:
        message = f"{rev.number}판을 저장했습니다." + (" 바로 게시했습니다." if publish == "1" else " 아직 게시하지 않았습니다.")
    return redirect(request, f"/console/kb/entries/{entry_id}", message)


@router.post("/console/kb/entries/{entry_id}/preview")
async def kb_preview_page(request: Request, db: ConsoleDB, user: PostAdmin, entry_id: str, draft: DraftDep,
                          question: Annotated[str, Form(max_length=2000)] = "") -> Response:
    draft.entry_id = entry_id
    await kb_entries.get_entry(db, entry_id=entry_id)  # 404 for an unknown entry
    result, error = await _try_preview(db, draft, question)
    return await _entry_page(request, db, entry_id, draft=draft, preview=result, preview_error=error,
                             question=question)


@router.post("/console/kb/entries/{entry_id}/publish")
async def kb_publish(request: Request, db: ConsoleDB, user: PostAdmin, entry_id: str,
                     revision: Annotated[str, Form(max_length=10)] = "") -> Response:
    rev = await kb_entries.publish(db, entry_id=entry_id, author=_author(request),
                                   revision=parse_int(revision, "게시할 판"))
    return redirect(request, f"/console/kb/entries/{entry_id}", f"{rev.number}판을 게시했습니다. 챗봇이 바로 이 내용으로 답합니다.")


@router.post("/console/kb/entries/{entry_id}/unpublish")
async def kb_unpublish(request: Request, db: ConsoleDB, user: PostAdmin, entry_id: str) -> Response:
    await kb_entries.unpublish(db, entry_id=entry_id, author=_author(request))
    return redirect(request, f"/console/kb/entries/{entry_id}", "게시를 중단했습니다. 챗봇이 이 항목으로 답하지 않습니다.")


@router.post("/console/kb/entries/{entry_id}/rollback")
async def kb_rollback(request: Request, db: ConsoleDB, user: PostAdmin, entry_id: str,
                      to_revision: Annotated[int, Form()]) -> Response:
    detail = await kb_entries.get_entry(db, entry_id=entry_id)
    live = detail.entry.published_revision_id is not None
    rev = await kb_entries.rollback(db, entry_id=entry_id, to_revision=to_revision, author=_author(request), publish=live)
    message = f"{to_revision}판 내용으로 {rev.number}판을 만들었습니다." + (" 바로 게시했습니다." if live else "")
    return redirect(request, f"/console/kb/entries/{entry_id}", message)


@router.get("/console/kb/entries/{entry_id}/diff")
async def kb_diff(request: Request, db: ConsoleDB, user: AdminUser, entry_id: str, to: int,
                  from_: Annotated[int | None, Query(alias="from")] = None) -> Response:
    detail = await kb_entries.get_entry(db, entry_id=entry_id)
    base = from_ if from_ is not None else max(1, to - 1)
    # The whole entry, changes marked: every field is seen under its label.
    result = await kb_entries.diff(db, entry_id=entry_id, from_revision=base, to_revision=to, context=10_000)
    lines = []
    for line in result.diff.splitlines()[2:]:
        if line.startswith("@@"):
            continue
        kind = "ins" if line.startswith("+") else "del" if line.startswith("-") else "same"
        lines.append((kind, line[1:] if line[:1] in "+- " else line))
    return render(request, "kb_diff.html", detail=detail, diff=result, lines=lines, field_labels=kb_entries.FIELD_LABELS,
                  revisions=detail.revisions)


# -- synonyms ---------------------------------------------------------------------------------------------

@router.get("/console/kb/synonyms")
async def synonyms(request: Request, db: ConsoleDB, user: AdminUser) -> Response:
    rows = await kb_synonyms.list_synonyms(db)
    grouped: dict[str, list] = {}
    for row in rows:
        grouped.setdefault(row.term, []).append(row)
    return render(request, "kb_synonyms.html", grouped=grouped)


@router.post("/console/kb/synonyms")
async def synonym_add(request: Request, db: ConsoleDB, user: PostAdmin,
                      term: Annotated[str, Form(max_length=200)] = "",
                      variant: Annotated[str, Form(max_length=200)] = "") -> Response:
    row = await kb_synonyms.add_synonym(db, term=term, variant=variant, author=_author(request))
    return redirect(request, "/console/kb/synonyms", f"'{row.variant}' → '{row.term}' 동의어를 추가했습니다.")


@router.post("/console/kb/synonyms/{synonym_id}/delete")
async def synonym_delete(request: Request, db: ConsoleDB, user: PostAdmin, synonym_id: int) -> Response:
    await kb_synonyms.remove_synonym(db, synonym_id=synonym_id, author=_author(request))
    return redirect(request, "/console/kb/synonyms", "동의어를 삭제했습니다.")


# -- suggested paraphrases -------------------------------------------------------------------------------------

SUGGESTION_TABS = {"new": "새 제안", "accepted": "반영함", "rejected": "거절함"}
SUGGESTIONS_PAGE = 50


@dataclass(frozen=True)
class NowAnswers:
    """What the bot does with a suggested phrasing today."""

    outcome: str
    entry_id: str | None  # the entry answered, or the first candidate of a clarify
    title: str | None

    def hits(self, entry_id: str) -> bool:
        return self.entry_id == entry_id


async def _now_answers(request: Request, db, texts: list[str]) -> list[NowAnswers]:
    matcher = await get_cache(request.app).get(db)
    today = kb_entries.kst_today()

    def run() -> list[NowAnswers]:
        out = []
        for text in texts:
            r = matcher.match(text, today=today)
            if r.entry is not None:
                out.append(NowAnswers(r.outcome, r.entry.id, r.entry.title))
            elif r.candidates:
                out.append(NowAnswers(r.outcome, r.candidates[0].entry_id, r.candidates[0].title))
            else:
                out.append(NowAnswers(r.outcome, None, None))
        return out

    return await in_match_thread(run)


@router.get("/console/kb/suggestions")
async def suggestions(request: Request, db: ConsoleDB, user: AdminUser, status: str = "new", entry: str = "",
                      page: int = 1) -> Response:
    if status not in SUGGESTION_TABS:
        status = "new"
    page = max(1, min(page, 10_000))
    entry_id = entry.strip()[:100] or None
    items, total = await kb_suggestions.list_suggestions(db, status=status, entry_id=entry_id,
                                                         limit=SUGGESTIONS_PAGE, offset=(page - 1) * SUGGESTIONS_PAGE)
    pages = max(1, -(-total // SUGGESTIONS_PAGE))
    now = await _now_answers(request, db, [i.text for i in items]) if status == "new" else []
    return render(request, "kb_suggestions.html", items=items, total=total, status=status, tabs=SUGGESTION_TABS,
                  entry_id=entry_id, page=page, pages=pages, window=page_window(page, pages),
                  now_answers=dict(zip((i.id for i in items), now)))


def _back_to_suggestions(entry: str) -> str:
    entry = entry.strip()[:100]
    return "/console/kb/suggestions" + (f"?entry={entry}" if entry else "")


@router.post("/console/kb/suggestions/{suggestion_id}/accept")
async def suggestion_accept(request: Request, db: ConsoleDB, user: PostAdmin, suggestion_id: int,
                            text: Annotated[str, Form(max_length=2000)] = "",
                            entry: Annotated[str, Form(max_length=100)] = "") -> Response:
    done = await kb_suggestions.accept(db, suggestion_id=suggestion_id, author=_author(request),
                                       text=text if text.strip() else None)
    state = ("게시했습니다" if done.published
             else "초안으로 저장했습니다 (게시되지 않은 수정이 있어 함께 검토 후 게시해 주세요)")
    return redirect(request, _back_to_suggestions(entry),
                    f"질문 표현을 {done.entry_id} 항목에 더해 {done.revision}판으로 {state}.")


@router.post("/console/kb/suggestions/{suggestion_id}/reject")
async def suggestion_reject(request: Request, db: ConsoleDB, user: PostAdmin, suggestion_id: int,
                            entry: Annotated[str, Form(max_length=100)] = "") -> Response:
    await kb_suggestions.reject(db, suggestion_id=suggestion_id, author=_author(request))
    return redirect(request, _back_to_suggestions(entry), "제안을 거절했습니다. 같은 표현은 다시 제안되지 않습니다.")
