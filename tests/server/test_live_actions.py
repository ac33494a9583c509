"""Command-center acts reach open sockets at once, not at the live hub's next poll.

The hub's safety-net poll is turned down to once a minute, so only a poke after the
write can deliver a dispatch to a socket within the test's wait limit."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import websockets

from tests.conftest import TEST_DATABASE_URL
from tests.live import ServerProcess
from tests.server.conftest import Bureau
from tests.server.test_sync_ws import Device, catch_up, recv


async def test_a_dispatch_reaches_the_officers_socket_without_waiting_for_the_poll(
    bureau: Bureau, tmp_path: Path
) -> None:
    server = ServerProcess(
        TEST_DATABASE_URL, log=tmp_path / "server.log", env={"QINGLING_LIVE_POLL_S": "60"}
    )
    try:
        officer = Device(server.url, "officer_a")
        desk = Device(server.url, "dispatcher")
        headers = {"Authorization": f"Bearer {desk.token}"}
        ws = await websockets.connect(officer.ws_url)
        ws.token = officer.token  # type: ignore[attr-defined]
        await catch_up(ws, None)
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as http:
            r = await http.post(
                "/api/incidents",
                json={
                    "category": "dispute",
                    "area_type": "urban",
                    "address": "人民路1号",
                    "narrative": "纠纷",
                },
            )
            assert r.status_code == 201, r.text
            incident = r.json()
            r = await http.post(
                f"/api/incidents/{incident['id']}/dispatch",
                json={
                    "station_id": bureau.stations["a"],
                    "person_ids": [bureau.people["officer_a"]],
                },
            )
            assert r.status_code == 200, r.text
        seen: list[dict] = []
        while not any(
            c["entity"] == "incident" and c["data"]["status"] == "dispatched" for c in seen
        ):
            frame = await recv(ws, wait=10)  # far below the 60 s poll
            if frame["type"] == "changes":
                seen += [c for c in frame["changes"] if c["id"] == incident["id"]]
        assert json.dumps(seen, ensure_ascii=False).count(incident["number"]) >= 1
        await ws.close()
    finally:
        server.stop()
