"""The unit of work: write transactions with after-commit callbacks, bulk inserts,
migrations, and which faults a retry may cure.

Piccolo owns the schema (server/core/tables.py, migrations/core/); the engine comes from
server/core/engine.py. Every write runs inside `write_transaction()`, which keeps the
change feed in commit order on both engines and runs the callbacks registered with
`after_commit()` once the transaction has committed (never when it rolls back): that is
how a write is announced live without any caller remembering to (server/core/announce.py).
Work may also ride along with whichever write transaction commits next
(`ride_every_write`): the audit log's queued rows do (server/core/audit.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import operator
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import Finder
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, convert_datetime_in
from piccolo.table import Table

from server.core.engine import (
    PreludedTransaction,
    busy_wait,
    engine_for,
    is_sqlite_busy,
    run_statements_here,
)
from server.core.errors import Unavailable
from server.core.loops import PerLoop
from server.core.tables import ALL_TABLES, Meta

log = logging.getLogger("qingling.db")

# A datetime's stored text on SQLite is Piccolo's (UTC, `str()` of the datetime), from
# the adapter Piccolo registers with sqlite3; here the same function, remembered. sqlite3
# calls it once a time cell, and a push repeats the same few instants (its receipt and
# send times) on every row: remembered, they cost less than converting the cells by hand
# before the insert did (docs/performance.md, session 17).
sqlite3.register_adapter(datetime, functools.lru_cache(maxsize=4096)(convert_datetime_in))

# Any constant works: it names the one lock that serialises feed writers on PostgreSQL.
_FEED_LOCK_KEY = 0x51_4C_46_44  # "QLFD"
# How long a PostgreSQL writer waits for that lock (or any row lock) before giving up.
PG_LOCK_TIMEOUT_MS = 30_000


def engine() -> Engine:
    """The engine every table is bound to (piccolo_conf.DB)."""
    return Meta._meta.db


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


# The callbacks of the write transaction this task is inside, or None outside one.
_after_commit: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "qingling_after_commit", default=None
)


def in_write_transaction() -> bool:
    """Whether this task is inside `write_transaction()` (the audit log appends only there)."""
    return _after_commit.get() is not None


# The rollback callbacks of the write transaction this task is inside.
_after_rollback: ContextVar[list[Callable[[BaseException], None]] | None] = ContextVar(
    "qingling_after_rollback", default=None
)
# Facts the write transaction this task is inside has noted about itself, for later
# statements of the same transaction (`noted`); gone when it ends.
_notes: ContextVar[dict[str, Any] | None] = ContextVar("qingling_notes", default=None)
# Work that rides along with every write transaction, at the end of its body, just before
# it commits (the audit log's queued rows: server/core/audit.py `append_soon`).
_riders: list[Callable[[], Awaitable[None]]] = []


def ride_every_write(hook: Callable[[], Awaitable[None]]) -> None:
    """Run `hook` at the end of every write transaction's body, inside it, before commit
    (not when the body raised)."""
    if hook not in _riders:
        _riders.append(hook)


def after_rollback(callback: Callable[[BaseException], None]) -> None:
    """Run `callback(exc)` if the current write transaction does not commit (its body or
    its commit raised `exc`)."""
    undo = _after_rollback.get()
    if undo is None:
        raise RuntimeError("after_rollback runs inside db.write_transaction()")
    undo.append(callback)


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current write transaction commits (not if it rolls back).

    A callback registered twice in one transaction runs once, so the feed can announce
    "moved" on every append and the hub still hears it once per commit.
    """
    pending = _after_commit.get()
    if pending is None:
        raise RuntimeError("after_commit runs inside db.write_transaction()")
    if callback not in pending:
        pending.append(callback)


def noted() -> dict[str, Any] | None:
    """The current write transaction's notes (a dict that lives as long as it does, to
    spare a later statement a read of what an earlier one learnt), or None outside one."""
    return _notes.get()


