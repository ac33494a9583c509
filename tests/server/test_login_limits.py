"""Sign-in limits (PROTOCOL §12), in process with a ManualClock.

What needs real parallelism, real client addresses or a real flood runs against a
server process: tests/server/test_login_flood.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from litestar import Request

from server.access import login_limits
from server.core.clock import ManualClock
from server.core.config import Settings
from server.core.db import _FEED_LOCK_KEY, engine
from server.core.errors import BadRequest, Unavailable
from server.core.tables import LoginAttempt
from server.http.peer import client_address
from server.services.admin import add_user
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
from tests.server.conftest import PASSWORD, Bureau

START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(clock: ManualClock) -> Settings:
    return Settings(database_url=TEST_DATABASE_URL, clock=clock, login_db_wait_s=0.5)


async def sign_in(bureau: Bureau, username: str, password: str) -> tuple[int, dict[str, str]]:
    r = await bureau.client.post(
        "/api/auth/login", json={"username": username, "password": password}
    )
    return r.status_code, dict(r.headers)


async def outcomes() -> dict[str, int]:
    rows = await LoginAttempt.select(LoginAttempt.outcome)
    out: dict[str, int] = {}
    for row in rows:
        out[row["outcome"]] = out.get(row["outcome"], 0) + 1
    return out


async def test_failures_age_out_one_by_one(bureau: Bureau, clock: ManualClock) -> None:
    # One wrong password a minute: t+0 .. t+4.
    for _ in range(5):
        assert (await sign_in(bureau, "officer_a", "guess"))[0] == 401
        clock.advance(timedelta(minutes=1))
    # Now t+5: the oldest failure (t+0) leaves the window at t+15.
    status, headers = await sign_in(bureau, "officer_a", PASSWORD)
    assert status == 429
    assert int(headers["retry-after"]) == 10 * 60
    # A 429 is not a failure: the count is what it was.
    assert await outcomes() == {"failed": 5}
    clock.set(START + timedelta(minutes=15, seconds=1))
    status, _ = await sign_in(bureau, "officer_a", PASSWORD)
    assert status == 200
    # A minute on (t+16:02), three failures are still in the window (t+2 .. t+4): two
    # more lock the pair again, until the one at t+2 leaves it.
    clock.advance(timedelta(seconds=61))
    assert (await sign_in(bureau, "officer_a", "guess"))[0] == 401
    assert (await sign_in(bureau, "officer_a", "guess"))[0] == 401
    status, headers = await sign_in(bureau, "officer_a", PASSWORD)
    assert status == 429
    assert int(headers["retry-after"]) == 58


async def test_a_good_sign_in_does_not_wipe_the_failures(
    bureau: Bureau, clock: ManualClock
) -> None:
    """PROTOCOL §12 counts failures in the last 15 minutes, successes in between or not:
    a guesser who holds one right password gains nothing by signing in. A success also
    counts towards the five for a minute, so a burst holding the right password gets no
    sixth check."""
    for _ in range(4):
        assert (await sign_in(bureau, "officer_a", "guess"))[0] == 401
    assert (await sign_in(bureau, "officer_a", PASSWORD))[0] == 200
    status, headers = await sign_in(bureau, "officer_a", PASSWORD)
    assert status == 429 and int(headers["retry-after"]) == 60
    clock.advance(timedelta(seconds=61))
    assert (await sign_in(bureau, "officer_a", PASSWORD))[0] == 200
    clock.advance(timedelta(seconds=61))
    assert (await sign_in(bureau, "officer_a", "guess"))[0] == 401
    # Five failures in the last 15 minutes: the right password waits for the first to
    # leave the window (it was at t+0; now is t+2:02).
    status, headers = await sign_in(bureau, "officer_a", PASSWORD)
    assert status == 429 and int(headers["retry-after"]) == 15 * 60 - 122
    # Another account from the same address is free.
    assert (await sign_in(bureau, "officer_b", PASSWORD))[0] == 200
    assert await outcomes() == {"failed": 5, "ok": 3}


async def test_successes_alone_never_throttle(bureau: Bureau) -> None:
    """One person's devices signing in one after another from one office (and the
    storm simulator's fifty) are never held up: successes count only beside failures."""
    for _ in range(12):
        assert (await sign_in(bureau, "officer_a", PASSWORD))[0] == 200


