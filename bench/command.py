"""Command-center reads at scale: the board over 10,000 open incidents, and a month's
report over 50,000 incidents.

    .venv/bin/python -m bench.command [--open 10000] [--month-incidents 50000] [--runs 5]

Seeding goes straight into the database in bulk (the HTTP write path would take an hour),
but row for row it is what that path stores: the incident, its `received`, `dispatched`
and `closed`/`cancelled` actions, the assignment, the field events (arrival, scene report)
with their receipt and effective times, and the SLA clocks computed by the same function
the server uses (sync.rules.incident_clocks) into `sla_clock`, and for every closed incident
its callback task and, for most, the caller's verdict (PROTOCOL §9). Before timing, a sample of
the seeded incidents is re-read through the server's own record code and its clocks are
compared with the stored ones. Not seeded: change-feed rows (neither call reads them).
Then, over HTTP against a running server, GET /api/board (as the dispatcher, and as an
officer of one station) and GET /api/reports/monthly are timed `--runs` times each (the
figure is the median, nearest rank). The board is asked as a browser asks
(`Accept-Encoding: gzip, deflate, br`): its figure is the bytes on the wire (and the JSON
they decode to), the time until the last byte is in and decoded; then one open incident's
full record (GET /api/incidents/{id}, what the panel fetches on a click) is timed too.
Every incident has a caller name and phone: board rows carry none (docs/command.md);
the record gives the dispatcher them in full (one audit row), the officer masked.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec

from bench.harness import PASSWORD, bench_server, machine, nearest_rank

CATEGORIES = ("criminal", "public_order", "dispute", "help", "traffic", "non_police", "other")
SHANGHAI_OFFSET = timedelta(hours=8)


class Seeder:
    """Bulk rows shaped exactly as server/services/incidents.py and server/write/ingest.py store them."""

    def __init__(self, bureau_id: str, desk_id: str, stations: list[dict[str, Any]]) -> None:
        self.bureau_id = bureau_id
        self.desk_id = desk_id
        self.stations = stations  # each {"id", "area_type", "people": [person ids]}
        self.numbers: dict[str, int] = {}
        self.seq = 0
        self.rows: dict[str, list[dict[str, Any]]] = {
            k: []
            for k in (
                "incident",
                "incident_action",
                "assignment",
                "event",
                "sla_clock",
                "callback_task",
                "feedback",
            )
        }
        # The citizen's verdicts (PROTOCOL §9) draw from their own generator, so the
        # incidents themselves are the same as before verdicts were seeded.
        self.verdicts = random.Random(9)

    def _number(self, received: datetime) -> str:
        day = (received + SHANGHAI_OFFSET).strftime("%Y%m%d")
        self.numbers[day] = self.numbers.get(day, 0) + 1
        return f"J{day}-{self.numbers[day]:04d}"

    def _action(self, incident_id: str, action: str, at: datetime, detail: dict) -> None:
        self.rows["incident_action"].append(
            {
                "id": str(uuid.uuid4()),
                "incident": incident_id,
                "action": action,
                "person": self.desk_id,
                "effective_time": at,
                "recorded_at": at,
                "back_entered": False,
                "detail": msgspec.json.encode(detail).decode(),
            }
        )

    def _event(
        self, incident_id: str, person: str, station: str, kind: str, at: datetime, body: dict
    ) -> None:
        self.seq += 1
        received = at + timedelta(seconds=random.randint(1, 90))
        self.rows["event"].append(
            {
                "op_id": str(uuid.uuid4()),
                "incident": incident_id,
                "bureau": self.bureau_id,
                "device_id": f"bench-phone-{person[:8]}",
                "person": person,
                "station": station,
                "seq": self.seq,
                "type": kind,
                "record_id": None,
                "base_op_id": None,
                "body": msgspec.json.encode(body).decode(),
                "content_hash": uuid.uuid4().hex + uuid.uuid4().hex,
                "device_time": at,
                "clock_offset_ms": 0,
                "sent_at": received,
                "received_at": received,
                "server_offset_ms": 0,
                "effective_time": at,
                "flags": "[]",
                "parents": "[]",
                "evidence_key": None,
            }
        )

    def incident(self, received: datetime, now: datetime, *, open_only: bool) -> None:
        from sync.rules import SlaTargets, incident_clocks

        incident_id = str(uuid.uuid4())
        station = random.choice(self.stations)
        area = station["area_type"]
        category = random.choice(CATEGORIES)
        roll = random.random()
        dispatched = (
            None
            if (not open_only and roll < 0.02)
            else received + timedelta(seconds=random.randint(20, 180))
        )
        cancelled = (
            received + timedelta(minutes=5) if (not open_only and 0.02 <= roll < 0.05) else None
        )
        if cancelled is not None:
            dispatched = None
        arrival = first_result = closed = None
        person = random.choice(station["people"])
        if dispatched is not None:
            if random.random() < 0.9:
                limit = 10 if area == "urban" else 20
                arrival = dispatched + timedelta(seconds=random.randint(60, limit * 60 + 600))
            if random.random() < 0.85:
                first_result = dispatched + timedelta(minutes=random.randint(15, 300))
            if not open_only:
                closed = received + timedelta(minutes=random.randint(60, 1800))
                # A field fact received after closing is `late` and counts for no clock:
                # close after the facts (with a margin for their receipt), as a desk would.
                last = max(t for t in (arrival, first_result, dispatched) if t is not None)
                closed = max(closed, last + timedelta(minutes=5))
        if dispatched is None and cancelled is None and not open_only:
            # Never dispatched (diverted to a linked agency, answered by phone): closed.
            closed = received + timedelta(minutes=random.randint(10, 600))
        # Open incidents are recent: what would lie in the future has simply not happened.
        if arrival is not None and arrival > now:
            arrival = None
        if first_result is not None and first_result > now:
            first_result = None
        if closed is not None and closed > now:
            raise SystemExit("seeded a closing in the future; run later in the month")
        status = (
            "cancelled"
            if cancelled
            else "closed"
            if closed
            else "dispatched"
            if dispatched
            else "received"
        )
        self.rows["incident"].append(
            {
                "id": incident_id,
                "bureau": self.bureau_id,
                "number": self._number(received),
                "category": category,
                "area_type": area,
                "address": "基准路1号",
                "lat": None,
                "lon": None,
                "caller_name": "王先生",
                "caller_phone": f"1390000{len(self.rows['incident']) % 10000:04d}",
                "narrative": "基准测试",
                "received_at": received,
                "received_back_entered": False,
                "status": status,
                "station": station["id"] if dispatched else None,
                "dispatched_at": dispatched,
                "closed_at": closed,
                "cancelled_at": cancelled,
                "close_summary": "处置完毕" if closed else "",
                "cancel_reason": "重复报警" if cancelled else "",
                "created_by": self.desk_id,
                "version": 1
                + (dispatched is not None)
                + (closed is not None or cancelled is not None),
                "updated_at": closed or cancelled or dispatched or received,
            }
        )
        self._action(incident_id, "received", received, {})
        if dispatched is not None:
            self._action(
                incident_id,
                "dispatched",
                dispatched,
                {"station_id": station["id"], "person_ids": [person]},
            )
            self.rows["assignment"].append(
                {
                    "id": str(uuid.uuid4()),
                    "incident": incident_id,
                    "person": person,
                    "station": station["id"],
                    "assigned_at": dispatched,
                    "ended_at": None,
                }
            )
        if closed is not None:
            self._action(incident_id, "closed", closed, {"summary": "处置完毕"})
        if cancelled is not None:
            self._action(incident_id, "cancelled", cancelled, {"reason": "重复报警"})
        if arrival is not None:
            self._event(
                incident_id,
                person,
                station["id"],
                "arrival",
                arrival,
                {"lat": None, "lon": None, "accuracy_m": None},
            )
        if first_result is not None:
            self._event(
                incident_id,
                person,
                station["id"],
                "scene_report",
                first_result,
                {
                    "situation": "现场平稳",
                    "parties": 2,
                    "injured": 0,
                    "needs_backup": False,
                    "attachments": [],
                },
            )
        if closed is not None:
            self.verdict(incident_id, station["id"] if dispatched else None, closed, now)
        clocks = incident_clocks(
            targets=SlaTargets(),
            area_type=area,
            received_at=received,
            dispatched_at=dispatched,
            closed_at=closed,
            stopped_at=cancelled,
            first_arrival_at=arrival,
            first_result_at=first_result,
            case_accepted_at=None,
            evidence_complete_at=None,
            now=now,
        )
        for name, clock in clocks.items():
            watching = status in ("received", "dispatched") and clock.met_at is None
            self.rows["sla_clock"].append(
                {
                    "id": f"{incident_id}:{name}",
                    "incident": incident_id,
                    "bureau": self.bureau_id,
                    "name": name,
                    "due_at": clock.due_at,
                    "met_at": clock.met_at,
                    "watch_at": clock.due_at if watching else None,
                }
            )

    def verdict(
        self, incident_id: str, station: str | None, closed: datetime, now: datetime
    ) -> None:
        """A closed incident's callback task (every bench caller has a phone) and, for most,
        the caller's verdict (PROTOCOL §9): 80% rated (by callback, QR or poster), 5%
        unreachable, the rest still due. Levels in roughly seed 004's proportions."""
        rng = self.verdicts
        roll = rng.random()
        state = "done" if roll < 0.8 else "unreachable" if roll < 0.85 else "due"
        due = closed + timedelta(hours=72)
        at = min(closed + timedelta(hours=rng.randint(1, 70)), now)
        self.rows["callback_task"].append(
            {
                "id": incident_id,
                "incident": incident_id,
                "bureau": self.bureau_id,
                "station": station,
                "closed_at": closed,
                "due_at": due,
                "state": state,
                "attempts": "[]",
                "created_at": closed,
                "finished_at": at if state != "due" else None,
            }
        )
        if state != "done":
            return
        levels = [
            "satisfied"
            if (r := rng.random()) < 0.82
            else "basically_satisfied"
            if r < 0.998
            else "unsatisfied"
            for _ in range(5)
        ]
        self.rows["feedback"].append(
            {
                "id": incident_id,
                "incident": incident_id,
                "bureau": self.bureau_id,
                "source": rng.choice(("callback", "callback", "qr", "poster")),
                "at": at,
                "reception": levels[0],
                "timeliness": levels[1],
                "conduct": levels[2],
                "handling": levels[3],
                "overall": levels[4],
                "comment": "",
                "person": None,
                "token_sha256": None,
            }
        )

    async def flush(self) -> None:
        from server.core.db import bulk_insert, write_transaction
        from server.core.tables import (
            Assignment,
            CallbackTask,
            Event,
            Feedback,
            Incident,
            IncidentAction,
            SlaClock,
        )

        tables = {
            "incident": Incident,
            "incident_action": IncidentAction,
            "assignment": Assignment,
            "event": Event,
            "sla_clock": SlaClock,
            "callback_task": CallbackTask,
            "feedback": Feedback,
        }
        async with write_transaction():
            for name, table in tables.items():
                rows = self.rows[name]
                for i in range(0, len(rows), 2000):
                    await bulk_insert(table, rows[i : i + 2000])
        for rows in self.rows.values():
            rows.clear()