@contextlib.asynccontextmanager
async def write_transaction(wait_s: float | None = None) -> AsyncIterator[None]:
    """A transaction for read-then-write work that may append to the change feed.

    SQLite: BEGIN IMMEDIATE, so the write lock is taken up front and the busy timeout
    applies, instead of failing on upgrade from a read lock. PostgreSQL: a transaction
    holding an advisory lock until commit, so feed positions (taken from a sequence)
    become visible in the order they were allocated. After the commit, the callbacks
    registered with `after_commit` run in order; one that fails is logged, not raised
    (the write stands).

    `wait_s` bounds the wait for the write lock (this process's writers, then the
    database's) below the usual 30 s: a sign-in on a locked database answers 503 in
    that time rather than holding its caller (Unavailable, or the engine's own
    lock-timeout fault, which the HTTP layer answers 503 too).
    """
    pending: list[Callable[[], None]] = []
    undo: list[Callable[[BaseException], None]] = []
    token = _after_commit.set(pending)
    undo_token = _after_rollback.set(undo)
    notes_token = _notes.set({})
    try:
        db = engine()
        if isinstance(db, SQLiteEngine):
            # SQLite has one writer at a time. Queue this process's writers here rather
            # than in the busy handler: hundreds of reconnecting phones would otherwise
            # each hold a thread spinning on the lock, and the last ones would time out.
            async with _sqlite_writer_within(wait_s) as left_s:
                with busy_wait(left_s) if left_s is not None else contextlib.nullcontext():
                    async with db.transaction(
                        transaction_type=TransactionType.immediate
                    ) as transaction:
                        # The statements inside run on this thread; BEGIN and COMMIT on
                        # the connection's (server/core/engine.py `_LentConnection`).
                        run_statements_here(transaction.connection, True)
                        try:
                            yield
                            await _ride()
                        finally:
                            run_statements_here(transaction.connection, False)
        else:
            timeout_ms = PG_LOCK_TIMEOUT_MS if wait_s is None else max(1, int(wait_s * 1000))
            # PostgreSQL's counterpart of SQLite's busy timeout: a writer stuck behind
            # another gives up (and the request answers 503) instead of hanging.
            # The write path looks rows up by key only. Without `enable_seqscan = off`
            # a statement first run while its table was young (a new database, the
            # first pushes of a storm) keeps the sequential scan the planner chose then
            # as its cached plan, and goes on scanning as the table grows, even within
            # the transaction: the push's duplicate check took 2.2 ms instead of 0.05
            # (docs/performance.md, session 10). All in BEGIN's round trip.
            assert isinstance(db, PostgresEngine)
            async with PreludedTransaction(
                db,
                f"SET LOCAL lock_timeout = {int(timeout_ms)}; SET LOCAL enable_seqscan = off;"
                f" SELECT pg_advisory_xact_lock({_FEED_LOCK_KEY})",
            ):
                yield
                await _ride()
    except BaseException as exc:
        for undone in undo:
            try:
                undone(exc)
            except Exception:  # noqa: BLE001 - the rollback stands; a listener's fault is its own
                log.exception("after-rollback callback %r failed", undone)
        raise
    finally:
        _after_commit.reset(token)
        _after_rollback.reset(undo_token)
        _notes.reset(notes_token)
    for callback in pending:
        try:
            callback()
        except Exception:  # noqa: BLE001 - the write has committed; a listener's fault is its own
            log.exception("after-commit callback %r failed", callback)


async def _ride() -> None:
    for hook in _riders:
        await hook()


async def bulk_insert(table: type[Table], rows: list[dict[str, Any]]) -> None:
    """Insert many rows inside the current transaction: on SQLite one prepared statement
    run a row; on PostgreSQL one COPY (below).

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
    pick = operator.itemgetter(*columns)
    values: list[Any] = (
        [pick(row) for row in rows] if len(columns) > 1 else [(pick(row),) for row in rows]
    )
    if not isinstance(db, SQLiteEngine):
        # PostgreSQL: the rows go in one COPY, in list order (so a serial column, the
        # feed's `pos`, follows it), encoded by the columns' own types. It replaced one
        # `INSERT ... SELECT ... FROM unnest(...)` of an array a column, itself in place
        # of one execution a row: 200 event rows took 5.1-5.9 ms and 1.8-2.0 ms of
        # Qingling's CPU as arrays, 3.7-3.8 ms and 1.0 ms as a COPY (asyncpg checks
        # every array element's type in Python; docs/performance.md, session 15).
        await transaction.connection.copy_records_to_table(
            table._meta.tablename, records=values, columns=columns
        )
        return
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES ({marks})'
    await transaction.connection.executemany(sql, values)


async def execute_many(sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Run one statement (`{}` marks each value, as in `fetch`) once per row of values,
    as one prepared statement on the current transaction's connection."""
    if not rows:
        return
    db = engine()
    transaction = db.current_transaction.get()
    if transaction is None:
        raise RuntimeError("execute_many runs inside db.write_transaction()")
    await transaction.connection.executemany(_compile(sql, isinstance(db, SQLiteEngine)), rows)


