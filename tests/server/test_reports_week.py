"""The weekly report (日结周评, PROTOCOL §11) and `arrival.pending` (PROTOCOL §7).

ISO weeks, Monday 00:00 Asia/Shanghai to the next Monday. 2026 and 2020 have 53 ISO weeks
(2026 begins on a Thursday, 2020 is a leap year beginning on a Wednesday); 2025 and 2027
have 52. 2026-W48 is Monday 23 November to Sunday 29 November 2026.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
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
    return ManualClock(t(11, 22, 23, 0))


@pytest.fixture
def settings(clock: ManualClock) -> Settings:
    return Settings(database_url=TEST_DATABASE_URL, clock=clock)


async def weekly(bureau: Bureau, week: str, **params: str) -> Any:
    return await bureau.call(
        "supervisor", "GET", "/api/reports/weekly", params={"week": week, **params}
    )


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


@pytest.mark.parametrize(
    ("week", "start", "end"),
    [
        # Monday 00:00 Shanghai is Sunday 16:00 UTC.
        (
            "2026-W48",
            datetime(2026, 11, 22, 16, tzinfo=UTC),
            datetime(2026, 11, 29, 16, tzinfo=UTC),
        ),
        # Across the year's end: W53 of 2026 runs Mon 28 Dec 2026 to Mon 4 Jan 2027.
        ("2026-W53", datetime(2026, 12, 27, 16, tzinfo=UTC), datetime(2027, 1, 3, 16, tzinfo=UTC)),
        ("2027-W01", datetime(2027, 1, 3, 16, tzinfo=UTC), datetime(2027, 1, 10, 16, tzinfo=UTC)),
        ("2020-W53", datetime(2020, 12, 27, 16, tzinfo=UTC), datetime(2021, 1, 3, 16, tzinfo=UTC)),
        # 2026-W01 begins on Monday 29 December 2025.
        ("2026-W01", datetime(2025, 12, 28, 16, tzinfo=UTC), datetime(2026, 1, 4, 16, tzinfo=UTC)),
    ],
)
async def test_week_bounds(
    bureau: Bureau, clock: ManualClock, week: str, start: datetime, end: datetime
) -> None:
    r = await weekly(bureau, week)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["week"] == week
    assert utc(report["period"]["start"]) == start and utc(report["period"]["end"]) == end
    assert report["period"]["time_zone"] == "Asia/Shanghai"
    # The daily report's shape: no lists.
    assert "carried_over_incidents" not in report and "open_cases" not in report
    assert "date" not in report and "month" not in report


@pytest.mark.parametrize(
    "week",
    [
        "2027-W53",  # 2027 has 52 weeks
        "2025-W53",
        "2026-W00",
        "2026-W54",
        "2026-48",
        "2026-W4",
        "2026W48",
        "1969-W01",
        "2101-W01",
        "abcd-Wxy",
        "",
    ],
)
async def test_bad_weeks(bureau: Bureau, week: str) -> None:
    r = await weekly(bureau, week)
    assert r.status_code == 400, r.text
    if week:
        assert r.json()["code"] == "invalid_date"


async def test_weekly_figures_and_pending(bureau: Bureau, clock: ManualClock) -> None:
    """W48's incidents, counted on their Shanghai day, with an officer still on the way.

    W1  Sun 22 Nov 23:30  (W47: before the week)
    W2  Mon 23 Nov 00:10  (W48; still Sunday 22 Nov in UTC)  a, dispatched 00:11, arrival 00:17 (6 min)
    W3  Sun 29 Nov 23:50  (W48, its last minutes)             a, dispatched 23:52, on its way
    W4  Mon 30 Nov 00:05  (W49)
    Read first at 29 Nov 23:55, W3's officer on the way (its arrival clock, 10 min from
    23:52, is due at 00:02): pending, neither within target nor missed. Read again at
    30 Nov 00:05: W3's clock is overdue, a miss.
    """
    d = Desk(bureau, clock)
    await d.at(t(11, 22, 23, 30))
    await d.create("W1", "dispute")
    await d.at(t(11, 23, 0, 10))
    await d.create("W2", "dispute")
    await d.at(t(11, 23, 0, 11))
    await d.dispatch("W2", "a", "officer_a")
    await d.at(t(11, 23, 0, 17))
    await d.field("W2", "officer_a", "arrival")
    await d.at(t(11, 29, 23, 50))
    await d.create("W3", "traffic")
    await d.at(t(11, 29, 23, 52))
    await d.dispatch("W3", "a", "officer_a2")
    await d.at(t(11, 29, 23, 55))

    r = await weekly(bureau, "2026-W48")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["bureau"]["received"] == 2
    assert report["bureau"]["by_category"]["dispute"] == 1
    assert report["bureau"]["by_category"]["traffic"] == 1
    # W2 within target; W3 still on its way: pending, out of the denominator: 1 / (2 - 1).
    arrival = {
        "dispatched": 2,
        "arrived": 1,
        "within_target": 1,
        "pending": 1,
        "compliance_rate": 1.0,
        "median_min": 6,
        "p90_min": 6,
    }
    assert report["bureau"]["arrival"] == arrival
    a = next(s for s in report["stations"] if s["station_id"] == bureau.stations["a"])
    assert a["arrival"] == arrival

    # A day with only the incident on its way reads "no figure yet", not 0%.
    day = (
        await bureau.call("supervisor", "GET", "/api/reports/daily", params={"date": "2026-11-29"})
    ).json()
    assert day["bureau"]["arrival"]["pending"] == 1
    assert day["bureau"]["arrival"]["compliance_rate"] is None

    # 00:05 on Monday: W3's clock (due 00:02) is overdue, no longer pending: 1 / 2.
    await d.at(t(11, 30, 0, 5))
    await d.create("W4", "dispute")
    report = (await weekly(bureau, "2026-W48")).json()
    assert report["bureau"]["received"] == 2  # W4 is W49's
    assert report["bureau"]["arrival"] | {"median_min": 6} == arrival | {
        "pending": 0,
        "compliance_rate": 0.5,
    }
    assert (await weekly(bureau, "2026-W49")).json()["bureau"]["received"] == 1
    assert (await weekly(bureau, "2026-W47")).json()["bureau"]["received"] == 1

    # CSV: the summary, then the diversion block; no carried-over list.
    r = await weekly(bureau, "2026-W48", format="csv")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="qingling-weekly-2026-W48.csv"' in r.headers["content-disposition"]
    text = r.content.decode("utf-8-sig")
    summary, diversion = text.split("\r\n\r\n")
    rows = list(csv.reader(io.StringIO(summary)))
    cells = dict(zip(rows[0], rows[-1], strict=True))
    assert cells["period"] == "2026-W48" and cells["scope"] == "bureau"
    assert cells["received"] == "2"
    assert cells["arrival_pending"] == "0" and cells["arrival_compliance_rate"] == "0.5"


async def test_weekly_scope(bureau: Bureau, clock: ManualClock) -> None:
    chief = await bureau.call("chief_a", "GET", "/api/reports/weekly", params={"week": "2026-W48"})
    assert chief.status_code == 200 and chief.json()["bureau"]["scope"] == "station"
    officer = await bureau.call(
        "officer_a", "GET", "/api/reports/weekly", params={"week": "2026-W48"}
    )
    assert officer.status_code == 403
