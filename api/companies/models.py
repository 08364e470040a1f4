from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigIntPK, UTCDateTime, utcnow


class Company(Base):
    """A company (by business number, or by chat when it has none) with its factory address and centre."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    business_number: Mapped[str | None] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    region_sido: Mapped[str | None] = mapped_column(String(50))
    region_sigungu: Mapped[str | None] = mapped_column(String(50))
    center_id: Mapped[int | None] = mapped_column(ForeignKey("centers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OwnerChat(Base):
    """A company owner's Telegram chat (or local chat), linked to their company once known."""

    __tablename__ = "owner_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
