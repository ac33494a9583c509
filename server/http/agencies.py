"""Linked agencies and their duties (PROTOCOL §10): the responsibility list."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, put
from litestar.params import JSONBody, QueryParameter

from server.http.guards import CurrentCaller, admin_only, command_roles
from server.http.params import PathId
from server.services import agencies
from sync.views import AgencyDutiesView, AgencyList


class AgencyController(Controller):
    path = "/api/agencies"
    tags = ["agencies"]

    @get("/", guards=[command_roles])
    async def list_agencies(
        self,
        caller: CurrentCaller,
        match: Annotated[str | None, QueryParameter(max_length=20_000)] = None,
    ) -> AgencyList:
        """The bureau's linked agencies with their duties, ranked by how many of their
        keywords `match` (a call's narrative and address) contains."""
        return await agencies.list_agencies(caller.bureau_id, match)

    @put("/{station_id:str}/duties", status_code=200, guards=[admin_only])
    async def set_duties(
        self, caller: CurrentCaller, station_id: PathId, data: JSONBody[agencies.Duties]
    ) -> AgencyDutiesView:
        """Replace a linked agency's duties (admin)."""
        return await agencies.set_duties_by(caller, station_id, data)
