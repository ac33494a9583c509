"""The server's memory (RSS) with many open sockets, and with 10,000 open incidents.

    .venv/bin/python -m bench.memory [--sockets 1000] [--pushes 20] [--open 10000]

One fresh server (bench/harness.py). Prints its RSS (VmRSS of the server process, and
the peak VmHWM so far):
1. idle, after sign-ins;
2. with `--sockets` WebSockets open (a supervisor's: every change in scope, caller data
   in full), caught up;
3. after `--pushes` pushes of one note, each fanned out to every socket and read by all;
4. after those sockets closed;
5. after `--open` open incidents are seeded (bench/command.py's seed, no month) and
   GET /api/board is read three times as the dispatcher.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.command import seed
from bench.harness import bench_server, drain, machine, note_op, push, signed_in_sockets


def rss_mb(pid: int) -> tuple[float, float]:
    """The process's resident set and its peak, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def sockets_and_pushes(
    url: str, token: str, pusher: dict[str, str], incident_id: str, n: int, pushes: int, pid: int
) -> list[tuple[str, tuple[float, float]]]:
    sockets = await signed_in_sockets(url, [token], n)
    figures = [(f"{n} sockets open, caught up", rss_mb(pid))]
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {pusher['token']}"}, timeout=60
    ) as http:
        for seq in range(1, pushes + 1):
            await push(http, pusher["device_id"], [note_op(incident_id, seq, f"内存{seq}")])
            await drain(sockets)
    figures.append((f"{n} sockets, after {pushes} pushes fanned out to all", rss_mb(pid)))
    for ws in sockets:
        await ws.close()
    await asyncio.sleep(1)
    figures.append((f"{n} sockets closed", rss_mb(pid)))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--open", type=int, default=10_000, help="open incidents to seed")
    args = parser.parse_args()
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    with bench_server() as (bench, station_id):
        officer = bench.login("bench.officer")
        [incident_id] = bench.incidents(1, station_id, officer["person_id"])
        watcher = bench.login("bench.supervisor")["token"]
        pusher = bench.login("bench.officer", "memory-pusher")
        desk = bench.login("bench.dispatcher")["token"]
        figures = [("idle, after sign-ins", rss_mb(bench.pid))]
        figures += asyncio.run(
            sockets_and_pushes(
                bench.url, watcher, pusher, incident_id, args.sockets, args.pushes, bench.pid
            )
        )
        now = datetime.now(UTC)
        asyncio.run(seed(bench.database_url, args.open, 0, now - timedelta(days=30), now))
        size = 0
        with httpx.Client(
            base_url=bench.url, headers={"Authorization": f"Bearer {desk}"}, timeout=600
        ) as http:
            for _ in range(3):
                r = http.get("/api/board")
                r.raise_for_status()
                size = len(r.content)
        figures.append(
            (
                f"{args.open:,} open incidents seeded, board read 3 times ({size / 1e6:.1f} MB)",
                rss_mb(bench.pid),
            ),
        )
    for label, (rss, peak) in figures:
        print(f"server RSS {rss:6.0f} MB (peak so far {peak:6.0f} MB): {label}")


if __name__ == "__main__":
    main()
