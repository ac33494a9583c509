"""Wire messages of the Qingling sync protocol (PROTOCOL.md), as msgspec Structs.

Input messages are strict: unknown fields are rejected and every string is bounded.
One module-level encoder serves every message. This module grows with the protocol:
identity (§1) is here now; ops, push, pull and WebSocket frames (§2-§5) join it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, get_args

import msgspec

# Roles (PROTOCOL §1). Command-center roles see their whole bureau; field roles see
# their own station's incidents and the incidents they are assigned to.
COMMAND_ROLES: tuple[str, ...] = ("dispatcher", "supervisor", "admin")
FIELD_ROLES: tuple[str, ...] = ("station_chief", "officer", "grid_worker", "mediator", "agency")
ALL_ROLES: tuple[str, ...] = COMMAND_ROLES + FIELD_ROLES

Role = Literal[
    "dispatcher",
    "supervisor",
    "admin",
    "station_chief",
    "officer",
    "grid_worker",
    "mediator",
    "agency",
]

# Text a person typed: no NUL (PostgreSQL cannot store it), bounded in length.
_NO_NUL = r"^[^\x00]*\Z"
ShortText = Annotated[str, msgspec.Meta(max_length=200, pattern=_NO_NUL)]
LongText = Annotated[str, msgspec.Meta(max_length=20_000, pattern=_NO_NUL)]
# Ids made by clients (device ids, op ids): printable, no spaces, bounded.
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+\Z")]
# Usernames are stored in 64-character columns (person, login_throttle).
Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=_NO_NUL)]
Password = Annotated[str, msgspec.Meta(max_length=1024, pattern=_NO_NUL)]
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]


# One encoder for every message (and for content hashes).
encoder = msgspec.json.Encoder()


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every message a client sends: unknown fields are an error."""


class DeviceInfo(Input):
    id: ClientId | None = None
    label: ShortText | None = None


class LoginRequest(Input):
    username: Username
    password: Password
    device: DeviceInfo = msgspec.field(default_factory=DeviceInfo)


class PersonInfo(msgspec.Struct, kw_only=True):
    id: str
    name: str
    role: str
    station_id: str | None


class LoginResponse(msgspec.Struct, kw_only=True):
    token: str
    device_id: str
    person: PersonInfo
    server_time: datetime


class LogoutResponse(msgspec.Struct, kw_only=True):
    """`POST /api/auth/logout`: the token is ended; the device stays enrolled."""

    device_id: str
    signed_out_at: datetime


# Command-center vocabulary (PROTOCOL §7).
Category = Literal["criminal", "public_order", "dispute", "help", "traffic", "non_police", "other"]
AreaType = Literal["urban", "rural"]
StationKind = Literal[
    "police_station", "branch", "joint_service_post", "command_center", "linked_agency"
]
IncidentStatus = Literal["received", "dispatched", "closed", "cancelled"]
# The same vocabularies as tuples, for checks and loops (one definition each).
CATEGORIES: tuple[str, ...] = get_args(Category)
AREA_TYPES: tuple[str, ...] = get_args(AreaType)
STATION_KINDS: tuple[str, ...] = get_args(StationKind)
# An incident is open (on the board, its clocks running) until it is closed or cancelled.
OPEN_STATUSES: tuple[str, ...] = ("received", "dispatched")


# ---------------------------------------------------------------------------------------
# Ops (PROTOCOL §2): immutable facts with a client-made identity.

Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}\Z")]
Attachments = Annotated[list[Sha256], msgspec.Meta(max_length=50)]
Count = Annotated[int, msgspec.Meta(ge=0, le=100_000)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]

OpType = Literal[
    "arrival",
    "scene_report",
    "disposition",
    "bodycam_ref",
    "mediation_outcome",
    "evidence_item",
    "note",
    "ack_dispatch",
    "point_check_reply",
]
EDITABLE_TYPES: frozenset[str] = frozenset({"scene_report", "mediation_outcome"})


class ArrivalBody(Input):
    lat: Latitude | None = None
    lon: Longitude | None = None
    accuracy_m: Annotated[float, msgspec.Meta(ge=0, le=1_000_000)] | None = None


