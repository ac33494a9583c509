"""Clearance reports on a constructed dataset; every expected figure is worked out by hand
in the comments and written here as a literal (PROTOCOL §7, docs/reports.md).

Times are Asia/Shanghai. The report day D is 20 November 2026; the reports are asked for
at 12:00 on the 21st. Station a (甲派出所) is urban (arrival target 10 min), station b
(乙派出所) rural (20 min).

    id  received      category      station  dispatched  arrival        initial result     closed/cancelled
    O1  10-31 23:30   dispute       a        23:31       -              -                  - (still open)
    M1  11-01 00:20   traffic       -        -           -              -                  cancelled 00:25
    A0  D-1 23:50     dispute       a        23:51       -              -                  - (still open)
    A1  D 08:00       dispute       a        08:02       08:08 (6 min)  scene 09:00 (met)  closed D 10:00 (2 h)
    A2  D 09:00       public_order  a        09:01       09:13 (12)     disp. 14:30 (late) closed D+1 10:00 (25 h)
    B1  D 10:00       dispute       b        10:05       10:20 (15)     scene 11:00 (met)  closed D 12:00 (2 h)
    B2  D 11:00       criminal      b        11:10       -              - (overdue 15:10)  closed D+1 09:00 (22 h)
    B3  D 12:00       help          a -> b   12:01       12:30 (29)     scene 13:00 (met)  closed D+1 11:00 (23 h)
    N1  D 15:00       non_police    -        -           -              -                  closed D 15:30
    A3  D 22:00       dispute       a        22:05       22:14 (9)      - (overdue 02:05)  - (open, due D+1 22:00)
    A4  D 23:50       traffic       -        -           -              -                  cancelled D 23:55
    A5  D+1 00:10     help          a        00:12       -              -                  - (D+1 in Shanghai, D in UTC)
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest

from server.core.clock import SHANGHAI, ManualClock
from server.core.config import Settings
from tests.conftest import TEST_DATABASE_URL
from tests.server.conftest import Bureau
from tests.server.phone import Phone
from tests.server.test_reports_satisfaction import SATISFACTION_COLUMNS


def t(month: int, day: int, hh: int, mm: int) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(t(10, 31, 23, 30))


@pytest.fixture
def settings(clock: ManualClock) -> Settings:
    return Settings(database_url=TEST_DATABASE_URL, clock=clock)


class Desk:
    """The dispatcher and the phones, acting at the manual clock's time."""

    def __init__(self, bureau: Bureau, clock: ManualClock) -> None:
        self.bureau = bureau
        self.clock = clock
        self.phones: dict[str, Phone] = {}
        self.ids: dict[str, str] = {}

    async def at(self, when: datetime) -> None:
        assert when >= self.clock.now()
        self.clock.set(when)

    async def create(self, key: str, category: str, area: str = "urban") -> None:
        incident = await self.bureau.new_incident(area, category=category)
        self.ids[key] = incident["id"]

    async def act(self, key: str, action: str, body: dict[str, Any]) -> None:
        r = await self.bureau.call(
            "dispatcher", "POST", f"/api/incidents/{self.ids[key]}/{action}", json=body
        )
        assert r.status_code == 200, r.text

    async def dispatch(self, key: str, station: str, person: str) -> None:
        body = {
            "station_id": self.bureau.stations[station],
            "person_ids": [self.bureau.people[person]],
        }
        await self.act(key, "dispatch", body)

    async def reassign(self, key: str, station: str, person: str) -> None:
        body = {
            "station_id": self.bureau.stations[station],
            "person_ids": [self.bureau.people[person]],
        }
        await self.act(key, "reassign", body)

    async def close(self, key: str) -> None:
        await self.act(key, "close", {"summary": "处置完毕"})

    async def cancel(self, key: str) -> None:
        await self.act(key, "cancel", {"reason": "重复报警"})

    async def field(
        self, key: str, username: str, type: str, body: dict[str, Any] | None = None
    ) -> None:
        phone = self.phones.get(username)
        if phone is None:
            phone = self.phones[username] = await Phone(self.bureau, username).sign_in()
        op = phone.op(type, self.ids[key], body, device_time=self.clock.now())
        result = await phone.push([op], sent_at=self.clock.now())
        assert result["results"][0]["status"] == "applied", result


