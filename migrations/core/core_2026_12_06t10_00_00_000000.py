"""`change.span`: a feed row may hold a run of positions.

Every `event` change had a row of its own: a push of 100 notes wrote 100 feed rows
beside its 100 events, each with its own entry in the feed's indexes (and on SQLite its
foreign-key probes). A run of one incident's event changes written together is now one
row spanning their positions, `pos - span + 1` to `pos`, its `data` the run's
`[op_id, event]` pairs (server/write/feed.py). Readers see one change per position, as
before (PROTOCOL §4). Rows already stored hold one position each: `span` 1.

Raw SQL valid on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-06T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "change.span: a feed row may hold a run of positions"


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def forward() -> None:
        await Meta.raw('ALTER TABLE "change" ADD COLUMN span INTEGER NOT NULL DEFAULT 1')

    async def backward() -> None:
        await Meta.raw('ALTER TABLE "change" DROP COLUMN span')

    manager.add_raw(forward)
    manager.add_raw_backwards(backward)
    return manager
