"""SLA clocks with an injected clock source (issue #5): arrival met and missed in town and
country, a late-synced arrival, a suspect clock, the 24 h clear across midnight in
Asia/Shanghai, overdue turned by the scheduler at the due time with no request in
between, and missing case evidence."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.core.clock import SHANGHAI, ManualClock
from server.core.config import Settings
from server.core.tables import Change, ReviewItem
from server.record.events import load_json
from server.record.policy import PRESETS, make_policy, set_policy
from tests.conftest import TEST_DATABASE_URL
from tests.server.conftest import Bureau
from tests.server.phone import Phone

# 23:40 on 20 November 2026 in Asia/Shanghai (15:40 UTC): the day ends 20 minutes later.
START = datetime(2026, 11, 20, 23, 40, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(clock: ManualClock) -> Settings:
    # The scheduler's real-time safety net is set far beyond the tests' wait limit, so an
    # overdue item can only appear because the moved clock woke the scheduler.
    return Settings(database_url=TEST_DATABASE_URL, clock=clock, sla_scheduler_cap_s=600)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def record(bureau: Bureau, incident_id: str) -> dict[str, Any]:
    r = await bureau.call("dispatcher", "GET", f"/api/incidents/{incident_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def arrive(
    bureau: Bureau,
    clock: ManualClock,
    incident_id: str,
    *,
    username: str = "officer_a",
    happened: datetime | None = None,
    device_skew: timedelta = timedelta(0),
    offset_known: bool = True,
) -> dict[str, Any]:
    """An arrival recorded at `happened` (server time) and pushed now. The device's clock
    is `device_skew` off; it states its offset, or leaves the server to estimate it."""
    phone = await Phone(bureau, username).sign_in()
    when = happened or clock.now()
    op = phone.op(
        "arrival",
        incident_id,
        device_time=when + device_skew,
        clock_offset_ms=-int(device_skew.total_seconds() * 1000) if offset_known else None,
    )
    result = await phone.push([op], sent_at=clock.now() + device_skew)
    assert result["results"][0]["status"] == "applied", result
    return op


@pytest.mark.parametrize(
    ("area", "station", "username", "minutes", "state"),
    [
        ("urban", "a", "officer_a", 9, "met"),
        ("urban", "a", "officer_a", 10, "met"),  # exactly at the due time still counts
        ("urban", "a", "officer_a", 11, "met_late"),
        ("rural", "b", "officer_b", 19, "met"),
        ("rural", "b", "officer_b", 21, "met_late"),
    ],
)
async def test_arrival_met_and_missed(
    bureau: Bureau,
    clock: ManualClock,
    area: str,
    station: str,
    username: str,
    minutes: int,
    state: str,
) -> None:
    incident = await bureau.dispatched_incident(station, (username,), area_type=area)
    dispatched = at(incident["dispatched_at"])
    assert dispatched == clock.now()
    target = 10 if area == "urban" else 20
    assert at(incident["clocks"]["arrival"]["due_at"]) == dispatched + timedelta(minutes=target)
    clock.advance(timedelta(minutes=minutes))
    await arrive(bureau, clock, incident["id"], username=username)
    arrival = (await record(bureau, incident["id"]))["clocks"]["arrival"]
    assert arrival["state"] == state
    assert at(arrival["met_at"]) == dispatched + timedelta(minutes=minutes)


async def test_arrival_not_made_turns_overdue_after_the_target(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident = await bureau.dispatched_incident("b", ("officer_b",), area_type="rural")
    clock.advance(timedelta(minutes=19, seconds=59))
    assert (await record(bureau, incident["id"]))["clocks"]["arrival"]["state"] == "running"
    clock.advance(timedelta(seconds=2))
    arrival = (await record(bureau, incident["id"]))["clocks"]["arrival"]
    assert arrival["state"] == "overdue" and arrival["met_at"] is None


@pytest.mark.parametrize("offset_known", [True, False])
async def test_arrival_synced_late_counts_on_effective_time(
    bureau: Bureau, clock: ManualClock, offset_known: bool
) -> None:
    """An officer taps "arrived" 8 minutes after dispatch with no coverage; the phone
    syncs 40 minutes later. Its clock is also an hour slow. Met, on effective time."""
    incident = await bureau.dispatched_incident()
    dispatched = at(incident["dispatched_at"])
    clock.advance(timedelta(minutes=48))
    await arrive(
        bureau,
        clock,
        incident["id"],
        happened=dispatched + timedelta(minutes=8),
        device_skew=-timedelta(hours=1),
        offset_known=offset_known,
    )
    full = await record(bureau, incident["id"])
    arrival = full["clocks"]["arrival"]
    assert arrival["state"] == "met"
    assert at(arrival["met_at"]) == dispatched + timedelta(minutes=8)
    [event] = [t for t in full["timeline"] if t["type"] == "arrival"]
    assert at(event["received_at"]) == dispatched + timedelta(minutes=48)
    assert event["flags"] == []


async def test_effective_time_never_later_than_receipt(bureau: Bureau, clock: ManualClock) -> None:
    """A device clock 30 s fast (within tolerance): the clock counts the receipt time."""
    incident = await bureau.dispatched_incident()
    clock.advance(timedelta(minutes=10))
    await arrive(bureau, clock, incident["id"], happened=clock.now() + timedelta(seconds=30))
    arrival = (await record(bureau, incident["id"]))["clocks"]["arrival"]
    assert at(arrival["met_at"]) == clock.now()
    assert arrival["state"] == "met"


@pytest.mark.parametrize("happened_after_dispatch", [timedelta(minutes=-5), timedelta(minutes=12)])
async def test_suspect_clock_does_not_count(
    bureau: Bureau, clock: ManualClock, happened_after_dispatch: timedelta
) -> None:
    """An arrival claiming a time 5 minutes before the dispatch it answers, or more than
    60 s after its own receipt, is flagged clock_suspect and does not stop the clock."""
    incident = await bureau.dispatched_incident()
    dispatched = at(incident["dispatched_at"])
    clock.advance(timedelta(minutes=5))
    await arrive(bureau, clock, incident["id"], happened=dispatched + happened_after_dispatch)
    full = await record(bureau, incident["id"])
    [event] = [t for t in full["timeline"] if t["type"] == "arrival"]
    assert "clock_suspect" in event["flags"]
    assert full["clocks"]["arrival"]["met_at"] is None
    assert full["clocks"]["arrival"]["state"] == "running"
    assert [r["kind"] for r in full["review_items"]] == ["clock_suspect"]
    # A valid arrival from another assigned officer later still counts.
    clock.advance(timedelta(minutes=3))
    incident2 = full["id"]
    await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident2}/reassign",
        json={
            "station_id": bureau.stations["a"],
            "person_ids": [bureau.people["officer_a"], bureau.people["officer_a2"]],
        },
    )
    await arrive(bureau, clock, incident2, username="officer_a2")
    arrival = (await record(bureau, incident2))["clocks"]["arrival"]
    assert arrival["state"] == "met"
    assert at(arrival["met_at"]) == dispatched + timedelta(minutes=8)


async def test_clear_within_24_hours_across_midnight(bureau: Bureau, clock: ManualClock) -> None:
    """Received at 23:40 on the 20th (Shanghai): due 23:40 on the 21st, whatever the date."""
    on_time = await bureau.dispatched_incident()
    late = await bureau.dispatched_incident()
    received = at(on_time["received_at"])
    assert received.astimezone(SHANGHAI).date().day == 20
    due = at(on_time["clocks"]["clear"]["due_at"])
    assert due == received + timedelta(hours=24)
    assert due.astimezone(SHANGHAI).strftime("%d %H:%M") == "21 23:40"

    clock.advance(timedelta(hours=23, minutes=59))  # 23:39 on the 21st
    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{on_time['id']}/close", json={"summary": "ok"}
    )
    assert r.status_code == 200
    assert r.json()["clocks"]["clear"]["state"] == "met"
    assert (await record(bureau, late["id"]))["clocks"]["clear"]["state"] == "running"
    clock.advance(timedelta(minutes=2))  # 23:41 on the 21st: past due
    assert (await record(bureau, late["id"]))["clocks"]["clear"]["state"] == "overdue"
    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{late['id']}/close", json={"summary": "ok"}
    )
    assert r.json()["clocks"]["clear"]["state"] == "met_late"


async def wait_for_reviews(
    incident_id: str, kinds: set[tuple[str, str | None]], limit_s: float = 15.0
) -> list[dict[str, Any]]:
    """Poll the database (not the server: no HTTP request) until the review items appear
    in the change feed, within a wait limit."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while True:
        rows = await Change.select(Change.data).where(
            (Change.incident == incident_id) & (Change.entity == "review")
        )
        items = [load_json(r["data"]) for r in rows]
        have = {(i["kind"], i["clock"]) for i in items}
        if kinds <= have:
            return items
        if loop.time() > deadline:
            raise AssertionError(f"review items {kinds - have} did not appear; have {have}")
        await asyncio.sleep(0.05)


