"""What every HTTP answer carries for the browser's sake (PROTOCOL §12 "Pages").

- Every answer: `X-Content-Type-Options: nosniff` (a browser takes the Content-Type as
  given, so no file or JSON is ever run as script or shown as a page because of what it
  looks like), `Referrer-Policy: no-referrer` (incident ids and rating tokens in our URLs
  never leave in a Referer), `X-Frame-Options: DENY` (for browsers older than
  frame-ancestors).
- Pages and the files they load (`/`, `/command/`, `/core/`, `/assets/`, the service
  worker, and `/rate/...` or any other page added later): `PAGE_CSP`, whose script-src is
  'self' only: no inline script, no eval, no other origin; `frame-ancestors 'none'`.
- The API (`/api/...`): `API_CSP`, nothing may load or frame it.
- The OpenAPI viewers under `/schema` load their script from a CDN: only
  `frame-ancestors 'none'`.

A header a handler set itself (a blob's sandbox CSP, say) is kept. Installed as a
before-send hook, so it also reaches answers no route produced (404s, errors).
"""

from __future__ import annotations

import logging
import re

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Inline style *attributes* only (the shell's loading line); no <style> elements.
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data: blob:",
        # 'self' covers the sync WebSocket on the same host (CSP Level 3).
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
SCHEMA_CSP = "frame-ancestors 'none'"

_ALWAYS = (
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
)


def policy_for(path: str) -> str:
    """The Content-Security-Policy for an answer to `path`."""
    if path == "/api" or path.startswith("/api/"):
        return API_CSP
    if path == "/schema" or path.startswith("/schema/"):
        return SCHEMA_CSP
    return PAGE_CSP


async def security_headers(message: Message, scope: Scope) -> None:
    """Litestar before-send hook: add the headers above to every HTTP answer's start."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in _ALWAYS:
        if name not in headers:
            headers[name] = value
    if "content-security-policy" not in headers:
        headers["content-security-policy"] = policy_for(scope.get("path", ""))


# ---------------------------------------------------------------------------------------
# The access log. Uvicorn logs each request's path; a blob's path is its hash, and a hash
# is all the old blob trick needed (and a rating token in a path is a bearer secret). So
# any path segment of 32 or more hex digits is written as "{hex}" in that log.

_HEX_SEGMENT = re.compile(r"(?<=/)[0-9A-Fa-f]{32,}(?=[/?#\s]|$)")


def redact_path(text: str) -> str:
    """`text` with every path segment of 32+ hex digits replaced by "{hex}"."""
    return _HEX_SEGMENT.sub("{hex}", text)


class RedactHexPaths(logging.Filter):
    """Rewrites uvicorn's access-log records (`'%s - "%s %s HTTP/%s" %d'`, the path among
    the arguments) before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_path(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact_path(record.msg)
        return True


def redact_access_log(logger_name: str = "uvicorn.access") -> None:
    """Install `RedactHexPaths` on the access logger (once; uvicorn configured it already
    when the app starts)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactHexPaths) for f in logger.filters):
        logger.addFilter(RedactHexPaths())
