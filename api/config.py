"""Service configuration, read from the environment (prefix ``HOTLINE_``) and an optional ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

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
    run_scheduler: bool = True
    retention_days: int = Field(default=3 * 365, ge=1,
                                description="resolved tickets' personal data is anonymised this many days after")
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
