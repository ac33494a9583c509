"""Reading stored field events: as the fold sees them, and as clients see them."""

from __future__ import annotations

from typing import Any

import msgspec

from server.core.clock import as_utc, as_utc_or_none
from server.core.db import fetch
from server.core.tables import Assignment, Event, Incident
from sync.messages import BODY_TYPES
from sync.rules import Diversion as DiversionAct
from sync.rules import FieldEvent, Lifecycle, Span
from sync.views import EventView

EVENT_COLUMNS = (
    Event.op_id,
    Event.incident,
    Event.device_id,
    Event.person,
    Event.seq,
    Event.type,
    Event.record_id,
    Event.base_op_id,
    Event.parents,
    Event.body,
    Event.device_time,
    Event.clock_offset_ms,
    Event.received_at,
    Event.effective_time,
    Event.flags,
    Event.station,
    Event.evidence_key,
    Event.device_high_water,
)


def load_json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def field_event(row: dict[str, Any]) -> FieldEvent:
    received = as_utc(row["received_at"])
    return FieldEvent(
        op_id=row["op_id"],
        type=row["type"],
        person_id=row["person"],
        received_at=received,
        effective_time=as_utc_or_none(row["effective_time"]) or received,
        record_id=row["record_id"],
        base_op_id=row["base_op_id"],
        parents=tuple(load_json(row["parents"]) or ()),
        body=load_json(row["body"]),
        server_made=row["device_time"] is None,
        device_high_water=as_utc_or_none(row.get("device_high_water")),
    )


def event_view(row: dict[str, Any]) -> EventView:
    """An event as clients see it: a timeline entry, and the data of an `event` change."""
    return EventView(
        op_id=row["op_id"],
        incident_id=row["incident"],
        type=row["type"],
        person_id=row["person"],
        device_id=row["device_id"],
        seq=row["seq"],
        device_time=as_utc_or_none(row["device_time"]),
        clock_offset_ms=row["clock_offset_ms"],
        received_at=as_utc(row["received_at"]),
        effective_time=as_utc_or_none(row["effective_time"]),
        record_id=row["record_id"],
        base_op_id=row["base_op_id"],
        parents=load_json(row["parents"]) or [],
        flags=load_json(row["flags"]) or [],
        body=load_json(row["body"]),
    )


# Events whose flags depend only on themselves and the lifecycle, and which feed no SLA
# clock, record or attachment: the fold needs the stored ones only when the lifecycle
# changes, never when other events join.
SELF_CONTAINED_TYPES = ("note", "ack_dispatch", "point_check_reply", "rating_invite")


_EVENT_SELECT = 'SELECT {} FROM "event" WHERE incident = {{}}'.format(
    ", ".join(f'"{c._meta.db_column_name}"' for c in EVENT_COLUMNS)
)
# Named positively (not `NOT IN` the self-contained ones) so that both engines look the
# rows up through the (incident, type) index instead of reading every note.
_TYPES_A_PUSH_CAN_AFFECT = tuple(t for t in BODY_TYPES if t not in SELF_CONTAINED_TYPES)
_EVENT_SELECT_FOR_PUSH = _EVENT_SELECT + " AND type IN ({})".format(
    ", ".join("{}" for _ in _TYPES_A_PUSH_CAN_AFFECT)
)


async def incident_events(incident_id: str, *, for_push: bool = False) -> list[dict[str, Any]]:
    """The incident's stored events. `for_push`: only those a new event can affect.

    Raw SQL, built once: this runs on every push, and building the query each time cost
    more than running it."""
    if for_push:
        return list(await fetch(_EVENT_SELECT_FOR_PUSH, incident_id, *_TYPES_A_PUSH_CAN_AFFECT))
    return list(await fetch(_EVENT_SELECT, incident_id))


