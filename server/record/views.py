"""Small views of stored things as clients see them: a review item, a record's state.

(The incident record is server/record/incident.py; a field event is
server/record/events.py `event_view`.)
"""

from __future__ import annotations

from typing import Any

from server.core.tables import ReviewItem
from server.record.events import load_json
from sync.rules import RecordState
from sync.views import RecordView, ReviewItemView, ReviewRef


async def review_view(review_id: str) -> ReviewItemView:
    """A review item as the review queue and the change feed carry it."""
    r = await ReviewItem.select().where(ReviewItem.id == review_id).first()
    assert r is not None
    return ReviewItemView(
        id=r["id"],
        kind=r["kind"],
        state=r["state"],
        incident_id=r["incident"],
        op_id=r["op_id"],
        record_id=r["record_id"],
        clock=r["clock"],
        detail=load_json(r["detail"]),
        created_at=r["created_at"],
        resolved_at=r["resolved_at"],
        resolved_by=r["resolved_by"],
        note=r["note"] or None,
    )


def review_ref(row: dict[str, Any]) -> ReviewRef:
    """A `review_item` row (its id, kind, clock, op_id, record_id and state) as listed on
    its incident: in the record and on the board."""
    return ReviewRef(
        id=row["id"],
        kind=row["kind"],
        clock=row["clock"],
        op_id=row["op_id"],
        record_id=row["record_id"],
        state=row["state"],
    )


def record_view(state: RecordState) -> RecordView:
    """One versioned record (scene report, disposition, mediation...) after the fold."""
    return RecordView(
        record_id=state.record_id,
        type=state.type,
        head=state.head,
        heads=list(state.heads),
        versions=list(state.versions),
        conflicted=state.conflicted,
        body=state.body,
    )
