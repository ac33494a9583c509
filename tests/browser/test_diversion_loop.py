"""The whole non-police diversion loop (PROTOCOL §10, issue #12 item 3), two browsers at once,
in Debian's Chromium against a real `qingling serve --demo`.

A dispatcher at the command desk (1440 px) records a burst-pipe call through the page and
diverts it from the chooser to the agency ranked first (县住房和城乡建设局 in the demo). That
agency's person (`agency.housing`, 冯涛), already signed in on the field app on a 360 px
phone, sees it arrive live in 交办事项, acknowledges it (签收), loses the network, records
the feedback 已办结 with text and a photo, and comes back online: the op syncs and the
dispatcher's open panel shows the outcome and the text live (a marker set on the desk's
window survives, so nothing reloaded). A second call diverted to the same agency over the API
is returned from the phone with a reason and reappears on the dispatcher's board as 待派警
with "退回：<reason>", live.

Screenshots: artifacts/screenshots/diversion-loop-chooser.png, diversion-loop-agency.png,
diversion-loop-feedback-live.png, diversion-loop-returned.png.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
from playwright.async_api import Browser, FilePayload, expect

from tests.browser.conftest import FieldServer
from tests.browser.field import (
    Desk,
    controlled,
    eventually,
    go_offline,
    go_online,
    phone,
    sign_in,
    wait_pending,
)
from tests.browser.test_agency_field import PHOTO, card
from tests.browser.test_divert_desk import ADDRESS, record_call, row, signed_in, token_of

HOUSING = "县住房和城乡建设局"
INSTRUCTIONS = "请立即派员关闭总阀并组织抢修，处置后回复"
FEEDBACK = "已关闭总阀，管道抢修完毕，楼道积水已清理"
SECOND_NARRATIVE = "小区楼道顶棚漏水，墙皮脱落"
SECOND_ADDRESS = "城关镇建设路88号"
REASON = "经核实为物业自有管网，请转物业处理"
LIVE_MS = 5_000  # a wait limit for a live change, not a speed test
FORM = "[data-testid=agency-feedback-form]"


async def test_divert_feedback_offline_and_return_round_trip_live(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        # The agency's phone, signed in before anything is diverted to it.
        agency_context = await phone(chromium)
        agency = await agency_context.new_page()
        await sign_in(agency, base, "agency.housing")
        await agency.wait_for_selector("[data-testid=agency-work]")
        await controlled(agency)

        # The dispatcher records the call through the page; it opens in the panel.
        desk_context, desk = await signed_in(chromium, base, "dispatcher")
        headers = await token_of(desk)
        number, incident_id = await record_call(desk)
        panel = desk.locator("#incident-panel")

        # The chooser ranks 住建局 first for a burst pipe; divert to it with instructions.
        await panel.locator("#divert-open").click()
        chooser = desk.locator("#divert-dialog")
        first = chooser.locator("label.agency-option").first
        await expect(first.locator(".agency-name")).to_have_text(HOUSING)
        await first.click()
        await chooser.locator("#divert-instructions").fill(INSTRUCTIONS)
        await desk.screenshot(path=str(screenshot_dir / "diversion-loop-chooser.png"))
        await chooser.locator("#divert-submit").click()
        await expect(chooser).to_have_count(0)
        await expect(panel.locator("h2")).to_contain_text("已分流")
        diversion = panel.locator("section.diversion")
        await expect(diversion).to_contain_text(HOUSING)
        await expect(diversion).to_contain_text("尚未签收")
        # From here on the desk is never reloaded: this marker would be lost if it were.
        await desk.evaluate("window.__loopMarker = 'desk-kept'")

        # The phone: the call arrives live, without a reload.
        await agency.evaluate("window.__loopMarker = 'phone-kept'")
        selector = card(incident_id)
        await agency.wait_for_selector(selector, timeout=15_000)
        text = await agency.inner_text(selector)
        assert number in text and ADDRESS in text and INSTRUCTIONS in text
        assert await agency.evaluate("window.__loopMarker") == "phone-kept"
        await agency.screenshot(path=screenshot_dir / "diversion-loop-agency.png")

        # 签收 online, then the feedback offline with a photo.
        await agency.click(selector)
        await agency.wait_for_selector("[data-testid=incident-screen][data-role=agency]")
        await agency.click("[data-testid=agency-ack]")
        await agency.wait_for_selector(
            "[data-testid=recorded] li[data-type=ack_dispatch][data-state=sent]", timeout=10_000
        )
        await wait_pending(agency, 0)
        await expect(diversion).not_to_contain_text("尚未签收", timeout=LIVE_MS)

        await go_offline(agency_context)
        await agency.check(f"{FORM} input[name=outcome][value=handled]")
        await agency.fill(f"{FORM} textarea[name=text]", FEEDBACK)
        await agency.set_input_files(
            f"{FORM} input[name=photos]",
            files=[FilePayload(name="pipe.png", mimeType="image/png", buffer=PHOTO)],
        )
        await agency.wait_for_selector("[data-testid=photos-attached]")
        await agency.click(f"{FORM} button[type=submit]")
        await agency.wait_for_selector("[data-testid=agency-feedback][data-state=pending]")
        await wait_pending(agency, 1)
        # Nothing reached the desk while the phone was offline.
        await expect(diversion).to_contain_text("等待联动单位反馈")

        await go_online(agency_context)
        await wait_pending(agency, 0, timeout_ms=20_000)

        # The dispatcher's open panel shows the feedback live: 已办结 and the text.
        await expect(diversion.locator(".agency-feedback")).to_contain_text(
            "已办结", timeout=LIVE_MS
        )
        await expect(diversion.locator(".feedback-text")).to_have_text(FEEDBACK)
        assert await desk.evaluate("window.__loopMarker") == "desk-kept"
        await desk.screenshot(path=str(screenshot_dir / "diversion-loop-feedback-live.png"))

        record = (await http.get(f"/api/incidents/{incident_id}", headers=headers)).json()
        feedback = record["diversion"]["feedback"]
        assert (feedback["outcome"], feedback["text"]) == ("handled", FEEDBACK)
        assert feedback["attachments"] == [hashlib.sha256(PHOTO).hexdigest()]
        assert record["clocks"]["agency_ack"]["state"] == "met"
        assert record["clocks"]["agency_feedback"]["state"] == "met"

        # A second call, diverted to the same agency over the API, arrives on the phone live.
        api = await Desk(http).sign_in()
        r = await http.post(
            "/api/incidents",
            json={
                "category": "non_police",
                "area_type": "urban",
                "address": SECOND_ADDRESS,
                "narrative": SECOND_NARRATIVE,
                "caller_phone": "13700000000",
            },
            headers=api.headers,
        )
        assert r.status_code == 201, r.text
        second = r.json()
        r = await http.post(
            f"/api/incidents/{second['id']}/divert",
            json={"agency_id": api.stations[HOUSING], "instructions": "请核实处理"},
            headers=api.headers,
        )
        assert r.status_code == 200, r.text
        await panel.locator("button.close-panel").click()
        back = row(desk, second["number"])
        await expect(back).to_contain_text(f"已分流 · {HOUSING}", timeout=LIVE_MS)

        await agency.click("nav.tabs a[href='#/']")
        await agency.wait_for_selector(card(second["id"]), timeout=15_000)
        await agency.click(card(second["id"]))
        await agency.check(f"{FORM} input[name=outcome][value=returned]")
        await agency.fill(f"{FORM} textarea[name=text]", REASON)
        await agency.click(f"{FORM} button[type=submit]")
        await wait_pending(agency, 0, timeout_ms=15_000)

        # Back on the dispatcher's board, live: 待派警 with the agency's reason.
        await expect(back.locator(".status")).to_have_text("待派警", timeout=LIVE_MS)
        await expect(back.locator(".tag.returned")).to_contain_text(f"退回：{REASON}")
        await expect(back).not_to_contain_text("已分流")
        # The first call stays diverted, its feedback in.
        await expect(row(desk, number)).to_contain_text(f"已分流 · {HOUSING}")
        assert await desk.evaluate("window.__loopMarker") == "desk-kept"
        await back.scroll_into_view_if_needed()
        await desk.screenshot(path=str(screenshot_dir / "diversion-loop-returned.png"))

        async def returned() -> bool:
            r = await http.get(f"/api/incidents/{second['id']}", headers=headers)
            return bool(r.json()["returned_reason"] == REASON)

        await eventually(returned, 5, "the server's record holds the reason")
        assert desk.errors == []  # type: ignore[attr-defined]
        await agency_context.close()
        await desk_context.close()
