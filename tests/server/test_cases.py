"""Cases (立案月清仓, 积案季清底; PROTOCOL §11) over HTTP: the `case_progress` op, the
record's `case`, the `cases` figures and the `open_cases` lists of the monthly and
quarterly reports, every expected value worked out by hand below.

Times are Asia/Shanghai; station a (甲派出所), station b (乙派出所). September 2026 and
Q3 end at 2026-10-01 00:00 Shanghai (2026-09-30T16:00Z): K2's solve and K4's close come
just after it, on 1 October in Shanghai but still 30 September in UTC.

    id  received      station  case_accepted  case_progress                         incident
    K1  06-10 09:00   a        06-10 10:00    filed 06-11 09:00 (甲刑-001)           open
    K3  09-05 08:00   a        09-05 09:00    filed 09-05 10:00, closed 09-20 10:00  closed 09-06 10:00
    K4  09-10 08:00   a        09-10 09:00    filed 09-10 10:00, closed 10-01 00:30  open
    K5  09-12 08:00   a        (10-02 12:30)  filed 09-12 10:00                      open
    K6  09-15 08:00   b        09-15 09:00    filed 09-15 10:00, transferred 09-16   open
    K2  09-30 23:00   a        09-30 23:10    filed 09-30 23:30, solved 10-01 00:10  open

The reports are read at 10-02 12:00, then again after K5's disposition arrives (12:30).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from server.core.clock import SHANGHAI, ManualClock
from server.core.config import Settings
from tests.conftest import TEST_DATABASE_URL
from tests.server.conftest import Bureau
from tests.server.test_reports import Desk


def t(month: int, day: int, hh: int, mm: int) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(t(6, 10, 9, 0))


@pytest.fixture
def settings(clock: ManualClock) -> Settings:
    return Settings(database_url=TEST_DATABASE_URL, clock=clock)


ACCEPTED = {"result": "case_accepted", "summary": "受案"}


def progress(number: str, stage: str) -> dict[str, str]:
    return {"case_number": number, "stage": stage}


async def case_incident(
    d: Desk, key: str, received: datetime, station: str = "a", person: str = "officer_a"
) -> None:
    await d.at(received)
    await d.create(key, "criminal")
    await d.at(received.replace(minute=received.minute + 1))
    await d.dispatch(key, station, person)


async def build(bureau: Bureau, clock: ManualClock) -> Desk:
    d = Desk(bureau, clock)
    await case_incident(d, "K1", t(6, 10, 9, 0))
    await d.at(t(6, 10, 10, 0))
    await d.field("K1", "officer_a", "disposition", ACCEPTED)
    await d.at(t(6, 11, 9, 0))
    # The station's chief records it (not assigned, but of its station).
    await d.field("K1", "chief_a", "case_progress", progress("甲刑-001", "filed"))

    await case_incident(d, "K3", t(9, 5, 8, 0))
    await d.at(t(9, 5, 9, 0))
    await d.field("K3", "officer_a", "disposition", ACCEPTED)
    await d.at(t(9, 5, 10, 0))
    await d.field("K3", "officer_a", "case_progress", progress("甲刑-003", "filed"))
    await d.at(t(9, 6, 10, 0))
    await d.close("K3")

    await case_incident(d, "K4", t(9, 10, 8, 0))
    await d.at(t(9, 10, 9, 0))
    await d.field("K4", "officer_a", "disposition", ACCEPTED)
    await d.at(t(9, 10, 10, 0))
    await d.field("K4", "officer_a", "case_progress", progress("甲刑-004", "filed"))

    await case_incident(d, "K5", t(9, 12, 8, 0))
    await d.at(t(9, 12, 10, 0))
    await d.field("K5", "officer_a", "case_progress", progress("甲刑-005", "filed"))

    await case_incident(d, "K6", t(9, 15, 8, 0), "b", "officer_b")
    await d.at(t(9, 15, 9, 0))
    await d.field("K6", "officer_b", "disposition", ACCEPTED)
    await d.at(t(9, 15, 10, 0))
    await d.field("K6", "officer_b", "case_progress", progress("乙刑-006", "filed"))
    await d.at(t(9, 16, 10, 0))
    await d.field("K6", "officer_b", "case_progress", progress("乙刑-006", "transferred"))

    await d.at(t(9, 20, 10, 0))
    # After the incident's close (销号): the case goes on, the fact is not late.
    await d.field("K3", "officer_a", "case_progress", progress("甲刑-003", "closed"))

    await case_incident(d, "K2", t(9, 30, 23, 0), person="officer_a2")
    await d.at(t(9, 30, 23, 10))
    await d.field("K2", "officer_a2", "disposition", ACCEPTED)
    await d.at(t(9, 30, 23, 30))
    await d.field("K2", "officer_a2", "case_progress", progress("甲刑-002", "filed"))
    await d.at(t(10, 1, 0, 10))
    await d.field("K2", "officer_a2", "case_progress", progress("甲刑-002", "solved"))
    await d.at(t(10, 1, 0, 30))
    await d.field("K4", "officer_a", "case_progress", progress("甲刑-004", "closed"))
    await d.at(t(10, 2, 12, 0))
    return d


async def record(bureau: Bureau, d: Desk, key: str) -> dict[str, Any]:
    r = await bureau.call("supervisor", "GET", f"/api/incidents/{d.ids[key]}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def report(bureau: Bureau, who: str, kind: str, **params: str) -> dict[str, Any]:
    r = await bureau.call(who, "GET", f"/api/reports/{kind}", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def listed(cases: list[dict[str, Any]]) -> list[tuple[str, str, str, datetime]]:
    return [(c["case_number"], c["stage"], c["station_id"], at(c["filed_at"])) for c in cases]


async def test_case_record_stages_and_acceptance(bureau: Bureau, clock: ManualClock) -> None:
    d = await build(bureau, clock)
    k3 = await record(bureau, d, "K3")
    case = k3["case"]
    assert case["accepted"] is True
    assert case["stage"] == "closed" and case["case_number"] == "甲刑-003"
    assert at(case["filed_at"]) == t(9, 5, 10, 0)
    assert [(s["stage"], at(s["at"])) for s in case["stages"]] == [
        ("filed", t(9, 5, 10, 0)),
        ("closed", t(9, 20, 10, 0)),
    ]
    # The progress recorded after the close is not late (PROTOCOL §11).
    late = [e for e in k3["timeline"] if e.get("type") == "case_progress" and "late" in e["flags"]]
    assert late == []

    # K5: progress without a case_accepted disposition waits, accepted false.
    k5 = await record(bureau, d, "K5")
    assert k5["case"]["accepted"] is False and k5["case"]["stage"] == "filed"
    # No case at all: no case.
    await d.create("X", "dispute")
    assert (await record(bureau, d, "X"))["case"] is None

    # K2: accepted, filed then solved.
    k2 = (await record(bureau, d, "K2"))["case"]
    assert [s["stage"] for s in k2["stages"]] == ["filed", "solved"] and k2["stage"] == "solved"

    # The disposition arrives: K5 is a case, its earlier progress counts.
    await d.at(t(10, 2, 12, 30))
    await d.field("K5", "officer_a", "disposition", ACCEPTED)
    k5 = await record(bureau, d, "K5")
    assert k5["case"]["accepted"] is True and at(k5["case"]["filed_at"]) == t(9, 12, 10, 0)


async def test_case_figures_and_open_cases(bureau: Bureau, clock: ManualClock) -> None:
    d = await build(bureau, clock)
    a, b = bureau.stations["a"], bureau.stations["b"]

    september = await report(bureau, "supervisor", "monthly", month="2026-09")
    stations = {s["station_id"]: s for s in september["stations"]}
    # Received in September: K3 K4 K5 K6 K2. Accepted: all but K5 (no disposition yet).
    # a: K3 K4 K2 accepted and filed; K2 solved; K3 and K4 closed (as known now);
    #    (closed 2 + transferred 0) / filed 3 = 0.6667.
    # b: K6 accepted, filed, transferred: 1 / 1 = 1.0.
    assert stations[a]["cases"] == {
        "accepted": 3,
        "filed": 3,
        "solved": 1,
        "closed": 2,
        "transferred": 0,
        "closure_rate": 0.6667,
    }
    assert stations[b]["cases"] == {
        "accepted": 1,
        "filed": 1,
        "solved": 0,
        "closed": 0,
        "transferred": 1,
        "closure_rate": 1.0,
    }
    assert september["bureau"]["cases"] == {
        "accepted": 4,
        "filed": 4,
        "solved": 1,
        "closed": 2,
        "transferred": 1,
        "closure_rate": 0.75,
    }
    # Filed in September (Shanghai) and open at its end: K4 (closed only on 1 October)
    # and K2 (filed at 23:30 on 30 September; solved after the month's end: still `filed`).
    # K3 was closed on the 20th, K6 transferred on the 16th.
    assert listed(september["open_cases"]) == [
        ("甲刑-004", "filed", a, t(9, 10, 10, 0)),
        ("甲刑-002", "filed", a, t(9, 30, 23, 30)),
    ]
    k4 = september["open_cases"][0]
    assert k4["incident_id"] == d.ids["K4"]
    assert k4["number"] == (await record(bureau, d, "K4"))["number"]

    # October: nothing filed in it (K2's filing is 30 September in Shanghai).
    october = await report(bureau, "supervisor", "monthly", month="2026-10")
    assert october["open_cases"] == []
    assert october["bureau"]["cases"]["accepted"] == 0
    june = await report(bureau, "supervisor", "monthly", month="2026-06")
    assert listed(june["open_cases"]) == [("甲刑-001", "filed", a, t(6, 11, 9, 0))]

    # Q3: every case filed before its end and open at it, however old: K1 from June.
    q3 = await report(bureau, "supervisor", "quarterly", quarter="2026-Q3")
    assert listed(q3["open_cases"]) == [
        ("甲刑-001", "filed", a, t(6, 11, 9, 0)),
        ("甲刑-004", "filed", a, t(9, 10, 10, 0)),
        ("甲刑-002", "filed", a, t(9, 30, 23, 30)),
    ]
    # Q4 (as of now): K1 still filed, K2 solved; K4 closed on 1 October.
    q4 = await report(bureau, "supervisor", "quarterly", quarter="2026-Q4")
    assert listed(q4["open_cases"]) == [
        ("甲刑-001", "filed", a, t(6, 11, 9, 0)),
        ("甲刑-002", "solved", a, t(9, 30, 23, 30)),
    ]
    # Q2 ended before K1 was... filed on 11 June: open at Q2's end too.
    q2 = await report(bureau, "supervisor", "quarterly", quarter="2026-Q2")
    assert listed(q2["open_cases"]) == [("甲刑-001", "filed", a, t(6, 11, 9, 0))]

    # A chief: their station's only; b's chief sees none open (K6 transferred).
    chief_b = await report(bureau, "chief_b", "quarterly", quarter="2026-Q3")
    assert chief_b["open_cases"] == []
    assert chief_b["bureau"]["cases"]["transferred"] == 1
    # A command role narrowing to a station: that station's list.
    only_b = await report(bureau, "supervisor", "quarterly", quarter="2026-Q3", station_id=b)
    assert only_b["open_cases"] == []

    # Daily and weekly reports have the figures, not the lists.
    day = await report(bureau, "supervisor", "daily", date="2026-09-30")
    assert "open_cases" not in day and day["bureau"]["cases"]["accepted"] == 1

    # K5's disposition arrives: counted from now on, its September filing listed.
    await d.at(t(10, 2, 12, 30))
    await d.field("K5", "officer_a", "disposition", ACCEPTED)
    september = await report(bureau, "supervisor", "monthly", month="2026-09")
    assert september["bureau"]["cases"] == {
        "accepted": 5,
        "filed": 5,
        "solved": 1,
        "closed": 2,
        "transferred": 1,
        "closure_rate": 0.6,
    }
    assert [c["case_number"] for c in september["open_cases"]] == [
        "甲刑-004",
        "甲刑-005",
        "甲刑-002",
    ]


async def test_open_cases_csv(bureau: Bureau, clock: ManualClock) -> None:
    await build(bureau, clock)
    r = await bureau.call(
        "supervisor", "GET", "/api/reports/monthly", params={"month": "2026-09", "format": "csv"}
    )
    summary, carried, open_cases, diversion = r.content.decode("utf-8-sig").split("\r\n\r\n")
    lines = open_cases.split("\r\n")
    assert lines[0] == "number,incident_id,station_id,case_number,stage,filed_at"
    assert [line.split(",")[3:5] for line in lines[1:3]] == [
        ["甲刑-004", "filed"],
        ["甲刑-002", "filed"],
    ]
    header = summary.split("\r\n")[0].split(",")
    bureau_row = summary.split("\r\n")[-1].split(",")
    cells = dict(zip(header, bureau_row, strict=True))
    assert cells["cases_accepted"] == "4" and cells["cases_closure_rate"] == "0.75"
