"""Sign-in, tokens, revocation and the failed-login throttle (PROTOCOL §1)."""

from __future__ import annotations

import hashlib

from server.core.tables import Device, Person
from tests.server.conftest import PASSWORD, Bureau


async def test_login_returns_a_device_bound_token_stored_only_as_a_hash(bureau: Bureau) -> None:
    r = await bureau.client.post(
        "/api/auth/login",
        json={
            "username": "officer_a",
            "password": PASSWORD,
            "device": {"id": "phone-1", "label": "甲"},
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["device_id"] == "phone-1"
    assert body["person"] == {
        "id": bureau.people["officer_a"],
        "name": "officer_a",
        "role": "officer",
        "station_id": bureau.stations["a"],
    }
    assert body["server_time"].endswith(("Z", "+00:00"))
    row = await Device.select().where(Device.id == "phone-1").first()
    assert row["person"] == bureau.people["officer_a"]
    assert body["token"] not in str(row)
    assert row["token_hash"] == hashlib.sha256(body["token"].encode()).hexdigest()
    # And the token works.
    r = await bureau.client.get(
        "/api/stations", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert r.status_code == 200


async def test_passwords_are_hashed_with_argon2(bureau: Bureau) -> None:
    from server.services.admin import add_user

    await add_user(
        username="New.User", password="long-enough-pw", role="officer", station="甲派出所"
    )
    row = await Person.select().where(Person.username == "new.user").first()
    assert row["password_hash"].startswith("$argon2id$")
    assert "long-enough-pw" not in row["password_hash"]
    r = await bureau.client.post(
        "/api/auth/login", json={"username": "new.user", "password": "long-enough-pw"}
    )
    assert r.status_code == 200, r.text


async def test_wrong_password_and_unknown_user_get_401(bureau: Bureau) -> None:
    for username, password in [("officer_a", "nope-nope"), ("nobody", PASSWORD)]:
        r = await bureau.client.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        assert r.status_code == 401
        assert r.json() == {"code": "invalid_credentials", "message": "wrong username or password"}


async def test_five_failures_throttle_that_account_from_that_address(bureau: Bureau) -> None:
    c = bureau.client
    for _ in range(5):
        r = await c.post("/api/auth/login", json={"username": "officer_a", "password": "guess"})
        assert r.status_code == 401
    # Even the right password is refused while the account is throttled from here, until
    # the oldest of the five failures is 15 minutes old.
    r = await c.post("/api/auth/login", json={"username": "officer_a", "password": PASSWORD})
    assert r.status_code == 429
    assert r.json()["code"] == "too_many_attempts"
    assert 880 <= int(r.headers["retry-after"]) <= 900
    # Another account is not affected (its owner signing in from another address is
    # not either: tests/server/test_login_limits.py, over real sockets).
    r = await c.post("/api/auth/login", json={"username": "officer_b", "password": PASSWORD})
    assert r.status_code == 200


async def test_unknown_and_missing_tokens_get_401(bureau: Bureau) -> None:
    c = bureau.client
    for headers in [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}]:
        r = await c.get("/api/incidents", headers=headers)
        assert r.status_code == 401
        assert r.json()["code"] == "unauthenticated"


async def test_revoked_device_token_gets_401(bureau: Bureau) -> None:
    token = await bureau.login("officer_a", device_id="lost-phone")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await bureau.client.get("/api/stations", headers=headers)).status_code == 200
    r = await bureau.call("chief_a", "POST", "/api/devices/lost-phone/revoke")
    assert r.status_code == 200, r.text
    assert r.json()["revoked_at"] is not None
    r = await bureau.client.get("/api/stations", headers=headers)
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"
    # The revoked id cannot be re-enrolled; a new id can.
    r = await bureau.client.post(
        "/api/auth/login",
        json={"username": "officer_a", "password": PASSWORD, "device": {"id": "lost-phone"}},
    )
    assert r.status_code == 403
    assert r.json()["code"] == "device_revoked"
    await bureau.login("officer_a", device_id="new-phone")


async def test_who_may_revoke_a_device(bureau: Bureau) -> None:
    await bureau.login("officer_a", device_id="phone-a")
    # Another officer, and the chief of another station, may not.
    r = await bureau.call("officer_a2", "POST", "/api/devices/phone-a/revoke")
    assert r.status_code == 403
    r = await bureau.call("chief_b", "POST", "/api/devices/phone-a/revoke")
    assert r.status_code == 403
    r = await bureau.call("dispatcher", "POST", "/api/devices/phone-a/revoke")
    assert r.status_code == 403
    r = await bureau.call("officer_a", "POST", "/api/devices/no-such-phone/revoke")
    assert r.status_code == 404
    # An admin may; revoking twice is harmless.
    r = await bureau.call("admin", "POST", "/api/devices/phone-a/revoke")
    assert r.status_code == 200
    r = await bureau.call("admin", "POST", "/api/devices/phone-a/revoke")
    assert r.status_code == 200


async def test_a_person_may_revoke_their_own_device(bureau: Bureau) -> None:
    token = await bureau.login("officer_b", device_id="my-phone")
    headers = {"Authorization": f"Bearer {token}"}
    r = await bureau.client.post("/api/devices/my-phone/revoke", headers=headers)
    assert r.status_code == 200
    assert (await bureau.client.get("/api/stations", headers=headers)).status_code == 401


async def test_logging_in_again_rotates_the_token(bureau: Bureau) -> None:
    first = await bureau.login("officer_a", device_id="phone-1")
    second = await bureau.login("officer_a", device_id="phone-1")
    assert first != second
    r = await bureau.client.get("/api/stations", headers={"Authorization": f"Bearer {first}"})
    assert r.status_code == 401
    r = await bureau.client.get("/api/stations", headers={"Authorization": f"Bearer {second}"})
    assert r.status_code == 200


async def test_a_device_id_belongs_to_one_person(bureau: Bureau) -> None:
    await bureau.login("officer_a", device_id="shared")
    r = await bureau.client.post(
        "/api/auth/login",
        json={"username": "officer_a2", "password": PASSWORD, "device": {"id": "shared"}},
    )
    assert r.status_code == 409
    assert r.json()["code"] == "device_in_use"


async def test_device_list_is_scoped(bureau: Bureau) -> None:
    await bureau.login("officer_a", device_id="pa")
    await bureau.login("officer_b", device_id="pb")
    seen = {d["id"] for d in (await bureau.call("chief_a", "GET", "/api/devices")).json()}
    assert "pa" in seen and "pb" not in seen
    seen = {d["id"] for d in (await bureau.call("officer_b", "GET", "/api/devices")).json()}
    assert "pb" in seen and "pa" not in seen
    seen = {d["id"] for d in (await bureau.call("admin", "GET", "/api/devices")).json()}
    assert {"pa", "pb"} <= seen
