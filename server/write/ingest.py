"""Step 1 of the write path: decode and check pushed ops (PROTOCOL §3): exactly once, a
result per op, never dropped.

One write transaction holds one push, or several that arrived together (group commit:
each still has its own results and is answered once that transaction commits). Each op is checked before anything is written, so a bad
op cannot disturb the good ones beside it: invalid, unknown, out-of-scope and reused ops
become dead letters with a machine-readable code; the rest become events, folded with
their incident's other events (step 2, server/write/reconcile.py). `applied` is only answered after
the transaction commits.

Bad input is a dead letter, never a fault (PROTOCOL §12): decoding, encodings and every
time of an op, its effective time included, are checked before the transaction opens.

Two judgements span more than one incident, so they are made here, where a push's ops
are known with their device and author (PROTOCOL §12):

- **Device order.** Each new op gets its `device_high_water` (the latest effective time
  among its device's ops with a lower seq); a lower seq arriving late raises it on the
  device's stored ops above it, and the incidents of those whose suspicion changed are
  folded again. One indexed read per push when ops arrive in seq order.
- **Blob references.** Each blob an accepted op names (`sync.messages.blob_references`)
  gets a row in the reference index, granted when the author could read the blob then.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from server.access.accounts import Caller
from server.access.scope import (
    may_answer_diversion,
    may_record,
    may_record_in_case,
    readable_attachments,
)
from server.core.clock import as_utc, as_utc_or_none, utcnow
from server.core.db import bulk_insert, execute_many, fetch, is_sqlite, write_transaction
from server.core.errors import Forbidden
from server.core.ids import new_id
from server.core.loops import PerLoop
from server.core.tables import BlobRef, Event, Incident, RejectedOp
from server.record.policy import sla_targets
from server.write.feed import feed_head
from server.write.group import Group
from server.write.reconcile import evidence_key, reconcile, reconcile_incidents
from server.write.supervision import (
    Named,
    named_in,
    rectification_problem,
    replies_stored,
    reply_problem,
    store_rectifications,
)
from server.write.verdicts import index_invites
from sync.clock import OutOfRange, effective_time, is_out_of_order, request_offset_ms
from sync.messages import (
    REFERENCING_TYPES,
    InvalidOp,
    Op,
    OpResult,
    blob_references,
    content_hash,
    decode_op,
)
from sync.rules import DeviceOp, device_high_water


@dataclass
class PushOutcome:
    results: list[OpResult]
    acked_seq: int
    received_at: datetime
    # The feed's head when the transaction that held the push committed: a position that
    # includes every effect of its ops (PROTOCOL §3's `cursor`), read inside it.
    head: int = 0


@dataclass
class _Decoded:
    """One op of a push as read: valid (with its effective time, or why it has none
    inside the range) or invalid, and the bytes it came as."""

    item: Op | InvalidOp
    raw: bytes
    effective: datetime | None = None
    time_problem: str | None = None


@dataclass
class _Accepted:
    op: Op
    hash: str
    effective: datetime


def _reject(op_id: str | None, code: str, message: str) -> OpResult:
    return OpResult(op_id=op_id, status="rejected", code=code, message=message)


async def push_ops(
    caller: Caller, device_id: str, sent_at: datetime, raw_ops: list[msgspec.Raw]
) -> PushOutcome:
    if device_id != caller.device_id:
        raise Forbidden("device_id is not the device this token was issued to")
    received_at = utcnow()
    # A sent_at outside the range gives no estimate (None): ops without their own
    # offset then have no effective time, and are invalid; the request still stands.
    server_offset = request_offset_ms(received_at, sent_at)
    decoded = [_decode(bytes(raw), server_offset) for raw in raw_ops]
    push = _Push(
        caller,
        decoded,
        received_at,
        sent_at if server_offset is not None else None,
        server_offset,
        asyncio.get_running_loop().create_future(),
    )
    queue = _queues.get()
    queue.waiting.append(push)
    if queue.drainer is None or queue.drainer.done():
        queue.drainer = asyncio.create_task(_drain(queue))
    # Shielded: a client that goes away does not pull its push out of a transaction
    # that other pushes share; it stands, and a retry answers `duplicate`.
    return await asyncio.shield(push.done)


# Group commit: pushes that arrive while a transaction is open wait, and the next
# transaction takes all that wait (up to a bound), each push applied in turn with its own
# results; each push is answered once the transaction holding it has committed.
_GROUP_MAX_OPS = 5000
# Before it takes each group, the drainer lets the event loop turn this many times. A
# push whose request has already arrived needs a few turns (its body read, Litestar's
# middleware) to reach the queue; taken at once, a group held only the pushes that had
# queued during the last commit, and the rest waited a whole transaction for the next.
# With 4 devices pushing, a transaction held 1.53 pushes on average, with these turns
# 1.87: a fifth fewer transactions for the same pushes (docs/performance.md, session 20).
# An idle turn of the loop takes microseconds.
_GATHER_TURNS = 3


@dataclass
class _Push:
    caller: Caller
    decoded: list[_Decoded]
    received_at: datetime
    sent_at: datetime | None
    server_offset: int | None
    done: asyncio.Future[PushOutcome]


@dataclass
class _Queue:
    waiting: list[_Push] = dataclasses.field(default_factory=list)
    drainer: asyncio.Task[None] | None = None


_queues: PerLoop[_Queue] = PerLoop(_Queue)


async def _drain(queue: _Queue) -> None:
    group: list[_Push] = []
    try:
        while queue.waiting:
            for _ in range(_GATHER_TURNS):
                await asyncio.sleep(0)
            group, ops = [], 0
            while queue.waiting and (
                not group or ops + len(queue.waiting[0].decoded) <= _GROUP_MAX_OPS
            ):
                push = queue.waiting.pop(0)
                group.append(push)
                ops += len(push.decoded)
            await _commit(group)
    except BaseException as exc:  # cancelled (shutdown): no push is left unanswered
        for push in [*group, *queue.waiting]:
            if not push.done.done():
                push.done.set_exception(exc)
        queue.waiting.clear()
        raise


async def _commit(group: list[_Push]) -> None:
    """Apply the pushes in one transaction; answer each once it has committed. A fault
    rolls the whole transaction back, and each push is then tried again alone, so one
    push's fault is its own."""
    try:
        async with write_transaction():
            outcomes = await _apply_pushes(group)
    except Exception as exc:
        if len(group) == 1:
            group[0].done.set_exception(exc)
            return
        for push in group:
            try:
                async with write_transaction():
                    (outcome,) = await _apply_pushes([push])
            except Exception as alone:
                push.done.set_exception(alone)
            else:
                push.done.set_result(outcome)
        return
    for push, outcome in zip(group, outcomes, strict=True):
        push.done.set_result(outcome)


