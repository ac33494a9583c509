"""Non-police diversion to linked agencies (PROTOCOL §10), black-box over HTTP: duties by
admin only, the ranking, divert with the agency's clocks, acknowledgement and feedback
meeting them on effective time (skewed and late phones too), `returned` back to the
board, overdue agency clocks by the injected clock, field roles refused, and scope.
docs/diversion.md describes the flow."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from server.core.clock import SHANGHAI, ManualClock, utcnow
from server.core.config import Settings
from server.core.ids import new_id
from server.core.tables import Change, Person
from server.record.events import load_json
from server.services.admin import add_station
from tests.conftest import TEST_DATABASE_URL
from tests.server.board_rows import assert_board_matches_records
from tests.server.conftest import _PASSWORD_HASH, Bureau
from tests.server.phone import Phone

START = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
NARRATIVE = "小区门口自来水管爆裂，路面积水"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(clock: ManualClock) -> Settings:
    return Settings(database_url=TEST_DATABASE_URL, clock=clock, sla_scheduler_cap_s=600)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def add_person(bureau: Bureau, username: str, role: str, station: str) -> str:
    person_id = new_id()
    await Person.insert(
        Person(
            id=person_id,
            bureau=bureau.bureau_id,
            station=bureau.stations[station],
            username=username,
            name=username,
            role=role,
            password_hash=_PASSWORD_HASH,
            active=True,
            created_at=utcnow(),
        )
    )
    bureau.people[username] = person_id
    return person_id


@pytest.fixture
async def agencies(bureau: Bureau) -> Bureau:
    """A second agency (住建局) with two people; the hotline ("agency") gets a second."""
    bureau.stations["housing"] = (await add_station("住建局", "urban", "linked_agency"))["id"]
    await add_person(bureau, "housing_1", "agency", "housing")
    await add_person(bureau, "housing_2", "agency", "housing")
    await add_person(bureau, "agency_y", "agency", "agency")
    return bureau


async def set_duties(bureau: Bureau, station: str, **duties: Any) -> Any:
    return await bureau.call(
        "admin", "PUT", f"/api/agencies/{bureau.stations[station]}/duties", json=duties
    )


async def record(bureau: Bureau, incident_id: str, username: str = "dispatcher") -> Any:
    return await bureau.call(username, "GET", f"/api/incidents/{incident_id}")


async def divert(
    bureau: Bureau,
    incident_id: str,
    station: str = "housing",
    people: tuple[str, ...] = (),
    username: str = "dispatcher",
) -> Any:
    return await bureau.call(
        username,
        "POST",
        f"/api/incidents/{incident_id}/divert",
        json={
            "agency_id": bureau.stations[station],
            "person_ids": [bureau.people[p] for p in people],
            "instructions": "请住建局派人关阀抢修",
        },
    )


async def diverted(bureau: Bureau, station: str = "housing", **extra: Any) -> dict[str, Any]:
    incident = await bureau.new_incident(category="non_police", narrative=NARRATIVE, **extra)
    r = await divert(
        bureau, incident["id"], station, ("housing_1",) if station == "housing" else ()
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def push(
    bureau: Bureau,
    username: str,
    type: str,
    incident_id: str,
    body: dict[str, Any] | None = None,
    *,
    happened: datetime,
    sent: datetime,
    skew: timedelta = timedelta(0),
    offset_known: bool = True,
) -> dict[str, Any]:
    """An op recorded at `happened` (server time) on a phone `skew` off, pushed at `sent`."""
    phone = await Phone(bureau, username).sign_in()
    op = phone.op(
        type,
        incident_id,
        body if body is not None else {},
        device_time=happened + skew,
        clock_offset_ms=-int(skew.total_seconds() * 1000) if offset_known else None,
    )
    result = await phone.push([op], sent_at=sent + skew)
    return dict(result["results"][0])


def feedback(outcome: str, text: str = "已处理") -> dict[str, Any]:
    return {"outcome": outcome, "text": text, "attachments": []}


# ---------------------------------------------------------------------------------------
# Duties and the ranking


async def test_duties_are_set_by_an_admin_only(agencies: Bureau) -> None:
    r = await set_duties(
        agencies,
        "housing",
        keywords=["水管", "爆裂", "路面塌陷"],
        categories=["non_police"],
        ack_minutes=20,
        feedback_hours=12,
    )
    assert r.status_code == 200, r.text
    duties = r.json()
    assert duties["keywords"] == ["水管", "爆裂", "路面塌陷"]
    assert (duties["ack_minutes"], duties["feedback_hours"]) == (20, 12)
    assert duties["updated_by"] == agencies.people["admin"]
    for username in ("dispatcher", "supervisor", "chief_a", "officer_a", "agency_x"):
        r = await agencies.call(
            username,
            "PUT",
            f"/api/agencies/{agencies.stations['housing']}/duties",
            json={"keywords": ["x"]},
        )
        assert r.status_code == 403, (username, r.text)
    # A police station, a command center, an unknown id: not a linked agency.
    for station in ("a", "command"):
        assert (await set_duties(agencies, station, keywords=["x"])).status_code == 404
    r = await agencies.call("admin", "PUT", "/api/agencies/nope/duties", json={})
    assert r.status_code == 404


@pytest.mark.parametrize(
    "duties",
    [
        {"keywords": ["x" * 51]},
        {"keywords": ["k"] * 51},
        {"categories": ["fire"]},
        {"ack_minutes": 0},
        {"ack_minutes": 10081},
        {"feedback_hours": 0},
        {"feedback_hours": 8761},
        {"extra": 1},
    ],
)
async def test_duties_are_validated(agencies: Bureau, duties: dict[str, Any]) -> None:
    r = await set_duties(agencies, "housing", **duties)
    assert r.status_code in (400, 422), r.text
    assert set(r.json()) >= {"code", "message"}


async def test_agencies_ranked_by_matching_keywords(agencies: Bureau) -> None:
    agencies.stations["power"] = (await add_station("供电所", "urban", "linked_agency"))["id"]
    await set_duties(agencies, "housing", keywords=["水管", "爆裂", "塌陷"])
    await set_duties(agencies, "power", keywords=["停电", "电线", "水管"])
    r = await agencies.call(
        "dispatcher", "GET", "/api/agencies", params={"match": "人民路水管爆裂，家中停电"}
    )
    assert r.status_code == 200, r.text
    ranked = [(a["name"], a["score"]) for a in r.json()["agencies"]]
    # 住建局: 水管, 爆裂 = 2; 供电所: 停电, 水管 = 2 (a tie, by name in code-point order:
    # 住 U+4F4F before 供 U+4F9B); 12345热线 has no duties: 0, last.
    assert ranked == [("住建局", 2), ("供电所", 2), ("12345热线", 0)]
    hotline = r.json()["agencies"][-1]
    assert hotline["duties"] is None and hotline["station_id"] == agencies.stations["agency"]
    # Case-insensitive; without `match`, every score is 0 and the order is by name.
    await set_duties(agencies, "agency", keywords=["Hotline"])
    r = await agencies.call("supervisor", "GET", "/api/agencies", params={"match": "HOTLINE"})
    assert [(a["name"], a["score"]) for a in r.json()["agencies"]][0] == ("12345热线", 1)
    r = await agencies.call("admin", "GET", "/api/agencies")
    assert [a["score"] for a in r.json()["agencies"]] == [0, 0, 0]
    assert [a["name"] for a in r.json()["agencies"]] == sorted(["住建局", "供电所", "12345热线"])


@pytest.mark.parametrize("username", ["chief_a", "officer_a", "grid_b", "mediator_a", "agency_x"])
async def test_field_roles_are_refused(agencies: Bureau, username: str) -> None:
    assert (await agencies.call(username, "GET", "/api/agencies")).status_code == 403
    incident = await agencies.new_incident()
    assert (await divert(agencies, incident["id"], username=username)).status_code == 403


# ---------------------------------------------------------------------------------------
# Divert and the agency's clocks


async def test_divert_runs_the_agency_clocks_instead_of_arrival(
    agencies: Bureau, clock: ManualClock
) -> None:
    await set_duties(agencies, "housing", keywords=["水管"], ack_minutes=20, feedback_hours=12)
    incident = await diverted(agencies)
    now = clock.now()
    assert incident["status"] == "diverted"
    assert incident["station_id"] == agencies.stations["housing"]
    assert set(incident["clocks"]) == {"agency_ack", "agency_feedback", "clear"}
    assert at(incident["clocks"]["agency_ack"]["due_at"]) == now + timedelta(minutes=20)
    assert at(incident["clocks"]["agency_feedback"]["due_at"]) == now + timedelta(hours=12)
    assert incident["clocks"]["agency_ack"]["state"] == "running"
    d = incident["diversion"]
    assert d["agency_id"] == agencies.stations["housing"] and d["agency_name"] == "住建局"
    assert d["person_ids"] == [agencies.people["housing_1"]]
    assert d["instructions"] == "请住建局派人关阀抢修"
    assert at(d["diverted_at"]) == now
    assert d["acknowledged_at"] is None and d["feedback"] is None
    assert incident["diversions_returned"] == 0 and incident["returned_reason"] is None
    assert [a["person_id"] for a in incident["assignees"]] == [agencies.people["housing_1"]]
    full = (await record(agencies, incident["id"])).json()
    [act] = [t for t in full["timeline"] if t["type"] == "diverted"]
    assert act["detail"]["instructions"] == "请住建局派人关阀抢修"
    # On the board, and in the open list.
    r = await agencies.call("dispatcher", "GET", "/api/incidents", params={"status": "diverted"})
    assert [i["id"] for i in r.json()] == [incident["id"]]
    r = await agencies.call("dispatcher", "GET", "/api/incidents", params={"status": "open"})
    assert [i["id"] for i in r.json()] == [incident["id"]]
    board = (await agencies.call("dispatcher", "GET", "/api/board")).json()
    [shown] = [i for i in board["incidents"] if i["id"] == incident["id"]]
    assert shown["status"] == "diverted" and shown["diversion"]["agency_name"] == "住建局"
    assert shown["clocks"]["agency_ack"]["state"] == "running"
    await assert_board_matches_records(agencies)


async def test_defaults_without_duties(agencies: Bureau, clock: ManualClock) -> None:
    incident = await diverted(agencies, "agency")
    assert at(incident["clocks"]["agency_ack"]["due_at"]) == clock.now() + timedelta(minutes=30)
    assert at(incident["clocks"]["agency_feedback"]["due_at"]) == clock.now() + timedelta(hours=24)


async def test_divert_is_checked(agencies: Bureau) -> None:
    incident = await agencies.new_incident()
    for station in ("a", "command"):
        r = await divert(agencies, incident["id"], station)
        assert (r.status_code, r.json()["code"]) == (422, "unknown_agency")
    r = await agencies.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident['id']}/divert",
        json={"agency_id": "nope", "instructions": "x"},
    )
    assert (r.status_code, r.json()["code"]) == (422, "unknown_agency")
    # People of another agency, or police officers, are not the agency's people.
    for person in ("agency_x", "officer_a"):
        r = await divert(agencies, incident["id"], "housing", (person,))
        assert (r.status_code, r.json()["code"]) == (422, "unknown_person")
    # Only from received.
    dispatched = await agencies.dispatched_incident()
    r = await divert(agencies, dispatched["id"])
    assert (r.status_code, r.json()["code"]) == (409, "invalid_state")
    done = await diverted(agencies)
    r = await divert(agencies, done["id"])
    assert (r.status_code, r.json()["code"]) == (409, "invalid_state")
    r = await agencies.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{done['id']}/dispatch",
        json={"station_id": agencies.stations["a"], "person_ids": [agencies.people["officer_a"]]},
    )
    assert (r.status_code, r.json()["code"]) == (409, "invalid_state")


@pytest.mark.parametrize(
    ("skew", "offset_known", "late_by"),
    [
        (timedelta(0), True, timedelta(0)),
        (-timedelta(hours=1), True, timedelta(0)),  # an hour-slow phone that knows it
        (timedelta(minutes=7), False, timedelta(0)),  # fast, the server estimates
        (timedelta(0), True, timedelta(hours=5)),  # offline: pushed five hours later
    ],
)
async def test_ack_and_feedback_meet_the_clocks_on_effective_time(
    agencies: Bureau,
    clock: ManualClock,
    skew: timedelta,
    offset_known: bool,
    late_by: timedelta,
) -> None:
    await set_duties(agencies, "housing", ack_minutes=20, feedback_hours=12)
    incident = await diverted(agencies)
    start = clock.now()
    # Any person of the agency may acknowledge, named or not.
    acked = start + timedelta(minutes=8)
    fed_back = start + timedelta(hours=3)
    clock.advance(timedelta(hours=3) + late_by)
    r1 = await push(
        agencies, "housing_2", "ack_dispatch", incident["id"],
        happened=acked, sent=clock.now(), skew=skew, offset_known=offset_known,
    )  # fmt: skip
    r2 = await push(
        agencies, "housing_1", "agency_feedback", incident["id"], feedback("handled", "阀门已关"),
        happened=fed_back, sent=clock.now(), skew=skew, offset_known=offset_known,
    )  # fmt: skip
    assert r1["status"] == r2["status"] == "applied", (r1, r2)
    full = (await record(agencies, incident["id"])).json()
    assert full["status"] == "diverted"
    ack, fb = full["clocks"]["agency_ack"], full["clocks"]["agency_feedback"]
    assert (ack["state"], at(ack["met_at"])) == ("met", acked)
    assert (fb["state"], at(fb["met_at"])) == ("met", fed_back)
    assert "arrival" not in full["clocks"] and "initial_result" not in full["clocks"]
    d = full["diversion"]
    assert at(d["acknowledged_at"]) == acked
    assert d["feedback"]["outcome"] == "handled" and d["feedback"]["text"] == "阀门已关"
    assert d["feedback"]["person_id"] == agencies.people["housing_1"]
    assert all(t["flags"] == [] for t in full["timeline"])
    # The dispatcher closes it after feedback as usual; the clocks stay, met.
    r = await agencies.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/close", json={"summary": "已处置"}
    )
    assert r.status_code == 200 and r.json()["clocks"]["agency_feedback"]["state"] == "met"


async def test_suspect_and_late_facts_do_not_count(agencies: Bureau, clock: ManualClock) -> None:
    incident = await diverted(agencies)
    start = clock.now()
    clock.advance(timedelta(minutes=10))
    # Claims a time 5 minutes before the diversion it answers: clock_suspect.
    r = await push(
        agencies, "housing_1", "ack_dispatch", incident["id"],
        happened=start - timedelta(minutes=5), sent=clock.now(),
    )  # fmt: skip
    assert r["status"] == "applied"
    full = (await record(agencies, incident["id"])).json()
    [event] = [t for t in full["timeline"] if t["type"] == "ack_dispatch"]
    assert "clock_suspect" in event["flags"]
    assert full["clocks"]["agency_ack"]["met_at"] is None
    assert ("clock_suspect", None) in {(i["kind"], i["clock"]) for i in full["review_items"]}


async def test_only_the_agency_may_answer(agencies: Bureau, clock: ManualClock) -> None:
    incident = await diverted(agencies)
    now = clock.now()
    # Another agency's person and a police officer cannot see it: refused.
    for username in ("agency_x", "officer_a"):
        r = await push(
            agencies, username, "agency_feedback", incident["id"], feedback("handled"),
            happened=now, sent=now,
        )  # fmt: skip
        assert (r["status"], r["code"]) == ("rejected", "forbidden"), username
    # An officer on a police incident cannot send agency feedback either.
    police = await agencies.dispatched_incident()
    r = await push(
        agencies, "officer_a", "agency_feedback", police["id"], feedback("handled"),
        happened=now, sent=now,
    )  # fmt: skip
    assert (r["status"], r["code"]) == ("rejected", "forbidden")


async def test_returned_goes_back_to_received_and_is_counted(
    agencies: Bureau, clock: ManualClock
) -> None:
    incident = await diverted(agencies)
    clock.advance(timedelta(minutes=15))
    r = await push(
        agencies, "housing_2", "agency_feedback", incident["id"],
        feedback("returned", "系小区内部管网，非市政管道，应由物业处理"),
        happened=clock.now(), sent=clock.now(),
    )  # fmt: skip
    assert r["status"] == "applied", r
    full = (await record(agencies, incident["id"])).json()
    assert full["status"] == "received"
    assert full["station_id"] is None and full["assignees"] == []
    assert full["diversion"] is None
    assert full["diversions_returned"] == 1
    assert full["returned_reason"] == "系小区内部管网，非市政管道，应由物业处理"
    assert set(full["clocks"]) == {"arrival", "initial_result", "clear"}
    await assert_board_matches_records(agencies)  # the "退回：…" badge's row
    [fb] = [t for t in full["timeline"] if t["type"] == "agency_feedback"]
    assert fb["flags"] == []
    # Back on the board: the open list has it as received; the agency no longer sees it.
    r = await agencies.call("dispatcher", "GET", "/api/incidents", params={"status": "received"})
    assert incident["id"] in [i["id"] for i in r.json()]
    assert (await record(agencies, incident["id"], "housing_1")).status_code == 404
    # The dispatcher diverts it elsewhere; the first agency's second "returned" comes
    # in later: recorded, flagged late, and it does not bounce the call again.
    clock.advance(timedelta(minutes=5))
    r = await divert(agencies, incident["id"], "agency", ("agency_x",))
    assert r.status_code == 200 and r.json()["status"] == "diverted", r.text
    clock.advance(timedelta(minutes=5))
    r = await push(
        agencies, "housing_1", "agency_feedback", incident["id"], feedback("returned", "再退"),
        happened=clock.now(), sent=clock.now(),
    )  # fmt: skip
    assert r["status"] == "applied", r
    full = (await record(agencies, incident["id"])).json()
    assert full["status"] == "diverted"
    assert full["diversion"]["agency_id"] == agencies.stations["agency"]
    assert full["diversions_returned"] == 1
    await assert_board_matches_records(agencies)
    late = [t for t in full["timeline"] if t["type"] == "agency_feedback" and "late" in t["flags"]]
    assert len(late) == 1
    # And once the hotline returns it too, the dispatcher can dispatch it to the police.
    r = await push(
        agencies, "agency_x", "agency_feedback", incident["id"], feedback("returned", "非热线职责"),
        happened=clock.now(), sent=clock.now(),
    )  # fmt: skip
    full = (await record(agencies, incident["id"])).json()
    assert (full["status"], full["diversions_returned"]) == ("received", 2)
    assert full["returned_reason"] == "非热线职责"
    await assert_board_matches_records(agencies)
    clock.advance(timedelta(minutes=1))
    r = await agencies.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{incident['id']}/dispatch",
        json={"station_id": agencies.stations["a"], "person_ids": [agencies.people["officer_a"]]},
    )
    assert r.status_code == 200 and r.json()["status"] == "dispatched", r.text
    assert r.json()["clocks"]["arrival"]["state"] == "running"


async def test_returned_after_close_is_late_and_bounces_nothing(
    agencies: Bureau, clock: ManualClock
) -> None:
    incident = await diverted(agencies)
    clock.advance(timedelta(hours=1))
    r = await agencies.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/close", json={"summary": "已处置"}
    )
    assert r.status_code == 200
    clock.advance(timedelta(minutes=1))
    r = await push(
        agencies, "housing_1", "agency_feedback", incident["id"], feedback("returned"),
        happened=clock.now() - timedelta(minutes=30), sent=clock.now(),
    )  # fmt: skip
    assert r["status"] == "applied", r
    full = (await record(agencies, incident["id"])).json()
    assert full["status"] == "closed" and full["diversions_returned"] == 0
    [fb] = [t for t in full["timeline"] if t["type"] == "agency_feedback"]
    assert "late" in fb["flags"]


# ---------------------------------------------------------------------------------------
# Overdue agency clocks


async def wait_for_reviews(incident_id: str, kinds: set[tuple[str, str]]) -> list[Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while True:
        rows = await Change.select(Change.data).where(
            (Change.incident == incident_id) & (Change.entity == "review")
        )
        items = [load_json(r["data"]) for r in rows]
        if kinds <= {(i["kind"], i["clock"]) for i in items}:
            return items
        assert loop.time() < deadline, f"no {kinds} in {items}"
        await asyncio.sleep(0.05)


async def test_overdue_agency_clocks_open_review_items(
    agencies: Bureau, clock: ManualClock
) -> None:
    await set_duties(agencies, "housing", ack_minutes=20, feedback_hours=2)
    incident = await diverted(agencies)
    clock.advance(timedelta(minutes=19))
    await asyncio.sleep(0.3)
    assert (await record(agencies, incident["id"])).json()["review_items"] == []
    clock.advance(timedelta(minutes=1, seconds=1))
    await wait_for_reviews(incident["id"], {("overdue", "agency_ack")})
    clock.advance(timedelta(hours=2))
    await wait_for_reviews(incident["id"], {("overdue", "agency_feedback")})
    full = (await record(agencies, incident["id"])).json()
    assert full["clocks"]["agency_ack"]["state"] == "overdue"
    assert full["clocks"]["agency_feedback"]["state"] == "overdue"
    assert sorted((i["kind"], i["clock"]) for i in full["review_items"]) == [
        ("overdue", "agency_ack"),
        ("overdue", "agency_feedback"),
    ]
    # No police clock was ever watched.
    assert not any(i["clock"] in ("arrival", "initial_result") for i in full["review_items"])
    [row] = await assert_board_matches_records(agencies)
    assert len(row["review_items"]) == 2 and row["clocks"]["agency_ack"]["state"] == "overdue"


# ---------------------------------------------------------------------------------------
# Scope


async def test_an_agency_sees_only_its_own_diverted_calls(agencies: Bureau) -> None:
    mine = await diverted(agencies)
    other = await diverted(agencies, "agency")
    police = await agencies.dispatched_incident()
    # Every person of the agency sees its call, named or not; nothing else.
    for username in ("housing_1", "housing_2"):
        assert (await record(agencies, mine["id"], username)).status_code == 200
        assert (await record(agencies, other["id"], username)).status_code == 404
        assert (await record(agencies, police["id"], username)).status_code == 404
        r = await agencies.call(username, "GET", "/api/incidents", params={"status": "all"})
        assert [i["id"] for i in r.json()] == [mine["id"]]
    assert (await record(agencies, mine["id"], "agency_x")).status_code == 404
    phone = await Phone(agencies, "housing_2").sign_in()
    changes = await phone.pull_all()
    assert {c["data"]["id"] for c in changes if c["entity"] == "incident"} == {mine["id"]}


async def test_caller_data_goes_to_the_named_agency_people_only(agencies: Bureau) -> None:
    incident = await diverted(agencies, caller_name="王小明", caller_phone="13812345678")
    named = (await record(agencies, incident["id"], "housing_1")).json()
    other = (await record(agencies, incident["id"], "housing_2")).json()
    assert (named["caller_name"], named["caller_phone"]) == ("王小明", "13812345678")
    assert (other["caller_name"], other["caller_phone"]) == ("王*", "138****5678")


async def test_each_diversion_has_its_own_overdue_items(
    agencies: Bureau, clock: ManualClock
) -> None:
    """Returned by one agency after its clock went overdue, diverted to another that is
    late too: two `agency_ack` items, one per diversion."""
    await set_duties(agencies, "housing", ack_minutes=20)
    incident = await diverted(agencies)
    clock.advance(timedelta(minutes=21))
    await wait_for_reviews(incident["id"], {("overdue", "agency_ack")})
    r = await push(
        agencies, "housing_1", "agency_feedback", incident["id"], feedback("returned", "非本局"),
        happened=clock.now(), sent=clock.now(),
    )  # fmt: skip
    assert r["status"] == "applied"
    clock.advance(timedelta(minutes=1))
    assert (await divert(agencies, incident["id"], "agency")).status_code == 200
    clock.advance(timedelta(minutes=29))
    await asyncio.sleep(0.3)
    full = (await record(agencies, incident["id"])).json()
    assert [i["clock"] for i in full["review_items"]] == ["agency_ack"]
    clock.advance(timedelta(minutes=1, seconds=1))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while True:
        full = (await record(agencies, incident["id"])).json()
        if len(full["review_items"]) == 2 or loop.time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert [(i["kind"], i["clock"]) for i in full["review_items"]] == [
        ("overdue", "agency_ack"),
        ("overdue", "agency_ack"),
    ]
    assert full["clocks"]["agency_ack"]["state"] == "overdue"
