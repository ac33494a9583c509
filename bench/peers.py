"""Ingest beside its peers, in one run: Qingling, pouchdb-server 4.x and the SQLite floor.

    .venv/bin/python -m bench.peers [--batches 20] [--spread 20] [--keep-npm DIR]

The shape is issue #14's: one device pushes batches of 100 notes one after another, each
batch spread over `--spread` incidents (a phone back from a long offline shift). The same
documents go to every server, encoded before the clock starts:

- Qingling: `POST /api/sync/push` (bench/harness.py's fresh server, SQLite unless
  QINGLING_BENCH_DATABASE_URL says otherwise).
- pouchdb-server 4.x, installed by this benchmark with npm into a temporary folder (not a
  project dependency; node from scripts/ensure-node.sh), run in memory (`--in-memory`),
  then on disk (LevelDB, its default; what a bureau would run): `POST /{db}/_bulk_docs`
  with the same 100 notes, each a document whose `_id` is the op id. The goal (issue
  #14) is against the in-memory run, the faster of the two.
- The floor: the same number of event-shaped rows inserted with `sqlite3` in
  transactions of 100 (bench/ingest.py's `sqlite_floor`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.harness import bench_server, machine
from bench.ingest import sqlite_floor
from sync.ids import time_ordered_id
from tests.live import free_port

POUCHDB_SERVER = "pouchdb-server@4"


def make_batches(incidents: list[str], batches: int) -> list[list[dict[str, object]]]:
    """`batches` batches of 100 notes, dealt round `incidents` in turn."""
    now = datetime.now(UTC).isoformat()
    return [
        [
            {
                "op_id": time_ordered_id(),
                "seq": b * 100 + i + 1,
                "type": "note",
                "incident_id": incidents[i % len(incidents)],
                "device_time": now,
                "clock_offset_ms": 0,
                "body": {"text": f"基准记录 {b * 100 + i + 1}"},
            }
            for i in range(100)
        ]
        for b in range(batches)
    ]


async def push_qingling(
    url: str, device: dict[str, str], batches: list[list[dict[str, object]]]
) -> float:
    """Seconds for one device to push every batch, one request after another."""
    encoded = [json.dumps(ops, ensure_ascii=False).encode() for ops in batches]
    async with httpx.AsyncClient(
        base_url=url,
        headers={"Authorization": f"Bearer {device['token']}", "Content-Type": "application/json"},
        timeout=120,
    ) as http:
        started = time.perf_counter()
        for ops in encoded:
            head = json.dumps(
                {"device_id": device["device_id"], "sent_at": datetime.now(UTC).isoformat()}
            )
            r = await http.post(
                "/api/sync/push", content=head[:-1].encode() + b', "ops": ' + ops + b"}"
            )
            r.raise_for_status()
            if b'"rejected"' in r.content or b'"duplicate"' in r.content:
                raise AssertionError(f"not every op was applied: {r.text[:300]}")
        return time.perf_counter() - started


async def push_pouchdb(url: str, batches: list[list[dict[str, object]]]) -> float:
    """Seconds for the same batches through `_bulk_docs`, one request after another."""
    encoded = [
        json.dumps(
            {"docs": [{"_id": op["op_id"], **op} for op in ops]}, ensure_ascii=False
        ).encode()
        for ops in batches
    ]
    async with httpx.AsyncClient(
        base_url=url, headers={"Content-Type": "application/json"}, timeout=120
    ) as http:
        (await http.put("/qingling")).raise_for_status()
        started = time.perf_counter()
        for body in encoded:
            r = await http.post("/qingling/_bulk_docs", content=body)
            r.raise_for_status()
            if any("error" in doc for doc in r.json()):
                raise AssertionError(f"not every document was stored: {r.text[:300]}")
        return time.perf_counter() - started


@contextmanager
def pouchdb_server(keep: Path | None = None, in_memory: bool = True) -> Iterator[str]:
    """pouchdb-server 4.x installed with npm into a temporary folder (or `keep`, reused
    if already there), run on a free port, in memory or on disk (LevelDB, its default,
    in a temporary folder); yields its URL."""
    with tempfile.TemporaryDirectory(prefix="qingling-pouchdb-") as tmp:
        folder = keep or Path(tmp)
        binary = folder / "node_modules" / "pouchdb-server" / "bin" / "pouchdb-server"
        if not binary.exists():
            npm = shutil.which("npm")
            if npm is None:
                raise SystemExit("npm not found: run scripts/ensure-node.sh")
            subprocess.run(
                [
                    npm,
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(folder),
                    POUCHDB_SERVER,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        port = free_port()
        where = ["--in-memory"] if in_memory else ["--dir", str(Path(tmp) / "data")]
        if not in_memory:
            (Path(tmp) / "data").mkdir()
        proc = subprocess.Popen(
            ["node", str(binary), *where, "--port", str(port), "--host", "127.0.0.1"],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            else:
                raise RuntimeError("pouchdb-server did not answer")
            yield url
        finally:
            proc.terminate()
            proc.wait(10)


def pouchdb_version(keep: Path | None) -> str:
    if keep is None:
        return "4.x"
    package = keep / "node_modules" / "pouchdb-server" / "package.json"
    return str(json.loads(package.read_text())["version"]) if package.exists() else "4.x"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=20, help="batches of 100 notes")
    parser.add_argument(
        "--spread", type=int, default=20, help="incidents each batch is spread over"
    )
    parser.add_argument(
        "--keep-npm",
        type=Path,
        help="install pouchdb-server here and reuse it (default: a temporary folder)",
    )
    args = parser.parse_args()
    total = args.batches * 100
    with bench_server() as (bench, station_id):
        officer = bench.login("bench.officer")
        incidents = bench.incidents(args.spread, station_id, officer["person_id"])
        device = bench.login("bench.officer", "bench-peer-device")
        batches = make_batches(incidents, args.batches)
        qingling = asyncio.run(push_qingling(bench.url, device, batches))
    with pouchdb_server(args.keep_npm) as url:
        version = httpx.get(url).json().get("version", "?")
        pouch = asyncio.run(push_pouchdb(url, batches))
    with pouchdb_server(args.keep_npm, in_memory=False) as url:
        pouch_disk = asyncio.run(push_pouchdb(url, batches))
    floor = sqlite_floor(total)
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    print(
        f"one device, {args.batches} batches of 100 notes one after another, each over {args.spread} incidents:"
    )
    print(
        f"  qingling, POST /api/sync/push:        {total / qingling:8,.0f} ops/s ({qingling:.2f} s)"
    )
    print(
        f"  pouchdb-server {version}, _bulk_docs, in memory: {total / pouch:8,.0f} docs/s ({pouch:.2f} s)"
    )
    print(
        f"  pouchdb-server {version}, _bulk_docs, on disk (LevelDB): {total / pouch_disk:8,.0f} docs/s ({pouch_disk:.2f} s)"
    )
    print(
        f"  floor, sqlite3 rows in transactions of 100: {total / floor:8,.0f} rows/s ({floor:.3f} s)"
    )
    print(
        f"  qingling / pouchdb-server in memory: {pouch / qingling:.2f}x (goal >= 3x); "
        f"on disk: {pouch_disk / qingling:.2f}x; "
        f"qingling / floor: {floor / qingling:.1%} (goal >= 50%)"
    )


if __name__ == "__main__":
    main()
