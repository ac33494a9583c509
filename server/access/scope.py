"""Station scope: which incidents, changes and attachments a caller may see, and on
which incidents they may record field work. Every scope rule of the server is here.

The rule (`sees`): command-center roles see their whole bureau. Field roles see, in
their bureau, the incidents of their own station and the incidents they are assigned to
now, and the standalone mediation cases of their station. A linked agency's people
(role `agency`) thus see the calls diverted to their agency now: a diverted incident's
station is the agency (PROTOCOL §10), and nothing of police incidents. A person without a station
matches no station (never the station-less rows of an incident not yet dispatched).
What a field role may see is what it may record on. An incident out of scope is answered
404, exactly like one that does not exist, so ids cannot be probed.

The rule is rendered for each place that needs it, all here so they cannot drift apart
(tests/server/test_scope.py holds them to one answer):

- `incident_scope`: a Piccolo clause over incidents (HTTP reads, the board, lists);
- `change_scope_sql`: SQL over the change feed (pull, a socket's catch-up: history
  judged by the caller's scope now);
- `sees_change`: a change row in memory (the live hub: each change judged as written);
- `may_record` / `may_record_in_case`: pushed ops (server/write/ingest.py);
  `may_answer_diversion`: who may answer a diverted call (`agency_feedback`, §10);
- `readable_attachments` / `may_read_attachment`: attachments, through the reference
  index (`blob_ref`): a blob is readable by those who uploaded it and by those who see a
  record whose accepted op names it with a *granted* reference (PROTOCOL §12). The same
  rule, applied to an op's author when the op is accepted, decides whether that new
  reference is granted (server/write/ingest.py).

Caller data (PROTOCOL §12) is a second rule on top of scope (`sees_caller`): of the
incidents a person sees, whose `caller_name` and `caller_phone` they get in full, judged
when the answer is made. Everyone else gets them masked (`mask_phone`, `mask_name`).
It is rendered for the read path (`caller_data_incidents`, a database read) and for the
live hub, which judges each batch of changes by the incident's newest record in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.access.accounts import Caller
from server.core.errors import NotFound
from server.core.tables import Assignment, BlobRef, CallbackTask, Incident
from sync.messages import OPEN_STATUSES


def sees(
    caller: Caller, *, bureau: str, station: str | None, incident: str | None, assigned: set[str]
) -> bool:
    """The rule itself: whether `caller` may see a thing of `bureau` at `station`, which
    belongs to `incident` (None: a standalone mediation case), given the incidents the
    caller is assigned to now."""
    if bureau != caller.bureau_id:
        return False
    if caller.is_command:
        return True
    at_my_station = bool(caller.station_id) and station == caller.station_id
    if incident is None:
        return at_my_station
    return incident in assigned or at_my_station


async def assigned_incident_ids(person_id: str) -> list[str]:
    rows = await Assignment.select(Assignment.incident).where(
        (Assignment.person == person_id) & Assignment.ended_at.is_null()
    )
    return [r["incident"] for r in rows]


async def incident_scope(caller: Caller) -> Any:
    """A Piccolo where-clause selecting the incidents `caller` may see."""
    in_bureau = Incident.bureau == caller.bureau_id
    if caller.is_command:
        return in_bureau
    assigned = await assigned_incident_ids(caller.person_id)
    mine: Any = Incident.station == caller.station_id if caller.station_id else None
    if assigned:
        by_assignment = Incident.id.is_in(assigned)
        mine = by_assignment if mine is None else (mine | by_assignment)
    if mine is None:
        # No station and nothing assigned: nothing is visible.
        return in_bureau & (Incident.id == "")
    return in_bureau & mine


def incident_scope_sql(caller: Caller, alias: str = "i") -> tuple[str, list[Any]]:
    """`incident_scope` as raw SQL over the incident table aliased `alias`: the WHERE
    clause (Piccolo's `{}` placeholders) and its values, for reads that join the
    incident's child tables in one statement (the board, server/services/board.py)."""
    if caller.is_command:
        return f"{alias}.bureau = {{}}", [caller.bureau_id]
    assigned = (
        f"{alias}.id IN (SELECT incident FROM assignment WHERE person = {{}} AND ended_at IS NULL)"
    )
    if caller.station_id:
        return (
            f"{alias}.bureau = {{}} AND ({alias}.station = {{}} OR {assigned})",
            [caller.bureau_id, caller.station_id, caller.person_id],
        )
    return f"{alias}.bureau = {{}} AND {assigned}", [caller.bureau_id, caller.person_id]


async def visible_incident(caller: Caller, incident_id: str) -> dict[str, Any]:
    """The incident row, if `caller` may see it; NotFound otherwise."""
    row = await (
        Incident.select()
        .where((Incident.id == incident_id) & (await incident_scope(caller)))
        .first()
    )
    if row is None:
        raise NotFound(f"no incident {incident_id!r} that you can see")
    return row


def change_scope_sql(caller: Caller) -> tuple[str, list[Any]]:
    """The WHERE clause (and its values) selecting the feed changes `caller` may read.

    Scope is the caller's *current* one: a field role reads changes of incidents at its
    station or assigned to it now, and standalone mediation cases of its station. A
    supervision order stays its station's wherever the incident went (PROTOCOL §11,
    docs/supervision.md): its changes are read by their own station.
    """
    if caller.is_command:
        return "bureau = {}", [caller.bureau_id]
    station = caller.station_id or ""
    return (
        "bureau = {} AND ("
        " incident IN (SELECT id FROM incident WHERE station = {})"
        " OR incident IN (SELECT incident FROM assignment WHERE person = {} AND ended_at IS NULL)"
        " OR (incident IS NULL AND station = {})"
        " OR (entity = 'supervision' AND station = {}))",
        [caller.bureau_id, station, caller.person_id, station, station],
    )


def sees_change(caller: Caller, assigned: set[str], row: dict[str, Any]) -> bool:
    """Whether a change row (`bureau`, `station`, `incident`) is in `caller`'s scope, given
    the incidents they are assigned to now (the live hub keeps that set per socket)."""
    return sees(
        caller,
        bureau=row["bureau"],
        station=row["station"],
        incident=row["incident"],
        assigned=assigned,
    )


def may_record(caller: Caller, incident: dict[str, Any], assigned: set[str]) -> bool:
    """Whether `caller` may record field work on an incident (its row: `id`, `bureau`,
    `station`), given the incidents they are assigned to now."""
    return sees(
        caller,
        bureau=incident["bureau"],
        station=incident["station"],
        incident=incident["id"],
        assigned=assigned,
    )


def may_answer_diversion(caller: Caller, incident: dict[str, Any]) -> bool:
    """Whether `caller` is a person of a linked agency the incident was ever diverted to
    (`incident["diverted_to_caller"]`, PROTOCOL §10): only they may send `agency_feedback`
    on it (anyone else, a police officer included, is refused `forbidden`), and what they
    send after the call left their agency (returned, re-diverted, dispatched) is still
    recorded, flagged `late` by the fold, like a reassigned officer's late facts."""
    return (
        caller.role == "agency"
        and bool(caller.station_id)
        and incident["bureau"] == caller.bureau_id
        and bool(incident.get("diverted_to_caller"))
    )


def may_record_in_case(caller: Caller, root: dict[str, Any]) -> bool:
    """Whether `caller` may add a version to a standalone mediation case, judged by its
    first version (`bureau`, `station`)."""
    return sees(
        caller, bureau=root["bureau"], station=root["station"], incident=None, assigned=set()
    )


_HASH_CHUNK = 400


async def readable_attachments(caller: Caller, hashes: Iterable[str]) -> set[str]:
    """Which of `hashes` `caller` may read now: those they uploaded, and those named by a
    granted reference on a record in their scope (`sees`: an incident judged by where it
    is and who is on it now, a mediation case by its station)."""
    wanted = sorted(set(hashes))
    rows: list[dict[str, Any]] = []
    # A push may name thousands of files: ask in chunks, well inside every engine's limit
    # on bound values.
    for i in range(0, len(wanted), _HASH_CHUNK):
        chunk = wanted[i : i + _HASH_CHUNK]
        marks = ", ".join("{}" for _ in chunk)
        rows += await BlobRef.raw(
            "SELECT h.sha256, NULL AS incident, NULL AS station, NULL AS incident_station,"
            " 1 AS held FROM blob_holder h"
            f" WHERE h.id IN ({marks})"
            " UNION ALL SELECT r.sha256, r.incident, r.station, i.station, 0"
            " FROM blob_ref r LEFT JOIN incident i ON i.id = r.incident"
            f" WHERE r.bureau = {{}} AND r.granted = {{}} AND r.sha256 IN ({marks})",
            *[f"{sha}:{caller.person_id}" for sha in chunk],
            caller.bureau_id,
            True,
            *chunk,
        )
    readable = {r["sha256"] for r in rows if r["held"]}
    referring = [r for r in rows if not r["held"] and r["sha256"] not in readable]
    if not referring:
        return readable
    assigned = set() if caller.is_command else set(await assigned_incident_ids(caller.person_id))
    for r in referring:
        if sees(
            caller,
            bureau=caller.bureau_id,
            # An incident's file is judged by where the incident is now; a mediation
            # case's by the station it belongs to.
            station=r["incident_station"] if r["incident"] else r["station"],
            incident=r["incident"],
            assigned=assigned,
        ):
            readable.add(r["sha256"])
    return readable


async def may_read_attachment(caller: Caller, sha256: str) -> bool:
    """Whether `caller` may read the blob `sha256` (PROTOCOL §12): they uploaded it, or
    they see a record whose accepted op grants it. A hash quoted in a note or a
    body-camera reference is not a reference and grants nothing."""
    return sha256 in await readable_attachments(caller, [sha256])


# ---------------------------------------------------------------------------------------
# Caller data by need (PROTOCOL §12).


def sees_caller(
    caller: Caller, incident_status: str, assigned: bool, *, on_callback_list: bool = False
) -> bool:
    """Whether `caller` gets an incident's caller name and phone in full, judged now.

    Command-center roles always; the people assigned to it now, while it is open
    (received, dispatched or diverted); a station chief while the incident is on their station's
    callback list (`on_callback_list`, see `callback_list_incidents`). Nobody else: an
    officer of the station not assigned, a grid worker, an agency, a mediator, and an
    officer once reassigned away or once the incident is closed or cancelled.
    """
    if sees_all_caller_data(caller):
        return True
    if on_callback_list and caller.role == "station_chief":
        return True
    return assigned and incident_status in OPEN_STATUSES


def sees_all_caller_data(caller: Caller) -> bool:
    """Whether `caller` gets the caller data of every incident they see, whatever its
    status or assignment (command-center roles): lets the live hub judge once per view."""
    return caller.is_command


async def callback_list_incidents(caller: Caller, incident_ids: set[str]) -> set[str]:
    """Of `incident_ids`, those on the callback list (回访, PROTOCOL §9) of `caller`'s
    station, when the caller is its station chief: incidents of their station whose
    callback task is `due` (not yet done, not given up as unreachable). Passed to
    `sees_caller` as `on_callback_list`; the live hub asks `callback_lists` per batch."""
    if caller.role != "station_chief" or not caller.station_id or not incident_ids:
        return set()
    lists = await callback_lists({caller.station_id}, incident_ids)
    return lists.get(caller.station_id, set())


async def callback_lists(station_ids: set[str], incident_ids: set[str]) -> dict[str, set[str]]:
    """Of `incident_ids`, those with a `due` callback task at each of `station_ids`:
    {station id: incident ids}, in one read per few hundred incidents."""
    out: dict[str, set[str]] = {}
    stations, wanted = sorted(station_ids), sorted(incident_ids)
    if not stations or not wanted:
        return out
    for i in range(0, len(wanted), _HASH_CHUNK):
        chunk = wanted[i : i + _HASH_CHUNK]
        rows = await CallbackTask.raw(
            "SELECT incident, station FROM callback_task WHERE state = 'due'"
            f" AND station IN ({', '.join('{}' for _ in stations)})"
            f" AND incident IN ({', '.join('{}' for _ in chunk)})",
            *stations,
            *chunk,
        )
        for r in rows:
            out.setdefault(r["station"], set()).add(r["incident"])
    return out


async def caller_data_incidents(caller: Caller, incident_ids: set[str]) -> set[str]:
    """Of `incident_ids` (already in `caller`'s scope), those whose caller data the
    caller gets in full now (`sees_caller`), read from the database at this moment."""
    if not incident_ids:
        return set()
    if sees_all_caller_data(caller):
        return set(incident_ids)
    rows = await Assignment.raw(
        "SELECT a.incident AS id, i.status FROM assignment a JOIN incident i ON i.id = a.incident"
        " WHERE a.person = {} AND a.ended_at IS NULL",
        caller.person_id,
    )
    on_list = await callback_list_incidents(caller, incident_ids)
    status = {r["id"]: r["status"] for r in rows if r["id"] in incident_ids}
    return {
        incident_id
        for incident_id in incident_ids
        if sees_caller(
            caller,
            status.get(incident_id, ""),
            incident_id in status,
            on_callback_list=incident_id in on_list,
        )
    }


MASK = "****"


def mask_phone(phone: str) -> str:
    """`13812345678` → `138****5678`: the first 3 and last 4 characters with exactly
    `****` between; `****` alone when shorter than 8 characters; empty stays empty
    (there is nothing to hide, and `****` would claim a number the call did not leave)."""
    if not phone:
        return ""
    if len(phone) < 8:
        return MASK
    return phone[:3] + MASK + phone[-4:]


def mask_name(name: str) -> str:
    """`张三` → `张*`: the first character and one `*`; empty stays empty."""
    return name[:1] + "*" if name else ""
