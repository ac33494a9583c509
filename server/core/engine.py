"""The database engine: chosen by URL, SQLite by default, PostgreSQL at scale.

`engine_for(url)` builds Piccolo's engine for a URL; piccolo_conf.py binds every table
to the one `engine_from_env()` makes. On SQLite the engine keeps its connections open
(`PooledSQLiteEngine`). Everything that runs on the engine (transactions, migrations)
is server/core/db.py.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.table import Table

from server.core.config import DEFAULT_DATABASE_URL
from server.core.loops import call_on


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


# How long a transaction begun in this task waits for SQLite's write lock, in ms, when
# it is to wait less than the connection's busy timeout (sign-in: server/core/db.py).
_busy_wait_ms: ContextVar[int | None] = ContextVar("qingling_sqlite_busy_wait_ms", default=None)


def is_sqlite_busy(exc: BaseException) -> bool:
    """SQLite's refusal when another connection holds the lock a statement needs
    (`database is locked`, or busy past the busy timeout)."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


@contextlib.contextmanager
def busy_wait(seconds: float) -> Iterator[None]:
    """Transactions begun inside wait at most `seconds` for another connection's write
    lock (SQLite's busy timeout for them), instead of the connection's 30 s."""
    token = _busy_wait_ms.set(max(1, int(seconds * 1000)))
    try:
        yield
    finally:
        _busy_wait_ms.reset(token)


def _work(tx: Any) -> None:
    """A pooled connection's thread: aiosqlite's worker loop, except that an answer for
    an event loop that has closed meanwhile (a test's, a script's) is dropped. aiosqlite's
    own thread ends there, with the statements queued behind (a ROLLBACK, the close that
    `_abandon` queues) never run and the connection left as it was, maybe holding the
    write lock."""
    while True:
        future, function = tx.get()
        try:
            result = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, as aiosqlite does
            _answer(future, aiosqlite.core.set_exception, exc)
            continue
        _answer(future, aiosqlite.core.set_result, result)
        if result is aiosqlite.core._STOP_RUNNING_SENTINEL:
            return


