"""Ingest: HTTP push in batches of 100 from several devices at once, against the floor
of the same rows inserted straight into SQLite.

    .venv/bin/python -m bench.ingest [--devices 4] [--batches 10] [--spread 1]

`--spread N` spreads each batch over N incidents of the device's own (a phone back from a
long offline shift: `--devices 1 --spread 20`); the default, 1, is each device on its own
incident. `qingling_ingest()` is the figure alone, for benchmarks that put Qingling
beside other servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.harness import bench_server, machine, postgres_cpu_s
from server.core.engine import sqlite_path
from sync.ids import time_ordered_id
from tests.flood import cpu_s


def make_ops(incident_ids: str | list[str], start_seq: int, n: int) -> list[dict[str, object]]:
    """`n` notes from `start_seq` on, dealt round the incidents in turn."""
    now = datetime.now(UTC).isoformat()
    spread = [incident_ids] if isinstance(incident_ids, str) else incident_ids
    return [
        {
            "op_id": time_ordered_id(),
            "seq": start_seq + i,
            "type": "note",
            "incident_id": spread[i % len(spread)],
            "device_time": now,
            "clock_offset_ms": 0,
            "body": {"text": f"基准记录 {start_seq + i}"},
        }
        for i in range(n)
    ]


async def push_all(
    url: str, devices: list[dict[str, str]], incidents: list[str] | list[list[str]], batches: int
) -> float:
    """Seconds for every device to push its batches, one request at a time per device.

    Bodies are encoded before the clock starts: a phone encodes its own ops on its own
    CPU, and on this 2-core machine the client's encoding would otherwise be measured as
    the server's time."""
    encoded_ops = {
        d["device_id"]: [
            json.dumps(make_ops(incident_id, b * 100 + 1, 100), ensure_ascii=False).encode()
            for b in range(batches)
        ]
        for d, incident_id in zip(devices, incidents, strict=True)
    }

    async def device(d: dict[str, str]) -> None:
        async with httpx.AsyncClient(
            base_url=url,
            headers={
                "Authorization": f"Bearer {d['token']}",
                "Content-Type": "application/json",
            },
            timeout=120,
        ) as http:
            for ops in encoded_ops[d["device_id"]]:
                # sent_at is stamped as the request leaves, as a phone does.
                head = json.dumps(
                    {"device_id": d["device_id"], "sent_at": datetime.now(UTC).isoformat()}
                )
                body = head[:-1].encode() + b', "ops": ' + ops + b"}"
                r = await http.post("/api/sync/push", content=body)
                r.raise_for_status()
                if b'"rejected"' in r.content or b'"duplicate"' in r.content:
                    raise AssertionError(f"not every op was applied: {r.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(device(d) for d in devices))
    return time.perf_counter() - started


def sqlite_floor(total: int, batch: int = 100) -> float:
    """The same number of event-shaped rows, inserted with sqlite3 in transactions of 100."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "floor.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE event (op_id TEXT PRIMARY KEY, incident TEXT, device_id TEXT, person TEXT, seq INTEGER, "
            "type TEXT, body TEXT, content_hash TEXT, device_time TEXT, received_at TEXT, effective_time TEXT, flags TEXT)"
        )
        now = datetime.now(UTC).isoformat()
        rows = [
            (
                time_ordered_id(),
                "incident",
                "device",
                "person",
                i,
                "note",
                json.dumps({"text": f"基准记录 {i}"}),
                "h" * 64,
                now,
                now,
                now,
                "[]",
            )
            for i in range(total)
        ]
        started = time.perf_counter()
        for i in range(0, total, batch):
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO event VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows[i : i + batch]
            )
            db.execute("COMMIT")
        return time.perf_counter() - started


def schema_floor(database_path: str, incident_id: str, person_id: str, total: int) -> float:
    """The rows a push of `total` note ops writes (an event and a feed entry per op), straight
    into Qingling's own schema (its indexes and foreign keys) with sqlite3, in
    transactions of 100 ops: what is left once HTTP, validation and the fold are gone."""
    db = sqlite3.connect(database_path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = 1")
    bureau, station = db.execute(
        "SELECT bureau, station FROM incident WHERE id = ?", (incident_id,)
    ).fetchone()
    now = str(datetime.now(UTC))
    columns = (
        "op_id, incident, bureau, device_id, person, station, seq, type, body, content_hash,"
        " device_time, clock_offset_ms, sent_at, received_at, server_offset_ms, effective_time,"
        " flags, parents"
    )
    events = []
    changes = []
    for i in range(total):
        op_id = time_ordered_id()
        body = json.dumps({"text": f"基准记录 {i}"}, ensure_ascii=False)
        events.append(
            (op_id, incident_id, bureau, "floor-device", person_id, station, i + 1, "note", body)
            + ("h" * 64, now, 0, now, now, 0, now, "[]", "[]")
        )
        changes.append(
            ("event", op_id, bureau, station, incident_id, json.dumps({"op_id": op_id}), now)
        )
    started = time.perf_counter()
    for i in range(0, total, 100):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            f"INSERT INTO event ({columns}) VALUES ({', '.join('?' * 18)})", events[i : i + 100]
        )
        db.executemany(
            "INSERT INTO change (entity, entity_id, bureau, station, incident, data, committed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            changes[i : i + 100],
        )
        db.execute("COMMIT")
    seconds = time.perf_counter() - started
    db.close()
    return seconds


@dataclass
class IngestFigure:
    ops: int
    seconds: float
    # The schema floor (`schema_floor`) on the same database; None on PostgreSQL.
    schema_seconds: float | None
    # CPU the server process used while the devices pushed (its main process only).
    server_cpu_s: float | None = None
    # CPU this process (the devices' client) and PostgreSQL's processes used meanwhile.
    client_cpu_s: float = 0.0
    postgres_cpu_s: float = 0.0

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds


def qingling_ingest(devices: int = 4, batches: int = 10, spread: int = 1) -> IngestFigure:
    """Qingling's ingest figure: a fresh server (bench/harness.py), `devices` devices each
    pushing `batches` batches of 100 notes one after another, all devices at once, each
    batch spread over `spread` incidents of the device's own."""
    total = devices * batches * 100
    with bench_server() as (bench, station_id):
        officer = bench.login("bench.officer")
        made = bench.incidents(devices * spread, station_id, officer["person_id"])
        incidents = [made[i * spread : (i + 1) * spread] for i in range(devices)]
        phones = [bench.login("bench.officer", f"bench-{i}") for i in range(devices)]
        before = cpu_s(bench.pid), time.process_time(), postgres_cpu_s()
        seconds = asyncio.run(push_all(bench.url, phones, incidents, batches))
        after = cpu_s(bench.pid), time.process_time(), postgres_cpu_s()
        server_cpu, client_cpu, pg_cpu = (b - a for a, b in zip(before, after, strict=True))
        path = sqlite_path(bench.database_url)
        schema = schema_floor(path, made[0], officer["person_id"], total) if path else None
    return IngestFigure(total, seconds, schema, server_cpu, client_cpu, pg_cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--batches", type=int, default=10, help="batches of 100 ops per device")
    parser.add_argument("--spread", type=int, default=1, help="incidents each batch is spread over")
    args = parser.parse_args()
    figure = qingling_ingest(args.devices, args.batches, args.spread)
    total, seconds, schema = figure.ops, figure.seconds, figure.schema_seconds
    floor = sqlite_floor(total)
    print(f"machine: {machine()}")
    print(
        f"ingest over HTTP: {total} ops ({args.devices} devices x {args.batches} batches of 100"
        f" over {args.spread} incident(s) each) in {seconds:.2f} s = {total / seconds:,.0f} ops/s"
    )
    if figure.server_cpu_s is not None and int(os.environ.get("QINGLING_BENCH_WORKERS") or 1) == 1:
        # Steadier than the rate on a shared machine: what each op cost the server.
        cpu = figure.server_cpu_s
        print(
            f"server CPU while pushing: {cpu:.2f} s = {cpu / total * 1e6:,.0f} us an op"
            f" ({cpu / seconds:.0%} of a core)"
        )
    # The rest of the machine's CPU meanwhile: the devices' client shares its cores, and
    # on PostgreSQL a push's time is the server's and the database's one after the other
    # (docs/performance.md, session 18).
    client = figure.client_cpu_s
    print(
        f"client CPU (the {args.devices} devices, this process): {client:.2f} s ="
        f" {client / total * 1e6:,.0f} us an op ({client / seconds:.0%} of a core)"
    )
    if figure.postgres_cpu_s:
        pg = figure.postgres_cpu_s
        print(
            f"PostgreSQL CPU (its processes on this machine): {pg:.2f} s ="
            f" {pg / total * 1e6:,.0f} us an op ({pg / seconds:.0%} of a core)"
        )
    print(
        f"floor, sqlite3 straight, transactions of 100: {total} rows in {floor:.3f} s = {total / floor:,.0f} rows/s"
    )
    if schema is not None:
        print(
            f"floor, Qingling's schema (event + feed entry per op, indexes, foreign keys), transactions of 100 ops: {total} ops in {schema:.3f} s = {total / schema:,.0f} ops/s"
        )


if __name__ == "__main__":
    main()
