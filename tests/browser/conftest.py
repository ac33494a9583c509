"""Browser tests: Debian's Chromium driven by Playwright's async API, never a downloaded browser.

Screenshots a reviewer can look at are written to `artifacts/screenshots/` (kept out of
git); `screenshot_dir` hands tests that folder.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests import demo_snapshot
from tests.conftest import TEST_DATABASE_URL, empty_database
from tests.live import ROOT, ServerProcess

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
PWA_DIST = ROOT / "pwa" / "dist"


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


class DemoSnapshots:
    """The demo seeded once and reseeded when too old to copy (tests/demo_snapshot.py)."""

    def __init__(self) -> None:
        self.snapshot: demo_snapshot.Snapshot | None = None

    def copy_into_test_database(self) -> None:
        """The demo, as seeded now, in the suite's database (emptied before the test)."""
        now = datetime.now(UTC)
        if self.snapshot is None or not self.snapshot.fresh_enough(now):
            self.snapshot = demo_snapshot.seed(TEST_DATABASE_URL, empty_database)
            # Seeding left the rows in place; empty again so every test's copy is written
            # the same way.
            demo_snapshot.empty(empty_database)
            now = datetime.now(UTC)
        demo_snapshot.restore(self.snapshot, TEST_DATABASE_URL, now)


@pytest.fixture(scope="session")
def demo_snapshots() -> DemoSnapshots:
    return DemoSnapshots()


@pytest.fixture
def demo(demo_snapshots: DemoSnapshots, clean_database: None) -> None:
    """The demo bureau in the suite's (emptied) database, before the test's server starts."""
    demo_snapshots.copy_into_test_database()


@pytest.fixture
def server(tmp_path: Path, demo: None) -> Iterator[ServerProcess]:
    """A real `qingling serve --demo` on the suite's database (emptied before the test,
    tests/conftest.py, then given a copy of the demo: `demo`), for the command view, the
    rating page and the API; the field app tests use `field_server`, which serves a copy
    of the PWA build. With the demo already there, `--demo` seeds nothing."""
    proc = ServerProcess(TEST_DATABASE_URL, "--demo", log=tmp_path / "server.log")
    try:
        yield proc
    finally:
        proc.stop()


@dataclass
class FieldServer:
    """A real `qingling serve --demo` serving its own copy of the PWA build (`dist`), so a
    test can deploy a new version under a running app by changing files there."""

    url: str
    dist: Path


@pytest.fixture
def field_server(tmp_path: Path, demo: None) -> Iterator[FieldServer]:
    if not (PWA_DIST / "index.html").exists():
        # Fail, never skip: `make test` builds it first (`make pwa`).
        raise RuntimeError(f"{PWA_DIST} is not built: run `make pwa`")
    dist = tmp_path / "dist"
    shutil.copytree(PWA_DIST, dist)
    server = ServerProcess(
        TEST_DATABASE_URL,
        "--demo",
        log=tmp_path / "server.log",
        env={"QINGLING_PWA_DIST": str(dist)},
    )
    try:
        yield FieldServer(server.url, dist)
    finally:
        server.stop()
