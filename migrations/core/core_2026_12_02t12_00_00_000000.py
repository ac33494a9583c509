"""Drop two indexes of `event` that others already cover: `event_incident` (incident) is
the prefix of `event_incident_type` (incident, type), and `event_device_id` (device_id)
of `event_device_seq` (device_id, seq). Each look-up by incident or by device uses the
two-column index just as well, on both engines; each stored op wrote ten index entries
and now eight (docs/performance.md, session 13).

Raw SQL valid on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "event: drop the indexes the two-column ones cover"


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def drop() -> None:
        await Meta.raw("DROP INDEX IF EXISTS event_incident")
        await Meta.raw("DROP INDEX IF EXISTS event_device_id")

    async def create() -> None:
        await Meta.raw('CREATE INDEX IF NOT EXISTS event_incident ON "event" (incident)')
        await Meta.raw('CREATE INDEX IF NOT EXISTS event_device_id ON "event" (device_id)')

    manager.add_raw(drop)
    manager.add_raw_backwards(create)
    return manager
