"""Sync over a WebSocket (PROTOCOL §5): hello, catch-up from a cursor, live changes,
push, ping. Closed with 4401 when the token is (or becomes) invalid.

Frames are decoded with sync.messages' strict decoder, not Litestar's listener parsing.
Everything the socket sends goes through one outbox queue, so frames never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from server.access.accounts import Caller, caller_for_token
from server.access.scope import assigned_incident_ids
from server.core.clock import utcnow
from server.core.db import is_transient
from server.core.errors import QinglingError, Unauthenticated
from server.core.tables import Device
from server.live.hub import (
    CLOSE_BACKLOG,
    CLOSE_PROTOCOL,
    CLOSE_UNAUTHORIZED,
    Subscriber,
    encode_frames,
    hub_of,
)
from server.write import ingest
from server.write.feed import feed_head, make_cursor, parse_cursor, read_page
from sync.messages import (
    ErrorFrame,
    Hello,
    Ping,
    Pong,
    PushFrame,
    PushResult,
    Welcome,
    client_frame_decoder,
    encoder,
)

log = logging.getLogger("qingling.ws")


@websocket("/api/sync/ws", opt={"exclude_from_auth": True})
async def sync_socket(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    try:
        raw = await asyncio.wait_for(
            socket.receive_data(mode="text"), timeout=socket.app.state.settings.ws_hello_timeout_s
        )
        hello = client_frame_decoder.decode(raw)
        if not isinstance(hello, Hello):
            raise msgspec.ValidationError("the first message must be hello")
    except TimeoutError:
        await socket.close(code=CLOSE_PROTOCOL, reason="no hello in time")
        return
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        await _send_error(socket, "invalid", str(exc))
        await socket.close(code=CLOSE_PROTOCOL, reason="bad hello")
        return
    except WebSocketDisconnect:
        return

    app = socket.app
    try:
        caller = await caller_for_token(hello.token, app.state.settings)
    except QinglingError:
        await socket.close(code=CLOSE_UNAUTHORIZED, reason="unknown or revoked token")
        return

    hub = hub_of(app)
    sub = Subscriber(caller=caller, assigned=set(await assigned_incident_ids(caller.person_id)))
    hub.add(sub)
    receiver: asyncio.Task[None] | None = None
    try:
        await socket.send_data(encoder.encode(Welcome(server_time=utcnow())), mode="text")
        position = await _catch_up(socket, caller, app.state.epoch, hello.cursor)
        receiver = asyncio.create_task(_receive(socket, sub))
        while True:
            kind, payload = await sub.outbox.get()
            if kind == "close":
                reason = (
                    "too far behind: reconnect with your cursor"
                    if payload == CLOSE_BACKLOG
                    else "token revoked"
                )
                await socket.close(code=payload, reason=reason)
                return
            if kind == "frame":
                await socket.send_data(payload, mode="text")
            elif kind == "changes":
                changes, upto, encoded = payload
                if upto <= position:
                    continue
                if changes and changes[0].pos <= position:
                    # Overlaps what catch-up already sent: this socket's own frames.
                    fresh = [c for c in changes if c.pos > position]
                    encoded = (
                        encode_frames(fresh, make_cursor(app.state.epoch, upto)) if fresh else []
                    )
                position = upto
                for frame in encoded:
                    await socket.send_data(frame, mode="text")
            elif kind == "gone":
                return
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        hub.remove(sub)
        if receiver is not None:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver


async def _catch_up(
    socket: WebSocket[Any, Any, Any], caller: Any, epoch: str, cursor: str | None
) -> int:
    """Send every change after `cursor`; returns the position reached."""
    first = True
    while True:
        page = await read_page(caller, epoch, cursor, 1000, via="socket")
        for frame in encode_frames(page.changes, page.cursor, page.reset and first, always=True):
            await socket.send_data(frame, mode="text")
        first = False
        cursor = page.cursor
        if not page.more:
            break
    return parse_cursor(cursor, epoch, 2**62) or 0


async def _receive(socket: WebSocket[Any, Any, Any], sub: Subscriber) -> None:
    """Client frames: push and ping. Answers go through the subscriber's outbox."""
    app = socket.app
    try:
        while True:
            raw = await socket.receive_data(mode="text")
            try:
                frame = client_frame_decoder.decode(raw)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                sub.outbox.put_nowait(
                    ("frame", encoder.encode(ErrorFrame(code="invalid", message=str(exc))))
                )
                continue
            if isinstance(frame, Ping):
                sub.outbox.put_nowait(("frame", encoder.encode(Pong(server_time=utcnow()))))
            elif isinstance(frame, PushFrame):
                sub.outbox.put_nowait(("frame", await _push(app, sub, frame)))
            elif isinstance(frame, Hello):
                sub.outbox.put_nowait(
                    (
                        "frame",
                        encoder.encode(
                            ErrorFrame(code="invalid", message="hello was already sent")
                        ),
                    )
                )
    except WebSocketDisconnect:
        sub.outbox.put_nowait(("gone", None))
    except Exception:  # noqa: BLE001 - end the socket rather than leave it half-alive
        log.exception("websocket receive failed")
        sub.outbox.put_nowait(("gone", None))


async def _push(app: Any, sub: Subscriber, frame: PushFrame) -> bytes:
    try:
        # The token may have been revoked since hello: check it again before writing.
        caller = await _still_valid(sub)
        outcome = await ingest.push_ops(
            caller, frame.device_id or caller.device_id, frame.sent_at, frame.ops
        )
    except QinglingError as exc:
        if exc.status == 401:
            sub.outbox.put_nowait(("close", CLOSE_UNAUTHORIZED))
        return encoder.encode(ErrorFrame(code=exc.code, message=exc.message))
    except Exception as exc:
        if not is_transient(exc):
            raise
        # Nothing was applied: the device sends the same ops again later.
        return encoder.encode(
            ErrorFrame(code="unavailable", message="the database is busy; retry shortly")
        )
    return encoder.encode(
        PushResult(
            server_time=outcome.received_at,
            acked_seq=outcome.acked_seq,
            cursor=make_cursor(app.state.epoch, await feed_head()),
            results=outcome.results,
        )
    )


async def _still_valid(sub: Subscriber) -> Caller:
    row = await Device.select(Device.revoked_at).where(Device.id == sub.caller.device_id).first()
    if row is None or row["revoked_at"] is not None:
        raise Unauthenticated("this device was revoked")
    return sub.caller


async def _send_error(socket: WebSocket[Any, Any, Any], code: str, message: str) -> None:
    with contextlib.suppress(Exception):
        await socket.send_data(encoder.encode(ErrorFrame(code=code, message=message)), mode="text")
