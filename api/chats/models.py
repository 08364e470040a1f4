from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, UTCDateTime, utcnow


class Chat(Base):
    """A conversation endpoint in one channel: an owner's Telegram chat, KakaoTalk user, web chat session, local
    terminal, or a centre's Telegram staff group.

    ``id`` is the chat id every other table uses (tickets, conversations, the outbox, the ask log). A Telegram or
    local chat keeps its own number as its id; chats of channels whose addresses are not numbers (KakaoTalk's
    botUserKey, a web session) get ids from ``ALLOCATED_MIN`` up. ``address`` is the chat as its channel knows it."""

    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
