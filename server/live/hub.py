"""Live fan-out of the change feed to WebSocket subscribers.

Channels carry pokes ("the feed moved", "device D was revoked"), never the changes
themselves: the feed in the database is the truth. One Hub per process listens to what
committed writes announce (server/core/announce.py) and sends it on as a poke; it
listens for pokes from every process, reads the new changes once, and hands each
subscriber the ones in its scope. In one process the channels backend is in memory;
processes sharing a PostgreSQL database poke each other through LISTEN/NOTIFY. The hub
also polls the head and the subscribers' devices every `poll_s` seconds, so a lost poke
delays, never loses.

Caller data (PROTOCOL §12): each socket gets an incident's caller name and phone in full
only if `sees_caller` allows it, judged by the incident's newest record in the batch and
the socket's assignments now; otherwise masked. Sockets that see the same changes with
the same caller data share one encoding, and each shared encoding that carries caller
data in full gets one audit row, written before anything is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend

from server.access.accounts import Caller, ended_sessions
from server.access.scope import callback_lists, sees_all_caller_data, sees_caller, sees_change
from server.core import announce
from server.core.config import MAX_MESSAGE_BYTES, Settings
from server.core.loops import call_on
from server.core.tables import Change
from server.record import policy
from server.record.caller_data import audit_live_reveals, masked_change_data
from server.write.feed import MAX_SPAN, feed_head, raw_data, spread
from sync.messages import Change as WireChange
from sync.messages import ChangesFrame, encoder

log = logging.getLogger("qingling.live")

CHANNEL = "qingling_feed"
# Close codes the server uses (PROTOCOL §5 names 4401; the others are ours, docs/sync.md).
CLOSE_PROTOCOL = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_BACKLOG = 4408


def channels_plugin(postgres_dsn: str | None) -> ChannelsPlugin:
    backend = KeptPublisherBackend(dsn=postgres_dsn) if postgres_dsn else MemoryChannelsBackend()
    return ChannelsPlugin(backend=backend, channels=[CHANNEL])


class KeptPublisherBackend(AsyncPgChannelsBackend):
    """Litestar's LISTEN/NOTIFY backend, publishing on one connection it keeps open.
    Litestar's own opens a connection for each publish and closes it: a new PostgreSQL
    backend process, with its sign-in, for every committed write (docs/performance.md,
    session 13). A connection that has broken (the database restarted) is replaced once
    and the poke sent again; if that fails too, the poke is lost, which only delays:
    the hubs poll the head besides."""

    _publisher: asyncpg.Connection | None = None

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        if self._queue is None:
            raise RuntimeError("the channels backend has not started")
        payload, names = data.decode("utf-8"), list(channels)
        for last_try in (False, True):
            connection = self._publisher
            try:
                if connection is None or connection.is_closed():
                    connection = self._publisher = await self._connect()
                for channel in names:
                    await connection.execute("SELECT pg_notify($1, $2)", channel, payload)
                return
            except Exception:
                self._publisher = None
                if connection is not None:
                    connection.terminate()
                if last_try:
                    raise

    async def on_shutdown(self) -> None:
        connection, self._publisher = self._publisher, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)
        await super().on_shutdown()


@dataclass(eq=False)
class Subscriber:
    """One open WebSocket: who it is, and a queue of what to send it."""

    caller: Caller
    outbox: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)
    assigned: set[str] = field(default_factory=set)
    # When this socket last wrote its device's last_seen_at (None: not yet).
    last_touch: datetime | None = None

    def sees(self, row: dict[str, Any]) -> bool:
        return sees_change(self.caller, self.assigned, row)


class Hub:
    def __init__(
        self,
        plugin: ChannelsPlugin,
        poll_s: float = 2.0,
        backlog: int = 1000,
        settings: Settings | None = None,
        coalesce_s: float = 0.1,
    ) -> None:
        self.plugin = plugin
        # Session lengths, for closing sockets whose token expired.
        self.settings = settings or Settings()
        self.backlog = backlog
        # At most this long a round waits for the sockets to finish writing the last one.
        self.coalesce_s = coalesce_s
        self.epoch = ""
        self.poll_s = poll_s
        self.subscribers: set[Subscriber] = set()
        self.pos = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        # Called whenever any process reports that the feed moved (the SLA scheduler).
        self.on_head: list[Callable[[], None]] = []

    async def start(self, epoch: str) -> None:
        self.epoch = epoch
        self.pos = await feed_head()
        self._loop = asyncio.get_running_loop()
        announce.listen(self)
        self._tasks = [
            asyncio.create_task(self._listen(), name="qingling-hub-listen"),
            asyncio.create_task(self._deliver(), name="qingling-hub-deliver"),
            asyncio.create_task(self._watch_revocations(), name="qingling-hub-revocations"),
        ]

    async def stop(self) -> None:
        announce.stop_listening(self)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def add(self, sub: Subscriber) -> None:
        self.subscribers.add(sub)

    def remove(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    # What committed writes announce (server/core/announce.py), passed on to every
    # process's hub, this one's included. A write may commit on another thread's event
    # loop (a script or test driving the database beside a running app): the poke is
    # then handed to this hub's loop, as the channels plugin is not thread-safe.

    def feed_moved(self) -> None:
        self._poke({"feed": "moved"})

    def device_revoked(self, device_id: str) -> None:
        self._poke({"revoked": device_id})

    def policy_changed(self, bureau_id: str) -> None:
        self._poke({"policy": bureau_id})

    def _poke(self, message: dict[str, Any]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        call_on(loop, self._publish, message)

    def _publish(self, message: dict[str, Any]) -> None:
        self.plugin.publish(msgspec.json.encode(message), [CHANNEL])

    async def _listen(self) -> None:
        async with self.plugin.start_subscription([CHANNEL]) as subscription:
            async for raw in subscription.iter_events():
                try:
                    message = msgspec.json.decode(raw)
                except msgspec.DecodeError:
                    continue
                if "revoked" in message:
                    self._close_device(str(message["revoked"]))
                if "policy" in message:
                    policy.forget(str(message["policy"]))
                if "feed" in message:
                    self._wake.set()
                    for listener in self.on_head:
                        listener()

    async def _deliver(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
            # Coalescing: while the sockets are still writing the last round, changes
            # committed meanwhile wait and go out together as the next round (one frame,
            # one fan-out, one audit row per socket instead of one per push). An idle
            # hub does not wait at all.
            await self._sockets_caught_up()
            self._wake.clear()
            try:
                await self._fan_out()
            except Exception:  # noqa: BLE001 - keep the hub alive; the next poll retries
                log.exception("live fan-out failed")

    async def _sockets_caught_up(self) -> None:
        """Wait until at most a few sockets still hold an earlier round in their outbox,
        or `coalesce_s` has passed (a slow socket never holds the others back longer)."""
        deadline = asyncio.get_running_loop().time() + self.coalesce_s
        while asyncio.get_running_loop().time() < deadline:
            behind = sum(1 for sub in self.subscribers if sub.outbox.qsize())
            if behind <= max(1, len(self.subscribers) // 20):
                return
            await asyncio.sleep(0.005)

    async def _fan_out(self) -> None:
        head = await feed_head()
        if not self.subscribers:
            # Nobody to tell; a socket that opens later catches up from its own cursor.
            self.pos = max(self.pos, head)
            return
        while self.pos < head:
            upto = min(head, self.pos + 2000)
            # The rows holding a position in (pos, upto]: a row spanning positions ends
            # at most MAX_SPAN - 1 past its first (server/write/feed.py).
            rows = spread(
                await Change.raw(
                    "SELECT pos, span, entity, entity_id, bureau, station, incident, data"
                    ' FROM "change" WHERE pos > {} AND pos < {} AND pos - span < {}'
                    " ORDER BY pos",
                    self.pos,
                    upto + MAX_SPAN,
                    upto,
                ),
                self.pos,
                upto,
            )
            subs = list(self.subscribers)
            decoded = [(r, _data(r)) for r in rows]
            wire = [
                WireChange(
                    pos=int(r["pos"]),
                    entity=r["entity"],
                    id=r["entity_id"],
                    data=raw_data(r["data"]),
                )
                for r in rows
            ]
            cursor = f"{self.epoch}.{upto}"
            _learn_assignments(subs, decoded)
            reveal = _Reveal(decoded, wire)
            await reveal.load_callback_lists(subs)
            # Sockets that see the same changes, with the same caller data in full, share
            # one encoding (a command center with a thousand screens open encodes each
            # frame once). What a socket sees and gets in full depends only on its view
            # (`_view`): judged once per view, not once per socket.
            encoded: dict[_Key, tuple[list[WireChange], list[FrameText]]] = {}
            sharing: dict[_Key, list[Caller]] = {}
            plan: list[tuple[Subscriber, _Key]] = []
            keys: dict[Any, _Key] = {}
            for sub in subs:
                if sub.outbox.qsize() >= self.backlog:
                    self._drop(sub)
                    continue
                view = _view(sub)
                key = keys.get(view)
                if key is None:
                    visible = tuple(i for i, (r, _) in enumerate(decoded) if sub.sees(r))
                    key = keys[view] = (visible, reveal.full_for(sub, visible))
                if key not in encoded:
                    changes = reveal.changes(key)
                    encoded[key] = (changes, encode_frames(changes, cursor))
                sharing.setdefault(key, []).append(sub.caller)
                plan.append((sub, key))
            # Audited before anything is queued: a failed write sends nothing, and the
            # next round retries from the same position.
            await audit_live_reveals([(set(key[1]), callers) for key, callers in sharing.items()])
            for sub, key in plan:
                changes, frames = encoded[key]
                sub.outbox.put_nowait(("changes", (changes, upto, frames)))
            self.pos = upto

    def _drop(self, sub: Subscriber) -> None:
        """A reader too far behind: forget its queue and close it (CLOSE_BACKLOG); it
        resumes from its own cursor, so it misses nothing."""
        self.subscribers.discard(sub)
        while not sub.outbox.empty():
            sub.outbox.get_nowait()
        sub.outbox.put_nowait(("close", CLOSE_BACKLOG))
        log.warning(
            "closed a WebSocket %s frames behind (device %s)", self.backlog, sub.caller.device_id
        )

    def _close_device(self, device_id: str) -> None:
        for sub in list(self.subscribers):
            if sub.caller.device_id == device_id:
                sub.outbox.put_nowait(("close", CLOSE_UNAUTHORIZED))

    async def _watch_revocations(self) -> None:
        """The safety net under the pokes, and the only way a socket learns that its
        token expired (idle or too old, PROTOCOL §12): close those sockets with 4401."""
        while True:
            await asyncio.sleep(self.poll_s)
            devices = sorted({s.caller.device_id for s in self.subscribers})
            if not devices:
                continue
            try:
                ended = await ended_sessions(devices, self.settings)
            except Exception:  # noqa: BLE001 - a database hiccup: try again next round
                log.exception("revocation check failed")
                continue
            for device_id in ended:
                self._close_device(device_id)


def _learn_assignments(
    subs: list[Subscriber], decoded: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    """Each socket's assigned incidents, as the batch's incident records say now: each
    record's assignees read once, then each person's sockets updated."""
    by_person: dict[str, list[Subscriber]] = {}
    for sub in subs:
        by_person.setdefault(sub.caller.person_id, []).append(sub)
    for row, data in decoded:
        if row["entity"] != "incident":
            continue
        people = {a.get("person_id") for a in data.get("assignees") or []}
        incident = row["entity_id"]
        for person, mine in by_person.items():
            if person in people:
                for sub in mine:
                    sub.assigned.add(incident)
            else:
                for sub in mine:
                    sub.assigned.discard(incident)


def _view(sub: Subscriber) -> Any:
    """What decides the changes a socket sees and the caller data it gets in full
    (server/access/scope.py `sees`, `sees_caller`): sockets with the same view are judged
    once per round. The caller's bureau, role and station, and the incidents assigned to
    them unless the role sees the whole bureau; not the person or the device, which
    neither rule reads."""
    caller = sub.caller
    assigned = None if caller.is_command else frozenset(sub.assigned)
    return (caller.bureau_id, caller.role, caller.station_id, assigned)


# What a socket receives of a batch: the rows it sees, and the incidents among them whose
# caller data it gets in full.
_Key = tuple[tuple[int, ...], frozenset[str]]
_NOTHING: frozenset[str] = frozenset()


class _Reveal:
    """Caller data in one batch of changes: the incident rows that carry it, each
    incident's status by its newest record in the batch, and their masked copies."""

    def __init__(
        self, decoded: list[tuple[dict[str, Any], dict[str, Any]]], wire: list[WireChange]
    ):
        self.wire = wire
        self.carrying: dict[int, str] = {}  # row index -> incident id
        self.status: dict[str, str] = {}  # incident id -> status, newest in the batch
        for i, (row, data) in enumerate(decoded):
            if row["entity"] != "incident":
                continue
            self.status[row["entity_id"]] = str(data.get("status") or "")
            if data.get("caller_name") or data.get("caller_phone"):
                self.carrying[i] = row["entity_id"]
        self._masked: dict[int, WireChange] = {}
        # Per view (the rows a socket sees): its incidents carrying caller data, and what
        # a role that sees all caller data gets of them (judged once per view).
        self._in_view: dict[tuple[int, ...], tuple[str, ...]] = {}
        self._all_of_view: dict[tuple[int, ...], frozenset[str]] = {}
        # Station id -> incidents of the batch on that station's callback list (§9).
        self.callback_lists: dict[str, set[str]] = {}

    async def load_callback_lists(self, subs: list[Subscriber]) -> None:
        """The callback lists (PROTOCOL §9) of the stations whose chiefs have a socket
        open, as far as this batch's incidents with caller data go: one read per batch."""
        stations = {
            s.caller.station_id
            for s in subs
            if s.caller.role == "station_chief" and s.caller.station_id
        }
        if stations and self.carrying:
            self.callback_lists = await callback_lists(stations, set(self.carrying.values()))

    def full_for(self, sub: Subscriber, visible: tuple[int, ...]) -> frozenset[str]:
        """The incidents of `visible` whose caller data `sub` gets in full now."""
        if not self.carrying:
            return _NOTHING
        incidents = self._in_view.get(visible)
        if incidents is None:
            incidents = self._in_view[visible] = tuple(
                dict.fromkeys(self.carrying[i] for i in visible if i in self.carrying)
            )
        if not incidents:
            return _NOTHING
        everything = sees_all_caller_data(sub.caller)
        if everything and visible in self._all_of_view:
            return self._all_of_view[visible]
        # A station chief sees in full the incidents on their station's callback list
        # (PROTOCOL §9, server/access/scope.py callback_list_incidents).
        on_list = self.callback_lists.get(sub.caller.station_id or "", set())
        full = frozenset(
            x
            for x in incidents
            if sees_caller(
                sub.caller, self.status[x], x in sub.assigned, on_callback_list=x in on_list
            )
        )
        if everything:
            self._all_of_view[visible] = full
        return full

    def changes(self, key: _Key) -> list[WireChange]:
        visible, full = key
        return [
            self.masked(i) if i in self.carrying and self.carrying[i] not in full else self.wire[i]
            for i in visible
        ]

    def masked(self, i: int) -> WireChange:
        change = self._masked.get(i)
        if change is None:
            full = self.wire[i]
            change = self._masked[i] = WireChange(
                pos=full.pos,
                entity=full.entity,
                id=full.id,
                data=msgspec.Raw(masked_change_data(bytes(full.data))),
            )
        return change


