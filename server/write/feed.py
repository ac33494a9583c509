"""Step 5 of the write path: the change feed, one global, strictly increasing position
for every visible change.

Writers call `append_change(s)` inside `db.write_transaction()`, which serialises them
(SQLite's write lock; an advisory lock on PostgreSQL), so positions follow commit order.
Every append registers `announce.feed_moved` to run after the commit: the live hubs hear
of every committed change without any caller telling them. Pull and the WebSocket's
catch-up read the feed through `read_page`; the live hub reads new rows itself. A run of
one incident's event changes is stored as one row holding their positions; both readers
turn it back into one change a position (`spread`).

The feed stores each incident's full record; `read_page` masks the caller's name and
phone in the incident changes the reader may not see in full now (PROTOCOL §12,
server/record/caller_data.py), whenever the change was written, and audits the rest.
"""

from __future__ import annotations

import asyncio
import operator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from server.access.accounts import Caller
from server.access.scope import caller_data_incidents, change_scope_sql
from server.core import announce
from server.core.clock import utcnow
from server.core.db import (
    after_commit,
    bulk_insert,
    engine,
    execute_many,
    fetch,
    is_sqlite,
    noted,
)
from server.core.loops import PerLoop
from server.core.tables import Change
from server.record.caller_data import (
    Via,
    audit_reveal,
    carries_caller_data,
    masked_change_data,
)
from sync.messages import Change as WireChange


async def append_change(
    *,
    entity: str,
    entity_id: str,
    bureau_id: str,
    data: object,
    station_id: str | None = None,
    incident_id: str | None = None,
) -> None:
    """Append one change. Call inside a write transaction."""
    await append_changes(
        [
            {
                "entity": entity,
                "entity_id": entity_id,
                "bureau_id": bureau_id,
                "data": data,
                "station_id": station_id,
                "incident_id": incident_id,
            }
        ]
    )


async def append_changes(changes: list[dict[str, Any]]) -> None:
    """Append several changes (keys as `append_change`'s arguments), positions in list
    order. Call inside a write transaction. `data` is encoded here, so datetimes become
    RFC 3339 strings exactly as on the wire.

    A run of `event` changes of one incident (or case) is stored as one row spanning
    their positions (`_rows`): a push's events cost the feed a row each incident, not
    one each. Positions still follow the list, one a change, as readers see them."""
    if not changes:
        return
    rows = _rows(changes, utcnow())
    if is_sqlite():
        # Each row's last position is the feed's head when it is inserted, plus its span.
        await execute_many(_SQLITE_APPEND, [(row["span"], *_STORED(row)) for row in rows])
    else:
        # PostgreSQL: the positions are taken from the feed's sequence at once (the feed
        # lock is held: nobody else takes any meanwhile), then the rows go in one COPY.
        total = sum(row["span"] for row in rows)
        taken = await fetch(_POSTGRES_TAKE, total)
        pos = int(taken[0]["last"]) - total
        stored = []
        for row in rows:
            pos += row["span"]
            stored.append({"pos": pos, **row})
        await bulk_insert(Change, stored)
        notes = noted()
        if notes is not None:
            # The feed lock is held to the commit: this is the head until then.
            notes[_HEAD] = pos
    after_commit(announce.feed_moved)


# A row holds at most this many positions, so every row holding a position at or below
# p ends before p + MAX_SPAN: the live hub reads its rounds by a bounded range of rows.
MAX_SPAN = 1000

_COLUMNS = ("span", "entity", "entity_id", "bureau", "station", "incident", "data", "committed_at")
_STORED = operator.itemgetter(*_COLUMNS)  # a row's values in the order of _COLUMNS
_SQLITE_APPEND = (
    f'INSERT INTO "change" (pos, {", ".join(_COLUMNS)}) VALUES'
    f' ((SELECT COALESCE(MAX(pos), 0) FROM "change") + {{}}, {", ".join("{}" for _ in _COLUMNS)})'
)
_POSTGRES_TAKE = (
    "SELECT setval(pg_get_serial_sequence('\"change\"', 'pos'),"
    " nextval(pg_get_serial_sequence('\"change\"', 'pos')) + {} - 1) AS last"
)


