"""The SLA scheduler: turns clocks overdue at their due time, not at the next request.

One task per server process, started in the app's lifespan. It sleeps until the next
stored due time (`sla_clock.watch_at`, `supervision_order.watch_at`,
`rectification.watch_at`: services/overdue.py `next_watch`) through the clock source (so a test's
ManualClock wakes it when moved), and is woken early whenever the change feed moves —
any process's write pokes every hub (server/live/hub.py), and a write may have brought a
due time forward; a burst of writes costs at most one round per `min_gap_s` (0.2 s). It re-reads the next due time at least every `cap_s` real seconds as a
safety net.

Several server processes on one PostgreSQL database (`qingling serve --workers N`) run
one scheduler each, but only one of them fires: the leader, which holds a session
advisory lock (`LEADER_LOCK_KEY`) on a connection of its own. The others stand by and
try the lock every `standby_s` seconds; when the leader's process dies its connection
closes, PostgreSQL releases the lock, and one of them takes over. Firing stays
idempotent besides (server/services/overdue.py: each item is made inside a write
transaction, which takes the feed's advisory lock, after looking for it, and
`review_item.once_key` is unique), so a leader that lost its connection mid-round and a
new one overlapping for a moment still open each item once. On SQLite there is one
process, and it leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from server.core import db
from server.core.clock import ClockSource
from server.services import overdue

log = logging.getLogger("qingling.scheduler")

# The session advisory lock whose holder fires (any constant other than the feed's
# and the migrations' keys in server/core/db.py): "QLSL".
LEADER_LOCK_KEY = 0x51_4C_53_4C


class Leadership:
    """Who fires among the processes sharing a PostgreSQL database: whoever holds
    `LEADER_LOCK_KEY` on its own connection. Always the leader on SQLite."""

    def __init__(self) -> None:
        self._conn: Any = None

    async def held(self) -> bool:
        """Whether this process leads now: keeps the lock if it has it (the connection
        still answers), else tries to take it. Never waits for it."""
        engine = db.engine()
        if not isinstance(engine, PostgresEngine):
            return True
        if self._conn is not None:
            try:
                await self._conn.fetchval("SELECT 1")
                return True
            except Exception:  # noqa: BLE001 - the connection (so the lock) is gone
                log.warning("SLA scheduler: lost the leader's connection; standing by")
                await self.release()
        conn = await engine.get_new_connection()
        try:
            got = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK_KEY))
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._conn = conn
        log.info("SLA scheduler: this process fires the clocks (leader)")
        return True

    async def release(self) -> None:
        """Close the leader's connection, which releases the lock."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


class SlaScheduler:
    def __init__(
        self,
        clock: ClockSource,
        *,
        cap_s: float = 30.0,
        min_gap_s: float = 0.2,
        standby_s: float = 5.0,
    ) -> None:
        self.clock = clock
        self.cap_s = cap_s
        self.min_gap_s = min_gap_s
        # How often a process that does not lead tries to take over.
        self.standby_s = standby_s
        self.leadership = Leadership()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stopped: asyncio.Event | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="qingling-sla-scheduler")

    async def stop(self) -> None:
        """Let the current round finish, then end: a task cancelled inside a write
        transaction could leave SQLite's write lock held by a lost connection."""
        if self._task is None:
            return
        self._stopping = True
        if self._stopped is not None:
            self._stopped.set()
        self.nudge()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=10)
        except TimeoutError:
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        await self.leadership.release()

    def nudge(self) -> None:
        """Re-read the next due time now (safe from any thread)."""
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        assert self._wake is not None
        stopping = lambda: self._stopping  # noqa: E731 - read at each step
        if not await self._lead():
            return
        try:
            await overdue.backfill(stopping=stopping)
        except Exception:  # noqa: BLE001 - the loop below still fires what is stored
            log.exception("backfilling stored SLA clocks failed")
        last_round = -self.min_gap_s
        while not self._stopping:
            # Every write anywhere wakes the scheduler (a write may bring a due time
            # forward); under a burst of pushes one round per `min_gap_s` covers them all.
            gap = self.min_gap_s - (time.monotonic() - last_round)
            if gap > 0:
                await asyncio.sleep(gap)
                if self._stopping:
                    break
            last_round = time.monotonic()
            self._wake.clear()
            due = None
            cap = self.cap_s
            if not await self._lead():
                break
            try:
                now = self.clock.now()
                # What firing opens is published by the write path and announced at
                # commit, like every other write (server/core/announce.py). Most rounds
                # (a burst of pushes woke the scheduler) find nothing due: one statement.
                due = await overdue.next_watch()
                if due is not None and due < now:
                    await overdue.fire_due(now, stopping=stopping)
                    due = await overdue.next_watch()
                if due is not None and due < now and not self._stopping:
                    # Due in this round and still watched: its firing failed (logged).
                    # Retry in a while, not in a busy loop.
                    due, cap = None, min(cap, 5.0)
            except Exception:  # noqa: BLE001 - keep the scheduler alive; retry shortly
                log.exception("SLA scheduler round failed")
                await asyncio.sleep(1.0)
            if not self._stopping:
                await self.clock.wait(due, self._wake, cap)

    async def _lead(self) -> bool:
        """Wait until this process leads (True), or the scheduler stops (False)."""
        assert self._stopped is not None
        while not self._stopping:
            try:
                if await self.leadership.held():
                    return True
            except Exception:  # noqa: BLE001 - the database is away: try again later
                log.exception("SLA scheduler: could not ask for the leader's lock")
            # Standing by: a nudge (a write anywhere) does not make this process lead.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=self.standby_s)
        return False
