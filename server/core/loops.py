"""Values that belong to one event loop: an asyncio lock, a queue and its flusher, a pool
of semaphores. Each test (and each app under Litestar's test client) runs its own loop,
so such a value is made per loop, on first use.

Keyed by the loop itself, weakly: a closed loop's value goes with it, and a new loop that
happens to get a closed one's id() never inherits a lock or a queue bound to the old one.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def call_on(loop: asyncio.AbstractEventLoop, callback: Callable[..., Any], *args: Any) -> None:
    """Run `callback(*args)` on `loop`: now, when that loop is the one running here;
    otherwise soon, handed to it thread-safely (a loop's objects are not thread-safe)."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        callback(*args)
    else:
        loop.call_soon_threadsafe(callback, *args)


class PerLoop(Generic[T]):
    """`get()` is the running loop's value, made by `make()` the first time."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._values: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        value = self._values.get(loop)
        if value is None:
            value = self._values[loop] = self._make()
        return value
