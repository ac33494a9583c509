"""The command center's board: the open incidents a screen starts from."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from server.services import board as board_module
from server.http.guards import CurrentCaller


@get("/api/board", tags=["board"])
async def board(request: Request[Any, Any, Any], caller: CurrentCaller) -> dict[str, Any]:
    """Every open (received or dispatched) incident in the caller's scope, newest received
    first, with the feed `cursor` the board is current as of: open the WebSocket with it."""
    return await board_module.board(caller, request.app.state.epoch)
