"""Supervision orders (督办) and notices (通报) on the station chief's phone (PROTOCOL §11).

The demo bureau's supervisor (赵敏, over HTTP) issues a bureau-level order (挂牌督办) on an
incident of 城关派出所; the chief's phone (`chief.chengguan`, 陈刚, 360 px) shows the alert
badge as it arrives live, loses the network, answers the order, and comes back online: the
reply syncs and `GET /api/supervision` says `answered`; the supervisor accepts and the phone
shows it accepted (after sending a first answer back, which the phone shows with its
reason, and a second answer). The assigned officer sees the order on the incident screen, read only.
A notice with a rectification deadline reaches the chief's phone, reads offline (after a
reload with no network), and the rectification answered offline syncs when the network is
back.

Screenshots: artifacts/screenshots/sup-badge.png, sup-list.png, sup-answered-offline.png,
sup-accepted.png, sup-officer-incident.png, notice-offline.png, notice-rectified.png.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

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
    wait_until,
)
from tests.browser.supervision_desk import CHENGGUAN, Supervisor, all_seen


async def test_chief_answers_a_bureau_order_offline_and_sees_it_accepted(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        supervisor = await Supervisor(http).sign_in()
        incident = await desk.dispatch_new(
            "officer.zhang", "城关镇解放路56号", "两车剐蹭后双方争执，一方报警称对方殴打"
        )

        context = await phone(chromium)
        page = await context.new_page()
        await sign_in(page, base, "chief.chengguan")
        await controlled(page)
        assert "督办通报" in await page.inner_text("nav.tabs")
        await all_seen(page)

        # 挂牌督办 while the phone is open: it arrives live, with the badge.
        instructions = "群众反映处置不公，请于两小时内查明经过并回复"
        order = await supervisor.supervise(incident["id"], "bureau", instructions=instructions)
        assert order["state"] == "open" and order["station_id"] == desk.stations[CHENGGUAN]
        await page.wait_for_selector('[data-testid=desk-badge][data-count="1"]', timeout=15_000)
        await page.screenshot(path=screenshot_dir / "sup-badge.png")

        # The list: open, 挂牌督办 prominent, the due clock running. Opening it clears the badge.
        await page.click("nav.tabs a[href='#/desk']")
        card = f'[data-testid=orders-open] [data-order="{order["id"]}"]'
        await page.wait_for_selector(card)
        assert await page.get_attribute(card, "data-level") == "bureau"
        text = await page.inner_text(card)
        assert incident["number"] in text and "挂牌督办" in text and "待回复" in text
        assert "督办时限" in text and "剩余" in text
        await wait_until(
            page, "!document.querySelector('[data-testid=desk-badge]')", within_ms=5000
        )
        await page.screenshot(path=screenshot_dir / "sup-list.png", full_page=True)

        # No network: the answer is kept, the order reads answered at once.
        await go_offline(context)
        await page.click(card)
        await page.wait_for_selector("[data-testid=order-screen][data-state=open]")
        assert instructions in await page.inner_text("[data-testid=order-instructions]")
        assert await page.locator("[data-testid=bureau-banner]").count() == 1
        reply = "已调取执法记录仪并回访双方，处置无不当，已向报警人解释"
        await page.fill("[data-testid=reply-form] textarea[name=text]", reply)
        await page.click("[data-testid=reply-form] button[type=submit]")
        await page.wait_for_selector("[data-testid=order-screen][data-state=answered]")
        await page.wait_for_selector("[data-testid=replies] li[data-state=pending]")
        await wait_pending(page, 1)
        assert await page.locator("[data-testid=reply-form]").count() == 0
        await page.screenshot(path=screenshot_dir / "sup-answered-offline.png", full_page=True)

        # Online again: the reply reaches the server; the order is answered.
        await go_online(context)
        await wait_pending(page, 0, timeout_ms=20_000)

        async def answered() -> bool:
            found = await supervisor.order(order["id"])
            return found is not None and found["state"] == "answered"

        await eventually(answered, 15, "the reply makes the order answered")
        server_order = await supervisor.order(order["id"])
        assert server_order is not None
        assert server_order["reply"]["text"] == reply
        r = await http.get("/api/supervision?state=answered", headers=supervisor.headers)
        assert order["id"] in [o["id"] for o in r.json()["orders"]]

        # Sent back: the phone shows the reason, the order open again and the form back.
        reason = "请补充回访报警人的情况"
        rejected = await supervisor.reject(order["id"], reason)
        assert rejected["state"] == "open"
        await page.wait_for_selector("[data-testid=order-screen][data-state=open]", timeout=15_000)
        assert reason in await page.inner_text("[data-testid=rejections]")
        second = reply + "；已于今日电话回访报警人，其表示认可"
        await page.fill("[data-testid=reply-form] textarea[name=text]", second)
        await page.click("[data-testid=reply-form] button[type=submit]")
        await page.wait_for_selector("[data-testid=order-screen][data-state=answered]")
        await wait_pending(page, 0, timeout_ms=20_000)

        async def answered_again() -> bool:
            found = await supervisor.order(order["id"])
            return found is not None and found["state"] == "answered"

        await eventually(answered_again, 15, "the second reply makes the order answered")

        # The supervisor accepts: the phone shows it accepted, the clock met.
        accepted = await supervisor.accept(order["id"])
        assert accepted["reply"]["text"] == second
        assert accepted["state"] == "accepted"
        await page.wait_for_selector(
            "[data-testid=order-screen][data-state=accepted]", timeout=15_000
        )
        await page.wait_for_selector("[data-testid=accepted-note]")
        assert await page.get_attribute("[data-clock=supervision]", "data-clock-state") == "met"
        await page.screenshot(path=screenshot_dir / "sup-accepted.png", full_page=True)
        await page.click("[data-testid=order-screen] .back")
        await page.wait_for_selector(f'[data-testid=orders-accepted] [data-order="{order["id"]}"]')
        await context.close()

        # The assigned officer sees the order on the incident, read only.
        officer_context = await phone(chromium)
        officer = await officer_context.new_page()
        await sign_in(officer, base, "officer.zhang")
        await officer.goto(f"{base}/#/incident/{incident['id']}")
        await officer.wait_for_selector("[data-testid=incident-screen]")
        await dispatch_seen(officer)
        sup = f'[data-testid=incident-supervision] [data-order="{order["id"]}"]'
        await officer.wait_for_selector(sup, timeout=15_000)
        assert await officer.get_attribute(sup, "data-level") == "bureau"
        assert "挂牌督办" in await officer.inner_text(sup)
        await officer.wait_for_selector(f'{sup}[data-state="accepted"]', timeout=15_000)
        await officer.screenshot(path=screenshot_dir / "sup-officer-incident.png")
        await officer.click(sup)
        await officer.wait_for_selector("[data-testid=order-screen]")
        assert await officer.locator("[data-testid=reply-form]").count() == 0
        assert await officer.locator("[data-testid=read-only]").count() == 1
        await officer_context.close()


async def test_a_notice_reads_offline_and_its_rectification_is_answered_offline(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        supervisor = await Supervisor(http).sign_in()
        incident = await desk.dispatch_new(
            "officer.zhang", "城关镇人民路18号", "夜间装修噪音扰民，多次报警未果"
        )
        context = await phone(chromium)
        page = await context.new_page()
        await sign_in(page, base, "chief.chengguan")
        await controlled(page)
        await all_seen(page)

        rectify_by = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        text = "11月以来城关派出所多起噪音扰民警情到场超时，予以通报批评，请限期整改"
        notice = await supervisor.notify(
            kind="criticism",
            station_ids=[desk.stations[CHENGGUAN]],
            incident_ids=[incident["id"]],
            text=text,
            rectify_by=rectify_by,
        )
        await page.wait_for_selector('[data-testid=desk-badge][data-count="1"]', timeout=15_000)
        await page.click("nav.tabs a[href='#/desk']")
        card = f'[data-testid=notices] [data-notice="{notice["id"]}"]'
        await page.wait_for_selector(card)
        assert await page.get_attribute(card, "data-state") == "owed"

        # No network, and the app reloaded: the notice is read from the phone.
        await go_offline(context)
        await page.reload()
        await page.wait_for_selector("[data-testid=desk-screen]")
        await page.click(card)
        await page.wait_for_selector("[data-testid=notice-screen][data-kind=criticism]")
        assert text in await page.inner_text("[data-testid=notice-text]")
        assert incident["number"] in await page.inner_text("[data-testid=notice-incidents]")
        assert "整改期限" in await page.inner_text("[data-testid=rectify-by]")
        mine = f'[data-testid=notice-stations] [data-station="{desk.stations[CHENGGUAN]}"]'
        assert await page.get_attribute(mine, "data-state") == "owed"
        await page.screenshot(path=screenshot_dir / "notice-offline.png", full_page=True)

        answer = "已组织全所学习出警规定，夜间增派一组巡逻警力，确保15分钟内到场"
        await page.fill("[data-testid=rectification-form] textarea[name=text]", answer)
        await page.click("[data-testid=rectification-form] button[type=submit]")
        await page.wait_for_selector(f"{mine}[data-state=done]")
        await page.wait_for_selector("[data-testid=rectification-pending]")
        await wait_pending(page, 1)
        assert await page.locator("[data-testid=rectification-form]").count() == 0

        await go_online(context)
        await wait_pending(page, 0, timeout_ms=20_000)

        async def rectified() -> bool:
            found = await supervisor.notice(notice["id"])
            if found is None:
                return False
            entry = next(
                s for s in found["stations"] if s["station_id"] == desk.stations[CHENGGUAN]
            )
            return bool(entry["state"] == "done")

        await eventually(rectified, 15, "the rectification marks the station done")
        found = await supervisor.notice(notice["id"])
        assert found is not None
        entry = next(s for s in found["stations"] if s["station_id"] == desk.stations[CHENGGUAN])
        assert entry["text"] == answer and entry["done_at"]
        # The phone shows the server's word: done, nothing pending.
        await page.wait_for_selector(
            "[data-testid=rectification-pending]", state="detached", timeout=15_000
        )
        assert await page.get_attribute(mine, "data-state") == "done"
        await page.screenshot(path=screenshot_dir / "notice-rectified.png", full_page=True)
        await context.close()