# PROTOCOL §5: each frame at most 1 MiB, the same bound the server reads (§12).
FRAME_LIMIT = MAX_MESSAGE_BYTES


class FrameText(str):
    """A frame as the text a WebSocket sends, decoded once, with its UTF-8 bytes kept.

    uvicorn encodes the text of every message it sends (`text.encode()`) and Litestar
    decodes bytes it is given; a frame shared by a thousand sockets would be decoded and
    encoded a thousand times (a quarter of the server's time in a reconnect storm, py-spy,
    docs/performance.md). This text hands back the bytes it came from instead."""

    _utf8: bytes

    def __new__(cls, utf8: bytes) -> FrameText:
        text = super().__new__(cls, utf8.decode("utf-8"))
        text._utf8 = utf8
        return text

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
            return self._utf8
        return super().encode(encoding, errors)


def encode_frames(
    changes: list[WireChange], cursor: str, reset: bool = False, *, always: bool = False
) -> list[FrameText]:
    """`changes` frames of at most FRAME_LIMIT bytes each (a single oversized change still
    travels alone), as text to send. Empty `changes` give no frame unless `always`."""
    if not changes and not always:
        return []
    epoch = cursor.rpartition(".")[0]
    frames: list[FrameText] = []
    batch: list[WireChange] = []
    size = 0
    for change in changes:
        item = len(change.data) + 100
        if batch and size + item > FRAME_LIMIT - 200:
            last = f"{epoch}.{batch[-1].pos}"
            frames.append(
                FrameText(
                    encoder.encode(
                        ChangesFrame(changes=batch, cursor=last, reset=reset and not frames)
                    )
                )
            )
            batch, size = [], 0
        batch.append(change)
        size += item
    frames.append(
        FrameText(
            encoder.encode(ChangesFrame(changes=batch, cursor=cursor, reset=reset and not frames))
        )
    )
    return frames


def _data(row: dict[str, Any]) -> dict[str, Any]:
    if row["entity"] != "incident":
        return {}
    value = row["data"]
    decoded = msgspec.json.decode(value) if isinstance(value, str | bytes) else value
    return decoded if isinstance(decoded, dict) else {}


def hub_of(app: Litestar) -> Hub:
    return app.state.hub  # type: ignore[no-any-return]
