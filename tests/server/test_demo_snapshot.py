"""The browser tests' demo copy (tests/demo_snapshot.py) is the seeded demo moved in time:
every stored instant later by the same amount, nothing else changed, the audit chain
whole, and `serve --demo` on it seeds nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import msgspec
from piccolo.columns import Timestamptz

from server.core import audit
from server.core.tables import ALL_TABLES, AuditLog, Change, Meta
from server.demo import seed_demo
from tests import demo_snapshot
from tests.conftest import TEST_DATABASE_URL, empty_database

LATER = timedelta(minutes=7, seconds=3)


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _read() -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """The rows in the database now, read as the snapshot reads them."""
    if TEST_DATABASE_URL.startswith("sqlite"):
        return demo_snapshot._read_sqlite(demo_snapshot._sqlite_path(TEST_DATABASE_URL))
    return demo_snapshot._in_thread(
        lambda: asyncio.run(demo_snapshot._read_postgres(TEST_DATABASE_URL))
    )


async def test_a_copy_is_the_demo_moved_in_time() -> None:
    snapshot = demo_snapshot.seed(TEST_DATABASE_URL, empty_database)
    await empty_database()
    demo_snapshot.restore(snapshot, TEST_DATABASE_URL, snapshot.seeded_at + LATER)
    copy = _read()

    for table in ALL_TABLES:
        if table is Meta:
            continue
        name = table._meta.tablename
        columns, rows = snapshot.tables[name]
        copied_columns, copied = copy[name]
        assert copied_columns == columns
        assert len(copied) == len(rows), name
        key = columns.index(table._meta.primary_key._meta.db_column_name)
        copied_by_key = {row[key]: row for row in copied}
        times = {c._meta.db_column_name for c in table._meta.columns if isinstance(c, Timestamptz)}
        for row in rows:
            other = copied_by_key[row[key]]
            for column, before, after in zip(columns, row, other, strict=True):
                if column in times and before is not None:
                    assert _instant(after) - _instant(before) == LATER, (name, column)
                elif name == AuditLog._meta.tablename and column in ("row_hash", "prev_hash"):
                    continue  # recomputed: checked below
                elif isinstance(before, str) and demo_snapshot._INSTANT.search(before):
                    assert after != before, (name, column)
                else:
                    assert after == before, (name, column)

    # An instant inside JSON moved with its column: a change's copy of its incident.
    changes = {row["pos"]: row for row in await Change.select().where(Change.entity == "incident")}
    columns, rows = snapshot.tables[Change._meta.tablename]
    for row in rows:
        before = dict(zip(columns, row, strict=True))
        if before["entity"] != "incident":
            continue
        was = msgspec.json.decode(before["data"])["received_at"]
        now = msgspec.json.decode(changes[before["pos"]]["data"])["received_at"]
        assert _instant(now.replace("Z", "+00:00")) - _instant(was.replace("Z", "+00:00")) == LATER

    chain = await audit.verify()
    assert chain.broken is None
    assert chain.count == len(snapshot.tables[AuditLog._meta.tablename][1]) > 0
    # `serve --demo` on the copy: a bureau is there, nothing is seeded again.
    assert not await seed_demo()
