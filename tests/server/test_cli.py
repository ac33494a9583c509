"""The `qingling` command line, run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import TEST_DATABASE_URL
from tests.live import ROOT


def qingling(
    *args: str, database_url: str = TEST_DATABASE_URL, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QINGLING_DATABASE_URL": database_url, "PICCOLO_CONF": "piccolo_conf"}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        # No terminal: the password comes from standard input or not at all.
        input=stdin if stdin is not None else "",
    )


def user_add(password: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`qingling user add --password-stdin ...` with `password` piped in."""
    return qingling("user", "add", "--password-stdin", *args, stdin=password + "\n")


def test_station_user_and_device_commands() -> None:
    r = qingling("station", "add", "--name", "东城派出所", "--area", "urban")
    assert r.returncode == 0, r.stderr
    station = json.loads(r.stdout)
    assert station["area_type"] == "urban" and station["kind"] == "police_station"

    r = user_add(
        "s3cret-pass",
        "--username",
        "Li.Ming",
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
    r = user_add(
        "s3cret-pass",
        "--username",
        "chief.dc",
        "--role",
        "station_chief",
        "--station",
        station["id"],
    )
    assert r.returncode == 0, r.stderr

    # Mistakes are explained, and exit non-zero.
    for password, args, words in [
        (
            "s3cret-pass",
            ("--username", "li.ming", "--role", "officer", "--station", "东城派出所"),
            "taken",
        ),
        ("s3cret-pass", ("--username", "x", "--role", "officer"), "--station"),
        ("short", ("--username", "y", "--role", "dispatcher"), "8 characters"),
        (
            "s3cret-pass",
            ("--username", "z", "--role", "officer", "--station", "nowhere"),
            "no station",
        ),
    ]:
        r = user_add(password, *args)
        assert r.returncode != 0, args
        assert words in r.stderr, (args, r.stderr)
    for args, words in [
        (("station", "add", "--name", "东城派出所", "--area", "urban"), "already exists"),
        (("device", "revoke", "no-such-device"), "no device"),
    ]:
        r = qingling(*args)
        assert r.returncode != 0, args
        assert words in r.stderr, (args, r.stderr)
    r = user_add("s3cret-pass", "--username", "z", "--role", "wizard")
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


def test_user_add_takes_no_password_in_argv_and_refuses_common_ones() -> None:
    # The old --password option is gone: argv is readable by every user of the machine.
    r = qingling("user", "add", "--username", "a.b", "--password", "s3cret-pass", "--role", "admin")
    assert r.returncode == 2 and "unrecognized arguments" in r.stderr
    # Without --password-stdin and without a terminal there is nothing to ask on.
    r = qingling("user", "add", "--username", "a.b", "--role", "admin", stdin="s3cret-pass\n")
    assert r.returncode == 2 and "--password-stdin" in r.stderr, r.stderr
    r = qingling("user", "add", "--password-stdin", "--username", "a.b", "--role", "admin")
    assert r.returncode == 2 and "no password" in r.stderr, r.stderr
    # One of the most common passwords is refused with its code, whatever its case.
    for common in ["12345678", "PASSWORD1", "iloveyou"]:
        r = user_add(common, "--username", "a.b", "--role", "admin")
        assert r.returncode == 2, common
        assert "most common passwords" in r.stderr and "(common_password)" in r.stderr, r.stderr
    # The demo bureau's password is not one of them; only the first line of stdin counts.
    r = qingling(
        "user",
        "add",
        "--password-stdin",
        "--username",
        "a.b",
        "--role",
        "admin",
        stdin="qingling-demo\nsomething else\n",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["username"] == "a.b"


def test_agency_duties_and_list() -> None:
    """`qingling agency duties` / `agency list` (PROTOCOL §10): by name or id, validated,
    and only for a linked agency."""
    r = qingling(
        "station", "add", "--name", "县供电所", "--area", "urban", "--kind", "linked_agency"
    )
    assert r.returncode == 0, r.stderr
    power = json.loads(r.stdout)
    assert qingling("station", "add", "--name", "西城派出所", "--area", "urban").returncode == 0
    r = qingling(
        "agency", "duties", "--agency", "县供电所", "--keywords", "停电, 电线,停电",
        "--categories", "non_police,help", "--ack-minutes", "15", "--feedback-hours", "12",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    duties = json.loads(r.stdout)
    assert duties["keywords"] == ["停电", "电线"]
    assert duties["categories"] == ["non_police", "help"]
    assert (duties["ack_minutes"], duties["feedback_hours"]) == (15, 12)
    r = qingling("agency", "list")
    assert r.returncode == 0, r.stderr
    [listed] = json.loads(r.stdout)["agencies"]
    assert listed["station_id"] == power["id"] and listed["duties"]["keywords"] == ["停电", "电线"]
    # Not a linked agency; out-of-range minutes; an unknown category.
    r = qingling("agency", "duties", "--agency", "西城派出所", "--keywords", "x")
    assert r.returncode == 2 and "not_found" in r.stderr
    r = qingling("agency", "duties", "--agency", power["id"], "--ack-minutes", "0")
    assert r.returncode == 2
    r = qingling("agency", "duties", "--agency", power["id"], "--categories", "fire")
    assert r.returncode == 2
