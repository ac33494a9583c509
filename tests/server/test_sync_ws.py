"""The WebSocket (PROTOCOL §5) over a real socket to a real server process."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from server.core.tables import Event
from tests.conftest import TEST_DATABASE_URL
from tests.live import live_server
from tests.server.conftest import PASSWORD, Bureau


@pytest.fixture
def live(bureau: Bureau, tmp_path: Path) -> Iterator[str]:
    with live_server(TEST_DATABASE_URL, log=tmp_path / "server.log") as base:
        yield base


class Device:
    """A signed-in device talking to the live server."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        r = httpx.post(
            f"{base}/api/auth/login",
            json={
                "username": username,
                "password": PASSWORD,
                "device": {"id": f"{username}-{uuid.uuid4().hex[:6]}"},
            },
        )
        assert r.status_code == 200, r.text
        self.token = r.json()["token"]
        self.device_id = r.json()["device_id"]
        self.seq = 0

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/api/sync/ws"

    def op(self, type: str, incident_id: str | None, body: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        return {
            "op_id": str(uuid.uuid4()),
            "seq": self.seq,
            "type": type,
            "incident_id": incident_id,
            "device_time": datetime.now(UTC).isoformat(),
            "clock_offset_ms": 0,
            "body": body,
        }

    def revoke(self, device_id: str) -> httpx.Response:
        return httpx.post(
            f"{self.base}/api/devices/{device_id}/revoke",
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def push_http(self, ops: list[dict[str, Any]]) -> dict[str, Any]:
        r = httpx.post(
            f"{self.base}/api/sync/push",
            json={
                "device_id": self.device_id,
                "sent_at": datetime.now(UTC).isoformat(),
                "ops": ops,
            },
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert r.status_code == 200, r.text
        return dict(r.json())


async def recv(ws: Any, wait: float = 5) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), wait)))


async def catch_up(ws: Any, cursor: str | None) -> tuple[list[dict[str, Any]], str, bool]:
    """hello, welcome, then the catch-up frames (until one arrives with no more behind it)."""
    await ws.send(json.dumps({"type": "hello", "token": ws.token, "cursor": cursor}))
    welcome = await recv(ws)
    assert welcome["type"] == "welcome" and welcome["server_time"]
    frame = await recv(ws)
    assert frame["type"] == "changes"
    changes, reset = list(frame["changes"]), bool(frame.get("reset", False))
    last = frame["cursor"]
    # More catch-up frames may follow without delay.
    while True:
        try:
            frame = await recv(ws, wait=0.5)
        except TimeoutError:
            return changes, last, reset
        assert frame["type"] == "changes"
        changes.extend(frame["changes"])
        last = frame["cursor"]


async def connect(device: Device) -> Any:
    ws = await websockets.connect(device.ws_url)
    ws.token = device.token  # type: ignore[attr-defined]
    return ws


async def test_hello_catch_up_then_live_changes(bureau: Bureau, live: str) -> None:
    incident = await bureau.dispatched_incident()
    officer = Device(live, "officer_a")
    ws = await connect(officer)
    changes, _, reset = await catch_up(ws, None)
    assert not reset
    assert any(c["entity"] == "incident" and c["id"] == incident["id"] for c in changes)
    # A colleague's scene report arrives live.
    colleague = Device(live, "officer_a2")
    op = colleague.op("scene_report", incident["id"], {"situation": "现场已控制"})
    started = time.monotonic()
    colleague.push_http([op])
    seen: set[str] = set()
    while op["op_id"] not in seen:
        frame = await recv(ws)
        assert frame["type"] == "changes"
        seen |= {c["id"] for c in frame["changes"]}
    assert time.monotonic() - started < 2
    await ws.close()


async def test_push_and_ping_over_the_socket(bureau: Bureau, live: str) -> None:
    incident = await bureau.dispatched_incident()
    officer = Device(live, "officer_a")
    ws = await connect(officer)
    await catch_up(ws, None)
    await ws.send(json.dumps({"type": "ping"}))
    frames = [await recv(ws)]
    assert frames[0]["type"] == "pong" and frames[0]["server_time"]
    op = officer.op("arrival", incident["id"], {"lat": None, "lon": None, "accuracy_m": None})
    await ws.send(
        json.dumps(
            {
                "type": "push",
                "sent_at": datetime.now(UTC).isoformat(),
                "ops": [op, {"op_id": "broken"}],
            }
        )
    )
    result = None
    while result is None:
        frame = await recv(ws)
        if frame["type"] == "push_result":
            result = frame
    assert [r["status"] for r in result["results"]] == ["applied", "rejected"]
    assert result["acked_seq"] == 1 and result["cursor"]
    # A frame that is not a message of the protocol gets an error frame, not a crash.
    await ws.send("not json")
    while (frame := await recv(ws))["type"] != "error":
        pass
    assert frame["code"] == "invalid"
    await ws.close()


