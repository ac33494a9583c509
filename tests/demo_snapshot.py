"""The demo bureau seeded once and copied into the test database, for the browser tests.

`qingling serve --demo` seeds the demo through the real write path: about 4 s on SQLite
and 6-8 s on PostgreSQL (some 13,700 queries), which every browser test paid again. Here
the same seeding (the code `serve --demo` runs: `server.cli._run(seed_demo)`, in a child
process on the suite's database) runs once; its rows are kept in memory, and each test
gets them back in its emptied database before its server starts (which is still
`serve --demo`: with a bureau present it seeds nothing).

The demo is relative to "now" (a call 2 minutes ago, a callback due in 72 h, an order
overdue by 10 minutes ...), so a copy made later is moved forward by the time since the
seed: every stored instant (timestamp columns, and the ISO instants inside JSON and text
columns) is shifted by the same whole number of seconds, and the audit log's hash chain
is recomputed over the shifted rows, so a copy made minutes later is the demo as seeded
a moment ago. What a shift cannot move: the demo's day-aligned rows (past days' incidents
at a fixed local hour, follow-up dates, incident numbers) and the few choices it makes
against the clock while seeding (yesterday's incident left open when its close would be
in the future). So a snapshot is used only on the Asia/Shanghai day it was seeded on and
for MAX_AGE; after that the demo is seeded afresh. Within MAX_AGE a copy differs from a
fresh seed by less than a fresh seed differs from itself after MAX_AGE of a test's run
(the original per-test seed never moved with the clock either).

Not recomputed: an event's `content_hash` (the hash of the op as its device sent it,
checked only when the same op id is pushed again; no test re-pushes a demo op).
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg

from server.core.audit import row_hash
from server.core.clock import SHANGHAI
from server.core.tables import ALL_TABLES, AuditLog, Meta
from tests.live import ROOT

# Longer than a browser test runs, far shorter than anything the demo is relative to.
MAX_AGE = timedelta(minutes=10)

# Parents before children (the order tests/conftest.py empties them in, reversed).
TABLES = [t._meta.tablename for t in ALL_TABLES if t is not Meta]
AUDIT = AuditLog._meta.tablename

# An ISO instant with its offset, as stored: `2026-11-30 16:54:21.421112+00:00` (SQLite's
# timestamp columns), `2026-11-26T01:20:00Z` (JSON), `...T15:44:23.459521+00:00`.
_INSTANT = re.compile(
    r"(\d{4}-\d{2}-\d{2})([T ])(\d{2}:\d{2}:\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})(?![\d:])"
)

T = TypeVar("T")


@dataclass
class Snapshot:
    """The demo's rows, table by table, and when its seeding finished."""

    seeded_at: datetime
    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]]

    def fresh_enough(self, now: datetime) -> bool:
        same_day = self.seeded_at.astimezone(SHANGHAI).date() == now.astimezone(SHANGHAI).date()
        return same_day and timedelta(0) <= now - self.seeded_at <= MAX_AGE


def _in_thread(work: Callable[[], T]) -> T:
    """Run `work` in a thread of its own: asyncio.run there never touches the event loop
    pytest-asyncio keeps for the test."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # handed to the caller
            error.append(exc)

    thread = threading.Thread(target=run, name="demo-snapshot")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def _sqlite_path(database_url: str) -> str:
    return database_url.removeprefix("sqlite:///")


def empty(empty_database: Callable[[], Awaitable[None]]) -> None:
    _in_thread(lambda: asyncio.run(empty_database()))


def seed(database_url: str, empty_database: Callable[[], Awaitable[None]]) -> Snapshot:
    """Empty the database, seed the demo there as `serve --demo` does, and keep its rows."""
    empty(empty_database)
    seeded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from server.cli import _run\n"
            "from server.demo import seed_demo\n"
            "sys.exit(0 if _run(seed_demo) else 3)\n",
        ],
        cwd=ROOT,
        env={**os.environ, "QINGLING_DATABASE_URL": database_url, "PICCOLO_CONF": "piccolo_conf"},
        capture_output=True,
        text=True,
    )
    if seeded.returncode != 0:
        raise RuntimeError(f"seeding the demo failed ({seeded.returncode}): {seeded.stderr}")
    seeded_at = datetime.now(UTC)
    if database_url.startswith("sqlite"):
        tables = _read_sqlite(_sqlite_path(database_url))
    else:
        tables = _in_thread(lambda: asyncio.run(_read_postgres(database_url)))
    return Snapshot(seeded_at, tables)


def restore(snapshot: Snapshot, database_url: str, now: datetime) -> None:
    """Write the snapshot's rows, shifted to `now`, into the (empty) database."""
    shift = timedelta(seconds=round((now - snapshot.seeded_at).total_seconds()))
    tables = {
        name: (cols, [_shift_row(r, shift) for r in rows])
        for name, (cols, rows) in snapshot.tables.items()
    }
    tables[AUDIT] = _rechain(*tables[AUDIT])
    if database_url.startswith("sqlite"):
        _write_sqlite(_sqlite_path(database_url), tables)
    else:
        _in_thread(lambda: asyncio.run(_write_postgres(database_url, tables)))


