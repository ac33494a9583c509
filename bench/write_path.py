"""The write path alone: pushes handed to `push_ops` in this process, no HTTP, no second
process, so the CPU an op costs is measured without the client's share or the noise of
two processes on two cores.

    .venv/bin/python -m bench.write_path [--groups 1,2,4] [--rounds 50] [--repeat 3]

For each group size k, k devices (one officer's phones, each on its own incident) push a
batch of 100 notes each at the same moment, `--rounds` times; the k pushes queue
together and are committed as one transaction, as the server's group commit takes
pushes that arrive together. Printed per group size: the process's CPU an op (the event
loop and SQLite's connection thread together), and the wall-clock rate. Each repeat runs
on a fresh database (SQLite in a temporary folder; with QINGLING_BENCH_DATABASE_URL
the PostgreSQL database named there, which then grows from repeat to repeat).

`bench.ingest` is the end-to-end figure; this one is for telling a change to the write
path's CPU from the machine's swings, which on this 2-core machine move the end-to-end
rate by half within minutes (docs/performance.md, session 21).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from piccolo.engine.postgres import PostgresEngine

from bench.harness import machine
from bench.ingest import make_ops
from server.access.accounts import Caller
from server.core import db
from server.core.engine import PooledSQLiteEngine, start_pg_pool
from server.services import incidents
from server.services.admin import add_station, add_user, ensure_bureau
from server.write import ingest


@dataclass
class Figure:
    group: int
    ops: int
    cpu_s: float
    wall_s: float
    transactions: int

    @property
    def cpu_us_an_op(self) -> float:
        return self.cpu_s / self.ops * 1e6


async def _devices(k: int, run: int, spread: int) -> list[tuple[Caller, list[str]]]:
    """k phones of one officer, each with `spread` incidents of its own dispatched to
    them."""
    bureau_id = await ensure_bureau("基准分局")
    station = await add_station(f"基准派出所 {run}-{k}", "urban", bureau_id=bureau_id)
    desk_person = await add_user(
        username=f"bench.desk.{run}.{k}", password="bench-password-1", role="dispatcher"
    )
    officer = await add_user(
        username=f"bench.officer.{run}.{k}",
        password="bench-password-1",
        role="officer",
        station=station["id"],
    )
    desk = Caller(
        person_id=desk_person["id"],
        name="desk",
        role="dispatcher",
        station_id=None,
        bureau_id=bureau_id,
        device_id="bench-desk",
    )
    phones = []
    for i in range(k):
        ids = [await _incident(desk, station["id"], officer["id"]) for _ in range(spread)]
        device_id = f"bench-{run}-{k}-{i}"
        await db.fetch(
            "INSERT INTO device (id, person, label, token_hash, acked_seq)"
            " VALUES ({}, {}, '', {}, 0)",
            device_id,
            officer["id"],
            device_id,
        )
        caller = Caller(
            person_id=officer["id"],
            name="officer",
            role="officer",
            station_id=station["id"],
            bureau_id=bureau_id,
            device_id=device_id,
        )
        phones.append((caller, ids))
    return phones


async def _incident(desk: Caller, station_id: str, officer_id: str) -> str:
    made = await incidents.create_incident(
        desk,
        incidents.CreateIncident(
            category="dispute",
            area_type="urban",
            address="基准路 1 号",
            narrative="基准警情",
            caller_name="报警人",
            caller_phone="13800000000",
        ),
    )
    await incidents.dispatch_incident(
        desk, made.id, incidents.Dispatch(station_id=station_id, person_ids=[officer_id])
    )
    return made.id


async def _measure(k: int, rounds: int, run: int, spread: int) -> Figure:
    phones = await _devices(k, run, spread)
    # Encoded before the clock starts, as a phone encodes its own ops.
    batches = [
        [
            [msgspec.Raw(msgspec.json.encode(op)) for op in make_ops(ids, r * 100 + 1, 100)]
            for caller, ids in phones
        ]
        for r in range(rounds)
    ]
    transactions = 0
    commit = ingest._commit

    async def counted(group: list[ingest._Push]) -> None:
        nonlocal transactions
        transactions += 1
        await commit(group)

    ingest._commit = counted  # type: ignore[assignment]
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        for batch in batches:
            outcomes = await asyncio.gather(
                *(
                    ingest.push_ops(caller, caller.device_id, datetime.now(UTC), raw)
                    for (caller, _), raw in zip(phones, batch, strict=True)
                )
            )
            for outcome in outcomes:
                if any(r.status != "applied" for r in outcome.results):
                    raise SystemExit(f"an op was not applied: {outcome.results[:3]}")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        ingest._commit = commit  # type: ignore[method-assign]
    return Figure(k, k * rounds * 100, cpu, wall, transactions)


def _run(url: str, k: int, rounds: int, run: int, spread: int) -> Figure:
    db.use(url)

    async def main() -> Figure:
        await db.prepare()
        # As the server does once it has started (server/app.py).
        gc.collect()
        gc.freeze()
        gc.set_threshold(200_000, 50, 50)
        engine = db.engine()
        if isinstance(engine, PostgresEngine):
            await start_pg_pool(engine, 10)  # as the server keeps one (QINGLING_PG_POOL_SIZE)
        try:
            return await _measure(k, rounds, run, spread)
        finally:
            if isinstance(engine, PostgresEngine):
                await engine.close_connection_pool()
            elif isinstance(engine, PooledSQLiteEngine):
                await engine.close_idle()

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", default="1,2,4", help="pushes committed together")
    parser.add_argument("--rounds", type=int, default=50, help="transactions a measurement")
    parser.add_argument("--repeat", type=int, default=3, help="measurements a group size")
    parser.add_argument("--spread", type=int, default=1, help="incidents each batch is spread over")
    args = parser.parse_args()
    groups = [int(g) for g in args.groups.split(",")]
    pg_url = os.environ.get("QINGLING_BENCH_DATABASE_URL")
    print(f"machine: {machine()}")
    print(f"database: {'PostgreSQL' if pg_url else 'SQLite (a fresh file each measurement)'}")
    figures: dict[int, list[Figure]] = {k: [] for k in groups}
    with tempfile.TemporaryDirectory(prefix="qingling-write-path-") as tmp:
        for run in range(args.repeat):
            for k in groups:  # interleaved, so a slow minute touches every size alike
                url = pg_url or f"sqlite:///{Path(tmp) / f'{run}-{k}.db'}"
                figure = _run(url, k, args.rounds, run, args.spread)
                figures[k].append(figure)
                print(
                    f"  group of {k}: {figure.ops} ops in {figure.transactions} transactions,"
                    f" {figure.cpu_us_an_op:.1f} us CPU an op,"
                    f" {figure.ops / figure.wall_s:,.0f} ops/s",
                    flush=True,
                )
    for k, runs in figures.items():
        cpu = [f.cpu_us_an_op for f in runs]
        rate = [f.ops / f.wall_s for f in runs]
        print(
            f"group of {k}: CPU an op median {statistics.median(cpu):.1f} us"
            f" (min {min(cpu):.1f}, max {max(cpu):.1f}); rate median"
            f" {statistics.median(rate):,.0f} ops/s"
        )


if __name__ == "__main__":
    main()
