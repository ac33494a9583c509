"""Settings for the Qingling server, read from the environment in one place.

QINGLING_DATABASE_URL   sqlite:///path/to/file.db (default: ./var/qingling.db)
                        or postgresql://user:pass@host:port/db
QINGLING_HOST / QINGLING_PORT   where `qingling serve` listens (127.0.0.1:8000)
QINGLING_LOGIN_MAX_FAILURES     failures for one account from one address that throttle it (5)
QINGLING_LOGIN_FAILURE_WINDOW_S  ... counted over this many seconds (900)
QINGLING_LOGIN_ADDRESS_MAX_FAILURES  failures from one address, any accounts, that throttle
                                it for every sign-in (20)
QINGLING_LOGIN_ADDRESS_WINDOW_S ... counted over this many seconds (600)
QINGLING_LOGIN_HASH_SLOTS       password checks run at once (2)
QINGLING_LOGIN_HASH_QUEUE       sign-ins that may wait for a slot; more are answered 503 (4)
QINGLING_LOGIN_HASH_WAIT_S      how long one waits for a slot before 503 (1.0)
QINGLING_LOGIN_DB_WAIT_S        how long a sign-in waits for the database's write lock
                                before 503 (2.0)
QINGLING_TRUSTED_PROXIES        comma-separated addresses or networks of reverse proxies
                                whose X-Forwarded-For names the client (none)
QINGLING_SESSION_IDLE_HOURS     a token unused this long expires (12; fractions allowed)
QINGLING_SESSION_MAX_DAYS       a token expires this long after sign-in (30; fractions allowed)
QINGLING_PG_POOL_SIZE           PostgreSQL connections kept open (10; 0: one per query)
QINGLING_LIVE_POLL_S            the live hub's safety-net poll, in seconds (2)
QINGLING_WS_HELLO_TIMEOUT_S     how long a WebSocket may wait before its hello (10)
QINGLING_WS_COMPRESSION         permessage-deflate on WebSockets (1; 0 turns it off)
QINGLING_WS_BACKLOG             frames a socket may fall behind before it is closed (1000)
QINGLING_ALLOWED_ORIGINS        origins, comma-separated, whose pages may open the sync
                                WebSocket besides the server's own (none)
QINGLING_SLA_SCHEDULER          run the SLA scheduler in this process (1; 0 turns it off)
QINGLING_PWA_DIST               the field PWA's build folder served at / (pwa/dist in a
                                checkout, server/web/dist in an installed wheel)
QINGLING_PUBLIC_URL             the server's public address (https://host[/prefix]) printed on the
                                stations' rating posters (PROTOCOL §9); without it, the
                                address the poster was asked on
QINGLING_ARRIVAL_MAX_DISTANCE_M an arrival farther than this from the incident is flagged
                                `far_arrival` for review (1000; 0 turns the check off)
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from server.core.clock import ClockSource, SystemClock

DEFAULT_DATABASE_URL = "sqlite:///var/qingling.db"
# The largest request body (HTTP) and WebSocket message the server reads (PROTOCOL §3,
# §12); WebSocket messages are measured after permessage-deflate.
MAX_MESSAGE_BYTES = 1_048_576
# The front ends' folders: `dist` (the field PWA as `make pwa` builds it), `command`,
# `core` and `rate`. An installed wheel carries them inside the package, in server/web/
# (`make dist` puts them there); a checkout has them in pwa/ beside server/. Either way
# relative to the code, never to the working folder.
PACKAGED_WEB = Path(__file__).resolve().parents[1] / "web"
CHECKOUT_WEB = Path(__file__).resolve().parents[2] / "pwa"


def web_folder(name: str) -> Path:
    """One front end's folder: the installed package's copy if it has one, else the
    checkout's (pwa/<name>)."""
    packaged = PACKAGED_WEB / name
    return packaged if packaged.is_dir() else CHECKOUT_WEB / name


