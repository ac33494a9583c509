"""Helpers for the PROTOCOL §11 browser tests (督办, 通报, the station chief's desk): a
command-view page signed in as anyone, a supervisor over HTTP, an incident whose arrival
clock is already overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from server.demo import DEMO_PASSWORD
from tests.browser.field import Desk, eventually, wait_until

VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
LIVE_LIMIT_MS = 3000
CHENGGUAN = "城关派出所"
HEKOU = "河口派出所"


async def command_page(browser: Browser, base: str, username: str) -> tuple[BrowserContext, Page]:
    """The command view in Chromium, signed in as `username`, its socket live; page errors
    are collected in `page.errors`."""
    context = await browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{base}/command/")
    await page.fill("#username", username)
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("#sign-in-submit")
    await expect(page.locator("#conn")).to_have_class("conn conn-live", timeout=10_000)
    return context, page


async def go(page: Page, name: str) -> None:
    await page.click(f"nav a[data-page={name}]")
    await expect(page.locator(f"nav a[data-page={name}]")).to_have_attribute("aria-current", "page")


class Supervisor:
    """A supervisor (督察) over HTTP: issues orders and notices, decides replies, reads
    them back."""

    def __init__(self, http: httpx.AsyncClient, username: str = "supervisor") -> None:
        self.http = http
        self.username = username
        self.headers: dict[str, str] = {}
        self.stations: dict[str, str] = {}

    async def sign_in(self) -> Supervisor:
        r = await self.http.post(
            "/api/auth/login",
            json={"username": self.username, "password": DEMO_PASSWORD, "device": {"label": "t"}},
        )
        assert r.status_code == 200, r.text
        self.headers = {"Authorization": f"Bearer {r.json()['token']}"}
        stations = (await self.http.get("/api/stations", headers=self.headers)).json()
        self.stations = {s["name"]: s["id"] for s in stations}
        return self

    async def supervise(
        self,
        incident_id: str,
        level: str = "station",
        hours: float = 2,
        instructions: str = "限期查明",
    ) -> dict[str, Any]:
        due = datetime.now(UTC) + timedelta(hours=hours)
        r = await self.http.post(
            f"/api/incidents/{incident_id}/supervise",
            json={"level": level, "instructions": instructions, "due_at": due.isoformat()},
            headers=self.headers,
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def orders(self, **params: str) -> list[dict[str, Any]]:
        r = await self.http.get(
            "/api/supervision", params={"state": "all", **params}, headers=self.headers
        )
        assert r.status_code == 200, r.text
        return list(r.json()["orders"])

    async def order(self, order_id: str) -> dict[str, Any] | None:
        return next((o for o in await self.orders() if o["id"] == order_id), None)

    async def accept(self, order_id: str) -> dict[str, Any]:
        r = await self.http.post(f"/api/supervision/{order_id}/accept", headers=self.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def reject(self, order_id: str, reason: str) -> dict[str, Any]:
        r = await self.http.post(
            f"/api/supervision/{order_id}/reject", json={"reason": reason}, headers=self.headers
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def notify(self, **body: Any) -> dict[str, Any]:
        """Issue a notice (`POST /api/notices`)."""
        r = await self.http.post("/api/notices", json=body, headers=self.headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def notice(self, notice_id: str) -> dict[str, Any] | None:
        return next((n for n in await self.notices() if n["id"] == notice_id), None)

    async def notices(self) -> list[dict[str, Any]]:
        r = await self.http.get("/api/notices", headers=self.headers)
        assert r.status_code == 200, r.text
        return list(r.json()["notices"])

    async def reviews(self) -> list[dict[str, Any]]:
        r = await self.http.get(
            "/api/reviews", params={"state": "open", "limit": 1000}, headers=self.headers
        )
        assert r.status_code == 200, r.text
        return list(r.json())


async def overdue_incident(
    desk: Desk,
    station: str = CHENGGUAN,
    officer: str = "officer.zhang",
    address: str = "城关镇人民路8号",
) -> dict[str, Any]:
    """An incident received an hour ago and dispatched 55 minutes ago (both back-entered),
    so its arrival clock (10 minutes, urban) is long overdue."""
    now = datetime.now(UTC)
    r = await desk.http.post(
        "/api/incidents",
        json={
            "category": "dispute",
            "area_type": "urban",
            "address": address,
            "narrative": "邻里纠纷，双方争执不下",
            "received_at": (now - timedelta(minutes=60)).isoformat(),
        },
        headers=desk.headers,
    )
    assert r.status_code == 201, r.text
    incident = r.json()
    r = await desk.http.post(
        f"/api/incidents/{incident['id']}/dispatch",
        json={
            "station_id": desk.stations[station],
            "person_ids": [await desk.person_id(officer)],
            "dispatched_at": (now - timedelta(minutes=55)).isoformat(),
        },
        headers=desk.headers,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def overdue_item(sup: Supervisor, incident_id: str) -> dict[str, Any]:
    """Wait for the scheduler's `overdue` review item on the incident (within 5 s)."""
    found: dict[str, Any] = {}

    async def check() -> bool:
        for item in await sup.reviews():
            if item.get("incident_id") == incident_id and item["kind"] == "overdue":
                found.update(item)
                return True
        return False

    await eventually(check, 10, "the overdue review item")
    return found


# The station chief's phone (the field app).


async def badge(page: Page) -> int:
    """The count on the 督办通报 tab (0 when it shows none)."""
    loc = page.locator("[data-testid=desk-badge]")
    if await loc.count() == 0:
        return 0
    return int(await loc.get_attribute("data-count") or 0)


async def all_seen(page: Page) -> None:
    """Open the 督办通报 list (which marks every order and notice the phone holds as seen,
    the demo's included), then go back to my work with no badge."""
    await page.click("nav.tabs a[href='#/desk']")
    await page.wait_for_selector("[data-testid=desk-screen]")
    await page.wait_for_timeout(1000)  # the sign-in's first pull may still be landing
    await wait_until(page, "!document.querySelector('[data-testid=desk-badge]')", within_ms=5000)
    await page.click("nav.tabs a[href='#/']")
    await page.wait_for_selector("[data-testid=work-list]", state="attached")
    assert await badge(page) == 0
