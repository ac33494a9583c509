"""Clearance reports (PROTOCOL §7, §11): daily (日清), weekly (日结周评), monthly
settlement (月结), quarterly backlog (季清底). docs/reports.md says how each figure is computed.

Counted by the database from the report rows (`report_row`, server/write/report_rows.py:
each incident's station, category, status and times, its arrival, initial-result and
clear clocks, 三反馈, the citizen's verdict and its callback task's state, kept by every
write; on SQLite clustered by bureau and receipt time, so a period is one range read).
One read gives every station's tallies and satisfaction figures (`_COUNTS_SQL`, a row per
station and category, each clock's state judged in SQL against "now", the server's clock
source, from the stored due and met times exactly as the incident record judges them),
so no Python runs per incident. The arrival percentiles come from one more read of each
arrived incident's stored span in whole microseconds; monthly and quarterly reports read
the carried-over incidents themselves. Of the other §11 blocks, cases and mediation are
one read each (`case_file` rows counted by the database; the mediation records' versions
reduced to their heads), `open_cases` one more for monthly and quarterly reports.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from server.access.accounts import Caller
from server.core.clock import SHANGHAI, as_utc, day_bounds, stored_utc, utcnow
from server.core.db import is_sqlite
from server.core.errors import BadRequest, Forbidden, NotFound
from server.core.tables import Incident, Station
from server.record.events import field_event, load_json
from sync.messages import CATEGORIES, DIMENSIONS, LEVELS
from sync.rules import record_heads

# Stations that take incidents: every kind but the command center itself, and linked
# agencies, whose figures are the `diversion` block's (PROTOCOL §10).
_NOT_REPORTED_KINDS = ("command_center", "linked_agency")


@dataclass(frozen=True)
class Period:
    kind: str  # daily | weekly | monthly | quarterly
    label: str  # 2026-11-20 | 2026-W48 | 2026-11 | 2026-Q4
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


def parse_week(value: str) -> Period:
    """An ISO week (PROTOCOL §11, 日结周评): Monday 00:00 Asia/Shanghai to the next Monday.
    W00, W54 and W53 of a year with 52 weeks are no weeks."""
    m = re.fullmatch(r"(\d{4})-W(\d{2})", value or "")
    if not m:
        raise BadRequest("week must be YYYY-Www (ISO week)", code="invalid_date")
    _check_year(int(m.group(1)))
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        raise BadRequest(f"no such ISO week: {value}", code="invalid_date") from exc
    start, _ = day_bounds(monday)
    end, _ = day_bounds(monday + timedelta(days=7))
    return Period("weekly", value, start, end)


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
    return ordered[_rank(len(ordered), percent) - 1]


def _rank(n: int, percent: float) -> int:
    """The 1-based rank of the `percent`th percentile of n values (nearest rank)."""
    return max(1, math.ceil(percent / 100 * n))


def _state(due: datetime | None, met: datetime | None, now: datetime) -> str:
    if met is not None:
        return "met" if due is None or met <= due else "met_late"
    if due is not None and now > due:
        return "overdue"
    return "running"


CALLBACK_STATES = ("due", "done", "unreachable")
# Per station (null: never dispatched), over the period's incidents, cancelled ones too
# (docs/reports.md): how many verdicts say each level overall and on each dimension, and
# how many callback tasks are now in each state. Counted by the database with the tallies
# (`_COUNTS_SQL`): the levels and the callback task's state from the report row.
_COUNTS = [
    *[f"{column}_{level}" for column in ("overall", *DIMENSIONS) for level in LEVELS],
    *[f"callbacks_{state}" for state in CALLBACK_STATES],
]


@dataclass
class Satisfaction:
    """The citizen's verdicts and the callbacks (PROTOCOL §9) of one station or the bureau,
    summed from `_COUNTS_SQL`'s rows (one per station and category)."""

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


