"""People, devices and their credentials.

Passwords are hashed with argon2; device tokens are 32 random bytes, shown once at
login and stored only as their SHA-256 (a token has full entropy, so a fast hash is
the right one, and it lets a request find its device by an index look-up).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.core import announce, audit
from server.core.clock import as_utc, utcnow
from server.core.config import Settings
from server.core.db import after_commit, write_transaction
from server.core.errors import Forbidden, NotFound, StateConflict, Throttled, Unauthenticated
from server.core.ids import new_id
from server.core.tables import Device, LoginThrottle, Person
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


async def caller_for_token(token: str, settings: Settings) -> Caller:
    """The caller a bearer token belongs to; Unauthenticated if unknown or revoked."""
    if not token or len(token) > 200:
        raise Unauthenticated("missing or unknown token")
    # One raw statement: this runs on every request, and Piccolo's builder for a join
    # cost more than the query itself.
    rows = await Device.raw(
        "SELECT d.id, d.revoked_at, d.last_seen_at, p.id AS person_id, p.name, p.role,"
        " p.station, p.bureau, p.active FROM device d JOIN person p ON p.id = d.person"
        " WHERE d.token_hash = {}",
        hash_token(token),
    )
    row = rows[0] if rows else None
    if row is None or row["revoked_at"] is not None:
        raise Unauthenticated("missing, unknown or revoked token")
    if not row["active"]:
        raise Unauthenticated("this account is disabled")
    now = utcnow()
    last_seen = row["last_seen_at"]
    if last_seen is None or now - as_utc(last_seen) > timedelta(
        seconds=settings.last_seen_resolution_s
    ):
        await Device.update({Device.last_seen_at: now}).where(Device.id == row["id"])
    return Caller(
        person_id=row["person_id"],
        name=row["name"],
        role=row["role"],
        station_id=row["station"],
        bureau_id=row["bureau"],
        device_id=row["id"],
    )


async def _verify(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


async def _check_throttle(username: str) -> None:
    row = await LoginThrottle.select().where(LoginThrottle.username == username).first()
    if row is None or row["locked_until"] is None:
        return
    remaining = (as_utc(row["locked_until"]) - utcnow()).total_seconds()
    if remaining > 0:
        raise Throttled(
            "too many wrong passwords for this account; try again later",
            retry_after_s=int(remaining) + 1,
        )


async def _record_failure(
    username: str, settings: Settings, *, person_id: str | None = None, reason: str = ""
) -> None:
    now = utcnow()
    async with write_transaction():
        await audit.append(
            audit.SIGN_IN_FAILED, actor=person_id, subject=username, detail={"reason": reason}
        )
        row = await LoginThrottle.select().where(LoginThrottle.username == username).first()
        failures = 1
        if row is not None:
            last = row["last_failure_at"]
            recent = last is not None and now - as_utc(last) <= timedelta(
                seconds=settings.login_failure_window_s
            )
            lock_over = row["locked_until"] is not None and as_utc(row["locked_until"]) <= now
            failures = 1 if (not recent or lock_over) else row["failures"] + 1
        locked_until = (
            now + timedelta(seconds=settings.login_lockout_s)
            if failures >= settings.login_max_failures
            else None
        )
        values: dict[Any, Any] = {
            LoginThrottle.failures: failures,
            LoginThrottle.last_failure_at: now,
            LoginThrottle.locked_until: locked_until,
        }
        if row is None:
            await LoginThrottle.insert(
                LoginThrottle(
                    username=username,
                    failures=failures,
                    last_failure_at=now,
                    locked_until=locked_until,
                )
            )
        else:
            await LoginThrottle.update(values).where(LoginThrottle.username == username)


@dataclass(frozen=True)
class Login:
    token: str
    device_id: str
    person: dict[str, object]


async def login(request: LoginRequest, settings: Settings) -> Login:
    """Check a password and enrol (or re-enrol) the device, issuing a fresh token.

    A device id already enrolled by another person is refused (`device_in_use`): ops
    are numbered per device, so two people cannot share one. A revoked device id stays
    revoked (`device_revoked`): the phone must enrol under a new id.
    """
    username = request.username.strip().lower()
    await _check_throttle(username)
    person = await Person.select().where(Person.username == username).first()
    ok = await _verify(person["password_hash"] if person else _DUMMY_HASH, request.password)
    if person is None or not ok or not person["active"]:
        reason = (
            "unknown_username"
            if person is None
            else "wrong_password"
            if not ok
            else "account_disabled"
        )
        await _record_failure(
            username, settings, person_id=person["id"] if person else None, reason=reason
        )
        raise Unauthenticated("wrong username or password", code="invalid_credentials")

    token = secrets.token_urlsafe(32)
    now = utcnow()
    device_id = request.device.id or new_id()
    label = request.device.label or ""
    async with write_transaction():
        await LoginThrottle.delete().where(LoginThrottle.username == username)
        if _hasher.check_needs_rehash(person["password_hash"]):
            await Person.update({Person.password_hash: hash_password(request.password)}).where(
                Person.id == person["id"]
            )
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
            await Device.update(
                {
                    Device.token_hash: hash_token(token),
                    Device.token_issued_at: now,
                    Device.last_seen_at: now,
                    Device.label: label or device["label"],
                }
            ).where(Device.id == device_id)
        await audit.append(
            audit.SIGN_IN,
            actor=person["id"],
            device=device_id,
            subject=username,
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
