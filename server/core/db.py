"""The database engine: chosen by URL, SQLite by default, PostgreSQL at scale.

Piccolo owns the schema (server/tables.py, migrations/core/). This module makes the
engine, applies SQLite's settings once, runs the migrations and opens write
transactions that keep the change feed in commit order on both engines.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import operator
import os
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import (
    SQLiteEngine,
    TransactionType,
    convert_datetime_in,
    dict_factory,
)
from piccolo.table import Table

from server.core.config import DEFAULT_DATABASE_URL

# Any constant works: it names the one lock that serialises feed writers on PostgreSQL.
_FEED_LOCK_KEY = 0x51_4C_46_44  # "QLFD"
# How long a PostgreSQL writer waits for that lock (or any row lock) before giving up.
PG_LOCK_TIMEOUT_MS = 30_000


def sqlite_path(url: str) -> str | None:
    """The file path of a sqlite:/// URL, or None for other engines."""
    if not url.startswith("sqlite:"):
        return None
    path = url[len("sqlite:") :]
    if path.startswith("///"):
        path = path[3:]
        # sqlite:////abs/path keeps its leading slash; sqlite:///rel/path is relative.
    elif path.startswith("//"):
        path = path[2:]
    if not path or path == ":memory:":
        raise SystemExit("QINGLING_DATABASE_URL: SQLite needs a file path (never :memory:)")
    return path


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine without a new connection (and thread) for every query.

    Piccolo opens a fresh aiosqlite connection, hence a fresh thread, for each query run
    outside a transaction, and inside one it sends `PRAGMA foreign_keys` before every
    statement and then executes, fetches and closes the cursor as separate thread hops.
    On a 100-op push that was most of the server's time. Here connections are kept open
    (foreign keys switched on once, when opened) and each statement is one hop:
    `execute_fetchall`. Idle connections are kept in a plain list, not an asyncio
    queue, so the pool works from any event loop (each test has its own).
    """

    MAX_IDLE = 8

    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self._idle: list[aiosqlite.Connection] = []

    async def _open(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        # An idle pooled connection must not keep the process alive at exit; aiosqlite
        # starts its worker thread non-daemonic, so mark it before it starts.
        thread = getattr(connection, "_thread", None)
        if thread is not None:
            thread.daemon = True
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]  # aiosqlite types it as a class; sqlite3 takes any callable
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def _borrow(self) -> aiosqlite.Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection._running:  # closed ones are dropped
                return connection
        return await self._open()

    async def _give_back(self, connection: aiosqlite.Connection) -> None:
        if connection.in_transaction or len(self._idle) >= self.MAX_IDLE:
            await connection.close()
        else:
            self._idle.append(connection)

    async def close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def get_connection(self) -> Any:  # a transaction's (or a batch's) connection
        return _LentConnection(self, await self._borrow())

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        # isolation_level=None: autocommit, so a lone write needs no COMMIT.
        connection = await self._borrow()
        try:
            return await connection.execute_fetchall(query, args or [])
        finally:
            await self._give_back(connection)

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        return await connection.execute_fetchall(query, args or [])


class _LentConnection:
    """A pooled connection lent to a Piccolo transaction: its `close()` gives it back."""

    def __init__(self, engine: PooledSQLiteEngine, connection: aiosqlite.Connection) -> None:
        object.__setattr__(self, "_engine", engine)
        object.__setattr__(self, "_connection", connection)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._connection, name, value)

    async def close(self) -> None:
        await self._engine._give_back(self._connection)


def engine_for(url: str) -> Engine:
    """Build the Piccolo engine for a database URL."""
    path = sqlite_path(url)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # `timeout` is sqlite3's busy timeout: writers wait for each other instead of failing.
        return PooledSQLiteEngine(path=path, timeout=30)
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise SystemExit(
            f"QINGLING_DATABASE_URL must start with sqlite:/// or postgresql://, got {url!r}"
        )
    config = {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username or ""),
        "password": unquote(parsed.password or ""),
        "database": (parsed.path or "/").lstrip("/"),
    }
    return PostgresEngine(config=config)


def engine_from_env() -> Engine:
    return engine_for(os.environ.get("QINGLING_DATABASE_URL") or DEFAULT_DATABASE_URL)


def engine() -> Engine:
    """The engine every table is bound to (piccolo_conf.DB)."""
    from server.core.tables import Meta

    return Meta._meta.db


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


@contextlib.asynccontextmanager
async def write_transaction() -> AsyncIterator[None]:
    """A transaction for read-then-write work that may append to the change feed.

    SQLite: BEGIN IMMEDIATE, so the write lock is taken up front and the busy timeout
    applies, instead of failing on upgrade from a read lock. PostgreSQL: a transaction
    holding an advisory lock until commit, so feed positions (taken from a sequence)
    become visible in the order they were allocated.
    """
    db = engine()
    if isinstance(db, SQLiteEngine):
        # SQLite has one writer at a time. Queue this process's writers here rather than
        # in the busy handler: hundreds of reconnecting phones would otherwise each hold a
        # thread spinning on the lock, and the last ones would time out.
        async with _sqlite_writer(), db.transaction(transaction_type=TransactionType.immediate):
            yield
    else:
        async with db.transaction():
            from server.core.tables import Meta

            # PostgreSQL's counterpart of SQLite's busy timeout: a writer stuck behind
            # another gives up (and the request answers 503) instead of hanging.
            await Meta.raw(f"SET LOCAL lock_timeout = {int(PG_LOCK_TIMEOUT_MS)}")
            await Meta.raw("SELECT pg_advisory_xact_lock({})", _FEED_LOCK_KEY)
            yield


async def bulk_insert(table: type[Table], rows: list[dict[str, Any]]) -> None:
    """Insert many rows with one prepared statement, inside the current transaction.

    Below Piccolo's query builder on purpose: building a Table object and a query string per
    value is most of the cost of a 100-op push. Column names come from the rows' keys (every
    row has the same keys); values are bound parameters, adapted exactly as Piccolo adapts
    them (its sqlite3 adapters are global; asyncpg takes Python values).
    """
    if not rows:
        return
    db = engine()
    transaction = db.current_transaction.get()
    if transaction is None:
        raise RuntimeError("bulk_insert runs inside db.write_transaction()")
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    pick = operator.itemgetter(*columns)
    values = [pick(row) for row in rows] if len(columns) > 1 else [(pick(row),) for row in rows]
    if isinstance(db, SQLiteEngine):
        values = _sqlite_datetimes(values)
        marks = ", ".join("?" for _ in columns)
    else:
        marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    sql = f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES ({marks})'
    await transaction.connection.executemany(sql, values)


def _sqlite_datetimes(values: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Datetimes turned into SQLite's stored text here, once per distinct value: a push
    repeats the same receipt time on every row, and sqlite3 would call Piccolo's adapter
    for each. The text is exactly the adapter's (UTC, `str()` of the datetime)."""
    seen: dict[datetime, str] = {}

    def text(value: datetime) -> str:
        out = seen.get(value)
        if out is None:
            out = seen[value] = convert_datetime_in(value)
        return out

    return [tuple(text(v) if isinstance(v, datetime) else v for v in row) for row in values]