async def build(bureau: Bureau, clock: ManualClock) -> Desk:
    d = Desk(bureau, clock)
    await d.at(t(10, 31, 23, 30))
    await d.create("O1", "dispute")
    await d.at(t(10, 31, 23, 31))
    await d.dispatch("O1", "a", "officer_a")
    await d.at(t(11, 1, 0, 20))
    await d.create("M1", "traffic")
    await d.at(t(11, 1, 0, 25))
    await d.cancel("M1")
    await d.at(t(11, 19, 23, 50))
    await d.create("A0", "dispute")
    await d.at(t(11, 19, 23, 51))
    await d.dispatch("A0", "a", "officer_a")
    await d.at(t(11, 20, 8, 0))
    await d.create("A1", "dispute")
    await d.at(t(11, 20, 8, 2))
    await d.dispatch("A1", "a", "officer_a")
    await d.at(t(11, 20, 8, 8))
    await d.field("A1", "officer_a", "arrival")
    await d.at(t(11, 20, 9, 0))
    await d.create("A2", "public_order")
    await d.field("A1", "officer_a", "scene_report")
    await d.at(t(11, 20, 9, 1))
    await d.dispatch("A2", "a", "officer_a2")
    await d.at(t(11, 20, 9, 13))
    await d.field("A2", "officer_a2", "arrival")
    await d.at(t(11, 20, 10, 0))
    await d.close("A1")
    await d.create("B1", "dispute", "rural")
    await d.at(t(11, 20, 10, 5))
    await d.dispatch("B1", "b", "officer_b")
    await d.at(t(11, 20, 10, 20))
    await d.field("B1", "officer_b", "arrival")
    await d.at(t(11, 20, 11, 0))
    await d.create("B2", "criminal", "rural")
    await d.field("B1", "officer_b", "scene_report")
    await d.at(t(11, 20, 11, 10))
    await d.dispatch("B2", "b", "grid_b")
    await d.at(t(11, 20, 12, 0))
    await d.close("B1")
    await d.create("B3", "help", "rural")
    await d.at(t(11, 20, 12, 1))
    await d.dispatch("B3", "a", "officer_a")
    await d.at(t(11, 20, 12, 3))
    await d.reassign("B3", "b", "officer_b")
    await d.at(t(11, 20, 12, 30))
    await d.field("B3", "officer_b", "arrival")
    await d.at(t(11, 20, 13, 0))
    await d.field("B3", "officer_b", "scene_report")
    await d.at(t(11, 20, 14, 30))
    await d.field("A2", "officer_a2", "disposition", {"result": "mediated", "summary": "调解"})
    await d.at(t(11, 20, 15, 0))
    await d.create("N1", "non_police")
    await d.at(t(11, 20, 15, 30))
    await d.close("N1")
    await d.at(t(11, 20, 22, 0))
    await d.create("A3", "dispute")
    await d.at(t(11, 20, 22, 5))
    await d.dispatch("A3", "a", "officer_a")
    await d.at(t(11, 20, 22, 14))
    await d.field("A3", "officer_a", "arrival")
    await d.at(t(11, 20, 23, 50))
    await d.create("A4", "traffic")
    await d.at(t(11, 20, 23, 55))
    await d.cancel("A4")
    await d.at(t(11, 21, 0, 10))
    await d.create("A5", "help")
    await d.at(t(11, 21, 0, 12))
    await d.dispatch("A5", "a", "officer_a")
    await d.at(t(11, 21, 9, 0))
    await d.close("B2")
    await d.at(t(11, 21, 10, 0))
    await d.close("A2")
    await d.at(t(11, 21, 11, 0))
    await d.close("B3")
    await d.at(t(11, 21, 12, 0))
    return d


