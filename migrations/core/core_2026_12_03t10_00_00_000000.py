"""Index only the events that are looked up, and leave the feed with its positions.

Every stored op wrote an entry into each index of `event` and `change`, most of them for
look-ups a note never meets (docs/performance.md, session 14):

- `event_bureau` (bureau) served one read, the bureau's body-camera clips, newest first
  (server/services/bodycam.py): now `event_bodycam` (bureau, received_at), of
  `bodycam_ref` events only.
- `event_record_id` and `event_evidence_key` held an entry for every event, though only
  edits of a record carry a `record_id` and only clip references an `evidence_key`: now
  of those rows only. Every look-up compares the column with a value (`=`, `IN`), which
  both engines know excludes NULL, so they use the partial index.
- `change_incident`: the feed is read by position (pull, the live hub), through
  `change_bureau` (bureau, then position) where a database holds several bureaus; no
  read looks changes up by incident, and no incident is ever deleted.

Raw SQL valid on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "event, change: index only the rows that are looked up"

_FORWARDS = (
    "DROP INDEX IF EXISTS event_bureau",
    'CREATE INDEX IF NOT EXISTS event_bodycam ON "event" (bureau, received_at)'
    " WHERE type = 'bodycam_ref'",
    "DROP INDEX IF EXISTS event_record_id",
    'CREATE INDEX IF NOT EXISTS event_record_id ON "event" (record_id)'
    " WHERE record_id IS NOT NULL",
    "DROP INDEX IF EXISTS event_evidence_key",
    'CREATE INDEX IF NOT EXISTS event_evidence_key ON "event" (evidence_key)'
    " WHERE evidence_key IS NOT NULL",
    "DROP INDEX IF EXISTS change_incident",
)

_BACKWARDS = (
    "DROP INDEX IF EXISTS event_bodycam",
    'CREATE INDEX IF NOT EXISTS event_bureau ON "event" (bureau)',
    "DROP INDEX IF EXISTS event_record_id",
    'CREATE INDEX IF NOT EXISTS event_record_id ON "event" (record_id)',
    "DROP INDEX IF EXISTS event_evidence_key",
    'CREATE INDEX IF NOT EXISTS event_evidence_key ON "event" (evidence_key)',
    'CREATE INDEX IF NOT EXISTS change_incident ON "change" (incident)',
)


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def forward() -> None:
        for statement in _FORWARDS:
            await Meta.raw(statement)

    async def backward() -> None:
        for statement in _BACKWARDS:
            await Meta.raw(statement)

    manager.add_raw(forward)
    manager.add_raw_backwards(backward)
    return manager
