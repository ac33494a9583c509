"""The command center's board: the open incidents a screen starts from."""

from __future__ import annotations

from litestar import get

from server.http.guards import CurrentCaller
from server.http.params import Epoch
from server.services import board
from sync.views import Board


@get("/api/board", tags=["board"])
async def get_board(caller: CurrentCaller, epoch: Epoch) -> Board:
    """Every open (received, dispatched or diverted) incident in the caller's scope, newest received
    first, with the feed `cursor` the board is current as of: open the WebSocket with it."""
    return await board.board(caller, epoch)
