"""Push (PROTOCOL §3), black-box over HTTP: each guarantee, tested."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.core.tables import Event, RejectedOp
from tests.server.conftest import Bureau
from tests.server.phone import Phone, now


async def test_ops_apply_once_and_replays_answer_duplicate(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    ops = [phone.op("arrival", incident["id"]), phone.op("scene_report", incident["id"])]
    first = await phone.push(ops)
    assert [r["status"] for r in first["results"]] == ["applied", "applied"]
    assert first["acked_seq"] == 2
    again = await phone.push(ops)
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]
    assert await Event.count().where(Event.incident == incident["id"]) == 2
    # The same instant written another way is the same content.
    renamed = dict(ops[0], device_time=ops[0]["device_time"].replace("+00:00", "Z"))
    assert (await phone.push([renamed]))["results"][0]["status"] == "duplicate"


async def test_reused_op_id_is_rejected_and_the_original_stands(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    original = phone.op("note", incident["id"], {"text": "第一次"})
    await phone.push([original])
    reused = dict(original, body={"text": "不同内容"})
    result = (await phone.push([reused]))["results"][0]
    assert result == {
        "op_id": original["op_id"],
        "status": "rejected",
        "code": "op_id_reused",
        "message": result["message"],
    }
    # Again: the same answer, and no second dead letter.
    assert (await phone.push([reused]))["results"][0]["code"] == "op_id_reused"
    assert await RejectedOp.count().where(RejectedOp.op_id == original["op_id"]) == 1
    stored = await Event.select(Event.body).where(Event.op_id == original["op_id"]).first()
    assert "第一次" in stored["body"]


async def test_a_bad_op_inside_a_good_batch_is_rejected_alone(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    theirs = await bureau.dispatched_incident("b", ("officer_b",))
    phone = await Phone(bureau, "officer_a").sign_in()
    good1 = phone.op("arrival", incident["id"])
    bad_body = phone.op("disposition", incident["id"], {"result": "teleported", "summary": "x"})
    unknown = phone.op("note", "no-such-incident")
    foreign = phone.op("note", theirs["id"])
    extra_field = dict(phone.op("note", incident["id"]), surprise=1)
    good2 = phone.op("note", incident["id"])
    out = await phone.push([good1, bad_body, unknown, foreign, extra_field, good2])
    assert [(r["status"], r.get("code")) for r in out["results"]] == [
        ("applied", None),
        ("rejected", "invalid"),
        ("rejected", "unknown_incident"),
        ("rejected", "forbidden"),
        ("rejected", "invalid"),
        ("applied", None),
    ]
    assert all(r["message"] for r in out["results"] if r["status"] == "rejected")
    # Every rejected op is kept as a dead letter, listed for the device.
    r = await bureau.client.get("/api/sync/rejected", headers=phone.headers)
    letters = {d["op_id"]: d for d in r.json()}
    assert set(letters) == {
        bad_body["op_id"],
        unknown["op_id"],
        foreign["op_id"],
        extra_field["op_id"],
    }
    assert letters[unknown["op_id"]]["code"] == "unknown_incident"
    assert letters[unknown["op_id"]]["op"]["op_id"] == unknown["op_id"]
    assert letters[foreign["op_id"]]["device_id"] == phone.device_id
    # Re-delivering gets the same answers and adds no dead letters.
    again = await phone.push([bad_body, unknown])
    assert [r["code"] for r in again["results"]] == ["invalid", "unknown_incident"]
    assert await RejectedOp.count() == 4
    # Every seq is held, applied or kept: acked_seq covers them all.
    assert out["acked_seq"] == 6


async def test_the_same_bad_op_twice_in_one_batch_leaves_one_dead_letter(bureau: Bureau) -> None:
    phone = await Phone(bureau, "officer_a").sign_in()
    bad = phone.op("note", "no-such-incident")
    broken = {"op_id": "half-an-op", "seq": 99}
    out = await phone.push([bad, bad, broken, broken])
    assert [r["code"] for r in out["results"]] == ["unknown_incident"] * 2 + ["invalid"] * 2
    assert await RejectedOp.count().where(RejectedOp.op_id == bad["op_id"]) == 1
    assert await RejectedOp.count().where(RejectedOp.op_id == "half-an-op") == 1


async def test_dead_letters_are_scoped(bureau: Bureau) -> None:
    a = await Phone(bureau, "officer_a").sign_in()
    b = await Phone(bureau, "officer_b").sign_in()
    await a.push([a.op("note", "missing-a")])
    await b.push([b.op("note", "missing-b")])

    async def seen(username: str) -> set[str]:
        r = await bureau.call(username, "GET", "/api/sync/rejected")
        return {d["device_id"] for d in r.json()}

    assert await seen("chief_a") == {a.device_id}
    assert await seen("supervisor") == {a.device_id, b.device_id}
    assert await seen("officer_a2") == set()


async def test_acked_seq_is_the_largest_gapless_prefix(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    ops = [phone.op("note", incident["id"], {"text": str(i)}) for i in range(1, 6)]
    assert (await phone.push([ops[1], ops[2]]))["acked_seq"] == 0  # seq 1 missing
    assert (await phone.push([ops[0]]))["acked_seq"] == 3
    assert (await phone.push([ops[4]]))["acked_seq"] == 3  # seq 4 missing
    assert (await phone.push([ops[3]]))["acked_seq"] == 5


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    bad=st.sets(st.integers(1, 8)),
    order=st.permutations(range(1, 9)),
    cuts=st.sets(st.integers(1, 7)),
    data=st.data(),
)
async def test_acked_seq_covers_every_seq_held_applied_or_dead_lettered(
    bureau: Bureau, bad: set[int], order: list[int], cuts: set[int], data: st.DataObject
) -> None:
    """Seqs 1-8 sent in any order and batching, some rejected (dead letters hold their
    seq too), some never sent: after each push, acked_seq is the largest n such that every
    seq 1..n has been sent."""
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    lost = data.draw(st.sets(st.sampled_from(order), max_size=2), label="lost")
    sent: set[int] = set()
    batch: list[int] = []
    for i, seq in enumerate(order, 1):
        if seq not in lost:
            batch.append(seq)
        if batch and (i in cuts or i == len(order)):
            ops = [
                phone.op("note", "no-such-incident" if s in bad else incident["id"], seq=s)
                for s in batch
            ]
            out = await phone.push(ops)
            sent.update(batch)
            batch = []
            prefix = 0
            while prefix + 1 in sent:
                prefix += 1
            assert out["acked_seq"] == prefix, (sorted(sent), out["results"])


async def test_push_cursor_covers_the_pushers_own_writes(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    await phone.pull_all()
    op = phone.op("scene_report", incident["id"])
    out = await phone.push([op])
    await phone.pull_all()
    assert f"event:{op['op_id']}" in phone.held
    assert phone.cursor == out["cursor"]


async def test_malformed_push_requests_change_nothing(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    good = phone.op("note", incident["id"])
    bodies = [
        b"not json",
        b'{"device_id": "x"}',
        b'{"device_id": "%s", "sent_at": "yesterday", "ops": []}' % phone.device_id.encode(),
        b'{"device_id": "%s", "sent_at": "2026-11-22T10:00:00", "ops": []}'
        % phone.device_id.encode(),
    ]
    for raw in bodies:
        r = await bureau.client.post(
            "/api/sync/push",
            content=raw,
            headers={**phone.headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 400, raw
        assert set(r.json()) == {"code", "message"}
    too_many = [phone.op("note", incident["id"]) for _ in range(501)]
    r = await bureau.client.post(
        "/api/sync/push",
        json={"device_id": phone.device_id, "sent_at": now().isoformat(), "ops": too_many},
        headers=phone.headers,
    )
    assert r.status_code in (400, 413)
    big = [phone.op("note", incident["id"], {"text": "长" * 6000}) for _ in range(100)]
    r = await bureau.client.post(
        "/api/sync/push",
        json={"device_id": phone.device_id, "sent_at": now().isoformat(), "ops": big},
        headers=phone.headers,
    )
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    # Someone else's device id is not yours to push for.
    r = await bureau.client.post(
        "/api/sync/push",
        json={"device_id": "another-device", "sent_at": now().isoformat(), "ops": [good]},
        headers=phone.headers,
    )
    assert r.status_code == 403
    assert await Event.count() == 0 and await RejectedOp.count() == 0


async def test_effective_time_uses_the_ops_offset_or_the_requests(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    # This phone's clock runs 10 minutes slow.
    slow = timedelta(minutes=10)
    device_now = now() - slow
    with_own = phone.op("note", incident["id"], device_time=device_now, clock_offset_ms=600_000)
    without = phone.op("arrival", incident["id"], device_time=device_now, clock_offset_ms=None)
    await phone.push([with_own, without], sent_at=device_now)
    record = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    events = {e["op_id"]: e for e in record["timeline"] if e["op_id"]}
    from datetime import datetime

    for op_id in (with_own["op_id"], without["op_id"]):
        e = events[op_id]
        effective = datetime.fromisoformat(e["effective_time"].replace("Z", "+00:00"))
        received = datetime.fromisoformat(e["received_at"].replace("Z", "+00:00"))
        assert abs((received - effective).total_seconds()) < 5, e
        assert e["flags"] == []
    assert record["clocks"]["arrival"]["state"] == "met"


async def test_notes_publish_their_events_and_leave_the_record_alone(bureau: Bureau) -> None:
    """A push of notes changes nothing the incident's record carries: its events reach the
    feed, the record does not come again. A late note opens a review item, which the
    record lists: then the record comes again, carrying it (docs/sync.md)."""
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    await phone.push([phone.op("arrival", incident["id"])])
    held = [c for c in await phone.pull_all() if c["entity"] == "incident"][-1]["data"]
    notes = [phone.op("note", incident["id"], {"text": f"记录 {n}"}) for n in range(3)]
    assert [r["status"] for r in (await phone.push(notes))["results"]] == ["applied"] * 3
    new = await phone.pull_all()
    assert [(c["entity"], c["id"]) for c in new] == [("event", n["op_id"]) for n in notes]
    assert all(c["data"]["flags"] == [] for c in new)
    # The record as read now is the one the feed last carried, but for the timeline,
    # where the notes are.
    r = await bureau.client.get(f"/api/incidents/{incident['id']}", headers=phone.headers)
    record = r.json()
    timeline = [e.get("op_id") for e in record.pop("timeline")]
    assert all(n["op_id"] in timeline for n in notes)
    assert record == held

    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/close", json={"summary": "完毕"}
    )
    assert r.status_code == 200, r.text
    await phone.pull_all()
    late = phone.op("note", incident["id"], {"text": "收队后补记"})
    await phone.push([late])
    changes = await phone.pull_all()
    assert [c["entity"] for c in changes] == ["event", "review", "incident"]
    assert changes[0]["data"]["flags"] == ["late"]
    assert [(i["kind"], i["op_id"]) for i in changes[2]["data"]["review_items"]] == [
        ("late", late["op_id"])
    ]
