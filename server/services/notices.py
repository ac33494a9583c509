"""Notices (通报) and rectifications (整改), PROTOCOL §11, docs/supervision.md.

A supervisor (or admin) issues a notice to one or more stations (criticism,
commendation, briefing), optionally about incidents; with `rectify_by`, each named
station owes a `rectification` op from its chief by then (a `rectification` row each,
`owed`; server/write/supervision.py makes it `done`, the scheduler `overdue`). The notice
reaches each named station through the feed: one `notice` change per station.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from server.access.accounts import Caller
from server.core import audit
from server.core.clock import utcnow
from server.core.db import bulk_insert, write_transaction
from server.core.errors import Unprocessable
from server.core.ids import new_id
from server.core.tables import Incident, Notice, Rectification, Station
from server.record.events import load_json
from server.record.supervision import notice_views
from server.write.supervision import publish_notice
from sync.clock import TIME_RANGE, in_range
from sync.messages import NoticeRequest
from sync.views import NoticeList, NoticeView

# The list's `state` filter (checked as the query is read: server/http/params.py).
NoticeFilter = Literal["owed", "done", "overdue"]
LIST_LIMIT = 1000


async def issue_notice(caller: Caller, body: NoticeRequest) -> NoticeView:
    now = utcnow()
    station_ids = list(dict.fromkeys(body.station_ids))
    incident_ids = list(dict.fromkeys(body.incident_ids))
    if body.rectify_by is not None:
        if not in_range(body.rectify_by):
            raise Unprocessable(f"rectify_by must lie within {TIME_RANGE}", code="invalid_time")
        if body.rectify_by <= now:
            raise Unprocessable("rectify_by must lie in the future", code="invalid_time")
    async with write_transaction():
        known = {
            r["id"]
            for r in await Station.select(Station.id).where(
                (Station.bureau == caller.bureau_id) & Station.id.is_in(station_ids)
            )
        }
        missing = [s for s in station_ids if s not in known]
        if missing:
            raise Unprocessable(f"no station {missing[0]!r} in your bureau", code="unknown_station")
        if incident_ids:
            found = {
                r["id"]
                for r in await Incident.select(Incident.id).where(
                    (Incident.bureau == caller.bureau_id) & Incident.id.is_in(incident_ids)
                )
            }
            absent = [i for i in incident_ids if i not in found]
            if absent:
                raise Unprocessable(
                    f"no incident {absent[0]!r} in your bureau", code="unknown_incident"
                )
        notice_id = new_id()
        await Notice.insert(
            Notice(
                id=notice_id,
                bureau=caller.bureau_id,
                kind=body.kind,
                text=body.text,
                station_ids=msgspec.json.encode(station_ids).decode(),
                incident_ids=msgspec.json.encode(incident_ids).decode(),
                rectify_by=body.rectify_by,
                issued_by=caller.person_id,
                issued_at=now,
            )
        )
        if body.rectify_by is not None:
            await bulk_insert(
                Rectification,
                [
                    {
                        "id": f"{notice_id}:{s}",
                        "notice": notice_id,
                        "bureau": caller.bureau_id,
                        "station": s,
                        "due_at": body.rectify_by,
                        "state": "owed",
                        "done_at": None,
                        "op_id": None,
                        "watch_at": body.rectify_by,
                    }
                    for s in station_ids
                ],
            )
        await audit.append(
            audit.NOTICE_ISSUED,
            actor=caller.person_id,
            device=caller.device_id,
            subject=notice_id,
            detail={
                "kind": body.kind,
                "stations": station_ids,
                "incidents": incident_ids,
                "rectify_by": body.rectify_by.isoformat() if body.rectify_by else None,
            },
        )
        return await publish_notice(notice_id, now)


async def list_notices(
    caller: Caller, station_id: str | None, state: NoticeFilter | None
) -> NoticeList:
    """Notices newest first: the bureau's for command roles, those naming their station
    for field roles. `station_id` keeps those naming it; `state` those where a station
    (the one asked for, a field role's own, or any) is in that state."""
    rows = list(
        await Notice.select()
        .where(Notice.bureau == caller.bureau_id)
        .order_by(Notice.issued_at, ascending=False)
        .order_by(Notice.id, ascending=False)
    )
    wanted = [s for s in (station_id, None if caller.is_command else caller.station_id) if s]
    if not caller.is_command and not caller.station_id:
        return NoticeList(notices=[])
    rows = [r for r in rows if all(s in (load_json(r["station_ids"]) or []) for s in wanted)][
        :LIST_LIMIT
    ]
    views = await notice_views(rows, utcnow())
    if state is not None:
        views = [
            v
            for v in views
            if any(e.state == state for e in v.stations if not wanted or e.station_id in wanted)
        ]
    return NoticeList(notices=views)
