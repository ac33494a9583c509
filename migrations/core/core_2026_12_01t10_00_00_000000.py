"""`incident.feedbacks_complete`: whether the incident's 三反馈 are all in (PROTOCOL §11: a
valid arrival, scene report and disposition), stored by every publish of the incident as
the fold found it (server/write/publish.py), so the reports count it from the incident
row instead of reading each closed incident's events. Existing incidents get it here from
their stored events and flags, as the reports counted it before.

Raw SQL valid on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "incident.feedbacks_complete (三反馈, for the reports)"

_BACKFILL = (
    'UPDATE "incident" SET "feedbacks_complete" = TRUE WHERE (SELECT count(DISTINCT e.type)'
    ' FROM "event" e WHERE e.incident = "incident".id'
    " AND e.type IN ('arrival', 'scene_report', 'disposition') AND e.device_time IS NOT NULL"
    + "".join(
        f" AND CAST(e.flags AS TEXT) NOT LIKE '%\"{flag}\"%'"
        for flag in ("late", "clock_suspect", "pending_base")
    )
    + ") = 3"
)


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def add() -> None:
        await Meta.raw(
            'ALTER TABLE "incident" ADD COLUMN "feedbacks_complete" BOOLEAN NOT NULL DEFAULT FALSE'
        )
        await Meta.raw(_BACKFILL)

    async def drop() -> None:
        await Meta.raw('ALTER TABLE "incident" DROP COLUMN "feedbacks_complete"')

    manager.add_raw(add)
    manager.add_raw_backwards(drop)
    return manager
