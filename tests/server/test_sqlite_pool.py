"""The SQLite connection pool (server/core/engine.py `PooledSQLiteEngine`): at most
`MAX_OPEN` connections, borrowers queue for one, first come first served, whatever event
loop they wait on, and a borrower that gives up never takes a connection with it.

Its own SQLite file, whichever engine the suite runs on."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import TransactionType

from server.core.engine import PooledSQLiteEngine, run_statements_here


class _Watched(PooledSQLiteEngine):
    """Counts the connections open at once."""

    def __init__(self, path: str) -> None:
        super().__init__(path=path, timeout=5)
        self.most_open = 0

    async def _borrow(self) -> aiosqlite.Connection:
        connection = await super()._borrow()
        self.most_open = max(self.most_open, self._open_count)
        return connection


async def _slow_read(engine: PooledSQLiteEngine, value: int) -> Any:
    # A recursive CTE keeps the connection busy for a moment, so borrowers overlap.
    rows = await engine._run_in_new_connection(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)"
        " SELECT ? AS v, count(*) AS c FROM n",
        [value],
    )
    return rows[0]["v"]


async def test_many_readers_at_once_share_at_most_max_open_connections(tmp_path: Path) -> None:
    engine = _Watched(str(tmp_path / "pool.db"))
    try:
        values = await asyncio.gather(*(_slow_read(engine, i) for i in range(60)))
        assert values == list(range(60))
        assert engine.most_open == engine.MAX_OPEN
        assert engine._open_count == len(engine._idle) == engine.MAX_OPEN
    finally:
        await engine.close_idle()
    assert engine._open_count == 0


async def test_a_borrower_on_another_loop_gets_the_next_connection_given_back(
    tmp_path: Path,
) -> None:
    engine = PooledSQLiteEngine(path=str(tmp_path / "pool.db"), timeout=5)
    held = [await engine._borrow() for _ in range(engine.MAX_OPEN)]
    answer: list[Any] = []

    def elsewhere() -> None:
        # A script or a test driving the database from its own thread and loop.
        answer.append(asyncio.run(_slow_read(engine, 7)))

    thread = threading.Thread(target=elsewhere)
    thread.start()
    await asyncio.sleep(0.3)
    assert not answer and thread.is_alive(), "read without a free connection"
    await engine._give_back(held.pop())
    await asyncio.to_thread(thread.join, 10)
    assert answer == [7]
    for connection in held:
        await engine._give_back(connection)
    assert engine._open_count == engine.MAX_OPEN
    await engine.close_idle()


async def test_a_borrower_that_gives_up_takes_no_connection_with_it(tmp_path: Path) -> None:
    engine = PooledSQLiteEngine(path=str(tmp_path / "pool.db"), timeout=5)
    held = [await engine._borrow() for _ in range(engine.MAX_OPEN)]
    impatient = asyncio.create_task(engine._borrow())
    await asyncio.sleep(0.05)
    impatient.cancel()
    await asyncio.sleep(0)
    await engine._give_back(held.pop())
    # The connection given back is had at once, without opening another.
    again = await asyncio.wait_for(engine._borrow(), 2)
    assert engine._open_count == engine.MAX_OPEN
    for connection in [*held, again]:
        await engine._give_back(connection)
    await engine.close_idle()


def _lock_is_free(path: Path) -> bool:
    """Whether another writer can take the database's write lock within a second."""
    other = sqlite3.connect(path, timeout=1, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


async def test_a_transaction_cancelled_while_waiting_for_the_lock_does_not_take_it_later(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pool.db"
    engine = PooledSQLiteEngine(path=str(path), timeout=5)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's writer

    async def write() -> None:
        async with engine.transaction(transaction_type=TransactionType.immediate):
            await engine._run_in_new_connection("SELECT 1")

    waiting = asyncio.create_task(write())
    await asyncio.sleep(0.3)  # its BEGIN IMMEDIATE waits on the connection's thread
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    holder.execute("ROLLBACK")
    holder.close()
    await asyncio.sleep(0.3)  # the BEGIN left behind gets the lock, if it still runs
    assert await asyncio.to_thread(_lock_is_free, path), "a cancelled writer kept the lock"
    assert engine._open_count == len(engine._idle)
    await engine.close_idle()


async def test_a_writer_whose_loop_closed_while_it_waited_for_the_lock_does_not_keep_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pool.db"
    engine = PooledSQLiteEngine(path=str(path), timeout=5)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    async def script() -> None:
        # A script (or a test) on its own loop ends while its writer waits for the lock:
        # asyncio.run cancels the writer and closes the loop before the BEGIN returns.
        async def write() -> None:
            async with engine.transaction(transaction_type=TransactionType.immediate):
                pass

        asyncio.create_task(write())
        await asyncio.sleep(0.3)

    await asyncio.to_thread(asyncio.run, script())
    holder.execute("ROLLBACK")
    holder.close()
    await asyncio.sleep(0.3)
    assert await asyncio.to_thread(_lock_is_free, path), "a writer of a closed loop kept the lock"


async def test_a_write_transactions_statements_run_on_the_loops_thread_and_it_still_commits(
    tmp_path: Path,
) -> None:
    """Inside a write transaction (server/core/db.py) the statements run on the event
    loop's thread (`run_statements_here`), BEGIN and COMMIT on the connection's own; what
    the transaction wrote is committed, and a transaction that fails leaves nothing."""
    engine = PooledSQLiteEngine(path=str(tmp_path / "here.db"), timeout=5, check_same_thread=False)
    await engine._run_in_new_connection("CREATE TABLE t (v INTEGER)")
    loop_thread = threading.get_ident()
    async with engine.transaction(transaction_type=TransactionType.immediate) as transaction:
        connection = transaction.connection
        connection._connection._conn.create_function("thread", 0, threading.get_ident)
        run_statements_here(connection, True)
        assert (await connection.execute_fetchall("SELECT thread() AS t"))[0]["t"] == loop_thread
        await connection.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
        run_statements_here(connection, False)
        rows = await connection.execute_fetchall("SELECT thread() AS t, count(*) AS c FROM t")
        assert rows[0]["t"] != loop_thread and rows[0]["c"] == 2
    with contextlib.suppress(RuntimeError):
        async with engine.transaction(transaction_type=TransactionType.immediate) as transaction:
            run_statements_here(transaction.connection, True)
            await transaction.connection.executemany("INSERT INTO t VALUES (?)", [(3,)])
            raise RuntimeError("a fault after the insert")
    rows = await engine._run_in_new_connection("SELECT group_concat(v) AS vs FROM t")
    assert rows[0]["vs"] == "1,2"
    await engine.close_idle()


async def test_a_writer_begins_at_once_when_it_can_and_waits_off_the_loop_when_it_cannot(
    tmp_path: Path,
) -> None:
    """A BEGIN IMMEDIATE that can start at once starts on the loop's thread; one behind
    another process's writer waits on the connection's thread, the loop serving others
    meanwhile, and starts once the lock is free. Either way the connection keeps its busy
    timeout."""
    path = tmp_path / "begin.db"
    engine = PooledSQLiteEngine(path=str(path), timeout=5, check_same_thread=False)
    await engine._run_in_new_connection("CREATE TABLE t (v INTEGER)")

    async def write(value: int) -> int:
        async with engine.transaction(transaction_type=TransactionType.immediate) as transaction:
            run_statements_here(transaction.connection, True)
            await transaction.connection.executemany("INSERT INTO t VALUES (?)", [(value,)])
            rows = await transaction.connection.execute_fetchall("PRAGMA busy_timeout")
            run_statements_here(transaction.connection, False)
            return int(rows[0]["timeout"])

    assert await write(1) == 5000

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's writer
    waiting = asyncio.create_task(write(2))
    ticks = 0
    for _ in range(30):  # 0.3 s: the loop is free while the writer waits
        await asyncio.sleep(0.01)
        ticks += 1
    assert not waiting.done() and ticks == 30
    holder.execute("ROLLBACK")
    holder.close()
    assert await asyncio.wait_for(waiting, 5) == 5000
    rows = await engine._run_in_new_connection("SELECT group_concat(v) AS vs FROM t")
    assert rows[0]["vs"] == "1,2"
    await engine.close_idle()
