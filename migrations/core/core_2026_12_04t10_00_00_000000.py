"""PostgreSQL: the event log and the feed without their foreign keys to bureau, station
and incident.

PostgreSQL checks a foreign key with a query for each inserted row, run by a trigger.
Every op a push stores is an `event` row and a `change` row: seven such checks an op
(event: bureau, incident, person, station; change: bureau, station, incident). Inserting
5,000 events took 123-135 ms with the four keys, 59 ms with `person` alone and 35-37 ms
with none; 5,000 feed changes 84-88 ms with their three keys, 21-35 ms without
(docs/performance.md, session 15): most of a push's time inside PostgreSQL.

What the keys guarded holds without them:

- Both tables are written only by the write path, which reads the incident (in the
  caller's bureau) in the same transaction before it writes an op of it, and takes the
  bureau and the station from the signed-in caller or that incident
  (server/write/ingest.py).
- Their `ON DELETE CASCADE` never runs: no code deletes an incident, a station or a
  bureau; a record's history is kept.
- `event.person` keeps its key (`ON DELETE RESTRICT`): a person who recorded anything
  cannot be deleted, only deactivated (DESIGN, the audit trail). Deleting their station
  is refused through them the same way.

SQLite keeps every key: it checks one with a direct probe of the parent's index, which
measured as no cost (a scratch insert of 20,000 ops into the migrated schema, keys on and
off alternately: 46.8/35.2k, 31.2/30.5k, 28.6/29.4k, 26.3/26.1k ops/s), and dropping a
key there means rebuilding the table.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "event, change: no foreign keys to bureau, station, incident (PostgreSQL)"

# (table, column, parent): each key as the first migration made it.
_KEYS = (
    ("event", "bureau", "bureau"),
    ("event", "incident", "incident"),
    ("event", "station", "station"),
    ("change", "bureau", "bureau"),
    ("change", "station", "station"),
    ("change", "incident", "incident"),
)


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.db import is_sqlite
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def forward() -> None:
        if is_sqlite():
            return
        for table, column, _ in _KEYS:
            await Meta.raw(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS {table}_{column}_fkey')

    async def backward() -> None:
        if is_sqlite():
            return
        for table, column, parent in _KEYS:
            await Meta.raw(
                f'ALTER TABLE "{table}" ADD CONSTRAINT {table}_{column}_fkey FOREIGN KEY'
                f' ("{column}") REFERENCES "{parent}" (id) ON UPDATE CASCADE ON DELETE CASCADE'
            )

    manager.add_raw(forward)
    manager.add_raw_backwards(backward)
    return manager
