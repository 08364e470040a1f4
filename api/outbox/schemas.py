from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LeaseIn(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)
    lease_seconds: float = Field(default=60, ge=1, le=300)
    chat_id: int | None = Field(default=None, ge=-(2**63) + 1, le=2**63 - 1,
                                description="only this chat's messages (a local terminal chat); "
                                "without it, every chat Telegram can reach")


class LeasedOut(BaseModel):
    id: int
    chat_id: int
    text: str
    buttons: list[list[dict]] | None = Field(
        description='inline keyboard rows: [[{"text": "…", "callback_data": "…"}, …], …]')
    kind: str
    ticket_id: int | None
    attempts: int
    lease_token: str
    lease_until: datetime


class SentIn(BaseModel):
    telegram_message_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


class FailedIn(BaseModel):
    lease_token: str = Field(min_length=1, max_length=64)
    error: str = Field(default="", max_length=4000)
    retry_after: float | None = Field(default=None, ge=0, le=86400,
                                      description="Telegram's flood-control wait; not counted as an attempt")
    permanent: bool = Field(default=False, description="Telegram refused for good (bot blocked, chat not found)")


class ReleaseIn(BaseModel):
    lease_token: str = Field(min_length=1, max_length=64)
    delay_seconds: float = Field(default=0, ge=0, le=3600)


class OutboxStatusOut(BaseModel):
    id: int
    status: str
    attempts: int
    next_attempt_at: datetime
    telegram_message_id: int | None
    last_error: str | None


class PostOut(BaseModel):
    chat_id: int
    message_id: int
    ticket_id: int | None
