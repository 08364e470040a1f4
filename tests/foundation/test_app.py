from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.config import Settings


async def test_healthz(client):
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_when_database_answers(client):
    r = await client.get("/readyz")
    assert r.status_code == 200


async def test_unknown_route_is_a_korean_404(client):
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found" and "찾을 수 없" in r.json()["detail"]


async def test_oversized_body_is_413(client):
    r = await client.post("/api/v1/auth/token", content=b"x" * (200 * 1024),
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"


def test_production_refuses_placeholder_secrets():
    with pytest.raises(ValidationError, match="HOTLINE_SECRET_KEY"):
        Settings(env="production", secret_key="dev-secret-key", service_token="x" * 32)
    with pytest.raises(ValidationError, match="HOTLINE_SERVICE_TOKEN"):
        Settings(env="production", secret_key="y" * 32, service_token="change-me")
    ok = Settings(env="production", secret_key="y" * 32, service_token="x" * 32)
    assert ok.env == "production"


def test_development_defaults_work_without_configuration(monkeypatch):
    for key in ("HOTLINE_DATABASE_URL", "HOTLINE_ENV", "HOTLINE_SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    s = Settings(_env_file=None)
    assert s.database_url == "sqlite:///./hotline.db" and s.env == "development"
