"""The command center's incident record: create, dispatch, reassign, cancel, close.

The command center is authoritative for the lifecycle (PROTOCOL §6.2):

    received ──dispatch──> dispatched ──close──> closed
      │  ↑                   │  ↺ reassign
      │  └─returned─┐        │
      ├──divert──> diverted ─┼──close──> closed          (PROTOCOL §10)
      └──────cancel──────────┴──cancel──> cancelled

`returned` is the linked agency's answer (the `agency_feedback` op), not a command act:
the write path brings the incident back (server/write/publish.py `_come_back`).

Closing an incident whose caller left a phone opens its callback task (PROTOCOL §9,
server/write/verdicts.py `open_callback_task`), unless it was created `no_callback`.

Every act is stored as an `incident_action` (it appears in the timeline with op_id
null), bumps the incident's version, and appends the new record to the change feed,
all in one write transaction, with its row in the audit log (server/core/audit.py).

Reads answer the caller's name and phone in full only to those PROTOCOL §12 allows
(server/record/caller_data.py), masked to everyone else, and audit every full answer.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec

from server.access.accounts import Caller
from server.access.scope import incident_scope, visible_incident
from server.core import audit
from server.core.clock import local_day, utcnow
from server.core.db import write_transaction
from server.core.errors import StateConflict, Unprocessable
from server.core.ids import new_id
from server.core.tables import (
    AgencyDuty,
    Assignment,
    Diversion,
    Incident,
    IncidentAction,
    Person,
    Station,
)
from server.record.caller_data import answer_records
from server.record.incident import incident_record, incident_records
from server.write.publish import publish_incident
from server.write.verdicts import open_callback_task
from sync.clock import TIME_RANGE, in_range
from sync.messages import (
    FIELD_ROLES,
    OPEN_STATUSES,
    AreaType,
    AwareTime,
    Category,
    ClientId,
    Input,
    Latitude,
    Longitude,
    LongText,
    ShortText,
)
from sync.views import IncidentRecord

Phone = Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[0-9+() -]*\Z")]
PersonIds = Annotated[list[ClientId], msgspec.Meta(min_length=1, max_length=50)]
Summary = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000, pattern=r"^[^\x00]*\Z")]


StatusFilter = Literal["open", "received", "dispatched", "diverted", "closed", "cancelled", "all"]


class CreateIncident(Input):
    category: Category
    area_type: AreaType
    address: ShortText
    narrative: LongText
    lat: Latitude | None = None
    lon: Longitude | None = None
    caller_name: ShortText = ""
    caller_phone: Phone = ""
    received_at: AwareTime | None = None
    # A caller a call back could endanger (domestic violence): closing opens no callback
    # task (PROTOCOL §9).
    no_callback: bool = False


class Dispatch(Input):
    station_id: ClientId
    person_ids: PersonIds
    dispatched_at: AwareTime | None = None


class Divert(Input):
    """PROTOCOL §10: hand a non-police call to a linked agency."""

    agency_id: ClientId
    instructions: Summary
    person_ids: Annotated[list[ClientId], msgspec.Meta(max_length=50)] | None = None


# An agency without duties answers within these (docs/diversion.md).
DEFAULT_ACK_MINUTES = 30
DEFAULT_FEEDBACK_HOURS = 24


class Reassign(Input):
    station_id: ClientId
    person_ids: PersonIds


CheckText = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=r"^[^\x00]*\Z")]


class PointCheck(Input):
    """点调: the command center asks the people on an incident to report in."""

    text: CheckText
    person_ids: Annotated[list[ClientId], msgspec.Meta(max_length=50)] | None = None


class Close(Input):
    summary: Summary


class Cancel(Input):
    reason: Summary


def _check_entered_time(value: datetime, now: datetime, what: str) -> None:
    if not in_range(value):
        # Checked first: such a time cannot even be turned into a local day.
        raise Unprocessable(f"{what} must lie within {TIME_RANGE}", code="invalid_time")
    if value > now:
        raise Unprocessable(
            f"{what} lies in the future; it must be now or earlier", code="invalid_time"
        )


async def _next_number(bureau_id: str, received_at: datetime) -> str:
    """J<yyyymmdd>-<nnnn>: numbered per bureau per day of receipt, in Asia/Shanghai."""
    prefix = "J" + local_day(received_at).strftime("%Y%m%d") + "-"
    taken = await Incident.count().where(
        (Incident.bureau == bureau_id) & Incident.number.like(prefix + "%")
    )
    return f"{prefix}{taken + 1:04d}"


async def _record_action(
    incident_id: str,
    caller: Caller,
    action: str,
    *,
    effective_time: datetime,
    recorded_at: datetime,
    back_entered: bool = False,
    detail: dict[str, Any] | None = None,
    action_id: str | None = None,
) -> None:
    """Store a command-center act and its audit row (inside the act's transaction)."""
    action_id = action_id or new_id()
    encoded = msgspec.json.encode(detail or {}).decode()
    await IncidentAction.insert(
        IncidentAction(
            id=action_id,
            incident=incident_id,
            action=action,
            person=caller.person_id,
            effective_time=effective_time,
            recorded_at=recorded_at,
            back_entered=back_entered,
            detail=encoded,
        )
    )
    await _audit_act(caller, incident_id, action, action_id, encoded)


async def _audit_act(
    caller: Caller, incident_id: str, action: str, action_id: str, detail: str
) -> None:
    """The audit row of a command-center act: the `incident_action` row it wrote and the
    SHA-256 of that row's detail (its summary, reason, text or team), so the act's
    stored text can be checked against the log without copying it there."""
    await audit.append(
        audit.INCIDENT_ACTS[action],
        actor=caller.person_id,
        device=caller.device_id,
        subject=incident_id,
        detail={
            "action_id": action_id,
            "detail_sha256": hashlib.sha256(detail.encode()).hexdigest(),
        },
    )


async def list_incidents(caller: Caller, status: StatusFilter, limit: int) -> list[IncidentRecord]:
    """Incidents in the caller's scope with this status (`open`: received, dispatched or diverted),
    newest received first, without timelines."""
    query = Incident.select(Incident.id).where(await incident_scope(caller))
    if status == "open":
        query = query.where(Incident.status.is_in(list(OPEN_STATUSES)))
    elif status != "all":
        query = query.where(Incident.status == status)
    rows = await query.order_by(Incident.received_at, ascending=False).limit(limit)
    return await answer_records(caller, await incident_records([r["id"] for r in rows]), "list")


async def get_incident(caller: Caller, incident_id: str) -> IncidentRecord:
    """One incident with its timeline, if the caller may see it (404 otherwise)."""
    await visible_incident(caller, incident_id)
    [record] = await answer_records(caller, [await incident_record(incident_id)], "get")
    return record


async def create_incident(caller: Caller, body: CreateIncident) -> IncidentRecord:
    now = utcnow()
    received_at = body.received_at or now
    _check_entered_time(received_at, now, "received_at")
    incident_id = new_id()
    async with write_transaction():
        number = await _next_number(caller.bureau_id, received_at)
        await Incident.insert(
            Incident(
                id=incident_id,
                bureau=caller.bureau_id,
                number=number,
                category=body.category,
                area_type=body.area_type,
                address=body.address,
                lat=body.lat,
                lon=body.lon,
                caller_name=body.caller_name,
                caller_phone=body.caller_phone,
                narrative=body.narrative,
                received_at=received_at,
                received_back_entered=body.received_at is not None,
                no_callback=body.no_callback,
                status="received",
                created_by=caller.person_id,
                version=1,
                updated_at=now,
            )
        )
        await _record_action(
            incident_id,
            caller,
            "received",
            effective_time=received_at,
            recorded_at=now,
            back_entered=body.received_at is not None,
        )
        return await publish_incident(incident_id)


async def _load_for_change(caller: Caller, incident_id: str, allowed: tuple[str, ...], act: str):
    row = await visible_incident(caller, incident_id)
    if row["status"] not in allowed:
        raise StateConflict(
            f"cannot {act} an incident that is {row['status']}", code="invalid_state"
        )
    return row


async def _check_team(caller: Caller, station_id: str, person_ids: list[str]) -> list[str]:
    station = (
        await Station.select(Station.id)
        .where((Station.id == station_id) & (Station.bureau == caller.bureau_id))
        .first()
    )
    if station is None:
        raise Unprocessable(f"no station {station_id!r} in your bureau", code="unknown_station")
    unique_ids = list(dict.fromkeys(person_ids))
    people = await Person.select(Person.id, Person.role).where(
        Person.id.is_in(unique_ids) & (Person.bureau == caller.bureau_id) & (Person.active == True)  # noqa: E712 - Piccolo builds SQL from ==
    )
    found = {p["id"]: p["role"] for p in people}
    missing = [p for p in unique_ids if p not in found]
    if missing:
        raise Unprocessable(
            f"no active person {missing[0]!r} in your bureau", code="unknown_person"
        )
    not_field = [p for p in unique_ids if found[p] not in FIELD_ROLES]
    if not_field:
        raise Unprocessable(
            f"person {not_field[0]!r} has a command-center role and cannot be sent out",
            code="unknown_person",
        )
    return unique_ids


async def _assign(incident_id: str, station_id: str, person_ids: list[str], at: datetime) -> None:
    active = await Assignment.select(Assignment.id, Assignment.person).where(
        (Assignment.incident == incident_id) & Assignment.ended_at.is_null()
    )
    keep = set(person_ids)
    for row in active:
        if row["person"] not in keep:
            await Assignment.update({Assignment.ended_at: at}).where(Assignment.id == row["id"])
    already = {row["person"] for row in active}
    for person_id in person_ids:
        if person_id not in already:
            await Assignment.insert(
                Assignment(
                    id=new_id(),
                    incident=incident_id,
                    person=person_id,
                    station=station_id,
                    assigned_at=at,
                )
            )
        else:
            await Assignment.update({Assignment.station: station_id}).where(
                (Assignment.incident == incident_id)
                & (Assignment.person == person_id)
                & Assignment.ended_at.is_null()
            )


async def dispatch_incident(caller: Caller, incident_id: str, body: Dispatch) -> IncidentRecord:
    now = utcnow()
    dispatched_at = body.dispatched_at or now
    _check_entered_time(dispatched_at, now, "dispatched_at")
    async with write_transaction():
        row = await _load_for_change(caller, incident_id, ("received",), "dispatch")
        if dispatched_at < row["received_at"]:
            raise Unprocessable(
                "dispatched_at lies before the call was received", code="invalid_time"
            )
        last_diverted = await _last_diversion_at(incident_id)
        if last_diverted is not None and dispatched_at < last_diverted:
            # The diversion's window ends at the dispatch (sync.rules): keep them in order.
            raise Unprocessable(
                "dispatched_at lies before the call was diverted", code="invalid_time"
            )
        person_ids = await _check_team(caller, body.station_id, body.person_ids)
        await _assign(incident_id, body.station_id, person_ids, dispatched_at)
        await Incident.update(
            {
                Incident.status: "dispatched",
                Incident.station: body.station_id,
                Incident.dispatched_at: dispatched_at,
                Incident.version: Incident.version + 1,
                Incident.updated_at: now,
            }
        ).where(Incident.id == incident_id)
        await _record_action(
            incident_id,
            caller,
            "dispatched",
            effective_time=dispatched_at,
            recorded_at=now,
            back_entered=body.dispatched_at is not None,
            detail={"station_id": body.station_id, "person_ids": person_ids},
        )
        return await publish_incident(incident_id, scope_grew=True)


async def _last_diversion_at(incident_id: str) -> datetime | None:
    row = (
        await Diversion.select(Diversion.diverted_at)
        .where(Diversion.incident == incident_id)
        .order_by(Diversion.diverted_at, ascending=False)
        .first()
    )
    return None if row is None else row["diverted_at"]


async def _check_agency(caller: Caller, agency_id: str, person_ids: list[str]) -> list[str]:
    """The agency must be a linked agency of the caller's bureau (else 422
    `unknown_agency`); the named people active people of it (else `unknown_person`)."""
    agency = (
        await Station.select(Station.id)
        .where(
            (Station.id == agency_id)
            & (Station.bureau == caller.bureau_id)
            & (Station.kind == "linked_agency")
        )
        .first()
    )
    if agency is None:
        raise Unprocessable(f"no linked agency {agency_id!r} in your bureau", code="unknown_agency")
    unique_ids = list(dict.fromkeys(person_ids))
    if not unique_ids:
        return []
    people = await Person.select(Person.id).where(
        Person.id.is_in(unique_ids) & (Person.station == agency_id) & (Person.active == True)  # noqa: E712 - Piccolo builds SQL from ==
    )
    found = {p["id"] for p in people}
    missing = [p for p in unique_ids if p not in found]
    if missing:
        raise Unprocessable(
            f"no active person {missing[0]!r} of agency {agency_id!r}", code="unknown_person"
        )
    return unique_ids


async def divert_incident(caller: Caller, incident_id: str, body: Divert) -> IncidentRecord:
    """Divert a received call to a linked agency (PROTOCOL §10): the incident becomes
    `diverted`, its station the agency, the named people its assignees; the agency's
    clocks run from now by its duties (30 min and 24 h without duties)."""
    now = utcnow()
    async with write_transaction():
        await _load_for_change(caller, incident_id, ("received",), "divert")
        person_ids = await _check_agency(caller, body.agency_id, body.person_ids or [])
        duty = (
            await AgencyDuty.select(AgencyDuty.ack_minutes, AgencyDuty.feedback_hours)
            .where(AgencyDuty.id == body.agency_id)
            .first()
        )
        ack_minutes = duty["ack_minutes"] if duty else DEFAULT_ACK_MINUTES
        feedback_hours = duty["feedback_hours"] if duty else DEFAULT_FEEDBACK_HOURS
        diversion_id = new_id()
        await Diversion.insert(
            Diversion(
                id=diversion_id,
                incident=incident_id,
                bureau=caller.bureau_id,
                agency=body.agency_id,
                diverted_at=now,
                diverted_by=caller.person_id,
                instructions=body.instructions,
                person_ids=msgspec.json.encode(person_ids).decode(),
                ack_due_at=now + timedelta(minutes=ack_minutes),
                feedback_due_at=now + timedelta(hours=feedback_hours),
            )
        )
        await _assign(incident_id, body.agency_id, person_ids, now)
        await Incident.update(
            {
                Incident.status: "diverted",
                Incident.station: body.agency_id,
                Incident.version: Incident.version + 1,
                Incident.updated_at: now,
            }
        ).where(Incident.id == incident_id)
        await _record_action(
            incident_id,
            caller,
            "diverted",
            effective_time=now,
            recorded_at=now,
            detail={
                "diversion_id": diversion_id,
                "agency_id": body.agency_id,
                "person_ids": person_ids,
                "instructions": body.instructions,
                "ack_minutes": ack_minutes,
                "feedback_hours": feedback_hours,
            },
        )
        return await publish_incident(incident_id, scope_grew=True)


async def reassign_incident(caller: Caller, incident_id: str, body: Reassign) -> IncidentRecord:
    now = utcnow()
    async with write_transaction():
        await _load_for_change(caller, incident_id, ("dispatched",), "reassign")
        person_ids = await _check_team(caller, body.station_id, body.person_ids)
        await _assign(incident_id, body.station_id, person_ids, now)
        await Incident.update(
            {
                Incident.station: body.station_id,
                Incident.version: Incident.version + 1,
                Incident.updated_at: now,
            }
        ).where(Incident.id == incident_id)
        await _record_action(
            incident_id,
            caller,
            "reassigned",
            effective_time=now,
            recorded_at=now,
            detail={"station_id": body.station_id, "person_ids": person_ids},
        )
        return await publish_incident(incident_id, scope_grew=True)


async def point_check(caller: Caller, incident_id: str, body: PointCheck) -> IncidentRecord:
    """Record a point-check (点调) of an open incident; it reaches the assigned devices as
    the incident's next version. `person_ids` (default: everyone assigned) must be people
    currently assigned to it."""
    now = utcnow()
    async with write_transaction():
        await _load_for_change(caller, incident_id, OPEN_STATUSES, "point-check")
        person_ids = list(dict.fromkeys(body.person_ids or []))
        if person_ids:
            assigned = {
                r["person"]
                for r in await Assignment.select(Assignment.person).where(
                    (Assignment.incident == incident_id) & Assignment.ended_at.is_null()
                )
            }
            stranger = next((p for p in person_ids if p not in assigned), None)
            if stranger is not None:
                raise Unprocessable(
                    f"person {stranger!r} is not assigned to this incident", code="unknown_person"
                )
        request_id = new_id()
        await _record_action(
            incident_id,
            caller,
            "point_check",
            effective_time=now,
            recorded_at=now,
            detail={"request_id": request_id, "text": body.text, "person_ids": person_ids},
            action_id=request_id,
        )
        await Incident.update(
            {Incident.version: Incident.version + 1, Incident.updated_at: now}
        ).where(Incident.id == incident_id)
        return await publish_incident(incident_id)


async def _finish(
    caller: Caller,
    incident_id: str,
    *,
    status: str,
    act: str,
    at_column: Any,
    text_column: Any,
    text: str,
    detail_key: str,
) -> IncidentRecord:
    """Close or cancel: the two ends of an open incident's life, each with a time and a text."""
    now = utcnow()
    async with write_transaction():
        await _load_for_change(caller, incident_id, OPEN_STATUSES, act)
        await Incident.update(
            {
                Incident.status: status,
                at_column: now,
                text_column: text,
                Incident.version: Incident.version + 1,
                Incident.updated_at: now,
            }
        ).where(Incident.id == incident_id)
        await _record_action(
            incident_id,
            caller,
            status,
            effective_time=now,
            recorded_at=now,
            detail={detail_key: text},
        )
        if status == "closed":
            # The callback (回访) owed to the caller, if any (PROTOCOL §9).
            await open_callback_task(incident_id, now)
        return await publish_incident(incident_id)


async def close_incident(caller: Caller, incident_id: str, body: Close) -> IncidentRecord:
    return await _finish(
        caller,
        incident_id,
        status="closed",
        act="close",
        at_column=Incident.closed_at,
        text_column=Incident.close_summary,
        text=body.summary,
        detail_key="summary",
    )


async def cancel_incident(caller: Caller, incident_id: str, body: Cancel) -> IncidentRecord:
    return await _finish(
        caller,
        incident_id,
        status="cancelled",
        act="cancel",
        at_column=Incident.cancelled_at,
        text_column=Incident.cancel_reason,
        text=body.reason,
        detail_key="reason",
    )