# Op types a push is applied alone for, in a round of its own: their checks read rows
# that another push of the same round could change (a supervision order's replies, a
# notice's rectifications).
_ALONE_TYPES = frozenset({"supervision_reply", "rectification"})


def _rounds(pushes: list[_Push]) -> list[list[_Push]]:
    """The pushes of one transaction cut into rounds, in arrival order. A round's pushes
    are checked one after another and then stored together: their events folded once
    per incident, their writes made with one statement per table. A round holds at most
    one push per device (a device's later push must see its earlier one stored), pushes
    of one bureau (one clock tolerance), and a push with a supervision reply or a
    rectification alone."""
    rounds: list[list[_Push]] = []
    devices: set[str] = set()
    closed = True  # whether the last round takes no more pushes
    for push in pushes:
        alone = any(isinstance(d.item, Op) and d.item.type in _ALONE_TYPES for d in push.decoded)
        if (
            closed
            or alone
            or push.caller.device_id in devices
            or push.caller.bureau_id != rounds[-1][0].caller.bureau_id
        ):
            rounds.append([push])
            devices = set()
        else:
            rounds[-1].append(push)
        devices.add(push.caller.device_id)
        closed = alone
    return rounds


async def _apply_pushes(pushes: list[_Push]) -> list[PushOutcome]:
    """Apply pushes inside the current write transaction, round by round (`_rounds`);
    their outcomes in the pushes' order, each with the feed's head as it commits."""
    outcomes: list[PushOutcome] = []
    for round_ in _rounds(pushes):
        outcomes.extend(await _apply_round(round_))
    head = await feed_head()
    for outcome in outcomes:
        outcome.head = head
    return outcomes


def _decode(raw: bytes, server_offset: int | None) -> _Decoded:
    try:
        op = decode_op(raw)
    except InvalidOp as exc:
        return _Decoded(exc, raw)
    try:
        effective = effective_time(op.device_time, op.clock_offset_ms, server_offset)
    except OutOfRange as exc:
        # Judged after the duplicate check (_apply): a re-delivery of an op already
        # applied is still a duplicate, whatever this request's sent_at.
        return _Decoded(op, raw, time_problem=str(exc))
    return _Decoded(op, raw, effective=effective)


