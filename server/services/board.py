"""The command center's board (GET /api/board): every open incident in scope, at once.

A screen opens with the board and then follows the change feed from its `cursor`
(PROTOCOL §5), applying later `incident` changes on top. The feed head is read before
the rows: every change after the cursor is delivered later, so a row read a little
newer than the cursor is at worst overwritten by an older change and then by the newer
one again; the screen ends current.

The board carries summary rows (`sync.views.BoardRow`), not full records: what the
board's rows, filters, badges, clocks and counts show (docs/command.md "The board").
They are read with one raw SQL statement per table over what the write path already
stores (`incident`, `sla_clock`, `assignment`, `review_item`, `supervision_order`,
`diversion`), joined to the open incidents in scope: no record is built and no
incident's events are folded. A row carries no caller data, so the board reveals none
and audits none (PROTOCOL §12): the incident panel fetches the full record, masked and
audited as every `GET /api/incidents/{id}` is.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import msgspec

from server.access.accounts import Caller
from server.access.scope import incident_scope_sql
from server.core.clock import as_utc, as_utc_or_none, utcnow
from server.core.db import write_transaction
from server.core.tables import BoardRowStore, Incident
from server.record.board import board_row_json
from server.record.diversions import (
    NO_DIVERSIONS,
    DiversionFacts,
    DiversionSummary,
    diversion_summary,
)
from server.record.events import load_json
from server.record.incident import incident_records
from server.record.supervision import order_clock_state
from server.record.views import review_ref
from server.write.feed import feed_head, make_cursor
from sync.messages import OPEN_STATUSES
from sync.views import (
    Board,
    BoardAssignee,
    BoardDiversion,
    BoardRow,
    ClockView,
    ReviewRef,
    SupervisionRef,
)

log = logging.getLogger("qingling.board")

# The open incidents in scope; `{scope}` is `incident_scope_sql`'s clause over `i`.
_OPEN = "i.status IN ('" + "', '".join(sorted(OPEN_STATUSES)) + "') AND {scope}"
# Their ids, for the child tables (a semi-join: each read through its incident index).
_OPEN_IDS = " IN (SELECT i.id FROM incident i WHERE " + _OPEN + ")"

# The stored rows (server/write/publish.py `store_board_row`), in the board's order.
_STORED = (
    "SELECT b.data FROM incident i LEFT JOIN board_row b ON b.id = i.id WHERE "
    + _OPEN
    + " ORDER BY i.received_at DESC, i.id DESC"
)
_INCIDENTS = (
    "SELECT i.id, i.number, i.status, i.version, i.category, i.area_type, i.address,"
    " i.narrative, i.received_at, i.received_back_entered, i.station, i.dispatched_at"
    " FROM incident i WHERE " + _OPEN + " ORDER BY i.received_at DESC, i.id DESC"
)
_CLOCKS = (
    "SELECT c.incident, c.name, c.due_at, c.met_at FROM sla_clock c WHERE c.incident" + _OPEN_IDS
)
_ASSIGNEES = (
    "SELECT a.incident, a.person, p.name FROM assignment a JOIN person p ON p.id = a.person"
    " WHERE a.ended_at IS NULL AND a.incident" + _OPEN_IDS + " ORDER BY a.assigned_at, a.id"
)
_REVIEWS = (
    "SELECT r.incident, r.id, r.kind, r.clock, r.op_id, r.record_id, r.state FROM review_item r"
    " WHERE r.state = 'open' AND r.incident" + _OPEN_IDS + " ORDER BY r.created_at, r.id"
)
_ORDERS = (
    "SELECT o.incident, o.id, o.level, o.state, o.due_at, o.met_at FROM supervision_order o"
    " WHERE o.state <> 'accepted' AND o.incident" + _OPEN_IDS + " ORDER BY o.issued_at, o.id"
)
_DIVERSIONS = (
    "SELECT d.incident, d.id, d.agency, s.name AS agency_name, d.diverted_at, d.returned_at,"
    " d.feedback_op_id FROM diversion d JOIN station s ON s.id = d.agency"
    " WHERE d.incident" + _OPEN_IDS + " ORDER BY d.diverted_at, d.id"
)
_RETURN_TEXTS = "SELECT op_id, body FROM event WHERE op_id IN ({})"


def clock_view(due_at: datetime | None, met_at: datetime | None, now: datetime) -> ClockView:
    """A stored clock of an open incident at `now` (sync.rules `sla_clock`: not started
    is running with no due time; met on or before due: met, after: met_late; not met and
    past due: overdue)."""
    if due_at is None:
        return ClockView(due_at=None, met_at=met_at, state="running")
    if met_at is not None:
        return ClockView(
            due_at=due_at, met_at=met_at, state="met" if met_at <= due_at else "met_late"
        )
    return ClockView(due_at=due_at, met_at=None, state="overdue" if now > due_at else "running")


async def _rows(sql: str, scope: str, values: list[Any]) -> list[dict[str, Any]]:
    return await Incident.raw(sql.format(scope=scope), *values)  # type: ignore[no-any-return]


async def board_rows(caller: Caller, now: datetime) -> list[BoardRow]:
    """The open incidents in `caller`'s scope as board rows, newest received first."""
    scope, values = incident_scope_sql(caller)
    incidents = await _rows(_INCIDENTS, scope, values)
    if not incidents:
        return []
    clocks: dict[str, dict[str, ClockView]] = {}
    for c in await _rows(_CLOCKS, scope, values):
        clocks.setdefault(c["incident"], {})[c["name"]] = clock_view(
            as_utc_or_none(c["due_at"]), as_utc_or_none(c["met_at"]), now
        )
    assignees: dict[str, list[BoardAssignee]] = {}
    for a in await _rows(_ASSIGNEES, scope, values):
        assignees.setdefault(a["incident"], []).append(
            BoardAssignee(person_id=a["person"], name=a["name"])
        )
    reviews: dict[str, list[ReviewRef]] = {}
    for r in await _rows(_REVIEWS, scope, values):
        reviews.setdefault(r["incident"], []).append(review_ref(r))
    orders: dict[str, list[SupervisionRef]] = {}
    for o in await _rows(_ORDERS, scope, values):
        due_at = as_utc(o["due_at"])
        orders.setdefault(o["incident"], []).append(
            SupervisionRef(
                id=o["id"],
                level=o["level"],
                state=o["state"],
                due_at=due_at,
                clock_state=order_clock_state(  # type: ignore[arg-type]
                    o["state"], due_at, as_utc_or_none(o["met_at"]), now
                ),
            )
        )
    diversions: dict[str, list[dict[str, Any]]] = {}
    for d in await _rows(_DIVERSIONS, scope, values):
        diversions.setdefault(d["incident"], []).append(d)
    # As the record has them (server/record/diversions.py).
    summaries = {
        i["id"]: diversion_summary(_facts(diversions[i["id"]]), as_utc_or_none(i["dispatched_at"]))
        for i in incidents
        if i["id"] in diversions
    }
    returns = await _return_texts(list(summaries.values()))
    out = []
    for i in incidents:
        incident_id = i["id"]
        summary = summaries.get(incident_id, NO_DIVERSIONS)
        diversion = None
        if summary.current_id is not None:
            d = next(r for r in diversions[incident_id] if r["id"] == summary.current_id)
            diversion = BoardDiversion(agency_id=d["agency"], agency_name=d["agency_name"])
        out.append(
            BoardRow(
                id=incident_id,
                number=i["number"],
                status=i["status"],
                version=i["version"],
                category=i["category"],
                area_type=i["area_type"],
                address=i["address"],
                narrative=i["narrative"],
                received_at=as_utc(i["received_at"]),
                received_back_entered=bool(i["received_back_entered"]),
                station_id=i["station"],
                assignees=assignees.get(incident_id, []),
                clocks=clocks.get(incident_id, {}),
                review_items=reviews.get(incident_id, []),
                supervision=orders.get(incident_id, []),
                diversion=diversion,
                diversions_returned=summary.returned,
                returned_reason=returns.get(summary.latest_return_op_id or ""),
            )
        )
    return out


