from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigIntPK, UTCDateTime, utcnow


class Center(Base):
    """A regional smart manufacturing innovation centre (스마트제조혁신센터) and its hotline queue."""

    __tablename__ = "centers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    host: Mapped[str] = mapped_column(String(100))
    # Contacts owners are given (api.centers.contact); empty until a public source or an admin fills them.
    phone: Mapped[str | None] = mapped_column(String(30))
    address: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    office_hours: Mapped[str | None] = mapped_column(String(100))
    opens: Mapped[time] = mapped_column(Time, default=time(9))
    closes: Mapped[time] = mapped_column(Time, default=time(18))
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CenterClosure(Base):
    """An extra day a centre is closed (on top of weekends and public holidays)."""

    __tablename__ = "center_closures"
    __table_args__ = (UniqueConstraint("center_id", "day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")


class CenterEvent(Base):
    """Append-only record of a change to a centre's settings (contacts, hours, staff group): who, when, and each
    changed field's value before and after (``detail``: ``{field: [before, after]}``)."""

    __tablename__ = "center_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor_label: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
