"""Personal data is masked in logs and secrets never appear, for the API, the CLI and the bot's processes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from api.logging import PiiMaskingFilter, install_log_masking, mask_text, shared_filter

ROOT = Path(__file__).resolve().parents[2]
TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize("raw,masked", [
    ("전화 010-1234-5678 입니다", "전화 010-****-5678 입니다"),
    ("01012345678로 연락", "010****5678로 연락"),
    ("02-123-4567", "02-***-4567"),
    ("031 123 4567", "031 *** 4567"),
    ("070-1234-5678", "070-****-5678"),
    ("+82 10-1234-5678", "+82 10-****-5678"),
    ("사업자번호 123-45-67890", "사업자번호 123-45-*****"),
    ("bn=1234567891", "bn=12345*****"),                       # ten digits with a valid check digit
    ("주민번호 900101-1234567", "주민번호 900101-*******"),
    ("hong.gildong@example.co.kr", "h***@example.co.kr"),
    ("contact_name=홍길동 phone=010-9999-8888", "contact_name=홍** phone=010-****-8888"),
    ("{'display_name': '김철수', 'first_name': \"Kim\"}", "{'display_name': '김**', 'first_name': \"K**\"}"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "Authorization: ***"),
    ("header Bearer abcdefghijkl", "header Bearer ***"),
    ("password=hunter2-long status=ok", "password=*** status=ok"),
    ('{"password": "p a s s", "username": "admin"}', '{"password": "***", "username": "admin"}'),
    ("cookie hl_session=abc.def; hl_flash=x", "cookie hl_session=***; hl_flash=***"),
    (f"POST https://api.telegram.org/bot{TELEGRAM_TOKEN}/getUpdates", "POST https://api.telegram.org/bot***/getUpdates"),
])
def test_mask_text(raw, masked):
    assert mask_text(raw) == masked


@pytest.mark.parametrize("text", [
    "ticket SF-2026-000123 created at 2026-01-05 10:12:34.123456",
    "GET /api/v1/tickets/42 200 in 3.25 ms", "127.0.0.1:5432", "version 3.11.7", "epoch 1764567890",
    "chat -1001234567890", "uuid 0a0212345678bc", "10-1234-5678", "a token expired", "basic information",
])
def test_ordinary_log_text_is_left_alone(text):
    assert mask_text(text) == text


def test_known_secrets_are_replaced_wherever_they_appear():
    f = PiiMaskingFilter(secrets=["s3rvice-token-value", "short"])
    assert f.mask("calling with s3rvice-token-value as key") == "calling with *** as key"
    assert "short" in f.mask("short")  # values under 6 characters would mask ordinary words: ignored


@pytest.fixture
def masked_caplog(caplog):
    """caplog whose handler carries the process-wide filter, as ``install_log_masking`` leaves the root's."""
    caplog.set_level(logging.INFO)
    install_log_masking()
    assert shared_filter() in caplog.handler.filters
    return caplog


def test_log_calls_are_masked_whatever_they_pass(masked_caplog):
    log = logging.getLogger("api.tickets.test")
    log.info("new ticket from %s (%s), bn %s", "홍길동", "010-1234-5678", "123-45-67890")
    log.info("owner said: %r", {"phone": "010-2222-3333", "contact_name": "김영희"})
    log.warning("login for %(user)s with password=%(pw)s", {"user": "admin", "pw": "secret-pass"})
    log.info("plain message with 010-4444-5555 and no args")
    text = masked_caplog.text
    for leaked in ("1234-5678", "67890", "2222-3333", "영희", "secret-pass", "4444-5555"):
        assert leaked not in text
    assert "010-****-5678" in text and "123-45-*****" in text and "010-****-3333" in text


def test_tracebacks_are_masked(masked_caplog):
    log = logging.getLogger("api.test")
    try:
        raise ValueError("bad phone 010-7777-8888 for token Bearer abcdefghijklmnop")
    except ValueError:
        log.exception("request failed")
    assert "7777" not in masked_caplog.text and "abcdefghijklmnop" not in masked_caplog.text
    assert "010-****-8888" in masked_caplog.text