def _shift_row(row: tuple[Any, ...], shift: timedelta) -> tuple[Any, ...]:
    return tuple(_shift(value, shift) for value in row)


def _shift(value: Any, shift: timedelta) -> Any:
    if isinstance(value, datetime):
        return value + shift
    if isinstance(value, str) and _INSTANT.search(value):
        return _INSTANT.sub(lambda m: _shift_instant(m, shift), value)
    return value


def _shift_instant(match: re.Match[str], shift: timedelta) -> str:
    day, sep, clock, fraction, offset = match.groups()
    at = datetime.fromisoformat(f"{day}T{clock}{'+00:00' if offset == 'Z' else offset}") + shift
    # Whole seconds: the fraction and the offset are written back as they were.
    return f"{at:%Y-%m-%d}{sep}{at:%H:%M:%S}{fraction or ''}{offset}"


def _rechain(
    columns: list[str], rows: list[tuple[Any, ...]]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The audit log's hash chain over the shifted rows (server/core/audit.py)."""
    i = {name: n for n, name in enumerate(columns)}
    prev = None
    chained = []
    for row in sorted(rows, key=lambda r: r[i["seq"]]):
        values = list(row)
        if prev is not None:
            values[i["prev_hash"]] = prev
        at = values[i["at"]]
        values[i["row_hash"]] = prev = row_hash(
            values[i["seq"]],
            at if isinstance(at, datetime) else datetime.fromisoformat(at),
            values[i["actor"]],
            values[i["device"]],
            values[i["action"]],
            values[i["subject"]],
            values[i["detail"]],
            values[i["prev_hash"]],
        )
        chained.append(tuple(values))
    return columns, chained


def _read_sqlite(path: str) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    tables = {}
    connection = sqlite3.connect(path)
    try:
        for name in TABLES:
            cursor = connection.execute(f'SELECT * FROM "{name}"')
            tables[name] = ([d[0] for d in cursor.description], cursor.fetchall())
    finally:
        connection.close()
    return tables


def _write_sqlite(path: str, tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> None:
    connection = sqlite3.connect(path, timeout=30)
    try:
        with connection:
            for name in TABLES:
                columns, rows = tables[name]
                if rows:
                    names = ", ".join(f'"{c}"' for c in columns)
                    marks = ", ".join("?" for _ in columns)
                    connection.executemany(f'INSERT INTO "{name}" ({names}) VALUES ({marks})', rows)
    finally:
        connection.close()


async def _read_postgres(url: str) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    tables = {}
    connection = await asyncpg.connect(url)
    try:
        for name in TABLES:
            records = await connection.fetch(f'SELECT * FROM "{name}"')
            columns = [
                a.name
                for a in (await connection.prepare(f'SELECT * FROM "{name}"')).get_attributes()
            ]
            tables[name] = (columns, [tuple(r) for r in records])
    finally:
        await connection.close()
    return tables


async def _write_postgres(
    url: str, tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]]
) -> None:
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            for name in TABLES:
                columns, rows = tables[name]
                if rows:
                    await connection.copy_records_to_table(name, records=rows, columns=columns)
            # Sequences where a fresh seed leaves them (TRUNCATE ... RESTART IDENTITY, then
            # the demo's rows): at the highest value, so the next row gets the next one.
            serials = await connection.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'"
            )
            for serial in serials:
                table, column = serial["table_name"], serial["column_name"]
                if table in tables and tables[table][1]:
                    await connection.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'),"
                        f' (SELECT max("{column}") FROM "{table}"))'
                    )
    finally:
        await connection.close()
