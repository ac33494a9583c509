"""Non-police diversion to linked agencies (PROTOCOL §10).

- `agency_duty`: a linked agency's duties (keywords, categories, ack minutes, feedback
  hours), one row per agency station.
- `diversion`: one row per diversion of an incident, with what the agency's events made
  of it (acknowledged, fed back, outcome, returned), indexed for the reports.

Raw SQL valid on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "agency duties and diversions"

_CREATE = [
    'CREATE TABLE IF NOT EXISTS "agency_duty" ('
    ' "id" VARCHAR(64) PRIMARY KEY NOT NULL REFERENCES "station" ("id"),'
    ' "bureau" VARCHAR(64) NOT NULL REFERENCES "bureau" ("id"),'
    " \"keywords\" JSON NOT NULL DEFAULT '[]',"
    " \"categories\" JSON NOT NULL DEFAULT '[]',"
    ' "ack_minutes" INTEGER NOT NULL DEFAULT 30,'
    ' "feedback_hours" INTEGER NOT NULL DEFAULT 24,'
    ' "updated_at" TIMESTAMPTZ NOT NULL,'
    ' "updated_by" VARCHAR(64) NULL DEFAULT NULL)',
    'CREATE INDEX IF NOT EXISTS agency_duty_bureau ON "agency_duty" (bureau)',
    'CREATE TABLE IF NOT EXISTS "diversion" ('
    ' "id" VARCHAR(64) PRIMARY KEY NOT NULL,'
    ' "incident" VARCHAR(64) NOT NULL REFERENCES "incident" ("id"),'
    ' "bureau" VARCHAR(64) NOT NULL REFERENCES "bureau" ("id"),'
    ' "agency" VARCHAR(64) NOT NULL REFERENCES "station" ("id"),'
    ' "diverted_at" TIMESTAMPTZ NOT NULL,'
    ' "diverted_by" VARCHAR(64) NULL DEFAULT NULL,'
    " \"instructions\" TEXT NOT NULL DEFAULT '',"
    " \"person_ids\" JSON NOT NULL DEFAULT '[]',"
    ' "ack_due_at" TIMESTAMPTZ NOT NULL,'
    ' "feedback_due_at" TIMESTAMPTZ NOT NULL,'
    ' "acknowledged_at" TIMESTAMPTZ NULL DEFAULT NULL,'
    ' "fed_back_at" TIMESTAMPTZ NULL DEFAULT NULL,'
    ' "outcome" VARCHAR(16) NULL DEFAULT NULL,'
    ' "feedback_op_id" VARCHAR(64) NULL DEFAULT NULL,'
    ' "returned_at" TIMESTAMPTZ NULL DEFAULT NULL)',
    'CREATE INDEX IF NOT EXISTS diversion_incident ON "diversion" (incident, diverted_at)',
    'CREATE INDEX IF NOT EXISTS diversion_agency ON "diversion" (agency)',
    'CREATE INDEX IF NOT EXISTS diversion_bureau ON "diversion" (bureau, diverted_at)',
]


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create() -> None:
        for statement in _CREATE:
            await Meta.raw(statement)

    async def drop() -> None:
        for table in ("diversion", "agency_duty"):
            await Meta.raw(f'DROP TABLE IF EXISTS "{table}"')

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
