"""The citizen's rating page's first load (PROTOCOL §9, docs/rating.md), in Debian's Chromium
at 360 px against a real server.

    .venv/bin/python -m bench.rate_page [--runs 5]

Prints, for `/rate/{token}` and `/rate/s/{station_code}`:
- what the first load fetches: each file's bytes as sent (the server does not compress),
  as gzip would send them (`gzip -6`, what a compressing reverse proxy would do), and its
  response headers, with the totals;
- time from navigation start to DOMContentLoaded and to the load event, and (token page)
  to the end of the answer to its one API call, median of `--runs` cold loads (a new
  browser context each, so nothing is cached), on loopback and under Chromium's "Fast 3G"
  profile (562.5 ms round trip, 1.6 Mbit/s down, 750 kbit/s up).
A token no invite names: before the public rating API exists its GET is a 404 (the page
shows its retry screen); with the API it answers `awaiting` and the page draws the form.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Response, async_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.field import wait_until
from tests.live import ServerProcess

TOKEN = "5f" * 32
PAGES = {"token": f"/rate/{TOKEN}", "poster": "/rate/s/CG01"}
PHONE = {"width": 360, "height": 780}
FAST_3G = {
    "offline": False,
    "latency": 562.5,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8 * 0.9,
    "uploadThroughput": 750 * 1024 / 8 * 0.9,
}
TIMING = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const api = performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'));
  return {
    dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
    api: api.length ? api[0].responseEnd : null,
  };
}"""


async def one_load(
    browser: Browser, url: str, throttle: dict[str, Any] | None
) -> tuple[dict[str, float | None], list[tuple[str, bytes, int]]]:
    context = await browser.new_context(viewport=PHONE, locale="zh-CN")
    try:
        page = await context.new_page()
        if throttle:
            cdp = await context.new_cdp_session(page)
            await cdp.send("Network.enable")
            await cdp.send("Network.emulateNetworkConditions", throttle)
        responses: list[Response] = []
        page.on("response", lambda r: responses.append(r))
        await page.goto(url, wait_until="load")
        await page.wait_for_selector("#verdict, [data-testid^=result-]")
        # The load event has finished once loadEventEnd is set.
        await wait_until(page, "performance.getEntriesByType('navigation')[0].loadEventEnd > 0")
        timing = await page.evaluate(TIMING)
        files = [
            (r.url, await r.body(), (await r.request.sizes())["responseHeadersSize"])
            for r in responses
        ]
        return timing, files
    finally:
        await context.close()


def median(values: list[float | None]) -> str:
    numbers = [v for v in values if v is not None]
    return f"{statistics.median(numbers):7.0f} ms" if numbers else "      —"


async def run(runs: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="qingling-bench-rate-"))
    server = ServerProcess(f"sqlite:///{folder}/b.db", log=folder / "server.log")
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                for name, path in PAGES.items():
                    url = server.url + path
                    _, files = await one_load(browser, url, None)
                    print(f"\n{name} page {path[:24]}…  (first load, cold)")
                    raw = packed = heads = 0
                    for file_url, body, head in files:
                        size, small = len(body), len(gzip.compress(body, 6))
                        raw, packed, heads = raw + size, packed + small, heads + head
                        short = file_url.removeprefix(server.url)
                        print(
                            f"  {short[:40]:<40} {size:7,d} B  gzip {small:6,d} B  headers {head} B"
                        )
                    print(f"  {'total':<40} {raw:7,d} B  gzip {packed:6,d} B  headers {heads} B")
                    for label, throttle in (("loopback", None), ("Fast 3G", FAST_3G)):
                        timings = [(await one_load(browser, url, throttle))[0] for _ in range(runs)]
                        print(
                            f"  {label:<9} median of {runs}: DOMContentLoaded"
                            f" {median([t['dcl'] for t in timings])}, load"
                            f" {median([t['load'] for t in timings])}, API answer"
                            f" {median([t['api'] for t in timings])}"
                        )
            finally:
                await browser.close()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(run(parser.parse_args().runs))


if __name__ == "__main__":
    main()
