"""The field PWA's files as the server hands them out (server/http/static.py): a phone must
revalidate the shell and the service worker on every load, or it would keep an old app
(or never hear of a new one); content-hashed assets may be cached for good."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.core.config import Settings


@pytest.fixture
async def web(settings: Settings, tmp_path: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>清零</title>", encoding="utf-8")
    (dist / "sw.js").write_text('const VERSION = "v1";', encoding="utf-8")
    (dist / "manifest.webmanifest").write_text('{"name": "清零"}', encoding="utf-8")
    (dist / "assets" / "index-abc123.js").write_text("export {};", encoding="utf-8")
    async with AsyncTestClient(app=create_app(replace(settings, pwa_dist=str(dist)))) as client:
        yield client


async def test_the_shell_and_the_worker_are_revalidated_on_every_load(
    web: AsyncTestClient[Any],
) -> None:
    for path in ["/", "/index.html", "/sw.js", "/manifest.webmanifest"]:
        r = await web.get(path)
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "no-cache", path
    assert "清零" in (await web.get("/")).text


async def test_hashed_assets_are_cached_for_a_year(web: AsyncTestClient[Any]) -> None:
    r = await web.get("/assets/index-abc123.js")
    assert r.status_code == 200
    assert "immutable" in r.headers["cache-control"]
    assert "max-age=31536000" in r.headers["cache-control"]
    missing = await web.get("/assets/nope.js")
    assert missing.status_code == 404
    assert set(missing.json()) == {"code", "message"}


async def test_the_api_is_not_shadowed_by_the_app(web: AsyncTestClient[Any]) -> None:
    assert (await web.get("/api/health")).status_code == 200
    assert (await web.get("/api/incidents")).status_code == 401


async def test_a_name_the_file_system_cannot_hold_is_not_found(web: AsyncTestClient[Any]) -> None:
    for path in ["/assets/" + "x" * 300, "/" + "x" * 300, "/assets/%00"]:
        r = await web.get(path)
        assert r.status_code == 404, path
        assert set(r.json()) == {"code", "message"}


async def test_a_server_without_a_built_field_app_says_how_to_build_it(
    settings: Settings, tmp_path: Path
) -> None:
    """`/` of a server whose field app has no build: a page naming `make pwa`, not a bare
    404; the command view and the API still answer."""
    app = create_app(replace(settings, pwa_dist=str(tmp_path / "no-dist")))
    async with AsyncTestClient(app=app) as client:
        r = await client.get("/")
        assert r.status_code == 503
        assert r.headers.get_list("content-type") == ["text/html; charset=utf-8"]
        assert "make pwa" in r.text and "外勤应用尚未构建" in r.text
        assert str(tmp_path / "no-dist") in r.text
        assert "<script" not in r.text and "<style" not in r.text
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert (await client.get("/command/")).status_code == 200
        assert (await client.get("/api/health")).status_code == 200
        # Other paths of the missing app are plain 404s with the error shape.
        missing = await client.get("/sw.js")
        assert missing.status_code == 404 and set(missing.json()) == {"code", "message"}
