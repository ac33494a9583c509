"""The command center's incident calls (PROTOCOL §7)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from server.http.guards import CurrentCaller, dispatch_desk
from server.http.params import PathId
from server.services import incidents
from server.services.incidents import StatusFilter
from sync.views import IncidentRecord


class IncidentController(Controller):
    path = "/api/incidents"
    tags = ["incidents"]

    @post("/", status_code=201, guards=[dispatch_desk])
    async def create(
        self,
        caller: CurrentCaller,
        data: JSONBody[incidents.CreateIncident],
    ) -> IncidentRecord:
        """Record a 110 call. `received_at` back-enters a call taken earlier."""
        return await incidents.create_incident(caller, data)

    @get("/")
    async def list_incidents(
        self,
        caller: CurrentCaller,
        status: FromQuery[StatusFilter] = "open",
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 200,
    ) -> list[IncidentRecord]:
        """Incidents in the caller's scope, newest first, without timelines."""
        return await incidents.list_incidents(caller, status, limit)

    @get("/{incident_id:str}")
    async def get_incident(self, caller: CurrentCaller, incident_id: PathId) -> IncidentRecord:
        """The incident with its timeline, SLA clocks and review items."""
        return await incidents.get_incident(caller, incident_id)

    @post("/{incident_id:str}/dispatch", status_code=200, guards=[dispatch_desk])
    async def dispatch(
        self,
        caller: CurrentCaller,
        incident_id: PathId,
        data: JSONBody[incidents.Dispatch],
    ) -> IncidentRecord:
        """Send a station and its people. `dispatched_at` back-enters a radio dispatch."""
        return await incidents.dispatch_incident(caller, incident_id, data)

    @post("/{incident_id:str}/divert", status_code=200, guards=[dispatch_desk])
    async def divert(
        self,
        caller: CurrentCaller,
        incident_id: PathId,
        data: JSONBody[incidents.Divert],
    ) -> IncidentRecord:
        """Hand a received non-police call to a linked agency (PROTOCOL §10)."""
        return await incidents.divert_incident(caller, incident_id, data)

    @post("/{incident_id:str}/reassign", status_code=200, guards=[dispatch_desk])
    async def reassign(
        self,
        caller: CurrentCaller,
        incident_id: PathId,
        data: JSONBody[incidents.Reassign],
    ) -> IncidentRecord:
        """Hand a dispatched incident to another station or other people."""
        return await incidents.reassign_incident(caller, incident_id, data)

    @post("/{incident_id:str}/point-check", status_code=200, guards=[dispatch_desk])
    async def point_check(
        self,
        caller: CurrentCaller,
        incident_id: PathId,
        data: JSONBody[incidents.PointCheck],
    ) -> IncidentRecord:
        """点调: ask the people on an open incident to report in (they answer with a
        `point_check_reply` op)."""
        return await incidents.point_check(caller, incident_id, data)

    @post("/{incident_id:str}/close", status_code=200, guards=[dispatch_desk])
    async def close(
        self,
        caller: CurrentCaller,
        incident_id: PathId,
        data: JSONBody[incidents.Close],
    ) -> IncidentRecord:
        """Close (销号) the incident with a summary."""
        return await incidents.close_incident(caller, incident_id, data)

    @post("/{incident_id:str}/cancel", status_code=200, guards=[dispatch_desk])
    async def cancel(
        self,
        caller: CurrentCaller,
        incident_id: PathId,
        data: JSONBody[incidents.Cancel],
    ) -> IncidentRecord:
        """Cancel the incident (a duplicate call, a prank) with a reason."""
        return await incidents.cancel_incident(caller, incident_id, data)
