"""The command center's board (GET /api/board): every open incident in scope, at once.

A screen opens with the board and then follows the change feed from its `cursor`
(PROTOCOL §5), applying later `incident` changes on top. The feed head is read before
the records: every change after the cursor is delivered later, so a record read a
little newer than the cursor is at worst overwritten by an older change and then by the
newer one again; the screen ends current.
"""

from __future__ import annotations

from server.access.accounts import Caller
from server.access.scope import incident_scope
from server.core.clock import utcnow
from server.core.tables import Incident
from server.record.caller_data import answer_records
from server.record.incident import incident_records
from server.write.feed import feed_head, make_cursor
from sync.messages import OPEN_STATUSES
from sync.views import Board


async def board(caller: Caller, epoch: str) -> Board:
    """Open incidents in scope, newest received first, and the cursor of the feed."""
    head = await feed_head()
    now = utcnow()
    rows = (
        await Incident.select(Incident.id)
        .where(await incident_scope(caller))
        .where(Incident.status.is_in(list(OPEN_STATUSES)))
        .order_by(Incident.received_at, ascending=False)
        .order_by(Incident.id, ascending=False)
    )
    records = await incident_records([r["id"] for r in rows], now=now)
    # Caller data in full only where PROTOCOL §12 allows, masked elsewhere; audited.
    records = await answer_records(caller, records, "board")
    return Board(server_time=now, cursor=make_cursor(epoch, head), incidents=records)
