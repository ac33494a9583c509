"""The command-center view in Debian's Chromium against a real server process.

A dispatcher signs in, records a call and dispatches it through the page; an officer's
phone (plain HTTP pushes, as PROTOCOL §3 has it) reports an arrival, which must appear on
the board within a second; a supervisor sees a conflict arrive live in the review queue
and resolves it in the page; the WebSocket is cut and restored and nothing is lost.
Screenshots for a reviewer go to artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from server.demo import DEMO_PASSWORD
from sync.views import BoardRow
from tests.live import ServerProcess
from tests.server.board_rows import summary_of

VIEWPORT = {"width": 1440, "height": 900}
# The test's wait limit for "appears live": the brief's one second.
LIVE_LIMIT_MS = 1000
NO_POSITION = {"lat": None, "lon": None, "accuracy_m": None}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FieldPhone:
    """A field device speaking PROTOCOL §3 over plain HTTP."""

    http: httpx.AsyncClient
    username: str
    token: str = ""
    device_id: str = ""
    person_id: str = ""
    seq: int = 0

    async def sign_in(self) -> FieldPhone:
        r = await self.http.post(
            "/api/auth/login",
            json={
                "username": self.username,
                "password": DEMO_PASSWORD,
                "device": {"id": f"{self.username}-{uuid.uuid4().hex[:8]}"},
            },
        )
        assert r.status_code == 200, r.text
        body = r.json()
        self.token, self.device_id, self.person_id = (
            body["token"],
            body["device_id"],
            body["person"]["id"],
        )
        return self

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def op(self, type: str, incident_id: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
        self.seq += 1
        return {
            "op_id": str(uuid.uuid4()),
            "seq": self.seq,
            "type": type,
            "incident_id": incident_id,
            "device_time": extra.pop("device_time", utc_now()).isoformat(),
            "clock_offset_ms": 0,
            "record_id": extra.pop("record_id", None),
            "base_op_id": extra.pop("base_op_id", None),
            "body": body,
        }

    async def push(self, *ops: dict[str, Any]) -> None:
        r = await self.http.post(
            "/api/sync/push",
            json={"device_id": self.device_id, "sent_at": utc_now().isoformat(), "ops": list(ops)},
            headers=self.headers,
        )
        assert r.status_code == 200, r.text
        assert [x["status"] for x in r.json()["results"]] == ["applied"] * len(ops), r.text


def collect_errors(page: Page) -> None:
    """Uncaught errors in the page end up in `page.errors` (each test requires none)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]


async def signed_in_page(browser: Browser, base: str, username: str) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = await context.new_page()
    collect_errors(page)
    await page.goto(f"{base}/command/")
    await page.fill("#username", username)
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("#sign-in-submit")
    await expect(page.locator("#conn")).to_have_class("conn conn-live", timeout=10_000)
    return context, page