async def test_twenty_failures_from_an_address_throttle_every_sign_in_from_it(
    bureau: Bureau, clock: ManualClock
) -> None:
    # Twenty wrong guesses at twenty usernames (most of them unknown) from one address.
    for i in range(20):
        assert (await sign_in(bureau, f"guess-{i}", "guess"))[0] == 401
    # Now even an untouched account with its right password gets 429 from there.
    status, headers = await sign_in(bureau, "officer_b", PASSWORD)
    assert status == 429
    assert int(headers["retry-after"]) == 10 * 60
    assert await outcomes() == {"failed": 20}
    clock.advance(timedelta(minutes=10, seconds=1))
    assert (await sign_in(bureau, "officer_b", PASSWORD))[0] == 200


async def test_old_attempts_are_purged(bureau: Bureau, clock: ManualClock) -> None:
    for i in range(3):
        assert (await sign_in(bureau, f"nobody-{i}", "guess"))[0] == 401
    assert await LoginAttempt.count() == 3
    clock.advance(timedelta(minutes=16))
    assert (await sign_in(bureau, "officer_a", PASSWORD))[0] == 200
    # The three are gone; only the fresh attempt is left.
    rows = await LoginAttempt.select(LoginAttempt.username, LoginAttempt.outcome)
    assert rows == [{"username": "officer_a", "outcome": "ok"}]


async def test_a_sign_in_on_a_locked_database_answers_503_quickly(
    bureau: Bureau, settings: Settings
) -> None:
    async with writer_lock_held_elsewhere():
        started = time.monotonic()
        r = await bureau.client.post(
            "/api/auth/login", json={"username": "officer_a", "password": PASSWORD}
        )
        took = time.monotonic() - started
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "unavailable"
        assert int(r.headers["retry-after"]) >= 1
        # Bounded by login_db_wait_s (0.5 s here), not the 30 s a push may wait.
        assert took < 5, took
    # Nothing was recorded: a 503 is not a failure.
    assert await LoginAttempt.count() == 0
    assert (await sign_in(bureau, "officer_a", PASSWORD))[0] == 200


@contextlib.asynccontextmanager
async def writer_lock_held_elsewhere() -> AsyncIterator[None]:
    """Another connection holds the write lock (SQLite's, or PostgreSQL's advisory lock
    every writer takes), with the server's own timeouts left as they are."""
    if ON_POSTGRES:
        other = await asyncpg.connect(**engine().config)  # type: ignore[attr-defined]
        try:
            await other.execute("SELECT pg_advisory_lock($1)", _FEED_LOCK_KEY)
            yield
        finally:
            await other.close()
        return
    blocker = sqlite3.connect(engine().path, timeout=0)  # type: ignore[attr-defined]
    try:
        blocker.execute("BEGIN IMMEDIATE")
        yield
    finally:
        blocker.rollback()
        blocker.close()


async def test_the_hash_pool_admits_a_bounded_number_and_waits_a_bounded_time() -> None:
    pool = login_limits.HashPool(slots=1, queue=2)
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow() -> str:
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=10)
        return "done"

    async def one() -> str:
        with pool.admit("198.51.100.1"):
            return await pool.check(slow, wait_s=5)

    first = asyncio.create_task(one())
    await asyncio.sleep(0.1)
    # The first holds the slot, and all its address may hold (one slot's worth) ...
    assert pool.full("198.51.100.1") and not pool.full("198.51.100.2")
    with pytest.raises(Unavailable):
        with pool.admit("198.51.100.1"):
            pass
    # ... while two others may wait (the queue of two) ...
    with pool.admit("198.51.100.2"), pool.admit("198.51.100.3"):
        # ... and a fourth, from anywhere, is refused at once.
        assert pool.full("198.51.100.4")
        with pytest.raises(Unavailable):
            with pool.admit("198.51.100.4"):
                pass
        # A waiting one gives up after its wait, with 503.
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await pool.check(lambda: "never", wait_s=0.3)
        assert 0.25 < time.monotonic() - started < 2
    release.set()
    assert await first == "done"
    # Everything was given back.
    assert not pool.full("198.51.100.1")
    with pool.admit("198.51.100.1"):
        assert await pool.check(lambda: "again", wait_s=1) == "again"


