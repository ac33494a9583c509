"""A linked agency's own flow in the field PWA (PROTOCOL §10, non-police diversion).

The demo bureau's dispatcher diverts a call to 县12345热线 over the API; the agency's person
(`agency.hotline`, 郑洁) has the field app open on a 360 px phone and sees it arrive live in
"交办事项", acknowledges it ("签收"), loses the network, records the feedback (handled, with
text and a photo), and comes back online: the dispatcher's record then holds the feedback
and the acknowledgement, and the photo was uploaded after the op. A second call, returned as
not the unit's duty, goes back to 110 and leaves the agency's list.

Screenshots: artifacts/screenshots/agency-list.png, agency-feedback.png, agency-returned.png.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, FilePayload

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

HOTLINE = "县12345热线"
# A tiny real PNG (1×1, white): the photo of the repaired pipe.
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4e40000000049454e44ae426082"
)


async def divert_new(desk: Desk, address: str, narrative: str, instructions: str) -> dict[str, Any]:
    """A non-police call, received and diverted to the hotline by the dispatcher (§7, §10)."""
    r = await desk.http.post(
        "/api/incidents",
        json={
            "category": "non_police",
            "area_type": "urban",
            "address": address,
            "narrative": narrative,
            "caller_name": "刘女士",
            "caller_phone": "13700000000",
        },
        headers=desk.headers,
    )
    assert r.status_code == 201, r.text
    incident = r.json()
    r = await desk.http.post(
        f"/api/incidents/{incident['id']}/divert",
        json={"agency_id": desk.stations[HOTLINE], "instructions": instructions},
        headers=desk.headers,
    )
    assert r.status_code == 200, r.text
    diverted = dict(r.json())
    assert diverted["status"] == "diverted"
    assert diverted["station_id"] == desk.stations[HOTLINE]
    assert set(diverted["clocks"]) >= {"agency_ack", "agency_feedback"}
    assert "arrival" not in diverted["clocks"]
    return diverted


def card(incident_id: str) -> str:
    """The incident's card in the agency's list."""
    return f'[data-testid=agency-work] [data-incident="{incident_id}"]'


async def test_agency_receives_acknowledges_and_reports_back_offline(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        context = await phone(chromium)
        page = await context.new_page()
        await sign_in(page, base, "agency.hotline")
        await page.wait_for_selector("[data-testid=agency-work]")
        await controlled(page)
        # The agency's list, not the police's: no mediation tab, no "my work".
        assert "交办事项" in await page.inner_text("nav.tabs")
        assert "调解" not in await page.inner_text("nav.tabs")

        # Diverted while the phone is open: it arrives live.
        incident = await divert_new(
            desk,
            "城关镇滨河路12号",
            "小区自来水管爆裂，楼道积水",
            "请联系供水公司抢修，并回复处置情况",
        )
        selector = card(incident["id"])
        await page.wait_for_selector(selector, timeout=15_000)
        text = await page.inner_text(selector)
        assert incident["number"] in text
        assert "城关镇滨河路12号" in text
        assert "请联系供水公司抢修" in text
        assert "签收时限" in text and "反馈时限" in text
        assert await page.get_attribute(selector, "data-state") == "new"
        await page.screenshot(path=screenshot_dir / "agency-list.png")

        # The incident: instructions, 签收, the feedback form; nothing of the police's.
        await page.click(selector)
        await page.wait_for_selector("[data-testid=incident-screen][data-role=agency]")
        assert "请联系供水公司抢修，并回复处置情况" in await page.inner_text(
            "[data-testid=instructions]"
        )
        for police in ["arrive", "scene-form", "disposition-form", "bodycam-form", "rating-invite"]:
            assert await page.locator(f"[data-testid={police}]").count() == 0, police
        await page.click("[data-testid=agency-ack]")
        await page.wait_for_selector(
            "[data-testid=recorded] li[data-type=ack_dispatch][data-state=sent]", timeout=10_000
        )
        await wait_pending(page, 0)

        async def acknowledged() -> bool:
            record = await desk.incident(incident["id"])
            return bool(record["diversion"]["acknowledged_at"])

        await eventually(acknowledged, 10, "the acknowledgement reaches the dispatcher")
        assert (await desk.incident(incident["id"]))["clocks"]["agency_ack"]["state"] == "met"

        # No network: the feedback is kept and shown as pending.
        await go_offline(context)
        form = "[data-testid=agency-feedback-form]"
        await page.click(f"{form} button[type=submit]")  # nothing chosen: told what is missing
        await page.wait_for_selector("[data-testid=error-outcome]")
        await page.check(f"{form} input[name=outcome][value=handled]")
        await page.fill(f"{form} textarea[name=text]", "已联系供水公司，管道已抢修完毕，积水已清理")
        await page.set_input_files(
            f"{form} input[name=photos]",
            files=[FilePayload(name="pipe.png", mimeType="image/png", buffer=PHOTO)],
        )
        await page.wait_for_selector("[data-testid=photos-attached]")
        await page.click(f"{form} button[type=submit]")
        await page.wait_for_selector("[data-testid=agency-feedback][data-state=pending]")
        await wait_pending(page, 1)
        await page.screenshot(path=screenshot_dir / "agency-feedback.png")

        # Online again: pushed, the photo uploaded, and the server's record says so.
        await go_online(context)
        await wait_pending(page, 0, timeout_ms=20_000)
        sha = hashlib.sha256(PHOTO).hexdigest()

        async def fed_back() -> bool:
            record = await desk.incident(incident["id"])
            return record["diversion"]["feedback"] is not None

        await eventually(fed_back, 15, "the feedback reaches the dispatcher's record")
        record = await desk.incident(incident["id"])
        feedback = record["diversion"]["feedback"]
        assert feedback["outcome"] == "handled"
        assert feedback["text"] == "已联系供水公司，管道已抢修完毕，积水已清理"
        assert feedback["attachments"] == [sha]
        assert feedback["person_id"] == await desk.person_id("agency.hotline")
        assert record["status"] == "diverted"  # the dispatcher closes it
        assert record["clocks"]["agency_feedback"]["state"] == "met"
        events = [e for e in record["timeline"] if e["type"] == "agency_feedback"]
        assert len(events) == 1 and events[0]["flags"] == []

        async def photo_uploaded() -> bool:
            r = await http.get(f"/api/blobs/{sha}", headers=desk.headers)
            return r.status_code == 200 and r.content == PHOTO

        await eventually(photo_uploaded, 15, "the photo is uploaded after the op")
        # The phone shows the server's record of it.
        await page.wait_for_selector(
            "[data-testid=agency-feedback][data-state=recorded]", timeout=15_000
        )
        await context.close()


async def test_a_returned_call_goes_back_to_110_and_leaves_the_agency_list(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        kept = await divert_new(desk, "城关镇建设路88号", "路灯不亮已三天", "请核实并安排维修")
        returned = await divert_new(desk, "河口镇新街3号", "邻居家狗夜间吠叫", "请协调处理")
        context = await phone(chromium)
        page = await context.new_page()
        await sign_in(page, base, "agency.hotline")
        await page.wait_for_selector(card(returned["id"]))
        # Newest diversion first.
        numbers = await page.eval_on_selector_all(
            "[data-testid=agency-work] [data-incident]", "els => els.map((e) => e.dataset.incident)"
        )
        assert numbers[:2] == [returned["id"], kept["id"]]

        await page.click(card(returned["id"]))
        form = "[data-testid=agency-feedback-form]"
        await page.check(f"{form} input[name=outcome][value=returned]")
        assert "110" in await page.inner_text("[data-testid=returned-hint]")
        await page.fill(f"{form} textarea[name=text]", "属社区居委会职责，非本单位职责")
        await page.click(f"{form} button[type=submit]")
        await wait_pending(page, 0, timeout_ms=15_000)
        # Out of the agency's scope now: the screen says so rather than failing.
        await page.wait_for_selector("[data-testid=agency-gone]", timeout=15_000)

        record = await desk.incident(returned["id"])
        assert record["status"] == "received"
        assert record["station_id"] is None
        assert record["diversion"] is None
        assert record["returned_reason"] == "属社区居委会职责，非本单位职责"
        assert record["diversions_returned"] == 1

        await page.click("[data-testid=agency-gone] a")
        await page.wait_for_selector(card(kept["id"]))
        assert await page.locator(card(returned["id"])).count() == 0
        await page.screenshot(path=screenshot_dir / "agency-returned.png")
        await context.close()
