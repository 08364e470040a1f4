from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, BigIntPK, UTCDateTime, utcnow

ROLES = ("admin", "agent")


class Staff(Base):
    """A centre agent or an admin who signs in to the console or the API."""

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'agent')", name="role"),
        CheckConstraint("role = 'admin' OR center_id IS NOT NULL", name="agent_has_center"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    center_id: Mapped[int | None] = mapped_column(ForeignKey("centers.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # API tokens issued before this instant are refused (set when the staff member signs out of the console).
    tokens_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
