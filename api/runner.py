"""How the API runs: ``hotline serve`` (one process, or workers forked from a parent that loaded Kiwi) and
``hotline up`` (the API and console, plus the Telegram bot when a token is set, or a local chat when not).

Memory (benchmarks/README.md, "Memory per API worker"): Kiwi's model is most of a worker's memory.

* ``serve --workers 1`` and ``up`` are one process.
* ``serve --workers N`` (N > 1) is gunicorn with uvicorn workers: the parent imports the service and loads
  Kiwi once, then forks the workers, which share the model's pages copy-on-write (Kiwi only reads them).
  Each worker then runs the app's lifespan as before: its own database engine, matcher and scheduler. uvicorn's
  own ``--workers`` starts every worker fresh (spawn) and shares nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import click
import uvicorn

from api.config import Settings

APP = "api.app:create_app"


def serve(*, host: str, port: int, workers: int, log_level: str = "info") -> None:
    """``hotline serve``: the API and console, with access log and log masking."""
    from api.logging import uvicorn_log_config

    if workers <= 1:
        uvicorn.run(APP, factory=True, host=host, port=port, proxy_headers=False, server_header=False,
                    log_level=log_level, log_config=uvicorn_log_config(log_level))
        return
    from api.prefork import Prefork

    Prefork(host=host, port=port, workers=workers, log_level=log_level).run()


def _server(host: str, port: int) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(APP, factory=True, host=host, port=port, log_level="warning",
                                         server_header=False))


def run_all(settings: Settings, *, host: str, port: int) -> None:
    api_url = f"http://{host}:{port}"
    server = _server(host, port)
    click.echo(f"API and console: {api_url}  (console: {api_url}/console)")
    if settings.web_chat:  # no token, no account: a newcomer can try the product in a browser at once
        click.echo(f"Web chat for company owners: {api_url}/chat  (embed on a centre's site: {api_url}/chat/embed.js)")
    if settings.kakao_skill_secret:
        events = "on" if settings.kakao_events_enabled else "OFF (staff replies to KakaoTalk owners wait)"
        click.echo(f"KakaoTalk skill: {api_url}/api/v1/channels/kakao/skill  (Event API: {events})")
    if settings.telegram_token:
        env = {**os.environ, "HOTLINE_API_URL": api_url}
        bot = subprocess.Popen([sys.executable, "-m", "api.cli", "bot"], env=env)
        click.echo("Telegram bot: running (long polling)")
        try:
            server.run()
        finally:
            bot.terminate()
            bot.wait(timeout=10)
        return
    if not sys.stdin.isatty():
        click.echo("No HOTLINE_TELEGRAM_TOKEN set: the bot is off. Try the conversation locally with `hotline chat`.")
        server.run()
        return
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.05)
    if not thread.is_alive():
        raise click.ClickException(f"the API could not start on {api_url} (is the port taken?)")
    click.echo("No HOTLINE_TELEGRAM_TOKEN set: starting a local chat as a company owner (Ctrl-D to quit).")
    from bot.terminal import run_terminal_chat

    os.environ["HOTLINE_API_URL"] = api_url
    try:
        run_terminal_chat(chat_id=None)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
