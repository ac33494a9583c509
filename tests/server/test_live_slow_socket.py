"""A real socket that stops reading cannot make the server hold more and more for it.

The rule (docs/sync.md, server/live/hub.py `_drop`): the hub queues at most
QINGLING_WS_BACKLOG rounds for a socket; a socket that far behind is dropped from the
fan-out, its queue emptied, and it is closed with 4408 once its writer gets through (it
reconnects from its own cursor and misses nothing). While its reader is stalled the
server holds, for it, the frame it was writing, the transport's buffer and at most
`backlog` queued rounds: never the changes pushed after that.

Here a raw TCP client with a tiny receive buffer sends hello and stops reading while
~20 MB of changes are pushed. When it reads again it finds the frames that were already
on their way, in feed order, then the close 4408: far less than was pushed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from tests.conftest import TEST_DATABASE_URL
from tests.live import ServerProcess
from tests.server.conftest import Bureau
from tests.server.test_sync_ws import Device

BACKLOG = 5
PUSHES = 100
OPS_PER_PUSH = 20
NOTE = "慢" * 3000  # 9,000 bytes of UTF-8: each push is a frame of about 180 kB


def _connect(url: str, token: str) -> socket.socket:
    """A WebSocket opened by hand (no permessage-deflate offered), hello sent; nothing
    read after the handshake."""
    where = urlparse(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((where.hostname, where.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /api/sync/ws HTTP/1.1\r\nHost: {where.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    payload = json.dumps({"type": "hello", "token": token, "cursor": None}).encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    return sock


def _exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed mid-frame")
        data += chunk
    return data


def _frames(sock: socket.socket) -> tuple[list[dict[str, Any]], int, int]:
    """Every text frame until the close frame: the decoded frames, the bytes received
    and the close code."""
    frames: list[dict[str, Any]] = []
    received = 0
    while True:
        first, second = _exactly(sock, 2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", _exactly(sock, 2))
        elif length == 127:
            (length,) = struct.unpack("!Q", _exactly(sock, 8))
        payload = _exactly(sock, length)
        received += length
        if first & 0x0F == 0x8:
            return frames, received, struct.unpack("!H", payload[:2])[0]
        if first & 0x0F == 0x1:
            frames.append(json.loads(payload))


def _log_says_dropped(log: Path) -> bool:
    return "frames behind" in log.read_text(errors="replace")


async def test_a_socket_that_stops_reading_is_dropped_and_its_queue_stays_bounded(
    bureau: Bureau, tmp_path: Path
) -> None:
    incident = await bureau.dispatched_incident()
    log = tmp_path / "server.log"
    server = ServerProcess(
        TEST_DATABASE_URL,
        log=log,
        env={"QINGLING_WS_BACKLOG": str(BACKLOG), "QINGLING_WS_COMPRESSION": "0"},
    )
    try:
        listener = Device(server.url, "supervisor")
        sock = _connect(server.url, listener.token)
        pusher = Device(server.url, "officer_a")
        pushed_bytes = 0
        async with httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {pusher.token}"}, timeout=120
        ) as http:
            for _ in range(PUSHES):
                ops = [
                    pusher.op("note", incident["id"], {"text": NOTE}) for _ in range(OPS_PER_PUSH)
                ]
                pushed_bytes += len(json.dumps(ops, ensure_ascii=False).encode())
                body = {"device_id": pusher.device_id, "sent_at": ops[0]["device_time"], "ops": ops}
                r = await http.post("/api/sync/push", json=body)
                assert r.status_code == 200, r.text
        # The hub fans out on its own task: wait (not a timing assertion) until it says
        # it dropped the stalled socket.
        for _ in range(600):
            if _log_says_dropped(log):
                break
            await asyncio.sleep(0.2)
        assert _log_says_dropped(log), log.read_text(errors="replace")[-2000:]

        # Reading again: what was already on its way, in feed order, then the close.
        sock.settimeout(60)
        frames, received, code = _frames(sock)
        sock.close()
        assert code == 4408
        assert frames[0]["type"] == "welcome"
        positions = [int(c["pos"]) for f in frames[1:] for c in f["changes"]]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
        # Far less than was pushed reached the socket: the rest was never queued for it.
        assert received < pushed_bytes / 2, (received, pushed_bytes)
    finally:
        server.stop()