async def test_scheduler_turns_arrival_overdue_on_time_without_a_request(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident = await bureau.dispatched_incident()
    officer = await Phone(bureau, "officer_a").sign_in()
    await officer.pull_all()
    clock.advance(timedelta(minutes=9))
    await asyncio.sleep(0.3)  # the scheduler had its chance: nothing is due yet
    assert not await ReviewItem.exists().where(ReviewItem.incident == incident["id"])

    clock.advance(timedelta(minutes=1, seconds=1))  # past the 10-minute arrival target
    items = await wait_for_reviews(incident["id"], {("overdue", "arrival")})
    [item] = items
    assert item["state"] == "open" and item["detail"]["clock"] == "arrival"
    # The incident went out again with the overdue clock and the item in it; the
    # assigned officer's device receives both.
    changes = await officer.pull_all()
    reviews = [c for c in changes if c["entity"] == "review"]
    assert [(c["data"]["kind"], c["data"]["clock"]) for c in reviews] == [("overdue", "arrival")]
    latest = [c for c in changes if c["entity"] == "incident"][-1]["data"]
    assert latest["clocks"]["arrival"]["state"] == "overdue"
    assert [(r["kind"], r["clock"]) for r in latest["review_items"]] == [("overdue", "arrival")]


async def test_overdue_fires_once_also_across_a_restart(bureau: Bureau, clock: ManualClock) -> None:
    incident = await bureau.dispatched_incident()
    clock.advance(timedelta(minutes=11))
    await wait_for_reviews(incident["id"], {("overdue", "arrival")})
    # A second server process on the same database (and then a restart) finds the same
    # clock overdue: it must not open a second item.
    second = create_app(
        Settings(database_url=TEST_DATABASE_URL, clock=clock, sla_scheduler_cap_s=600)
    )
    async with AsyncTestClient(app=second):
        clock.advance(timedelta(minutes=1))
        await asyncio.sleep(0.5)
        clock.advance(timedelta(hours=4))  # initial result now overdue too
        await wait_for_reviews(incident["id"], {("overdue", "initial_result")})
    overdue = await ReviewItem.select(ReviewItem.clock).where(
        (ReviewItem.incident == incident["id"]) & (ReviewItem.kind == "overdue")
    )
    assert sorted(r["clock"] for r in overdue) == ["arrival", "initial_result"]


async def test_missing_case_evidence_after_24_hours(bureau: Bureau, clock: ManualClock) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    clock.advance(timedelta(minutes=5))
    ops = [
        phone.op("arrival", incident["id"], device_time=clock.now()),
        phone.op(
            "disposition",
            incident["id"],
            {"result": "case_accepted", "summary": "受案"},
            device_time=clock.now(),
        ),
        phone.op(
            "evidence_item",
            incident["id"],
            {"kind": "interview_record", "reference": "笔录-1", "sha256": None},
            device_time=clock.now(),
        ),
    ]
    await phone.push(ops, sent_at=clock.now())
    full = await record(bureau, incident["id"])
    evidence = full["clocks"]["evidence"]
    assert at(evidence["due_at"]) == clock.now() + timedelta(hours=24)
    assert evidence["state"] == "running"

    clock.advance(timedelta(hours=24, seconds=1))
    items = await wait_for_reviews(
        incident["id"], {("overdue", "evidence"), ("missing_evidence", "evidence")}
    )
    [missing] = [i for i in items if i["kind"] == "missing_evidence"]
    assert missing["detail"]["missing"] == ["witness_statement", "scene_inspection"]
    # The arrival was made: no overdue item for it. The clear clock (24 h from receipt)
    # and initial result (met by the disposition) are settled accordingly.
    kinds = {(i["kind"], i["clock"]) for i in items}
    assert ("overdue", "arrival") not in kinds and ("overdue", "initial_result") not in kinds
    assert ("overdue", "clear") in kinds


async def test_missing_evidence_also_after_the_call_is_closed(
    bureau: Bureau, clock: ManualClock
) -> None:
    """Closing the call (销号) does not close the case file: evidence is still due."""
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    clock.advance(timedelta(minutes=5))
    ops = [
        phone.op("arrival", incident["id"], device_time=clock.now()),
        phone.op(
            "disposition",
            incident["id"],
            {"result": "case_accepted", "summary": "受案"},
            device_time=clock.now(),
        ),
    ]
    await phone.push(ops, sent_at=clock.now())
    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/close", json={"summary": "ok"}
    )
    assert r.status_code == 200
    clock.advance(timedelta(hours=24, seconds=1))
    items = await wait_for_reviews(
        incident["id"], {("overdue", "evidence"), ("missing_evidence", "evidence")}
    )
    [missing] = [i for i in items if i["kind"] == "missing_evidence"]
    assert missing["detail"]["missing"] == [
        "interview_record",
        "witness_statement",
        "scene_inspection",
    ]
    # Nothing else fires for a closed incident.
    assert {(i["kind"], i["clock"]) for i in items} == {
        ("overdue", "evidence"),
        ("missing_evidence", "evidence"),
    }