@dataclass
class _Judged:
    """A push as checked: an answer per op, the ops accepted and the dead letters, with
    what the checks read (the incidents it names, as the caller sees them, and the
    stored versions its ops name)."""

    push: _Push
    results: list[OpResult]
    accepted: list[_Accepted]
    dead_letters: list[RejectedOp]
    incidents: dict[str, dict[str, Any]]
    roots: dict[str, dict[str, Any]]


async def _apply_round(pushes: list[_Push]) -> list[PushOutcome]:
    """Check each push of a round in turn, then store what they accepted together. The
    checks' reads are made once for the round, a statement each."""
    reads = await _read_round(pushes)
    # The ops accepted so far in this round, as the stored ones are read (`_known_ops`):
    # an op_id sent twice in a round is a duplicate, or a reuse from another device.
    accepted_here: dict[str, dict[str, Any]] = {}
    judged = [await _judge(push, reads, accepted_here) for push in pushes]
    dead_letters = [row for j in judged for row in j.dead_letters]
    if dead_letters:
        await RejectedOp.insert(*dead_letters)
    if any(j.accepted for j in judged):
        await _store([j for j in judged if j.accepted])
    acked = await _advance_acked_seqs([push.caller.device_id for push in pushes])
    return [
        PushOutcome(
            results=j.results,
            acked_seq=acked[j.push.caller.device_id],
            received_at=j.push.received_at,
        )
        for j in judged
    ]


@dataclass
class _RoundReads:
    """What the checks of a round's pushes read, once for the round."""

    held: dict[str, dict[str, Any]]  # stored events, by op_id
    dead: dict[str, dict[tuple[str, str | None], dict[str, Any]]]  # by device, then op
    # The incidents named, as each (person, station) of the round sees them.
    incidents: dict[tuple[str, str | None], dict[str, dict[str, Any]]]
    roots: dict[str, dict[str, Any]]


async def _read_round(pushes: list[_Push]) -> _RoundReads:
    ops = [d.item for push in pushes for d in push.decoded]
    op_ids = sorted({op.op_id for op in ops if op.op_id})
    held, dead = await _known_ops(sorted({p.caller.device_id for p in pushes}), op_ids)
    named: dict[tuple[str, str | None], tuple[Caller, set[str]]] = {}
    for push in pushes:
        caller = push.caller
        _, ids = named.setdefault((caller.person_id, caller.station_id), (caller, set()))
        ids.update(
            d.item.incident_id
            for d in push.decoded
            if isinstance(d.item, Op) and d.item.incident_id
        )
    incidents = {
        who: await _incidents_in_bureau(caller, sorted(ids)) for who, (caller, ids) in named.items()
    }
    return _RoundReads(held, dead, incidents, await _referenced_versions(ops))


