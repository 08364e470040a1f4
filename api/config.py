"""Service configuration, read from the environment (prefix ``HOTLINE_``) and an optional ``.env`` file."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "dev-secret-key", "dev-service-token"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///./hotline.db"
    secret_key: str = "dev-secret-key"
    service_token: str = "dev-service-token"
    telegram_token: str | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    api_url: str = "http://127.0.0.1:8000"

    access_token_minutes: int = Field(default=12 * 60, ge=1)
    first_response_hours: float = Field(default=4, gt=0)
    resolution_days: int = Field(default=3, ge=1)
    ask_rate_per_minute: int = Field(default=30, ge=1, description="anonymous /ask calls per IP per minute")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_text_chars: int = Field(default=1000, ge=100, le=4000, description="the longest owner message handled")
    chat_rate_limit: int = Field(default=12, ge=1, description="owner messages per chat per chat_rate_window")
    chat_rate_window: int = Field(default=30, ge=1, description="seconds")
    redis_url: str | None = Field(default=None, description="shared rate-limit counts for several API processes")
    outbox_max_attempts: int = Field(default=15, ge=1, description="tries of a message before it is given up")
    outbox_backoff_seconds: float = Field(default=1.0, gt=0, description="the first wait after a failed send")
    outbox_backoff_cap_seconds: float = Field(default=900, gt=0, description="the longest wait between tries")
    max_text_chars: int = Field(default=1000, ge=100, le=4000, description="the longest owner message handled")
    chat_rate_limit: int = Field(default=12, ge=1, description="owner messages per chat per chat_rate_window")
    chat_rate_window: int = Field(default=30, ge=1, description="seconds")
    redis_url: str | None = Field(default=None, description="shared rate-limit counts for several API processes")
    outbox_max_attempts: int = Field(default=15, ge=1, description="tries of a message before it is given up")
    outbox_backoff_seconds: float = Field(default=1.0, gt=0, description="the first wait after a failed send")
    outbox_backoff_cap_seconds: float = Field(default=900, gt=0, description="the longest wait between tries")
    run_scheduler: bool = True
    retention_days: int = Field(default=3 * 365, ge=1,
                                description="resolved tickets' personal data is anonymised this many days after")
    programme_year: int | None = Field(default=None, ge=2014, le=2100,
                                       description="the programme year answers are for (default: this year in Korea)")

    def current_programme_year(self) -> int:
        """``HOTLINE_PROGRAMME_YEAR``, or the calendar year in Korea."""
        return self.programme_year or dt.datetime.now(ZoneInfo("Asia/Seoul")).year

    api_docs: bool | None = Field(default=None, description="serve /docs, /redoc and /openapi.json; "
                                                             "unset: yes, except in production")

    @property
    def docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.env != "production"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> "Settings":
        if self.env == "production":
            weak = [
                name
                for name in ("secret_key", "service_token")
                if getattr(self, name) in PLACEHOLDER_SECRETS or len(getattr(self, name)) < 16
            ]
            if weak:
                names = ", ".join(f"HOTLINE_{n.upper()}" for n in weak)
                raise ValueError(f"production mode needs real secrets (at least 16 characters): {names}")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
