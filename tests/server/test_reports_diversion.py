"""The reports' `diversion` block (PROTOCOL §10), every figure against hand-computed
literals, and proof that a diverted call changes no police arrival figure.

One day, 2026-11-20 (Asia/Shanghai); the injected clock moves through it:

    08:00  P1 N1 D1 D2 D3 D4 C1 received; P1 dispatched to 甲派出所 (officer_a)
    08:05  officer_a arrives at P1 (5 min)                    <- arrival block read here
    08:10  D1 D2 D3 diverted to 住建局 (ack 20 min, feedback 2 h);
           D4 C1 diverted to 12345热线 (no duties: 30 min, 24 h)
    08:15  住建局 acknowledges D3          (5 min: within 20)
    08:20  住建局 acknowledges D1          (10 min: within 20)
    08:30  住建局 returns D3; C1 cancelled
    08:35  D3 diverted again, to 12345热线
    08:40  住建局 acknowledges D2          (30 min: late)
    09:00  住建局 answers D1 handled       (50 min: within 2 h)
    09:30  D4 closed (the hotline never answered)
    11:00  住建局 answers D2 referred      (2 h 50 min: late)   <- reports read here
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest

from server.core.clock import SHANGHAI, ManualClock
from server.core.config import Settings
from server.services.admin import add_station
from tests.conftest import TEST_DATABASE_URL
from tests.server.conftest import Bureau
from tests.server.phone import Phone
from tests.server.test_diversion import add_person

DAY = "2026-11-20"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI))


@pytest.fixture
def settings(clock: ManualClock) -> Settings:
    return Settings(database_url=TEST_DATABASE_URL, clock=clock, sla_scheduler_cap_s=600)


def to(clock: ManualClock, hh: int, mm: int) -> None:
    clock.set(datetime(2026, 11, 20, hh, mm, tzinfo=SHANGHAI))


async def ok(r: Any) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def act(bureau: Bureau, incident_id: str, action: str, body: dict[str, Any]) -> None:
    await ok(
        await bureau.call("dispatcher", "POST", f"/api/incidents/{incident_id}/{action}", json=body)
    )


async def divert(bureau: Bureau, incident_id: str, station: str) -> None:
    await act(
        bureau,
        incident_id,
        "divert",
        {"agency_id": bureau.stations[station], "instructions": "请处理"},
    )


async def answer(
    phone: Phone, clock: ManualClock, incident_id: str, type: str, body: dict[str, Any]
) -> None:
    op = phone.op(type, incident_id, body, device_time=clock.now())
    result = await phone.push([op], sent_at=clock.now())
    assert result["results"][0]["status"] == "applied", result


async def report(bureau: Bureau, kind: str = "daily", **params: str) -> dict[str, Any]:
    params = params or {"date": DAY}
    return await ok(await bureau.call("supervisor", "GET", f"/api/reports/{kind}", params=params))


async def test_diversion_figures(bureau: Bureau, clock: ManualClock) -> None:
    bureau.stations["housing"] = (await add_station("住建局", "urban", "linked_agency"))["id"]
    await add_person(bureau, "housing_1", "agency", "housing")
    await ok(
        await bureau.call(
            "admin",
            "PUT",
            f"/api/agencies/{bureau.stations['housing']}/duties",
            json={"keywords": ["水管"], "ack_minutes": 20, "feedback_hours": 2},
        )
    )
    ids = {}
    for name in ("P1", "N1", "D1", "D2", "D3", "D4", "C1"):
        ids[name] = (await bureau.new_incident(category="non_police", narrative=name))["id"]
    await act(
        bureau,
        ids["P1"],
        "dispatch",
        {"station_id": bureau.stations["a"], "person_ids": [bureau.people["officer_a"]]},
    )
    officer = await Phone(bureau, "officer_a").sign_in()
    housing = await Phone(bureau, "housing_1").sign_in()
    to(clock, 8, 5)
    await answer(
        officer, clock, ids["P1"], "arrival", {"lat": None, "lon": None, "accuracy_m": None}
    )
    before = await report(bureau)

    to(clock, 8, 10)
    for name in ("D1", "D2", "D3"):
        await divert(bureau, ids[name], "housing")
    for name in ("D4", "C1"):
        await divert(bureau, ids[name], "agency")
    to(clock, 8, 15)
    await answer(housing, clock, ids["D3"], "ack_dispatch", {})
    to(clock, 8, 20)
    await answer(housing, clock, ids["D1"], "ack_dispatch", {})
    to(clock, 8, 30)
    await answer(
        housing, clock, ids["D3"], "agency_feedback",
        {"outcome": "returned", "text": "非住建局职责", "attachments": []},
    )  # fmt: skip
    await act(bureau, ids["C1"], "cancel", {"reason": "重复报警"})
    to(clock, 8, 35)
    await divert(bureau, ids["D3"], "agency")
    to(clock, 8, 40)
    await answer(housing, clock, ids["D2"], "ack_dispatch", {})
    to(clock, 9, 0)
    await answer(
        housing, clock, ids["D1"], "agency_feedback",
        {"outcome": "handled", "text": "已抢修", "attachments": []},
    )  # fmt: skip
    to(clock, 9, 30)
    await act(bureau, ids["D4"], "close", {"summary": "热线未回复，指挥中心电话处理"})
    to(clock, 11, 0)
    await answer(
        housing, clock, ids["D2"], "agency_feedback",
        {"outcome": "referred", "text": "已转自来水公司", "attachments": []},
    )  # fmt: skip

    daily = await report(bureau)
    monthly = await report(bureau, "monthly", month="2026-11")
    quarterly = await report(bureau, "quarterly", quarter="2026-Q4")
    housing_figures = {
        "agency_id": bureau.stations["housing"],
        "name": "住建局",
        "diverted": 3,  # D1, D2, D3 (returned ones count)
        "acknowledged_within_target": 2,  # D3 in 5 min, D1 in 10; D2 in 30 > 20
        "fed_back": 2,  # D1 handled, D2 referred (D3's `returned` is not feedback)
        "fed_back_within_target": 1,  # D1 in 50 min <= 2 h; D2 in 2 h 50 min
        "returned": 1,  # D3
        "open": 0,  # every one answered
    }
    hotline_figures = {
        "agency_id": bureau.stations["agency"],
        "name": "12345热线",
        "diverted": 2,  # D3 (second diversion), D4; C1 was cancelled: not counted
        "acknowledged_within_target": 0,
        "fed_back": 0,
        "fed_back_within_target": 0,
        "returned": 0,
        "open": 1,  # D3: no answer yet, not closed; D4 was closed
    }
    for r in (daily, monthly, quarterly):
        # By name: "12345热线" sorts before "住建局".
        assert r["diversion"]["agencies"] == [hotline_figures, housing_figures]
        assert r["diversion"]["bureau"] == {
            "diverted": 5,  # 3 + 2
            "acknowledged_within_target": 2,  # 2 + 0
            "fed_back": 2,  # 2 + 0
            "fed_back_within_target": 1,  # 1 + 0
            "returned": 1,  # 1 + 0
            "open": 1,  # 0 + 1
            # received: P1 N1 D1 D2 D3 D4 = 6 (C1 cancelled); 5 / 6 = 0.83333 -> 0.8333
            "diversion_rate": 0.8333,
        }
        assert r["bureau"]["received"] == 6
        # Agencies are not rows of `stations` (their figures are above).
        assert {s["station_id"] for s in r["stations"]} == {
            bureau.stations["a"],
            bureau.stations["b"],
        }

    # Diverting changed no police arrival figure: P1's 5 minutes, nothing else.
    assert (
        daily["bureau"]["arrival"]
        == before["bureau"]["arrival"]
        == {
            "dispatched": 1,
            "arrived": 1,
            "within_target": 1,
            "pending": 0,
            "compliance_rate": 1.0,
            "median_min": 5,
            "p90_min": 5,
        }
    )
    after_a, before_a = (
        next(s for s in r["stations"] if s["station_id"] == bureau.stations["a"])
        for r in (daily, before)
    )
    assert after_a["arrival"] == before_a["arrival"]
    assert daily["bureau"]["initial_result"] == before["bureau"]["initial_result"]

    # CSV: the block comes last, after a blank line.
    r = await bureau.call(
        "supervisor", "GET", "/api/reports/daily", params={"date": DAY, "format": "csv"}
    )
    text = r.content.decode("utf-8-sig")
    block = list(csv.reader(io.StringIO(text.split("\r\n\r\n")[-1])))
    assert block[0] == [
        "period", "scope", "agency_id", "name", "diverted", "acknowledged_within_target",
        "fed_back", "fed_back_within_target", "returned", "open", "diversion_rate",
    ]  # fmt: skip
    assert block[1] == [
        DAY,
        "agency",
        bureau.stations["agency"],
        "12345热线",
        "2",
        "0",
        "0",
        "0",
        "0",
        "1",
        "",
    ]
    assert block[2] == [
        DAY,
        "agency",
        bureau.stations["housing"],
        "住建局",
        "3",
        "2",
        "2",
        "1",
        "1",
        "0",
        "",
    ]
    assert block[3] == [DAY, "bureau", "", "", "5", "2", "2", "1", "1", "1", "0.8333"]

    # Another day: nothing diverted, no rate.
    empty = await report(bureau, date="2026-11-21")
    assert empty["diversion"]["bureau"]["diverted"] == 0
    assert empty["diversion"]["bureau"]["diversion_rate"] is None
