"""The incident record as callers see it (PROTOCOL §7 `GET /api/incidents/{id}`).

Built from the incident row, its assignments, the command center's actions, the field
events (through the reconciliation fold) and the review items. The same record, without
`timeline`, is what the change feed carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from server.core.clock import as_utc, as_utc_or_none, utcnow
from server.core.db import fetch
from server.core.tables import Blob, IncidentAction
from server.record.diversions import DiversionFacts, DiversionSummary, diversion_summary
from server.record.events import (
    diversion_acts,
    diversions_of,
    event_view,
    field_event,
    incident_events,
    incident_events_of,
    incident_position,
    load_json,
)
from server.record.policy import sla_targets
from server.record.supervision import supervision_of, supervision_refs
from server.record.views import record_view, review_ref
from sync.rules import (
    Clock,
    Diversion,
    DiversionState,
    Fold,
    Lifecycle,
    Span,
    agency_clocks,
    fold,
    incident_clocks,
)
from sync.views import (
    AgencyFeedbackView,
    Assignee,
    CaseStageView,
    CaseView,
    ClockView,
    DiversionView,
    EventView,
    FeedbackView,
    IncidentRecord,
    PointCheckView,
    RatingsView,
    ThreeFeedbacks,
    TimelineEntry,
)


def _action_entry(a: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(
        op_id=None,
        type=a["action"],
        person_id=a["person"],
        device_id=None,
        device_time=None,
        received_at=as_utc(a["recorded_at"]),
        effective_time=as_utc_or_none(a["effective_time"]),
        flags=[],
        back_entered=bool(a["back_entered"]),
        detail=load_json(a["detail"]),
    )


def _event_entry(e: EventView) -> TimelineEntry:
    """An event's timeline entry: every field of the event (TimelineEntry declares them all)."""
    return TimelineEntry(**msgspec.structs.asdict(e))