def test_a_broken_log_call_is_not_lost_and_does_not_leak(masked_caplog):
    logging.getLogger("api.test").info("two args %s %s but one given", "010-1234-5678")
    assert len(masked_caplog.records) == 1
    assert "1234-5678" not in masked_caplog.text


def test_uvicorn_access_log_keeps_its_arguments_masked():
    """uvicorn's access formatter reads ``record.args``: they stay a tuple, masked one by one."""
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', (
        "127.0.0.1:50000", "GET", "/api/v1/tickets?q=010-1234-5678", "1.1", 200), None)
    PiiMaskingFilter().filter(record)
    assert isinstance(record.args, tuple)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert line == '127.0.0.1:50000 - "GET /api/v1/tickets?q=010-****-5678 HTTP/1.1" 200 OK'


async def test_the_app_installs_the_filter_and_its_secrets(app, settings, caplog):
    caplog.set_level(logging.INFO)
    async with app.router.lifespan_context(app):
        assert shared_filter() in caplog.handler.filters
        assert settings.service_token in shared_filter().secrets
        logging.getLogger("api.test").info("bot called with %s", settings.service_token)
    assert settings.service_token not in caplog.text


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def test_uvicorn_log_config_masks_every_handler_in_a_real_process():
    """What ``hotline serve`` configures (also in each ``--workers`` process)."""
    done = _run("""
        import logging, logging.config
        from api.logging import uvicorn_log_config
        logging.config.dictConfig(uvicorn_log_config("info"))
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET",
                                                 "/api/v1/centers/resolve?address=010-1234-5678", "1.1", 200)
        logging.getLogger("uvicorn.error").info("client sent Authorization: Bearer abcdefghijklmnop")
        logging.getLogger("api.tickets").info("ticket for 홍길동 contact_name=홍길동 bn 123-45-67890")
        logging.getLogger("httpx").warning("HTTP Request: POST https://api.telegram.org/botTOKEN/sendMessage")
    """.replace("TOKEN", TELEGRAM_TOKEN))
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert "010-****-5678" in out and "123-45-*****" in out and "contact_name=홍**" in out
    for leaked in ("1234-5678", "abcdefghijklmnop", "67890", TELEGRAM_TOKEN):
        assert leaked not in out


def test_the_bot_command_logs_through_the_filter():
    """``hotline bot`` sets up the root handler with the filter before the bot configures logging, so
    python-telegram-bot's and httpx's records (with the token in URLs) are masked; the token given in the
    environment is also masked as a known secret."""
    token = "987654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    done = _run("""
        import logging
        from api.logging import configure_logging
        from bot.config import BotSettings
        configure_logging(BotSettings())
        logging.basicConfig(level=logging.INFO)  # what bot.main.run_bot does next: no effect now
        logging.getLogger("telegram.ext").info("token in a message: %s", "TOKEN")
        logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/botTOKEN/getUpdates")
        logging.getLogger("bot.handlers").info("owner 010-3333-4444 asked")
    """.replace("TOKEN", token), HOTLINE_TELEGRAM_TOKEN=token)
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert "token in a message: ***" in out and "bot***/getUpdates" in out and "010-****-4444" in out
    assert token not in out and "3333-4444" not in out


def test_cli_commands_mask_what_they_log():
    done = _run("""
        import logging, sys
        from api.cli import main
        @main.command("_log_probe")
        def probe():
            logging.getLogger("api.x").warning("probe 010-1234-5678 with %s", "cli-service-token-xyz")
        main(["_log_probe"], standalone_mode=False)
    """, HOTLINE_SERVICE_TOKEN="cli-service-token-xyz")
    assert done.returncode == 0, done.stderr
    assert "probe 010-****-5678 with ***" in done.stderr
    assert "1234-5678" not in done.stderr and "cli-service-token-xyz" not in done.stderr
