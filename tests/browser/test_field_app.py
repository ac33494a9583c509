"""The field PWA in Debian's Chromium against a real server (issue #4's "done when").

Offline means no network for the page and its service worker alike: every request is
aborted (`context.route`) and the browser is told it is offline. Screenshots of the main
screens (zh-CN, 360 px wide) go to artifacts/screenshots/field-*.png.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
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
    pending_count,
    phone,
    sign_in,
    wait_pending,
    wait_until,
)

POSITION = {"latitude": 27.1234, "longitude": 112.5678}
FIVE = ["arrival", "scene_report", "disposition", "bodycam_ref", "mediation_outcome"]


async def test_offline_work_survives_a_reload_and_reaches_the_server_once(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        incident = await desk.dispatch_new(
            "officer.zhang", "城关镇人民路18号", "邻里噪音纠纷，双方争吵"
        )
        context = await phone(chromium, geolocation=POSITION, permissions=["geolocation"])
        page = await context.new_page()
        await sign_in(page, base)
        await page.wait_for_selector(f'[data-incident="{incident["id"]}"]')
        await controlled(page)
        await page.screenshot(path=screenshot_dir / "field-work.png")

        await page.click(f'[data-incident="{incident["id"]}"]')
        await page.wait_for_selector("[data-testid=incident-screen]")
        await dispatch_seen(page)  # the dispatch acknowledgement went out while online

        await go_offline(context)
        await page.click("[data-testid=arrive]")
        await page.wait_for_selector("[data-testid=recorded] li[data-type=arrival]")
        await page.fill("[data-testid=scene-form] textarea[name=situation]", "双方情绪激动，已隔开")
        await page.fill("[data-testid=scene-form] input[name=parties]", "2")
        await page.fill("[data-testid=scene-form] input[name=injured]", "0")
        await page.click("[data-testid=scene-form] button[type=submit]")
        await page.wait_for_selector("[data-testid=recorded] li[data-type=scene_report]")
        await page.click("summary:has-text('处置结果')")
        await page.select_option("[data-testid=disposition-form] select[name=result]", "mediated")
        await page.fill(
            "[data-testid=disposition-form] textarea[name=summary]", "现场调解，双方和解"
        )
        await page.click("[data-testid=disposition-form] button[type=submit]")
        await page.wait_for_selector("[data-testid=recorded] li[data-type=disposition]")
        await page.click("summary:has-text('执法记录仪')")
        await page.fill("[data-testid=bodycam-form] input[name=camera_serial]", "DSJ-0042")
        await page.fill("[data-testid=bodycam-form] input[name=clip_id]", "20261127-0931")
        await page.fill("[data-testid=bodycam-form] input[name=started_at]", "2026-11-27T09:31:00")
        await page.fill("[data-testid=bodycam-form] input[name=ended_at]", "2026-11-27T09:45:30")
        await page.click("[data-testid=bodycam-form] button[type=submit]")
        await page.wait_for_selector("[data-testid=recorded] li[data-type=bodycam_ref]")
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=screenshot_dir / "field-incident.png")

        await page.click("[data-testid=new-mediation]")
        await page.wait_for_selector("[data-testid=mediation-form]")
        await page.fill("input[name=dispute_type]", "邻里纠纷")
        await page.fill("[data-party-name='0']", "张三")
        await page.fill("[data-party-name='1']", "李四")
        await page.fill("textarea[name=terms]", "晚十点后不得喧哗")
        await page.fill("input[name=follow_up_on]", "2026-12-04")
        await page.set_input_files(
            "input[name=photo]",
            files=[{"name": "协议.jpg", "mimeType": "image/jpeg", "buffer": b"signed agreement"}],
        )
        await page.wait_for_selector("text=照片已附")
        await page.click("[data-testid=mediation-form] button[type=submit]")
        await page.wait_for_selector("[data-testid=mediation-form] [data-testid=saved]")
        # The record created offline opens for editing, filled in from this device's copy.
        await wait_until(
            page, "document.querySelector('[data-party-name=\"1\"]')?.value === '李四'"
        )
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=screenshot_dir / "field-mediation.png")
        assert await pending_count(page) == 5

        # A reload with no network at all: the service worker starts the app from its cache.
        await page.reload()
        await page.wait_for_selector("[data-testid=status-bar]")
        await page.goto(base + "/#/outbox")
        await page.wait_for_selector("[data-testid=outbox-screen]")
        await wait_pending(page, 5)
        rows = page.locator("[data-testid=outbox-pending] li")
        assert sorted(await rows.evaluate_all("rs => rs.map(r => r.dataset.type)")) == sorted(FIVE)
        op_ids = await rows.evaluate_all("rs => rs.map(r => r.dataset.opId)")
        await page.screenshot(path=screenshot_dir / "field-outbox-offline.png")

        await go_online(context)

        async def all_held_once() -> bool:
            timeline = (await desk.incident(incident["id"]))["timeline"]
            ids = [e["op_id"] for e in timeline if e["op_id"]]
            return all(ids.count(op_id) == 1 for op_id in op_ids)

        await eventually(all_held_once, 10, "the server holds each op once")
        await wait_pending(page, 0)
        record = await desk.incident(incident["id"])
        events = {e["op_id"]: e for e in record["timeline"] if e["op_id"] in op_ids}
        assert sorted(e["type"] for e in events.values()) == sorted(FIVE)
        arrival = next(e for e in events.values() if e["type"] == "arrival")
        assert arrival["person_id"] == await desk.person_id("officer.zhang")
        assert record["clocks"]["arrival"]["met_at"] is not None
        # The agreement photo followed its op once the network was back.
        mediation = next(r for r in record["records"] if r["type"] == "mediation_outcome")
        (photo,) = mediation["body"]["attachments"]

        async def photo_stored() -> bool:
            return (await desk.incident(incident["id"]))["attachments"].get(photo) == "stored"

        await eventually(photo_stored, 10, "the agreement photo is uploaded")
        await page.screenshot(path=screenshot_dir / "field-outbox-synced.png")
        await context.close()


async def test_a_dispatch_reaches_the_open_app_live(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    async with httpx.AsyncClient(base_url=field_server.url, timeout=10) as http:
        desk = await Desk(http).sign_in()
        context = await phone(chromium)
        page = await context.new_page()
        await sign_in(page, field_server.url)
        await page.wait_for_selector("[data-testid=status-bar][data-connected=true]")
        incident = await desk.dispatch_new("officer.zhang", "城关镇解放街6号", "有人打架")
        await page.wait_for_selector(f'[data-incident="{incident["id"]}"]', timeout=2_000)
        await page.screenshot(path=screenshot_dir / "field-work-live.png")

        # Online, a case's evidence goes straight through the same outbox.
        await page.click(f'[data-incident="{incident["id"]}"]')
        await page.click("summary:has-text('证据材料')")
        await page.select_option(
            "[data-testid=evidence-form] select[name=kind]", "witness_statement"
        )
        await page.fill("[data-testid=evidence-form] input[name=reference]", "证言-2026-0042")
        await page.click("[data-testid=evidence-form] button[type=submit]")
        await page.wait_for_selector(
            "[data-testid=recorded] li[data-type=evidence_item][data-state=sent]"
        )
        timeline = (await desk.incident(incident["id"]))["timeline"]
        (evidence,) = [e for e in timeline if e["type"] == "evidence_item"]
        assert evidence["body"]["kind"] == "witness_statement"
        assert evidence["body"]["reference"] == "证言-2026-0042"
        await context.close()


async def test_a_new_version_asks_before_taking_over_and_the_outbox_survives(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    async with httpx.AsyncClient(base_url=field_server.url, timeout=10) as http:
        desk = await Desk(http).sign_in()
        incident = await desk.dispatch_new("officer.zhang", "河口村", "求助")
        context = await phone(chromium)
        page = await context.new_page()
        await sign_in(page, field_server.url)
        await controlled(page)
        await page.click(f'[data-incident="{incident["id"]}"]')
        await dispatch_seen(page)
        # The API is unreachable (the shell is not): a note waits in the outbox.
        await context.route("**/api/**", lambda route: route.abort("internetdisconnected"))
        await page.click("summary:has-text('备注')")
        await page.fill("[data-testid=note-form] textarea[name=text]", "升级前的备注")
        await page.click("[data-testid=note-form] button[type=submit]")
        await wait_pending(page, 1)

        # Deploy: a new service worker appears on the server.
        sw = field_server.dist / "sw.js"
        old = sw.read_text(encoding="utf-8")
        version = old.split('const VERSION = "')[1].split('"')[0]
        sw.write_text(old.replace(version, version + "-next"), encoding="utf-8")
        await page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
        await page.wait_for_selector("[data-testid=update-prompt]")
        await page.screenshot(path=screenshot_dir / "field-update-prompt.png")
        # Nothing took over by itself: the old worker still controls the page.
        caches = await page.evaluate("caches.keys()")
        assert f"qingling-shell-{version}" in caches

        await page.click("[data-testid=update-prompt]")
        await wait_until(
            page, f"caches.keys().then(k => !k.includes('qingling-shell-{version}'))", polling=200
        )
        await page.wait_for_selector("[data-testid=status-bar]")
        assert await page.locator("[data-testid=update-prompt]").count() == 0
        await wait_pending(page, 1)  # the outbox survived the update

        await context.unroute("**/api/**")
        await page.evaluate("qinglingSync.wake()")
        await wait_pending(page, 0)
        timeline = (await desk.incident(incident["id"]))["timeline"]
        assert [e["body"]["text"] for e in timeline if e["type"] == "note"] == ["升级前的备注"]
        await context.close()


async def test_the_session_locks_and_a_pin_unlocks_it(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    context = await phone(chromium)
    page = await context.new_page()
    await page.goto(field_server.url + "/")
    await page.wait_for_selector("[data-testid=signin-form]")
    await page.screenshot(path=screenshot_dir / "field-signin.png")
    await sign_in(page, field_server.url)
    await page.goto(field_server.url + "/#/settings")
    await page.fill("[data-testid=pin-form] input[name=pin]", "12a")
    await page.click("[data-testid=pin-form] button")
    await page.wait_for_selector("text=PIN 须为 4–6 位数字")
    await page.fill("[data-testid=pin-form] input[name=pin]", "2468")
    await page.click("[data-testid=pin-form] button")
    await page.click("[data-testid=lock-now]")
    await page.wait_for_selector("[data-testid=lock-screen]")
    await page.screenshot(path=screenshot_dir / "field-lock.png")
    # Locked across a reload too.
    await page.reload()
    await page.wait_for_selector("[data-testid=lock-screen]")
    await page.fill("[data-testid=lock-screen] input[name=pin]", "1111")
    await page.click("[data-testid=lock-screen] button")
    await page.wait_for_selector("text=PIN 错误")
    await page.fill("[data-testid=lock-screen] input[name=pin]", "2468")
    await page.click("[data-testid=lock-screen] button")
    await page.wait_for_selector("[data-testid=status-bar]")
    assert await page.locator("[data-testid=lock-screen]").count() == 0

    # English is one tap away, and stays chosen (a reload with a PIN set starts locked:
    # the key that opens the phone's data is only ever in memory).
    await page.goto(field_server.url + "/#/settings")
    await page.click("button:has-text('English')")
    await page.wait_for_selector("text=Sign out")
    await page.reload()
    await page.wait_for_selector("[data-testid=lock-screen] >> text=Enter PIN to unlock")
    await page.fill("[data-testid=lock-screen] input[name=pin]", "2468")
    await page.click("[data-testid=lock-screen] button")
    await page.wait_for_selector(".tabs >> text=My work")
    await context.close()


async def test_a_point_check_shows_live_and_the_reply_reaches_the_command_center(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    async with httpx.AsyncClient(base_url=field_server.url, timeout=10) as http:
        desk = await Desk(http).sign_in()
        incident = await desk.dispatch_new("officer.zhang", "城关镇东门菜市场", "摊贩纠纷")
        context = await phone(chromium)
        page = await context.new_page()
        await sign_in(page, field_server.url)
        card = f'[data-incident="{incident["id"]}"]'
        await page.wait_for_selector(card)
        await page.wait_for_selector("[data-testid=status-bar][data-connected=true]")
        r = await http.post(
            f"/api/incidents/{incident['id']}/point-check",
            json={"text": "请报告现场情况"},
            headers=desk.headers,
        )
        assert r.status_code == 200, r.text
        await page.wait_for_selector(f"{card} [data-testid=point-check-badge]", timeout=2_000)
        await page.screenshot(path=screenshot_dir / "field-point-check-work.png")
        await page.click(card)
        await page.wait_for_selector("[data-testid=point-checks]")
        await page.fill("[data-testid=point-checks] input[name=text]", "已到场，秩序正常")
        await page.screenshot(path=screenshot_dir / "field-point-check.png")
        await page.click("[data-testid=point-checks] button[type=submit]")
        await wait_pending(page, 0)

        async def replied() -> bool:
            checks = (await desk.incident(incident["id"]))["point_checks"]
            return checks[0]["reply"] == "已到场，秩序正常"

        await eventually(replied, 10, "the reply is on the incident")
        await page.goto(field_server.url + "/#/")
        await page.wait_for_selector(card)
        assert await page.locator(f"{card} [data-testid=point-check-badge]").count() == 0
        await context.close()


async def test_a_mediation_edited_offline_and_elsewhere_shows_its_conflict(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    """A standalone case made on the phone; the phone edits it offline while another device
    of the mediator edits the same version: both edits reach the server, which keeps both
    and flags the record; the phone shows the conflict."""
    base = field_server.url
    context = await phone(chromium)
    page = await context.new_page()
    await sign_in(page, base, "mediator.wu")
    await page.goto(base + "/#/mediation/new")
    await page.fill("input[name=dispute_type]", "土地纠纷")
    await page.fill("[data-party-name='0']", "赵一")
    await page.fill("[data-party-name='1']", "钱二")
    await page.click("[data-testid=mediation-form] button[type=submit]")
    await page.wait_for_selector("[data-testid=mediation-form] [data-testid=saved]")
    record_id = page.url.rsplit("/", 1)[1]
    await wait_pending(page, 0)

    await go_offline(context)
    await wait_until(page, "document.querySelector('[data-party-name=\"1\"]')?.value === '钱二'")
    await page.fill("textarea[name=terms]", "手机上的修改")
    await page.click("[data-testid=mediation-form] button[type=submit]")
    await wait_pending(page, 1)

    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        r = await http.post(
            "/api/auth/login",
            json={
                "username": "mediator.wu",
                "password": "qingling-demo",
                "device": {"label": "平板"},
            },
        )
        tablet = r.json()
        edit = {
            "op_id": str(uuid.uuid4()),
            "seq": 1,
            "type": "mediation_outcome",
            "incident_id": None,
            "device_time": datetime.now(UTC).isoformat(),
            "clock_offset_ms": 0,
            "record_id": record_id,
            "base_op_id": record_id,
            "body": {
                "dispute_type": "土地纠纷",
                "parties": [{"name": "赵一", "role": ""}, {"name": "钱二", "role": ""}],
                "agreement": "partial",
                "terms": "平板上的修改",
            },
        }
        r = await http.post(
            "/api/sync/push",
            json={
                "device_id": tablet["device_id"],
                "sent_at": datetime.now(UTC).isoformat(),
                "ops": [edit],
            },
            headers={"Authorization": f"Bearer {tablet['token']}"},
        )
        assert r.json()["results"][0]["status"] == "applied", r.text

    await go_online(context)
    await wait_pending(page, 0)
    await page.wait_for_selector("[data-testid=conflict-banner]", timeout=10_000)
    await page.wait_for_selector("[data-testid=conflicts]")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=screenshot_dir / "field-mediation-conflict.png")
    await context.close()


async def test_the_status_bar_warns_when_the_last_sync_is_older_than_three_days(
    chromium: Browser, field_server: FieldServer
) -> None:
    context = await phone(chromium)
    page = await context.new_page()
    await sign_in(page, field_server.url)
    await controlled(page)
    await go_offline(context)
    # Reload offline first: the page that was catching up over the socket could still be
    # writing its own "last synced" after ours; an offline page syncs nothing.
    await page.reload()
    await page.wait_for_selector("[data-testid=status-bar]")
    # The phone last heard from the server four days ago (written where the app keeps it).
    await page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open("qingling");
            open.onsuccess = () => {
                const tx = open.result.transaction("meta", "readwrite");
                tx.objectStore("meta").put(
                    new Date(Date.now() - 4 * 86400 * 1000).toISOString(), "last_synced");
                tx.oncomplete = () => resolve();
                tx.onerror = () => reject(tx.error);
            };
        })"""
    )
    await page.reload()
    await page.wait_for_selector("[data-testid=warn-stale]")
    assert "3 天" in await page.inner_text("[data-testid=warn-stale]")
    assert "4 天前" in await page.inner_text("[data-testid=last-synced]")
    await context.close()