def _timeline(actions: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[TimelineEntry]:
    entries = [_action_entry(a) for a in actions] + [_event_entry(event_view(e)) for e in events]
    # Effective-time order; then receipt, then op_id, so the order is total.
    entries.sort(key=lambda x: (x.effective_time or x.received_at, x.received_at, x.op_id or ""))
    return entries


async def attachment_states(hashes: set[str]) -> dict[str, str]:
    """Each referenced blob: `stored`, or `pending` until it is uploaded (§8)."""
    if not hashes:
        return {}
    stored = {
        r["sha256"] for r in await Blob.select(Blob.sha256).where(Blob.sha256.is_in(list(hashes)))
    }
    return {h: ("stored" if h in stored else "pending") for h in sorted(hashes)}


@dataclass
class IncidentParts:
    """Everything one incident's record is built from, as read from the database."""

    row: dict[str, Any]
    assignments: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    point_checks: list[dict[str, Any]] = field(default_factory=list)  # actions
    replies: list[dict[str, Any]] = field(default_factory=list)  # point_check_reply events
    spans: list[dict[str, Any]] = field(default_factory=list)  # every assignment, ended too
    feedback: list[dict[str, Any]] = field(default_factory=list)  # the citizen's verdict (§9)
    diversions: list[dict[str, Any]] = field(default_factory=list)  # to linked agencies (§10)
    supervision: list[dict[str, Any]] = field(default_factory=list)  # orders (§11)


# SQLite allows a few hundred thousand bound values in newer builds, but only 999 in
# older ones: ask in chunks well below that.
_CHUNK = 500


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _in(values: list[str]) -> str:
    return ", ".join("{}" for _ in values)


# Raw SQL, below Piccolo's query builder on purpose: the board reads 10,000 incidents, and
# the builder cleaned every id of every IN list one by one (a tenth of the board's time).
_ASSIGNMENTS = (
    "SELECT a.incident, a.person, p.name AS name, a.station, a.assigned_at, a.ended_at"
    " FROM assignment a JOIN person p ON p.id = a.person WHERE a.incident IN ({})"
    # Ties (people sent together) broken by id: the same order in every read, on PostgreSQL too.
    " ORDER BY a.assigned_at, a.id"
)
_REVIEWS = (
    "SELECT incident, id, kind, clock, op_id, record_id, state FROM review_item"
    " WHERE incident IN ({}) ORDER BY created_at, id"
)
_FEEDBACK = "SELECT * FROM feedback WHERE incident IN ({})"
_POINT_CHECKS = (
    "SELECT * FROM incident_action WHERE incident IN ({}) AND action = 'point_check'"
    " ORDER BY recorded_at, id"
)


async def load_parts(
    incident_ids: list[str], *, with_events: bool = True
) -> dict[str, IncidentParts]:
    """Read the parts of many incidents in a few queries per 500 (not per incident)."""
    parts = await load_lifecycle_parts(incident_ids)
    await complete_parts(parts, with_events=with_events)
    return parts


async def load_lifecycle_parts(incident_ids: list[str]) -> dict[str, IncidentParts]:
    """The parts `parts_lifecycle` needs (the incident's row, its assignments, its
    diversions), the rest left empty for `complete_parts`: the push path reads only these
    for incidents whose new events leave the record as it was (server/write/reconcile.py)."""
    parts: dict[str, IncidentParts] = {}
    for chunk in _chunks(list(dict.fromkeys(incident_ids))):
        marks = _in(chunk)
        for row in await fetch(f"SELECT * FROM incident WHERE id IN ({marks})", *chunk):
            row["received_back_entered"] = bool(row["received_back_entered"])
            parts[row["id"]] = IncidentParts(row=row)
        for a in await fetch(_ASSIGNMENTS.format(marks), *chunk):
            p = parts.get(a["incident"])
            if p is not None:
                p.spans.append(a)
                if a["ended_at"] is None:
                    p.assignments.append(a)
        for incident_id, rows in (await diversions_of(chunk)).items():
            if incident_id in parts:
                parts[incident_id].diversions = rows
    return parts


async def complete_parts(parts: dict[str, IncidentParts], *, with_events: bool = True) -> None:
    """Read the rest of the parts `load_lifecycle_parts` read: events (or, without them,
    only the point-check replies), review items, point checks, verdicts, supervision."""
    for chunk in _chunks(list(parts)):
        marks = _in(chunk)
        if with_events:
            for e in await incident_events_of(chunk):
                parts[e["incident"]].events.append(e)
        else:
            for e in await incident_events_of(chunk, types=("point_check_reply",)):
                parts[e["incident"]].replies.append(e)
        for r in await fetch(_REVIEWS.format(marks), *chunk):
            parts[r["incident"]].reviews.append(r)
        for a in await fetch(_POINT_CHECKS.format(marks), *chunk):
            parts[a["incident"]].point_checks.append(a)
        for f in await fetch(_FEEDBACK.format(marks), *chunk):
            parts[f["incident"]].feedback.append(f)
        for incident_id, rows in (await supervision_of(chunk)).items():
            parts[incident_id].supervision = rows
    if with_events:
        for p in parts.values():
            p.replies = [e for e in p.events if e["type"] == "point_check_reply"]


def _lifecycle(p: IncidentParts) -> Lifecycle:
    return parts_lifecycle(p)


def parts_lifecycle(p: IncidentParts) -> Lifecycle:
    """The incident's lifecycle as the fold sees it (events.lifecycle), from its parts."""
    row = p.row
    return Lifecycle(
        dispatched_at=as_utc_or_none(row["dispatched_at"]),
        ended_at=as_utc_or_none(row["closed_at"]) or as_utc_or_none(row["cancelled_at"]),
        assignments=tuple(
            Span(s["person"], as_utc(s["assigned_at"]), as_utc_or_none(s["ended_at"]))
            for s in p.spans
        ),
        position=incident_position(row),
        diversions=diversion_acts(p.diversions),
    )


def feedback_view(row: dict[str, Any]) -> FeedbackView:
    """A stored verdict as the record shows it (PROTOCOL §9)."""
    return FeedbackView(
        source=row["source"],
        at=as_utc(row["at"]),
        ratings=RatingsView(
            reception=row["reception"],
            timeliness=row["timeliness"],
            conduct=row["conduct"],
            handling=row["handling"],
        ),
        overall=row["overall"],
        comment=row["comment"] or "",
    )


def point_checks_view(
    checks: list[dict[str, Any]], replies: list[dict[str, Any]]
) -> list[PointCheckView]:
    """Each point-check (点调) with its earliest reply by effective time, oldest first."""
    earliest: dict[str, dict[str, Any]] = {}
    for e in replies:
        body = load_json(e["body"])
        request_id = body.get("request_id")
        when = as_utc_or_none(e["effective_time"]) or as_utc(e["received_at"])
        best = earliest.get(request_id)
        if best is None or (when, e["op_id"]) < (best["at"], best["op_id"]):
            earliest[request_id] = {
                "at": when,
                "op_id": e["op_id"],
                "text": body.get("text"),
                "person": e["person"],
            }
    out = []
    for a in checks:
        detail = load_json(a["detail"]) or {}
        request_id = detail.get("request_id") or a["id"]
        reply = earliest.get(request_id)
        out.append(
            PointCheckView(
                request_id=request_id,
                text=detail.get("text", ""),
                requested_at=as_utc(a["effective_time"]),
                requested_by=a["person"],
                person_ids=list(detail.get("person_ids") or []),
                replied_at=reply["at"] if reply else None,
                reply=reply["text"] if reply else None,
                reply_person_id=reply["person"] if reply else None,
            )
        )
    return out


async def build_record(
    p: IncidentParts,
    *,
    now: datetime,
    folded: Fold | None = None,
    blob_states: dict[str, str] | None = None,
) -> tuple[IncidentRecord, dict[str, Clock], Fold]:
    """One incident's record (without timeline) from its parts; also its clocks and fold."""
    row = p.row
    targets, tolerance = await sla_targets(row["bureau"])
    life = _lifecycle(p)
    result = folded or fold(life, [field_event(e) for e in p.events], tolerance=tolerance)
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
        now=now,
    )
    summary = diversion_summary(_diversion_facts(life, result), life.dispatched_at)
    current = _current_diversion(life, result, summary)
    if current is not None:
        # Diverted (PROTOCOL §10): the agency's clocks instead of arrival and initial result.
        del clocks["arrival"], clocks["initial_result"]
        clocks.update(
            agency_clocks(*current, stopped_at=as_utc_or_none(row["cancelled_at"]), now=now)
        )
    diversion, returned, reason = _diversion_view(p, result, current, summary)
    referenced = _referenced(p.events)
    if blob_states is None:
        blob_states = await attachment_states(referenced)
    record = IncidentRecord(
        **case_fields(result),  # PROTOCOL §11: `case`, `three_feedbacks`
        id=row["id"],
        number=row["number"],
        bureau_id=row["bureau"],
        status=row["status"],
        version=row["version"],
        category=row["category"],
        area_type=row["area_type"],
        address=row["address"],
        lat=row["lat"],
        lon=row["lon"],
        caller_name=row["caller_name"],
        caller_phone=row["caller_phone"],
        narrative=row["narrative"],
        received_at=as_utc(row["received_at"]),
        received_back_entered=row["received_back_entered"],
        station_id=row["station"],
        dispatched_at=as_utc_or_none(row["dispatched_at"]),
        closed_at=as_utc_or_none(row["closed_at"]),
        cancelled_at=as_utc_or_none(row["cancelled_at"]),
        close_summary=row["close_summary"] or None,
        cancel_reason=row["cancel_reason"] or None,
        assignees=[
            Assignee(
                person_id=a["person"],
                name=a["name"],
                station_id=a["station"],
                assigned_at=as_utc(a["assigned_at"]),
            )
            for a in p.assignments
        ],
        clocks={
            name: ClockView(due_at=clock.due_at, met_at=clock.met_at, state=clock.state)
            for name, clock in clocks.items()
        },
        records=[record_view(s) for s in result.records.values()],
        attachments={h: blob_states.get(h, "pending") for h in sorted(referenced)},  # type: ignore[misc]
        review_items=[review_ref(r) for r in p.reviews],
        point_checks=point_checks_view(p.point_checks, p.replies),
        no_callback=bool(row.get("no_callback")),
        feedback=[feedback_view(f) for f in p.feedback],
        updated_at=as_utc(row["updated_at"]),
        diversion=diversion,
        diversions_returned=returned,
        returned_reason=reason,
        supervision=supervision_refs(p.supervision, now),
    )
    return record, clocks, result


