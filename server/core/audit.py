"""The audit log: who signed in, signed out or revoked, who received caller data in
full, and every command-center act, append-only, each row chained to the row before it
by SHA-256.

    row n   seq = n (1, 2, 3 ... with no gap), at, actor, device, action, subject, detail
            prev_hash = row n-1's row_hash (GENESIS for row 1)
            row_hash  = SHA-256 of the canonical JSON [seq, at, actor, device, action,
                        subject, detail, prev_hash]

Rows are appended only inside `db.write_transaction()`: the transaction of the act they
record, so the act and its row commit or roll back together. That transaction's lock
(SQLite's write lock; on PostgreSQL the feed's advisory lock) makes appends one at a
time, so two writers never chain onto the same row.

A read has no transaction of its own: its row (a reveal of caller data) is queued with
`append_soon` and rides along with whichever write transaction of this process commits
next (a push, an act, or a flush the queue starts itself), and `append_soon` returns once
that has committed. The answer waits for its row, but never queues behind every waiting
writer for a transaction of its own: during a reconnect storm the row goes out with the
push that holds the lock, and many reads share one commit.

`Chain` checks rows in order and names the first that breaks. An edited field, a
deleted, moved or inserted row breaks the chain at that row or the next one. What the
chain alone cannot see: someone with write access to the database who rewrites every
row after their change (the hashes are not secret), or who removes the newest rows.
A head recorded away from the machine (`head()`, `qingling audit head`) catches both,
up to that head: `Chain(head=...)` fails unless the row at the head's `seq` still has
the head's hash.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from server.core.clock import as_utc, utcnow
from server.core.db import (
    after_commit,
    after_rollback,
    bulk_insert,
    in_write_transaction,
    ride_every_write,
    write_transaction,
)
from server.core.loops import PerLoop
from server.core.tables import AuditLog

log = logging.getLogger("qingling.audit")

GENESIS = "0" * 64

# What the log records (`action`):
SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
SIGN_OUT = "auth.sign_out"
DEVICE_REVOKED = "auth.revoke"
PERSON_DEACTIVATED = "person.deactivate"
CALLER_DATA = "caller_data.reveal"
INCIDENT_ACTS = {
    "received": "incident.create",
    "dispatched": "incident.dispatch",
    "diverted": "incident.divert",
    "reassigned": "incident.reassign",
    "point_check": "incident.point_check",
    "closed": "incident.close",
    "cancelled": "incident.cancel",
}
REVIEW_RESOLVED = "review.resolve"
BODYCAM_MARKED = "bodycam.mark"
POLICY_SET = "policy.set"
# A linked agency's duties set (PROTOCOL §10).
AGENCY_DUTIES_SET = "agency.duties"
# The citizen's verdict (PROTOCOL §9): a verdict recorded (any source), and an unanswered
# callback attempt.
VERDICT_RECORDED = "verdict.record"
CALLBACK_ATTEMPT = "callback.attempt"
# Supervision (PROTOCOL §11): an order issued, accepted, rejected; a notice issued.
SUPERVISION_ISSUED = "supervision.issue"
SUPERVISION_ACCEPTED = "supervision.accept"
SUPERVISION_REJECTED = "supervision.reject"
NOTICE_ISSUED = "notice.issue"
ACTIONS = frozenset(
    {
        SIGN_IN,
        SIGN_IN_FAILED,
        SIGN_OUT,
        DEVICE_REVOKED,
        PERSON_DEACTIVATED,
        CALLER_DATA,
        *INCIDENT_ACTS.values(),
        REVIEW_RESOLVED,
        BODYCAM_MARKED,
        POLICY_SET,
        AGENCY_DUTIES_SET,
        VERDICT_RECORDED,
        CALLBACK_ATTEMPT,
        SUPERVISION_ISSUED,
        SUPERVISION_ACCEPTED,
        SUPERVISION_REJECTED,
        NOTICE_ISSUED,
    }
)
SUBJECT_MAX = 200


@dataclass(frozen=True)
class Act:
    """A row to append: what happened, by whom, to what."""

    action: str
    actor: str | None = None
    device: str | None = None
    subject: str | None = None
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Entry:
    """A row of the log as stored."""

    seq: int
    at: datetime
    actor: str | None
    device: str | None
    action: str
    subject: str | None
    detail: str
    prev_hash: str
    row_hash: str

    def content_hash(self) -> str:
        """What `row_hash` must be for this row's content."""
        return row_hash(
            self.seq,
            self.at,
            self.actor,
            self.device,
            self.action,
            self.subject,
            self.detail,
            self.prev_hash,
        )


def _instant(at: datetime) -> str:
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(
    seq: int,
    at: datetime,
    actor: str | None,
    device: str | None,
    action: str,
    subject: str | None,
    detail: str,
    prev_hash: str,
) -> str:
    content = [seq, _instant(at), actor, device, action, subject, detail, prev_hash]
    return hashlib.sha256(msgspec.json.encode(content)).hexdigest()


