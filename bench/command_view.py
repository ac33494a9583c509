"""How fast the command-center view is, in Debian's Chromium against a real server.

    .venv/bin/python -m bench.command_view [--rounds 20] [--synthetic 10000]

Prints:
- sign-in to a live board (the demo bureau), in ms;
- push to screen: an officer's arrival pushed over HTTP until the board row shows the
  arrival clock met (median, p90 and max over `--rounds` incidents);
- drawing the board and one clock tick with `--synthetic` open incidents held in the page
  (copies of a real record; the board draws 200 rows at a time).
SQLite in a temporary folder; QINGLING_BENCH_DATABASE_URL points it at PostgreSQL (whose
Qingling tables it empties first: use a database of your own).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

from bench.harness import nearest_rank
from server.demo import DEMO_PASSWORD
from sync.ids import time_ordered_id
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.live import ServerProcess

SYNTHETIC = """
async (n) => {
  const { store } = window.qingling;
  const board = await import('/command/board.js');
  const base = [...store.incidents.values()][0];
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const rec = structuredClone(base);
    rec.id = 'synthetic-' + i;
    rec.number = 'S' + String(100000 + i);
    rec.received_at = new Date(now - i * 1000).toISOString();
    rec.clocks = {
      arrival: { due_at: new Date(now + ((i % 50) - 10) * 60000).toISOString(), met_at: null, state: 'running' },
      initial_result: { due_at: new Date(now + 3600000).toISOString(), met_at: null, state: 'running' },
      clear: { due_at: new Date(now + 86400000).toISOString(), met_at: null, state: 'running' },
    };
    store.incidents.set(rec.id, rec);
  }
  let t0 = performance.now(); board.renderBoard(); const render = performance.now() - t0;
  t0 = performance.now(); board.tickBoard(); const tick = performance.now() - t0;
  return { held: store.incidents.size, render, tick };
}
"""


async def empty_postgres(database_url: str) -> None:
    """The demo seeds only an empty database: empty Qingling's tables (schema kept)."""
    import asyncpg

    from server.core.tables import ALL_TABLES, Meta

    names = ", ".join(f'"{t._meta.tablename}"' for t in ALL_TABLES if t is not Meta)
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


async def run(rounds: int, synthetic: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="qingling-bench-view-"))
    database_url = os.environ.get("QINGLING_BENCH_DATABASE_URL") or f"sqlite:///{folder}/b.db"
    if database_url.startswith("postgres"):
        await empty_postgres(database_url)
    server = ServerProcess(database_url, "--demo", log=folder / "server.log")
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:

            async def login(username: str) -> dict:
                r = await http.post(
                    "/api/auth/login",
                    json={
                        "username": username,
                        "password": DEMO_PASSWORD,
                        "device": {"id": f"{username}-{uuid.uuid4().hex[:6]}"},
                    },
                )
                r.raise_for_status()
                return dict(r.json())

            desk = await login("dispatcher")
            officer = await login("officer.zhang")
            desk_h = {"Authorization": f"Bearer {desk['token']}"}
            officer_h = {"Authorization": f"Bearer {officer['token']}"}
            stations = {
                s["name"]: s["id"] for s in (await http.get("/api/stations", headers=desk_h)).json()
            }

            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = await browser.new_page(
                    viewport={"width": 1440, "height": 900}, locale="zh-CN"
                )
                await page.goto(f"{server.url}/command/")
                await page.fill("#username", "dispatcher")
                await page.fill("#password", DEMO_PASSWORD)
                started = time.perf_counter()
                await page.click("#sign-in-submit")
                await page.wait_for_selector("#conn.conn-live")
                await page.wait_for_selector("#board-rows tr")
                signin_ms = (time.perf_counter() - started) * 1000

                latencies = []
                for n in range(rounds):
                    r = await http.post(
                        "/api/incidents",
                        json={
                            "category": "help",
                            "area_type": "urban",
                            "address": f"测试路{n}号",
                            "narrative": "bench",
                        },
                        headers=desk_h,
                    )
                    incident = r.json()
                    await http.post(
                        f"/api/incidents/{incident['id']}/dispatch",
                        json={
                            "station_id": stations["城关派出所"],
                            "person_ids": [officer["person"]["id"]],
                        },
                        headers=desk_h,
                    )
                    row = f"#board-rows tr[data-id='{incident['id']}']"
                    await page.wait_for_selector(f"{row} .clock-running")
                    op = {
                        "op_id": time_ordered_id(),
                        "seq": n + 1,
                        "type": "arrival",
                        "incident_id": incident["id"],
                        "device_time": datetime.now(UTC).isoformat(),
                        "clock_offset_ms": 0,
                        "record_id": None,
                        "base_op_id": None,
                        "body": {"lat": None, "lon": None, "accuracy_m": None},
                    }
                    started = time.perf_counter()
                    r = await http.post(
                        "/api/sync/push",
                        json={
                            "device_id": officer["device_id"],
                            "sent_at": datetime.now(UTC).isoformat(),
                            "ops": [op],
                        },
                        headers=officer_h,
                    )
                    r.raise_for_status()
                    await page.wait_for_selector(f"{row} .clock-met", timeout=10_000)
                    latencies.append((time.perf_counter() - started) * 1000)

                drawn = await page.evaluate(SYNTHETIC, synthetic)
                await browser.close()
    finally:
        server.stop()
    print(f"database: {database_url.split(':', 1)[0]}")
    print(f"sign-in to live board (demo bureau): {signin_ms:.0f} ms")
    print(
        f"push to screen over {rounds} arrivals: median {statistics.median(latencies):.0f} ms, "
        f"p90 {nearest_rank(latencies, 0.9):.0f} ms, max {max(latencies):.0f} ms"
    )
    print(
        f"board with {drawn['held']} open incidents held: draw {drawn['render']:.1f} ms, "
        f"one clock tick {drawn['tick']:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--synthetic", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.synthetic))


if __name__ == "__main__":
    main()
