"""Step 2 of the write path: the reconciliation fold, applied inside a write transaction.

After new versions or events join an incident (or a standalone mediation case), the fold
(sync/rules.py) is run over the whole set; new events are stored with their flags, stored
flags that changed are rewritten and re-published, review items are opened for new flags
(step 3, server/write/review_items.py), and the record is published (step 4,
server/write/publish.py). Runs inside `db.write_transaction()`. In the bulk fold
(`reconcile_incidents`), an incident that only gained unflagged notes has those events
stored and published alone: they change nothing the record carries (`_quiet_fold`);
`reconcile` itself still folds and publishes whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec

from server.core.db import bulk_insert, execute_many
from server.core.tables import Event, Incident
from server.record.events import (
    event_view,
    field_event,
    incident_events,
    lifecycle,
    load_json,
    mediation_events,
    push_events_of,
)
from server.record.incident import (
    IncidentParts,
    complete_parts,
    load_lifecycle_parts,
    parts_lifecycle,
)
from server.record.policy import arrival_max_distance_m
from server.write.feed import append_changes
from server.write.group import Deferred, Group
from server.write.publish import publish_incident, publish_mediation, replace_clocks
from server.write.review_items import REVIEWED_FLAGS, open_review_items
from sync.rules import FLAGGED_ALONE_TYPES, Fold, Lifecycle, clip_key, fold, note_flags


def evidence_key(event_type: str, body: dict[str, Any]) -> str | None:
    if event_type != "bodycam_ref":
        return None
    serial, clip = clip_key(body)
    return f"{serial}\x1f{clip}"


async def _clip_hashes(rows: list[dict[str, Any]], group: Group) -> tuple[dict, set[str]]:
    """sha256s reported for this group's clips anywhere in the bureau, and the other
    incidents that reported one of those clips."""
    # Stored and new rows carry their clip's key: no body is parsed for it.
    keys = {r["evidence_key"] for r in rows if r.get("evidence_key")}
    if not keys:
        return {}, set()
    others = await Event.select(Event.body, Event.incident, Event.evidence_key).where(
        Event.evidence_key.is_in(list(keys)) & (Event.bureau == group.bureau_id)
    )
    hashes: dict[tuple[str, str], set[str]] = {}
    incidents: set[str] = set()
    for o in others:
        body = load_json(o["body"])
        if body.get("sha256"):
            hashes.setdefault(clip_key(body), set()).add(body["sha256"])
        if o["incident"] and o["incident"] != group.incident_id:
            incidents.add(o["incident"])
    return hashes, incidents


@dataclass
class _Preloaded:
    """An incident as `reconcile_incidents` read it in bulk with the push's others."""

    life: Lifecycle
    stored: list[dict[str, Any]]
    parts: IncidentParts
    deferred: Deferred


async def reconcile_incidents(
    batch: list[tuple[Group, list[dict[str, Any]]]], *, tolerance: timedelta
) -> None:
    """`reconcile` for each incident a push brought new events to, with the reads made
    once for all of them (a few statements per push, not per incident) and the writes
    held (`Deferred`) and made with one statement per table at the end.

    Only for incident groups with new rows and no `reread`; the fold, the flags, the
    review items and the record are those `reconcile` makes one group at a time. A fold
    that reaches into other incidents (a clip reported with two hashes) flushes, and the
    groups after it are reconciled one at a time again, reading afresh."""
    if not batch:
        return
    ids = [g.incident_id for g, _ in batch if g.incident_id is not None]
    # What the fold needs first; the rest of a record's parts only for the incidents whose
    # record is rebuilt (a push of notes reads three statements' worth, not eight).
    parts = await load_lifecycle_parts(ids)
    lives = {i: parts_lifecycle(p) for i, p in parts.items()}
    quiet = {
        group.incident_id: result
        for group, rows in batch
        if group.incident_id in lives
        and (result := _quiet_fold(lives[group.incident_id], rows, tolerance)) is not None
    }
    loud = [i for i in ids if i not in quiet]
    await complete_parts({i: parts[i] for i in loud if i in parts}, with_events=False)
    stored = await push_events_of(loud, {i for i in loud if i in lives and lives[i].diversions})
    deferred = Deferred()
    fresh = False
    for group, rows in batch:
        incident_id = group.incident_id
        assert incident_id is not None and rows
        if fresh or incident_id not in parts:
            await flush(deferred)
            await reconcile(group, rows, tolerance=tolerance)
            continue
        if incident_id in quiet:
            _set_flags(rows, quiet[incident_id])
            deferred.events.extend(_insertable(r) for r in rows)
            deferred.changes.extend(_event_changes(group, rows))
            continue
        preloaded = _Preloaded(
            lives[incident_id], stored[incident_id], parts[incident_id], deferred
        )
        reached: set[str] = set()
        await reconcile(group, rows, tolerance=tolerance, _preloaded=preloaded, _reached=reached)
        fresh = bool(reached)
    await flush(deferred)


def _quiet_fold(
    life: Lifecycle, rows: list[dict[str, Any]], tolerance: timedelta
) -> dict[str, tuple[str, ...]] | None:
    """The flags of a push's new events on an incident when they leave its record as it
    was: notes only (they feed no clock, record, attachment or figure the record shows,
    and each is judged alone: `sync.rules.note_flags`), no diversion (its agency's
    events are judged together), none flagged for review (a flag opens a review item,
    which the record lists). Then the events are stored and published alone: the record
    is neither rebuilt nor published again (PROTOCOL §4: only what changed gets a
    change; docs/sync.md). None when the incident must be folded and published whole."""
    if life.diversions or any(r["type"] not in FLAGGED_ALONE_TYPES for r in rows):
        return None
    flags = note_flags(life, [field_event(r) for r in rows], tolerance=tolerance)
    if any(flag in REVIEWED_FLAGS for of_one in flags.values() for flag in of_one):
        return None
    return flags


