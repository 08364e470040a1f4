"""Request and response bodies of the knowledge-base API (``/api/v1/ask``, ``/api/v1/kb``, ``/api/v1/admin/kb``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from knowledge.loader import Entry
from knowledge.years import answer_text, year_note

# --------------------------------------------------------------------------- asking


class AskIn(BaseModel):
    text: str = Field(description="the owner's question, 1..2000 characters after trimming")
    chat_id: int | None = Field(default=None, description="the owner's chat (service token only)")
    context_entry_id: str | None = Field(
        default=None, max_length=100,
        description="the entry the owner was answered with (or picked) just before: a short follow-up "
                    "(\"그럼 한도는요?\") is read with its topic; an unknown id is ignored")


class AnswerOut(BaseModel):
    entry_id: str
    topic: str
    title: str
    text: str = Field(description="the answer as owners see it: when it describes an older year than the programme "
                                  "year, its first line says so (``year_note``)")
    source: str = Field(description="the source link")
    source_title: str
    year: int | None = Field(description="the programme year the answer describes")
    year_note: str | None = Field(description="the first line of ``text`` when ``year`` is older than the programme "
                                              "year (already in ``text``), else null")
    programme_year: int = Field(description="the programme year answers are for (HOTLINE_PROGRAMME_YEAR)")
    history_of: str | None = Field(description="for an earlier year's rule: the current entry it belongs to")
    reviewed_on: date | None = Field(description="when the answer was last checked against its source")
    valid_from: date | None
    valid_to: date | None

    @classmethod
    def of(cls, e: Entry, *, programme_year: int, current: Entry | None = None) -> "AnswerOut":
        """``current``: the current entry of a history entry ``e`` (named in the year note)."""
        return cls(entry_id=e.id, topic=e.topic, title=e.title, text=answer_text(e, programme_year, current),
                   source=e.source_url, source_title=e.source_title, year=e.year,
                   year_note=year_note(e, programme_year, current), programme_year=programme_year,
                   history_of=e.history_of, reviewed_on=e.reviewed_on, valid_from=e.valid_from, valid_to=e.valid_to)


class CandidateOut(BaseModel):
    entry_id: str
    topic: str
    title: str
    score: float


class FactsOut(BaseModel):
    """What the owner said about the company before the question (null: not said), as written."""

    region: str | None = Field(default=None, description="e.g. \"경남 진주\", \"시화산단\": route it with the centres' routing")
    company: str | None = None
    industry: str | None = None
    employees: int | None = None
    years: int | None = Field(default=None, description="years in business")


class AskOut(BaseModel):
    outcome: Literal["answered", "clarify", "escalate"]
    kind: str = Field(description="question | greeting | thanks | chitchat | empty")
    answer: AnswerOut | None
    candidates: list[CandidateOut]
    score: float
    ask_log_id: int
    in_scope: float = Field(default=0.0, description="chance that the question is about the programme at all")
    followup: Literal["followed", "changed"] | None = Field(
        default=None, description="with context_entry_id: read as a follow-up of it, or another subject")
    facts: FactsOut = Field(default_factory=FactsOut)


class FeedbackIn(BaseModel):
    helpful: bool


class FeedbackOut(BaseModel):
    ask_log_id: int
    feedback: Literal["up", "down"]


# --------------------------------------------------------------------------- admin: entries


class EntryFields(BaseModel):
    """An entry's content as the console edits it (every field of a revision)."""

    title: str
    paraphrases: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    answer: str
    source_title: str = ""
    source_url: str = ""
    year: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    reviewed_on: date | None = Field(default=None, description="when the answer was checked against its source")
    history_of: str | None = Field(default=None, description="for an earlier year's rule: its current entry's id")


class EntryCreateIn(EntryFields):
    id: str = Field(description="kebab-case, unique, stable forever")
    topic: str
    publish: bool = False
    note: str = ""


class RevisionIn(EntryFields):
    topic: str | None = Field(default=None, description="change the entry's topic (optional)")
    publish: bool = False
    note: str = ""
    base_revision: int | None = Field(
        default=None, description="the revision number the edit started from; 409 when someone saved since")


class PublishIn(BaseModel):
    revision: int | None = Field(default=None, description="revision number; default the latest")


class RollbackIn(BaseModel):
    to_revision: int
    publish: bool = True
    note: str = ""


class RevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int
    title: str
    paraphrases: list[str]
    keywords: list[str]
    answer: str
    source_title: str
    source_url: str
    year: int | None
    valid_from: date | None
    valid_to: date | None
    reviewed_on: date | None
    history_of: str | None
    author_id: int | None
    author_label: str
    note: str
    created_at: datetime


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    revision_id: int | None
    actor_id: int | None
    actor_label: str
    detail: dict
    created_at: datetime


