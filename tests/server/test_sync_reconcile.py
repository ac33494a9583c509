"""Reconciliation (PROTOCOL §6), black-box: each flag, its review item, resolution."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.server.conftest import Bureau
from tests.server.phone import Phone, now


async def record(bureau: Bureau, incident_id: str) -> dict[str, Any]:
    r = await bureau.call("supervisor", "GET", f"/api/incidents/{incident_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def entry(rec: dict[str, Any], op_id: str) -> dict[str, Any]:
    return next(e for e in rec["timeline"] if e["op_id"] == op_id)


def reviews(rec: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in rec["review_items"] if r["kind"] == kind]


async def test_an_event_after_close_is_kept_flagged_late_and_does_not_reopen(
    bureau: Bureau,
) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    arrival = phone.op("arrival", incident["id"], device_time=now() - timedelta(minutes=1))
    await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident['id']}/close",
        json={"summary": "电话回访已解决"},
    )
    out = await phone.push([arrival])
    assert out["results"][0]["status"] == "applied"
    rec = await record(bureau, incident["id"])
    assert rec["status"] == "closed"
    assert entry(rec, arrival["op_id"])["flags"] == ["late"]
    assert [r["op_id"] for r in reviews(rec, "late")] == [arrival["op_id"]]
    assert rec["clocks"]["arrival"]["met_at"] is None


async def test_an_event_from_someone_reassigned_away_is_late(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident("a", ("officer_a", "officer_a2"))
    phone = await Phone(bureau, "officer_a2").sign_in()
    await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident['id']}/reassign",
        json={"station_id": bureau.stations["a"], "person_ids": [bureau.people["officer_a"]]},
    )
    # Still the station's incident, so they may write; but they are no longer assigned.
    note = phone.op("arrival", incident["id"])
    assert (await phone.push([note]))["results"][0]["status"] == "applied"
    rec = await record(bureau, incident["id"])
    assert entry(rec, note["op_id"])["flags"] == ["late"]
    assert rec["clocks"]["arrival"]["met_at"] is None


async def test_implausible_device_clocks_are_suspect_and_do_not_count(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    future = phone.op("arrival", incident["id"], device_time=now() + timedelta(minutes=30))
    past = phone.op("arrival", incident["id"], device_time=now() - timedelta(hours=3))
    await phone.push([future, past])
    rec = await record(bureau, incident["id"])
    assert entry(rec, future["op_id"])["flags"] == ["clock_suspect"]
    assert entry(rec, past["op_id"])["flags"] == ["clock_suspect"]
    assert {r["op_id"] for r in reviews(rec, "clock_suspect")} == {future["op_id"], past["op_id"]}
    assert rec["clocks"]["arrival"]["met_at"] is None
    # From another phone: on this one, an op stamped now after one stamped 30 minutes
    # ahead is out of order (PROTOCOL §12) and would be suspect too.
    other = await Phone(bureau, "officer_a").sign_in()
    good = other.op("arrival", incident["id"])
    await other.push([good])
    rec = await record(bureau, incident["id"])
    assert rec["clocks"]["arrival"]["state"] == "met"
    assert rec["clocks"]["arrival"]["met_at"] == entry(rec, good["op_id"])["effective_time"]


async def test_the_earliest_valid_arrival_of_an_assigned_person_counts(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident("a", ("officer_a", "officer_a2"))
    first = await Phone(bureau, "officer_a").sign_in()
    second = await Phone(bureau, "officer_a2").sign_in()
    stranger = await Phone(bureau, "mediator_a").sign_in()  # same station, not assigned
    t = now()
    early_stranger = stranger.op("arrival", incident["id"], device_time=t - timedelta(seconds=50))
    a1 = first.op("arrival", incident["id"], device_time=t - timedelta(seconds=20))
    a2 = second.op("arrival", incident["id"], device_time=t - timedelta(seconds=30))
    await first.push([a1])
    await stranger.push([early_stranger])
    await second.push([a2])
    rec = await record(bureau, incident["id"])
    assert rec["clocks"]["arrival"]["met_at"] == entry(rec, a2["op_id"])["effective_time"]


async def test_two_edits_of_one_version_conflict_until_a_supervisor_resolves(
    bureau: Bureau,
) -> None:
    incident = await bureau.dispatched_incident("a", ("officer_a", "officer_a2"))
    p1 = await Phone(bureau, "officer_a").sign_in()
    p2 = await Phone(bureau, "officer_a2").sign_in()
    v1 = p1.op("scene_report", incident["id"], {"situation": "初报"})
    await p1.push([v1])
    edit1 = p1.op(
        "scene_report",
        incident["id"],
        {"situation": "甲的修改"},
        record_id=v1["op_id"],
        base_op_id=v1["op_id"],
    )
    edit2 = p2.op(
        "scene_report",
        incident["id"],
        {"situation": "乙的修改"},
        record_id=v1["op_id"],
        base_op_id=v1["op_id"],
    )
    await p1.push([edit1])
    await p2.push([edit2])
    rec = await record(bureau, incident["id"])
    assert entry(rec, edit1["op_id"])["flags"] == ["conflict"]
    assert entry(rec, edit2["op_id"])["flags"] == ["conflict"]
    assert entry(rec, v1["op_id"])["flags"] == []
    [state] = rec["records"]
    assert state["conflicted"] is True and sorted(state["heads"]) == sorted(
        [edit1["op_id"], edit2["op_id"]]
    )
    [item] = reviews(rec, "conflict")
    assert item["state"] == "open" and item["record_id"] == v1["op_id"]

    # Officers cannot resolve; a supervisor keeps officer_a2's version.
    r = await bureau.call("officer_a", "POST", f"/api/reviews/{item['id']}/resolve", json={})
    assert r.status_code == 403
    r = await bureau.call(
        "supervisor", "POST", f"/api/reviews/{item['id']}/resolve", json={"keep_op_id": v1["op_id"]}
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_keep"
    r = await bureau.call(
        "supervisor",
        "POST",
        f"/api/reviews/{item['id']}/resolve",
        json={"keep_op_id": edit2["op_id"], "note": "以乙为准"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "resolved" and r.json()["note"] == "以乙为准"
    rec = await record(bureau, incident["id"])
    [state] = rec["records"]
    assert state["conflicted"] is False and state["body"]["situation"] == "乙的修改"
    resolution = entry(rec, state["head"])
    assert resolution["device_time"] is None
    assert resolution["base_op_id"] == edit2["op_id"]
    assert sorted(resolution["parents"]) == sorted([edit1["op_id"], edit2["op_id"]])
    # Nothing is discarded, and the conflict flags clear.
    assert entry(rec, edit1["op_id"])["flags"] == [] and entry(rec, edit2["op_id"])["flags"] == []
    r = await bureau.call("supervisor", "POST", f"/api/reviews/{item['id']}/resolve", json={})
    assert r.status_code == 409

    # Later edits build on the resolution; a new fork opens a new review item.
    e3 = p1.op(
        "scene_report",
        incident["id"],
        {"situation": "再改一"},
        record_id=v1["op_id"],
        base_op_id=state["head"],
    )
    e4 = p2.op(
        "scene_report",
        incident["id"],
        {"situation": "再改二"},
        record_id=v1["op_id"],
        base_op_id=state["head"],
    )
    await p1.push([e3])
    assert (await record(bureau, incident["id"]))["records"][0]["head"] == e3["op_id"]
    await p2.push([e4])
    rec = await record(bureau, incident["id"])
    conflicts = reviews(rec, "conflict")
    assert [c["state"] for c in conflicts] == ["resolved", "open"]


async def test_an_edit_before_its_parent_waits_as_pending_base(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    v1 = phone.op("scene_report", incident["id"], {"situation": "v1"})
    v2 = phone.op(
        "scene_report",
        incident["id"],
        {"situation": "v2"},
        record_id=v1["op_id"],
        base_op_id=v1["op_id"],
    )
    await phone.push([v2])
    rec = await record(bureau, incident["id"])
    assert entry(rec, v2["op_id"])["flags"] == ["pending_base"]
    assert rec["records"] == []
    await phone.push([v1])
    rec = await record(bureau, incident["id"])
    assert entry(rec, v2["op_id"])["flags"] == []
    assert (
        rec["records"][0]["head"] == v2["op_id"] and rec["records"][0]["body"]["situation"] == "v2"
    )


async def test_one_clip_with_two_hashes_is_an_evidence_mismatch(bureau: Bureau) -> None:
    one = await bureau.dispatched_incident()
    two = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    base = phone.op("bodycam_ref", one["id"])["body"]
    first = phone.op("bodycam_ref", one["id"], dict(base, sha256="a" * 64))
    same = phone.op("bodycam_ref", one["id"], dict(base, sha256="a" * 64))
    await phone.push([first, same])
    assert entry(await record(bureau, one["id"]), first["op_id"])["flags"] == []
    other = phone.op("bodycam_ref", two["id"], dict(base, sha256="b" * 64))
    await phone.push([other])
    assert entry(await record(bureau, two["id"]), other["op_id"])["flags"] == ["evidence_mismatch"]
    rec_one = await record(bureau, one["id"])
    assert entry(rec_one, first["op_id"])["flags"] == ["evidence_mismatch"]
    assert len(reviews(rec_one, "evidence_mismatch")) == 2


async def test_review_items_reach_the_command_center_through_the_feed(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    desk = await Phone(bureau, "supervisor").sign_in()
    await desk.pull_all()
    phone = await Phone(bureau, "officer_a").sign_in()
    await phone.push([phone.op("arrival", incident["id"], device_time=now() + timedelta(hours=1))])
    changes = await desk.pull_all()
    kinds = [c["data"]["kind"] for c in changes if c["entity"] == "review"]
    assert kinds == ["clock_suspect"]
    r = await bureau.call("supervisor", "GET", "/api/reviews")
    assert [i["kind"] for i in r.json()] == ["clock_suspect"]
    item = r.json()[0]
    r = await bureau.call(
        "supervisor",
        "POST",
        f"/api/reviews/{item['id']}/resolve",
        json={"note": "设备时间错误，已核实"},
    )
    assert r.status_code == 200
    changes = await desk.pull_all()
    assert [c["data"]["state"] for c in changes if c["entity"] == "review"] == ["resolved"]


async def test_a_standalone_mediation_opens_a_case_and_can_be_edited_offline(
    bureau: Bureau,
) -> None:
    phone = await Phone(bureau, "mediator_a").sign_in()
    first = phone.op("mediation_outcome", None)
    edit = phone.op(
        "mediation_outcome",
        None,
        dict(first["body"], agreement="partial"),
        record_id=first["op_id"],
        base_op_id=first["op_id"],
    )
    out = await phone.push([edit, first])  # the edit even arrives first
    assert [r["status"] for r in out["results"]] == ["applied", "applied"]
    chief = await Phone(bureau, "chief_a").sign_in()
    await chief.pull_all()
    case = chief.held[f"mediation:{first['op_id']}"]
    assert (
        case["record"]["head"] == edit["op_id"] and case["record"]["body"]["agreement"] == "partial"
    )
    other_station = await Phone(bureau, "chief_b").sign_in()
    await other_station.pull_all()
    assert f"mediation:{first['op_id']}" not in other_station.held
    # Another station cannot edit the case.
    intruder = await Phone(bureau, "officer_b").sign_in()
    sneaky = intruder.op(
        "mediation_outcome", None, first["body"], record_id=first["op_id"], base_op_id=edit["op_id"]
    )
    assert (await intruder.push([sneaky]))["results"][0]["code"] == "forbidden"


async def test_an_edit_naming_another_records_version_is_refused_not_left_pending(
    bureau: Bureau,
) -> None:
    """Such an edit could never find its base inside its own record: waiting as
    pending_base would hide it for ever, so it is a dead letter with a reason."""
    mine = await bureau.dispatched_incident()
    other = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    report_here = phone.op("scene_report", mine["id"])
    second_here = phone.op("scene_report", mine["id"])
    report_there = phone.op("scene_report", other["id"])
    await phone.push([report_here, second_here, report_there])

    cross_incident = phone.op(
        "scene_report",
        mine["id"],
        record_id=report_there["op_id"],
        base_op_id=report_there["op_id"],
    )
    cross_record = phone.op(
        "scene_report",
        mine["id"],
        record_id=report_here["op_id"],
        base_op_id=second_here["op_id"],
    )
    fine = phone.op(
        "scene_report",
        mine["id"],
        record_id=report_here["op_id"],
        base_op_id=report_here["op_id"],
    )
    out = await phone.push([cross_incident, cross_record, fine])
    assert [(r["status"], r.get("code")) for r in out["results"]] == [
        ("rejected", "invalid"),
        ("rejected", "invalid"),
        ("applied", None),
    ]
    assert "another incident" in out["results"][0]["message"]
    assert "another record" in out["results"][1]["message"]