def zero_categories(**counts: int) -> dict[str, int]:
    base = dict.fromkeys(
        ["criminal", "public_order", "dispute", "help", "traffic", "non_police", "other"], 0
    )
    return base | counts


# No verdict and no callback task in this dataset (tests/server/test_reports_satisfaction.py
# covers those figures): every satisfaction block is this one.
NO_SATISFACTION = {
    "rated": 0,
    "satisfied": 0,
    "basically_satisfied": 0,
    "unsatisfied": 0,
    "satisfaction_rate": None,
    "unsatisfied_rate": None,
    "by_dimension": {
        d: {"satisfied": 0, "basically_satisfied": 0, "unsatisfied": 0}
        for d in ("reception", "timeliness", "conduct", "handling")
    },
    "callbacks_due": 0,
    "callbacks_done": 0,
    "callbacks_unreachable": 0,
}


# No case, no mediation record in this dataset (tests/server/test_cases.py and
# tests/server/test_reports_feedbacks.py cover those figures).
NO_CASES = {
    "accepted": 0,
    "filed": 0,
    "solved": 0,
    "closed": 0,
    "transferred": 0,
    "closure_rate": None,
}
NO_MEDIATION = {"outcomes": 0, "reached": 0, "partial": 0, "failed": 0, "follow_ups_due": 0}


def three_feedbacks(closed: int, complete: int, rate: float | None) -> dict[str, Any]:
    return {"closed": closed, "complete": complete, "complete_rate": rate}


async def get(bureau: Bureau, who: str, path: str, **params: str):
    return await bureau.call(who, "GET", path, params=params)


