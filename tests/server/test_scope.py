"""Station scope: a field role sees its own station's incidents and its assignments only."""

from __future__ import annotations

from tests.server.conftest import Bureau


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
    from server.accounts import new_id
    from server.tables import Bureau as BureauTable
    from server.tables import Incident
    from server.timeutil import utcnow

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
