"""Clearance reports (PROTOCOL §7): JSON, or CSV with `format=csv`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Response, get
from litestar.params import FromQuery, QueryParameter

from server.http.guards import CurrentCaller
from server.services import reports

Format = Literal["json", "csv"]
StationFilter = Annotated[
    str | None,
    QueryParameter(pattern=r"^[A-Za-z0-9._:-]{1,64}$", max_length=64, description="a station id"),
]


def _period(pattern: str, example: str) -> Any:
    """A report period: checked (400 invalid_date) by server/services/reports.py, bounded
    here so junk never gets far. Its shape is documented (schema_extra) but not enforced
    here, where a wrong one would be Litestar's `invalid` instead of `invalid_date`."""
    return QueryParameter(max_length=10, schema_extra={"pattern": pattern, "examples": [example]})


DayText = Annotated[str, _period(r"^\d{4}-\d{2}-\d{2}$", "2026-11-20")]
WeekText = Annotated[str, _period(r"^\d{4}-W\d{2}$", "2026-W48")]
MonthText = Annotated[str, _period(r"^\d{4}-\d{2}$", "2026-11")]
QuarterText = Annotated[str, _period(r"^\d{4}-Q[1-4]$", "2026-Q4")]


def _respond(
    report: dict[str, Any], label: str, kind: str, fmt: str
) -> Response[Any] | dict[str, Any]:
    if fmt == "csv":
        return Response(
            content=reports.report_csv(report, label),
            media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types
            headers={"Content-Disposition": f'attachment; filename="qingling-{kind}-{label}.csv"'},
        )
    return report


class ReportController(Controller):
    path = "/api/reports"
    tags = ["reports"]

    @get("/daily")
    async def daily(
        self,
        caller: CurrentCaller,
        date: DayText,
        station_id: StationFilter = None,
        format: FromQuery[Format] = "json",
    ) -> Response[Any] | dict[str, Any]:
        """日清: the day's incidents (Asia/Shanghai) per station and for the bureau."""
        period = reports.parse_day(date)
        report = await reports.build_report(caller, period, station_id)
        return _respond(report, period.label, "daily", format)

    @get("/weekly")
    async def weekly(
        self,
        caller: CurrentCaller,
        week: WeekText,
        station_id: StationFilter = None,
        format: FromQuery[Format] = "json",
    ) -> Response[Any] | dict[str, Any]:
        """日结周评: the ISO week's incidents (Monday first, Asia/Shanghai), the daily shape."""
        period = reports.parse_week(week)
        report = await reports.build_report(caller, period, station_id)
        return _respond(report, period.label, "weekly", format)

    @get("/monthly")
    async def monthly(
        self,
        caller: CurrentCaller,
        month: MonthText,
        station_id: StationFilter = None,
        format: FromQuery[Format] = "json",
    ) -> Response[Any] | dict[str, Any]:
        """月结: the month's figures and the incidents carried over (not closed in 24 h)."""
        period = reports.parse_month(month)
        report = await reports.build_report(caller, period, station_id)
        return _respond(report, period.label, "monthly", format)

    @get("/quarterly")
    async def quarterly(
        self,
        caller: CurrentCaller,
        quarter: QuarterText,
        station_id: StationFilter = None,
        format: FromQuery[Format] = "json",
    ) -> Response[Any] | dict[str, Any]:
        """季清底: the quarter's figures and its carried-over backlog."""
        period = reports.parse_quarter(quarter)
        report = await reports.build_report(caller, period, station_id)
        return _respond(report, period.label, "quarterly", format)