async def _judge(
    push: _Push, reads: _RoundReads, accepted_here: dict[str, dict[str, Any]]
) -> _Judged:
    """Check a push's ops (PROTOCOL §3, §12): an answer for each, the ops to store and
    the dead letters to keep. Nothing is written here."""
    caller, decoded, received_at = push.caller, push.decoded, push.received_at
    held = reads.held
    dead = dict(reads.dead.get(caller.device_id, {}))
    incidents = reads.incidents[(caller.person_id, caller.station_id)]
    assigned = {i for i, row in incidents.items() if row["assigned"]}
    roots = reads.roots
    # The supervision orders and notices the ops answer (PROTOCOL §11).
    named = await named_in(caller, [d.item for d in decoded if isinstance(d.item, Op)])

    results: list[OpResult] = []
    accepted: list[_Accepted] = []
    dead_letters: list[RejectedOp] = []

    def dead_letter(
        item: Op | InvalidOp, raw: bytes, digest: str | None, code: str, message: str
    ) -> None:
        dead_letters.append(
            RejectedOp(
                id=new_id(),
                op_id=item.op_id,
                device_id=caller.device_id,
                seq=item.seq,
                bureau=caller.bureau_id,
                person=caller.person_id,
                station=caller.station_id,
                code=code,
                message=message,
                content_hash=digest,
                op=raw.decode("utf-8", "replace"),
                received_at=received_at,
            )
        )
        results.append(_reject(item.op_id, code, message))
        if item.op_id is not None:
            # The same op twice in one batch: one dead letter, the same answer twice.
            dead[(item.op_id, digest)] = {"code": code, "message": message}

    for entry in decoded:
        item, raw = entry.item, entry.raw
        if isinstance(item, InvalidOp):
            previous = dead.get((item.op_id, None)) if item.op_id else None
            if previous is not None:
                results.append(_reject(item.op_id, previous["code"], previous["message"]))
            else:
                dead_letter(item, raw, None, "invalid", str(item))
            continue
        digest = content_hash(item)
        earlier = held.get(item.op_id) or accepted_here.get(item.op_id)
        if earlier is not None:
            prior_hash = earlier["content_hash"]
            same_device = earlier["device_id"] == caller.device_id
            if prior_hash == digest and same_device:
                results.append(OpResult(op_id=item.op_id, status="duplicate"))
                continue
            previous = dead.get((item.op_id, digest))
            if previous is not None:
                results.append(_reject(item.op_id, previous["code"], previous["message"]))
            else:
                dead_letter(
                    item,
                    raw,
                    digest,
                    "op_id_reused",
                    "this op_id was already used for different content; the original stands",
                )
            continue
        previous = dead.get((item.op_id, digest))
        if previous is not None:
            # Re-delivered rejected op: the same answer, no second dead letter.
            results.append(_reject(item.op_id, previous["code"], previous["message"]))
            continue
        if entry.effective is None:
            dead_letter(item, raw, digest, "invalid", entry.time_problem or "no effective time")
            continue
        problem = _check_scope(caller, item, incidents, assigned, roots, named)
        if problem is not None:
            dead_letter(item, raw, digest, *problem)
            continue
        accepted_here[item.op_id] = {"content_hash": digest, "device_id": caller.device_id}
        accepted.append(_Accepted(item, digest, entry.effective))
        results.append(OpResult(op_id=item.op_id, status="applied"))

    return _Judged(push, results, accepted, dead_letters, incidents, roots)


def _marks(values: list[str]) -> str:
    return ", ".join("{}" for _ in values)


async def _known_ops(
    device_ids: list[str], op_ids: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[tuple[str, str | None], dict[str, Any]]]]:
    """The events already holding these op_ids, and these devices' dead letters for
    them (by device), in one round trip. A group holds at most 5,000 ops
    (`_GROUP_MAX_OPS`): within both engines' limits on a statement's values."""
    if not op_ids:
        return {}, {}
    rows = await fetch(
        "SELECT 'event' AS kind, op_id, content_hash, device_id, NULL AS code, NULL AS message"
        f" FROM event WHERE op_id IN ({_marks(op_ids)})"
        " UNION ALL SELECT 'dead', op_id, content_hash, device_id, code, message"
        f" FROM rejected_op WHERE device_id IN ({_marks(device_ids)})"
        f" AND op_id IN ({_marks(op_ids)})",
        *op_ids,
        *device_ids,
        *op_ids,
    )
    held = {r["op_id"]: r for r in rows if r["kind"] == "event"}
    dead: dict[str, dict[tuple[str, str | None], dict[str, Any]]] = {}
    for r in rows:
        if r["kind"] == "dead":
            dead.setdefault(r["device_id"], {})[(r["op_id"], r["content_hash"])] = r
    return held, dead


