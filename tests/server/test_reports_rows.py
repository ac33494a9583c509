"""The report rows (`report_row`, server/write/report_rows.py) the reports count from:
after the report tests' datasets are built through the API (create, dispatch, reassign,
arrival and scene reports, close, cancel, verdicts by callback, QR and poster, callbacks
unreachable, mediation outcomes), every incident's stored row, kept by the write path, is
the row made again from the tables (`rebuild`: the incident, its stored clocks, its
verdict and its callback task, what the reports read before the rows and what the
migration backfills).
"""

from __future__ import annotations

from datetime import datetime
from types import ModuleType
from typing import Any

import pytest

from server.core.clock import SHANGHAI, ManualClock
from server.core.config import Settings
from server.core.db import write_transaction
from server.core.tables import Incident, ReportRow
from server.write import report_rows
from tests.conftest import TEST_DATABASE_URL
from tests.server import test_reports, test_reports_feedbacks, test_reports_satisfaction
from tests.server.conftest import Bureau

# Each dataset's builder, the time its test's clock starts at, and columns some of its
# rows fill (so the comparison is not of empty columns).
DATASETS: dict[str, tuple[ModuleType, datetime, tuple[str, ...]]] = {
    "clearance": (
        test_reports,
        datetime(2026, 10, 31, 23, 30, tzinfo=SHANGHAI),
        ("arrival_span_us", "initial_met_at", "clear_due_at", "cancelled_at"),
    ),
    "satisfaction": (
        test_reports_satisfaction,
        datetime(2026, 11, 19, 23, 50, tzinfo=SHANGHAI),
        ("overall", "handling", "cancelled_at", "callback_state"),
    ),
    "feedbacks": (
        test_reports_feedbacks,
        datetime(2026, 11, 19, 23, 0, tzinfo=SHANGHAI),
        ("feedbacks_complete", "arrival_met_at"),
    ),
}


@pytest.fixture(params=sorted(DATASETS))
def dataset(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock(dataset: str) -> ManualClock:
    return ManualClock(DATASETS[dataset][1])


@pytest.fixture
def settings(clock: ManualClock) -> Settings:
    return Settings(database_url=TEST_DATABASE_URL, clock=clock)


async def stored_rows() -> dict[str, dict[str, Any]]:
    columns = [getattr(ReportRow, c) for c in report_rows.ALL_COLUMNS]
    return {r["id"]: r for r in await ReportRow.select(*columns)}


async def test_kept_rows_are_the_rows_made_from_the_tables(
    bureau: Bureau, clock: ManualClock, dataset: str
) -> None:
    await DATASETS[dataset][0].build(bureau, clock)
    kept = await stored_rows()
    incidents = {r["id"] for r in await Incident.select(Incident.id)}
    assert set(kept) == incidents
    async with write_transaction():
        await report_rows.rebuild()
    assert await stored_rows() == kept
    for column in DATASETS[dataset][2]:
        assert any(r[column] for r in kept.values()), column
