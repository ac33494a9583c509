"""The SLA watch: turning stored clocks overdue (PROTOCOL §6.6, §7).

Clocks are computed from the reconciled record (sync.rules.incident_clocks) and stored
in `sla_clock` by every write that publishes an incident (server/write/publish.py).
The scheduler (server/live/scheduler.py) asks here for the next due time and fires
what is due.

Firing a clock opens an `overdue` review item naming the clock (and, for case evidence
still missing items, a `missing_evidence` item) and republishes the incident, so both
reach the command center live. Each item is made at most once per clock: the scheduler
works inside `db.write_transaction()` (one writer at a time, on PostgreSQL across
processes too), looks for the item first, and `review_item.once_key` is unique besides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from server.core.clock import stored_utc, utcnow
from server.core.db import fetch, write_transaction
from server.core.tables import Incident, Rectification, ReviewItem, SlaClock, SupervisionOrder
from server.record.incident import incident_record_and_clocks
from server.write.group import Group
from server.write.publish import overdue_key, publish_incident, store_clocks, watched
from server.write.review_items import create_review_item
from server.write.supervision import fire_order, fire_rectification
from sync.messages import OPEN_STATUSES

log = logging.getLogger("qingling.sla")


async def next_watch() -> datetime | None:
    """The earliest due time the scheduler must act on, or None: over the SLA clocks,
    the supervision orders and the rectifications owed (PROTOCOL §11). One statement,
    each table's earliest by its `watch_at` index: the scheduler asks after every burst
    of writes (server/live/scheduler.py), and needs to fire nothing most times."""
    found = [stored_utc(r["watch_at"]) for r in await fetch(_NEXT_WATCH)]
    return min((t for t in found if t is not None), default=None)


_NEXT_WATCH = " UNION ALL ".join(
    f"SELECT (SELECT watch_at FROM {table} WHERE watch_at IS NOT NULL"
    " ORDER BY watch_at LIMIT 1) AS watch_at"
    for table in ("sla_clock", "supervision_order", "rectification")
)


def _never() -> bool:
    return False


async def fire_due(
    now: datetime | None = None, *, batch: int = 200, stopping: Callable[[], bool] = _never
) -> int:
    """Turn every clock due before `now` overdue; returns how many items were opened.
    `stopping` is asked between incidents (the scheduler is shutting down)."""
    at = now or utcnow()
    opened = await _fire_supervision(at, batch=batch, stopping=stopping)
    failed: set[str] = set()  # skipped for this round, so one bad incident blocks no other
    while not stopping():
        rows = (
            await SlaClock.select(SlaClock.incident)
            .where(SlaClock.watch_at < at)
            .order_by(SlaClock.watch_at)
            .limit(batch + len(failed))
        )
        incident_ids = [i for i in dict.fromkeys(r["incident"] for r in rows) if i not in failed]
        if not incident_ids:
            return opened
        for incident_id in incident_ids:
            if stopping():
                break
            try:
                async with write_transaction():
                    opened += await _fire_incident(incident_id, at)
            except Exception:  # noqa: BLE001 - logged; retried next round
                log.exception("could not fire the clocks of incident %s", incident_id)
                failed.add(incident_id)
    return opened


async def _fire_supervision(at: datetime, *, batch: int, stopping: Callable[[], bool]) -> int:
    """Fire the supervision orders and the rectifications due before `at`, each in its
    own transaction (server/write/supervision.py); returns how many items were opened."""
    opened = 0
    for table, fire in ((SupervisionOrder, fire_order), (Rectification, fire_rectification)):
        failed: set[str] = set()
        while not stopping():
            rows = (
                await table.select(table.id)  # type: ignore[attr-defined]
                .where(table.watch_at < at)  # type: ignore[attr-defined]
                .order_by(table.watch_at)  # type: ignore[attr-defined]
                .limit(batch + len(failed))
            )
            ids = [r["id"] for r in rows if r["id"] not in failed]
            if not ids:
                break
            for row_id in ids:
                if stopping():
                    break
                try:
                    async with write_transaction():
                        opened += await fire(row_id, at)
                except Exception:  # noqa: BLE001 - logged; retried next round
                    log.exception("could not fire %s %s", table._meta.tablename, row_id)
                    failed.add(row_id)
    return opened


async def _fire_incident(incident_id: str, now: datetime) -> int:
    record, clocks, folded = await incident_record_and_clocks(
        incident_id, with_timeline=False, now=now
    )
    opened = 0
    group = Group(record.bureau_id, incident_id, station_id=record.station_id)
    for name, clock in clocks.items():
        if clock.state != "overdue" or not watched(record.status, name):
            continue
        detail: dict[str, Any] = {"clock": name, "due_at": clock.due_at}
        key = overdue_key(incident_id, name, clock.due_at)
        opened += await _open_once(group, "overdue", name, detail, key=key)
        if name == "evidence" and folded.evidence_missing:
            detail = {"due_at": clock.due_at, "missing": list(folded.evidence_missing)}
            opened += await _open_once(group, "missing_evidence", name, detail)
    if opened:
        # The record now carries the new items (and overdue clocks): publish it, which
        # stores the clocks again with the fired ones no longer watched.
        await publish_incident(incident_id, with_timeline=False)
    else:
        # Nothing new (another process fired first, or the clock was met meanwhile):
        # only bring the stored clocks up to date.
        record, clocks, _ = await incident_record_and_clocks(
            incident_id, with_timeline=False, now=now
        )
        await store_clocks(record, clocks)
    return opened


async def _open_once(
    group: Group, kind: str, clock: str, detail: dict[str, Any], *, key: str | None = None
) -> int:
    key = key or f"{kind}:{group.incident_id}:{clock}"
    if await ReviewItem.exists().where(ReviewItem.once_key == key):
        return 0
    await create_review_item(group, kind=kind, clock=clock, detail=detail, once_key=key)
    log.info("%s %s clock of incident %s", kind, clock, group.incident_id)
    return 1


async def backfill(batch: int = 200, *, stopping: Callable[[], bool] = _never) -> int:
    """Store the clocks of incidents that have none (a database from before sla_clock,
    or rows seeded by hand); returns how many incidents were filled."""
    filled = 0
    while not stopping():
        rows = await Incident.raw(
            "SELECT i.id FROM incident i WHERE NOT EXISTS"
            " (SELECT 1 FROM sla_clock c WHERE c.incident = i.id) LIMIT {}",
            batch,
        )
        if not rows:
            return filled
        async with write_transaction():
            for r in rows:
                record, clocks, _ = await incident_record_and_clocks(r["id"], with_timeline=False)
                await store_clocks(record, clocks)
        filled += len(rows)
    return filled


async def refresh_open(bureau_id: str) -> int:
    """Recompute the stored clocks of the bureau's open incidents (after a policy change:
    closed incidents keep the clocks of the policy they were handled under)."""
    rows = await Incident.select(Incident.id).where(
        (Incident.bureau == bureau_id) & Incident.status.is_in(list(OPEN_STATUSES))
    )
    for r in rows:
        async with write_transaction():
            record, clocks, _ = await incident_record_and_clocks(r["id"], with_timeline=False)
            await store_clocks(record, clocks)
    return len(rows)