def _answer(future: asyncio.Future[Any] | None, settle: Any, value: Any) -> None:
    if future is not None:
        with contextlib.suppress(RuntimeError):  # its loop has closed: nobody is waiting
            future.get_loop().call_soon_threadsafe(settle, future, value)


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

    # At most this many connections (and threads) at once. Hundreds of sockets reading
    # at the same moment (a reconnect storm) queue here for one, rather than each opening
    # its own: a thread per reader cost a thread start and a file open per read, and
    # hundreds of threads taking turns at the GIL starved the event loop. The one writer
    # (server/core/db.py queues this process's writers first) takes its turn with them.
    MAX_OPEN = 8

    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self._idle: list[aiosqlite.Connection] = []
        self._open_count = 0
        # The pool is shared by every event loop of the process, some on other threads
        # (a script or a test beside a running app): its bookkeeping changes under a lock.
        self._lock = threading.RLock()
        # Borrowers waiting for a connection, first come first served; each is handed a
        # connection, or None when a slot came free to open one.
        self._waiting: collections.deque[asyncio.Future[aiosqlite.Connection | None]] = (
            collections.deque()
        )

    async def _open(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        # Our own worker thread (`_work`), daemonic: an idle pooled connection must not
        # keep the process alive at exit. Set before `await` starts it.
        connection._thread = threading.Thread(target=_work, args=(connection._tx,), daemon=True)
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]  # aiosqlite types it as a class; sqlite3 takes any callable
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def _borrow(self) -> aiosqlite.Connection:
        while True:
            waiter: asyncio.Future[aiosqlite.Connection | None] | None = None
            with self._lock:
                connection = None
                while self._idle and connection is None:
                    connection = self._idle.pop()
                    if not connection._running:  # closed ones are dropped
                        self._open_count -= 1
                        connection = None
                if connection is not None:
                    return connection
                if self._open_count < self.MAX_OPEN:
                    self._open_count += 1
                else:
                    waiter = asyncio.get_running_loop().create_future()
                    self._waiting.append(waiter)
            if waiter is None:
                try:
                    return await self._open()
                except BaseException:
                    with self._lock:
                        self._open_count -= 1
                    self._hand_on(None)
                    raise
            try:
                handed = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    # Handed one just as the borrower was cancelled: pass it on.
                    given = waiter.result()
                    if given is not None:
                        await self._give_back(given)
                    else:
                        self._hand_on(None)
                raise
            if handed is not None:
                return handed

    def _hand_on(self, connection: aiosqlite.Connection | None) -> bool:
        """Hand `connection` (or a free slot: None) to the first borrower still waiting,
        on whichever event loop it waits. A connection nobody waits for goes back to the
        idle list; False if nobody waits."""
        with self._lock:
            while self._waiting:
                waiter = self._waiting.popleft()
                if waiter.done():
                    continue
                loop = waiter.get_loop()
                if loop.is_closed():
                    continue
                call_on(loop, _settle, waiter, connection, self)
                return True
            if connection is not None:
                self._idle.append(connection)
            return False

    async def _give_back(self, connection: aiosqlite.Connection) -> None:
        if connection.in_transaction or not connection._running:
            with self._lock:
                self._open_count -= 1
            with contextlib.suppress(Exception):
                await connection.close()
            self._hand_on(None)
        else:
            self._hand_on(connection)

    async def close_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._open_count -= len(idle)
        for connection in idle:
            await connection.close()

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _PooledTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    def _abandon(self, connection: aiosqlite.Connection) -> None:
        """Drop a connection whose BEGIN, COMMIT or ROLLBACK was interrupted (its task
        cancelled): the statement still runs on the connection's thread, and a BEGIN
        IMMEDIATE that gets the write lock after its borrower left would hold it for
        good, every other writer timing out on `database is locked`. Closing is queued
        behind it on the same thread, and closing rolls back whatever is open. Not
        awaited: the borrower is on its way out, perhaps with its loop."""
        with self._lock:
            self._open_count -= 1
        with contextlib.suppress(Exception):
            connection.stop()
        self._hand_on(None)

    async def get_connection(self) -> Any:  # a transaction's (or a batch's) connection
        connection = await self._borrow()
        wait_ms = _busy_wait_ms.get()
        if wait_ms is not None:
            # Before Piccolo's BEGIN IMMEDIATE, which is what waits; put back on return.
            try:
                await connection.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
            except BaseException:
                self._abandon(connection)
                raise
        return _LentConnection(self, connection, None if wait_ms is None else int(wait_ms))

    def _default_busy_ms(self) -> int:
        return int(float(self.connection_kwargs.get("timeout", 5.0)) * 1000)

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
    """A pooled connection lent to a Piccolo transaction: its `close()` gives it back.

    In a write transaction (`run_statements_here`) its statements run on the event
    loop's own thread, straight on the sqlite3 connection, instead of each being handed
    to the connection's thread and its answer handed back: a push's transaction runs a
    few dozen statements, and each hand-over cost a thread wake-up and a turn of the
    loop, a third of the transaction's time (docs/performance.md, session 11). COMMIT
    and ROLLBACK still go through the connection's thread (`execute`), so the loop
    serves other requests while a commit waits on the disk; so does a BEGIN that would
    wait for another connection's write lock (`begin_at_once`). The two threads never
    use the connection at once: each statement is awaited before the next is sent.
    """

    def __init__(
        self, engine: PooledSQLiteEngine, connection: aiosqlite.Connection, busy_ms: int | None
    ) -> None:
        object.__setattr__(self, "_engine", engine)
        object.__setattr__(self, "_connection", connection)
        # The connection's busy timeout during this loan, in ms: the one `busy_wait` set
        # (the usual one is put back when the loan ends), or the usual one.
        object.__setattr__(self, "_restore", busy_ms is not None)
        object.__setattr__(
            self, "_busy_ms", engine._default_busy_ms() if busy_ms is None else busy_ms
        )
        object.__setattr__(self, "_here", False)

    async def execute_fetchall(self, sql: str, parameters: Any = None) -> Any:
        if self._here:
            return self._connection._conn.execute(sql, parameters or ()).fetchall()
        return await self._connection.execute_fetchall(sql, parameters)

    async def executemany(self, sql: str, parameters: Any) -> None:
        if self._here:
            self._connection._conn.executemany(sql, parameters)
        else:
            await self._connection.executemany(sql, parameters)

    def begin_at_once(self, begin: str) -> bool:
        """Run `begin` here, on the event loop's thread, if the database lets it start
        without waiting: True if it did. False if another connection holds the write
        lock; the caller then begins on the connection's thread, where the wait (the busy
        timeout) does not hold up the loop. In the usual case (this process's writers
        queue before they get here, server/core/db.py) this saves a hand-over to the
        connection's thread and back: a write transaction began in ~90 us instead of ~200
        (docs/performance.md, session 19)."""
        if self._engine.connection_kwargs.get("check_same_thread", True):
            return False  # this connection takes statements from its own thread only
        conn = self._connection._conn
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute(begin)
        except sqlite3.OperationalError as exc:
            if not is_sqlite_busy(exc):
                raise
            return False
        finally:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._connection, name, value)

    def abandon(self) -> None:
        self._engine._abandon(self._connection)

    async def close(self) -> None:
        if self._restore and self._connection._running:
            with contextlib.suppress(Exception):  # a broken connection is dropped anyway
                await self._connection.execute(
                    f"PRAGMA busy_timeout = {self._engine._default_busy_ms()}"
                )
        await self._engine._give_back(self._connection)


