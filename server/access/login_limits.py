"""Sign-in limits (PROTOCOL §12): failures counted per account and client address, and
per address, atomically; password checks on a bounded pool.

A sign-in goes through these steps (server/access/accounts.py `login`):

1. `HashPool.full`, then `screen` — with the pool full (for this address) the answer is 503 before any
   database work; otherwise a read, no lock: an address, or an (account, address)
   pair, already over its limit is answered 429. A flood from one address turns into
   cheap 429s once it has failed `login_address_max_failures` times, and never holds a
   place in the pool, so others still get in.
2. `HashPool.admit` — at most `login_hash_slots + login_hash_queue` sign-ins are past
   this point at once, and at most `login_hash_slots` from any one address; the next
   is answered 503 at once (not a failure).
3. `reserve` — in a write transaction, the same count again, now including attempts
   still being checked, and a `pending` row inserted: of any number of parallel
   attempts for one account from one address at most `login_max_failures` get past
   here, because each one counts the others' pending rows.
4. `HashPool.check` — waits at most `login_hash_wait_s` for a slot (else 503 and the
   reservation is withdrawn), then runs argon2 in a thread. Unknown usernames are
   checked against a dummy hash on the same pool: they cost as much as known ones and
   no more.
5. `settle` — the row becomes `failed` or `ok`. A row left `pending` (the process died
   mid-check) counts as a failure until it ages out of the window.

What counts: `failed` and `pending` rows within the window. A successful sign-in does
not wipe earlier failures (PROTOCOL: "until fewer than five of its failures lie in the
last 15 minutes"). While the pair has failures in its window, a success counts too,
for a minute after it (PARALLEL_WINDOW): a burst of parallel guesses that holds the
right password, retried as answers come back, gets no sixth check out of it. Without
failures, successes count for nothing (one person's devices signing in one after
another). 429 and 503 write no row.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

from server.core import audit
from server.core.clock import as_utc, utcnow
from server.core.config import Settings
from server.core.db import write_transaction
from server.core.errors import Throttled, Unavailable
from server.core.ids import new_id
from server.core.loops import PerLoop
from server.core.tables import LoginAttempt

T = TypeVar("T")

# A successful check still counts towards the pair's limit for this long, when the pair
# has failures: a burst of parallel guesses that holds the right password gets no more
# checks for it.
PARALLEL_WINDOW = timedelta(seconds=60)
# How often (at most) this process deletes rows older than every window.
PURGE_EVERY = timedelta(seconds=60)
_last_purge: datetime | None = None


def _retry_after(since: datetime, window_s: int, now: datetime) -> int:
    return max(1, math.ceil((as_utc(since) + timedelta(seconds=window_s) - now).total_seconds()))


async def _verdict(
    username: str, address: str, now: datetime, settings: Settings
) -> Throttled | None:
    """The 429 this attempt gets, or None if it may be checked."""
    address_window = now - timedelta(seconds=settings.login_address_window_s)
    recent = await LoginAttempt.raw(
        'SELECT at FROM "login_attempt" WHERE address = {} AND outcome <> {} AND at > {} '
        "ORDER BY at DESC LIMIT {}",
        address,
        "ok",
        address_window,
        settings.login_address_max_failures,
    )
    if len(recent) >= settings.login_address_max_failures:
        return Throttled(
            "too many failed sign-ins from this address; try again later",
            retry_after_s=_retry_after(recent[-1]["at"], settings.login_address_window_s, now),
        )

    account_window = now - timedelta(seconds=settings.login_failure_window_s)
    rows = await LoginAttempt.raw(
        'SELECT outcome, at FROM "login_attempt" WHERE username = {} AND address = {} AND at > {}',
        username,
        address,
        account_window,
    )
    failures = [as_utc(r["at"]) for r in rows if r["outcome"] != "ok"]
    # Successes count only beside failures: many devices of one person signing in one
    # after another from one office are never held up.
    recent_ok = sorted(
        as_utc(r["at"])
        for r in rows
        if failures and r["outcome"] == "ok" and as_utc(r["at"]) > now - PARALLEL_WINDOW
    )
    limit = settings.login_max_failures
    if len(failures) >= limit:
        settled = sorted((as_utc(r["at"]) for r in rows if r["outcome"] == "failed"), reverse=True)
        if len(settled) >= limit:
            retry = _retry_after(settled[limit - 1], settings.login_failure_window_s, now)
        else:
            # Some are still being checked: they settle within a few seconds.
            retry = 1 + math.ceil(settings.login_hash_wait_s)
        return Throttled(
            "too many failed sign-ins for this account from this address; try again later",
            retry_after_s=retry,
        )
    if len(failures) + len(recent_ok) >= limit:
        return Throttled(
            "too many sign-ins for this account from this address at once; try again in a moment",
            retry_after_s=_retry_after(recent_ok[0], int(PARALLEL_WINDOW.total_seconds()), now),
        )
    return None


async def screen(username: str, address: str, settings: Settings) -> None:
    """Step 1: Throttled if the address or the pair is already over its limit."""
    verdict = await _verdict(username, address, utcnow(), settings)
    if verdict is not None:
        raise verdict


async def reserve(username: str, address: str, settings: Settings) -> str:
    """Step 3: count again and hold a place atomically; returns the attempt's id."""
    global _last_purge
    async with write_transaction(wait_s=settings.login_db_wait_s):
        now = utcnow()
        verdict = await _verdict(username, address, now, settings)
        if verdict is not None:
            raise verdict
        attempt_id = new_id()
        await LoginAttempt.insert(
            LoginAttempt(
                id=attempt_id, username=username, address=address, outcome="pending", at=now
            )
        )
        if _last_purge is None or not (now - PURGE_EVERY < _last_purge <= now):
            await purge(now, settings)
            _last_purge = now
    return attempt_id


