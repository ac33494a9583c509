"""Two server processes on one database: a push handled by one reaches a WebSocket held
by the other. On PostgreSQL the poke travels by LISTEN/NOTIFY, so the test turns the
hubs' polling safety net down to once a minute: only the notification can deliver in
time. On SQLite (one machine, separate processes) the poll is what carries it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import websockets

from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
from tests.live import ServerProcess
from tests.server.conftest import Bureau
from tests.server.test_sync_ws import Device, catch_up, recv


async def test_a_push_on_one_process_reaches_a_socket_on_the_other(
    bureau: Bureau, tmp_path: Path
) -> None:
    incident = await bureau.dispatched_incident()
    env = {"QINGLING_LIVE_POLL_S": "60" if ON_POSTGRES else "0.2"}
    one = ServerProcess(TEST_DATABASE_URL, log=tmp_path / "one.log", env=env)
    two = ServerProcess(TEST_DATABASE_URL, log=tmp_path / "two.log", env=env)
    try:
        listener = Device(one.url, "officer_a2")
        ws = await websockets.connect(listener.ws_url)
        ws.token = listener.token  # type: ignore[attr-defined]
        await catch_up(ws, None)
        await asyncio.sleep(0.3)  # let process one's hub settle on the head
        pusher = Device(two.url, "officer_a")
        op = pusher.op("arrival", incident["id"], {"lat": None, "lon": None, "accuracy_m": None})
        op["device_time"] = datetime.now(UTC).isoformat()
        started = time.monotonic()
        pusher.push_http([op])
        seen: set[str] = set()
        while op["op_id"] not in seen:
            frame = await recv(ws, wait=10)
            if frame["type"] == "changes":
                seen |= {c["id"] for c in frame["changes"]}
        elapsed = time.monotonic() - started
        # Not a speed assertion: with polling at 60 s, anything under it is a notification.
        assert elapsed < 30, f"took {elapsed:.1f} s: the poke did not cross processes"
        await ws.close()
    finally:
        one.stop()
        two.stop()
