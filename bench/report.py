"""The monthly report in-process: `reports.build_report` timed on a database seeded once.

    .venv/bin/python -m bench.report --database-url sqlite:////tmp/r/bench.db --seed
    .venv/bin/python -m bench.report --database-url sqlite:////tmp/r/bench.db --runs 5

`--seed` fills the database (which must be new, and stays) with bench.command's month of
50,000 incidents and 10,000 open ones; the other runs read it and time the report for that
month (or `--kind quarterly|weekly`, the quarter or the month's second ISO week), printing
each build's wall and process CPU time (aiosqlite's thread included) and the time to
encode it as JSON and CSV. A database seeded by one tree can be read by another (A/B): give
that tree this branch's bench/command.py and bench/report.py and run it from its folder. `--dump FILE` writes the
last report (without `generated_at`) as sorted JSON, and FILE.csv, to compare trees.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import timedelta
from pathlib import Path

import msgspec

from bench.command import SHANGHAI_OFFSET, seed, settled_month
from bench.harness import bench_server, machine


async def time_report(database_url: str, kind: str, runs: int) -> tuple[dict, str]:
    from server.access.accounts import Caller
    from server.core import db
    from server.core.tables import Person
    from server.services import reports

    db.use(database_url)
    label, start, _ = settled_month()
    person = await Person.select().where(Person.username == "bench.dispatcher").first()
    caller = Caller(
        person["id"], person["name"], person["role"], None, person["bureau"], "bench-report"
    )
    local = start + SHANGHAI_OFFSET
    if kind == "quarterly":
        period = reports.parse_quarter(f"{local.year}-Q{(local.month - 1) // 3 + 1}")
    elif kind == "weekly":
        year, week, _ = (local + timedelta(days=8)).isocalendar()
        period = reports.parse_week(f"{year}-W{week:02d}")
    else:
        period = reports.parse_month(label)
    walls, cpus = [], []
    report: dict = {}
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        report = await reports.build_report(caller, period, None)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        started = time.perf_counter()
        body = msgspec.json.encode(report)
        encoded = time.perf_counter() - started
        started = time.perf_counter()
        csv = reports.report_csv(report, period.label)
        print(
            f"{kind} {period.label}: build {walls[-1]:.3f} s (CPU {cpus[-1]:.3f} s),"
            f" JSON {encoded:.3f} s ({len(body) / 1e6:.1f} MB),"
            f" CSV {time.perf_counter() - started:.3f} s ({len(csv) / 1e6:.1f} MB)"
        )
    print(
        f"median build {statistics.median(walls):.3f} s, best {min(walls):.3f} s;"
        f" CPU median {statistics.median(cpus):.3f} s over {runs} runs ({machine()};"
        f" load {os.getloadavg()[0]:.1f})"
    )
    return report, period.label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--kind", choices=("monthly", "quarterly", "weekly"), default="monthly")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dump")
    args = parser.parse_args()
    os.environ["QINGLING_DATABASE_URL"] = args.database_url
    os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")
    if args.seed:
        os.environ["QINGLING_BENCH_DATABASE_URL"] = args.database_url
        _, start, end = settled_month()
        with bench_server() as (bench, _station):
            print(asyncio.run(seed(bench.database_url, 10_000, 50_000, start, end)))
        return
    report, label = asyncio.run(time_report(args.database_url, args.kind, args.runs))
    if args.dump:
        from server.services.reports import report_csv

        report.pop("generated_at", None)
        Path(args.dump).write_bytes(msgspec.json.encode(report, order="sorted"))
        Path(args.dump + ".csv").write_bytes(report_csv(report, label))


if __name__ == "__main__":
    main()