def request_from(peer: str, forwarded: list[str] | None = None) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded or []]
    return Request(
        scope={  # type: ignore[arg-type]
            "type": "http",
            "method": "POST",
            "path": "/api/auth/login",
            "headers": headers,
            "client": (peer, 40000),
            "query_string": b"",
        }
    )


def test_the_client_address_is_the_peer_unless_a_trusted_proxy_says_otherwise() -> None:
    plain = Settings()
    proxied = Settings(trusted_proxies=("127.0.0.1", "10.9.0.0/16"))
    # No trusted proxy: X-Forwarded-For is anyone's to write, and ignored.
    assert client_address(request_from("127.0.0.1", ["198.51.100.7"]), plain) == "127.0.0.1"
    # From a trusted proxy: the hop it received the request from.
    assert client_address(request_from("127.0.0.1", ["198.51.100.7"]), proxied) == "198.51.100.7"
    # Entries a client wrote to the left of it are not believed; trusted hops are skipped.
    assert (
        client_address(request_from("127.0.0.1", ["1.2.3.4, 198.51.100.7, 10.9.3.3"]), proxied)
        == "198.51.100.7"
    )
    assert (
        client_address(request_from("127.0.0.1", ["1.2.3.4", "198.51.100.7"]), proxied)
        == "198.51.100.7"
    )
    # A peer that is not a trusted proxy is the client, whatever it forwards.
    assert client_address(request_from("192.0.2.9", ["198.51.100.7"]), proxied) == "192.0.2.9"
    # Garbage where the proxy's entry should be: the proxy itself is what we know.
    assert client_address(request_from("127.0.0.1", ["not-an-address"]), proxied) == "127.0.0.1"
    assert client_address(request_from("127.0.0.1", []), proxied) == "127.0.0.1"
    # IPv6, with a port as some proxies write it.
    assert (
        client_address(request_from("127.0.0.1", ["[2001:db8::1]:443"]), proxied) == "2001:db8::1"
    )


def test_trusted_proxies_and_session_lengths_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QINGLING_TRUSTED_PROXIES", " 127.0.0.1, 10.0.0.0/8 ,")
    monkeypatch.setenv("QINGLING_SESSION_IDLE_HOURS", "0.5")
    monkeypatch.setenv("QINGLING_SESSION_MAX_DAYS", "7")
    settings = Settings.from_env()
    assert settings.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert settings.session_idle_hours == 0.5 and settings.session_max_days == 7
    for name, value in [
        ("QINGLING_TRUSTED_PROXIES", "proxy.example"),
        ("QINGLING_SESSION_IDLE_HOURS", "-1"),
        ("QINGLING_SESSION_MAX_DAYS", "soon"),
    ]:
        monkeypatch.setenv(name, value)
        with pytest.raises(SystemExit, match=name):
            Settings.from_env()
        monkeypatch.delenv(name)


async def test_common_passwords_are_refused_at_account_creation(bureau: Bureau) -> None:
    with pytest.raises(BadRequest) as refused:
        await add_user(username="weak", password="12345678", role="dispatcher")
    assert refused.value.code == "common_password"
    assert "most common passwords" in refused.value.message
    # The demo bureau's password is not one of them.
    made = await add_user(username="demo-like", password="qingling-demo", role="dispatcher")
    assert made["username"] == "demo-like"
