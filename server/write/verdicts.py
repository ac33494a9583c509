"""Step 2b of the write path: the citizen's verdict (PROTOCOL §9).

Three things happen here, each inside the write transaction of the act that causes it:

- **Rating invites** (`index_invites`, after the fold of a push): each applied
  `rating_invite` op is indexed by its token hash in `rating_invite`. The first invite
  of a token wins (a second, even for another incident, is kept as an event and changes
  nothing); it expires 7 days after the op's effective time as SLA clocks count it
  (PROTOCOL §6.3: never later than its receipt). A verdict that was waiting for that
  token (`pending_rating`, answered 202) becomes the incident's verdict at once, unless
  it is past its own expiry or was given after the invite's: the pending row is deleted
  in the same transaction, and a re-delivered op is a duplicate that never comes here,
  so it counts exactly once.
- **Verdicts** (`record_verdict`), the one place a verdict is recorded, whichever way it
  came (a callback, a QR code, a poster): one `feedback` row per incident (its id is the
  incident's, so a second verdict cannot be stored whatever the race: `already_rated`),
  an open callback task turned `done`, a `citizen_unsatisfied` review item for an
  `unsatisfied` overall (step 3), the audit row, and the incident republished (step 4)
  so the verdict reaches command desks live.
- **Callback tasks** (`open_callback_task`, when an incident is closed): due
  `callback_hours` (bureau policy) after the close, for a caller phone, unless the
  incident was created with `no_callback` or already has a verdict.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from server.core import audit
from server.core.clock import as_utc, utcnow
from server.core.errors import StateConflict
from server.core.tables import CallbackTask, Feedback, Incident, PendingRating, RatingInvite
from server.record.events import load_json
from server.record.policy import callback_hours
from server.write.group import Group
from server.write.publish import publish_incident
from server.write.report_rows import store_callback_state
from server.write.review_items import create_review_item
from sync.clock import sla_time
from sync.messages import Verdict

# A rating link (and a verdict waiting for its invite) lasts this long (PROTOCOL §9).
RATING_VALIDITY = timedelta(days=7)

_verdict_decoder = msgspec.json.Decoder(Verdict)


def already_rated() -> StateConflict:
    return StateConflict("this incident already has the citizen's verdict", code="already_rated")


async def has_verdict(incident_id: str) -> bool:
    return bool(await Feedback.exists().where(Feedback.id == incident_id))


_INSERT_FEEDBACK = (
    'INSERT INTO "feedback" (id, incident, bureau, source, "at", reception, timeliness,'
    " conduct, handling, overall, comment, person, token_sha256)"
    " VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
    " ON CONFLICT (id) DO NOTHING RETURNING id"
)


async def record_verdict(
    incident_id: str,
    verdict: Verdict,
    *,
    source: str,
    person: str | None = None,
    device: str | None = None,
    token_sha256: str | None = None,
    given_at: datetime | None = None,
) -> None:
    """Record the citizen's verdict on the incident (PROTOCOL §9). StateConflict
    `already_rated` when it has one, and nothing is written. `given_at`: when the
    citizen gave it, for a verdict that waited for its invite (default now). Call inside
    `db.write_transaction()`."""
    row = (
        await Incident.select(Incident.id, Incident.bureau, Incident.station)
        .where(Incident.id == incident_id)
        .first()
    )
    if row is None:  # the callers hold the incident; a vanished one is a bug
        raise LookupError(f"no incident {incident_id!r}")
    now = utcnow()
    ratings = verdict.ratings
    stored = await Feedback.raw(
        _INSERT_FEEDBACK,
        incident_id,
        incident_id,
        row["bureau"],
        source,
        given_at or now,
        ratings.reception,
        ratings.timeliness,
        ratings.conduct,
        ratings.handling,
        verdict.overall,
        verdict.comment,
        person,
        token_sha256,
    )
    if not stored:
        raise already_rated()
    # A QR or poster verdict ends an open callback: nobody need call any more. One given
    # up as unreachable stays so (the callback did fail); a callback's own task is
    # finished by its caller (services/verdicts.py).
    await CallbackTask.update({CallbackTask.state: "done", CallbackTask.finished_at: now}).where(
        (CallbackTask.id == incident_id) & (CallbackTask.state == "due")
    )
    await store_callback_state(incident_id)  # the reports' copy (report_rows.py)
    if verdict.overall == "unsatisfied":
        await create_review_item(
            Group(row["bureau"], incident_id, station_id=row["station"]),
            kind="citizen_unsatisfied",
            detail={"source": source, "overall": verdict.overall},
            once_key=f"citizen_unsatisfied:{incident_id}",
        )
    await audit.append(
        audit.VERDICT_RECORDED,
        actor=person,
        device=device,
        subject=incident_id,
        detail={"source": source, "overall": verdict.overall},
    )
    await Incident.update({Incident.version: Incident.version + 1, Incident.updated_at: now}).where(
        Incident.id == incident_id
    )
    await publish_incident(incident_id, with_timeline=False)


async def open_callback_task(incident_id: str, closed_at: datetime) -> bool:
    """Open the incident's callback task on its close, when it is owed: a caller phone,
    no `no_callback`, no verdict yet. Returns whether one was opened. Call inside the
    close's write transaction."""
    row = (
        await Incident.select(
            Incident.bureau, Incident.station, Incident.caller_phone, Incident.no_callback
        )
        .where(Incident.id == incident_id)
        .first()
    )
    if row is None or not (row["caller_phone"] or "").strip() or row["no_callback"]:
        return False
    if await has_verdict(incident_id) or await CallbackTask.exists().where(
        CallbackTask.id == incident_id
    ):
        return False
    hours = await callback_hours(row["bureau"])
    await CallbackTask.insert(
        CallbackTask(
            id=incident_id,
            incident=incident_id,
            bureau=row["bureau"],
            station=row["station"],
            closed_at=closed_at,
            due_at=closed_at + timedelta(hours=hours),
            state="due",
            attempts="[]",
            created_at=utcnow(),
        )
    )
    await store_callback_state(incident_id)  # the reports' copy (report_rows.py)
    return True


