"""The citizen's rating QR code in the field PWA (PROTOCOL §9, "Rating by QR, one incident").

An officer of the demo bureau, on a 360 px phone, records a disposition with no network,
presses "请群众扫码评价" and shows the caller a full-screen QR code made on the phone. The
screenshot of the screen is decoded (jsQR, the package the PWA's unit tests use, run in a
separate blank page of the same Chromium) and must read exactly `<origin>/rate/<token>`;
the op queued offline carries only the token's SHA-256. The same code is shown again after
a reload with no network. Back online the ops are pushed and the invite is applied: no
dead letter for the device, and the public answer for the token is `open`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page

from tests.browser.conftest import FieldServer
from tests.browser.field import (
    PHONE,
    Desk,
    controlled,
    dispatch_seen,
    eventually,
    go_offline,
    go_online,
    phone,
    sign_in,
    wait_pending,
)
from tests.live import ROOT

JSQR = ROOT / "pwa" / "node_modules" / "jsqr" / "dist" / "jsQR.js"

# In a blank page (no CSP): the PNG decoded by Chromium, its pixels handed to jsQR.
DECODE = """async (png) => {
  const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0);
  const image = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  const code = jsQR(image.data, image.width, image.height);
  return code ? code.data : null;
}"""

# The outbox as IndexedDB holds it (no PIN is set, so the ops are in the clear).
OUTBOX = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("qingling");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const req = open.result.transaction("outbox").objectStore("outbox").getAll();
    req.onsuccess = () => { resolve(req.result); open.result.close(); };
    req.onerror = () => reject(req.error);
  };
})"""

# The phone's session as IndexedDB holds it (no PIN: its token in the clear).
SESSION = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("qingling");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const req = open.result.transaction("meta").objectStore("meta").get("session");
    req.onsuccess = () => { resolve(req.result); open.result.close(); };
    req.onerror = () => reject(req.error);
  };
})"""


async def decode_qr(browser: Browser, png: bytes) -> str | None:
    """What a QR reader makes of a screenshot."""
    reader = await browser.new_page()
    try:
        await reader.evaluate(JSQR.read_text(encoding="utf-8"))
        result = await reader.evaluate(DECODE, base64.b64encode(png).decode("ascii"))
        return None if result is None else str(result)
    finally:
        await reader.close()


async def outbox_ops(page: Page) -> list[dict[str, Any]]:
    entries = await page.evaluate(OUTBOX)
    return [dict(e) for e in entries]


async def test_rating_qr_offline_shows_the_rate_address_and_queues_the_invite(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        incident = await desk.dispatch_new("officer.zhang", "城关镇建设路9号", "邻居深夜装修扰民")
        context = await phone(chromium)
        page = await context.new_page()
        await sign_in(page, base)
        await page.wait_for_selector(f'[data-incident="{incident["id"]}"]')
        await controlled(page)  # the shell, the QR encoder's chunk included, is cached
        await page.click(f'[data-incident="{incident["id"]}"]')
        await page.wait_for_selector("[data-testid=incident-screen]")
        await dispatch_seen(page)
        # Not handled yet: nothing to rate.
        assert await page.locator("[data-testid=rating-invite]").count() == 0

        await go_offline(context)
        await page.click("summary:has-text('处置结果')")
        await page.select_option("[data-testid=disposition-form] select[name=result]", "resolved")
        await page.fill("[data-testid=disposition-form] textarea[name=summary]", "已劝导停工")
        await page.click("[data-testid=disposition-form] button[type=submit]")
        await page.wait_for_selector("[data-testid=recorded] li[data-type=disposition]")

        button = page.locator("[data-testid=rating-invite]")
        assert (await button.inner_text()).strip() == "请群众扫码评价"
        await button.scroll_into_view_if_needed()
        await page.screenshot(path=screenshot_dir / "field-rating-button.png")
        await button.click()
        await page.wait_for_selector("[data-testid=rating-qr-code]")

        # Full screen, a big code, the request and the address under it.
        overlay = await page.locator("[data-testid=rating-qr]").bounding_box()
        assert overlay == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}
        code_box = await page.locator("[data-testid=rating-qr-code]").bounding_box()
        assert code_box is not None and code_box["width"] >= 300
        assert "请用手机扫码，对本次处警进行评价" in await page.inner_text(
            "[data-testid=rating-qr]"
        )
        url = (await page.inner_text("[data-testid=rating-url]")).strip()
        match = re.fullmatch(re.escape(base) + r"/rate/([0-9a-f]{32})", url)
        assert match, url
        token = match.group(1)

        png = await page.screenshot(path=screenshot_dir / "field-rating-qr.png")
        assert await decode_qr(chromium, png) == url

        # Queued offline beside the disposition: the invite carries the token's hash only.
        await wait_pending(page, 2)
        entries = await outbox_ops(page)
        (invite,) = [e["op"] for e in entries if e["op"]["type"] == "rating_invite"]
        assert invite["incident_id"] == incident["id"]
        assert invite["body"] == {"token_sha256": hashlib.sha256(token.encode("ascii")).hexdigest()}
        assert invite["record_id"] is None and invite["base_op_id"] is None
        assert all(token not in repr(e) for e in entries)

        # Closed and opened again, even after a reload with no network: the same code.
        await page.click("[data-testid=rating-close]")
        assert await page.locator("[data-testid=rating-qr]").count() == 0
        await page.reload()
        await page.wait_for_selector("[data-testid=incident-screen]")
        await page.click("[data-testid=rating-invite]")
        await page.wait_for_selector("[data-testid=rating-qr-code]")
        assert (await page.inner_text("[data-testid=rating-url]")).strip() == url
        await wait_pending(page, 2)  # no second invite
        await page.click("[data-testid=rating-close]")

        # Back online the outbox is pushed: the disposition reaches the desk and the
        # invite is applied, so the link is open for the citizen.
        await go_online(context)

        async def disposition_arrived() -> bool:
            timeline = (await desk.incident(incident["id"]))["timeline"]
            return any(e["type"] == "disposition" for e in timeline)

        await eventually(disposition_arrived, 15, "the disposition reaches the server")
        await wait_pending(page, 0, timeout_ms=15_000)
        # No dead letter: neither on the phone nor, for that device, on the server.
        assert [e for e in await outbox_ops(page) if e.get("state") == "rejected"] == []
        session = await page.evaluate(SESSION)
        r = await http.get(
            "/api/sync/rejected", headers={"Authorization": f"Bearer {session['token']}"}
        )
        assert r.status_code == 200 and r.json() == [], r.text
        # The public answer for the token: open, about this call, nothing personal.
        r = await http.get(f"/api/public/ratings/{token}")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "open", r.text
        assert r.json()["station"] == "城关派出所" and r.json()["category"] == "dispute"
        assert "建设路" not in r.text and "13900000000" not in r.text
        await context.close()
