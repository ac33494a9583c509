"""A browser test's set-up, before and after the demo snapshot (tests/demo_snapshot.py):
empty the database, then start `qingling serve --demo` until /api/health answers.

  before: empty as the suite did (TRUNCATE on PostgreSQL), the server seeds the demo
  after:  empty as the suite does now (DELETE), copy the snapshot in, the server seeds nothing

Rounds alternate before/after so both see the same load. The database is the suite's:
QINGLING_TEST_DATABASE_URL (a PostgreSQL URL of your own) or a temporary SQLite file.

    .venv/bin/python -m bench.ci_setup [--rounds 5]
    QINGLING_TEST_DATABASE_URL=postgresql://.../qingling_bench_ci .venv/bin/python -m bench.ci_setup
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from datetime import UTC, datetime

from tests import conftest, demo_snapshot  # sets QINGLING_DATABASE_URL first
from tests.live import ServerProcess


async def truncate() -> None:
    """How tests/conftest.py emptied the database before (TRUNCATE on PostgreSQL)."""
    tables = [t for t in conftest.ALL_TABLES if t is not conftest.Meta]
    if conftest.ON_POSTGRES:
        names = ", ".join(f'"{t._meta.tablename}"' for t in tables)
        await conftest.Meta.raw(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    else:
        await conftest.empty_database()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url = conftest.TEST_DATABASE_URL
    asyncio.run(conftest.db.prepare())
    started = time.perf_counter()
    snapshot = demo_snapshot.seed(url, conftest.empty_database)
    print(f"{url}: snapshot seeded in {time.perf_counter() - started:.2f} s")
    times: dict[str, list[float]] = {"before": [], "after": []}
    cpu: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        for kind in ("before", "after"):
            cpu_started = _cpu()
            started = time.perf_counter()
            if kind == "before":
                asyncio.run(truncate())
            else:
                asyncio.run(conftest.empty_database())
                demo_snapshot.restore(snapshot, url, datetime.now(UTC))
            server = ServerProcess(url, "--demo")
            times[kind].append(time.perf_counter() - started)
            server.stop()
            cpu[kind].append(_cpu() - cpu_started)
    for kind, values in times.items():
        print(
            f"{kind:6}: wall median {statistics.median(values):.2f} s"
            f" (min {min(values):.2f}, max {max(values):.2f}),"
            f" CPU median {statistics.median(cpu[kind]):.2f} s (this process and the server,"
            f" start to stop) over {len(values)}"
        )


def _cpu() -> float:
    """CPU seconds used by this process and its finished children (the servers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
