"""Draw the app icons (192, 512 and a maskable 512) with Debian's Chromium and the CJK font.

Run once by hand when the icon changes: `.venv/bin/python pwa/scripts/make-icons.py`.
The PNGs are committed; the build does not need this script.
"""

import asyncio
from pathlib import Path

from playwright.async_api import async_playwright

OUT = Path(__file__).resolve().parent.parent / "public" / "icons"
PAGE = """<html><body style="margin:0;background:transparent">
<div style="width:{s}px;height:{s}px;background:#0b3d91;display:flex;align-items:center;
justify-content:center;border-radius:{r}px">
<div style="width:{c}px;height:{c}px;border-radius:50%;border:{b}px solid #fff;display:flex;
align-items:center;justify-content:center;color:#fff;font:{f}px 'WenQuanYi Micro Hei'">清</div>
</div></body></html>"""


async def main() -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for name, size, safe in [("icon-192", 192, 0.8), ("icon-512", 512, 0.8), ("maskable-512", 512, 0.6)]:
            page = await browser.new_page(viewport={"width": size, "height": size})
            c = int(size * safe)
            html = PAGE.format(s=size, r=0 if safe < 0.8 else size // 6, c=c, b=max(4, size // 40), f=int(c * 0.6))
            await page.set_content(html)
            await page.screenshot(path=str(OUT / f"{name}.png"), omit_background=True)
            await page.close()
        await browser.close()


asyncio.run(main())
