"""Blobs by reference only, and each device's ops in order (PROTOCOL §12).

- `blob_holder`: who sent each blob's bytes; filled from `blob.uploaded_by`.
- `blob_ref`: the reference index, one row per blob an accepted op names in
  `attachments` or `evidence_item.sha256`; `granted` when its author could read the blob
  when the op was accepted. Filled from the stored events by `backfill_references`.
- `event.device_high_water`: the latest effective time among the ops the same device
  recorded before (lower seq); filled with one window function.

Raw SQL valid on SQLite (3.33 or later: UPDATE ... FROM, window frames) and PostgreSQL.
"""

import json
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "blob reference index, blob holders, event.device_high_water"

_CREATE = [
    'CREATE TABLE IF NOT EXISTS "blob_holder" ('
    ' "id" VARCHAR(140) PRIMARY KEY NOT NULL,'
    ' "sha256" VARCHAR(64) NOT NULL,'
    ' "person" VARCHAR(64) NOT NULL,'
    ' "uploaded_at" TIMESTAMPTZ NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "blob_ref" ('
    ' "id" VARCHAR(140) PRIMARY KEY NOT NULL,'
    ' "sha256" VARCHAR(64) NOT NULL,'
    ' "op_id" VARCHAR(64) NOT NULL,'
    ' "bureau" VARCHAR(64) NOT NULL,'
    ' "incident" VARCHAR(64) NULL,'
    ' "station" VARCHAR(64) NULL,'
    ' "person" VARCHAR(64) NOT NULL,'
    ' "granted" BOOLEAN NOT NULL DEFAULT FALSE,'
    ' "accepted_at" TIMESTAMPTZ NOT NULL)',
    'CREATE INDEX IF NOT EXISTS blob_ref_sha256 ON "blob_ref" (sha256)',
    'ALTER TABLE "event" ADD COLUMN "device_high_water" TIMESTAMPTZ NULL',
]

# Each op's high water: the latest effective time among its device's ops with a lower
# seq (RANGE ... 1 PRECEDING leaves out the ops sharing its seq). Resolutions made by the
# server (device "server") have no device clock and are left out.
_HIGH_WATER = (
    'UPDATE "event" SET device_high_water = w.high_water FROM ('
    " SELECT op_id, MAX(effective_time) OVER ("
    "  PARTITION BY device_id ORDER BY seq RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    " ) AS high_water FROM \"event\" WHERE device_id <> 'server'"
    ') w WHERE "event".op_id = w.op_id AND w.high_water IS NOT NULL'
)


def _body(value: Any) -> dict[str, Any]:
    if isinstance(value, bytes | str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def _named(op_type: str, body: dict[str, Any]) -> list[str]:
    # As sync.messages.blob_references on the day of this migration.
    names = set(body.get("attachments") or ())
    if op_type == "evidence_item" and body.get("sha256"):
        names.add(body["sha256"])
    return sorted(n for n in names if isinstance(n, str))


async def backfill_references() -> int:
    """Index every blob reference of the stored events; returns the rows written.

    Who could read what in the past is not on record, so a past reference is granted when
    its author uploaded the blob, or when the blob was already stored and an earlier
    granted reference sat on the same incident (or mediation case), which the author was
    recording on and so could see. Anything else is not granted: the index fails closed
    (an uploader may still read their own blob and re-share it with a new reference).
    """
    from server.core.tables import BlobRef, Meta

    await Meta.raw('DELETE FROM "blob_ref"')
    blobs = {
        r["sha256"]: r for r in await Meta.raw('SELECT sha256, uploaded_by, created_at FROM "blob"')
    }
    events = await Meta.raw(
        "SELECT op_id, type, body, bureau, incident, station, person, record_id, received_at"
        " FROM \"event\" WHERE type = 'evidence_item' OR CAST(body AS TEXT) LIKE {}"
        " ORDER BY received_at, op_id",
        "%attachments%",
    )
    roots = sorted({e["record_id"] or e["op_id"] for e in events if e["incident"] is None})
    case_station: dict[str, Any] = {}
    for i in range(0, len(roots), 500):
        chunk = roots[i : i + 500]
        marks = ", ".join("{}" for _ in chunk)
        for r in await Meta.raw(
            f'SELECT op_id, station FROM "event" WHERE op_id IN ({marks})', *chunk
        ):
            case_station[r["op_id"]] = r["station"]
    granted_on: dict[str, set[tuple[str, str]]] = {}
    rows: list[BlobRef] = []
    for e in events:
        if e["incident"] is not None:
            where = ("incident", e["incident"])
            station = e["station"]
        else:
            root = e["record_id"] or e["op_id"]
            where = ("case", root)
            station = case_station.get(root, e["station"])
        for sha in _named(e["type"], _body(e["body"])):
            blob = blobs.get(sha)
            granted = blob is not None and (
                blob["uploaded_by"] == e["person"]
                or (blob["created_at"] <= e["received_at"] and where in granted_on.get(sha, ()))
            )
            if granted:
                granted_on.setdefault(sha, set()).add(where)
            rows.append(
                BlobRef(
                    id=f"{e['op_id']}:{sha}",
                    sha256=sha,
                    op_id=e["op_id"],
                    bureau=e["bureau"],
                    incident=e["incident"],
                    station=station,
                    person=e["person"],
                    granted=granted,
                    accepted_at=e["received_at"],
                )
            )
    for i in range(0, len(rows), 500):
        await BlobRef.insert(*rows[i : i + 500])
    return len(rows)


async def forwards():
    # Meta is bound to whichever database server.core.db.use() chose; any table would do.
    from server.core.tables import Meta

    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create() -> None:
        for statement in _CREATE:
            await Meta.raw(statement)
        await Meta.raw(
            'INSERT INTO "blob_holder" (id, sha256, person, uploaded_at)'
            " SELECT sha256 || ':' || uploaded_by, sha256, uploaded_by, created_at"
            ' FROM "blob"'
        )
        await Meta.raw(_HIGH_WATER)
        await backfill_references()

    async def drop() -> None:
        await Meta.raw('DROP TABLE IF EXISTS "blob_ref"')
        await Meta.raw('DROP TABLE IF EXISTS "blob_holder"')
        await Meta.raw('ALTER TABLE "event" DROP COLUMN "device_high_water"')

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
