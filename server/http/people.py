"""People a dispatcher can choose from (server/services/directory.py)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import QueryParameter

from server.http.guards import CurrentCaller
from server.services import directory

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
        return await directory.list_people(caller, station_id)
