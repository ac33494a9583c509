"""GET /api/people: whom a dispatcher can send, within the caller's scope."""

from __future__ import annotations

from server.core.tables import Person
from tests.server.conftest import PEOPLE, Bureau


async def test_the_command_center_sees_every_active_person_of_the_bureau(bureau: Bureau) -> None:
    await Person.update({Person.active: False}).where(Person.id == bureau.people["officer_a2"])
    r = await bureau.call("dispatcher", "GET", "/api/people")
    assert r.status_code == 200, r.text
    people = r.json()
    assert {p["id"] for p in people} == {
        bureau.people[u] for u, _, _ in PEOPLE if u != "officer_a2"
    }
    officer = next(p for p in people if p["id"] == bureau.people["officer_a"])
    assert officer == {
        "id": bureau.people["officer_a"],
        "name": "officer_a",
        "role": "officer",
        "station_id": bureau.stations["a"],
    }


async def test_a_station_filter_lists_that_station_only(bureau: Bureau) -> None:
    r = await bureau.call(
        "supervisor", "GET", "/api/people", params={"station_id": bureau.stations["b"]}
    )
    assert r.status_code == 200, r.text
    assert sorted(p["name"] for p in r.json()) == ["chief_b", "grid_b", "officer_b"]
    assert {p["station_id"] for p in r.json()} == {bureau.stations["b"]}


async def test_an_unknown_station_is_not_found(bureau: Bureau) -> None:
    r = await bureau.call("dispatcher", "GET", "/api/people", params={"station_id": "nope"})
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


async def test_a_field_role_sees_its_own_station_only(bureau: Bureau) -> None:
    r = await bureau.call("officer_b", "GET", "/api/people")
    assert r.status_code == 200, r.text
    assert sorted(p["name"] for p in r.json()) == ["chief_b", "grid_b", "officer_b"]
    # Another station is out of scope: answered like one that does not exist.
    r = await bureau.call(
        "officer_b", "GET", "/api/people", params={"station_id": bureau.stations["a"]}
    )
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


async def test_people_need_a_token(bureau: Bureau) -> None:
    r = await bureau.client.get("/api/people")
    assert r.status_code == 401