def _rows(changes: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The feed rows of `changes`, in order: each run of two or more `event` changes in
    one scope (bureau, station, incident), up to MAX_SPAN, as one row whose `data` is
    the run's `[op_id, event]` pairs; every other change a row of its own (`span` 1)."""
    rows: list[dict[str, Any]] = []
    run: list[dict[str, Any]] = []

    def close_run() -> None:
        if len(run) == 1:
            rows.append(_row(run[0], 1, run[0]["data"], now))
        else:
            rows.append(_row(run[0], len(run), [(c["entity_id"], c["data"]) for c in run], now))
        run.clear()

    for change in changes:
        if run and (
            change["entity"] != "event" or _scope(change) != _scope(run[0]) or len(run) == MAX_SPAN
        ):
            close_run()
        if change["entity"] == "event":
            run.append(change)
        else:
            rows.append(_row(change, 1, change["data"], now))
    if run:
        close_run()
    return rows


def _scope(change: dict[str, Any]) -> tuple[Any, ...]:
    return (change["bureau_id"], change.get("station_id"), change.get("incident_id"))


def _row(change: dict[str, Any], span: int, data: object, now: datetime) -> dict[str, Any]:
    """A feed row: `data` is encoded here."""
    return {
        "span": span,
        "entity": change["entity"],
        "entity_id": change["entity_id"],
        "bureau": change["bureau_id"],
        "station": change.get("station_id"),
        "incident": change.get("incident_id"),
        "data": msgspec.json.encode(data).decode(),
        "committed_at": now,
    }


# ---------------------------------------------------------------------------------------
# Reading the feed (pull, and the WebSocket's catch-up).

MAX_PAGE = 1000  # pull's limit is clamped to this (PROTOCOL §4: at least 500)


def make_cursor(epoch: str, pos: int) -> str:
    return f"{epoch}.{pos}"


def parse_cursor(cursor: str | None, epoch: str, head: int) -> int | None:
    """The position a cursor stands for; 0 for none; None when it must be reset (another
    epoch, beyond the head, or unreadable)."""
    if cursor is None or cursor == "":
        return 0
    their_epoch, _, pos = cursor.rpartition(".")
    if their_epoch != epoch or not pos.isdigit() or len(pos) > 18:
        return None
    value = int(pos)
    return value if value <= head else None


# The note a PostgreSQL write transaction keeps of the last position it took.
_HEAD = "feed_head"


async def feed_head() -> int:
    """The feed's last position. Inside a PostgreSQL write transaction that has appended,
    the last position it took (no round trip: the feed lock keeps it the head until the
    commit); otherwise read."""
    notes = noted()
    if notes is not None and _HEAD in notes:
        return int(notes[_HEAD])
    rows = await fetch('SELECT MAX(pos) AS head FROM "change"')
    return int(rows[0]["head"] or 0)


@dataclass
class Page:
    changes: list[Any]  # sync.messages.Change
    cursor: str
    more: bool
    reset: bool


async def read_page(
    caller: Caller, epoch: str, cursor: str | None, limit: int, *, via: Via = "pull"
) -> Page:
    """One page of the feed after `cursor`, in position order, as `caller` may receive it
    now (caller data masked where they may not see it in full; `via` names the answer
    in the audit row of the rest: "pull" or "socket").

    The head is read first and the page bounded by it: positions are allocated in commit
    order, so every change at or below the head has committed and is visible, and nothing
    committed later can slip in out of order.
    """
    head = await feed_head()
    after = parse_cursor(cursor, epoch, head)
    reset = after is None
    after = after or 0
    limit = max(1, min(limit, MAX_PAGE))
    where, values = change_scope_sql(caller)
    rows = await _scope_rows(where, values, after, head, limit)
    full = await caller_data_incidents(caller, set(rows.carrying))
    masked = rows.carrying - full
    changes = rows.changes
    if masked:
        changes = list(changes)
        for i in rows.incident_rows:
            row = rows.rows[i]
            if row["entity_id"] in masked:
                changes[i] = WireChange(
                    pos=int(row["pos"]),
                    entity=row["entity"],
                    id=row["entity_id"],
                    data=msgspec.Raw(masked_change_data(row["data"])),
                )
    await audit_reveal(caller, full, via)
    more = len(rows.rows) == limit
    last = changes[-1].pos if (more and changes) else head
    return Page(changes=changes, cursor=make_cursor(epoch, last), more=more, reset=reset)


@dataclass(frozen=True)
class _ScopeRows:
    """A page of one scope's changes as stored, read once for every reader asking for
    it at the same moment; each reader masks its own copy (`read_page`)."""

    rows: list[dict[str, Any]]
    changes: list[WireChange]  # every change unmasked, in position order
    carrying: frozenset[str]  # the incidents whose changes here carry caller data
    incident_rows: tuple[int, ...]  # where the incident changes are among `rows`


# Reads of the same page of the same scope in flight at once: a reconnect storm's
# sockets of one scope ask for the same page (same scope, cursor and head) within
# moments of each other. They share one round trip and one decoding; nothing is kept
# once the read is done, so no reader gets what it would not have read itself.
_reading: PerLoop[dict[tuple[Any, ...], asyncio.Task[_ScopeRows]]] = PerLoop(dict)


async def _scope_rows(
    where: str, values: list[Any], after: int, head: int, limit: int
) -> _ScopeRows:
    if engine().current_transaction.get() is not None:
        return await _read_scope_rows(where, values, after, head, limit)  # its own view
    key = (where, tuple(values), after, head, limit)
    reading = _reading.get()
    task = reading.get(key)
    if task is None:
        task = asyncio.create_task(_read_scope_rows(where, values, after, head, limit))
        reading[key] = task
        task.add_done_callback(lambda done: _forget(reading, key, done))
    # Shielded: a reader that goes away does not cancel the read the others wait on.
    return await asyncio.shield(task)


def _forget(
    reading: dict[tuple[Any, ...], asyncio.Task[_ScopeRows]],
    key: tuple[Any, ...],
    done: asyncio.Task[_ScopeRows],
) -> None:
    if reading.get(key) is done:
        del reading[key]
    if not done.cancelled():
        done.exception()  # retrieved: every reader may have gone away


async def _read_scope_rows(
    where: str, values: list[Any], after: int, head: int, limit: int
) -> _ScopeRows:
    # Every row ends at or below the head (it is the last row's end): a row spanning
    # positions is read whole when it ends after `after`, and cut to the page.
    stored = await Change.raw(
        'SELECT pos, span, entity, entity_id, data FROM "change" WHERE pos > {} AND pos <= {}'
        " AND " + where + " ORDER BY pos LIMIT {}",
        after,
        head,
        *values,
        limit,
    )
    rows = spread(stored, after, head)[:limit]
    incident_rows = tuple(i for i, r in enumerate(rows) if r["entity"] == "incident")
    return _ScopeRows(
        rows=rows,
        changes=[
            WireChange(
                pos=int(r["pos"]), entity=r["entity"], id=r["entity_id"], data=raw_data(r["data"])
            )
            for r in rows
        ],
        carrying=frozenset(
            rows[i]["entity_id"] for i in incident_rows if carries_caller_data(rows[i]["data"])
        ),
        incident_rows=incident_rows,
    )


def spread(rows: list[dict[str, Any]], after: int, upto: int) -> list[dict[str, Any]]:
    """The changes of feed rows read in position order, one a position, those in
    (`after`, `upto`] only: a row spanning positions becomes one `event` change each,
    its `data` the event's (msgspec.Raw), its other columns the row's."""
    out: list[dict[str, Any]] = []
    for row in rows:
        span = row["span"]
        if span == 1:
            if after < row["pos"] <= upto:
                out.append(row)
            continue
        first = row["pos"] - span + 1
        run = (
            row["data"]
            if isinstance(row["data"], str | bytes)
            else msgspec.json.encode(row["data"])
        )
        for pos, (op_id, data) in enumerate(_RUN.decode(run), start=first):
            if after < pos <= upto:
                out.append({**row, "pos": pos, "span": 1, "entity_id": op_id, "data": data})
    return out


_RUN = msgspec.json.Decoder(list[tuple[str, msgspec.Raw]])


def raw_data(data: Any) -> msgspec.Raw:
    """A change's stored `data` as it goes on the wire."""
    if isinstance(data, msgspec.Raw):
        return data
    if isinstance(data, str):
        return msgspec.Raw(data.encode())
    if isinstance(data, bytes):
        return msgspec.Raw(data)
    return msgspec.Raw(msgspec.json.encode(data))
