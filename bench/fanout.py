"""The live hub's fan-out alone, in process: what one round costs the server, measured
as CPU time as well as wall time, so a busy shared machine blurs it less than the
end-to-end figure of bench/live.py.

    .venv/bin/python -m bench.fanout [--subscribers 1000] [--rounds 200] [--unassigned 0.5]

A fresh SQLite database (or QINGLING_BENCH_DATABASE_URL), one incident with caller data
dispatched to an officer, and N subscribers as the live hub holds them: a supervisor's
sockets (caller data in full) and, for the `--unassigned` share, an officer of the
station who is not assigned (caller data masked). Each round appends the incident's
record and one event to the feed, as a push does, and times `Hub._fan_out` (read the new
rows, judge each socket, encode the frames once per distinct view, and on this branch
write the audit row of the full ones); the queued frames are then dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path


async def run(database_url: str, n: int, rounds: int, unassigned: float) -> dict[str, float]:
    os.environ["QINGLING_DATABASE_URL"] = database_url
    os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")
    from server.access.accounts import Caller
    from server.core import db
    from server.core.clock import utcnow
    from server.core.ids import new_id
    from server.core.tables import Person
    from server.live.hub import Hub, Subscriber, channels_plugin
    from server.services import incidents
    from server.services.admin import add_station, ensure_bureau
    from server.write.feed import append_change, feed_head
    from server.write.publish import publish_incident

    db.use(database_url)
    epoch = await db.prepare()
    bureau = await ensure_bureau()
    station = (await add_station(f"扇出{uuid.uuid4().hex[:4]}", "urban"))["id"]
    people = {}
    for username, role, at in [
        ("desk", "dispatcher", None),
        ("watch", "supervisor", None),
        ("sent", "officer", station),
        ("other", "officer", station),
    ]:
        people[username] = Caller(
            person_id=new_id(),
            name=username,
            role=role,
            station_id=at,
            bureau_id=bureau,
            device_id=f"{username}-device",
        )
        await Person.insert(
            Person(
                id=people[username].person_id,
                bureau=bureau,
                station=at,
                username=f"fanout.{username}.{uuid.uuid4().hex[:4]}",
                name=username,
                role=role,
                password_hash="!",
                active=True,
                created_at=utcnow(),
            )
        )
    record = await incidents.create_incident(
        people["desk"],
        incidents.CreateIncident(
            category="dispute",
            area_type="urban",
            address="扇出路1号",
            narrative="基准测试",
            caller_name="王先生",
            caller_phone="13900001234",
        ),
    )
    await incidents.dispatch_incident(
        people["desk"],
        record.id,
        incidents.Dispatch(station_id=station, person_ids=[people["sent"].person_id]),
    )
    hub = Hub(channels_plugin(None), backlog=10**9)
    hub.epoch = epoch
    hub.pos = await feed_head()
    masked = round(n * unassigned)
    for i in range(n):
        hub.add(Subscriber(caller=people["other"] if i < masked else people["watch"]))
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(rounds):
        async with db.write_transaction():
            await append_change(
                entity="event",
                entity_id=str(uuid.uuid4()),
                bureau_id=bureau,
                station_id=station,
                incident_id=record.id,
                data={"op_id": "x", "type": "note", "body": {"text": "实时"}},
            )
            await publish_incident(record.id, with_timeline=False)
        started, started_cpu = time.perf_counter(), time.process_time()
        await hub._fan_out()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        for sub in hub.subscribers:
            while not sub.outbox.empty():
                sub.outbox.get_nowait()
    try:  # the branch with an audit log: its reveal rows, one per round expected
        from server.core.tables import AuditLog  # type: ignore[attr-defined]

        rows = await AuditLog.count().where(AuditLog.action == "caller_data.reveal")
    except ImportError:
        rows = -1
    return {
        "audit_rows": float(rows),
        "wall_median": statistics.median(wall),
        "cpu_median": statistics.median(cpu),
        "wall_mean": statistics.fmean(wall),
        "cpu_mean": statistics.fmean(cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--unassigned", type=float, default=0.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qingling-fanout-") as tmp:
        url = os.environ.get("QINGLING_BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp)}/f.db"
        result = asyncio.run(run(url, args.subscribers, args.rounds, args.unassigned))
    print(
        f"fan-out to {args.subscribers} sockets ({args.unassigned:.0%} masked), "
        f"{args.rounds} rounds: median {result['wall_median']:.2f} ms wall, "
        f"{result['cpu_median']:.2f} ms CPU (mean {result['wall_mean']:.2f} / "
        f"{result['cpu_mean']:.2f})"
        + (f"; {result['audit_rows']:.0f} reveal rows audited" if result["audit_rows"] >= 0 else "")
    )


if __name__ == "__main__":
    main()
