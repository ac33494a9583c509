"""The callback desk (回访台, PROTOCOL §9) in Debian's Chromium against a real server process.

An incident with a caller phone is recorded, dispatched and closed over the API, as another
desk would; a dispatcher signs in at /command/, finds it in 待回访 with its due time counting
down, copies the phone, records one unanswered call, then completes the callback with the
form: the row moves to 已回访, the server holds the verdict, and the incident panel shows it.
A second incident completed by another desk while this one has the form open leaves the due
list live, and the form's answer (409 already_rated) is shown in plain words. An incident
created with `no_callback` opens no task and says so in the panel.
Screenshots for a reviewer: artifacts/screenshots/callback-desk*.png.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from server.demo import DEMO_PASSWORD
from tests.live import ServerProcess

VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
LIVE_LIMIT_MS = 3000
PHONE = "13912345678"
VERDICT = {
    "reception": "satisfied",
    "timeliness": "basically_satisfied",
    "conduct": "satisfied",
    "handling": "satisfied",
    "overall": "satisfied",
}


class OtherDesk:
    """Another dispatcher's desk, over HTTP: records, dispatches and closes incidents."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.headers: dict[str, str] = {}
        self.stations: dict[str, str] = {}
        self.officer_id = ""

    async def sign_in(self) -> OtherDesk:
        r = await self.http.post(
            "/api/auth/login", json={"username": "dispatcher2", "password": DEMO_PASSWORD}
        )
        assert r.status_code == 200, r.text
        self.headers = {"Authorization": f"Bearer {r.json()['token']}"}
        stations = (await self.http.get("/api/stations", headers=self.headers)).json()
        self.stations = {s["name"]: s["id"] for s in stations}
        r = await self.http.post(
            "/api/auth/login", json={"username": "officer.zhang", "password": DEMO_PASSWORD}
        )
        assert r.status_code == 200, r.text
        self.officer_id = r.json()["person"]["id"]
        return self

    async def closed_incident(self, **fields: Any) -> dict[str, Any]:
        """An incident recorded, sent to 城关派出所 and closed, as PROTOCOL §7 has it."""
        body = {
            "category": "dispute",
            "area_type": "urban",
            "address": "城关镇解放路66号",
            "narrative": "邻里因停车发生争吵",
            "caller_name": "赵女士",
            "caller_phone": PHONE,
            **fields,
        }
        r = await self.http.post("/api/incidents", json=body, headers=self.headers)
        assert r.status_code == 201, r.text
        incident_id = r.json()["id"]
        r = await self.http.post(
            f"/api/incidents/{incident_id}/dispatch",
            json={"station_id": self.stations["城关派出所"], "person_ids": [self.officer_id]},
            headers=self.headers,
        )
        assert r.status_code == 200, r.text
        r = await self.http.post(
            f"/api/incidents/{incident_id}/close",
            json={"summary": "双方已协商解决"},
            headers=self.headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "closed"
        return dict(r.json())

    async def callbacks(self, state: str) -> dict[str, dict[str, Any]]:
        r = await self.http.get("/api/callbacks", params={"state": state}, headers=self.headers)
        assert r.status_code == 200, r.text
        return {task["incident_id"]: task for task in r.json()["callbacks"]}


async def signed_in_desk(browser: Browser, base: str) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    # The copy button uses the clipboard API: let the page write (and the test read) it.
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{base}/command/")
    await page.fill("#username", "dispatcher")
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("#sign-in-submit")
    await expect(page.locator("#conn")).to_have_class("conn conn-live", timeout=10_000)
    return context, page


def task_row(page: Page, number: str):
    return page.locator("table.callbacks-table tbody tr", has_text=number)


async def choose_verdict(page: Page, verdict: dict[str, str], comment: str) -> None:
    dialog = page.locator("#callback-dialog")
    for dimension, rating in verdict.items():
        await dialog.locator(f"fieldset[data-dimension={dimension}] label.rating-{rating}").click()
        await expect(dialog.locator(f"input[name={dimension}][value={rating}]")).to_be_checked()
    await dialog.locator("#callback-comment").fill(comment)


async def test_a_dispatcher_calls_back_and_records_the_citizens_verdict(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        other = await OtherDesk(http).sign_in()
        incident = await other.closed_incident()
        incident_id, number = incident["id"], incident["number"]
        due = await other.callbacks("due")
        assert incident_id in due, "closing an incident with a caller phone opens a task"
        task = due[incident_id]
        closed_at = datetime.fromisoformat(task["closed_at"].replace("Z", "+00:00"))
        due_at = datetime.fromisoformat(task["due_at"].replace("Z", "+00:00"))
        assert due_at - closed_at == timedelta(hours=72)

        context, desk = await signed_in_desk(chromium, base)
        await desk.click("nav a[data-page=callbacks]")
        await expect(desk.locator("[data-cb-state=due]")).to_have_attribute("aria-selected", "true")
        row = task_row(desk, number)
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text("城关派出所")
        await expect(row).to_contain_text("纠纷")
        await expect(row).to_contain_text(PHONE)
        await expect(row).to_contain_text("尚未拨打")
        # Three days less the seconds since the close, counting on the server's clock.
        await expect(row.locator(".due-clock")).to_have_text(
            re.compile(r"^剩余 (2天 23:\d\d:\d\d|3天 00:00:00)$")
        )
        await expect(row).not_to_have_class(re.compile("overdue"))
        # Oldest due first: every row above this one is due no later.
        dues = await desk.locator("table.callbacks-table tbody tr").evaluate_all(
            "rows => rows.map((r) => Date.parse(r.dataset.due))"
        )
        assert dues == sorted(dues)

        # The phone, one click from the clipboard.
        await row.locator("[data-copy]").click()
        await expect(row.locator(".copied")).to_have_text("已复制")
        assert await desk.evaluate("navigator.clipboard.readText()") == PHONE

        # Nobody answers: one attempt, still due.
        await row.locator("[data-unanswered]").click()
        await expect(row).to_contain_text("未接通 1 次")
        due = await other.callbacks("due")
        assert [a["reached"] for a in due[incident_id]["attempts"]] == [False]
        await desk.screenshot(path=str(screenshot_dir / "callback-desk.png"))

        # The caller answers: the form, every dimension chosen, a comment.
        await row.locator("[data-record]").click()
        dialog = desk.locator("#callback-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator("#callback-title")).to_contain_text(number)
        # Nothing chosen: the form names what is missing and sends nothing.
        await dialog.locator("#callback-submit").click()
        await expect(dialog.locator(".form-error")).to_contain_text("接警态度")
        await choose_verdict(desk, VERDICT, "民警处理及时，态度很好")
        await desk.screenshot(path=str(screenshot_dir / "callback-desk-form.png"))
        await dialog.locator("#callback-submit").click()
        await expect(dialog).to_be_hidden()
        await expect(row).to_have_count(0)

        # The server holds the verdict, from the callback, and the task is done.
        record = (await http.get(f"/api/incidents/{incident_id}", headers=other.headers)).json()
        [feedback] = record["feedback"]
        assert feedback["source"] == "callback"
        assert feedback["ratings"] == {k: v for k, v in VERDICT.items() if k != "overall"}
        assert feedback["overall"] == "satisfied"
        assert feedback["comment"] == "民警处理及时，态度很好"
        done = await other.callbacks("done")
        assert done[incident_id]["state"] == "done"
        assert [a["reached"] for a in done[incident_id]["attempts"]] == [False, True]

        # 已回访 lists it; its number opens the panel, which shows the verdict.
        await desk.click("[data-cb-state=done]")
        done_row = task_row(desk, number)
        await expect(done_row).to_have_count(1)
        await expect(done_row).to_contain_text("电话回访")
        await done_row.locator("[data-cb-open]").click()
        panel = desk.locator("#incident-panel")
        await expect(panel.locator("h2")).to_contain_text(number)
        verdicts = panel.locator("ul.feedback-list li")
        await expect(verdicts).to_have_count(1)
        await expect(verdicts).to_contain_text("回访")
        await expect(verdicts).to_contain_text("总体评价：满意")
        await expect(verdicts).to_contain_text("出警时间基本满意")
        await expect(verdicts).to_contain_text("民警处理及时，态度很好")
        await desk.screenshot(path=str(screenshot_dir / "callback-desk-done.png"))
        await panel.locator("button.close-panel").click()
        assert desk.errors == []  # type: ignore[attr-defined]
        await context.close()


async def test_another_desks_verdict_leaves_the_due_list_live_and_the_form_says_so(
    chromium: Browser, server: ServerProcess
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        other = await OtherDesk(http).sign_in()
        incident = await other.closed_incident(address="人民路1号")
        quiet = await other.closed_incident(address="河滨路9号", no_callback=True)
        assert quiet["id"] not in await other.callbacks("all"), "no_callback opens no task"

        context, desk = await signed_in_desk(chromium, base)
        await desk.click("nav a[data-page=callbacks]")
        row = task_row(desk, incident["number"])
        await expect(row).to_have_count(1)
        await expect(task_row(desk, quiet["number"])).to_have_count(0)
        await row.locator("[data-record]").click()
        await choose_verdict(desk, VERDICT, "")

        # Meanwhile another desk completes the same callback: the feed carries the incident's
        # new `feedback`, and the desk loads its lists again without being asked.
        r = await http.post(
            f"/api/incidents/{incident['id']}/callbacks",
            json={
                "reached": True,
                "ratings": {k: v for k, v in VERDICT.items() if k != "overall"},
                "overall": "basically_satisfied",
            },
            headers=other.headers,
        )
        assert r.status_code == 201, r.text
        await expect(row).to_have_count(0, timeout=LIVE_LIMIT_MS)

        # This desk's form, still open, gets 409 already_rated, said in plain words.
        dialog = desk.locator("#callback-dialog")
        await dialog.locator("#callback-submit").click()
        await expect(dialog.locator(".form-error")).to_have_text("该警情已有评价（扫码或回访）")
        await dialog.locator("#callback-cancel").click()

        # 已回访 lists it, with the other desk's verdict in its panel.
        await desk.click("[data-cb-state=done]")
        done_row = task_row(desk, incident["number"])
        await expect(done_row).to_have_count(1)
        await done_row.locator("[data-cb-open]").click()
        panel = desk.locator("#incident-panel")
        await expect(panel.locator("ul.feedback-list li")).to_contain_text("总体评价：基本满意")
        await panel.locator("button.close-panel").click()
        # The incident created with no_callback is in no list, and the record says so.
        for state in ("done", "unreachable"):
            await desk.click(f"[data-cb-state={state}]")
            await expect(desk.locator("#cb-body")).not_to_contain_text(quiet["number"])
        r = await http.get(f"/api/incidents/{quiet['id']}", headers=other.headers)
        assert r.json().get("no_callback") is True
        assert desk.errors == []  # type: ignore[attr-defined]
        await context.close()