# Counted with the tallies (`_COUNTS_SQL`), from the report row: the verdict's levels and
# the callback task's state.
_SATISFACTION_COLUMNS = ", ".join(
    [
        f"count(CASE WHEN i.{column} = '{level}' THEN 1 END) AS {column}_{level}"
        for column in ("overall", *DIMENSIONS)
        for level in LEVELS
    ]
    + [
        f"count(CASE WHEN i.callback_state = '{state}' THEN 1 END) AS callbacks_{state}"
        for state in CALLBACK_STATES
    ]
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


# PROTOCOL §11 figures (below, "cases, 三反馈 and mediation").
CASE_FIGURES = ("accepted", "filed", "solved", "closed", "transferred")
THREE_FEEDBACK_FIGURES = ("closed", "complete")
MEDIATION_FIGURES = ("outcomes", "reached", "partial", "failed", "follow_ups_due")


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
    arrival_pending: int = 0
    # Nearest rank over the arrived incidents' minutes (`_arrival_percentiles`).
    arrival_median: float | None = None
    arrival_p90: float | None = None
    initial_due: int = 0
    initial_within: int = 0
    satisfaction: Satisfaction = field(default_factory=Satisfaction)
    # PROTOCOL §11 blocks: three_feedbacks from `_COUNTS_SQL`, the others from one read
    # each (`_supervision_figures`).
    cases: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CASE_FIGURES, 0))
    three_feedbacks: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(THREE_FEEDBACK_FIGURES, 0)
    )
    mediation: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEDIATION_FIGURES, 0))

    def add(self, row: dict[str, Any]) -> None:
        """Add one row of `_COUNTS_SQL` (a station's incidents of one category)."""
        self.cancelled += row["cancelled"] or 0
        received = row["received"] or 0
        if received:
            self.received += received
            category = row["category"]
            self.by_category[category] = self.by_category.get(category, 0) + received
        self.cleared += row["cleared"] or 0
        self.open += row["open"] or 0
        self.carried_over += received - (row["cleared"] or 0) - (row["open"] or 0)
        for name in _CLOCK_COUNTS:
            setattr(self, name, getattr(self, name) + (row[name] or 0))
        self.three_feedbacks["closed"] += row["feedbacks_closed"] or 0
        self.three_feedbacks["complete"] += row["feedbacks_complete"] or 0

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
                "pending": self.arrival_pending,
                "compliance_rate": _rate(
                    self.arrival_within, self.dispatched - self.arrival_pending
                ),
                "median_min": self.arrival_median,
                "p90_min": self.arrival_p90,
            },
            "initial_result": {
                "due": self.initial_due,
                "within_target": self.initial_within,
                "compliance_rate": _rate(self.initial_within, self.initial_due),
            },
            "satisfaction": self.satisfaction.figures(),
            "cases": {
                **self.cases,
                "closure_rate": _rate(
                    self.cases["closed"] + self.cases["transferred"], self.cases["filed"]
                ),
            },
            "three_feedbacks": {
                **self.three_feedbacks,
                "complete_rate": _rate(
                    self.three_feedbacks["complete"], self.three_feedbacks["closed"]
                ),
            },
            "mediation": dict(self.mediation),
        }


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