async def seed(
    database_url: str, n_open: int, n_month: int, month_start: datetime, month_end: datetime
) -> dict[str, Any]:
    os.environ["QINGLING_DATABASE_URL"] = database_url
    os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")
    from server.access.accounts import hash_password
    from server.core import db
    from server.core.ids import new_id
    from server.core.tables import Person
    from server.services.admin import add_station, ensure_bureau

    db.use(database_url)
    await db.prepare()
    field_hash = hash_password(PASSWORD)
    bureau_id = await ensure_bureau()
    desk = await Person.select(Person.id).where(Person.username == "bench.dispatcher").first()
    stations = []
    for i in range(12):
        area = "rural" if i % 3 == 2 else "urban"
        s = await add_station(f"基准{i:02d}派出所", area, "police_station", bureau_id)
        people = []
        for j in range(5):
            pid = new_id()
            await Person.insert(
                Person(
                    id=pid,
                    bureau=bureau_id,
                    station=s["id"],
                    username=f"bench.{i}.{j}",
                    name=f"民警{i}-{j}",
                    role="officer",
                    # One officer signs in: a field role's board (caller data masked but
                    # for the incidents assigned to him).
                    password_hash=field_hash if (i, j) == (0, 0) else "!",
                    active=True,
                    created_at=datetime.now(UTC),
                )
            )
            people.append(pid)
        stations.append({"id": s["id"], "area_type": area, "people": people})
    seeder = Seeder(bureau_id, desk["id"], stations)
    now = datetime.now(UTC)
    random.seed(5)
    started = time.perf_counter()
    span = (month_end - month_start).total_seconds()
    for i in range(n_month):
        received = month_start + timedelta(seconds=span * i / n_month)
        seeder.incident(received, now, open_only=False)
        if len(seeder.rows["incident"]) >= 5000:
            await seeder.flush()
    for i in range(n_open):
        # Received over the last five minutes: nothing falls due while the bench runs.
        received = now - timedelta(seconds=300 * (n_open - i) / n_open) - timedelta(seconds=200)
        seeder.incident(received, now, open_only=True)
        if len(seeder.rows["incident"]) >= 5000:
            await seeder.flush()
    await seeder.flush()
    await store_board_rows(bureau_id, desk["id"])
    await store_report_rows()
    seeded_s = time.perf_counter() - started
    mismatches = await check_sample(bureau_id)
    return {"seconds": seeded_s, "mismatches": mismatches}