def canonical(detail: Mapping[str, Any] | None) -> str:
    """Detail as stored and hashed: JSON with sorted keys, no spaces."""
    return msgspec.json.encode(dict(detail or {}), order="sorted").decode()


async def append(
    action: str,
    *,
    actor: str | None = None,
    device: str | None = None,
    subject: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> Entry:
    """Append one row. Call inside `db.write_transaction()`, the act's own."""
    return (await append_many([Act(action, actor, device, subject, detail)]))[0]


async def append_many(acts: Sequence[Act]) -> list[Entry]:
    """Append rows in order, with one statement. Call inside `db.write_transaction()`."""
    if not in_write_transaction():
        raise RuntimeError("the audit log is appended inside db.write_transaction()")
    if not acts:
        return []
    seq, prev = await _head_or_genesis()
    at = utcnow()
    entries = []
    for act in acts:
        if act.action not in ACTIONS:
            raise ValueError(f"unknown audit action {act.action!r}")
        seq += 1
        subject = None if act.subject is None else act.subject[:SUBJECT_MAX]
        detail = canonical(act.detail)
        digest = row_hash(seq, at, act.actor, act.device, act.action, subject, detail, prev)
        entries.append(
            Entry(seq, at, act.actor, act.device, act.action, subject, detail, prev, digest)
        )
        prev = digest
    await bulk_insert(
        AuditLog,
        [
            {
                "seq": e.seq,
                "at": e.at,
                "actor": e.actor,
                "device": e.device,
                "action": e.action,
                "subject": e.subject,
                "detail": e.detail,
                "prev_hash": e.prev_hash,
                "row_hash": e.row_hash,
            }
            for e in entries
        ],
    )
    return entries


@dataclass(eq=False)
class _Queue:
    """Rows waiting to ride along with the next write transaction of one event loop (a
    future belongs to its loop): each batch of acts and the future its caller awaits,
    and the task that flushes them when no other write does first."""

    waiting: list[tuple[Sequence[Act], asyncio.Future[None]]] = field(default_factory=list)
    flusher: asyncio.Task[None] | None = None

    def take(self) -> list[tuple[Sequence[Act], asyncio.Future[None]]]:
        batch, self.waiting = self.waiting, []
        return batch


# One queue (and flusher) per event loop (server/core/loops.py).
_queues: PerLoop[_Queue] = PerLoop(_Queue)
_flushing: contextvars.ContextVar[bool] = contextvars.ContextVar("audit_flushing", default=False)


async def append_soon(acts: Sequence[Act]) -> None:
    """Append `acts` with the next write transaction to commit in this process, and return
    once it has committed (raising what failed it, when that was this queue's own flush).
    Inside a write transaction, they are simply appended to it."""
    if not acts:
        return
    if in_write_transaction():
        await append_many(acts)
        return
    queue = _queues.get()
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    queue.waiting.append((acts, done))
    _start_flusher(queue)
    await done


def _start_flusher(queue: _Queue) -> None:
    if queue.flusher is None or queue.flusher.done():
        queue.flusher = asyncio.get_running_loop().create_task(
            _flush(queue), name="qingling-audit-flush"
        )


async def _flush(queue: _Queue) -> None:
    """Commit the queue when no other write carries it first: a transaction of its own,
    whose body is empty, so only the riding rows are written."""
    _flushing.set(True)  # this task's own context: its transactions are the queue's
    while queue.waiting:
        try:
            async with write_transaction():
                pass
        except Exception as exc:  # noqa: BLE001 - the waiting callers get the fault
            log.debug("audit flush failed", exc_info=True)
            # Failed before the rows rode (the lock never came): fail their callers too.
            _fail(queue.take(), exc)


def _fail(batch: list[tuple[Sequence[Act], asyncio.Future[None]]], exc: BaseException) -> None:
    for _, done in batch:
        if not done.done():
            done.set_exception(
                exc if isinstance(exc, Exception) else RuntimeError("audit flush cancelled")
            )


async def _carry() -> None:
    """Rides every write transaction (db.ride_every_write): append the queued rows."""
    queue = _queues.get()
    batch = queue.take()
    if not batch:
        return
    own = _flushing.get()

    def committed() -> None:
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    def rolled_back(exc: BaseException) -> None:
        if own:
            # The queue's own transaction failed: tell the callers (a busy database
            # answers 503 as usual), so nothing is answered unaudited.
            _fail(batch, exc)
            return
        # Another writer's transaction failed for its own reasons: the rows wait for
        # the next one, or for a flush.
        queue.waiting[:0] = batch
        _start_flusher(queue)

    # Registered before the rows are written: if writing them fails, the transaction
    # rolls back and the callers still hear of it.
    after_commit(committed)
    after_rollback(rolled_back)
    await append_many([act for acts, _ in batch for act in acts])


ride_every_write(_carry)


async def _head_or_genesis() -> tuple[int, str]:
    rows = await AuditLog.raw('SELECT seq, row_hash FROM "audit_log" ORDER BY seq DESC LIMIT 1')
    if not rows:
        return 0, GENESIS
    return int(rows[0]["seq"]), str(rows[0]["row_hash"])


# ---------------------------------------------------------------------------------------
# Reading and checking.


@dataclass(frozen=True)
class Head:
    """The newest row's position and hash: what an operator records off the machine."""

    seq: int
    row_hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.row_hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        """`SEQ:HASH`, as `str()` prints it; ValueError otherwise."""
        seq, _, digest = text.strip().partition(":")
        if not seq.isdigit() or len(digest) != 64 or digest.strip("0123456789abcdef"):
            raise ValueError("a head is SEQ:HASH, as `qingling audit head` prints it")
        return cls(int(seq), digest)


async def head() -> Head | None:
    """The newest row's position and hash; None for an empty log."""
    seq, digest = await _head_or_genesis()
    return Head(seq, digest) if seq else None


def _entry(row: dict[str, Any]) -> Entry:
    return Entry(
        seq=int(row["seq"]),
        at=as_utc(row["at"]),
        actor=row["actor"],
        device=row["device"],
        action=row["action"],
        subject=row["subject"],
        detail=row["detail"],
        prev_hash=row["prev_hash"],
        row_hash=row["row_hash"],
    )


async def entries(chunk: int = 5000) -> AsyncIterator[Entry]:
    """Every row in `seq` order, read a chunk at a time."""
    after: int | None = None
    while True:
        if after is None:
            rows = await AuditLog.raw('SELECT * FROM "audit_log" ORDER BY seq LIMIT {}', chunk)
        else:
            rows = await AuditLog.raw(
                'SELECT * FROM "audit_log" WHERE seq > {} ORDER BY seq LIMIT {}', after, chunk
            )
        for row in rows:
            yield _entry(row)
        if len(rows) < chunk:
            return
        after = int(rows[-1]["seq"])


async def recent(limit: int, action: str | None = None) -> list[Entry]:
    """The newest rows (of one action, if given), oldest first."""
    if action is None:
        rows = await AuditLog.raw(
            'SELECT * FROM "audit_log" ORDER BY seq DESC LIMIT {}', max(1, limit)
        )
    else:
        rows = await AuditLog.raw(
            'SELECT * FROM "audit_log" WHERE action = {} ORDER BY seq DESC LIMIT {}',
            action,
            max(1, limit),
        )
    return [_entry(r) for r in reversed(rows)]


@dataclass(frozen=True)
class Break:
    """Where the chain breaks: the first row that does not check (its position in the log
    as read, and its `seq` as stored), and why."""

    position: int
    seq: int | None
    reason: str

    def __str__(self) -> str:
        at = f"row {self.seq}" if self.seq is not None else "the end of the log"
        return f"broken at {at} (the {_ordinal(self.position)} read): {self.reason}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class Chain:
    """Checks rows fed in the order read; `broken` is the first break, or None.

    Rows must run 1, 2, 3 ... each naming the previous row's hash and matching its own.
    With `head` (recorded earlier, elsewhere), the row at the head's `seq` must have the
    head's hash, and the log must reach it.
    """

    def __init__(self, head: Head | None = None) -> None:
        self.head = head
        self.count = 0
        self.last: Head | None = None
        self.broken: Break | None = None
        self._prev = GENESIS

    def feed(self, entry: Entry) -> Break | None:
        if self.broken is not None:
            return self.broken
        self.count += 1
        expected = self.count
        reason = None
        if entry.seq != expected:
            reason = (
                f"row {expected} was expected here, found row {entry.seq}:"
                " a row was deleted, inserted or moved"
            )
        elif entry.prev_hash != self._prev:
            reason = "it does not name the row before it: a row was deleted, inserted or moved"
        elif entry.content_hash() != entry.row_hash:
            reason = "its content does not match its hash: it was edited"
        elif self.head is not None and entry.seq == self.head.seq:
            if entry.row_hash != self.head.row_hash:
                reason = (
                    "it is the head recorded earlier, but its hash differs:"
                    " the log up to it was rewritten"
                )
        if reason is not None:
            self.broken = Break(self.count, entry.seq, reason)
            return self.broken
        self._prev = entry.row_hash
        self.last = Head(entry.seq, entry.row_hash)
        return None

    def finish(self) -> Break | None:
        if self.broken is None and self.head is not None and self.count < self.head.seq:
            self.broken = Break(
                self.count + 1,
                None,
                f"the log ends at row {self.count}, before the head recorded at row"
                f" {self.head.seq}: rows were deleted",
            )
        return self.broken


def check(rows: Iterable[Entry], head: Head | None = None) -> Break | None:
    """The first break in `rows` (in the order given), or None when the chain holds."""
    chain = Chain(head)
    for entry in rows:
        if chain.feed(entry) is not None:
            break
    return chain.finish()


async def verify(head: Head | None = None) -> Chain:
    """Walk the whole log in the database; the finished `Chain` tells the outcome."""
    chain = Chain(head)
    async for entry in entries():
        if chain.feed(entry) is not None:
            break
    chain.finish()
    return chain
