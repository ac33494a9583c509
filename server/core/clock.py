"""Time helpers: the server's clock source, UTC now, and the Asia/Shanghai day used for
numbers and reports.

Every "now" the server reads goes through `utcnow()`, which asks the installed clock
source: the system clock in production, a `ManualClock` that tests move by hand
(Settings.clock; create_app installs it). The SLA scheduler also *waits* through the
clock source, so moving a ManualClock past a due time wakes it at once.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class ClockSource(Protocol):
    """Where the server's "now" comes from."""

    def now(self) -> datetime: ...

    async def wait(self, until: datetime | None, wake: asyncio.Event, cap_s: float) -> None:
        """Return once `until` has passed, `wake` is set, or `cap_s` real seconds went by."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def wait(self, until: datetime | None, wake: asyncio.Event, cap_s: float) -> None:
        timeout = cap_s
        if until is not None:
            timeout = min(cap_s, max(0.0, (until - self.now()).total_seconds()))
        try:
            await asyncio.wait_for(wake.wait(), timeout=timeout)
        except TimeoutError:
            pass


class ManualClock:
    """A clock that only moves when told to (tests). Thread-safe: the test moves it from
    its own thread while the app waits on it in another event loop."""

    def __init__(self, start: datetime) -> None:
        self._now = as_utc(start)
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, value: datetime) -> None:
        with self._lock:
            self._now = as_utc(value)
            waiters, self._waiters = self._waiters, []
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)

    async def wait(self, until: datetime | None, wake: asyncio.Event, cap_s: float) -> None:
        with self._lock:  # check and register at once: a move in between would be missed
            if until is not None and self._now >= until:
                return
            self._waiters.append((asyncio.get_running_loop(), wake))
        try:
            await asyncio.wait_for(wake.wait(), timeout=cap_s)
        except TimeoutError:
            pass


_clock: ClockSource = SystemClock()


def use_clock(clock: ClockSource) -> None:
    """Install the process's clock source (create_app does, from Settings.clock)."""
    global _clock
    _clock = clock


def clock() -> ClockSource:
    return _clock


def utcnow() -> datetime:
    return _clock.now()


def as_utc(value: datetime) -> datetime:
    """A timezone-aware datetime in UTC (naive values from a database are UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def as_utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def stored_utc(value: datetime | str | None) -> datetime | None:
    """A stored time as a raw query gives it, in UTC: a datetime on PostgreSQL; on SQLite
    the stored text (Piccolo's, `str()` of a UTC datetime) wherever the column's declared
    type does not reach the result (an aggregate, a subquery, a union)."""
    if value is None:
        return None
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def local_day(value: datetime, tz: ZoneInfo = SHANGHAI) -> date:
    return as_utc(value).astimezone(tz).date()


def day_bounds(day: date, tz: ZoneInfo = SHANGHAI) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of a calendar day in `tz`."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    # From the next local midnight, not start + 24 h: right in a zone with DST too.
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    return as_utc(start), as_utc(end)
