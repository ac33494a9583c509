"""Helpers for driving the field PWA: the command-center desk over HTTP, the phone in Chromium."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Self

import httpx
from playwright.async_api import Browser, BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from server.demo import DEMO_PASSWORD

PHONE = {"width": 360, "height": 780}


class Desk:
    """The command center, over the API: a dispatcher who records and dispatches calls."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.headers: dict[str, str] = {}
        self.stations: dict[str, str] = {}

    async def sign_in(self) -> Desk:
        r = await self.http.post(
            "/api/auth/login",
            json={"username": "dispatcher", "password": DEMO_PASSWORD, "device": {"label": "desk"}},
        )
        assert r.status_code == 200, r.text
        self.headers = {"Authorization": f"Bearer {r.json()['token']}"}
        stations = (await self.http.get("/api/stations", headers=self.headers)).json()
        self.stations = {s["name"]: s["id"] for s in stations}
        return self

    async def person_id(self, username: str) -> str:
        r = await self.http.post(
            "/api/auth/login",
            json={"username": username, "password": DEMO_PASSWORD, "device": {"label": "probe"}},
        )
        return str(r.json()["person"]["id"])

    async def dispatch_new(self, officer: str, address: str, narrative: str) -> dict[str, Any]:
        r = await self.http.post(
            "/api/incidents",
            json={
                "category": "dispute",
                "area_type": "urban",
                "address": address,
                "narrative": narrative,
                "caller_name": "王先生",
                "caller_phone": "13900000000",
            },
            headers=self.headers,
        )
        assert r.status_code == 201, r.text
        incident = r.json()
        r = await self.http.post(
            f"/api/incidents/{incident['id']}/dispatch",
            json={
                "station_id": self.stations["城关派出所"],
                "person_ids": [await self.person_id(officer)],
            },
            headers=self.headers,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def incident(self, incident_id: str) -> dict[str, Any]:
        r = await self.http.get(f"/api/incidents/{incident_id}", headers=self.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())


async def phone(browser: Browser, **extra: Any) -> BrowserContext:
    """A 360 px wide Chinese-language phone."""
    return await browser.new_context(
        viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai", **extra
    )


async def sign_in(page: Page, base: str, username: str = "officer.zhang") -> None:
    await page.goto(base + "/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("[data-testid=signin-form] button[type=submit]")
    await page.wait_for_selector("[data-testid=status-bar], [data-testid=signin-form] .error")
    error = page.locator("[data-testid=signin-form] .error")
    if await error.count():
        raise AssertionError(f"sign-in failed: {await error.inner_text()}")


async def wait_until(
    page: Page, expression: str, *, within_ms: float = 30_000, polling: float = 100
) -> None:
    """Wait until a JavaScript expression (a promise is awaited) is true in the page.

    Polls with `page.evaluate`, which the browser runs outside the page's
    Content-Security-Policy; Playwright's own `wait_for_function` evaluates its predicate
    with `eval` inside the page, which the served CSP (no 'unsafe-eval') rightly refuses."""
    deadline = asyncio.get_running_loop().time() + within_ms / 1000
    while True:
        try:
            if await page.evaluate(f"(async () => Boolean(await ({expression})))()"):
                return
        except PlaywrightError as exc:
            # The page navigated (a reload, a new version) while we asked: ask again.
            if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
                raise
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"not true within {within_ms / 1000:.0f} s: {expression}")
        await asyncio.sleep(polling / 1000)


async def controlled(page: Page) -> None:
    """Wait until the service worker is active and controls the page (the shell is cached)."""
    await wait_until(page, "navigator.serviceWorker.controller !== null", within_ms=15_000)


async def go_offline(context: BrowserContext) -> None:
    """No network for the page or its service worker: every request fails, as in a dead zone."""
    await context.route("**/*", lambda route: route.abort("internetdisconnected"))
    await context.set_offline(True)


async def go_online(context: BrowserContext) -> None:
    await context.unroute("**/*")
    await context.set_offline(False)


async def pending_count(page: Page) -> int:
    value = await page.get_attribute("[data-testid=pending-count]", "data-pending")
    return int(value or 0)


async def wait_pending(page: Page, n: int, timeout_ms: int = 10_000) -> None:
    await page.wait_for_selector(
        f'[data-testid=pending-count][data-pending="{n}"]', timeout=timeout_ms
    )


async def dispatch_seen(page: Page) -> None:
    """Opening a dispatched incident records `ack_dispatch` once the incident is in the
    app's store (a moment after the screen shows): wait until it is recorded and sent, so
    a test that goes offline next does not find it still waiting in the outbox."""
    await page.wait_for_selector(
        "[data-testid=recorded] li[data-type=ack_dispatch][data-state=sent]", timeout=10_000
    )
    await wait_pending(page, 0)


async def eventually(
    check: Callable[[], Awaitable[bool]], seconds: float, what: str, every: float = 0.2
) -> None:
    """Poll `check` until it holds; fail after `seconds` (a wait limit, not a speed test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(every)


class HttpPhone:
    """A field device over plain HTTP (PROTOCOL §3): signs in as its own device and pushes
    one op at a time, each answered `applied`."""

    def __init__(self, http: httpx.AsyncClient, username: str) -> None:
        self.http = http
        self.username = username
        self.headers: dict[str, str] = {}
        self.device_id = ""
        self.station_id: str | None = None
        self.role = ""
        self.seq = 0

    async def sign_in(self) -> Self:
        r = await self.http.post(
            "/api/auth/login",
            json={
                "username": self.username,
                "password": DEMO_PASSWORD,
                "device": {"id": f"{self.username}-{uuid.uuid4().hex[:8]}"},
            },
        )
        assert r.status_code == 200, r.text
        body = r.json()
        self.headers = {"Authorization": f"Bearer {body['token']}"}
        self.device_id = body["device_id"]
        self.station_id = body["person"]["station_id"]
        self.role = body["person"]["role"]
        return self

    async def push(
        self,
        incident_id: str,
        type: str,
        body: dict[str, Any],
        device_time: datetime | None = None,
    ) -> None:
        self.seq += 1
        now = datetime.now(UTC)
        op = {
            "op_id": str(uuid.uuid4()),
            "seq": self.seq,
            "type": type,
            "incident_id": incident_id,
            "device_time": (device_time or now).isoformat(),
            "clock_offset_ms": 0,
            "record_id": None,
            "base_op_id": None,
            "body": body,
        }
        r = await self.http.post(
            "/api/sync/push",
            json={"device_id": self.device_id, "sent_at": now.isoformat(), "ops": [op]},
            headers=self.headers,
        )
        assert r.status_code == 200, r.text
        assert [x["status"] for x in r.json()["results"]] == ["applied"], r.text


class Officer(HttpPhone):
    """A field officer's phone, e.g. recording the `rating_invite` a QR code stands for
    (PROTOCOL §9)."""

    def __init__(self, http: httpx.AsyncClient, username: str = "officer.zhang") -> None:
        super().__init__(http, username)

    async def invite(
        self, incident_id: str, token: str, device_time: datetime | None = None
    ) -> None:
        """Record the rating invite for `token` (its SHA-256 only) on the incident."""
        sha = hashlib.sha256(token.encode("ascii")).hexdigest()
        await self.push(incident_id, "rating_invite", {"token_sha256": sha}, device_time)


def new_token() -> str:
    """A rating token as the field app makes one: 32 lowercase hex characters."""
    return secrets.token_hex(16)
