"""Defence in depth: security headers on every response (errors and 500s included), HSTS and no API docs in
production unless enabled, and console templates that need no inline code or style (the CSP allows none)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.console.web import TEMPLATES_DIR
from api.headers import CSP
from tests.conftest import SECRET_KEY, SERVICE_TOKEN, make_settings

STRICT = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "same-origin"}


def assert_secured(response: httpx.Response, *, csp: str = CSP) -> None:
    for name, value in STRICT.items():
        assert response.headers.get(name) == value, (response.request.url, name, response.headers)
    assert response.headers["content-security-policy"] == csp
    assert "frame-ancestors 'none'" in csp


async def test_every_kind_of_response_carries_the_headers(app, client):
    @app.get("/__boom")
    async def boom():  # a bug: Starlette's outermost error layer answers
        raise RuntimeError("boom")

    responses = [await client.get("/healthz"), await client.get("/api/v1/centers"),
                 await client.get("/api/v1/auth/me"),  # 401
                 await client.get("/api/v1/nowhere"),  # 404
                 await client.post("/api/v1/ask", json={"text": ""}),  # 422
                 await client.post("/api/v1/ask", content=b"x" * 70_000,  # 413
                                   headers={"content-type": "application/json"}),
                 await client.get("/console/queue"),  # 303 to the login page
                 await client.get("/console/login"), await client.get("/console/static/console.css"),
                 await client.get("/console/no-such-page")]  # the console's 404 page
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://test") as raw:
        responses.append(await raw.get("/__boom"))
    assert [r.status_code for r in responses] == [200, 200, 401, 404, 422, 413, 303, 200, 200, 404, 500]
    for response in responses:
        assert_secured(response)
        assert "strict-transport-security" not in response.headers  # not in development or test


async def test_the_docs_pages_alone_may_load_swagger(client):
    docs = await client.get("/docs")
    assert docs.status_code == 200
    csp = docs.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in csp and "frame-ancestors 'none'" in csp and csp != CSP
    assert docs.headers["x-frame-options"] == "DENY"
    assert (await client.get("/openapi.json")).headers["content-security-policy"] == CSP


def production_app(database_url: str, **overrides):
    return create_app(make_settings(database_url, env="production", secret_key=SECRET_KEY,
                                    service_token=SERVICE_TOKEN, **overrides))


@pytest.mark.parametrize("api_docs, served", [(None, False), (True, True), (False, False)])
async def test_production_sends_hsts_and_serves_docs_only_when_enabled(database_url, api_docs, served):
    app = production_app(database_url, api_docs=api_docs)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        statuses = [(await c.get(path)).status_code for path in ("/docs", "/redoc", "/openapi.json")]
        assert statuses == ([200, 200, 200] if served else [404, 404, 404])
        response = await c.get("/docs")
        assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert_secured(response, csp=response.headers["content-security-policy"])


def test_docs_are_on_outside_production_unless_disabled(database_url):
    assert make_settings(database_url).docs_enabled
    assert not make_settings(database_url, api_docs=False).docs_enabled


@pytest.mark.parametrize("template", sorted(p.name for p in Path(TEMPLATES_DIR).glob("*.html")))
def test_templates_have_no_inline_code_or_style(template):
    text = (Path(TEMPLATES_DIR) / template).read_text(encoding="utf-8")
    assert not re.search(r"\sstyle\s*=", text), "inline style attribute"
    assert not re.search(r"<style", text), "inline <style>"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"
    assert not re.search(r"javascript:", text), "javascript: URL"
    for script in re.findall(r"<script[^>]*>", text):
        assert 'src="/console/static/' in script, script  # only our own files
