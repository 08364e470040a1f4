from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, UTCDateTime, utcnow


class Conversation(Base):
    """Where an owner's chat is in a flow (e.g. the escalation questions), so any bot process can continue it."""

    __tablename__ = "conversations"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ProcessedUpdate(Base):
    """A Telegram update already taken by a bot process: an update delivered twice is processed once."""

    __tablename__ = "telegram_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), default="processing")
    # Who holds a "processing" claim (a bot process's token): the same claimer asking again gets it again.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
