from __future__ import annotations

from pydantic import BaseModel, Field

from api.contract import CHANNELS


class LeaseIn(BaseModel):
    channel: str = Field(pattern=f"^({'|'.join(CHANNELS)})$")
    limit: int = Field(default=20, ge=1, le=100, description="chats (each chat's due messages come together)")
    lease_seconds: float = Field(default=60, ge=1, le=300)
    address: str | None = Field(default=None, min_length=1, max_length=200,
                                description="only this chat's messages (a local terminal chat)")


class SentIn(BaseModel):
    id: int = Field(ge=1, le=2**63 - 1)
    message_id: int | None = Field(default=None, ge=1, le=2**63 - 1, description="the channel's id of the message")


class FailedIn(BaseModel):
    id: int = Field(ge=1, le=2**63 - 1)
    lease_token: str = Field(min_length=1, max_length=64)
    error: str = Field(default="", max_length=4000)
    retry_after: float | None = Field(default=None, ge=0, le=86400,
                                      description="the channel's flood-control wait; not counted as an attempt")
    permanent: bool = Field(default=False, description="the channel refused for good (bot blocked, chat gone)")


class ReleasedIn(BaseModel):
    id: int = Field(ge=1, le=2**63 - 1)
    lease_token: str = Field(min_length=1, max_length=64)
    delay_seconds: float = Field(default=0, ge=0, le=3600)


class ReportIn(BaseModel):
    sent: list[SentIn] = Field(default_factory=list, max_length=500)
    failed: list[FailedIn] = Field(default_factory=list, max_length=500)
    released: list[ReleasedIn] = Field(default_factory=list, max_length=500)


class ReportOut(BaseModel):
    sent: int
    failed: int
    released: int
    lease_lost: list[int] = Field(description="failures reported without the lease (someone else holds it now)")
