"""The web front ends the server hands out, both outside the bearer-token check.

- `/` — the field PWA, built by Vite into `pwa/dist` (`npm run build` in `pwa/`;
  `QINGLING_PWA_DIST` names another build, as the browser tests do to deploy a new version).
  Its content-hashed `/assets/` are cached for a year; everything else (`index.html`,
  `sw.js`, the manifest) must be revalidated on every load, or a phone would keep an old
  shell or never see a new service worker.
- `/command` — the command-center view, plain ES modules in `pwa/command`, no build step.
- `/core` — the front-end core both share (`pwa/core`: API client, codes, labels), which
  the command view imports as plain ES modules (the field app has it bundled by Vite).
- `/rate/{token}` and `/rate/s/{station_code}` — the citizen's rating page (PROTOCOL §9,
  docs/rating.md), one plain page in `pwa/rate` whose script reads the path; its two files
  under `/rate/assets/`. No build, no service worker, so it works when `pwa/dist` is not built.

Both only talk to the server over the wire (`/api/...`), exactly like any other client,
so nothing here knows about incidents. Every file here goes out with the page policy of
server/http/headers.py (a Content-Security-Policy without inline script,
`frame-ancestors 'none'`, `nosniff`, no referrer), added to every answer by the app.

In a checkout these folders are pwa/dist, pwa/command, pwa/core and pwa/rate; a wheel
built by `make dist` carries the same four inside the package, in server/web/, and serves
those (server/core/config.py, `web_folder`), so an installed server needs no checkout or Node.

A server started without a built field app says so at `/` (503, a short page naming the
command that builds it, `make pwa`), instead of a bare 404 that looks like a broken
server; the command view, the rating page and the API are unaffected. The build is looked
for when the server starts: build it, then restart.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import InternalServerException
from litestar.response import File
from litestar.static_files import create_static_files_router

from server.core.config import DEFAULT_PWA_DIST, web_folder
from server.http.errors import error_response

PWA_DIST = Path(DEFAULT_PWA_DIST)
# Vite names every asset after its content, so an asset URL never changes meaning.
IMMUTABLE = CacheControlHeader(public=True, max_age=365 * 24 * 3600, immutable=True)
REVALIDATE = CacheControlHeader(no_cache=True)


COMMAND_DIR = web_folder("command")
CORE_DIR = web_folder("core")
RATE_DIR = web_folder("rate")
# The rating page is opened once, from a QR code, often in a messaging app's browser that
# keeps pages longer than told: nothing keeps the page (its address holds a bearer token,
# and there is no second visit to speed up). Its script and style are revalidated, like
# the command view's, so a page never runs against an older or newer script after an upgrade.
OPENED_ONCE = CacheControlHeader(no_store=True)


def _no_such_file(_: Request[Any, Any, Any], exc: ValueError) -> Response[Any]:
    # A path the file system cannot even name (a NUL byte): there is no such file.
    return error_response(404, "not_found", "no such file")


def _unreadable_path(_: Request[Any, Any, Any], exc: InternalServerException) -> Response[Any]:
    # Litestar wraps the file system's own refusal (a name longer than it allows) in a
    # 500; a name the file system cannot hold names no file.
    if isinstance(exc.__cause__, OSError | ValueError):
        return error_response(404, "not_found", "no such file")
    return error_response(500, "internal", "internal server error")


_STATIC_ERRORS: dict[Any, Any] = {
    ValueError: _no_such_file,
    InternalServerException: _unreadable_path,
}


def _rating_page() -> File:
    return File(
        RATE_DIR / "index.html",
        content_disposition_type="inline",
        media_type="text/html",  # Litestar adds "; charset=utf-8" to text types
    )


@get(
    "/{token:str}",
    name="rate-token",
    cache_control=OPENED_ONCE,
    include_in_schema=False,
    sync_to_thread=False,
)
def rate_by_token() -> File:
    """The page for an officer's QR code. Any one segment answers it: the page itself
    tells a malformed token ("链接无效") and the API refuses one (`400 invalid_token`)."""
    return _rating_page()


@get(
    "/s/{station_code:str}",
    name="rate-poster",
    cache_control=OPENED_ONCE,
    include_in_schema=False,
    sync_to_thread=False,
)
def rate_by_poster() -> File:
    """The page for a station's poster; the citizen types the incident number."""
    return _rating_page()