async def test_reconnecting_with_the_last_cursor_misses_nothing_and_repeats_nothing(
    bureau: Bureau, live: str
) -> None:
    incident = await bureau.dispatched_incident()
    officer = Device(live, "officer_a")
    ws = await connect(officer)
    first, cursor, _ = await catch_up(ws, None)
    await ws.close()
    colleague = Device(live, "officer_a2")
    missed = [colleague.op("note", incident["id"], {"text": f"离线期间{i}"}) for i in range(5)]
    colleague.push_http(missed)
    ws = await connect(officer)
    again, _, reset = await catch_up(ws, cursor)
    assert not reset
    got = [c["id"] for c in again if c["entity"] == "event"]
    assert sorted(got) == sorted(op["op_id"] for op in missed)
    assert not {c["pos"] for c in again} & {c["pos"] for c in first}
    await ws.close()


async def test_a_cursor_from_another_epoch_resets(bureau: Bureau, live: str) -> None:
    await bureau.dispatched_incident()
    ws = await connect(Device(live, "officer_a"))
    changes, _, reset = await catch_up(ws, "0000000000000000.5")
    assert reset and changes
    await ws.close()


async def test_revocation_closes_open_sockets_with_4401(bureau: Bureau, live: str) -> None:
    officer = Device(live, "officer_a")
    ws = await connect(officer)
    await catch_up(ws, None)
    chief = Device(live, "chief_a")
    started = time.monotonic()
    r = chief.revoke(officer.device_id)
    assert r.status_code == 200
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=6)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert time.monotonic() - started < 5
    # And the token cannot open a new socket.
    ws = await connect(officer)
    await ws.send(json.dumps({"type": "hello", "token": officer.token, "cursor": None}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_bad_first_message_closes_the_socket(bureau: Bureau, live: str) -> None:
    ws = await websockets.connect(live.replace("http://", "ws://") + "/api/sync/ws")
    await ws.send(json.dumps({"type": "ping"}))
    error = await recv(ws)
    assert error["type"] == "error" and error["code"] == "invalid"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_a_socket_that_never_says_hello_is_closed(bureau: Bureau, tmp_path: Path) -> None:
    # The protocol's 10 s, shortened for the test through the same setting.
    env = {"QINGLING_WS_HELLO_TIMEOUT_S": "1"}
    with live_server(TEST_DATABASE_URL, log=tmp_path / "quiet.log", env=env) as base:
        ws = await websockets.connect(base.replace("http://", "ws://") + "/api/sync/ws")
        started = time.monotonic()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
        assert time.monotonic() - started < 5


# ---------------------------------------------------------------------------------------
# Shared compression (server/http/ws_protocol.py): a broadcast is compressed once per
# window size and the bytes are shared, so every socket must still read it whole.


async def _open(device: Device, **kwargs: Any) -> Any:
    ws = await websockets.connect(device.ws_url, **kwargs)
    ws.token = device.token  # type: ignore[attr-defined]
    return ws


async def test_a_change_broadcast_to_sockets_with_different_windows_reads_whole_on_each(
    bureau: Bureau, live: str
) -> None:
    rounds = 3
    incident = await bureau.dispatched_incident()
    officer = Device(live, "officer_a")
    offers: dict[str, Any] = {
        "default": {},
        "small window": {"extensions": [ClientPerMessageDeflateFactory(server_max_window_bits=9)]},
        "plain": {"compression": None},
    }
    sockets = {name: await _open(Device(live, "officer_a"), **kw) for name, kw in offers.items()}
    for ws in sockets.values():
        await catch_up(ws, None)
    agreed = {
        name: ws.response.headers.get("Sec-WebSocket-Extensions") for name, ws in sockets.items()
    }
    assert "server_no_context_takeover" in agreed["default"]
    assert "server_max_window_bits=9" in agreed["small window"]
    assert agreed["plain"] is None
    texts = [far_back_text(seed) for seed in range(rounds)]
    for text in texts:
        async with httpx.AsyncClient() as http:
            r = await http.post(
                f"{live}/api/sync/push",
                headers={"Authorization": f"Bearer {officer.token}"},
                json={
                    "device_id": officer.device_id,
                    "sent_at": "2026-11-30T08:00:00Z",
                    "ops": [officer.op("note", incident["id"], {"text": text})],
                },
            )
        assert r.status_code == 200, r.text
    for name, ws in sockets.items():
        seen: list[str] = []
        while len(seen) < rounds:
            frame = await recv(ws)
            assert frame["type"] == "changes", name
            seen += [c["data"]["body"]["text"] for c in frame["changes"] if c["entity"] == "event"]
        assert seen == texts, name
        await ws.close()


def far_back_text(seed: int) -> str:
    """Text whose second half repeats its first ~1.5 kB: compressed, it reaches back
    further than a 512-byte window allows."""
    rng = random.Random(seed)
    half = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(500))
    return half + half


def _write_backlog(writer: Device, incidents: list[dict[str, Any]]) -> tuple[int, str]:
    """~11 MB of notes: more than the server's socket buffers can take in (the kernel lets
    a send buffer grow to 4 MB here) while a phone reads nothing. Returns how many notes,
    and the cursor just past them."""
    rng = random.Random(3)
    backlog, cursor = 0, ""
    for n in range(16):
        ops = [
            writer.op(
                "note",
                incidents[i % 3]["id"],
                {"text": "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(400))},
            )
            for i in range(500)
        ]
        pushed = writer.push_http(ops)
        assert {r["status"] for r in pushed["results"]} == {"applied"}, n
        backlog += 500
        cursor = pushed["cursor"]
    return backlog, cursor


async def _slow_phone(live: str, phone: Device) -> Any:
    """A socket that reads one message at a time through a small receive buffer, sent
    plain: the server cannot run ahead through a long backlog into buffers while the
    phone reads nothing."""
    host, port = live.removeprefix("http://").split(":")
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect((host, int(port)))
    slow.setblocking(False)
    return await _open(phone, max_queue=1, sock=slow, compression=None)


async def test_a_push_is_answered_before_a_long_catch_up_ends(bureau: Bureau, live: str) -> None:
    """A phone back from a shift pushes its queue while the backlog is still streaming:
    its answer comes between catch-up frames, not after the whole backlog."""
    incidents = [await bureau.dispatched_incident() for _ in range(3)]
    writer = Device(live, "officer_a")
    backlog, _ = _write_backlog(writer, incidents)
    phone = Device(live, "officer_a")
    ws = await _slow_phone(live, phone)
    await ws.send(json.dumps({"type": "hello", "token": phone.token, "cursor": None}))
    mine = phone.op("note", incidents[0]["id"], {"text": "交班前最后一条"})
    # The phone reads nothing until its push has committed (its answer is then waiting).
    await _push_and_wait_for_commit(ws, mine)
    assert (await recv(ws))["type"] == "welcome"
    # The rest of the backlog and the phone's own note still arrive, each once.
    await _answered_amid_the_backlog(ws, mine, backlog)


async def test_a_push_is_answered_before_the_live_changes_waiting_for_the_phone(
    bureau: Bureau, live: str
) -> None:
    """A phone caught up and reading slowly while ~11 MB of other devices' notes go live
    (a reconnect storm): its push is answered ahead of the live changes already waiting
    in its queue, not after them."""
    incidents = [await bureau.dispatched_incident() for _ in range(3)]
    writer = Device(live, "officer_a")
    first = writer.push_http([writer.op("note", incidents[0]["id"], {"text": "开头"})])
    phone = Device(live, "officer_a")
    ws = await _slow_phone(live, phone)
    await ws.send(json.dumps({"type": "hello", "token": phone.token, "cursor": first["cursor"]}))
    assert (await recv(ws))["type"] == "welcome"
    assert (await recv(ws))["changes"] == []  # caught up: nothing after its cursor
    backlog, _ = _write_backlog(writer, incidents)  # live now, while the phone reads nothing
    mine = phone.op("note", incidents[0]["id"], {"text": "风暴中的一条"})
    await _push_and_wait_for_commit(ws, mine)
    # Every live change still arrives, each once, the phone's own note among them.
    await _answered_amid_the_backlog(ws, mine, backlog)


async def _push_and_wait_for_commit(ws: Any, op: dict[str, Any]) -> None:
    """Push `op` over `ws` and wait until it has committed (its answer is then waiting)."""
    await ws.send(
        json.dumps({"type": "push", "sent_at": datetime.now(UTC).isoformat(), "ops": [op]})
    )
    for _ in range(300):
        if await Event.exists().where(Event.op_id == op["op_id"]):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)


async def _answered_amid_the_backlog(ws: Any, op: dict[str, Any], backlog: int) -> None:
    """`op`'s answer comes before the `backlog` of other notes has all arrived; then the
    rest arrives, every note once, `op` among them."""
    before_answer = 0
    while (frame := await recv(ws, wait=15))["type"] != "push_result":
        assert frame["type"] == "changes"
        before_answer += sum(1 for c in frame["changes"] if c["entity"] == "event")
    assert frame["results"] == [{"op_id": op["op_id"], "status": "applied"}]
    assert before_answer < backlog
    seen: list[str] = []
    while True:
        try:
            frame = await recv(ws, wait=3)
        except TimeoutError:
            break
        seen += [c["id"] for c in frame["changes"] if c["entity"] == "event"]
    assert before_answer + len(seen) == backlog + 1
    assert len(set(seen)) == len(seen) and op["op_id"] in seen
    await ws.close()


@pytest.mark.parametrize("why", ["revoked", "too far behind"])
async def test_a_close_ends_a_long_catch_up_and_no_live_change_goes_first(
    bureau: Bureau, tmp_path: Path, why: str
) -> None:
    """A phone catching up on a long backlog is closed meanwhile, with live changes
    already waiting for it: its device is revoked (4401), or it falls QINGLING_WS_BACKLOG
    rounds behind (4408). The catch-up ends, the close reaches the phone with its code,
    and no live change is sent before it (the phone resumes from the cursor of the last
    frame it read, so it misses nothing)."""
    env = {"QINGLING_WS_BACKLOG": "3"} if why == "too far behind" else {}
    with live_server(TEST_DATABASE_URL, log=tmp_path / "server.log", env=env) as base:
        incidents = [await bureau.dispatched_incident() for _ in range(3)]
        writer = Device(base, "officer_a")
        backlog, head = _write_backlog(writer, incidents)
        phone = Device(base, "officer_a")
        ws = await _slow_phone(base, phone)
        await ws.send(json.dumps({"type": "hello", "token": phone.token, "cursor": None}))
        # Welcome: the phone is subscribed to live changes; it reads nothing more for now.
        assert (await recv(ws))["type"] == "welcome"

        # A second socket of the same device, caught up to the head, reading everything:
        # what it receives shows what the hub has handed to every socket.
        watcher = await connect(phone)
        await watcher.send(json.dumps({"type": "hello", "token": phone.token, "cursor": head}))
        assert (await recv(watcher))["type"] == "welcome"
        assert (await recv(watcher))["changes"] == []  # its catch-up: nothing after the head

        async def live_note(n: int) -> str:
            """Push a note and wait until the hub has handed it to the sockets."""
            op = writer.op("note", incidents[0]["id"], {"text": f"直播 {n}"})
            writer.push_http([op])
            while True:
                frame = await recv(watcher, wait=15)
                if op["op_id"] in {c["id"] for c in frame["changes"]}:
                    return str(op["op_id"])

        if why == "revoked":
            live = [await live_note(n) for n in range(3)]  # waiting in the phone's outbox
            r = Device(base, "chief_a").revoke(phone.device_id)
            assert r.status_code == 200, r.text
            # The hub closes every socket of the device at once: when the watcher is
            # closed, the phone's close is waiting behind its live changes.
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await recv(watcher, wait=15)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
            expected = 4401
        else:
            # Each note is a round of its own; the fourth finds three waiting and drops
            # the phone: its queue is emptied and the close put in it.
            live = [await live_note(n) for n in range(4)]
            await watcher.close()
            expected = 4408

        # Now the phone reads: catch-up frames only, then the close.
        seen: list[str] = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                frame = await recv(ws, wait=15)
                assert frame["type"] == "changes", frame
                seen += [c["id"] for c in frame["changes"] if c["entity"] == "event"]
        assert closed.value.rcvd is not None and closed.value.rcvd.code == expected
        assert len(seen) < backlog  # the catch-up ended early...
        assert not set(live) & set(seen)  # ...and nothing live went out before the close
        assert len(set(seen)) == len(seen)
