"""Step 5 of the write path: the change feed, one global, strictly increasing position
for every visible change.

Writers call `append_change(s)` inside `db.write_transaction()`, which serialises them
(SQLite's write lock; an advisory lock on PostgreSQL), so positions follow commit order.
Every append registers `announce.feed_moved` to run after the commit: the live hubs hear
of every committed change without any caller telling them. Pull and the WebSocket's
catch-up read the feed through `read_page`; the live hub reads new rows itself.

The feed stores each incident's full record; `read_page` masks the caller's name and
phone in the incident changes the reader may not see in full now (PROTOCOL §12,
server/record/caller_data.py), whenever the change was written, and audits the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from server.access.accounts import Caller
from server.access.scope import caller_data_incidents, change_scope_sql
from server.core import announce
from server.core.clock import utcnow
from server.core.db import after_commit, bulk_insert
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
    """Append several changes in one statement (keys as `append_change`'s arguments),
    positions in list order. Call inside a write transaction. `data` is encoded here, so
    datetimes become RFC 3339 strings exactly as on the wire."""
    if not changes:
        return
    now = utcnow()
    await bulk_insert(
        Change,
        [
            {
                "entity": c["entity"],
                "entity_id": c["entity_id"],
                "bureau": c["bureau_id"],
                "station": c.get("station_id"),
                "incident": c.get("incident_id"),
                "data": msgspec.json.encode(c["data"]).decode(),
                "committed_at": now,
            }
            for c in changes
        ],
    )
    after_commit(announce.feed_moved)


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


async def feed_head() -> int:
    rows = await Change.raw('SELECT MAX(pos) AS head FROM "change"')
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
    rows = await Change.raw(
        'SELECT pos, entity, entity_id, data FROM "change" WHERE pos > {} AND pos <= {} AND '
        + where
        + " ORDER BY pos LIMIT {}",
        after,
        head,
        *values,
        limit,
    )
    carrying = {
        r["entity_id"] for r in rows if r["entity"] == "incident" and carries_caller_data(r["data"])
    }
    full = await caller_data_incidents(caller, carrying)
    masked = carrying - full
    changes = [
        WireChange(
            pos=int(r["pos"]),
            entity=r["entity"],
            id=r["entity_id"],
            data=msgspec.Raw(masked_change_data(r["data"]))
            if r["entity"] == "incident" and r["entity_id"] in masked
            else _raw(r["data"]),
        )
        for r in rows
    ]
    await audit_reveal(caller, full, via)
    more = len(rows) == limit
    last = changes[-1].pos if (more and changes) else head
    return Page(changes=changes, cursor=make_cursor(epoch, last), more=more, reset=reset)


def _raw(data: Any) -> msgspec.Raw:
    if isinstance(data, str):
        return msgspec.Raw(data.encode())
    if isinstance(data, bytes):
        return msgspec.Raw(data)
    return msgspec.Raw(msgspec.json.encode(data))
