"""Wire messages of the Qingling sync protocol (PROTOCOL.md), as msgspec Structs.

Input messages are strict: unknown fields are rejected and every string is bounded.
One module-level encoder serves every message. This module grows with the protocol:
identity (§1) is here now; ops, push, pull and WebSocket frames (§2-§5) join it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypeVar, get_args

import msgspec

from sync.clock import (
    MAX_OFFSET_MS,
    TIME_RANGE,
    OutOfRange,
    day_in_range,
    effective_time,
    in_range,
)

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

T = TypeVar("T")

# A JSON string escape: a surrogate pair, a lone high or low surrogate, or any other
# escape (matched so that `\\ud800`, an escaped backslash before "ud800", is skipped).
_ESCAPE = re.compile(
    rb"\\u(?P<high>[dD][89abAB][0-9a-fA-F]{2})(?P<low>\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
    rb"|\\u(?P<lone>[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|\\(?:u[0-9a-fA-F]{4}|[\s\S])"
)

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _surrogate_bytes(match: re.Match[bytes]) -> bytes:
    lone = match.group("lone") or (None if match.group("low") else match.group("high"))
    if lone is None:
        return match.group(0)
    # The surrogate's own three bytes: not UTF-8, so only the string holding it fails.
    return chr(int(lone, 16)).encode("utf-8", "surrogatepass")


def decode_lenient(decoder: msgspec.json.Decoder[T], data: bytes | str) -> T:
    """Decode a request or frame that carries ops. msgspec refuses a lone surrogate
    escape (`"\\ud800"`) wherever it is, even inside a value it only skips, which would
    make one bad op fail its whole batch; so when decoding fails and such escapes are
    present, they are turned into bytes that are not UTF-8 and the text decoded again:
    the op holding one then fails alone, as text that is not UTF-8 (PROTOCOL §12)."""
    try:
        return decoder.decode(data)
    except msgspec.DecodeError:
        raw = data.encode() if isinstance(data, str) else data
        # Only text with a surrogate escape is worth the second pass (a quick search
        # first: the rewrite itself visits every escape).
        if not _SURROGATE_ESCAPE.search(raw):
            raise
        marked = _ESCAPE.sub(_surrogate_bytes, raw)
        if marked == raw:
            raise
        return decoder.decode(marked)


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
IncidentStatus = Literal["received", "dispatched", "diverted", "closed", "cancelled"]
# The same vocabularies as tuples, for checks and loops (one definition each).
CATEGORIES: tuple[str, ...] = get_args(Category)
AREA_TYPES: tuple[str, ...] = get_args(AreaType)
STATION_KINDS: tuple[str, ...] = get_args(StationKind)
# An incident is open (on the board, its clocks running) until it is closed or cancelled;
# `diverted`: handed to a linked agency (PROTOCOL §10), its agency clocks running.
OPEN_STATUSES: tuple[str, ...] = ("received", "dispatched", "diverted")


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
    "rating_invite",
    "agency_feedback",
    "supervision_reply",
    "rectification",
    "case_progress",
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


class RatingInviteBody(Input):
    """PROTOCOL §9: the phone shows a QR code of `/rate/{token}`; the server gets only
    the token's SHA-256 (lowercase hex of the token's ASCII text)."""

    token_sha256: Sha256


class AgencyFeedbackBody(Input):
    """PROTOCOL §10: a linked agency's answer on a call diverted to it. `returned`: not
    its duty; the call goes back to the dispatcher's board with `text` as the reason."""

    outcome: Literal["handled", "referred", "returned"]
    text: LongText
    attachments: Attachments = msgspec.field(default_factory=list)


class SupervisionReplyBody(Input):
    """PROTOCOL §11: a station chief's answer to a supervision order (督办) on the
    incident the op names (`incident_id` must be the order's incident)."""

    order_id: ClientId
    text: LongText
    attachments: Attachments = msgspec.field(default_factory=list)


class RectificationBody(Input):
    """PROTOCOL §11: a station chief's rectification (整改) owed on a notice that named
    their station with `rectify_by`. The op's `incident_id` is null."""

    notice_id: ClientId
    text: LongText
    attachments: Attachments = msgspec.field(default_factory=list)


CaseStage = Literal["filed", "solved", "closed", "transferred"]
CASE_STAGES: tuple[str, ...] = get_args(CaseStage)


class CaseProgressBody(Input):
    """PROTOCOL §11: an accepted case's progress: 立案 (filed), 破案 (solved), 结案
    (closed), 移送 (transferred)."""

    case_number: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=_NO_NUL)]
    stage: CaseStage


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
    "rating_invite": RatingInviteBody,
    "agency_feedback": AgencyFeedbackBody,
    "supervision_reply": SupervisionReplyBody,
    "rectification": RectificationBody,
    "case_progress": CaseProgressBody,
}
_body_decoders = {name: msgspec.json.Decoder(kind) for name, kind in BODY_TYPES.items()}


