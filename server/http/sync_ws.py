"""Sync over a WebSocket (PROTOCOL §5): hello, catch-up from a cursor, live changes,
push, ping. Closed with 4401 when the token is (or becomes) invalid.

Frames are decoded with sync.messages' strict decoder, not Litestar's listener parsing.
Everything the socket sends goes through one outbox queue, so frames never interleave;
answers to the device (push results, pongs, errors) go out ahead of a catch-up still
being sent and of live changes queued before them.

Never dropped without a close frame (PROTOCOL §12): a page of another origin is refused
at the handshake (403); a message over MAX_MESSAGE_BYTES is closed with 1009 and a text
frame that is not UTF-8 with 1007 (uvicorn's websockets protocol does both as it reads,
server/cli.py; the size is checked here again for any other server); a fault of ours
closes with 1011, a database busy past its timeout with 1013 (try again later).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.types import WebSocketResponseBodyEvent, WebSocketResponseStartEvent

from server.access.accounts import Caller, caller_for_token, session_state, touch_device
from server.access.scope import assigned_incident_ids
from server.core.clock import utcnow
from server.core.config import MAX_MESSAGE_BYTES, Settings
from server.core.db import is_transient
from server.core.errors import QinglingError, Unauthenticated
from server.http.guards import origin_allowed
from server.live.hub import (
    CLOSE_BACKLOG,
    CLOSE_PROTOCOL,
    CLOSE_UNAUTHORIZED,
    Subscriber,
    encode_frames,
    hub_of,
)
from server.write import ingest
from server.write.feed import make_cursor, parse_cursor, read_page
from sync.messages import (
    ErrorFrame,
    Hello,
    Ping,
    Pong,
    PushFrame,
    PushResult,
    Welcome,
    client_frame_decoder,
    decode_lenient,
    encoder,
)

log = logging.getLogger("qingling.ws")

# RFC 6455 close codes (the 44xx ones are Qingling's own: server/live/hub.py).
CLOSE_BAD_DATA = 1007
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_TRY_LATER = 1013

_BAD_FRAME = (msgspec.ValidationError, msgspec.DecodeError, RecursionError)


# A position past every change: nothing live goes out after an interrupted catch-up.
_CLOSING = 2**62


class _TooBig(Exception):
    """A message over MAX_MESSAGE_BYTES."""


@websocket("/api/sync/ws", opt={"exclude_from_auth": True})
async def sync_socket(socket: WebSocket[Any, Any, Any]) -> None:
    settings = socket.app.state.settings
    if not origin_allowed(
        socket.headers.get("origin"), socket.headers.get("host"), settings.allowed_origins
    ):
        await _refuse(socket, "this page's origin may not open the sync socket")
        return
    await socket.accept()
    try:
        await _session(socket)
    except (WebSocketDisconnect, OSError):
        return  # the client went away (uvicorn's ClientDisconnected is an OSError)
    except _TooBig:
        await _close(socket, CLOSE_TOO_BIG, f"message over {MAX_MESSAGE_BYTES} bytes")
    except Exception as exc:  # noqa: BLE001 - a close frame, never a dropped socket
        if is_transient(exc):
            log.warning("websocket: temporary database fault: %s", exc)
            await _close(socket, CLOSE_TRY_LATER, "the database is busy; reconnect shortly")
        else:
            log.exception("websocket failed")
            await _close(socket, CLOSE_INTERNAL, "internal error")


async def _session(socket: WebSocket[Any, Any, Any]) -> None:
    app = socket.app
    try:
        raw = await asyncio.wait_for(
            _receive_message(socket), timeout=app.state.settings.ws_hello_timeout_s
        )
        # Strict: a hello carries no ops, and nobody is signed in yet to spend time on.
        hello = client_frame_decoder.decode(raw)
        if not isinstance(hello, Hello):
            raise msgspec.ValidationError("the first message must be hello")
    except TimeoutError:
        await socket.close(code=CLOSE_PROTOCOL, reason="no hello in time")
        return
    except _BAD_FRAME as exc:
        message = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        await _send_error(socket, "invalid", message)
        await socket.close(code=CLOSE_PROTOCOL, reason="bad hello")
        return

    try:
        caller = await caller_for_token(hello.token, app.state.settings)
    except QinglingError as exc:
        reason = "token expired" if exc.code == "token_expired" else "unknown or revoked token"
        await socket.close(code=CLOSE_UNAUTHORIZED, reason=reason)
        return

    hub = hub_of(app)
    sub = Subscriber(caller=caller, assigned=set(await assigned_incident_ids(caller.person_id)))
    hub.add(sub)
    receiver: asyncio.Task[None] | None = None
    try:
        await socket.send_data(encoder.encode(Welcome(server_time=utcnow())), mode="text")
        # The device's frames are read from the start: a push made while a long backlog
        # is still on its way is applied at once, and its answer goes out between the
        # catch-up frames (a phone back from a shift learns its queue is safe first).
        receiver = asyncio.create_task(_receive(socket, sub))
        position = await _catch_up(socket, caller, app.state.epoch, hello.cursor, sub)
        while True:
            kind, payload = await sub.outbox.get()
            if kind == "close":
                reason = (
                    "too far behind: reconnect with your cursor"
                    if payload == CLOSE_BACKLOG
                    else "token revoked or expired"
                )
                await socket.close(code=payload, reason=reason)
                return
            if kind == "frame":
                await socket.send_data(payload, mode="text")
            elif kind == "changes":
                # Answers queued behind live changes go out first, as during catch-up (a
                # phone in a reconnect storm learns its push is safe without first taking
                # every other phone's changes); a close waiting behind them goes next,
                # with no live change before it.
                if not await _answer_waiting(socket, sub):
                    continue
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
            elif kind == "fault":
                raise payload  # the receiver's: closed by sync_socket (1009, 1011, 1013)
            elif kind == "gone":
                return
    finally:
        hub.remove(sub)
        if receiver is not None:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver


async def _catch_up(
    socket: WebSocket[Any, Any, Any], caller: Any, epoch: str, cursor: str | None, sub: Subscriber
) -> int:
    """Send every change after `cursor`; returns the position reached. Between frames,
    the answers waiting in the outbox (push results, pongs, errors) go out at once; a
    close (or the device gone) waiting there ends the catch-up, and the position returned
    is then past every change."""
    first = True
    while True:
        page = await read_page(caller, epoch, cursor, 1000, via="socket")
        for frame in encode_frames(page.changes, page.cursor, page.reset and first, always=True):
            if not await _answer_waiting(socket, sub):
                # The socket is closing: no live change goes out before the close (the
                # device resumes from the cursor of the last frame it read).
                return _CLOSING
            await socket.send_data(frame, mode="text")
        first = False
        cursor = page.cursor
        if not page.more:
            break
    if not await _answer_waiting(socket, sub):
        return _CLOSING
    return parse_cursor(cursor, epoch, _CLOSING) or 0


async def _answer_waiting(socket: WebSocket[Any, Any, Any], sub: Subscriber) -> bool:
    """Send the answers waiting in the outbox; everything else stays there, in order (live
    changes count against the socket's backlog bound as before). False when a close, a
    fault or the device gone is waiting: nothing after it goes out first."""
    waiting = []
    while not sub.outbox.empty():
        waiting.append(sub.outbox.get_nowait())
    answers, going = [], True
    for kind, payload in waiting:
        if kind == "frame" and going:
            answers.append(payload)
        else:
            going = going and kind == "changes"
            sub.outbox.put_nowait((kind, payload))
    for payload in answers:
        await socket.send_data(payload, mode="text")
    return going


async def _receive_message(socket: WebSocket[Any, Any, Any]) -> str | bytes:
    """The next message, text or binary (a binary one is read as JSON text too)."""
    event: dict[str, Any] = dict(await socket.receive())
    if event["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(detail="disconnect event", code=event.get("code") or 1005)
    text = event.get("text")
    data: str | bytes = text if isinstance(text, str) else bytes(event.get("bytes") or b"")
    if _too_big(data):
        raise _TooBig()
    return data


def _too_big(data: str | bytes) -> bool:
    if len(data) > MAX_MESSAGE_BYTES:
        return True  # every character is at least one byte
    if isinstance(data, bytes) or len(data) * 4 <= MAX_MESSAGE_BYTES:
        return False  # ...and at most four
    return len(data.encode()) > MAX_MESSAGE_BYTES


async def _receive(socket: WebSocket[Any, Any, Any], sub: Subscriber) -> None:
    """Client frames: push and ping. Answers go through the subscriber's outbox."""
    app = socket.app
    try:
        while True:
            raw = await _receive_message(socket)
            await _touch(app.state.settings, sub)
            try:
                frame = decode_lenient(client_frame_decoder, raw)
            except _BAD_FRAME as exc:
                message = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                sub.outbox.put_nowait(
                    ("frame", encoder.encode(ErrorFrame(code="invalid", message=message)))
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
    except (WebSocketDisconnect, OSError):
        sub.outbox.put_nowait(("gone", None))
    except Exception as exc:  # noqa: BLE001 - closed with a code by sync_socket
        sub.outbox.put_nowait(("fault", exc))


async def _push(app: Any, sub: Subscriber, frame: PushFrame) -> bytes:
    try:
        # The token may have been revoked or ended since hello: check before writing.
        caller = await _still_valid(app.state.settings, sub)
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
            cursor=make_cursor(app.state.epoch, outcome.head),
            results=outcome.results,
        )
    )


