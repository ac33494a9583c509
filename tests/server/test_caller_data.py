"""Caller data by need (PROTOCOL §12): who gets the caller's name and phone in full, and
the masked copy everyone else gets, in GET, list, pull and the WebSocket. The board's
summary rows carry no caller data at all, for anyone: nothing to mask, nothing to audit.

Judged when the answer is made: an officer who could see it in full loses it once the
incident is closed or they are reassigned away, in every answer, the older versions a
pull or a catch-up replays included. Each full answer leaves one audit row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.access.scope import mask_name, mask_phone
from server.core import audit
from tests.conftest import TEST_DATABASE_URL
from tests.live import live_server
from tests.server.conftest import Bureau
from tests.server.test_sync_ws import Device, catch_up, connect, recv

NAME, PHONE = "张三", "13812345678"
FULL = (NAME, PHONE)
MASKED = ("张*", "138****5678")


def test_the_masks_worked_out_by_hand() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("1234567") == "****"
    assert mask_phone("12345678") == "123****5678"
    assert mask_phone("138 0000 0000") == "138****0000"
    assert mask_phone("+8613812345678") == "+86****5678"
    assert mask_phone("") == ""
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧*"
    assert mask_name("张") == "张*"
    assert mask_name("") == ""


async def _pull_all(bureau: Bureau, username: str) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    cursor = ""
    while True:
        r = await bureau.call(username, "GET", "/api/sync/pull", params={"cursor": cursor})
        assert r.status_code == 200, r.text
        body = r.json()
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["more"]:
            return changes


def _caller(record: dict[str, Any]) -> tuple[str, str]:
    return record["caller_name"], record["caller_phone"]


async def answers(bureau: Bureau, username: str, incident_id: str) -> dict[str, Any]:
    """What `username` receives of the incident's caller in every HTTP answer: GET, the
    list, the board (open incidents only) and every version a pull from scratch replays."""
    out: dict[str, Any] = {}
    r = await bureau.call(username, "GET", f"/api/incidents/{incident_id}")
    assert r.status_code == 200, r.text
    out["get"] = _caller(r.json())
    r = await bureau.call(username, "GET", "/api/incidents", params={"status": "all"})
    [listed] = [i for i in r.json() if i["id"] == incident_id]
    out["list"] = _caller(listed)
    r = await bureau.call(username, "GET", "/api/board")
    on_board = [i for i in r.json()["incidents"] if i["id"] == incident_id]
    if on_board:
        row = json.dumps(on_board[0], ensure_ascii=False)
        # Keys, the full values and the masked ones' marks; not the phone's last four
        # digits alone, which a row's ids and timestamps can hold by chance.
        marks = ("caller", NAME, PHONE, MASKED[0], MASKED[1], "****")
        carries = any(mark in row for mark in marks)
        out["board"] = "caller data" if carries else "none"
    versions = [
        _caller(c["data"])
        for c in await _pull_all(bureau, username)
        if c["entity"] == "incident" and c["id"] == incident_id
    ]
    assert versions, f"{username} pulled no version of the incident"
    out["pull"] = set(versions)
    return out


def everywhere(expected: tuple[str, str], board: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"get": expected, "list": expected, "pull": {expected}}
    if board:
        out["board"] = "none"  # a board row carries no caller data, full or masked
    return out


async def test_command_roles_and_the_assigned_officer_see_it_in_full_others_masked(
    bureau: Bureau,
) -> None:
    caller = {"caller_name": NAME, "caller_phone": PHONE}
    at_a = await bureau.dispatched_incident("a", ("officer_a",), **caller)
    at_b = await bureau.dispatched_incident("b", ("officer_b",), **caller)
    # An incident at the agency's station (a diverted call's shape), officer_a sent.
    at_agency = await bureau.dispatched_incident("agency", ("officer_a",), **caller)
    for username in ("dispatcher", "supervisor", "admin"):
        for incident in (at_a, at_b, at_agency):
            assert await answers(bureau, username, incident["id"]) == everywhere(FULL), username
    assert await answers(bureau, "officer_a", at_a["id"]) == everywhere(FULL)
    assert await answers(bureau, "officer_a", at_agency["id"]) == everywhere(FULL)
    assert await answers(bureau, "officer_b", at_b["id"]) == everywhere(FULL)
    # The station's other officer, its chief, a grid worker, a mediator and an agency
    # person see the incident (their station's) but not who called.
    assert await answers(bureau, "officer_a2", at_a["id"]) == everywhere(MASKED)
    assert await answers(bureau, "chief_a", at_a["id"]) == everywhere(MASKED)
    assert await answers(bureau, "mediator_a", at_a["id"]) == everywhere(MASKED)
    assert await answers(bureau, "grid_b", at_b["id"]) == everywhere(MASKED)
    assert await answers(bureau, "agency_x", at_agency["id"]) == everywhere(MASKED)


async def test_an_incident_without_caller_data_stays_empty_for_everyone(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident("a", ("officer_a",))
    for username in ("dispatcher", "officer_a", "officer_a2"):
        assert await answers(bureau, username, incident["id"]) == everywhere(("", ""))


async def test_closing_masks_it_for_the_officer_in_every_answer_and_every_old_version(
    bureau: Bureau,
) -> None:
    incident = await bureau.dispatched_incident(
        "a", ("officer_a",), caller_name=NAME, caller_phone=PHONE
    )
    assert await answers(bureau, "officer_a", incident["id"]) == everywhere(FULL)
    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/close", json={"summary": "调解完毕"}
    )
    assert r.status_code == 200 and _caller(r.json()) == FULL
    # The pull replays the versions written while it was open: masked too.
    assert await answers(bureau, "officer_a", incident["id"]) == everywhere(MASKED, board=False)
    assert await answers(bureau, "dispatcher", incident["id"]) == everywhere(FULL, board=False)


async def test_cancelling_masks_it_too(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident(
        "a", ("officer_a",), caller_name=NAME, caller_phone=PHONE
    )
    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/cancel", json={"reason": "重复报警"}
    )
    assert r.status_code == 200
    assert await answers(bureau, "officer_a", incident["id"]) == everywhere(MASKED, board=False)


async def test_reassigning_away_masks_it_for_the_officer_and_shows_it_to_the_new_one(
    bureau: Bureau,
) -> None:
    incident = await bureau.dispatched_incident(
        "a", ("officer_a",), caller_name=NAME, caller_phone=PHONE
    )
    assert await answers(bureau, "officer_a", incident["id"]) == everywhere(FULL)
    assert await answers(bureau, "officer_a2", incident["id"]) == everywhere(MASKED)
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident['id']}/reassign",
        json={"station_id": bureau.stations["a"], "person_ids": [bureau.people["officer_a2"]]},
    )
    assert r.status_code == 200, r.text
    # officer_a still sees the incident (their station's) but no longer who called,
    # not even in the versions written while they were on it.
    assert await answers(bureau, "officer_a", incident["id"]) == everywhere(MASKED)
    assert await answers(bureau, "officer_a2", incident["id"]) == everywhere(FULL)


async def _reveals() -> list[dict[str, Any]]:
    return [
        {"actor": e.actor, "subject": e.subject, **json.loads(e.detail)}
        for e in await audit.recent(1000, audit.CALLER_DATA)
    ]


async def test_every_full_answer_is_audited_once_and_masked_ones_not_at_all(
    bureau: Bureau,
) -> None:
    first = await bureau.dispatched_incident(
        "a", ("officer_a",), caller_name=NAME, caller_phone=PHONE
    )
    second = await bureau.dispatched_incident("a", ("officer_a",), caller_phone=PHONE)
    silent = await bureau.dispatched_incident("a", ("officer_a",))  # no caller data
    both = sorted([first["id"], second["id"]])
    before = len(await _reveals())
    dispatcher, officer = bureau.people["dispatcher"], bureau.people["officer_a"]

    await bureau.call("dispatcher", "GET", f"/api/incidents/{first['id']}")
    await bureau.call("dispatcher", "GET", f"/api/incidents/{silent['id']}")
    await bureau.call("dispatcher", "GET", "/api/board")
    await bureau.call("officer_a", "GET", "/api/incidents")
    await bureau.call("officer_a", "GET", "/api/sync/pull")
    # Masked answers and answers without caller data (the board's rows) leave no row.
    await bureau.call("officer_a2", "GET", f"/api/incidents/{first['id']}")
    await bureau.call("officer_a2", "GET", "/api/board")
    await bureau.call("officer_a2", "GET", "/api/sync/pull")

    rows = (await _reveals())[before:]
    assert [(r["actor"], r["via"], r["incidents"]) for r in rows] == [
        (dispatcher, "get", [first["id"]]),
        (officer, "list", both),
        (officer, "pull", both),
    ]
    assert rows[0]["subject"] == first["id"] and rows[1]["subject"] is None
    # And the chain holds.
    assert audit.check([e async for e in audit.entries()]) is None


# ---------------------------------------------------------------------------------------
# Over a real WebSocket.


@pytest.fixture
def live(bureau: Bureau, tmp_path: Path) -> Iterator[str]:
    # A short poll: the incidents are written by the test's own app, another process,
    # whose pokes do not reach the live server on SQLite.
    env = {"QINGLING_LIVE_POLL_S": "0.2"}
    with live_server(TEST_DATABASE_URL, log=tmp_path / "server.log", env=env) as base:
        yield base


def _versions(changes: list[dict[str, Any]], incident_id: str) -> list[tuple[str, str]]:
    return [
        _caller(c["data"]) for c in changes if c["entity"] == "incident" and c["id"] == incident_id
    ]


async def _live_until(ws: Any, incident_id: str, status: str) -> list[tuple[str, str]]:
    """Live frames until the incident's record with `status` arrives; its versions seen."""
    seen: list[tuple[str, str]] = []
    while True:
        frame = await recv(ws, wait=10)
        assert frame["type"] == "changes"
        for c in frame["changes"]:
            if c["entity"] == "incident" and c["id"] == incident_id:
                seen.append(_caller(c["data"]))
                if c["data"]["status"] == status:
                    return seen


