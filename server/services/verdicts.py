"""The citizen's word (PROTOCOL §9, 回访 and 扫码评价): callbacks, QR and poster ratings.

- **Callbacks** (command-center roles; a station chief reads their station's list):
  `list_callbacks`, and `callback_attempt` for each call back. An unanswered third call
  makes the task `unreachable`; a call that reaches the caller records their verdict.
- **Public calls** (no sign-in): `public_rating` and `rate_by_token` for a QR invite's
  token, `rate_by_poster` for a station's poster. No answer carries personal data.
  Every public POST from one client address counts (`public_try` kind `post`): the 21st
  within an hour is answered 429; a poster POST that names no incident is a miss (kind
  `miss`): after 5 within an hour every public POST from that address is answered 429.
  Rows older than an hour, and waiting verdicts past their 7 days, are purged as each
  POST goes.
- **Posters**: `rating_poster`, an A4 SVG with the QR code of `/rate/s/{rating_code}`.

Every verdict is recorded by server/write/verdicts.py `record_verdict`, whichever way it
came: one per incident.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

from server.access.accounts import Caller
from server.access.scope import caller_data_incidents, mask_phone, visible_incident
from server.core import audit
from server.core.clock import as_utc, local_day, utcnow
from server.core.db import write_transaction
from server.core.errors import (
    BadRequest,
    Forbidden,
    Gone,
    NotFound,
    QinglingError,
    StateConflict,
    Throttled,
)
from server.core.ids import new_id
from server.core.tables import (
    CallbackTask,
    Incident,
    PendingRating,
    PublicTry,
    RatingInvite,
    Station,
)
from server.record.caller_data import audit_reveal
from server.record.poster import rating_poster_svg
from server.write.report_rows import store_callback_state
from server.write.verdicts import RATING_VALIDITY, already_rated, has_verdict, record_verdict
from sync.messages import (
    RATING_TOKEN,
    CallbackAttempt,
    PosterRating,
    Verdict,
)
from sync.views import (
    CallbackAttemptView,
    CallbackList,
    CallbackTaskView,
    PublicRatingState,
    PublicRatingView,
)

CallbackFilter = Literal["due", "done", "unreachable", "all"]

# The third unanswered call gives the callback up (PROTOCOL §9).
UNANSWERED_LIMIT = 3
# Public limits per client address, over a sliding hour (PROTOCOL §9).
PUBLIC_WINDOW = timedelta(hours=1)
POST_LIMIT = 20
MISS_LIMIT = 5
# What a poster code can look like (server/core/ids.py new_rating_code makes 12 of these
# characters); anything else names no station, without asking the database.
RATING_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
# A poster names an incident received at its station within this many days.
POSTER_DAYS = 30

# The one answer to a poster POST that names no incident, whatever part was wrong
# (the code, the number or the digits): the same bytes every time.
NO_SUCH_INCIDENT_MESSAGE = "no incident of this station with that number and phone in 30 days"


def no_such_incident() -> NotFound:
    return NotFound(NO_SUCH_INCIDENT_MESSAGE, code="no_such_incident")


_attempts_decoder = msgspec.json.Decoder(list[dict[str, Any]])
_verdict_decoder = msgspec.json.Decoder(Verdict)
_poster_decoder = msgspec.json.Decoder(PosterRating)


# ---------------------------------------------------------------------------------------
# Callbacks.


def _attempts(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str | bytes):
        return _attempts_decoder.decode(value)
    return list(value or [])


def _task_view(row: dict[str, Any], phone: str) -> CallbackTaskView:
    return CallbackTaskView(
        incident_id=row["incident"],
        number=row["number"],
        station_id=row["station"],
        category=row["category"],
        closed_at=as_utc(row["closed_at"]),
        due_at=as_utc(row["due_at"]),
        caller_phone=phone,
        state=row["state"],
        attempts=[
            CallbackAttemptView(
                at=as_utc(datetime.fromisoformat(a["at"])), reached=a["reached"], by=a.get("by")
            )
            for a in _attempts(row["attempts"])
        ],
    )


_TASKS = (
    "SELECT t.incident, t.station, t.closed_at, t.due_at, t.state, t.attempts,"
    " i.number, i.category, i.caller_phone"
    " FROM callback_task t JOIN incident i ON i.id = t.incident WHERE t.bureau = {}"
)


async def _answer_tasks(
    caller: Caller, rows: list[dict[str, Any]], via: Literal["callbacks"] = "callbacks"
) -> list[CallbackTaskView]:
    """The tasks as `caller` may receive them: the caller's phone in full where
    `sees_caller` allows it (command roles; a station chief for their station's due
    tasks), masked elsewhere; one audit row for the full ones, before answering."""
    carrying = {r["incident"] for r in rows if r["caller_phone"]}
    full = await caller_data_incidents(caller, carrying)
    await audit_reveal(caller, full, via)
    return [
        _task_view(r, r["caller_phone"] if r["incident"] in full else mask_phone(r["caller_phone"]))
        for r in rows
    ]


async def list_callbacks(
    caller: Caller, state: CallbackFilter, station_id: str | None, limit: int = 500
) -> CallbackList:
    """The callback list: command-center roles the bureau's (or one station's), a
    station chief their own station's (another station answers 404, as if it did not
    exist); oldest due first, the first `limit`."""
    if not caller.is_command:
        if caller.role != "station_chief":
            raise Forbidden("only command-center roles and station chiefs see callbacks")
        if station_id is not None and station_id != caller.station_id:
            raise NotFound(f"no station {station_id!r} that you can see")
        station_id = caller.station_id or ""
    elif station_id is not None and not await Station.exists().where(
        (Station.id == station_id) & (Station.bureau == caller.bureau_id)
    ):
        raise NotFound(f"no station {station_id!r} that you can see")
    sql, values = _TASKS, [caller.bureau_id]
    if station_id is not None:
        sql += " AND t.station = {}"
        values.append(station_id)
    if state != "all":
        sql += " AND t.state = {}"
        values.append(state)
    rows = await CallbackTask.raw(sql + " ORDER BY t.due_at, i.number LIMIT {}", *values, limit)
    return CallbackList(callbacks=await _answer_tasks(caller, list(rows)))


def _verdict_of(body: CallbackAttempt) -> Verdict | None:
    if not body.reached:
        if body.ratings is not None or body.overall is not None or body.comment:
            raise BadRequest("an unanswered call carries no verdict; send reached: true with it")
        return None
    if body.ratings is None or body.overall is None:
        raise BadRequest("a call that reached the caller needs their ratings and overall")
    return Verdict(ratings=body.ratings, overall=body.overall, comment=body.comment)


async def callback_attempt(
    caller: Caller, incident_id: str, body: CallbackAttempt
) -> CallbackTaskView:
    """One call back to the caller of a closed incident: unanswered (the third makes the
    task `unreachable`), or answered with their verdict (the task is `done`)."""
    verdict = _verdict_of(body)
    now = utcnow()
    async with write_transaction():
        incident = await visible_incident(caller, incident_id)
        if incident["status"] != "closed":
            raise StateConflict(
                f"the incident is {incident['status']}; callbacks follow the close",
                code="not_closed",
            )
        if await has_verdict(incident_id):
            raise already_rated()
        task = await CallbackTask.select().where(CallbackTask.id == incident_id).first()
        if task is None:
            raise StateConflict(
                "this incident has no callback task (no caller phone, or no_callback)",
                code="no_callback_task",
            )
        attempts = _attempts(task["attempts"])
        attempts.append({"at": now.isoformat(), "reached": body.reached, "by": caller.person_id})
        state = task["state"]
        if verdict is not None:
            state = "done"
        elif state == "due" and sum(not a["reached"] for a in attempts) >= UNANSWERED_LIMIT:
            state = "unreachable"
        await CallbackTask.update(
            {
                CallbackTask.attempts: msgspec.json.encode(attempts).decode(),
                CallbackTask.state: state,
                CallbackTask.finished_at: now if state != "due" else None,
            }
        ).where(CallbackTask.id == incident_id)
        await store_callback_state(incident_id)  # the reports' copy
        if verdict is not None:
            await record_verdict(
                incident_id,
                verdict,
                source="callback",
                person=caller.person_id,
                device=caller.device_id,
            )
        else:
            await audit.append(
                audit.CALLBACK_ATTEMPT,
                actor=caller.person_id,
                device=caller.device_id,
                subject=incident_id,
                detail={"attempt": len(attempts), "state": state},
            )
        [row] = await CallbackTask.raw(_TASKS + " AND t.id = {}", caller.bureau_id, incident_id)
        [view] = await _answer_tasks(caller, [row])
    return view


# ---------------------------------------------------------------------------------------
# Public calls.


def _token_hash(token: str) -> str:
    """The invite's key: the SHA-256 of a well-formed token; 400 invalid_token otherwise."""
    if not RATING_TOKEN.match(token):
        raise BadRequest(
            "a rating token is 32 to 256 lowercase hexadecimal characters", code="invalid_token"
        )
    return hashlib.sha256(token.encode("ascii")).hexdigest()


