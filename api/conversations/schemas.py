from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.conversations.service import MAX_COMPLETED

UpdateIdValue = Annotated[int, Field(ge=0, le=2**63 - 1)]


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
    conversation: ConversationOut | None = Field(
        default=None, description="the chat's state, when the claim named a chat and succeeded (no need to read it)")
    open_ticket: bool | None = Field(
        default=None, description="with ``conversation``: whether the chat has an open ticket (an owner's follow-up "
                                  "goes to it); false: POST /chats/{chat_id}/messages would answer 404")


class ClaimIn(BaseModel):
    claimer: str = Field(default="", max_length=64,
                         description="the claiming process's token: the same claimer asking again gets the claim again")
    chat_id: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1,
                                description="the update's chat: a successful claim answers with its conversation")
    completed: list[UpdateIdValue] = Field(
        default_factory=list, max_length=MAX_COMPLETED,
        description="updates this claimer finished since its last claim: recorded done in the same transaction")


class CompletedIn(BaseModel):
    update_ids: list[UpdateIdValue] = Field(min_length=1, max_length=MAX_COMPLETED,
                                            description="updates processed: recorded done (idempotent)")
