"""The ``hotline`` command: set up the database, run the service, the bot or a local chat, manage staff."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings, get_settings
from api.errors import HotlineError

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise click.ClickException(f"configuration error: {exc}") from exc


def run_in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one session, committed when it succeeds (the CLI's unit of work)."""
    from api.db import make_engine, make_sessionmaker

    async def main() -> T:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except HotlineError as exc:
        raise click.ClickException(exc.detail) from exc


@click.group()
def main() -> None:
    """스마트공장 핫라인 (smart-factory hotline) service."""


def initialise(settings: Settings) -> None:
    """Create or upgrade the schema and load the built-in data; safe to run any number of times."""
    from api import migrate
    from api.bootstrap import seed

    migrate.upgrade(settings.database_url)
    report = run_in_session(settings, seed)
    for line in report:
        click.echo(line)


@main.command()
def init() -> None:
    """Create or upgrade the database schema and load centres and knowledge (idempotent)."""
    settings = _settings()
    initialise(settings)
    click.echo("ready.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Run the API and the staff console."""
    import uvicorn

    _settings()
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, log_level="info")


@main.command()
@click.option("--webhook", "webhook_url", default=None, help="run in webhook mode at this public URL")
@click.option("--listen", default="127.0.0.1", show_default=True, help="webhook mode: address to listen on")
@click.option("--port", default=8443, show_default=True, type=int, help="webhook mode: port to listen on")
def bot(webhook_url: str | None, listen: str, port: int) -> None:
    """Run the Telegram bot (long polling by default)."""
    from bot.main import run_bot

    run_bot(webhook_url=webhook_url, listen=listen, port=port)


@main.command()
@click.option("--chat-id", default=None, type=int, help="the local chat's id (default: one per user of this machine)")
def chat(chat_id: int | None) -> None:
    """Talk to the hotline as a company owner in this terminal, without Telegram."""
    from bot.terminal import run_terminal_chat

    run_terminal_chat(chat_id=chat_id)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-init", is_flag=True, help="skip the schema upgrade and data load")
def up(host: str, port: int, no_init: bool) -> None:
    """Everything at once: init, the API and console, and the bot (or a local chat when no bot token is set)."""
    from api.runner import run_all

    settings = _settings()
    if not no_init:
        initialise(settings)
    run_all(settings, host=host, port=port)


@main.group()
def staff() -> None:
    """Manage staff accounts."""


@staff.command("add")
@click.option("--username", required=True)
@click.option("--password", required=True, help="at least 8 characters")
@click.option("--role", type=click.Choice(["admin", "agent"]), required=True)
@click.option("--center", "center_code", default=None, help="the agent's centre code (e.g. seoul)")
@click.option("--name", "display_name", default="", help="display name")
def staff_add(username: str, password: str, role: str, center_code: str | None, display_name: str) -> None:
    """Create a staff account."""
    from api.staff.service import create_staff

    settings = _settings()

    async def work(session: AsyncSession) -> str:
        s = await create_staff(session, username=username, password=password, role=role,
                               center_code=center_code, display_name=display_name)
        return f"created {s.role} '{s.username}'" + (f" ({center_code})" if center_code else "")

    click.echo(run_in_session(settings, work))


if __name__ == "__main__":
    sys.exit(main())