def _set_flags(rows: list[dict[str, Any]], flags: Mapping[str, tuple[str, ...]]) -> None:
    for row in rows:
        row["flags"] = list(flags[row["op_id"]])


def _event_changes(group: Group, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The feed's `event` changes for these events of the group."""
    return [
        {
            "entity": "event",
            "entity_id": row["op_id"],
            "bureau_id": group.bureau_id,
            "station_id": group.station_id,
            "incident_id": group.incident_id,
            "data": event_view(row),
        }
        for row in rows
    ]


async def flush(deferred: Deferred) -> None:
    """Make the held writes: the events, the clocks replaced, the feed's changes."""
    if deferred.events:
        await bulk_insert(Event, deferred.events)
    if deferred.clock_incidents:
        await replace_clocks(deferred.clock_incidents, deferred.clocks)
    if deferred.changes:
        await append_changes(deferred.changes)
    for sql, rows in deferred.rows.items():
        await execute_many(sql, rows)
    deferred.events, deferred.clock_incidents = [], []
    deferred.clocks, deferred.changes = [], []
    deferred.rows = {}


async def reconcile(
    group: Group,
    new_rows: list[dict[str, Any]] | None = None,
    *,
    tolerance: timedelta = timedelta(seconds=60),
    reread: bool = False,
    _visited: set[str] | None = None,
    _preloaded: _Preloaded | None = None,
    _reached: set[str] | None = None,
) -> Fold:
    """Fold the group with `new_rows` (event rows not yet stored), store and publish.

    With new rows, stored events whose flags cannot depend on them are not re-read
    (events.SELF_CONTAINED_TYPES); without (a lifecycle change, a resolution), or with
    `reread` (a stored event's device high water moved: server/write/ingest.py), all are.
    """
    new_rows = new_rows or []
    pre = _preloaded
    deferred = pre.deferred if pre is not None else None
    if pre is not None:
        life, stored = pre.life, pre.stored
    elif group.incident_id is not None:
        life = await lifecycle(group.incident_id)
        # A diverted incident's acknowledgements feed its agency clock: read them all.
        for_push = bool(new_rows) and not reread and not life.diversions
        stored = await incident_events(group.incident_id, for_push=for_push)
    else:
        assert group.mediation_root is not None
        stored = await mediation_events(group.mediation_root)
        life = Lifecycle()
    rows = stored + new_rows
    clip_hashes, other_incidents = await _clip_hashes(rows, group)
    result = fold(
        life,
        [field_event(r) for r in rows],
        tolerance=tolerance,
        clip_hashes=clip_hashes,
        arrival_max_distance_m=arrival_max_distance_m(),
    )

    if new_rows:
        _set_flags(new_rows, result.flags)
        if deferred is not None:
            deferred.events.extend(_insertable(r) for r in new_rows)
        else:
            await bulk_insert(Event, [_insertable(r) for r in new_rows])
    changed = []
    for row in stored:
        now_flags = list(result.flags[row["op_id"]])
        if now_flags != (load_json(row["flags"]) or []):
            await Event.update({Event.flags: msgspec.json.encode(now_flags).decode()}).where(
                Event.op_id == row["op_id"]
            )
            row["flags"] = now_flags
            changed.append(row)
    event_changes = _event_changes(group, [*new_rows, *changed])
    if pre is not None:
        held = pre.deferred
        held.changes.extend(event_changes)
        opened = await open_review_items(
            group, result, existing=pre.parts.reviews, before_first=lambda: flush(held)
        )
        # The record lists them (load_parts' columns, in the order they were made).
        pre.parts.reviews.extend(
            {
                "incident": group.incident_id,
                "id": v.id,
                "kind": v.kind,
                "clock": v.clock,
                "op_id": v.op_id,
                "record_id": v.record_id,
                "state": v.state,
            }
            for v in opened
        )
    else:
        await append_changes(event_changes)
        await open_review_items(group, result)

    if group.incident_id is not None:
        await publish_incident(
            group.incident_id,
            events=rows,
            folded=result,
            with_timeline=False,
            parts=pre.parts if pre is not None else None,
            deferred=deferred,
        )
    else:
        await publish_mediation(group, result)

    # A clip now reported with two hashes: the other incidents' copies are flagged too.
    visited = (_visited or set()) | {group.incident_id or ""}
    if any("evidence_mismatch" in f for f in result.flags.values()):
        if other_incidents - visited:
            if deferred is not None:
                await flush(deferred)
            if _reached is not None:
                _reached.update(other_incidents - visited)
        for incident_id in sorted(other_incidents - visited):
            other = (
                await Incident.select(Incident.bureau, Incident.station)
                .where(Incident.id == incident_id)
                .first()
            )
            if other is not None:
                await reconcile(
                    Group(other["bureau"], incident_id, station_id=other["station"]),
                    tolerance=tolerance,
                    _visited=visited,
                )
    return result


def _insertable(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("body", "flags", "parents"):
        if not isinstance(out[key], str):
            out[key] = msgspec.json.encode(out[key]).decode()
    return out
