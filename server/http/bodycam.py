"""Body-camera clips to review (server/services/bodycam.py): list them, mark one reviewed."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter

from server.http.guards import CurrentCaller, review_desk
from server.http.params import PathId
from server.services import bodycam
from sync.views import ClipView


class BodycamController(Controller):
    path = "/api/bodycam"
    tags = ["reviews"]

    @get("/", guards=[review_desk])
    async def list_clips(
        self,
        caller: CurrentCaller,
        # `state` is reserved in Litestar handlers: read the query value under another name.
        clip_state: Annotated[
            Literal["unreviewed", "reviewed", "all"], QueryParameter(name="state")
        ] = "unreviewed",
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 500,
    ) -> list[ClipView]:
        """The bureau's body-camera clip references, newest first, with their review mark."""
        return await bodycam.list_clips(caller, clip_state, limit)

    @post("/{op_id:str}/review", status_code=200, guards=[review_desk])
    async def mark_reviewed(
        self,
        caller: CurrentCaller,
        op_id: PathId,
        data: JSONBody[bodycam.MarkReviewed],
    ) -> ClipView:
        """Mark a clip reviewed (once): recorded as a command-center act on its incident."""
        return await bodycam.mark_reviewed(caller, op_id, data)
