"""Sign-in limits per account and address, and sessions that end (PROTOCOL §12).

`login_attempt` replaces `login_throttle` (one counter per username, which let anyone
lock an account out and let parallel guesses all pass the check): one row per attempt
being checked or failed, per account and client address, with the indexes the limits
read by. `device.token_ended_at` marks a token ended by sign-out. Raw SQL, valid on
SQLite and PostgreSQL: Piccolo's table classes cannot declare a multi-column index.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "login_attempt replaces login_throttle; device.token_ended_at"


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create() -> None:
        await Meta.raw(
            'CREATE TABLE IF NOT EXISTS "login_attempt" ('
            '"id" VARCHAR(64) PRIMARY KEY NOT NULL, '
            '"username" VARCHAR(64) NOT NULL, '
            '"address" VARCHAR(64) NOT NULL, '
            '"outcome" VARCHAR(8) NOT NULL, '
            '"at" TIMESTAMPTZ NOT NULL)'
        )
        await Meta.raw(
            "CREATE INDEX IF NOT EXISTS login_attempt_account "
            'ON "login_attempt" (username, address, at)'
        )
        await Meta.raw(
            'CREATE INDEX IF NOT EXISTS login_attempt_address ON "login_attempt" (address, at)'
        )
        await Meta.raw('CREATE INDEX IF NOT EXISTS login_attempt_at ON "login_attempt" (at)')
        await Meta.raw('DROP TABLE IF EXISTS "login_throttle"')
        await Meta.raw('ALTER TABLE "device" ADD COLUMN "token_ended_at" TIMESTAMPTZ DEFAULT null')

    async def drop() -> None:
        await Meta.raw('ALTER TABLE "device" DROP COLUMN "token_ended_at"')
        await Meta.raw('DROP TABLE IF EXISTS "login_attempt"')
        await Meta.raw(
            'CREATE TABLE IF NOT EXISTS "login_throttle" ('
            "\"username\" VARCHAR(64) PRIMARY KEY NOT NULL DEFAULT '', "
            '"failures" INTEGER NOT NULL DEFAULT 0, '
            '"last_failure_at" TIMESTAMPTZ DEFAULT null, '
            '"locked_until" TIMESTAMPTZ DEFAULT null)'
        )

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
