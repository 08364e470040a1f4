"""Every setting the code reads is in README's configuration table, and everything the table names is read."""

from __future__ import annotations

import re
from pathlib import Path

from api.config import Settings
from bot.config import BotSettings
from knowledge.loader import TOPICS_ENV_VAR

README = Path(__file__).resolve().parents[2] / "README.md"
# Read with os.environ rather than through a settings class.
DIRECT = {TOPICS_ENV_VAR}


def documented() -> set[str]:
    """The variables named in the first column of the tables in README's "Configuration" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            first = line.split("|")[1]
            names |= set(re.findall(r"`(HOTLINE_[A-Z0-9_]+)`", first))
    return names


def read_by_the_code() -> set[str]:
    fields = set(Settings.model_fields) | set(BotSettings.model_fields)
    assert Settings.model_config["env_prefix"] == BotSettings.model_config["env_prefix"] == "HOTLINE_"
    return {f"HOTLINE_{name.upper()}" for name in fields} | DIRECT


def test_every_setting_read_is_documented():
    missing = read_by_the_code() - documented()
    assert not missing, f"read but not in README's configuration table: {sorted(missing)}"


def test_everything_documented_is_read():
    unread = documented() - read_by_the_code()
    assert not unread, f"in README's configuration table but read by nothing: {sorted(unread)}"


def test_the_table_is_found():
    assert {"HOTLINE_DATABASE_URL", "HOTLINE_TELEGRAM_TOKEN", "HOTLINE_TOPICS_FILE"} <= documented()
