"""`qingling simulate`: many field devices, offline for a while, reconnecting at once.

Each simulated device signs in, records its ops into its own outbox while "offline",
then every device opens its WebSocket at the same moment and pushes its outbox. Prints
how long it took until every op was answered, and checks that each was applied once.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import websockets

from sync.client import FieldClient, SyncError


@dataclass
class StormResult:
    devices: int
    ops: int
    applied: int
    duplicate: int
    rejected: int
    # From the moment every device reconnects: until the last op was answered, and until
    # the last device had closed its socket again (the close handshake waits for the
    # frames still on their way to it).
    seconds: float
    closed_seconds: float

    def report(self) -> str:
        rate = self.ops / self.seconds if self.seconds else float("inf")
        return (
            f"{self.devices} devices x {self.ops // max(self.devices, 1)} ops = {self.ops} ops: "
            f"all answered in {self.seconds:.2f} s ({rate:,.0f} ops/s), "
            f"every socket closed by {self.closed_seconds:.2f} s; "
            f"applied {self.applied}, duplicate {self.duplicate}, rejected {self.rejected}"
        )


async def _sign_in_all(
    url: str, username: str, password: str, devices: int, folder: Path
) -> list[FieldClient]:
    clients = [FieldClient(url, folder / f"device-{i}.db") for i in range(devices)]
    gate = asyncio.Semaphore(8)

    async def sign_in(i: int, client: FieldClient) -> None:
        async with gate:
            await client.login(username, password, label=f"simulated {i}")

    await asyncio.gather(*(sign_in(i, c) for i, c in enumerate(clients)))
    return clients


async def storm(
    url: str,
    username: str,
    password: str,
    incident_ids: list[str],
    *,
    devices: int,
    ops: int,
    folder: Path | None = None,
) -> StormResult:
    """Device n writes to incident_ids[n % len(incident_ids)]."""
    with tempfile.TemporaryDirectory(prefix="qingling-sim-") as tmp:
        where = folder or Path(tmp)
        clients = await _sign_in_all(url, username, password, devices, where)
        # Offline: every device queues its ops.
        for n, client in enumerate(clients):
            for i in range(ops):
                client.record(
                    "note", incident_ids[n % len(incident_ids)], {"text": f"设备{n} 离线记录{i}"}
                )
        # Devices that have synced before: they reconnect from the feed's head, not
        # from the beginning (one of them pulls to learn where that is).
        await clients[0].pull()
        head = clients[0].cursor
        ws_url = url.replace("http://", "ws://") + "/api/sync/ws"

        async def reconnect(client: FieldClient) -> None:
            # Like a phone: on a refused or dropped connection, back off and try again.
            while client.pending():
                try:
                    async with websockets.connect(
                        ws_url, max_size=None, open_timeout=120, ping_timeout=None
                    ) as ws:
                        await ws.send(
                            json.dumps({"type": "hello", "token": client.token, "cursor": head})
                        )
                        await ws.recv()  # welcome
                        await client.flush_over(ws)
                        answered.append(time.perf_counter())
                except (OSError, SyncError, websockets.ConnectionClosed, TimeoutError):
                    await asyncio.sleep(client.backoff.next_delay())

        answered: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(*(reconnect(c) for c in clients))
        closed = time.perf_counter() - started
        answers = [status for c in clients for _, status in c.answers]
        return StormResult(
            devices=devices,
            ops=devices * ops,
            applied=answers.count("applied"),
            duplicate=answers.count("duplicate"),
            rejected=answers.count("rejected"),
            seconds=max(answered, default=started) - started,
            closed_seconds=closed,
        )
