"""Core: what every layer stands on, and which knows nothing above it.

clock      the server's "now" (a ManualClock in tests) and the Asia/Shanghai day
config     Settings, read from the environment in one place
engine     the database engine for a URL (SQLite by default, PostgreSQL at scale)
db         the unit of work: write transactions with after-commit callbacks, bulk
           inserts, migrations, transient faults
announce   what a committed write announces (feed moved, device revoked), and who listens
audit      the audit log: append-only, hash-chained, appended in the act's transaction
tables     Piccolo tables (the schema; migrations in migrations/core/)
errors     the one error tree
ids        ids the server makes
loops      values that belong to one event loop (locks, queues, pools)
"""