async def push_events_of(
    incident_ids: list[str], diverted: set[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """`incident_events(i, for_push=True)` for several incidents at once (all the events
    of those `diverted`: their acknowledgements feed the agency clock), by incident."""
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in incident_ids}
    diverted = diverted or set()
    plain = [i for i in incident_ids if i not in diverted]
    whole = [i for i in incident_ids if i in diverted]
    for i in range(0, len(plain), 400):
        for row in await incident_events_of(plain[i : i + 400], types=_TYPES_A_PUSH_CAN_AFFECT):
            out[row["incident"]].append(row)
    for i in range(0, len(whole), 400):
        for row in await incident_events_of(whole[i : i + 400]):
            out[row["incident"]].append(row)
    return out


async def incident_events_of(
    incident_ids: list[str], *, types: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """The stored events of several incidents (optionally only some types), in one query."""
    if not incident_ids:
        return []
    sql = 'SELECT {} FROM "event" WHERE incident IN ({})'.format(
        ", ".join(f'"{c._meta.db_column_name}"' for c in EVENT_COLUMNS),
        ", ".join("{}" for _ in incident_ids),
    )
    values: list[Any] = list(incident_ids)
    if types:
        sql += " AND type IN ({})".format(", ".join("{}" for _ in types))
        values += list(types)
    return list(await fetch(sql, *values))


async def mediation_events(root: str) -> list[dict[str, Any]]:
    """The versions of a standalone mediation case (no incident)."""
    return list(
        await Event.select(*EVENT_COLUMNS).where(
            Event.incident.is_null() & ((Event.op_id == root) | (Event.record_id == root))
        )
    )


_DIVERSIONS = (
    "SELECT d.*, s.name AS agency_name FROM diversion d JOIN station s ON s.id = d.agency"
    " WHERE d.incident IN ({}) ORDER BY d.diverted_at, d.id"
)
_AGENCY_PEOPLE = "SELECT id, station FROM person WHERE station IN ({})"


async def diversions_of(incident_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The diversion rows of these incidents (oldest first), each with its agency's name
    and `members`: the ids of the agency's people (PROTOCOL §10: any of them may act)."""
    if not incident_ids:
        return {}
    rows = await fetch(_DIVERSIONS.format(", ".join("{}" for _ in incident_ids)), *incident_ids)
    out: dict[str, list[dict[str, Any]]] = {}
    if not rows:
        return out
    agencies = sorted({r["agency"] for r in rows})
    people: dict[str, set[str]] = {}
    for p in await fetch(_AGENCY_PEOPLE.format(", ".join("{}" for _ in agencies)), *agencies):
        people.setdefault(p["station"], set()).add(p["id"])
    for r in rows:
        r["members"] = frozenset(people.get(r["agency"], ()))
        r["person_ids"] = list(load_json(r["person_ids"]) or [])
        out.setdefault(r["incident"], []).append(r)
    return out


def diversion_acts(rows: list[dict[str, Any]]) -> tuple[DiversionAct, ...]:
    """Diversion rows (`diversions_of`) as the fold sees them."""
    acts = []
    for r in rows:
        at = as_utc(r["diverted_at"])
        acts.append(
            DiversionAct(
                diversion_id=r["id"],
                agency_id=r["agency"],
                at=at,
                members=r["members"],
                ack_target=as_utc(r["ack_due_at"]) - at,
                feedback_target=as_utc(r["feedback_due_at"]) - at,
            )
        )
    return tuple(acts)


async def lifecycle(incident_id: str) -> Lifecycle:
    row = (
        await Incident.select(
            Incident.dispatched_at,
            Incident.closed_at,
            Incident.cancelled_at,
            Incident.lat,
            Incident.lon,
        )
        .where(Incident.id == incident_id)
        .first()
    )
    if row is None:
        return Lifecycle()
    spans = await Assignment.select(
        Assignment.person, Assignment.assigned_at, Assignment.ended_at
    ).where(Assignment.incident == incident_id)
    return Lifecycle(
        dispatched_at=as_utc_or_none(row["dispatched_at"]),
        ended_at=as_utc_or_none(row["closed_at"]) or as_utc_or_none(row["cancelled_at"]),
        assignments=tuple(
            Span(s["person"], as_utc(s["assigned_at"]), as_utc_or_none(s["ended_at"]))
            for s in spans
        ),
        position=incident_position(row),
        diversions=diversion_acts((await diversions_of([incident_id])).get(incident_id, [])),
    )


def incident_position(row: dict[str, Any]) -> tuple[float, float] | None:
    """The incident's (lat, lon), when the call taker recorded both."""
    if row.get("lat") is None or row.get("lon") is None:
        return None
    return (float(row["lat"]), float(row["lon"]))
