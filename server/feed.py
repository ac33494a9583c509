"""The change feed: one global, strictly increasing position for every visible change.

Writers call `append_change` inside `db.write_transaction()`, which serialises them
(SQLite's write lock; an advisory lock on PostgreSQL), so positions follow commit order.
Pull and WebSocket push (the sync work) read this table.
"""

from __future__ import annotations

import msgspec

from server.tables import Change
from server.timeutil import utcnow


async def append_change(
    *,
    entity: str,
    entity_id: str,
    bureau_id: str,
    data: object,
    station_id: str | None = None,
    incident_id: str | None = None,
) -> int:
    """Append one change; returns its position. Call inside a write transaction."""
    rows = await Change.insert(
        Change(
            entity=entity,
            entity_id=entity_id,
            bureau=bureau_id,
            station=station_id,
            incident=incident_id,
            # Encoded here so datetimes become RFC 3339 strings exactly as on the wire.
            data=msgspec.json.encode(data).decode(),
            committed_at=utcnow(),
        )
    ).returning(Change.pos)
    return int(rows[0]["pos"])
