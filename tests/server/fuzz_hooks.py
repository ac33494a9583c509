"""Schemathesis hooks for tests/server/test_openapi_fuzz.py (loaded by the schemathesis
command through SCHEMATHESIS_HOOKS).

A push names the device its token was issued to, or it is refused (403) before any op
is read; the fuzzer cannot know that id, so every generated push is given it here and
its ops (times, offsets, bodies of any shape) reach the server's per-op checks. And it
learns device ids from GET /api/devices: revoking its own would leave every later call
a 401, so that one revocation is pointed at a device that does not exist.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

DEVICE_ID = os.environ.get("QINGLING_FUZZ_DEVICE_ID", "")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
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
