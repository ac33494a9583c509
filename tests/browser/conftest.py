"""Browser tests: Debian's Chromium driven by Playwright's async API, never a downloaded browser.

Screenshots a reviewer can look at are written to `artifacts/screenshots/` (kept out of
git); `screenshot_dir` hands tests that folder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.live import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """A fresh headless Chromium per test (async API: the suite runs under pytest-asyncio)."""
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240 - once per test, before any I/O
        # Fail, never skip: CI installs it (scripts/ensure-browser.sh).
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/ensure-browser.sh")
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
