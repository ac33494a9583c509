"""The peer for bench/live.py: a bare `websockets` broadcast server, nothing else.

    .venv/bin/python -m bench.bare_ws --port P [--no-compression]

Every connection is a listener, except one that sends `control` first: each message it
sends after that is handed as it is to every listener with `websockets.broadcast` (one
encoding, written to each socket without waiting for it to drain). bench/live.py sends
a copy of the `changes` frame Qingling sent in the same run, with a fresh op id. No database, no
scope, no audit: what a broadcast costs with the same library and the same frame.
"""

from __future__ import annotations

import argparse
import asyncio

import websockets
from websockets.asyncio.server import ServerConnection, broadcast, serve


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-compression", action="store_true")
    args = parser.parse_args()
    listeners: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        first = await ws.recv()
        if first != "control":
            listeners.add(ws)
            try:
                await ws.wait_closed()
            finally:
                listeners.discard(ws)
            return
        async for message in ws:
            broadcast(listeners, message)

    async with serve(
        handler,
        "127.0.0.1",
        args.port,
        compression=None if args.no_compression else "deflate",
        max_size=None,
        ping_interval=None,
    ):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    assert websockets.__version__
    asyncio.run(main())
