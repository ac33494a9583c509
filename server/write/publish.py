"""Step 4 of the write path: publish the record the write produced.

`publish_incident` rebuilds the incident's record (server/record/incident.py), stores its
SLA clocks in the same transaction (`store_clocks`), and appends the record to the
change feed; `publish_mediation` does the same for a standalone mediation case. Every
write that changes an incident ends here: command-center acts (server/services/), pushes
(server/write/reconcile.py), resolutions and the SLA watch. Runs inside
`db.write_transaction()`.

Stored clocks (`sla_clock`) let the scheduler find the next clock to watch with one
indexed read (`watch_at`: the due time of a running clock of an open incident that has
not fired yet), and let reports read arrival and initial-result times from one table
instead of folding every incident's events again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from msgspec import UNSET

from server.core.clock import utcnow
from server.core.db import execute_many, fetch, is_sqlite
from server.core.tables import (
    Assignment,
    CaseFile,
    Diversion,
    Incident,
    ReviewItem,
)
from server.record.board import board_row_json
from server.record.events import event_view, incident_events
from server.record.incident import IncidentParts, incident_record_and_clocks
from server.record.views import record_view, review_view
from server.write.feed import append_change, append_changes
from server.write.group import Deferred, Group, write_row
from server.write.report_rows import store_report_row
from sync.messages import OPEN_STATUSES
from sync.rules import Clock, Fold
from sync.views import IncidentRecord, MediationView


async def publish_incident(
    incident_id: str,
    *,
    scope_grew: bool = False,
    events: list[dict[str, Any]] | None = None,
    folded: Fold | None = None,
    with_timeline: bool = True,
    parts: IncidentParts | None = None,
    deferred: Deferred | None = None,
) -> IncidentRecord:
    """Append the incident's current record to the change feed; returns the full record.

    When the incident's scope grew (dispatched, or reassigned to a new station or new
    people), its events and review items are appended again too: a device whose cursor
    is already past them would otherwise never receive them (PROTOCOL §4).

    A push's folds hand over the incident's `parts` as already read, and collect the
    clocks and changes in `deferred` (server/write/reconcile.py `reconcile_incidents`).
    """
    record, clocks, result = await incident_record_and_clocks(
        incident_id, events=events, folded=folded, with_timeline=with_timeline, parts=parts
    )
    if await _come_back(record, result):
        record, clocks, result = await incident_record_and_clocks(
            incident_id, events=events, folded=result, with_timeline=with_timeline
        )
    await store_diversions(result)
    await store_case_file(record, result)
    # 三反馈 for the reports (PROTOCOL §11); the row is written only when it changes.
    complete = all(result.three_feedbacks)
    await write_row(_STORE_FEEDBACKS, (complete, incident_id, complete), deferred)
    # The stored clocks change in the same transaction as the write (`store_clocks`).
    await store_clocks(record, clocks, deferred)
    where = {
        "bureau_id": record.bureau_id,
        "station_id": record.station_id,
        "incident_id": incident_id,
    }
    changes: list[dict[str, Any]] = []
    if scope_grew:
        for event in await incident_events(incident_id):
            changes.append(
                {"entity": "event", "entity_id": event["op_id"], "data": event_view(event), **where}
            )
        for item in record.review_items:
            changes.append(
                {
                    "entity": "review",
                    "entity_id": item.id,
                    "data": await review_view(item.id),
                    **where,
                }
            )
    changes.append(
        {
            "entity": "incident",
            "entity_id": incident_id,
            "data": msgspec.structs.replace(record, timeline=UNSET),
            **where,
        }
    )
    if deferred is not None:
        deferred.changes.extend(changes)
    else:
        await append_changes(changes)
    return record


async def publish_mediation(group: Group, result: Fold) -> None:
    assert group.mediation_root is not None
    state = result.records.get(group.mediation_root)
    await append_change(
        entity="mediation",
        entity_id=group.mediation_root,
        bureau_id=group.bureau_id,
        station_id=group.station_id,
        data=MediationView(
            id=group.mediation_root,
            incident_id=None,
            station_id=group.station_id,
            record=record_view(state) if state else None,
        ),
    )


async def _come_back(record: IncidentRecord, result: Fold) -> bool:
    """A diverted incident whose agency returned it (PROTOCOL §10, `returned`: not its
    duty) goes back to `received`: no station, nobody assigned (the named agency people's
    assignments end when the return reached the server). The return is a fact of the
    fold (sync.rules `_fold_diversions`), so the same set of events brings the incident
    back whatever order they came in. Returns whether the row changed."""
    if record.status != "diverted" or not result.diversions:
        return False
    latest = result.diversions[-1]
    if latest.returned_at is None:
        return False
    await Incident.update(
        {
            Incident.status: "received",
            Incident.station: None,
            Incident.version: Incident.version + 1,
            Incident.updated_at: utcnow(),
        }
    ).where(Incident.id == record.id)
    await Assignment.update({Assignment.ended_at: latest.returned_at}).where(
        (Assignment.incident == record.id) & Assignment.ended_at.is_null()
    )
    return True


async def store_diversions(result: Fold) -> None:
    """Store what the agencies' events made of each diversion (for the reports)."""
    for state in result.diversions:
        await Diversion.update(
            {
                Diversion.acknowledged_at: state.acknowledged_at,
                Diversion.fed_back_at: state.feedback_at,
                Diversion.outcome: state.outcome,
                Diversion.feedback_op_id: state.feedback_op_id,
                Diversion.returned_at: state.returned_at,
            }
        ).where(Diversion.id == state.diversion_id)


