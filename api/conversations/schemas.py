from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ConversationOut(BaseModel):
    chat_id: int
    state: dict
    version: int = Field(description="pass it back when saving; 0 for a chat never seen")
    updated_at: datetime | None


class ConversationIn(BaseModel):
    state: dict
    version: int = Field(ge=0, le=2**31 - 1, description="the version this state was based on (as read)")


class ClaimOut(BaseModel):
    update_id: int
    claimed: bool = Field(description="true: process it now; false: it was (or is being) processed elsewhere")
    status: str


class ClaimIn(BaseModel):
    claimer: str = Field(default="", max_length=64,
                         description="the claiming process's token: the same claimer asking again gets the claim again")
