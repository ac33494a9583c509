"""Point-check (点调): the command center asks the people on an incident to report in;
the record shows each request and its earliest reply (common brief, interface 1)."""

from __future__ import annotations

from datetime import timedelta

from tests.server.conftest import Bureau
from tests.server.phone import Phone, now


async def test_point_check_is_stored_published_and_answered(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident(people=("officer_a", "officer_a2"))
    officer = await Phone(bureau, "officer_a").sign_in()
    await officer.pull_all()
    version = incident["version"]

    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident['id']}/point-check",
        json={"text": "请报告现场情况", "person_ids": [bureau.people["officer_a"]]},
    )
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["version"] == version + 1
    [check] = record["point_checks"]
    assert check["text"] == "请报告现场情况"
    assert check["person_ids"] == [bureau.people["officer_a"]]
    assert check["requested_by"] == bureau.people["dispatcher"]
    assert check["replied_at"] is None and check["reply"] is None
    assert check["reply_person_id"] is None
    request_id = check["request_id"]
    # The timeline shows the act, with the same request id.
    full = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    [act] = [t for t in full["timeline"] if t["type"] == "point_check"]
    assert act["detail"]["request_id"] == request_id and act["op_id"] is None

    # The assigned device receives it through the feed.
    changes = await officer.pull_all()
    [change] = [c for c in changes if c["entity"] == "incident"]
    assert change["data"]["point_checks"][0]["request_id"] == request_id
    assert "timeline" not in change["data"]

    # Two replies: one made later but delivered first, then an earlier one from an offline
    # phone. The earliest by effective time fills the reply.
    later = now()
    second = await Phone(bureau, "officer_a2").sign_in()
    await second.push(
        [
            second.op(
                "point_check_reply",
                incident["id"],
                {"request_id": request_id, "text": "稍后到"},
                device_time=later,
            )
        ]
    )
    earlier = later - timedelta(seconds=30)
    await officer.push(
        [
            officer.op(
                "point_check_reply",
                incident["id"],
                {"request_id": request_id, "text": "已到现场"},
                device_time=earlier,
            )
        ]
    )
    record = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    [check] = record["point_checks"]
    assert check["reply"] == "已到现场"
    assert check["reply_person_id"] == bureau.people["officer_a"]
    assert check["replied_at"].startswith(earlier.isoformat()[:19])
    # The feed's copy agrees.
    changes = await officer.pull_all()
    latest = [c for c in changes if c["entity"] == "incident"][-1]["data"]
    assert latest["point_checks"][0]["reply"] == "已到现场"


async def test_point_checks_listed_oldest_first(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    for text in ("第一次", "第二次"):
        r = await bureau.call(
            "dispatcher",
            "POST",
            f"/api/incidents/{incident['id']}/point-check",
            json={"text": text},
        )
        assert r.status_code == 200, r.text
    checks = r.json()["point_checks"]
    assert [c["text"] for c in checks] == ["第一次", "第二次"]
    assert checks[0]["person_ids"] == []


async def test_point_check_refusals(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    path = f"/api/incidents/{incident['id']}/point-check"
    # Field roles may not point-check.
    r = await bureau.call("officer_a", "POST", path, json={"text": "x"})
    assert r.status_code == 403
    r = await bureau.call("chief_a", "POST", path, json={"text": "x"})
    assert r.status_code == 403
    # Empty or too long text, unknown fields.
    for body in ({"text": ""}, {"text": "长" * 501}, {"text": "x", "extra": 1}, {}):
        r = await bureau.call("dispatcher", "POST", path, json=body)
        assert r.status_code == 400, body
        assert set(r.json()) == {"code", "message"}
    # Someone not assigned.
    r = await bureau.call(
        "dispatcher", "POST", path, json={"text": "x", "person_ids": [bureau.people["officer_b"]]}
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_person"
    # Unknown incident.
    r = await bureau.call(
        "dispatcher", "POST", "/api/incidents/nope/point-check", json={"text": "x"}
    )
    assert r.status_code == 404
    # A closed incident is not point-checked.
    await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/close", json={"summary": "done"}
    )
    r = await bureau.call("dispatcher", "POST", path, json={"text": "x"})
    assert r.status_code == 409
