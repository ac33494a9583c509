"""The daily meeting view (调度会), the weekly report and 三反馈 in Debian's Chromium against a
real `qingling serve --demo` (PROTOCOL §11, docs/command.md).

A supervisor opens 调度会: yesterday (Beijing time) by default, the bureau's name, the day
and the generated time at the top; the day's figures are the server's daily report; the
incidents whose clocks ran out that day and the citizens' unsatisfied verdicts are the
server's review items of that day. "打印" gives an A4 handout: printed to PDF
(`artifacts/meeting-view.pdf`, one page per section), with no header bar and no buttons.
A dispatcher sees the figures and is told which lists their role may not read. Closing an
incident without its three feedbacks asks the dispatcher first, naming what is missing.

Screenshots for a reviewer: artifacts/screenshots/meeting-*.png.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from server.core.clock import SHANGHAI
from server.demo import DEMO_PASSWORD
from tests.browser.field import Desk, HttpPhone
from tests.live import ROOT, ServerProcess

VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
ARTIFACTS = ROOT / "artifacts"


async def signed_in(browser: Browser, base: str, username: str) -> tuple[BrowserContext, Page]:
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


async def api_headers(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await http.post(
        "/api/auth/login",
        json={"username": username, "password": DEMO_PASSWORD, "device": {"label": "probe"}},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def beijing_yesterday() -> date:
    return datetime.now(SHANGHAI).date() - timedelta(days=1)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
    return start, start + timedelta(days=1)


def parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def overdue_incidents_of(items: list[dict[str, Any]], day: date) -> set[str]:
    """The incidents whose clocks ran out on `day`: an overdue item's due time in the day."""
    start, end = day_bounds(day)
    return {
        i["incident_id"]
        for i in items
        if i["kind"] == "overdue"
        and i["incident_id"]
        and start <= parse(i["detail"].get("due_at") or i["created_at"]) < end
    }


def unsatisfied_incidents_of(items: list[dict[str, Any]], day: date) -> set[str]:
    start, end = day_bounds(day)
    return {
        i["incident_id"]
        for i in items
        if i["kind"] == "citizen_unsatisfied" and start <= parse(i["created_at"]) < end
    }


def pdf_pages(pdf: bytes) -> int:
    """The page count of a PDF Chromium wrote (its page tree's /Count)."""
    return max(int(n) for n in re.findall(rb"/Count (\d+)", pdf))


async def open_meeting(page: Page) -> None:
    await page.click("nav a[data-page=meeting]")
    await expect(page.locator("#meeting-body")).to_have_attribute(
        "data-state", "loaded", timeout=10_000
    )