def case_fields(result: Fold) -> dict[str, Any]:
    """The record's `case` and `three_feedbacks` (PROTOCOL §11) from the fold."""
    case = result.case
    view = None
    if case is not None:
        view = CaseView(
            accepted=case.accepted,
            case_number=case.case_number,
            stage=case.stage,  # type: ignore[arg-type]
            filed_at=case.filed_at,
            stages=[CaseStageView(stage=s.stage, at=s.at, op_id=s.op_id) for s in case.stages],  # type: ignore[arg-type]
        )
    arrival, scene, disposition = result.three_feedbacks
    return {
        "case": view,
        "three_feedbacks": ThreeFeedbacks(arrival=arrival, scene=scene, disposition=disposition),
    }


def _diversion_facts(life: Lifecycle, result: Fold) -> list[DiversionFacts]:
    """The command center's diversions with what the fold made of each."""
    states = {s.diversion_id: s for s in result.diversions}
    return [
        DiversionFacts(
            diversion_id=act.diversion_id,
            diverted_at=act.at,
            returned_at=states[act.diversion_id].returned_at,
            feedback_op_id=states[act.diversion_id].feedback_op_id,
        )
        for act in life.diversions
        if act.diversion_id in states
    ]


def _current_diversion(
    life: Lifecycle, result: Fold, summary: DiversionSummary
) -> tuple[Diversion, DiversionState] | None:
    """The diversion the incident is under (its clocks replace arrival and initial
    result), with the fold's state of it."""
    if summary.current_id is None:
        return None
    act = next(a for a in life.diversions if a.diversion_id == summary.current_id)
    state = next(s for s in result.diversions if s.diversion_id == summary.current_id)
    return act, state


