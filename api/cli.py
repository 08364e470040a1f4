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
    from api.logging import install_log_masking

    try:
        settings = get_settings()
    except ValueError:
        settings = None  # the command reports the configuration error when it reads the settings
    install_log_masking(settings)  # whatever any command logs is masked, the configured secrets hidden


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
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="processes; more than 1 share the analyser's model (forked after it is loaded)")
def serve(host: str, port: int, workers: int) -> None:
    """Run the API and the staff console."""
    from api.runner import serve as run_server

    _settings()
    run_server(host=host, port=port, workers=workers)


@main.command()
@click.option("--webhook", "webhook_url", default=None, help="run in webhook mode at this public URL")
@click.option("--listen", default="127.0.0.1", show_default=True, help="webhook mode: address to listen on")
@click.option("--port", default=8443, show_default=True, type=int, help="webhook mode: port to listen on")
def bot(webhook_url: str | None, listen: str, port: int) -> None:
    """Run the Telegram bot (long polling by default)."""
    from api.logging import configure_logging
    from bot.config import BotSettings
    from bot.main import run_bot

    configure_logging(BotSettings())  # a root handler with the masking filter; the bot's tokens stay out of logs

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
@click.option("--center", "center_code", default=None,
              help="the agent's centre: its code or Korean name (seoul, 서울, 경기대진; README lists them)")
@click.option("--name", "display_name", default="", help="display name")
def staff_add(username: str, password: str, role: str, center_code: str | None, display_name: str) -> None:
    """Create a staff account."""
    from api.centers.models import Center
    from api.staff.service import create_staff

    settings = _settings()

    async def work(session: AsyncSession) -> str:
        s = await create_staff(session, username=username, password=password, role=role,
                               center_code=center_code, display_name=display_name)
        center = await session.get(Center, s.center_id) if s.center_id is not None else None
        return f"created {s.role} '{s.username}'" + (f" ({center.code}, {center.name})" if center else "")

    click.echo(run_in_session(settings, work))


@main.group()
def kb() -> None:
    """The knowledge base: import the files into the database, export them back, check them."""


def _entries_dir_option(f):
    return click.option("--dir", "entries_dir", default=None, type=click.Path(file_okay=False),
                        help="entries directory (default: knowledge/entries)")(f)


@kb.command("import")
@_entries_dir_option
@click.option("--synonyms", "synonyms_file", default=None, type=click.Path(dir_okay=False),
              help="synonyms file (default: synonyms.yaml beside the entries directory)")
@click.option("--force", is_flag=True,
              help="import entries changed in the files even when they were also edited (or unpublished) in the "
                   "console; the console revisions stay in the history")
def kb_import(entries_dir: str | None, synonyms_file: str | None, force: bool) -> None:
    """Load the knowledge files into the database (idempotent; reports what changed).

    Entries edited in the console since the last import and also changed in the files are skipped with a
    warning unless --force."""
    from api.kb.sync import ImportRefused, import_knowledge
    from knowledge.loader import DEFAULT_ENTRIES_DIR

    settings = _settings()
    directory = entries_dir or DEFAULT_ENTRIES_DIR

    async def work(session: AsyncSession):
        return await import_knowledge(session, entries_dir=directory, synonyms_file=synonyms_file, force=force)

    try:
        report = run_in_session(settings, work)
    except ImportRefused as exc:
        for p in exc.problems:
            click.echo(str(p), err=True)
        raise click.ClickException(f"nothing imported: {len(exc.problems)} problem(s) in {directory}") from exc
    for line in report.lines():
        click.echo(line)


@kb.command("export")
@_entries_dir_option
@click.option("--synonyms", "synonyms_file", default=None, type=click.Path(dir_okay=False),
              help="synonyms file (default: synonyms.yaml beside the entries directory)")
@click.option("--no-synonyms", is_flag=True, help="do not write the synonyms file")
def kb_export(entries_dir: str | None, synonyms_file: str | None, no_synonyms: bool) -> None:
    """Write the published entries (and the synonyms) back as knowledge files (unchanged files are kept)."""
    from api.kb.sync import default_synonyms_file, export_entries
    from knowledge.loader import DEFAULT_ENTRIES_DIR

    settings = _settings()
    directory = entries_dir or DEFAULT_ENTRIES_DIR
    synonyms = None if no_synonyms else (synonyms_file or default_synonyms_file(directory))

    async def work(session: AsyncSession):
        return await export_entries(session, entries_dir=directory, synonyms_file=synonyms)

    for line in run_in_session(settings, work).lines():
        click.echo(line)


@kb.command("check")
@_entries_dir_option
@click.option("--topics", "topics_file", default=None, type=click.Path(dir_okay=False),
              help="topics file (default: $HOTLINE_TOPICS_FILE or knowledge/topics.yaml)")
@click.option("--strict", is_flag=True, help="fail on warnings too (expired entries, few paraphrases)")
@click.option("--quiet", is_flag=True, help="print errors only")
def kb_check(entries_dir: str | None, topics_file: str | None, strict: bool, quiet: bool) -> None:
    """Validate the knowledge files (exit code 1 on errors, or on warnings with --strict)."""
    from knowledge.loader import DEFAULT_ENTRIES_DIR, check

    directory = entries_dir or DEFAULT_ENTRIES_DIR
    problems = check(directory, topics_file)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    for p in problems:
        if p.severity == "error" or not quiet:
            click.echo(str(p))
    click.echo(f"{directory}: {len(errors)} errors, {len(warnings)} warnings")
    if errors or (strict and warnings):
        sys.exit(1)


if __name__ == "__main__":
    sys.exit(main())
