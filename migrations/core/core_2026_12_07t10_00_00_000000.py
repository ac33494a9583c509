"""PostgreSQL: the feed's `data` is text, compressed with lz4 where the server has it.

Since a run of one incident's event changes became one feed row (migration
2026-12-06T10), a push of 100 notes writes a `data` of ~48 KB. As `json`, PostgreSQL
parsed each to check it (the write path encodes it itself, with msgspec, and no
statement looks inside it) and compressed it with pglz, its default: 0.47 ms a row.
As text with lz4, 0.045 ms; the COPY of a push transaction's feed rows went from
1.1-1.4 ms to 0.39-0.40 ms (pg_stat_statements; docs/performance.md, session 22). Rows already stored keep their
values and their compression. Readers are unchanged: asyncpg hands a `json` column's
value over as text already.

SQLite is unchanged: it keeps JSON as text and compresses nothing.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "change.data: text, lz4-compressed (PostgreSQL)"


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.db import is_sqlite
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def forward() -> None:
        if is_sqlite():
            return
        # json to text needs no rewrite of the table: they are stored alike.
        # Its default stays '{}'::json, cast on use (Piccolo's raw SQL reads braces as
        # its placeholders, and a feed row never takes the default anyway).
        await Meta.raw('ALTER TABLE "change" ALTER COLUMN data TYPE TEXT')
        # A server built without lz4 does not offer it; pglz then stays.
        offered = await Meta.raw(
            "SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings"
            " WHERE name = 'default_toast_compression'"
        )
        if offered and offered[0]["lz4"]:
            await Meta.raw('ALTER TABLE "change" ALTER COLUMN data SET COMPRESSION lz4')

    async def backward() -> None:
        if is_sqlite():
            return
        await Meta.raw('ALTER TABLE "change" ALTER COLUMN data SET COMPRESSION pglz')
        await Meta.raw('ALTER TABLE "change" ALTER COLUMN data TYPE JSON USING data::json')

    manager.add_raw(forward)
    manager.add_raw_backwards(backward)
    return manager
