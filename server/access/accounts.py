"""People, devices and their credentials.

Passwords are hashed with argon2; device tokens are 32 random bytes, shown once at
login and stored only as their SHA-256 (a token has full entropy, so a fast hash is
the right one, and it lets a request find its device by an index look-up).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.access import login_limits
from server.core import announce, audit
from server.core.clock import as_utc, utcnow
from server.core.config import Settings
from server.core.db import after_commit, write_transaction
from server.core.errors import Forbidden, NotFound, StateConflict, Unauthenticated, Unavailable
from server.core.ids import new_id
from server.core.tables import Device, Person
from sync.messages import COMMAND_ROLES, LoginRequest

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both failures take as long.
_DUMMY_HASH = _hasher.hash("qingling-no-such-user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who is asking: the person behind a device token."""

    person_id: str
    name: str
    role: str
    station_id: str | None
    bureau_id: str
    device_id: str

    @property
    def is_command(self) -> bool:
        return self.role in COMMAND_ROLES


def session_end(
    *,
    token_issued_at: datetime | None,
    token_ended_at: datetime | None,
    last_seen_at: datetime | None,
    now: datetime,
    settings: Settings,
) -> str | None:
    """Why a device's session is over (a message), or None while it runs.

    A session ends when its device signs out, `session_max_days` after sign-in, or after
    `session_idle_hours` unused. last_seen_at is written at most once per
    `last_seen_resolution_s`, so it may lag the last use by that much: idle expiry
    allows it on top, and a token is never ended early, at most that much late.
    """
    if token_ended_at is not None:
        return "this session was signed out; sign in again"
    if token_issued_at is not None and now - as_utc(token_issued_at) > timedelta(
        days=settings.session_max_days
    ):
        return f"this session is older than {settings.session_max_days:g} days; sign in again"
    last_use = last_seen_at or token_issued_at
    if last_use is not None and now - as_utc(last_use) > timedelta(
        hours=settings.session_idle_hours, seconds=settings.last_seen_resolution_s
    ):
        return (
            f"this session was unused for over {settings.session_idle_hours:g} hours; sign in again"
        )
    return None


async def caller_for_token(token: str, settings: Settings) -> Caller:
    """The caller a bearer token belongs to; Unauthenticated if unknown or revoked,
    `token_expired` if its session has ended (signed out, too old, or idle)."""
    if not token or len(token) > 200:
        raise Unauthenticated("missing or unknown token")
    # One raw statement: this runs on every request, and Piccolo's builder for a join
    # cost more than the query itself.
    rows = await Device.raw(
        "SELECT d.id, d.revoked_at, d.last_seen_at, d.token_issued_at, d.token_ended_at,"
        " p.id AS person_id, p.name, p.role, p.station, p.bureau, p.active"
        " FROM device d JOIN person p ON p.id = d.person WHERE d.token_hash = {}",
        hash_token(token),
    )
    row = rows[0] if rows else None
    if row is None or row["revoked_at"] is not None:
        raise Unauthenticated("missing, unknown or revoked token")
    if not row["active"]:
        raise Unauthenticated("this account is disabled")
    now = utcnow()
    ended = session_end(
        token_issued_at=row["token_issued_at"],
        token_ended_at=row["token_ended_at"],
        last_seen_at=row["last_seen_at"],
        now=now,
        settings=settings,
    )
    if ended is not None:
        raise Unauthenticated(ended, code="token_expired")
    last_seen = row["last_seen_at"]
    if last_seen is None or now - as_utc(last_seen) > timedelta(
        seconds=settings.last_seen_resolution_s
    ):
        await touch_device(row["id"], now)
    return Caller(
        person_id=row["person_id"],
        name=row["name"],
        role=row["role"],
        station_id=row["station"],
        bureau_id=row["bureau"],
        device_id=row["id"],
    )


async def touch_device(device_id: str, now: datetime) -> None:
    """The device's token was used now (its session's idle clock restarts)."""
    await Device.update({Device.last_seen_at: now}).where(Device.id == device_id)