async def store_board_rows(bureau_id: str, desk_id: str) -> None:
    """The open incidents' board rows, as the write path stores them with every publish
    (`board_row`), built by the server's own code from the seeded tables. Nothing on a
    server from before stored rows (the A/B run against main)."""
    from server.access.accounts import Caller
    from server.core import tables
    from server.core.db import bulk_insert, write_transaction
    from server.services import board

    store = getattr(tables, "BoardRowStore", None)
    if store is None or not hasattr(board, "board_rows"):
        return
    desk = Caller(
        person_id=desk_id,
        name="bench",
        role="dispatcher",
        station_id=None,
        bureau_id=bureau_id,
        device_id="bench",
    )
    rows = await board.board_rows(desk, datetime.now(UTC))
    # Not those already stored (incidents the bench published through the server).
    have = {r["id"] for r in await store.select(store.id)}
    data = [{"id": r.id, "data": msgspec.json.encode(r).decode()} for r in rows if r.id not in have]
    async with write_transaction():
        for i in range(0, len(data), 2000):
            await bulk_insert(store, data[i : i + 2000])


async def store_report_rows() -> None:
    """The incidents' report rows (`report_row`), as the write path keeps them with the
    clocks, made by the server's own `rebuild` from the seeded tables. A tree from before
    has none (the A/B run against main)."""
    from server.core.db import write_transaction

    if importlib.util.find_spec("server.write.report_rows") is None:
        return
    report_rows = importlib.import_module("server.write.report_rows")
    async with write_transaction():
        await report_rows.rebuild()


