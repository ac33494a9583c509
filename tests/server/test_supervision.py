"""Supervision orders (督办, PROTOCOL §11), black-box over HTTP: issuing (roles, 404,
409 no_station, 422 invalid_time), the chief's replies by op in any order and
redelivered, rejection reopening, acceptance meeting the clock at the accepted reply's
effective time (met, met_late), overdue by the injected clock (review item within 5 s),
dead letters, the list's scope and filters, the chief's review desk, and the live feed.
docs/supervision.md describes the flow."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.core.clock import SHANGHAI, ManualClock
from server.core.config import Settings
from server.core.tables import AuditLog, Change, ReviewItem
from server.record.events import load_json
from tests.conftest import TEST_DATABASE_URL
from tests.live import ServerProcess
from tests.server.board_rows import assert_board_matches_records
from tests.server.conftest import Bureau
from tests.server.phone import Phone
from tests.server.test_live_actions import open_screen
from tests.server.test_sync_ws import Device

START = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(clock: ManualClock) -> Settings:
    return Settings(database_url=TEST_DATABASE_URL, clock=clock, sla_scheduler_cap_s=600)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def supervise(
    bureau: Bureau,
    incident_id: str,
    *,
    due_in: timedelta = timedelta(hours=2),
    level: str = "bureau",
    username: str = "supervisor",
    now: datetime | None = None,
) -> Any:
    due = (now or START) + due_in
    return await bureau.call(
        username,
        "POST",
        f"/api/incidents/{incident_id}/supervise",
        json={"level": level, "instructions": "三日内查明情况并反馈", "due_at": due.isoformat()},
    )


async def issued(bureau: Bureau, clock: ManualClock, **kwargs: Any) -> tuple[dict, dict]:
    incident = await bureau.dispatched_incident()
    r = await supervise(bureau, incident["id"], now=clock.now(), **kwargs)
    assert r.status_code == 201, r.text
    return incident, r.json()


async def reply(
    phone: Phone,
    order: dict[str, Any],
    *,
    happened: datetime,
    sent: datetime,
    text: str = "已查明，已整改",
    incident_id: str | None = None,
    op_id: str | None = None,
) -> dict[str, Any]:
    op = phone.op(
        "supervision_reply",
        incident_id or order["incident_id"],
        {"order_id": order["id"], "text": text, "attachments": []},
        device_time=happened,
        op_id=op_id,
    )
    result = await phone.push([op], sent_at=sent)
    return {**result["results"][0], "op": op}


async def get_order(bureau: Bureau, order_id: str, username: str = "supervisor") -> dict:
    r = await bureau.call(username, "GET", "/api/supervision")
    assert r.status_code == 200, r.text
    [order] = [o for o in r.json()["orders"] if o["id"] == order_id]
    return dict(order)


async def wait_for_item(incident_id: str | None, clock_name: str, **where: Any) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        rows = await Change.select(Change.data).where(Change.entity == "review")
        for row in rows:
            item = load_json(row["data"])
            if (
                item["kind"] == "overdue"
                and item["clock"] == clock_name
                and item["incident_id"] == incident_id
                and all(item["detail"].get(k) == v for k, v in where.items())
            ):
                return dict(item)
        assert loop.time() < deadline, f"no overdue {clock_name} item within 5 s"
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------------------------------
# Issuing


async def test_issue_an_order(bureau: Bureau, clock: ManualClock) -> None:
    incident, order = await issued(bureau, clock)
    assert order["incident_id"] == incident["id"] and order["number"] == incident["number"]
    assert order["station_id"] == bureau.stations["a"]
    assert order["level"] == "bureau" and order["state"] == "open"
    assert order["instructions"] == "三日内查明情况并反馈"
    assert at(order["due_at"]) == START + timedelta(hours=2)
    assert order["clock"] == {"due_at": order["due_at"], "met_at": None, "state": "running"}
    assert order["issued_by"] == bureau.people["supervisor"] and at(order["issued_at"]) == START
    assert order["reply"] is None and order["replies"] == [] and order["rejections"] == []
    assert order["accepted_at"] is None and order["accepted_by"] is None
    # The record lists it (the board shows 挂牌督办).
    record = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    assert record["supervision"] == [
        {
            "id": order["id"],
            "level": "bureau",
            "state": "open",
            "due_at": order["due_at"],
            "clock_state": "running",
        }
    ]
    board = (await bureau.call("dispatcher", "GET", "/api/board")).json()
    [shown] = [i for i in board["incidents"] if i["id"] == incident["id"]]
    assert shown["supervision"][0]["level"] == "bureau"
    await assert_board_matches_records(bureau)
    # An admin may issue too; after the close as well (after-the-fact 督办).
    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/close", json={"summary": "已处置"}
    )
    assert r.status_code == 200, r.text
    r = await supervise(bureau, incident["id"], level="station", username="admin")
    assert r.status_code == 201, r.text
    # Audited.
    actions = {r["action"] for r in await AuditLog.select(AuditLog.action)}
    assert "supervision.issue" in actions


@pytest.mark.parametrize(
    "username", ["dispatcher", "chief_a", "officer_a", "grid_b", "mediator_a", "agency_x"]
)
async def test_only_supervisors_and_admins_issue(bureau: Bureau, username: str) -> None:
    incident = await bureau.dispatched_incident()
    r = await supervise(bureau, incident["id"], username=username)
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "forbidden"


async def test_issue_refusals(bureau: Bureau, clock: ManualClock) -> None:
    incident = await bureau.dispatched_incident()
    # Not in the bureau (or no such incident): 404.
    assert (await supervise(bureau, "nope")).status_code == 404
    # Never dispatched: no station to address.
    fresh = await bureau.new_incident()
    r = await supervise(bureau, fresh["id"])
    assert (r.status_code, r.json()["code"]) == (409, "no_station")
    # due_at not in the future, or out of range.
    for due_in in (timedelta(0), -timedelta(hours=1)):
        r = await supervise(bureau, incident["id"], due_in=due_in)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_time"), due_in
    r = await bureau.call(
        "supervisor",
        "POST",
        f"/api/incidents/{incident['id']}/supervise",
        json={"level": "bureau", "instructions": "x", "due_at": "2200-01-01T00:00:00Z"},
    )
    assert (r.status_code, r.json()["code"]) == (422, "invalid_time")
    # The body's shape: 400.
    for body in (
        {"level": "city", "instructions": "x", "due_at": "2030-01-01T00:00:00Z"},
        {"level": "bureau", "instructions": "x", "due_at": "2030-01-01T00:00:00"},
        {"level": "bureau", "instructions": "x"},
        {"level": "bureau", "instructions": "x", "due_at": "2030-01-01T00:00:00Z", "x": 1},
    ):
        r = await bureau.call(
            "supervisor", "POST", f"/api/incidents/{incident['id']}/supervise", json=body
        )
        assert r.status_code == 400, (body, r.text)


# ---------------------------------------------------------------------------------------
# The lifecycle


async def test_reply_reject_reply_accept(bureau: Bureau, clock: ManualClock) -> None:
    incident, order = await issued(bureau, clock)
    chief = await Phone(bureau, "chief_a").sign_in()
    # Not answered yet: neither accept nor reject.
    for act, body in (("accept", None), ("reject", {"reason": "x"})):
        r = await bureau.call(
            "supervisor", "POST", f"/api/supervision/{order['id']}/{act}", json=body
        )
        assert (r.status_code, r.json()["code"]) == (409, "not_answered"), act

    first_at = START + timedelta(minutes=30)
    clock.advance(timedelta(minutes=31))
    r1 = await reply(chief, order, happened=first_at, sent=clock.now(), text="初步情况")
    assert r1["status"] == "applied", r1
    answered = await get_order(bureau, order["id"])
    assert answered["state"] == "answered" and answered["clock"]["state"] == "running"
    assert answered["reply"]["op_id"] == r1["op_id"] and answered["reply"]["text"] == "初步情况"
    assert answered["reply"]["person_id"] == bureau.people["chief_a"]
    assert at(answered["reply"]["at"]) == first_at
    # The reply is an event of the incident, on its timeline.
    record = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    assert [t["op_id"] for t in record["timeline"] if t["type"] == "supervision_reply"] == [
        r1["op_id"]
    ]
    assert record["supervision"][0]["state"] == "answered"

    # Rejected: open again, the reply turned down.
    r = await bureau.call(
        "supervisor", "POST", f"/api/supervision/{order['id']}/reject", json={"reason": "不够具体"}
    )
    assert r.status_code == 200, r.text
    rejected = r.json()
    assert rejected["state"] == "open" and rejected["reply"] is None
    [rejection] = rejected["rejections"]
    assert rejection["reason"] == "不够具体" and rejection["reply_op_ids"] == [r1["op_id"]]
    assert rejection["by"] == bureau.people["supervisor"]
    # A reject needs a reason.
    r = await bureau.call("supervisor", "POST", f"/api/supervision/{order['id']}/reject", json={})
    assert r.status_code == 400

    # A second reply answers it again.
    second_at = START + timedelta(minutes=50)
    clock.advance(timedelta(minutes=20))
    r2 = await reply(chief, order, happened=second_at, sent=clock.now(), text="详细情况")
    assert r2["status"] == "applied"
    again = await get_order(bureau, order["id"])
    assert again["state"] == "answered" and again["reply"]["op_id"] == r2["op_id"]
    assert [x["op_id"] for x in again["replies"]] == [r1["op_id"], r2["op_id"]]

    # Accepted (a body is ignored): met at the accepted reply's effective time.
    clock.advance(timedelta(hours=3))  # past the due time: the decision's time does not count
    r = await bureau.call(
        "supervisor", "POST", f"/api/supervision/{order['id']}/accept", json={"x": 1}
    )
    assert r.status_code == 200, r.text
    accepted = r.json()
    assert accepted["state"] == "accepted" and accepted["reply"]["op_id"] == r2["op_id"]
    assert accepted["clock"]["state"] == "met" and at(accepted["clock"]["met_at"]) == second_at
    assert accepted["accepted_by"] == bureau.people["supervisor"]
    assert at(accepted["accepted_at"]) == clock.now()
    for act, body in (("accept", None), ("reject", {"reason": "x"})):
        r = await bureau.call(
            "supervisor", "POST", f"/api/supervision/{order['id']}/{act}", json=body
        )
        assert (r.status_code, r.json()["code"]) == (409, "already_accepted"), act
    # Only supervisors and admins decide.
    for username in ("dispatcher", "chief_a", "officer_a"):
        r = await bureau.call(username, "POST", f"/api/supervision/{order['id']}/accept")
        assert r.status_code == 403, username

    # A reply to an accepted order is kept and changes nothing; after the close it is
    # not late.
    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/close", json={"summary": "已处置"}
    )
    assert r.status_code == 200
    r3 = await reply(chief, order, happened=clock.now(), sent=clock.now(), text="补充")
    assert r3["status"] == "applied"
    final = await get_order(bureau, order["id"])
    assert final["state"] == "accepted" and final["reply"]["op_id"] == r2["op_id"]
    assert len(final["replies"]) == 3
    record = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    [late] = [t for t in record["timeline"] if t["op_id"] == r3["op_id"]]
    assert late["flags"] == []
    assert record["supervision"][0]["state"] == "accepted"
    assert record["supervision"][0]["clock_state"] == "met"
    assert not [i for i in record["review_items"] if i["kind"] == "late"]


async def test_overdue_then_answered_late(bureau: Bureau, clock: ManualClock) -> None:
    incident, order = await issued(bureau, clock, due_in=timedelta(hours=1))
    clock.advance(timedelta(minutes=59))
    await asyncio.sleep(0.3)
    assert (await get_order(bureau, order["id"]))["clock"]["state"] == "running"
    clock.advance(timedelta(minutes=1, seconds=1))
    item = await wait_for_item(incident["id"], "supervision", order_id=order["id"])
    assert set(item["detail"]) == {"clock", "order_id", "due_at", "level"}
    assert item["detail"]["level"] == "bureau"
    assert at(item["detail"]["due_at"]) == at(order["due_at"])
    stored = await ReviewItem.select().where(ReviewItem.id == item["id"]).first()
    assert stored is not None and stored["station"] == bureau.stations["a"]
    assert stored["once_key"] == f"overdue:supervision:{order['id']}"
    overdue = await get_order(bureau, order["id"])
    assert overdue["state"] == "open" and overdue["clock"]["state"] == "overdue"
    record = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    assert record["supervision"][0]["clock_state"] == "overdue"
    assert ("overdue", "supervision") in {(i["kind"], i["clock"]) for i in record["review_items"]}
    # Answered late: awaiting a decision it is not overdue; accepted it is met late.
    chief = await Phone(bureau, "chief_a").sign_in()
    clock.advance(timedelta(hours=1))
    r = await reply(chief, order, happened=clock.now(), sent=clock.now())
    assert r["status"] == "applied"
    assert (await get_order(bureau, order["id"]))["clock"]["state"] == "running"
    # Rejected after its due time: overdue again at once, with no second item.
    r = await bureau.call(
        "supervisor", "POST", f"/api/supervision/{order['id']}/reject", json={"reason": "重报"}
    )
    assert r.json()["clock"]["state"] == "overdue"
    r = await reply(chief, order, happened=clock.now(), sent=clock.now())
    r = await bureau.call("supervisor", "POST", f"/api/supervision/{order['id']}/accept")
    assert r.json()["clock"]["state"] == "met_late"
    await asyncio.sleep(0.3)
    items = await ReviewItem.select().where(ReviewItem.clock == "supervision")
    assert len(items) == 1


async def test_replies_in_any_order_and_redelivered(bureau: Bureau, clock: ManualClock) -> None:
    _, order = await issued(bureau, clock)
    chief = await Phone(bureau, "chief_a").sign_in()
    clock.advance(timedelta(hours=1))
    early, later = START + timedelta(minutes=10), START + timedelta(minutes=40)
    # The later reply arrives first, then the earlier one (an offline outbox).
    r_late = await reply(chief, order, happened=later, sent=clock.now(), text="后")
    r_early = await reply(chief, order, happened=early, sent=clock.now(), text="先")
    view = await get_order(bureau, order["id"])
    assert view["reply"]["op_id"] == r_late["op_id"]
    assert [x["op_id"] for x in view["replies"]] == [r_early["op_id"], r_late["op_id"]]
    # Redelivered: a duplicate, nothing changes.
    again = await chief.push([r_late["op"]], sent_at=clock.now())
    assert again["results"][0]["status"] == "duplicate"
    assert await get_order(bureau, order["id"]) == view
    # A rejection turns both down; the order's state is the same however they came.
    r = await bureau.call(
        "supervisor", "POST", f"/api/supervision/{order['id']}/reject", json={"reason": "再查"}
    )
    assert sorted(r.json()["rejections"][0]["reply_op_ids"]) == sorted(
        [r_early["op_id"], r_late["op_id"]]
    )
    assert r.json()["state"] == "open"


async def test_reply_dead_letters(bureau: Bureau, clock: ManualClock) -> None:
    incident, order = await issued(bureau, clock)
    other = await bureau.dispatched_incident()
    chief = await Phone(bureau, "chief_a").sign_in()
    now = clock.now()
    r = await reply(chief, {**order, "id": "no-such-order"}, happened=now, sent=now)
    assert (r["status"], r["code"]) == ("rejected", "unknown_order")
    r = await reply(chief, order, happened=now, sent=now, incident_id=other["id"])
    assert (r["status"], r["code"]) == ("rejected", "invalid")
    for username in ("officer_a", "chief_b", "mediator_a"):
        phone = await Phone(bureau, username).sign_in()
        r = await reply(phone, order, happened=now, sent=now)
        assert (r["status"], r["code"]) == ("rejected", "forbidden"), username
    # A rejected op redelivered: the same answer.
    r = await reply(chief, order, happened=now, sent=now, incident_id=other["id"], op_id="x-1")
    r2 = await reply(chief, order, happened=now, sent=now, incident_id=other["id"], op_id="x-1")
    assert r2["code"] == r["code"] == "invalid"
    # The order is still open; the chief replies even once the incident moved elsewhere.
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident['id']}/reassign",
        json={"station_id": bureau.stations["b"], "person_ids": [bureau.people["officer_b"]]},
    )
    assert r.status_code == 200, r.text
    r = await reply(chief, order, happened=now, sent=now)
    assert r["status"] == "applied", r
    assert (await get_order(bureau, order["id"]))["state"] == "answered"


# ---------------------------------------------------------------------------------------
# Listing and scope


async def test_list_scope_and_filters(bureau: Bureau, clock: ManualClock) -> None:
    incident_a, order_a = await issued(bureau, clock)
    clock.advance(timedelta(minutes=1))
    incident_b = await bureau.dispatched_incident(station="b", people=("officer_b",))
    r = await supervise(bureau, incident_b["id"], level="station", now=clock.now())
    order_b = r.json()

    async def ids(username: str, **params: Any) -> list[str]:
        r = await bureau.call(username, "GET", "/api/supervision", params=params)
        assert r.status_code == 200, r.text
        return [o["id"] for o in r.json()["orders"]]

    # Newest issued first.
    assert await ids("supervisor") == [order_b["id"], order_a["id"]]
    assert await ids("dispatcher", state="all") == [order_b["id"], order_a["id"]]
    assert await ids("supervisor", state="open") == [order_b["id"], order_a["id"]]
    assert await ids("supervisor", state="answered") == []
    assert await ids("supervisor", station_id=bureau.stations["a"]) == [order_a["id"]]
    assert await ids("supervisor", incident_id=incident_b["id"]) == [order_b["id"]]
    # Field roles: their station's, and those on incidents assigned to them.
    assert await ids("chief_a") == [order_a["id"]]
    assert await ids("officer_a") == [order_a["id"]]
    assert await ids("officer_b") == [order_b["id"]]
    assert await ids("agency_x") == []
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident_a['id']}/reassign",
        json={"station_id": bureau.stations["a"], "person_ids": [bureau.people["officer_b"]]},
    )
    assert r.status_code == 200, r.text
    assert await ids("officer_b") == [order_b["id"], order_a["id"]]
    # A bad state.
    for bad in ("closed", "", "OPEN"):
        r = await bureau.call("supervisor", "GET", "/api/supervision", params={"state": bad})
        assert (r.status_code, r.json()["code"]) == (400, "invalid_param"), bad


async def test_station_chief_reads_their_stations_reviews(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident_a, order_a = await issued(bureau, clock, due_in=timedelta(minutes=10))
    incident_b = await bureau.dispatched_incident(station="b", people=("officer_b",))
    r = await supervise(bureau, incident_b["id"], due_in=timedelta(minutes=10), now=clock.now())
    order_b = r.json()
    clock.advance(timedelta(minutes=11))
    item_a = await wait_for_item(incident_a["id"], "supervision", order_id=order_a["id"])
    item_b = await wait_for_item(incident_b["id"], "supervision", order_id=order_b["id"])

    async def listed(username: str, **params: Any) -> list[str]:
        r = await bureau.call(username, "GET", "/api/reviews", params=params)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()]

    assert item_a["id"] in await listed("chief_a", kind="overdue")
    assert item_b["id"] not in await listed("chief_a", state="all")
    assert item_b["id"] in await listed("chief_b")
    assert {item_a["id"], item_b["id"]} <= set(await listed("supervisor"))
    # kind, since and until.
    assert await listed("supervisor", kind="late") == []
    created = at(item_a["created_at"])
    assert item_a["id"] in await listed(
        "supervisor", since=created.isoformat(), until=(created + timedelta(seconds=1)).isoformat()
    )
    assert item_a["id"] not in await listed(
        "supervisor", since=(created + timedelta(seconds=1)).isoformat()
    )
    assert item_a["id"] not in await listed("supervisor", until=created.isoformat())
    for bad in (
        {"since": "yesterday"},
        {"until": "2026-11-24T10:00:00"},
        {"kind": "nope"},
        {"kind": "OVERDUE"},
        {"kind": ""},
        {"kind": "x" * 40},
    ):
        r = await bureau.call("supervisor", "GET", "/api/reviews", params=bad)
        assert (r.status_code, r.json()["code"]) == (400, "invalid_param"), (bad, r.json())
    # An old row with no station: the chief sees it by its incident's station.
    await ReviewItem.update({ReviewItem.station: None}).where(ReviewItem.id == item_a["id"])
    assert item_a["id"] in await listed("chief_a")
    assert item_a["id"] not in await listed("chief_b")
    # Read only: resolving stays the supervisor's; other field roles do not read.
    r = await bureau.call("chief_a", "POST", f"/api/reviews/{item_a['id']}/resolve", json={})
    assert r.status_code == 403
    for username in ("officer_a", "dispatcher", "mediator_a"):
        assert (await bureau.call(username, "GET", "/api/reviews")).status_code == 403
    r = await bureau.call("supervisor", "POST", f"/api/reviews/{item_a['id']}/resolve", json={})
    assert r.status_code == 200, r.text


async def test_feed_delivers_orders_to_the_station(bureau: Bureau, clock: ManualClock) -> None:
    incident, order = await issued(bureau, clock)
    chief_a = await Phone(bureau, "chief_a").sign_in()
    officer_a = await Phone(bureau, "officer_a").sign_in()
    chief_b = await Phone(bureau, "chief_b").sign_in()
    for phone in (chief_a, officer_a):
        await phone.pull_all()
        assert phone.held[f"supervision:{order['id']}"]["state"] == "open"
        assert phone.held[f"incident:{incident['id']}"]["supervision"][0]["id"] == order["id"]
    await chief_b.pull_all()
    assert f"supervision:{order['id']}" not in chief_b.held
    await reply(chief_a, order, happened=clock.now(), sent=clock.now())
    await officer_a.pull_all()
    assert officer_a.held[f"supervision:{order['id']}"]["state"] == "answered"
    # The incident moves to station b: the order stays station a's, by pull too.
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident['id']}/reassign",
        json={"station_id": bureau.stations["b"], "person_ids": [bureau.people["officer_b"]]},
    )
    assert r.status_code == 200, r.text
    later = await Phone(bureau, "chief_a").sign_in()
    await later.pull_all()
    assert later.held[f"supervision:{order['id']}"]["state"] == "answered"
    assert f"incident:{incident['id']}" not in later.held


# ---------------------------------------------------------------------------------------
# The live socket (a real server process, real time).


@pytest.fixture
def server(bureau: Bureau, tmp_path: Path):
    s = ServerProcess(
        TEST_DATABASE_URL, log=tmp_path / "server.log", env={"QINGLING_LIVE_POLL_S": "3600"}
    )
    try:
        yield s
    finally:
        s.stop()


async def test_socket_delivers_an_order_to_the_chief(bureau: Bureau, server: ServerProcess) -> None:
    chief = await open_screen(Device(server.url, "chief_a"))
    desk = Device(server.url, "dispatcher")
    boss = Device(server.url, "supervisor")
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        r = await http.post(
            "/api/incidents",
            headers={"Authorization": f"Bearer {desk.token}"},
            json={
                "category": "dispute",
                "area_type": "urban",
                "address": "人民路1号",
                "narrative": "纠纷",
            },
        )
        incident = r.json()
        r = await http.post(
            f"/api/incidents/{incident['id']}/dispatch",
            headers={"Authorization": f"Bearer {desk.token}"},
            json={"station_id": bureau.stations["a"], "person_ids": [bureau.people["officer_a"]]},
        )
        assert r.status_code == 200, r.text
        r = await http.post(
            f"/api/incidents/{incident['id']}/supervise",
            headers={"Authorization": f"Bearer {boss.token}"},
            json={
                "level": "bureau",
                "instructions": "挂牌督办",
                "due_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            },
        )
        assert r.status_code == 201, r.text
        order = r.json()
    change = await chief.until(
        "the order", lambda c: c["entity"] == "supervision" and c["id"] == order["id"]
    )
    assert change["data"]["level"] == "bureau" and change["data"]["state"] == "open"
    await chief.ws.close()