class _PooledTransaction(SQLiteTransaction):
    """Piccolo's SQLite transaction, except that a connection whose BEGIN, COMMIT or
    ROLLBACK did not finish (the task was cancelled while it waited) is abandoned
    (`PooledSQLiteEngine._abandon`) instead of left borrowed, maybe holding the lock."""

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            if not self.connection.begin_at_once(f"BEGIN {self.transaction_type.value}"):
                await self.begin()
        except BaseException:
            self.connection.abandon()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        except BaseException:
            self.connection.abandon()
            raise
        finally:
            self.engine.current_transaction.reset(self.context)
        await self.connection.close()
        return exception is None


def run_statements_here(connection: Any, here: bool) -> None:
    """Whether a lent connection's statements run on the event loop's thread
    (`_LentConnection`); any other connection is left as it is."""
    if isinstance(connection, _LentConnection):
        object.__setattr__(connection, "_here", here)


def _settle(
    waiter: asyncio.Future[aiosqlite.Connection | None],
    connection: aiosqlite.Connection | None,
    engine: PooledSQLiteEngine,
) -> None:
    """On the waiter's own loop: hand it the connection, or pass it on if it gave up."""
    if not waiter.done():
        waiter.set_result(connection)
    else:
        engine._hand_on(connection)


def engine_for(url: str) -> Engine:
    """Build the Piccolo engine for a database URL."""
    path = sqlite_path(url)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # `timeout` is sqlite3's busy timeout: writers wait for each other instead of failing.
        # check_same_thread=False: a write transaction's statements run on the event
        # loop's thread, its BEGIN and COMMIT on the connection's own (_LentConnection).
        return PooledSQLiteEngine(path=path, timeout=30, check_same_thread=False)
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
    return LoopBoundPostgresEngine(config=config)


class LoopBoundPostgresEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine with a pool per event loop: a pool serves only the loop
    that opened it.

    An asyncpg pool belongs to one loop. Under Litestar's test client each app runs on a
    loop of its own (two apps in one test: two loops) while the test's own queries run on
    another: from a loop without a pool, a query opens a connection of its own, as Piccolo
    does when no pool is running, instead of failing on a future of another loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def pool(self) -> Any:
        try:
            return self._pools.get(asyncio.get_running_loop())
        except RuntimeError:  # no loop running: no pool to lend
            return None

    @pool.setter
    def pool(self, value: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # Piccolo's __init__ clears the pool before any loop runs
            if value is None:
                return
            raise
        if value is None:
            self._pools.pop(loop, None)
        else:
            self._pools[loop] = value


class PreludedTransaction(PostgresTransaction):
    """Piccolo's PostgreSQL transaction, begun as `BEGIN; <prelude>` in one round trip
    (the simple protocol runs them in order), and committed or rolled back with a plain
    statement. A write transaction's BEGIN and its lock were two round trips, and each
    await inside a push's transaction lets the event loop run other requests' work
    before coming back to it: 1.2 ms on average for a BEGIN PostgreSQL ran in 0.01 ms
    (docs/performance.md, session 18). Nested in another transaction, the prelude runs
    on the outer one's connection."""

    def __init__(self, engine: PostgresEngine, prelude: str) -> None:
        super().__init__(engine)
        self._prelude = prelude

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            await self._parent.connection.execute(self._prelude)
            return self._parent
        self.connection = await self.get_connection()
        try:
            await self.connection.execute(f"BEGIN; {self._prelude}")
        except BaseException:
            # The prelude failed (a lock timeout): end what BEGIN opened, give the
            # connection back, and let the caller see the fault.
            with contextlib.suppress(Exception):
                await self.connection.execute("ROLLBACK")
            await self._release()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def _release(self) -> None:
        if self.engine.pool:
            await self.engine.pool.release(self.connection)
        else:
            await self.connection.close()

    async def begin(self) -> None:  # only __aenter__ begins, with the prelude
        raise RuntimeError("a preluded transaction begins in __aenter__")

    async def commit(self) -> None:
        await self.connection.execute("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        await self.connection.execute("ROLLBACK")
        self._rolled_back = True


async def start_pg_pool(engine: PostgresEngine, size: int) -> None:
    """Open the engine's pool of `size` PostgreSQL connections.

    A connection given back to the pool is not reset with asyncpg's default query
    (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`), which cost a
    round trip after every pooled read and every transaction: pooled connections carry no
    session state of ours. Locks held across a session (the scheduler's leadership, the
    migration lock) and LISTEN (the hub, through Litestar's channels) each use a
    connection of their own; a transaction's `SET LOCAL` and `pg_advisory_xact_lock` end
    with it; nothing keeps a cursor open past its transaction. asyncpg still rolls back a
    transaction left open and drops listeners before a connection goes back."""
    await engine.start_connection_pool(min_size=1, max_size=size, reset=_keep_session)


async def _keep_session(connection: object) -> None:
    return None


def engine_from_env() -> Engine:
    return engine_for(os.environ.get("QINGLING_DATABASE_URL") or DEFAULT_DATABASE_URL)