async def session_state(device_id: str, settings: Settings) -> str | None:
    """Why this device's socket must close (revoked, or its session ended), or None."""
    row = (
        await Device.select(
            Device.revoked_at, Device.token_issued_at, Device.token_ended_at, Device.last_seen_at
        )
        .where(Device.id == device_id)
        .first()
    )
    if row is None or row["revoked_at"] is not None:
        return "this device was revoked"
    return session_end(
        token_issued_at=row["token_issued_at"],
        token_ended_at=row["token_ended_at"],
        last_seen_at=row["last_seen_at"],
        now=utcnow(),
        settings=settings,
    )


async def ended_sessions(device_ids: list[str], settings: Settings) -> list[str]:
    """Of these devices, those revoked or whose session has ended (the live hub's check)."""
    rows = await Device.select(
        Device.id,
        Device.revoked_at,
        Device.token_issued_at,
        Device.token_ended_at,
        Device.last_seen_at,
    ).where(Device.id.is_in(device_ids))
    now = utcnow()
    return [
        row["id"]
        for row in rows
        if row["revoked_at"] is not None
        or session_end(
            token_issued_at=row["token_issued_at"],
            token_ended_at=row["token_ended_at"],
            last_seen_at=row["last_seen_at"],
            now=now,
            settings=settings,
        )
        is not None
    ]


def _check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Login:
    token: str
    device_id: str
    person: dict[str, object]


async def login(request: LoginRequest, settings: Settings, address: str) -> Login:
    """Check a password and enrol (or re-enrol) the device, issuing a fresh token.

    `address` is the client's (server/http/peer.py); the sign-in limits count failures
    per account and address and per address (server/access/login_limits.py), and the
    password is checked on a bounded pool. A device id already enrolled by another
    person is refused (`device_in_use`): ops are numbered per device, so two people
    cannot share one. A revoked device id stays revoked (`device_revoked`): the phone
    must enrol under a new id.
    """
    username = request.username.strip().lower()
    address = address[:64]
    if login_limits.hash_pool(settings).full(address):
        raise login_limits.busy()
    await login_limits.screen(username, address, settings)
    # Shielded: once a place is reserved the attempt is checked and settled even if the
    # client goes away (an unsettled attempt would count as a failure).
    return await asyncio.shield(_attempt(request, username, address, settings))


async def _attempt(request: LoginRequest, username: str, address: str, settings: Settings) -> Login:
    pool = login_limits.hash_pool(settings)
    with pool.admit(address):
        attempt_id = await login_limits.reserve(username, address, settings)
        person = await Person.select().where(Person.username == username).first()
        password_hash = person["password_hash"] if person else _DUMMY_HASH
        try:
            ok = await pool.check(
                lambda: _check_password(password_hash, request.password),
                settings.login_hash_wait_s,
            )
        except Unavailable:
            await login_limits.withdraw(attempt_id, settings)
            raise
        reason = (
            "unknown_username"
            if person is None
            else "wrong_password"
            if not ok
            else "account_disabled"
            if not person["active"]
            else ""
        )
        ok = ok and person is not None and bool(person["active"])
        failure = audit.Act(
            audit.SIGN_IN_FAILED,
            person["id"] if person else None,
            None,
            username,
            {"reason": reason, "address": address},
        )
        await login_limits.settle(attempt_id, ok, settings, failure=failure)
        if not ok or person is None:
            raise Unauthenticated("wrong username or password", code="invalid_credentials")
        new_hash = None
        if _hasher.check_needs_rehash(person["password_hash"]):
            new_hash = await pool.check(
                lambda: hash_password(request.password), settings.login_hash_wait_s
            )
    return await _enrol(request, person, new_hash, settings)


async def _enrol(
    request: LoginRequest, person: dict[str, Any], new_hash: str | None, settings: Settings
) -> Login:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    device_id = request.device.id or new_id()
    label = request.device.label or ""
    async with write_transaction(wait_s=settings.login_db_wait_s):
        if new_hash is not None:
            await Person.update({Person.password_hash: new_hash}).where(Person.id == person["id"])
        device = await Device.select().where(Device.id == device_id).first()
        if device is None:
            await Device.insert(
                Device(
                    id=device_id,
                    person=person["id"],
                    label=label,
                    token_hash=hash_token(token),
                    created_at=now,
                    token_issued_at=now,
                    last_seen_at=now,
                )
            )
        elif device["person"] != person["id"]:
            raise StateConflict(
                "this device id is enrolled by another person; enrol under a new device id",
                code="device_in_use",
            )
        elif device["revoked_at"] is not None:
            raise Forbidden(
                "this device was revoked; enrol under a new device id", code="device_revoked"
            )
        else:
            # A new token for the same device: its seq and acked_seq go on.
            await Device.update(
                {
                    Device.token_hash: hash_token(token),
                    Device.token_issued_at: now,
                    Device.token_ended_at: None,
                    Device.last_seen_at: now,
                    Device.label: label or device["label"],
                }
            ).where(Device.id == device_id)
        await audit.append(
            audit.SIGN_IN,
            actor=person["id"],
            device=device_id,
            subject=person["username"],
            detail={"label": label},
        )
    return Login(
        token=token,
        device_id=device_id,
        person={
            "id": person["id"],
            "name": person["name"],
            "role": person["role"],
            "station_id": person["station"],
        },
    )


