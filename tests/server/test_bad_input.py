"""Bad input never faults (PROTOCOL §12), over HTTP: a poison op is a dead letter beside
applied neighbours; no body of any shape, report period or back-entered time answers 5xx.

The same poison ops over a real WebSocket: tests/server/test_sync_ws_limits.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.core.tables import Change, Event, Incident, RejectedOp
from tests.server.conftest import Bureau
from tests.server.phone import Phone, now
from tests.server.test_errors import _routes, assert_error_body, fill

# Each poison: how to spoil a note (or a body-time op) so that only that op is bad.
# A function of the op (a dict) returning the JSON bytes of the spoiled op.


def _with(**fields: Any):
    def spoil(op: dict[str, Any]) -> bytes:
        return json.dumps({**op, **fields}).encode()

    return spoil


def _note_text(raw_text: bytes):
    """The op as JSON with its note text replaced by `raw_text`, byte for byte."""

    def spoil(op: dict[str, Any]) -> bytes:
        marker = "TEXT-GOES-HERE"
        encoded = json.dumps({**op, "body": {"text": marker}}).encode()
        return encoded.replace(b'"' + marker.encode() + b'"', b'"' + raw_text + b'"')

    return spoil


def _body_time(type_: str, body: dict[str, Any]):
    def spoil(op: dict[str, Any]) -> bytes:
        return json.dumps({**op, "type": type_, "body": body}).encode()

    return spoil


# name -> (spoil the op, a word the dead letter's message must name)
POISONS = {
    "device_time 9999-12-31T23:59:59-14:00": (
        _with(device_time="9999-12-31T23:59:59-14:00"),
        "device_time",
    ),
    "device_time 0001-01-01T00:00:00+14:00": (
        _with(device_time="0001-01-01T00:00:00+14:00"),
        "device_time",
    ),
    "device_time 2101-01-01T00:00:00Z": (_with(device_time="2101-01-01T00:00:00Z"), "device_time"),
    "device_time 1969-12-31T23:59:59Z": (_with(device_time="1969-12-31T23:59:59Z"), "device_time"),
    "huge clock_offset_ms": (_with(clock_offset_ms=10**18), "clock_offset_ms"),
    "clock_offset_ms carrying it past 2100": (
        _with(device_time="2100-12-31T23:00:00Z", clock_offset_ms=2 * 3600 * 1000),
        "effective time",
    ),
    "invalid UTF-8 in the text": (_note_text(b"\xff\xfe\xed\xa0\x80"), "UTF-8"),
    "a lone surrogate in the text": (_note_text(b"\\ud800 and \\udc00"), "UTF-8"),
    "body time out of range": (
        _body_time(
            "bodycam_ref",
            {
                "camera_serial": "DSJ-009",
                "clip_id": "c-1",
                "started_at": "1969-12-31T23:59:00Z",
                "ended_at": "2026-11-30T08:00:00+08:00",
            },
        ),
        "body.started_at",
    ),
    "body date out of range": (
        _body_time(
            "mediation_outcome",
            {
                "dispute_type": "邻里纠纷",
                "parties": [{"name": "张三"}],
                "agreement": "reached",
                "follow_up_on": "0001-01-01",
            },
        ),
        "body.follow_up_on",
    ),
}


async def _push_raw(
    phone: Phone, ops: list[bytes], sent_at: str | None = None, expect: int = 200
) -> dict[str, Any]:
    body = (
        b'{"device_id": '
        + json.dumps(phone.device_id).encode()
        + b', "sent_at": '
        + json.dumps(sent_at or now().isoformat()).encode()
        + b', "ops": ['
        + b", ".join(ops)
        + b"]}"
    )
    r = await phone.bureau.client.post(
        "/api/sync/push",
        content=body,
        headers={**phone.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == expect, r.text
    return dict(r.json())


@pytest.mark.parametrize("poison", list(POISONS))
async def test_a_poison_op_is_a_dead_letter_beside_applied_neighbours(
    bureau: Bureau, poison: str
) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    before = phone.op("arrival", incident["id"])
    bad = phone.op("note", incident["id"])
    after = phone.op("note", incident["id"], {"text": "到达后询问双方"})
    spoil, named = POISONS[poison]
    ops = [json.dumps(before).encode(), spoil(bad), json.dumps(after).encode()]

    out = await _push_raw(phone, ops)

    assert [(r["op_id"], r["status"], r.get("code")) for r in out["results"]] == [
        (before["op_id"], "applied", None),
        (bad["op_id"], "rejected", "invalid"),
        (after["op_id"], "applied", None),
    ]
    assert named in out["results"][1]["message"]
    # The device's acknowledgement moves past the poison: its queue is not stuck.
    assert out["acked_seq"] == 3
    stored = await Event.select(Event.op_id).where(Event.incident == incident["id"])
    assert {e["op_id"] for e in stored} == {before["op_id"], after["op_id"]}
    r = await bureau.client.get("/api/sync/rejected", headers=phone.headers)
    letters = [d for d in r.json() if d["op_id"] == bad["op_id"]]
    assert len(letters) == 1 and letters[0]["code"] == "invalid"
    # Delivered again: the same answer, no second dead letter.
    again = await _push_raw(phone, ops)
    assert [r["status"] for r in again["results"]] == ["duplicate", "rejected", "duplicate"]
    assert again["results"][1]["code"] == "invalid"
    assert await RejectedOp.count().where(RejectedOp.op_id == bad["op_id"]) == 1


async def test_a_sent_at_outside_the_range_gives_no_estimate(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    without_offset = phone.op("arrival", incident["id"], clock_offset_ms=None)
    with_offset = phone.op("note", incident["id"], clock_offset_ms=0)
    for sent_at in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
        out = await _push_raw(
            phone,
            [json.dumps(without_offset).encode(), json.dumps(with_offset).encode()],
            sent_at=sent_at,
        )
        first, second = out["results"]
        assert (first["status"], first["code"]) == ("rejected", "invalid")
        assert "sent_at" in first["message"]
        assert second["status"] in ("applied", "duplicate")
        assert out["acked_seq"] == 2
    event = await Event.select().where(Event.op_id == with_offset["op_id"]).first()
    # The request's bogus sent_at is not kept as if it meant something.
    assert event["sent_at"] is None and event["server_offset_ms"] is None


async def test_an_applied_op_delivered_again_with_a_broken_sent_at_is_a_duplicate(
    bureau: Bureau,
) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    op = phone.op("arrival", incident["id"], clock_offset_ms=None)
    assert (await phone.push([op]))["results"][0]["status"] == "applied"
    out = await _push_raw(phone, [json.dumps(op).encode()], sent_at="2999-01-01T00:00:00Z")
    assert out["results"][0]["status"] == "duplicate"
    assert await RejectedOp.count() == 0


async def test_a_phone_reset_to_1970_that_knows_its_offset_is_applied(bureau: Bureau) -> None:
    """A dead clock battery sends a phone back to 1970; an offset it learned from the
    server (56 years) still places its op correctly. Offsets are bounded only by the
    range's own length."""
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    device_time = datetime(1970, 1, 1, 0, 5, tzinfo=UTC)
    offset = int((now() - device_time).total_seconds() * 1000)
    op = phone.op("arrival", incident["id"], device_time=device_time, clock_offset_ms=offset)
    out = await phone.push([op], sent_at=device_time)
    assert out["results"][0]["status"] == "applied", out
    event = await Event.select(Event.effective_time).where(Event.op_id == op["op_id"]).first()
    effective = event["effective_time"]
    effective = effective if effective.tzinfo else effective.replace(tzinfo=UTC)
    assert abs(effective - now()) < timedelta(minutes=1)


