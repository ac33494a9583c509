"""Ids made on a device or on the server: time-ordered UUIDs (version 7, RFC 9562).

The first 48 bits are the Unix time in milliseconds, the rest random (74 bits). Ids made
later sort after ids made earlier (to the millisecond), so a table keyed by them grows at
the end of its index instead of at a random page of it. A push of 100 ops keyed by random
(version 4) UUIDs wrote ~100 pages of the event table's op_id index to the database's
log, one each; keyed by these, ~5 (docs/performance.md, session 19).

The server accepts any op id the protocol allows (PROTOCOL §2: made on the device,
unique forever); this is what Qingling's own clients make. Never use one as a secret: its
time is readable and only 74 of its bits are random.
"""

from __future__ import annotations

import os
import time
import uuid


def time_ordered_id(now_ns: int | None = None) -> str:
    """A new UUID version 7 as text, e.g. `019d8f4e-6a2b-7c3d-8e4f-a1b2c3d4e5f6`.
    `now_ns` (nanoseconds since the epoch) is for tests; by default the time now."""
    ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    value = int.from_bytes(os.urandom(10), "big")  # 80 random bits; 6 become version/variant
    rand_a = value >> 68  # 12 bits
    rand_b = value & ((1 << 62) - 1)  # 62 bits
    number = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=number))