def _facts(rows: list[dict[str, Any]]) -> list[DiversionFacts]:
    return [
        DiversionFacts(
            diversion_id=r["id"],
            diverted_at=as_utc(r["diverted_at"]),
            returned_at=as_utc_or_none(r["returned_at"]),
            feedback_op_id=r["feedback_op_id"],
        )
        for r in rows
    ]


async def _return_texts(summaries: list[DiversionSummary]) -> dict[str, str]:
    """The words of each incident's latest return (its `agency_feedback`), by op id."""
    op_ids = sorted({s.latest_return_op_id for s in summaries if s.latest_return_op_id})
    texts: dict[str, str] = {}
    for start in range(0, len(op_ids), 500):
        chunk = op_ids[start : start + 500]
        marks = ", ".join("{}" for _ in chunk)
        for e in await Incident.raw(_RETURN_TEXTS.format(marks), *chunk):
            texts[e["op_id"]] = str(load_json(e["body"]).get("text", ""))
    return texts


async def board_json(caller: Caller, epoch: str) -> bytes:
    """GET /api/board's answer (a `Board`, as JSON): open incidents in scope as board
    rows, newest received first, and the feed cursor. The rows are the stored ones,
    spliced in as stored; while any open incident in scope has none (published before
    rows were stored), every row is built from the tables (`board_rows`)."""
    head = await feed_head()
    now = utcnow()
    scope, values = incident_scope_sql(caller)
    stored = [r["data"] for r in await _rows(_STORED, scope, values)]
    head_json = msgspec.json.encode({"server_time": now, "cursor": make_cursor(epoch, head)})
    if all(data is not None for data in stored):
        rows = ("[" + ",".join(stored) + "]").encode()
    else:
        rows = msgspec.json.encode(await board_rows(caller, now))
    return head_json[:-1] + b',"incidents":' + rows + b"}"


