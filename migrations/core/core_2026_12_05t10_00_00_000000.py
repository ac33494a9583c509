"""PostgreSQL: `event.person` without its foreign key; a trigger refuses the delete.

The key was the last one PostgreSQL checked for each stored op: a query per inserted row,
run by a trigger that also locks the person's row. A COPY of 200 push events took
5.9-6.0 ms with it and 4.5 ms without (docs/performance.md, session 18).

What the key guarded holds without it:

- On insert: an event's person is the signed-in caller's (server/write/ingest.py), whose
  row exists when the push is checked and cannot be deleted afterwards (below).
- On delete: the key's `ON DELETE RESTRICT` refused deleting a person who recorded
  anything (people are deactivated, never deleted: server/core/tables.py). A row trigger
  on `person` now refuses it the same way, with the same kind of message, and deleting
  their station is refused through them as before (station's own keys are unchanged).
  Deletes of people are rare (a mistyped account nothing names); the trigger's check
  costs them what the key's did.

SQLite keeps the key: it checks it with a probe of person's primary key, at no cost
measured (migration 2026-12-04T10).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-05T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "event.person: no foreign key, a delete trigger on person (PostgreSQL)"

_FORWARDS = (
    'ALTER TABLE "event" DROP CONSTRAINT IF EXISTS event_person_fkey',
    # The message says "violates foreign key", as the key's did: callers and tests that
    # tell this refusal apart read it the same way.
    "CREATE OR REPLACE FUNCTION person_events_restrict() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF EXISTS (SELECT 1 FROM event WHERE person = OLD.id) THEN"
    " RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',"
    ' MESSAGE = \'delete on table "person" violates foreign key "event_person": this person'
    " recorded events; deactivate people, do not delete them';"
    " END IF;"
    " RETURN OLD;"
    " END $$",
    'DROP TRIGGER IF EXISTS person_events_restrict ON "person"',
    'CREATE TRIGGER person_events_restrict BEFORE DELETE ON "person"'
    " FOR EACH ROW EXECUTE FUNCTION person_events_restrict()",
)

_BACKWARDS = (
    'DROP TRIGGER IF EXISTS person_events_restrict ON "person"',
    "DROP FUNCTION IF EXISTS person_events_restrict()",
    'ALTER TABLE "event" ADD CONSTRAINT event_person_fkey FOREIGN KEY ("person")'
    ' REFERENCES "person" (id) ON UPDATE CASCADE ON DELETE RESTRICT',
)


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.db import is_sqlite
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def forward() -> None:
        if is_sqlite():
            return
        for statement in _FORWARDS:
            await Meta.raw(statement)

    async def backward() -> None:
        if is_sqlite():
            return
        for statement in _BACKWARDS:
            await Meta.raw(statement)

    manager.add_raw(forward)
    manager.add_raw_backwards(backward)
    return manager
