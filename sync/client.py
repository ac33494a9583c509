"""A Python field client: what a grid worker's laptop, a simulator or a test uses.

Everything recorded goes first into a local outbox (SQLite, through sqlite-utils) and is
on disk before `record()` returns; it leaves the outbox only when the server has
answered for it (`applied` or `duplicate`), or moves to the `rejected` table with the
server's reason. Flushing retries with exponential backoff and full jitter. `listen()`
keeps a WebSocket open and resumes from the last cursor it stored.

Only the standard library, msgspec, sqlite-utils and websockets are used here.
"""

from __future__ import annotations

import asyncio
import json
import random
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlite_utils
import websockets

from sync.clock import OffsetEstimator
from sync.ids import time_ordered_id


class SyncError(Exception):
    """The server refused a whole request (not one op): `status` and `code` say why."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.retry_after = retry_after


@dataclass
class Backoff:
    """Exponential backoff with full jitter: sleep a random time in [0, min(cap, base·2^n)]."""

    base_s: float = 0.5
    cap_s: float = 60.0
    attempt: int = 0

    def next_delay(self) -> float:
        delay = random.uniform(0, min(self.cap_s, self.base_s * 2**self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


def _now() -> datetime:
    return datetime.now(UTC)


# The server writes a frame's type first (msgspec tagged structs, sync/messages.py).
_CHANGES_PREFIX = '{"type":"changes"'


def _is_changes(raw: str | bytes) -> bool:
    """Whether a frame is a `changes` frame, without parsing it (a storm of them is most
    of what a pushing device receives, PROTOCOL §5)."""
    text = raw if isinstance(raw, str) else raw[: len(_CHANGES_PREFIX)].decode("utf-8", "replace")
    return text.startswith(_CHANGES_PREFIX)


class FieldClient:
    """One device: its outbox file, its token, its op numbering."""

    def __init__(self, base_url: str, outbox_path: str | Path) -> None:
        self.base_url = base_url.rstrip("/")
        self.db = sqlite_utils.Database(str(outbox_path))
        # The outbox must survive a crash of the laptop: full sync on every commit.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
        self.db.table("outbox").create(
            {"seq": int, "op_id": str, "op": str, "recorded_at": str},
            pk="seq",
            if_not_exists=True,
        )
        self.db.table("rejected").create(
            {"op_id": str, "seq": int, "code": str, "message": str, "op": str},
            pk="op_id",
            if_not_exists=True,
        )
        self.clock = OffsetEstimator()
        self.backoff = Backoff()
        # Every per-op answer the server gave, in order: (op_id, status). For tests and
        # simulators that check exactly-once from the outside.
        self.answers: list[tuple[str, str]] = []

    # -- stored facts -------------------------------------------------------------------

    def _get(self, key: str) -> str | None:
        rows = list(self.db.query("SELECT value FROM meta WHERE key = ?", [key]))
        return rows[0]["value"] if rows else None

    def _set(self, key: str, value: str) -> None:
        with self.db.conn:
            self.db.table("meta").upsert({"key": key, "value": value}, pk="key")

    @property
    def token(self) -> str | None:
        return self._get("token")

    @property
    def device_id(self) -> str | None:
        return self._get("device_id")

    @property
    def cursor(self) -> str | None:
        return self._get("cursor")

    # -- HTTP -----------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any, token: str | None) -> Any:
        # Runs in a worker thread: it must not touch the outbox (SQLite connections
        # belong to the thread that made them).
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                err = json.loads(exc.read())
            except ValueError:
                err = {"code": "http_error", "message": str(exc)}
            retry = exc.headers.get("Retry-After")
            raise SyncError(
                exc.code,
                err.get("code", "?"),
                err.get("message", ""),
                float(retry) if retry else None,
            ) from None

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        return await asyncio.to_thread(self._request, method, path, body, self.token)

    async def login(self, username: str, password: str, label: str = "") -> dict[str, Any]:
        """Sign in (or again, after a restart): the device id is kept across sign-ins."""
        device: dict[str, Any] = {"label": label or "qingling python client"}
        if self.device_id:
            device["id"] = self.device_id
        body = {"username": username, "password": password, "device": device}
        # A busy server answers 503 with Retry-After (PROTOCOL §12: sign-ins are checked
        # on a bounded pool): wait as told and try again, for up to a minute.
        waited = 0.0
        while True:
            t0 = _now()
            try:
                answer = await self._call("POST", "/api/auth/login", body)
                break
            except SyncError as exc:
                delay = exc.retry_after or 1.0
                if exc.status != 503 or waited + delay > 60:
                    raise
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
                waited += delay
        self.clock.observe(t0, _now(), datetime.fromisoformat(answer["server_time"]))
        self._set("token", answer["token"])
        self._set("device_id", answer["device_id"])
        return dict(answer)

    # -- recording --------------------------------------------------------------------------

    def record(
        self,
        type: str,
        incident_id: str | None,
        body: dict[str, Any],
        *,
        record_id: str | None = None,
        base_op_id: str | None = None,
        device_time: datetime | None = None,
    ) -> dict[str, Any]:
        """Queue one op. It is committed to disk before this returns."""
        with self.db.conn:  # one transaction: the seq counter and the op move together
            row = list(self.db.query("SELECT value FROM meta WHERE key = 'seq'"))
            seq = int(row[0]["value"]) + 1 if row else 1
            op = {
                "op_id": time_ordered_id(),
                "seq": seq,
                "type": type,
                "incident_id": incident_id,
                "device_time": (device_time or _now()).isoformat(),
                "clock_offset_ms": self.clock.offset_ms,
                "record_id": record_id,
                "base_op_id": base_op_id,
                "body": body,
            }
            self.db.table("meta").upsert({"key": "seq", "value": str(seq)}, pk="key")
            self.db.table("outbox").insert(
                {
                    "seq": seq,
                    "op_id": op["op_id"],
                    "op": json.dumps(op, ensure_ascii=False),
                    "recorded_at": _now().isoformat(),
                }
            )
        return op

    def pending(self) -> list[dict[str, Any]]:
        return [json.loads(r["op"]) for r in self.db.query("SELECT op FROM outbox ORDER BY seq")]

    def rejected(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM rejected ORDER BY seq"))

    # -- sending ------------------------------------------------------------------------------

    def _settle(self, answer: dict[str, Any], sent: list[dict[str, Any]]) -> None:
        """Remove what the server answered for; keep rejected ops with their reason."""
        by_id = {op["op_id"]: op for op in sent}
        with self.db.conn:
            for result in answer["results"]:
                self.answers.append((str(result.get("op_id")), result["status"]))
                op = by_id.get(result.get("op_id"))
                if op is None:
                    continue
                if result["status"] == "rejected":
                    self.db.table("rejected").upsert(
                        {
                            "op_id": op["op_id"],
                            "seq": op["seq"],
                            "code": result.get("code", ""),
                            "message": result.get("message", ""),
                            "op": json.dumps(op, ensure_ascii=False),
                        },
                        pk="op_id",
                    )
                self.db.execute("DELETE FROM outbox WHERE op_id = ?", [op["op_id"]])

    async def flush(self, batch: int = 100) -> int:
        """Send the outbox in seq order, one batch per request; returns how many ops the
        server answered for. Raises SyncError or OSError when a request fails."""
        answered = 0
        while True:
            ops = [
                json.loads(r["op"])
                for r in self.db.query("SELECT op FROM outbox ORDER BY seq LIMIT ?", [batch])
            ]
            if not ops:
                return answered
            t0 = _now()
            answer = await self._call(
                "POST",
                "/api/sync/push",
                {"device_id": self.device_id, "sent_at": t0.isoformat(), "ops": ops},
            )
            self.clock.observe(t0, _now(), datetime.fromisoformat(answer["server_time"]))
            self._settle(answer, ops)
            answered += len(answer["results"])

    async def flush_until_empty(self, *, give_up_after_s: float | None = None) -> None:
        """Flush, retrying failed requests with backoff and full jitter (honouring
        Retry-After), until the outbox is empty."""
        started = asyncio.get_running_loop().time()
        while self.pending():
            try:
                await self.flush()
                self.backoff.reset()
            except (SyncError, OSError) as exc:
                if isinstance(exc, SyncError) and exc.status in (400, 401, 403, 413):
                    raise  # retrying the same request cannot help
                delay = self.backoff.next_delay()
                if isinstance(exc, SyncError) and exc.retry_after:
                    delay = max(delay, exc.retry_after)
                if (
                    give_up_after_s is not None
                    and asyncio.get_running_loop().time() - started + delay > give_up_after_s
                ):
                    raise
                await asyncio.sleep(delay)

    async def flush_over(self, ws: Any, batch: int = 500) -> int:
        """Push the outbox over an open WebSocket (after hello); returns ops answered.
        Change frames that arrive meanwhile are passed over (a listener catches up by cursor)."""
        answered = 0
        while ops := self._next_batch(batch):
            t0 = _now()
            await ws.send(json.dumps({"type": "push", "sent_at": t0.isoformat(), "ops": ops}))
            while True:
                raw = await ws.recv()
                if _is_changes(raw):
                    continue  # passed over unparsed: a listener catches up by cursor
                frame = json.loads(raw)
                if frame["type"] == "push_result":
                    break
                if frame["type"] == "error":
                    status = 503 if frame["code"] == "unavailable" else 400
                    raise SyncError(status, frame["code"], frame["message"])
            self.clock.observe(t0, _now(), datetime.fromisoformat(frame["server_time"]))
            self._settle(frame, ops)
            answered += len(frame["results"])
        return answered

    def _next_batch(self, batch: int) -> list[dict[str, Any]]:
        return [
            json.loads(r["op"])
            for r in self.db.query("SELECT op FROM outbox ORDER BY seq LIMIT ?", [batch])
        ]

    # -- receiving ----------------------------------------------------------------------------

    async def pull(self) -> list[dict[str, Any]]:
        """Follow the feed from the stored cursor to its end over HTTP; stores the cursor."""
        received: list[dict[str, Any]] = []
        while True:
            query = urlencode({"cursor": self.cursor or "", "limit": 1000})
            page = await self._call("GET", f"/api/sync/pull?{query}")
            received.extend(page["changes"])
            self._set("cursor", page["cursor"])
            if not page["more"]:
                return received

    async def listen(
        self,
        on_changes: Callable[[list[dict[str, Any]]], Awaitable[None] | None],
        *,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Keep a WebSocket open: catch up from the stored cursor, then take changes live;
        reconnect with backoff after a drop. Returns when `stop` is set or the token is revoked."""
        stop = stop or asyncio.Event()
        url = (
            self.base_url.replace("http://", "ws://").replace("https://", "wss://") + "/api/sync/ws"
        )
        backoff = Backoff()
        while not stop.is_set():
            try:
                async with websockets.connect(url) as ws:
                    await ws.send(
                        json.dumps({"type": "hello", "token": self.token, "cursor": self.cursor})
                    )
                    backoff.reset()
                    while not stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                        except TimeoutError:
                            continue
                        frame = json.loads(raw)
                        if frame["type"] == "changes":
                            outcome = on_changes(frame["changes"])
                            if asyncio.iscoroutine(outcome):
                                await outcome
                            self._set("cursor", frame["cursor"])  # after handling: nothing lost
            except websockets.ConnectionClosed as closed:
                if closed.rcvd is not None and closed.rcvd.code == 4401:
                    raise SyncError(401, "unauthenticated", "the device was revoked") from None
            except OSError:
                pass
            if not stop.is_set():
                await asyncio.sleep(backoff.next_delay())
