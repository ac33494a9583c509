"""The review queue: listing review items and resolving them (PROTOCOL §6.4, §6.6).

Resolving a conflict records the supervisor's choice as a new version of the record,
whose parents are the heads it merges: nothing is discarded, and later edits may build
on it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import msgspec
from piccolo.columns.combination import WhereRaw

from server.access.accounts import Caller
from server.access.scope import visible_incident
from server.core import audit
from server.core.clock import utcnow
from server.core.db import write_transaction
from server.core.errors import BadRequest, Forbidden, NotFound, StateConflict, Unprocessable
from server.core.ids import new_id
from server.core.tables import ReviewItem
from server.record.events import field_event, incident_events, lifecycle, mediation_events
from server.record.policy import sla_targets
from server.record.views import review_view
from server.write.feed import append_change
from server.write.group import Group
from server.write.publish import publish_incident
from server.write.reconcile import reconcile
from sync.clock import TIME_RANGE, in_range
from sync.messages import ClientId, Input, LongText
from sync.rules import Lifecycle, fold
from sync.views import ReviewItemView, ReviewKind


class Resolve(Input):
    keep_op_id: ClientId | None = None
    note: LongText = ""


def parse_instant(value: str | None, name: str) -> datetime | None:
    """An RFC 3339 query value with an offset; 400 `invalid_param` otherwise."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an RFC 3339 time", code="invalid_param") from exc
    if at.tzinfo is None or not in_range(at):
        raise BadRequest(
            f"{name} must carry an offset and lie within {TIME_RANGE}", code="invalid_param"
        )
    return at.astimezone(UTC)


async def list_reviews(
    caller: Caller,
    state: str,
    limit: int,
    *,
    kind: ReviewKind | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[ReviewItemView]:
    """The bureau's review items, newest first; a station chief's desk (read only): the
    items of their station (`station`; an item from before that column was kept: its
    incident's station). `since`/`until` bound `created_at` (since inclusive)."""
    after, before = parse_instant(since, "since"), parse_instant(until, "until")
    query = ReviewItem.select(ReviewItem.id).where(ReviewItem.bureau == caller.bureau_id)
    if not caller.is_command:
        if caller.role != "station_chief" or not caller.station_id:
            raise Forbidden("only a supervisor, an admin or a station chief may read reviews")
        query = query.where(
            WhereRaw(
                "(station = {} OR (station IS NULL AND incident IN"
                " (SELECT id FROM incident WHERE station = {})))",
                caller.station_id,
                caller.station_id,
            )
        )
    if state != "all":
        query = query.where(ReviewItem.state == state)
    if kind is not None:
        query = query.where(ReviewItem.kind == kind)
    if after is not None:
        query = query.where(ReviewItem.created_at >= after)
    if before is not None:
        query = query.where(ReviewItem.created_at < before)
    rows = await query.order_by(ReviewItem.created_at, ascending=False).limit(limit)
    return [await review_view(r["id"]) for r in rows]


async def resolve_review(caller: Caller, review_id: str, body: Resolve) -> ReviewItemView:
    now = utcnow()
    async with write_transaction():
        item = (
            await ReviewItem.select()
            .where((ReviewItem.id == review_id) & (ReviewItem.bureau == caller.bureau_id))
            .first()
        )
        if item is None:
            raise NotFound(f"no review item {review_id!r} in your bureau")
        if item["state"] != "open":
            raise StateConflict("this review item is already resolved", code="already_resolved")
        # An item of no incident (a mediation case's, a rectification's) keeps its station.
        station_id = item["station"]
        if item["incident"]:
            station_id = (await visible_incident(caller, item["incident"]))["station"]
        group = Group(
            caller.bureau_id,
            incident_id=item["incident"],
            mediation_root=None if item["incident"] else item["record_id"],
            station_id=station_id,
        )
        if item["kind"] == "conflict":
            await _merge_heads(caller, group, item["record_id"], body.keep_op_id)
        elif body.keep_op_id is not None:
            raise Unprocessable("keep_op_id applies to conflicts only", code="invalid")
        await ReviewItem.update(
            {
                ReviewItem.state: "resolved",
                ReviewItem.resolved_at: now,
                ReviewItem.resolved_by: caller.person_id,
                ReviewItem.note: body.note,
            }
        ).where(ReviewItem.id == review_id)
        await audit.append(
            audit.REVIEW_RESOLVED,
            actor=caller.person_id,
            device=caller.device_id,
            subject=review_id,
            detail={
                "kind": item["kind"],
                "incident": item["incident"],
                "keep_op_id": body.keep_op_id,
                "note_sha256": hashlib.sha256(body.note.encode()).hexdigest(),
            },
        )
        view = await review_view(review_id)
        await append_change(
            entity="review",
            entity_id=review_id,
            bureau_id=caller.bureau_id,
            station_id=station_id,
            incident_id=item["incident"],
            data=view,
        )
        if item["incident"]:
            await publish_incident(item["incident"])
        return view


async def _merge_heads(caller: Caller, group: Group, record_id: str, keep: str | None) -> None:
    if group.incident_id:
        rows = await incident_events(group.incident_id)
        life = await lifecycle(group.incident_id)
    else:
        rows = await mediation_events(record_id)
        life = Lifecycle()
        first = next((r for r in rows if r["op_id"] == record_id), None)
        group = Group(
            group.bureau_id,
            mediation_root=record_id,
            station_id=first["station"] if first else None,
        )
    _, tolerance = await sla_targets(caller.bureau_id)
    state = fold(life, [field_event(r) for r in rows], tolerance=tolerance).records.get(record_id)
    if state is None or not state.conflicted:
        return  # nothing left to merge (already merged by another resolution)
    kept = keep or state.head
    if kept not in state.heads:
        raise Unprocessable(
            f"keep_op_id must be one of the conflicting versions: {', '.join(state.heads)}",
            code="invalid_keep",
        )
    kept_row = next(r for r in rows if r["op_id"] == kept)
    now = utcnow()
    resolution = {
        "op_id": new_id(),
        "incident": group.incident_id,
        "bureau": caller.bureau_id,
        "device_id": "server",
        "person": caller.person_id,
        "station": group.station_id,
        "seq": 0,
        "type": state.type,
        "record_id": record_id,
        "base_op_id": kept,
        "parents": list(state.heads),
        "body": kept_row["body"],
        "content_hash": "",
        "device_time": None,
        "clock_offset_ms": None,
        "sent_at": None,
        "received_at": now,
        "server_offset_ms": None,
        "effective_time": now,
        "flags": "[]",
        "evidence_key": None,
    }
    resolution["content_hash"] = hashlib.sha256(
        msgspec.json.encode({"resolution_of": list(state.heads), "keep": kept})
    ).hexdigest()
    await reconcile(group, [resolution], tolerance=tolerance)
