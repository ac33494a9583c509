"""Check a deployed server end to end through its reverse proxy (docs/deploy.md).

Two field devices sign in; device A keeps the sync WebSocket open (with the page's Origin)
and catches up; device B pushes a note over HTTP on an open incident A can see; the note
must arrive on A's socket. With IDLE_S, the socket is then left idle that long (longer
than the proxy's read timeout) and must still answer a ping.

    .venv/bin/python scripts/probe-proxy.py https://qingling.example.gov.cn [IDLE_S] \\
        [--accounts officer.zhang:PASSWORD,officer.li:PASSWORD]

Defaults to two demo accounts of the same station (`qingling serve --demo`). For a
self-signed certificate, point SSL_CERT_FILE at it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import tempfile
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sync.client import FieldClient  # noqa: E402 - after the checkout is on the path


async def probe(base: str, idle_s: float, accounts: list[tuple[str, str]]) -> None:
    folder = tempfile.mkdtemp()
    a = FieldClient(base, f"{folder}/a.db")
    b = FieldClient(base, f"{folder}/b.db")
    await a.login(*accounts[0], "probe A")
    await b.login(*accounts[1], "probe B")
    url = base.replace("https://", "wss://").replace("http://", "ws://") + "/api/sync/ws"
    context = ssl.create_default_context() if url.startswith("wss://") else None
    async with websockets.connect(url, origin=base, ssl=context) as ws:  # type: ignore[arg-type]
        print("socket open; extensions:", ws.response.headers.get("Sec-WebSocket-Extensions"))
        await ws.send(json.dumps({"type": "hello", "token": a.token, "cursor": None}))
        caught_up, incident_id = 0, None
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if frame["type"] != "changes":
                print("frame:", frame["type"])
                continue
            caught_up += len(frame["changes"])
            for change in frame["changes"]:
                if change["entity"] == "incident" and change["data"]["status"] not in (
                    "closed",
                    "cancelled",
                    "received",
                ):
                    incident_id = change["id"]
            if not frame.get("more"):
                break
        if incident_id is None:
            raise SystemExit("no open incident in A's scope to write a note on")
        print(f"caught up: {caught_up} changes; device B writes a note on {incident_id}")
        op = b.record("note", incident_id, {"text": "经反向代理的实时同步测试"})
        started = time.monotonic()
        sent = await b.flush()
        print(f"B pushed {sent} op(s); rejected: {b.rejected()}")
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if frame["type"] == "changes" and op["op_id"] in json.dumps(frame):
                elapsed = 1000 * (time.monotonic() - started)
                print(f"A's socket got B's note {elapsed:.0f} ms after B's push began")
                break
        if idle_s:
            await asyncio.sleep(idle_s)
            await ws.send(json.dumps({"type": "ping"}))
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            print(f"after {idle_s:.0f} s idle the socket answers: {frame['type']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("idle_s", nargs="?", type=float, default=0.0)
    parser.add_argument(
        "--accounts", default="officer.zhang:qingling-demo,officer.li:qingling-demo"
    )
    args = parser.parse_args()
    accounts = [tuple(pair.split(":", 1)) for pair in args.accounts.split(",")]
    asyncio.run(probe(args.base_url.rstrip("/"), args.idle_s, accounts))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
