"""Reconciliation rules: pure functions from facts to incident state.

No I/O here: the server feeds these functions rows it has read inside a transaction
and stores what they return. This module grows with the sync work (PROTOCOL §6); so far
it holds the SLA clock arithmetic and the fold below.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

import msgspec

from sync.clock import is_clock_suspect, is_out_of_order, sla_time
from sync.messages import EDITABLE_TYPES

ClockState = Literal["running", "met", "overdue", "met_late"]


@dataclass(frozen=True)
class Clock:
    """One SLA clock: started at `started_at` (None: not started yet), due `target` later."""

    due_at: datetime | None
    met_at: datetime | None
    state: ClockState

    def as_dict(self) -> dict[str, object]:
        return {"due_at": self.due_at, "met_at": self.met_at, "state": self.state}


def sla_clock(
    started_at: datetime | None,
    target: timedelta,
    met_at: datetime | None,
    now: datetime,
) -> Clock:
    """The state of a clock at `now`.

    Not started: running with no due time. Met on or before the due time: met; after it:
    met_late. Not met and past due: overdue; otherwise running.
    """
    if started_at is None:
        return Clock(due_at=None, met_at=met_at, state="running")
    due_at = started_at + target
    if met_at is not None:
        return Clock(due_at=due_at, met_at=met_at, state="met" if met_at <= due_at else "met_late")
    return Clock(due_at=due_at, met_at=None, state="overdue" if now > due_at else "running")


@dataclass(frozen=True)
class SlaTargets:
    """A bureau's SLA policy, in minutes (DESIGN.md defaults).

    `arrival_from` is what the arrival clock runs from: "dispatch" (seed 000: 10 min urban,
    20 min rural after the unit is sent) or "receipt" (Zhoushan's "1358": minutes after
    the call was taken). `dispatch_min`, when set, adds a `dispatch` clock: the unit must
    be sent within that many minutes of receipt.
    """

    arrival_urban_min: int = 10
    arrival_rural_min: int = 20
    initial_result_min: int = 240
    clear_min: int = 1440
    evidence_min: int = 1440
    arrival_from: str = "dispatch"
    dispatch_min: int | None = None

    def arrival_target(self, area_type: str) -> timedelta:
        minutes = self.arrival_rural_min if area_type == "rural" else self.arrival_urban_min
        return timedelta(minutes=minutes)


def incident_clocks(
    *,
    targets: SlaTargets,
    area_type: str,
    received_at: datetime,
    dispatched_at: datetime | None,
    closed_at: datetime | None,
    stopped_at: datetime | None,
    first_arrival_at: datetime | None,
    first_result_at: datetime | None,
    case_accepted_at: datetime | None,
    evidence_complete_at: datetime | None,
    now: datetime,
) -> dict[str, Clock]:
    """The incident's clocks (PROTOCOL §7): arrival, initial_result, clear, and evidence
    once a case is accepted. `stopped_at` (cancellation) freezes the clocks: a cancelled
    incident does not go overdue afterwards."""
    at = min(now, stopped_at) if stopped_at is not None else now
    arrival_start = received_at if targets.arrival_from == "receipt" else dispatched_at
    clocks = {
        "arrival": sla_clock(
            arrival_start, targets.arrival_target(area_type), first_arrival_at, at
        ),
        "initial_result": sla_clock(
            dispatched_at, timedelta(minutes=targets.initial_result_min), first_result_at, at
        ),
        "clear": sla_clock(received_at, timedelta(minutes=targets.clear_min), closed_at, at),
    }
    if targets.dispatch_min is not None:
        clocks["dispatch"] = sla_clock(
            received_at, timedelta(minutes=targets.dispatch_min), dispatched_at, at
        )
    if case_accepted_at is not None:
        clocks["evidence"] = sla_clock(
            case_accepted_at, timedelta(minutes=targets.evidence_min), evidence_complete_at, at
        )
    return clocks


# ---------------------------------------------------------------------------------------
# The reconciliation fold (PROTOCOL §6): an incident's lifecycle plus the *set* of its
# field events in, flags, editable-record states and SLA inputs out. Nothing here
# depends on the order events arrived in; every tie is broken by op_id.

FLAG_ORDER = (
    "late",
    "clock_suspect",
    "conflict",
    "evidence_mismatch",
    "pending_base",
    "far_arrival",
)
EVIDENCE_KINDS = ("interview_record", "witness_statement", "scene_inspection")
# Field facts that belong after an incident's end as much as before it: not `late` when
# they arrive after the close or cancellation (a QR rating invite, PROTOCOL §9). Sent by
# someone no longer assigned, they are still `late`.
AFTER_END_TYPES = frozenset({"rating_invite", "supervision_reply", "case_progress"})


@dataclass(frozen=True)
class Span:
    """One assignment of a person: from `start` until `end` (None: still assigned)."""

    person_id: str
    start: datetime
    end: datetime | None

    def covers(self, at: datetime, slack: timedelta = timedelta(0)) -> bool:
        """Whether the person was assigned at `at`; `slack` widens the span at both ends
        (a device clock may be that far off without being suspect)."""
        return self.start - slack <= at and (self.end is None or at < self.end + slack)


@dataclass(frozen=True)
class Diversion:
    """A diversion of the incident to a linked agency (PROTOCOL §10): a command-center
    act. `members` are the agency's people (any of them may acknowledge and answer);
    the targets are the agency's duties when the call was diverted."""

    diversion_id: str
    agency_id: str
    at: datetime
    members: frozenset[str]
    ack_target: timedelta = timedelta(minutes=30)
    feedback_target: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class DiversionState:
    """What the agency's events made of one diversion (`fold`): the earliest valid
    acknowledgement and feedback, on effective time; `returned_at` is when a `returned`
    feedback (the diversion's feedback) reached the server: the call came back then."""

    diversion_id: str
    acknowledged_at: datetime | None = None
    feedback_op_id: str | None = None
    feedback_at: datetime | None = None
    outcome: str | None = None
    returned_at: datetime | None = None


