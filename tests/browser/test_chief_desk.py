"""The station chief's desk (PROTOCOL §11) in Debian's Chromium against a real server process.

城关派出所's chief (chief.chengguan, 陈刚) signs in to /command/ (the other field roles are
still turned away: tests/browser/test_command.py) and sees their station only: the board's
rows are all 城关's, the review queue is read only and holds only 城关's items, 督办台 holds
城关's order but not 河口's, and 通报 the notices naming 城关 (not one naming only 河口).
The menu has no 回访台 and no dispatch acts. The chief answers an order and a notice's
rectification from the page: each is pushed as an op under the desk's own device with the
next seq (kept in localStorage), the result is shown, and the lists change live.
Screenshots: artifacts/screenshots/chief-*.png.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from tests.browser.field import Desk
from tests.browser.supervision_desk import (
    CHENGGUAN,
    HEKOU,
    LIVE_LIMIT_MS,
    Supervisor,
    command_page,
    go,
    overdue_incident,
    overdue_item,
)
from tests.live import ServerProcess


async def test_a_station_chief_sees_their_station_and_answers_from_the_command_view(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        sup = await Supervisor(http).sign_in()
        ours = await overdue_incident(desk, CHENGGUAN, "officer.zhang", "城关镇人民路8号")
        theirs = await overdue_incident(desk, HEKOU, "officer.wang", "河口镇滨江路3号")
        await overdue_item(sup, ours["id"])
        await overdue_item(sup, theirs["id"])
        our_order = await sup.supervise(ours["id"], level="bureau", instructions="请所长亲自督办")
        their_order = await sup.supervise(theirs["id"], level="station")
        rectify_by = datetime.now(UTC) + timedelta(days=1)
        both = await sup.notify(
            kind="criticism",
            station_ids=[sup.stations[CHENGGUAN], sup.stations[HEKOU]],
            incident_ids=[ours["id"]],
            text="近期到场超时多发，通报批评，限期整改",
            rectify_by=rectify_by.isoformat(),
        )
        only_hekou = await sup.notify(
            kind="commendation", station_ids=[sup.stations[HEKOU]], text="河口派出所表扬"
        )

        context, page = await command_page(chromium, base, "chief.chengguan")
        me = await page.evaluate("JSON.parse(localStorage.getItem('qingling.command.session'))")
        assert me["person"]["role"] == "station_chief"
        device_id = me["device_id"]

        # The chief's menu: no 回访台, no 责任清单.
        pages = await page.locator("nav a[data-page]").evaluate_all(
            "links => links.map((a) => a.dataset.page)"
        )
        assert pages == ["board", "reviews", "supervision", "notices", "reports", "meeting"]

        # The board: 城关's rows only, no 新建警情, and the panel offers no acts.
        rows = page.locator("#board-rows tr")
        await expect(rows.filter(has_text=ours["number"])).to_have_count(1)
        await expect(rows.filter(has_text=theirs["number"])).to_have_count(0)
        stations = await rows.evaluate_all("rs => rs.map((r) => r.cells[3].textContent.trim())")
        assert stations and set(stations) == {CHENGGUAN}
        await expect(page.locator("#new-incident")).to_have_count(0)
        await expect(
            rows.filter(has_text=ours["number"]).locator(".tag.sup-bureau")
        ).to_contain_text("挂牌督办")
        await page.screenshot(path=str(screenshot_dir / "chief-board.png"))
        await rows.filter(has_text=ours["number"]).click()
        panel = page.locator("#incident-panel")
        await expect(panel.locator(".sup-section")).to_contain_text("挂牌督办")
        for act in (
            "#dispatch-submit",
            "#reassign-submit",
            "#divert-open",
            "#close-submit",
            "#cancel-submit",
            "#point-check-submit",
            "#supervise-open",
        ):
            await expect(panel.locator(act)).to_have_count(0)
        await panel.locator("[data-action=close]").click()

        # The review queue: read only, 城关's items only.
        await go(page, "reviews")
        await expect(page.locator("#review-list li", has_text=ours["number"]).first).to_be_visible()
        await expect(page.locator("#review-list li", has_text=theirs["number"])).to_have_count(0)
        await expect(page.locator("#review-list [data-expand]")).to_have_count(0)
        await expect(page.locator("#review-list [data-supervise]")).to_have_count(0)
        await page.screenshot(path=str(screenshot_dir / "chief-reviews.png"))

        # 督办台: 城关's order, not 河口's; the chief replies from the page.
        await go(page, "supervision")
        card = page.locator(f"li.sup-order[data-order='{our_order['id']}']")
        await expect(card).to_be_visible()
        await expect(page.locator(f"li.sup-order[data-order='{their_order['id']}']")).to_have_count(
            0
        )
        await expect(card.locator("[data-accept]")).to_have_count(0)
        form = card.locator("form[data-reply]")
        await form.locator("button[type=submit]").click()
        await expect(form.locator(".form-error")).to_have_text("请填写回复内容")
        reply = "已约谈出警民警，超时原因系车辆故障，已调配备用车辆"
        await form.locator("textarea").fill(reply)
        await form.locator("button[type=submit]").click()
        await expect(card.locator("[data-push-result]")).to_have_text("已提交 ✓")
        await expect(card.locator(".sup-state")).to_have_text("已回复待审", timeout=LIVE_LIMIT_MS)
        await expect(card.locator(".sup-reply-text")).to_have_text(reply)
        # The form is cleared for a further reply, whichever came first: the answer or the feed.
        await expect(form.locator("textarea")).to_have_value("")
        seqs = json.loads(await page.evaluate("localStorage.getItem('qingling.command.seq')"))
        assert seqs == {device_id: 1}
        [answered] = await sup.orders(incident_id=ours["id"])
        assert answered["state"] == "answered"
        assert answered["reply"]["text"] == reply
        await page.screenshot(path=str(screenshot_dir / "chief-supervision.png"), full_page=True)

        # 通报: the notice naming 城关, not the one naming only 河口; the chief rectifies.
        await go(page, "notices")
        notice = page.locator(f"li.notice[data-notice='{both['id']}']")
        await expect(notice).to_be_visible()
        await expect(page.locator(f"li.notice[data-notice='{only_hekou['id']}']")).to_have_count(0)
        await expect(page.locator("#notice-form")).to_have_count(0)  # a chief issues none
        our_row = notice.locator(f"tr[data-station='{sup.stations[CHENGGUAN]}']")
        await expect(our_row.locator(".rect")).to_contain_text("待整改")
        text = "已组织全所学习出警规范，调整夜间备勤安排"
        await notice.locator("form[data-rectify] textarea").fill(text)
        await notice.locator("form[data-rectify] button[type=submit]").click()
        await expect(notice.locator("[data-push-result]")).to_have_text("已提交 ✓")
        await expect(our_row.locator(".rect")).to_contain_text("已整改", timeout=LIVE_LIMIT_MS)
        await expect(our_row).to_contain_text(text)
        await expect(notice.locator("form[data-rectify]")).to_have_count(0)
        seqs = json.loads(await page.evaluate("localStorage.getItem('qingling.command.seq')"))
        assert seqs == {device_id: 2}
        [held] = [n for n in await sup.notices() if n["id"] == both["id"]]
        states = {s["station_id"]: s["state"] for s in held["stations"]}
        assert states == {sup.stations[CHENGGUAN]: "done", sup.stations[HEKOU]: "owed"}
        await page.screenshot(path=str(screenshot_dir / "chief-notices.png"), full_page=True)

        # The server took both ops from this desk's device, in order.
        r = await http.get("/api/sync/rejected", headers={"Authorization": f"Bearer {me['token']}"})
        assert r.status_code == 200 and r.json() == []

        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()