_INSERT_INVITE = (
    'INSERT INTO "rating_invite" (token_sha256, incident, bureau, op_id, effective_time,'
    " expires_at) VALUES ({}, {}, {}, {}, {}, {})"
    " ON CONFLICT (token_sha256) DO NOTHING RETURNING token_sha256"
)


async def index_invites(rows: list[dict[str, Any]]) -> None:
    """Index the `rating_invite` events among `rows` (event rows just stored by the
    fold), and turn a verdict waiting for one of their tokens into its incident's
    verdict. Call inside the push's write transaction."""
    for row in sorted(
        (r for r in rows if r["type"] == "rating_invite" and r["incident"]),
        key=lambda r: r["op_id"],
    ):
        token_sha256 = str(load_json(row["body"])["token_sha256"])
        effective = sla_time(as_utc(row["effective_time"]), as_utc(row["received_at"]))
        expires_at = effective + RATING_VALIDITY
        indexed = await RatingInvite.raw(
            _INSERT_INVITE,
            token_sha256,
            row["incident"],
            row["bureau"],
            row["op_id"],
            effective,
            expires_at,
        )
        if indexed:
            await _count_waiting(row["incident"], token_sha256, expires_at)


async def _count_waiting(incident_id: str, token_sha256: str, invite_expires_at: datetime) -> None:
    """The verdict that waited for this token, if any: counted once, then gone."""
    pending = await PendingRating.select().where(PendingRating.token_sha256 == token_sha256).first()
    if pending is None:
        return
    await PendingRating.delete().where(PendingRating.token_sha256 == token_sha256)
    now = utcnow()
    if as_utc(pending["expires_at"]) <= now:
        return  # kept 7 days, no longer
    if as_utc(pending["received_at"]) >= invite_expires_at:
        return  # given after the link had expired: it would have been refused (410)
    if await has_verdict(incident_id):
        return  # the incident was rated meanwhile (a callback, a poster)
    verdict = _verdict_decoder.decode(_json_bytes(pending["verdict"]))
    # The verdict's time is when the citizen gave it, not when the invite caught up.
    await record_verdict(
        incident_id,
        verdict,
        source="qr",
        token_sha256=token_sha256,
        given_at=as_utc(pending["received_at"]),
    )


def _json_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return msgspec.json.encode(value)
