"""A unique index on review_item.once_key, and the SLA clocks' scheduler index.

SQLite cannot add a UNIQUE column with ALTER TABLE, so the column came as a plain one in
the migration before this, and the uniqueness comes here as an index. It makes the SLA
scheduler's insert of an `overdue` or `missing_evidence` item idempotent: two processes,
or one restarted, that both find a clock overdue insert it once (ON CONFLICT DO NOTHING).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T07:26:42:000000"
VERSION = "1.38.0"
DESCRIPTION = "review_item once_key unique index"


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create_index() -> None:
        await Meta.raw(
            'CREATE UNIQUE INDEX IF NOT EXISTS review_item_once_key ON "review_item" (once_key)'
        )

    async def drop_index() -> None:
        await Meta.raw("DROP INDEX IF EXISTS review_item_once_key")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
