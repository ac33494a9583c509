"""The citizen's verdict end to end (PROTOCOL §9, issue #11 Done-when 3), in Debian's
Chromium against a real server: three browsers, no test double.

- The officer's phone (the field app, 360 px) opens an incident dispatched to it, records a
  disposition and shows the rating QR code; the citizen's phone (360 px, zh-CN, not signed
  in) opens the code's address; a dispatcher at /command/ has the incident's panel open.
- Invite last: the officer is offline when the citizen rates, so the page knows nothing of
  the call (awaiting) and keeps the verdict (202, "待民警的手机同步后…"); the officer comes
  back online, the invite syncs, and the verdict appears on the dispatcher's open panel
  without a reload (群众评价: 扫码, the overall).
- Invite first: the invite has synced, the page shows the call's context, the verdict is
  counted at once (201) and appears on the open panel the same way.

Screenshots: artifacts/screenshots/citizen-rate-awaiting.png, command-feedback-live.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from server.demo import DEMO_PASSWORD
from tests.browser.conftest import FieldServer
from tests.browser.field import (
    Desk,
    controlled,
    dispatch_seen,
    go_offline,
    go_online,
    phone,
    sign_in,
    wait_pending,
)

DESK = {"width": 1440, "height": 900}
# A verdict arrives on an open panel within this (the live feed, then the panel's fetch).
LIVE_LIMIT_MS = 10_000
CHOICES = {
    "接警态度": "满意",
    "出警时间": "满意",
    "警容风纪": "基本满意",
    "现场处理": "满意",
}


async def command_desk(browser: Browser, base: str, number: str) -> tuple[BrowserContext, Page]:
    """A dispatcher at /command/ with the incident's panel open; the page marked, so a
    reload (which would hide a panel that does not refresh itself) is seen."""
    context = await browser.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{base}/command/")
    await page.fill("#username", "dispatcher2")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("#sign-in-submit")
    await expect(page.locator("#conn")).to_have_class("conn conn-live", timeout=10_000)
    await page.locator("#board-rows tr", has_text=number).click()
    await expect(page.locator("#incident-panel h2")).to_contain_text(number)
    await page.evaluate("window.__notReloaded = true")
    return context, page


async def officer_shows_qr(page: Page, incident_id: str, *, offline: BrowserContext | None) -> str:
    """Open the incident, record a disposition (offline if `offline` is the phone's
    context), show the QR code; the address it encodes."""
    await page.wait_for_selector(f'[data-incident="{incident_id}"]')
    await controlled(page)
    await page.click(f'[data-incident="{incident_id}"]')
    await page.wait_for_selector("[data-testid=incident-screen]")
    await dispatch_seen(page)
    if offline is not None:
        await go_offline(offline)
    await page.click("summary:has-text('处置结果')")
    await page.select_option("[data-testid=disposition-form] select[name=result]", "resolved")
    await page.fill("[data-testid=disposition-form] textarea[name=summary]", "双方已和解")
    await page.click("[data-testid=disposition-form] button[type=submit]")
    await page.wait_for_selector("[data-testid=recorded] li[data-type=disposition]")
    if offline is None:
        # Online, the disposition goes out at once and the server's copy of the incident
        # comes back over the socket, re-laying the screen out (three feedbacks, clocks).
        # Tap the button once that has settled, not while it moves under the finger.
        await page.wait_for_selector(
            "[data-testid=three-feedbacks] [data-feedback=disposition][data-state=server]",
            timeout=10_000,
        )
        await wait_pending(page, 0)
    await page.click("[data-testid=rating-invite]")
    try:
        await page.wait_for_selector("[data-testid=rating-qr-code]", timeout=10_000)
    except PlaywrightTimeoutError:
        # Say what the officer saw instead: the overlay's words, an error, the button.
        seen = await page.evaluate(
            """() => [...document.querySelectorAll(
                "[data-testid=rating], [data-testid=rating-qr], .error, [data-testid=status-bar]"
            )].map((e) => e.outerHTML).join("\\n")"""
        )
        raise AssertionError(f"no QR code 10 s after the tap; the screen shows:\n{seen}") from None
    url = (await page.inner_text("[data-testid=rating-url]")).strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/rate/[0-9a-f]{32}", url), url
    await page.click("[data-testid=rating-close]")
    return url


async def citizen_rates(page: Page, overall: str) -> int:
    """Choose every dimension and the overall, submit; the POST's status."""
    form = page.locator("#verdict")
    await expect(form).to_be_visible()
    for legend, choice in [*CHOICES.items(), ("总体评价", overall)]:
        group = form.locator("fieldset", has=page.locator("legend", has_text=legend))
        await group.get_by_text(choice, exact=True).tap()
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await form.locator("button[type=submit]").tap()
    return (await answer.value).status


