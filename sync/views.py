"""What the server sends: the incident record and the other things clients read.

These Structs are the read model of PROTOCOL §7 and the `data` of the change feed's
changes (§4): the server builds them (server/record/), its routes declare them as their
return types, so the OpenAPI document at /schema and `qingling schema` describe exactly
what a client receives. Fields are never left out except where a field says so (`UNSET`:
a timeline entry carries either an event's fields or a command-center act's), so a
client can rely on every key being present, null when there is nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from sync.messages import (
    AreaType,
    CallbackState,
    CaseStage,
    Category,
    FeedbackSource,
    IncidentStatus,
    Level,
    NoticeKind,
    RectificationState,
    SupervisionLevel,
    SupervisionState,
)
from sync.rules import ClockState

ReviewKind = Literal[
    "late",
    "clock_suspect",
    "evidence_mismatch",
    "conflict",
    "overdue",
    "missing_evidence",
    "far_arrival",
    "citizen_unsatisfied",
]
ReviewState = Literal["open", "resolved"]
AttachmentState = Literal["stored", "pending"]


class View(msgspec.Struct, kw_only=True):
    """Base of the read model: keyword-only, every field always sent (none omitted)."""


class ClockView(View):
    """One SLA clock: its due time (null until it starts), when it was met, its state."""

    due_at: datetime | None
    met_at: datetime | None
    state: ClockState


class Assignee(View):
    """A person on the incident now."""

    person_id: str
    name: str
    station_id: str | None
    assigned_at: datetime


class RecordView(View):
    """A versioned record (scene report, disposition, mediation outcome, ...) after the fold:
    the displayed version `head`, every head (more than one: `conflicted`), its versions."""

    record_id: str
    type: str
    head: str
    heads: list[str]
    versions: list[str]
    conflicted: bool
    body: dict[str, Any]


class ReviewRef(View):
    """A review item as listed on its incident (the full item: `ReviewItemView`)."""

    id: str
    kind: ReviewKind
    clock: str | None
    op_id: str | None
    record_id: str | None
    state: ReviewState


class PointCheckView(View):
    """A point-check (点调) with its earliest reply."""

    request_id: str
    text: str
    requested_at: datetime
    requested_by: str | None
    person_ids: list[str]
    replied_at: datetime | None
    reply: str | None
    reply_person_id: str | None


class EventView(View):
    """A field event: an op as the server stored it, with its flags (the `data` of an
    `event` change, and an event's entry in a timeline)."""

    op_id: str
    incident_id: str | None
    type: str
    person_id: str
    device_id: str
    seq: int
    device_time: datetime | None
    clock_offset_ms: int | None
    received_at: datetime
    effective_time: datetime | None
    record_id: str | None
    base_op_id: str | None
    parents: list[str]
    flags: list[str]
    body: dict[str, Any]


class TimelineEntry(View):
    """One entry of an incident's timeline: a field event (`op_id` set, the event's fields)
    or a command-center act (`op_id` null, with `back_entered` and `detail`). The fields of
    the other kind are left out, not null."""

    op_id: str | None
    type: str
    person_id: str | None
    device_id: str | None
    device_time: datetime | None
    received_at: datetime
    effective_time: datetime | None
    flags: list[str]
    # A field event's:
    incident_id: str | None | UnsetType = UNSET
    seq: int | UnsetType = UNSET
    clock_offset_ms: int | None | UnsetType = UNSET
    record_id: str | None | UnsetType = UNSET
    base_op_id: str | None | UnsetType = UNSET
    parents: list[str] | UnsetType = UNSET
    body: dict[str, Any] | UnsetType = UNSET
    # A command-center act's:
    back_entered: bool | UnsetType = UNSET
    detail: dict[str, Any] | UnsetType = UNSET


class RatingsView(View):
    """A verdict's four dimensions (PROTOCOL §9)."""

    reception: Level
    timeliness: Level
    conduct: Level
    handling: Level


class FeedbackView(View):
    """The citizen's verdict on the incident, and how it came (PROTOCOL §9)."""

    source: FeedbackSource
    at: datetime
    ratings: RatingsView
    overall: Level
    comment: str


class AgencyFeedbackView(View):
    """A linked agency's answer on a diversion (PROTOCOL §10): the earliest valid
    `agency_feedback` op of one of its people after the diversion."""

    outcome: str
    text: str
    attachments: list[str]
    at: datetime  # its effective time
    person_id: str


class DiversionView(View):
    """The incident's current diversion to a linked agency (PROTOCOL §10;
    docs/diversion.md): `acknowledged_at` is the earliest valid `ack_dispatch` of one of
    the agency's people, on effective time."""

    agency_id: str
    agency_name: str
    diverted_at: datetime
    instructions: str
    person_ids: list[str]
    acknowledged_at: datetime | None
    feedback: AgencyFeedbackView | None


class SupervisionRef(View):
    """A supervision order as listed on its incident (the full order:
    `SupervisionOrderView`): the board shows 挂牌督办 (`level` bureau) prominently."""

    id: str
    level: SupervisionLevel
    state: SupervisionState
    due_at: datetime
    clock_state: ClockState


class CaseStageView(View):
    """One valid `case_progress` of a case, in effective-time order."""

    stage: CaseStage
    at: datetime  # its effective time
    op_id: str


class CaseView(View):
    """An incident's case (PROTOCOL §11): present once it has a valid `case_accepted`
    disposition or any `case_progress`; `accepted` says whether it is a case (a progress
    recorded before its disposition arrived waits, uncounted, until it does)."""

    accepted: bool
    case_number: str | None
    stage: CaseStage | None
    filed_at: datetime | None
    stages: list[CaseStageView]


class ThreeFeedbacks(View):
    """三反馈: which of the field's three feedbacks are in — a valid arrival, a scene
    report (the scene situation), a disposition. Closing without all three asks the
    dispatcher to confirm; the reports count incidents closed with all three."""

    arrival: bool
    scene: bool
    disposition: bool


class IncidentRecord(View):
    """The command-center record of one 110 incident (PROTOCOL §7). `timeline` comes with
    `GET /api/incidents/{id}` only; lists, the board and the change feed leave it out."""

    id: str
    number: str
    bureau_id: str
    status: IncidentStatus
    version: int
    category: Category
    area_type: AreaType
    address: str
    lat: float | None
    lon: float | None
    caller_name: str
    caller_phone: str
    narrative: str
    received_at: datetime
    received_back_entered: bool
    station_id: str | None
    dispatched_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    close_summary: str | None
    cancel_reason: str | None
    assignees: list[Assignee]
    clocks: dict[str, ClockView]
    records: list[RecordView]
    attachments: dict[str, AttachmentState]
    review_items: list[ReviewRef]
    point_checks: list[PointCheckView]
    # The caller may be endangered by a call back: no callback task (PROTOCOL §9).
    no_callback: bool
    # The citizen's verdict: at most one entry (one verdict per incident, §9).
    feedback: list[FeedbackView]
    updated_at: datetime
    # PROTOCOL §10: the current diversion (null when none, or once it came back), how
    # many diversions came back `returned`, and the latest such return's reason.
    diversion: DiversionView | None = None
    diversions_returned: int = 0
    returned_reason: str | None = None
    # PROTOCOL §11: the supervision orders on it (oldest first), its case, 三反馈.
    supervision: list[SupervisionRef] = msgspec.field(default_factory=list)
    case: CaseView | None = None
    three_feedbacks: ThreeFeedbacks = msgspec.field(
        default_factory=lambda: ThreeFeedbacks(arrival=False, scene=False, disposition=False)
    )
    timeline: list[TimelineEntry] | UnsetType = UNSET


class ReviewItemView(View):
    """A review item (PROTOCOL §6.6): the review queue's entries and the `data` of a
    `review` change."""

    id: str
    kind: ReviewKind
    state: ReviewState
    incident_id: str | None
    op_id: str | None
    record_id: str | None
    clock: str | None
    detail: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None


class MediationView(View):
    """A standalone mediation case (no incident): the `data` of a `mediation` change."""

    id: str
    incident_id: None
    station_id: str | None
    record: RecordView | None


class BoardAssignee(View):
    """A person on the incident now, as the board names them."""

    person_id: str
    name: str


class BoardDiversion(View):
    """The agency a diverted incident is with, as the board names it (the full diversion:
    `DiversionView`, in the record)."""

    agency_id: str
    agency_name: str


class BoardRow(View):
    """One open incident as the board shows it (docs/command.md "The board"): what its
    row, filters, badges, clocks and counts read, and nothing else. No caller data, no
    records, no timeline: the incident panel fetches the full record
    (`GET /api/incidents/{id}`). `review_items` are the open ones only; `supervision` the
    orders not yet accepted. Every field has the same name and meaning as in
    `IncidentRecord`, so a full record from the feed can stand in for a row."""

    id: str
    number: str
    status: IncidentStatus
    version: int
    category: Category
    area_type: AreaType
    address: str
    narrative: str
    received_at: datetime
    received_back_entered: bool
    station_id: str | None
    assignees: list[BoardAssignee]
    clocks: dict[str, ClockView]
    review_items: list[ReviewRef]
    supervision: list[SupervisionRef]
    diversion: BoardDiversion | None
    diversions_returned: int
    returned_reason: str | None


class Board(View):
    """The command center's board: every open incident in scope as a summary row, and the
    feed cursor it is current as of (open the WebSocket with it; its `incident` changes
    carry full records, which replace rows)."""

    server_time: datetime
    cursor: str
    incidents: list[BoardRow]


class ClipView(View):
    """A body-camera clip reference with its review mark."""

    op_id: str
    incident_id: str
    incident_number: str | None
    person_id: str
    camera_serial: str | None
    clip_id: str | None
    started_at: str | None
    ended_at: str | None
    sha256: str | None
    bytes: int | None
    received_at: datetime
    flags: list[str]
    reviewed_at: datetime | None
    reviewed_by: str | None
    note: str | None


class SupervisionClock(View):
    """A supervision order's clock: met at the effective time of the reply that was
    accepted; `overdue` once `due_at` passes with no reply awaiting a decision."""

    due_at: datetime
    met_at: datetime | None
    state: ClockState


class SupervisionReplyView(View):
    """A `supervision_reply` op as the order shows it."""

    op_id: str
    person_id: str
    text: str
    attachments: list[str]
    at: datetime  # its effective time


class SupervisionRejectionView(View):
    reason: str
    by: str
    at: datetime
    reply_op_ids: list[str]


class SupervisionOrderView(View):
    """A supervision order (督办; `level` bureau is 挂牌督办), PROTOCOL §11: the `data` of
    a `supervision` change and an entry of `GET /api/supervision`. `reply` is the reply
    awaiting a decision (state `answered`) or the accepted one (state `accepted`);
    `replies` every reply, oldest first."""

    id: str
    incident_id: str
    number: str
    station_id: str
    level: SupervisionLevel
    instructions: str
    due_at: datetime
    issued_by: str
    issued_at: datetime
    state: SupervisionState
    clock: SupervisionClock
    reply: SupervisionReplyView | None
    replies: list[SupervisionReplyView]
    rejections: list[SupervisionRejectionView]
    accepted_at: datetime | None
    accepted_by: str | None


class SupervisionList(View):
    orders: list[SupervisionOrderView]


class NoticeStationView(View):
    """A station named by a notice, and what it owes: `state` null without `rectify_by`."""

    station_id: str
    name: str
    state: RectificationState | None
    done_at: datetime | None
    op_id: str | None
    text: str | None  # the rectification's text, once done


class NoticeIncidentView(View):
    """An incident a notice is about: its id and number only (no caller data)."""

    incident_id: str
    number: str


class NoticeView(View):
    """A notice (通报), PROTOCOL §11: the `data` of a `notice` change and an entry of
    `GET /api/notices`."""

    id: str
    kind: NoticeKind
    text: str
    station_ids: list[str]
    incidents: list[NoticeIncidentView]
    rectify_by: datetime | None
    issued_by: str
    issued_at: datetime
    stations: list[NoticeStationView]


class NoticeList(View):
    notices: list[NoticeView]


READ_MODEL: tuple[type[View], ...] = (
    IncidentRecord,
    EventView,
    ReviewItemView,
    MediationView,
    Board,
    ClipView,
    SupervisionOrderView,
    NoticeView,
)


def json_schema() -> dict[str, dict[str, Any]]:
    """The JSON Schema of what clients receive (the read model above)."""
    _, components = msgspec.json.schema_components(READ_MODEL)
    return {"$defs": components}


class CallbackAttemptView(View):
    """One call back: when, whether the caller answered, who called (a person id)."""

    at: datetime
    reached: bool
    by: str | None


class CallbackTaskView(View):
    """A callback (回访) task (PROTOCOL §9 `GET /api/callbacks`)."""

    incident_id: str
    number: str
    station_id: str | None
    category: Category
    closed_at: datetime
    due_at: datetime
    caller_phone: str
    state: CallbackState
    attempts: list[CallbackAttemptView]


class CallbackList(View):
    callbacks: list[CallbackTaskView]


class PublicRatingView(View):
    """What a public rating link says about its incident (PROTOCOL §9): no personal data.
    A token whose invite has not arrived answers `awaiting` with the other fields null."""

    station: str | None
    category: Category | None
    received_on: date | None
    state: Literal["open", "rated", "awaiting", "expired"]


class PublicRatingState(View):
    """A public rating POST's answer: `rated` (201, counted) or `awaiting` (202, kept
    until its invite arrives)."""

    state: Literal["rated", "awaiting"]


class AgencyDutiesView(View):
    """A linked agency's duties (PROTOCOL §10): the bureau's responsibility list."""

    keywords: list[str]
    categories: list[Category]
    ack_minutes: int
    feedback_hours: int
    updated_at: datetime
    updated_by: str | None


class AgencyView(View):
    """A linked agency in `GET /api/agencies`: `score` is how many of its keywords the
    `match` text contains (0 without `match`, or without duties)."""

    station_id: str
    name: str
    duties: AgencyDutiesView | None
    score: int


class AgencyList(View):
    agencies: list[AgencyView]
