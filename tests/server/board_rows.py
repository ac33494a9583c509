"""The board's summary rows (GET /api/board, sync.views.BoardRow) against the full
records: a row must say exactly what the record says about the fields the board shows.

`summary_of` is the rule written once more, independently of the server's raw SQL
(server/services/board.py): the same projection the command view makes of a full record
that arrives over the feed (pwa/command/store.js `boardRow`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.core.tables import BoardRowStore

if TYPE_CHECKING:
    from tests.server.conftest import Bureau

ROW_FIELDS = (
    "id", "number", "status", "version", "category", "area_type", "address", "narrative",
    "received_at", "received_back_entered", "station_id", "clocks", "diversions_returned",
    "returned_reason",
)  # fmt: skip


def summary_of(record: dict[str, Any]) -> dict[str, Any]:
    """A full incident record (JSON) as the board's row of it."""
    diversion = record.get("diversion")
    return {
        **{name: record[name] for name in ROW_FIELDS},
        "assignees": [
            {"person_id": a["person_id"], "name": a["name"]} for a in record["assignees"]
        ],
        "review_items": [r for r in record["review_items"] if r["state"] == "open"],
        "supervision": [s for s in record["supervision"] if s["state"] != "accepted"],
        "diversion": (
            {"agency_id": diversion["agency_id"], "agency_name": diversion["agency_name"]}
            if diversion
            else None
        ),
    }


async def assert_board_matches_records(bureau: Bureau, username: str = "dispatcher") -> list:
    """Every row of `username`'s board is the summary of the incident's full record, and
    the board holds exactly the open incidents of the open list; so are the rows the
    board builds from the tables when none is stored (server/services/board.py
    `board_rows`). Returns the rows."""
    rows = (await bureau.call(username, "GET", "/api/board")).json()["incidents"]
    r = await bureau.call(username, "GET", "/api/incidents", params={"status": "open"})
    records = {i["id"]: i for i in r.json()}
    assert {row["id"] for row in rows} == set(records)
    for row in rows:
        assert row == summary_of(records[row["id"]]), row["id"]
    stored = await BoardRowStore.select()
    await BoardRowStore.delete(force=True)
    try:
        built = (await bureau.call(username, "GET", "/api/board")).json()["incidents"]
    finally:
        if stored:
            await BoardRowStore.insert(*(BoardRowStore(**s) for s in stored))
    assert built == rows
    return rows