async def citizen_phone(browser: Browser) -> Page:
    context = await phone(browser, has_touch=True)  # no sign-in, nothing stored
    return await context.new_page()


async def verdict_shows_live(desk: Page, overall: str) -> None:
    verdicts = desk.locator("#incident-panel ul.feedback-list li")
    await expect(verdicts).to_have_count(1, timeout=LIVE_LIMIT_MS)
    await expect(verdicts.locator(".source-qr")).to_have_text("扫码")
    # An unsatisfied verdict is flagged (⚠) besides its word.
    await expect(verdicts).to_contain_text(re.compile(f"总体评价：(⚠ )?{overall}"))
    await expect(desk.locator("#incident-panel")).to_contain_text("群众评价")
    assert await desk.evaluate("window.__notReloaded === true"), "the desk reloaded"
    assert desk.errors == []  # type: ignore[attr-defined]


async def new_call(desk: Desk, address: str) -> dict[str, Any]:
    return await desk.dispatch_new("officer.zhang", address, "两家因漏水发生纠纷")


async def test_rated_before_the_invite_syncs_the_verdict_waits_then_shows_live(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk_api = await Desk(http).sign_in()
        incident = await new_call(desk_api, "城关镇和平路5号")
        officer_context = await phone(chromium)
        officer = await officer_context.new_page()
        await sign_in(officer, base)
        _, desk = await command_desk(chromium, base, incident["number"])

        url = await officer_shows_qr(officer, incident["id"], offline=officer_context)
        await wait_pending(officer, 2)  # the disposition and the invite, not sent

        # The citizen scans while the officer is still offline: the server knows no invite.
        citizen = await citizen_phone(chromium)
        await citizen.goto(url)
        await expect(citizen.locator(".note")).to_contain_text("本次处警的信息还在民警手机上")
        assert await citizen.locator("[data-testid=context]").count() == 0
        assert await citizen_rates(citizen, "满意") == 202
        done = citizen.locator("[data-testid=result-awaiting]")
        await expect(done.locator("h2")).to_have_text("感谢您的评价！")
        await expect(done).to_contain_text("待民警的手机同步后即计入统计")
        await citizen.screenshot(
            path=str(screenshot_dir / "citizen-rate-awaiting.png"), full_page=True
        )
        r = await http.get(url.removeprefix(base).replace("/rate/", "/api/public/ratings/"))
        assert r.json()["state"] == "awaiting", r.text
        # Nothing on the desk yet: the verdict waits for the invite.
        assert await desk.locator("#incident-panel ul.feedback-list").count() == 0

        # The officer's phone comes back: the invite syncs and the waiting verdict counts.
        await go_online(officer_context)
        await wait_pending(officer, 0, timeout_ms=15_000)
        await verdict_shows_live(desk, "满意")
        await desk.screenshot(path=str(screenshot_dir / "command-feedback-live.png"))
        (feedback,) = (await desk_api.incident(incident["id"]))["feedback"]
        assert feedback["source"] == "qr" and feedback["overall"] == "satisfied"
        assert feedback["ratings"]["conduct"] == "basically_satisfied"
        r = await http.get(url.removeprefix(base).replace("/rate/", "/api/public/ratings/"))
        assert r.json()["state"] == "rated", r.text


async def test_rated_after_the_invite_synced_the_verdict_counts_at_once_and_shows_live(
    chromium: Browser, field_server: FieldServer
) -> None:
    base = field_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk_api = await Desk(http).sign_in()
        incident = await new_call(desk_api, "城关镇和平路7号")
        officer_context = await phone(chromium)
        officer = await officer_context.new_page()
        await sign_in(officer, base)
        _, desk = await command_desk(chromium, base, incident["number"])

        url = await officer_shows_qr(officer, incident["id"], offline=None)
        await wait_pending(officer, 0, timeout_ms=15_000)  # the invite is on the server
        r = await http.get(url.removeprefix(base).replace("/rate/", "/api/public/ratings/"))
        assert r.json()["state"] == "open", r.text

        citizen = await citizen_phone(chromium)
        await citizen.goto(url)
        await expect(citizen.locator("[data-testid=context]")).to_contain_text("城关派出所 · ")
        await expect(citizen.locator("[data-testid=context]")).to_contain_text(" · 纠纷")
        assert "和平路" not in await citizen.content()
        assert await citizen_rates(citizen, "不满意") == 201
        await expect(citizen.locator("[data-testid=result-thanks] h2")).to_have_text(
            "感谢您的评价！"
        )
        await verdict_shows_live(desk, "不满意")
        (feedback,) = (await desk_api.incident(incident["id"]))["feedback"]
        assert feedback["source"] == "qr" and feedback["overall"] == "unsatisfied"
