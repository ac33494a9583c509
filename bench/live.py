"""Live push latency: from a committed push to the last of N WebSocket subscribers.

    .venv/bin/python -m bench.live [--subscribers 100 1000] [--pushes 30] [--unassigned 0.5]

Each round pushes one op over HTTP; the clock starts when the push request is sent and
stops, per subscriber, when its `changes` frame holding that op arrives. A round's figure
is the slowest subscriber's; p50/p99 are over the rounds (nearest rank).

The incident carries caller data. The watchers are a supervisor's sockets (caller data in
full, so each round also writes an audit row); with `--unassigned F`, that fraction of
them are an officer of the station who is not assigned (caller data masked), so the hub
shares two encodings per round instead of one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import httpx
import websockets

from bench.harness import bench_server, machine, nearest_rank


async def run(
    url: str,
    tokens: list[str],
    pusher: dict[str, str],
    incident_id: str,
    n: int,
    pushes: int,
) -> list[float]:
    ws_url = url.replace("http://", "ws://") + "/api/sync/ws"
    sockets = []
    for i in range(n):
        ws = await websockets.connect(ws_url, max_size=None, open_timeout=60, ping_interval=None)
        token = tokens[i % len(tokens)]
        await ws.send(json.dumps({"type": "hello", "token": token, "cursor": None}))
        sockets.append(ws)

    async def drain_catch_up(ws: websockets.ClientConnection) -> None:
        await ws.recv()  # welcome
        while True:
            try:
                await asyncio.wait_for(ws.recv(), timeout=1.0)
            except TimeoutError:
                return

    await asyncio.gather(*(drain_catch_up(ws) for ws in sockets))

    async def wait_for(ws: websockets.ClientConnection, op_id: str) -> float:
        # A substring test, not a JSON parse: on this 2-core machine the benchmark's own
        # thousand sockets share the CPU with the server, and parsing every frame here
        # would be measured as server latency. The op_id is a fresh UUID: it appears only
        # in the changes that carry this op.
        while True:
            frame = await ws.recv()
            if op_id in frame:
                return time.perf_counter()

    rounds: list[float] = []
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {pusher['token']}"}
    ) as http:
        for seq in range(1, pushes + 1):
            op = {
                "op_id": str(uuid.uuid4()),
                "seq": seq,
                "type": "note",
                "incident_id": incident_id,
                "device_time": datetime.now(UTC).isoformat(),
                "clock_offset_ms": 0,
                "body": {"text": f"实时{seq}"},
            }
            waiters = [asyncio.create_task(wait_for(ws, op["op_id"])) for ws in sockets]
            started = time.perf_counter()
            r = await http.post(
                "/api/sync/push",
                json={
                    "device_id": pusher["device_id"],
                    "sent_at": datetime.now(UTC).isoformat(),
                    "ops": [op],
                },
            )
            r.raise_for_status()
            arrived = await asyncio.wait_for(asyncio.gather(*waiters), timeout=60)
            rounds.append((max(arrived) - started) * 1000)
            await asyncio.sleep(0.05)
    for ws in sockets:
        await ws.close()
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--pushes", type=int, default=30)
    parser.add_argument(
        "--unassigned",
        type=float,
        default=0.0,
        help="fraction of the sockets that are an unassigned officer (caller data masked)",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with bench_server() as (bench, station_id):
        officer = bench.login("bench.officer")
        [incident_id] = bench.incidents(1, station_id, officer["person_id"])
        watcher = bench.login("bench.supervisor")["token"]
        bystander = bench.login("bench.officer2")["token"]
        for n in args.subscribers:
            pusher = bench.login("bench.officer", f"live-pusher-{uuid.uuid4().hex[:6]}")
            masked = round(n * args.unassigned)
            tokens = [bystander] * masked + [watcher] * (n - masked)
            rounds = asyncio.run(run(bench.url, tokens, pusher, incident_id, n, args.pushes))
            print(
                f"live push to the last of {n} subscribers ({masked} masked), {len(rounds)} rounds: "
                f"p50 {nearest_rank(rounds, 0.5):.0f} ms, p99 {nearest_rank(rounds, 0.99):.0f} ms, max {max(rounds):.0f} ms"
            )


if __name__ == "__main__":
    main()