async def test_a_push_nested_too_deeply_is_malformed_and_changes_nothing(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    good = json.dumps(phone.op("note", incident["id"])).encode()
    deep = b"[" * 100_000 + b"]" * 100_000
    body = await _push_raw(phone, [good, deep], expect=400)
    assert body["code"] == "invalid" and "nested" in body["message"]
    assert await Event.count() == 0 and await RejectedOp.count() == 0


DEEP_BODIES = {
    "100,000 [": b"[" * 100_000,
    "100,000 [ closed": b"[" * 100_000 + b"]" * 100_000,
    "deeply nested objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "deep inside a known field": b'{"summary": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_001,
}


async def test_no_route_faults_on_deeply_nested_bodies(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    before = await Change.count()
    headers = {**(await bureau.auth("admin")), "Content-Type": "application/json"}
    tried = 0
    for method, path, _ in _routes(bureau.client.app):
        if method not in ("POST", "PUT") or path == "/api/auth/logout":
            continue  # sign-out reads no body, and would end the token this walk uses
        for name, raw in DEEP_BODIES.items():
            r = await bureau.client.request(
                method, fill(path, incident["id"]), content=raw, headers=headers
            )
            assert_error_body(r, f"{method} {path} {name}")
            tried += 1
    assert tried >= 4 * 10
    assert await Change.count() == before


@pytest.mark.parametrize(
    "kind,value",
    [
        ("monthly?month", "9999-12"),
        ("monthly?month", "0001-01"),
        ("monthly?month", "1969-12"),
        ("monthly?month", "0000-01"),
        ("quarterly?quarter", "0001-Q1"),
        ("quarterly?quarter", "9999-Q4"),
        ("quarterly?quarter", "2101-Q1"),
        ("daily?date", "0001-01-01"),
        ("daily?date", "9999-12-31"),
        ("daily?date", "2101-01-01"),
    ],
)
async def test_report_periods_outside_1970_to_2100_are_invalid_dates(
    bureau: Bureau, kind: str, value: str
) -> None:
    r = await bureau.call("admin", "GET", f"/api/reports/{kind}={value}")
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_date"
    csv = await bureau.call("admin", "GET", f"/api/reports/{kind}={value}&format=csv")
    assert csv.status_code == 400 and csv.json()["code"] == "invalid_date"


@pytest.mark.parametrize(
    "kind,value", [("monthly?month", "1970-01"), ("quarterly?quarter", "2100-Q4")]
)
async def test_report_periods_at_the_edges_of_the_range_answer(
    bureau: Bureau, kind: str, value: str
) -> None:
    r = await bureau.call("admin", "GET", f"/api/reports/{kind}={value}")
    assert r.status_code == 200, r.text


EXTREME_TIMES = [
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
]


@pytest.mark.parametrize("value", EXTREME_TIMES)
async def test_an_extreme_received_at_is_an_invalid_time(bureau: Bureau, value: str) -> None:
    r = await bureau.call(
        "dispatcher",
        "POST",
        "/api/incidents",
        json={
            "category": "help",
            "area_type": "urban",
            "address": "人民路1号",
            "narrative": "求助",
            "received_at": value,
        },
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_time"
    assert "1970" in r.json()["message"]
    assert await Incident.count() == 0


@pytest.mark.parametrize("value", EXTREME_TIMES)
async def test_an_extreme_dispatched_at_is_an_invalid_time(bureau: Bureau, value: str) -> None:
    incident = await bureau.new_incident()
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident['id']}/dispatch",
        json={
            "station_id": bureau.stations["a"],
            "person_ids": [bureau.people["officer_a"]],
            "dispatched_at": value,
        },
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_time"
    assert "1970" in r.json()["message"]
    row = await Incident.select(Incident.status).where(Incident.id == incident["id"]).first()
    assert row["status"] == "received"


async def test_a_back_entered_call_on_the_first_day_of_the_range_is_kept(bureau: Bureau) -> None:
    incident = await bureau.new_incident(received_at="1970-01-01T00:00:00Z")
    assert incident["number"].startswith("J19700101-")


# GET lists: path -> (a role that reads it, its `limit` as "low..high" or None when it takes
# none, the state-like parameters with their allowed values). Every bad query value
# answers 400 `invalid_param` naming the parameter as written in the URL
# (server/http/params.py), and changes nothing.
LISTS: dict[str, tuple[str, tuple[int, int | None] | None, dict[str, tuple[str, ...]]]] = {
    "/api/incidents": (
        "dispatcher",
        (1, 500),
        {
            "status": (
                "open",
                "received",
                "dispatched",
                "diverted",
                "closed",
                "cancelled",
                "all",
            )
        },
    ),
    "/api/reviews": (
        "supervisor",
        (1, 1000),
        {
            "state": ("open", "resolved", "all"),
            "kind": (
                "late",
                "clock_suspect",
                "evidence_mismatch",
                "conflict",
                "overdue",
                "missing_evidence",
                "far_arrival",
                "citizen_unsatisfied",
            ),
        },
    ),
    "/api/bodycam": ("supervisor", (1, 1000), {"state": ("unreviewed", "reviewed", "all")}),
    "/api/callbacks": ("dispatcher", (1, 1000), {"state": ("due", "done", "unreachable", "all")}),
    "/api/supervision": ("supervisor", None, {"state": ("open", "answered", "accepted", "all")}),
    "/api/notices": ("supervisor", None, {"state": ("owed", "done", "overdue")}),
    "/api/sync/rejected": ("officer_a", (1, 1000), {}),
    # A large pull limit is clamped, never an error (PROTOCOL §4).
    "/api/sync/pull": ("officer_a", (1, None), {}),
}


def _bad_values(path: str) -> list[tuple[dict[str, str], str]]:
    """(query, the message it must answer) for every bad value of the list at `path`."""
    _, limit, filters = LISTS[path]
    bad: list[tuple[dict[str, str], str]] = []
    if limit is not None:
        low, high = limit
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        outside = [str(low - 1), "-1", *([str(high + 1)] if high is not None else [])]
        for value in [*outside, "abc", "", "1.5", "ten"]:
            bad.append(({"limit": value}, f"limit must be a whole number {bounds}"))
    for name, allowed in filters.items():
        for value in ("nope", "", allowed[0].upper(), "x" * 300):
            bad.append(({name: value}, f"{name} must be one of: {', '.join(allowed)}"))
    return bad


@pytest.mark.parametrize("path", list(LISTS))
async def test_a_bad_query_value_on_a_list_is_invalid_param_and_changes_nothing(
    bureau: Bureau, path: str
) -> None:
    await bureau.dispatched_incident()
    role = LISTS[path][0]
    ok = await bureau.call(role, "GET", path)
    assert ok.status_code == 200, ok.text
    before = (await Change.count(), await Event.count(), await RejectedOp.count())
    cases = _bad_values(path)
    assert cases
    for params, message in cases:
        r = await bureau.call(role, "GET", path, params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.json() == {"code": "invalid_param", "message": message}, params
    assert (await Change.count(), await Event.count(), await RejectedOp.count()) == before
    again = await bureau.call(role, "GET", path)
    assert again.status_code == 200 and again.json() == ok.json()


async def test_a_bad_path_id_stays_invalid_beside_a_bad_query_value(bureau: Bureau) -> None:
    """`invalid_param` is for the query alone: a path id that cannot be an id is the
    request's shape (`invalid`), whatever the query holds."""
    r = await bureau.call("dispatcher", "GET", "/api/incidents/" + "x" * 65, params={"limit": "0"})
    assert r.status_code == 400 and r.json()["code"] == "invalid", r.text