async def test_a_supervisor_reads_and_prints_the_meeting_view(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    day = beijing_yesterday()
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        headers = await api_headers(http, "supervisor")
        r = await http.get("/api/reports/daily", params={"date": day.isoformat()}, headers=headers)
        assert r.status_code == 200, r.text
        report = r.json()
        r = await http.get("/api/reviews", params={"state": "all", "limit": 1000}, headers=headers)
        assert r.status_code == 200, r.text
        items = r.json()
        overdue = overdue_incidents_of(items, day)
        unsatisfied = unsatisfied_incidents_of(items, day)
        # The demo's yesterday has a call left open past its clocks (server/demo.py).
        assert overdue, "the demo should have an incident that went overdue yesterday"

        context, page = await signed_in(chromium, base, "supervisor")
        await open_meeting(page)
        # Yesterday by default, Beijing time; the header names the bureau, day and time made.
        await expect(page.locator("#meeting-date")).to_have_value(day.isoformat())
        head = page.locator(".m-head")
        await expect(head).to_contain_text("清岭县公安局指挥中心")
        await expect(head).to_contain_text(f"调度会 · {day.isoformat()} 星期")
        await expect(head).to_contain_text("生成时间：")

        # 一、the day's figures: the bureau's row is the server's daily report.
        b = report["bureau"]
        total = page.locator("#m-figures tr.total td")
        for n, key in enumerate(["received", "cleared", "carried_over", "open"]):
            await expect(total.nth(n)).to_have_text(str(b[key]))
        arrival = b["arrival"]
        base_ = arrival["dispatched"] - (arrival.get("pending") or 0)
        if base_:
            await expect(total.nth(4)).to_contain_text(f"{arrival['within_target']}/{base_} · ")
        names = [s["name"] for s in report["stations"]]
        await expect(page.locator("#m-figures tbody th[scope=row]")).to_have_text([*names, "全局"])
        await expect(page.locator("#m-summary")).to_contain_text(f"全局接警 {b['received']} 起")

        # 二、the incidents whose clocks ran out that day, one row each, by number.
        rows = page.locator("#m-overdue tbody tr")
        await expect(rows).to_have_count(len(overdue))
        shown = set(await rows.evaluate_all("rows => rows.map((r) => r.dataset.incident)"))
        assert shown == overdue
        await expect(page.locator("#m-overdue-h")).to_contain_text(f"超时警情 ({len(overdue)})")
        some = next(iter(overdue))
        number = (await http.get(f"/api/incidents/{some}", headers=headers)).json()["number"]
        await expect(page.locator(f"#m-overdue tr[data-incident='{some}']")).to_contain_text(number)
        await expect(page.locator(f"#m-overdue tr[data-incident='{some}']")).to_contain_text("⚠")

        # 三、unsatisfied verdicts raised that day.
        if unsatisfied:
            urows = page.locator("#m-unsatisfied tbody tr")
            await expect(urows).to_have_count(len(unsatisfied))
            seen = set(await urows.evaluate_all("rows => rows.map((r) => r.dataset.incident)"))
            assert seen == unsatisfied
        else:
            await expect(page.locator("#m-unsatisfied")).to_contain_text("当日没有群众不满意评价")
        # 四、五、orders and rectifications: listed, none, or (before §11) said to be missing.
        for section in ("#m-orders", "#m-rectifications"):
            await expect(page.locator(section)).to_contain_text(
                re.compile("没有|服务器尚未提供|督办|整改")
            )

        # A number opens the incident's panel.
        await page.locator(f"#m-overdue tr[data-incident='{some}'] button").click()
        await expect(page.locator("#incident-panel h2")).to_contain_text(number)
        await page.locator("#incident-panel button.close-panel").click()
        await page.screenshot(path=str(screenshot_dir / "meeting-view.png"), full_page=True)

        # Print: no header bar, no navigation, no buttons; the handout's own header stays.
        await page.emulate_media(media="print")
        for hidden in ("header.top", "nav", "#meeting-print", "#meeting-load", "#meeting-date"):
            await expect(page.locator(hidden).first).to_be_hidden()
        await expect(head).to_be_visible()
        await expect(page.locator("#m-overdue .m-running")).to_be_visible()
        await page.screenshot(path=str(screenshot_dir / "meeting-view-print.png"), full_page=True)
        ARTIFACTS.mkdir(exist_ok=True)
        pdf = await page.pdf(path=str(ARTIFACTS / "meeting-view.pdf"), format="A4")
        # One section a page: the figures, overdue, unsatisfied, orders, rectifications.
        assert pdf_pages(pdf) >= 5
        await page.emulate_media(media="screen")
        await expect(page.locator("header.top")).to_be_visible()

        # Another day: the day before yesterday, asked for in the page.
        earlier = day - timedelta(days=1)
        await page.fill("#meeting-date", earlier.isoformat())
        await page.click("#meeting-load")
        await expect(head).to_contain_text(f"调度会 · {earlier.isoformat()}")
        # English on request.
        await page.click("#lang")
        await expect(page.locator("nav a[data-page=meeting]")).to_have_text("Daily meeting")
        await expect(page.locator("#meeting-print")).to_have_text("Print")
        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()


async def test_a_dispatcher_sees_the_figures_and_is_told_what_their_role_may_not_read(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    context, page = await signed_in(chromium, server.url, "dispatcher")
    await open_meeting(page)
    await expect(page.locator("#m-figures tr.total")).to_contain_text("全局")
    # The review queue is the supervisors' (GET /api/reviews answers a dispatcher 403).
    for section in ("#m-overdue", "#m-unsatisfied"):
        await expect(page.locator(section)).to_contain_text("您的角色无权查看此项")
    await page.screenshot(path=str(screenshot_dir / "meeting-view-dispatcher.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
    await context.close()


async def test_closing_without_the_three_feedbacks_asks_to_confirm(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        incident = await desk.dispatch_new(
            "officer.zhang", "城关镇人民路8号", "两人争吵（三反馈测试）"
        )
        incident_id, number = incident["id"], incident["number"]

        context, page = await signed_in(chromium, base, "dispatcher")
        await page.locator("#board-rows tr", has_text=number).click()
        panel = page.locator("#incident-panel")
        await expect(panel.locator("h2")).to_contain_text(number)
        # Nothing came from the field: three ticks, each "未反馈", in words.
        ticks = panel.locator(".three-feedbacks li")
        await expect(ticks).to_have_count(3)
        await expect(ticks).to_have_text(
            [
                re.compile("到场反馈\\s*未反馈"),
                re.compile("现场反馈\\s*未反馈"),
                re.compile("处置反馈\\s*未反馈"),
            ]
        )
        await panel.locator("details[data-actions] summary").click()
        await panel.locator("#close-summary").fill("已处理")
        await panel.locator("#close-submit").click()
        dialog = page.locator("#close-confirm")
        await expect(dialog).to_be_visible()
        await expect(dialog).to_contain_text("到场反馈、现场反馈、处置反馈")
        await page.screenshot(path=str(screenshot_dir / "meeting-close-confirm.png"))
        # Going back closes nothing.
        await dialog.locator("#close-confirm-back").click()
        await expect(dialog).to_have_count(0)
        assert (await desk.incident(incident_id))["status"] == "dispatched"
        await expect(panel.locator("#close-summary")).to_have_value("已处理")
        # Confirmed: closed.
        await panel.locator("#close-submit").click()
        await page.locator("#close-confirm-ok").click()
        await expect(panel.locator("h2")).to_contain_text("已办结")
        closed = await desk.incident(incident_id)
        assert closed["status"] == "closed" and closed["close_summary"] == "已处理"
        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()


async def test_with_all_three_feedbacks_the_close_asks_nothing_and_the_case_shows(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        incident = await desk.dispatch_new("officer.zhang", "城关镇建设路3号", "盗窃电动车（立案）")
        incident_id, number = incident["id"], incident["number"]
        zhang = await HttpPhone(http, "officer.zhang").sign_in()
        await zhang.push(incident_id, "arrival", {"lat": None, "lon": None, "accuracy_m": None})
        await zhang.push(incident_id, "scene_report", {"situation": "车辆被盗", "parties": 1})
        await zhang.push(
            incident_id, "disposition", {"result": "case_accepted", "summary": "已受案"}
        )
        await zhang.push(
            incident_id, "case_progress", {"case_number": "A2026-118", "stage": "filed"}
        )
        record = await desk.incident(incident_id)
        assert record["three_feedbacks"] == {"arrival": True, "scene": True, "disposition": True}

        context, page = await signed_in(chromium, base, "dispatcher")
        await page.locator("#board-rows tr", has_text=number).click()
        panel = page.locator("#incident-panel")
        await expect(panel.locator(".three-feedbacks li[data-done=true]")).to_have_count(3)
        await expect(panel.locator(".three-feedbacks")).to_contain_text("三反馈齐全")
        await expect(panel.locator(".case .case-number")).to_have_text("A2026-118")
        await expect(panel.locator(".case .case-stage")).to_contain_text("立案")
        await page.screenshot(path=str(screenshot_dir / "meeting-panel-case.png"))
        await panel.locator("details[data-actions] summary").click()
        await panel.locator("#close-summary").fill("已受案，移交办案队")
        await panel.locator("#close-submit").click()
        await expect(panel.locator("h2")).to_contain_text("已办结")
        await expect(page.locator("#close-confirm")).to_have_count(0)
        assert (await desk.incident(incident_id))["status"] == "closed"
        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()


async def test_the_meeting_lists_orders_and_rectifications_and_the_weekly_report_reads(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    day = beijing_yesterday()
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        headers = await api_headers(http, "supervisor")
        desk = await Desk(http).sign_in()
        incident = await desk.dispatch_new(
            "officer.zhang", "城关镇河滨路1号", "多次报警未处理（督办）"
        )
        now = datetime.now(UTC)
        r = await http.post(
            f"/api/incidents/{incident['id']}/supervise",
            json={
                "level": "bureau",
                "instructions": "三日内查明原因并报告",
                "due_at": (now + timedelta(days=3)).isoformat(),
            },
            headers=headers,
        )
        assert r.status_code == 201, r.text
        order = r.json()
        r = await http.post(
            "/api/notices",
            json={
                "kind": "criticism",
                "station_ids": [desk.stations["城关派出所"]],
                "incident_ids": [incident["id"]],
                "text": "接处警不规范，限期整改",
                "rectify_by": (now + timedelta(days=2)).isoformat(),
            },
            headers=headers,
        )
        assert r.status_code == 201, r.text
        # The review filters narrow on the server now.
        start, end = day_bounds(day)
        r = await http.get(
            "/api/reviews",
            params={
                "state": "all",
                "kind": "overdue",
                "since": start.isoformat(),
                "until": end.isoformat(),
            },
            headers=headers,
        )
        assert r.status_code == 200, r.text
        assert all(i["kind"] == "overdue" for i in r.json())
        report = (
            await http.get("/api/reports/daily", params={"date": day.isoformat()}, headers=headers)
        ).json()

        context, page = await signed_in(chromium, base, "supervisor")
        await open_meeting(page)
        order_row = page.locator(f"#m-orders tr[data-order='{order['id']}']")
        await expect(order_row).to_contain_text(incident["number"])
        await expect(order_row).to_contain_text("挂牌督办")
        await expect(order_row).to_contain_text("三日内查明原因并报告")
        await expect(order_row).to_contain_text("待回复")
        rect = page.locator("#m-rectifications tbody tr", has_text="城关派出所")
        await expect(rect).to_contain_text("接处警不规范")
        await expect(rect).to_contain_text("待整改")
        # En route (途中) and 三反馈 are the server's.
        b = report["bureau"]
        total = page.locator("#m-figures tr.total td")
        await expect(total.nth(5)).to_have_text(str(b["arrival"]["pending"]))
        tf = b["three_feedbacks"]
        if tf["closed"]:
            await expect(total.nth(9)).to_contain_text(f"{tf['complete']}/{tf['closed']} · ")
        await expect(total.nth(10)).to_have_text(str(b["cases"]["filed"]))
        await page.screenshot(path=str(screenshot_dir / "meeting-view-orders.png"), full_page=True)

        # The weekly report (日结周评): this ISO week by default, its days named, a CSV.
        await page.click("nav a[data-page=reports]")
        await page.click("[data-period=weekly]")
        iso = datetime.now(SHANGHAI).date().isocalendar()
        week = f"{iso.year}-W{iso.week:02d}"
        await expect(page.locator("#report-week")).to_have_value(week)
        await expect(page.locator("#report-body p.period")).to_contain_text(f"{week}（")
        weekly = (
            await http.get("/api/reports/weekly", params={"week": week}, headers=headers)
        ).json()
        main_total = page.locator("#report-body table.report:not(.diversion-table) tr.total td")
        await expect(main_total.nth(0)).to_have_text(str(weekly["bureau"]["received"]))
        await expect(page.locator("#report-body thead").first).to_contain_text("途中")
        await expect(page.locator("#report-body [data-block=three_feedbacks]")).to_be_visible()
        await expect(page.locator("#report-body [data-block=cases]")).to_be_visible()
        await page.screenshot(path=str(screenshot_dir / "meeting-weekly.png"), full_page=True)
        async with page.expect_download() as download_info:
            await page.click("#report-csv")
        download = await download_info.value
        assert download.suggested_filename == f"qingling-weekly-{week}.csv"
        csv_bytes = await asyncio.to_thread(Path(await download.path()).read_bytes)
        assert "城关派出所" in csv_bytes.decode("utf-8-sig")
        # The monthly report lists the month's open cases (月清仓).
        await page.click("[data-period=monthly]")
        await expect(page.locator("#report-body #oc-h")).to_contain_text("月清仓")
        assert page.errors == []  # type: ignore[attr-defined]
        await context.close()


async def test_a_slow_report_for_the_period_left_behind_does_not_replace_the_one_chosen(
    chromium: Browser, server: ServerProcess
) -> None:
    """The reports page loads today's daily report; the reviewer picks the weekly one while
    the daily answer is still on its way. When the daily answer lands last, the page keeps
    the week (a fresh clone's CI once read the daily total under the weekly heading)."""
    context, page = await signed_in(chromium, server.url, "supervisor")
    daily_asked = asyncio.Event()
    release_daily = asyncio.Event()

    async def hold_daily(route: Any) -> None:
        daily_asked.set()
        await release_daily.wait()
        await route.continue_()

    await page.route(re.compile(r"/api/reports/daily\?"), hold_daily)
    daily_done = asyncio.Event()
    page.on(
        "requestfinished",
        lambda request: daily_done.set() if "/api/reports/daily?" in request.url else None,
    )
    await page.click("nav a[data-page=reports]")
    await asyncio.wait_for(daily_asked.wait(), timeout=10)
    await page.click("[data-period=weekly]")
    iso = datetime.now(SHANGHAI).date().isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"
    period = page.locator("#report-body p.period")
    await expect(period).to_contain_text(f"{week}（")
    release_daily.set()
    await asyncio.wait_for(daily_done.wait(), timeout=10)
    # Let the page run what follows the daily answer (reading its body, drawing), then look.
    await page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 300))")
    await expect(period).to_contain_text(f"{week}（")
    await expect(page.locator("[data-period=weekly]")).to_have_attribute("aria-selected", "true")
    assert page.errors == []  # type: ignore[attr-defined]
    await context.close()
