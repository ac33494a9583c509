"""The incident record as callers see it (PROTOCOL §7 `GET /api/incidents/{id}`).

Built from the incident row, its assignments, the command center's actions, the field
events and the review items; the SLA clocks are computed by sync.rules from those facts.
The same record (without `timeline`) is what the change feed carries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from server.tables import Assignment, Event, Incident, IncidentAction, ReviewItem, SlaPolicy
from server.timeutil import as_utc, utcnow
from sync.rules import SlaTargets, incident_clocks


def _t(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


async def sla_targets(bureau_id: str) -> SlaTargets:
    row = await SlaPolicy.select().where(SlaPolicy.bureau == bureau_id).first()
    if row is None:
        return SlaTargets()
    return SlaTargets(
        arrival_urban_min=row["arrival_urban_min"],
        arrival_rural_min=row["arrival_rural_min"],
        initial_result_min=row["initial_result_min"],
        clear_min=row["clear_min"],
        evidence_min=row["evidence_min"],
    )


def _timeline(actions: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for a in actions:
        entries.append(
            {
                "op_id": None,
                "type": a["action"],
                "person_id": a["person"],
                "device_id": None,
                "device_time": None,
                "received_at": _t(a["recorded_at"]),
                "effective_time": _t(a["effective_time"]),
                "back_entered": a["back_entered"],
                "flags": [],
                "detail": _json(a["detail"]),
            }
        )
    for e in events:
        entries.append(
            {
                "op_id": e["op_id"],
                "type": e["type"],
                "person_id": e["person"],
                "device_id": e["device_id"],
                "seq": e["seq"],
                "device_time": _t(e["device_time"]),
                "received_at": _t(e["received_at"]),
                "effective_time": _t(e["effective_time"]),
                "record_id": e["record_id"],
                "base_op_id": e["base_op_id"],
                "flags": _json(e["flags"]),
                "body": _json(e["body"]),
            }
        )
    # Effective-time order; entries without one (suspect clocks) go by receipt.
    entries.sort(
        key=lambda x: (x["effective_time"] or x["received_at"], x["received_at"], x["op_id"] or "")
    )
    return entries


def _earliest(events: list[dict[str, Any]], types: tuple[str, ...], assigned: set[str]) -> Any:
    """Effective time of the earliest valid event of `types` by an assigned person."""
    times = [
        as_utc(e["effective_time"])
        for e in events
        if e["type"] in types
        and e["effective_time"] is not None
        and e["person"] in assigned
        and not ({"late", "clock_suspect"} & set(_json(e["flags"])))
    ]
    return min(times) if times else None


async def incident_record(
    incident_id: str, *, with_timeline: bool = True, now: datetime | None = None
) -> dict[str, Any]:
    """The full record of one incident. The caller has already checked scope."""
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
    actions = await IncidentAction.select().where(IncidentAction.incident == incident_id)
    events = await Event.select().where(Event.incident == incident_id)
    reviews = (
        await ReviewItem.select(
            ReviewItem.id,
            ReviewItem.kind,
            ReviewItem.clock,
            ReviewItem.op_id,
            ReviewItem.state,
            ReviewItem.created_at,
        )
        .where(ReviewItem.incident == incident_id)
        .order_by(ReviewItem.created_at)
    )

    ever_assigned = {a["person"] for a in assignments}
    evidence_kinds = ("interview_record", "witness_statement", "scene_inspection")
    evidence_at = []
    for kind in evidence_kinds:
        times = [
            as_utc(e["effective_time"])
            for e in events
            if e["type"] == "evidence_item"
            and e["effective_time"] is not None
            and _json(e["body"]).get("kind") == kind
        ]
        evidence_at.append(min(times) if times else None)
    case_accepted = [
        as_utc(e["effective_time"])
        for e in events
        if e["type"] == "disposition"
        and e["effective_time"] is not None
        and _json(e["body"]).get("result") == "case_accepted"
    ]
    clocks = incident_clocks(
        targets=await sla_targets(row["bureau"]),
        area_type=row["area_type"],
        received_at=as_utc(row["received_at"]),
        dispatched_at=_t(row["dispatched_at"]),
        closed_at=_t(row["closed_at"]),
        stopped_at=_t(row["cancelled_at"]),
        first_arrival_at=_earliest(events, ("arrival",), ever_assigned),
        first_result_at=_earliest(events, ("scene_report", "disposition"), ever_assigned),
        case_accepted_at=min(case_accepted) if case_accepted else None,
        evidence_complete_at=(
            max(evidence_at) if all(t is not None for t in evidence_at) else None  # type: ignore[type-var]
        ),
        now=now or utcnow(),
    )
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
        "dispatched_at": _t(row["dispatched_at"]),
        "closed_at": _t(row["closed_at"]),
        "cancelled_at": _t(row["cancelled_at"]),
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
        "review_items": [
            {
                "id": r["id"],
                "kind": r["kind"],
                "clock": r["clock"],
                "op_id": r["op_id"],
                "state": r["state"],
            }
            for r in reviews
        ],
        "updated_at": as_utc(row["updated_at"]),
    }
    if with_timeline:
        record["timeline"] = _timeline(list(actions), list(events))
    return record