async def board(caller: Caller, epoch: str) -> Board:
    """`board_json` decoded (for callers in-process)."""
    return msgspec.json.decode(await board_json(caller, epoch), type=Board)


# Open incidents without a stored row (published before rows were stored, migration
# 2026-12-01T12:00), after the id given, in id order: the board reads only open ones.
_MISSING = (
    "SELECT i.id FROM incident i LEFT JOIN board_row b ON b.id = i.id"
    " WHERE b.id IS NULL AND i.status IN ('"
    + "', '".join(sorted(OPEN_STATUSES))
    + "') AND i.id > {} ORDER BY i.id LIMIT {}"
)
# A publish may store the row meanwhile: its row is the newer one, so keep it.
_INSERT_MISSING = 'INSERT INTO "board_row" (id, data) VALUES ({}, {}) ON CONFLICT (id) DO NOTHING'


async def store_missing_board_rows(batch: int = 200) -> int:
    """Store the board row of every open incident that has none, as a publish would
    (server/write/publish.py `store_board_row`), `batch` incidents per transaction; the
    number stored. Run at start-up and by `qingling migrate`, after the migrations:
    once the old incidents have rows, the board reads stored rows only and this finds
    none."""
    stored = 0
    after = ""
    while True:
        ids = [r["id"] for r in await Incident.raw(_MISSING, after, batch)]
        if not ids:
            break
        after = ids[-1]
        records = await incident_records(ids)
        async with write_transaction():
            for record in records:
                await BoardRowStore.raw(_INSERT_MISSING, record.id, board_row_json(record))
        stored += len(records)
    if stored:
        log.info("stored the board rows of %d open incidents published before rows were", stored)
    return stored