class _OpEnvelope(Input):
    op_id: ClientId
    seq: Annotated[int, msgspec.Meta(ge=1, le=2**53)]
    type: OpType
    device_time: AwareTime
    body: msgspec.Raw
    incident_id: ClientId | None = None
    clock_offset_ms: Annotated[int, msgspec.Meta(ge=-MAX_OFFSET_MS, le=MAX_OFFSET_MS)] | None = None
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
    """An op that cannot be accepted as sent; `op_id` and `seq` are whatever could be
    read of it (so its dead letter carries them, and acked_seq can move past it)."""

    def __init__(self, message: str, op_id: str | None, seq: int | None = None) -> None:
        super().__init__(message)
        self.op_id = op_id
        self.seq = seq


class _Identity(msgspec.Struct):
    """Just an op's op_id and seq; every other field is skipped unread, so text that is
    not UTF-8 elsewhere in the op does not hide who it is."""

    op_id: Any = None
    seq: Any = None


_envelope_decoder = msgspec.json.Decoder(_OpEnvelope)
_identity_decoder = msgspec.json.Decoder(_Identity)
# Body types that hold a time or a date somewhere (each must lie in the range, §12).
_TIMED_BODIES = frozenset(
    name
    for name, kind in BODY_TYPES.items()
    if re.search(rb'"format":"date(-time)?"', msgspec.json.encode(msgspec.json.schema(kind)))
)


def decode_op(raw: bytes | msgspec.Raw) -> Op:
    """Validate one op (envelope, then the body for its type, then its times: PROTOCOL
    §12). Raises InvalidOp. The effective time by the request's own estimate is checked
    by the caller, which knows the request (sync.clock.effective_time)."""
    try:
        env = _envelope_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise InvalidOp(str(exc), *_identity(raw)) from None
    except msgspec.DecodeError as exc:
        raise InvalidOp(_undecodable(exc), *_identity(raw)) from None
    except RecursionError:
        raise InvalidOp("the op is nested too deeply", *_identity(raw)) from None
    try:
        body = _body_decoders[env.type].decode(env.body)
    except msgspec.ValidationError as exc:
        raise InvalidOp(f"body: {exc}", env.op_id, env.seq) from None
    except msgspec.DecodeError as exc:
        raise InvalidOp(f"body: {_undecodable(exc)}", env.op_id, env.seq) from None
    except RecursionError:
        raise InvalidOp("body: nested too deeply", env.op_id, env.seq) from None
    problem = _time_problem(env, body)
    if problem is not None:
        raise InvalidOp(problem, env.op_id, env.seq)
    if env.type in EDITABLE_TYPES:
        if (env.record_id is None) != (env.base_op_id is None):
            raise InvalidOp(
                "record_id and base_op_id are both null (a new record) or both set",
                env.op_id,
                env.seq,
            )
    elif env.record_id is not None or env.base_op_id is not None:
        raise InvalidOp(
            f"{env.type} is not editable: record_id and base_op_id must be null",
            env.op_id,
            env.seq,
        )
    if env.type == "rectification":
        if env.incident_id is not None:
            raise InvalidOp(
                "a rectification answers a notice: its incident_id is null", env.op_id, env.seq
            )
    elif env.incident_id is None and env.type != "mediation_outcome":
        raise InvalidOp(
            "incident_id may be null only for a standalone mediation_outcome or a rectification",
            env.op_id,
            env.seq,
        )
    if isinstance(body, BodycamRefBody):
        if body.ended_at < body.started_at:
            raise InvalidOp("body: ended_at lies before started_at", env.op_id, env.seq)
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


# The op types whose bodies can name a blob (`blob_references`).
REFERENCING_TYPES: frozenset[str] = frozenset(
    [name for name, kind in BODY_TYPES.items() if "attachments" in kind.__struct_fields__]
    + ["evidence_item"]
)


def blob_references(op_type: str, body: Any) -> list[str]:
    """The attachments an op names in the sense that lets readers of its record read them
    (PROTOCOL §12 "Blobs by reference only"): the `attachments` of any body that has them,
    and an evidence item's `sha256`. A body-camera clip's `sha256` fingerprints a video
    Qingling never holds, and a hash quoted in free text is only text: neither names a blob.
    `body` is a typed body or the same as a dict (a stored event's)."""
    if isinstance(body, dict):
        attachments, evidence = body.get("attachments"), body.get("sha256")
    else:
        attachments, evidence = getattr(body, "attachments", None), getattr(body, "sha256", None)
    names = set(attachments or ())
    if op_type == "evidence_item" and evidence:
        names.add(evidence)
    return sorted(names)


def _identity(raw: bytes | msgspec.Raw) -> tuple[str | None, int | None]:
    """The op_id and seq of an op that does not validate, as far as they can be read."""
    try:
        found = _identity_decoder.decode(raw)
    except (msgspec.MsgspecError, RecursionError):
        return None, None
    op_id, seq = found.op_id, found.seq
    return (
        op_id if isinstance(op_id, str) and 0 < len(op_id) <= 64 and "\x00" not in op_id else None,
        seq if type(seq) is int and 0 < seq <= 2**53 else None,
    )