# The tallies are counted by the database, one row per station and category, from each
# incident's report row: no Python runs per incident. A clock's state (`_state`) is judged in SQL against `now`, passed as a
# parameter; timestamps compare exactly on both engines (SQLite stores them as UTC text of
# one format, whose order is the time order).
_LIVE = "i.cancelled_at IS NULL AND i.status <> 'cancelled'"
_DISPATCHED = f"{_LIVE} AND i.dispatched_at IS NOT NULL"
# The number of `now` parameters, in order, that `_COUNTS_SQL` takes before the period's.
_COUNTS_SQL = (
    "SELECT i.station, i.category,"
    f" count(CASE WHEN NOT ({_LIVE}) THEN 1 END) AS cancelled,"
    f" count(CASE WHEN {_LIVE} THEN 1 END) AS received,"
    # clear: met (cleared) or still running (open); the rest is carried over.
    f" count(CASE WHEN {_LIVE} AND i.closed_at IS NOT NULL"
    " AND (i.clear_due_at IS NULL OR i.closed_at <= i.clear_due_at) THEN 1 END) AS cleared,"
    f" count(CASE WHEN {_LIVE} AND i.closed_at IS NULL"
    " AND (i.clear_due_at IS NULL OR i.clear_due_at >= {}) THEN 1 END) AS open,"
    f" count(CASE WHEN {_DISPATCHED} THEN 1 END) AS dispatched,"
    f" count(CASE WHEN {_DISPATCHED} AND i.arrival_met_at IS NOT NULL THEN 1 END) AS arrived,"
    f" count(CASE WHEN {_DISPATCHED} AND i.arrival_met_at IS NOT NULL"
    " AND (i.arrival_due_at IS NULL OR i.arrival_met_at <= i.arrival_due_at) THEN 1 END) AS arrival_within,"
    f" count(CASE WHEN {_DISPATCHED} AND i.arrival_met_at IS NULL"
    " AND (i.arrival_due_at IS NULL OR i.arrival_due_at >= {}) THEN 1 END) AS arrival_pending,"
    f" count(CASE WHEN {_DISPATCHED} AND (i.initial_met_at IS NOT NULL OR i.initial_due_at < {{}})"
    " THEN 1 END) AS initial_due,"
    f" count(CASE WHEN {_DISPATCHED} AND i.initial_met_at IS NOT NULL"
    " AND (i.initial_due_at IS NULL OR i.initial_met_at <= i.initial_due_at) THEN 1 END) AS initial_within,"
    # 三反馈 (PROTOCOL §11) over the incidents now closed: the report row has each
    # incident's completeness as the fold found it.
    " count(CASE WHEN i.status = 'closed' THEN 1 END) AS feedbacks_closed,"
    " count(CASE WHEN i.status = 'closed' AND i.feedbacks_complete THEN 1 END)"
    " AS feedbacks_complete, " + _SATISFACTION_COLUMNS + " FROM report_row i"
    " WHERE i.bureau = {} AND i.received_at >= {} AND i.received_at < {}"
)
_COUNTS_NOWS = 3
_CLOCK_COUNTS = (
    "dispatched",
    "arrived",
    "arrival_within",
    "arrival_pending",
    "initial_due",
    "initial_within",
)


# The arrival minutes' percentiles (nearest rank): each arrived incident's time from
# dispatch to arrival is stored in whole microseconds (`arrival_span_us`, exact on both
# engines), and only the values at the two ranks are turned into minutes, exactly as a
# timedelta's `total_seconds()` would: rounding keeps the order, so the rank's value is
# the same.
# Each station's spans come as one text, "span,span,...", in no order: one row per station
# to carry instead of one per incident.
_SPANS = {
    True: "group_concat(i.arrival_span_us)",
    False: "string_agg(CAST(i.arrival_span_us AS TEXT), ',')",
}
_ARRIVED_WHERE = (
    f" FROM report_row i WHERE {_DISPATCHED} AND i.arrival_met_at IS NOT NULL"
    " AND i.bureau = {} AND i.received_at >= {} AND i.received_at < {}"
)


# The carried-over incidents (monthly and quarterly): not cleared and not open.
# Its times as SQLite's stored text, parsed once here (`stored_utc`), rather than by the
# driver's converter and then again.
_CARRIED_TIMES = {
    True: "CAST(i.received_at AS TEXT) AS received_at, CAST(i.closed_at AS TEXT) AS closed_at,"
    " CAST(i.clear_due_at AS TEXT) AS clear_due",
    False: "i.received_at, i.closed_at, i.clear_due_at AS clear_due",
}
_CARRIED_SQL = (
    "SELECT i.id, i.number, i.station, i.category, i.status, {times} FROM report_row i"
    " WHERE i.bureau = {} AND i.received_at >= {} AND i.received_at < {}"
    f" AND {_LIVE} AND (CASE WHEN i.closed_at IS NOT NULL"
    " THEN i.clear_due_at IS NOT NULL AND i.closed_at > i.clear_due_at"
    " ELSE i.clear_due_at IS NOT NULL AND i.clear_due_at < {} END)"
)


