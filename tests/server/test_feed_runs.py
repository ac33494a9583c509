"""Runs of event changes in the feed (server/write/feed.py): a push's events on one
incident are stored as one feed row spanning their positions, and every reader still
gets one change a position, whatever page or round boundary cuts through the run."""

from __future__ import annotations

from typing import Any

import msgspec

from server.core.tables import Change
from server.write.feed import spread
from tests.server.conftest import Bureau
from tests.server.phone import Phone


async def test_a_push_of_notes_is_one_feed_row_and_one_change_a_position(bureau: Bureau) -> None:
    first = await bureau.dispatched_incident()
    second = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    await phone.pull_all()  # the two incidents; from here on only the push's changes
    ops = [phone.op("note", first["id"], {"text": f"记录{i}"}) for i in range(5)]
    ops += [phone.op("note", second["id"], {"text": f"另一起{i}"}) for i in range(3)]
    pushed = await phone.push(ops)
    assert [r["status"] for r in pushed["results"]] == ["applied"] * 8

    rows = await Change.select(Change.pos, Change.span, Change.entity, Change.incident).where(
        Change.entity == "event"
    )
    assert sorted((r["incident"], r["span"]) for r in rows) == sorted(
        [(first["id"], 5), (second["id"], 3)]
    )

    # Read whole, and in pages of every size that cuts the runs: the same changes, one a
    # position, in push order within each incident, each with its event.
    cursor = phone.cursor
    whole = await phone.pull_all()
    events = [c for c in whole if c["entity"] == "event"]
    assert [c["id"] for c in events] == [op["op_id"] for op in ops]
    positions = [c["pos"] for c in whole]
    assert positions == sorted(set(positions))
    for run in (events[:5], events[5:]):  # each incident's run: consecutive positions
        assert [c["pos"] for c in run] == list(range(run[0]["pos"], run[0]["pos"] + len(run)))
    for change, op in zip(events, ops, strict=True):
        assert change["data"]["op_id"] == op["op_id"]
        assert change["data"]["body"] == op["body"]
        assert change["data"]["incident_id"] == op["incident_id"]
    for limit in (1, 2, 3, 4, 7):
        phone.cursor = cursor
        assert await phone.pull_all(limit=limit) == whole, limit
    # A cursor inside a run reads on from the position after it.
    phone.cursor = f"{bureau.client.app.state.epoch}.{events[2]['pos']}"
    assert [c["id"] for c in await phone.pull_all() if c["entity"] == "event"] == [
        op["op_id"] for op in ops if op["op_id"] not in {c["id"] for c in events[:3]}
    ]


def _run_row(last: int, ids: list[str]) -> dict[str, Any]:
    data = msgspec.json.encode([(i, {"op_id": i}) for i in ids]).decode()
    return {"pos": last, "span": len(ids), "entity": "event", "entity_id": ids[0], "data": data}


def test_spread_gives_the_positions_asked_for_wherever_a_run_is_cut() -> None:
    rows = [
        {"pos": 3, "span": 1, "entity": "incident", "entity_id": "i", "data": "{}"},
        _run_row(7, ["a", "b", "c", "d"]),  # positions 4 to 7
        {"pos": 8, "span": 1, "entity": "review", "entity_id": "r", "data": "{}"},
    ]

    def seen(after: int, upto: int) -> list[tuple[int, str]]:
        return [(c["pos"], c["entity_id"]) for c in spread(rows, after, upto)]

    assert seen(0, 8) == [(3, "i"), (4, "a"), (5, "b"), (6, "c"), (7, "d"), (8, "r")]
    assert seen(5, 8) == [(6, "c"), (7, "d"), (8, "r")]
    # A live round that ends inside the run, then the next one.
    assert seen(2, 5) + seen(5, 9) == seen(2, 9)
    assert seen(0, 3) == [(3, "i")]
    cut = spread(rows, 4, 5)
    assert len(cut) == 1 and cut[0]["span"] == 1 and cut[0]["entity"] == "event"
    assert msgspec.json.decode(cut[0]["data"]) == {"op_id": "b"}
