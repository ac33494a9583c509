"""Body-camera clips to review: listed for supervisors, marked reviewed once, live."""

from __future__ import annotations

from tests.server.conftest import Bureau
from tests.server.phone import Phone


def clip(n: int) -> dict:
    return {
        "camera_serial": "DSJ-001",
        "clip_id": f"clip-{n}",
        "started_at": "2026-11-27T01:00:00+00:00",
        "ended_at": "2026-11-27T01:05:00+00:00",
        "sha256": f"{n:064x}",
        "bytes": 1000 + n,
    }


async def test_a_supervisor_marks_a_clip_reviewed_once(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident("a", ("officer_a",))
    phone = await Phone(bureau, "officer_a").sign_in()
    first, second = (
        phone.op("bodycam_ref", incident["id"], clip(1)),
        phone.op("bodycam_ref", incident["id"], clip(2)),
    )
    await phone.push([first, second])

    r = await bureau.call("supervisor", "GET", "/api/bodycam")
    assert r.status_code == 200, r.text
    assert {c["op_id"] for c in r.json()} == {first["op_id"], second["op_id"]}
    listed = next(c for c in r.json() if c["op_id"] == first["op_id"])
    assert listed["incident_number"] == incident["number"]
    assert (listed["camera_serial"], listed["clip_id"]) == ("DSJ-001", "clip-1")
    assert listed["reviewed_at"] is None

    r = await bureau.call(
        "supervisor", "POST", f"/api/bodycam/{first['op_id']}/review", json={"note": "无异常"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["reviewed_by"] == bureau.people["supervisor"]
    assert r.json()["note"] == "无异常"

    unreviewed = (await bureau.call("supervisor", "GET", "/api/bodycam")).json()
    assert [c["op_id"] for c in unreviewed] == [second["op_id"]]
    reviewed = (
        await bureau.call("supervisor", "GET", "/api/bodycam", params={"state": "reviewed"})
    ).json()
    assert [c["op_id"] for c in reviewed] == [first["op_id"]]

    # Once only.
    again = await bureau.call(
        "supervisor", "POST", f"/api/bodycam/{first['op_id']}/review", json={}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "already_reviewed"

    # A command-center act on the incident: in its timeline, a new version, in the feed.
    record = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    assert record["version"] > incident["version"]
    mark = [e for e in record["timeline"] if e["type"] == "bodycam_reviewed"]
    assert len(mark) == 1 and mark[0]["op_id"] is None
    assert mark[0]["detail"]["op_id"] == first["op_id"]
    assert mark[0]["person_id"] == bureau.people["supervisor"]
    pulled = (await bureau.call("dispatcher", "GET", "/api/sync/pull")).json()["changes"]
    latest = [c for c in pulled if c["entity"] == "incident" and c["id"] == incident["id"]][-1]
    assert latest["data"]["version"] == record["version"]


async def test_only_supervisors_and_admins_review_clips(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident("a", ("officer_a",))
    phone = await Phone(bureau, "officer_a").sign_in()
    op = phone.op("bodycam_ref", incident["id"], clip(3))
    await phone.push([op])
    for who in ("dispatcher", "officer_a", "chief_a"):
        assert (await bureau.call(who, "GET", "/api/bodycam")).status_code == 403, who
        r = await bureau.call(who, "POST", f"/api/bodycam/{op['op_id']}/review", json={})
        assert r.status_code == 403, who
    assert (await bureau.call("admin", "GET", "/api/bodycam")).status_code == 200


async def test_an_unknown_clip_is_not_found(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident("a", ("officer_a",))
    phone = await Phone(bureau, "officer_a").sign_in()
    note = phone.op("note", incident["id"], {"text": "不是视频"})
    await phone.push([note])
    for op_id in ("nope", note["op_id"]):
        r = await bureau.call("supervisor", "POST", f"/api/bodycam/{op_id}/review", json={})
        assert r.status_code == 404
        assert r.json()["code"] == "not_found"
