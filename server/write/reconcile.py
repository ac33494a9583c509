"""Applying the reconciliation fold inside a write transaction.

After new versions or events join an incident (or a standalone mediation case), the fold
is run over the whole set; stored flags that changed are rewritten and re-published,
review items are opened for new flags, and the record goes to the change feed. Runs
inside `db.write_transaction()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec

from server.access.accounts import new_id
from server.core.db import bulk_insert
from server.record.events import (
    event_view,
    field_event,
    incident_events,
    lifecycle,
    load_json,
    mediation_events,
)
from server.write.feed import append_change, append_changes
from server.core.tables import Event, Incident, ReviewItem
from server.core.clock import utcnow
from sync.rules import Fold, Lifecycle, clip_key, fold

# Flags that each become a review item of the same kind (PROTOCOL §6.6).
REVIEWED_FLAGS = ("late", "clock_suspect", "evidence_mismatch")


@dataclass(frozen=True)
class Group:
    """What one fold covers: an incident, or a standalone mediation case (its root op)."""

    bureau_id: str
    incident_id: str | None = None
    mediation_root: str | None = None
    station_id: str | None = None


def evidence_key(event_type: str, body: dict[str, Any]) -> str | None:
    if event_type != "bodycam_ref":
        return None
    serial, clip = clip_key(body)
    return f"{serial}\x1f{clip}"


async def _clip_hashes(rows: list[dict[str, Any]], group: Group) -> tuple[dict, set[str]]:
    """sha256s reported for this group's clips anywhere in the bureau, and the other
    incidents that reported one of those clips."""
    # Stored and new rows carry their clip's key: no body is parsed for it.
    keys = {r["evidence_key"] for r in rows if r.get("evidence_key")}
    if not keys:
        return {}, set()
    others = await Event.select(Event.body, Event.incident, Event.evidence_key).where(
        Event.evidence_key.is_in(list(keys)) & (Event.bureau == group.bureau_id)
    )
    hashes: dict[tuple[str, str], set[str]] = {}
    incidents: set[str] = set()
    for o in others:
        body = load_json(o["body"])
        if body.get("sha256"):
            hashes.setdefault(clip_key(body), set()).add(body["sha256"])
        if o["incident"] and o["incident"] != group.incident_id:
            incidents.add(o["incident"])
    return hashes, incidents


async def reconcile(
    group: Group,
    new_rows: list[dict[str, Any]] | None = None,
    *,
    tolerance: timedelta = timedelta(seconds=60),
    _visited: set[str] | None = None,
) -> Fold:
    """Fold the group with `new_rows` (event rows not yet stored), store and publish.

    With new rows, stored events whose flags cannot depend on them are not re-read
    (events.SELF_CONTAINED_TYPES); without (a lifecycle change, a resolution), all are.
    """
    new_rows = new_rows or []
    if group.incident_id is not None:
        stored = await incident_events(group.incident_id, for_push=bool(new_rows))
        life = await lifecycle(group.incident_id)
    else:
        assert group.mediation_root is not None
        stored = await mediation_events(group.mediation_root)
        life = Lifecycle()
    rows = stored + new_rows
    clip_hashes, other_incidents = await _clip_hashes(rows, group)
    result = fold(
        life, [field_event(r) for r in rows], tolerance=tolerance, clip_hashes=clip_hashes
    )

    if new_rows:
        for row in new_rows:
            row["flags"] = list(result.flags[row["op_id"]])
        await bulk_insert(Event, [_insertable(r) for r in new_rows])
    changed = []
    for row in stored:
        now_flags = list(result.flags[row["op_id"]])
        if now_flags != (load_json(row["flags"]) or []):
            await Event.update({Event.flags: msgspec.json.encode(now_flags).decode()}).where(
                Event.op_id == row["op_id"]
            )
            row["flags"] = now_flags
            changed.append(row)
    await append_changes(
        [
            {
                "entity": "event",
                "entity_id": row["op_id"],
                "bureau_id": group.bureau_id,
                "station_id": group.station_id,
                "incident_id": group.incident_id,
                "data": event_view(row),
            }
            for row in [*new_rows, *changed]
        ]
    )
    await _open_review_items(group, result, rows)

    if group.incident_id is not None:
        from server.services.incidents import publish_incident

        await publish_incident(group.incident_id, events=rows, folded=result, with_timeline=False)
    else:
        await _publish_mediation(group, result)

    # A clip now reported with two hashes: the other incidents' copies are flagged too.
    visited = (_visited or set()) | {group.incident_id or ""}
    if any("evidence_mismatch" in f for f in result.flags.values()):
        for incident_id in sorted(other_incidents - visited):
            other = (
                await Incident.select(Incident.bureau, Incident.station)
                .where(Incident.id == incident_id)
                .first()
            )
            if other is not None:
                await reconcile(
                    Group(other["bureau"], incident_id, station_id=other["station"]),
                    tolerance=tolerance,
                    _visited=visited,
                )
    return result


def _insertable(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("body", "flags", "parents"):
        if not isinstance(out[key], str):
            out[key] = msgspec.json.encode(out[key]).decode()
    return out


async def _open_review_items(group: Group, result: Fold, rows: list[dict[str, Any]]) -> None:
    """One review item per flagged event and kind; one open item per conflicted record."""
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
                wanted.append({"kind": kind, "op_id": op_id, "detail": {}})
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
    for item in wanted:
        await create_review_item(group, **item)


async def create_review_item(
    group: Group,
    *,
    kind: str,
    op_id: str | None = None,
    record_id: str | None = None,
    clock: str | None = None,
    detail: dict[str, Any] | None = None,
    once_key: str | None = None,
) -> dict[str, Any]:
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


async def review_view(review_id: str) -> dict[str, Any]:
    r = await ReviewItem.select().where(ReviewItem.id == review_id).first()
    assert r is not None
    return {
        "id": r["id"],
        "kind": r["kind"],
        "state": r["state"],
        "incident_id": r["incident"],
        "op_id": r["op_id"],
        "record_id": r["record_id"],
        "clock": r["clock"],
        "detail": load_json(r["detail"]),
        "created_at": r["created_at"],
        "resolved_at": r["resolved_at"],
        "resolved_by": r["resolved_by"],
        "note": r["note"] or None,
    }


def record_view(state: Any) -> dict[str, Any]:
    return {
        "record_id": state.record_id,
        "type": state.type,
        "head": state.head,
        "heads": list(state.heads),
        "versions": list(state.versions),
        "conflicted": state.conflicted,
        "body": state.body,
    }


async def _publish_mediation(group: Group, result: Fold) -> None:
    assert group.mediation_root is not None
    state = result.records.get(group.mediation_root)
    await append_change(
        entity="mediation",
        entity_id=group.mediation_root,
        bureau_id=group.bureau_id,
        station_id=group.station_id,
        data={
            "id": group.mediation_root,
            "incident_id": None,
            "station_id": group.station_id,
            "record": record_view(state) if state else None,
        },
    )
