"""Station scope: a field role sees its own station's incidents and its assignments only."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from server.access.accounts import caller_for_token
from server.access.scope import (
    assigned_incident_ids,
    change_scope_sql,
    incident_scope,
    may_record,
    may_record_in_case,
    sees_change,
)
from server.core.config import Settings
from server.core.tables import Change, Incident
from tests.server.conftest import Bureau
from tests.server.phone import Phone, default_body


async def test_an_officer_cannot_read_or_change_another_stations_incident(bureau: Bureau) -> None:
    theirs = await bureau.dispatched_incident("b", ("officer_b",))
    path = f"/api/incidents/{theirs['id']}"
    for who in ("officer_a", "chief_a", "mediator_a"):
        r = await bureau.call(who, "GET", path)
        assert r.status_code == 404, who
        assert r.json()["code"] == "not_found"
        listed = (await bureau.call(who, "GET", "/api/incidents", params={"status": "all"})).json()
        assert theirs["id"] not in {i["id"] for i in listed}
    for action, body in [
        ("close", {"summary": "x"}),
        ("cancel", {"reason": "x"}),
        (
            "reassign",
            {"station_id": bureau.stations["a"], "person_ids": [bureau.people["officer_a"]]},
        ),
    ]:
        r = await bureau.call("officer_a", "POST", f"{path}/{action}", json=body)
        assert r.status_code in (403, 404)
        assert set(r.json()) == {"code", "message"}
    after = (await bureau.call("dispatcher", "GET", path)).json()
    assert after["status"] == "dispatched" and after["version"] == theirs["version"]


async def test_station_members_see_their_stations_incidents(bureau: Bureau) -> None:
    ours = await bureau.dispatched_incident("a", ("officer_a",))
    for who in ("officer_a", "officer_a2", "chief_a", "mediator_a"):
        r = await bureau.call(who, "GET", f"/api/incidents/{ours['id']}")
        assert r.status_code == 200, who
    r = await bureau.call("officer_b", "GET", f"/api/incidents/{ours['id']}")
    assert r.status_code == 404


async def test_an_assignment_from_another_station_brings_the_incident_into_scope(
    bureau: Bureau,
) -> None:
    # A grid worker of station B is sent to help on station A's incident.
    joint = await bureau.dispatched_incident("a", ("officer_a", "grid_b"))
    path = f"/api/incidents/{joint['id']}"
    assert (await bureau.call("grid_b", "GET", path)).status_code == 200
    assert (await bureau.call("officer_b", "GET", path)).status_code == 404
    # Reassigned away: out of scope again.
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"{path}/reassign",
        json={"station_id": bureau.stations["a"], "person_ids": [bureau.people["officer_a"]]},
    )
    assert r.status_code == 200
    assert (await bureau.call("grid_b", "GET", path)).status_code == 404


async def test_command_center_roles_see_the_whole_bureau(bureau: Bureau) -> None:
    a = await bureau.dispatched_incident("a", ("officer_a",))
    b = await bureau.dispatched_incident("b", ("officer_b",))
    for who in ("dispatcher", "supervisor", "admin"):
        listed = {i["id"] for i in (await bureau.call(who, "GET", "/api/incidents")).json()}
        assert {a["id"], b["id"]} <= listed


async def test_stations_list_is_scoped(bureau: Bureau) -> None:
    mine = (await bureau.call("officer_a", "GET", "/api/stations")).json()
    assert [s["id"] for s in mine] == [bureau.stations["a"]]
    assert set(mine[0]) >= {"id", "name", "area_type"}
    everything = (await bureau.call("dispatcher", "GET", "/api/stations")).json()
    assert {s["id"] for s in everything} == set(bureau.stations.values())


async def test_another_bureau_is_invisible(bureau: Bureau) -> None:
    from server.core.clock import utcnow
    from server.core.ids import new_id
    from server.core.tables import Bureau as BureauTable
    from server.core.tables import Incident

    other_bureau = new_id()
    await BureauTable.insert(BureauTable(id=other_bureau, name="外局", created_at=utcnow()))
    other = new_id()
    await Incident.insert(
        Incident(
            id=other,
            bureau=other_bureau,
            number="J20261122-0001",
            category="help",
            area_type="urban",
            address="x",
            narrative="y",
            received_at=utcnow(),
            status="received",
            updated_at=utcnow(),
        )
    )
    for who in ("dispatcher", "admin"):
        r = await bureau.call(who, "GET", f"/api/incidents/{other}")
        assert r.status_code == 404
        r = await bureau.call(who, "POST", f"/api/incidents/{other}/cancel", json={"reason": "x"})
        assert r.status_code == 404


async def test_every_rendering_of_scope_agrees(bureau: Bureau) -> None:
    """Station scope is one rule (server/access/scope.py `sees`) rendered five ways: HTTP
    reads, pull, the live hub, pushed ops and attachments. Pull judges history by the
    caller's scope now, the hub judges each change as it is written; so they must agree on
    every entity's latest change, and the incidents those show must be the ones the HTTP
    calls let the caller see, record on, and read the files of (through references their
    authors were allowed to make: PROTOCOL §12)."""
    await bureau.dispatched_incident("a", ("officer_a",))
    theirs = await bureau.dispatched_incident("b", ("officer_b",))
    joint = await bureau.dispatched_incident("a", ("officer_a", "grid_b"))
    await bureau.new_incident()  # received, never dispatched: no station yet
    mediation = await Phone(bureau, "mediator_a").sign_in()
    case_file = b"mediation agreement scan"
    case_sha = hashlib.sha256(case_file).hexdigest()
    body = {**default_body("mediation_outcome"), "attachments": [case_sha]}
    pushed = await mediation.push([mediation.op("mediation_outcome", None, body)])
    assert pushed["results"][0]["status"] == "applied"
    # Moved to station B (one helper from A stays on it): its history is published again.
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{joint['id']}/reassign",
        json={
            "station_id": bureau.stations["b"],
            "person_ids": [bureau.people["officer_b"], bureau.people["officer_a2"]],
        },
    )
    assert r.status_code == 200
    # A file on every incident, named by a scene report the command center wrote and
    # uploaded by the dispatcher afterwards (the author's upload makes the reference
    # grant), so only scope (not authorship) lets a field role read it.
    desk = await Phone(bureau, "dispatcher").sign_in()
    files = {case_sha: None}
    everything = await Incident.select(Incident.id, Incident.bureau, Incident.station)
    for row in everything:
        photo = f"scene photo of {row['id']}".encode()
        sha = hashlib.sha256(photo).hexdigest()
        report = {"situation": "见附件", "attachments": [sha]}
        result = await desk.push([desk.op("scene_report", row["id"], report)])
        assert result["results"][0]["status"] == "applied"
        r = await bureau.client.put(f"/api/blobs/{sha}", content=photo, headers=desk.headers)
        assert r.status_code == 201
        files[sha] = row["id"]
    # The mediator uploads the case file named by their outcome, after recording it.
    r = await bureau.client.put(
        f"/api/blobs/{case_sha}", content=case_file, headers=mediation.headers
    )
    assert r.status_code == 201
    # An officer of B names a file of A's incident, which they cannot read, on their own
    # incident: accepted, but the reference grants nobody anything.
    incident_a = next(row["id"] for row in everything if row["station"] == bureau.stations["a"])
    elsewhere = next(sha for sha, incident in files.items() if incident == incident_a)
    officer_b = await Phone(bureau, "officer_b").sign_in()
    quoted = {"situation": "引用", "attachments": [elsewhere]}
    pushed = await officer_b.push([officer_b.op("scene_report", theirs["id"], quoted)])
    assert pushed["results"][0]["status"] == "applied"

    rows = await Change.raw(
        'SELECT pos, entity, entity_id, bureau, station, incident FROM "change" ORDER BY pos'
    )
    latest = list({(r["entity"], r["entity_id"]): r for r in rows}.values())
    case = next(r for r in latest if r["entity"] == "mediation")
    assert {r["incident"] is None for r in latest} == {True, False}
    for who in bureau.people:
        caller = await caller_for_token(await bureau.login(who), Settings())
        assigned = set(await assigned_incident_ids(caller.person_id))
        where, values = change_scope_sql(caller)
        by_sql = {
            r["pos"] for r in await Change.raw(f'SELECT pos FROM "change" WHERE {where}', *values)
        }
        by_hub = {r["pos"] for r in latest if sees_change(caller, assigned, r)}
        assert by_sql & {r["pos"] for r in latest} == by_hub, who
        visible = {
            r["id"] for r in await Incident.select(Incident.id).where(await incident_scope(caller))
        }
        assert visible == {r["incident"] for r in latest if r["pos"] in by_hub and r["incident"]}, (
            who
        )
        may_write = {row["id"] for row in everything if may_record(caller, row, assigned)}
        assert may_write == visible, who
        case_root = {"bureau": case["bureau"], "station": case["station"]}
        assert may_record_in_case(caller, case_root) == (case["pos"] in by_hub), who
        readable = set()
        for sha in files:
            r = await bureau.call(who, "GET", f"/api/blobs/{sha}")
            assert r.status_code in (200, 404), who
            if r.status_code == 200:
                readable.add(sha)
        expected = {sha for sha, incident in files.items() if incident in visible}
        if case["pos"] in by_hub:
            expected.add(case_sha)
        assert readable == expected, who

    # A field role without a station sees nothing, not even the rows of an incident that
    # has no station yet (None is no station).
    some = await caller_for_token(await bureau.login("officer_a"), Settings())
    stationless = replace(some, person_id="nobody", station_id=None)
    undispatched = next(row for row in everything if row["station"] is None)
    assert not may_record(stationless, undispatched, set())
    assert not any(sees_change(stationless, set(), r) for r in latest)
    assert not may_record_in_case(stationless, {"bureau": some.bureau_id, "station": None})
