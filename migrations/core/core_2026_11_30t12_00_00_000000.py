"""The audit log (server/core/audit.py): an append-only table whose rows are chained by
SHA-256, and a trigger that refuses to update a row in place.

Raw SQL valid on both engines for the table. The trigger differs: SQLite's body is a
RAISE, PostgreSQL's a PL/pgSQL function. Rows are never updated by the server; the
trigger keeps a bug (or a careless hand) from doing it. It does not stop someone who can
drop it: the hash chain is what detects that (docs/decisions.md, "Caller data and audit").
Deletes are not refused here (the test suite empties every table between tests); a
deleted row breaks the chain and `qingling audit verify` names it. No braces in the SQL:
Piccolo's raw() reads `{}` as a placeholder.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit_log: the hash-chained audit trail"

CREATE_TABLE = (
    'CREATE TABLE IF NOT EXISTS "audit_log" ('
    '"seq" BIGINT PRIMARY KEY NOT NULL, '
    '"at" TIMESTAMPTZ NOT NULL, '
    '"actor" VARCHAR(64) DEFAULT NULL, '
    '"device" VARCHAR(64) DEFAULT NULL, '
    "\"action\" VARCHAR(40) NOT NULL DEFAULT '', "
    '"subject" VARCHAR(200) DEFAULT NULL, '
    "\"detail\" TEXT NOT NULL DEFAULT '', "
    '"prev_hash" VARCHAR(64) NOT NULL, '
    '"row_hash" VARCHAR(64) NOT NULL)'
)

SQLITE_TRIGGER = (
    'CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON "audit_log" '
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
)

PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$"
)
PG_TRIGGER = (
    'CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON "audit_log" '
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
)


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from piccolo.engine.sqlite import SQLiteEngine

    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create() -> None:
        await Meta.raw(CREATE_TABLE)
        if isinstance(Meta._meta.db, SQLiteEngine):
            await Meta.raw(SQLITE_TRIGGER)
        else:
            await Meta.raw(PG_FUNCTION)
            await Meta.raw('DROP TRIGGER IF EXISTS audit_log_no_update ON "audit_log"')
            await Meta.raw(PG_TRIGGER)

    async def drop() -> None:
        await Meta.raw('DROP TABLE IF EXISTS "audit_log"')
        if not isinstance(Meta._meta.db, SQLiteEngine):
            await Meta.raw("DROP FUNCTION IF EXISTS audit_log_append_only()")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