async def _incidents_in_bureau(
    caller: Caller, incident_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """The named incidents of the caller's bureau, each with whether the caller is
    currently assigned to it."""
    if not incident_ids:
        return {}
    rows = await fetch(
        "SELECT i.id, i.bureau, i.station, EXISTS (SELECT 1 FROM assignment a"
        " WHERE a.incident = i.id AND a.person = {} AND a.ended_at IS NULL) AS assigned,"
        " EXISTS (SELECT 1 FROM diversion d WHERE d.incident = i.id AND d.agency = {})"
        " AS diverted_to_caller"
        f" FROM incident i WHERE i.bureau = {{}} AND i.id IN ({_marks(incident_ids)})",
        caller.person_id,
        caller.station_id or "",
        caller.bureau_id,
        *incident_ids,
    )
    return {
        r["id"]: {
            **r,
            "assigned": bool(r["assigned"]),
            "diverted_to_caller": bool(r["diverted_to_caller"]),
        }
        for r in rows
    }


async def _referenced_versions(ops: list[Op | InvalidOp]) -> dict[str, dict[str, Any]]:
    """The stored versions that ops name as `record_id` or `base_op_id`: where each lives
    (incident, station, bureau) and which record it belongs to. Versions not stored yet
    are simply absent (they may still be on their way: `pending_base`)."""
    wanted = sorted(
        {ref for op in ops if isinstance(op, Op) for ref in (op.record_id, op.base_op_id) if ref}
    )
    if not wanted:
        return {}
    rows = await fetch(
        "SELECT op_id, record_id, incident, station, bureau, type FROM event"
        f" WHERE op_id IN ({_marks(wanted)})",
        *wanted,
    )
    return {r["op_id"]: r for r in rows}


def _check_scope(
    caller: Caller,
    op: Op,
    incidents: dict[str, dict[str, Any]],
    assigned: set[str],
    roots: dict[str, dict[str, Any]],
    named: Named,
) -> tuple[str, str] | None:
    """(code, message) if this caller may not record this op; None if they may."""
    if op.type == "supervision_reply":
        # Answered by the chief of the station the order was addressed to, wherever the
        # incident is now (server/write/supervision.py).
        return reply_problem(caller, op, named) or _lineage_problem(caller, op, roots)
    if op.type == "rectification":
        return rectification_problem(caller, op, named)
    if op.incident_id is not None:
        incident = incidents.get(op.incident_id)
        if incident is None:
            return ("unknown_incident", f"no incident {op.incident_id!r} in your bureau")
        answers = may_answer_diversion(caller, incident)
        if not may_record(caller, incident, assigned) and not answers:
            return ("forbidden", "this incident is neither your station's nor assigned to you")
        if op.type == "agency_feedback" and not answers:
            return (
                "forbidden",
                "only the people of the agency this call was diverted to may answer it",
            )
        return _lineage_problem(caller, op, roots)
    # A standalone mediation case: its edits must stay in a case the caller can see.
    if op.record_id is not None and op.record_id in roots:
        root = roots[op.record_id]
        if root.get("type") == "rectification":
            return ("invalid", "record_id names a rectification, not a mediation case")
        if root["incident"] is not None:
            return ("invalid", "record_id names a record of an incident; send that incident_id")
        if not may_record_in_case(caller, root):
            return ("forbidden", "this mediation case belongs to another station")
    return _lineage_problem(caller, op, roots)


def _lineage_problem(
    caller: Caller, op: Op, versions: dict[str, dict[str, Any]]
) -> tuple[str, str] | None:
    """An edit naming a stored version of some other record would wait as `pending_base`
    forever (the fold only looks inside the op's own record): refuse it at once."""
    for field, ref in (("record_id", op.record_id), ("base_op_id", op.base_op_id)):
        version = versions.get(ref) if ref else None
        if version is None:
            continue
        if version["bureau"] != caller.bureau_id or version["incident"] != op.incident_id:
            where = "another incident" if version["incident"] else "a standalone mediation case"
            return ("invalid", f"{field} {ref!r} is a version of a record of {where}")
        if field == "base_op_id" and (version["record_id"] or version["op_id"]) != (
            op.record_id or op.op_id
        ):
            return ("invalid", f"base_op_id {ref!r} is a version of another record")
    return None


async def _store(round_: list[_Judged]) -> None:
    """Store the ops a round's pushes accepted: their events, folded once per incident
    or mediation case with every push's new events, then the indexes beside them."""
    bureau_id = round_[0].push.caller.bureau_id
    groups: dict[Group, list[dict[str, Any]]] = {}
    rectifications: list[dict[str, Any]] = []  # no group: never folded (supervision.py)
    by_device: dict[str, list[dict[str, Any]]] = {}
    incidents: dict[str, dict[str, Any]] = {}
    # Each push's blob references, indexed as its caller could read then (_index_references).
    references: list[tuple[Caller, list[tuple[Op, Group]], datetime]] = []
    for judged in round_:
        push, caller = judged.push, judged.push.caller
        incidents.update(judged.incidents)
        named: list[tuple[Op, Group]] = []
        for a in judged.accepted:
            row = _event_row(caller, a, push)
            by_device.setdefault(caller.device_id, []).append(row)
            group = _group_of(caller, a.op, judged.incidents, judged.roots)
            named.append((a.op, group))
            if a.op.type == "rectification":
                rectifications.append(row)
            else:
                groups.setdefault(group, []).append(row)
        references.append((caller, named, push.received_at))
    _, tolerance = await sla_targets(bureau_id)
    reflagged = await _device_orders(by_device, tolerance)
    new_rows = [row for rows in by_device.values() for row in rows]
    refold = await _groups_of(bureau_id, reflagged, incidents)
    for group in refold:
        groups.setdefault(group, [])
    # The incidents that only gained events are folded together (reads and writes in
    # bulk); a push naming a clip may reach into other incidents: one at a time.
    in_bulk = not any(r["evidence_key"] for r in new_rows)
    bulk = [
        (group, rows)
        for group, rows in groups.items()
        if in_bulk and group.incident_id is not None and rows and group not in refold
    ]
    await reconcile_incidents(bulk, tolerance=tolerance)
    done = {group for group, _ in bulk}
    for group, rows in groups.items():
        if group not in done:
            await reconcile(group, rows, tolerance=tolerance, reread=group in refold)
    # Rating invites, once their events are stored (PROTOCOL §9; server/write/verdicts.py).
    await index_invites(new_rows)
    # Supervision replies and rectifications (PROTOCOL §11; server/write/supervision.py).
    await replies_stored(new_rows)
    await store_rectifications(rectifications)
    for caller, named, received_at in references:
        await _index_references(caller, named, received_at)


def _event_row(caller: Caller, a: _Accepted, push: _Push) -> dict[str, Any]:
    """The event row of an accepted op, before the fold sets its flags. Its JSON columns
    hold Python values until the row is inserted (reconcile.py `_insertable` encodes
    them): the fold and the feed's event view read the body without decoding it again."""
    op = a.op
    body = msgspec.to_builtins(op.body)
    return {
        "op_id": op.op_id,
        "incident": op.incident_id,
        "bureau": caller.bureau_id,
        "device_id": caller.device_id,
        "person": caller.person_id,
        "station": caller.station_id,
        "seq": op.seq,
        "type": op.type,
        "record_id": op.record_id,
        "base_op_id": op.base_op_id,
        "body": body,
        "content_hash": a.hash,
        "device_time": op.device_time,
        "clock_offset_ms": op.clock_offset_ms,
        "sent_at": push.sent_at,
        "received_at": push.received_at,
        "server_offset_ms": push.server_offset,
        "effective_time": a.effective,
        "flags": [],
        "parents": [],
        "evidence_key": evidence_key(op.type, body) if op.type == "bodycam_ref" else None,
        "device_high_water": None,
    }


def _group_of(
    caller: Caller,
    op: Op,
    incidents: dict[str, dict[str, Any]],
    roots: dict[str, dict[str, Any]],
) -> Group:
    """The incident or mediation case an accepted op is folded with; a rectification
    (never folded) is placed at the caller's station."""
    if op.type == "rectification":
        return Group(caller.bureau_id, station_id=caller.station_id)
    if op.incident_id is not None:
        station = incidents[op.incident_id]["station"]
        return Group(caller.bureau_id, op.incident_id, station_id=station)
    root_id = op.record_id or op.op_id
    root = roots.get(root_id)
    station = root["station"] if root else caller.station_id
    return Group(caller.bureau_id, mediation_root=root_id, station_id=station)


async def _device_orders(
    by_device: dict[str, list[dict[str, Any]]], tolerance: timedelta
) -> list[dict[str, Any]]:
    """Keep `device_high_water` true over each device's whole set of ops, whatever order
    they arrive in (sync.rules.device_high_water is the rule; this applies it to the new
    rows and the stored ones they can change). Sets it on the new rows; raises it on
    stored ops with a higher seq than a new one; returns the stored ops whose suspicion
    changed, whose records must be folded again.

    Only the stored ops at or above a device's lowest new seq are read, plus those at the
    next seq below it, whose own high water already sums up everything earlier: in the
    usual case (ops arriving in seq order) that is one row a device, found by the
    (device_id, seq) index; every device of a round in one statement."""
    lowest = {device_id: min(r["seq"] for r in rows) for device_id, rows in by_device.items()}
    stored: dict[str, list[dict[str, Any]]] = {}
    devices = list(by_device)
    for i in range(0, len(devices), _DEVICES_A_STATEMENT):
        chunk = devices[i : i + _DEVICES_A_STATEMENT]
        args: list[Any] = []
        for device_id in chunk:
            args += [device_id, device_id, lowest[device_id]]
        for r in await fetch(" UNION ALL ".join([_STORED_FROM] * len(chunk)), *args):
            stored.setdefault(r["device_id"], []).append(r)
    reflagged = []
    for device_id, rows in by_device.items():
        reflagged += await _device_order(
            rows, stored.get(device_id, []), lowest[device_id], tolerance
        )
    return reflagged


# SQLite takes at most 500 SELECTs joined by UNION ALL.
_DEVICES_A_STATEMENT = 200
# The next seq below is found by walking the index down from the lowest new one (ORDER BY
# ... DESC LIMIT 1), not by MAX(): PostgreSQL planned that MAX, on a table whose
# statistics were stale (a young database, or one grown since it was last analysed), as an
# aggregate over every stored op of the device, a read that grew with the phone's
# history (1.8 ms a push after 6,000 ops; docs/performance.md, session 17).
_STORED_FROM = (
    "SELECT device_id, op_id, seq, effective_time, device_high_water, incident, record_id,"
    " type FROM event WHERE device_id = {} AND seq >= COALESCE(("
    " SELECT seq FROM event WHERE device_id = {} AND seq < {} ORDER BY seq DESC LIMIT 1), 0)"
)


async def _device_order(
    rows: list[dict[str, Any]],
    stored: list[dict[str, Any]],
    lowest: int,
    tolerance: timedelta,
) -> list[dict[str, Any]]:
    """`_device_orders` for one device: its new rows, and its stored ones read."""
    ops: list[DeviceOp] = []
    before: datetime | None = None  # the latest effective time below `lowest`
    for r in stored:
        if r["seq"] < lowest:
            for t in (r["effective_time"], r["device_high_water"]):
                if t is not None and (before is None or as_utc(t) > before):
                    before = as_utc(t)
        else:
            ops.append(DeviceOp(r["op_id"], r["seq"], as_utc(r["effective_time"])))
    if before is not None:
        ops.append(DeviceOp("", lowest - 1, before))  # stands for every op below `lowest`
    ops.extend(DeviceOp(r["op_id"], r["seq"], r["effective_time"]) for r in rows)
    high_water = device_high_water(ops)
    for r in rows:
        r["device_high_water"] = high_water[r["op_id"]]
    reflagged = []
    for r in stored:
        if r["seq"] < lowest:
            continue
        old, new = as_utc_or_none(r["device_high_water"]), high_water[r["op_id"]]
        if new == old:
            continue
        await Event.update({Event.device_high_water: new}).where(Event.op_id == r["op_id"])
        effective = as_utc(r["effective_time"])
        if is_out_of_order(effective, old, tolerance) != is_out_of_order(effective, new, tolerance):
            reflagged.append(r)
    return reflagged


async def _groups_of(
    bureau_id: str, rows: list[dict[str, Any]], incidents: dict[str, dict[str, Any]]
) -> set[Group]:
    """The incidents and mediation cases that stored event rows belong to, as groups.
    Rectifications belong to neither: they are never folded."""
    rows = [r for r in rows if r.get("type") != "rectification"]
    if not rows:
        return set()
    incident_ids = sorted({r["incident"] for r in rows if r["incident"]} - set(incidents))
    stations = {i: row["station"] for i, row in incidents.items()}
    for i in range(0, len(incident_ids), 500):
        for row in await Incident.select(Incident.id, Incident.station).where(
            Incident.id.is_in(incident_ids[i : i + 500])
        ):
            stations[row["id"]] = row["station"]
    case_roots = sorted({r["record_id"] or r["op_id"] for r in rows if not r["incident"]})
    case_stations = {}
    for i in range(0, len(case_roots), 500):
        for row in await Event.select(Event.op_id, Event.station).where(
            Event.op_id.is_in(case_roots[i : i + 500])
        ):
            case_stations[row["op_id"]] = row["station"]
    groups = set()
    for r in rows:
        if r["incident"]:
            groups.add(Group(bureau_id, r["incident"], station_id=stations.get(r["incident"])))
        else:
            root = r["record_id"] or r["op_id"]
            groups.add(Group(bureau_id, mediation_root=root, station_id=case_stations.get(root)))
    return groups


async def _index_references(
    caller: Caller, references: list[tuple[Op, Group]], accepted_at: datetime
) -> None:
    """Write the reference index rows of the accepted ops (PROTOCOL §12): one per blob an
    op names, granted when its author (the caller) could read that blob when the op was
    accepted — judged before any of this push's references count."""
    named = [
        (op, group, blob_references(op.type, op.body))
        for op, group in references
        if op.type in REFERENCING_TYPES
    ]
    hashes = {sha for _, _, shas in named for sha in shas}
    if not hashes:
        return
    readable = await readable_attachments(caller, hashes)
    await bulk_insert(
        BlobRef,
        [
            {
                "id": f"{op.op_id}:{sha}",
                "sha256": sha,
                "op_id": op.op_id,
                "bureau": caller.bureau_id,
                "incident": op.incident_id,
                "station": group.station_id,
                "person": caller.person_id,
                "granted": sha in readable,
                "accepted_at": accepted_at,
            }
            for op, group, shas in named
            for sha in shas
        ],
    )


# A device's acked_seq moves over the run of seqs held (as events or dead letters) that
# starts right above it. SQLite finds the run's end itself: the lowest held seq above the
# floor whose next seq is not held, by probes of the (device_id, seq) indexes, a row a
# device (the read before returned every seq above the floor, a push's hundred, a row
# each, and Python walked them: 3.5% of the server's time under 4-device ingest). The
# end is only looked for when the seq above the floor is held (a device waiting for a
# lost seq may have many ops above it).
_HELD = (
    "(EXISTS (SELECT 1 FROM event e WHERE e.device_id = {device} AND e.seq = {seq})"
    " OR EXISTS (SELECT 1 FROM rejected_op r WHERE r.device_id = {device} AND r.seq = {seq}))"
)
_RUN_END = (
    "CASE WHEN {next_held} THEN (SELECT MIN(h.seq) FROM {table} h WHERE h.device_id = d.id"
    " AND h.seq > d.acked_seq AND NOT {successor_held}) END"
)
_SQLITE_RUN_ENDS = (
    "SELECT d.id AS device, d.acked_seq AS floor, "
    + ", ".join(
        _RUN_END.format(
            next_held=_HELD.format(device="d.id", seq="d.acked_seq + 1"),
            table=table,
            successor_held=_HELD.format(device="d.id", seq="h.seq + 1"),
        )
        + f" AS {table}_end"
        for table in ("event", "rejected_op")
    )
    + " FROM device d WHERE d.id IN ({marks})"
)
# PostgreSQL runs those probes at ~1 us each (1.4 ms for four devices of a hundred new
# ops, pg_stat_statements): there the seqs above each floor are read (LATERAL makes the
# floor the index's bound: the plain join was planned as a read of every event of the
# devices, then the floor as a filter) and numbered in order; the run above the floor is
# the seqs whose number is their distance from it (the first gap breaks the match for
# every seq after it). The devices that moved are updated in the same statement: each
# statement of a push's transaction is a round trip that waits for the busy event loop
# to come back to it (docs/performance.md, session 22).
_POSTGRES_ADVANCE = (
    "WITH run AS (SELECT d.id AS device, d.acked_seq AS floor,"
    " d.acked_seq + COUNT(s.seq) FILTER (WHERE s.seq = d.acked_seq + s.n) AS top"
    " FROM device d LEFT JOIN LATERAL (SELECT h.seq, ROW_NUMBER() OVER (ORDER BY h.seq) AS n"
    " FROM (SELECT e.seq FROM event e WHERE e.device_id = d.id AND e.seq > d.acked_seq"
    " UNION SELECT r.seq FROM rejected_op r WHERE r.device_id = d.id AND r.seq IS NOT NULL"
    " AND r.seq > d.acked_seq) h) s ON TRUE WHERE d.id IN ({marks}) GROUP BY d.id, d.acked_seq),"
    " moved AS (UPDATE device SET acked_seq = run.top FROM run"
    " WHERE device.id = run.device AND run.top <> run.floor)"
    " SELECT device, top FROM run"
)


async def _advance_acked_seqs(device_ids: list[str]) -> dict[str, int]:
    """Move each device's acked_seq over every seq now held, applied or dead-lettered;
    the devices' acked_seq."""
    marks = _marks(device_ids)
    acked = dict.fromkeys(device_ids, 0)
    if not is_sqlite():
        for r in await fetch(_POSTGRES_ADVANCE.replace("{marks}", marks), *device_ids):
            acked[r["device"]] = int(r["top"])
        return acked
    moved = []
    for r in await fetch(_SQLITE_RUN_ENDS.replace("{marks}", marks), *device_ids):
        floor = int(r["floor"])
        ends = [int(end) for end in (r["event_end"], r["rejected_op_end"]) if end is not None]
        acked[r["device"]] = top = min(ends) if ends else floor
        if top != floor:
            moved.append((top, r["device"]))
    await execute_many("UPDATE device SET acked_seq = {} WHERE id = {}", moved)
    return acked