class AckDispatchBody(Input):
    pass


class SceneReportBody(Input):
    situation: LongText
    parties: Count | None = None
    injured: Count | None = None
    needs_backup: bool = False
    attachments: Attachments = msgspec.field(default_factory=list)


class DispositionBody(Input):
    result: Literal[
        "resolved", "mediated", "case_accepted", "diverted", "no_finding", "transferred"
    ]
    summary: LongText


class BodycamRefBody(Input):
    camera_serial: ShortText
    clip_id: ShortText
    started_at: AwareTime
    ended_at: AwareTime
    sha256: Sha256 | None = None
    bytes: Annotated[int, msgspec.Meta(ge=0)] | None = None


class Party(Input):
    name: ShortText
    role: ShortText = ""


class MediationOutcomeBody(Input):
    dispute_type: ShortText
    parties: Annotated[list[Party], msgspec.Meta(max_length=50)]
    agreement: Literal["reached", "partial", "failed"]
    terms: LongText = ""
    follow_up_on: date | None = None
    mediator_ids: Annotated[list[ClientId], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    attachments: Attachments = msgspec.field(default_factory=list)


class EvidenceItemBody(Input):
    kind: Literal["interview_record", "witness_statement", "scene_inspection", "other"]
    reference: ShortText
    sha256: Sha256 | None = None


class NoteBody(Input):
    text: LongText


class PointCheckReplyBody(Input):
    request_id: ClientId
    text: LongText


BODY_TYPES: dict[str, type[Input]] = {
    "arrival": ArrivalBody,
    "ack_dispatch": AckDispatchBody,
    "scene_report": SceneReportBody,
    "disposition": DispositionBody,
    "bodycam_ref": BodycamRefBody,
    "mediation_outcome": MediationOutcomeBody,
    "evidence_item": EvidenceItemBody,
    "note": NoteBody,
    "point_check_reply": PointCheckReplyBody,
}
_body_decoders = {name: msgspec.json.Decoder(kind) for name, kind in BODY_TYPES.items()}


class _OpEnvelope(Input):
    op_id: ClientId
    seq: Annotated[int, msgspec.Meta(ge=1, le=2**53)]
    type: OpType
    device_time: AwareTime
    body: msgspec.Raw
    incident_id: ClientId | None = None
    clock_offset_ms: Annotated[int, msgspec.Meta(ge=-(10**12), le=10**12)] | None = None
    record_id: ClientId | None = None
    base_op_id: ClientId | None = None


class Op(msgspec.Struct, kw_only=True, frozen=True):
    """A validated op with its typed body."""

    op_id: str
    seq: int
    type: str
    incident_id: str | None
    device_time: datetime
    clock_offset_ms: int | None
    record_id: str | None
    base_op_id: str | None
    body: Input


class InvalidOp(ValueError):
    """An op that cannot be accepted as sent; `op_id` is whatever could be read of it."""

    def __init__(self, message: str, op_id: str | None) -> None:
        super().__init__(message)
        self.op_id = op_id


_envelope_decoder = msgspec.json.Decoder(_OpEnvelope)
_loose_decoder = msgspec.json.Decoder()


def decode_op(raw: bytes | msgspec.Raw) -> Op:
    """Validate one op (envelope, then the body for its type). Raises InvalidOp."""
    try:
        env = _envelope_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise InvalidOp(str(exc), _loose_op_id(raw)) from None
    try:
        body = _body_decoders[env.type].decode(env.body)
    except msgspec.ValidationError as exc:
        raise InvalidOp(f"body: {exc}", env.op_id) from None
    if env.type in EDITABLE_TYPES:
        if (env.record_id is None) != (env.base_op_id is None):
            raise InvalidOp(
                "record_id and base_op_id are both null (a new record) or both set", env.op_id
            )
    elif env.record_id is not None or env.base_op_id is not None:
        raise InvalidOp(
            f"{env.type} is not editable: record_id and base_op_id must be null", env.op_id
        )
    if env.incident_id is None and env.type != "mediation_outcome":
        raise InvalidOp(
            "incident_id may be null only for a standalone mediation_outcome", env.op_id
        )
    if isinstance(body, BodycamRefBody):
        if body.ended_at < body.started_at:
            raise InvalidOp("body: ended_at lies before started_at", env.op_id)
        body = msgspec.structs.replace(
            body, started_at=body.started_at.astimezone(UTC), ended_at=body.ended_at.astimezone(UTC)
        )
    # Every instant in UTC from here on: the same instant written `+08:00` or `Z` is the
    # same content, and encodes the same.
    return Op(
        op_id=env.op_id,
        seq=env.seq,
        type=env.type,
        incident_id=env.incident_id,
        device_time=env.device_time.astimezone(UTC),
        clock_offset_ms=env.clock_offset_ms,
        record_id=env.record_id,
        base_op_id=env.base_op_id,
        body=body,
    )


def _loose_op_id(raw: bytes | msgspec.Raw) -> str | None:
    try:
        value = _loose_decoder.decode(raw)
    except msgspec.DecodeError:
        return None
    op_id = value.get("op_id") if isinstance(value, dict) else None
    return op_id if isinstance(op_id, str) and 0 < len(op_id) <= 64 else None


def content_hash(op: Op) -> str:
    """SHA-256 of the op's canonical encoding: defaults applied (decoding filled them in),
    instants in UTC (decode_op normalised them), fields in declaration order. Equal for a
    re-delivery, different for a reused op_id."""
    return hashlib.sha256(encoder.encode(op)).hexdigest()


# ---------------------------------------------------------------------------------------
# Push (PROTOCOL §3).


class PushRequest(Input):
    device_id: ClientId
    sent_at: AwareTime
    ops: Annotated[list[msgspec.Raw], msgspec.Meta(max_length=500)]


class OpResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    op_id: str | None
    status: Literal["applied", "duplicate", "rejected"]
    code: str | None = None
    message: str | None = None


class PushResponse(msgspec.Struct, kw_only=True):
    server_time: datetime
    acked_seq: int
    cursor: str
    results: list[OpResult]


# ---------------------------------------------------------------------------------------
# Pull and the change feed (PROTOCOL §4).


class Change(msgspec.Struct, kw_only=True):
    pos: int
    entity: str
    id: str
    data: msgspec.Raw


class PullResponse(msgspec.Struct, kw_only=True, omit_defaults=True):
    changes: list[Change]
    cursor: str
    more: bool
    reset: bool = False


# ---------------------------------------------------------------------------------------
# WebSocket frames (PROTOCOL §5), tagged by "type".


class Hello(Input, tag="hello"):
    token: Annotated[str, msgspec.Meta(max_length=200)]
    cursor: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class PushFrame(Input, tag="push"):
    sent_at: AwareTime
    ops: Annotated[list[msgspec.Raw], msgspec.Meta(max_length=500)]
    device_id: ClientId | None = None


class Ping(Input, tag="ping"):
    pass


ClientFrame = Hello | PushFrame | Ping
client_frame_decoder = msgspec.json.Decoder(ClientFrame)


class Welcome(msgspec.Struct, tag="welcome", kw_only=True):
    server_time: datetime


class ChangesFrame(msgspec.Struct, tag="changes", kw_only=True, omit_defaults=True):
    changes: list[Change]
    cursor: str
    reset: bool = False


class PushResult(msgspec.Struct, tag="push_result", kw_only=True):
    server_time: datetime
    acked_seq: int
    cursor: str
    results: list[OpResult]


class Pong(msgspec.Struct, tag="pong", kw_only=True):
    server_time: datetime


class ErrorFrame(msgspec.Struct, tag="error", kw_only=True):
    code: str
    message: str


def json_schema() -> dict[str, dict[str, Any]]:
    """The JSON Schema of what clients send (and of each op body), for the PWA and
    third-party clients."""
    types: list[object] = [
        LoginRequest,
        PushRequest,
        _OpEnvelope,
        *BODY_TYPES.values(),
        Hello,
        PushFrame,
        Ping,
    ]
    _, components = msgspec.json.schema_components(types)
    return {"$defs": components}
