"""The callback deadline as bureau policy (PROTOCOL §9): `sla_policy.callback_hours`,
how long after an incident's close its callback (回访) is due; 72 by default.

Raw SQL valid on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T14:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sla_policy.callback_hours"


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create() -> None:
        await Meta.raw(
            'ALTER TABLE "sla_policy" ADD COLUMN "callback_hours" INTEGER NOT NULL DEFAULT 72'
        )

    async def drop() -> None:
        await Meta.raw('ALTER TABLE "sla_policy" DROP COLUMN "callback_hours"')

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
