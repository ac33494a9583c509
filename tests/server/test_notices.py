"""Notices (通报) and rectifications (整改), PROTOCOL §11, black-box over HTTP: issuing
(roles, 422s, duplicates collapsed), with and without `rectify_by`, the list's scope and
filters, rectification ops (owed, done, overdue by the injected clock, done late),
their dead letters, the feed (one copy per named station, a rectification scoped to its
station and never a mediation case) and the live socket. docs/supervision.md."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.core.clock import SHANGHAI, ManualClock
from server.core.config import Settings
from server.core.tables import Change, Rectification, ReviewItem
from server.record.events import load_json
from tests.conftest import TEST_DATABASE_URL
from tests.live import ServerProcess
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


async def notify(
    bureau: Bureau,
    stations: list[str],
    *,
    kind: str = "criticism",
    rectify_in: timedelta | None = None,
    incident_ids: list[str] | None = None,
    username: str = "supervisor",
    now: datetime = START,
) -> Any:
    body: dict[str, Any] = {
        "kind": kind,
        "station_ids": [bureau.stations.get(s, s) for s in stations],
        "text": "出警超时，通报批评",
    }
    if incident_ids is not None:
        body["incident_ids"] = incident_ids
    if rectify_in is not None:
        body["rectify_by"] = (now + rectify_in).isoformat()
    return await bureau.call(username, "POST", "/api/notices", json=body)


async def rectify(
    phone: Phone, notice_id: str, *, happened: datetime, sent: datetime, **envelope: Any
) -> dict[str, Any]:
    op = phone.op(
        "rectification",
        envelope.pop("incident_id", None),
        {"notice_id": notice_id, "text": "已组织整改学习", "attachments": []},
        device_time=happened,
        **envelope,
    )
    result = await phone.push([op], sent_at=sent)
    return {**result["results"][0], "op": op}


async def listed(bureau: Bureau, username: str, **params: Any) -> list[dict[str, Any]]:
    r = await bureau.call(username, "GET", "/api/notices", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["notices"])


def entry(notice: dict[str, Any], station_id: str) -> dict[str, Any]:
    return next(e for e in notice["stations"] if e["station_id"] == station_id)


# ---------------------------------------------------------------------------------------
# Issuing


async def test_issue_a_notice_without_rectification(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    r = await notify(
        bureau, ["a", "b", "a"], kind="commendation", incident_ids=[incident["id"]] * 2
    )
    assert r.status_code == 201, r.text
    notice = r.json()
    a, b = bureau.stations["a"], bureau.stations["b"]
    assert notice["kind"] == "commendation" and notice["text"] == "出警超时，通报批评"
    assert notice["station_ids"] == [a, b]  # duplicates collapsed
    assert notice["incidents"] == [{"incident_id": incident["id"], "number": incident["number"]}]
    assert notice["rectify_by"] is None
    assert notice["issued_by"] == bureau.people["supervisor"] and at(notice["issued_at"]) == START
    assert notice["stations"] == [
        {
            "station_id": a,
            "name": "甲派出所",
            "state": None,
            "done_at": None,
            "op_id": None,
            "text": None,
        },
        {
            "station_id": b,
            "name": "乙派出所",
            "state": None,
            "done_at": None,
            "op_id": None,
            "text": None,
        },
    ]
    assert not await Rectification.select()
    # One change per named station, station scoped, no incident.
    rows = await Change.select().where(Change.entity == "notice")
    assert sorted(r["station"] for r in rows) == sorted([a, b])
    assert all(r["incident"] is None and r["entity_id"] == notice["id"] for r in rows)
    # An admin may issue too.
    assert (await notify(bureau, ["b"], kind="briefing", username="admin")).status_code == 201


@pytest.mark.parametrize(
    "username", ["dispatcher", "chief_a", "officer_a", "grid_b", "mediator_a", "agency_x"]
)
async def test_only_supervisors_and_admins_issue(bureau: Bureau, username: str) -> None:
    r = await notify(bureau, ["a"], username=username)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")


async def test_issue_refusals(bureau: Bureau) -> None:
    r = await notify(bureau, ["a", "no-such-station"])
    assert (r.status_code, r.json()["code"]) == (422, "unknown_station")
    r = await notify(bureau, ["a"], incident_ids=["no-such-incident"])
    assert (r.status_code, r.json()["code"]) == (422, "unknown_incident")
    for rectify_in in (timedelta(0), -timedelta(days=1), timedelta(days=365 * 200)):
        r = await notify(bureau, ["a"], rectify_in=rectify_in)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_time"), rectify_in
    for body in (
        {"kind": "praise", "station_ids": ["x"], "text": "t"},
        {"kind": "briefing", "station_ids": [], "text": "t"},
        {"kind": "briefing", "station_ids": ["x"]},
        {"kind": "briefing", "station_ids": ["x"], "text": "t", "rectify_by": "2030-01-01T00:00"},
    ):
        r = await bureau.call("supervisor", "POST", "/api/notices", json=body)
        assert r.status_code == 400, (body, r.text)
    assert not await Change.select().where(Change.entity == "notice")


# ---------------------------------------------------------------------------------------
# Listing


async def test_list_scope_and_filters(bureau: Bureau, clock: ManualClock) -> None:
    first = (await notify(bureau, ["a"], rectify_in=timedelta(days=1))).json()
    clock.advance(timedelta(minutes=1))
    second = (await notify(bureau, ["a", "b"], now=clock.now())).json()
    clock.advance(timedelta(minutes=1))
    third = (await notify(bureau, ["b"], rectify_in=timedelta(days=1), now=clock.now())).json()

    async def ids(username: str, **params: Any) -> list[str]:
        return [n["id"] for n in await listed(bureau, username, **params)]

    assert await ids("supervisor") == [third["id"], second["id"], first["id"]]
    assert await ids("dispatcher", station_id=bureau.stations["a"]) == [second["id"], first["id"]]
    assert await ids("supervisor", state="owed") == [third["id"], first["id"]]
    assert await ids("supervisor", state="owed", station_id=bureau.stations["b"]) == [third["id"]]
    assert await ids("supervisor", state="done") == []
    # Field roles: only the notices naming their station.
    assert await ids("officer_a") == [second["id"], first["id"]]
    assert await ids("chief_b") == [third["id"], second["id"]]
    assert await ids("chief_b", state="owed") == [third["id"]]
    assert await ids("chief_b", station_id=bureau.stations["a"]) == [second["id"]]
    assert await ids("agency_x") == []
    for bad in ("late", "", "all"):
        r = await bureau.call("supervisor", "GET", "/api/notices", params={"state": bad})
        assert (r.status_code, r.json()["code"]) == (400, "invalid_param"), bad


# ---------------------------------------------------------------------------------------
# Rectification


async def test_rectification_owed_done_overdue_and_late(bureau: Bureau, clock: ManualClock) -> None:
    r = await notify(bureau, ["a", "b"], rectify_in=timedelta(days=1))
    notice = r.json()
    a, b = bureau.stations["a"], bureau.stations["b"]
    assert at(notice["rectify_by"]) == START + timedelta(days=1)
    assert [e["state"] for e in notice["stations"]] == ["owed", "owed"]

    chief_a = await Phone(bureau, "chief_a").sign_in()
    done_at = START + timedelta(hours=5)
    clock.advance(timedelta(hours=6))
    r = await rectify(chief_a, notice["id"], happened=done_at, sent=clock.now())
    assert r["status"] == "applied", r
    [view] = await listed(bureau, "supervisor")
    mine = entry(view, a)
    assert mine["state"] == "done" and at(mine["done_at"]) == done_at
    assert mine["op_id"] == r["op_id"] and mine["text"] == "已组织整改学习"
    assert entry(view, b)["state"] == "owed"
    # A second one, earlier by effective time, takes its place; a later one does not.
    earlier = START + timedelta(hours=4)
    r2 = await rectify(chief_a, notice["id"], happened=earlier, sent=clock.now())
    r3 = await rectify(chief_a, notice["id"], happened=clock.now(), sent=clock.now())
    assert r2["status"] == r3["status"] == "applied"
    [view] = await listed(bureau, "supervisor")
    assert entry(view, a)["op_id"] == r2["op_id"] and at(entry(view, a)["done_at"]) == earlier

    # Station b owes it past the due time: overdue, a review item within 5 s.
    clock.advance(timedelta(days=1))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        items = await ReviewItem.select().where(ReviewItem.clock == "rectification")
        if items:
            break
        assert loop.time() < deadline, "no overdue rectification item within 5 s"
        await asyncio.sleep(0.05)
    [item] = items
    assert item["kind"] == "overdue" and item["incident"] is None and item["station"] == b
    assert item["once_key"] == f"overdue:rectification:{notice['id']}:{b}"
    detail = load_json(item["detail"])
    assert detail["notice_id"] == notice["id"] and detail["station_id"] == b
    assert detail["clock"] == "rectification"
    assert at(detail["due_at"]) == START + timedelta(days=1)
    [view] = await listed(bureau, "supervisor", state="overdue")
    assert entry(view, b)["state"] == "overdue" and entry(view, a)["state"] == "done"
    # The chief of b sees it on their desk, the chief of a does not.
    r = await bureau.call("chief_b", "GET", "/api/reviews")
    assert [i["id"] for i in r.json()] == [item["id"]]
    r = await bureau.call("chief_a", "GET", "/api/reviews")
    assert item["id"] not in [i["id"] for i in r.json()]

    # Done late: done, and done_at after the due time shows it.
    chief_b = await Phone(bureau, "chief_b").sign_in()
    r = await rectify(chief_b, notice["id"], happened=clock.now(), sent=clock.now())
    assert r["status"] == "applied"
    [view] = await listed(bureau, "supervisor", state="done", station_id=b)
    assert entry(view, b)["state"] == "done"
    assert at(entry(view, b)["done_at"]) > at(view["rectify_by"])
    await asyncio.sleep(0.3)
    assert len(await ReviewItem.select().where(ReviewItem.clock == "rectification")) == 1
    # The resolved item's change stays with the owing station.
    r = await bureau.call("supervisor", "POST", f"/api/reviews/{item['id']}/resolve", json={})
    assert r.status_code == 200, r.text
    [resolved] = (
        await Change.select()
        .where((Change.entity == "review") & (Change.entity_id == item["id"]))
        .order_by(Change.pos, ascending=False)
        .limit(1)
    )
    assert resolved["station"] == b


async def test_rectification_dead_letters(bureau: Bureau, clock: ManualClock) -> None:
    owed = (await notify(bureau, ["a"], rectify_in=timedelta(days=1))).json()
    plain = (await notify(bureau, ["a"])).json()
    chief_a = await Phone(bureau, "chief_a").sign_in()
    now = clock.now()
    r = await rectify(chief_a, "no-such-notice", happened=now, sent=now)
    assert (r["status"], r["code"]) == ("rejected", "unknown_notice")
    r = await rectify(chief_a, plain["id"], happened=now, sent=now)
    assert (r["status"], r["code"]) == ("rejected", "invalid")
    for username in ("officer_a", "chief_b", "mediator_a"):
        phone = await Phone(bureau, username).sign_in()
        r = await rectify(phone, owed["id"], happened=now, sent=now)
        assert (r["status"], r["code"]) == ("rejected", "forbidden"), username
    # On an incident, or as a version of a record: invalid.
    incident = await bureau.dispatched_incident()
    r = await rectify(chief_a, owed["id"], happened=now, sent=now, incident_id=incident["id"])
    assert (r["status"], r["code"]) == ("rejected", "invalid")
    r = await rectify(chief_a, owed["id"], happened=now, sent=now, record_id="some-record")
    assert (r["status"], r["code"]) == ("rejected", "invalid")
    [view] = [n for n in await listed(bureau, "supervisor") if n["id"] == owed["id"]]
    assert entry(view, bureau.stations["a"])["state"] == "owed"


async def test_feed_scopes_notices_and_rectifications(bureau: Bureau, clock: ManualClock) -> None:
    notice = (await notify(bureau, ["a"], rectify_in=timedelta(days=1))).json()
    officer_a = await Phone(bureau, "officer_a").sign_in()
    officer_b = await Phone(bureau, "officer_b").sign_in()
    command = await Phone(bureau, "supervisor").sign_in()
    await officer_a.pull_all()
    await officer_b.pull_all()
    assert officer_a.held[f"notice:{notice['id']}"]["stations"][0]["state"] == "owed"
    assert f"notice:{notice['id']}" not in officer_b.held
    chief_a = await Phone(bureau, "chief_a").sign_in()
    r = await rectify(chief_a, notice["id"], happened=clock.now(), sent=clock.now())
    await officer_a.pull_all()
    await officer_b.pull_all()
    assert officer_a.held[f"notice:{notice['id']}"]["stations"][0]["state"] == "done"
    event = officer_a.held[f"event:{r['op_id']}"]
    assert event["type"] == "rectification" and event["incident_id"] is None
    assert f"event:{r['op_id']}" not in officer_b.held
    assert not [k for k in officer_b.held if k.startswith("notice:")]
    # Never a mediation case.
    assert not [k for k in officer_a.held if k.startswith("mediation:")]
    changes = await command.pull_all()
    assert not [c for c in changes if c["entity"] == "mediation"]
    assert {c["entity"] for c in changes} >= {"notice", "event"}


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


async def test_socket_delivers_notices_to_named_stations_only(
    bureau: Bureau, server: ServerProcess
) -> None:
    field_a = await open_screen(Device(server.url, "officer_a"))
    field_b = await open_screen(Device(server.url, "officer_b"))
    boss = Device(server.url, "supervisor")
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        headers = {"Authorization": f"Bearer {boss.token}"}
        r = await http.post(
            "/api/notices",
            headers=headers,
            json={
                "kind": "criticism",
                "station_ids": [bureau.stations["a"]],
                "text": "甲所通报",
                "rectify_by": due,
            },
        )
        assert r.status_code == 201, r.text
        to_a = r.json()
        r = await http.post(
            "/api/notices",
            headers=headers,
            json={"kind": "briefing", "station_ids": [bureau.stations["b"]], "text": "乙所通报"},
        )
        to_b = r.json()
    got = await field_a.until("a's notice", lambda c: c["entity"] == "notice")
    assert got["id"] == to_a["id"] and got["data"]["text"] == "甲所通报"
    got = await field_b.until("b's notice", lambda c: c["entity"] == "notice")
    # b's socket's first notice is b's own: a's never reached it.
    assert got["id"] == to_b["id"]
    assert not [c for c in field_b.seen if c["entity"] == "notice" and c["id"] == to_a["id"]]
    await field_a.ws.close()
    await field_b.ws.close()
