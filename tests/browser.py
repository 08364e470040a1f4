"""Pages in a real headless browser: Debian's chromium driven by Playwright (``executable_path``), the window sizes
the tests look at, and the marker that skips browser tests on a machine without chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

needs_chromium = pytest.mark.skipif(not (os.path.exists(CHROMIUM) or shutil.which("chromium")),
                                    reason="Debian's chromium is not installed (scripts/ensure-chromium installs it)")


@asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    """A headless chromium for one test."""
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM)
                                           else shutil.which("chromium"), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