_writer_locks: dict[int, asyncio.Lock] = {}


def _sqlite_writer() -> asyncio.Lock:
    """This event loop's SQLite writer lock (a lock belongs to one loop)."""
    loop = asyncio.get_running_loop()
    lock = _writer_locks.get(id(loop))
    if lock is None:
        lock = _writer_locks[id(loop)] = asyncio.Lock()
    return lock


def is_transient(exc: BaseException) -> bool:
    """A database fault that a retry may cure: answered 503 with Retry-After."""
    import sqlite3

    import asyncpg

    if isinstance(exc, sqlite3.OperationalError):
        return "locked" in str(exc) or "busy" in str(exc)
    return isinstance(
        exc,
        asyncpg.PostgresConnectionError
        | asyncpg.TooManyConnectionsError
        | asyncpg.SerializationError
        | asyncpg.DeadlockDetectedError
        | asyncpg.AdminShutdownError
        | asyncpg.CannotConnectNowError
        | asyncpg.LockNotAvailableError
        | ConnectionError,
    )


async def prepare() -> str:
    """Apply SQLite settings and migrations; make sure the database has an epoch.

    Returns the epoch: a random id written once per database, carried in every feed
    cursor so a cursor from a restored or replaced database is recognised.
    """
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from server.core.tables import Meta

    db = engine()
    if isinstance(db, SQLiteEngine):
        # WAL is a property of the file: set once, it stays.
        await db.run_ddl("PRAGMA journal_mode=WAL")
    if isinstance(db, PostgresEngine):
        # Two processes starting together must not both migrate.
        conn = await db.get_new_connection()
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", _FEED_LOCK_KEY + 1)
            await _migrate(run_forwards)
            await conn.execute("SELECT pg_advisory_unlock($1)", _FEED_LOCK_KEY + 1)
        finally:
            await conn.close()
    else:
        await _migrate(run_forwards)

    row = await Meta.select(Meta.value).where(Meta.key == "epoch").first()
    if row is not None:
        return str(row["value"])
    epoch = secrets.token_hex(8)
    async with write_transaction():
        row = await Meta.select(Meta.value).where(Meta.key == "epoch").first()
        if row is not None:
            return str(row["value"])
        await Meta.insert(Meta(key="epoch", value=epoch))
    return epoch


async def _migrate(run_forwards) -> None:  # type: ignore[no-untyped-def]
    # Piccolo prints its progress; keep the server's output to our own log lines.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"database migration failed: {result.message}\n{out.getvalue()}")


def use(url: str) -> Engine:
    """Bind every table (and Piccolo's migration bookkeeping) to the database at `url`.

    The engine normally comes from QINGLING_DATABASE_URL when piccolo_conf is imported;
    this lets `create_app(settings)` honour a URL given in code as well.
    """
    from piccolo.apps.migrations.tables import Migration

    import piccolo_conf
    from server.core.tables import ALL_TABLES

    current = engine()
    if _url_of(current) == _url_of(engine_for(url)):
        return current
    new = engine_for(url)
    piccolo_conf.DB = new
    tables: list[type[Table]] = [*ALL_TABLES, Migration]
    for table in tables:
        table._meta.db = new
    return new


def _url_of(db: Engine) -> tuple[object, ...]:
    if isinstance(db, SQLiteEngine):
        return ("sqlite", str(Path(db.path).resolve()))
    config = getattr(db, "config", {})
    return ("postgresql", config.get("host"), config.get("port"), config.get("database"))