async def test_daily_report_every_figure(bureau: Bureau, clock: ManualClock) -> None:
    await build(bureau, clock)
    r = await get(bureau, "supervisor", "/api/reports/daily", date="2026-11-20")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["date"] == "2026-11-20"
    stations = {s["station_id"]: s for s in report["stations"]}
    # Every station that takes incidents is listed (not the command center itself).
    # The linked agency is not a row of `stations`: its figures are the `diversion`
    # block's (PROTOCOL §10; tests/server/test_reports_diversion.py).
    assert set(stations) == {bureau.stations[k] for k in ("a", "b")}

    a = stations[bureau.stations["a"]]
    # A1, A2, A3 received; A0 and A5 on other days. A4 was cancelled before it was
    # dispatched: never dispatched, it counts in the bureau only (its `cancelled`).
    # Cleared: A1 (2 h). Carried over: A2 (25 h). Open: A3 (due D+1 22:00, now D+1 12:00).
    # Arrival: 3 dispatched, 3 arrived after 6, 12, 9 minutes; within 10 min: A1, A3.
    # Nearest rank of [6, 9, 12]: median rank ceil(1.5) = 2 -> 9; p90 rank ceil(2.7) = 3 -> 12.
    # Initial result: A1 met, A2 met late (14:30 > 13:01), A3 overdue (due D+1 02:05).
    assert {k: v for k, v in a.items() if k not in ("station_id", "name")} == {
        "received": 3,
        "by_category": zero_categories(dispute=2, public_order=1),
        "cancelled": 0,
        "cleared": 1,
        "carried_over": 1,
        "open": 1,
        "arrival": {
            "dispatched": 3,
            "arrived": 3,
            "within_target": 2,
            "pending": 0,
            "compliance_rate": 0.6667,
            "median_min": 9,
            "p90_min": 12,
        },
        "initial_result": {"due": 3, "within_target": 1, "compliance_rate": 0.3333},
        "satisfaction": NO_SATISFACTION,
        "cases": NO_CASES,
        # 三反馈: A1 and A2 closed (A3 open); A1 has no disposition, A2 no scene report.
        "three_feedbacks": three_feedbacks(2, 0, 0.0),
        "mediation": NO_MEDIATION,
    }
    assert a["name"] == "甲派出所"

    b = stations[bureau.stations["b"]]
    # B1, B2, B3 (B3 was reassigned from a to b: it counts for b, its last station).
    # All closed within 24 h (2 h, 22 h, 23 h). Arrival: 3 dispatched, B2 never reached;
    # B1 after 15 min (within 20), B3 after 29 min (from its dispatch at 12:01).
    # Nearest rank of [15, 29]: median rank 1 -> 15; p90 rank ceil(1.8) = 2 -> 29.
    # Initial result: B1 met, B2 overdue (due 15:10), B3 met: 2 of 3.
    assert {k: v for k, v in b.items() if k not in ("station_id", "name")} == {
        "received": 3,
        "by_category": zero_categories(dispute=1, criminal=1, help=1),
        "cancelled": 0,
        "cleared": 3,
        "carried_over": 0,
        "open": 0,
        "arrival": {
            "dispatched": 3,
            "arrived": 2,
            "within_target": 1,
            "pending": 0,
            "compliance_rate": 0.3333,
            "median_min": 15,
            "p90_min": 29,
        },
        "initial_result": {"due": 3, "within_target": 2, "compliance_rate": 0.6667},
        "satisfaction": NO_SATISFACTION,
        "cases": NO_CASES,
        # 三反馈: B1, B2, B3 closed; none has a disposition.
        "three_feedbacks": three_feedbacks(3, 0, 0.0),
        "mediation": NO_MEDIATION,
    }

    assert report["diversion"]["bureau"]["diverted"] == 0

    # The bureau: a + b + N1 (never dispatched, closed in 30 min: bureau only).
    # Arrival minutes [6, 9, 12, 15, 29]: median rank ceil(2.5) = 3 -> 12, p90 rank
    # ceil(4.5) = 5 -> 29; within target 3 of 6 dispatched.
    assert report["bureau"] == {
        "received": 7,
        "by_category": zero_categories(dispute=3, public_order=1, criminal=1, help=1, non_police=1),
        "cancelled": 1,
        "cleared": 5,
        "carried_over": 1,
        "open": 1,
        "arrival": {
            "dispatched": 6,
            "arrived": 5,
            "within_target": 3,
            "pending": 0,
            "compliance_rate": 0.5,
            "median_min": 12,
            "p90_min": 29,
        },
        "initial_result": {"due": 6, "within_target": 3, "compliance_rate": 0.5},
        "satisfaction": NO_SATISFACTION,
        "cases": NO_CASES,
        # A1, A2, B1, B2, B3 and N1 closed (A4 was cancelled): none complete.
        "three_feedbacks": three_feedbacks(6, 0, 0.0),
        "mediation": NO_MEDIATION,
        "scope": "bureau",
    }

    # The next day (Shanghai) holds A5 only, although A5 was received on D in UTC.
    nxt = (await get(bureau, "supervisor", "/api/reports/daily", date="2026-11-21")).json()
    assert nxt["bureau"]["received"] == 1 and nxt["bureau"]["by_category"]["help"] == 1


async def test_monthly_and_quarterly_carry_over(bureau: Bureau, clock: ManualClock) -> None:
    d = await build(bureau, clock)
    r = await get(bureau, "dispatcher", "/api/reports/monthly", month="2026-11")
    assert r.status_code == 200, r.text
    month = r.json()
    assert month["month"] == "2026-11"
    # November (Shanghai): A0 A1 A2 A3 A5 B1 B2 B3 N1 received; M1 (00:20 on 1 Nov in
    # Shanghai, still 31 Oct in UTC) and A4 cancelled. O1 belongs to October.
    # Not closed within 24 h: A0 (open, due 20 Nov 23:50) and A2 (closed after 25 h).
    assert month["bureau"]["received"] == 9
    assert month["bureau"]["cancelled"] == 2
    assert month["bureau"]["cleared"] == 5
    assert month["bureau"]["carried_over"] == 2
    assert month["bureau"]["open"] == 2  # A3 and A5
    assert [i["id"] for i in month["carried_over_incidents"]] == [d.ids["A0"], d.ids["A2"]]
    a0, a2 = month["carried_over_incidents"]
    assert a0["status"] == "dispatched" and a0["closed_at"] is None
    assert a2["status"] == "closed" and a2["station_id"] == bureau.stations["a"]

    october = (await get(bureau, "dispatcher", "/api/reports/monthly", month="2026-10")).json()
    assert october["bureau"]["received"] == 1 and october["bureau"]["cancelled"] == 0
    assert [i["id"] for i in october["carried_over_incidents"]] == [d.ids["O1"]]

    quarter = (await get(bureau, "dispatcher", "/api/reports/quarterly", quarter="2026-Q4")).json()
    assert quarter["quarter"] == "2026-Q4"
    assert quarter["bureau"]["received"] == 10 and quarter["bureau"]["cancelled"] == 2
    assert [i["id"] for i in quarter["carried_over_incidents"]] == [
        d.ids["O1"],
        d.ids["A0"],
        d.ids["A2"],
    ]
    empty = (await get(bureau, "dispatcher", "/api/reports/quarterly", quarter="2027-Q1")).json()
    assert empty["bureau"]["received"] == 0 and empty["carried_over_incidents"] == []


