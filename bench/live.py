"""Live push latency: from a committed push to the last of N WebSocket subscribers.

    .venv/bin/python -m bench.live [--subscribers 100 1000] [--pushes 30] [--unassigned 0.5]
        [--deflate on|off|both]

Each round pushes one op over HTTP; the clock starts when the push request is sent and
stops, per subscriber, when its `changes` frame holding that op arrives. A round's figure
is the slowest subscriber's; p50/p99 are over the rounds (nearest rank).

The incident carries caller data. The watchers are a supervisor's sockets (caller data in
full, so each round also writes an audit row); with `--unassigned F`, that fraction of
them are an officer of the station who is not assigned (caller data masked), so the hub
shares two encodings per round instead of one.

The peer, in the same run: a bare `websockets` broadcast server (bench/bare_ws.py, its
own process like Qingling's) sends a copy of the `changes` frame Qingling sent (a fresh
op id each round) to as many sockets; its clock starts when the bench asks it to send.
Both servers use per-message deflate or neither (`--deflate`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from bench.harness import (
    bench_server,
    machine,
    nearest_rank,
    note_op,
    open_sockets,
    push,
    signed_in_sockets,
)
from tests.live import ROOT, free_port


async def _round(
    sockets: list[ClientConnection], marker: str, send: Callable[[], Awaitable[None]]
) -> tuple[float, str]:
    """Milliseconds from just before `send` to the last socket receiving a frame holding
    `marker`, and that frame as the first socket received it."""

    async def wait_for(ws: ClientConnection) -> tuple[float, str]:
        # A substring test, not a JSON parse: on this 2-core machine the benchmark's own
        # thousand sockets share the CPU with the server, and parsing every frame here
        # would be measured as server latency. The marker is a fresh UUID: it appears only
        # in the frame that carries this round's op.
        while True:
            frame = await ws.recv()
            if marker in frame:
                return time.perf_counter(), str(frame)

    waiters = [asyncio.create_task(wait_for(ws)) for ws in sockets]
    started = time.perf_counter()
    await send()
    arrived = await asyncio.wait_for(asyncio.gather(*waiters), timeout=60)
    return (max(t for t, _ in arrived) - started) * 1000, arrived[0][1]


async def run(
    url: str,
    tokens: list[str],
    pusher: dict[str, str],
    incident_id: str,
    n: int,
    pushes: int,
) -> tuple[list[float], str, str]:
    """Qingling: the rounds (ms), a `changes` frame as sent and the op id it carries."""
    sockets = await signed_in_sockets(url, tokens, n)
    rounds: list[float] = []
    frame = op_id = ""
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {pusher['token']}"}
    ) as http:
        for seq in range(1, pushes + 1):
            op = note_op(incident_id, seq, f"实时{seq}")

            async def send(op: dict[str, object] = op) -> None:
                await push(http, pusher["device_id"], [op])

            ms, frame = await _round(sockets, str(op["op_id"]), send)
            op_id = str(op["op_id"])
            rounds.append(ms)
            await asyncio.sleep(0.05)
    for ws in sockets:
        await ws.close()
    return rounds, frame, op_id


async def run_bare(port: int, n: int, pushes: int, frame: str, op_id: str) -> list[float]:
    """The peer: the same frame (a fresh op id each round) broadcast by bench/bare_ws.py
    to n sockets; the clock starts when the control message is sent."""
    url = f"ws://127.0.0.1:{port}"
    sockets = await open_sockets(url, n, lambda i: "listen")
    control = await websockets.connect(url, max_size=None, ping_interval=None)
    await control.send("control")
    await asyncio.sleep(0.5)  # the server has registered every listener
    rounds: list[float] = []
    for _ in range(pushes):
        marker = str(uuid.uuid4())

        async def send(marker: str = marker) -> None:
            await control.send(frame.replace(op_id, marker))

        ms, _ = await _round(sockets, marker, send)
        rounds.append(ms)
        await asyncio.sleep(0.05)
    for ws in [*sockets, control]:
        await ws.close()
    return rounds


@contextmanager
def bare_server(compression: bool) -> Iterator[int]:
    port = free_port()
    args = [] if compression else ["--no-compression"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_ws", "--port", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _figures(rounds: list[float]) -> tuple[float, float]:
    return nearest_rank(rounds, 0.5), nearest_rank(rounds, 0.99)


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
    parser.add_argument(
        "--deflate",
        choices=["on", "off", "both"],
        default="on",
        help="per-message deflate on Qingling's server and the bare one (on: the default)",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    for deflate in [True, False] if args.deflate == "both" else [args.deflate == "on"]:
        env = {"QINGLING_WS_COMPRESSION": "1" if deflate else "0"}
        with bench_server(env) as (bench, station_id):
            officer = bench.login("bench.officer")
            [incident_id] = bench.incidents(1, station_id, officer["person_id"])
            watcher = bench.login("bench.supervisor")["token"]
            bystander = bench.login("bench.officer2")["token"]
            for n in args.subscribers:
                pusher = bench.login("bench.officer", f"live-pusher-{uuid.uuid4().hex[:6]}")
                masked = round(n * args.unassigned)
                tokens = [bystander] * masked + [watcher] * (n - masked)
                rounds, frame, op_id = asyncio.run(
                    run(bench.url, tokens, pusher, incident_id, n, args.pushes)
                )
                with bare_server(deflate) as port:
                    bare = asyncio.run(run_bare(port, n, args.pushes, frame, op_id))
                q50, q99 = _figures(rounds)
                b50, b99 = _figures(bare)
                print(
                    f"live push to the last of {n} subscribers ({masked} masked), "
                    f"deflate {'on' if deflate else 'off'}, {len(rounds)} rounds, "
                    f"frame {len(frame.encode())} bytes, load {os.getloadavg()[0]:.1f}:\n"
                    f"  qingling           p50 {q50:.0f} ms, p99 {q99:.0f} ms, max {max(rounds):.0f} ms\n"
                    f"  bare websockets    p50 {b50:.0f} ms, p99 {b99:.0f} ms, max {max(bare):.0f} ms\n"
                    f"  ratio (qingling / bare): p50 {q50 / b50:.2f}x, p99 {q99 / b99:.2f}x"
                )


if __name__ == "__main__":
    main()
