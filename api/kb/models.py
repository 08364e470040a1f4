from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, BigInteger, Boolean, Date, Float, ForeignKey, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigIntPK, UTCDateTime, utcnow


class KbEntry(Base):
    """A FAQ entry. Its content lives in immutable revisions; ``published_revision_id`` is what is served."""

    __tablename__ = "kb_entries"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), index=True)
    published_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_revisions.id", use_alter=True, name="fk_kb_entries_published_revision_id_kb_revisions")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class KbRevision(Base):
    """One saved version of an entry (never updated or deleted: the entry's history)."""

    __tablename__ = "kb_revisions"
    __table_args__ = (UniqueConstraint("entry_id", "number"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("kb_entries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    paraphrases: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    source_title: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str] = mapped_column(Text, default="")
    year: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    history_of: Mapped[str | None] = mapped_column(String(100))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    author_label: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KbSynonym(Base):
    """A variant owners type for a canonical term (스공 → 스마트공장)."""

    __tablename__ = "kb_synonyms"
    __table_args__ = (UniqueConstraint("term", "variant"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    term: Mapped[str] = mapped_column(String(100), index=True)
    variant: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AskLog(Base):
    """Every question asked, with what the matcher made of it (calibration and the unanswered report)."""

    __tablename__ = "ask_logs"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    channel: Mapped[str] = mapped_column(String(16), default="web")
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="question")
    entry_id: Mapped[str | None] = mapped_column(String(100))
    topic: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    candidates: Mapped[list[dict]] = mapped_column(JSON, default=list)
    feedback: Mapped[str | None] = mapped_column(String(8))
    picked_entry_id: Mapped[str | None] = mapped_column(String(100))  # a clarify candidate the owner chose
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The bot's Idempotency-Key: a question retried after a timeout is logged (and answered) once.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)


class KbEvent(Base):
    """Append-only log of every knowledge-base change: who created, revised, published, unpublished or
    rolled back an entry, and synonym changes (``entry_id`` null). Besides being the audit trail it is
    the KB's version stamp: ``count(*)`` and ``max(id)`` change with every committed change, which is
    what the matcher cache of each process polls."""

    __tablename__ = "kb_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entry_id: Mapped[str | None] = mapped_column(ForeignKey("kb_entries.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("kb_revisions.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor_label: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class KbSuggestion(Base):
    """A phrasing owners used for an entry, learned from traffic: a clarify candidate tapped, an answer given 👍,
    a ticket a staff member resolved citing the entry. Never published by itself: an admin accepts it (a new
    revision of the entry) or rejects it. One row per entry and phrasing (``key``: spacing and punctuation aside);
    ``seen`` counts how often it came up."""

    __tablename__ = "kb_suggestions"
    __table_args__ = (UniqueConstraint("entry_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("kb_entries.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(64))  # api.kb.suggestions.phrasing_key
    source: Mapped[str] = mapped_column(String(16))  # pick | helpful | staff (the first time it came up)
    seen: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)  # new | accepted | rejected
    ask_log_id: Mapped[int | None] = mapped_column(BigInteger)
    ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    revision_id: Mapped[int | None] = mapped_column(BigInteger)  # the revision an accepted suggestion made

