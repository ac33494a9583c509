"""A server to benchmark: a fresh database, a bureau with accounts, one process.

SQLite by default (a file in a temporary folder); QINGLING_BENCH_DATABASE_URL points the
benchmarks at PostgreSQL instead. QINGLING_BENCH_WORKERS=N (PostgreSQL only) runs the
server as `qingling serve --workers N` (docs/scale.md).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from sync.ids import time_ordered_id
from tests.flood import cpu_s
from tests.live import ROOT, ServerProcess

PASSWORD = "bench-password"


@dataclass
class Bench:
    url: str
    database_url: str
    folder: Path
    # The server process's id (for its memory and CPU, bench/login_flood.py).
    pid: int = 0

    def login(self, username: str, device_id: str | None = None) -> dict[str, str]:
        body: dict[str, object] = {"username": username, "password": PASSWORD}
        if device_id:
            body["device"] = {"id": device_id}
        r = httpx.post(f"{self.url}/api/auth/login", json=body, timeout=30)
        r.raise_for_status()
        return {
            "token": r.json()["token"],
            "device_id": r.json()["device_id"],
            "person_id": r.json()["person"]["id"],
        }

    def incidents(self, count: int, station_id: str, person_id: str) -> list[str]:
        desk = self.login("bench.dispatcher")
        headers = {"Authorization": f"Bearer {desk['token']}"}
        ids = []
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as http:
            for i in range(count):
                r = http.post(
                    "/api/incidents",
                    json={
                        "category": "dispute",
                        "area_type": "urban",
                        "address": f"测试路{i}号",
                        "narrative": "基准测试",
                        # Caller data, so answers carry it (masked or in full, and audited).
                        "caller_name": "王先生",
                        "caller_phone": f"1390000{i % 10000:04d}",
                    },
                )
                r.raise_for_status()
                incident_id = r.json()["id"]
                http.post(
                    f"/api/incidents/{incident_id}/dispatch",
                    json={"station_id": station_id, "person_ids": [person_id]},
                ).raise_for_status()
                ids.append(incident_id)
        return ids


# ---------------------------------------------------------------------------------------
# A bench's clients: sockets that follow the feed, and a signed-in phone that pushes.


def hello(token: str) -> str:
    """The first frame of a Qingling socket (PROTOCOL §5): sign in, follow from now."""
    return json.dumps({"type": "hello", "token": token, "cursor": None})


async def open_sockets(
    ws_url: str, n: int, first_frame: Callable[[int], str]
) -> list[ClientConnection]:
    """`n` WebSockets to `ws_url`, one after another, each sending `first_frame(i)` (on
    Qingling's `/api/sync/ws`: `hello` with the i-th socket's token)."""
    sockets = []
    for i in range(n):
        ws = await websockets.connect(ws_url, max_size=None, open_timeout=60, ping_interval=None)
        await ws.send(first_frame(i))
        sockets.append(ws)
    return sockets


async def drain(sockets: list[ClientConnection]) -> None:
    """Read every socket until it has been quiet for a second (caught up)."""

    async def quiet(ws: ClientConnection) -> None:
        while True:
            try:
                await asyncio.wait_for(ws.recv(), timeout=1.0)
            except TimeoutError:
                return

    await asyncio.gather(*(quiet(ws) for ws in sockets))


async def signed_in_sockets(url: str, tokens: list[str], n: int) -> list[ClientConnection]:
    """`n` sockets signed in to the server at `url` (the i-th with `tokens[i % len]`),
    caught up with the feed."""
    ws_url = url.replace("http://", "ws://") + "/api/sync/ws"
    sockets = await open_sockets(ws_url, n, lambda i: hello(tokens[i % len(tokens)]))
    await drain(sockets)
    return sockets


def note_op(incident_id: str, seq: int, text: str) -> dict[str, object]:
    """A field `note` on the incident, written now, with a fresh op id."""
    return {
        "op_id": time_ordered_id(),
        "seq": seq,
        "type": "note",
        "incident_id": incident_id,
        "device_time": datetime.now(UTC).isoformat(),
        "clock_offset_ms": 0,
        "body": {"text": text},
    }


async def push(http: httpx.AsyncClient, device_id: str, ops: list[dict[str, object]]) -> None:
    """POST /api/sync/push from the device, with `http` carrying its token; raises unless
    the server took it (2xx)."""
    r = await http.post(
        "/api/sync/push",
        json={"device_id": device_id, "sent_at": datetime.now(UTC).isoformat(), "ops": ops},
    )
    r.raise_for_status()


def _cli(database_url: str, *args: str, stdin: str | None = None) -> dict[str, object]:
    env = {**os.environ, "QINGLING_DATABASE_URL": database_url, "PICCOLO_CONF": "piccolo_conf"}
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        input=stdin,
    )
    return dict(json.loads(out.stdout))


@contextmanager
def bench_server(env: dict[str, str] | None = None) -> Iterator[tuple[Bench, str]]:
    """Yields the bench and the id of its station."""
    with tempfile.TemporaryDirectory(prefix="qingling-bench-") as tmp:
        folder = Path(tmp)
        database_url = (
            os.environ.get("QINGLING_BENCH_DATABASE_URL") or f"sqlite:///{folder}/bench.db"
        )
        station = _cli(database_url, "station", "add", "--name", "基准派出所", "--area", "urban")
        _cli(
            database_url,
            "user",
            "add",
            "--username",
            "bench.dispatcher",
            "--password-stdin",
            "--role",
            "dispatcher",
            stdin=PASSWORD + "\n",
        )
        _cli(
            database_url,
            "user",
            "add",
            "--username",
            "bench.supervisor",
            "--password-stdin",
            "--role",
            "supervisor",
            stdin=PASSWORD + "\n",
        )
        _cli(
            database_url,
            "user",
            "add",
            "--username",
            "bench.officer",
            "--password-stdin",
            "--role",
            "officer",
            "--station",
            str(station["id"]),
            stdin=PASSWORD + "\n",
        )
        # A second officer of the station, never assigned: sees its incidents, caller masked.
        _cli(
            database_url,
            "user",
            "add",
            "--username",
            "bench.officer2",
            "--password-stdin",
            "--role",
            "officer",
            "--station",
            str(station["id"]),
            stdin=PASSWORD + "\n",
        )
        workers = int(os.environ.get("QINGLING_BENCH_WORKERS") or 1)
        print(f"server: {workers} worker process{'es' if workers > 1 else ''}", flush=True)
        args = ("--workers", str(workers)) if workers > 1 else ()
        server = ServerProcess(
            database_url, *args, log=folder / "server.log", env=env, ready_s=60 * workers
        )
        try:
            if workers > 1:
                _wait_for_workers(database_url, workers, 60 * workers)
            yield Bench(server.url, database_url, folder, server.proc.pid), str(station["id"])
        finally:
            server.stop()


def _wait_for_workers(database_url: str, workers: int, within_s: float) -> None:
    """Until every worker has started: each one's live hub LISTENs on a connection of
    its own (/api/health answers as soon as the first one is up)."""

    async def listening() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND query ILIKE 'LISTEN%'"
                )
            )
        finally:
            await conn.close()

    deadline = time.monotonic() + within_s
    while asyncio.run(listening()) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not all {workers} workers started within {within_s:.0f} s")
        time.sleep(0.2)


def postgres_cpu_s() -> float:
    """CPU time, in seconds, used so far by this machine's PostgreSQL processes (the
    server and its backends, which Debian's cluster names `postgres: ...`); 0 when none
    runs here."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "cmdline").read_bytes().startswith(b"postgres"):
                total += cpu_s(int(entry.name))
        except OSError:  # it ended meanwhile
            continue
    return total


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


def nearest_rank(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank: the smallest value with at least q of the values
    at or below it (docs/reports.md uses the same definition)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
