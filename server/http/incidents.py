"""The command center's incident calls (PROTOCOL §7)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from server.services import incidents
from server.http.guards import CurrentCaller, dispatch_desk
from server.live.hub import poke
from server.record.incident import incident_record, incident_records
from server.http.params import PathId
from server.access.scope import incident_scope, visible_incident
from server.core.tables import Incident

StatusFilter = Literal["open", "received", "dispatched", "closed", "cancelled", "all"]


class IncidentController(Controller):
    path = "/api/incidents"
    tags = ["incidents"]

    @post("/", status_code=201, guards=[dispatch_desk])
    async def create(
        self,
        request: Request[Any, Any, Any],
        caller: CurrentCaller,
        data: JSONBody[incidents.CreateIncident],
    ) -> dict[str, Any]:
        """Record a 110 call. `received_at` back-enters a call taken earlier."""
        record = await incidents.create_incident(caller, data)
        await poke(request.app)
        return record

    @get("/")
    async def list_incidents(
        self,
        caller: CurrentCaller,
        status: FromQuery[StatusFilter] = "open",
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 200,
    ) -> list[dict[str, Any]]:
        """Incidents in the caller's scope, newest first, without timelines."""
        query = Incident.select(Incident.id).where(await incident_scope(caller))
        if status == "open":
            query = query.where(Incident.status.is_in(["received", "dispatched"]))
        elif status != "all":
            query = query.where(Incident.status == status)
        rows = await query.order_by(Incident.received_at, ascending=False).limit(limit)
        return await incident_records([r["id"] for r in rows])

    @get("/{incident_id:str}")
    async def get_incident(self, caller: CurrentCaller, incident_id: PathId) -> dict[str, Any]:
        """The incident with its timeline, SLA clocks and review items."""
        await visible_incident(caller, incident_id)
        return await incident_record(incident_id)

    @post("/{incident_id:str}/dispatch", status_code=200, guards=[dispatch_desk])
    async def dispatch(
        self,
        request: Request[Any, Any, Any],
        caller: CurrentCaller,
        incident_id: PathId,
        data: JSONBody[incidents.Dispatch],
    ) -> dict[str, Any]:
        """Send a station and its people. `dispatched_at` back-enters a radio dispatch."""
        record = await incidents.dispatch_incident(caller, incident_id, data)
        await poke(request.app)
        return record

    @post("/{incident_id:str}/reassign", status_code=200, guards=[dispatch_desk])
    async def reassign(
        self,
        request: Request[Any, Any, Any],
        caller: CurrentCaller,
        incident_id: PathId,
        data: JSONBody[incidents.Reassign],
    ) -> dict[str, Any]:
        """Hand a dispatched incident to another station or other people."""
        record = await incidents.reassign_incident(caller, incident_id, data)
        await poke(request.app)
        return record

    @post("/{incident_id:str}/point-check", status_code=200, guards=[dispatch_desk])
    async def point_check(
        self,
        request: Request[Any, Any, Any],
        caller: CurrentCaller,
        incident_id: PathId,
        data: JSONBody[incidents.PointCheck],
    ) -> dict[str, Any]:
        """点调: ask the people on an open incident to report in (they answer with a
        `point_check_reply` op)."""
        record = await incidents.point_check(caller, incident_id, data)
        await poke(request.app)
        return record

    @post("/{incident_id:str}/close", status_code=200, guards=[dispatch_desk])
    async def close(
        self,
        request: Request[Any, Any, Any],
        caller: CurrentCaller,
        incident_id: PathId,
        data: JSONBody[incidents.Close],
    ) -> dict[str, Any]:
        """Close (销号) the incident with a summary."""
        record = await incidents.close_incident(caller, incident_id, data)
        await poke(request.app)
        return record

    @post("/{incident_id:str}/cancel", status_code=200, guards=[dispatch_desk])
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        caller: CurrentCaller,
        incident_id: PathId,
        data: JSONBody[incidents.Cancel],
    ) -> dict[str, Any]:
        """Cancel the incident (a duplicate call, a prank) with a reason."""
        record = await incidents.cancel_incident(caller, incident_id, data)
        await poke(request.app)
        return record
