"""People are deactivated, never deleted: a reference to a person refuses the delete.

Every foreign key to `person` (device, incident.created_by, assignment, incident_action,
event, rejected_op, blob.uploaded_by, review_item.resolved_by) was ON DELETE CASCADE, so
deleting a person silently deleted their events, actions and assignments, and with them
part of the record.

PostgreSQL: each of those constraints becomes ON DELETE RESTRICT (ON UPDATE CASCADE
stays). The constraint names are looked up, not assumed.

SQLite cannot alter a constraint; it needs each table rebuilt, with `PRAGMA foreign_keys`
off for the rebuild (dropping the old `incident` with foreign keys on would cascade into
six tables). Piccolo runs a migration inside a transaction, where that pragma is a no-op,
so a rebuild here is the risky path. Instead a trigger gives the same effect: deleting a
person any row still names aborts the statement (a cascade from a deleted station or
bureau included), and nothing of it is applied. server/core/tables.py declares
OnDelete.restrict for both engines; on SQLite the schema text still says CASCADE, and
this trigger is what stops it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T12:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "person references: restrict deletes (people are deactivated)"

# (table, column) of every reference to person.
REFERENCES = (
    ("device", "person"),
    ("incident", "created_by"),
    ("assignment", "person"),
    ("incident_action", "person"),
    ("event", "person"),
    ("rejected_op", "person"),
    ("blob", "uploaded_by"),
    ("review_item", "resolved_by"),
)

SQLITE_TRIGGER = (
    'CREATE TRIGGER IF NOT EXISTS person_delete_restrict BEFORE DELETE ON "person" WHEN '
    + " OR ".join(
        f'EXISTS (SELECT 1 FROM "{table}" WHERE "{column}" = OLD.id)'
        for table, column in REFERENCES
    )
    + " BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: this person is referenced;"
    " deactivate people, do not delete them'); END"
)

PG_FIND = (
    "SELECT c.conname FROM pg_constraint c"
    " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
    " WHERE c.contype = 'f' AND c.confrelid = 'person'::regclass"
    " AND c.conrelid = {}::regclass AND a.attname = {}"
)


async def _pg_set(action: str) -> None:
    from server.core.tables import Meta

    for table, column in REFERENCES:
        for row in await Meta.raw(PG_FIND, table, column):
            await Meta.raw(f'ALTER TABLE "{table}" DROP CONSTRAINT "{row["conname"]}"')
        await Meta.raw(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_{column}_fkey" FOREIGN KEY ("{column}")'
            f' REFERENCES "person" ("id") ON UPDATE CASCADE ON DELETE {action}'
        )


async def forwards():
    from piccolo.engine.sqlite import SQLiteEngine

    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def restrict() -> None:
        if isinstance(Meta._meta.db, SQLiteEngine):
            await Meta.raw(SQLITE_TRIGGER)
        else:
            await _pg_set("RESTRICT")

    async def cascade() -> None:
        if isinstance(Meta._meta.db, SQLiteEngine):
            await Meta.raw("DROP TRIGGER IF EXISTS person_delete_restrict")
        else:
            await _pg_set("CASCADE")

    manager.add_raw(restrict)
    manager.add_raw_backwards(cascade)
    return manager
