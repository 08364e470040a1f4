from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LinkCodeOut(BaseModel):
    code: str
    expires_at: datetime
    instruction: str = Field(description="what to send to the bot, in Korean")