class EntrySummaryOut(BaseModel):
    id: str
    topic: str
    title: str
    status: Literal["published", "unpublished"]
    published_revision: int | None
    latest_revision: int
    has_unpublished_changes: bool
    expired: bool
    valid_to: date | None
    paraphrase_count: int
    updated_at: datetime
    year: int | None
    reviewed_on: date | None
    history_of: str | None
    stale: list[Literal["year", "review", "unreviewed"]] = Field(
        description="why the latest revision needs a look: an older year than the programme year (current entries), "
                    "a review more than a year old, or no review date; empty when fresh")


class EntryDetailOut(BaseModel):
    summary: EntrySummaryOut
    revisions: list[RevisionOut] = Field(description="oldest first")
    events: list[EventOut] = Field(description="the entry's history (created, revised, published, ...), oldest first")


class DiffOut(BaseModel):
    entry_id: str
    from_revision: int
    to_revision: int
    changed: list[str]
    diff: str


# --------------------------------------------------------------------------- admin: preview, synonyms, report


class DraftIn(BaseModel):
    entry_id: str | None = Field(default=None, description="an existing entry to replace, or a new id")
    topic: str | None = None
    title: str | None = None
    paraphrases: list[str] | None = None
    keywords: list[str] | None = None
    answer: str | None = None
    source_title: str | None = None
    source_url: str | None = None
    year: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    reviewed_on: date | None = None
    history_of: str | None = None


class PreviewIn(BaseModel):
    text: str
    draft: DraftIn | None = None


class PreviewOut(BaseModel):
    outcome: str
    kind: str
    entry_id: str | None
    topic: str | None
    title: str | None
    score: float
    candidates: list[CandidateOut]
    draft_entry_id: str | None
    draft_rank: int | None = Field(description="1-based place of the draft among the candidates, null if absent")
    signals: dict[str, float]


class SynonymIn(BaseModel):
    term: str
    variant: str


class SynonymOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    term: str
    variant: str
    created_by: int | None
    created_at: datetime


class GroupActionOut(BaseModel):
    action: Literal["add_paraphrases", "new_entry"]
    label: str
    entry_id: str | None = None


class UnansweredGroupOut(BaseModel):
    count: int
    escalated: int = Field(description="questions the bot found nothing for")
    clarified: int = Field(description="questions the bot asked back about (candidates offered)")
    to_staff: int = Field(description="questions that became a ticket (the owner asked for a person)")
    thumbs_down: int
    examples: list[str]
    ask_log_ids: list[int]
    last_asked_at: datetime
    suggested_entry_id: str | None = Field(description="set only when the matcher's candidates support the entry")
    suggested_entry_title: str | None
    suggestion_score: float | None = Field(description="that support, 0..1")
    actions: list[GroupActionOut]


class AskLogIdsIn(BaseModel):
    ask_log_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=500)


class AddParaphrasesIn(AskLogIdsIn):
    entry_id: str
    publish: bool = True
    base_revision: int | None = Field(default=None, description="the revision a preview showed (409 if changed)")


class QuestionPreviewOut(BaseModel):
    text: str
    outcome: str
    answered_by: str | None
    rank: int | None


class ParaphrasePreviewOut(BaseModel):
    entry_id: str
    entry_title: str
    latest_revision: int
    added: list[str]
    skipped: list[str]
    questions: list[QuestionPreviewOut]


class AddParaphrasesOut(BaseModel):
    entry_id: str
    revision: int
    added: list[str]
    skipped: list[str]


class DraftOut(BaseModel):
    title: str
    paraphrases: list[str]
    keywords: list[str]
    suggested_topic: str | None
    ask_log_ids: list[int]


# --------------------------------------------------------------------------- suggested paraphrases


class SuggestionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entry_id: str
    entry_title: str
    text: str
    source: Literal["pick", "helpful", "staff"] = Field(
        description="what suggested it first: a clarify candidate tapped, a 👍, a ticket resolved citing the entry")
    seen: int = Field(description="how many times owners' questions suggested this phrasing")
    status: Literal["new", "accepted", "rejected"]
    created_at: datetime
    decided_at: datetime | None
    revision_id: int | None


class SuggestionPageOut(BaseModel):
    total: int
    items: list[SuggestionOut]


class AcceptSuggestionIn(BaseModel):
    text: str | None = Field(default=None, max_length=2000,
                             description="the phrasing as the admin corrected it (default: as suggested)")


class AcceptedSuggestionOut(BaseModel):
    entry_id: str
    revision: int
    published: bool = Field(description="false: saved as a draft, because the entry has a newer unpublished "
                                        "revision or is not served")