DEFAULT_PWA_DIST = str(web_folder("dist"))


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def _float_env(name: str, default: float, *, zero_allowed: bool = False) -> float:
    """A positive number from the environment (or zero, where zero turns a check off)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from exc
    if value == 0 and zero_allowed:
        return value
    if not value > 0 or value == float("inf"):
        raise SystemExit(f"{name} must be a positive number, got {raw!r}")
    return value


def _proxies_env(name: str) -> tuple[str, ...]:
    """Addresses or networks, comma-separated; each is checked here, once, at start."""
    raw = os.environ.get(name) or ""
    proxies = tuple(part.strip() for part in raw.split(",") if part.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError as exc:
            raise SystemExit(f"{name}: {proxy!r} is not an IP address or network") from exc
    return proxies


def _url_env(name: str) -> str:
    """An http(s) base URL from the environment, without its trailing slash; "" if unset."""
    raw = (os.environ.get(name) or "").strip().rstrip("/")
    if raw and not raw.startswith(("http://", "https://")):
        raise SystemExit(f"{name} must start with http:// or https://, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to start; tests build their own."""

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    # Sign-in limits (PROTOCOL §12, server/access/login_limits.py). Failures for one
    # account from one address: this many within the window throttle that pair.
    login_max_failures: int = 5
    login_failure_window_s: int = 900
    # Failures from one address, whatever the accounts: this many within the window
    # throttle every sign-in from it.
    login_address_max_failures: int = 20
    login_address_window_s: int = 600
    # Password hashing runs on a bounded pool: `login_hash_slots` at once (argon2 takes
    # 64 MiB and a few hundred ms each), `login_hash_queue` more waiting at most
    # `login_hash_wait_s`; anything beyond is answered 503 at once.
    login_hash_slots: int = 2
    login_hash_queue: int = 4
    login_hash_wait_s: float = 1.0
    # A sign-in waits at most this long for the database's write lock, then answers 503.
    login_db_wait_s: float = 2.0
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks); the
    # client address is otherwise the TCP peer.
    trusted_proxies: tuple[str, ...] = ()
    # Sessions: a token expires after this long unused, and this long after sign-in.
    session_idle_hours: float = 12.0
    session_max_days: float = 30.0
    # PostgreSQL connection pool size, for the app's own event loop (queries from any other
    # loop, such as a test's, open a connection each: LoopBoundPostgresEngine); 0 opens a
    # connection per query everywhere.
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
    # How often a device's last_seen_at is written at most (seconds). Idle expiry reads
    # it, and allows this much on top, so a token is never ended early.
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
    # The server's public address as citizens reach it (scheme://host[/prefix], no
    # trailing slash), for the rating posters' QR codes (PROTOCOL §9); empty: the base
    # URL of the request that asked for the poster.
    public_url: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("QINGLING_DATABASE_URL") or DEFAULT_DATABASE_URL,
            host=os.environ.get("QINGLING_HOST") or "127.0.0.1",
            port=_int_env("QINGLING_PORT", 8000),
            login_max_failures=_int_env("QINGLING_LOGIN_MAX_FAILURES", 5),
            login_failure_window_s=_int_env("QINGLING_LOGIN_FAILURE_WINDOW_S", 900),
            login_address_max_failures=_int_env("QINGLING_LOGIN_ADDRESS_MAX_FAILURES", 20),
            login_address_window_s=_int_env("QINGLING_LOGIN_ADDRESS_WINDOW_S", 600),
            login_hash_slots=max(1, _int_env("QINGLING_LOGIN_HASH_SLOTS", 2)),
            login_hash_queue=max(0, _int_env("QINGLING_LOGIN_HASH_QUEUE", 4)),
            login_hash_wait_s=_float_env("QINGLING_LOGIN_HASH_WAIT_S", 1.0),
            login_db_wait_s=_float_env("QINGLING_LOGIN_DB_WAIT_S", 2.0),
            trusted_proxies=_proxies_env("QINGLING_TRUSTED_PROXIES"),
            session_idle_hours=_float_env("QINGLING_SESSION_IDLE_HOURS", 12.0),
            session_max_days=_float_env("QINGLING_SESSION_MAX_DAYS", 30.0),
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
            arrival_max_distance_m=_float_env(
                "QINGLING_ARRIVAL_MAX_DISTANCE_M", 1000.0, zero_allowed=True
            ),
            public_url=_url_env("QINGLING_PUBLIC_URL"),
        )
