"""The citizen's rating page as the server hands it out (server/http/static.py, PROTOCOL §9):
one plain page at both kinds of address, signed-out, under the page policy, never kept by
a cache, with no service worker; it is served whether or not the field PWA was built."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.core.config import Settings
from tests.server.test_headers import inline_script, parse_csp

ROOT = Path(__file__).resolve().parents[2]
RATE = ROOT / "pwa" / "rate"
TOKEN = "0123456789abcdef" * 4
PAGES = [f"/rate/{TOKEN}", "/rate/s/CG01", "/rate/s/%E5%9F%8E%E5%85%B3", "/rate/not-a-token"]


@pytest.fixture
async def unbuilt(settings: Settings, tmp_path: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    """A server whose field PWA was never built (`pwa/dist` missing)."""
    app = create_app(replace(settings, pwa_dist=str(tmp_path / "no-dist")))
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_both_addresses_answer_the_page_signed_out(
    unbuilt: AsyncTestClient[Any],
) -> None:
    source = (RATE / "index.html").read_text(encoding="utf-8")
    for path in PAGES:
        r = await unbuilt.get(path)
        assert r.status_code == 200, path
        # Exactly: the charset once (it was given twice, "…; charset=utf-8; charset=utf-8").
        assert r.headers.get_list("content-type") == ["text/html; charset=utf-8"], path
        assert r.text == source, path
        assert r.headers["cache-control"] == "no-store", path
        assert "attachment" not in r.headers.get("content-disposition", ""), path
        policy = parse_csp(r.headers["content-security-policy"])
        assert policy["script-src"] == ["'self'"], path
        assert policy["frame-ancestors"] == ["'none'"], path
        assert r.headers["referrer-policy"] == "no-referrer", path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert inline_script(r.text) == [], path
        assert '<html lang="zh-CN">' in r.text and 'name="viewport"' in r.text


async def test_the_page_registers_no_service_worker_and_loads_only_its_own_files(
    unbuilt: AsyncTestClient[Any],
) -> None:
    page = (await unbuilt.get(f"/rate/{TOKEN}")).text
    # (The icon is an empty `data:` URL, so a phone asks for no /favicon.ico.)
    assets = [a for a in re.findall(r'(?:src|href)="([^"]+)"', page) if a != "data:,"]
    assert sorted(assets) == ["/rate/assets/rate.css", "/rate/assets/rate.js"]
    for name in assets:
        r = await unbuilt.get(name)
        assert r.status_code == 200, name
        assert r.headers["cache-control"] == "no-cache", name
        assert parse_csp(r.headers["content-security-policy"])["script-src"] == ["'self'"]
        assert "serviceWorker" not in r.text and "manifest" not in r.text, name
    assert "javascript" in (await unbuilt.get("/rate/assets/rate.js")).headers["content-type"]
    assert (
        (await unbuilt.get("/rate/assets/rate.css")).headers["content-type"].startswith("text/css")
    )
    assert "serviceWorker" not in page and "manifest" not in page
    # Small enough for a slow phone on a first (and only) load.
    total = sum(len(f.read_bytes()) for f in RATE.iterdir())
    assert total < 30_000, total


async def test_unknown_rate_files_and_addresses_are_404(unbuilt: AsyncTestClient[Any]) -> None:
    for path in [
        "/rate/assets/nope.js",
        "/rate/assets/" + "x" * 300,
        "/rate/assets/%00",
        "/rate/assets/..%2F..%2Fserver%2Fhttp%2Fstatic.py",
        "/rate/assets/..%2Fcommand%2Fapp.js",
        f"/rate/{TOKEN}/extra",
        "/rate/s/CG01/extra",
    ]:
        r = await unbuilt.get(path)
        assert r.status_code == 404, path
        assert set(r.json()) == {"code", "message"}, path
        assert "content-security-policy" in r.headers, path


async def test_the_other_front_ends_are_unchanged_beside_it(
    unbuilt: AsyncTestClient[Any],
) -> None:
    assert (await unbuilt.get("/command/")).status_code == 200
    assert (await unbuilt.get("/")).status_code == 503  # not built here: it says so
    assert (await unbuilt.get("/api/health")).status_code == 200
