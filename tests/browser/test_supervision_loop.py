"""The supervision loop end to end (PROTOCOL §11, issue #13): the command view and the
station chief's phone, both in Debian's Chromium, against one real server.

An incident of 城关派出所 is dispatched 55 minutes ago (back-entered), so its arrival clock is
long overdue and the scheduler raises an `overdue` review item. The supervisor (赵敏), in the
command view, issues a bureau-level order (挂牌督办) from that item. The chief's phone
(陈刚, 360 px, the field app open on 我的工作) shows the alert badge as the order arrives live;
the phone loses the network, the chief answers the order, the reply waits in the outbox;
the network comes back and the reply syncs. The supervisor's 督办台 shows the reply live and
the supervisor accepts it there; the phone shows the order accepted, its clock met.
Screenshots: artifacts/screenshots/loop-*.png.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from tests.browser.conftest import FieldServer
from tests.browser.field import (
    Desk,
    controlled,
    go_offline,
    go_online,
    phone,
    sign_in,
    wait_pending,
)
from tests.browser.supervision_desk import (
    CHENGGUAN,
    LIVE_LIMIT_MS,
    Supervisor,
    all_seen,
    command_page,
    go,
    overdue_incident,
    overdue_item,
)


async def test_a_bureau_order_from_an_overdue_item_is_answered_offline_and_accepted(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        sup = await Supervisor(http).sign_in()
        incident = await overdue_incident(desk, address="城关镇新华路21号")
        number = incident["number"]
        await overdue_item(sup, incident["id"])

        # The chief's phone, open on 我的工作, every demo order and notice already seen.
        chief_context = await phone(chromium)
        chief = await chief_context.new_page()
        await sign_in(chief, base, "chief.chengguan")
        await controlled(chief)
        await all_seen(chief)

        # The supervisor issues 挂牌督办 from the overdue item in 审核队列.
        desk_context, view = await command_page(chromium, base, "supervisor")
        await go(view, "reviews")
        item = view.locator("#review-list li.kind-overdue", has_text=number).first
        await expect(item).to_be_visible(timeout=10_000)
        await item.locator("button[data-supervise]").click()
        dialog = view.locator("#supervise-dialog")
        await dialog.locator("input[name=level][value=bureau]").check()
        instructions = "到场严重超时，请所长查明原因，两小时内回复"
        await dialog.locator("#supervise-instructions").fill(instructions)
        await dialog.locator("#supervise-submit").click()
        await expect(dialog).to_have_count(0)
        [order] = await sup.orders(incident_id=incident["id"])
        assert order["level"] == "bureau" and order["station_id"] == desk.stations[CHENGGUAN]

        # The phone: the order arrives live, with the badge.
        await chief.wait_for_selector('[data-testid=desk-badge][data-count="1"]', timeout=15_000)
        await chief.screenshot(path=screenshot_dir / "loop-phone-badge.png")
        await chief.click("nav.tabs a[href='#/desk']")
        card = f'[data-testid=orders-open] [data-order="{order["id"]}"]'
        await chief.wait_for_selector(card)
        assert "挂牌督办" in await chief.inner_text(card)

        # No network: the chief answers; the reply waits in the outbox.
        await go_offline(chief_context)
        await chief.click(card)
        await chief.wait_for_selector("[data-testid=order-screen][data-state=open]")
        assert instructions in await chief.inner_text("[data-testid=order-instructions]")
        reply = (
            "经查，当班民警途中遇道路施工绕行；已调整巡区备勤点位，今后同类警情由最近警力先期处置"
        )
        await chief.fill("[data-testid=reply-form] textarea[name=text]", reply)
        await chief.click("[data-testid=reply-form] button[type=submit]")
        await chief.wait_for_selector("[data-testid=order-screen][data-state=answered]")
        await wait_pending(chief, 1)
        await chief.screenshot(path=screenshot_dir / "loop-phone-answered-offline.png")
        assert (await sup.order(order["id"]) or {})["state"] == "open"

        # The network is back: the reply syncs, and the 督办台 shows it live.
        await go(view, "supervision")
        desk_card = view.locator(f"li.sup-order[data-order='{order['id']}']")
        await expect(desk_card).to_contain_text("尚未回复")
        await go_online(chief_context)
        await wait_pending(chief, 0, timeout_ms=20_000)
        await expect(desk_card.locator(".sup-reply-text")).to_have_text(reply, timeout=15_000)
        await expect(desk_card.locator(".sup-state")).to_have_text("已回复待审")
        await view.screenshot(path=str(screenshot_dir / "loop-desk-answered.png"), full_page=True)

        # The supervisor accepts: the order is done on the desk and on the phone.
        await desk_card.locator("[data-accept]").click()
        await expect(desk_card.locator(".sup-state")).to_have_text("已办结", timeout=LIVE_LIMIT_MS)
        accepted = await sup.order(order["id"])
        assert accepted is not None and accepted["state"] == "accepted"
        assert accepted["reply"]["text"] == reply and accepted["clock"]["state"] == "met"
        await chief.wait_for_selector(
            "[data-testid=order-screen][data-state=accepted]", timeout=15_000
        )
        assert await chief.get_attribute("[data-clock=supervision]", "data-clock-state") == "met"
        await chief.screenshot(path=screenshot_dir / "loop-phone-accepted.png")

        assert view.errors == []  # type: ignore[attr-defined]
        await chief_context.close()
        await desk_context.close()
