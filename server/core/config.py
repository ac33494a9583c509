"""Settings for the Qingling server, read from the environment in one place.

QINGLING_DATABASE_URL   sqlite:///path/to/file.db (default: ./var/qingling.db)
                        or postgresql://user:pass@host:port/db
QINGLING_HOST / QINGLING_PORT   where `qingling serve` listens (127.0.0.1:8000)
QINGLING_LOGIN_MAX_FAILURES     wrong passwords in a row before a login is throttled (5)
QINGLING_LOGIN_LOCKOUT_S        how long a throttled login waits, in seconds (300)
QINGLING_PG_POOL_SIZE           PostgreSQL connections kept open (10; 0: one per query)
QINGLING_LIVE_POLL_S            the live hub's safety-net poll, in seconds (2)
QINGLING_WS_HELLO_TIMEOUT_S     how long a WebSocket may wait before its hello (10)
QINGLING_WS_COMPRESSION         permessage-deflate on WebSockets (1; 0 turns it off)
QINGLING_WS_BACKLOG             frames a socket may fall behind before it is closed (1000)
QINGLING_ALLOWED_ORIGINS        origins, comma-separated, whose pages may open the sync
                                WebSocket besides the server's own (none)
QINGLING_SLA_SCHEDULER          run the SLA scheduler in this process (1; 0 turns it off)
QINGLING_PWA_DIST               the field PWA's build folder served at / (pwa/dist)
QINGLING_ARRIVAL_MAX_DISTANCE_M an arrival farther than this from the incident is flagged
                                `far_arrival` for review (1000; 0 turns the check off)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from server.core.clock import ClockSource, SystemClock

DEFAULT_DATABASE_URL = "sqlite:///var/qingling.db"
# The largest request body (HTTP) and WebSocket message the server reads (PROTOCOL §3,
# §12); WebSocket messages are measured after permessage-deflate.
MAX_MESSAGE_BYTES = 1_048_576
# The field PWA as `make pwa` builds it (relative to the checkout, not the working folder).
DEFAULT_PWA_DIST = str(Path(__file__).resolve().parents[2] / "pwa" / "dist")


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from exc


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to start; tests build their own."""

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    login_max_failures: int = 5
    login_lockout_s: int = 300
    # Failures older than this no longer count towards the limit.
    login_failure_window_s: int = 900
    # PostgreSQL connection pool size; 0 opens a connection per query (tests, whose
    # client runs the app on another event loop than the test's own queries).
    pg_pool_size: int = 10
    # How often the live hub re-reads the feed head and checks open sockets' devices
    # even without a poke (seconds): the safety net under the channels.
    live_poll_s: float = 2.0
    # How long a new WebSocket may take to send its hello (PROTOCOL §5: 10 s).
    ws_hello_timeout_s: float = 10.0
    # permessage-deflate: a phone on a weak link gets a third of the bytes, but the server
    # compresses every frame once per socket (docs/performance.md has both figures).
    ws_compression: bool = True
    # A socket whose reader has fallen this many frames behind is closed (4408); it
    # resumes from its cursor when it reconnects, so nothing is lost, and a stalled
    # reader cannot make the server hold an ever-growing queue.
    ws_backlog: int = 1000
    # Origins (scheme://host[:port]) whose pages may open the sync WebSocket, besides the
    # server's own; a socket without an Origin (a native client) is always allowed.
    allowed_origins: tuple[str, ...] = ()
    # How often a device's last_seen_at is written at most (seconds).
    last_seen_resolution_s: int = 60
    # Where "now" comes from: the system clock, or a ManualClock in tests (SLA clocks,
    # the scheduler, reports and every timestamp the server writes read it).
    clock: ClockSource = field(default_factory=SystemClock)
    # The SLA scheduler turns clocks overdue at their due time (server/live/scheduler.py).
    sla_scheduler: bool = True
    # The longest the scheduler sleeps without re-reading the next due time, in real
    # seconds: the safety net under the wake-ups that writes send it.
    sla_scheduler_cap_s: float = 30.0
    # The field PWA's build (another one in the browser tests, to deploy a new version).
    pwa_dist: str = DEFAULT_PWA_DIST
    # An arrival recorded farther than this from the incident's position (both known) is
    # flagged `far_arrival` for review, in metres; 0 turns the check off.
    arrival_max_distance_m: float = 1000.0
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("QINGLING_DATABASE_URL") or DEFAULT_DATABASE_URL,
            host=os.environ.get("QINGLING_HOST") or "127.0.0.1",
            port=_int_env("QINGLING_PORT", 8000),
            login_max_failures=_int_env("QINGLING_LOGIN_MAX_FAILURES", 5),
            login_lockout_s=_int_env("QINGLING_LOGIN_LOCKOUT_S", 300),
            pg_pool_size=_int_env("QINGLING_PG_POOL_SIZE", 10),
            live_poll_s=float(os.environ.get("QINGLING_LIVE_POLL_S") or 2.0),
            ws_hello_timeout_s=float(os.environ.get("QINGLING_WS_HELLO_TIMEOUT_S") or 10.0),
            ws_compression=_int_env("QINGLING_WS_COMPRESSION", 1) != 0,
            ws_backlog=_int_env("QINGLING_WS_BACKLOG", 1000),
            allowed_origins=tuple(
                origin.strip()
                for origin in (os.environ.get("QINGLING_ALLOWED_ORIGINS") or "").split(",")
                if origin.strip()
            ),
            sla_scheduler=_int_env("QINGLING_SLA_SCHEDULER", 1) != 0,
            pwa_dist=os.environ.get("QINGLING_PWA_DIST") or DEFAULT_PWA_DIST,
            arrival_max_distance_m=_float_env("QINGLING_ARRIVAL_MAX_DISTANCE_M", 1000.0),
        )
