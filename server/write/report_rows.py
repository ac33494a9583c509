"""Report rows (`report_row`): what the reports count of each incident, kept with its
clocks (server/write/publish.py `store_clocks` calls `store_report_row`, so every write
that stores the clocks, a publish or the SLA watch, keeps the row too), and with its
callback task (`store_callback_state`, after each write of the task: server/write/
verdicts.py, server/services/verdicts.py).

The row is the incident's station, category, status and times (as its record has them,
read from the incident row), its arrival, initial-result and clear clocks (what
`sla_clock` gets), 三反馈, the citizen's verdict and the callback task's state.
server/services/reports.py reads a period as one range of it instead of looking up each
incident's clocks, verdict and callback task. The upsert writes only when a value
changed: most writes (a note, a review) change none.
`rebuild` makes every row again from the tables, for rows seeded by hand
(bench/command.py); migrations/core/core_2026_12_02t10_00_00_000000.py does the same
for the incidents of a database from before.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from server.core.db import fetch, is_sqlite
from server.core.tables import ReportRow
from server.write.group import Deferred, write_row
from sync.rules import Clock
from sync.views import IncidentRecord

COLUMNS = (
    "id",
    "bureau",
    "received_at",
    "number",
    "station",
    "category",
    "status",
    "dispatched_at",
    "closed_at",
    "cancelled_at",
    "feedbacks_complete",
    "arrival_due_at",
    "arrival_met_at",
    "arrival_span_us",
    "initial_due_at",
    "initial_met_at",
    "clear_due_at",
    "overall",
    "reception",
    "timeliness",
    "conduct",
    "handling",
)
_CHANGING = COLUMNS[1:]
# Kept by `store_callback_state`, not by the upsert.
ALL_COLUMNS = (*COLUMNS, "callback_state")
_MICROSECOND = timedelta(microseconds=1)


def _upsert(sqlite: bool) -> str:
    # Row values compare NULL-safely with IS NOT (SQLite) / IS DISTINCT FROM (PostgreSQL).
    differs = "IS NOT" if sqlite else "IS DISTINCT FROM"
    ours = ", ".join(f"report_row.{c}" for c in _CHANGING)
    theirs = ", ".join(f"excluded.{c}" for c in _CHANGING)
    return (
        f'INSERT INTO "report_row" ({", ".join(COLUMNS)})'
        f" VALUES ({', '.join('{}' for _ in COLUMNS)})"
        " ON CONFLICT (id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in _CHANGING)
        + f" WHERE ({ours}) {differs} ({theirs})"
    )


_UPSERT = {True: _upsert(True), False: _upsert(False)}


def _span_us(dispatched_at: datetime | None, arrived_at: datetime | None) -> int | None:
    """From dispatch to arrival in whole microseconds (exact: the reports' percentiles
    rank these), when both are known."""
    if dispatched_at is None or arrived_at is None:
        return None
    return (arrived_at - dispatched_at) // _MICROSECOND


def report_values(record: IncidentRecord, clocks: dict[str, Clock]) -> list[Any]:
    """The incident's report row, in `COLUMNS` order."""
    arrival = clocks.get("arrival")
    initial = clocks.get("initial_result")
    clear = clocks.get("clear")
    verdict = record.feedback[0] if record.feedback else None
    ratings = verdict.ratings if verdict is not None else None
    three = record.three_feedbacks
    return [
        record.id,
        record.bureau_id,
        record.received_at,
        record.number,
        record.station_id,
        record.category,
        record.status,
        record.dispatched_at,
        record.closed_at,
        record.cancelled_at,
        three.arrival and three.scene and three.disposition,
        arrival.due_at if arrival else None,
        arrival.met_at if arrival else None,
        _span_us(record.dispatched_at, arrival.met_at if arrival else None),
        initial.due_at if initial else None,
        initial.met_at if initial else None,
        clear.due_at if clear else None,
        verdict.overall if verdict else None,
        ratings.reception if ratings else None,
        ratings.timeliness if ratings else None,
        ratings.conduct if ratings else None,
        ratings.handling if ratings else None,
    ]


async def store_report_row(
    record: IncidentRecord, clocks: dict[str, Clock], deferred: Deferred | None = None
) -> None:
    """Store the incident's report row, with its clocks. Call inside a write transaction;
    with `deferred`, the row is stored when it is flushed, with the push's others."""
    await write_row(_UPSERT[is_sqlite()], tuple(report_values(record, clocks)), deferred)


_CALLBACK_STATE = (
    'UPDATE "report_row" SET callback_state ='
    ' (SELECT state FROM "callback_task" WHERE id = {}) WHERE id = {}'
)


async def store_callback_state(incident_id: str) -> None:
    """Copy the incident's callback task's state (PROTOCOL §9) into its report row. Call
    after each write of the task, inside its write transaction (tasks change rarely: one
    statement each time)."""
    await fetch(_CALLBACK_STATE, incident_id, incident_id)


def _micros(column: str) -> str:
    """A SQLite timestamp (UTC text) as whole microseconds since the epoch, exactly."""
    return (
        f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000 + CASE WHEN"
        f" substr({column}, 20, 1) = '.' THEN CAST(substr({column}, 21, 6) AS INTEGER) ELSE 0 END)"
    )


# `_span_us` in SQL: NULL unless both times are there.
_SPAN = {
    True: f"{_micros('ca.met_at')} - {_micros('i.dispatched_at')}",
    False: "CAST(EXTRACT(EPOCH FROM ca.met_at - i.dispatched_at) * 1000000 AS BIGINT)",
}


def _rebuild(sqlite: bool) -> str:
    return (
        f'INSERT INTO "report_row" ({", ".join(ALL_COLUMNS)})'
        " SELECT i.id, i.bureau, i.received_at, i.number, i.station, i.category, i.status,"
        " i.dispatched_at, i.closed_at, i.cancelled_at, i.feedbacks_complete, ca.due_at,"
        f" ca.met_at, {_SPAN[sqlite]}, ci.due_at, ci.met_at, cc.due_at, f.overall,"
        ' f.reception, f.timeliness, f.conduct, f.handling, cb.state FROM "incident" i'
        " LEFT JOIN sla_clock ca ON ca.id = i.id || ':arrival'"
        " LEFT JOIN sla_clock ci ON ci.id = i.id || ':initial_result'"
        " LEFT JOIN sla_clock cc ON cc.id = i.id || ':clear'"
        " LEFT JOIN feedback f ON f.id = i.id"
        " LEFT JOIN callback_task cb ON cb.id = i.id"
    )


async def rebuild() -> None:
    """Make every incident's report row again from the incident, its stored clocks, its
    verdict and its callback task (incident rows seeded in bulk have none). Call inside a write transaction."""
    await ReportRow.raw('DELETE FROM "report_row"')
    await ReportRow.raw(_rebuild(is_sqlite()))
