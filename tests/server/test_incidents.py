"""The command center's incident calls (PROTOCOL §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.core.tables import Change
from tests.server.conftest import Bureau


def iso(value: datetime) -> str:
    return value.isoformat()


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_create_numbers_incidents_per_day_in_shanghai_time(bureau: Bureau) -> None:
    now = datetime.now(UTC)
    first = await bureau.new_incident(
        caller_name="张三", caller_phone="138 0000 0000", lat=30.1, lon=120.2
    )
    second = await bureau.new_incident()
    today = (now + timedelta(hours=8)).strftime("%Y%m%d")
    assert first["number"] == f"J{today}-0001"
    assert second["number"] == f"J{today}-0002"
    assert first["status"] == "received" and first["version"] == 1
    assert first["caller_name"] == "张三" and first["lat"] == 30.1
    assert first["received_back_entered"] is False
    # 16:30 UTC on the 21st is 00:30 on the 22nd in Shanghai: the 22nd's numbering.
    back = await bureau.new_incident(received_at="2026-11-21T16:30:00Z")
    assert back["number"].startswith("J20261122-")
    earlier = await bureau.new_incident(received_at="2026-11-21T15:59:00+00:00")
    assert earlier["number"] == "J20261121-0001"
    assert earlier["received_back_entered"] is True


async def test_dispatch_assigns_people_and_starts_the_arrival_clock(bureau: Bureau) -> None:
    urban = await bureau.dispatched_incident("a", ("officer_a", "officer_a2"))
    assert urban["status"] == "dispatched"
    assert urban["station_id"] == bureau.stations["a"]
    assert {a["person_id"] for a in urban["assignees"]} == {
        bureau.people["officer_a"],
        bureau.people["officer_a2"],
    }
    dispatched = parse(urban["dispatched_at"])
    assert parse(urban["clocks"]["arrival"]["due_at"]) == dispatched + timedelta(minutes=10)
    assert parse(urban["clocks"]["initial_result"]["due_at"]) == dispatched + timedelta(hours=4)
    assert parse(urban["clocks"]["clear"]["due_at"]) == parse(urban["received_at"]) + timedelta(
        hours=24
    )
    assert urban["clocks"]["arrival"]["state"] == "running"
    rural = await bureau.dispatched_incident("b", ("officer_b",), area_type="rural")
    assert parse(rural["clocks"]["arrival"]["due_at"]) == parse(rural["dispatched_at"]) + timedelta(
        minutes=20
    )


async def test_timeline_holds_command_center_acts_with_null_op_ids(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    r = await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")
    body = r.json()
    assert [e["type"] for e in body["timeline"]] == ["received", "dispatched"]
    for entry in body["timeline"]:
        assert entry["op_id"] is None
        assert entry["person_id"] == bureau.people["dispatcher"]
        assert entry["device_time"] is None
        assert entry["flags"] == []
        assert entry["effective_time"] and entry["received_at"]
    assert body["review_items"] == []
    assert set(body["clocks"]) == {"arrival", "initial_result", "clear"}


async def test_back_entered_dispatch_is_marked_and_checked(bureau: Bureau) -> None:
    now = datetime.now(UTC)
    incident = await bureau.new_incident(received_at=iso(now - timedelta(minutes=30)))
    path = f"/api/incidents/{incident['id']}/dispatch"
    team = {"station_id": bureau.stations["a"], "person_ids": [bureau.people["officer_a"]]}
    r = await bureau.call(
        "dispatcher", "POST", path, json={**team, "dispatched_at": iso(now + timedelta(minutes=5))}
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_time"
    r = await bureau.call(
        "dispatcher", "POST", path, json={**team, "dispatched_at": iso(now - timedelta(minutes=40))}
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_time"
    r = await bureau.call(
        "dispatcher", "POST", path, json={**team, "dispatched_at": iso(now - timedelta(minutes=20))}
    )
    assert r.status_code == 200
    timeline = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()[
        "timeline"
    ]
    dispatch = [e for e in timeline if e["type"] == "dispatched"][0]
    assert dispatch["back_entered"] is True
    assert parse(dispatch["effective_time"]) < parse(dispatch["received_at"])
    # The clock runs from the back-entered time: 20 minutes ago + 10 minutes is overdue.
    assert r.json()["clocks"]["arrival"]["state"] == "overdue"


async def test_received_at_in_the_future_is_refused(bureau: Bureau) -> None:
    future = iso(datetime.now(UTC) + timedelta(hours=1))
    r = await bureau.call(
        "dispatcher",
        "POST",
        "/api/incidents",
        json={
            "category": "help",
            "area_type": "urban",
            "address": "x",
            "narrative": "y",
            "received_at": future,
        },
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_time"
    # A time without an offset is not RFC 3339.
    r = await bureau.call(
        "dispatcher",
        "POST",
        "/api/incidents",
        json={
            "category": "help",
            "area_type": "urban",
            "address": "x",
            "narrative": "y",
            "received_at": "2026-11-21T10:00:00",
        },
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid"


async def test_lifecycle_transitions_and_versions(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    base = f"/api/incidents/{incident['id']}"
    assert incident["version"] == 2
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"{base}/dispatch",
        json={"station_id": bureau.stations["a"], "person_ids": [bureau.people["officer_a"]]},
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"{base}/reassign",
        json={"station_id": bureau.stations["b"], "person_ids": [bureau.people["officer_b"]]},
    )
    assert r.status_code == 200
    assert r.json()["station_id"] == bureau.stations["b"]
    assert [a["person_id"] for a in r.json()["assignees"]] == [bureau.people["officer_b"]]
    assert r.json()["version"] == 3
    r = await bureau.call("dispatcher", "POST", f"{base}/close", json={"summary": "已调解"})
    assert r.status_code == 200
    closed = r.json()
    assert closed["status"] == "closed" and closed["version"] == 4
    assert closed["close_summary"] == "已调解"
    assert closed["clocks"]["clear"]["state"] == "met"
    for action, body in [("close", {"summary": "x"}), ("cancel", {"reason": "x"})]:
        r = await bureau.call("dispatcher", "POST", f"{base}/{action}", json=body)
        assert r.status_code == 409
    other = await bureau.new_incident()
    r = await bureau.call(
        "admin", "POST", f"/api/incidents/{other['id']}/cancel", json={"reason": "重复报警"}
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{other['id']}/reassign",
        json={"station_id": bureau.stations["b"], "person_ids": [bureau.people["officer_b"]]},
    )
    assert r.status_code == 409


async def test_dispatch_checks_the_team(bureau: Bureau) -> None:
    incident = await bureau.new_incident()
    path = f"/api/incidents/{incident['id']}/dispatch"
    cases = [
        (
            {"station_id": "no-such-station", "person_ids": [bureau.people["officer_a"]]},
            "unknown_station",
        ),
        ({"station_id": bureau.stations["a"], "person_ids": ["nobody"]}, "unknown_person"),
        (
            {"station_id": bureau.stations["a"], "person_ids": [bureau.people["dispatcher"]]},
            "unknown_person",
        ),
    ]
    for body, code in cases:
        r = await bureau.call("dispatcher", "POST", path, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == code
    r = await bureau.call(
        "dispatcher", "POST", path, json={"station_id": bureau.stations["a"], "person_ids": []}
    )
    assert r.status_code == 400
    unchanged = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    assert unchanged["status"] == "received" and unchanged["version"] == 1


async def test_every_act_appends_the_record_to_the_change_feed(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/close", json={"summary": "ok"}
    )
    rows = await Change.select().where(Change.entity_id == incident["id"]).order_by(Change.pos)
    assert [r["entity"] for r in rows] == ["incident"] * 3
    positions = [r["pos"] for r in rows]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert '"status":"closed"' in rows[-1]["data"]
    assert "timeline" not in rows[-1]["data"]


async def test_list_shows_open_incidents_newest_first(bureau: Bureau) -> None:
    now = datetime.now(UTC)
    old = await bureau.new_incident(received_at=iso(now - timedelta(hours=2)))
    new = await bureau.new_incident(received_at=iso(now - timedelta(minutes=1)))
    gone = await bureau.new_incident()
    await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{gone['id']}/cancel", json={"reason": "误报"}
    )
    r = await bureau.call("supervisor", "GET", "/api/incidents")
    assert [i["id"] for i in r.json()] == [new["id"], old["id"]]
    r = await bureau.call("supervisor", "GET", "/api/incidents", params={"status": "cancelled"})
    assert [i["id"] for i in r.json()] == [gone["id"]]
    assert "timeline" not in r.json()[0]


async def test_field_and_supervisor_roles_cannot_steer_incidents(bureau: Bureau) -> None:
    body = {"category": "help", "area_type": "urban", "address": "x", "narrative": "y"}
    for who in ("officer_a", "chief_a", "supervisor", "agency_x"):
        r = await bureau.call(who, "POST", "/api/incidents", json=body)
        assert r.status_code == 403, who
        assert r.json()["code"] == "forbidden"