@dataclass(frozen=True)
class Lifecycle:
    """What the command center decided (authoritative): dispatch, end, assignments,
    diversions to linked agencies (oldest first)."""

    dispatched_at: datetime | None = None
    ended_at: datetime | None = None  # closed or cancelled
    assignments: tuple[Span, ...] = ()
    # Where the incident is (lat, lon), when the call taker knew it.
    position: tuple[float, float] | None = None
    diversions: tuple[Diversion, ...] = ()

    def diversion_windows(self) -> list[tuple[Diversion, datetime | None]]:
        """Each diversion with the command-center act that ended it (None: none yet): the
        next diversion, a dispatch, a close or cancel, whichever came first after it.
        A diversion also ends when its agency returns the call (`fold`)."""
        ordered = sorted(self.diversions, key=lambda d: (d.at, d.diversion_id))
        out: list[tuple[Diversion, datetime | None]] = []
        for i, d in enumerate(ordered):
            ends = [
                t
                for t in (
                    ordered[i + 1].at if i + 1 < len(ordered) else None,
                    self.dispatched_at,
                    self.ended_at,
                )
                if t is not None and t >= d.at
            ]
            out.append((d, min(ends) if ends else None))
        return out


class FieldEvent(msgspec.Struct, frozen=True):
    """A stored event as the fold sees it. `effective_time` was fixed at receipt.

    A struct, not a dataclass: the push path makes one per op, and a frozen dataclass's
    constructor took 1.5 us of it (0.3 here)."""

    op_id: str
    type: str
    person_id: str
    received_at: datetime
    effective_time: datetime
    record_id: str | None = None
    base_op_id: str | None = None
    parents: tuple[str, ...] = ()
    body: dict[str, Any] = {}
    server_made: bool = False  # a supervisor's resolution: no device clock to doubt
    # The latest effective time among the ops its device recorded before it (lower seq),
    # over the device's whole set of ops, every incident (`device_high_water` below).
    device_high_water: datetime | None = None

    @property
    def root(self) -> str:
        """The editable record this version belongs to."""
        return self.record_id or self.op_id


@dataclass(frozen=True)
class RecordState:
    """An editable record: its version tree reduced to heads."""

    record_id: str
    type: str
    head: str  # the displayed version: latest effective time, then op_id
    heads: tuple[str, ...]  # sorted; more than one is a conflict
    versions: tuple[str, ...]  # sorted, pending ones excluded
    body: dict[str, Any]

    @property
    def conflicted(self) -> bool:
        return len(self.heads) > 1


