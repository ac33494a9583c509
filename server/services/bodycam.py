"""Body-camera clips a supervisor marks reviewed (DESIGN: "can be marked reviewed").

Qingling keeps references to clips (`bodycam_ref` events), never the video. Marking one
reviewed is a command-center act on its incident: an `incident_action` named
`bodycam_reviewed` with detail `{"op_id", "camera_serial", "clip_id", "note"}`. It appears
in the timeline, bumps the incident's version and goes to the change feed like every other
act, so no table or migration is needed and every desk sees it live.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from piccolo.query import Select

from server.access.accounts import Caller
from server.core import audit
from server.core.clock import as_utc, as_utc_or_none, utcnow
from server.core.db import write_transaction
from server.core.errors import NotFound, StateConflict
from server.core.ids import new_id
from server.core.tables import Event, Incident, IncidentAction
from server.record.events import load_json
from server.write.publish import publish_incident
from sync.messages import Input, LongText
from sync.views import ClipView

ACTION = "bodycam_reviewed"


class MarkReviewed(Input):
    note: LongText = ""


def _clip_view(event: dict[str, Any], number: str | None, mark: dict[str, Any] | None) -> ClipView:
    body = load_json(event["body"])
    return ClipView(
        op_id=event["op_id"],
        incident_id=event["incident"],
        incident_number=number,
        person_id=event["person"],
        camera_serial=body.get("camera_serial"),
        clip_id=body.get("clip_id"),
        started_at=body.get("started_at"),
        ended_at=body.get("ended_at"),
        sha256=body.get("sha256"),
        bytes=body.get("bytes"),
        received_at=as_utc(event["received_at"]),
        flags=load_json(event["flags"]) or [],
        reviewed_at=as_utc_or_none(mark["recorded_at"]) if mark else None,
        reviewed_by=mark["person"] if mark else None,
        note=(load_json(mark["detail"]).get("note") or None) if mark else None,
    )


async def _marks(incident_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The review mark of each clip (by op_id) among these incidents' actions."""
    if not incident_ids:
        return {}
    rows = await IncidentAction.select(
        IncidentAction.person, IncidentAction.recorded_at, IncidentAction.detail
    ).where(IncidentAction.incident.is_in(incident_ids) & (IncidentAction.action == ACTION))
    return {load_json(r["detail"])["op_id"]: r for r in rows}


def _clips(caller: Caller) -> Select:
    """The bureau's clip references (body-camera events attached to an incident)."""
    return Event.select(
        Event.op_id,
        Event.incident,
        Event.incident.number.as_alias("number"),
        Event.person,
        Event.body,
        Event.received_at,
        Event.flags,
    ).where(
        (Event.bureau == caller.bureau_id)
        & (Event.type == "bodycam_ref")
        & Event.incident.is_not_null()
    )


async def list_clips(caller: Caller, state: str, limit: int) -> list[ClipView]:
    """The bureau's clip references, newest received first; `state`: unreviewed, reviewed, all."""
    events = await _clips(caller).order_by(Event.received_at, ascending=False)
    marks = await _marks(sorted({e["incident"] for e in events}))
    clips = []
    for event in events:
        mark = marks.get(event["op_id"])
        if (state == "unreviewed" and mark) or (state == "reviewed" and not mark):
            continue
        clips.append(_clip_view(event, event["number"], mark))
        if len(clips) >= limit:
            break
    return clips


async def mark_reviewed(caller: Caller, op_id: str, body: MarkReviewed) -> ClipView:
    """Mark one clip reviewed; a clip is marked once (409 `already_reviewed` after)."""
    now = utcnow()
    async with write_transaction():
        event = await _clips(caller).where(Event.op_id == op_id).first()
        if event is None:
            raise NotFound(f"no body-camera clip {op_id!r} in your bureau")
        if op_id in await _marks([event["incident"]]):
            raise StateConflict("this clip is already marked reviewed", code="already_reviewed")
        clip = load_json(event["body"])
        detail = {
            "op_id": op_id,
            "camera_serial": clip.get("camera_serial"),
            "clip_id": clip.get("clip_id"),
            "note": body.note,
        }
        action_id = new_id()
        encoded = msgspec.json.encode(detail).decode()
        await IncidentAction.insert(
            IncidentAction(
                id=action_id,
                incident=event["incident"],
                action=ACTION,
                person=caller.person_id,
                effective_time=now,
                recorded_at=now,
                back_entered=False,
                detail=encoded,
            )
        )
        await audit.append(
            audit.BODYCAM_MARKED,
            actor=caller.person_id,
            device=caller.device_id,
            subject=event["incident"],
            detail={
                "op_id": op_id,
                "action_id": action_id,
                "detail_sha256": hashlib.sha256(encoded.encode()).hexdigest(),
            },
        )
        await Incident.update(
            {Incident.version: Incident.version + 1, Incident.updated_at: now}
        ).where(Incident.id == event["incident"])
        await publish_incident(event["incident"])
        mark = {"person": caller.person_id, "recorded_at": now, "detail": detail}
        return _clip_view(event, event["number"], mark)
