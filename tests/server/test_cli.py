"""The `qingling` command line, run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import TEST_DATABASE_URL
from tests.live import ROOT


def qingling(*args: str, database_url: str = TEST_DATABASE_URL) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QINGLING_DATABASE_URL": database_url, "PICCOLO_CONF": "piccolo_conf"}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_station_user_and_device_commands() -> None:
    r = qingling("station", "add", "--name", "东城派出所", "--area", "urban")
    assert r.returncode == 0, r.stderr
    station = json.loads(r.stdout)
    assert station["area_type"] == "urban" and station["kind"] == "police_station"

    r = qingling(
        "user",
        "add",
        "--username",
        "Li.Ming",
        "--password",
        "s3cret-pass",
        "--role",
        "officer",
        "--station",
        "东城派出所",
        "--name",
        "李明",
    )
    assert r.returncode == 0, r.stderr
    user = json.loads(r.stdout)
    assert user["username"] == "li.ming" and user["station_id"] == station["id"]
    # --station also takes an id.
    r = qingling(
        "user",
        "add",
        "--username",
        "chief.dc",
        "--password",
        "s3cret-pass",
        "--role",
        "station_chief",
        "--station",
        station["id"],
    )
    assert r.returncode == 0, r.stderr

    # Mistakes are explained, and exit non-zero.
    for args, words in [
        (
            (
                "user",
                "add",
                "--username",
                "li.ming",
                "--password",
                "s3cret-pass",
                "--role",
                "officer",
                "--station",
                "东城派出所",
            ),
            "taken",
        ),
        (
            ("user", "add", "--username", "x", "--password", "s3cret-pass", "--role", "officer"),
            "--station",
        ),
        (
            ("user", "add", "--username", "y", "--password", "short", "--role", "dispatcher"),
            "8 characters",
        ),
        (
            (
                "user",
                "add",
                "--username",
                "z",
                "--password",
                "s3cret-pass",
                "--role",
                "officer",
                "--station",
                "nowhere",
            ),
            "no station",
        ),
        (("station", "add", "--name", "东城派出所", "--area", "urban"), "already exists"),
        (("device", "revoke", "no-such-device"), "no device"),
    ]:
        r = qingling(*args)
        assert r.returncode != 0, args
        assert words in r.stderr, (args, r.stderr)
    r = qingling("user", "add", "--username", "z", "--password", "s3cret-pass", "--role", "wizard")
    assert r.returncode == 2 and "invalid choice" in r.stderr

    # A device appears after sign-in, and revocation shows in the list.
    from tests.live import live_server

    with live_server(TEST_DATABASE_URL) as base:
        import httpx

        r = httpx.post(
            f"{base}/api/auth/login",
            json={"username": "li.ming", "password": "s3cret-pass", "device": {"id": "pda-7"}},
        )
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        devices = json.loads(qingling("device", "list").stdout)
        assert [d["id"] for d in devices] == ["pda-7"] and devices[0]["revoked_at"] is None
        r = qingling("device", "revoke", "pda-7")
        assert r.returncode == 0, r.stderr
        assert json.loads(qingling("device", "list").stdout)[0]["revoked_at"] is not None
        r = httpx.get(f"{base}/api/stations", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401


def test_migrate_works_on_a_fresh_sqlite_file(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/fresh/q.db"
    r = qingling("migrate", database_url=url)
    assert r.returncode == 0, r.stderr
    assert "up to date" in r.stdout
    r = qingling("station", "add", "--name", "新站", "--area", "rural", database_url=url)
    assert r.returncode == 0, r.stderr
