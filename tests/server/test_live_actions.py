"""Every kind of write reaches open sockets at once, not at the live hub's next poll.

The server runs with its safety-net poll turned off in effect (once an hour, for the feed
and for revoked devices), so only the announcement made when a write commits
(server/core/announce.py) can deliver these changes within the test's waits: incident
acts, pushes over HTTP and over the WebSocket, an SLA clock the scheduler turns overdue,
a resolved review item, a body-camera clip marked reviewed, and a revoked device."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import TEST_DATABASE_URL
from tests.live import ServerProcess
from tests.server.conftest import Bureau
from tests.server.phone import default_body
from tests.server.test_sync_ws import Device, catch_up, recv

NO_POLL = {"QINGLING_LIVE_POLL_S": "3600"}
WAIT_S = 10  # far below the hour-long poll


class Screen:
    """An open socket and every change it has been sent."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def until(self, what: str, match: Any) -> dict[str, Any]:
        """The first change (already seen or still to come) for which `match` holds."""
        while True:
            for change in self.seen:
                if match(change):
                    return change
            frame = await recv(self.ws, wait=WAIT_S)
            if frame["type"] == "changes":
                self.seen += frame["changes"]
            elif frame["type"] == "error":
                raise AssertionError(f"waiting for {what}: {frame}")


async def open_screen(device: Device) -> Screen:
    ws = await websockets.connect(device.ws_url)
    ws.token = device.token  # type: ignore[attr-defined]
    await catch_up(ws, None)
    return Screen(ws)


def incident_change(incident_id: str, **fields: Any):
    def match(c: dict[str, Any]) -> bool:
        return (
            c["entity"] == "incident"
            and c["id"] == incident_id
            and all(c["data"].get(k) == v for k, v in fields.items())
        )

    return match


@pytest.fixture
def server(bureau: Bureau, tmp_path: Path):
    s = ServerProcess(TEST_DATABASE_URL, log=tmp_path / "server.log", env=NO_POLL)
    try:
        yield s
    finally:
        s.stop()


async def test_every_kind_of_write_reaches_an_open_socket_without_the_poll(
    bureau: Bureau, server: ServerProcess
) -> None:
    officer = Device(server.url, "officer_a")
    desk = Device(server.url, "dispatcher")
    supervisor = Device(server.url, "supervisor")
    field = await open_screen(officer)
    command = await open_screen(supervisor)
    headers = {"Authorization": f"Bearer {desk.token}"}
    review_headers = {"Authorization": f"Bearer {supervisor.token}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        # Incident acts. The call came in 40 minutes ago and was dispatched 35 minutes ago
        # (back-entered), so its 10-minute arrival clock is already overdue: the scheduler
        # fires it as soon as the dispatch wakes it.
        received = datetime.now(UTC) - timedelta(minutes=40)
        r = await http.post(
            "/api/incidents",
            headers=headers,
            json={
                "category": "dispute",
                "area_type": "urban",
                "address": "人民路1号",
                "narrative": "纠纷",
                "received_at": received.isoformat(),
            },
        )
        assert r.status_code == 201, r.text
        incident = r.json()
        await command.until("a new call", incident_change(incident["id"], status="received"))
        r = await http.post(
            f"/api/incidents/{incident['id']}/dispatch",
            headers=headers,
            json={
                "station_id": bureau.stations["a"],
                "person_ids": [bureau.people["officer_a"]],
                "dispatched_at": (received + timedelta(minutes=5)).isoformat(),
            },
        )
        assert r.status_code == 200, r.text
        await field.until("the dispatch", incident_change(incident["id"], status="dispatched"))

        # The scheduler's firing.
        overdue = await command.until(
            "the arrival clock turned overdue",
            lambda c: (
                c["entity"] == "review"
                and c["data"]["kind"] == "overdue"
                and c["data"]["incident_id"] == incident["id"]
            ),
        )

        # Pushes, over HTTP and over the WebSocket.
        clip = officer.op("bodycam_ref", incident["id"], default_body("bodycam_ref"))
        assert officer.push_http([clip])["results"][0]["status"] == "applied"
        await command.until("a push over HTTP", lambda c: c["id"] == clip["op_id"])
        note = officer.op("note", incident["id"], {"text": "已到现场附近"})
        await field.ws.send(
            json.dumps(
                {
                    "type": "push",
                    "device_id": officer.device_id,
                    "sent_at": datetime.now(UTC).isoformat(),
                    "ops": [note],
                }
            )
        )
        await command.until("a push over the WebSocket", lambda c: c["id"] == note["op_id"])

        # Review desk: resolve the overdue item, mark the clip reviewed.
        r = await http.post(
            f"/api/reviews/{overdue['id']}/resolve",
            headers=review_headers,
            json={"note": "路远，已核实"},
        )
        assert r.status_code == 200, r.text
        await field.until(
            "the resolution",
            lambda c: (
                c["entity"] == "review"
                and c["id"] == overdue["id"]
                and c["data"]["state"] == "resolved"
            ),
        )
        r = await http.post(
            f"/api/bodycam/{clip['op_id']}/review", headers=review_headers, json={"note": "清晰"}
        )
        assert r.status_code == 200, r.text
        r = await http.get(f"/api/incidents/{incident['id']}", headers=headers)
        marked = [e for e in r.json()["timeline"] if e["type"] == "bodycam_reviewed"]
        assert marked, "the mark is an act on the incident"
        await field.until(
            "the clip marked reviewed", incident_change(incident["id"], version=r.json()["version"])
        )

        # Point-check, reassign, close; and a cancel of another call.
        r = await http.post(
            f"/api/incidents/{incident['id']}/point-check",
            headers=headers,
            json={"text": "报告位置"},
        )
        assert r.status_code == 200, r.text
        checked = r.json()["version"]
        await field.until("the point-check", incident_change(incident["id"], version=checked))
        r = await http.post(
            f"/api/incidents/{incident['id']}/reassign",
            headers=headers,
            json={
                "station_id": bureau.stations["a"],
                "person_ids": [bureau.people["officer_a"], bureau.people["officer_a2"]],
            },
        )
        assert r.status_code == 200, r.text
        await field.until(
            "the reassignment", incident_change(incident["id"], version=r.json()["version"])
        )
        r = await http.post(
            f"/api/incidents/{incident['id']}/close", headers=headers, json={"summary": "已调解"}
        )
        assert r.status_code == 200, r.text
        await field.until("the close", incident_change(incident["id"], status="closed"))
        r = await http.post(
            "/api/incidents",
            headers=headers,
            json={
                "category": "help",
                "area_type": "urban",
                "address": "x",
                "narrative": "重复报警",
            },
        )
        other = r.json()
        r = await http.post(
            f"/api/incidents/{other['id']}/cancel", headers=headers, json={"reason": "重复"}
        )
        assert r.status_code == 200, r.text
        await command.until("the cancel", incident_change(other["id"], status="cancelled"))

    # Revoking a phone (here by its owner) closes its socket with 4401 at once.
    assert officer.revoke(officer.device_id).status_code == 200
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await recv(field.ws, wait=WAIT_S)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    await command.ws.close()