async def store_case_file(record: IncidentRecord, result: Fold) -> None:
    """Store the incident's case (`case_file`, PROTOCOL §11) as the fold made it, for the
    reports: incidents with a case_accepted disposition or any case_progress."""
    case = result.case
    if case is None:
        return
    await CaseFile.delete().where(CaseFile.incident == record.id)
    stages = [
        {"stage": s.stage, "at": s.at.astimezone(UTC).isoformat(), "op_id": s.op_id}
        for s in case.stages
    ]
    await CaseFile.insert(
        CaseFile(
            id=record.id,
            incident=record.id,
            bureau=record.bureau_id,
            station=record.station_id,
            accepted=case.accepted,
            accepted_at=case.accepted_at,
            case_number=case.case_number,
            stage=case.stage,
            filed_at=case.filed_at,
            solved_at=case.solved_at,
            ended_at=case.ended_at,
            stages=msgspec.json.encode(stages).decode(),
        )
    )


_STORE_FEEDBACKS = (
    "UPDATE incident SET feedbacks_complete = {} WHERE id = {} AND feedbacks_complete <> {}"
)
_STORE_BOARD_ROW = (
    'INSERT INTO "board_row" (id, data) VALUES ({}, {})'
    " ON CONFLICT (id) DO UPDATE SET data = excluded.data"
)


async def store_board_row(record: IncidentRecord, deferred: Deferred | None = None) -> None:
    """Store the incident's board row (GET /api/board reads it as stored text: see
    server/services/board.py). Call inside a write transaction; with `deferred`, the row
    is stored when it is flushed."""
    await write_row(_STORE_BOARD_ROW, (record.id, board_row_json(record)), deferred)


def watched(status: str, clock: str) -> bool:
    """Whether the scheduler turns this clock overdue. Clocks of open incidents; and the
    case-evidence clock of a closed incident too, since closing (销号) the call does not
    close the case file, whose evidence is still due 24 h after acceptance. A cancelled
    incident's clocks are stopped."""
    return status in OPEN_STATUSES or (clock == "evidence" and status == "closed")


# Clocks an incident may run more than once: each diversion to a linked agency has its own
# (PROTOCOL §10). Their overdue items are told apart by the due time they fired for.
PER_DIVERSION_CLOCKS = frozenset({"agency_ack", "agency_feedback"})


def overdue_key(incident_id: str, clock: str, due_at: datetime | None) -> str:
    """The `once_key` of a clock's overdue item: one per clock, and for the agency clocks
    one per due time (a call returned and diverted again runs them anew)."""
    key = f"overdue:{incident_id}:{clock}"
    if clock in PER_DIVERSION_CLOCKS and due_at is not None:
        key += ":" + due_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")
    return key


