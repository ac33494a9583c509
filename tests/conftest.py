"""Test set-up shared by every suite: one real database per run, emptied between tests.

The engine comes from QINGLING_TEST_DATABASE_URL: a PostgreSQL URL runs the whole
suite on PostgreSQL (CI does both); without it, a SQLite file in a temporary folder.
Never :memory: — Piccolo opens a connection per query.

Under pytest-xdist (`-n 2`, as `make test` runs the suites) each worker process has its
own database: its own SQLite folder, or on PostgreSQL the named database with the
worker's name appended (`qingling_test_gw0`, ...), created when missing.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

_tmp = Path(tempfile.mkdtemp(prefix="qingling-tests-"))
# The SQLite test database goes with the run (each xdist worker removes its own).
atexit.register(shutil.rmtree, _tmp, ignore_errors=True)
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... under pytest-xdist
_GIVEN_DATABASE_URL = os.environ.get("QINGLING_TEST_DATABASE_URL")
TEST_DATABASE_URL = (
    f"{_GIVEN_DATABASE_URL}_{_WORKER}"
    if _GIVEN_DATABASE_URL and _WORKER
    else _GIVEN_DATABASE_URL or f"sqlite:///{_tmp}/test.db"
)
# Before anything imports server/: piccolo_conf reads this when first imported.
os.environ["QINGLING_DATABASE_URL"] = TEST_DATABASE_URL
os.environ["PICCOLO_CONF"] = "piccolo_conf"

import asyncio  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402

import asyncpg  # noqa: E402
import pytest  # noqa: E402
from piccolo.engine.postgres import PostgresEngine  # noqa: E402

from server.core import db  # noqa: E402
from server.core.engine import start_pg_pool  # noqa: E402
from server.core.tables import ALL_TABLES, Meta  # noqa: E402

ON_POSTGRES = TEST_DATABASE_URL.startswith("postgres")


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"qingling test database: {'postgresql' if ON_POSTGRES else 'sqlite'} {TEST_DATABASE_URL}"
    )


@pytest.fixture(scope="session", autouse=True)
def migrated_database() -> str:
    """Migrate the test database once per run; returns the database URL."""
    if ON_POSTGRES:
        if TEST_DATABASE_URL != _GIVEN_DATABASE_URL:
            asyncio.run(_create_worker_database())
        asyncio.run(_commit_without_waiting_for_the_disk())
    asyncio.run(db.prepare())
    return TEST_DATABASE_URL


async def _create_worker_database() -> None:
    """This xdist worker's own database, beside the one the suite was given (the role
    that owns that one may create databases: scripts/with-postgres.sh)."""
    assert _GIVEN_DATABASE_URL is not None
    name = TEST_DATABASE_URL.rsplit("/", 1)[1]
    connection = await asyncpg.connect(_GIVEN_DATABASE_URL)
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _commit_without_waiting_for_the_disk() -> None:
    """`synchronous_commit = off` for every later session on the test database (this
    process's and its servers'): a commit no longer waits for its WAL record to reach the
    disk (~5 ms a commit here, against ~0.2 ms). What the suite tests on PostgreSQL is
    unchanged: the same SQL, locks, isolation and constraints, every commit visible to
    every other session at once; only PostgreSQL's own crash durability is relaxed, and no
    test crashes PostgreSQL (the crash tests kill Qingling's process)."""
    connection = await asyncpg.connect(TEST_DATABASE_URL)
    try:
        name = await connection.fetchval("SELECT current_database()")
        await connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        await connection.close()


# The sequences owned by the tables' columns (serial and identity), as TRUNCATE ...
# RESTART IDENTITY would restart them.
_OWNED_SEQUENCES = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(s.relname) AS name
FROM pg_class s
JOIN pg_namespace n ON n.oid = s.relnamespace
JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
  AND d.deptype IN ('a', 'i')
JOIN pg_class t ON t.oid = d.refobjid
WHERE s.relkind = 'S' AND t.relname = ANY($1::text[]) AND n.nspname = current_schema()
"""


async def empty_database() -> None:
    tables = [t for t in ALL_TABLES if t is not Meta]
    if ON_POSTGRES:
        # DELETE, children first, and the owned sequences restarted: what TRUNCATE ...
        # RESTART IDENTITY CASCADE leaves, several times faster on a test's few rows
        # (TRUNCATE makes new files for every table and index and syncs them: 0.3-1 s a
        # test, against 0.05-0.15 s).
        names = [t._meta.tablename for t in tables]
        connection = await asyncpg.connect(TEST_DATABASE_URL)
        try:
            sequences = [r["name"] for r in await connection.fetch(_OWNED_SEQUENCES, names)]
            await connection.execute(
                "BEGIN;"
                + "".join(f'DELETE FROM "{name}";' for name in reversed(names))
                + "".join(f"ALTER SEQUENCE {seq} RESTART;" for seq in sequences)
                + "COMMIT;"
            )
        finally:
            await connection.close()
    else:
        for table in reversed(tables):
            await table.raw(f'DELETE FROM "{table._meta.tablename}"')


@pytest.fixture(autouse=True)
async def clean_database(migrated_database: str) -> AsyncIterator[None]:
    """Every test starts from an empty (but migrated) database.

    On PostgreSQL the test's own queries (its fixtures' inserts, its checks) go through a
    small pool of the test's event loop, as the app's go through the app's: a connection
    of its own for each (a PostgreSQL process and a SCRAM sign-in, ~15 ms here) cost a
    test ~0.3 s on the `bureau` fixture alone."""
    await empty_database()
    if not ON_POSTGRES:
        yield
        return
    engine = db.engine()
    assert isinstance(engine, PostgresEngine)
    await start_pg_pool(engine, 2)
    pool = engine.pool
    assert pool is not None
    try:
        yield
    finally:
        # Ended at once: a connection a failed test left busy must not hold up the next.
        engine.pool = None
        pool.terminate()
