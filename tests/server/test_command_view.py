"""The command-center view's files: served signed-out, as ES modules, never stale."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient


async def test_the_command_view_is_served_signed_out_and_revalidated(
    client: AsyncTestClient[Any],
) -> None:
    page = await client.get("/command/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'src="/command/app.js"' in page.text
    for module in ("app.js", "api.js", "live.js", "store.js", "i18n.js", "charts.js"):
        r = await client.get(f"/command/{module}")
        assert r.status_code == 200, module
        # Browsers refuse a module script served under another type.
        assert "javascript" in r.headers["content-type"], module
        assert r.headers["cache-control"] == "no-cache", module
    assert (await client.get("/command/style.css")).headers["cache-control"] == "no-cache"
    # The front-end core the command view imports unbuilt (pwa/core), served the same way.
    for module in ("index.js", "api.js", "protocol.js", "labels.js"):
        r = await client.get(f"/core/{module}")
        assert r.status_code == 200, module
        assert "javascript" in r.headers["content-type"], module
        assert r.headers["cache-control"] == "no-cache", module


async def test_a_missing_file_of_the_command_view_is_404(client: AsyncTestClient[Any]) -> None:
    r = await client.get("/command/nope.js")
    assert r.status_code == 404
    assert set(r.json()) == {"code", "message"}
