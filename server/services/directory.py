"""The bureau's directory as a caller may see it: stations and the people a dispatcher
can choose from (interface 4 of the command-center work).

Command-center roles see the whole bureau; field roles see their own station (and
nobody without a station). A station outside the caller's scope is answered 404, like a
station that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any

from server.access.accounts import Caller
from server.core.errors import NotFound
from server.core.tables import Person, Station


async def list_stations(caller: Caller) -> list[dict[str, Any]]:
    """Stations the caller can see: the bureau's (command center), or their own.
    Command-center roles also get each station's `rating_code`, the code of its rating
    poster (`/rate/s/{rating_code}`, PROTOCOL §9); field roles do not."""
    columns = [Station.id, Station.name, Station.kind, Station.area_type]
    if caller.is_command:
        columns.append(Station.rating_code)
    query = Station.select(*columns).where(Station.bureau == caller.bureau_id)
    if not caller.is_command:
        query = query.where(Station.id == (caller.station_id or ""))
    return list(await query.order_by(Station.name))


async def list_people(caller: Caller, station_id: str | None) -> list[dict[str, Any]]:
    """Active people the caller may see, by station then name: `{id, name, role, station_id}`."""
    query = Person.select(
        Person.id, Person.name, Person.role, Person.station.as_alias("station_id")
    ).where((Person.bureau == caller.bureau_id) & (Person.active == True))  # noqa: E712
    if not caller.is_command:
        # A field role sees its own station's people only (and nobody without a station).
        if station_id is not None and station_id != caller.station_id:
            raise NotFound(f"no station {station_id!r} that you can see")
        station_id = caller.station_id or ""
    elif station_id is not None:
        known = await Station.exists().where(
            (Station.id == station_id) & (Station.bureau == caller.bureau_id)
        )
        if not known:
            raise NotFound(f"no station {station_id!r} that you can see")
    if station_id is not None:
        query = query.where(Person.station == station_id)
    return list(await query.order_by(Person.station).order_by(Person.name))
