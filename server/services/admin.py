"""Administration shared by the CLI and the demo: bureaus, stations, people.

People are deactivated, never deleted (`deactivate_user`): their events, acts and
assignments stay on record, and the database refuses to delete a person anything still
names (server/core/tables.py).
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

import anyio.to_thread

from server.access.accounts import device_view, hash_password, mark_revoked
from server.core import audit
from server.core.clock import utcnow
from server.core.db import write_transaction
from server.core.errors import BadRequest, NotFound, StateConflict
from server.core.ids import new_id, new_rating_code
from server.core.tables import Bureau, Device, Person, SlaPolicy, Station
from sync.messages import ALL_ROLES, AREA_TYPES, COMMAND_ROLES, STATION_KINDS


@cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords, as zxcvbn ships them (from leaked password
    dumps; lower case). Loaded on first use only: the list costs about 13 MB, and only
    account creation needs it."""
    lists = importlib.import_module("zxcvbn.frequency_lists").FREQUENCY_LISTS
    return frozenset(lists["passwords"])


def check_new_password(password: str) -> None:
    """Refuse a password too short, or one of the most common (PROTOCOL §12)."""
    if len(password) < 8:
        raise BadRequest("a password needs at least 8 characters")
    if password.strip().lower() in _common_passwords():
        raise BadRequest(
            "this password is one of the 30,000 most common passwords: choose another",
            code="common_password",
        )


async def ensure_bureau(name: str = "Qingling Bureau") -> str:
    """The bureau's id. A database holds one bureau unless more are added on purpose;
    the first call creates it, with the default SLA policy."""
    row = await Bureau.select(Bureau.id).order_by(Bureau.created_at).first()
    if row is not None:
        return str(row["id"])
    bureau_id = new_id()
    async with write_transaction():
        await Bureau.insert(Bureau(id=bureau_id, name=name, created_at=utcnow()))
        await SlaPolicy.insert(SlaPolicy(bureau=bureau_id))
    return bureau_id


async def add_station(
    name: str, area_type: str, kind: str = "police_station", bureau_id: str | None = None
) -> dict[str, Any]:
    name = name.strip()
    if not name:
        raise BadRequest("a station needs a name")
    if area_type not in AREA_TYPES:
        raise BadRequest(f"area must be one of {', '.join(AREA_TYPES)}")
    if kind not in STATION_KINDS:
        raise BadRequest(f"kind must be one of {', '.join(STATION_KINDS)}")
    bureau_id = bureau_id or await ensure_bureau()
    async with write_transaction():
        taken = await Station.exists().where((Station.bureau == bureau_id) & (Station.name == name))
        if taken:
            raise StateConflict(f"a station named {name!r} already exists", code="name_taken")
        station = Station(
            id=new_id(),
            bureau=bureau_id,
            name=name,
            kind=kind,
            area_type=area_type,
            created_at=utcnow(),
            rating_code=new_rating_code(),
        )
        await Station.insert(station)
    return {"id": station.id, "name": name, "kind": kind, "area_type": area_type}


async def find_station(name_or_id: str) -> dict[str, Any]:
    """A station by id, or by its exact name."""
    rows = await Station.select().where(
        (Station.id == name_or_id) | (Station.name == name_or_id.strip())
    )
    if not rows:
        raise NotFound(f"no station with id or name {name_or_id!r}")
    if len(rows) > 1:
        raise StateConflict(f"several stations are named {name_or_id!r}; use the id")
    return dict(rows[0])


async def add_user(
    *,
    username: str,
    password: str,
    role: str,
    station: str | None = None,
    name: str | None = None,
    password_hash: str | None = None,
) -> dict[str, Any]:
    """Create an account. Field roles need a station; command-center roles may have one.
    `password_hash`: a hash already made of `password` (the demo's accounts share one
    password, so it hashes it once: argon2 takes ~0.3 s a hash here)."""
    username = username.strip().lower()
    if not username or len(username) > 64:
        raise BadRequest("a username has 1 to 64 characters")
    check_new_password(password)
    if role not in ALL_ROLES:
        raise BadRequest(f"role must be one of {', '.join(ALL_ROLES)}")
    station_row = await find_station(station) if station else None
    if station_row is None and role not in COMMAND_ROLES:
        raise BadRequest(f"a {role} belongs to a station: pass --station")
    bureau_id = station_row["bureau"] if station_row else await ensure_bureau()
    if password_hash is None:
        password_hash = await anyio.to_thread.run_sync(hash_password, password)
    async with write_transaction():
        if await Person.exists().where(Person.username == username):
            raise StateConflict(f"username {username!r} is taken", code="name_taken")
        person = Person(
            id=new_id(),
            bureau=bureau_id,
            station=station_row["id"] if station_row else None,
            username=username,
            name=name or username,
            role=role,
            password_hash=password_hash,
            active=True,
            created_at=utcnow(),
        )
        await Person.insert(person)
    return {
        "id": person.id,
        "username": username,
        "name": person.name,
        "role": role,
        "station_id": person.station,
    }


async def all_devices() -> list[dict[str, Any]]:
    return list(
        await Device.select(
            Device.id,
            Device.label,
            Device.person.username.as_alias("username"),
            Device.created_at,
            Device.last_seen_at,
            Device.revoked_at,
        ).order_by(Device.created_at)
    )


async def revoke_device_by_id(device_id: str) -> dict[str, Any]:
    if not await Device.exists().where(Device.id == device_id):
        raise NotFound(f"no device {device_id!r}")
    await mark_revoked(device_id)
    return await device_view(device_id)


async def deactivate_user(username: str) -> dict[str, Any]:
    """Deactivate an account (it can no longer sign in, and its tokens stop working at
    once) and revoke its devices; audited. Its record stays: nothing is deleted."""
    username = username.strip().lower()
    async with write_transaction():
        person = (
            await Person.select(Person.id, Person.active).where(Person.username == username).first()
        )
        if person is None:
            raise NotFound(f"no account {username!r}")
        await Person.update({Person.active: False}).where(Person.id == person["id"])
        await audit.append(
            audit.PERSON_DEACTIVATED,
            subject=person["id"],
            detail={"username": username, "was_active": person["active"], "from": "cli"},
        )
    devices = await Device.select(Device.id).where(
        (Device.person == person["id"]) & Device.revoked_at.is_null()
    )
    for device in devices:
        await mark_revoked(device["id"])
    return {
        "id": person["id"],
        "username": username,
        "active": False,
        "devices_revoked": len(devices),
    }
