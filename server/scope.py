"""Station scope: which incidents a caller may see.

Command-center roles see their whole bureau. Field roles see their own station's
incidents and the incidents they are currently assigned to. An incident out of scope
is answered 404, exactly like one that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any

from server.accounts import Caller
from server.errors import NotFound
from server.tables import Assignment, Incident


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
