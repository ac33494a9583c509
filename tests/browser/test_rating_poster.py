"""A station's rating poster (评价海报, PROTOCOL §9) from the command view, in Debian's Chromium.

The admin opens the reports page, opens 城关派出所's poster and prints it (to PDF here). The
poster's QR code, read back from a screenshot with jsQR, is the station's own rating address
`/rate/s/{rating_code}`, which is also printed under it; a citizen who scans it gets the
rating page's poster form. Screenshots: artifacts/screenshots/rating-poster*.png, and the
printed page rating-poster.pdf.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from server.demo import DEMO_PASSWORD
from tests.browser.field import PHONE
from tests.browser.test_field_rating_qr import decode_qr
from tests.live import ServerProcess

STATION = "城关派出所"


async def rating_code(base: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        r = await http.post(
            "/api/auth/login", json={"username": "admin", "password": DEMO_PASSWORD}
        )
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
        stations = (await http.get("/api/stations", headers=headers)).json()
    [code] = [s["rating_code"] for s in stations if s["name"] == STATION]
    return str(code)


async def test_an_admin_prints_a_station_poster_whose_qr_is_the_station_address(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    address = f"{base}/rate/s/{await rating_code(base)}"
    context = await chromium.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{base}/command/")
    await page.fill("#username", "admin")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("#sign-in-submit")
    await expect(page.locator("#conn")).to_have_class("conn conn-live", timeout=10_000)
    await page.click("nav a[data-page=reports]")
    item = page.locator(".poster-list li", has_text=STATION)
    await expect(item).to_have_count(1)
    await item.locator("button[data-poster]").click()
    overlay = page.locator("#poster-print")
    await expect(overlay).to_be_visible()
    await expect(overlay.locator("h2")).to_contain_text(STATION)
    image = overlay.locator("img.poster-image")
    await expect(image).to_be_visible()
    await expect(image).to_have_js_property("complete", True)
    assert await image.evaluate("i => i.naturalWidth") > 0
    await page.screenshot(path=str(screenshot_dir / "rating-poster.png"))
    # The QR code alone, big enough for jsQR: the image's own box.
    png = await image.screenshot()
    assert await decode_qr(chromium, png) == address
    # The printed page carries the poster only (print CSS), on paper.
    await page.emulate_media(media="print")
    await page.screenshot(path=str(screenshot_dir / "rating-poster-print.png"))
    pdf = await page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000
    (screenshot_dir / "rating-poster.pdf").write_bytes(pdf)
    await page.emulate_media(media="screen")
    assert errors == []

    # A citizen's phone scanning it lands on the poster form.
    citizen = await chromium.new_context(viewport=PHONE, locale="zh-CN", has_touch=True)
    phone = await citizen.new_page()
    await phone.goto(address)
    await expect(phone.locator("#incident_number")).to_be_visible()
    await expect(phone.locator("#phone_last4")).to_be_visible()
    await citizen.close()
    await context.close()
