"""The board's stored rows (`board_row`): each incident's board row as JSON, written with
every publish of the incident (server/write/publish.py `store_board_row`), read by
GET /api/board (server/services/board.py). Incidents published before this migration
have none until their next publish: the board builds rows from the tables while any
open incident in scope lacks one.

Raw SQL valid on SQLite and PostgreSQL (no literal braces: Piccolo's raw() reads them
as placeholders).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "board rows stored at publish"

_CREATE = [
    'CREATE TABLE IF NOT EXISTS "board_row" ('
    ' "id" VARCHAR(64) PRIMARY KEY NOT NULL,'
    ' "data" TEXT NOT NULL)',
]


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create() -> None:
        for statement in _CREATE:
            await Meta.raw(statement)

    async def drop() -> None:
        await Meta.raw('DROP TABLE IF EXISTS "board_row"')

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
