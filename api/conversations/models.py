from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, UTCDateTime, utcnow


class Conversation(Base):
    """Where an owner's chat is in its conversation (``api.conversations.state.ChatState`` as JSON). The row is
    locked while an update of the chat is processed, so a chat's updates are handled one at a time, in order,
    whichever API process receives them."""

    __tablename__ = "conversations"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ChannelUpdate(Base):
    """An update a channel delivered (a Telegram update id, a KakaoTalk request, a web chat message), recorded in
    the transaction that processed it: an update delivered again is recognised and not processed twice.
    ``replies`` holds the outbox ids it produced, for channels that answer in the response (a repeated request
    gets the same answer)."""

    __tablename__ = "channel_updates"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    replies: Mapped[list | None] = mapped_column(JSON)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