@dataclass(frozen=True)
class CaseStage:
    """One valid `case_progress` of a case."""

    stage: str
    at: datetime  # its effective time
    op_id: str
    case_number: str


@dataclass(frozen=True)
class CaseState:
    """An incident's case (PROTOCOL §11) as its events make it: `accepted` once a valid
    `case_accepted` disposition is in (only then is it a case); `stages` every valid
    `case_progress` in effective-time order (ties by op_id), recorded before the
    disposition or after."""

    accepted: bool
    accepted_at: datetime | None
    stages: tuple[CaseStage, ...]

    @property
    def latest(self) -> CaseStage | None:
        return self.stages[-1] if self.stages else None

    @property
    def stage(self) -> str | None:
        return self.stages[-1].stage if self.stages else None

    @property
    def case_number(self) -> str | None:
        return self.stages[-1].case_number if self.stages else None

    @property
    def filed_at(self) -> datetime | None:
        return self.stages[0].at if self.stages else None

    @property
    def solved_at(self) -> datetime | None:
        return next((s.at for s in self.stages if s.stage == "solved"), None)

    @property
    def ended_at(self) -> datetime | None:
        """When the latest stage became closed or transferred: the first of the trailing
        run of such stages (None while the latest is neither)."""
        at = None
        for s in reversed(self.stages):
            if s.stage not in CASE_END_STAGES:
                break
            at = s.at
        return at

    def stage_at(self, moment: datetime) -> str | None:
        """The stage as of `moment` (exclusive): the latest progress before it."""
        before = [s for s in self.stages if s.at < moment]
        return before[-1].stage if before else None


CASE_END_STAGES = frozenset({"closed", "transferred"})


class ThreeFeedbacks(NamedTuple):
    """三反馈: a valid arrival, a valid scene report, a valid disposition."""

    arrival: bool
    scene: bool
    disposition: bool


@dataclass(frozen=True)
class Fold:
    flags: dict[str, tuple[str, ...]]  # op_id -> flags in FLAG_ORDER
    records: dict[str, RecordState]
    first_arrival_at: datetime | None
    first_result_at: datetime | None
    case_accepted_at: datetime | None
    evidence_complete_at: datetime | None
    # Case evidence kinds (EVIDENCE_KINDS) with no valid item yet.
    evidence_missing: tuple[str, ...] = ()
    # What a reviewer needs to judge some flags, by (op_id, flag): a far arrival's distance,
    # the earlier op a backdated one contradicts.
    flag_details: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # One per diversion of the incident, oldest first (PROTOCOL §10).
    diversions: tuple[DiversionState, ...] = ()
    # PROTOCOL §11: the incident's case (None: no case_accepted disposition and no
    # case_progress) and 三反馈 (`fold_case`).
    case: CaseState | None = None
    three_feedbacks: ThreeFeedbacks = ThreeFeedbacks(False, False, False)

    def current_diversion(self, lifecycle: Lifecycle) -> tuple[Diversion, DiversionState] | None:
        """The diversion the incident is under (its clocks replace arrival and initial
        result): the latest one, unless the agency returned it or a unit was dispatched
        after it."""
        if not lifecycle.diversions or not self.diversions:
            return None
        latest = max(lifecycle.diversions, key=lambda d: (d.at, d.diversion_id))
        state = next(s for s in self.diversions if s.diversion_id == latest.diversion_id)
        if state.returned_at is not None or lifecycle.dispatched_at is not None:
            return None
        return latest, state


def agency_clocks(
    diversion: Diversion, state: DiversionState, *, stopped_at: datetime | None, now: datetime
) -> dict[str, Clock]:
    """A diverted incident's agency clocks (PROTOCOL §10): `agency_ack` due `ack_target`
    after the diversion, `agency_feedback` due `feedback_target` after it."""
    at = min(now, stopped_at) if stopped_at is not None else now
    return {
        "agency_ack": sla_clock(diversion.at, diversion.ack_target, state.acknowledged_at, at),
        "agency_feedback": sla_clock(
            diversion.at, diversion.feedback_target, state.feedback_at, at
        ),
    }


