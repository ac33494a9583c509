"""Load against a live server: a flood of sign-ins, and the process's memory and CPU.

Used by tests/server/test_login_flood.py and bench/login_flood.py. Every request goes to
the server's loopback address, and every loop is bounded in time.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def cpu_s(pid: int) -> float:
    """User and system CPU time the process has used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


class Flood:
    """`clients` unauthenticated clients signing in as fast as they are answered, with
    random usernames, until stopped. Each request names its client address in
    X-Forwarded-For (the server must trust 127.0.0.1 as its proxy): `address`, or a
    random one each time. Records every answer's status and latency."""

    def __init__(self, url: str, clients: int, address: str | None = None) -> None:
        self.url = url
        self.clients = clients
        self.address = address
        self.statuses: Counter[int] = Counter()
        self.latencies: list[float] = []
        self.by_status: dict[int, list[float]] = {}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._http: httpx.AsyncClient | None = None

    def forwarded(self) -> str:
        if self.address is not None:
            return self.address
        return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"

    async def _client(self, http: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + 120  # bounded even if never stopped
        while not self._stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                r = await http.post(
                    f"{self.url}/api/auth/login",
                    json={"username": uuid.uuid4().hex[:12], "password": "guess-guess"},
                    headers={"X-Forwarded-For": self.forwarded()},
                )
                self.statuses[r.status_code] += 1
                self.by_status.setdefault(r.status_code, []).append(time.monotonic() - started)
            except httpx.HTTPError as exc:
                self.statuses[type(exc).__name__] += 1  # type: ignore[index]
            self.latencies.append(time.monotonic() - started)

    async def __aenter__(self) -> Flood:
        limits = httpx.Limits(max_connections=self.clients, max_keepalive_connections=self.clients)
        self._http = httpx.AsyncClient(timeout=30, limits=limits)
        self._tasks = [asyncio.create_task(self._client(self._http)) for _ in range(self.clients)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        assert self._http is not None
        await self._http.aclose()

    def report(self) -> str:
        each = ", ".join(
            f"{status}: p50 {pct(times, 0.5):.2f} s, p95 {pct(times, 0.95):.2f} s"
            for status, times in sorted(self.by_status.items())
        )
        return (
            f"{sum(self.statuses.values())} sign-ins answered {dict(self.statuses)}; "
            f"latency p50 {pct(self.latencies, 0.5):.2f} s, p95 {pct(self.latencies, 0.95):.2f} s, "
            f"max {max(self.latencies):.2f} s ({each})"
        )