async def check_sample(bureau_id: str, size: int = 40) -> int:
    """Re-derive a sample's clocks (and report rows, where the tree keeps them) through the
    server's own record code; count mismatches."""
    from server.core.tables import Incident, SlaClock
    from server.record.incident import incident_record_and_clocks

    report_rows = (
        importlib.import_module("server.write.report_rows")
        if importlib.util.find_spec("server.write.report_rows")
        else None
    )

    rows = await Incident.select(Incident.id).where(Incident.bureau == bureau_id)
    sample = random.sample([r["id"] for r in rows], min(size, len(rows)))
    bad = 0
    for incident_id in sample:
        record, clocks, _ = await incident_record_and_clocks(incident_id, with_timeline=False)
        if report_rows is not None:
            written = await report_rows.ReportRow.select(
                *[getattr(report_rows.ReportRow, c) for c in report_rows.COLUMNS]
            ).where(report_rows.ReportRow.id == incident_id)
            kept = report_rows.report_values(record, clocks)
            if [written[0][c] for c in report_rows.COLUMNS] != kept:
                bad += 1
                print("report row mismatch", incident_id, written, kept)
        stored = {
            r["name"]: (r["due_at"], r["met_at"])
            for r in await SlaClock.select().where(SlaClock.incident == incident_id)
        }
        derived = {n: (c.due_at, c.met_at) for n, c in clocks.items()}
        norm = lambda d: {k: tuple(x and x.astimezone(UTC) for x in v) for k, v in d.items()}  # noqa: E731
        if norm(stored) != norm(derived):
            bad += 1
            print("mismatch", incident_id, stored, derived)
    return bad


def time_get(
    url: str, token: str, path: str, params: dict[str, str], runs: int
) -> tuple[list[float], int, Any]:
    times = []
    size = 0
    body: Any = None
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=600
    ) as http:
        for _ in range(runs):
            started = time.perf_counter()
            r = http.get(path, params=params)
            times.append(time.perf_counter() - started)
            r.raise_for_status()
            size = len(r.content)
            body = r.json() if "json" in r.headers.get("content-type", "") else None
    return times, size, body


class BoardFigures(msgspec.Struct):
    """GET /api/board as a browser asks it, `runs` times: wire bytes, JSON bytes, times."""

    incidents: int
    wire_bytes: int
    json_bytes: int
    encoding: str
    times: list[float]
    first_id: str

    def __str__(self) -> str:
        t = self.times
        return (
            f"{self.incidents:,} incidents, {self.wire_bytes / 1e6:.2f} MB on the wire"
            f" ({self.encoding}; {self.json_bytes / 1e6:.1f} MB of JSON);"
            f" median {nearest_rank(t, 0.5) * 1e3:.0f} ms, best {min(t) * 1e3:.0f} ms,"
            f" worst {max(t) * 1e3:.0f} ms over {len(t)} runs"
        )