async def purge(now: datetime, settings: Settings) -> None:
    """Delete attempts older than every window: they count towards nothing."""
    longest = max(settings.login_failure_window_s, settings.login_address_window_s)
    await LoginAttempt.delete().where(LoginAttempt.at < now - timedelta(seconds=longest))


async def settle(
    attempt_id: str, ok: bool, settings: Settings, *, failure: audit.Act | None = None
) -> None:
    """Step 5: the attempt failed or succeeded; a failure goes to the audit log in the
    same transaction (a success is audited where the device is enrolled)."""
    async with write_transaction(wait_s=settings.login_db_wait_s):
        if not ok and failure is not None:
            await audit.append_many([failure])
        await LoginAttempt.update(
            {LoginAttempt.outcome: "ok" if ok else "failed", LoginAttempt.at: utcnow()}
        ).where(LoginAttempt.id == attempt_id)


async def withdraw(attempt_id: str, settings: Settings) -> None:
    """An attempt answered 503 before its password was checked: not a failure."""
    async with write_transaction(wait_s=settings.login_db_wait_s):
        await LoginAttempt.delete().where(LoginAttempt.id == attempt_id)


class HashPool:
    """Password hashing on a bounded pool: `slots` checks at once, `queue` more waiting,
    the rest refused at once (Unavailable). Each argon2 check holds 64 MiB, so this
    bounds the memory a flood of sign-ins can take.

    The checks run on the pool's own threads, at a lower CPU priority (HASH_NICE; the
    threads argon2 starts for its lanes inherit it): on a small machine a flood of
    sign-ins would otherwise take every core from the event loop, and signed-in calls
    with it. Sign-ins are what waits, and past `login_hash_wait_s` they get 503.
    """

    def __init__(self, slots: int, queue: int) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._limit = slots + queue
        self._admitted = 0
        # No one address may hold more than `slots` places: a flood from one address
        # leaves the queue to everyone else.
        self._per_address = slots
        self._by_address: dict[str, int] = {}
        self._threads = ThreadPoolExecutor(
            max_workers=slots, thread_name_prefix="qingling-hash", initializer=_lower_priority
        )

    def full(self, address: str) -> bool:
        """Would `admit` refuse a sign-in from `address` now? (Asked before any database
        work, so a flood that the pool refuses costs nothing else.)"""
        return (
            self._admitted >= self._limit or self._by_address.get(address, 0) >= self._per_address
        )

    @contextlib.contextmanager
    def admit(self, address: str) -> Iterator[None]:
        """Step 2: a place among the sign-ins being handled, or 503 at once."""
        if self.full(address):
            raise busy()
        self._admitted += 1
        self._by_address[address] = self._by_address.get(address, 0) + 1
        try:
            yield
        finally:
            self._admitted -= 1
            left = self._by_address[address] - 1
            if left:
                self._by_address[address] = left
            else:
                del self._by_address[address]

    async def check(self, work: Callable[[], T], wait_s: float) -> T:
        """Step 4: run `work` (a password check) on a free slot, waiting at most `wait_s`."""
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=wait_s)
        except TimeoutError:
            raise busy() from None
        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, work)
        finally:
            self._slots.release()


def busy() -> Unavailable:
    """The 503 a sign-in gets when the pool has no place for it (not a failure)."""
    return Unavailable("too many sign-ins at once; retry shortly", retry_after_s=2)


# The hashing threads' nice value: below the event loop's, so it is served first.
HASH_NICE = 10


def _lower_priority() -> None:
    # Linux keeps a nice value per thread, and threads started later inherit it.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)


# One pool per event loop (an asyncio semaphore belongs to one loop) and size.
_pools: PerLoop[dict[tuple[int, int], HashPool]] = PerLoop(dict)


def hash_pool(settings: Settings) -> HashPool:
    """This event loop's password-hashing pool for `settings`."""
    per_loop = _pools.get()
    key = (settings.login_hash_slots, settings.login_hash_queue)
    pool = per_loop.get(key)
    if pool is None:
        pool = per_loop[key] = HashPool(*key)
    return pool