async def test_the_websocket_masks_live_and_in_catch_up(bureau: Bureau, live: str) -> None:
    sockets = {
        name: await connect(Device(live, name))
        for name in ("dispatcher", "officer_a", "officer_a2", "chief_a")
    }
    for ws in sockets.values():
        await catch_up(ws, None)
    incident = await bureau.dispatched_incident(
        "a", ("officer_a",), caller_name=NAME, caller_phone=PHONE
    )
    live_seen = {
        name: await _live_until(ws, incident["id"], "dispatched") for name, ws in sockets.items()
    }
    assert set(live_seen["dispatcher"]) == {FULL}
    assert live_seen["officer_a"][-1] == FULL
    assert set(live_seen["officer_a2"]) == {MASKED}
    assert set(live_seen["chief_a"]) == {MASKED}

    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/close", json={"summary": "完毕"}
    )
    assert r.status_code == 200
    assert await _live_until(sockets["officer_a"], incident["id"], "closed") == [MASKED]
    assert await _live_until(sockets["dispatcher"], incident["id"], "closed") == [FULL]
    # Closed with a caller phone: its callback is due, on the chief's callback list, whose
    # callers the chief sees in full (PROTOCOL §9, §12).
    assert await _live_until(sockets["chief_a"], incident["id"], "closed") == [FULL]
    for ws in sockets.values():
        await ws.close()

    # Catching up from scratch after the close replays every version, masked.
    officer = Device(live, "officer_a")
    ws = await connect(officer)
    changes, _, _ = await catch_up(ws, None)
    versions = _versions(changes, incident["id"])
    assert versions and set(versions) == {MASKED}
    await ws.close()
    ws = await connect(Device(live, "dispatcher"))
    changes, _, _ = await catch_up(ws, None)
    assert set(_versions(changes, incident["id"])) == {FULL}
    await ws.close()

    reveals = await _reveals()
    by_socket = [r for r in reveals if r["via"] == "socket"]
    people = {p for r in by_socket for p, _ in r.get("recipients", [])} | {
        r["actor"] for r in by_socket
    }
    assert bureau.people["officer_a"] in people and bureau.people["dispatcher"] in people
    assert bureau.people["officer_a2"] not in people
    assert bureau.people["chief_a"] in people  # the closed version only, above
    assert all(incident["id"] in r["incidents"] for r in by_socket)


