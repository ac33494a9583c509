"""Cases, 三反馈 and mediation follow-ups on the phone (PROTOCOL §11).

An officer (张伟, 360 px) with no network records the arrival, the scene report and a
`case_accepted` disposition: the incident screen's 三反馈 reads 3/3 from the phone's own
queued ops, and the 案件进度 form appears; 立案 is recorded offline, then synced and held
by the server. A mediator (吴静) whose mediation record's follow-up date is today sees the
reminder on the work screen and the badge on the mediation tab; saving the record with the
next date ends the reminder.

Screenshots: artifacts/screenshots/case-offline.png, follow-up-due.png, follow-up-record.png.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser

from tests.browser.conftest import FieldServer
from tests.browser.field import (
    Desk,
    controlled,
    dispatch_seen,
    eventually,
    go_offline,
    go_online,
    phone,
    sign_in,
    wait_pending,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_three_feedbacks_and_case_progress_offline(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        incident = await desk.dispatch_new(
            "officer.zhang", "城关镇新华路9号", "电动车被盗，车主称小区监控拍到嫌疑人"
        )
        context = await phone(chromium)
        page = await context.new_page()
        await sign_in(page, base, "officer.zhang")
        await controlled(page)
        await page.goto(f"{base}/#/incident/{incident['id']}")
        await page.wait_for_selector("[data-testid=incident-screen]")
        await dispatch_seen(page)
        tfb = "[data-testid=three-feedbacks]"
        assert await page.get_attribute(tfb, "data-complete") == "false"
        assert await page.locator("[data-testid=case]").count() == 0

        await go_offline(context)
        await page.click("[data-testid=arrive]")
        await page.wait_for_selector(f'{tfb} [data-feedback=arrival][data-state="here"]')
        await page.fill("[data-testid=scene-form] textarea[name=situation]", "车主在场，已调取监控")
        await page.click("[data-testid=scene-form] button[type=submit]")
        await page.wait_for_selector(f'{tfb} [data-feedback=scene][data-state="here"]')
        await page.click("summary:has-text('处置结果')")
        await page.select_option(
            "[data-testid=disposition-form] select[name=result]", "case_accepted"
        )
        await page.fill("[data-testid=disposition-form] textarea[name=summary]", "已受案，移交侦查")
        await page.click("[data-testid=disposition-form] button[type=submit]")
        await page.wait_for_selector(f'{tfb}[data-complete="true"]')

        # A case now: 立案 with its number, offline.
        await page.wait_for_selector("[data-testid=case-form]")
        await page.fill("[data-testid=case-form] input[name=case_number]", "A3301022026110088")
        await page.select_option("[data-testid=case-form] select[name=stage]", "filed")
        await page.click("[data-testid=case-form] button[type=submit]")
        await page.wait_for_selector(
            "[data-testid=case-stages] li[data-stage=filed][data-state=pending]"
        )
        assert await page.inner_text("[data-testid=case-number]") == "A3301022026110088"
        await wait_pending(page, 4)
        await page.locator("[data-testid=case]").scroll_into_view_if_needed()
        await page.screenshot(path=screenshot_dir / "case-offline.png")

        await go_online(context)
        await wait_pending(page, 0, timeout_ms=20_000)

        async def held() -> bool:
            timeline = (await desk.incident(incident["id"]))["timeline"]
            return any(e["type"] == "case_progress" for e in timeline)

        await eventually(held, 15, "the server holds the case progress")
        event = next(
            e
            for e in (await desk.incident(incident["id"]))["timeline"]
            if e["type"] == "case_progress"
        )
        assert event["body"] == {"case_number": "A3301022026110088", "stage": "filed"}
        await context.close()


async def test_a_mediator_is_reminded_of_a_follow_up_due_today(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    context = await phone(chromium)
    page = await context.new_page()
    await sign_in(page, base, "mediator.wu")
    await controlled(page)
    # The demo's mediations may have follow-ups due already (server/demo.py): count them.
    await page.wait_for_timeout(1000)  # the sign-in's first pull may still be landing
    cards = page.locator("[data-testid=follow-ups] a.card")
    before = await cards.count()

    await page.goto(f"{base}/#/mediation/new")
    await page.wait_for_selector("[data-testid=mediation-form]")
    await page.fill("input[name=dispute_type]", "宅基地纠纷")
    await page.fill("[data-party-name='0']", "赵大")
    await page.fill("[data-party-name='1']", "钱二")
    await page.fill("textarea[name=terms]", "界桩以村委会测量为准")
    await page.fill("input[name=follow_up_on]", today.isoformat())
    await page.click("[data-testid=mediation-form] button[type=submit]")
    await page.wait_for_selector("[data-testid=mediation-form] [data-testid=saved]")
    await page.wait_for_selector("[data-testid=follow-up-due]")
    await wait_pending(page, 0, timeout_ms=15_000)

    # The work screen reminds, and the mediation tab carries the badge.
    await page.goto(f"{base}/#/")
    ours = page.locator("[data-testid=follow-ups] a.card", has_text="宅基地纠纷")
    await ours.wait_for()
    assert await cards.count() == before + 1
    badge = "[data-testid=follow-up-badge]"
    assert await page.get_attribute(badge, "data-count") == str(before + 1)
    await page.screenshot(path=screenshot_dir / "follow-up-due.png")

    # Opening it leads to the record; the follow-up is recorded as a new version, offline.
    await go_offline(context)
    await ours.click()
    await page.wait_for_selector("[data-testid=follow-up-due]")
    await page.screenshot(path=screenshot_dir / "follow-up-record.png")
    await page.fill("textarea[name=terms]", "界桩以村委会测量为准；已回访，双方遵守")
    await page.fill("input[name=follow_up_on]", (today + timedelta(days=30)).isoformat())
    await page.click("[data-testid=mediation-form] button[type=submit]")
    await page.wait_for_selector("[data-testid=follow-up-due]", state="detached")
    await wait_pending(page, 1)
    await page.goto(f"{base}/#/")
    await page.wait_for_selector("[data-testid=work-list]", state="attached")
    assert await ours.count() == 0 and await cards.count() == before
    if before:
        assert await page.get_attribute(badge, "data-count") == str(before)
    else:
        assert await page.locator(badge).count() == 0
    await go_online(context)
    await wait_pending(page, 0, timeout_ms=20_000)
    await context.close()
