"""`qingling policy show|set`: the bureau's SLA policy as data, from the command line; a
change reaches the open incidents' stored clocks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from server.core.tables import SlaClock
from tests.server.conftest import Bureau
from tests.server.test_cli import qingling


async def test_policy_set_and_show_from_the_command_line(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    r = qingling("policy", "show")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["policy"]["preset"] == "default"
    assert shown["policy"]["arrival_urban_min"] == 10
    assert set(shown["presets"]) == {"default", "zhoushan_1358"}

    r = qingling("policy", "set", "--preset", "zhoushan_1358", "--arrival-rural", "9")
    assert r.returncode == 0, r.stderr
    stored = json.loads(r.stdout)
    assert stored["open_incidents_recomputed"] == 1
    policy = json.loads(qingling("policy", "show").stdout)["policy"]
    assert policy == {
        "preset": "zhoushan_1358",
        "arrival_urban_min": 5,
        "arrival_rural_min": 9,
        "initial_result_min": 240,
        "clear_min": 1440,
        "evidence_min": 1440,
        "arrival_from": "receipt",
        "dispatch_min": 1,
        "clock_tolerance_s": 60,
        "callback_hours": 72,
    }
    # The open incident's stored arrival clock now runs 5 minutes from the call.
    row = await SlaClock.select().where(SlaClock.id == f"{incident['id']}:arrival").first()
    assert row is not None
    received = datetime.fromisoformat(incident["received_at"])
    assert row["due_at"] == received + timedelta(minutes=5)
    assert await SlaClock.exists().where(SlaClock.id == f"{incident['id']}:dispatch")

    r = qingling("policy", "set", "--preset", "default", "--clear", "0")
    assert r.returncode == 2 and "clear_min" in r.stderr
    r = qingling("policy", "set", "--preset", "fast")
    assert r.returncode != 0


async def test_a_clock_the_policy_no_longer_runs_is_dropped_and_the_others_follow(
    bureau: Bureau,
) -> None:
    """The stored clocks are the record's after each write (server/write/publish.py
    `replace_clocks`): one the incident no longer runs is deleted, a changed one rewritten,
    and each incident keeps its own."""
    incident = await bureau.dispatched_incident()
    other = await bureau.dispatched_incident(station="b", people=("officer_b",))

    async def clocks(incident_id: str) -> dict[str, datetime | None]:
        rows = await SlaClock.select(SlaClock.name, SlaClock.due_at).where(
            SlaClock.incident == incident_id
        )
        return {r["name"]: r["due_at"] for r in rows}

    received = datetime.fromisoformat(incident["received_at"])
    before = await clocks(incident["id"])
    other_before = await clocks(other["id"])
    assert "dispatch" not in before and "arrival" in before

    r = qingling("policy", "set", "--preset", "zhoushan_1358")
    assert r.returncode == 0, r.stderr
    zhoushan = await clocks(incident["id"])
    assert set(zhoushan) == {*before, "dispatch"}
    # Zhoushan's arrival clock runs 5 minutes from the call.
    assert zhoushan["arrival"] == received + timedelta(minutes=5)

    r = qingling("policy", "set", "--preset", "default")
    assert r.returncode == 0, r.stderr
    assert await clocks(incident["id"]) == before
    # The other incident's clocks went the same way, each its own.
    assert await clocks(other["id"]) == other_before != before
