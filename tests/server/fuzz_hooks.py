"""Schemathesis hooks for tests/server/test_openapi_fuzz.py (loaded by the schemathesis
command through SCHEMATHESIS_HOOKS).

A push names the device its token was issued to, or it is refused (403) before any op
is read; the fuzzer cannot know that id, so every generated push is given it here and
its ops (times, offsets, bodies of any shape) reach the server's per-op checks. And it
learns device ids from GET /api/devices: revoking its own would leave every later call
a 401, so that one revocation is pointed at a device that does not exist. Signing out
would end the fuzzer's own session the same way, so each sign-out it makes ends a
session of its own, signed in for it here.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis

DEVICE_ID = os.environ.get("QINGLING_FUZZ_DEVICE_ID", "")
BASE = os.environ.get("QINGLING_FUZZ_BASE", "")
TOKEN = os.environ.get("QINGLING_FUZZ_TOKEN", "")


def _spare_token() -> str:
    """A token of its own for one sign-out (the demo admin on a device of its own)."""
    r = httpx.post(
        f"{BASE}/api/auth/login",
        json={"username": "admin", "password": "qingling-demo", "device": {"id": "fuzz-logout"}},
        timeout=30,
    )
    return str(r.json().get("token", "")) if r.status_code == 200 else ""


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    # The token goes on each case here (not as a command-line header, which would win
    # over the case's own): a sign-out gets a session of its own.
    token = _spare_token() if case.operation.path == "/api/auth/logout" else TOKEN
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    path_parameters = case.path_parameters or {}
    if DEVICE_ID and path_parameters.get("device_id") == DEVICE_ID:
        path_parameters["device_id"] = "not-the-fuzzers-own-device"
    if (
        DEVICE_ID
        and case.operation.path == "/api/sync/push"
        and isinstance(case.body, dict)
        and "device_id" in case.body
    ):
        case.body["device_id"] = DEVICE_ID
