"""The command center's board: the open incidents a screen starts from."""

from __future__ import annotations

from litestar import Response, get

from server.http.guards import CurrentCaller
from server.http.params import Epoch
from server.services import board
from sync.views import Board


@get("/api/board", tags=["board"])
async def get_board(caller: CurrentCaller, epoch: Epoch) -> Response[Board]:
    """Every open (received, dispatched or diverted) incident in the caller's scope as a
    board row (no caller data: the full record is GET /api/incidents/{id}), newest
    received first, with the feed `cursor` the board is current as of: open the
    WebSocket with it. The rows go out as stored, not re-encoded."""
    body = await board.board_json(caller, epoch)
    return Response(body, media_type="application/json")  # type: ignore[arg-type]  # JSON of a Board
