"""Sign-in and device revocation (PROTOCOL §1)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import JSONBody

from server.access.accounts import list_devices, login, revoke_device
from server.core.clock import utcnow
from server.http.guards import CurrentCaller
from server.http.params import AppSettings, PathId
from sync.messages import LoginRequest, LoginResponse, PersonInfo


class AuthController(Controller):
    path = "/api"
    tags = ["identity"]

    @post("/auth/login", status_code=200, exclude_from_auth=True, security=[])
    async def login(self, settings: AppSettings, data: JSONBody[LoginRequest]) -> LoginResponse:
        """Sign in with a username and password; returns a token bound to the device."""
        result = await login(data, settings)
        return LoginResponse(
            token=result.token,
            device_id=result.device_id,
            person=PersonInfo(**result.person),  # type: ignore[arg-type]
            server_time=utcnow(),
        )

    @get("/devices")
    async def devices(self, caller: CurrentCaller) -> list[dict[str, Any]]:
        """Devices the caller may see: the bureau's (command center), the station's
        (station chief), or their own."""
        return await list_devices(caller)

    @post("/devices/{device_id:str}/revoke", status_code=200)
    async def revoke(self, caller: CurrentCaller, device_id: PathId) -> dict[str, Any]:
        """Revoke a device: its token stops working at once, and its open WebSockets
        are closed with 4401."""
        return await revoke_device(caller, device_id)
