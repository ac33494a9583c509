"""Non-police diversion (非警务分流, PROTOCOL §10) at the command desk, in Debian's Chromium
against a real `qingling serve --demo`.

A dispatcher records a burst-pipe call through the page, opens it, and diverts it from the
chooser to the agency ranked first by its duties; the board shows it 已分流 with the agency's
clocks (签收, 反馈) counting down and no arrival clock. The agency's person, over plain HTTP
(PROTOCOL §3), acknowledges it and answers `agency_feedback` `returned`: the call comes back
to the board as 待派警 with "退回：<reason>", live, without a reload; the panel's timeline holds
the diversion and the agency's feedback. An admin edits the responsibility list (责任清单),
which a dispatcher is not offered, and reads the reports' diversion block.
Screenshots for a reviewer: artifacts/screenshots/divert-chooser.png, board-diverted.png,
board-returned.png, duties.png, reports-diversion.png.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Self

import httpx
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from server.demo import DEMO_PASSWORD
from tests.browser.field import HttpPhone
from tests.conftest import TEST_DATABASE_URL
from tests.live import ROOT, ServerProcess

VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
LIVE_LIMIT_MS = 3000
NARRATIVE = "小区水管爆裂，水漫进楼道"
ADDRESS = "城关镇幸福小区3栋"
INSTRUCTIONS = "请立即派员关闭总阀并组织抢修，处置后回复报警人"
REASON = "经核实为小区物业自有管网，不属本单位职责，请转物业处理"


class AgencyPhone(HttpPhone):
    """An agency person's device over plain HTTP (tests/browser/field.py `HttpPhone`)."""

    async def sign_in(self) -> Self:
        await super().sign_in()
        assert self.role == "agency"
        return self


# The demo's agency accounts (README): 县12345热线, and the units the §10 demo adds.
DEMO_AGENCY_ACCOUNTS = (
    "agency.hotline",
    "agency.housing",
    "agency.power",
    "agency.township",
    "agency.transport",
)


async def agency_phone(http: httpx.AsyncClient, agency_id: str, agency_name: str) -> AgencyPhone:
    """The demo's person of that agency, or (a demo without one) an account added to it
    with the CLI, as an administrator would."""
    for username in DEMO_AGENCY_ACCOUNTS:
        r = await http.post(
            "/api/auth/login",
            json={"username": username, "password": DEMO_PASSWORD, "device": {"label": "probe"}},
        )
        if r.status_code == 200 and r.json()["person"]["station_id"] == agency_id:
            return await AgencyPhone(http, username).sign_in()
    username = f"agency.test-{uuid.uuid4().hex[:6]}"
    # A blocking child process, run off the event loop.
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "server.cli",
            "user",
            "add",
            "--username",
            username,
            "--password-stdin",
            "--role",
            "agency",
            "--station",
            agency_id,
            "--name",
            f"{agency_name}值班员",
        ],
        input=DEMO_PASSWORD + "\n",
        text=True,
        capture_output=True,
        cwd=ROOT,
        env={
            **os.environ,
            "QINGLING_DATABASE_URL": TEST_DATABASE_URL,
            "PICCOLO_CONF": "piccolo_conf",
        },
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return await AgencyPhone(http, username).sign_in()


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


async def token_of(page: Page) -> dict[str, str]:
    token = await page.evaluate(
        "JSON.parse(localStorage.getItem('qingling.command.session')).token"
    )
    return {"Authorization": f"Bearer {token}"}


def row(page: Page, number: str):
    return page.locator("#board-rows tr", has_text=number)


async def record_call(desk: Page) -> tuple[str, str]:
    """Record the burst-pipe call through the new-call form; it opens in the panel,
    waiting for dispatch. Returns its number and id."""
    await desk.click("#new-incident")
    dialog = desk.locator("#create-dialog")
    await dialog.locator("select[name=category]").select_option("non_police")
    await dialog.locator("input[name=address]").fill(ADDRESS)
    await dialog.locator("textarea[name=narrative]").fill(NARRATIVE)
    await dialog.locator("input[name=caller_phone]").fill("13800001111")
    await dialog.locator("button[type=submit]").click()
    panel = desk.locator("#incident-panel")
    await expect(panel.locator("h2")).to_contain_text("待派警")
    number = (await panel.locator("h2").inner_text()).split(" ")[0]
    incident_id = await row(desk, number).get_attribute("data-id")
    assert incident_id
    return number, incident_id


