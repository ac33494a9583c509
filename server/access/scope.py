"""Station scope: which incidents a caller may see.

Command-center roles see their whole bureau. Field roles see their own station's
incidents and the incidents they are currently assigned to, and the standalone mediation
cases of their station. An incident out of scope is answered 404, exactly like one that
does not exist, so ids cannot be probed.

The rule is applied to three things, all written here so they cannot drift apart:
`incident_scope` (a Piccolo clause over incidents, for the HTTP calls),
`change_scope_sql` (SQL over the change feed, for pull and a socket's catch-up: history
judged by the caller's scope now) and `sees_change` (a change row in memory, for the live
hub: each change judged as it is written). tests/server/test_scope.py holds them together.
"""

from __future__ import annotations

from typing import Any

from server.access.accounts import Caller
from server.core.errors import NotFound
from server.core.tables import Assignment, Incident


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
    station or assigned to it now, and standalone mediation cases of its station.
    """
    if caller.is_command:
        return "bureau = {}", [caller.bureau_id]
    station = caller.station_id or ""
    return (
        "bureau = {} AND ("
        " incident IN (SELECT id FROM incident WHERE station = {})"
        " OR incident IN (SELECT incident FROM assignment WHERE person = {} AND ended_at IS NULL)"
        " OR (incident IS NULL AND station = {}))",
        [caller.bureau_id, station, caller.person_id, station],
    )


def sees_change(caller: Caller, assigned: set[str], row: dict[str, Any]) -> bool:
    """Whether a change row (`bureau`, `station`, `incident`) is in `caller`'s scope, given
    the incidents they are assigned to now (the live hub keeps that set per socket)."""
    if row["bureau"] != caller.bureau_id:
        return False
    if caller.is_command:
        return True
    # A person with no station matches no station (as `change_scope_sql` does), not the
    # station-less rows of incidents never dispatched.
    at_my_station = bool(caller.station_id) and row["station"] == caller.station_id
    if row["incident"] is None:
        return at_my_station
    return row["incident"] in assigned or at_my_station
