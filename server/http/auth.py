"""Sign-in, sign-out and device revocation (PROTOCOL §1, §12)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody

from server.access.accounts import end_session, list_devices, login, revoke_device
from server.core.clock import utcnow
from server.http.guards import CurrentCaller
from server.http.params import AppSettings, PathId
from server.http.peer import client_address
from sync.messages import LoginRequest, LoginResponse, LogoutResponse, PersonInfo


class AuthController(Controller):
    path = "/api"
    tags = ["identity"]

    @post("/auth/login", status_code=200, exclude_from_auth=True, security=[])
    async def login(
        self, request: Request[Any, Any, Any], settings: AppSettings, data: JSONBody[LoginRequest]
    ) -> LoginResponse:
        """Sign in with a username and password; returns a token bound to the device.

        Failures are limited per account and client address and per address: over the
        limit, `429 too_many_attempts` with Retry-After; when too many sign-ins are
        being checked at once, or the database is busy, `503 unavailable`."""
        result = await login(data, settings, client_address(request, settings))
        return LoginResponse(
            token=result.token,
            device_id=result.device_id,
            person=PersonInfo(**result.person),  # type: ignore[arg-type]
            server_time=utcnow(),
        )

    @post("/auth/logout", status_code=200)
    async def logout(self, caller: CurrentCaller) -> LogoutResponse:
        """Sign out: this token stops working (`401 token_expired`) and the device's open
        WebSockets close with 4401. The device stays enrolled: it signs in again under
        the same id, its seq and acked_seq going on."""
        signed_out_at = await end_session(caller)
        return LogoutResponse(device_id=caller.device_id, signed_out_at=signed_out_at)

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
