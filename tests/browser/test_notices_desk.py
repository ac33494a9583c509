"""通报 (notices) and 整改 (rectification), PROTOCOL §11, in the command view, in Debian's
Chromium against a real server process.

The supervisor issues a notice from the page — 通报批评 to 城关派出所 and 河口派出所, about one
incident named by its number, with a rectification due half a minute on. The list shows each
station 待整改 counting down. 河口's chief sends the rectification from a phone (an HTTP
device, op `rectification` with `incident_id` null): 河口's row turns 已整改 live. The due time
passes: 城关's row reads 整改超期 (in words and red), and the server's overdue review item
(clock 整改时限) joins the queue. 城关's chief then rectifies late: 已整改 · 逾期完成, live.
Screenshots: artifacts/screenshots/notices-*.png.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser, expect

from tests.browser.field import Desk, HttpPhone
from tests.browser.supervision_desk import (
    CHENGGUAN,
    HEKOU,
    LIVE_LIMIT_MS,
    Supervisor,
    command_page,
    go,
    overdue_incident,
)
from tests.live import ServerProcess

BEIJING = ZoneInfo("Asia/Shanghai")
DUE_IN_S = 30


async def test_a_supervisor_issues_a_notice_and_watches_the_rectifications(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        sup = await Supervisor(http).sign_in()
        incident = await overdue_incident(desk)
        number = incident["number"]

        context, page = await command_page(chromium, base, "supervisor")
        await go(page, "notices")
        form = page.locator("#notice-form")
        await expect(form).to_be_visible()

        # The form checks itself before sending.
        await form.locator("#notice-text").fill("近期多起警情到场超时，予以通报批评，请限期整改")
        await form.locator("#notice-submit").click()
        await expect(form.locator(".form-error")).to_contain_text("请至少选择一个单位")
        await form.get_by_label(CHENGGUAN).check()
        await form.get_by_label(HEKOU).check()
        await form.locator("#notice-numbers").fill("J19990101-9999")
        await form.locator("#notice-submit").click()
        await expect(form.locator(".form-error")).to_contain_text("找不到警情：J19990101-9999")

        await form.locator("#notice-kind").select_option("criticism")
        await form.locator("#notice-numbers").fill(number)
        due = datetime.now(UTC) + timedelta(seconds=DUE_IN_S)
        await form.locator("#notice-rectify-by").fill(
            due.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M:%S")
        )
        await page.screenshot(path=str(screenshot_dir / "notices-issue.png"), full_page=True)
        await form.locator("#notice-submit").click()
        await expect(form.locator(".form-error")).to_be_hidden()

        # The demo has notices of its own: ours is the one about this incident.
        [notice] = [
            n for n in await sup.notices() if [i["number"] for i in n["incidents"]] == [number]
        ]
        assert notice["kind"] == "criticism"
        assert [i["number"] for i in notice["incidents"]] == [number]
        assert notice["rectify_by"] is not None
        chengguan, hekou = sup.stations[CHENGGUAN], sup.stations[HEKOU]

        card = page.locator(f"li.notice[data-notice='{notice['id']}']")
        await expect(card.locator(".notice-kind")).to_have_text("通报批评")
        await expect(card.locator("a.number")).to_have_text(number)
        ours = card.locator(f"tr[data-station='{chengguan}'] .rect")
        theirs = card.locator(f"tr[data-station='{hekou}'] .rect")
        await expect(ours).to_contain_text("待整改 · 剩余 0:")
        await expect(theirs).to_contain_text("待整改")

        # 河口's chief rectifies from a phone: the row turns done, live.
        hekou_chief = await HttpPhone(http, "chief.hekou").sign_in()
        await hekou_chief.push(
            None,  # type: ignore[arg-type]  # a rectification names no incident
            "rectification",
            {"notice_id": notice["id"], "text": "已组织专题整改", "attachments": []},
        )
        await expect(theirs).to_contain_text("已整改", timeout=LIVE_LIMIT_MS)
        await expect(card.locator(f"tr[data-station='{hekou}']")).to_contain_text("已组织专题整改")
        await page.screenshot(path=str(screenshot_dir / "notices-one-done.png"), full_page=True)

        # The due time passes: 城关 owes it, overdue in words.
        await expect(ours).to_contain_text("整改超期", timeout=(DUE_IN_S + 5) * 1000)
        await expect(ours).to_have_class("rect rect-overdue rect-late")
        await page.screenshot(path=str(screenshot_dir / "notices-overdue.png"), full_page=True)

        # The server's overdue item joins the review queue (clock 整改时限, the station named).
        await go(page, "reviews")
        item = page.locator("#review-list li.kind-overdue", has_text="整改时限")
        await expect(item.first).to_contain_text(CHENGGUAN, timeout=10_000)
        # An owed rectification names no incident: no 督办 from it.
        await expect(item.first.locator("[data-supervise]")).to_have_count(0)

        # 城关's chief rectifies late: done, and said to be late.
        await go(page, "notices")
        chengguan_chief = await HttpPhone(http, "chief.chengguan").sign_in()
        await chengguan_chief.push(
            None,  # type: ignore[arg-type]
            "rectification",
            {"notice_id": notice["id"], "text": "已完成整改（逾期）", "attachments": []},
        )
        ours = page.locator(
            f"li.notice[data-notice='{notice['id']}'] tr[data-station='{chengguan}'] .rect"
        )
        await expect(ours).to_contain_text("已整改", timeout=LIVE_LIMIT_MS)
        await expect(ours).to_contain_text("逾期完成")
        [held] = [n for n in await sup.notices() if n["id"] == notice["id"]]
        states = {s["station_id"]: s["state"] for s in held["stations"]}
        assert states == {chengguan: "done", hekou: "done"}
        await page.screenshot(path=str(screenshot_dir / "notices-done-late.png"), full_page=True)

        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()


async def test_a_notice_without_rectification_asks_nothing(
    chromium: Browser, server: ServerProcess
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        sup = await Supervisor(http).sign_in()
        context, page = await command_page(chromium, base, "supervisor")
        await go(page, "notices")
        # Issued by another desk: it arrives live.
        notice = await sup.notify(
            kind="commendation",
            station_ids=[sup.stations[HEKOU]],
            text="河口派出所快速处置，予以表扬",
        )
        card = page.locator(f"li.notice[data-notice='{notice['id']}']")
        await expect(card.locator(".notice-kind")).to_have_text("通报表扬", timeout=LIVE_LIMIT_MS)
        await expect(card.locator(".rect")).to_have_text("无需整改")
        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()
