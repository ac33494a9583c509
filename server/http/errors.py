"""Errors as HTTP responses: the one place that maps Qingling's error tree
(server/core/errors.py) to statuses and bodies.

Every error body is {"code": str, "message": str}. Litestar's own exceptions (a body
that does not decode, an unknown route, a wrong method) are mapped into the same shape
(a query value that fails its declared type or bounds: `invalid_param`);
a database fault that a retry may cure answers 503 with Retry-After.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from server.core.db import is_transient
from server.core.errors import QinglingError
from server.http.params import bad_query_message, query_failures

log = logging.getLogger("qingling")


# Codes for Litestar's own HTTP exceptions, by status.
_HTTP_CODES = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "invalid_state",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_attempts",
    503: "unavailable",
}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None):
    return Response(
        content={"code": code, "message": message},
        status_code=status,
        headers=headers or {},
        media_type="application/json",
    )


def _validation_message(exc: ValidationException) -> str:
    extra = exc.extra
    if isinstance(extra, list) and extra:
        parts = []
        for item in extra[:5]:
            if isinstance(item, dict):
                where = item.get("key") or item.get("source") or ""
                what = item.get("message") or ""
                parts.append(f"{where}: {what}" if where else str(what))
        if parts:
            return "; ".join(parts)
    return str(exc.detail) or "the request is not valid"


def handle_qingling_error(_: Request[Any, Any, Any], exc: QinglingError) -> Response[Any]:
    if exc.status >= 500:
        log.error("server error %s: %s", exc.code, exc.message)
    return error_response(exc.status, exc.code, exc.message, exc.headers())


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        # A bad query value (a list's limit, state, kind...): `invalid_param`, naming it.
        failures = query_failures(exc.extra)
        if failures is not None:
            return error_response(400, "invalid_param", bad_query_message(request, failures))
        return error_response(400, "invalid", _validation_message(exc))
    code = _HTTP_CODES.get(status, "internal" if status >= 500 else "invalid")
    if status >= 500:
        log.error("server error: %s", exc.detail)
        return error_response(status, code, "internal server error")
    return error_response(status, code, str(exc.detail), dict(exc.headers or {}))


def handle_bad_encoding(_: Request[Any, Any, Any], exc: UnicodeError) -> Response[Any]:
    # Raised while decoding a request (a body or a value that is not UTF-8): bad input.
    return error_response(400, "invalid", "the request is not valid UTF-8 text")


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if is_transient(exc):
        log.warning("temporary database fault: %s", exc)
        return error_response(
            503, "unavailable", "the database is busy; retry shortly", {"Retry-After": "2"}
        )
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal", "internal server error")


EXCEPTION_HANDLERS = {
    QinglingError: handle_qingling_error,
    HTTPException: handle_http_exception,
    UnicodeError: handle_bad_encoding,
    Exception: handle_unexpected,
}