async def test_csv_export(bureau: Bureau, clock: ManualClock) -> None:
    d = await build(bureau, clock)
    r = await get(bureau, "supervisor", "/api/reports/daily", date="2026-11-20", format="csv")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "period", "scope", "station_id", "name", "received",
        "received_criminal", "received_public_order", "received_dispute", "received_help",
        "received_traffic", "received_non_police", "received_other",
        "cancelled", "cleared", "carried_over", "open",
        "arrival_dispatched", "arrival_arrived", "arrival_within_target", "arrival_pending",
        "arrival_compliance_rate", "arrival_median_min", "arrival_p90_min",
        "initial_result_due", "initial_result_within_target", "initial_result_compliance_rate",
        # then the satisfaction block's columns (tests/server/test_reports_satisfaction.py)
        *SATISFACTION_COLUMNS,
        # then the §11 figures (docs/reports.md)
        "cases_accepted", "cases_filed", "cases_solved", "cases_closed", "cases_transferred",
        "cases_closure_rate",
        "three_feedbacks_closed", "three_feedbacks_complete", "three_feedbacks_complete_rate",
        "mediation_outcomes", "mediation_reached", "mediation_partial", "mediation_failed",
        "mediation_follow_ups_due",
    ]  # fmt: skip
    summary_rows = rows[1 : rows.index([])]  # then the diversion block (PROTOCOL §10)
    by_station = {row[2]: row for row in summary_rows}
    a = by_station[bureau.stations["a"]]
    assert a[:5] == ["2026-11-20", "station", bureau.stations["a"], "甲派出所", "3"]
    # cancelled, cleared, carried_over, open, then arrival and initial-result figures.
    # (arrival_pending, 0, after arrival_within_target)
    expected = [
        "0", "1", "1", "1", "3", "3", "2", "0", "0.6667", "9.0", "12.0", "3", "1", "0.3333"
    ]  # fmt: skip
    assert a[12:26] == expected
    bureau_row = by_station[""]
    assert bureau_row[1] == "bureau" and bureau_row[4] == "7"
    assert bureau.stations["agency"] not in by_station

    r = await get(bureau, "supervisor", "/api/reports/monthly", month="2026-11", format="csv")
    text = r.content.decode("utf-8-sig")
    summary, carried, open_cases, diversion = text.split("\r\n\r\n")
    assert list(csv.reader(io.StringIO(open_cases))) == [
        ["number", "incident_id", "station_id", "case_number", "stage", "filed_at"]
    ]
    assert diversion.startswith("period,scope,agency_id,name,diverted,")
    carried_rows = list(csv.reader(io.StringIO(carried)))
    assert carried_rows[0] == [
        "number", "id", "station_id", "category", "status", "received_at", "clear_due_at",
        "closed_at",
    ]  # fmt: skip
    assert [row[1] for row in carried_rows[1:]] == [d.ids["A0"], d.ids["A2"]]


