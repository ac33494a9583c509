"""The citizen's rating page (PROTOCOL §9, docs/rating.md) in Debian's Chromium at phone
width, against a real server process and its public rating API.

From an officer's QR code (`/rate/{token}`, the invite recorded by a demo officer's push):
the context line and nothing personal in the page or any public answer, a verdict 201 and
the thanks, the link rated afterwards, a second verdict 409; an unknown token (the invite
still on the phone) 202 and the awaiting thanks; an expired invite; the 21st POST of an
hour 429. From a station's poster (`/rate/s/{rating_code}`, the real code of a demo
station): the form's typing rules, a wrong number 404 in one message with everything kept,
the right one 201. Besides: no console error but the API calls' own, no service worker,
nothing wider than a 320 px screen, touch targets of 48 px and more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser, ConsoleMessage, Page, Response, expect

from tests.browser.field import PHONE, Desk, Officer, new_token, wait_until
from tests.live import ServerProcess

STATION = "城关派出所"
CALLER = {"name": "王先生", "phone": "13900000000"}  # what field.Desk records
ADDRESS = "城关镇建设路18号"
NARRATIVE = "楼上邻居深夜装修扰民"
VERDICT = {
    "接警态度": "满意",
    "出警时间": "基本满意",
    "警容风纪": "满意",
    "现场处理": "满意",
    "总体评价": "满意",
}
WIRE = {
    "接警态度": "reception",
    "出警时间": "timeliness",
    "警容风纪": "conduct",
    "现场处理": "handling",
    "满意": "satisfied",
    "基本满意": "basically_satisfied",
    "不满意": "unsatisfied",
}
SMALLEST = {"width": 320, "height": 640}
# What a finger must hit (the radios themselves are hidden behind their big labels).
TARGETS = ".choice span, button, input:not([type=radio]), textarea"


class Console:
    """Console errors and uncaught exceptions of a page, apart from a failed public API call
    (Chromium logs "Failed to load resource" for every non-2xx answer the page asked for)."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type not in ("error", "warning"):
            return
        url = message.location.get("url", "") if message.location else ""
        if "/api/public/" in url and message.text.startswith("Failed to load resource"):
            return
        self.errors.append(f"{message.type}: {message.text} ({url})")


async def phone_page(browser: Browser, viewport: dict[str, int] = PHONE) -> tuple[Page, Console]:
    context = await browser.new_context(
        viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", has_touch=True
    )
    page = await context.new_page()
    return page, Console(page)


@dataclass
class Call:
    """A demo incident of 城关派出所 dispatched to officer.zhang, with a caller phone."""

    desk: Desk
    incident: dict[str, Any]
    station_code: str

    @property
    def context(self) -> str:
        day = datetime.fromisoformat(self.incident["received_at"]).astimezone(
            ZoneInfo("Asia/Shanghai")
        )
        return f"{STATION} · {day.month}月{day.day}日 · 纠纷"

    async def assert_nothing_personal(self, text: str) -> None:
        for secret in [CALLER["name"], CALLER["phone"], ADDRESS, NARRATIVE]:
            assert secret not in text, f"{secret!r} shown"


async def demo_call(http: httpx.AsyncClient) -> Call:
    desk = await Desk(http).sign_in()
    incident = await desk.dispatch_new("officer.zhang", ADDRESS, NARRATIVE)
    r = await http.get("/api/stations", headers=desk.headers)
    (code,) = [s["rating_code"] for s in r.json() if s["name"] == STATION]
    assert code, r.text
    return Call(desk, incident, code)


def verdict_body(choices: dict[str, str]) -> dict[str, Any]:
    ratings = {WIRE[k]: WIRE[v] for k, v in choices.items() if k != "总体评价"}
    return {"ratings": ratings, "overall": WIRE[choices["总体评价"]]}


@dataclass
class Answer:
    url: str
    status: int
    text: str


def public_answers(page: Page) -> list[Answer]:
    """The page's answers from the public API, bodies and all, as they come."""
    answers: list[Answer] = []

    async def keep(r: Response) -> None:
        if "/api/public/" in r.url:
            answers.append(Answer(r.url, r.status, await r.text()))

    page.on("response", keep)
    return answers


