"""A temporary database fault answers 503 with Retry-After, never 500 (PROTOCOL §3.6).

The fault itself is made real: another connection holds the write lock (SQLite's, or on
PostgreSQL the advisory lock every writer takes) while a push arrives, with the server's
wait for it cut to 0.2 s so the test does not wait 30 s.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator

import asyncpg

from server.core.db import engine, is_transient
from server.core.tables import Event
from tests.conftest import ON_POSTGRES
from tests.server.conftest import Bureau
from tests.server.phone import Phone


def test_which_faults_count_as_temporary() -> None:
    assert is_transient(sqlite3.OperationalError("database is locked"))
    assert is_transient(asyncpg.TooManyConnectionsError("too many"))
    assert is_transient(ConnectionRefusedError())
    assert not is_transient(sqlite3.OperationalError("no such table: x"))
    assert not is_transient(ValueError("bad"))


async def test_a_locked_database_answers_503_and_applies_nothing(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    op = phone.op("note", incident["id"])
    async with _writer_lock_held_elsewhere():
        r = await bureau.client.post(
            "/api/sync/push",
            json={"device_id": phone.device_id, "sent_at": op["device_time"], "ops": [op]},
            headers=phone.headers,
        )
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "unavailable"
        assert int(r.headers["retry-after"]) >= 1
    assert await Event.count().where(Event.op_id == op["op_id"]) == 0
    # Once the lock is gone, the same op goes through.
    out = await phone.push([op])
    assert out["results"][0]["status"] == "applied"


@contextlib.asynccontextmanager
async def _writer_lock_held_elsewhere() -> AsyncIterator[None]:
    """Another connection holds the write lock; the server's wait for it is cut to 0.2 s."""
    db = engine()
    if ON_POSTGRES:
        import server.core.db

        config = db.config  # type: ignore[attr-defined]
        other = await asyncpg.connect(**config)
        previous = server.core.db.PG_LOCK_TIMEOUT_MS
        server.core.db.PG_LOCK_TIMEOUT_MS = 200
        try:
            await other.execute("SELECT pg_advisory_lock($1)", server.core.db._FEED_LOCK_KEY)
            yield
        finally:
            server.core.db.PG_LOCK_TIMEOUT_MS = previous
            await other.close()
        return
    blocker = sqlite3.connect(db.path, timeout=0)  # type: ignore[attr-defined]
    kwargs = db.connection_kwargs  # type: ignore[attr-defined]
    previous_timeout = kwargs.get("timeout")
    kwargs["timeout"] = 0.2
    try:
        blocker.execute("BEGIN IMMEDIATE")
        yield
    finally:
        blocker.rollback()
        blocker.close()
        kwargs["timeout"] = previous_timeout