async def test_a_dispatcher_diverts_a_call_and_sees_it_come_back_returned_live(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        context, desk = await signed_in(chromium, base, "dispatcher")
        headers = await token_of(desk)

        # The call, recorded through the page; it opens in the panel, waiting for dispatch.
        number, incident_id = await record_call(desk)
        panel = desk.locator("#incident-panel")

        # What the server ranks first for this call's words.
        r = await http.get(
            "/api/agencies", params={"match": f"{NARRATIVE} {ADDRESS}"}, headers=headers
        )
        assert r.status_code == 200, r.text
        ranked = r.json()["agencies"]
        top = ranked[0]
        assert top["score"] > 0, "the demo's responsibility list matches a burst pipe"

        # The chooser: agencies in the server's order, scores in words, keywords marked.
        await panel.locator("#divert-open").click()
        chooser = desk.locator("#divert-dialog")
        await expect(chooser).to_be_visible()
        options = chooser.locator("label.agency-option")
        await expect(options).to_have_count(len(ranked))
        first = options.first
        await expect(first.locator(".agency-name")).to_have_text(top["name"])
        await expect(first.locator(".score")).to_have_text(f"匹配 {top['score']} 个关键词")
        assert await first.locator("mark.chip-hit").count() >= 1
        unmatched = [a for a in ranked if a["score"] == 0]
        if unmatched:
            await expect(chooser.locator(".agency-divider")).to_have_text("其他单位")
        # Nothing chosen: the form says what is missing and sends nothing.
        await chooser.locator("#divert-submit").click()
        await expect(chooser.locator(".form-error")).to_contain_text("请选择联动单位")
        await first.click()
        await expect(chooser.locator("#divert-text mark").first).to_be_visible()
        await chooser.locator("#divert-instructions").fill(INSTRUCTIONS)
        await expect(chooser.locator("#divert-count")).to_have_text(f"{len(INSTRUCTIONS)} / 500")
        await desk.screenshot(path=str(screenshot_dir / "divert-chooser.png"))
        await chooser.locator("#divert-submit").click()
        await expect(chooser).to_have_count(0)
        await expect(panel.locator("h2")).to_contain_text("已分流")
        await expect(panel.locator("section.diversion")).to_contain_text(top["name"])
        await expect(panel.locator("section.diversion")).to_contain_text(INSTRUCTIONS)
        await expect(panel.locator("section.diversion")).to_contain_text("尚未签收")
        await expect(panel.locator("table.timeline")).to_contain_text("分流")

        # The server holds the diversion, with the agency's clocks instead of arrival.
        record = (await http.get(f"/api/incidents/{incident_id}", headers=headers)).json()
        assert record["status"] == "diverted"
        assert record["station_id"] == top["station_id"]
        assert record["diversion"]["agency_id"] == top["station_id"]
        assert record["diversion"]["instructions"] == INSTRUCTIONS
        assert {"agency_ack", "agency_feedback"} <= set(record["clocks"])
        assert "arrival" not in record["clocks"]

        # The board: 已分流 · the agency, its two clocks counting down.
        await panel.locator("button.close-panel").click()
        diverted = row(desk, number)
        await expect(diverted).to_contain_text(f"已分流 · {top['name']}")
        await expect(diverted.locator(".clock", has_text="签收")).to_have_text(
            re.compile(r"^签收 剩余 \d")
        )
        await expect(diverted.locator(".clock", has_text="反馈")).to_have_text(
            re.compile(r"^反馈 剩余 \d")
        )
        await expect(diverted.locator(".clock", has_text="到场")).to_have_count(0)
        await desk.locator("#filter-status").select_option("diverted")
        await expect(desk.locator("#board-rows tr")).not_to_have_count(0)
        for status in await desk.locator("#board-rows tr .status").all_inner_texts():
            assert status.startswith("已分流"), status
        await desk.locator("#filter-status").select_option("")
        await desk.screenshot(path=str(screenshot_dir / "board-diverted.png"))

        # The agency acknowledges, then says it is not its duty: back on the board, live.
        phone = await agency_phone(http, top["station_id"], top["name"])
        await phone.push(incident_id, "ack_dispatch", {})
        await phone.push(
            incident_id,
            "agency_feedback",
            {"outcome": "returned", "text": REASON, "attachments": []},
        )
        back = row(desk, number)
        await expect(back.locator(".status")).to_have_text("待派警", timeout=LIVE_LIMIT_MS)
        await expect(back.locator(".tag.returned")).to_contain_text(f"退回：{REASON}")
        await expect(back).not_to_contain_text("已分流")
        await desk.screenshot(path=str(screenshot_dir / "board-returned.png"))

        record = (await http.get(f"/api/incidents/{incident_id}", headers=headers)).json()
        assert record["status"] == "received"
        assert record["station_id"] is None
        assert record["diversion"] is None
        assert record["returned_reason"] == REASON
        assert record["diversions_returned"] == 1

        # The panel says why it came back, and its timeline holds both entries.
        await back.click()
        await expect(panel.locator("section.diversion")).to_contain_text(f"退回：{REASON}")
        timeline = panel.locator("table.timeline")
        await expect(timeline).to_contain_text("分流")
        await expect(timeline).to_contain_text("办理反馈")
        await expect(timeline).to_contain_text(f"退回：{REASON}")
        # It can be dispatched or diverted again.
        await expect(panel.locator("#divert-open")).to_be_visible()
        assert desk.errors == []  # type: ignore[attr-defined]
        await context.close()


async def test_an_admin_edits_the_responsibility_list_and_reads_the_diversion_report(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        # A dispatcher is not offered the list.
        context, desk = await signed_in(chromium, base, "dispatcher")
        await expect(desk.locator("nav a[data-page=duties]")).to_have_count(0)
        await context.close()

        context, admin = await signed_in(chromium, base, "admin")
        headers = await token_of(admin)
        await admin.click("nav a[data-page=duties]")
        agencies = (await http.get("/api/agencies", headers=headers)).json()["agencies"]
        hotline = next(a for a in agencies if a["name"] == "县12345热线")
        form = admin.locator(f"form[data-agency='{hotline['station_id']}']")
        await expect(form).to_be_visible()
        await expect(admin.locator("form.duties-form")).to_have_count(len(agencies))

        # A keyword list typed with Chinese and Latin commas, a category, new targets.
        keywords = form.locator("textarea[name=keywords]")
        await keywords.fill("噪音，扰民, 物业、停水")
        await expect(form.locator("[data-chips] .chip")).to_have_count(4)
        await form.locator("input[name=categories][value=help]").check()
        await form.locator("input[name=ack_minutes]").fill("15")
        await form.locator("input[name=feedback_hours]").fill("12")
        # Not a whole number: said, and nothing sent.
        await form.locator("input[name=feedback_hours]").fill("")
        await form.locator("button[type=submit]").click()
        await expect(form.locator(".form-error")).to_contain_text("反馈时限（小时）须为 1 到")
        await form.locator("input[name=feedback_hours]").fill("12")
        await form.locator("button[type=submit]").click()
        await expect(admin.locator("#notice")).to_contain_text("责任清单已保存")
        await expect(form.locator(".form-error")).to_be_hidden()
        await admin.screenshot(path=str(screenshot_dir / "duties.png"), full_page=True)

        saved = next(
            a
            for a in (await http.get("/api/agencies", headers=headers)).json()["agencies"]
            if a["station_id"] == hotline["station_id"]
        )
        assert saved["duties"]["keywords"] == ["噪音", "扰民", "物业", "停水"]
        assert "help" in saved["duties"]["categories"]
        assert (saved["duties"]["ack_minutes"], saved["duties"]["feedback_hours"]) == (15, 12)

        # A call diverted over HTTP by another desk shows in today's report's diversion block.
        r = await http.post(
            "/api/auth/login", json={"username": "dispatcher2", "password": DEMO_PASSWORD}
        )
        assert r.status_code == 200, r.text
        other = {"Authorization": f"Bearer {r.json()['token']}"}
        r = await http.post(
            "/api/incidents",
            json={
                "category": "non_police",
                "area_type": "urban",
                "address": "解放路18号",
                "narrative": "楼下饭店夜间噪音扰民",
            },
            headers=other,
        )
        assert r.status_code == 201, r.text
        r = await http.post(
            f"/api/incidents/{r.json()['id']}/divert",
            json={"agency_id": hotline["station_id"], "instructions": "请联系商户整改"},
            headers=other,
        )
        assert r.status_code == 200, r.text
        await admin.click("nav a[data-page=reports]")
        section = admin.locator(".diversion-report")
        await expect(section).to_be_visible()
        await expect(section.locator(".diversion-rate")).to_contain_text(
            re.compile(r"分流率 \d+\.\d%")
        )
        await expect(section.locator("tr", has_text="县12345热线")).to_have_count(1)
        await expect(section.locator("svg.chart")).to_have_count(1)
        await section.scroll_into_view_if_needed()
        await admin.screenshot(path=str(screenshot_dir / "reports-diversion.png"), full_page=True)
        assert admin.errors == []  # type: ignore[attr-defined]
        await context.close()