# Each statement `fetch` runs, as the engine takes it: "{}" marks become ? or $n once.
_compiled: dict[tuple[str, str], str] = {}


def _compile(sql: str, sqlite: bool) -> str:
    key = (sql, "sqlite" if sqlite else "postgres")
    out = _compiled.get(key)
    if out is None:
        pieces = sql.split("{}")
        if sqlite:
            out = "?".join(pieces)
        else:
            out = pieces[0] + "".join(f"${i}{p}" for i, p in enumerate(pieces[1:], 1))
        if len(_compiled) < 10_000:
            _compiled[key] = out
    return out


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run one statement (`{}` marks each value, as in Piccolo's raw) on the current
    transaction's connection and return its rows as dicts, below Piccolo: the push path
    runs a few of these with a hundred values each, and Piccolo's raw turned every value
    into a query-string part. Values and rows are adapted as through Piccolo (its sqlite3
    adapters and converters are the connection's; asyncpg takes and gives Python
    values). Outside a transaction, through Piccolo's raw."""
    db = engine()
    transaction = db.current_transaction.get()
    if transaction is None:
        return list(await Meta.raw(sql, *args))
    if isinstance(db, SQLiteEngine):
        return list(await transaction.connection.execute_fetchall(_compile(sql, True), args))
    rows = await transaction.connection.fetch(_compile(sql, False), *args)
    return [dict(r) for r in rows]


# This process's SQLite writers queue here, one lock per event loop (a lock belongs to one).
_writer_locks: PerLoop[asyncio.Lock] = PerLoop(asyncio.Lock)


@contextlib.asynccontextmanager
async def _sqlite_writer_within(wait_s: float | None) -> AsyncIterator[float | None]:
    """Hold this process's SQLite writer lock; yields the seconds left of `wait_s`
    (None: no bound). Unavailable if the lock is not had within `wait_s`."""
    lock = _writer_locks.get()
    if wait_s is None:
        async with lock:
            yield None
        return
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await asyncio.wait_for(lock.acquire(), timeout=wait_s)
    except TimeoutError:
        raise Unavailable("the database is busy; retry shortly", retry_after_s=2) from None
    try:
        yield max(0.001, wait_s - (loop.time() - started))
    finally:
        lock.release()


def is_transient(exc: BaseException) -> bool:
    """A database fault that a retry may cure: answered 503 with Retry-After."""
    return is_sqlite_busy(exc) or isinstance(
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
    db = engine()
    if isinstance(db, SQLiteEngine):
        # WAL is a property of the file: set once, it stays.
        await db.run_ddl("PRAGMA journal_mode=WAL")
    if isinstance(db, PostgresEngine):
        # Two processes starting together must not both migrate.
        conn = await db.get_new_connection()
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", _FEED_LOCK_KEY + 1)
            await _migrate()
            await conn.execute("SELECT pg_advisory_unlock($1)", _FEED_LOCK_KEY + 1)
        finally:
            await conn.close()
    else:
        await _migrate()

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


async def _migrate() -> None:
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
    current = engine()
    if _url_of(current) == _url_of(engine_for(url)):
        return current
    new = engine_for(url)
    # Piccolo's own configuration module (piccolo_conf.py, or whatever PICCOLO_CONF names),
    # found the way Piccolo finds it: the migration commands read its DB.
    conf = Finder().get_piccolo_conf_module()
    if conf is not None:
        conf.DB = new
    tables: list[type[Table]] = [*ALL_TABLES, Migration]
    for table in tables:
        table._meta.db = new
    return new


def _url_of(db: Engine) -> tuple[object, ...]:
    if isinstance(db, SQLiteEngine):
        return ("sqlite", str(Path(db.path).resolve()))
    config = getattr(db, "config", {})
    return ("postgresql", config.get("host"), config.get("port"), config.get("database"))
