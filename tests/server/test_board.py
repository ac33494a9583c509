"""GET /api/board: every open incident in scope as a summary row, newest received first,
with the feed cursor a screen opens its WebSocket with (common brief, interface 2);
gzip-compressed for a client that accepts it."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.core import audit
from server.core.config import Settings
from server.core.tables import BoardRowStore
from server.services.board import store_missing_board_rows
from sync.views import BoardRow
from tests.server.board_rows import assert_board_matches_records
from tests.server.conftest import Bureau
from tests.server.phone import Phone, now
from tests.server.test_cli import qingling


async def test_board_lists_open_incidents_in_scope_with_a_cursor(bureau: Bureau) -> None:
    t = now()
    oldest = await bureau.dispatched_incident(received_at=(t - timedelta(minutes=30)).isoformat())
    at_b = await bureau.dispatched_incident(
        station="b", people=("officer_b",), received_at=(t - timedelta(minutes=20)).isoformat()
    )
    waiting = await bureau.new_incident(received_at=(t - timedelta(minutes=10)).isoformat())
    closed = await bureau.dispatched_incident()
    await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{closed['id']}/close", json={"summary": "ok"}
    )
    cancelled = await bureau.new_incident()
    await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{cancelled['id']}/cancel", json={"reason": "dup"}
    )

    r = await bureau.call("dispatcher", "GET", "/api/board")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"server_time", "cursor", "incidents"}
    ids = [i["id"] for i in body["incidents"]]
    assert ids == [waiting["id"], at_b["id"], oldest["id"]]
    # Summary rows: what the board shows of each record, nothing else (no caller data,
    # no records, no timeline), equal to the record's own fields.
    rows = await assert_board_matches_records(bureau)
    assert set(rows[0]) == set(BoardRow.__struct_fields__)
    assert not {"caller_name", "caller_phone", "records", "timeline"} & set(rows[0])

    # A station chief sees their station's only; an officer what is assigned to them or
    # their station.
    chief = (await bureau.call("chief_b", "GET", "/api/board")).json()
    assert [i["id"] for i in chief["incidents"]] == [at_b["id"]]
    officer = (await bureau.call("officer_a", "GET", "/api/board")).json()
    assert [i["id"] for i in officer["incidents"]] == [oldest["id"]]

    # The cursor is the feed head: pulling from it yields only later changes.
    phone = await Phone(bureau, "dispatcher").sign_in()
    phone.cursor = body["cursor"]
    assert await phone.pull_all() == []
    await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{oldest['id']}/point-check", json={"text": "到了吗"}
    )
    later = await phone.pull_all()
    assert [c["id"] for c in later if c["entity"] == "incident"] == [oldest["id"]]


async def test_board_needs_a_token(bureau: Bureau) -> None:
    r = await bureau.client.get("/api/board")
    assert r.status_code == 401


async def test_board_rows_carry_no_caller_data_and_audit_no_reveal(bureau: Bureau) -> None:
    caller = {"caller_name": "张三", "caller_phone": "13812345678"}
    incident = await bureau.dispatched_incident("a", ("officer_a",), **caller)
    before = len(await audit.recent(1000, audit.CALLER_DATA))
    for username in ("dispatcher", "officer_a", "officer_a2", "chief_a"):
        r = await bureau.call(username, "GET", "/api/board")
        [row] = [i for i in r.json()["incidents"] if i["id"] == incident["id"]]
        for shown in ("张三", "张*", "13812345678", "138****5678"):
            assert shown not in r.text, username
        assert "caller_name" not in row and "caller_phone" not in row
    assert len(await audit.recent(1000, audit.CALLER_DATA)) == before
    # The panel's GET of the full record still gives it by need, audited (PROTOCOL §12).
    full = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    assert (full["caller_name"], full["caller_phone"]) == ("张三", "13812345678")
    masked = (await bureau.call("officer_a2", "GET", f"/api/incidents/{incident['id']}")).json()
    assert (masked["caller_name"], masked["caller_phone"]) == ("张*", "138****5678")
    reveals = await audit.recent(1000, audit.CALLER_DATA)
    assert len(reveals) == before + 1 and reveals[-1].subject == incident["id"]


async def test_board_rows_follow_a_reassignment(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident("a", ("officer_a",))
    await bureau.new_incident()
    await assert_board_matches_records(bureau)
    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident['id']}/reassign",
        json={"station_id": bureau.stations["b"], "person_ids": [bureau.people["officer_b"]]},
    )
    assert r.status_code == 200, r.text
    rows = await assert_board_matches_records(bureau)
    [row] = [i for i in rows if i["id"] == incident["id"]]
    assert [a["person_id"] for a in row["assignees"]] == [bureau.people["officer_b"]]
    await assert_board_matches_records(bureau, "chief_b")
    await assert_board_matches_records(bureau, "officer_b")


async def test_the_board_goes_out_gzip_compressed(bureau: Bureau) -> None:
    for _ in range(5):
        await bureau.dispatched_incident()
    headers = await bureau.auth("dispatcher")
    r = await bureau.client.get("/api/board", headers={**headers, "Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert len(r.json()["incidents"]) == 5  # the client decodes it
    plain = await bureau.client.get(
        "/api/board", headers={**headers, "Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert len(plain.json()["incidents"]) == 5


async def test_stored_rows_and_rows_built_from_the_tables_agree(bureau: Bureau) -> None:
    """The board splices the rows stored at publish; a database from before they were
    stored has none, and the board builds every row from the tables instead: the same."""
    await bureau.dispatched_incident("a", ("officer_a",))
    await bureau.dispatched_incident("b", ("officer_b",))
    await bureau.new_incident()
    stored = (await bureau.call("dispatcher", "GET", "/api/board")).json()
    assert len(await BoardRowStore.select()) == 3
    await BoardRowStore.delete(force=True)
    built = (await bureau.call("dispatcher", "GET", "/api/board")).json()
    assert built["incidents"] == stored["incidents"]
    await assert_board_matches_records(bureau)
    await assert_board_matches_records(bureau, "officer_b")


async def stored_rows() -> dict[str, object]:
    return {r["id"]: msgspec.json.decode(r["data"]) for r in await BoardRowStore.select()}


async def test_rows_missing_from_an_old_database_are_stored_at_start_up(
    bureau: Bureau, settings: Settings
) -> None:
    """Incidents published before rows were stored (migration 2026-12-01T12:00) get
    theirs once, at start-up and by `qingling migrate`, so the board reads stored rows
    only; a stored row is the one a publish stores."""
    first = await bureau.dispatched_incident("a", ("officer_a",))
    second = await bureau.dispatched_incident("b", ("officer_b",))
    third = await bureau.new_incident()
    closed = await bureau.dispatched_incident()
    await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{closed['id']}/close", json={"summary": "ok"}
    )
    board = (await bureau.call("dispatcher", "GET", "/api/board")).json()
    published = await stored_rows()
    assert set(published) == {first["id"], second["id"], third["id"], closed["id"]}

    # An old database: two open incidents and the closed one have no row.
    gone = [first["id"], third["id"], closed["id"]]
    await BoardRowStore.delete().where(BoardRowStore.id.is_in(gone))
    async with AsyncTestClient(app=create_app(settings)):
        pass  # started (migrations, then the missing rows) and stopped
    rows = await stored_rows()
    # The open ones are back as published; the closed one (never on the board) is not.
    assert rows == {k: v for k, v in published.items() if k != closed["id"]}
    again = (await bureau.call("dispatcher", "GET", "/api/board")).json()
    assert again["incidents"] == board["incidents"]
    assert await store_missing_board_rows() == 0  # once: nothing is left to store

    # `qingling migrate` does the same, and in batches (here one incident each).
    await BoardRowStore.delete(force=True)
    r = qingling("migrate")
    assert r.returncode == 0, r.stderr
    assert await stored_rows() == rows
    await BoardRowStore.delete(force=True)
    assert await store_missing_board_rows(batch=1) == 3
    assert await stored_rows() == rows
    assert (await bureau.call("dispatcher", "GET", "/api/board")).json()["incidents"] == board[
        "incidents"
    ]
