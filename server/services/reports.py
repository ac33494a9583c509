"""Clearance reports (PROTOCOL §7): daily (日清), monthly settlement (月结), quarterly
backlog (季清底). docs/reports.md says how each figure is computed.

Read from the incident rows and their stored SLA clocks (`sla_clock`, kept by every
write), so a month of 50,000 incidents is two indexed reads and arithmetic, not 50,000
folds. Clock states are judged "now" (the server's clock source) from the stored due and
met times, exactly as the incident record judges them. The satisfaction figures (PROTOCOL
§9) are counted by the database in one more read, per station, from each incident's
verdict and callback task (`feedback`, `callback_task`, joined by primary key).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from server.access.accounts import Caller
from server.core.clock import SHANGHAI, as_utc, day_bounds, utcnow
from server.core.errors import BadRequest, Forbidden, NotFound
from server.core.tables import Incident, Station
from sync.messages import CATEGORIES, DIMENSIONS, LEVELS

# Stations that take incidents: every kind but the command center itself, and linked
# agencies, whose figures are the `diversion` block's (PROTOCOL §10).
_NOT_REPORTED_KINDS = ("command_center", "linked_agency")


@dataclass(frozen=True)
class Period:
    kind: str  # daily | monthly | quarterly
    label: str  # 2026-11-20 | 2026-11 | 2026-Q4
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


# Report periods lie within these years (PROTOCOL §12), like every time the server keeps.
FIRST_YEAR, LAST_YEAR = 1970, 2100


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadRequest(
            f"reports cover {FIRST_YEAR} to {LAST_YEAR}; {year} is outside", code="invalid_date"
        )


def parse_day(value: str) -> Period:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value or ""):
        raise BadRequest("date must be YYYY-MM-DD", code="invalid_date")
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"no such day: {value}", code="invalid_date") from exc
    _check_year(day.year)
    start, end = day_bounds(day)
    return Period("daily", value, start, end)


def _months(year: int, first: int, count: int) -> tuple[datetime, datetime]:
    start = datetime(year, first, 1, tzinfo=SHANGHAI)
    last = first + count
    end = datetime(year + (last - 1) // 12, (last - 1) % 12 + 1, 1, tzinfo=SHANGHAI)
    return as_utc(start), as_utc(end)


def parse_month(value: str) -> Period:
    m = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise BadRequest("month must be YYYY-MM", code="invalid_date")
    _check_year(int(m.group(1)))
    start, end = _months(int(m.group(1)), int(m.group(2)), 1)
    return Period("monthly", value, start, end)


def parse_quarter(value: str) -> Period:
    m = re.fullmatch(r"(\d{4})-Q([1-4])", value or "")
    if not m:
        raise BadRequest("quarter must be YYYY-Qn (n from 1 to 4)", code="invalid_date")
    _check_year(int(m.group(1)))
    start, end = _months(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 3)
    return Period("quarterly", value, start, end)


def nearest_rank(values: list[float], percent: float) -> float | None:
    """The smallest value with at least `percent`% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _dt(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


def _state(due: datetime | None, met: datetime | None, now: datetime) -> str:
    if met is not None:
        return "met" if due is None or met <= due else "met_late"
    if due is not None and now > due:
        return "overdue"
    return "running"


CALLBACK_STATES = ("due", "done", "unreachable")
# Per station (null: never dispatched), over the period's incidents, cancelled ones too
# (docs/reports.md): how many verdicts say each level overall and on each dimension, and
# how many callback tasks are now in each state. Counted by the database, a row per station,
# rather than read as five more columns of every incident row: the two primary-key
# look-ups per incident cost the same either way (docs/performance.md), and this way no
# Python runs per incident for them.
_COUNTS = [
    *[f"{column}_{level}" for column in ("overall", *DIMENSIONS) for level in LEVELS],
    *[f"callbacks_{state}" for state in CALLBACK_STATES],
]


@dataclass
class Satisfaction:
    """The citizen's verdicts and the callbacks (PROTOCOL §9) of one station or the bureau,
    summed from `_SATISFACTION_SQL`'s rows (one per station)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_COUNTS, 0))

    def add(self, row: dict[str, Any]) -> None:
        for name in _COUNTS:
            self.counts[name] += int(row[name] or 0)

    def figures(self) -> dict[str, Any]:
        c = self.counts
        rated = sum(c[f"overall_{level}"] for level in LEVELS)
        return {
            "rated": rated,
            **{level: c[f"overall_{level}"] for level in LEVELS},
            "satisfaction_rate": _rate(c["overall_satisfied"], rated),
            "unsatisfied_rate": _rate(c["overall_unsatisfied"], rated),
            "by_dimension": {d: {level: c[f"{d}_{level}"] for level in LEVELS} for d in DIMENSIONS},
            **{f"callbacks_{state}": c[f"callbacks_{state}"] for state in CALLBACK_STATES},
        }


_SATISFACTION_SQL = (
    "SELECT i.station, "
    + ", ".join(
        [
            f"count(CASE WHEN f.{column} = '{level}' THEN 1 END) AS {column}_{level}"
            for column in ("overall", *DIMENSIONS)
            for level in LEVELS
        ]
        + [
            f"count(CASE WHEN cb.state = '{state}' THEN 1 END) AS callbacks_{state}"
            for state in CALLBACK_STATES
        ]
    )
    + " FROM incident i"
    " LEFT JOIN feedback f ON f.id = i.id"
    " LEFT JOIN callback_task cb ON cb.id = i.id"
    " WHERE i.bureau = {} AND i.received_at >= {} AND i.received_at < {}"
)


def _in_period(
    sql: str, bureau_id: str, period: Period, station_id: str | None
) -> tuple[str, list[Any]]:
    """`sql` (ending in the bureau and period's WHERE, incidents as `i`) narrowed to one
    station when the report is for one, and its values."""
    values: list[Any] = [bureau_id, period.start, period.end]
    if station_id is not None:
        sql += " AND i.station = {}"
        values.append(station_id)
    return sql, values


async def _satisfaction(bureau_id: str, period: Period, station_id: str | None) -> list[dict]:
    sql, values = _in_period(_SATISFACTION_SQL, bureau_id, period, station_id)
    return list(await Incident.raw(sql + " GROUP BY i.station", *values))


@dataclass
class Tally:
    """The figures of one station (or the bureau) over a period."""

    received: int = 0
    by_category: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    cancelled: int = 0
    cleared: int = 0
    carried_over: int = 0
    open: int = 0
    dispatched: int = 0
    arrived: int = 0
    arrival_within: int = 0
    arrival_minutes: list[float] = field(default_factory=list)
    initial_due: int = 0
    initial_within: int = 0
    satisfaction: Satisfaction = field(default_factory=Satisfaction)

    def add(self, inc: dict[str, Any], now: datetime) -> str | None:
        """Count one incident; returns its clear outcome (or None when cancelled)."""
        if inc["cancelled_at"] is not None or inc["status"] == "cancelled":
            self.cancelled += 1
            return None
        self.received += 1
        self.by_category[inc["category"]] = self.by_category.get(inc["category"], 0) + 1
        clear = _state(inc["clear_due"], inc["closed_at"], now)
        outcome = {"met": "cleared", "running": "open"}.get(clear, "carried_over")
        setattr(self, outcome, getattr(self, outcome) + 1)
        dispatched = inc["dispatched_at"]
        if dispatched is not None:
            self.dispatched += 1
            arrived = inc["arrival_met"]
            if arrived is not None:
                self.arrived += 1
                self.arrival_minutes.append(round((arrived - dispatched).total_seconds() / 60, 2))
            if _state(inc["arrival_due"], arrived, now) == "met":
                self.arrival_within += 1
            initial = _state(inc["initial_due"], inc["initial_met"], now)
            if initial != "running":
                self.initial_due += 1
                self.initial_within += initial == "met"
        return outcome

    def figures(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "by_category": dict(self.by_category),
            "cancelled": self.cancelled,
            "cleared": self.cleared,
            "carried_over": self.carried_over,
            "open": self.open,
            "arrival": {
                "dispatched": self.dispatched,
                "arrived": self.arrived,
                "within_target": self.arrival_within,
                "compliance_rate": _rate(self.arrival_within, self.dispatched),
                "median_min": nearest_rank(self.arrival_minutes, 50),
                "p90_min": nearest_rank(self.arrival_minutes, 90),
            },
            "initial_result": {
                "due": self.initial_due,
                "within_target": self.initial_within,
                "compliance_rate": _rate(self.initial_within, self.initial_due),
            },
            "satisfaction": self.satisfaction.figures(),
        }


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


# One row per incident; its clocks found by primary key ("<incident id>:<clock>").
_INCIDENTS_SQL = (
    "SELECT i.id, i.number, i.station, i.category, i.status, i.received_at, i.dispatched_at,"
    " i.closed_at, i.cancelled_at, ca.due_at AS arrival_due, ca.met_at AS arrival_met,"
    " ci.due_at AS initial_due, ci.met_at AS initial_met, cc.due_at AS clear_due"
    " FROM incident i"
    " LEFT JOIN sla_clock ca ON ca.id = i.id || ':arrival'"
    " LEFT JOIN sla_clock ci ON ci.id = i.id || ':initial_result'"
    " LEFT JOIN sla_clock cc ON cc.id = i.id || ':clear'"
    " WHERE i.bureau = {} AND i.received_at >= {} AND i.received_at < {}"
)
_TIMES = (
    "received_at",
    "dispatched_at",
    "closed_at",
    "cancelled_at",
    "arrival_due",
    "arrival_met",
    "initial_due",
    "initial_met",
    "clear_due",
)


async def _incidents(bureau_id: str, period: Period, station_id: str | None) -> list[dict]:
    sql, values = _in_period(_INCIDENTS_SQL, bureau_id, period, station_id)
    rows = await Incident.raw(sql + " ORDER BY i.received_at, i.number", *values)
    for r in rows:
        for key in _TIMES:
            r[key] = _dt(r[key])
    return list(rows)


async def build_report(caller: Caller, period: Period, station_id: str | None) -> dict[str, Any]:
    """The report for `period` in the caller's scope (see docs/reports.md, "Who sees what")."""
    if caller.role == "station_chief":
        if station_id is not None and station_id != caller.station_id:
            raise Forbidden("a station chief sees their own station's report only")
        station_id = caller.station_id or ""
        only_station = True
    elif caller.is_command:
        only_station = False
    else:
        raise Forbidden("reports are for the command center and station chiefs")

    stations_query = Station.select(Station.id, Station.name, Station.kind).where(
        Station.bureau == caller.bureau_id
    )
    stations = [s for s in await stations_query.order_by(Station.name)]
    if station_id is not None and not any(s["id"] == station_id for s in stations):
        raise NotFound(f"no station {station_id!r} in your bureau")
    if station_id is not None:
        # A linked agency's figures are the `diversion` block's, never a `stations` row.
        shown = [s for s in stations if s["id"] == station_id and s["kind"] != "linked_agency"]
    else:
        shown = [s for s in stations if s["kind"] not in _NOT_REPORTED_KINDS]

    now = utcnow()
    scope = station_id if only_station else None
    incidents = await _incidents(caller.bureau_id, period, scope)
    tallies = {s["id"]: Tally() for s in shown}
    bureau = Tally()
    carried: list[dict[str, Any]] = []
    for inc in incidents:
        outcome = bureau.add(inc, now)
        tally = tallies.get(inc["station"])
        if tally is not None:
            tally.add(inc, now)
        if outcome == "carried_over" and (station_id is None or inc["station"] == station_id):
            carried.append(_carried_view(inc))
    for row in await _satisfaction(caller.bureau_id, period, scope):
        bureau.satisfaction.add(row)
        tally = tallies.get(row["station"])
        if tally is not None:
            tally.satisfaction.add(row)

    report: dict[str, Any] = {
        "date" if period.kind == "daily" else "month" if period.kind == "monthly" else "quarter": (
            period.label
        ),
        "period": {"start": period.start, "end": period.end, "time_zone": "Asia/Shanghai"},
        "generated_at": now,
        "stations": [
            {"station_id": s["id"], "name": s["name"], **tallies[s["id"]].figures()} for s in shown
        ],
        "bureau": bureau.figures(),
    }
    # A station chief's "bureau" block covers their station only (docs/reports.md).
    report["bureau"]["scope"] = "station" if only_station else "bureau"
    report["diversion"] = await _diversion_block(
        caller.bureau_id, period, stations, station_id, bureau.received
    )
    if period.kind != "daily":
        report["carried_over_incidents"] = carried
    return report


# ---------------------------------------------------------------------------------------
# Diversion to linked agencies (PROTOCOL §10): every diversion of an incident received in
# the period (the §7 rule), cancelled incidents left out as everywhere but `cancelled`.

_DIVERSIONS_SQL = (
    "SELECT d.agency, d.ack_due_at, d.feedback_due_at, d.acknowledged_at, d.fed_back_at,"
    " d.outcome, i.status FROM diversion d JOIN incident i ON i.id = d.incident"
    " WHERE i.bureau = {} AND i.received_at >= {} AND i.received_at < {}"
    " AND i.status <> 'cancelled'"
)
DIVERSION_FIGURES = (
    "diverted",
    "acknowledged_within_target",
    "fed_back",
    "fed_back_within_target",
    "returned",
    "open",
)


def _diversion_counts(d: dict[str, Any]) -> dict[str, int]:
    """One diversion's contribution to each figure (docs/reports.md, "Diversion")."""
    acked, ack_due = _dt(d["acknowledged_at"]), _dt(d["ack_due_at"])
    fed, feedback_due = _dt(d["fed_back_at"]), _dt(d["feedback_due_at"])
    answered = d["outcome"] in ("handled", "referred")
    return {
        "diverted": 1,
        "acknowledged_within_target": int(
            acked is not None and ack_due is not None and acked <= ack_due
        ),
        "fed_back": int(answered),
        "fed_back_within_target": int(
            answered and fed is not None and feedback_due is not None and fed <= feedback_due
        ),
        "returned": int(d["outcome"] == "returned"),
        "open": int(d["outcome"] is None and d["status"] != "closed"),
    }


async def _diversion_block(
    bureau_id: str,
    period: Period,
    stations: list[dict[str, Any]],
    station_id: str | None,
    received: int,
) -> dict[str, Any]:
    """`diversion`: per linked agency (all of the bureau's, by name; only the one asked
    for when the report is for one station) and for the bureau, with `diversion_rate` =
    diverted ÷ the report's `received`."""
    agencies = [
        s for s in stations if s["kind"] == "linked_agency" and station_id in (None, s["id"])
    ]
    figures = {a["id"]: dict.fromkeys(DIVERSION_FIGURES, 0) for a in agencies}
    rows = await Incident.raw(_DIVERSIONS_SQL, bureau_id, period.start, period.end)
    for d in rows:
        tally = figures.get(d["agency"])
        if tally is None:
            continue
        for key, n in _diversion_counts(d).items():
            tally[key] += n
    sums = {k: sum(f[k] for f in figures.values()) for k in DIVERSION_FIGURES}
    return {
        "agencies": [
            {"agency_id": a["id"], "name": a["name"], **figures[a["id"]]} for a in agencies
        ],
        "bureau": {**sums, "diversion_rate": _rate(sums["diverted"], received)},
    }


def _carried_view(inc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": inc["id"],
        "number": inc["number"],
        "station_id": inc["station"],
        "category": inc["category"],
        "status": inc["status"],
        "received_at": inc["received_at"],
        "clear_due_at": inc["clear_due"],
        "closed_at": inc["closed_at"],
    }


# ---------------------------------------------------------------------------------------
# CSV export: one row per station and one for the bureau; monthly and quarterly add the
# carried-over incidents after a blank line. UTF-8 with a BOM, so Excel reads Chinese.

SUMMARY_COLUMNS = [
    "period",
    "scope",
    "station_id",
    "name",
    "received",
    *[f"received_{c}" for c in CATEGORIES],
    "cancelled",
    "cleared",
    "carried_over",
    "open",
    "arrival_dispatched",
    "arrival_arrived",
    "arrival_within_target",
    "arrival_compliance_rate",
    "arrival_median_min",
    "arrival_p90_min",
    "initial_result_due",
    "initial_result_within_target",
    "initial_result_compliance_rate",
    "satisfaction_rated",
    *[f"satisfaction_{level}" for level in LEVELS],
    "satisfaction_rate",
    "satisfaction_unsatisfied_rate",
    *[f"satisfaction_{d}_{level}" for d in DIMENSIONS for level in LEVELS],
    *[f"satisfaction_callbacks_{state}" for state in CALLBACK_STATES],
]
DIVERSION_COLUMNS = [
    "period",
    "scope",
    "agency_id",
    "name",
    "diverted",
    "acknowledged_within_target",
    "fed_back",
    "fed_back_within_target",
    "returned",
    "open",
    "diversion_rate",
]
CARRIED_COLUMNS = [
    "number",
    "id",
    "station_id",
    "category",
    "status",
    "received_at",
    "clear_due_at",
    "closed_at",
]


def _summary_row(label: str, scope: str, sid: str, name: str, f: dict[str, Any]) -> list[Any]:
    a, ir, sat = f["arrival"], f["initial_result"], f["satisfaction"]
    return [
        label,
        scope,
        sid,
        name,
        f["received"],
        *[f["by_category"].get(c, 0) for c in CATEGORIES],
        f["cancelled"],
        f["cleared"],
        f["carried_over"],
        f["open"],
        a["dispatched"],
        a["arrived"],
        a["within_target"],
        a["compliance_rate"],
        a["median_min"],
        a["p90_min"],
        ir["due"],
        ir["within_target"],
        ir["compliance_rate"],
        sat["rated"],
        *[sat[level] for level in LEVELS],
        sat["satisfaction_rate"],
        sat["unsatisfied_rate"],
        *[sat["by_dimension"][d][level] for d in DIMENSIONS for level in LEVELS],
        *[sat[f"callbacks_{state}"] for state in CALLBACK_STATES],
    ]


# A spreadsheet reads a cell that starts with one of these as a formula (or strips the
# character and then does): `=HYPERLINK(...)` in a station's name would run on the desk
# that opens the export. Such text cells get a leading apostrophe (PROTOCOL §12).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A report value as a CSV cell: numbers stay numbers; text that a spreadsheet would
    take for a formula is prefixed with `'`."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def report_csv(report: dict[str, Any], label: str) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(SUMMARY_COLUMNS)
    for s in report["stations"]:
        w.writerow(
            [_cell(v) for v in _summary_row(label, "station", s["station_id"], s["name"], s)]
        )
    w.writerow([_cell(v) for v in _summary_row(label, "bureau", "", "", report["bureau"])])
    if "carried_over_incidents" in report:
        w.writerow([])
        w.writerow(CARRIED_COLUMNS)
        for inc in report["carried_over_incidents"]:
            w.writerow([_cell(inc[c]) for c in CARRIED_COLUMNS])
    if "diversion" in report:
        # Last, after a blank line: one row per linked agency and one for the bureau.
        w.writerow([])
        w.writerow(DIVERSION_COLUMNS)
        div = report["diversion"]
        for a in div["agencies"]:
            w.writerow(
                [_cell(v) for v in [label, "agency", a["agency_id"], a["name"]]]
                + [a[k] for k in DIVERSION_FIGURES]
                + [""]
            )
        b = div["bureau"]
        w.writerow(
            [label, "bureau", "", ""]
            + [b[k] for k in DIVERSION_FIGURES]
            + [_cell(b["diversion_rate"])]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
