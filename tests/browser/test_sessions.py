"""Sessions that end, and the phone's data at rest (PROTOCOL §12, issue 10 finding 6), in
Debian's Chromium against a real server.

- The PIN lock counts wrong PINs; the fifth drops the token and shows the sign-in screen,
  the outbox kept; after the password and the PIN the waiting op reaches the server once.
- With a PIN set, neither the token nor a queued op's text (nor the incident's caller or
  address) is anywhere in the phone's IndexedDB, read by a script in the page, after
  locking and after a reload; without one they are (which shows the scan can see them).
- Sign-out in the field app and in the command view sends `POST /api/auth/logout` with the
  token; offline, the field app says the token stays valid, and it does.
- `401 token_expired` brings the sign-in screen saying the session expired, the outbox
  kept. The expiry itself is the server's (tests/server/test_sessions.py on its branch);
  here a route answers for it, so the page is tested against exactly that answer.

Screenshots (zh-CN): artifacts/screenshots/field-lock-wrong.png, field-pin-lockout.png,
field-reopen.png, field-session-expired.png, field-signout-offline.png,
command-session-expired.png.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, Request, Route

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
)

PIN = "2468"
ATTEMPTS = 5  # PIN_ATTEMPTS in pwa/field/pin.js

# Everything the app's IndexedDB holds, as text: every string, and the bytes of every
# ArrayBuffer, typed array and Blob read as UTF-8 and as Latin-1.
STORED_TEXT = """async () => {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open("qingling");
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const out = [];
  const walk = async (v) => {
    if (v == null) return;
    if (typeof v === "string") { out.push(v); return; }
    if (typeof v !== "object") { out.push(String(v)); return; }
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
      const b = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      out.push(new TextDecoder().decode(b));
      let latin = "";
      for (const x of b) latin += String.fromCharCode(x);
      out.push(latin);
      return;
    }
    if (v instanceof Blob) { await walk(await v.arrayBuffer()); return; }
    for (const [k, x] of Object.entries(v)) { out.push(k); await walk(x); }
  };
  for (const name of db.objectStoreNames) {
    const all = (method) => new Promise((resolve, reject) => {
      const r = db.transaction(name).objectStore(name)[method]();
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    for (const k of await all("getAllKeys")) await walk(k);
    for (const v of await all("getAll")) await walk(v);
  }
  db.close();
  return out.join("\\n");
}"""

# The outbox's entries and the stored session as the page's IndexedDB holds them.
STORED_OUTBOX = """() => new Promise((resolve, reject) => {
  const r = indexedDB.open("qingling");
  r.onsuccess = () => {
    const tx = r.result.transaction(["outbox", "meta"]);
    const outbox = tx.objectStore("outbox").getAll();
    const session = tx.objectStore("meta").get("session");
    tx.oncomplete = () => {
      resolve({
        states: outbox.result.map((e) => e.state),
        token: session.result ? session.result.token : undefined,
      });
      r.result.close();
    };
    tx.onerror = () => reject(tx.error);
  };
  r.onerror = () => reject(r.error);
})"""


async def stored_text(page: Page) -> str:
    return str(await page.evaluate(STORED_TEXT))


async def add_note(page: Page, text: str) -> None:
    await page.click("summary:has-text('备注')")
    await page.fill("[data-testid=note-form] textarea[name=text]", text)
    await page.click("[data-testid=note-form] button[type=submit]")


async def enter_pin(page: Page, pin: str) -> None:
    await page.fill("[data-testid=lock-screen] input[name=pin]", pin)
    await page.click("[data-testid=lock-screen] button[type=submit]")


async def notes_on_server(desk: Desk, incident_id: str) -> list[str]:
    timeline = (await desk.incident(incident_id))["timeline"]
    return [e["body"]["text"] for e in timeline if e["type"] == "note"]


async def test_the_pin_limit_wants_the_password_and_the_sealed_outbox_survives_it(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    note = "机密备注：嫌疑人在三楼东侧"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        incident = await desk.dispatch_new("officer.zhang", "城关镇解放路9号", "家庭纠纷")
        context = await phone(chromium)
        page = await context.new_page()
        await sign_in(page, base)
        await controlled(page)
        await page.click(f'[data-incident="{incident["id"]}"]')
        await dispatch_seen(page)
        token = await page.evaluate("qinglingSync.session.token")

        # The API unreachable (no signal): a note waits in the outbox.
        await context.route("**/api/**", lambda route: route.abort("internetdisconnected"))
        await add_note(page, note)
        await wait_pending(page, 1)
        secrets = [token, note, "城关镇解放路9号", "13900000000", "王先生"]
        # Without a PIN they are stored as before, in the clear: the scan sees them all.
        clear = await stored_text(page)
        assert [s for s in secrets if s in clear] == secrets

        await page.click(".tabs >> text=设置")
        # The screen draws after the click returns (Preact renders on its next turn).
        await page.wait_for_selector("main.settings [data-testid=pin-form]")
        assert await page.locator("[data-testid=pin-suggest]").count() == 1
        await page.fill("[data-testid=pin-form] input[name=pin]", PIN)
        await page.click("[data-testid=pin-form] button")
        await page.wait_for_selector("[data-testid=lock-now]")
        await page.click("[data-testid=lock-now]")
        await page.wait_for_selector("[data-testid=lock-screen]")
        locked = await stored_text(page)
        assert [s for s in secrets if s in locked] == []
        # A reload: the key is gone with the page; nothing is readable, nothing in the clear.
        await page.reload()
        await page.wait_for_selector("[data-testid=lock-screen]")
        assert [s for s in secrets if s in await stored_text(page)] == []
        assert "连续输错 5 次" in await page.inner_text("[data-testid=lock-rule]")

        for left in range(ATTEMPTS - 1, 0, -1):
            await enter_pin(page, "1357")
            await page.wait_for_selector(f'[data-testid=lock-wrong][data-left="{left}"]')
            if left == ATTEMPTS - 1:
                assert "还可尝试 4 次" in await page.inner_text("[data-testid=lock-wrong]")
                await page.screenshot(path=screenshot_dir / "field-lock-wrong.png")
        await enter_pin(page, "1357")
        await page.wait_for_selector('[data-testid=session-ended][data-ended="pin_lockout"]')
        banner = await page.inner_text("[data-testid=session-ended]")
        assert "PIN 连续输错 5 次" in banner
        assert "1 条未发送的记录已保留" in banner
        assert (
            await page.input_value("[data-testid=signin-form] input[name=username]")
            == "officer.zhang"
        )
        await page.screenshot(path=screenshot_dir / "field-pin-lockout.png")
        stored = await page.evaluate(STORED_OUTBOX)
        assert stored == {"states": ["pending"], "token": None}  # token dropped, outbox kept
        assert [s for s in secrets if s in await stored_text(page)] == []

        # The password, then the PIN again: the note goes out, once.
        await context.unroute("**/api/**")
        await page.fill("[data-testid=signin-form] input[name=password]", DEMO_PASSWORD)
        await page.click("[data-testid=signin-form] button[type=submit]")
        await page.wait_for_selector("[data-testid=lock-screen] >> text=已重新登录")
        await page.screenshot(path=screenshot_dir / "field-reopen.png")
        assert await notes_on_server(desk, incident["id"]) == []
        await enter_pin(page, PIN)
        await page.wait_for_selector("[data-testid=status-bar]")
        await wait_pending(page, 0)
        assert await notes_on_server(desk, incident["id"]) == [note]
        # The new token is sealed too.
        new_token = await page.evaluate("qinglingSync.session.token")
        assert new_token != token
        assert new_token not in await stored_text(page)
        await context.close()


async def test_an_expired_session_asks_for_the_password_and_keeps_the_outbox(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        desk = await Desk(http).sign_in()
        incident = await desk.dispatch_new("officer.zhang", "河口村3组", "求助")
        context = await phone(chromium)
        page = await context.new_page()
        await sign_in(page, base)
        await page.click(f'[data-incident="{incident["id"]}"]')
        await dispatch_seen(page)

        # PROTOCOL §12: the server answers an ended session with 401 token_expired.
        async def expired(route: Route) -> None:
            body = {"code": "token_expired", "message": "session expired"}
            await route.fulfill(status=401, content_type="application/json", body=json.dumps(body))

        await context.route("**/api/sync/push", expired)
        await add_note(page, "过期时记下的备注")
        await page.wait_for_selector('[data-testid=session-ended][data-ended="expired"]')
        banner = await page.inner_text("[data-testid=session-ended]")
        assert "登录已过期" in banner
        assert "1 条未发送的记录已保留" in banner
        await page.screenshot(path=screenshot_dir / "field-session-expired.png")

        await context.unroute("**/api/sync/push")
        await page.fill("[data-testid=signin-form] input[name=password]", DEMO_PASSWORD)
        await page.click("[data-testid=signin-form] button[type=submit]")
        await page.wait_for_selector("[data-testid=status-bar]")
        await wait_pending(page, 0)
        assert await notes_on_server(desk, incident["id"]) == ["过期时记下的备注"]
        await context.close()


async def test_sign_out_ends_the_session_on_the_server(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    context = await phone(chromium)
    page = await context.new_page()
    logouts: list[Request] = []
    page.on("request", lambda r: logouts.append(r) if r.url.endswith("/api/auth/logout") else None)
    await sign_in(page, base)
    await controlled(page)
    offline_token = await page.evaluate("qinglingSync.session.token")

    # Offline: the confirmation says the server cannot be told, and afterwards so does
    # the sign-in screen; the token indeed still works (until it expires or is revoked).
    await go_offline(context)
    await page.click(".tabs >> text=设置")
    await page.click("[data-testid=signout]")
    await page.wait_for_selector("[data-testid=signout-offline]")
    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    await page.screenshot(path=screenshot_dir / "field-signout-offline.png")
    await page.click("[data-testid=signout-yes]")
    await page.wait_for_selector("[data-testid=signout-unconfirmed]")
    await go_online(context)
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        r = await http.get("/api/stations", headers={"Authorization": f"Bearer {offline_token}"})
        assert r.status_code == 200

    # Online: POST /api/auth/logout with the token, then the sign-in screen.
    await sign_in(page, base)
    token = await page.evaluate("qinglingSync.session.token")
    logouts.clear()
    await page.click(".tabs >> text=设置")
    await page.click("[data-testid=signout]")
    await page.wait_for_selector("[data-testid=signout-yes]")
    assert await page.locator("[data-testid=signout-offline]").count() == 0
    await page.click("[data-testid=signout-yes]")
    await page.wait_for_selector("[data-testid=signin-form]")
    assert [(r.method, await r.header_value("authorization")) for r in logouts] == [
        ("POST", f"Bearer {token}")
    ]
    await eventually(lambda: _answered(logouts[0]), 5, "the logout request was answered")
    assert await page.locator("[data-testid=signout-unconfirmed]").count() == 0
    await context.close()


async def _answered(request: Request) -> bool:
    return await request.response() is not None


async def test_the_command_view_signs_out_on_the_server_and_names_an_expired_session(
    chromium: Browser, field_server: FieldServer, screenshot_dir: Path
) -> None:
    base = field_server.url
    context = await chromium.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    logouts: list[Request] = []
    page.on("request", lambda r: logouts.append(r) if r.url.endswith("/api/auth/logout") else None)

    async def desk_sign_in(username: str) -> None:
        await page.fill("#username", username)
        await page.fill("#password", DEMO_PASSWORD)
        await page.click("#sign-in-submit")

    await page.goto(f"{base}/command/")
    # A field role is turned away, and the token it was given does not stay valid.
    await desk_sign_in("officer.zhang")
    await page.wait_for_selector("#sign-in-error:not([hidden])")
    await eventually(lambda: _true(len(logouts) == 1), 5, "the field role's token is ended")
    assert logouts[0].method == "POST"
    assert (await logouts[0].header_value("authorization") or "").startswith("Bearer ")

    logouts.clear()
    await desk_sign_in("dispatcher")
    await page.wait_for_selector("#sign-out")
    token = await page.evaluate(
        "JSON.parse(localStorage.getItem('qingling.command.session')).token"
    )
    await page.click("#sign-out")
    await page.wait_for_selector("#sign-in-form")
    assert [(r.method, await r.header_value("authorization")) for r in logouts] == [
        ("POST", f"Bearer {token}")
    ]
    assert await page.evaluate("localStorage.getItem('qingling.command.session')") is None

    # 401 token_expired to a call: the sign-in page says the session expired.
    async def expired(route: Route) -> None:
        body = {"code": "token_expired", "message": "session expired"}
        await route.fulfill(status=401, content_type="application/json", body=json.dumps(body))

    await context.route("**/api/board", expired)
    await desk_sign_in("dispatcher")
    await page.wait_for_selector("#sign-in-error:has-text('登录已过期')")
    await page.screenshot(path=screenshot_dir / "command-session-expired.png")
    assert await page.evaluate("localStorage.getItem('qingling.command.session')") is None
    assert errors == []
    await context.close()


async def _true(value: bool) -> bool:
    return value
