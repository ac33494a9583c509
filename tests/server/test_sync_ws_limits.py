"""The sync WebSocket's limits (PROTOCOL §12), each on a real socket to a real server
process: poison ops are dead letters beside applied neighbours; a message over 1 MiB is
closed with 1009 (before and after hello, measured after permessage-deflate), a text
frame that is not UTF-8 with 1007, a fault of the server's with 1011; a page of another
origin is refused at the handshake with 403. Never a socket dropped without a close frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import TEXT, Frame

from server.core.config import MAX_MESSAGE_BYTES
from server.core.tables import RejectedOp
from server.http.ws_protocol import SharedDeflateFactory
from tests.conftest import TEST_DATABASE_URL
from tests.live import ServerProcess
from tests.server.conftest import Bureau
from tests.server.test_bad_input import POISONS
from tests.server.test_sync_ws import Device, catch_up, far_back_text, recv

CONFIGURED_ORIGIN = "https://desk.example.org"


@pytest.fixture(scope="module")
def server(
    migrated_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server for the module (each test still gets an emptied database and its own
    bureau: the server keeps nothing between requests that the tests depend on)."""
    process = ServerProcess(
        TEST_DATABASE_URL,
        log=tmp_path_factory.mktemp("ws-limits") / "server.log",
        env={"QINGLING_ALLOWED_ORIGINS": f" {CONFIGURED_ORIGIN} ,http://10.0.0.5:8080"},
    )
    try:
        yield process
    finally:
        process.stop()


def ws_url(server: ServerProcess) -> str:
    return server.url.replace("http://", "ws://") + "/api/sync/ws"


async def open_socket(device: Device, **kwargs: Any) -> Any:
    ws = await websockets.connect(device.ws_url, **kwargs)
    ws.token = device.token  # type: ignore[attr-defined]
    return ws