async def _invite(token_sha256: str) -> dict[str, Any] | None:
    return await RatingInvite.select().where(RatingInvite.token_sha256 == token_sha256).first()


async def public_rating(token: str) -> PublicRatingView:
    """What a rating link says (no personal data): its incident's station, category and
    day of receipt, and whether it is open, rated, awaiting its invite or expired."""
    token_sha256 = _token_hash(token)
    invite = await _invite(token_sha256)
    if invite is None:
        return PublicRatingView(station=None, category=None, received_on=None, state="awaiting")
    incident = (
        await Incident.select(Incident.category, Incident.received_at, Incident.station.name)
        .where(Incident.id == invite["incident"])
        .first()
    )
    assert incident is not None  # an invite refers to its incident
    if await has_verdict(invite["incident"]):
        state: Literal["open", "rated", "expired"] = "rated"
    elif utcnow() >= as_utc(invite["expires_at"]):
        state = "expired"
    else:
        state = "open"
    return PublicRatingView(
        station=incident["station.name"],
        category=incident["category"],
        received_on=local_day(incident["received_at"]),
        state=state,
    )


async def _admit(address: str, now: datetime) -> None:
    """Purge what is past, then count this POST against `address`'s limits (429 with
    Retry-After when over). Call inside the POST's write transaction."""
    since = now - PUBLIC_WINDOW
    await PublicTry.delete().where(PublicTry.at < since)
    await PendingRating.delete().where(PendingRating.expires_at <= now)
    rows = await PublicTry.select(PublicTry.kind, PublicTry.at).where(
        (PublicTry.address == address) & (PublicTry.at >= since)
    )
    posts = sorted(as_utc(r["at"]) for r in rows if r["kind"] == "post")
    misses = sorted(as_utc(r["at"]) for r in rows if r["kind"] == "miss")
    for times, limit, what in (
        (misses, MISS_LIMIT, "too many ratings named no incident"),
        (posts, POST_LIMIT, "too many ratings sent"),
    ):
        if len(times) >= limit:
            # Until the oldest of the last `limit` leaves the hour.
            wait = times[-limit] + PUBLIC_WINDOW - now
            raise Throttled(
                f"{what} from this address in the last hour; try later",
                retry_after_s=int(wait.total_seconds()) + 1,
            )
    await _count(address, "post", now)


