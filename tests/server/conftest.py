"""A small bureau to test against: two stations and a person in every role.

People are inserted directly with one precomputed argon2 hash (hashing costs ~50 ms
each); login itself still verifies with argon2.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from server.access.accounts import hash_password
from server.app import create_app
from server.core.clock import utcnow
from server.core.config import Settings
from server.core.ids import new_id
from server.core.tables import Person
from server.services.admin import add_station, ensure_bureau
from tests.conftest import TEST_DATABASE_URL

PASSWORD = "correct-horse-1"
_PASSWORD_HASH = hash_password(PASSWORD)


@dataclass
class Bureau:
    """Ids of the test bureau, and a signed-in client per person on demand."""

    client: AsyncTestClient[Any]
    bureau_id: str
    stations: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    async def login(self, username: str, device_id: str | None = None) -> str:
        device: dict[str, str] = {"label": f"{username}'s phone"}
        if device_id:
            device["id"] = device_id
        r = await self.client.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD, "device": device}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    async def auth(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            self.tokens[username] = await self.login(username)
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def call(self, username: str, method: str, path: str, **kwargs: Any):
        headers = await self.auth(username)
        r = await self.client.request(method, path, headers=headers, **kwargs)
        if r.status_code == 401 and r.json().get("code") == "token_expired":
            # As any client does when its session ends (tests that move the clock by
            # days outlive sessions, PROTOCOL §12): sign in again and repeat.
            del self.tokens[username]
            headers = await self.auth(username)
            r = await self.client.request(method, path, headers=headers, **kwargs)
        return r

    async def new_incident(self, area_type: str = "urban", **extra: Any) -> dict[str, Any]:
        body = {
            "category": "dispute",
            "area_type": area_type,
            "address": "人民路18号",
            "narrative": "邻里纠纷",
            **extra,
        }
        r = await self.call("dispatcher", "POST", "/api/incidents", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def dispatched_incident(
        self, station: str = "a", people: tuple[str, ...] = ("officer_a",), **extra: Any
    ) -> dict[str, Any]:
        incident = await self.new_incident(**extra)
        r = await self.call(
            "dispatcher",
            "POST",
            f"/api/incidents/{incident['id']}/dispatch",
            json={
                "station_id": self.stations[station],
                "person_ids": [self.people[p] for p in people],
            },
        )
        assert r.status_code == 200, r.text
        return dict(r.json())


PEOPLE = [
    ("admin", "admin", "command"),
    ("dispatcher", "dispatcher", "command"),
    ("supervisor", "supervisor", "command"),
    ("chief_a", "station_chief", "a"),
    ("chief_b", "station_chief", "b"),
    ("officer_a", "officer", "a"),
    ("officer_a2", "officer", "a"),
    ("officer_b", "officer", "b"),
    ("grid_b", "grid_worker", "b"),
    ("mediator_a", "mediator", "a"),
    ("agency_x", "agency", "agency"),
]


@pytest.fixture
def settings() -> Settings:
    return Settings(database_url=TEST_DATABASE_URL)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


@pytest.fixture
async def bureau(client: AsyncTestClient[Any]) -> Bureau:
    bureau_id = await ensure_bureau("测试分局")
    b = Bureau(client=client, bureau_id=bureau_id)
    b.stations["command"] = (await add_station("指挥中心", "urban", "command_center"))["id"]
    b.stations["a"] = (await add_station("甲派出所", "urban"))["id"]
    b.stations["b"] = (await add_station("乙派出所", "rural"))["id"]
    b.stations["agency"] = (await add_station("12345热线", "urban", "linked_agency"))["id"]
    for username, role, station in PEOPLE:
        person_id = new_id()
        await Person.insert(
            Person(
                id=person_id,
                bureau=bureau_id,
                station=b.stations[station],
                username=username,
                name=username,
                role=role,
                password_hash=_PASSWORD_HASH,
                active=True,
                created_at=utcnow(),
            )
        )
        b.people[username] = person_id
    return b