def clip_key(body: dict[str, Any]) -> tuple[str, str]:
    return (str(body.get("camera_serial")), str(body.get("clip_id")))


class DeviceOp(NamedTuple):
    """One op of a device as the device-order rule sees it (a tuple: the push path makes
    one per op)."""

    op_id: str
    seq: int
    effective_time: datetime


_seq_of = operator.attrgetter("seq")


def device_high_water(ops: Iterable[DeviceOp]) -> dict[str, datetime | None]:
    """For each op of one device, the latest effective time among the device's ops with a
    lower seq (None when it has none): a function of the set, whatever order the ops
    arrived in. An op stamped earlier than its high water by more than the tolerance is
    `clock_suspect` (PROTOCOL §12; sync.clock.is_out_of_order). Ops sharing a seq are
    not before one another."""
    out: dict[str, datetime | None] = {}
    running: datetime | None = None  # the latest effective time below the current seq
    level: int | None = None  # the current seq
    level_top: datetime | None = None  # the latest effective time at the current seq
    # One pass in seq order (the push path runs this for every op it stores).
    for op in sorted({o.op_id: o for o in ops}.values(), key=_seq_of):
        if op.seq != level:
            if level_top is not None and (running is None or level_top > running):
                running = level_top
            level, level_top = op.seq, op.effective_time
        elif op.effective_time > level_top:  # type: ignore[operator]
            level_top = op.effective_time
        out[op.op_id] = running
    return out


