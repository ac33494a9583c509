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
from typing import Any

import httpx
from playwright.async_api import Browser, Page

from server.demo import DEMO_PASSWORD
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

CHENGGUAN = "城关派出所"


class Supervisor:
    """The command center's supervisor (督察), over the API: orders, notices, decisions."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.headers: dict[str, str] = {}

    async def sign_in(self) -> Supervisor:
        r = await self.http.post(
            "/api/auth/login",
            json={"username": "supervisor", "password": DEMO_PASSWORD, "device": {"label": "desk"}},
        )
        assert r.status_code == 200, r.text
        self.headers = {"Authorization": f"Bearer {r.json()['token']}"}
        return self

    async def supervise(self, incident_id: str, level: str, instructions: str) -> dict[str, Any]:
        due_at = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        r = await self.http.post(
            f"/api/incidents/{incident_id}/supervise",
            json={"level": level, "instructions": instructions, "due_at": due_at},
            headers=self.headers,
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def order(self, order_id: str) -> dict[str, Any] | None:
        r = await self.http.get("/api/supervision?state=all", headers=self.headers)
        assert r.status_code == 200, r.text
        return next((o for o in r.json()["orders"] if o["id"] == order_id), None)

    async def reject(self, order_id: str, reason: str) -> dict[str, Any]:
        r = await self.http.post(
            f"/api/supervision/{order_id}/reject", json={"reason": reason}, headers=self.headers
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def accept(self, order_id: str) -> dict[str, Any]:
        r = await self.http.post(f"/api/supervision/{order_id}/accept", headers=self.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def notify(self, **body: Any) -> dict[str, Any]:
        r = await self.http.post("/api/notices", json=body, headers=self.headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def notice(self, notice_id: str) -> dict[str, Any] | None:
        r = await self.http.get("/api/notices", headers=self.headers)
        assert r.status_code == 200, r.text
        return next((n for n in r.json()["notices"] if n["id"] == notice_id), None)


async def badge(page: Page) -> int:
    """The count on the 督办通报 tab (0 when it shows none)."""
    loc = page.locator("[data-testid=desk-badge]")
    if await loc.count() == 0:
        return 0
    return int(await loc.get_attribute("data-count") or 0)


async def all_seen(page: Page) -> None:
    """Open the 督办通报 list (which marks every order and notice the phone holds as seen,
    the demo's included), then go back to my work with no badge."""
    await page.click("nav.tabs a[href='#/desk']")
    await page.wait_for_selector("[data-testid=desk-screen]")
    await page.wait_for_timeout(1000)  # the sign-in's first pull may still be landing
    await wait_until(page, "!document.querySelector('[data-testid=desk-badge]')", within_ms=5000)
    await page.click("nav.tabs a[href='#/']")
    await page.wait_for_selector("[data-testid=work-list]", state="attached")
    assert await badge(page) == 0


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
        order = await supervisor.supervise(incident["id"], "bureau", instructions)
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
