"""The bot's settings, from the environment (prefix ``HOTLINE_``) or ``.env``."""

from __future__ import annotations

import hashlib

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=".env", extra="ignore")

    telegram_token: str | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str | None = Field(default=None, description="default: derived from telegram_base_url")
    api_url: str = "http://127.0.0.1:8000"
    service_token: str = "dev-service-token"
    webhook_secret: str | None = Field(default=None, description="X-Telegram-Bot-Api-Secret-Token; default: "
                                       "derived from the bot and service tokens (the same in every process)")

    # Long polling: seconds a getUpdates call waits for news.
    poll_timeout: float = Field(default=10, ge=0)
    # Outbox: seconds between leases when nothing was due, chats per lease, and how long a lease lasts (a message
    # whose bot process died is sent by another after this; it must exceed a send's timeout).
    outbox_interval: float = Field(default=1.0, gt=0)
    outbox_batch: int = Field(default=20, ge=1, le=100)
    outbox_lease_seconds: float = Field(default=30, ge=5, le=300)
    # Chats delivered to at the same time (one chat's messages always one after another).
    concurrent_sends: int = Field(default=16, ge=1, le=256)
    # Calls to the API: timeout (s), retries of a failed call, the base of their backoff (s); while the API stays
    # unreachable, a batch of updates is offered again after backoff doubling up to api_max_backoff (s).
    api_timeout: float = Field(default=10, gt=0)
    api_retries: int = Field(default=2, ge=0)
    api_retry_delay: float = Field(default=0.5, ge=0)
    api_max_backoff: float = Field(default=30, gt=0)
    # A delivery report the API did not take is retried at most this many seconds apart, so that it lands as soon as
    # an API process is back (before another bot could lease the message again when its lease runs out).
    report_retry_max: float = Field(default=2, gt=0, le=60)
    # "typing…" is shown when an update's processing takes longer than this (seconds; 0: always, at once).
    typing_delay: float = Field(default=0.5, ge=0, le=10)

    def file_base_url(self) -> str:
        if self.telegram_base_file_url:
            return self.telegram_base_file_url
        base = self.telegram_base_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file"

    def secret_token(self) -> str:
        """The webhook secret: configured, or the same derivation in every process of this deployment."""
        if self.webhook_secret:
            return self.webhook_secret
        seed = f"hotline-webhook:{self.telegram_token or ''}:{self.service_token}".encode()
        return hashlib.sha256(seed).hexdigest()
