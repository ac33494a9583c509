"""`report_row`: one row per incident with what the reports count (PROTOCOL §7, §9, §11):
its station, category, status and times, its arrival, initial-result and clear clocks,
三反馈, the citizen's verdict and the callback task's state. Written with the incident's clocks by every write that
stores them (server/write/report_rows.py), so a report's period is one range read of
this table instead of primary-key look-ups of `sla_clock` and `feedback` per incident.

On SQLite the table is clustered by `(bureau, received_at, id)` (WITHOUT ROWID): a
period's rows lie together and carry every column the reports read. PostgreSQL keeps
an index on `(bureau, received_at)`. Existing incidents get their row here, from the
incident, its stored clocks, its verdict and its callback task (what the reports read
before). And two partial indexes of `event` for the mediation outcomes.

Raw SQL valid on SQLite and PostgreSQL (no literal braces: Piccolo's raw() reads them
as placeholders).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.sqlite import SQLiteEngine

ID = "2026-12-02T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "report rows: what the reports count, one row per incident"

_COLUMNS = (
    ' "id" VARCHAR(64) NOT NULL,'
    ' "bureau" VARCHAR(64) NOT NULL,'
    ' "received_at" TIMESTAMPTZ NOT NULL,'
    ' "number" VARCHAR(32) NOT NULL,'
    ' "station" VARCHAR(64),'
    ' "category" VARCHAR(32) NOT NULL,'
    ' "status" VARCHAR(16) NOT NULL,'
    ' "dispatched_at" TIMESTAMPTZ,'
    ' "closed_at" TIMESTAMPTZ,'
    ' "cancelled_at" TIMESTAMPTZ,'
    ' "feedbacks_complete" BOOLEAN NOT NULL DEFAULT FALSE,'
    ' "arrival_due_at" TIMESTAMPTZ,'
    ' "arrival_met_at" TIMESTAMPTZ,'
    ' "arrival_span_us" BIGINT,'
    ' "initial_due_at" TIMESTAMPTZ,'
    ' "initial_met_at" TIMESTAMPTZ,'
    ' "clear_due_at" TIMESTAMPTZ,'
    ' "overall" VARCHAR(24),'
    ' "reception" VARCHAR(24),'
    ' "timeliness" VARCHAR(24),'
    ' "conduct" VARCHAR(24),'
    ' "handling" VARCHAR(24),'
    ' "callback_state" VARCHAR(16),'
)
# Mediation outcomes (few among the events) in indexes of their own: the reports look up
# the period's incidents' outcomes, and the standalone cases by effective time, without
# reading every event's index entry (server/services/reports.py `_mediation`).
_MEDIATION_INDEXES = [
    'CREATE INDEX IF NOT EXISTS event_mediation ON "event" (incident)'
    " WHERE type = 'mediation_outcome'",
    'CREATE INDEX IF NOT EXISTS event_mediation_standalone ON "event" (bureau, effective_time)'
    " WHERE type = 'mediation_outcome' AND incident IS NULL AND record_id IS NULL",
]
_SQLITE = [
    'CREATE TABLE IF NOT EXISTS "report_row" ('
    + _COLUMNS
    + ' PRIMARY KEY ("bureau", "received_at", "id")) WITHOUT ROWID',
    'CREATE UNIQUE INDEX IF NOT EXISTS report_row_id ON "report_row" ("id")',
]
_POSTGRES = [
    'CREATE TABLE IF NOT EXISTS "report_row" (' + _COLUMNS + ' PRIMARY KEY ("id"))',
    'CREATE INDEX IF NOT EXISTS report_row_period ON "report_row" ("bureau", "received_at")',
]


def _micros(column: str) -> str:
    """A SQLite timestamp (UTC text) as whole microseconds since the epoch, exactly."""
    return (
        f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000 + CASE WHEN"
        f" substr({column}, 20, 1) = '.' THEN CAST(substr({column}, 21, 6) AS INTEGER) ELSE 0 END)"
    )


# From dispatch to the arrival clock's met time in whole microseconds; NULL unless both.
_SPAN = {
    True: f"{_micros('ca.met_at')} - {_micros('i.dispatched_at')}",
    False: "CAST(EXTRACT(EPOCH FROM ca.met_at - i.dispatched_at) * 1000000 AS BIGINT)",
}


def _backfill(sqlite: bool) -> str:
    return (
        'INSERT INTO "report_row" (id, bureau, received_at, number, station, category, status,'
        " dispatched_at, closed_at, cancelled_at, feedbacks_complete, arrival_due_at,"
        " arrival_met_at, arrival_span_us, initial_due_at, initial_met_at, clear_due_at,"
        " overall, reception, timeliness, conduct, handling, callback_state)"
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


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create() -> None:
        sqlite = isinstance(Meta._meta.db, SQLiteEngine)
        for statement in [*(_SQLITE if sqlite else _POSTGRES), *_MEDIATION_INDEXES]:
            await Meta.raw(statement)
        await Meta.raw(_backfill(sqlite))

    async def drop() -> None:
        await Meta.raw('DROP TABLE IF EXISTS "report_row"')
        await Meta.raw("DROP INDEX IF EXISTS event_mediation")
        await Meta.raw("DROP INDEX IF EXISTS event_mediation_standalone")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