async def test_a_reassigned_officer_gets_masked_versions_live(bureau: Bureau, live: str) -> None:
    incident = await bureau.dispatched_incident(
        "a", ("officer_a",), caller_name=NAME, caller_phone=PHONE
    )
    ws = await connect(Device(live, "officer_a"))
    changes, _, _ = await catch_up(ws, None)
    assert set(_versions(changes, incident["id"])) == {FULL}
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident['id']}/reassign",
        json={"station_id": bureau.stations["a"], "person_ids": [bureau.people["officer_a2"]]},
    )
    assert r.status_code == 200
    # The reassignment's record arrives masked; the replayed events beside it carry
    # nothing of the caller.
    seen: list[tuple[str, str]] = []
    while not seen:
        frame = await recv(ws, wait=10)
        seen = _versions(frame["changes"], incident["id"])
    assert seen == [MASKED]
    await ws.close()


async def test_a_grid_worker_and_an_agency_person_get_it_masked_live_and_in_catch_up(
    bureau: Bureau, live: str
) -> None:
    names = ("grid_b", "agency_x", "officer_b")
    sockets = {name: await connect(Device(live, name)) for name in names}
    for ws in sockets.values():
        await catch_up(ws, None)
    at_b = await bureau.dispatched_incident(
        "b", ("officer_b",), caller_name=NAME, caller_phone=PHONE
    )
    at_agency = await bureau.dispatched_incident(
        "agency", ("officer_a",), caller_name=NAME, caller_phone=PHONE
    )
    assert set(await _live_until(sockets["grid_b"], at_b["id"], "dispatched")) == {MASKED}
    assert set(await _live_until(sockets["agency_x"], at_agency["id"], "dispatched")) == {MASKED}
    assert (await _live_until(sockets["officer_b"], at_b["id"], "dispatched"))[-1] == FULL
    for ws in sockets.values():
        await ws.close()
    for name, incident in (("grid_b", at_b), ("agency_x", at_agency)):
        ws = await connect(Device(live, name))
        changes, _, _ = await catch_up(ws, None)
        assert set(_versions(changes, incident["id"])) == {MASKED}, name
        await ws.close()
