"""Sessions that end (PROTOCOL §12): sign-out, idle and absolute expiry, in process
with a ManualClock. Sockets closing on sign-out and expiry, over a real server process,
are in tests/server/test_login_flood.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.access.accounts import ended_sessions
from server.core.clock import ManualClock
from server.core.config import Settings
from server.core.tables import Device
from tests.conftest import TEST_DATABASE_URL
from tests.server.conftest import Bureau
from tests.server.phone import Phone

START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(clock: ManualClock) -> Settings:
    return Settings(database_url=TEST_DATABASE_URL, clock=clock)


async def status_of(bureau: Bureau, token: str) -> tuple[int, str | None]:
    r = await bureau.client.get("/api/stations", headers={"Authorization": f"Bearer {token}"})
    return r.status_code, (r.json().get("code") if r.status_code != 200 else None)


async def test_logout_ends_the_token_not_the_device(bureau: Bureau, clock: ManualClock) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in("phone-1")
    other = await Phone(bureau, "officer_a").sign_in("phone-2")
    out = await phone.push([phone.op("note", incident["id"]), phone.op("note", incident["id"])])
    assert out["acked_seq"] == 2
    before = await Device.select().where(Device.id == "phone-1").first()

    clock.advance(timedelta(minutes=5))
    r = await bureau.client.post("/api/auth/logout", headers=phone.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"device_id": "phone-1", "signed_out_at": "2026-11-30T02:05:00Z"}
    # The token is over: every call, a second logout and a push included.
    assert await status_of(bureau, phone.token) == (401, "token_expired")
    r = await bureau.client.post("/api/auth/logout", headers=phone.headers)
    assert r.status_code == 401 and r.json()["code"] == "token_expired"
    await phone.push([phone.op("note", incident["id"])], expect=401)
    phone.seq -= 1  # that op was never taken: the phone still holds it
    # The person's other device goes on.
    assert await status_of(bureau, other.token) == (200, None)

    # The same device signs in again: a new token, the same device, its seq going on.
    old_token = phone.token
    await phone.sign_in("phone-1")
    assert phone.token != old_token
    assert await status_of(bureau, phone.token) == (200, None)
    out = await phone.push([phone.op("note", incident["id"])])
    assert out["results"][0]["status"] == "applied"
    assert out["acked_seq"] == 3
    after = await Device.select().where(Device.id == "phone-1").first()
    assert after["revoked_at"] is None and after["token_ended_at"] is None
    assert after["created_at"] == before["created_at"] and after["label"] == before["label"]
    assert after["person"] == before["person"]
    # The ended token stays ended after the new sign-in (now simply unknown).
    assert (await status_of(bureau, old_token))[0] == 401


async def test_logout_needs_a_valid_token_and_nothing_else(bureau: Bureau) -> None:
    for headers in [{}, {"Authorization": "Bearer nonsense"}]:
        r = await bureau.client.post("/api/auth/logout", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    # It takes no body: one sent, even a malformed one, is ignored.
    phone = await Phone(bureau, "officer_a").sign_in()
    r = await bureau.client.post(
        "/api/auth/logout",
        content=b'{"not json',
        headers={**phone.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert await status_of(bureau, phone.token) == (401, "token_expired")


async def test_a_token_unused_for_the_idle_time_expires(
    bureau: Bureau, clock: ManualClock, settings: Settings
) -> None:
    assert settings.session_idle_hours == 12 and settings.last_seen_resolution_s == 60
    phone = await Phone(bureau, "officer_a").sign_in()
    # Used 30 s after sign-in: within the resolution, so last_seen_at is not rewritten.
    clock.advance(timedelta(seconds=30))
    assert await status_of(bureau, phone.token) == (200, None)
    stored = await Device.select(Device.last_seen_at).where(Device.id == phone.device_id).first()
    assert stored["last_seen_at"] is not None
    # 12 h after that last use, less a second: still good (never ended early) ...
    clock.advance(timedelta(hours=12) - timedelta(seconds=1))
    assert await status_of(bureau, phone.token) == (200, None)
    # ... and that use restarted the idle clock: 11 h 59 min on, good again.
    clock.advance(timedelta(hours=11, minutes=59))
    assert await status_of(bureau, phone.token) == (200, None)
    # Unused for 12 h and a resolution more: expired.
    clock.advance(timedelta(hours=12, seconds=61))
    assert await status_of(bureau, phone.token) == (401, "token_expired")
    # The device signs in again and goes on.
    device_id = phone.device_id
    await phone.sign_in(device_id)
    assert await status_of(bureau, phone.token) == (200, None)


async def test_fractional_idle_hours(bureau: Bureau, clock: ManualClock, client) -> None:
    phone = await Phone(bureau, "officer_a").sign_in()
    short = Settings(database_url=TEST_DATABASE_URL, clock=clock, session_idle_hours=0.25)
    clock.advance(timedelta(minutes=15, seconds=30))
    assert await ended_sessions([phone.device_id], short) == []
    clock.advance(timedelta(seconds=31))
    assert await ended_sessions([phone.device_id], short) == [phone.device_id]


async def test_a_token_expires_after_the_maximum_age_however_busy(
    bureau: Bureau, clock: ManualClock, settings: Settings
) -> None:
    assert settings.session_max_days == 30
    phone = await Phone(bureau, "officer_a").sign_in()
    # Used every 11 hours for 30 days: never idle.
    used = timedelta(0)
    while used + timedelta(hours=11) < timedelta(days=30):
        clock.advance(timedelta(hours=11))
        used += timedelta(hours=11)
        assert await status_of(bureau, phone.token) == (200, None), used
    clock.set(START + timedelta(days=30, seconds=1))
    assert await status_of(bureau, phone.token) == (401, "token_expired")
    assert await ended_sessions([phone.device_id], settings) == [phone.device_id]
    await phone.sign_in(phone.device_id)
    assert await status_of(bureau, phone.token) == (200, None)
    assert await ended_sessions([phone.device_id], settings) == []


async def test_a_revoked_device_is_not_merely_expired(bureau: Bureau) -> None:
    phone = await Phone(bureau, "officer_a").sign_in()
    r = await bureau.client.post(f"/api/devices/{phone.device_id}/revoke", headers=phone.headers)
    assert r.status_code == 200
    assert await status_of(bureau, phone.token) == (401, "unauthenticated")