async def _counts(
    bureau_id: str, period: Period, scope: str | None, now: datetime
) -> list[dict[str, Any]]:
    sql, values = _in_period(_COUNTS_SQL, bureau_id, period, scope)
    return list(await Incident.raw(sql + " GROUP BY i.station, i.category", now, now, now, *values))


async def _arrival_percentiles(
    bureau_id: str, period: Period, scope: str | None
) -> tuple[dict[str | None, tuple[float | None, float | None]], tuple[float | None, float | None]]:
    """The arrival minutes' (median, p90), nearest rank, per station and over the scope."""
    select = f"SELECT i.station, {_SPANS[is_sqlite()]} AS spans"
    sql, values = _in_period(select + _ARRIVED_WHERE, bureau_id, period, scope)
    by_station: dict[str | None, list[int]] = {
        row["station"]: [int(span) for span in row["spans"].split(",")]
        for row in await Incident.raw(sql + " GROUP BY i.station", *values)
    }
    every = [span for spans in by_station.values() for span in spans]
    return {s: _median_p90(spans) for s, spans in by_station.items()}, _median_p90(every)


def _median_p90(spans: list[int]) -> tuple[float | None, float | None]:
    if not spans:
        return None, None
    spans.sort()
    return tuple(  # type: ignore[return-value]
        round(spans[_rank(len(spans), p) - 1] / 1_000_000 / 60, 2) for p in (50, 90)
    )