async def test_scope_chief_sees_own_station_officer_none(
    bureau: Bureau, clock: ManualClock
) -> None:
    await build(bureau, clock)
    r = await get(bureau, "chief_b", "/api/reports/daily", date="2026-11-20")
    assert r.status_code == 200, r.text
    report = r.json()
    assert [s["station_id"] for s in report["stations"]] == [bureau.stations["b"]]
    # The chief's "bureau" block covers their station only.
    b = report["stations"][0]
    assert report["bureau"] == {
        **{k: v for k, v in b.items() if k not in ("station_id", "name")},
        "scope": "station",
    }
    assert report["bureau"]["received"] == 3
    r = await get(
        bureau, "chief_b", "/api/reports/daily", date="2026-11-20", station_id=bureau.stations["a"]
    )
    assert r.status_code == 403
    r = await get(bureau, "chief_a", "/api/reports/monthly", month="2026-11")
    assert [i["station_id"] for i in r.json()["carried_over_incidents"]] == [
        bureau.stations["a"]
    ] * 2
    for who in ("officer_a", "grid_b", "mediator_a", "agency_x"):
        r = await get(bureau, who, "/api/reports/daily", date="2026-11-20")
        assert r.status_code == 403, who
        assert set(r.json()) == {"code", "message"}
    # A command-center role may narrow to one station; the bureau block stays whole.
    r = await get(
        bureau,
        "dispatcher",
        "/api/reports/daily",
        date="2026-11-20",
        station_id=bureau.stations["b"],
    )
    assert [s["station_id"] for s in r.json()["stations"]] == [bureau.stations["b"]]
    assert r.json()["bureau"]["received"] == 7
    r = await get(bureau, "dispatcher", "/api/reports/daily", date="2026-11-20", station_id="nope")
    assert r.status_code == 404
    r = await bureau.client.get("/api/reports/daily", params={"date": "2026-11-20"})
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("daily", {"date": "2026-02-30"}),
        ("daily", {"date": "2026-11-20T00:00"}),
        ("daily", {"date": "20261120"}),
        ("daily", {"date": "yesterday"}),
        ("daily", {}),
        ("monthly", {"month": "2026-13"}),
        ("monthly", {"month": "2026-00"}),
        ("monthly", {"month": "2026-1"}),
        ("monthly", {}),
        ("quarterly", {"quarter": "2026-Q5"}),
        ("quarterly", {"quarter": "2026-Q0"}),
        ("quarterly", {"quarter": "2026Q1"}),
        ("quarterly", {}),
        ("daily", {"date": "2026-11-20", "format": "xlsx"}),
    ],
)
async def test_bad_periods_are_400(bureau: Bureau, path: str, params: dict[str, str]) -> None:
    r = await get(bureau, "supervisor", f"/api/reports/{path}", **params)
    assert r.status_code == 400, (path, params, r.text)
    assert set(r.json()) == {"code", "message"}


def test_period_bounds_are_shanghai_days() -> None:
    from server.services.reports import nearest_rank, parse_day, parse_month, parse_quarter

    day = parse_day("2026-11-20")
    assert day.start.isoformat() == "2026-11-19T16:00:00+00:00"
    assert day.end.isoformat() == "2026-11-20T16:00:00+00:00"
    dec = parse_month("2026-12")
    assert dec.end.isoformat() == "2026-12-31T16:00:00+00:00"
    q4 = parse_quarter("2026-Q4")
    assert (q4.start.isoformat(), q4.end.isoformat()) == (
        "2026-09-30T16:00:00+00:00",
        "2026-12-31T16:00:00+00:00",
    )
    # Nearest rank, by hand: 10 values 1..10 -> median the 5th (5), p90 the 9th (9).
    assert nearest_rank([float(v) for v in range(10, 0, -1)], 50) == 5
    assert nearest_rank([float(v) for v in range(1, 11)], 90) == 9
    assert nearest_rank([7.0], 90) == 7 and nearest_rank([], 50) is None
    assert timedelta(0) == timedelta(0)