EARTH_RADIUS_M = 6_371_008.8


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lat, lon) points (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def arrival_distance_m(position: tuple[float, float] | None, body: dict[str, Any]) -> float | None:
    """How far an arrival was recorded from the incident, when both positions are known."""
    lat, lon = body.get("lat"), body.get("lon")
    if position is None or lat is None or lon is None:
        return None
    return distance_m(position, (float(lat), float(lon)))


def fold(
    lifecycle: Lifecycle,
    events: Iterable[FieldEvent],
    *,
    tolerance: timedelta = timedelta(seconds=60),
    clip_hashes: Mapping[tuple[str, str], set[str]] | None = None,
    arrival_max_distance_m: float | None = None,
) -> Fold:
    """Reconcile one incident (or one standalone mediation case).

    `clip_hashes` maps (camera_serial, clip_id) to every sha256 reported for it across
    the bureau, so a clip reported differently on another incident is caught too. An
    arrival recorded more than `arrival_max_distance_m` from the incident's position
    (when both are known) is flagged `far_arrival` for review; None checks nothing.
    """
    by_id: dict[str, FieldEvent] = {}
    for event in events:  # a set: duplicates collapse, order is irrelevant
        by_id[event.op_id] = event
    ordered = [by_id[k] for k in sorted(by_id)]
    flags: dict[str, set[str]] = {e.op_id: set() for e in ordered}
    details: dict[tuple[str, str], dict[str, Any]] = {}

    spans_by_person = _spans_by_person(lifecycle)
    windows = lifecycle.diversion_windows()
    # The people of the agencies the incident was diverted to: their facts are judged
    # against the diversions (`_fold_diversions`), never against police clocks.
    agency_people = frozenset(p for d, _ in windows for p in d.members)

    for e in ordered:
        if e.server_made or e.person_id in agency_people:
            continue
        _judge_alone(e, lifecycle, spans_by_person, tolerance, flags[e.op_id], details)
        if e.type == "arrival" and arrival_max_distance_m is not None:
            distance = arrival_distance_m(lifecycle.position, e.body)
            if distance is not None and distance > arrival_max_distance_m:
                flags[e.op_id].add("far_arrival")
                details[(e.op_id, "far_arrival")] = {
                    "distance_m": round(distance),
                    "max_distance_m": arrival_max_distance_m,
                    "accuracy_m": e.body.get("accuracy_m"),
                }

    # Body-camera clips: one clip, one hash.
    hashes: dict[tuple[str, str], set[str]] = {k: set(v) for k, v in (clip_hashes or {}).items()}
    for e in ordered:
        if e.type == "bodycam_ref" and e.body.get("sha256"):
            hashes.setdefault(clip_key(e.body), set()).add(str(e.body["sha256"]))
    for e in ordered:
        if e.type == "bodycam_ref" and e.body.get("sha256") and len(hashes[clip_key(e.body)]) > 1:
            flags[e.op_id].add("evidence_mismatch")

    records = _records([e for e in ordered if e.type in EDITABLE_TYPES], flags)
    diversion_states = _fold_diversions(
        windows, [e for e in ordered if e.person_id in agency_people], flags, details, tolerance
    )

    def counts(e: FieldEvent) -> bool:
        """Whether a fact may meet (or start) an SLA clock: valid, and recorded by someone
        assigned to the incident at its effective time (PROTOCOL §12), within the
        tolerance a device clock is allowed. An agency's facts meet only its own clocks."""
        if e.server_made or {"late", "clock_suspect", "pending_base"} & flags[e.op_id]:
            return False
        if e.person_id in agency_people:
            return False
        spans = spans_by_person.get(e.person_id, ())
        return any(s.covers(e.effective_time, tolerance) for s in spans)

    def earliest(candidates: Iterable[FieldEvent]) -> datetime | None:
        times = [sla_time(e.effective_time, e.received_at) for e in candidates if counts(e)]
        return min(times) if times else None

    first_arrival = earliest(e for e in ordered if e.type == "arrival")
    first_result = earliest(e for e in ordered if e.type in ("scene_report", "disposition"))
    case_accepted = earliest(
        e for e in ordered if e.type == "disposition" and e.body.get("result") == "case_accepted"
    )
    evidence_times = [
        earliest(e for e in ordered if e.type == "evidence_item" and e.body.get("kind") == kind)
        for kind in EVIDENCE_KINDS
    ]
    evidence_complete = (
        max(t for t in evidence_times if t is not None)
        if all(t is not None for t in evidence_times)
        else None
    )
    return Fold(
        flags={k: tuple(f for f in FLAG_ORDER if f in v) for k, v in flags.items()},
        records=records,
        first_arrival_at=first_arrival,
        first_result_at=first_result,
        case_accepted_at=case_accepted,
        evidence_complete_at=evidence_complete,
        evidence_missing=tuple(
            k for k, t in zip(EVIDENCE_KINDS, evidence_times, strict=True) if t is None
        ),
        flag_details=details,
        diversions=diversion_states,
        **fold_case(ordered, flags, case_accepted),
    )


def _spans_by_person(lifecycle: Lifecycle) -> dict[str, list[Span]]:
    spans_by_person: dict[str, list[Span]] = {}
    for span in lifecycle.assignments:
        spans_by_person.setdefault(span.person_id, []).append(span)
    return spans_by_person


def _judge_alone(
    e: FieldEvent,
    lifecycle: Lifecycle,
    spans_by_person: Mapping[str, list[Span]],
    tolerance: timedelta,
    flags: set[str],
    details: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """The flags a field event earns on its own against the lifecycle (`late`,
    `clock_suspect`), added to `flags`, with their details."""
    # Showing the caller a rating QR code after the close is the normal course
    # (PROTOCOL §9): such an invite is not a late field fact.
    ended = (
        lifecycle.ended_at is not None
        and e.received_at > lifecycle.ended_at
        and e.type not in AFTER_END_TYPES
    )
    spans = spans_by_person.get(e.person_id, [])
    unassigned = bool(spans) and not any(s.covers(e.received_at) for s in spans)
    if ended or unassigned:
        flags.add("late")
    answers = lifecycle.dispatched_at
    if answers is not None and e.received_at < answers:
        answers = None  # sent before the dispatch existed: it answers nothing
    if is_clock_suspect(e.effective_time, e.received_at, answers, tolerance):
        flags.add("clock_suspect")
    if is_out_of_order(e.effective_time, e.device_high_water, tolerance):
        # Stamped well before an op its device recorded earlier: a backdated stamp.
        flags.add("clock_suspect")
        details[(e.op_id, "clock_suspect")] = {"device_high_water": e.device_high_water}


# Event types whose flags depend only on the event itself and the lifecycle: they feed no
# clock, record, attachment or figure, so they can be judged alone (`note_flags`), with the
# flags `fold` would give them.
FLAGGED_ALONE_TYPES = frozenset({"note"})


def note_flags(
    lifecycle: Lifecycle, events: Iterable[FieldEvent], *, tolerance: timedelta
) -> dict[str, tuple[str, ...]]:
    """The flags `fold` gives these events, each of a FLAGGED_ALONE_TYPES type, on an
    incident never diverted: each judged alone against the lifecycle, without the rest
    of the fold (37 us for 5 notes through `fold`, 13 here; docs/performance.md,
    session 19). The push path stores a phone's notes this way."""
    if lifecycle.diversions:
        raise ValueError("a diverted incident's events are judged together: use fold")
    spans_by_person = _spans_by_person(lifecycle)
    details: dict[tuple[str, str], dict[str, Any]] = {}
    out: dict[str, tuple[str, ...]] = {}
    for e in events:
        if e.type not in FLAGGED_ALONE_TYPES:
            raise ValueError(f"{e.type} is judged with the incident's other events: use fold")
        flags: set[str] = set()
        if not e.server_made:
            _judge_alone(e, lifecycle, spans_by_person, tolerance, flags, details)
        out[e.op_id] = tuple(f for f in FLAG_ORDER if f in flags)
    return out


_INVALID = frozenset({"late", "clock_suspect", "pending_base"})


def fold_case(
    ordered: list[FieldEvent], flags: dict[str, set[str]], case_accepted_at: datetime | None
) -> dict[str, Any]:
    """The case and 三反馈 of an incident's events (PROTOCOL §11), as `Fold` fields.

    A fact counts when it is valid: not `late`, `clock_suspect` or `pending_base` (a
    `case_progress` after the close is not late: AFTER_END_TYPES). The case is accepted
    with the valid `case_accepted` disposition that starts the evidence clock; its
    progress is every valid `case_progress`, by effective time then op_id. The three
    feedbacks are a valid arrival, scene report and disposition (anyone's: the reports
    count them from the stored flags, docs/reports.md). A function of the set of events."""

    def valid(e: FieldEvent) -> bool:
        return not e.server_made and not (_INVALID & flags[e.op_id])

    stages = sorted(
        (
            CaseStage(
                stage=str(e.body.get("stage")),
                at=e.effective_time,
                op_id=e.op_id,
                case_number=str(e.body.get("case_number")),
            )
            for e in ordered
            if e.type == "case_progress" and valid(e)
        ),
        key=lambda s: (s.at, s.op_id),
    )
    case = None
    if case_accepted_at is not None or stages:
        case = CaseState(
            accepted=case_accepted_at is not None,
            accepted_at=case_accepted_at,
            stages=tuple(stages),
        )
    present = {e.type for e in ordered if valid(e)}
    return {
        "case": case,
        "three_feedbacks": ThreeFeedbacks(
            arrival="arrival" in present,
            scene="scene_report" in present,
            disposition="disposition" in present,
        ),
    }


def _fold_diversions(
    windows: list[tuple[Diversion, datetime | None]],
    events: list[FieldEvent],
    flags: dict[str, set[str]],
    details: dict[tuple[str, str], dict[str, Any]],
    tolerance: timedelta,
) -> tuple[DiversionState, ...]:
    """The agencies' facts against the diversions (PROTOCOL §10, docs/diversion.md).

    A fact of an agency's person belongs to the diversion of that agency whose window
    (from the diversion until the command center's next act on the incident, both
    included, as a fact received at the very instant of a close is not late) holds its
    receipt; none: it is `late`. It is `clock_suspect` by §6.3 with the diversion as the
    act it answers, and by the device-order rule. The diversion's feedback is its
    earliest valid `agency_feedback` (effective time, then op_id); when that one is
    `returned`, the diversion ended at its receipt, and the agency's later facts on it
    are `late`. Its acknowledgement is the earliest valid `ack_dispatch`. Everything is
    judged on the set of events, whatever order they came in.
    """
    mine: dict[str, list[FieldEvent]] = {d.diversion_id: [] for d, _ in windows}
    for e in events:
        home = next(
            (
                d
                for d, end in windows
                if e.person_id in d.members
                and d.at <= e.received_at
                and (end is None or e.received_at <= end)
            ),
            None,
        )
        if e.server_made:
            continue
        if home is None:
            flags[e.op_id].add("late")
        elif is_clock_suspect(e.effective_time, e.received_at, home.at, tolerance):
            flags[e.op_id].add("clock_suspect")
        if is_out_of_order(e.effective_time, e.device_high_water, tolerance):
            flags[e.op_id].add("clock_suspect")
            details[(e.op_id, "clock_suspect")] = {"device_high_water": e.device_high_water}
        if home is not None:
            mine[home.diversion_id].append(e)

    def first(candidates: Iterable[FieldEvent]) -> FieldEvent | None:
        valid = [e for e in candidates if not (_INVALID & flags[e.op_id])]
        if not valid:
            return None
        return min(valid, key=lambda e: (sla_time(e.effective_time, e.received_at), e.op_id))

    states = []
    for d, _ in windows:
        facts = mine[d.diversion_id]
        feedback = first(e for e in facts if e.type == "agency_feedback")
        outcome = str(feedback.body.get("outcome")) if feedback is not None else None
        returned_at = feedback.received_at if feedback and outcome == "returned" else None
        if feedback is not None and returned_at is not None:
            for e in facts:
                if e.op_id != feedback.op_id and e.received_at > returned_at:
                    flags[e.op_id].add("late")  # the call had come back by then
        ack = first(e for e in facts if e.type == "ack_dispatch")
        states.append(
            DiversionState(
                diversion_id=d.diversion_id,
                acknowledged_at=sla_time(ack.effective_time, ack.received_at) if ack else None,
                feedback_op_id=feedback.op_id if feedback else None,
                feedback_at=(
                    sla_time(feedback.effective_time, feedback.received_at) if feedback else None
                ),
                outcome=outcome,
                returned_at=returned_at,
            )
        )
    return tuple(states)


def _attached(op_id: str, root: str, present: dict[str, FieldEvent], memo: dict[str, bool]) -> bool:
    """Whether a version's chain of bases reaches the record's first version."""
    # Walk up iteratively: chains of edits can be long.
    path: list[str] = []
    current: str | None = op_id
    ok = False
    while current is not None:
        if current in memo:
            ok = memo[current]
            break
        v = present.get(current)
        if v is None or current in path:  # the parent is not here yet, or a cycle
            break
        path.append(current)
        if v.base_op_id is None:
            ok = v.op_id == root
            break
        current = v.base_op_id
    for step in path:
        memo[step] = ok
    return ok


def record_heads(versions: Iterable[FieldEvent]) -> dict[str, RecordState]:
    """The editable records of these versions reduced to heads, as `fold` reduces them
    (the reports' mediation figures read the displayed head of each record)."""
    by_id = {v.op_id: v for v in versions}
    ordered = [by_id[k] for k in sorted(by_id)]
    return _records(ordered, {v.op_id: set() for v in ordered})


def _records(versions: list[FieldEvent], flags: dict[str, set[str]]) -> dict[str, RecordState]:
    """Version trees by record: pending edits wait, forks are conflicts (§6.4)."""
    by_root: dict[str, list[FieldEvent]] = {}
    for v in versions:
        by_root.setdefault(v.root, []).append(v)
    states: dict[str, RecordState] = {}
    for root, members in sorted(by_root.items()):
        present = {v.op_id: v for v in members}
        # A version is in the tree when its chain of bases reaches the root version.
        in_tree: dict[str, bool] = {}
        tree = [v for v in members if _attached(v.op_id, root, present, in_tree)]
        for v in members:
            if not in_tree.get(v.op_id):
                flags[v.op_id].add("pending_base")
        if not tree:
            continue
        referenced = {v.base_op_id for v in tree if v.base_op_id} | {
            p for v in tree for p in v.parents
        }
        heads = sorted(v.op_id for v in tree if v.op_id not in referenced)
        if len(heads) > 1:
            for h in heads:
                flags[h].add("conflict")
        head = max((present[h] for h in heads), key=lambda v: (v.effective_time, v.op_id))
        states[root] = RecordState(
            record_id=root,
            type=head.type,
            head=head.op_id,
            heads=tuple(heads),
            versions=tuple(sorted(v.op_id for v in tree)),
            body=head.body,
        )
    return states
