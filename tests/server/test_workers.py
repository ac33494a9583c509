"""`qingling serve --workers 2` on PostgreSQL: two server processes on one port.

Devices push concurrently, over HTTP and over WebSocket, to whichever worker accepts
their connection; sockets held by both workers listen. Every op must be applied exactly
once (a batch sent again is `duplicate` everywhere), every socket must receive every
change of its scope in feed order with no gap (the same positions, in the same order,
as a pull of the feed by the same device afterwards), and an overdue clock must open
one review item, not one per worker (only the leader fires: server/live/scheduler.py).

The hubs' polling safety net is turned down to once a minute, so changes committed by
the other worker can only arrive in time through LISTEN/NOTIFY.

On SQLite `--workers 2` is refused (one writer per file): the first test checks that;
the others need PostgreSQL, which CI's PostgreSQL suite provides.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets

from server.core import audit
from server.core.clock import ManualClock
from server.core.config import Settings
from server.core.tables import Change, Event, Meta, ReviewItem
from server.live.hub import KeptPublisherBackend
from server.live.scheduler import LEADER_LOCK_KEY, Leadership
from server.write.feed import spread
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
from tests.live import ROOT, ServerProcess
from tests.server.conftest import Bureau
from tests.server.test_sync_ws import Device

NEEDS_POSTGRES = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="needs PostgreSQL: --workers N runs only on PostgreSQL (SQLite refuses it, "
    "tested above); CI's PostgreSQL suite runs it",
)

# Everything the in-process app writes (incidents, dispatches) happens an hour ago, so
# every incident's 10-minute arrival clock is overdue the moment the workers see it.
AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def settings() -> Settings:
    # The test's own app must not fire clocks: only the workers' schedulers may.
    return Settings(
        database_url=TEST_DATABASE_URL,
        sla_scheduler=False,
        clock=ManualClock(AN_HOUR_AGO),
    )


def test_more_than_one_worker_on_sqlite_is_refused(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--workers", "2", "--port", "1"],
        cwd=ROOT,
        env={
            **os.environ,
            "QINGLING_DATABASE_URL": f"sqlite:///{tmp_path}/one.db",
            "PICCOLO_CONF": "piccolo_conf",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "--workers 2 needs PostgreSQL" in out.stderr
    assert not (tmp_path / "one.db").exists()  # refused before touching the database


@NEEDS_POSTGRES
async def test_one_leader_among_processes_and_a_successor_when_it_goes() -> None:
    first, second = Leadership(), Leadership()
    try:
        assert await first.held()
        assert not await second.held()
        assert await first.held()  # keeps it
        await first.release()  # its connection closes, as when its process dies
        assert await second.held()
        assert not await first.held()
    finally:
        await first.release()
        await second.release()


@NEEDS_POSTGRES
async def test_pokes_between_processes_go_on_one_kept_connection() -> None:
    """Every committed write pokes the other processes through NOTIFY (server/live/hub.py):
    the pokes go on one connection kept open, not a new one each (a new PostgreSQL
    process each), and still arrive after that connection has broken."""
    opened = 0

    async def connect() -> asyncpg.Connection:
        nonlocal opened
        opened += 1
        return await asyncpg.connect(TEST_DATABASE_URL)

    channel = "qingling_test_pokes"
    backend = KeptPublisherBackend(make_connection=connect)
    await backend.on_startup()
    try:
        await backend.subscribe([channel])
        heard = backend.stream_events()
        for i in range(5):
            await backend.publish(f"poke {i}".encode(), [channel])
        got = [await asyncio.wait_for(anext(heard), 10) for _ in range(5)]
        assert got == [(channel, f"poke {i}".encode()) for i in range(5)]
        assert opened == 2  # the listener's connection and the publisher's
        # The publisher's connection breaks (its server process is ended).
        assert backend._publisher is not None
        other = await asyncpg.connect(TEST_DATABASE_URL)
        try:
            pid = backend._publisher.get_server_pid()
            assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
            for _ in range(100):  # until that process has gone
                if not await other.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
                ):
                    break
                await asyncio.sleep(0.05)
        finally:
            await other.close()
        await backend.publish(b"after", [channel])
        assert await asyncio.wait_for(anext(heard), 10) == (channel, b"after")
        assert opened == 3
    finally:
        await backend.on_shutdown()


def sockets_by_worker(supervisor: int, port: int) -> dict[int, int]:
    """How many established connections to `port` each child of `supervisor` holds
    (from /proc: the kernel's TCP table and each process's file descriptors)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    on_port: set[str] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            on_port.add(fields[9])
    held: dict[int, int] = {}
    for child in map(int, children):
        count = 0
        for fd in Path(f"/proc/{child}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in on_port:
                count += 1
        held[child] = count
    return held


class Socket:
    """A device's sync WebSocket: a reader task keeps every change frame's changes (from
    the hello on, catch-up included) and hands push results to whoever pushed."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.changes: list[dict[str, Any]] = []
        self.results: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.ws: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.ws = await websockets.connect(self.device.ws_url, max_size=None)
        await self.ws.send(json.dumps({"type": "hello", "token": self.device.token}))
        welcome = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert welcome["type"] == "welcome", welcome
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            frame = json.loads(raw)
            if frame["type"] == "changes":
                self.changes.extend(frame["changes"])
            elif frame["type"] == "push_result":
                await self.results.put(frame)

    async def push(self, ops: list[dict[str, Any]]) -> dict[str, Any]:
        sent = {"type": "push", "sent_at": datetime.now(UTC).isoformat(), "ops": ops}
        await self.ws.send(json.dumps(sent))
        return await asyncio.wait_for(self.results.get(), 60)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.ws.close()


async def push_http(device: Device, ops: list[dict[str, Any]]) -> dict[str, Any]:
    # A new connection for every push, so the pushes spread over the workers.
    async with httpx.AsyncClient(timeout=60) as http:
        r = await http.post(
            f"{device.base}/api/sync/push",
            json={
                "device_id": device.device_id,
                "sent_at": datetime.now(UTC).isoformat(),
                "ops": ops,
            },
            headers={"Authorization": f"Bearer {device.token}"},
        )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def pull_all(device: Device) -> list[dict[str, Any]]:
    """The device's whole feed, as a pull gives it."""
    changes: list[dict[str, Any]] = []
    cursor = None
    async with httpx.AsyncClient(base_url=device.base, timeout=60) as http:
        while True:
            params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
            r = await http.get(
                "/api/sync/pull",
                params=params,
                headers={"Authorization": f"Bearer {device.token}"},
            )
            assert r.status_code == 200, r.text
            page = r.json()
            changes.extend(page["changes"])
            cursor = page["cursor"]
            if not page["more"]:
                return changes


def note(device: Device, incident_id: str, text: str) -> dict[str, Any]:
    return device.op("note", incident_id, {"text": text})


@NEEDS_POSTGRES
async def test_two_workers_apply_every_op_once_and_every_socket_sees_every_change_in_order(
    bureau: Bureau, tmp_path: Path
) -> None:
    incidents = {
        "a": [
            (await bureau.dispatched_incident("a", ("officer_a", "officer_a2")))["id"]
            for _ in range(3)
        ],
        "b": [(await bureau.dispatched_incident("b", ("officer_b",)))["id"] for _ in range(2)],
    }
    env = {"QINGLING_LIVE_POLL_S": "60", "QINGLING_PG_POOL_SIZE": "4"}
    server = ServerProcess(
        TEST_DATABASE_URL, "--workers", "2", log=tmp_path / "w.log", env=env, ready_s=180
    )
    sockets: list[Socket] = []
    try:
        # Listeners of every scope: the command center sees all, station officers their
        # station's. Opened until both workers hold some (the kernel picks the acceptor).
        listeners = ["dispatcher", "supervisor", "officer_a", "officer_a2", "officer_b", "chief_a"]
        while len(sockets) < 40:
            for username in listeners:
                socket = Socket(Device(server.url, username))
                await socket.open()
                sockets.append(socket)
            held = sockets_by_worker(server.proc.pid, server.port)
            if len(sockets) >= 12 and len([n for n in held.values() if n]) >= 2:
                break
        held = sockets_by_worker(server.proc.pid, server.port)
        assert len([n for n in held.values() if n]) == 2, f"one worker held every socket: {held}"

        # Pushers: three over HTTP, three over their own WebSocket (also listening).
        http_pushers = [
            (Device(server.url, "officer_a"), incidents["a"]),
            (Device(server.url, "officer_a2"), incidents["a"]),
            (Device(server.url, "officer_b"), incidents["b"]),
        ]
        ws_pushers: list[tuple[Socket, list[str]]] = []
        for username, station in (("officer_a", "a"), ("officer_a2", "a"), ("officer_b", "b")):
            socket = Socket(Device(server.url, username))
            await socket.open()
            sockets.append(socket)
            ws_pushers.append((socket, incidents[station]))
        batches, per_batch = 8, 5
        sent: list[str] = []
        statuses: list[str] = []

        async def by_http(device: Device, targets: list[str]) -> None:
            for b in range(batches):
                ops = [
                    note(device, targets[(b + i) % len(targets)], f"{b}.{i}")
                    for i in range(per_batch)
                ]
                sent.extend(o["op_id"] for o in ops)
                out = await push_http(device, ops)
                statuses.extend(r["status"] for r in out["results"])
                again = await push_http(device, ops) if b == 0 else None
                if again is not None:
                    assert {r["status"] for r in again["results"]} == {"duplicate"}

        async def by_socket(socket: Socket, targets: list[str]) -> None:
            device = socket.device
            for b in range(batches):
                ops = [
                    note(device, targets[(b + i) % len(targets)], f"{b}.{i}")
                    for i in range(per_batch)
                ]
                sent.extend(o["op_id"] for o in ops)
                out = await socket.push(ops)
                statuses.extend(r["status"] for r in out["results"])
                if b == 0:
                    again = await socket.push(ops)
                    assert {r["status"] for r in again["results"]} == {"duplicate"}

        async def a_late_overdue_incident() -> str:
            # Written by the test's own process (an hour ago by its clock): its hub's
            # NOTIFY wakes both workers' schedulers at once, mid-push.
            await asyncio.sleep(0.5)
            return str((await bureau.dispatched_incident("a", ("officer_a",)))["id"])

        results = await asyncio.gather(
            *(by_http(d, t) for d, t in http_pushers),
            *(by_socket(s, t) for s, t in ws_pushers),
            a_late_overdue_incident(),
        )
        late = results[-1]
        assert isinstance(late, str)
        assert len(sent) == len(set(sent)) == 6 * batches * per_batch
        assert statuses == ["applied"] * len(sent)

        # Exactly once in the store: each op one event row, and one change carrying it.
        events = await Event.select(Event.op_id).where(Event.op_id.is_in(sent))
        assert sorted(r["op_id"] for r in events) == sorted(sent)
        stored = await Change.raw(
            'SELECT pos, span, entity, entity_id, data FROM "change" WHERE entity = {}', "event"
        )
        carried = [c["entity_id"] for c in spread(stored, 0, max(r["pos"] for r in stored))]
        assert sorted(carried) == sorted(set(carried)) and set(carried) >= set(sent)

        # One overdue arrival item per incident, however many workers saw it due.
        every = [*incidents["a"], *incidents["b"], late]
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            items = await ReviewItem.select(ReviewItem.incident).where(
                (ReviewItem.kind == "overdue") & (ReviewItem.clock == "arrival")
            )
            fired = sorted(r["incident"] for r in items)
            if set(fired) >= set(every) or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # and no second one a moment later
        items = await ReviewItem.select(ReviewItem.incident).where(
            (ReviewItem.kind == "overdue") & (ReviewItem.clock == "arrival")
        )
        assert sorted(r["incident"] for r in items) == sorted(every)
        # Exactly one process holds the scheduler's leader lock.
        leaders = await Meta.raw(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objid = {} AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())",
            LEADER_LOCK_KEY,
        )
        assert leaders[0]["n"] == 1
        # Both workers appended audit rows (sign-ins, caller data sent): one chain still,
        # since each append reads the head under the feed's lock.
        chain = await audit.verify()
        assert chain.broken is None and chain.count > len(sockets)

        # Every socket: exactly the changes a pull by the same device gives, in the
        # same order (so none missing, none twice, no gap), whichever worker took them.
        for socket in sockets:
            expected = [(c["pos"], c["id"]) for c in await pull_all(socket.device)]
            last = expected[-1][0]
            deadline = asyncio.get_running_loop().time() + 30
            while asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110 - a poll
                if socket.changes and socket.changes[-1]["pos"] >= last:
                    break
                await asyncio.sleep(0.1)
            got = [(c["pos"], c["id"]) for c in socket.changes]
            # One scope change on purpose: the late incident was created before it was
            # dispatched to officer_a, so a socket of theirs open at its creation was
            # rightly not sent that first record, while a pull now (assigned) is.
            first_live = min((p for p, i in got if i == late), default=None)
            expected = [
                (p, i)
                for p, i in expected
                if i != late or (first_live is not None and p >= first_live)
            ]
            assert got == expected, socket.device.device_id
            if socket.device.device_id.startswith(("dispatcher", "supervisor")):
                assert {i for _, i in got} >= set(sent)  # the command center sees all
    finally:
        for socket in sockets:
            try:
                await socket.close()
            except Exception:  # noqa: BLE001 - closing what may already be gone
                pass
        server.stop()
