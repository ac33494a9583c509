"""Ingest: HTTP push in batches of 100 from several devices at once, against the floor
of the same rows inserted straight into SQLite.

    .venv/bin/python -m bench.ingest [--devices 4] [--batches 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.harness import bench_server, machine


def make_ops(incident_id: str, start_seq: int, n: int) -> list[dict[str, object]]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "op_id": str(uuid.uuid4()),
            "seq": start_seq + i,
            "type": "note",
            "incident_id": incident_id,
            "device_time": now,
            "clock_offset_ms": 0,
            "body": {"text": f"基准记录 {start_seq + i}"},
        }
        for i in range(n)
    ]


async def push_all(
    url: str, devices: list[dict[str, str]], incidents: list[str], batches: int
) -> float:
    async def device(d: dict[str, str], incident_id: str) -> None:
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {d['token']}"}, timeout=120
        ) as http:
            for b in range(batches):
                ops = make_ops(incident_id, b * 100 + 1, 100)
                r = await http.post(
                    "/api/sync/push",
                    json={
                        "device_id": d["device_id"],
                        "sent_at": datetime.now(UTC).isoformat(),
                        "ops": ops,
                    },
                )
                r.raise_for_status()
                assert all(x["status"] == "applied" for x in r.json()["results"])

    started = time.perf_counter()
    await asyncio.gather(*(device(d, i) for d, i in zip(devices, incidents, strict=True)))
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
                str(uuid.uuid4()),
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--batches", type=int, default=10, help="batches of 100 ops per device")
    args = parser.parse_args()
    total = args.devices * args.batches * 100
    with bench_server() as (bench, station_id):
        officer = bench.login("bench.officer")
        incidents = bench.incidents(args.devices, station_id, officer["person_id"])
        devices = [bench.login("bench.officer", f"bench-{i}") for i in range(args.devices)]
        seconds = asyncio.run(push_all(bench.url, devices, incidents, args.batches))
    floor = sqlite_floor(total)
    print(f"machine: {machine()}")
    print(
        f"ingest over HTTP: {total} ops ({args.devices} devices x {args.batches} batches of 100) in {seconds:.2f} s = {total / seconds:,.0f} ops/s"
    )
    print(
        f"floor, sqlite3 straight, transactions of 100: {total} rows in {floor:.3f} s = {total / floor:,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
