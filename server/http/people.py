"""People a dispatcher can choose from (interface 4 of the command-center work).

`GET /api/people?station_id=S` lists the active people in the caller's scope: the whole
bureau for command-center roles, their own station for field roles. A station outside
that scope is answered 404, like a station that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import QueryParameter

from server.core.errors import NotFound
from server.http.guards import CurrentCaller
from server.core.tables import Person, Station

StationFilter = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[A-Za-z0-9._:-]{1,64}$", max_length=64, description="only this station"
    ),
]


class PeopleController(Controller):
    path = "/api/people"
    tags = ["people"]

    @get("/")
    async def list_people(
        self, caller: CurrentCaller, station_id: StationFilter = None
    ) -> list[dict[str, Any]]:
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
