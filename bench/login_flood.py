"""A flood of sign-ins (PROTOCOL §12): memory, the flood's answers, and a signed-in
phone's pushes during it.

    .venv/bin/python -m bench.login_flood [--clients 100] [--seconds 15]

`--clients` clients sign in as fast as they are answered, with random usernames, each
request from a random forwarded address (the server trusts 127.0.0.1 as its proxy), so
no per-address limit helps and the bounded hashing pool must. Meanwhile a signed-in
officer pushes a note every 0.25 s. Prints the server's RSS, the answers and their
latency, the pushes' latency, and the CPU used by the server and by this client.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

import httpx

from bench.harness import bench_server, machine, note_op, push
from tests.flood import Flood, cpu_s, pct, rss_mb


async def flood(
    url: str, pid: int, token: str, device_id: str, incident_id: str, args: argparse.Namespace
) -> None:
    baseline = peak = rss_mb(pid)
    pushes: list[float] = []
    before = resource.getrusage(resource.RUSAGE_SELF)
    server_before, started = cpu_s(pid), time.monotonic()
    seq = 0
    phone = httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    async with Flood(url, clients=args.clients) as load, phone as http:
        while time.monotonic() < started + args.seconds:
            seq += 1
            op = note_op(incident_id, seq, "flood")
            t0 = time.monotonic()
            await push(http, device_id, [op])
            pushes.append(time.monotonic() - t0)
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.25)
    after = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic() - started
    client_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"flood of {args.clients} clients for {args.seconds} s: {load.report()}")
    print(f"server RSS {baseline:.0f} MB before, peak {peak:.0f} MB")
    print(
        f"{len(pushes)} signed-in pushes: p50 {pct(pushes, 0.5):.3f} s, "
        f"p95 {pct(pushes, 0.95):.3f} s, max {max(pushes):.3f} s"
    )
    print(
        f"CPU in {wall:.1f} s: server {cpu_s(pid) - server_before:.1f} s, "
        f"this client {client_cpu:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with bench_server(env={"QINGLING_TRUSTED_PROXIES": "127.0.0.1"}) as (bench, station_id):
        officer = bench.login("bench.officer")
        incident_id = bench.incidents(1, station_id, officer["person_id"])[0]
        asyncio.run(
            flood(bench.url, bench.pid, officer["token"], officer["device_id"], incident_id, args)
        )


if __name__ == "__main__":
    main()