async def end_session(caller: Caller) -> datetime:
    """Sign out: the caller's token stops working (401 `token_expired`) and, once
    committed, the device's open WebSockets are closed (4401). The device itself stays
    enrolled: it signs in again under the same id and its seq goes on."""
    now = utcnow()
    async with write_transaction():
        await Device.update({Device.token_ended_at: now}).where(
            (Device.id == caller.device_id) & Device.token_ended_at.is_null()
        )
        await audit.append(
            audit.SIGN_OUT,
            actor=caller.person_id,
            device=caller.device_id,
            subject=caller.device_id,
        )
        after_commit(lambda: announce.session_ended(caller.device_id))
    return now


async def revoke_device(caller: Caller, device_id: str) -> dict[str, object]:
    """Revoke a device's token: an admin for any device of the bureau, a station chief
    for their station's devices, anyone for their own devices."""
    row = await (
        Device.select(
            Device.id,
            Device.label,
            Device.revoked_at,
            Device.person.id,
            Device.person.station,
            Device.person.bureau,
        )
        .where(Device.id == device_id)
        .first()
    )
    if row is None or row["person.bureau"] != caller.bureau_id:
        raise NotFound(f"no device {device_id!r} in your bureau")
    own = row["person.id"] == caller.person_id
    chief = caller.role == "station_chief" and row["person.station"] == caller.station_id
    if not (own or chief or caller.role == "admin"):
        raise Forbidden("only an admin, the station chief, or its owner may revoke this device")
    await mark_revoked(device_id, by=caller)
    return await device_view(device_id)


async def mark_revoked(device_id: str, *, by: Caller | None = None) -> None:
    """Revoke a device's token (idempotent): the hash is dropped, so it can never match,
    and once committed its open WebSockets are closed (4401) by every live hub. Audited,
    with `by` as the actor (None: from the command line)."""
    async with write_transaction():
        row = (
            await Device.select(Device.person, Device.revoked_at)
            .where(Device.id == device_id)
            .first()
        )
        await Device.update({Device.revoked_at: utcnow(), Device.token_hash: None}).where(
            (Device.id == device_id) & Device.revoked_at.is_null()
        )
        await audit.append(
            audit.DEVICE_REVOKED,
            actor=by.person_id if by else None,
            device=by.device_id if by else None,
            subject=device_id,
            detail={
                "owner": row["person"] if row else None,
                "already_revoked": bool(row and row["revoked_at"] is not None),
                "from": "api" if by else "cli",
            },
        )
        after_commit(lambda: announce.device_revoked(device_id))


def _device_columns() -> tuple[Any, ...]:
    """What a device looks like to callers (fresh column objects: aliases are per query)."""
    return (
        Device.id,
        Device.label,
        Device.person.id.as_alias("person_id"),
        Device.person.name.as_alias("person_name"),
        Device.created_at,
        Device.last_seen_at,
        Device.revoked_at,
    )


async def device_view(device_id: str) -> dict[str, object]:
    row = await Device.select(*_device_columns()).where(Device.id == device_id).first()
    assert row is not None
    return dict(row)


async def list_devices(caller: Caller) -> list[dict[str, object]]:
    """Devices the caller may see: bureau (admin, supervisor, dispatcher), station
    (station chief), or their own."""
    query = Device.select(*_device_columns()).where(Device.person.bureau == caller.bureau_id)
    if caller.role == "station_chief":
        query = query.where(Device.person.station == caller.station_id)
    elif not caller.is_command:
        query = query.where(Device.person.id == caller.person_id)
    return list(await query.order_by(Device.created_at))
