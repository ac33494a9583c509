"""The citizen's verdict (PROTOCOL §9): callbacks, QR and poster ratings.

- `station.rating_code`: the code of each station's rating poster (`/rate/s/{code}`),
  random and unique; existing stations get one here.
- `incident.no_callback`: closing opens no callback task (a caller a call back could
  endanger).
- `callback_task`, `feedback` (one per incident: its id is the incident's),
  `rating_invite` (by token hash), `pending_rating` (verdicts waiting for their invite),
  `public_try` (public POSTs per client address, for the limits).

Raw SQL valid on SQLite and PostgreSQL.
"""

import secrets

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "callbacks, feedback, rating invites, pending ratings, public tries"

_CREATE = [
    'ALTER TABLE "station" ADD COLUMN "rating_code" VARCHAR(32) NULL DEFAULT NULL',
    'CREATE UNIQUE INDEX IF NOT EXISTS station_rating_code ON "station" (rating_code)',
    'ALTER TABLE "incident" ADD COLUMN "no_callback" BOOLEAN NOT NULL DEFAULT FALSE',
    'CREATE TABLE IF NOT EXISTS "callback_task" ('
    ' "id" VARCHAR(64) PRIMARY KEY NOT NULL,'
    ' "incident" VARCHAR(64) NOT NULL UNIQUE REFERENCES "incident" ("id"),'
    ' "bureau" VARCHAR(64) NOT NULL REFERENCES "bureau" ("id"),'
    ' "station" VARCHAR(64) NULL REFERENCES "station" ("id"),'
    ' "closed_at" TIMESTAMPTZ NOT NULL,'
    ' "due_at" TIMESTAMPTZ NOT NULL,'
    " \"state\" VARCHAR(16) NOT NULL DEFAULT 'due',"
    " \"attempts\" JSON NOT NULL DEFAULT '[]',"
    ' "created_at" TIMESTAMPTZ NOT NULL,'
    ' "finished_at" TIMESTAMPTZ NULL DEFAULT NULL)',
    'CREATE INDEX IF NOT EXISTS callback_task_bureau ON "callback_task" (bureau, state, due_at)',
    'CREATE INDEX IF NOT EXISTS callback_task_station ON "callback_task" (station, state)',
    'CREATE TABLE IF NOT EXISTS "feedback" ('
    ' "id" VARCHAR(64) PRIMARY KEY NOT NULL,'
    ' "incident" VARCHAR(64) NOT NULL UNIQUE REFERENCES "incident" ("id"),'
    ' "bureau" VARCHAR(64) NOT NULL REFERENCES "bureau" ("id"),'
    ' "source" VARCHAR(16) NOT NULL,'
    ' "at" TIMESTAMPTZ NOT NULL,'
    ' "reception" VARCHAR(24) NOT NULL,'
    ' "timeliness" VARCHAR(24) NOT NULL,'
    ' "conduct" VARCHAR(24) NOT NULL,'
    ' "handling" VARCHAR(24) NOT NULL,'
    ' "overall" VARCHAR(24) NOT NULL,'
    " \"comment\" TEXT NOT NULL DEFAULT '',"
    ' "person" VARCHAR(64) NULL DEFAULT NULL,'
    ' "token_sha256" VARCHAR(64) NULL DEFAULT NULL)',
    'CREATE INDEX IF NOT EXISTS feedback_bureau ON "feedback" (bureau)',
    'CREATE TABLE IF NOT EXISTS "rating_invite" ('
    ' "token_sha256" VARCHAR(64) PRIMARY KEY NOT NULL,'
    ' "incident" VARCHAR(64) NOT NULL REFERENCES "incident" ("id"),'
    ' "bureau" VARCHAR(64) NOT NULL REFERENCES "bureau" ("id"),'
    ' "op_id" VARCHAR(64) NOT NULL,'
    ' "effective_time" TIMESTAMPTZ NOT NULL,'
    ' "expires_at" TIMESTAMPTZ NOT NULL)',
    'CREATE INDEX IF NOT EXISTS rating_invite_incident ON "rating_invite" (incident)',
    'CREATE TABLE IF NOT EXISTS "pending_rating" ('
    ' "token_sha256" VARCHAR(64) PRIMARY KEY NOT NULL,'
    ' "verdict" JSON NOT NULL,'  # no DEFAULT '{}': Piccolo reads {} as a placeholder
    ' "received_at" TIMESTAMPTZ NOT NULL,'
    ' "expires_at" TIMESTAMPTZ NOT NULL)',
    'CREATE INDEX IF NOT EXISTS pending_rating_expires ON "pending_rating" (expires_at)',
    'CREATE TABLE IF NOT EXISTS "public_try" ('
    ' "id" VARCHAR(64) PRIMARY KEY NOT NULL,'
    ' "address" VARCHAR(64) NOT NULL,'
    ' "kind" VARCHAR(8) NOT NULL,'
    ' "at" TIMESTAMPTZ NOT NULL)',
    'CREATE INDEX IF NOT EXISTS public_try_address ON "public_try" (address, kind, at)',
    'CREATE INDEX IF NOT EXISTS public_try_at ON "public_try" (at)',
]


def new_rating_code() -> str:
    """A poster code: 12 characters of URL-safe base64 (72 random bits), so a code
    cannot be guessed (server/services/admin.py makes them the same way)."""
    return secrets.token_urlsafe(9)


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create() -> None:
        for statement in _CREATE:
            await Meta.raw(statement)
        for row in await Meta.raw('SELECT id FROM "station" WHERE rating_code IS NULL'):
            await Meta.raw(
                'UPDATE "station" SET rating_code = {} WHERE id = {}', new_rating_code(), row["id"]
            )

    async def drop() -> None:
        for table in ("public_try", "pending_rating", "rating_invite", "feedback", "callback_task"):
            await Meta.raw(f'DROP TABLE IF EXISTS "{table}"')
        await Meta.raw("DROP INDEX IF EXISTS station_rating_code")
        await Meta.raw('ALTER TABLE "station" DROP COLUMN "rating_code"')
        await Meta.raw('ALTER TABLE "incident" DROP COLUMN "no_callback"')

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