def _diversion_view(
    p: IncidentParts,
    result: Fold,
    current: tuple[Diversion, DiversionState] | None,
    summary: DiversionSummary,
) -> tuple[DiversionView | None, int, str | None]:
    """The current diversion as the record shows it, how many came back, and the latest
    return's reason (PROTOCOL §10; the choices in docs/diversion.md)."""
    bodies = {e["op_id"]: e for e in p.events if e["type"] == "agency_feedback"}
    reason = None
    e = bodies.get(summary.latest_return_op_id or "")
    if e is not None:
        reason = str(load_json(e["body"]).get("text", ""))
    if current is None:
        return None, summary.returned, reason
    act, state = current
    row = next(r for r in p.diversions if r["id"] == act.diversion_id)
    feedback = None
    e = bodies.get(state.feedback_op_id or "")
    if e is not None and state.feedback_at is not None:
        body = load_json(e["body"])
        feedback = AgencyFeedbackView(
            outcome=str(body.get("outcome")),
            text=str(body.get("text", "")),
            attachments=list(body.get("attachments") or []),
            at=state.feedback_at,
            person_id=e["person"],
        )
    view = DiversionView(
        agency_id=row["agency"],
        agency_name=row["agency_name"],
        diverted_at=act.at,
        instructions=row["instructions"] or "",
        person_ids=list(row["person_ids"]),
        acknowledged_at=state.acknowledged_at,
        feedback=feedback,
    )
    return view, summary.returned, reason


def _referenced(events: list[dict[str, Any]]) -> set[str]:
    return {h for e in events for h in (load_json(e["body"]).get("attachments") or [])}


async def incident_records(
    incident_ids: list[str], *, now: datetime | None = None
) -> list[IncidentRecord]:
    """Many records without timeline, in the order of `incident_ids`, in bulk queries."""
    parts = await load_parts(incident_ids)
    hashes = set().union(*(_referenced(p.events) for p in parts.values())) if parts else set()
    states: dict[str, str] = {}
    for chunk in _chunks(sorted(hashes)):
        states.update(await attachment_states(set(chunk)))
    at = now or utcnow()
    out = []
    for incident_id in incident_ids:
        p = parts.get(incident_id)
        if p is not None:
            out.append((await build_record(p, now=at, blob_states=states))[0])
    return out


async def incident_record(
    incident_id: str,
    *,
    with_timeline: bool = True,
    now: datetime | None = None,
    events: list[dict[str, Any]] | None = None,
    folded: Fold | None = None,
) -> IncidentRecord:
    """The full record of one incident. The caller has already checked scope.

    `events` and `folded` let a caller that has just folded the incident's events (the
    push path) hand them over instead of having them read and folded again.
    """
    record, _, _ = await incident_record_and_clocks(
        incident_id, with_timeline=with_timeline, now=now, events=events, folded=folded
    )
    return record


async def incident_record_and_clocks(
    incident_id: str,
    *,
    with_timeline: bool = True,
    now: datetime | None = None,
    events: list[dict[str, Any]] | None = None,
    folded: Fold | None = None,
    parts: IncidentParts | None = None,
) -> tuple[IncidentRecord, dict[str, Clock], Fold]:
    """`incident_record`, plus its clocks and fold (the SLA bookkeeping needs both).

    `parts` (with `events`): the incident's parts as the caller has just read them in
    bulk with the rest of a push's incidents (`load_parts(..., with_events=False)`)."""
    if parts is not None and events is not None:
        p: IncidentParts | None = parts
    else:
        p = (await load_parts([incident_id], with_events=events is None)).get(incident_id)
    if p is None:
        raise LookupError(incident_id)
    if events is not None:
        p.events = events
        # The replies as stored, and the write's own: not stored yet when a push's writes
        # are deferred (server/write/group.py `Deferred`).
        known = {e["op_id"] for e in p.replies}
        p.replies = p.replies + [
            e for e in events if e["type"] == "point_check_reply" and e["op_id"] not in known
        ]
    record, clocks, result = await build_record(p, now=now or utcnow(), folded=folded)
    if with_timeline:
        actions = await IncidentAction.select().where(IncidentAction.incident == incident_id)
        events_all = p.events if events is None else await incident_events(incident_id)
        record.timeline = _timeline(list(actions), events_all)
    return record, clocks, result