def time_board(url: str, token: str, runs: int) -> BoardFigures:
    """GET /api/board with a browser's Accept-Encoding: the time until the body is in and
    decompressed, the bytes on the wire (`num_bytes_downloaded`) and decoded."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip, deflate, br"}
    times = []
    with httpx.Client(base_url=url, headers=headers, timeout=600) as http:
        for _ in range(runs):
            started = time.perf_counter()
            r = http.get("/api/board")
            times.append(time.perf_counter() - started)
            r.raise_for_status()
    body = msgspec.json.decode(r.content)
    return BoardFigures(
        incidents=len(body["incidents"]),
        wire_bytes=r.num_bytes_downloaded,
        json_bytes=len(r.content),
        encoding=r.headers.get("content-encoding", "identity"),
        times=times,
        first_id=body["incidents"][0]["id"] if body["incidents"] else "",
    )


def settled_month() -> tuple[str, datetime, datetime]:
    """The month the bench reports on (its label, start and end in UTC): the last one
    before this (Asia/Shanghai), or early in a month the one before that, since the month's
    last incidents close up to 30 h after receipt, which must not lie in the future."""
    today = datetime.now(UTC) + SHANGHAI_OFFSET
    first = datetime(today.year, today.month, 1, tzinfo=UTC) - SHANGHAI_OFFSET
    if datetime.now(UTC) - first < timedelta(hours=36):
        earlier = today - timedelta(days=2)
        first = datetime(earlier.year, earlier.month, 1, tzinfo=UTC) - SHANGHAI_OFFSET
    prev = first + SHANGHAI_OFFSET - timedelta(days=1)
    start = datetime(prev.year, prev.month, 1, tzinfo=UTC) - SHANGHAI_OFFSET
    return f"{prev.year}-{prev.month:02d}", start, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000, help="open incidents on the board")
    parser.add_argument("--month-incidents", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    month_label, month_start, first = settled_month()

    with bench_server() as (bench, _station):
        seeded = asyncio.run(
            seed(bench.database_url, args.open, args.month_incidents, month_start, first)
        )
        print(f"machine: {machine()}")
        print(f"database: {bench.database_url.split('@')[-1]}")
        print(
            f"seeded {args.month_incidents:,} incidents in {month_label} and {args.open:,} open ones"
            f" in {seeded['seconds']:.1f} s; sample re-derived through the server: "
            f"{seeded['mismatches']} mismatches"
        )
        token = bench.login("bench.dispatcher")["token"]
        board = time_board(bench.url, token, args.runs)
        print(f"GET /api/board: {board}")
        field = bench.login("bench.0.0")["token"]
        print(
            f"GET /api/board as an officer of one station: {time_board(bench.url, field, args.runs)}"
        )
        times, size, _ = time_get(
            bench.url, token, f"/api/incidents/{board.first_id}", {}, args.runs
        )
        print(
            f"GET /api/incidents/{{id}} (the panel's full record): {size / 1e3:.1f} kB,"
            f" median {nearest_rank(times, 0.5) * 1e3:.0f} ms"
        )
        times, size, body = time_get(
            bench.url, token, "/api/reports/monthly", {"month": month_label}, args.runs
        )
        b = body["bureau"]
        print(
            f"GET /api/reports/monthly?month={month_label}: {b['received'] + b['cancelled']:,} incidents,"
            f" {len(body['carried_over_incidents']):,} carried over, {size / 1e3:.0f} kB;"
            f" median {nearest_rank(times, 0.5):.2f} s, best {min(times):.2f} s, worst {max(times):.2f} s"
        )
        if "satisfaction" in b:
            sat = b["satisfaction"]
            print(
                f"  satisfaction: {sat['rated']:,} rated, rate {sat['satisfaction_rate']},"
                f" callbacks due {sat['callbacks_due']:,} done {sat['callbacks_done']:,}"
                f" unreachable {sat['callbacks_unreachable']:,}"
            )
        times, size, _ = time_get(
            bench.url,
            token,
            "/api/reports/monthly",
            {"month": month_label, "format": "csv"},
            args.runs,
        )
        print(f"  as CSV: {size / 1e3:.0f} kB, median {nearest_rank(times, 0.5):.2f} s")


if __name__ == "__main__":
    main()
