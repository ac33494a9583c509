"""Stations and server health."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from server.http.guards import CurrentCaller
from server.core.tables import Station
from server.core.clock import utcnow


class StationController(Controller):
    path = "/api"
    tags = ["stations"]

    @get("/stations")
    async def stations(self, caller: CurrentCaller) -> list[dict[str, Any]]:
        """Stations the caller can see: the bureau's (command center), or their own."""
        query = Station.select(Station.id, Station.name, Station.kind, Station.area_type).where(
            Station.bureau == caller.bureau_id
        )
        if not caller.is_command:
            query = query.where(Station.id == (caller.station_id or ""))
        return list(await query.order_by(Station.name))

    @get("/health", exclude_from_auth=True, security=[])
    async def health(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        """200 once the database is migrated and the server is ready."""
        return {"status": "ok", "server_time": utcnow(), "epoch": request.app.state.epoch}
