"""Knowledge-base endpoints: asking (public and the bot), the public entry, and the admin KB API."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.exceptions import HTTPException

from api.auth.deps import AdminPrincipal, CallerPrincipal, ServicePrincipal, SessionDep
from api.centers import service as centers_service
from api.centers.contact import CENTRE_TOPICS
from api.db import SessionOpenerDep
from api.errors import Forbidden, Unauthorized, Unprocessable
from api.kb import asklog
from api.kb import entries as kb_entries
from api.kb import preview as kb_preview
from api.kb import suggestions as kb_suggestions
from api.kb import synonyms as kb_synonyms
from api.kb import unanswered as kb_unanswered
from api.kb.cache import get_cache, in_match_thread
from api.kb.schemas import (AcceptedSuggestionOut, AcceptSuggestionIn, AddParaphrasesIn, AddParaphrasesOut,
                            AnswerOut, AskIn, AskLogIdsIn, AskOut, CandidateOut, DiffOut, DraftOut, EntryCreateIn,
                            EntryDetailOut, EntrySummaryOut, EventOut, FactsOut, FeedbackIn, FeedbackOut,
                            GroupActionOut, ParaphrasePreviewOut, PreviewIn, PreviewOut, PublishIn, QuestionPreviewOut,
                            RevisionIn, RevisionOut, RollbackIn, SuggestionOut, SuggestionPageOut, SynonymIn,
                            SynonymOut, UnansweredGroupOut)
from knowledge import years
from knowledge.matcher import Context

public = APIRouter(tags=["ask"])
admin = APIRouter(prefix="/api/v1/admin/kb", tags=["knowledge base (admin)"])


def _candidates(result) -> list[CandidateOut]:
    return [CandidateOut(entry_id=c.entry_id, topic=c.topic, title=c.title, score=c.score)
            for c in result.candidates[:3]]


@public.post("/api/v1/ask", response_model=AskOut)
async def ask(body: AskIn, request: Request, open_session: SessionOpenerDep, principal: CallerPrincipal) -> Response:
    """Answer a company owner's question from the knowledge base.

    * ``answered``: ``answer`` holds the entry; ``clarify``: ``candidates`` (top 3) to offer as buttons;
      ``escalate``: nothing fits (``kind`` tells a real question from a greeting, thanks or chit-chat;
      ``in_scope`` how likely the question is about the programme at all).
    * ``facts``: what the owner said about the company before asking (region, company, industry, employees,
      years), so the conversation can route the question and need not ask again.
    * ``context_entry_id`` (the entry answered or picked just before) lets a short follow-up ("그럼 한도는요?")
      be read with its topic; ``followup`` then says whether it was (``followed``) or was another subject
      (``changed``).
    * Anyone may ask; callers other than the bot (service token) are limited per IP
      (``HOTLINE_ASK_RATE_PER_MINUTE``, 429 with ``Retry-After``).
    * ``chat_id`` is accepted from the bot only (401 without credentials, 403 for anyone else): it ties the
      question to a chat.
    * An answer that describes an older year than the programme year (``HOTLINE_PROGRAMME_YEAR``) says so in the
      first line of its ``text`` (``answer.year_note``). When the question names a year ("2025년에는", "작년에") and
      the matched entry has an earlier year's rule for it, that rule is the answer.
    * When the owner picks a clarify button, the bot fetches that entry with
      ``GET /api/v1/kb/entries/{entry_id}``; 👍/👎 go to ``POST /api/v1/ask/{ask_log_id}/feedback``.
    * Every question is logged (``ask_log_id``) with its outcome, candidates and scores. The bot may send an
      ``Idempotency-Key`` header: a retry with the same key is answered again but logged once (same ``ask_log_id``).
    """
    if body.chat_id is not None and not principal.is_service:
        if principal.kind == "anonymous":
            raise Unauthorized("chat_id는 봇 서비스만 보낼 수 있습니다. 서비스 토큰으로 인증해 주세요.")
        raise Forbidden("chat_id는 봇 서비스만 보낼 수 있습니다.")
    if not principal.is_service:
        client = request.client.host if request.client else "unknown"
        verdict = await request.app.state.rate_limits.ask_by_ip(client)
        if not verdict.allowed:
            raise HTTPException(429, detail=f"질문이 너무 많습니다. {verdict.retry_after}초 후에 다시 시도해 주세요.",
                                headers={"Retry-After": str(verdict.retry_after)})
    text = body.text.strip()
    if not text:
        raise Unprocessable("질문 내용을 입력해 주세요.", code="validation_error")
    if len(text) > asklog.MAX_QUESTION_CHARS:
        raise Unprocessable(f"질문이 너무 깁니다. {asklog.MAX_QUESTION_CHARS}자 이내로 줄여 주세요. (지금 {len(text)}자)",
                            code="validation_error")
    key = request.headers.get("idempotency-key") if principal.is_service else None
    if key is not None and not (0 < len(key) <= 100):
        raise Unprocessable("Idempotency-Key는 1~100자여야 합니다.", code="invalid_idempotency_key")
    # No session of its own: the caller needs none (the service token), the KB version is checked every few
    # seconds, and everything /ask writes goes through the ask-log writer on connections of its own.
    cache = get_cache(request.app)
    matcher = await cache.current(open_session)
    history = cache.history
    today = kb_entries.kst_today()
    context = Context(entry_id=body.context_entry_id) if body.context_entry_id else None
    result = matcher.cached(text, today=today, context=context)
    if result is None:  # analyse off the event loop
        result = await in_match_thread(matcher.match, text, today=today, context=context)
    programme_year = request.app.state.settings.current_programme_year()
    answer = None
    if result.outcome == "answered" and result.entry:
        entry = years.for_year(result.entry, years.named_year(text, programme_year), history, today=today)
        result = dataclasses.replace(result, entry=entry)  # the log records the entry served
        answer = AnswerOut.of(entry, programme_year=programme_year, current=history.current_of(entry))
    channel = "bot" if principal.is_service else ("staff" if principal.is_staff else "web")
    row = asklog.ask_log_row(text=text, result=result, chat_id=body.chat_id, channel=channel, idempotency_key=key)
    ask_log_id = await asklog.get_writer(request.app).write(row)
    if answer is not None and result.entry.topic in CENTRE_TOPICS:
        async with open_session() as session:
            note = await centers_service.routing_answer(session, text)  # "포항에 공장있는데 어느센터로 가요"
        if note:
            answer.text = f"{answer.text}\n\n{note}"
    out = AskOut(outcome=result.outcome, kind=result.kind, answer=answer, candidates=_candidates(result),
                 score=round(float(result.score), 4), ask_log_id=ask_log_id, in_scope=result.in_scope,
                 followup=result.followup, facts=FactsOut(**result.facts.as_dict()))
    # Serialised here, once: returned as a model, FastAPI would validate it against response_model again.
    return Response(out.model_dump_json(), media_type="application/json")


@public.post("/api/v1/ask/{ask_log_id}/feedback", response_model=FeedbackOut)
async def feedback(ask_log_id: Annotated[int, Path(ge=1, le=2**63 - 1)], body: FeedbackIn, session: SessionDep,
                   _: ServicePrincipal) -> FeedbackOut:
    """The owner's 👍 (``helpful: true``) or 👎 on an answer, relayed by the bot. 👎 answers appear in the
    unanswered-questions report; a 👍 suggests the question as a paraphrase of the entry (``api.kb.suggestions``)."""
    row = await asklog.set_feedback(session, ask_log_id=ask_log_id, helpful=body.helpful)
    await kb_suggestions.learn_from_feedback(session, ask_log=row)
    return FeedbackOut(ask_log_id=row.id, feedback=row.feedback)


@public.get("/api/v1/kb/entries/{entry_id}", response_model=AnswerOut)
async def public_entry(entry_id: str, request: Request, session: SessionDep) -> AnswerOut:
    """A published entry that is valid today (404 otherwise), in the shape of ``/ask``'s ``answer`` (the year note
    included): what the bot shows when the owner picks a clarify candidate. Public, like the knowledge itself."""
    entry, current = await kb_entries.public_answer(session, entry_id=entry_id)
    return AnswerOut.of(entry, programme_year=request.app.state.settings.current_programme_year(), current=current)


# --------------------------------------------------------------------------- admin


def _summary_out(s: kb_entries.EntrySummary, request: Request) -> EntrySummaryOut:
    programme_year = request.app.state.settings.current_programme_year()
    return EntrySummaryOut(**s.__dict__, stale=list(s.stale(programme_year, kb_entries.kst_today())))


def _detail_out(d: kb_entries.EntryDetail, request: Request) -> EntryDetailOut:
    return EntryDetailOut(summary=_summary_out(d.summary, request),
                          revisions=[RevisionOut.model_validate(r) for r in d.revisions],
                          events=[EventOut.model_validate(e) for e in d.events])


@admin.get("/entries", response_model=list[EntrySummaryOut])
async def list_entries(request: Request, session: SessionDep, _: AdminPrincipal,
                       q: Annotated[str | None, Query(max_length=200)] = None,
                       topic: Annotated[str | None, Query(max_length=64)] = None,
                       status: Literal["published", "unpublished", "changed", "expired", "stale"] | None = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                       offset: Annotated[int, Query(ge=0)] = 0) -> list[EntrySummaryOut]:
    """Entries with their latest revision; ``q`` searches the text (spacing-insensitive); ``status=stale``: the
    entries whose year is older than the programme year or whose review is more than a year old (``stale``)."""
    rows = await kb_entries.list_entries(session, q=q, topic=topic, status=status, limit=limit, offset=offset,
                                         programme_year=request.app.state.settings.current_programme_year())
    return [_summary_out(s, request) for s in rows]


@admin.post("/entries", response_model=EntryDetailOut, status_code=201)
async def create_entry(request: Request, body: EntryCreateIn, session: SessionDep,
                       principal: AdminPrincipal) -> EntryDetailOut:
    await kb_entries.create_entry(session, entry_id=body.id, topic=body.topic, title=body.title,
                                  paraphrases=body.paraphrases, keywords=body.keywords, answer=body.answer,
                                  source_title=body.source_title, source_url=body.source_url, year=body.year,
                                  valid_from=body.valid_from, valid_to=body.valid_to, reviewed_on=body.reviewed_on,
                                  history_of=body.history_of, author=principal.staff,
                                  publish=body.publish, note=body.note)
    return _detail_out(await kb_entries.get_entry(session, entry_id=body.id), request)


@admin.get("/entries/{entry_id}", response_model=EntryDetailOut)
async def get_entry(request: Request, entry_id: str, session: SessionDep, _: AdminPrincipal) -> EntryDetailOut:
    return _detail_out(await kb_entries.get_entry(session, entry_id=entry_id), request)


@admin.post("/entries/{entry_id}/revisions", response_model=EntryDetailOut)
async def save_revision(request: Request, entry_id: str, body: RevisionIn, session: SessionDep,
                        principal: AdminPrincipal) -> EntryDetailOut:
    """Save an edit as a new revision (``publish`` to serve it now; ``base_revision`` guards against
    overwriting someone else's newer save)."""
    fields = body.model_dump(exclude={"publish", "note", "base_revision", "topic"})
    await kb_entries.save_revision(session, entry_id=entry_id, author=principal.staff, publish=body.publish,
                                   note=body.note, base_revision=body.base_revision,
                                   topic=body.topic if body.topic else kb_entries.KEEP, **fields)
    return _detail_out(await kb_entries.get_entry(session, entry_id=entry_id), request)


@admin.post("/entries/{entry_id}/publish", response_model=EntryDetailOut)
async def publish(request: Request, entry_id: str, body: PublishIn, session: SessionDep,
                  principal: AdminPrincipal) -> EntryDetailOut:
    await kb_entries.publish(session, entry_id=entry_id, revision=body.revision, author=principal.staff)
    return _detail_out(await kb_entries.get_entry(session, entry_id=entry_id), request)


@admin.post("/entries/{entry_id}/unpublish", response_model=EntryDetailOut)
async def unpublish(request: Request, entry_id: str, session: SessionDep, principal: AdminPrincipal) -> EntryDetailOut:
    await kb_entries.unpublish(session, entry_id=entry_id, author=principal.staff)
    return _detail_out(await kb_entries.get_entry(session, entry_id=entry_id), request)


@admin.post("/entries/{entry_id}/rollback", response_model=EntryDetailOut)
async def rollback(request: Request, entry_id: str, body: RollbackIn, session: SessionDep,
                   principal: AdminPrincipal) -> EntryDetailOut:
    """A new revision copying an old one (and published, unless ``publish`` is false)."""
    await kb_entries.rollback(session, entry_id=entry_id, to_revision=body.to_revision, author=principal.staff,
                              publish=body.publish, note=body.note)
    return _detail_out(await kb_entries.get_entry(session, entry_id=entry_id), request)


@admin.get("/entries/{entry_id}/diff", response_model=DiffOut)
async def diff(entry_id: str, session: SessionDep, _: AdminPrincipal,
               from_revision: Annotated[int, Query(alias="from")],
               to_revision: Annotated[int, Query(alias="to")]) -> DiffOut:
    d = await kb_entries.diff(session, entry_id=entry_id, from_revision=from_revision, to_revision=to_revision)
    return DiffOut(**d.__dict__)


@admin.post("/preview", response_model=PreviewOut)
async def preview(body: PreviewIn, session: SessionDep, _: AdminPrincipal) -> PreviewOut:
    """What a question would match against the published KB with ``draft`` applied (nothing is saved)."""
    draft = body.draft.model_dump(exclude_none=True) if body.draft else None
    p = await kb_preview.preview(session, text=body.text, draft=draft)
    r = p.result
    return PreviewOut(outcome=r.outcome, kind=r.kind, entry_id=r.entry.id if r.entry else None,
                      topic=r.entry.topic if r.entry else None, title=r.entry.title if r.entry else None,
                      score=round(float(r.score), 4), candidates=_candidates(r), draft_entry_id=p.draft_entry_id,
                      draft_rank=p.draft_rank, signals={k: round(float(v), 4) for k, v in r.signals.items()
                               if isinstance(v, (int, float))})


@admin.get("/synonyms", response_model=list[SynonymOut])
async def list_synonyms(session: SessionDep, _: AdminPrincipal) -> list[SynonymOut]:
    return [SynonymOut.model_validate(s) for s in await kb_synonyms.list_synonyms(session)]


@admin.post("/synonyms", response_model=SynonymOut, status_code=201)
async def add_synonym(body: SynonymIn, session: SessionDep, principal: AdminPrincipal) -> SynonymOut:
    return SynonymOut.model_validate(
        await kb_synonyms.add_synonym(session, term=body.term, variant=body.variant, author=principal.staff))


@admin.delete("/synonyms/{synonym_id}", status_code=204)
async def remove_synonym(synonym_id: Annotated[int, Path(ge=1, le=2**63 - 1)], session: SessionDep,
                         principal: AdminPrincipal) -> None:
    await kb_synonyms.remove_synonym(session, synonym_id=synonym_id, author=principal.staff)


@admin.get("/unanswered", response_model=list[UnansweredGroupOut])
async def unanswered(request: Request, session: SessionDep, _: AdminPrincipal,
                     days: Annotated[int, Query(ge=1, le=365)] = 30,
                     limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[UnansweredGroupOut]:
    """Questions the bot did not answer in the last ``days`` days (escalated, clarified, 👎, or made into a ticket),
    grouped by similarity, biggest first; a group suggests an entry only when the matcher's candidates support it."""
    matcher = await get_cache(request.app).get(session)
    groups = await kb_unanswered.unanswered_report(session, days=days, limit=limit, rarity=matcher.kb_rarity)
    return [UnansweredGroupOut(**{**g.__dict__, "actions": [GroupActionOut(**a) for a in g.actions]})
            for g in groups]


@admin.post("/unanswered/add-paraphrases/preview", response_model=ParaphrasePreviewOut)
async def preview_paraphrases(body: AddParaphrasesIn, session: SessionDep, _: AdminPrincipal) -> ParaphrasePreviewOut:
    """What "add as paraphrases of entry X" would do (nothing is saved): paraphrases added and skipped, and how
    the bot would then answer each question; send ``latest_revision`` back as ``base_revision``."""
    p = await kb_unanswered.preview_paraphrases(session, entry_id=body.entry_id, ask_log_ids=body.ask_log_ids)
    return ParaphrasePreviewOut(**{**p.__dict__, "questions": [QuestionPreviewOut(**q.__dict__) for q in p.questions]})


@admin.post("/unanswered/add-paraphrases", response_model=AddParaphrasesOut)
async def add_paraphrases(body: AddParaphrasesIn, session: SessionDep, principal: AdminPrincipal) -> AddParaphrasesOut:
    """The report's "add as paraphrases of entry X" action: one new revision; the questions leave the report."""
    r = await kb_unanswered.add_paraphrases_from_logs(session, entry_id=body.entry_id, ask_log_ids=body.ask_log_ids,
                                                      author=principal.staff, publish=body.publish,
                                                      base_revision=body.base_revision)
    return AddParaphrasesOut(entry_id=r.entry_id, revision=r.revision.number, added=r.added, skipped=r.skipped)


@admin.post("/unanswered/draft", response_model=DraftOut)
async def draft(body: AskLogIdsIn, session: SessionDep, _: AdminPrincipal) -> DraftOut:
    """The report's "start a new entry from these" action: a prefilled entry to complete and create (nothing
    is saved; dismiss the questions afterwards)."""
    d = await kb_unanswered.draft_from_logs(session, ask_log_ids=body.ask_log_ids)
    return DraftOut(**d.__dict__)


@admin.post("/unanswered/dismiss", status_code=204)
async def dismiss(body: AskLogIdsIn, session: SessionDep, _: AdminPrincipal) -> None:
    """Take questions out of the report (reviewed)."""
    await kb_unanswered.mark_reviewed(session, ask_log_ids=body.ask_log_ids)


SuggestionIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


@admin.get("/suggestions", response_model=SuggestionPageOut)
async def list_suggestions(session: SessionDep, _: AdminPrincipal,
                           status: Literal["new", "accepted", "rejected"] = "new",
                           entry_id: Annotated[str | None, Query(max_length=100)] = None,
                           limit: Annotated[int, Query(ge=1, le=500)] = 50,
                           offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> SuggestionPageOut:
    """Phrasings owners used for an entry (a clarify candidate tapped, a 👍, a ticket resolved citing the entry),
    most often seen first."""
    items, total = await kb_suggestions.list_suggestions(session, status=status, entry_id=entry_id, limit=limit,
                                                         offset=offset)
    return SuggestionPageOut(total=total, items=[SuggestionOut.model_validate(i) for i in items])


@admin.post("/suggestions/{suggestion_id}/accept", response_model=AcceptedSuggestionOut)
async def accept_suggestion(suggestion_id: SuggestionIdPath, session: SessionDep, principal: AdminPrincipal,
                            body: AcceptSuggestionIn | None = None) -> AcceptedSuggestionOut:
    """Add the phrasing (or ``text``, the admin's correction) to the entry's paraphrases: a new revision,
    published when the entry's served revision was its latest (otherwise a draft)."""
    done = await kb_suggestions.accept(session, suggestion_id=suggestion_id, author=principal.staff,
                                       text=body.text if body else None)
    return AcceptedSuggestionOut(**dataclasses.asdict(done))


@admin.post("/suggestions/{suggestion_id}/reject", status_code=204)
async def reject_suggestion(suggestion_id: SuggestionIdPath, session: SessionDep, principal: AdminPrincipal) -> None:
    """Reject the phrasing; it is not suggested for the entry again."""
    await kb_suggestions.reject(session, suggestion_id=suggestion_id, author=principal.staff)


router = APIRouter()
router.include_router(public)
router.include_router(admin)