async def fill_verdict(page: Page, choices: dict[str, str]) -> None:
    form = page.locator("#verdict")
    for legend, choice in choices.items():
        group = form.locator("fieldset", has=page.locator("legend", has_text=legend))
        await group.get_by_text(choice, exact=True).tap()


async def submit(page: Page) -> int:
    """Press the submit button; the status of the POST it sends."""
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.locator("#verdict button[type=submit]").tap()
    return (await answer.value).status


async def fits(page: Page) -> None:
    """Nothing sticks out sideways (no horizontal scrolling on a phone)."""
    await wait_until(page, "document.documentElement.scrollWidth <= window.innerWidth")


async def small_targets(page: Page, selector: str) -> list[str]:
    """The visible elements of `selector` less than 48 px high or wide."""
    boxes = await page.locator(selector).evaluate_all(
        "els => els.filter(e => e.offsetParent !== null).map(e => {"
        " const r = e.getBoundingClientRect();"
        " return [e.textContent.trim() || e.id || e.tagName, r.width, r.height]; })"
    )
    return [f"{name} {w:.0f}x{h:.0f}" for name, w, h in boxes if w < 48 or h < 48]


async def test_the_token_page_shows_the_call_and_takes_one_verdict(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        call = await demo_call(http)
        token = new_token()
        await (await Officer(http).sign_in()).invite(call.incident["id"], token)

        page, console = await phone_page(chromium)
        public = public_answers(page)
        await page.goto(f"{server.url}/rate/{token}")
        await expect(page.locator("header.bar h1")).to_have_text("处警满意度评价")
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        # The context line is all the public API says: station, day received, category.
        await expect(page.locator("[data-testid=context]")).to_have_text(call.context)
        await expect(page.locator("#verdict")).to_be_visible()
        await page.screenshot(path=str(screenshot_dir / "rate-page.png"), full_page=True)
        # The page asked the public API about its token, and only that.
        assert [(r.url.removeprefix(server.url), r.status) for r in public] == [
            (f"/api/public/ratings/{token}", 200)
        ]
        await call.assert_nothing_personal(await page.content())
        # No service worker, ever: the page is opened once from a QR code.
        assert (
            await page.evaluate(
                "navigator.serviceWorker ? navigator.serviceWorker.getRegistrations()"
                ".then(r => r.length) : 0"
            )
            == 0
        )
        await fits(page)

        # A second phone (the caller's relative, say) opens the same link before the verdict.
        other, other_console = await phone_page(chromium)
        other_public = public_answers(other)
        await other.goto(f"{server.url}/rate/{token}")
        await expect(other.locator("#verdict")).to_be_visible()

        await fill_verdict(page, VERDICT)
        await page.fill("#comment", "民警来得很快")
        assert await submit(page) == 201
        done = page.locator("[data-testid=result-thanks]")
        await expect(done.locator("h2")).to_have_text("感谢您的评价！")
        await expect(done).to_contain_text("您的评价已提交")
        await page.screenshot(path=str(screenshot_dir / "rate-page-thanks.png"), full_page=True)
        r = await http.get(f"/api/public/ratings/{token}")
        assert r.status_code == 200 and r.json()["state"] == "rated", r.text
        # The verdict is the incident's, from the QR code.
        (feedback,) = (await call.desk.incident(call.incident["id"]))["feedback"]
        assert feedback["source"] == "qr" and feedback["overall"] == "satisfied"

        # The second phone's verdict comes too late: 409, in plain words.
        await fill_verdict(other, VERDICT)
        assert await submit(other) == 409
        await expect(other.locator("[data-testid=result-rated] h2")).to_have_text(
            "本次处警已评价过，感谢您的关注"
        )
        # Opened again: rated, no form.
        await page.reload()
        await expect(page.locator("[data-testid=result-rated] h2")).to_have_text(
            "本次处警已评价过，感谢您的关注"
        )
        assert await page.locator("#verdict").count() == 0
        await call.assert_nothing_personal(await page.content())
        assert len(public) == 3 and len(other_public) == 2  # GET, POST, GET; GET, POST
        for answer in [*public, *other_public]:
            await call.assert_nothing_personal(answer.text)
        assert console.errors == [] and other_console.errors == []


async def test_an_unknown_token_takes_the_verdict_until_the_invite_arrives(
    chromium: Browser, server: ServerProcess
) -> None:
    token = new_token()
    page, console = await phone_page(chromium)
    await page.goto(f"{server.url}/rate/{token}")
    # Awaiting: no context to show (the invite is still on the officer's phone), the form.
    await expect(page.locator("#verdict")).to_be_visible()
    await expect(page.locator(".note")).to_contain_text("本次处警的信息还在民警手机上")
    assert await page.locator("[data-testid=context]").count() == 0
    await fill_verdict(page, VERDICT)
    assert await submit(page) == 202
    done = page.locator("[data-testid=result-awaiting]")
    await expect(done.locator("h2")).to_have_text("感谢您的评价！")
    await expect(done).to_contain_text("您的评价已记录，待民警的手机同步后即计入统计。")
    assert console.errors == []


async def test_an_expired_invite_says_so(chromium: Browser, server: ServerProcess) -> None:
    # The server's clock cannot be moved in a child process (Settings.clock is in-process
    # only), so the invite is old instead: recorded on a phone 8 days ago and synced now.
    # It expires 7 days after its effective time (PROTOCOL §9), i.e. yesterday.
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        call = await demo_call(http)
        token = new_token()
        officer = await Officer(http).sign_in()
        await officer.invite(
            call.incident["id"], token, device_time=datetime.now(UTC) - timedelta(days=8)
        )
        r = await http.get(f"/api/public/ratings/{token}")
        assert r.status_code == 200 and r.json()["state"] == "expired", r.text
        page, console = await phone_page(chromium)
        await page.goto(f"{server.url}/rate/{token}")
        done = page.locator("[data-testid=result-expired]")
        await expect(done.locator("h2")).to_have_text("评价链接已过期（7天有效）")
        await expect(done).to_contain_text("如需反映意见，请联系处警的派出所。")
        assert await page.locator("#verdict").count() == 0
        # A verdict sent anyway (a page left open) is refused: 410.
        r = await http.post(f"/api/public/ratings/{token}", json=verdict_body(VERDICT))
        assert r.status_code == 410, r.text
        assert console.errors == []


async def test_the_21st_post_within_an_hour_is_refused(
    chromium: Browser, server: ServerProcess
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        # Twenty verdicts from this address (the page's too: all on 127.0.0.1).
        for _ in range(20):
            r = await http.post(f"/api/public/ratings/{new_token()}", json=verdict_body(VERDICT))
            assert r.status_code == 202, r.text
    page, console = await phone_page(chromium)
    await page.goto(f"{server.url}/rate/{new_token()}")
    await expect(page.locator("#verdict")).to_be_visible()
    await fill_verdict(page, VERDICT)
    assert await submit(page) == 429
    notice = page.locator("#notice")
    await expect(notice).to_have_text(re.compile(r"^操作太频繁，请稍后再试（约 \d+ 分钟后）$"))
    minutes = int(re.findall(r"\d+", await notice.inner_text())[0])
    assert 55 <= minutes <= 60, minutes
    # The form is kept, ready for later.
    assert await page.locator("input[type=radio]:checked").count() == 5
    await expect(page.locator("#verdict button[type=submit]")).to_be_enabled()
    assert console.errors == []


async def test_a_malformed_token_says_the_link_is_invalid_without_asking(
    chromium: Browser, server: ServerProcess
) -> None:
    page, console = await phone_page(chromium, SMALLEST)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    await page.goto(f"{server.url}/rate/NOT-A-TOKEN")
    await expect(page.locator("[data-testid=result-invalid] h2")).to_have_text("链接无效")
    assert not [url for url in asked if "/api/" in url]
    await fits(page)
    assert console.errors == []


async def test_the_poster_page_renders_its_form_and_keeps_what_was_typed(
    chromium: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        call = await demo_call(http)
    page, console = await phone_page(chromium)
    await page.goto(f"{server.url}/rate/s/{call.station_code}")
    form = page.locator("#verdict")
    await expect(form).to_be_visible()
    number = page.locator("#incident_number")
    last4 = page.locator("#phone_last4")
    assert await number.get_attribute("placeholder") == "J20261130-0001"
    assert await last4.get_attribute("inputmode") == "numeric"
    assert await form.locator("fieldset").count() == 5
    for legend in ["接警态度", "出警时间", "警容风纪", "现场处理", "总体评价"]:
        group = form.locator("fieldset", has=page.locator("legend", has_text=legend))
        assert await group.locator(".choice span").all_inner_texts() == [
            "满意",
            "基本满意",
            "不满意",
        ]
    send = form.locator("button[type=submit]")
    await expect(send).to_be_disabled()
    await expect(page.locator("#why")).to_have_text(
        "还需完成：警情编号、电话后四位（4位数字）、接警态度、出警时间、警容风纪、现场处理、总体评价"
    )
    await page.screenshot(path=str(screenshot_dir / "rate-poster-page.png"), full_page=True)
    assert await small_targets(page, TARGETS) == []
    await fits(page)

    # Lower case and spaces become the number as the server writes it; the digits stay digits.
    await number.fill(" j2026 1130-0001 ")
    await last4.click()
    await expect(number).to_have_value("J20261130-0001")
    await last4.press_sequentially("12a34")
    await expect(last4).to_have_value("1234")
    for legend, choice in [
        ("接警态度", "满意"),
        ("出警时间", "基本满意"),
        ("警容风纪", "满意"),
        ("现场处理", "不满意"),
    ]:
        group = form.locator("fieldset", has=page.locator("legend", has_text=legend))
        await group.locator(".choice", has_text=choice).first.tap()
    await expect(page.locator("#why")).to_have_text("还需完成：总体评价")
    await expect(send).to_be_disabled()
    overall = form.locator("fieldset", has=page.locator("legend", has_text="总体评价"))
    await overall.get_by_text("满意", exact=True).tap()
    await expect(page.locator("#why")).to_be_hidden()
    await expect(send).to_be_enabled()
    await page.fill("#comment", "民警态度很好")
    await expect(page.locator("#counter")).to_have_text("6/500 字")

    # The English switch keeps every choice and what was typed.
    await page.click("[data-action=lang]")
    await expect(page.locator("header.bar h1")).to_have_text("Rate the police response")
    await expect(number).to_have_value("J20261130-0001")
    assert await page.locator("input[type=radio]:checked").count() == 5
    await page.click("[data-action=lang]")
    await expect(page.locator("header.bar h1")).to_have_text("处警满意度评价")

    # A wrong number (an incident of the demo bureau, but not with these digits): one
    # message whatever was wrong, and everything typed is kept.
    assert await submit(page) == 404
    await expect(page.locator("#notice")).to_have_text("未找到该警情，请核对编号和电话后四位")
    await expect(number).to_have_value("J20261130-0001")
    await expect(last4).to_have_value("1234")
    assert await page.locator("input[type=radio]:checked").count() == 5
    await expect(page.locator("#comment")).to_have_value("民警态度很好")
    await expect(send).to_be_enabled()
    await page.screenshot(path=str(screenshot_dir / "rate-poster-not-found.png"), full_page=True)

    # The right number and the last four digits of the phone the caller used: counted.
    await number.fill(call.incident["number"])
    await last4.fill(CALLER["phone"][-4:])
    assert await submit(page) == 201
    await expect(page.locator("[data-testid=result-thanks] h2")).to_have_text("感谢您的评价！")
    (feedback,) = (await call_feedback(server.url, call))["feedback"]
    assert feedback["source"] == "poster" and feedback["overall"] == "satisfied"
    assert feedback["ratings"]["handling"] == "unsatisfied"
    assert feedback["comment"] == "民警态度很好"
    await call.assert_nothing_personal(await page.content())
    assert console.errors == []


async def call_feedback(base: str, call: Call) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        r = await http.get(f"/api/incidents/{call.incident['id']}", headers=call.desk.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())


async def test_the_page_fits_a_320_px_screen(chromium: Browser, server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        call = await demo_call(http)
    page, console = await phone_page(chromium, SMALLEST)
    await page.goto(f"{server.url}/rate/s/{call.station_code}")
    await expect(page.locator("#verdict")).to_be_visible()
    await fits(page)
    assert await small_targets(page, TARGETS) == []
    await page.click("[data-action=lang]")  # the longer English words wrap, never overflow
    await expect(page.locator("header.bar h1")).to_have_text("Rate the police response")
    await fits(page)
    assert await small_targets(page, TARGETS) == []
    assert console.errors == []