async def _carried(
    bureau_id: str, period: Period, station_id: str | None, now: datetime
) -> list[dict]:
    select = _CARRIED_SQL.replace("{times}", _CARRIED_TIMES[is_sqlite()])
    sql, values = _in_period(select, bureau_id, period, station_id)
    # `now` is the CASE's parameter, before the station's.
    values.insert(3, now)
    rows = await Incident.raw(sql + " ORDER BY i.received_at, i.number", *values)
    return [
        {
            "id": r["id"],
            "number": r["number"],
            "station_id": r["station"],
            "category": r["category"],
            "status": r["status"],
            "received_at": stored_utc(r["received_at"]),
            "clear_due_at": stored_utc(r["clear_due"]),
            "closed_at": stored_utc(r["closed_at"]),
        }
        for r in rows
    ]


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
    tallies = {s["id"]: Tally() for s in shown}
    bureau = Tally()
    for row in await _counts(caller.bureau_id, period, scope, now):
        bureau.add(row)
        bureau.satisfaction.add(row)
        tally = tallies.get(row["station"])
        if tally is not None:
            tally.add(row)
            tally.satisfaction.add(row)
    by_station, whole = await _arrival_percentiles(caller.bureau_id, period, scope)
    bureau.arrival_median, bureau.arrival_p90 = whole
    for station, (median, p90) in by_station.items():
        tally = tallies.get(station or "")
        if tally is not None:
            tally.arrival_median, tally.arrival_p90 = median, p90
    await _supervision_figures(caller.bureau_id, period, scope, now, bureau, tallies)

    report: dict[str, Any] = {
        _LABELS[period.kind]: period.label,
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
    if period.kind in ("monthly", "quarterly"):
        report["carried_over_incidents"] = await _carried(caller.bureau_id, period, station_id, now)
        report["open_cases"] = await _open_cases(caller.bureau_id, period, station_id)
    return report


_LABELS = {"daily": "date", "weekly": "week", "monthly": "month", "quarterly": "quarter"}


# ---------------------------------------------------------------------------------------
# Diversion to linked agencies (PROTOCOL §10): every diversion of an incident received in
# the period (the §7 rule), cancelled incidents left out as everywhere but `cancelled`.

_DIVERSIONS_SQL = (
    "SELECT d.agency, d.ack_due_at, d.feedback_due_at, d.acknowledged_at, d.fed_back_at,"
    " d.outcome, i.status FROM diversion d JOIN report_row i ON i.id = d.incident"
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
    acked, ack_due = stored_utc(d["acknowledged_at"]), stored_utc(d["ack_due_at"])
    fed, feedback_due = stored_utc(d["fed_back_at"]), stored_utc(d["feedback_due_at"])
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


# ---------------------------------------------------------------------------------------
# PROTOCOL §11: cases (立案月清仓, 积案季清底), 三反馈 and mediation, per station and for
# the bureau, over the incidents received in the period (the §7 rule, cancelled left
# out). Each block is one read: counted by the database where it can be, and for
# mediation the records' versions reduced to their displayed heads (sync.rules).

CASE_END_STAGES = ("closed", "transferred")

# Accepted cases only: progress recorded before the case_accepted disposition waits.
_CASES_SQL = (
    "SELECT i.station, count(*) AS accepted, count(cf.filed_at) AS filed,"
    " count(cf.solved_at) AS solved,"
    " count(CASE WHEN cf.stage = 'closed' THEN 1 END) AS closed,"
    " count(CASE WHEN cf.stage = 'transferred' THEN 1 END) AS transferred"
    " FROM report_row i JOIN case_file cf ON cf.id = i.id"
    " WHERE i.bureau = {} AND i.received_at >= {} AND i.received_at < {}"
)
_CASES_WHERE = " AND cf.accepted AND i.status <> 'cancelled'"


_EVENT_COLUMNS = (
    "e.op_id, e.type, e.person, e.received_at, e.effective_time, e.record_id, e.base_op_id,"
    " e.parents, e.body, e.device_time, e.device_high_water"
)
# Mediation records of the period's incidents: every version, with the incident's station.
# Looked up per incident in the outcomes' own index (`event_mediation`, a few rows: see
# migrations/core/core_2026_12_02t10_00_00_000000.py), which SQLite's planner, without
# statistics, would pass over for the index of every event.
_MEDIATION_SQL = (
    f"SELECT {_EVENT_COLUMNS}, i.station AS home FROM event e JOIN report_row i"
    " ON i.id = e.incident WHERE e.type = 'mediation_outcome' AND i.status <> 'cancelled'"
    " AND i.bureau = {} AND i.received_at >= {} AND i.received_at < {}"
)
_MEDIATION_SQLITE = _MEDIATION_SQL.replace(
    "FROM event e", "FROM event e INDEXED BY event_mediation"
)
# Standalone mediation cases whose first version's effective time lies in the period:
# every version, with the case's station (its first version's).
_STANDALONE_SQL = (
    f"SELECT {_EVENT_COLUMNS}, r.station AS home FROM event r JOIN event e"
    " ON e.op_id = r.op_id OR e.record_id = r.op_id"
    " WHERE r.type = 'mediation_outcome' AND r.incident IS NULL AND r.record_id IS NULL"
    " AND e.type = 'mediation_outcome'"
    " AND r.bureau = {} AND r.effective_time >= {} AND r.effective_time < {}"
)


async def _supervision_figures(
    bureau_id: str,
    period: Period,
    scope: str | None,
    now: datetime,
    bureau: Tally,
    tallies: dict[str, Tally],
) -> None:
    """Add the `cases`, `three_feedbacks` and `mediation` figures to the tallies."""

    def add(block: str, station: str | None, counts: dict[str, Any]) -> None:
        for target in (bureau, tallies.get(station or "")):
            if target is not None:
                figures = getattr(target, block)
                for key in figures:
                    figures[key] += int(counts.get(key) or 0)

    sql, values = _in_period(_CASES_SQL + _CASES_WHERE, bureau_id, period, scope)
    for row in await Incident.raw(sql + " GROUP BY i.station", *values):
        add("cases", row["station"], row)
    for station, counts in (await _mediation(bureau_id, period, scope, now)).items():
        add("mediation", station, counts)


async def _mediation(
    bureau_id: str, period: Period, scope: str | None, now: datetime
) -> dict[str | None, dict[str, int]]:
    """The mediation figures by station: each record's displayed head (docs/reports.md)."""
    mediation_sql = _MEDIATION_SQLITE if is_sqlite() else _MEDIATION_SQL
    sql, values = _in_period(mediation_sql, bureau_id, period, scope)
    rows = list(await Incident.raw(sql, *values))
    standalone = _STANDALONE_SQL
    extra: list[Any] = [bureau_id, period.start, period.end]
    if scope is not None:
        standalone += " AND r.station = {}"
        extra.append(scope)
    rows += list(await Incident.raw(standalone, *extra))
    home = {r["op_id"]: r["home"] for r in rows}
    heads = record_heads(field_event(r) for r in rows)
    today = now.astimezone(SHANGHAI).date().isoformat()
    out: dict[str | None, dict[str, int]] = {}
    for root, state in heads.items():
        counts = out.setdefault(home.get(root), dict.fromkeys(MEDIATION_FIGURES, 0))
        counts["outcomes"] += 1
        agreement = state.body.get("agreement")
        if agreement in ("reached", "partial", "failed"):
            counts[str(agreement)] += 1
        follow_up = state.body.get("follow_up_on")
        if follow_up and str(follow_up) <= today:
            counts["follow_ups_due"] += 1
    return out


_OPEN_CASES_SQL = (
    "SELECT cf.stages, cf.case_number, cf.filed_at, i.id, i.number, i.station"
    " FROM case_file cf JOIN incident i ON i.id = cf.incident"
    " WHERE cf.bureau = {} AND cf.accepted AND i.status <> 'cancelled'"
    " AND cf.filed_at >= {} AND cf.filed_at < {}"
    " AND (cf.ended_at IS NULL OR cf.ended_at >= {})"
)


async def _open_cases(bureau_id: str, period: Period, station_id: str | None) -> list[dict]:
    """`open_cases` (PROTOCOL §11): accepted cases filed in the month (monthly) or at any
    time before the quarter's end (quarterly) whose stage at the period's end is neither
    closed nor transferred; oldest filed first, each with that stage."""
    since = period.start if period.kind == "monthly" else datetime(1900, 1, 1, tzinfo=UTC)
    sql = _OPEN_CASES_SQL
    values: list[Any] = [bureau_id, since, period.end, period.end]
    if station_id is not None:
        sql += " AND i.station = {}"
        values.append(station_id)
    out = []
    for row in await Incident.raw(sql, *values):
        stages = sorted(
            (stored_utc(s["at"]), s["op_id"], s["stage"]) for s in (load_json(row["stages"]) or [])
        )
        before = [stage for at, _, stage in stages if at is not None and at < period.end]
        if not before or before[-1] in CASE_END_STAGES:
            continue
        out.append(
            {
                "incident_id": row["id"],
                "number": row["number"],
                "station_id": row["station"],
                "case_number": row["case_number"],
                "stage": before[-1],
                "filed_at": stored_utc(row["filed_at"]),
            }
        )
    out.sort(key=lambda c: (c["filed_at"], c["number"]))
    return out


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
    "arrival_pending",
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
    *[f"cases_{k}" for k in CASE_FIGURES],
    "cases_closure_rate",
    *[f"three_feedbacks_{k}" for k in THREE_FEEDBACK_FIGURES],
    "three_feedbacks_complete_rate",
    *[f"mediation_{k}" for k in MEDIATION_FIGURES],
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
OPEN_CASE_COLUMNS = ["number", "incident_id", "station_id", "case_number", "stage", "filed_at"]
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
        a["pending"],
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
        *[f["cases"][k] for k in CASE_FIGURES],
        f["cases"]["closure_rate"],
        *[f["three_feedbacks"][k] for k in THREE_FEEDBACK_FIGURES],
        f["three_feedbacks"]["complete_rate"],
        *[f["mediation"][k] for k in MEDIATION_FIGURES],
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
    if "open_cases" in report:
        # After the carried-over incidents, a blank line, then the open cases.
        w.writerow([])
        w.writerow(OPEN_CASE_COLUMNS)
        for case in report["open_cases"]:
            w.writerow([_cell(case[c]) for c in OPEN_CASE_COLUMNS])
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
