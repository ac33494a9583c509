"""The SLA scheduler: turns clocks overdue at their due time, not at the next request.

One task per server process, started in the app's lifespan. It sleeps until the next
stored due time (`sla_clock.watch_at`, `supervision_order.watch_at`,
`rectification.watch_at`: services/overdue.py `next_watch`) through the clock source (so a test's
ManualClock wakes it when moved), and is woken early whenever the change feed moves —
any process's write pokes every hub (server/live/hub.py), and a write may have brought a
due time forward; a burst of writes costs at most one round per `min_gap_s` (0.2 s). It re-reads the next due time at least every `cap_s` real seconds as a
safety net. Firing is idempotent (server/overdue.py), so several processes may run
it side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from server.core.clock import ClockSource
from server.services import overdue

log = logging.getLogger("qingling.scheduler")


class SlaScheduler:
    def __init__(
        self,
        clock: ClockSource,
        *,
        cap_s: float = 30.0,
        min_gap_s: float = 0.2,
    ) -> None:
        self.clock = clock
        self.cap_s = cap_s
        self.min_gap_s = min_gap_s
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="qingling-sla-scheduler")

    async def stop(self) -> None:
        """Let the current round finish, then end: a task cancelled inside a write
        transaction could leave SQLite's write lock held by a lost connection."""
        if self._task is None:
            return
        self._stopping = True
        self.nudge()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=10)
        except TimeoutError:
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task

    def nudge(self) -> None:
        """Re-read the next due time now (safe from any thread)."""
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        assert self._wake is not None
        stopping = lambda: self._stopping  # noqa: E731 - read at each step
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
            try:
                now = self.clock.now()
                # What firing opens is published by the write path and announced at
                # commit, like every other write (server/core/announce.py).
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
