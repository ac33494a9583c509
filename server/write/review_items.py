"""Step 3 of the write path: review items, the human half of reconciliation.

Every flag the fold raises on an event that a person must look at (`late`,
`clock_suspect`, `evidence_mismatch`, `far_arrival`) and every conflicted record opens one review item
(PROTOCOL §6.6); the SLA watch opens `overdue` and `missing_evidence` items through
`create_review_item` too. Each new item goes to the change feed at once. Runs inside
`db.write_transaction()`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from server.core.clock import utcnow
from server.core.ids import new_id
from server.core.tables import ReviewItem
from server.record.views import review_view
from server.write.feed import append_change
from server.write.group import Group
from sync.rules import Fold
from sync.views import ReviewItemView

# Flags that each become a review item of the same kind (PROTOCOL §6.6, §12).
REVIEWED_FLAGS = ("late", "clock_suspect", "evidence_mismatch", "far_arrival")


async def open_review_items(
    group: Group,
    result: Fold,
    *,
    existing: list[dict[str, Any]] | None = None,
    before_first: Callable[[], Awaitable[None]] | None = None,
) -> list[ReviewItemView]:
    """One review item per flagged event and kind; one open item per conflicted record.
    Returns the items opened.

    `existing`: the group's stored items (kind, op_id, record_id, state) when the caller
    has read them already; `before_first` runs before the first item is opened (a push
    flushes its held writes there, so the feed has the events before their items)."""
    if existing is None:
        existing = await ReviewItem.select(
            ReviewItem.kind, ReviewItem.op_id, ReviewItem.record_id, ReviewItem.state
        ).where(
            (ReviewItem.incident == group.incident_id)
            if group.incident_id
            else (ReviewItem.record_id == group.mediation_root)
        )
    have = {(r["kind"], r["op_id"]) for r in existing if r["op_id"]}
    open_conflicts = {
        r["record_id"] for r in existing if r["kind"] == "conflict" and r["state"] == "open"
    }
    wanted: list[dict[str, Any]] = []
    for op_id in sorted(result.flags):
        for kind in REVIEWED_FLAGS:
            if kind in result.flags[op_id] and (kind, op_id) not in have:
                detail = result.flag_details.get((op_id, kind), {})
                wanted.append({"kind": kind, "op_id": op_id, "detail": detail})
    for record in result.records.values():
        if record.conflicted and record.record_id not in open_conflicts:
            wanted.append(
                {
                    "kind": "conflict",
                    "op_id": None,
                    "record_id": record.record_id,
                    "detail": {"record_type": record.type, "heads": list(record.heads)},
                }
            )
    if wanted and before_first is not None:
        await before_first()
    return [await create_review_item(group, **item) for item in wanted]


async def create_review_item(
    group: Group,
    *,
    kind: str,
    op_id: str | None = None,
    record_id: str | None = None,
    clock: str | None = None,
    detail: dict[str, Any] | None = None,
    once_key: str | None = None,
) -> ReviewItemView:
    item = ReviewItem(
        id=new_id(),
        bureau=group.bureau_id,
        incident=group.incident_id,
        kind=kind,
        clock=clock,
        op_id=op_id,
        record_id=record_id if record_id is not None else group.mediation_root,
        state="open",
        detail=msgspec.json.encode(detail or {}).decode(),
        created_at=utcnow(),
        once_key=once_key,
        # The item's station (a station chief's desk lists their own): the group's.
        station=group.station_id,
    )
    await ReviewItem.insert(item)
    view = await review_view(item.id)
    await append_change(
        entity="review",
        entity_id=item.id,
        bureau_id=group.bureau_id,
        station_id=group.station_id,
        incident_id=group.incident_id,
        data=view,
    )
    return view
