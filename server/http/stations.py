"""Stations and server health."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get

from server.core.clock import utcnow
from server.http.guards import CurrentCaller
from server.http.params import Epoch
from server.services import directory


class StationController(Controller):
    path = "/api"
    tags = ["stations"]

    @get("/stations")
    async def stations(self, caller: CurrentCaller) -> list[dict[str, Any]]:
        """Stations the caller can see: the bureau's (command center), or their own."""
        return await directory.list_stations(caller)

    @get("/health", exclude_from_auth=True, security=[])
    async def health(self, epoch: Epoch) -> dict[str, Any]:
        """200 once the database is migrated and the server is ready."""
        return {"status": "ok", "server_time": utcnow(), "epoch": epoch}