def _undecodable(exc: msgspec.DecodeError) -> str:
    if "UTF-8" in str(exc):
        return "text that is not valid UTF-8 (or a lone surrogate escape)"
    return f"not valid JSON: {exc}"


def _time_problem(env: _OpEnvelope, body: Input) -> str | None:
    """Why a time of this op lies outside the range, or None (PROTOCOL §12). Checked
    before anything converts them: 9999-12-31T23:59:59-14:00 has no UTC form."""
    if not in_range(env.device_time):
        return f"device_time {env.device_time.isoformat()} lies outside {TIME_RANGE}"
    if env.clock_offset_ms is not None:
        try:
            effective_time(env.device_time, env.clock_offset_ms, None)
        except OutOfRange as exc:
            return str(exc)
    if env.type in _TIMED_BODIES:
        where = _time_outside(body, "body")
        if where is not None:
            return f"{where} lies outside {TIME_RANGE}"
    return None


def _time_outside(value: object, where: str) -> str | None:
    """The path of the first time or date in `value` outside the range, or None."""
    if isinstance(value, date):  # datetimes too (a datetime is a date)
        return None if day_in_range(value) else where
    if isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            found = _time_outside(getattr(value, name), f"{where}.{name}")
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _time_outside(item, f"{where}[{i}]")
            if found is not None:
                return found
    return None


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


def push_request_schema() -> dict[str, Any]:
    """A push request's JSON Schema with each op's envelope spelled out (PushRequest keeps
    its ops raw, to judge each on its own, so its own schema says nothing of them): what
    the OpenAPI document shows, so that clients and fuzzers see the ops' fields."""
    _, schemas = msgspec.json.schema_components([PushRequest, _OpEnvelope])
    push = schemas["PushRequest"]
    ops = {**push["properties"]["ops"], "items": schemas["_OpEnvelope"]}
    return {**push, "properties": {**push["properties"], "ops": ops}}


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


# ---------------------------------------------------------------------------------------
# The citizen's verdict (PROTOCOL §9): callbacks, QR and poster ratings.

Level = Literal["satisfied", "basically_satisfied", "unsatisfied"]
LEVELS: tuple[str, ...] = get_args(Level)
# 接警态度, 出警时间, 警容风纪, 现场处理.
DIMENSIONS: tuple[str, ...] = ("reception", "timeliness", "conduct", "handling")
FeedbackSource = Literal["callback", "qr", "poster"]
CallbackState = Literal["due", "done", "unreachable"]
Comment = Annotated[str, msgspec.Meta(max_length=500, pattern=_NO_NUL)]
# A rating token as it appears in `/rate/{token}`: 128 bits or more, lowercase hex.
RATING_TOKEN = re.compile(r"^[0-9a-f]{32,256}\Z")


class Ratings(Input):
    reception: Level
    timeliness: Level
    conduct: Level
    handling: Level


class Verdict(Input):
    """The same object wherever a verdict comes from (callback, QR, poster)."""

    ratings: Ratings
    overall: Level
    comment: Comment = ""


class CallbackAttempt(Input):
    """`POST /api/incidents/{id}/callbacks`: `{"reached": false}` is an unanswered
    attempt; `{"reached": true, ...verdict}` completes the task (the verdict is then
    required)."""

    reached: bool
    ratings: Ratings | None = None
    overall: Level | None = None
    comment: Comment = ""


class PosterRating(Input):
    """`POST /api/public/stations/{code}/ratings`: the incident named by its number and
    the last four digits of the caller's phone, and the verdict."""

    incident_number: Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=_NO_NUL)]
    phone_last4: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}\Z")]
    ratings: Ratings
    overall: Level
    comment: Comment = ""


# ---------------------------------------------------------------------------------------
# Supervision, notices and settlement (PROTOCOL §11): the command center's calls.

SupervisionLevel = Literal["station", "bureau"]
SupervisionState = Literal["open", "answered", "accepted"]
NoticeKind = Literal["criticism", "commendation", "briefing"]
NOTICE_KINDS: tuple[str, ...] = get_args(NoticeKind)
RectificationState = Literal["owed", "done", "overdue"]


class SuperviseRequest(Input):
    """`POST /api/incidents/{id}/supervise` (supervisor, admin): `due_at` must lie in the
    future (and in the range of PROTOCOL §12)."""

    level: SupervisionLevel
    instructions: LongText
    due_at: AwareTime


class RejectRequest(Input):
    """`POST /api/supervision/{order_id}/reject`: why the reply is not enough."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=_NO_NUL)]


class NoticeRequest(Input):
    """`POST /api/notices` (supervisor, admin)."""

    kind: NoticeKind
    station_ids: Annotated[list[ClientId], msgspec.Meta(min_length=1, max_length=200)]
    text: LongText
    incident_ids: Annotated[list[ClientId], msgspec.Meta(max_length=200)] = msgspec.field(
        default_factory=list
    )
    rectify_by: AwareTime | None = None