async def _still_valid(settings: Settings, sub: Subscriber) -> Caller:
    ended = await session_state(sub.caller.device_id, settings)
    if ended is not None:
        raise Unauthenticated(ended, code="token_expired")
    return sub.caller


async def _touch(settings: Settings, sub: Subscriber) -> None:
    """A frame from the client is a use of its token: the session's idle clock restarts
    (written at most once per `last_seen_resolution_s`, as for HTTP calls)."""
    now = utcnow()
    if sub.last_touch is not None and now - sub.last_touch <= timedelta(
        seconds=settings.last_seen_resolution_s
    ):
        return
    try:
        await touch_device(sub.caller.device_id, now)
    except Exception as exc:
        if not is_transient(exc):
            raise
        return  # a busy database: the next frame tries again
    sub.last_touch = now


async def _send_error(socket: WebSocket[Any, Any, Any], code: str, message: str) -> None:
    with contextlib.suppress(Exception):
        await socket.send_data(encoder.encode(ErrorFrame(code=code, message=message)), mode="text")


async def _close(socket: WebSocket[Any, Any, Any], code: int, reason: str) -> None:
    """Close with a code; nothing to do when the socket is already gone."""
    with contextlib.suppress(Exception):
        await socket.close(code=code, reason=reason)


async def _refuse(socket: WebSocket[Any, Any, Any], message: str) -> None:
    """Refuse the handshake with 403 and the usual error body where the server lets the
    app answer the upgrade with a response (the ASGI websocket.http.response
    extension; uvicorn does), else with a close before accepting, which servers answer
    with a bare 403."""
    if "websocket.http.response" in (socket.scope.get("extensions") or {}):
        body = encoder.encode({"code": "forbidden", "message": message})
        start: WebSocketResponseStartEvent = {
            "type": "websocket.http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
        await socket.send(start)
        end: WebSocketResponseBodyEvent = {
            "type": "websocket.http.response.body",
            "body": body,
            "more_body": False,
        }
        await socket.send(end)
    else:
        await socket.close(code=CLOSE_POLICY, reason="origin not allowed")
