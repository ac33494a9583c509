"""Schemathesis over the served OpenAPI document: no generated request gets a 5xx.

Every operation the document lists, in every phase: its examples, the coverage phase
(boundary and wrong values for each parameter and field), random fuzzing, and the
stateful phase, which chains calls along the links schemathesis infers from the
document (create an incident, then dispatch, close or read it by the id it returned).
Bounded (a fixed number of examples per operation, a fixed seed) so it fits in CI in
about a minute; signed in as the demo admin so the fuzzer reaches past the token check.
tests/server/fuzz_hooks.py lets generated pushes name the fuzzer's own device and keeps
it from revoking that device.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from server.demo import DEMO_PASSWORD
from tests.conftest import TEST_DATABASE_URL
from tests.live import ROOT, live_server

MAX_EXAMPLES = "25"
SEED = "20261122"


def test_fuzzing_the_openapi_document_finds_no_server_error(tmp_path: Path) -> None:
    cli = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    with live_server(TEST_DATABASE_URL, "--demo", log=tmp_path / "server.log") as base:
        signed_in = httpx.post(
            f"{base}/api/auth/login", json={"username": "admin", "password": DEMO_PASSWORD}
        ).json()
        document = httpx.get(f"{base}/schema/openapi.json").json()
        operations = [
            (method.upper(), path)
            for path, item in document["paths"].items()
            for method in item
            if method in ("get", "put", "post", "delete", "patch")
        ]
        r = subprocess.run(
            [
                cli,
                "run",
                f"{base}/schema/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                MAX_EXAMPLES,
                "--phases",
                "examples,coverage,fuzzing,stateful",
                # One worker: with two threads, hypothesis's ast.parse of lambda sources
                # trips a CPython 3.11 thread-safety bug ("AST constructor recursion
                # depth mismatch") and schemathesis reports a runtime error of its own.
                "--workers",
                "1",
                "--seed",
                SEED,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.server.fuzz_hooks",
                "PYTHONPATH": str(ROOT),
                "QINGLING_FUZZ_DEVICE_ID": signed_in["device_id"],
                "QINGLING_FUZZ_BASE": base,
                "QINGLING_FUZZ_TOKEN": signed_in["token"],
            },
        )
        log = (tmp_path / "server.log").read_text(errors="replace")
    report = r.stdout[-6000:] + r.stderr[-2000:] + log[-3000:]
    assert r.returncode == 0, report
    # Every route of the document was exercised, not just listed.
    assert ("POST", "/api/sync/push") in operations and len(operations) >= 25
    assert f"Tested: {len(operations)}" in r.stdout, report
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in r.stdout, report
    # The stateful phase followed links between operations.
    covered = re.search(r"API Links:\s+(\d+) covered", r.stdout)
    assert covered and int(covered.group(1)) > 0, report
    assert "unhandled error" not in log, log[-3000:]