# Plain text in a page: the page policy forbids inline script and style.
NOT_BUILT_PAGE = """<!doctype html>
<html lang="zh-CN">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>清零 · 外勤应用尚未构建 / field app not built</title>
<h1>外勤应用尚未构建</h1>
<p>服务器在运行，但没有找到外勤应用（PWA）的构建结果 <code>{dist}</code>。
请在项目目录运行 <code>make pwa</code>（需要 Node.js 20+ 和 npm），然后重新启动服务器。</p>
<p>指挥中心页面不受影响：<a href="/command/">/command/</a>。接口健康检查：<a href="/api/health">/api/health</a>。</p>
<h1 lang="en">The field app is not built</h1>
<p lang="en">The server is running, but the field app (the PWA) has no build at
<code>{dist}</code>. Run <code>make pwa</code> in the project folder (it needs Node.js 20+
with npm), then restart the server. The command view works without it:
<a href="/command/">/command/</a>.</p>
</html>
"""


def not_built_router(pwa_dist: Path) -> Router:
    """`/` when the field app has no build: a 503 page saying how to build it."""
    page = NOT_BUILT_PAGE.format(dist=escape(str(pwa_dist)))

    @get(
        "/",
        name="pwa-not-built",
        cache_control=REVALIDATE,
        include_in_schema=False,
        sync_to_thread=False,
    )
    def field_app_not_built() -> Response[str]:
        return Response(
            page,
            status_code=503,
            media_type="text/html",  # Litestar adds "; charset=utf-8" to text types
            headers={"Retry-After": "3600"},
        )

    return Router(
        path="/",
        route_handlers=[field_app_not_built],
        opt={"exclude_from_auth": True},
    )


def rating_router() -> Router:
    """`/rate/...`: the page at its two kinds of address and its files under `/rate/assets/`."""
    return Router(
        path="/rate",
        route_handlers=[
            rate_by_token,
            rate_by_poster,
            create_static_files_router(
                path="/assets",
                directories=[RATE_DIR],
                cache_control=REVALIDATE,
                name="rate-assets",
                opt={"exclude_from_auth": True},
                exception_handlers=_STATIC_ERRORS,
            ),
        ],
        opt={"exclude_from_auth": True},
        exception_handlers=_STATIC_ERRORS,
    )


def web_routers(pwa_dist: Path = PWA_DIST) -> list[Router]:
    """Static routers for the front ends, the field PWA from `pwa_dist`;
    `opt={"exclude_from_auth": True}` lets them load signed-out."""
    return [
        rating_router(),
        create_static_files_router(
            path="/command",
            directories=[COMMAND_DIR],
            # No build step, so no content-hashed names: a desk must revalidate every file
            # or it could run a new app.js against an old module after an upgrade.
            cache_control=REVALIDATE,
            html_mode=True,
            name="command",
            opt={"exclude_from_auth": True},
            exception_handlers=_STATIC_ERRORS,
        ),
        create_static_files_router(
            path="/core",
            directories=[CORE_DIR],
            # Imported by the command view's modules: revalidated like them.
            cache_control=REVALIDATE,
            name="core",
            opt={"exclude_from_auth": True},
            exception_handlers=_STATIC_ERRORS,
        ),
        create_static_files_router(
            path="/assets",
            directories=[pwa_dist / "assets"],
            name="pwa-assets",
            cache_control=IMMUTABLE,
            opt={"exclude_from_auth": True},
            exception_handlers=_STATIC_ERRORS,
        ),
        create_static_files_router(
            path="/",
            directories=[pwa_dist],
            cache_control=REVALIDATE,
            html_mode=True,
            name="pwa",
            opt={"exclude_from_auth": True},
            exception_handlers=_STATIC_ERRORS,
        )
        if (pwa_dist / "index.html").is_file()
        else not_built_router(pwa_dist),
    ]
