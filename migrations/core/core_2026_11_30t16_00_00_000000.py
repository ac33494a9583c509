"""Supervision, notices and settlement (PROTOCOL §11).

- `supervision_order`: 督办 orders on incidents, their state and clock.
- `notice`: 通报 notices to stations; `rectification`: what each named station owes.
- `case_file`: an accepted case's progress, kept by the write path for the reports.
- `review_item.station`: the station an item belongs to, for a station chief's desk.

Raw SQL valid on SQLite and PostgreSQL (no literal braces: Piccolo's raw() reads them
as placeholders).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "supervision orders, notices, rectifications, case files"

_CREATE = [
    'CREATE TABLE IF NOT EXISTS "supervision_order" ('
    ' "id" VARCHAR(64) PRIMARY KEY NOT NULL,'
    ' "bureau" VARCHAR(64) NOT NULL REFERENCES "bureau" ("id"),'
    ' "incident" VARCHAR(64) NOT NULL REFERENCES "incident" ("id"),'
    ' "station" VARCHAR(64) NOT NULL REFERENCES "station" ("id"),'
    ' "level" VARCHAR(16) NOT NULL,'
    " \"instructions\" TEXT NOT NULL DEFAULT '',"
    ' "due_at" TIMESTAMPTZ NOT NULL,'
    ' "issued_by" VARCHAR(64) NOT NULL,'
    ' "issued_at" TIMESTAMPTZ NOT NULL,'
    " \"state\" VARCHAR(16) NOT NULL DEFAULT 'open',"
    ' "reply_op_id" VARCHAR(64) NULL DEFAULT NULL,'
    ' "accepted_op_id" VARCHAR(64) NULL DEFAULT NULL,'
    ' "accepted_at" TIMESTAMPTZ NULL DEFAULT NULL,'
    ' "accepted_by" VARCHAR(64) NULL DEFAULT NULL,'
    ' "met_at" TIMESTAMPTZ NULL DEFAULT NULL,'
    " \"rejections\" JSON NOT NULL DEFAULT '[]',"
    ' "watch_at" TIMESTAMPTZ NULL DEFAULT NULL,'
    ' "updated_at" TIMESTAMPTZ NOT NULL)',
    'CREATE INDEX IF NOT EXISTS supervision_order_bureau ON "supervision_order" (bureau, state)',
    'CREATE INDEX IF NOT EXISTS supervision_order_incident ON "supervision_order" (incident)',
    'CREATE INDEX IF NOT EXISTS supervision_order_station ON "supervision_order" (station)',
    'CREATE INDEX IF NOT EXISTS supervision_order_watch ON "supervision_order" (watch_at)',
    'CREATE TABLE IF NOT EXISTS "notice" ('
    ' "id" VARCHAR(64) PRIMARY KEY NOT NULL,'
    ' "bureau" VARCHAR(64) NOT NULL REFERENCES "bureau" ("id"),'
    ' "kind" VARCHAR(16) NOT NULL,'
    ' "text" TEXT NOT NULL,'
    " \"station_ids\" JSON NOT NULL DEFAULT '[]',"
    " \"incident_ids\" JSON NOT NULL DEFAULT '[]',"
    ' "rectify_by" TIMESTAMPTZ NULL DEFAULT NULL,'
    ' "issued_by" VARCHAR(64) NOT NULL,'
    ' "issued_at" TIMESTAMPTZ NOT NULL)',
    'CREATE INDEX IF NOT EXISTS notice_bureau ON "notice" (bureau, issued_at)',
    'CREATE TABLE IF NOT EXISTS "rectification" ('
    ' "id" VARCHAR(140) PRIMARY KEY NOT NULL,'
    ' "notice" VARCHAR(64) NOT NULL REFERENCES "notice" ("id"),'
    ' "bureau" VARCHAR(64) NOT NULL REFERENCES "bureau" ("id"),'
    ' "station" VARCHAR(64) NOT NULL REFERENCES "station" ("id"),'
    ' "due_at" TIMESTAMPTZ NOT NULL,'
    " \"state\" VARCHAR(16) NOT NULL DEFAULT 'owed',"
    ' "done_at" TIMESTAMPTZ NULL DEFAULT NULL,'
    ' "op_id" VARCHAR(64) NULL DEFAULT NULL,'
    ' "watch_at" TIMESTAMPTZ NULL DEFAULT NULL)',
    'CREATE INDEX IF NOT EXISTS rectification_notice ON "rectification" (notice)',
    'CREATE INDEX IF NOT EXISTS rectification_bureau ON "rectification" (bureau)',
    'CREATE INDEX IF NOT EXISTS rectification_station ON "rectification" (station)',
    'CREATE INDEX IF NOT EXISTS rectification_watch ON "rectification" (watch_at)',
    'CREATE TABLE IF NOT EXISTS "case_file" ('
    ' "id" VARCHAR(64) PRIMARY KEY NOT NULL,'
    ' "incident" VARCHAR(64) NOT NULL UNIQUE REFERENCES "incident" ("id"),'
    ' "bureau" VARCHAR(64) NOT NULL REFERENCES "bureau" ("id"),'
    ' "station" VARCHAR(64) NULL REFERENCES "station" ("id"),'
    ' "accepted" BOOLEAN NOT NULL DEFAULT FALSE,'
    ' "accepted_at" TIMESTAMPTZ NULL DEFAULT NULL,'
    ' "case_number" VARCHAR(64) NULL DEFAULT NULL,'
    ' "stage" VARCHAR(16) NULL DEFAULT NULL,'
    ' "filed_at" TIMESTAMPTZ NULL DEFAULT NULL,'
    ' "solved_at" TIMESTAMPTZ NULL DEFAULT NULL,'
    ' "ended_at" TIMESTAMPTZ NULL DEFAULT NULL,'
    " \"stages\" JSON NOT NULL DEFAULT '[]')",
    'CREATE INDEX IF NOT EXISTS case_file_bureau ON "case_file" (bureau, filed_at)',
    'CREATE INDEX IF NOT EXISTS case_file_station ON "case_file" (station)',
    # The station a review item belongs to (its incident's, a mediation case's, or the
    # station owing a rectification): a station chief's desk lists their own.
    'ALTER TABLE "review_item" ADD COLUMN "station" VARCHAR(64) NULL DEFAULT NULL',
    'CREATE INDEX IF NOT EXISTS review_item_station ON "review_item" (station)',
]


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create() -> None:
        for statement in _CREATE:
            await Meta.raw(statement)

    async def drop() -> None:
        await Meta.raw('ALTER TABLE "review_item" DROP COLUMN "station"')
        for table in ("case_file", "rectification", "notice", "supervision_order"):
            await Meta.raw(f'DROP TABLE IF EXISTS "{table}"')

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
