"""Wire messages of the Qingling sync protocol (PROTOCOL.md), as msgspec Structs.

Input messages are strict: unknown fields are rejected and every string is bounded.
One module-level encoder serves every message. This module grows with the protocol:
identity (§1) is here now; ops, push, pull and WebSocket frames (§2-§5) join it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

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
Password = Annotated[str, msgspec.Meta(max_length=1024, pattern=_NO_NUL)]
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every message a client sends: unknown fields are an error."""


class DeviceInfo(Input):
    id: ClientId | None = None
    label: ShortText | None = None


class LoginRequest(Input):
    username: ShortText
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


encoder = msgspec.json.Encoder()


def json_schema() -> dict[str, object]:
    """The JSON Schema of the client-sent messages, for the PWA and third-party clients."""
    _, components = msgspec.json.schema_components([LoginRequest])
    return {"$defs": components}


# Command-center vocabulary (PROTOCOL §7).
Category = Literal["criminal", "public_order", "dispute", "help", "traffic", "non_police", "other"]
AreaType = Literal["urban", "rural"]
StationKind = Literal[
    "police_station", "branch", "joint_service_post", "command_center", "linked_agency"
]
IncidentStatus = Literal["received", "dispatched", "closed", "cancelled"]