async def _fired(record: IncidentRecord, clocks: dict[str, Clock]) -> set[str]:
    """The clocks whose overdue item exists (for the agency clocks: for their due time)."""
    names = {r.clock for r in record.review_items if r.kind == "overdue" and r.clock}
    per_diversion = names & PER_DIVERSION_CLOCKS & set(clocks)
    if not per_diversion:
        return names
    keys = {
        r["once_key"]
        for r in await ReviewItem.select(ReviewItem.once_key).where(
            (ReviewItem.incident == record.id) & (ReviewItem.kind == "overdue")
        )
    }
    for name in per_diversion:
        if overdue_key(record.id, name, clocks[name].due_at) not in keys:
            names.discard(name)
    return names


def _clock_upsert(sqlite: bool) -> str:
    # Row values compare NULL-safely with IS NOT (SQLite) / IS DISTINCT FROM (PostgreSQL).
    differs = "IS NOT" if sqlite else "IS DISTINCT FROM"
    return (
        'INSERT INTO "sla_clock" (id, incident, bureau, name, due_at, met_at, watch_at)'
        " VALUES ({}, {}, {}, {}, {}, {}, {})"
        " ON CONFLICT (id) DO UPDATE SET due_at = excluded.due_at,"
        " met_at = excluded.met_at, watch_at = excluded.watch_at"
        " WHERE (sla_clock.due_at, sla_clock.met_at, sla_clock.watch_at)"
        f" {differs} (excluded.due_at, excluded.met_at, excluded.watch_at)"
    )


_STORE_CLOCK = {True: _clock_upsert(True), False: _clock_upsert(False)}
_CLOCK_COLUMNS = ("id", "incident", "bureau", "name", "due_at", "met_at", "watch_at")


async def replace_clocks(incident_ids: list[str], rows: list[dict[str, Any]]) -> None:
    """Make the stored clocks of `incident_ids` exactly `rows` (their clocks, as
    `store_clocks` makes them). A clock an incident no longer runs is deleted; the others
    are written only where a time changed. Most writes (a note, a photo) change none, so
    the rows and their indexes are left as they are. Inside a write transaction."""
    for i in range(0, len(incident_ids), 100):
        chunk = set(incident_ids[i : i + 100])
        keep = [r["id"] for r in rows if r["incident"] in chunk]
        sql = "DELETE FROM sla_clock WHERE incident IN ({})".format(", ".join("{}" for _ in chunk))
        if keep:
            sql += " AND id NOT IN ({})".format(", ".join("{}" for _ in keep))
        await fetch(sql, *chunk, *keep)
    await execute_many(
        _STORE_CLOCK[is_sqlite()], [tuple(r[c] for c in _CLOCK_COLUMNS) for r in rows]
    )


async def store_clocks(
    record: IncidentRecord, clocks: dict[str, Clock], deferred: Deferred | None = None
) -> None:
    """Store the incident's clocks (`replace_clocks`). Call inside a write transaction;
    with `deferred`, they are stored when it is flushed."""
    incident_id = record.id
    fired = await _fired(record, clocks)
    if deferred is not None:
        deferred.clock_incidents.append(incident_id)
    rows = []
    for name, clock in clocks.items():
        due = clock.due_at
        watching = watched(record.status, name)
        watch = due if (watching and clock.met_at is None and name not in fired) else None
        rows.append(
            {
                "id": f"{incident_id}:{name}",
                "incident": incident_id,
                "bureau": record.bureau_id,
                "name": name,
                "due_at": due,
                "met_at": clock.met_at,
                "watch_at": watch,
            }
        )
    if deferred is not None:
        deferred.clocks.extend(rows)
    else:
        await replace_clocks([incident_id], rows)
    # The board's row carries the clocks: stored with them, whoever stores them.
    await store_board_row(record, deferred)
    await store_report_row(record, clocks, deferred)  # the reports' row (report_rows.py)
