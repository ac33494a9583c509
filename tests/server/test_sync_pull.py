"""Pull and the change feed (PROTOCOL §4), black-box over HTTP."""

from __future__ import annotations

import asyncio

from tests.server.conftest import Bureau
from tests.server.phone import Phone


async def test_a_new_device_bootstraps_from_the_beginning(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    writer = await Phone(bureau, "officer_a").sign_in()
    op = writer.op("scene_report", incident["id"])
    await writer.push([op])
    reader = await Phone(bureau, "officer_a2").sign_in()
    changes = await reader.pull_all()
    assert f"incident:{incident['id']}" in reader.held
    assert reader.held[f"event:{op['op_id']}"]["body"]["situation"] == op["body"]["situation"]
    record = reader.held[f"incident:{incident['id']}"]
    assert "timeline" not in record and record["number"] == incident["number"]
    positions = [c["pos"] for c in changes]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)


async def test_paging_while_writes_happen_yields_every_change_once_in_order(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    writer = await Phone(bureau, "officer_a").sign_in()
    reader = await Phone(bureau, "supervisor").sign_in()
    await writer.push([writer.op("note", incident["id"], {"text": f"n{i}"}) for i in range(30)])
    seen: list[int] = []
    written = 30

    async def write_more() -> None:
        nonlocal written
        for i in range(10):
            await writer.push([writer.op("note", incident["id"], {"text": f"late{i}"})])
            written += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(write_more())
    for _ in range(200):
        params = {"limit": 7, **({"cursor": reader.cursor} if reader.cursor else {})}
        page = (
            await bureau.client.get("/api/sync/pull", params=params, headers=reader.headers)
        ).json()
        seen.extend(c["pos"] for c in page["changes"])
        for c in page["changes"]:
            reader.held[f"{c['entity']}:{c['id']}"] = c["data"]
        reader.cursor = page["cursor"]
        if not page["more"] and task.done():
            break
        await asyncio.sleep(0)
    await task
    await reader.pull_all(limit=7)
    notes = [k for k, v in reader.held.items() if k.startswith("event:") and v["type"] == "note"]
    assert len(notes) == written == 40
    assert seen == sorted(seen) and len(seen) == len(set(seen))


async def test_scope_a_field_role_pulls_only_its_stations_changes(bureau: Bureau) -> None:
    ours = await bureau.dispatched_incident("a", ("officer_a",))
    theirs = await bureau.dispatched_incident("b", ("officer_b",))
    b = await Phone(bureau, "officer_b").sign_in()
    await b.push([b.op("note", theirs["id"], {"text": "乙所记录"})])
    a = await Phone(bureau, "officer_a2").sign_in()
    await a.pull_all()
    assert f"incident:{ours['id']}" in a.held
    assert not any(theirs["id"] in (k, str(v.get("incident_id"))) for k, v in a.held.items())
    assert f"incident:{theirs['id']}" not in a.held


async def test_a_newly_assigned_person_receives_the_incident_and_its_history(
    bureau: Bureau,
) -> None:
    theirs = await bureau.dispatched_incident("b", ("officer_b",))
    b = await Phone(bureau, "officer_b").sign_in()
    history = b.op("scene_report", theirs["id"])
    await b.push([history])
    # officer_a is up to date, and the incident is not theirs.
    a = await Phone(bureau, "officer_a").sign_in()
    await a.pull_all()
    assert f"incident:{theirs['id']}" not in a.held
    # Now they are sent to help: the incident and its earlier events reach them.
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{theirs['id']}/reassign",
        json={
            "station_id": bureau.stations["b"],
            "person_ids": [bureau.people["officer_b"], bureau.people["officer_a"]],
        },
    )
    assert r.status_code == 200
    await a.pull_all()
    assert f"incident:{theirs['id']}" in a.held
    assert f"event:{history['op_id']}" in a.held


async def test_cursors_from_another_epoch_or_beyond_the_head_reset(bureau: Bureau) -> None:
    await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    await phone.pull_all()
    good = phone.cursor
    assert good is not None
    epoch, _, pos = good.rpartition(".")
    for cursor in [
        f"ffff{epoch}.{pos}",
        f"{epoch}.{int(pos) + 1000}",
        "garbage",
        "..",
        f"{epoch}.-1",
    ]:
        r = await bureau.client.get(
            "/api/sync/pull", params={"cursor": cursor}, headers=phone.headers
        )
        assert r.status_code == 200, cursor
        page = r.json()
        assert page["reset"] is True, cursor
        assert any(c["entity"] == "incident" for c in page["changes"]), (
            "a reset carries a fresh snapshot"
        )
    r = await bureau.client.get("/api/sync/pull", params={"cursor": good}, headers=phone.headers)
    assert r.json().get("reset", False) is False and r.json()["changes"] == []


async def test_a_large_limit_is_clamped_not_refused(bureau: Bureau) -> None:
    await bureau.dispatched_incident()
    r = await bureau.call("officer_a", "GET", "/api/sync/pull", params={"limit": 10**9})
    assert r.status_code == 200
    assert r.json()["more"] is False
