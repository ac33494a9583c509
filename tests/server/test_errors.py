"""Every route answers malformed input with a 4xx and {"code", "message"}, and changes nothing."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from litestar.routes import HTTPRoute

from server.core.tables import Change, Incident
from tests.server.conftest import Bureau

MALFORMED_BODIES: list[tuple[str, bytes, str]] = [
    ("not json", b"{not json", "application/json"),
    ("a list", b"[1, 2, 3]", "application/json"),
    ("a string", b'"hello"', "application/json"),
    ("null", b"null", "application/json"),
    (
        "wrong types",
        b'{"username": 1, "password": [], "category": 5, "station_id": {}, "person_ids": "x", "summary": 7, "reason": false}',
        "application/json",
    ),
    ("unknown field", b'{"zzz_unknown": 1}', "application/json"),
    (
        "NUL in text",
        b'{"username": "a\\u0000", "password": "b", "summary": "\\u0000", "reason": "\\u0000", "category": "help", "area_type": "urban", "address": "\\u0000", "narrative": "x"}',
        "application/json",
    ),
    ("invalid utf-8", b'{"summary": "\xff\xfe"}', "application/json"),
    ("lone surrogate", b'{"summary": "\\ud800"}', "application/json"),
    (
        "huge number",
        b'{"lat": 1e400, "station_id": 99999999999999999999999999999}',
        "application/json",
    ),
    ("form data", b"a=1&b=2", "application/x-www-form-urlencoded"),
    # Longer than any column: each must be refused before it reaches the database.
    (
        "over-long strings",
        json.dumps(
            {
                "username": "u" * 65,
                "password": "p",
                "device": {"id": "d" * 65, "label": "l" * 201},
                "summary": "s",
                "reason": "r",
                "station_id": "s" * 65,
                "person_ids": ["p" * 65],
                "category": "help",
                "area_type": "urban",
                "address": "a" * 201,
                "narrative": "n",
                "caller_phone": "1" * 65,
            }
        ).encode(),
        "application/json",
    ),
]

BAD_IDS = ["no-such-id", "%00", "x" * 300, "%F0%9F%98%80", "..%2F..%2Fetc"]


def api_routes(app: Any) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _ in _routes(app)]


def _routes(app: Any) -> list[tuple[str, str, bool]]:
    """(method, path, takes a body) for every API route."""
    out = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/schema"):
            continue
        for handler in route.route_handlers:
            takes_body = "data" in inspect.signature(handler.fn).parameters
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                out.append((method, route.path, takes_body))
    return out


def fill(path: str, value: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", value, path)


def assert_error_body(r: Any, context: str) -> None:
    assert 400 <= r.status_code < 500, f"{context}: {r.status_code} {r.text}"
    body = r.json()
    assert set(body) == {"code", "message"}, f"{context}: {body}"
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and body["message"]


async def test_the_route_table_is_what_these_tests_cover(bureau: Bureau) -> None:
    routes = api_routes(bureau.client.app)
    assert ("POST", "/api/auth/login") in routes
    assert ("POST", "/api/incidents/{incident_id:str}/dispatch") in routes
    assert len(routes) >= 10


async def test_every_route_rejects_malformed_bodies_and_bad_ids(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    before = await Change.count()
    headers = await bureau.auth("admin")
    for method, path, takes_body in _routes(bureau.client.app):
        for bad_id in BAD_IDS:
            # The citizen's rating page (/rate/...) is served for any address: a damaged
            # link gets the page, which says in Chinese that the link is invalid
            # (tests/browser/test_rate_page.py), not a JSON 404.
            if "{" in path and not path.startswith("/rate/"):
                r = await bureau.client.request(method, fill(path, bad_id), headers=headers)
                assert_error_body(r, f"{method} {path} id={bad_id[:20]}")
        if method != "POST":
            continue
        if path == "/api/auth/logout":
            # It takes no body (one sent is ignored), and answering it would end the
            # token every later request here uses: tests/server/test_sessions.py.
            continue
        target = fill(path, incident["id"])
        for name, raw, content_type in MALFORMED_BODIES:
            r = await bureau.client.request(
                method, target, content=raw, headers={**headers, "Content-Type": content_type}
            )
            assert_error_body(r, f"{method} {path} {name}")
        if not takes_body:
            continue
        # Over the 1 MiB request limit.
        big = b'{"summary": "' + b"x" * (1024 * 1024 + 10) + b'"}'
        r = await bureau.client.request(
            method, target, content=big, headers={**headers, "Content-Type": "application/json"}
        )
        assert r.status_code == 413, f"{method} {path}: {r.status_code}"
        assert r.json()["code"] == "too_large"
    assert await Change.count() == before
    after = await Incident.select().where(Incident.id == incident["id"]).first()
    assert after["version"] == incident["version"] and after["status"] == "dispatched"


async def test_every_route_but_login_health_and_public_needs_a_token(bureau: Bureau) -> None:
    for method, path in api_routes(bureau.client.app):
        if path in ("/api/auth/login", "/api/health") or not path.startswith("/api/"):
            # The web front ends (server/http/static.py) load signed-out; their data needs a token.
            continue
        if path.startswith("/api/public/"):
            # The citizen's rating calls (PROTOCOL §9): no sign-in, by design.
            continue
        r = await bureau.client.request(method, fill(path, "some-id"))
        assert r.status_code == 401, f"{method} {path}"
        assert_error_body(r, f"{method} {path}")


@pytest.mark.parametrize(
    "method,path,params",
    [
        ("GET", "/api/no-such-route", None),
        ("DELETE", "/api/incidents", None),
        ("GET", "/api/incidents", {"status": "bogus"}),
        ("GET", "/api/incidents", {"limit": "-1"}),
        ("GET", "/api/incidents", {"limit": "abc"}),
        ("PUT", "/api/auth/login", None),
    ],
)
async def test_unknown_routes_methods_and_query_values(
    bureau: Bureau, method: str, path: str, params: dict[str, str] | None
) -> None:
    headers = await bureau.auth("dispatcher")
    r = await bureau.client.request(method, path, params=params, headers=headers)
    assert_error_body(r, f"{method} {path} {params}")


async def test_login_with_missing_fields_is_400_not_401(bureau: Bureau) -> None:
    r = await bureau.client.post("/api/auth/login", json={"username": "officer_a"})
    assert r.status_code == 400
    assert r.json()["code"] == "invalid"
    assert "password" in r.json()["message"]
