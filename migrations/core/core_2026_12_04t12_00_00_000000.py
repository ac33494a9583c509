"""Dead letters by device and seq, as events are.

A device's acked_seq is read from the (device_id, seq) indexes (server/write/ingest.py
`_advance_acked_seqs`): whether each seq above it is held, as an event or as a dead
letter. `rejected_op_device_id` found a device's dead letters, then every one of them was
compared with the seq: a device with many dead letters made every push of it slower.
`rejected_op_device_seq` (device_id, seq) answers both look-ups, so it replaces it.

Raw SQL valid on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "rejected_op: index (device_id, seq)"

_FORWARDS = (
    'CREATE INDEX IF NOT EXISTS rejected_op_device_seq ON "rejected_op" (device_id, seq)',
    "DROP INDEX IF EXISTS rejected_op_device_id",
)

_BACKWARDS = (
    'CREATE INDEX IF NOT EXISTS rejected_op_device_id ON "rejected_op" (device_id)',
    "DROP INDEX IF EXISTS rejected_op_device_seq",
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
