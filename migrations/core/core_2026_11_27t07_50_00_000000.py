"""An index on incident (bureau, received_at): reports pick a period's incidents by it.

Raw SQL: Piccolo's table classes cannot declare a two-column index.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T07:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "incident (bureau, received_at) index"


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create_index() -> None:
        await Meta.raw(
            'CREATE INDEX IF NOT EXISTS incident_bureau_received ON "incident" (bureau, received_at)'
        )

    async def drop_index() -> None:
        await Meta.raw("DROP INDEX IF EXISTS incident_bureau_received")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
