"""Sign-in limits and sessions against a real server process (PROTOCOL §12): parallel
guesses, a flood, two client addresses, and sockets closing when a session ends.

Client addresses are made two ways: real TCP peers (the test binds its side of the
connection to 127.0.0.2 or 127.0.0.3, all loopback), and X-Forwarded-For from the
server's trusted proxy (QINGLING_TRUSTED_PROXIES=127.0.0.1, the test standing in for
it). Every request goes to this machine's loopback only, and every loop is bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from server.core.tables import LoginAttempt
from tests.conftest import TEST_DATABASE_URL
from tests.flood import Flood, cpu_s, pct, rss_mb
from tests.live import ServerProcess
from tests.server.conftest import PASSWORD, Bureau
from tests.server.test_sync_ws import Device, recv

# Only generous bounds are asserted (the machine is small and shared: PROTOCOL's 2 s
# and 1 s are what docs/performance.md measures, not what a test on a loaded machine can
# hold); the figures are printed.
ANSWER_BOUND_S = 30.0
RSS_LIMIT_MB = 300


def from_address(address: str, **kwargs: Any) -> httpx.AsyncClient:
    """A client whose TCP connections come from `address` (a loopback address)."""
    return httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(local_address=address), timeout=30, **kwargs
    )


@pytest.fixture
def server(bureau: Bureau, tmp_path: Path):
    s = ServerProcess(
        TEST_DATABASE_URL,
        log=tmp_path / "server.log",
        env={"QINGLING_TRUSTED_PROXIES": "127.0.0.1", "QINGLING_LIVE_POLL_S": "0.3"},
    )
    try:
        yield s
    finally:
        s.stop()


async def test_a_hundred_parallel_guesses_get_at_most_five_checks(
    bureau: Bureau, server: ServerProcess
) -> None:
    """Finding 1: 100 simultaneous sign-ins for one account from one address, 99 wrong
    and 1 right. Every 503 is retried, as an attacker would (a 503 is not a failure),
    and so is a 429 asking for a short wait; a 429 naming a long one is final."""
    passwords = [f"guess-{i}" for i in range(99)] + [PASSWORD]
    random.shuffle(passwords)
    answers: list[httpx.Response] = []
    dropped = 0

    async def attempt(http: httpx.AsyncClient, password: str) -> None:
        nonlocal dropped
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline, "still refused after two minutes"
            try:
                r = await http.post(
                    f"{server.url}/api/auth/login",
                    json={"username": "officer_a", "password": password},
                )
            except (httpx.ReadError, httpx.RemoteProtocolError):
                # A keep-alive connection the server closed just as this client reused
                # it (seen once, the machine loaded): no answer, so sent again, as a
                # client does. The checks below still count every password checked.
                dropped += 1
                continue
            short_429 = r.status_code == 429 and int(r.headers["retry-after"]) <= 5
            if r.status_code != 503 and not short_429:
                answers.append(r)
                return
            await asyncio.sleep(float(r.headers["retry-after"]) * random.uniform(0.5, 1.0))

    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with from_address("127.0.0.2", limits=limits) as http:
        await asyncio.gather(*(attempt(http, p) for p in passwords))
        counts = Counter(r.status_code for r in answers)
        print(f"\n100 parallel guesses: {dict(counts)}, {dropped} dropped and sent again")
        assert dropped <= 5  # rare, or the server is failing requests
        assert set(counts) <= {200, 401, 429}
        # At most five passwords were checked (a 200 or a 401); the rest were refused
        # unchecked, so a 200 can only be one of the first five.
        assert counts[200] + counts[401] <= 5
        assert counts[200] <= 1
        # The right password, now, from the same address: refused.
        r = await http.post(
            f"{server.url}/api/auth/login", json={"username": "officer_a", "password": PASSWORD}
        )
        assert r.status_code == 429 and r.json()["code"] == "too_many_attempts"
    rows = await LoginAttempt.select(LoginAttempt.outcome).where(
        LoginAttempt.username == "officer_a"
    )
    stored = Counter(row["outcome"] for row in rows)
    assert stored["failed"] == counts[401] and stored["ok"] == counts[200]
    assert stored["pending"] == 0

    # The owner, from another address (a real TCP peer of its own), is not locked out.
    async with from_address("127.0.0.3") as http:
        r = await http.post(
            f"{server.url}/api/auth/login", json={"username": "officer_a", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text


async def sign_in_retrying(
    http: httpx.AsyncClient, url: str, username: str, headers: dict[str, str] | None = None
) -> tuple[httpx.Response, list[int]]:
    """A real user: retries a 503 after its Retry-After; returns the answer and every
    status seen on the way."""
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while True:
        r = await http.post(
            f"{url}/api/auth/login",
            json={"username": username, "password": PASSWORD},
            headers=headers or {},
        )
        seen.append(r.status_code)
        if r.status_code != 503 or time.monotonic() > deadline:
            return r, seen
        await asyncio.sleep(float(r.headers.get("retry-after", "1")))


async def test_a_flood_of_sign_ins_keeps_memory_bounded_and_pushes_answered(
    bureau: Bureau, server: ServerProcess
) -> None:
    """Finding 2: 100 clients signing in with random usernames, each from a different
    (forwarded) address so that no per-address limit helps: the hashing pool must."""
    incident = await bureau.dispatched_incident()
    officer = Device(server.url, "officer_a")
    baseline = rss_mb(server.proc.pid)
    peak = baseline
    push_latencies: list[float] = []
    cpu_before, wall_before = cpu_s(server.proc.pid), time.monotonic()
    async with Flood(server.url, clients=100) as flood, httpx.AsyncClient(timeout=30) as http:
        until = time.monotonic() + 15
        while time.monotonic() < until:
            op = officer.op("note", incident["id"], {"text": "洪水中的记录"})
            started = time.monotonic()
            r = await http.post(
                f"{server.url}/api/sync/push",
                json={"device_id": officer.device_id, "sent_at": op["device_time"], "ops": [op]},
                headers={"Authorization": f"Bearer {officer.token}"},
            )
            push_latencies.append(time.monotonic() - started)
            assert r.status_code == 200, r.text
            assert r.json()["results"][0]["status"] == "applied"
            peak = max(peak, rss_mb(server.proc.pid))
            await asyncio.sleep(0.25)
    cpu = cpu_s(server.proc.pid) - cpu_before
    wall = time.monotonic() - wall_before
    print(
        f"\nflood of 100 clients for 15 s: {flood.report()}\n"
        f"server RSS {baseline:.0f} MB before, peak {peak:.0f} MB during; server CPU "
        f"{cpu:.1f} s in {wall:.1f} s (load average {os.getloadavg()[0]:.1f})\n"
        f"{len(push_latencies)} signed-in pushes: p50 {pct(push_latencies, 0.5):.3f} s, "
        f"p95 {pct(push_latencies, 0.95):.3f} s, max {max(push_latencies):.3f} s"
    )
    assert peak < RSS_LIMIT_MB
    answered = {k: v for k, v in flood.statuses.items() if isinstance(k, int)}
    assert set(answered) <= {401, 429, 503}, flood.statuses
    # A keep-alive connection the server closed just as the (starved) client reused it
    # is a transport error, not an answer; they must stay rare.
    assert sum(flood.statuses.values()) - sum(answered.values()) <= 0.05 * sum(answered.values())
    assert flood.statuses[503] > 0  # the pool did refuse: the flood was a flood
    assert max(flood.latencies) < ANSWER_BOUND_S
    assert max(push_latencies) < ANSWER_BOUND_S


async def test_the_dispatcher_signs_in_from_their_own_address_during_a_flood(
    bureau: Bureau, server: ServerProcess
) -> None:
    """Finding 3: from one address, an attacker guesses at the dispatcher's password
    (every 503 retried) while 50 clients flood random usernames. The dispatcher, at their
    own desk, is neither locked out nor kept waiting long; from the attacker's address
    the right password is refused; and that address never got more than its 20 checks
    that failed."""
    attacker = {"X-Forwarded-For": "127.66.0.1"}

    async def guess_dispatcher(http: httpx.AsyncClient) -> Counter[int]:
        answers: Counter[int] = Counter()
        for i in range(10):
            deadline = time.monotonic() + 60
            while True:
                r = await http.post(
                    f"{server.url}/api/auth/login",
                    json={"username": "dispatcher", "password": f"guess-{i}"},
                    headers=attacker,
                )
                if r.status_code != 503 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            answers[r.status_code] += 1
        return answers

    async with (
        Flood(server.url, clients=50, address="127.66.0.1") as flood,
        httpx.AsyncClient(timeout=30) as http,
    ):
        guesses = await guess_dispatcher(http)
        started = time.monotonic()
        r, seen = await sign_in_retrying(
            http, server.url, "dispatcher", headers={"X-Forwarded-For": "127.77.0.1"}
        )
        took = time.monotonic() - started
        # And from the attacker's address, the right password is refused.
        refused, _ = await sign_in_retrying(http, server.url, "dispatcher", headers=attacker)
    print(
        f"\nflood from one address: {flood.report()}\n"
        f"guesses at the dispatcher from it: {dict(guesses)}\n"
        f"the dispatcher from their own: {seen} in {took:.2f} s"
    )
    assert set(guesses) <= {401, 429} and guesses[401] <= 5
    assert r.status_code == 200, r.text
    assert 429 not in seen
    assert took < ANSWER_BOUND_S
    assert refused.status_code == 429
    failed = await LoginAttempt.count().where(
        (LoginAttempt.address == "127.66.0.1") & (LoginAttempt.outcome == "failed")
    )
    assert failed <= 20


async def test_sign_out_closes_that_device_s_sockets_only(
    bureau: Bureau, server: ServerProcess
) -> None:
    phone = Device(server.url, "officer_a")
    other = Device(server.url, "officer_a")
    first = await websockets.connect(phone.ws_url)
    second = await websockets.connect(other.ws_url)
    try:
        for ws, device in [(first, phone), (second, other)]:
            await ws.send(json.dumps({"type": "hello", "token": device.token, "cursor": None}))
            assert (await recv(ws))["type"] == "welcome"
        async with httpx.AsyncClient() as http:
            r = await http.post(
                f"{server.url}/api/auth/logout",
                headers={"Authorization": f"Bearer {phone.token}"},
            )
        assert r.status_code == 200, r.text
        started = time.monotonic()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await recv(first, wait=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        print(f"\nsocket closed {time.monotonic() - started:.3f} s after sign-out")
        # The other device's socket is still open and answers.
        await second.send(json.dumps({"type": "ping"}))
        while (await recv(second))["type"] != "pong":
            pass
        # The ended token opens no socket: hello is closed with 4401.
        async with websockets.connect(phone.ws_url) as again:
            await again.send(json.dumps({"type": "hello", "token": phone.token, "cursor": None}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await recv(again)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    finally:
        await first.close()
        await second.close()


async def test_an_expired_session_closes_its_live_socket(bureau: Bureau, tmp_path: Path) -> None:
    """Sessions 4 seconds long (QINGLING_SESSION_MAX_DAYS, fractions allowed): the open
    socket is closed with 4401 when the session ends, HTTP answers token_expired, and the
    device signs in again under its id with its seq going on."""
    incident = await bureau.dispatched_incident()
    server = ServerProcess(
        TEST_DATABASE_URL,
        log=tmp_path / "server.log",
        env={"QINGLING_SESSION_MAX_DAYS": str(4 / 86400), "QINGLING_LIVE_POLL_S": "0.3"},
    )
    try:
        phone = Device(server.url, "officer_a")
        signed_in = time.monotonic()
        assert phone.push_http([phone.op("note", incident["id"], {"text": "一"})])["acked_seq"] == 1
        async with websockets.connect(phone.ws_url) as ws:
            await ws.send(json.dumps({"type": "hello", "token": phone.token, "cursor": None}))
            assert (await recv(ws))["type"] == "welcome"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await recv(ws, wait=15)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        lived = time.monotonic() - signed_in
        print(f"\na 4 s session's socket closed after {lived:.2f} s")
        assert lived >= 3.5
        async with httpx.AsyncClient() as http:
            r = await http.get(
                f"{server.url}/api/stations", headers={"Authorization": f"Bearer {phone.token}"}
            )
            assert r.status_code == 401 and r.json()["code"] == "token_expired"
            # Signing in again under the same id: a new token, and the seq goes on.
            r = await http.post(
                f"{server.url}/api/auth/login",
                json={
                    "username": "officer_a",
                    "password": PASSWORD,
                    "device": {"id": phone.device_id},
                },
            )
        assert r.status_code == 200, r.text
        phone.token = r.json()["token"]
        out = phone.push_http([phone.op("note", incident["id"], {"text": "二"})])
        assert out["results"][0]["status"] == "applied" and out["acked_seq"] == 2
    finally:
        server.stop()
