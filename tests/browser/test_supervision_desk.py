"""督办 (supervision orders, PROTOCOL §11) in the command view, in Debian's Chromium against a
real server process.

An incident dispatched to 城关派出所 55 minutes ago (back-entered) has an overdue arrival
clock, so the review queue holds an `overdue` item for it. The supervisor signs in at
/command/, finds the item in 审核队列 and issues a bureau-level order (挂牌督办) from it with
the form (its due time defaults to two hours on); the board's row shows 挂牌督办 in red.
The station's chief replies from a phone (an HTTP device pushing `supervision_reply`); the
supervisor's 督办台 shows the reply live, with the order 已回复待审, and accepts it: the order
is 已办结, its clock met, and the board's badge is gone. Screenshots:
artifacts/screenshots/supervision-*.png.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from tests.browser.field import Desk, HttpPhone
from tests.browser.supervision_desk import (
    LIVE_LIMIT_MS,
    Supervisor,
    command_page,
    go,
    overdue_incident,
    overdue_item,
)
from tests.live import ServerProcess


async def test_a_supervisor_lists_an_overdue_incident_and_accepts_the_chiefs_reply(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        sup = await Supervisor(http).sign_in()
        incident = await overdue_incident(desk)
        incident_id, number = incident["id"], incident["number"]
        await overdue_item(sup, incident_id)

        context, page = await command_page(chromium, base, "supervisor")
        # The supervisor's menu has the new pages.
        for name in ("supervision", "notices"):
            await expect(page.locator(f"nav a[data-page={name}]")).to_be_visible()

        # 审核队列: the overdue item offers 督办.
        await go(page, "reviews")
        item = page.locator("#review-list li.kind-overdue", has_text=number).first
        await expect(item).to_be_visible(timeout=10_000)
        await item.locator("button[data-supervise]").click()
        dialog = page.locator("#supervise-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator("#supervise-title")).to_contain_text(number)
        # The due time is filled in (two hours on by default).
        assert await dialog.locator("#supervise-due").input_value() != ""
        # Nothing is sent without instructions: the form says what is missing.
        await dialog.locator("#supervise-submit").click()
        await expect(dialog.locator(".form-error")).to_contain_text("请填写督办要求")
        await dialog.locator("input[name=level][value=bureau]").check()
        await dialog.locator("#supervise-instructions").fill(
            "到场严重超时，请所长查明原因并于两小时内书面回复"
        )
        await page.screenshot(path=str(screenshot_dir / "supervision-issue.png"))
        await dialog.locator("#supervise-submit").click()
        await expect(dialog).to_have_count(0)

        [order] = await sup.orders(incident_id=incident_id)
        assert order["level"] == "bureau" and order["state"] == "open"
        assert order["station_id"] == desk.stations["城关派出所"]

        # The board: the row says 挂牌督办, in red, in words.
        await go(page, "board")
        row = page.locator("#board-rows tr", has_text=number)
        badge = row.locator(".tag.sup-bureau")
        await expect(badge).to_contain_text("挂牌督办", timeout=LIVE_LIMIT_MS)
        await expect(badge).to_contain_text("待回复")
        await expect(row).to_have_class("listed overdue", timeout=LIVE_LIMIT_MS)
        await page.screenshot(path=str(screenshot_dir / "supervision-board.png"))

        # 督办台: the order, its due clock counting down.
        await go(page, "supervision")
        card = page.locator(f"li.sup-order[data-order='{order['id']}']")
        await expect(card).to_contain_text("挂牌督办")
        await expect(card).to_contain_text("尚未回复")
        await expect(card.locator(".sup-clock")).to_contain_text("剩余 1:5")
        # No decision before a reply.
        await expect(card.locator("[data-accept]")).to_have_count(0)

        # The chief replies from a phone; the desk shows it live.
        chief = await HttpPhone(http, "chief.chengguan").sign_in()
        reply_text = "经查，民警途中遇交通管制，已现场处置完毕，并对出警流程进行整改"
        await chief.push(
            incident_id,
            "supervision_reply",
            {"order_id": order["id"], "text": reply_text, "attachments": []},
        )
        await expect(card.locator(".sup-reply-text")).to_have_text(
            reply_text, timeout=LIVE_LIMIT_MS
        )
        await expect(card.locator(".sup-state")).to_have_text("已回复待审")
        await expect(card.locator(".sup-clock")).to_have_text("已回复，待督察审核")
        await page.screenshot(path=str(screenshot_dir / "supervision-answered.png"), full_page=True)

        # Accept: the order is done, its clock met; the board's badge goes.
        await card.locator("[data-accept]").click()
        await expect(card.locator(".sup-state")).to_have_text("已办结", timeout=LIVE_LIMIT_MS)
        await expect(card.locator(".sup-clock")).to_contain_text("已达标")
        await expect(card).to_contain_text("审核通过")
        [accepted] = await sup.orders(incident_id=incident_id)
        assert accepted["state"] == "accepted"
        assert accepted["clock"]["state"] == "met"
        await page.screenshot(path=str(screenshot_dir / "supervision-accepted.png"), full_page=True)

        await go(page, "board")
        await expect(row.locator(".tag.sup-bureau")).to_have_count(0, timeout=LIVE_LIMIT_MS)

        # The timeline names the chief's reply.
        await row.click()
        panel = page.locator("#incident-panel")
        await expect(panel.locator("table.timeline")).to_contain_text("督办回复")
        await expect(panel.locator("table.timeline")).to_contain_text(reply_text)
        await expect(panel.locator(".sup-section")).to_contain_text("已办结")

        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()


async def test_a_rejected_reply_reopens_the_order_live(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        sup = await Supervisor(http).sign_in()
        incident = await overdue_incident(desk, address="城关镇建设路12号")
        order = await sup.supervise(incident["id"], level="station")

        context, page = await command_page(chromium, base, "supervisor")
        # The panel's 督办 button is there for a supervisor, and lists the order.
        await page.locator("#board-rows tr", has_text=incident["number"]).click()
        panel = page.locator("#incident-panel")
        await expect(panel.locator("#supervise-open")).to_be_visible()
        await expect(panel.locator(".sup-section")).to_contain_text("督办")

        await go(page, "supervision")
        card = page.locator(f"li.sup-order[data-order='{order['id']}']")
        chief = await HttpPhone(http, "chief.chengguan").sign_in()
        await chief.push(
            incident["id"],
            "supervision_reply",
            {"order_id": order["id"], "text": "已处理", "attachments": []},
        )
        await expect(card.locator(".sup-state")).to_have_text("已回复待审", timeout=LIVE_LIMIT_MS)
        # A rejection needs a reason.
        await card.locator("form[data-reject] button[type=submit]").click()
        await expect(card.locator(".sup-decide .form-error")).to_have_text("请填写退回理由")
        await card.locator("form[data-reject] input[name=reason]").fill(
            "回复过于简单，请说明超时原因"
        )
        await card.locator("form[data-reject] button[type=submit]").click()
        await expect(card.locator(".sup-state")).to_have_text("待回复", timeout=LIVE_LIMIT_MS)
        await expect(card.locator(".sup-rejections")).to_contain_text("回复过于简单")
        [reopened] = await sup.orders(incident_id=incident["id"])
        assert reopened["state"] == "open" and len(reopened["rejections"]) == 1
        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()
