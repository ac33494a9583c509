"""Two indexes for the push path: an incident's events by type, a device's events by seq.

A push re-reads only the stored events a new one can affect (all but notes, dispatch
acknowledgements and point-check replies). With only an index on `incident`, SQLite
visited every stored note of the incident to skip it, so a busy incident made each push
slower than the last. Likewise moving a device's acked_seq visited every event the device
had ever sent. Raw SQL: Piccolo's table classes cannot declare a two-column index.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T12:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "event (incident, type) and (device_id, seq) indexes"


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create_index() -> None:
        await Meta.raw('CREATE INDEX IF NOT EXISTS event_incident_type ON "event" (incident, type)')
        await Meta.raw('CREATE INDEX IF NOT EXISTS event_device_seq ON "event" (device_id, seq)')

    async def drop_index() -> None:
        await Meta.raw("DROP INDEX IF EXISTS event_incident_type")
        await Meta.raw("DROP INDEX IF EXISTS event_device_seq")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
