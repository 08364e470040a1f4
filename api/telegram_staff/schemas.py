from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

TelegramId = Annotated[int, Field(ge=-(2**63) + 1, le=2**63 - 1)]


class LinkCodeOut(BaseModel):
    code: str
    expires_at: datetime
    instruction: str = Field(description="what to send to the bot, in Korean")


class StaffLinkIn(BaseModel):
    telegram_user_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    code: str = Field(max_length=64)


class StaffLinkOut(BaseModel):
    staff_id: int
    display_name: str
    role: str
    center_code: str | None


class GroupLinkIn(BaseModel):
    telegram_user_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    chat_id: TelegramId
    center_code: str | None = Field(default=None, max_length=32)


class CenterRefOut(BaseModel):
    code: str
    name: str


class GroupLinkOut(BaseModel):
    chat_id: int
    center: CenterRefOut | None