async def desk_login(http: httpx.AsyncClient) -> dict[str, str]:
    """A second dispatcher desk, over HTTP."""
    r = await http.post(
        "/api/auth/login", json={"username": "dispatcher2", "password": DEMO_PASSWORD}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def row(page: Page, number: str):
    return page.locator("#board-rows tr", has_text=number)


async def session_token(page: Page) -> dict[str, str]:
    token = await page.evaluate(
        "JSON.parse(localStorage.getItem('qingling.command.session')).token"
    )
    return {"Authorization": f"Bearer {token}"}


async def dispatched_incident(
    http: httpx.AsyncClient, headers: dict[str, str], officer: FieldPhone, **fields: Any
) -> dict[str, Any]:
    """An incident recorded and sent to 城关派出所 over HTTP, as another desk would."""
    body = {
        "category": "dispute",
        "area_type": "urban",
        "address": "城关镇解放路66号",
        "narrative": "两人在饭店门口争吵",
        **fields,
    }
    r = await http.post("/api/incidents", json=body, headers=headers)
    assert r.status_code == 201, r.text
    stations = {
        s["name"]: s["id"] for s in (await http.get("/api/stations", headers=headers)).json()
    }
    r = await http.post(
        f"/api/incidents/{r.json()['id']}/dispatch",
        json={"station_id": stations["城关派出所"], "person_ids": [officer.person_id]},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_dispatch_made_in_the_page_and_the_arrival_from_the_field_within_a_second(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        zhang = await FieldPhone(http, "officer.zhang").sign_in()

        # A field role is told this view is not theirs.
        field_context = await chromium.new_context(viewport=VIEWPORT, locale="zh-CN")
        field_page = await field_context.new_page()
        await field_page.goto(f"{base}/command/")
        await field_page.fill("#username", "officer.li")
        await field_page.fill("#password", DEMO_PASSWORD)
        await field_page.click("#sign-in-submit")
        await expect(field_page.locator("#sign-in-error")).to_contain_text("仅供指挥中心使用")
        await expect(field_page.locator("#sign-in-form")).to_be_visible()
        await field_context.close()

        context, desk = await signed_in_page(chromium, base, "dispatcher")
        # The demo's open incidents are on the board, overdue ones labelled in words.
        open_now = (
            await http.get(
                "/api/incidents", params={"status": "open"}, headers=await desk_login(http)
            )
        ).json()
        await expect(desk.locator("#board-rows tr")).to_have_count(len(open_now))
        await expect(desk.locator("#count-open b")).to_have_text(str(len(open_now)))
        # The board came as summary rows, gzip-compressed on the wire: rows hold no caller
        # data (the panel fetches the full record).
        sizes = await desk.evaluate(
            "performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/api/board'))"
            ".map((e) => [e.encodedBodySize, e.decodedBodySize])"
        )
        assert sizes and all(0 < wire < body for wire, body in sizes), sizes
        held = await desk.evaluate("[...window.qingling.store.incidents.values()]")
        by_id = {i["id"]: i for i in open_now}
        for shown in held:
            assert set(shown) == set(BoardRow.__struct_fields__)
            expected = summary_of(by_id[shown["id"]])
            assert {k: v for k, v in shown.items() if k not in ("clocks", "supervision")} == {
                k: v for k, v in expected.items() if k not in ("clocks", "supervision")
            }
        overdue = [
            i for i in open_now if any(c["state"] == "overdue" for c in i["clocks"].values())
        ]
        assert overdue, "the demo holds an overdue incident"
        for incident in overdue:
            await expect(row(desk, incident["number"])).to_have_class(re.compile("overdue"))
            await expect(row(desk, incident["number"]).locator(".overdue-label")).to_have_text(
                "⚠ 超时"
            )

        # Record a call and dispatch it through the page.
        await desk.click("#new-incident")
        dialog = desk.locator("#create-dialog")
        await dialog.locator("select[name=category]").select_option("public_order")
        await dialog.locator("input[name=address]").fill("城关镇解放路66号")
        await dialog.locator("textarea[name=narrative]").fill("两人在饭店门口斗殴")
        await dialog.locator("input[name=caller_phone]").fill("13900001111")
        await dialog.locator("button[type=submit]").click()
        panel = desk.locator("#incident-panel")
        await expect(panel.locator("h2")).to_contain_text("待派警")
        number = (await panel.locator("h2").inner_text()).split(" ")[0]
        await expect(row(desk, number)).to_have_count(1)
        await panel.locator("#dispatch-station").select_option(label="城关派出所")
        await panel.locator(f"input[name=person_ids][value='{zhang.person_id}']").check()
        await panel.locator("#dispatch-submit").click()
        await expect(panel.locator("h2")).to_contain_text("已派警")
        await expect(row(desk, number)).to_contain_text("张伟")
        incident_id = await row(desk, number).get_attribute("data-id")
        assert incident_id
        desk_headers = await session_token(desk)
        on_server = (await http.get(f"/api/incidents/{incident_id}", headers=desk_headers)).json()
        assert on_server["status"] == "dispatched"
        assert on_server["category"] == "public_order"
        assert [a["person_id"] for a in on_server["assignees"]] == [zhang.person_id]

        # The officer's phone reports the arrival: on the board within a second.
        await expect(row(desk, number).locator(".clock-running", has_text="到场")).to_have_count(1)
        await zhang.push(
            zhang.op("arrival", incident_id, {"lat": 30.1, "lon": 120.2, "accuracy_m": 8})
        )
        await expect(row(desk, number).locator(".clock-met", has_text="到场")).to_have_count(
            1, timeout=LIVE_LIMIT_MS
        )
        # ... and in the open panel's timeline.
        await expect(panel.locator("table.timeline")).to_contain_text("到场")

        # Point-check (点调) the unit from the panel; the officer's reply arrives live.
        await panel.locator("#point-check-text").fill("请报告现场情况")
        await panel.locator("#point-check-submit").click()
        checks = panel.locator("ol.point-checks li")
        await expect(checks).to_have_count(1)
        await expect(checks).to_contain_text("等待回复")
        seen_by_officer = (
            await http.get(f"/api/incidents/{incident_id}", headers=zhang.headers)
        ).json()
        [check] = seen_by_officer["point_checks"]
        assert check["text"] == "请报告现场情况"
        await zhang.push(
            zhang.op(
                "point_check_reply",
                incident_id,
                {"request_id": check["request_id"], "text": "已到现场，双方已分开"},
            )
        )
        await expect(checks).to_contain_text("已到现场，双方已分开", timeout=LIVE_LIMIT_MS)
        await expect(checks).to_contain_text("已回复")
        await desk.screenshot(path=str(screenshot_dir / "command-incident.png"))
        await panel.locator("button.close-panel").click()
        await desk.screenshot(path=str(screenshot_dir / "command-board.png"))
        # The board of rows at 1280 px (a common desk monitor).
        await desk.set_viewport_size({"width": 1280, "height": 800})
        await desk.screenshot(path=str(screenshot_dir / "command-board-1280.png"))
        assert await desk.evaluate("document.documentElement.scrollWidth") <= 1280
        # Usable at 1024 px: nothing runs off the side of the page.
        await desk.set_viewport_size({"width": 1024, "height": 768})
        assert await desk.evaluate("document.documentElement.scrollWidth") <= 1024
        await row(desk, number).click()
        await expect(panel.locator("h2")).to_contain_text(number)
        assert await desk.evaluate("document.documentElement.scrollWidth") <= 1024
        await desk.screenshot(path=str(screenshot_dir / "command-incident-1024.png"))
        await desk.set_viewport_size(VIEWPORT)

        # Reassign to another station, then close with a summary, all in the page.
        await panel.locator("details[data-actions] summary").click()
        await panel.locator("#reassign-station").select_option(label="河口派出所")
        wang = await FieldPhone(http, "officer.wang").sign_in()
        await panel.locator(f"input[name=person_ids][value='{wang.person_id}']").check()
        await panel.locator("#reassign-submit").click()
        await expect(row(desk, number)).to_contain_text("河口派出所")
        await expect(row(desk, number)).to_contain_text("王军")
        # The act is confirmed, and done folds the acts away (the board can show the
        # reassignment live before the page has the act's answer): open them again.
        await expect(desk.locator("#notice")).to_contain_text(f"{number} 改派 ✓")
        await expect(panel.locator("details[data-actions]")).not_to_have_attribute("open", "")
        await panel.locator("details[data-actions] summary").click()
        await expect(panel.locator("details[data-actions]")).to_have_attribute("open", "")
        await panel.locator("#close-summary").fill("双方和解，已销号")
        await panel.locator("#close-submit").click()
        # No scene report or disposition came (三反馈, PROTOCOL §11): the desk confirms first.
        await desk.locator("#close-confirm-ok").click()
        await expect(panel.locator("h2")).to_contain_text("已办结")
        await expect(row(desk, number)).to_have_count(0)
        closed = (await http.get(f"/api/incidents/{incident_id}", headers=desk_headers)).json()
        assert closed["status"] == "closed" and closed["station_id"] != on_server["station_id"]
        assert closed["close_summary"] == "双方和解，已销号"
        assert [a["person_id"] for a in closed["assignees"]] == [wang.person_id]
        await panel.locator("button.close-panel").click()

        # Cancel a call that was never dispatched, with a reason.
        waiting = next(i for i in open_now if i["status"] == "received")
        await row(desk, waiting["number"]).click()
        await panel.locator("#cancel-reason").fill("重复报警")
        await panel.locator("#cancel-submit").click()
        await expect(panel.locator("h2")).to_contain_text("已撤销")
        await expect(row(desk, waiting["number"])).to_have_count(0)
        cancelled = (await http.get(f"/api/incidents/{waiting['id']}", headers=desk_headers)).json()
        assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "重复报警"
        await panel.locator("button.close-panel").click()

        # Reports (PROTOCOL §7) for the reviewer; English on request, Chinese by default.
        await desk.click("nav a[data-page=reports]")
        await expect(
            desk.locator("#report-body table.report:not(.diversion-table)")
        ).to_be_visible()
        # Received by category, arrival compliance, arrival minutes; satisfaction per station
        # and by dimension (§9); diverted and returned per agency (§10).
        await expect(desk.locator("#report-body svg.chart")).to_have_count(6)
        await desk.click("[data-period=monthly]")
        await expect(desk.locator("#report-body h3#co-h")).to_contain_text("结转警情")
        await desk.screenshot(path=str(screenshot_dir / "command-reports.png"))
        # The bureau's row in the page is the server's figures.
        month = await desk.locator("#report-month").input_value()
        monthly = (
            await http.get("/api/reports/monthly", params={"month": month}, headers=desk_headers)
        ).json()
        total = desk.locator("#report-body table.report:not(.diversion-table) tr.total td")
        await expect(total.nth(0)).to_have_text(str(monthly["bureau"]["received"]))
        # CSV: fetched with the token and saved through a Blob URL.
        async with desk.expect_download() as download_info:
            await desk.click("#report-csv")
        download = await download_info.value
        assert download.suggested_filename == f"qingling-monthly-{month}.csv"
        csv_bytes = await asyncio.to_thread(Path(await download.path()).read_bytes)
        assert csv_bytes.startswith("\ufeff".encode())  # the BOM Excel needs for Chinese
        assert "城关派出所" in csv_bytes.decode("utf-8-sig")
        await desk.click("#lang")
        await expect(desk.locator("nav a[data-page=board]")).to_have_text("Board")
        await expect(desk.locator("#conn")).to_contain_text("live")
        await desk.click("#lang")
        await expect(desk.locator("nav a[data-page=board]")).to_have_text("警情看板")
        assert desk.errors == []  # type: ignore[attr-defined]
        await context.close()


async def test_review_items_arrive_live_and_resolving_them_updates_the_queue(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        zhang = await FieldPhone(http, "officer.zhang").sign_in()
        context, sup = await signed_in_page(chromium, base, "supervisor")
        headers = await session_token(sup)
        incident = await dispatched_incident(http, await desk_login(http), zhang)
        incident_id = incident["id"]
        await sup.click("nav a[data-page=reviews]")
        await expect(sup.locator("#reviews-h")).to_be_visible()
        before = await sup.locator("#review-list li").count()

        # The officer's two offline edits of one scene report fork it (a conflict); a second
        # arrival from a clock 10 minutes fast (clock_suspect); a body-camera clip.
        first = zhang.op(
            "scene_report",
            incident_id,
            {"situation": "双方已被分开", "parties": 2, "injured": 0, "needs_backup": False},
        )
        await zhang.push(first, zhang.op("arrival", incident_id, NO_POSITION))
        edit_a = zhang.op(
            "scene_report",
            incident_id,
            {"situation": "一人轻伤，已送医", "parties": 2, "injured": 1, "needs_backup": False},
            record_id=first["op_id"],
            base_op_id=first["op_id"],
        )
        edit_b = zhang.op(
            "scene_report",
            incident_id,
            {"situation": "双方和解", "parties": 2, "injured": 0, "needs_backup": False},
            record_id=first["op_id"],
            base_op_id=first["op_id"],
        )
        clip = zhang.op(
            "bodycam_ref",
            incident_id,
            {
                "camera_serial": "DSJ-0451",
                "clip_id": "20261127-0001",
                "started_at": utc_now().isoformat(),
                "ended_at": (utc_now() + timedelta(minutes=4)).isoformat(),
                "sha256": "ab" * 32,
                "bytes": 48_000_000,
            },
        )
        # The fast-clock arrival is the phone's last op: any op it recorded after it (a higher
        # seq) would carry a time ten minutes before it, and the device-order rule would flag
        # that one too (PROTOCOL §12).
        suspect = zhang.op(
            "arrival", incident_id, NO_POSITION, device_time=utc_now() + timedelta(minutes=10)
        )
        await zhang.push(edit_a, edit_b, clip, suspect)
        conflict = sup.locator("#review-list li.kind-conflict")
        suspect_item = sup.locator("#review-list li.kind-clock_suspect")
        await expect(conflict).to_have_count(1, timeout=LIVE_LIMIT_MS)
        await expect(suspect_item).to_have_count(1, timeout=LIVE_LIMIT_MS)
        await expect(sup.locator("#review-list li")).to_have_count(before + 2)
        await expect(sup.locator("#count-reviews b")).to_have_text(str(before + 2))
        await expect(conflict).to_contain_text(incident["number"])
        await conflict.locator("[data-expand]").click()
        await expect(conflict.locator("input[name=keep_op_id]")).to_have_count(2)
        await expect(conflict).to_contain_text("双方和解")
        await expect(conflict).to_contain_text("一人轻伤，已送医")
        clips = sup.locator("#bodycam-list li")
        await expect(clips).to_have_count(1)
        await expect(clips).to_contain_text("DSJ-0451")
        await sup.screenshot(path=str(screenshot_dir / "command-reviews.png"))

        # Keep the second edit, with a note: the item leaves the queue.
        await conflict.locator(f"input[name=keep_op_id][value='{edit_b['op_id']}']").check()
        await conflict.locator("textarea[name=note]").fill("以和解版本为准")
        await conflict.locator("button[type=submit]").click()
        await expect(conflict).to_have_count(0)
        await expect(sup.locator("#review-list li")).to_have_count(before + 1)
        await expect(sup.locator("#count-reviews b")).to_have_text(str(before + 1))
        # The server agrees: resolved, and the kept version is the record.
        record = (await http.get(f"/api/incidents/{incident_id}", headers=headers)).json()
        conflicts = [r for r in record["review_items"] if r["kind"] == "conflict"]
        assert [r["state"] for r in conflicts] == ["resolved"]
        report = next(r for r in record["records"] if r["record_id"] == first["op_id"])
        assert not report["conflicted"]
        assert report["body"]["situation"] == "双方和解"
        still_open = (
            await http.get("/api/reviews", params={"state": "open"}, headers=headers)
        ).json()
        assert conflicts[0]["id"] not in {i["id"] for i in still_open}

        # The suspect clock: a note is enough.
        await suspect_item.locator("[data-expand]").click()
        await suspect_item.locator("textarea[name=note]").fill("设备时间偏快，已核实")
        await suspect_item.locator("button[type=submit]").click()
        await expect(suspect_item).to_have_count(0)
        resolved = (
            await http.get("/api/reviews", params={"state": "resolved"}, headers=headers)
        ).json()
        assert "设备时间偏快，已核实" in {i["note"] for i in resolved}

        # Mark the clip reviewed: it leaves the list, and the server holds the mark.
        await clips.locator("button[data-mark]").click()
        await expect(clips).to_have_count(0)
        reviewed = (
            await http.get("/api/bodycam", params={"state": "reviewed"}, headers=headers)
        ).json()
        assert [c["op_id"] for c in reviewed] == [clip["op_id"]]
        assert reviewed[0]["reviewed_by"] == await sup.evaluate("window.qingling.store.me.id")
        assert sup.errors == []  # type: ignore[attr-defined]
        await context.close()


async def test_a_dropped_socket_comes_back_from_its_cursor_and_loses_nothing(
    chromium: Browser, server: ServerProcess
) -> None:
    base = server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        zhang = await FieldPhone(http, "officer.zhang").sign_in()
        desk_headers = await desk_login(http)
        context = await chromium.new_context(viewport=VIEWPORT, locale="zh-CN")
        desk = await context.new_page()
        collect_errors(desk)
        # The desk's socket goes through the test, which can drop it and refuse reconnects.
        link: dict[str, Any] = {"blocked": False, "open": []}

        async def route(ws: WebSocketRoute) -> None:
            if link["blocked"]:
                await ws.close(code=1011, reason="network down")
                return
            ws.connect_to_server()
            link["open"].append(ws)

        await desk.route_web_socket(re.compile(r".*/api/sync/ws$"), route)
        await desk.goto(f"{base}/command/")
        await desk.fill("#username", "dispatcher")
        await desk.fill("#password", DEMO_PASSWORD)
        await desk.click("#sign-in-submit")
        await expect(desk.locator("#conn")).to_have_class("conn conn-live", timeout=10_000)
        kept = await dispatched_incident(http, desk_headers, zhang)
        closing = await dispatched_incident(http, desk_headers, zhang, address="人民路1号")
        await expect(row(desk, kept["number"])).to_have_count(1)
        await expect(row(desk, closing["number"])).to_have_count(1)

        async def changes_while_away(tag: str) -> dict[str, Any]:
            # An arrival, a new incident, and a close, all committed while the desk is away.
            await zhang.push(zhang.op("note", kept["id"], {"text": f"{tag} 备注"}))
            r = await http.post(
                "/api/incidents",
                json={
                    "category": "help",
                    "area_type": "rural",
                    "address": f"河口村{tag}组",
                    "narrative": "老人走失",
                },
                headers=desk_headers,
            )
            assert r.status_code == 201, r.text
            return dict(r.json())

        async def board_matches_server() -> None:
            # The server may move on while this compares (the scheduler can fire a demo
            # clock): compare again until both sides agree, within a wait limit.
            for _ in range(50):
                stats = await desk.evaluate("window.qingling.store.stats")
                assert stats["duplicates"] == 0
                shown = await desk.evaluate(
                    "Object.fromEntries([...window.qingling.store.incidents.values()]"
                    ".map((i) => [i.id, i.version]))"
                )
                server_open = (
                    await http.get(
                        "/api/incidents", params={"status": "open"}, headers=desk_headers
                    )
                ).json()
                expected = {i["id"]: i["version"] for i in server_open}
                if shown == expected:
                    return
                await asyncio.sleep(0.1)
            assert shown == expected

        # 1. The link drops and reconnects are refused for a while (a network outage).
        link["blocked"] = True
        for ws in link["open"]:
            await ws.close(code=1006, reason="cable cut")
        await expect(desk.locator("#conn")).to_have_class("conn conn-reconnecting")
        missed = await changes_while_away("一")
        await zhang.push(zhang.op("arrival", kept["id"], NO_POSITION))
        await expect(row(desk, missed["number"])).to_have_count(0)
        await expect(
            row(desk, kept["number"]).locator(".clock-running", has_text="到场")
        ).to_have_count(1)
        link["blocked"] = False
        await expect(desk.locator("#conn")).to_have_class("conn conn-live", timeout=20_000)
        await expect(row(desk, missed["number"])).to_have_count(1)
        await expect(
            row(desk, kept["number"]).locator(".clock-met", has_text="到场")
        ).to_have_count(1)
        await board_matches_server()

        # 2. The browser itself goes offline: the desk says so and waits for the network.
        await context.set_offline(True)
        await expect(desk.locator("#conn")).to_have_class("conn conn-offline")
        also_missed = await changes_while_away("二")
        r = await http.post(
            f"/api/incidents/{closing['id']}/close",
            json={"summary": "已调解"},
            headers=desk_headers,
        )
        assert r.status_code == 200, r.text
        await expect(row(desk, also_missed["number"])).to_have_count(0)
        await expect(row(desk, closing["number"])).to_have_count(1)
        await context.set_offline(False)
        await expect(desk.locator("#conn")).to_have_class("conn conn-live", timeout=10_000)
        await expect(row(desk, also_missed["number"])).to_have_count(1)
        await expect(row(desk, closing["number"])).to_have_count(0)  # closed: off the board
        await board_matches_server()
        assert desk.errors == []  # type: ignore[attr-defined]
        await context.close()
