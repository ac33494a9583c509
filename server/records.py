"""The incident record as callers see it (PROTOCOL §7 `GET /api/incidents/{id}`).

Built from the incident row, its assignments, the command center's actions, the field
events (through the reconciliation fold) and the review items. The same record, without
`timeline`, is what the change feed carries.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from server.events import event_view, field_event, incident_events, lifecycle, load_json
from server.reconcile import record_view
from server.tables import Assignment, Blob, Incident, IncidentAction, ReviewItem, SlaPolicy
from server.timeutil import as_utc, as_utc_or_none, utcnow
from sync.rules import Fold, SlaTargets, fold, incident_clocks

_POLICY_TTL_S = 30.0
_policies: dict[str, tuple[float, SlaTargets, timedelta]] = {}


async def sla_targets(bureau_id: str) -> tuple[SlaTargets, timedelta]:
    """The bureau's SLA targets and its clock tolerance.

    Read on every push and record; policy changes rarely, so each process keeps it for
    30 s (a changed policy takes effect everywhere within that).
    """
    cached = _policies.get(bureau_id)
    if cached is not None and time.monotonic() - cached[0] < _POLICY_TTL_S:
        return cached[1], cached[2]
    row = await SlaPolicy.select().where(SlaPolicy.bureau == bureau_id).first()
    if row is None:
        targets, tolerance = SlaTargets(), timedelta(seconds=60)
    else:
        targets = SlaTargets(
            arrival_urban_min=row["arrival_urban_min"],
            arrival_rural_min=row["arrival_rural_min"],
            initial_result_min=row["initial_result_min"],
            clear_min=row["clear_min"],
            evidence_min=row["evidence_min"],
        )
        tolerance = timedelta(seconds=row["clock_tolerance_s"])
    _policies[bureau_id] = (time.monotonic(), targets, tolerance)
    return targets, tolerance


def _action_view(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "op_id": None,
        "type": a["action"],
        "person_id": a["person"],
        "device_id": None,
        "device_time": None,
        "received_at": as_utc_or_none(a["recorded_at"]),
        "effective_time": as_utc_or_none(a["effective_time"]),
        "back_entered": a["back_entered"],
        "flags": [],
        "detail": load_json(a["detail"]),
    }


def _timeline(actions: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = [_action_view(a) for a in actions] + [event_view(e) for e in events]
    # Effective-time order; then receipt, then op_id, so the order is total.
    entries.sort(
        key=lambda x: (x["effective_time"] or x["received_at"], x["received_at"], x["op_id"] or "")
    )
    return entries


async def attachment_states(hashes: set[str]) -> dict[str, str]:
    """Each referenced blob: `stored`, or `pending` until it is uploaded (§8)."""
    if not hashes:
        return {}
    stored = {
        r["sha256"] for r in await Blob.select(Blob.sha256).where(Blob.sha256.is_in(list(hashes)))
    }
    return {h: ("stored" if h in stored else "pending") for h in sorted(hashes)}


async def incident_record(
    incident_id: str,
    *,
    with_timeline: bool = True,
    now: datetime | None = None,
    events: list[dict[str, Any]] | None = None,
    folded: Fold | None = None,
) -> dict[str, Any]:
    """The full record of one incident. The caller has already checked scope.

    `events` and `folded` let a caller that has just folded the incident's events (the
    push path) hand them over instead of having them read and folded again.
    """
    row = await Incident.select().where(Incident.id == incident_id).first()
    if row is None:
        raise LookupError(incident_id)
    assignments = (
        await Assignment.select(
            Assignment.person,
            Assignment.person.name.as_alias("name"),
            Assignment.station,
            Assignment.assigned_at,
            Assignment.ended_at,
        )
        .where(Assignment.incident == incident_id)
        .order_by(Assignment.assigned_at)
    )
    if events is None:
        events = await incident_events(incident_id)
    reviews = (
        await ReviewItem.select(
            ReviewItem.id,
            ReviewItem.kind,
            ReviewItem.clock,
            ReviewItem.op_id,
            ReviewItem.record_id,
            ReviewItem.state,
        )
        .where(ReviewItem.incident == incident_id)
        .order_by(ReviewItem.created_at, ReviewItem.id)
    )

    targets, tolerance = await sla_targets(row["bureau"])
    result = folded or fold(
        await lifecycle(incident_id), [field_event(e) for e in events], tolerance=tolerance
    )
    clocks = incident_clocks(
        targets=targets,
        area_type=row["area_type"],
        received_at=as_utc(row["received_at"]),
        dispatched_at=as_utc_or_none(row["dispatched_at"]),
        closed_at=as_utc_or_none(row["closed_at"]),
        stopped_at=as_utc_or_none(row["cancelled_at"]),
        first_arrival_at=result.first_arrival_at,
        first_result_at=result.first_result_at,
        case_accepted_at=result.case_accepted_at,
        evidence_complete_at=result.evidence_complete_at,
        now=now or utcnow(),
    )
    referenced = {h for e in events for h in (load_json(e["body"]).get("attachments") or [])}
    record: dict[str, Any] = {
        "id": row["id"],
        "number": row["number"],
        "bureau_id": row["bureau"],
        "status": row["status"],
        "version": row["version"],
        "category": row["category"],
        "area_type": row["area_type"],
        "address": row["address"],
        "lat": row["lat"],
        "lon": row["lon"],
        "caller_name": row["caller_name"],
        "caller_phone": row["caller_phone"],
        "narrative": row["narrative"],
        "received_at": as_utc(row["received_at"]),
        "received_back_entered": row["received_back_entered"],
        "station_id": row["station"],
        "dispatched_at": as_utc_or_none(row["dispatched_at"]),
        "closed_at": as_utc_or_none(row["closed_at"]),
        "cancelled_at": as_utc_or_none(row["cancelled_at"]),
        "close_summary": row["close_summary"] or None,
        "cancel_reason": row["cancel_reason"] or None,
        "assignees": [
            {
                "person_id": a["person"],
                "name": a["name"],
                "station_id": a["station"],
                "assigned_at": as_utc(a["assigned_at"]),
            }
            for a in assignments
            if a["ended_at"] is None
        ],
        "clocks": {name: clock.as_dict() for name, clock in clocks.items()},
        "records": [record_view(s) for s in result.records.values()],
        "attachments": await attachment_states(referenced),
        "review_items": [
            {
                "id": r["id"],
                "kind": r["kind"],
                "clock": r["clock"],
                "op_id": r["op_id"],
                "record_id": r["record_id"],
                "state": r["state"],
            }
            for r in reviews
        ],
        "updated_at": as_utc(row["updated_at"]),
    }
    if with_timeline:
        actions = await IncidentAction.select().where(IncidentAction.incident == incident_id)
        record["timeline"] = _timeline(list(actions), events)
    return record