async def close_code(ws: Any, wait: float = 10) -> int:
    """Read until the server closes; the code of its close frame (none: a test failure)."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), wait)
    except ConnectionClosed as exc:
        assert exc.rcvd is not None, "the server dropped the socket without a close frame"
        return exc.rcvd.code


async def send_quietly(ws: Any, message: str | bytes, **kwargs: Any) -> None:
    # The server may close while a large message is still on its way.
    with contextlib.suppress(ConnectionClosed):
        await ws.send(message, **kwargs)


def hello(token: str, padded_to: int | None = None) -> str:
    text = json.dumps({"type": "hello", "token": token, "cursor": None})
    return text + " " * (padded_to - len(text)) if padded_to else text


# ---------------------------------------------------------------------------------------
# Poison ops


async def test_poison_ops_over_the_socket_are_dead_letters_beside_applied_neighbours(
    bureau: Bureau, server: ServerProcess
) -> None:
    incident = await bureau.dispatched_incident()
    officer = Device(server.url, "officer_a")
    ws = await open_socket(officer)
    await catch_up(ws, None)
    for name, (spoil, named) in POISONS.items():
        before = officer.op("arrival", incident["id"], {"lat": None, "lon": None})
        bad = officer.op("note", incident["id"], {"text": "x"})
        after = officer.op("note", incident["id"], {"text": "到达后询问双方"})
        frame = (
            b'{"type": "push", "sent_at": "2026-11-30T08:00:00Z", "ops": ['
            + b", ".join([json.dumps(before).encode(), spoil(bad), json.dumps(after).encode()])
            + b"]}"
        )
        try:
            frame.decode()
        except UnicodeDecodeError:
            # Not UTF-8: a text frame would be closed with 1007 (by the WebSocket
            # protocol itself, below), so it comes as a binary frame, read as JSON too.
            await ws.send(frame)
        else:
            await ws.send(frame, text=True)
        result = await recv(ws)
        while result["type"] == "changes":  # our own writes, live
            result = await recv(ws)
        assert result["type"] == "push_result", (name, result)
        assert [(r["op_id"], r["status"], r.get("code")) for r in result["results"]] == [
            (before["op_id"], "applied", None),
            (bad["op_id"], "rejected", "invalid"),
            (after["op_id"], "applied", None),
        ], name
        assert named in result["results"][1]["message"], name
        # The device's queue moves past the poison.
        assert result["acked_seq"] == officer.seq, name
    # The socket is still open and answering.
    await ws.send(json.dumps({"type": "ping"}))
    while (frame_in := await recv(ws))["type"] != "pong":
        assert frame_in["type"] == "changes"
    await ws.close()
    async with httpx.AsyncClient() as http:
        r = await http.get(
            f"{server.url}/api/sync/rejected",
            headers={"Authorization": f"Bearer {officer.token}"},
        )
    assert len(r.json()) == len(POISONS)
    assert {d["code"] for d in r.json()} == {"invalid"}


# ---------------------------------------------------------------------------------------
# Message size: 1009


@pytest.mark.parametrize("compression", ["deflate", None])
async def test_a_message_over_1_mib_before_hello_is_closed_with_1009(
    bureau: Bureau, server: ServerProcess, compression: str | None
) -> None:
    officer = Device(server.url, "officer_a")
    ws = await open_socket(officer, compression=compression)
    # With deflate these 1 MiB + 1 bytes travel as about a kilobyte: the limit is on
    # the message, after decompression.
    await send_quietly(ws, hello(officer.token, padded_to=MAX_MESSAGE_BYTES + 1))
    assert await close_code(ws) == 1009


async def test_a_message_over_1_mib_after_hello_is_closed_with_1009(
    bureau: Bureau, server: ServerProcess
) -> None:
    officer = Device(server.url, "officer_a")
    ws = await open_socket(officer)
    await catch_up(ws, None)
    ping = json.dumps({"type": "ping"})
    await send_quietly(ws, ping + " " * (MAX_MESSAGE_BYTES + 1 - len(ping)))
    assert await close_code(ws) == 1009


async def test_a_message_of_exactly_1_mib_is_read(bureau: Bureau, server: ServerProcess) -> None:
    officer = Device(server.url, "officer_a")
    ws = await open_socket(officer)
    await ws.send(hello(officer.token, padded_to=MAX_MESSAGE_BYTES))
    assert (await recv(ws))["type"] == "welcome"
    assert (await recv(ws))["type"] == "changes"
    ping = json.dumps({"type": "ping"})
    await ws.send(ping + " " * (MAX_MESSAGE_BYTES - len(ping)))
    while (frame := await recv(ws))["type"] != "pong":
        assert frame["type"] == "changes"
    await ws.close()


# ---------------------------------------------------------------------------------------
# Encoding: 1007


async def test_a_text_frame_that_is_not_utf8_is_closed_with_1007(
    bureau: Bureau, server: ServerProcess
) -> None:
    officer = Device(server.url, "officer_a")
    ws = await open_socket(officer)
    await catch_up(ws, None)
    await send_quietly(ws, b'{"type": "ping", "x": "\xff\xfe"}', text=True)
    assert await close_code(ws) == 1007


async def test_a_text_frame_that_is_not_utf8_before_hello_is_closed_with_1007(
    bureau: Bureau, server: ServerProcess
) -> None:
    officer = Device(server.url, "officer_a")
    ws = await open_socket(officer)
    await send_quietly(ws, b'{"type": "hello", "token": "\xc3\x28"}', text=True)
    assert await close_code(ws) == 1007


# ---------------------------------------------------------------------------------------
# Origin: refused at the handshake with 403


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",
        "https://desk.example.org.evil.example",
        "http://desk.example.org",  # configured with https only
        "http://127.0.0.1:1",  # the server's host, another port
    ],
)
async def test_a_websocket_from_another_origin_is_refused_with_403(
    bureau: Bureau, server: ServerProcess, origin: str
) -> None:
    officer = Device(server.url, "officer_a")
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(ws_url(server), origin=origin)  # type: ignore[arg-type]
    response = refused.value.response
    assert response.status_code == 403
    assert json.loads(response.body)["code"] == "forbidden"
    # It never got a socket, so its token is as good as before.
    assert officer.push_http([])["results"] == []


@pytest.mark.parametrize(
    "origin",
    [
        None,  # a native client sends none
        "own",  # the page the server itself serves
        CONFIGURED_ORIGIN,
        "http://10.0.0.5:8080",
        "HTTPS://Desk.Example.org:443",  # the same origin, written otherwise
    ],
)
async def test_a_websocket_from_an_allowed_origin_opens(
    bureau: Bureau, server: ServerProcess, origin: str | None
) -> None:
    officer = Device(server.url, "officer_a")
    if origin == "own":
        origin = server.url  # http://127.0.0.1:<port>: the Host the client sends
    ws = await open_socket(officer, origin=origin)
    _, cursor, _ = await catch_up(ws, None)
    assert cursor
    await ws.close()


# ---------------------------------------------------------------------------------------
# A fault of the server's: 1011


async def test_a_server_fault_closes_with_1011(bureau: Bureau, server: ServerProcess) -> None:
    """The database loses a table under the running server (a fault no input causes):
    the push over the socket cannot be answered, and the socket is closed with 1011."""
    officer = Device(server.url, "officer_a")
    ws = await open_socket(officer)
    await catch_up(ws, None)
    await RejectedOp.raw("ALTER TABLE rejected_op RENAME TO rejected_op_gone")
    try:
        await ws.send(
            json.dumps({"type": "push", "sent_at": "2026-11-30T08:00:00Z", "ops": [{"op_id": "x"}]})
        )
        assert await close_code(ws) == 1011
    finally:
        await RejectedOp.raw("ALTER TABLE rejected_op_gone RENAME TO rejected_op")


# ---------------------------------------------------------------------------------------
# Shared compression (server/http/ws_protocol.py): a broadcast is compressed once per
# window size and the bytes are shared, so every socket must still read it whole.


def test_shared_compression_never_hands_a_wide_window_to_a_narrow_one() -> None:
    factory = SharedDeflateFactory()
    wide = factory.process_request_params([], [])[1]
    narrow = factory.process_request_params([("server_max_window_bits", "9")], [])[1]
    assert (wide.local_max_window_bits, narrow.local_max_window_bits) == (12, 9)
    data = json.dumps({"text": far_back_text(7)}, ensure_ascii=False).encode()
    frames = [side.encode(Frame(TEXT, data)) for side in (wide, narrow, wide)]
    # The same bytes for the same window, compressed once.
    assert frames[0].data == frames[2].data and frames[0].rsv1
    # Read as a client with a 512-byte window does, a little at a time: a reference
    # further back than its window is an error.
    reader, out = zlib.decompressobj(wbits=-9), b""
    rest = bytes(frames[1].data) + b"\x00\x00\xff\xff"
    while rest:
        out += reader.decompress(rest, 64)
        rest = reader.unconsumed_tail
    assert out == data
