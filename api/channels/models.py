"""What the web chat keeps besides the conversation every channel has: each anonymous session (when the owner
agreed to the use of what they write, and the centre whose website they came from) and what the owner wrote, so
that a page opened again shows the whole conversation. The replies are the outbox's rows of the session's chat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigIntPK, UTCDateTime, utcnow


class WebSession(Base):
    """An anonymous web chat session: ``address`` (a random token, in the owner's signed cookie) is the chat's
    address in channel ``web``; ``consented_at`` records the owner's agreement, given before anything was kept."""

    __tablename__ = "web_sessions"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    centre_code: Mapped[str | None] = mapped_column(String(32))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class WebMessage(Base):
    """A message the owner wrote (or the label of a button they pressed) in the web chat, for its history."""

    __tablename__ = "web_messages"
    __table_args__ = (Index("ix_web_messages_chat", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("web_sessions.chat_id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
