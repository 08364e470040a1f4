"""Service configuration, read from the environment (prefix ``HOTLINE_``) and an optional ``.env`` file."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
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
    run_scheduler: bool = True
    # KakaoTalk channel (api.channels.kakao): the skill is served when its secret is set; staff replies, notices
    # and rating requests reach KakaoTalk owners through the Event API when its key, bot id and event are set.
    kakao_skill_secret: str | None = Field(default=None, description="the skill's shared secret header value")
    kakao_rest_key: str | None = Field(default=None, description="Kakao Developers REST API key (Event API)")
    kakao_bot_id: str | None = Field(default=None, description="the chatbot's bot id (Event API)")
    kakao_event_name: str | None = Field(default=None, description="the event block's event name (Event API)")
    kakao_api_base_url: str = Field(default="https://bot-api.kakao.com", description="Event API host")
    kakao_answer_seconds: float = Field(default=3.5, gt=0, lt=5,
                                        description="the skill answers within this, or switches to the callback")
    kakao_outbox_interval: float = Field(default=1.0, gt=0, description="Event API deliverer: pause when idle (s)")
    # The web chat (/chat) for centres' websites.
    web_chat: bool = Field(default=True, description="serve the web chat at /chat")
    web_frame_ancestors: str = Field(default="*", description="sites allowed to frame /chat (CSP frame-ancestors)")
    web_session_rate_per_minute: int = Field(default=20, ge=1, description="web chat messages per session a minute")
    web_ip_rate_per_minute: int = Field(default=60, ge=1, description="web chat requests per IP a minute")
    retention_days: int = Field(default=3 * 365, ge=1,
                                description="resolved tickets' personal data is anonymised this many days after")
    programme_year: int | None = Field(default=None, ge=2014, le=2100,
                                       description="the programme year answers are for (default: this year in Korea)")

    def current_programme_year(self) -> int:
        """``HOTLINE_PROGRAMME_YEAR``, or the calendar year in Korea."""
        return self.programme_year or dt.datetime.now(ZoneInfo("Asia/Seoul")).year

    api_docs: bool | None = Field(default=None, description="serve /docs, /redoc and /openapi.json; "
                                                             "unset: yes, except in production")

    @field_validator("kakao_skill_secret", "kakao_rest_key", "kakao_bot_id", "kakao_event_name", mode="before")
    @classmethod
    def _blank_is_unset(cls, value):
        return None if isinstance(value, str) and not value.strip() else value  # docker-compose passes "" for unset

    @field_validator("web_frame_ancestors")
    @classmethod
    def _sources_only(cls, value: str) -> str:
        if not value.strip() or any(c in value for c in ";,\r\n"):
            raise ValueError("HOTLINE_WEB_FRAME_ANCESTORS: CSP sources separated by spaces (e.g. https://www.gntp.or.kr)")
        return " ".join(value.split())

    @property
    def kakao_events_enabled(self) -> bool:
        """Whether messages to KakaoTalk owners can be delivered (the Event API is configured)."""
        return bool(self.kakao_rest_key and self.kakao_bot_id and self.kakao_event_name)

    @property
    def docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.env != "production"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> "Settings":
        if self.env == "production":
            weak = [
                name
                for name in ("secret_key", "service_token", "kakao_skill_secret")
                if (name != "kakao_skill_secret" or getattr(self, name) is not None)
                and (getattr(self, name) in PLACEHOLDER_SECRETS or len(getattr(self, name)) < 16)
            ]
            if weak:
                names = ", ".join(f"HOTLINE_{n.upper()}" for n in weak)
                raise ValueError(f"production mode needs real secrets (at least 16 characters): {names}")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