async def test_evidence_complete_in_time_opens_nothing(bureau: Bureau, clock: ManualClock) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    clock.advance(timedelta(minutes=5))
    ops = [
        phone.op(
            "disposition",
            incident["id"],
            {"result": "case_accepted", "summary": "受案"},
            device_time=clock.now(),
        ),
        *[
            phone.op(
                "evidence_item",
                incident["id"],
                {"kind": k, "reference": k, "sha256": None},
                device_time=clock.now(),
            )
            for k in ("interview_record", "witness_statement", "scene_inspection")
        ],
    ]
    await phone.push(ops, sent_at=clock.now())
    full = await record(bureau, incident["id"])
    assert full["clocks"]["evidence"]["state"] == "met"
    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/close", json={"summary": "ok"}
    )
    assert r.status_code == 200
    clock.advance(timedelta(hours=30))
    await asyncio.sleep(0.5)
    assert not await ReviewItem.exists().where(
        ReviewItem.kind.is_in(["overdue", "missing_evidence"])
    )


def test_manual_clock_starts_where_told() -> None:
    assert ManualClock(START).now() == START.astimezone(UTC)


async def test_zhoushan_1358_preset_counts_arrival_from_the_call(
    bureau: Bureau, clock: ManualClock
) -> None:
    """Under "1358" the unit is sent within 1 minute of the call and is at an urban scene
    within 5 minutes of it (8 outside town), both counted from receipt."""
    await set_policy(bureau.bureau_id, PRESETS["zhoushan_1358"])
    incident = await bureau.new_incident()
    received = at(incident["received_at"])
    assert at(incident["clocks"]["arrival"]["due_at"]) == received + timedelta(minutes=5)
    assert at(incident["clocks"]["dispatch"]["due_at"]) == received + timedelta(minutes=1)
    clock.advance(timedelta(minutes=2))
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident['id']}/dispatch",
        json={"station_id": bureau.stations["a"], "person_ids": [bureau.people["officer_a"]]},
    )
    assert r.json()["clocks"]["dispatch"]["state"] == "met_late"
    clock.advance(timedelta(minutes=2, seconds=30))  # 4.5 minutes after the call
    await arrive(bureau, clock, incident["id"])
    assert (await record(bureau, incident["id"]))["clocks"]["arrival"]["state"] == "met"
    rural = await bureau.new_incident(area_type="rural")
    assert at(rural["clocks"]["arrival"]["due_at"]) == at(rural["received_at"]) + timedelta(
        minutes=8
    )


def test_policy_overrides_are_checked() -> None:
    policy = make_policy("default", {"arrival_urban_min": 8, "arrival_from": "receipt"})
    assert policy.targets.arrival_urban_min == 8 and policy.targets.arrival_rural_min == 20
    for bad in ({"clear_min": 0}, {"arrival_from": "call"}, {"speed": 3}):
        with pytest.raises(ValueError):
            make_policy("default", bad)
    with pytest.raises(ValueError):
        make_policy("fast", {})