async def _count(address: str, kind: str, now: datetime) -> None:
    await PublicTry.insert(PublicTry(id=new_id(), address=address, kind=kind, at=now))


def _decode(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    try:
        return decoder.decode(body)
    except (msgspec.DecodeError, UnicodeError) as exc:
        raise BadRequest(f"the rating is not valid: {exc}") from None


async def rate_by_token(token: str, body: bytes, address: str) -> PublicRatingState:
    """A citizen's verdict through a QR invite: `rated` (counted now) or `awaiting` (kept
    7 days until the invite arrives; a second verdict meanwhile keeps the first).
    Every POST counts against the address, refused ones too (but not one answered 429)."""
    now = utcnow()
    outcome: PublicRatingState | QinglingError
    async with write_transaction():
        await _admit(address, now)
        try:
            outcome = await _rate_by_token(token, body, now)
        except QinglingError as refused:
            # Answered once the try is committed: a refused POST still counts.
            outcome = refused
    if isinstance(outcome, QinglingError):
        raise outcome
    return outcome


async def _rate_by_token(token: str, body: bytes, now: datetime) -> PublicRatingState:
    token_sha256 = _token_hash(token)
    verdict: Verdict = _decode(_verdict_decoder, body)
    invite = await _invite(token_sha256)
    if invite is None:
        if not await PendingRating.exists().where(PendingRating.token_sha256 == token_sha256):
            await PendingRating.insert(
                PendingRating(
                    token_sha256=token_sha256,
                    verdict=msgspec.json.encode(verdict).decode(),
                    received_at=now,
                    expires_at=now + RATING_VALIDITY,
                )
            )
        return PublicRatingState(state="awaiting")
    if await has_verdict(invite["incident"]):
        raise already_rated()
    if now >= as_utc(invite["expires_at"]):
        raise Gone("this rating link has expired (7 days after it was shown)")
    await record_verdict(invite["incident"], verdict, source="qr", token_sha256=token_sha256)
    return PublicRatingState(state="rated")


async def rate_by_poster(code: str, body: bytes, address: str) -> PublicRatingState:
    """A citizen's verdict through a station's poster, naming the incident by its number
    and the last four digits of the phone they called from. A wrong code, number or
    digits all answer the same 404 and count as a miss."""
    now = utcnow()
    outcome: PublicRatingState | QinglingError
    async with write_transaction():
        await _admit(address, now)
        try:
            outcome = await _rate_by_poster(code, body, now, address)
        except QinglingError as refused:
            outcome = refused
    if isinstance(outcome, QinglingError):
        raise outcome
    return outcome


def _phone_digits(phone: str) -> str:
    return "".join(c for c in phone if c.isascii() and c.isdigit())


async def _rate_by_poster(code: str, body: bytes, now: datetime, address: str) -> PublicRatingState:
    rating: PosterRating = _decode(_poster_decoder, body)
    incident_id = await _poster_incident(code, rating, now)
    if incident_id is None:
        await _count(address, "miss", now)
        raise no_such_incident()
    if await has_verdict(incident_id):
        raise already_rated()
    verdict = Verdict(ratings=rating.ratings, overall=rating.overall, comment=rating.comment)
    await record_verdict(incident_id, verdict, source="poster")
    return PublicRatingState(state="rated")


async def _poster_incident(code: str, rating: PosterRating, now: datetime) -> str | None:
    """The incident a poster rating names, or None: of the station with that code,
    received in the last 30 days, with that number (case and surrounding spaces aside)
    and a caller phone whose digits end in `phone_last4`."""
    if not RATING_CODE.match(code):
        return None
    station = (
        await Station.select(Station.id, Station.bureau).where(Station.rating_code == code).first()
    )
    if station is None:
        return None
    number = rating.incident_number.strip().upper()
    rows = await Incident.select(Incident.id, Incident.caller_phone).where(
        (Incident.bureau == station["bureau"])
        & (Incident.station == station["id"])
        & (Incident.number == number)
        & (Incident.received_at >= now - timedelta(days=POSTER_DAYS))
    )
    for row in rows:
        digits = _phone_digits(row["caller_phone"] or "")
        if len(digits) >= 4 and digits.endswith(rating.phone_last4):
            return str(row["id"])
    return None


# ---------------------------------------------------------------------------------------
# Posters and codes.


async def rating_poster(caller: Caller, station_id: str, public_base: str) -> str:
    """The station's printable rating poster (SVG): an admin for any station of the
    bureau, a station chief for their own; other roles 403, another station 404."""
    if caller.role not in ("admin", "station_chief"):
        raise Forbidden("only an admin or the station's chief may print its rating poster")
    if caller.role == "station_chief" and station_id != caller.station_id:
        raise NotFound(f"no station {station_id!r} that you can see")
    station = (
        await Station.select(Station.name, Station.rating_code)
        .where((Station.id == station_id) & (Station.bureau == caller.bureau_id))
        .first()
    )
    if station is None or not station["rating_code"]:
        raise NotFound(f"no station {station_id!r} that you can see")
    url = f"{public_base.rstrip('/')}/rate/s/{station['rating_code']}"
    return rating_poster_svg(station["name"], url)


__all__ = [
    "CallbackFilter",
    "callback_attempt",
    "list_callbacks",
    "public_rating",
    "rate_by_poster",
    "rate_by_token",
    "rating_poster",
]
